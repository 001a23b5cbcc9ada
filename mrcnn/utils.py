"""Numpy utilities of the Mask R-CNN port: boxes, masks, anchors, resizing, matching metrics, datasets.

Names, signatures and numerics follow the Matterport implementation so that Matterport-style code and
its results carry over. Boxes are (y1, x1, y2, x2) with y2/x2 exclusive, as there.
"""
from __future__ import annotations

import logging
import os
import warnings
from typing import Any, Iterable, Sequence

import numpy as np
import scipy.ndimage
import skimage.io
import skimage.transform

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------------
# Boxes
# ---------------------------------------------------------------------------------------------------

def extract_bboxes(mask: np.ndarray) -> np.ndarray:
    """Tight boxes [N, (y1, x1, y2, x2)] int32 of the masks [H, W, N]; an empty mask gives all zeros."""
    boxes = np.zeros([mask.shape[-1], 4], dtype=np.int32)
    for i in range(mask.shape[-1]):
        m = mask[:, :, i]
        cols = np.where(np.any(m, axis=0))[0]
        rows = np.where(np.any(m, axis=1))[0]
        if cols.shape[0]:
            boxes[i] = (rows[0], cols[0], rows[-1] + 1, cols[-1] + 1)
    return boxes


def _areas(boxes: np.ndarray) -> np.ndarray:
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def compute_iou(box: np.ndarray, boxes: np.ndarray, box_area: float, boxes_area: np.ndarray) -> np.ndarray:
    """IoU of one box (y1, x1, y2, x2) with each of ``boxes`` [N, 4]; areas are passed in to save work."""
    y1 = np.maximum(box[0], boxes[:, 0])
    y2 = np.minimum(box[2], boxes[:, 2])
    x1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[3], boxes[:, 3])
    intersection = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    union = box_area + boxes_area - intersection
    return intersection / union


def compute_overlaps(boxes1: np.ndarray, boxes2: np.ndarray) -> np.ndarray:
    """IoU matrix [len(boxes1), len(boxes2)] between two sets of boxes."""
    boxes1 = np.asarray(boxes1, dtype=np.float64).reshape(-1, 4)
    boxes2 = np.asarray(boxes2, dtype=np.float64).reshape(-1, 4)
    a, b = boxes1[:, None, :], boxes2[None, :, :]
    height = np.maximum(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0)
    width = np.maximum(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0)
    intersection = height * width
    union = _areas(boxes1)[:, None] + _areas(boxes2)[None, :] - intersection
    with np.errstate(invalid="ignore", divide="ignore"):
        return intersection / union


def compute_overlaps_masks(masks1: np.ndarray, masks2: np.ndarray) -> np.ndarray:
    """IoU matrix [N1, N2] between masks [H, W, N1] and [H, W, N2] (values > 0.5 count as inside)."""
    if masks1.shape[-1] == 0 or masks2.shape[-1] == 0:
        return np.zeros((masks1.shape[-1], masks2.shape[-1]))
    flat1 = np.reshape(masks1 > 0.5, (-1, masks1.shape[-1])).astype(np.float32)
    flat2 = np.reshape(masks2 > 0.5, (-1, masks2.shape[-1])).astype(np.float32)
    area1 = np.sum(flat1, axis=0)
    area2 = np.sum(flat2, axis=0)
    intersections = flat1.T @ flat2
    union = area1[:, None] + area2[None, :] - intersections
    with np.errstate(invalid="ignore", divide="ignore"):
        return intersections / union


