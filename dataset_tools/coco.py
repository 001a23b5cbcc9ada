"""COCO instance annotations from binary masks (polygon segmentation, pycocotools bbox and area)."""
from __future__ import annotations

import cv2
import numpy as np
from pycocotools import mask as mask_utils
from skimage.measure import find_contours

from unmask.parts import PARTS

POLYGON_TOLERANCE = 2.0
"""Douglas-Peucker tolerance in pixels of the original conversion."""


def categories() -> list[dict]:
    """The 44 part categories, id = index in PARTS."""
    return [{"id": i, "name": name, "supercategory": "part"} for i, name in enumerate(PARTS)]


def mask_to_polygons(mask: np.ndarray, tolerance: float = POLYGON_TOLERANCE) -> list[list[float]]:
    """Outer and hole contours of a binary mask as COCO polygons [x1, y1, x2, y2, ...].

    As pycococreatortools' binary_mask_to_polygon (which the original conversion used): the mask is
    padded by one pixel so contours touching the border close, contours are traced at level 0.5 (here
    on the bounding-box crop, for speed), closed, simplified with ``tolerance`` keeping the closing
    vertex (the first vertex again at the end), and left out with fewer than three vertices, so a part
    of 3 x 3 px or less keeps a (degenerate) polygon. The original simplified with skimage's
    approximate_polygon; OpenCV's Douglas-Peucker with the same tolerance is ~50x faster and may keep a
    vertex fewer or break a tie between equally distant vertices the other way (the same polygons
    survive)."""
    rows, cols = np.nonzero(np.any(mask, axis=1))[0], np.nonzero(np.any(mask, axis=0))[0]
    if rows.size == 0:
        return []
    y0, x0 = rows[0], cols[0]
    crop = np.pad(mask[y0:rows[-1] + 1, x0:cols[-1] + 1].astype(np.uint8), 1)
    polygons = []
    for contour in find_contours(crop, 0.5):
        if not np.array_equal(contour[0], contour[-1]):
            contour = np.vstack([contour, contour[:1]])
        contour = cv2.approxPolyDP(contour.astype(np.float32), tolerance, closed=False)[:, 0, :]
        if not np.array_equal(contour[0], contour[-1]):  # OpenCV drops the closing vertex, skimage keeps it
            contour = np.vstack([contour, contour[:1]])
        if len(contour) < 3:
            continue
        xy = contour[:, ::-1].astype(np.float64) - 1 + (x0, y0)
        polygons.append(np.round(np.clip(xy, 0, None), 2).ravel().tolist())
    return polygons


def mask_annotation(mask: np.ndarray, ann_id: int, image_id: int, category_id: int) -> dict | None:
    """One COCO annotation for a binary mask, or None when the mask yields no polygon."""
    polygons = mask_to_polygons(mask)
    if not polygons:
        return None
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {
        "id": ann_id,
        "image_id": image_id,
        "category_id": category_id,
        "segmentation": polygons,
        "area": int(mask_utils.area(rle)),
        "bbox": [float(v) for v in mask_utils.toBbox(rle)],
        "iscrowd": 0,
    }
