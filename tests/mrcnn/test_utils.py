"""Numerics of mrcnn.utils against hand-computed values and Matterport's documented behaviour."""
import json
import math

import numpy as np
import PIL.Image
import pytest
from pycocotools import mask as mask_utils

from mrcnn import utils
from unmask.parts import PARTS


# --- resize_image / resize_mask ---------------------------------------------------------------------

def test_resize_square_scales_down_to_max_dim_and_pads_centred():
    image = np.full((300, 400, 3), 7, dtype=np.uint8)
    out, window, scale, padding, crop = utils.resize_image(image, min_dim=800, max_dim=1024, mode="square")
    # 800/300 would make the long side round(400*2.667) = 1067 > 1024, so scale = 1024/400
    assert scale == pytest.approx(2.56)
    assert out.shape == (1024, 1024, 3) and out.dtype == np.uint8
    assert padding == [(128, 128), (0, 0), (0, 0)]
    assert window == (128, 0, 896, 1024)
    assert crop is None
    assert np.all(out[128:896] == 7) and np.all(out[:128] == 0) and np.all(out[896:] == 0)


def test_resize_square_scales_up_to_min_dim():
    image = np.zeros((30, 20, 3), dtype=np.uint8)
    out, window, scale, padding, _ = utils.resize_image(image, min_dim=64, max_dim=128, mode="square")
    assert scale == pytest.approx(3.2)  # round(30*3.2) = 96 <= 128
    assert out.shape == (128, 128, 3)
    assert padding == [(16, 16), (32, 32), (0, 0)]
    assert window == (16, 32, 112, 96)


def test_resize_is_bilinear_without_anti_aliasing():
    ramp = np.tile(np.arange(0, 40, dtype=np.float32), (40, 1))[:, :, None].repeat(3, axis=2)
    out, _, scale, _, _ = utils.resize_image(ramp, min_dim=80, max_dim=80, mode="square")
    assert scale == 2 and out.dtype == np.float32
    # skimage maps output pixel centre c to input coordinate (c + 0.5) / 2 - 0.5, linearly interpolated
    assert out[40, 11, 0] == pytest.approx((11 + 0.5) / 2 - 0.5)
    assert out[40, 40, 0] == pytest.approx(19.75)


def test_resize_min_scale_raises_the_scale():
    image = np.zeros((64, 64, 3), dtype=np.uint8)
    out, _, scale, _, _ = utils.resize_image(image, min_dim=64, max_dim=256, min_scale=2, mode="square")
    assert scale == 2 and out.shape == (256, 256, 3)


def test_resize_pad64_pads_each_side_to_a_multiple_of_64():
    image = np.ones((100, 130, 3), dtype=np.uint8)
    out, window, scale, padding, crop = utils.resize_image(image, min_dim=64, mode="pad64")
    assert scale == 1 and crop is None
    assert out.shape == (128, 192, 3)
    assert padding == [(14, 14), (31, 31), (0, 0)]
    assert window == (14, 31, 114, 161)
    aligned, window, _, padding, _ = utils.resize_image(np.ones((128, 64, 3), np.uint8), min_dim=64, mode="pad64")
    assert aligned.shape == (128, 64, 3) and padding == [(0, 0), (0, 0), (0, 0)] and window == (0, 0, 128, 64)
    with pytest.raises(ValueError, match="multiple of 64"):
        utils.resize_image(image, min_dim=100, mode="pad64")


def test_resize_crop_is_a_seeded_random_window():
    image = np.random.default_rng(0).integers(0, 255, (100, 130, 3)).astype(np.uint8)
    out, window, scale, padding, crop = utils.resize_image(image, min_dim=64, mode="crop",
                                                           rng=np.random.default_rng(5))
    y, x, h, w = crop
    assert (h, w) == (64, 64) and 0 <= y <= 36 and 0 <= x <= 66
    assert window == (0, 0, 64, 64) and scale == 1
    np.testing.assert_array_equal(out, image[y:y + 64, x:x + 64])
    again = utils.resize_image(image, min_dim=64, mode="crop", rng=np.random.default_rng(5))[4]
    assert again == crop


