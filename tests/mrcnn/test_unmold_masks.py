"""Mask unmolding through OpenCV (issue 18) against the scikit-image implementation it replaced, and the
detections-only graph against the full one."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest
import scipy.ndimage

from mrcnn import model as M
from mrcnn import utils
from mrcnn.config import small_cpu_config


def skimage_unmold(mask: np.ndarray, box: np.ndarray, image_shape) -> np.ndarray:
    """The implementation before issue 18 (Matterport's): skimage resize into the box, threshold 0.5."""
    y1, x1, y2, x2 = box
    full = np.zeros(tuple(image_shape[:2]), dtype=bool)
    full[y1:y2, x1:x2] = utils.resize(mask, (y2 - y1, x2 - x1)) >= 0.5
    return full


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """Random weights with the background logit lowered: every ROI is some class, 20 detections an image."""
    keras.utils.set_random_seed(0)
    config = small_cpu_config(NUM_CLASSES=4, IMAGES_PER_GPU=2, DETECTION_MIN_CONFIDENCE=0)
    detector = M.MaskRCNN("inference", config, str(tmp_path_factory.mktemp("logs")))
    logits = detector.keras_model.get_layer("mrcnn_class_logits")
    kernel, bias = logits.get_weights()
    bias[0] -= 30.0
    logits.set_weights([kernel, bias])
    return detector


@pytest.mark.parametrize("shape", [(1, 1), (3, 50), (14, 14), (27, 29), (28, 28), (61, 17), (200, 333)])
def test_resize_probabilities_equals_skimage_resize_to_float_rounding(shape):
    rng = np.random.default_rng(sum(shape))
    smooth = scipy.ndimage.gaussian_filter(rng.random((28, 28)), 2).astype(np.float32)
    # the last mask lies above 0.5 everywhere: skimage's clip to the input's range keeps the box's border on
    for mask in (smooth, rng.random((28, 28)).astype(np.float32), 0.6 + 0.3 * smooth):
        np.testing.assert_allclose(utils.resize_probabilities(mask, shape), utils.resize(mask, shape), atol=1e-6)
    full = utils.unmold_mask(0.6 + 0.3 * smooth, (2, 3, 2 + shape[0], 3 + shape[1]), (210, 340))
    assert full.sum() == shape[0] * shape[1] and full[2:2 + shape[0], 3:3 + shape[1]].all()


def random_boxes(rng: np.random.Generator, n: int, image_shape) -> np.ndarray:
    """n boxes [y1, x1, y2, x2] of 1 px up to the whole image."""
    corners = np.stack([rng.integers(0, side, (n, 2)) for side in image_shape[:2]], axis=1)  # [n, (y, x), 2]
    low, high = corners.min(axis=2), corners.max(axis=2) + 1
    return np.concatenate([low, high], axis=1)


def test_unmolded_masks_of_detections_match_the_skimage_implementation(model):
    """The head's masks on test images, pasted into original images larger and smaller than the 128 px
    canvas, in the detected boxes (random weights: thin ones) and in boxes of 1 px to the whole image,
    keep IoU >= 0.99 with the skimage implementation's, also re-centred on 0.5 (about half of each box
    on: the hardest case for a threshold); the detections do not depend on the mask path."""
    rng = np.random.default_rng(3)
    images = [rng.integers(0, 256, (300, 200, 3), dtype=np.uint8), rng.integers(0, 256, (40, 90, 3), dtype=np.uint8)]
    raw = model.detect(images, unmold_masks=False)
    full = model.detect(images)
    bare = model.detect(images, mask_head=False)
    for image, head, pasted, plain in zip(images, raw, full, bare):
        n = len(head["class_ids"])
        assert n == model.config.DETECTION_MAX_INSTANCES and "masks" not in plain
        for key in ("rois", "class_ids", "scores"):
            np.testing.assert_array_equal(pasted[key], head[key])
            np.testing.assert_array_equal(plain[key], head[key])
        assert pasted["masks"].shape == image.shape[:2] + (n,) and pasted["masks"].dtype == bool
        np.testing.assert_array_equal(pasted["masks"], utils.unmold_masks(head["masks"], head["rois"], image.shape))
        centred = head["masks"] - np.median(head["masks"], axis=(1, 2), keepdims=True) + 0.5
        for boxes in (head["rois"], random_boxes(rng, n, image.shape)):
            for masks in (head["masks"], centred):
                ours = utils.unmold_masks(masks, boxes, image.shape)
                ious = [mask_iou(ours[:, :, i], skimage_unmold(masks[i], boxes[i], image.shape)) for i in range(n)]
                assert min(ious) >= 0.99, ious
        assert np.mean([ours[:, :, i].any() for i in range(n)]) > 0.9  # centred masks in spread boxes
