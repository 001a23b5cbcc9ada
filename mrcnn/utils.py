"""Numpy utilities of the Mask R-CNN port: boxes, masks, anchors, resizing, matching metrics, datasets.

Names, signatures and numerics follow the Matterport implementation so that Matterport-style code and
its results carry over. Boxes are (y1, x1, y2, x2) with y2/x2 exclusive, as there.
"""
from __future__ import annotations

import logging
import os
import warnings
from typing import Any, Iterable, Sequence

import cv2
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


def _edge_weights(out_size: int, in_size: int) -> np.ndarray:
    """Per output row (or column) of a pixel-centred bilinear resize, the weight left on the image when
    samples beyond its edge read zero (skimage's constant mode) instead of the edge pixel (OpenCV's)."""
    src = (np.arange(out_size) + 0.5) * (in_size / out_size) - 0.5
    return np.clip(1.0 - np.maximum(np.maximum(-src, src - (in_size - 1)), 0.0), 0.0, 1.0).astype(np.float32)


def resize_probabilities(mask: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """``resize(mask, shape)`` (bilinear, constant mode with 0, clipped to the input's range) of a 2-D float
    mask, through OpenCV: equal to float rounding and 5-100x faster, which matters for 100 masks an image.

    OpenCV repeats the edge pixel where skimage reads zero beyond the edge; bilinear weights are
    separable, so the rows and columns that sample beyond the edge are scaled by the weight left on
    the image, then clipped to the input's minimum as skimage clips.
    """
    mask = np.ascontiguousarray(mask, dtype=np.float32)
    out = cv2.resize(mask, (int(shape[1]), int(shape[0])), interpolation=cv2.INTER_LINEAR)
    low = mask.min()
    row_weights, col_weights = _edge_weights(out.shape[0], mask.shape[0]), _edge_weights(out.shape[1], mask.shape[1])
    rows, cols = np.nonzero(row_weights < 1.0)[0], np.nonzero(col_weights < 1.0)[0]
    out[rows] = np.maximum(out[rows] * row_weights[rows, None], low)
    out[:, cols] = np.maximum(out[:, cols] * col_weights[cols], low)
    return out


def unmold_mask(mask: np.ndarray, bbox: Sequence[int], image_shape: Sequence[int]) -> np.ndarray:
    """A head's float mask (e.g. 28x28) -> full-image bool mask: resized into ``bbox``, threshold 0.5."""
    return unmold_masks(mask[None], np.asarray(bbox)[None], image_shape)[:, :, 0]


def unmold_masks(masks: np.ndarray, boxes: np.ndarray, image_shape: Sequence[int]) -> np.ndarray:
    """Head masks [N, h, w] -> full-image bool masks [H, W, N] (unmold_mask of each, in one array).

    The result is an [H, W, N] view of an [N, H, W] array: each mask is pasted into contiguous memory,
    and masks[:, :, i] stays contiguous; stacking on the last axis would copy every mask once more.
    """
    full = np.zeros((len(boxes),) + tuple(image_shape[:2]), dtype=bool)
    for i, (y1, x1, y2, x2) in enumerate(boxes):
        full[i, y1:y2, x1:x2] = resize_probabilities(masks[i], (y2 - y1, x2 - x1)) >= 0.5
    return full.transpose(1, 2, 0)


def mold_image(images: np.ndarray, config: Any) -> np.ndarray:
    """RGB 0-255 images -> float32 network input: minus config.MEAN_PIXEL, no division by 255."""
    return images.astype(np.float32) - np.asarray(config.MEAN_PIXEL, dtype=np.float32)


def unmold_image(normalized_images: np.ndarray, config: Any) -> np.ndarray:
    """Inverse of mold_image, back to uint8 RGB."""
    return (normalized_images + np.asarray(config.MEAN_PIXEL, dtype=np.float32)).astype(np.uint8)


# ---------------------------------------------------------------------------------------------------
# Matching and average precision
# ---------------------------------------------------------------------------------------------------

def compute_matches(gt_boxes: np.ndarray, gt_class_ids: np.ndarray, gt_masks: np.ndarray,
                    pred_boxes: np.ndarray, pred_class_ids: np.ndarray, pred_scores: np.ndarray,
                    pred_masks: np.ndarray, iou_threshold: float = 0.5,
                    score_threshold: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedily match predictions (by descending score) to ground truth on MASK IoU, same class only.

    Zero-padded box rows are trimmed first. Returns gt_match (index of the matched prediction, in
    score order, or -1), pred_match (index of the matched GT or -1) and the IoU matrix
    [n_pred, n_gt] with predictions in score order. ``score_threshold`` drops candidate pairs whose
    IoU is below it (Matterport's naming).
    """
    gt_boxes = trim_zeros(gt_boxes)
    gt_masks = gt_masks[..., :gt_boxes.shape[0]]
    pred_boxes = trim_zeros(pred_boxes)
    pred_scores = pred_scores[:pred_boxes.shape[0]]
    order = np.argsort(pred_scores)[::-1]
    pred_class_ids = pred_class_ids[order]
    pred_masks = pred_masks[..., order]
    overlaps = compute_overlaps_masks(pred_masks, gt_masks)

    pred_match = -1 * np.ones([pred_boxes.shape[0]])
    gt_match = -1 * np.ones([gt_boxes.shape[0]])
    for i in range(len(pred_boxes)):
        candidates = np.argsort(overlaps[i])[::-1]
        low = np.where(overlaps[i, candidates] < score_threshold)[0]
        if low.size > 0:
            candidates = candidates[:low[0]]
        for j in candidates:
            if gt_match[j] > -1:
                continue
            if overlaps[i, j] < iou_threshold:
                break
            if pred_class_ids[i] == gt_class_ids[j]:
                gt_match[j] = i
                pred_match[i] = j
                break
    return gt_match, pred_match, overlaps


def compute_ap(gt_boxes: np.ndarray, gt_class_ids: np.ndarray, gt_masks: np.ndarray,
               pred_boxes: np.ndarray, pred_class_ids: np.ndarray, pred_scores: np.ndarray,
               pred_masks: np.ndarray, iou_threshold: float = 0.5
               ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Average precision at one mask-IoU threshold (VOC style: area under the precision envelope).

    Returns (mAP, precisions, recalls, overlaps); precisions and recalls carry the sentinel end
    points (0 and 1) used in the integration.
    """
    _, pred_match, overlaps = compute_matches(gt_boxes, gt_class_ids, gt_masks, pred_boxes,
                                              pred_class_ids, pred_scores, pred_masks, iou_threshold)
    n_gt = trim_zeros(gt_boxes).shape[0]
    hits = np.cumsum(pred_match > -1)
    precisions = hits / (np.arange(len(pred_match)) + 1)
    recalls = hits.astype(np.float32) / n_gt
    precisions = np.concatenate([[0], precisions, [0]])
    recalls = np.concatenate([[0], recalls, [1]])
    precisions = np.maximum.accumulate(precisions[::-1])[::-1]
    steps = np.where(recalls[:-1] != recalls[1:])[0] + 1
    m_ap = float(np.sum((recalls[steps] - recalls[steps - 1]) * precisions[steps]))
    return m_ap, precisions, recalls, overlaps


def compute_ap_range(gt_box: np.ndarray, gt_class_id: np.ndarray, gt_mask: np.ndarray,
                     pred_box: np.ndarray, pred_class_id: np.ndarray, pred_score: np.ndarray,
                     pred_mask: np.ndarray, iou_thresholds: Iterable[float] | None = None,
                     verbose: int = 1) -> float:
    """Mean of compute_ap over IoU thresholds (default 0.50:0.05:0.95, the COCO range)."""
    thresholds = np.arange(0.5, 1.0, 0.05) if iou_thresholds is None else np.asarray(list(iou_thresholds))
    aps = []
    for threshold in thresholds:
        ap = compute_ap(gt_box, gt_class_id, gt_mask, pred_box, pred_class_id, pred_score, pred_mask,
                        iou_threshold=threshold)[0]
        if verbose:
            print(f"AP @{threshold:.2f}:\t {ap:.3f}")
        aps.append(ap)
    mean_ap = float(np.mean(aps))
    if verbose:
        print(f"AP @{thresholds[0]:.2f}-{thresholds[-1]:.2f}:\t {mean_ap:.3f}")
    return mean_ap


def compute_recall(pred_boxes: np.ndarray, gt_boxes: np.ndarray, iou: float) -> tuple[float, np.ndarray]:
    """Box recall: share of GT boxes that are the best match of some prediction with IoU >= ``iou``.

    Returns (recall, indices of the predictions that reach ``iou`` with their best GT box).
    """
    overlaps = compute_overlaps(pred_boxes, gt_boxes)
    iou_max = np.max(overlaps, axis=1)
    iou_argmax = np.argmax(overlaps, axis=1)
    positive_ids = np.where(iou_max >= iou)[0]
    matched_gt_boxes = iou_argmax[positive_ids]
    return len(set(matched_gt_boxes)) / gt_boxes.shape[0], positive_ids


# ---------------------------------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------------------------------

def _to_rgb_uint8(image: np.ndarray, path: str) -> np.ndarray:
    """Any decoded image array -> uint8 RGB [H, W, 3]: gray expanded, alpha dropped, 16-bit scaled."""
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    elif image.dtype.kind == "f":
        image = np.around(np.clip(image, 0.0, 1.0) * 255)
    elif image.dtype.kind in "ui" and image.dtype.itemsize > 1:
        image = np.around(np.clip(image, 0, 65535) / 257.0)  # 16-bit range -> 0..255
    image = image.astype(np.uint8)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(f"{path}: unsupported image shape {image.shape}; expected gray, gray+alpha, RGB or RGBA")
    if image.shape[-1] in (1, 2):  # gray (+ alpha)
        image = np.repeat(image[:, :, :1], 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3])


def load_rgb_image(path: str) -> np.ndarray:
    """Read an image file as uint8 RGB [H, W, 3]; a clear error naming the file when it cannot be read."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"image file not found: {path}")
    try:
        image = skimage.io.imread(path)
    except Exception as error:  # decoders raise many types; name the file whatever happened
        raise ValueError(f"cannot read image {path}: {error}") from error
    return _to_rgb_uint8(np.asarray(image), path)


class Dataset:
    """Matterport's dataset base class: classes and images from one or more sources, internal ids.

    Subclasses add classes and images (add_class, add_image) and override load_mask; prepare()
    then numbers the classes (0 = background) and images consecutively.
    """

    def __init__(self, class_map: dict | None = None):
        # class_map is accepted for Matterport compatibility; it was never used there either
        self._image_ids: np.ndarray = np.zeros([0], dtype=np.int64)
        self.image_info: list[dict] = []
        self.class_info: list[dict] = [{"source": "", "id": 0, "name": "BG"}]
        self.source_class_ids: dict[str, list[int]] = {}

    def add_class(self, source: str, class_id: int, class_name: str) -> None:
        """Register a class of ``source`` (ignored when already present); source names have no dot."""
        if "." in source:
            raise ValueError(f"source name cannot contain a dot: {source!r}")
        for info in self.class_info:
            if info["source"] == source and info["id"] == class_id:
                return
        self.class_info.append({"source": source, "id": class_id, "name": class_name})

    def add_image(self, source: str, image_id: Any, path: str, **kwargs: Any) -> None:
        """Register an image; extra keyword arguments are kept in its image_info entry."""
        info = {"id": image_id, "source": source, "path": path}
        info.update(kwargs)
        self.image_info.append(info)

    def append_data(self, class_info: Iterable[dict], image_info: Iterable[dict]) -> None:
        """Add the classes and images of another dataset (its class_info and image_info lists)."""
        for info in class_info:
            if info["source"]:  # the other dataset's background entry is ours already
                self.add_class(info["source"], info["id"], info["name"])
        for info in image_info:
            extra = {k: v for k, v in info.items() if k not in ("id", "source", "path")}
            self.add_image(info["source"], info["id"], info["path"], **extra)

    def image_reference(self, image_id: int) -> str:
        """A link or description of the image for debugging; subclasses may override."""
        return ""

    def prepare(self, class_map: dict | None = None) -> None:
        """Number classes and images and build the source <-> internal id maps; call before use.

        ``class_map`` is accepted for Matterport compatibility and ignored, as there.
        """
        def clean_name(name: str) -> str:
            return ",".join(name.split(",")[:1])

        self.num_classes = len(self.class_info)
        self.class_ids = np.arange(self.num_classes)
        self.class_names = [clean_name(c["name"]) for c in self.class_info]
        self.num_images = len(self.image_info)
        self._image_ids = np.arange(self.num_images)
        self.class_from_source_map = {f"{info['source']}.{info['id']}": int(cid)
                                      for info, cid in zip(self.class_info, self.class_ids)}
        self.image_from_source_map = {f"{info['source']}.{info['id']}": int(iid)
                                      for info, iid in zip(self.image_info, self._image_ids)}
        self.sources = sorted({info["source"] for info in self.class_info})
        self.source_class_ids = {
            source: [i for i, info in enumerate(self.class_info) if i == 0 or info["source"] == source]
            for source in self.sources
        }

    def map_source_class_id(self, source_class_id: str) -> int:
        """Internal class id of a "source.id" string, e.g. "coco.12"."""
        try:
            return self.class_from_source_map[source_class_id]
        except KeyError:
            raise KeyError(f"unknown source class id {source_class_id!r}; "
                           f"known: {sorted(self.class_from_source_map)}") from None

    def get_source_class_id(self, class_id: int, source: str) -> Any:
        """The source's own id of internal class ``class_id``; the class must belong to ``source``."""
        info = self.class_info[class_id]
        if info["source"] != source:
            raise ValueError(f"class {class_id} ({info['name']}) belongs to source "
                             f"{info['source']!r}, not {source!r}")
        return info["id"]

    @property
    def image_ids(self) -> np.ndarray:
        return self._image_ids

    def source_image_link(self, image_id: int) -> str:
        """Path or URL of the image in its source."""
        return self.image_info[image_id]["path"]

    def load_image(self, image_id: int) -> np.ndarray:
        """The image as uint8 RGB [H, W, 3] (grayscale expanded, alpha dropped, 16-bit scaled)."""
        return load_rgb_image(self.image_info[image_id]["path"])

    def load_mask(self, image_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Instance masks bool [H, W, N] and class ids int32 [N]; the base class has none."""
        log.warning("Dataset.load_mask() of the base class returns no instances; override it.")
        return np.empty([0, 0, 0], dtype=bool), np.empty([0], dtype=np.int32)


class CocoDataset(Dataset):
    """A COCO-format JSON (e.g. our PASCAL-Part converter's {train,val,test}.json) as a Dataset.

    Category ids are kept as source ids; with categories 0..43 in unmask.parts.PARTS order the
    internal class ids after prepare() are 1..44 and class_names[1:] equals PARTS.
    """

    def load_coco(self, json_path: str, image_dir: str, class_ids: Sequence[int] | None = None,
                  source: str = "parts", return_coco: bool = False) -> Any:
        """Add the categories and annotated images of ``json_path``; files are relative to ``image_dir``.

        As in Matterport only images with at least one annotation of ``class_ids`` (default: all
        categories) are added. Returns the pycocotools COCO object when ``return_coco``; it is also
        kept as ``self.coco``.
        """
        from pycocotools.coco import COCO

        if not os.path.isfile(json_path):
            raise FileNotFoundError(f"COCO annotation file not found: {json_path}")
        coco = COCO(json_path)
        all_ids = sorted(coco.getCatIds())
        class_ids = all_ids if not class_ids else sorted(class_ids)
        unknown = sorted(set(class_ids) - set(all_ids))
        if unknown:
            raise ValueError(f"category ids {unknown} are not in {json_path}; it has {all_ids}")
        image_ids: set[int] = set()
        for cid in class_ids:
            image_ids.update(coco.getImgIds(catIds=[cid]))
        for cid in class_ids:
            self.add_class(source, cid, coco.loadCats(cid)[0]["name"])
        for iid in sorted(image_ids):
            info = coco.imgs[iid]
            self.add_image(source, image_id=iid, path=os.path.join(image_dir, info["file_name"]),
                           width=info["width"], height=info["height"],
                           annotations=coco.loadAnns(coco.getAnnIds(imgIds=[iid], catIds=class_ids,
                                                                    iscrowd=None)))
        self.coco = coco
        self.coco_source = source
        return coco if return_coco else None

    def load_mask(self, image_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Decode the image's polygons / RLE into bool masks [H, W, N] and internal class ids [N].

        Annotations whose mask is empty are skipped; crowd annotations get a negative class id
        (and a full-image mask if their RLE has the wrong size), as in Matterport.
        """
        info = self.image_info[image_id]
        if info["source"] != getattr(self, "coco_source", None):
            return super().load_mask(image_id)
        height, width = info["height"], info["width"]
        masks, class_ids = [], []
        for annotation in info["annotations"]:
            class_id = self.map_source_class_id(f"{info['source']}.{annotation['category_id']}")
            m = self.annToMask(annotation, height, width)
            if m.max() < 1:
                continue
            if annotation.get("iscrowd"):
                class_id *= -1
                if m.shape[:2] != (height, width):
                    m = np.ones([height, width], dtype=bool)
            masks.append(m)
            class_ids.append(class_id)
        if not class_ids:
            return np.zeros([height, width, 0], dtype=bool), np.zeros([0], dtype=np.int32)
        return np.stack(masks, axis=2).astype(bool), np.array(class_ids, dtype=np.int32)

    def image_reference(self, image_id: int) -> str:
        return self.image_info[image_id]["path"]

    @staticmethod
    def annToRLE(ann: dict, height: int, width: int) -> dict:
        """An annotation's segmentation (polygons, uncompressed or compressed RLE) as compressed RLE."""
        from pycocotools import mask as mask_utils

        segm = ann["segmentation"]
        if isinstance(segm, list):
            polygons = [p for p in segm if len(p) >= 6]  # fewer than 3 points enclose no pixel
            if not polygons:
                return mask_utils.encode(np.zeros((height, width), dtype=np.uint8, order="F"))
            return mask_utils.merge(mask_utils.frPyObjects(polygons, height, width))
        if isinstance(segm["counts"], list):
            return mask_utils.frPyObjects(segm, height, width)
        return segm

    def annToMask(self, ann: dict, height: int, width: int) -> np.ndarray:
        """An annotation's segmentation as a uint8 mask [H, W]."""
        from pycocotools import mask as mask_utils

        return mask_utils.decode(self.annToRLE(ann, height, width))