def test_resize_none_and_unknown_mode():
    image = np.zeros((33, 47, 3), dtype=np.uint8)
    out, window, scale, padding, crop = utils.resize_image(image, min_dim=800, max_dim=1024, mode="none")
    assert out is image and window == (0, 0, 33, 47) and scale == 1 and crop is None
    assert padding == [(0, 0), (0, 0), (0, 0)]
    with pytest.raises(ValueError, match="unknown resize mode"):
        utils.resize_image(image, mode="stretch")


def test_resize_mask_follows_the_image():
    mask = np.zeros((30, 20, 2), dtype=bool)
    mask[5:15, 2:12, 0] = True
    mask[20:30, 10:20, 1] = True
    _, window, scale, padding, _ = utils.resize_image(np.zeros((30, 20, 3), np.uint8), 40, 80, mode="square")
    assert scale == 2
    resized = utils.resize_mask(mask, scale, padding)
    assert resized.shape == (80, 80, 2) and resized.dtype == bool
    top, left = padding[0][0], padding[1][0]
    expected = np.array([[10 + top, 4 + left, 30 + top, 24 + left], [40 + top, 20 + left, 60 + top, 40 + left]])
    np.testing.assert_array_equal(utils.extract_bboxes(resized), expected)
    cropped = utils.resize_mask(mask, 1, padding, crop=(5, 2, 10, 10))
    assert cropped.shape == (10, 10, 2) and cropped[:, :, 0].all() and not cropped[:, :, 1].any()


# --- anchors ----------------------------------------------------------------------------------------

def test_pyramid_anchor_count_and_order_at_1024():
    strides = [4, 8, 16, 32, 64]
    shapes = [(math.ceil(1024 / s), math.ceil(1024 / s)) for s in strides]
    anchors = utils.generate_pyramid_anchors((32, 64, 128, 256, 512), [0.5, 1, 2], shapes, strides, 1)
    assert anchors.shape == (261888, 4)
    centres = (anchors[:, :2] + anchors[:, 2:]) / 2
    sizes = anchors[:, 2:] - anchors[:, :2]
    # level -> row -> column -> ratio; centres at arange * stride, no half-stride offset
    np.testing.assert_allclose(centres[0:3], 0)
    np.testing.assert_allclose(centres[3], [0, 4])
    np.testing.assert_allclose(centres[256 * 3], [4, 0])
    np.testing.assert_allclose(sizes[0], [32 / math.sqrt(0.5), 32 * math.sqrt(0.5)])
    np.testing.assert_allclose(sizes[1], [32, 32])
    np.testing.assert_allclose(sizes[2], [32 / math.sqrt(2), 32 * math.sqrt(2)])
    level2 = 256 * 256 * 3
    np.testing.assert_allclose(centres[level2 + 3], [0, 8])
    np.testing.assert_allclose(sizes[level2 + 1], [64, 64])
    np.testing.assert_allclose(centres[-1], [15 * 64, 15 * 64])
    np.testing.assert_allclose(sizes[-1], [512 / math.sqrt(2), 512 * math.sqrt(2)])


def test_anchor_stride_skips_feature_cells():
    anchors = utils.generate_anchors(16, [1], (4, 4), 8, 2)
    centres = (anchors[:, :2] + anchors[:, 2:]) / 2
    np.testing.assert_allclose(centres, [[0, 0], [0, 16], [16, 0], [16, 16]])


# --- IoU, NMS, box deltas --------------------------------------------------------------------------

