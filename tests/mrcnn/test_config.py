"""Config: derived values, overrides and their validation, per-instance values, the small CPU config."""
import numpy as np
import pytest

from mrcnn import model as M
from mrcnn.config import Config, SmallCPUConfig, small_cpu_config

# Matterport's mrcnn/config.py at upstream commit 6fe7db7 (the version the UnMask authors vendored).
# Only defaults that fix results: anchors, proposal and detection
# filtering, box encoding, molding. The architecture's sizes are checked through the COCO model's
# parameter count and weight shapes in test_model.py.
MATTERPORT_DEFAULTS = {
    "BACKBONE_STRIDES": [4, 8, 16, 32, 64],
    "RPN_ANCHOR_SCALES": (32, 64, 128, 256, 512),
    "RPN_ANCHOR_RATIOS": [0.5, 1, 2],
    "RPN_ANCHOR_STRIDE": 1,
    "RPN_NMS_THRESHOLD": 0.7,
    "PRE_NMS_LIMIT": 6000,
    "POST_NMS_ROIS_INFERENCE": 1000,
    "RPN_BBOX_STD_DEV": [0.1, 0.1, 0.2, 0.2],
    "BBOX_STD_DEV": [0.1, 0.1, 0.2, 0.2],
    "MEAN_PIXEL": [123.7, 116.8, 103.9],
    "IMAGE_RESIZE_MODE": "square",
    "IMAGE_MIN_DIM": 800,
    "IMAGE_MAX_DIM": 1024,
    "MASK_SHAPE": [28, 28],
    "DETECTION_MAX_INSTANCES": 100,
    "DETECTION_MIN_CONFIDENCE": 0.7,
    "DETECTION_NMS_THRESHOLD": 0.3,
    "TRAIN_BN": False,
}


@pytest.mark.parametrize("name", sorted(MATTERPORT_DEFAULTS))
def test_result_defining_defaults_are_matterports(name):
    """Values from Matterport's config.py at commit 6fe7db7 (see MATTERPORT_DEFAULTS above)."""
    value, expected = getattr(Config(), name), MATTERPORT_DEFAULTS[name]
    if isinstance(expected, list):
        np.testing.assert_allclose(value, expected)
    else:
        assert value == expected


@pytest.mark.parametrize("images_per_gpu, gpu_count", [(1, 1), (2, 1), (3, 2), (1, 4)])
def test_batch_size_is_images_per_gpu_times_gpu_count(images_per_gpu, gpu_count):
    assert Config(IMAGES_PER_GPU=images_per_gpu, GPU_COUNT=gpu_count).BATCH_SIZE == images_per_gpu * gpu_count


@pytest.mark.parametrize("mode, side", [("square", 512), ("pad64", 512), ("none", 512), ("crop", 256)])
def test_image_shape_follows_the_resize_mode_and_channel_count(mode, side):
    c = Config(IMAGE_RESIZE_MODE=mode, IMAGE_MIN_DIM=256, IMAGE_MAX_DIM=512, IMAGE_CHANNEL_COUNT=4)
    assert c.IMAGE_SHAPE.tolist() == [side, side, 4]


@pytest.mark.parametrize("num_classes", [1, 4, 81])
def test_image_meta_size_is_the_length_of_a_composed_meta(num_classes):
    c = Config(NUM_CLASSES=num_classes)
    meta = M.compose_image_meta(7, (10, 20, 3), (64, 64, 3), (1, 2, 3, 4), 1.5, np.ones(num_classes))
    assert meta.shape == (c.IMAGE_META_SIZE,)
    parsed = M.parse_image_meta(meta[None])
    assert parsed["active_class_ids"].shape == (1, num_classes) and parsed["scale"][0] == 1.5


def test_subclass_attributes_feed_the_derived_values():
    class Parts(Config):
        NUM_CLASSES = 45
        GPU_COUNT = 2
        IMAGE_RESIZE_MODE = "crop"
        IMAGE_MIN_DIM = 320

    c = Parts(IMAGES_PER_GPU=3)
    assert (c.BATCH_SIZE, c.IMAGE_SHAPE.tolist(), c.IMAGE_META_SIZE) == (6, [320, 320, 3], 57)


