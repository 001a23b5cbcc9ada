"""Mask R-CNN configuration with Matterport's attribute names and default values.

Subclass ``Config`` and override class attributes (Matterport style), or pass overrides as keyword
arguments: ``Config(NAME="parts", NUM_CLASSES=45)``. Derived attributes (BATCH_SIZE, IMAGE_SHAPE,
IMAGE_META_SIZE) are computed in ``__init__``. A few extra knobs (marked "extension") size the
network for small CPU runs; their defaults reproduce Matterport's architecture exactly.
"""
from __future__ import annotations

import copy
from typing import Any

import numpy as np


class Config:
    """Base configuration; the defaults are Matterport's (upstream commit 6fe7db7)."""

    NAME: str | None = None
    GPU_COUNT = 1
    IMAGES_PER_GPU = 2
    STEPS_PER_EPOCH = 1000
    VALIDATION_STEPS = 50

    # "resnet50", "resnet101", "small" (extension: narrow ResNet for CPU runs) or a callable
    # backbone(input_image, stage5=True, train_bn=...) -> [C1, C2, C3, C4, C5]; a callable needs
    # COMPUTE_BACKBONE_SHAPE(image_shape) -> [[h, w] per stride].
    BACKBONE: Any = "resnet101"
    COMPUTE_BACKBONE_SHAPE = None
    BACKBONE_STRIDES = [4, 8, 16, 32, 64]
    FPN_CLASSIF_FC_LAYERS_SIZE = 1024
    TOP_DOWN_PYRAMID_SIZE = 256
    NUM_CLASSES = 1

    RPN_ANCHOR_SCALES = (32, 64, 128, 256, 512)
    RPN_ANCHOR_RATIOS = [0.5, 1, 2]
    RPN_ANCHOR_STRIDE = 1
    RPN_NMS_THRESHOLD = 0.7
    RPN_TRAIN_ANCHORS_PER_IMAGE = 256
    PRE_NMS_LIMIT = 6000
    POST_NMS_ROIS_TRAINING = 2000
    POST_NMS_ROIS_INFERENCE = 1000

    USE_MINI_MASK = True
    MINI_MASK_SHAPE = (56, 56)

    IMAGE_RESIZE_MODE = "square"
    IMAGE_MIN_DIM = 800
    IMAGE_MAX_DIM = 1024
    IMAGE_MIN_SCALE = 0
    IMAGE_CHANNEL_COUNT = 3
    MEAN_PIXEL = np.array([123.7, 116.8, 103.9])

    TRAIN_ROIS_PER_IMAGE = 200
    ROI_POSITIVE_RATIO = 0.33
    POOL_SIZE = 7
    MASK_POOL_SIZE = 14
    MASK_SHAPE = [28, 28]
    MAX_GT_INSTANCES = 100

    RPN_BBOX_STD_DEV = np.array([0.1, 0.1, 0.2, 0.2])
    BBOX_STD_DEV = np.array([0.1, 0.1, 0.2, 0.2])

    DETECTION_MAX_INSTANCES = 100
    DETECTION_MIN_CONFIDENCE = 0.7
    DETECTION_NMS_THRESHOLD = 0.3

    LEARNING_RATE = 0.001
    LEARNING_MOMENTUM = 0.9
    WEIGHT_DECAY = 0.0001
    LOSS_WEIGHTS = {
        "rpn_class_loss": 1.,
        "rpn_bbox_loss": 1.,
        "mrcnn_class_loss": 1.,
        "mrcnn_bbox_loss": 1.,
        "mrcnn_mask_loss": 1.,
    }

    USE_RPN_ROIS = True
    # False: BN layers always run in inference mode (Matterport's default, small batches).
    # True or None: BN follows the training flag (Matterport's "normal mode").
    TRAIN_BN: bool | None = False
    GRADIENT_CLIP_NORM = 5.0

    # --- Extensions (defaults = Matterport's architecture) ---
    RPN_CONV_CHANNELS = 512          # filters of rpn_conv_shared
    MASK_HEAD_CHANNELS = 256         # filters of mrcnn_mask_conv1..4 and mrcnn_mask_deconv
    SMALL_BACKBONE_WIDTH = 16        # conv1 / stage-2 bottleneck width of BACKBONE "small"
    SMALL_BACKBONE_BLOCKS = (1, 1, 1, 1)  # blocks in stages 2..5 of BACKBONE "small"
    SEED: int | None = None          # data-generator seed (None: fresh randomness each run)

    def __init__(self, **overrides: Any) -> None:
        for name in dir(self):  # list, dict and array defaults: one copy per instance, not the class's
            if name.isupper() and isinstance(getattr(self, name), (list, dict, np.ndarray)):
                setattr(self, name, copy.deepcopy(getattr(self, name)))
        for key, value in overrides.items():
            if not key.isupper() or not hasattr(self, key):
                raise AttributeError(f"unknown config attribute {key!r}")
            setattr(self, key, value)
        if self.USE_RPN_ROIS is not True:
            raise ValueError("USE_RPN_ROIS=False (externally generated ROIs) is not supported by this port")
        self.BATCH_SIZE = self.IMAGES_PER_GPU * self.GPU_COUNT
        if self.IMAGE_RESIZE_MODE == "crop":
            side = self.IMAGE_MIN_DIM
        else:
            side = self.IMAGE_MAX_DIM
        self.IMAGE_SHAPE = np.array([side, side, self.IMAGE_CHANNEL_COUNT])
        # image_id(1) + original_image_shape(3) + image_shape(3) + window(4) + scale(1) + active ids
        self.IMAGE_META_SIZE = 1 + 3 + 3 + 4 + 1 + self.NUM_CLASSES

    def to_dict(self) -> dict[str, Any]:
        """All upper-case attributes (configured and derived) by name."""
        return {name: getattr(self, name) for name in sorted(dir(self))
                if name.isupper() and not callable(getattr(self, name))}

    def display(self) -> None:
        """Print every configuration value, as Matterport does before training."""
        print("\nConfigurations:")
        for key, value in self.to_dict().items():
            print(f"{key:30} {value}")
        print("\n")