def non_max_suppression(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """Greedy NMS: indices (int32, by descending score) of the boxes kept; drops IoU > ``threshold``."""
    if boxes.shape[0] == 0:
        return np.zeros([0], dtype=np.int32)
    if boxes.dtype.kind != "f":
        boxes = boxes.astype(np.float32)
    area = _areas(boxes)
    order = np.asarray(scores).argsort()[::-1]
    pick = []
    while len(order) > 0:
        i = order[0]
        pick.append(i)
        iou = compute_iou(boxes[i], boxes[order[1:]], area[i], area[order[1:]])
        order = order[1:][~(iou > threshold)]
    return np.array(pick, dtype=np.int32)


def apply_box_deltas(boxes: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    """Apply refinements [N, (dy, dx, log(dh), log(dw))] to boxes [N, (y1, x1, y2, x2)]."""
    boxes = boxes.astype(np.float32)
    height = boxes[:, 2] - boxes[:, 0]
    width = boxes[:, 3] - boxes[:, 1]
    center_y = boxes[:, 0] + 0.5 * height + deltas[:, 0] * height
    center_x = boxes[:, 1] + 0.5 * width + deltas[:, 1] * width
    height = height * np.exp(deltas[:, 2])
    width = width * np.exp(deltas[:, 3])
    y1 = center_y - 0.5 * height
    x1 = center_x - 0.5 * width
    return np.stack([y1, x1, y1 + height, x1 + width], axis=1)


def box_refinement(box: np.ndarray, gt_box: np.ndarray) -> np.ndarray:
    """Refinement [N, (dy, dx, log(dh), log(dw))] that turns each ``box`` into its ``gt_box``."""
    box = box.astype(np.float32)
    gt_box = gt_box.astype(np.float32)
    height = box[:, 2] - box[:, 0]
    width = box[:, 3] - box[:, 1]
    center_y = box[:, 0] + 0.5 * height
    center_x = box[:, 1] + 0.5 * width
    gt_height = gt_box[:, 2] - gt_box[:, 0]
    gt_width = gt_box[:, 3] - gt_box[:, 1]
    gt_center_y = gt_box[:, 0] + 0.5 * gt_height
    gt_center_x = gt_box[:, 1] + 0.5 * gt_width
    dy = (gt_center_y - center_y) / height
    dx = (gt_center_x - center_x) / width
    dh = np.log(gt_height / height)
    dw = np.log(gt_width / width)
    return np.stack([dy, dx, dh, dw], axis=1)


def norm_boxes(boxes: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Pixel boxes -> normalized float32 boxes: (b - [0, 0, 1, 1]) / [h-1, w-1, h-1, w-1]."""
    h, w = shape[:2]
    scale = np.array([h - 1, w - 1, h - 1, w - 1])
    shift = np.array([0, 0, 1, 1])
    return np.divide(boxes - shift, scale).astype(np.float32)


def denorm_boxes(boxes: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Normalized boxes -> rounded int32 pixel boxes (inverse of norm_boxes)."""
    h, w = shape[:2]
    scale = np.array([h - 1, w - 1, h - 1, w - 1])
    shift = np.array([0, 0, 1, 1])
    return np.around(np.multiply(boxes, scale) + shift).astype(np.int32)


def trim_zeros(x: np.ndarray) -> np.ndarray:
    """Drop the all-zero rows that pad box arrays."""
    return x[~np.all(x == 0, axis=1)]


# ---------------------------------------------------------------------------------------------------
# Anchors
# ---------------------------------------------------------------------------------------------------

def generate_anchors(scales: float | Sequence[float], ratios: Sequence[float], shape: Sequence[int],
                     feature_stride: int, anchor_stride: int) -> np.ndarray:
    """Anchors [N, (y1, x1, y2, x2)] in pixels for one feature map, ordered row -> column -> ratio.

    Centres sit at arange * feature_stride (no half-stride offset); h = scale / sqrt(ratio),
    w = scale * sqrt(ratio).
    """
    scales, ratios = np.meshgrid(np.array(scales), np.array(ratios))
    scales, ratios = scales.flatten(), ratios.flatten()
    heights = scales / np.sqrt(ratios)
    widths = scales * np.sqrt(ratios)
    shifts_y = np.arange(0, shape[0], anchor_stride) * feature_stride
    shifts_x = np.arange(0, shape[1], anchor_stride) * feature_stride
    shifts_x, shifts_y = np.meshgrid(shifts_x, shifts_y)
    box_widths, box_centers_x = np.meshgrid(widths, shifts_x)
    box_heights, box_centers_y = np.meshgrid(heights, shifts_y)
    centers = np.stack([box_centers_y, box_centers_x], axis=2).reshape([-1, 2])
    sizes = np.stack([box_heights, box_widths], axis=2).reshape([-1, 2])
    return np.concatenate([centers - 0.5 * sizes, centers + 0.5 * sizes], axis=1)


def generate_pyramid_anchors(scales: Sequence[float], ratios: Sequence[float],
                             feature_shapes: Sequence[Sequence[int]], feature_strides: Sequence[int],
                             anchor_stride: int) -> np.ndarray:
    """Anchors of every pyramid level (one scale per level), concatenated level by level."""
    return np.concatenate([
        generate_anchors(scales[i], ratios, feature_shapes[i], feature_strides[i], anchor_stride)
        for i in range(len(scales))
    ], axis=0)


# ---------------------------------------------------------------------------------------------------
# Images and masks
# ---------------------------------------------------------------------------------------------------

def resize(image: np.ndarray, output_shape: Sequence[int], order: int = 1, mode: str = "constant",
           cval: float = 0, clip: bool = True, preserve_range: bool = False, anti_aliasing: bool = False,
           anti_aliasing_sigma: Any = None) -> np.ndarray:
    """skimage.transform.resize with Matterport's defaults (no anti-aliasing); bool input is resized as float."""
    if image.dtype == bool:
        image = image.astype(np.float32)
    return skimage.transform.resize(image, output_shape, order=order, mode=mode, cval=cval, clip=clip,
                                    preserve_range=preserve_range, anti_aliasing=anti_aliasing,
                                    anti_aliasing_sigma=anti_aliasing_sigma)


def _centred_padding(size: int, target: int) -> tuple[int, int]:
    before = (target - size) // 2
    return before, target - size - before


def resize_image(image: np.ndarray, min_dim: int | None = None, max_dim: int | None = None,
                 min_scale: float | None = None, mode: str = "square",
                 rng: np.random.Generator | None = None) -> tuple[np.ndarray, tuple, float, list, tuple | None]:
    """Resize (bilinear, range kept) and pad/crop an image as Matterport does; keeps the dtype.

    Modes: "none" (unchanged), "square" (scale up to min_dim and down so the long side fits max_dim,
    zero-pad centred to max_dim x max_dim), "pad64" (scale up to min_dim, pad each side to a multiple
    of 64; no down-scaling), "crop" (scale up to min_dim, random min_dim x min_dim crop drawn from
    ``rng``). Returns (image, window (y1, x1, y2, x2) of the image inside the result, scale,
    padding [(top, bottom), (left, right), (0, 0)], crop (y, x, h, w) or None).
    """
    if mode not in ("none", "square", "pad64", "crop"):
        raise ValueError(f"unknown resize mode {mode!r}; valid modes: none, square, pad64, crop")
    image_dtype = image.dtype
    h, w = image.shape[:2]
    window = (0, 0, h, w)
    scale: float = 1
    padding = [(0, 0), (0, 0), (0, 0)]
    crop = None
    if mode == "none":
        return image, window, scale, padding, crop

    if min_dim:
        scale = max(1, min_dim / min(h, w))
    if min_scale and scale < min_scale:
        scale = min_scale
    if max_dim and mode == "square":
        image_max = max(h, w)
        if round(image_max * scale) > max_dim:
            scale = max_dim / image_max
    if scale != 1:
        image = resize(image, (round(h * scale), round(w * scale)), preserve_range=True)

    h, w = image.shape[:2]
    if mode == "square":
        if not max_dim:
            raise ValueError("resize mode 'square' needs max_dim")
        top, bottom = _centred_padding(h, max_dim)
        left, right = _centred_padding(w, max_dim)
        padding = [(top, bottom), (left, right), (0, 0)]
        image = np.pad(image, padding[:image.ndim], mode="constant", constant_values=0)
        window = (top, left, h + top, w + left)
    elif mode == "pad64":
        if not min_dim or min_dim % 64:
            raise ValueError(f"resize mode 'pad64' needs min_dim a multiple of 64, got {min_dim}")
        top, bottom = _centred_padding(h, -(-h // 64) * 64)
        left, right = _centred_padding(w, -(-w // 64) * 64)
        padding = [(top, bottom), (left, right), (0, 0)]
        image = np.pad(image, padding[:image.ndim], mode="constant", constant_values=0)
        window = (top, left, h + top, w + left)
    else:  # crop
        if not min_dim:
            raise ValueError("resize mode 'crop' needs min_dim")
        rng = rng if rng is not None else np.random.default_rng()
        y = int(rng.integers(0, h - min_dim + 1))
        x = int(rng.integers(0, w - min_dim + 1))
        crop = (y, x, min_dim, min_dim)
        image = image[y:y + min_dim, x:x + min_dim]
        window = (0, 0, min_dim, min_dim)
    return image.astype(image_dtype), window, scale, padding, crop


def resize_mask(mask: np.ndarray, scale: float, padding: Sequence[Sequence[int]],
                crop: Sequence[int] | None = None) -> np.ndarray:
    """Apply resize_image's scale and padding (or crop) to masks [H, W, N] with nearest neighbour."""
    dtype = mask.dtype
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's zoom warns about output-shape rounding
        zoomed = scipy.ndimage.zoom(mask.astype(np.uint8) if dtype == bool else mask,
                                    zoom=[scale, scale, 1], order=0)
    if crop is not None:
        y, x, h, w = crop
        zoomed = zoomed[y:y + h, x:x + w]
    else:
        zoomed = np.pad(zoomed, padding, mode="constant", constant_values=0)
    return zoomed.astype(dtype)


def minimize_mask(bbox: np.ndarray, mask: np.ndarray, mini_shape: Sequence[int]) -> np.ndarray:
    """Crop each mask [H, W, N] to its box and resize it to ``mini_shape`` (bool), to save memory."""
    mini_mask = np.zeros(tuple(mini_shape) + (mask.shape[-1],), dtype=bool)
    for i in range(mask.shape[-1]):
        y1, x1, y2, x2 = bbox[i][:4]
        m = mask[y1:y2, x1:x2, i].astype(bool)
        if m.size == 0:
            raise ValueError(f"invalid bounding box {tuple(bbox[i][:4])} with area zero for mask {i}")
        mini_mask[:, :, i] = np.around(resize(m, mini_shape)).astype(bool)
    return mini_mask


def expand_mask(bbox: np.ndarray, mini_mask: np.ndarray, image_shape: Sequence[int]) -> np.ndarray:
    """Inverse of minimize_mask: paste each mini mask back into a full-size bool mask [H, W, N]."""
    mask = np.zeros(tuple(image_shape[:2]) + (mini_mask.shape[-1],), dtype=bool)
    for i in range(mask.shape[-1]):
        y1, x1, y2, x2 = bbox[i][:4]
        m = resize(mini_mask[:, :, i], (y2 - y1, x2 - x1))
        mask[y1:y2, x1:x2, i] = np.around(m).astype(bool)
    return mask


def unmold_mask(mask: np.ndarray, bbox: Sequence[int], image_shape: Sequence[int]) -> np.ndarray:
    """A head's float mask (e.g. 28x28) -> full-image bool mask: resized into ``bbox``, threshold 0.5."""
    y1, x1, y2, x2 = bbox
    resized = resize(mask, (y2 - y1, x2 - x1)) >= 0.5
    full_mask = np.zeros(tuple(image_shape[:2]), dtype=bool)
    full_mask[y1:y2, x1:x2] = resized
    return full_mask


def mold_image(images: np.ndarray, config: Any) -> np.ndarray:
    """RGB 0-255 images -> float32 network input: minus config.MEAN_PIXEL, no division by 255."""
    return images.astype(np.float32) - np.asarray(config.MEAN_PIXEL, dtype=np.float32)


def unmold_image(normalized_images: np.ndarray, config: Any) -> np.ndarray:
    """Inverse of mold_image, back to uint8 RGB."""
    return (normalized_images + np.asarray(config.MEAN_PIXEL, dtype=np.float32)).astype(np.uint8)