def test_iou_hand_cases():
    box = np.array([0, 0, 10, 10])
    boxes = np.array([[5, 5, 15, 15], [0, 0, 10, 10], [20, 20, 30, 30], [0, 0, 5, 10]])
    iou = utils.compute_iou(box, boxes, 100, (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
    np.testing.assert_allclose(iou, [25 / 175, 1, 0, 0.5])
    overlaps = utils.compute_overlaps(boxes, box[None])
    assert overlaps.shape == (4, 1)
    np.testing.assert_allclose(overlaps[:, 0], iou)
    np.testing.assert_allclose(utils.compute_overlaps(boxes, boxes), utils.compute_overlaps(boxes, boxes).T)


def test_mask_overlaps_hand_case():
    masks1 = np.zeros((4, 4, 2), dtype=bool)
    masks1[:2, :, 0] = True  # 8 pixels
    masks1[:, :, 1] = True  # 16 pixels
    masks2 = np.zeros((4, 4, 1), dtype=bool)
    masks2[:, :2, 0] = True  # 8 pixels, 4 shared with masks1[0]
    np.testing.assert_allclose(utils.compute_overlaps_masks(masks1, masks2), [[4 / 12], [8 / 16]])
    assert utils.compute_overlaps_masks(masks1, np.zeros((4, 4, 0))).shape == (2, 0)


def test_non_max_suppression_keeps_best_of_each_cluster():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 5]])
    scores = np.array([0.8, 0.9, 0.3, 0.5])
    keep = utils.non_max_suppression(boxes, scores, 0.5)
    assert keep.dtype == np.int32
    # box 1 suppresses box 0 (IoU 81/119); box 3 has IoU 45/110 with box 1 and survives
    np.testing.assert_array_equal(keep, [1, 3, 2])
    # IoU exactly at the threshold is kept (only IoU > threshold is suppressed)
    np.testing.assert_array_equal(utils.non_max_suppression(boxes[[0, 3]], scores[[0, 3]], 0.5), [0, 1])
    assert utils.non_max_suppression(np.zeros((0, 4)), np.zeros(0), 0.5).shape == (0,)


def test_box_refinement_hand_case_and_round_trip():
    box = np.array([[0, 0, 10, 10]])
    gt = np.array([[5, 5, 15, 25]])
    deltas = utils.box_refinement(box, gt)
    np.testing.assert_allclose(deltas, [[0.5, 1.0, 0.0, math.log(2)]], rtol=1e-6)
    rng = np.random.default_rng(1)
    corners = rng.uniform(0, 50, (20, 2))
    boxes = np.concatenate([corners, corners + rng.uniform(1, 30, (20, 2))], axis=1)
    targets = np.concatenate([corners + 3, corners + rng.uniform(5, 40, (20, 2))], axis=1)
    np.testing.assert_allclose(utils.apply_box_deltas(boxes, utils.box_refinement(boxes, targets)), targets,
                               rtol=1e-4, atol=1e-3)


def test_norm_and_denorm_boxes():
    boxes = np.array([[0, 0, 11, 21], [2, 4, 6, 8]])
    normed = utils.norm_boxes(boxes, (11, 21))
    assert normed.dtype == np.float32
    np.testing.assert_allclose(normed[0], [0, 0, 1, 1])
    np.testing.assert_allclose(normed[1], [0.2, 0.2, 0.5, 0.35])
    np.testing.assert_array_equal(utils.denorm_boxes(normed, (11, 21)), boxes)


def test_extract_bboxes_exclusive_corners_and_empty_mask():
    mask = np.zeros((10, 10, 2), dtype=bool)
    mask[2:5, 3:9, 0] = True
    np.testing.assert_array_equal(utils.extract_bboxes(mask), [[2, 3, 5, 9], [0, 0, 0, 0]])


# --- masks ------------------------------------------------------------------------------------------

def test_mini_mask_round_trip():
    yy, xx = np.mgrid[:64, :80]
    mask = np.zeros((64, 80, 2), dtype=bool)
    mask[10:30, 20:50, 0] = True
    mask[:, :, 1] = ((yy - 40) / 15.0) ** 2 + ((xx - 40) / 25.0) ** 2 <= 1
    bbox = utils.extract_bboxes(mask)
    mini = utils.minimize_mask(bbox, mask, (16, 16))
    assert mini.shape == (16, 16, 2) and mini.dtype == bool
    back = utils.expand_mask(bbox, mini, (64, 80, 3))
    np.testing.assert_array_equal(back[:, :, 0], mask[:, :, 0])
    assert utils.compute_overlaps_masks(back[:, :, 1:], mask[:, :, 1:])[0, 0] > 0.9
    with pytest.raises(ValueError, match="area zero"):
        utils.minimize_mask(np.array([[3, 3, 3, 8]]), mask[:, :, :1], (16, 16))


def test_unmold_mask_thresholds_at_half_inside_the_box():
    small = np.zeros((28, 28), dtype=np.float32)
    small[:, :14] = 0.6
    small[:, 14:] = 0.4
    full = utils.unmold_mask(small, (10, 20, 38, 76), (50, 100, 3))
    assert full.shape == (50, 100) and full.dtype == bool
    # constant-mode bilinear resize blends the border with 0 (as Matterport): 0.75 * 0.6 < 0.5 at column 20
    np.testing.assert_array_equal(utils.extract_bboxes(full[:, :, None])[0], [10, 21, 38, 48])


