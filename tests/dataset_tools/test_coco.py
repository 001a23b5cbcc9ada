"""COCO polygons as pycococreatortools' binary_mask_to_polygon made them for the original conversion."""
import itertools

import numpy as np
from skimage import measure

from dataset_tools.coco import mask_annotation, mask_to_polygons


def _box(y0: int, x0: int, y1: int, x1: int, shape=(10, 10)) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    mask[y0:y1, x0:x1] = 1
    return mask


def _pycococreator(mask: np.ndarray, tolerance: float = 2.0) -> list[list[float]]:
    """The original's steps with skimage: pad 1, contours at 0.5, shift back, close, approximate_polygon
    (which keeps the closing vertex), drop fewer than 3 vertices, (x, y), negatives to 0."""
    polygons = []
    for contour in measure.find_contours(np.pad(mask, 1), 0.5):
        contour = contour - 1
        if not np.array_equal(contour[0], contour[-1]):
            contour = np.vstack([contour, contour[:1]])
        contour = measure.approximate_polygon(contour, tolerance)
        if len(contour) >= 3:
            polygons.append([max(v, 0) for v in np.flip(contour, axis=1).ravel().tolist()])
    return polygons


def test_polygons_keep_the_closing_vertex():
    # pixel-edge contour of rows 2-4, cols 3-5 at level 0.5; Douglas-Peucker (2 px) keeps its start
    # (5, 4.5), the farthest vertex (3, 1.5) and the start again
    assert mask_to_polygons(_box(2, 3, 5, 6)) == [[5.0, 4.5, 3.0, 1.5, 5.0, 4.5]]
    # rows 2-7, cols 3-8: four corners of the half-pixel contour, then the first again
    assert mask_to_polygons(_box(2, 3, 8, 9)) == [[8.0, 7.5, 2.5, 7.0, 3.0, 1.5, 8.5, 2.0, 8.0, 7.5]]
    assert mask_to_polygons(_box(3, 3, 4, 4)) == []  # one pixel: every vertex within 2 px of the start


def test_a_3x3_part_keeps_its_annotation():
    annotation = mask_annotation(_box(2, 3, 5, 6), ann_id=7, image_id=1, category_id=11)
    assert annotation is not None
    assert annotation["segmentation"] == [[5.0, 4.5, 3.0, 1.5, 5.0, 4.5]]
    assert annotation["area"] == 9 and annotation["bbox"] == [3.0, 2.0, 3.0, 3.0]


def test_every_part_within_3x3_px_gets_the_original_polygons():
    for bits in itertools.product((0, 1), repeat=9):
        pattern = np.array(bits, np.uint8).reshape(3, 3)
        inside = np.pad(pattern, 2)
        for mask in (inside, pattern):  # away from and touching the image border
            assert mask_to_polygons(mask) == _pycococreator(mask), pattern