class SmallCPUConfig(Config):
    """The small CPU configuration: 128 px images, narrow backbone and heads.

    FPN 64 channels, 256-wide box head, 64-channel mask head, 32 sampled ROIs, 200 proposals after
    NMS, at most 20 detections. Anchor scales shrink with the image (Matterport's "shapes" sample).
    """

    NAME = "small"
    BACKBONE = "small"
    IMAGES_PER_GPU = 4
    IMAGE_MIN_DIM = 128
    IMAGE_MAX_DIM = 128
    RPN_ANCHOR_SCALES = (8, 16, 32, 64, 128)
    RPN_CONV_CHANNELS = 128
    RPN_TRAIN_ANCHORS_PER_IMAGE = 64
    TOP_DOWN_PYRAMID_SIZE = 64
    FPN_CLASSIF_FC_LAYERS_SIZE = 256
    MASK_HEAD_CHANNELS = 64
    PRE_NMS_LIMIT = 1000
    POST_NMS_ROIS_TRAINING = 200
    POST_NMS_ROIS_INFERENCE = 200
    TRAIN_ROIS_PER_IMAGE = 32
    MAX_GT_INSTANCES = 20
    MINI_MASK_SHAPE = (28, 28)
    DETECTION_MAX_INSTANCES = 20
    STEPS_PER_EPOCH = 100
    VALIDATION_STEPS = 5


def small_cpu_config(**overrides: Any) -> SmallCPUConfig:
    """A ``SmallCPUConfig`` with keyword overrides, e.g. ``small_cpu_config(NUM_CLASSES=4)``."""
    return SmallCPUConfig(**overrides)