def test_mold_and_unmold_image():
    class Config:
        MEAN_PIXEL = np.array([123.7, 116.8, 103.9])

    image = np.full((2, 2, 3), 200, dtype=np.uint8)
    molded = utils.mold_image(image, Config)
    np.testing.assert_allclose(molded[0, 0], [76.3, 83.2, 96.1], rtol=1e-5)
    np.testing.assert_array_equal(utils.unmold_image(molded + 1e-3, Config), image)


# --- AP and recall ----------------------------------------------------------------------------------

def _rect_masks(boxes, shape=(40, 40)):
    masks = np.zeros(shape + (len(boxes),), dtype=bool)
    for i, (y1, x1, y2, x2) in enumerate(boxes):
        masks[y1:y2, x1:x2, i] = True
    return masks


GT_BOXES = np.array([[0, 0, 10, 10], [20, 20, 30, 30]])
GT_IDS = np.array([1, 2])


def test_compute_ap_perfect_and_hand_cases():
    gt_masks = _rect_masks(GT_BOXES)
    ap, precisions, recalls, _ = utils.compute_ap(GT_BOXES, GT_IDS, gt_masks, GT_BOXES, GT_IDS,
                                                  np.array([0.9, 0.8]), gt_masks)
    assert ap == pytest.approx(1.0)
    np.testing.assert_allclose(recalls, [0, 0.5, 1, 1])
    # the confident prediction is right, the other has the wrong class: precision 1 up to recall 0.5
    ap, *_ = utils.compute_ap(GT_BOXES, GT_IDS, gt_masks, GT_BOXES, np.array([1, 1]), np.array([0.9, 0.8]),
                              gt_masks)
    assert ap == pytest.approx(0.5)
    # the wrong one is more confident: precision at recall 0.5 is 1/2
    ap, *_ = utils.compute_ap(GT_BOXES, GT_IDS, gt_masks, GT_BOXES, np.array([1, 1]), np.array([0.7, 0.8]),
                              gt_masks)
    assert ap == pytest.approx(0.25)


def test_compute_ap_matches_on_mask_iou_and_trims_padding():
    gt_masks = _rect_masks(GT_BOXES)
    shifted = np.array([[0, 4, 10, 14], [20, 20, 30, 30]])  # first mask IoU 60/140 < 0.5
    padded = np.concatenate([shifted, np.zeros((2, 4), int)])
    pred_masks = np.concatenate([_rect_masks(shifted), np.zeros((40, 40, 2), bool)], axis=2)
    ap, _, _, overlaps = utils.compute_ap(GT_BOXES, GT_IDS, gt_masks, padded, np.array([1, 2, 0, 0]),
                                          np.array([0.9, 0.8, 0, 0]), pred_masks)
    assert overlaps.shape == (2, 2)
    assert overlaps[0, 0] == pytest.approx(60 / 140)
    assert ap == pytest.approx(0.25)  # only the second prediction (rank 2) matches
    ap, *_ = utils.compute_ap(GT_BOXES, GT_IDS, gt_masks, padded, np.array([1, 2, 0, 0]),
                              np.array([0.9, 0.8, 0, 0]), pred_masks, iou_threshold=0.4)
    assert ap == pytest.approx(1.0)


def test_compute_matches_reports_pairs():
    gt_masks = _rect_masks(GT_BOXES)
    gt_match, pred_match, _ = utils.compute_matches(GT_BOXES, GT_IDS, gt_masks, GT_BOXES[::-1], GT_IDS[::-1],
                                                    np.array([0.5, 0.9]), gt_masks[:, :, ::-1])
    # predictions are re-ordered by score: rank 0 is the box at (0, 0), i.e. GT 0
    np.testing.assert_array_equal(pred_match, [0, 1])
    np.testing.assert_array_equal(gt_match, [0, 1])


