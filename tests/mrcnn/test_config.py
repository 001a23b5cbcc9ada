"""Config: Matterport's defaults, derived values, overrides and the small CPU config."""
import numpy as np
import pytest

from mrcnn.config import Config, SmallCPUConfig, small_cpu_config


def test_matterport_defaults():
    c = Config()
    assert c.NAME is None and c.NUM_CLASSES == 1 and c.GPU_COUNT == 1 and c.IMAGES_PER_GPU == 2
    assert (c.STEPS_PER_EPOCH, c.VALIDATION_STEPS) == (1000, 50)
    assert c.BACKBONE == "resnet101" and c.COMPUTE_BACKBONE_SHAPE is None
    assert c.BACKBONE_STRIDES == [4, 8, 16, 32, 64]
    assert (c.FPN_CLASSIF_FC_LAYERS_SIZE, c.TOP_DOWN_PYRAMID_SIZE) == (1024, 256)
    assert c.RPN_ANCHOR_SCALES == (32, 64, 128, 256, 512) and c.RPN_ANCHOR_RATIOS == [0.5, 1, 2]
    assert (c.RPN_ANCHOR_STRIDE, c.RPN_NMS_THRESHOLD, c.RPN_TRAIN_ANCHORS_PER_IMAGE) == (1, 0.7, 256)
    assert (c.PRE_NMS_LIMIT, c.POST_NMS_ROIS_TRAINING, c.POST_NMS_ROIS_INFERENCE) == (6000, 2000, 1000)
    assert c.USE_MINI_MASK is True and c.MINI_MASK_SHAPE == (56, 56)
    assert (c.IMAGE_RESIZE_MODE, c.IMAGE_MIN_DIM, c.IMAGE_MAX_DIM, c.IMAGE_MIN_SCALE) == ("square", 800, 1024, 0)
    assert c.IMAGE_CHANNEL_COUNT == 3
    np.testing.assert_allclose(c.MEAN_PIXEL, [123.7, 116.8, 103.9])
    assert (c.TRAIN_ROIS_PER_IMAGE, c.ROI_POSITIVE_RATIO, c.POOL_SIZE, c.MASK_POOL_SIZE) == (200, 0.33, 7, 14)
    assert c.MASK_SHAPE == [28, 28] and c.MAX_GT_INSTANCES == 100
    np.testing.assert_allclose(c.RPN_BBOX_STD_DEV, [0.1, 0.1, 0.2, 0.2])
    np.testing.assert_allclose(c.BBOX_STD_DEV, [0.1, 0.1, 0.2, 0.2])
    assert (c.DETECTION_MAX_INSTANCES, c.DETECTION_MIN_CONFIDENCE, c.DETECTION_NMS_THRESHOLD) == (100, 0.7, 0.3)
    assert (c.LEARNING_RATE, c.LEARNING_MOMENTUM, c.WEIGHT_DECAY) == (0.001, 0.9, 0.0001)
    assert c.LOSS_WEIGHTS == {name: 1.0 for name in ("rpn_class_loss", "rpn_bbox_loss", "mrcnn_class_loss",
                                                     "mrcnn_bbox_loss", "mrcnn_mask_loss")}
    assert c.USE_RPN_ROIS is True and c.TRAIN_BN is False and c.GRADIENT_CLIP_NORM == 5.0
    # extensions keep Matterport's architecture
    assert (c.RPN_CONV_CHANNELS, c.MASK_HEAD_CHANNELS) == (512, 256)


def test_derived_values():
    c = Config()
    assert c.BATCH_SIZE == 2
    assert list(c.IMAGE_SHAPE) == [1024, 1024, 3]
    assert c.IMAGE_META_SIZE == 12 + 1

    class Coco(Config):
        NAME = "coco"
        NUM_CLASSES = 81
        GPU_COUNT = 2
        IMAGES_PER_GPU = 3
        IMAGE_RESIZE_MODE = "crop"
        IMAGE_MIN_DIM = 512

    c = Coco()
    assert c.BATCH_SIZE == 6
    assert list(c.IMAGE_SHAPE) == [512, 512, 3]  # crop mode uses MIN_DIM
    assert c.IMAGE_META_SIZE == 12 + 81


def test_keyword_overrides_and_unknown_names():
    c = Config(NAME="parts", NUM_CLASSES=45, IMAGES_PER_GPU=1)
    assert (c.NAME, c.NUM_CLASSES, c.BATCH_SIZE, c.IMAGE_META_SIZE) == ("parts", 45, 1, 57)
    assert Config.NUM_CLASSES == 1  # the class is untouched
    with pytest.raises(AttributeError, match="NUM_CLASS"):
        Config(NUM_CLASS=3)
    with pytest.raises(ValueError, match="USE_RPN_ROIS"):
        Config(USE_RPN_ROIS=False)


def test_small_cpu_config_matches_cpu_budget():
    c = small_cpu_config(NUM_CLASSES=4)
    assert isinstance(c, SmallCPUConfig) and c.NUM_CLASSES == 4
    assert c.BACKBONE == "small" and list(c.IMAGE_SHAPE) == [128, 128, 3]
    assert (c.TOP_DOWN_PYRAMID_SIZE, c.FPN_CLASSIF_FC_LAYERS_SIZE, c.MASK_HEAD_CHANNELS) == (64, 256, 64)
    assert (c.TRAIN_ROIS_PER_IMAGE, c.POST_NMS_ROIS_TRAINING, c.POST_NMS_ROIS_INFERENCE) == (32, 200, 200)
    assert c.DETECTION_MAX_INSTANCES == 20


def test_display_lists_every_value(capsys):
    Config(NAME="x").display()
    out = capsys.readouterr().out
    for name in ("BACKBONE", "BATCH_SIZE", "IMAGE_META_SIZE", "LOSS_WEIGHTS", "DETECTION_MIN_CONFIDENCE"):
        assert name in out