def test_backbone_shapes_come_from_the_strides_or_a_custom_backbone():
    c = Config(IMAGE_MAX_DIM=320, BACKBONE_STRIDES=[4, 8, 16, 32, 64])
    assert M.compute_backbone_shapes(c, c.IMAGE_SHAPE).tolist() == [[80, 80], [40, 40], [20, 20], [10, 10], [5, 5]]

    def backbone(image, stage5=True, train_bn=None):
        raise AssertionError("not built here")

    custom = Config(BACKBONE=backbone, COMPUTE_BACKBONE_SHAPE=lambda shape: [[shape[0] // 2, shape[1]]] * 5)
    assert M.compute_backbone_shapes(custom, (64, 128, 3)).tolist() == [[32, 128]] * 5


def test_overrides_stay_on_the_instance():
    c = Config(NAME="parts", NUM_CLASSES=45)
    assert (c.NAME, c.NUM_CLASSES) == ("parts", 45)
    assert (Config.NAME, Config.NUM_CLASSES) == (None, 1) and Config().NUM_CLASSES == 1


def test_list_dict_and_array_values_belong_to_their_instance():
    a = Config()
    a.LOSS_WEIGHTS["mrcnn_mask_loss"] = 5.0
    a.MEAN_PIXEL[0] = 0.0
    a.BACKBONE_STRIDES.append(128)
    b = Config()
    assert b.LOSS_WEIGHTS["mrcnn_mask_loss"] == 1.0 and b.MEAN_PIXEL[0] != 0.0 and len(b.BACKBONE_STRIDES) == 5
    assert Config.LOSS_WEIGHTS["mrcnn_mask_loss"] == 1.0


@pytest.mark.parametrize("override", [{"NUM_CLASS": 3}, {"num_classes": 3}, {"BATCH_SIZE": 4}, {"display": 1}])
def test_unknown_lower_case_and_derived_names_are_rejected(override):
    name = next(iter(override))
    with pytest.raises(AttributeError, match=name):
        Config(**override)


def test_external_rois_are_rejected():
    with pytest.raises(ValueError, match="USE_RPN_ROIS"):
        Config(USE_RPN_ROIS=False)


def test_small_cpu_config_is_a_consistent_config():
    c = small_cpu_config(NUM_CLASSES=4, IMAGES_PER_GPU=1)
    assert isinstance(c, SmallCPUConfig) and (c.NUM_CLASSES, c.BATCH_SIZE, c.IMAGE_META_SIZE) == (4, 1, 16)
    assert not c.IMAGE_SHAPE[0] % 64 and not c.IMAGE_SHAPE[1] % 64  # the model's build requirement
    assert max(c.RPN_ANCHOR_SCALES) <= c.IMAGE_MAX_DIM
    assert c.DETECTION_MAX_INSTANCES <= c.POST_NMS_ROIS_INFERENCE
    assert c.TRAIN_ROIS_PER_IMAGE <= c.POST_NMS_ROIS_TRAINING <= c.PRE_NMS_LIMIT
    defaults = Config()
    for name in ("TOP_DOWN_PYRAMID_SIZE", "FPN_CLASSIF_FC_LAYERS_SIZE", "MASK_HEAD_CHANNELS", "RPN_CONV_CHANNELS"):
        assert getattr(c, name) < getattr(defaults, name), name  # a narrower network than Matterport's


def test_to_dict_and_display_list_every_value(capsys):
    c = Config(NAME="x")
    values = c.to_dict()
    assert values["BATCH_SIZE"] == 2 and values["NAME"] == "x" and values["IMAGE_META_SIZE"] == 13
    assert "display" not in values and "to_dict" not in values and all(name.isupper() for name in values)
    c.display()
    printed = {line.split()[0] for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert set(values) <= printed