def test_compute_ap_range_and_recall():
    gt_masks = _rect_masks(GT_BOXES)
    slightly_off = np.array([[0, 1, 10, 11], [20, 20, 30, 30]])  # IoU 90/110 = 0.818
    ap = utils.compute_ap_range(GT_BOXES, GT_IDS, gt_masks, slightly_off, GT_IDS, np.array([0.9, 0.8]),
                                _rect_masks(slightly_off), verbose=0)
    # thresholds 0.50..0.80 (7 of 10) match both; at 0.85..0.95 only the lower-scored second one
    # matches, at precision 1/2 and recall 1/2 (AP 0.25)
    assert ap == pytest.approx((7 * 1.0 + 3 * 0.25) / 10)
    recall, positives = utils.compute_recall(slightly_off, GT_BOXES, 0.85)
    assert recall == pytest.approx(0.5)
    np.testing.assert_array_equal(positives, [1])


# --- Dataset ----------------------------------------------------------------------------------------

def test_dataset_class_maps():
    dataset = utils.Dataset()
    dataset.add_class("shapes", 1, "square")
    dataset.add_class("shapes", 2, "circle, round")
    dataset.add_class("shapes", 1, "square")  # duplicate: ignored
    dataset.add_class("coco", 12, "cat")
    with pytest.raises(ValueError, match="dot"):
        dataset.add_class("bad.source", 1, "x")
    dataset.add_image("shapes", "a", "/nowhere/a.png", width=4)
    dataset.add_image("coco", 7, "/nowhere/b.png")
    dataset.prepare()
    assert dataset.num_classes == 4
    assert dataset.class_names == ["BG", "square", "circle", "cat"]
    np.testing.assert_array_equal(dataset.class_ids, [0, 1, 2, 3])
    np.testing.assert_array_equal(dataset.image_ids, [0, 1])
    assert dataset.num_images == 2 and dataset.image_info[0]["width"] == 4
    assert dataset.map_source_class_id("coco.12") == 3
    assert dataset.class_from_source_map["shapes.2"] == 2
    assert dataset.image_from_source_map == {"shapes.a": 0, "coco.7": 1}
    assert dataset.get_source_class_id(3, "coco") == 12
    with pytest.raises(ValueError, match="belongs to source"):
        dataset.get_source_class_id(3, "shapes")
    with pytest.raises(KeyError, match="coco.13"):
        dataset.map_source_class_id("coco.13")
    assert dataset.source_class_ids == {"": [0], "coco": [0, 3], "shapes": [0, 1, 2]}
    mask, ids = dataset.load_mask(0)
    assert mask.shape == (0, 0, 0) and mask.dtype == bool and ids.dtype == np.int32 and ids.size == 0

    merged = utils.Dataset()
    merged.append_data(dataset.class_info, dataset.image_info)
    merged.prepare()
    assert merged.class_names == dataset.class_names
    assert merged.image_info == dataset.image_info


def test_load_image_converts_gray_alpha_and_16_bit(tmp_path):
    gray = np.arange(48, dtype=np.uint8).reshape(6, 8)
    PIL.Image.fromarray(gray).save(tmp_path / "gray.png")
    rgba = np.random.default_rng(0).integers(0, 255, (6, 8, 4)).astype(np.uint8)
    PIL.Image.fromarray(rgba).save(tmp_path / "rgba.png")
    deep = (np.arange(48, dtype=np.uint16).reshape(6, 8) * 1000)
    PIL.Image.fromarray(deep).save(tmp_path / "deep.png")
    dataset = utils.Dataset()
    for name in ("gray", "rgba", "deep"):
        dataset.add_image("files", name, str(tmp_path / f"{name}.png"))
    dataset.prepare()
    images = [dataset.load_image(i) for i in dataset.image_ids]
    for image in images:
        assert image.shape == (6, 8, 3) and image.dtype == np.uint8
    np.testing.assert_array_equal(images[0], np.repeat(gray[:, :, None], 3, axis=2))
    np.testing.assert_array_equal(images[1], rgba[:, :, :3])
    np.testing.assert_array_equal(images[2][:, :, 0], np.around(deep / 257.0).astype(np.uint8))


def test_load_image_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.png"):
        utils.load_rgb_image(str(tmp_path / "missing.png"))
    (tmp_path / "broken.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="broken.png"):
        utils.load_rgb_image(str(tmp_path / "broken.png"))


# --- CocoDataset ------------------------------------------------------------------------------------

def _write_parts_coco(root):
    """Two annotated images and one without annotations, in the converter's layout."""
    (root / "train").mkdir()
    h, w = 20, 30
    for name in ("a.png", "b.png", "empty.png"):
        PIL.Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(root / "train" / name)
    rle_mask = np.zeros((h, w), dtype=np.uint8, order="F")
    rle_mask[10:20, 0:5] = 1
    rle = mask_utils.encode(rle_mask)
    rle["counts"] = rle["counts"].decode("ascii")
    uncompressed = {"size": [h, w], "counts": [0, h * w]}  # an all-ones mask as uncompressed RLE
    annotations = [
        {"id": 1, "image_id": 1, "category_id": 0, "iscrowd": 0,  # plant, polygon
         "segmentation": [[2, 2, 12, 2, 12, 8, 2, 8]], "bbox": [2, 2, 10, 6], "area": 60},
        {"id": 2, "image_id": 1, "category_id": 43, "iscrowd": 0,  # foot, compressed RLE
         "segmentation": rle, "bbox": [0, 10, 5, 10], "area": 50},
        {"id": 3, "image_id": 1, "category_id": 20, "iscrowd": 0,  # head, degenerate: skipped
         "segmentation": [[1, 1, 1, 1]], "bbox": [1, 1, 0, 0], "area": 0},
        {"id": 4, "image_id": 2, "category_id": 20, "iscrowd": 1,  # crowd head: negative id
         "segmentation": uncompressed, "bbox": [0, 0, w, h], "area": h * w},
    ]
    coco = {
        "images": [{"id": 1, "file_name": "a.png", "height": h, "width": w},
                   {"id": 2, "file_name": "b.png", "height": h, "width": w},
                   {"id": 3, "file_name": "empty.png", "height": h, "width": w}],
        "categories": [{"id": i, "name": name, "supercategory": "part"} for i, name in enumerate(PARTS)],
        "annotations": annotations,
    }
    (root / "train.json").write_text(json.dumps(coco))


def test_coco_dataset_reads_the_converter_format(tmp_path):
    _write_parts_coco(tmp_path)
    dataset = utils.CocoDataset()
    coco = dataset.load_coco(str(tmp_path / "train.json"), str(tmp_path / "train"), return_coco=True)
    dataset.prepare()
    assert coco is dataset.coco
    assert dataset.num_classes == 45
    assert dataset.class_names[0] == "BG" and tuple(dataset.class_names[1:]) == PARTS
    assert [dataset.map_source_class_id(f"parts.{i}") for i in range(44)] == list(range(1, 45))
    assert dataset.get_source_class_id(44, "parts") == 43
    assert [info["id"] for info in dataset.image_info] == [1, 2]  # the unannotated image is left out
    assert dataset.load_image(0).shape == (20, 30, 3)

    masks, ids = dataset.load_mask(0)
    assert masks.shape == (20, 30, 2) and masks.dtype == bool and ids.dtype == np.int32
    np.testing.assert_array_equal(ids, [1, 44])
    assert masks[2:8, 2:12, 0].all() and masks[:, :, 0].sum() < 11 * 7
    np.testing.assert_array_equal(utils.extract_bboxes(masks)[1], [10, 0, 20, 5])
    assert masks[:, :, 1].sum() == 50

    masks, ids = dataset.load_mask(1)
    np.testing.assert_array_equal(ids, [-21])
    assert masks[:, :, 0].all()


def test_coco_dataset_class_subset_and_errors(tmp_path):
    _write_parts_coco(tmp_path)
    dataset = utils.CocoDataset()
    dataset.load_coco(str(tmp_path / "train.json"), str(tmp_path / "train"), class_ids=[20])
    dataset.prepare()
    assert dataset.class_names == ["BG", "head"]
    assert [info["id"] for info in dataset.image_info] == [1, 2]
    masks, ids = dataset.load_mask(0)  # image 1 holds only a degenerate head: no instances
    assert masks.shape == (20, 30, 0) and ids.shape == (0,)
    with pytest.raises(ValueError, match=r"\[99\]"):
        utils.CocoDataset().load_coco(str(tmp_path / "train.json"), str(tmp_path / "train"), class_ids=[99])
    with pytest.raises(FileNotFoundError, match="nope.json"):
        utils.CocoDataset().load_coco(str(tmp_path / "nope.json"), str(tmp_path))
