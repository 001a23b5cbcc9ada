"""The image + mask datasets of the foreground-attention experiment: MS-COCO-IC on a hand-made COCO, the
GTSRB-IC segmenter on a drawn sign, the miniature, and their missing-input errors."""
import json

import cv2
import numpy as np
import pytest

from dataset_tools.coco_ic import build_coco_ic, check_coco_source
from dataset_tools.fg_miniature import build_miniature
from dataset_tools.fg_pairs import list_pairs, load_pairs, read_manifest
from dataset_tools.gtsrb_ic import build_gtsrb_ic, check_gtsrb_source, grabcut_mask


def _polygon(points):
    return [float(v) for p in points for v in p]


def _coco(tmp_path):
    """A COCO 2014 folder: one 64 px image per split. Train: two cars (one a triangle), a dog (a square
    overlapping the triangle's box), a bottle, a person and a crowd car; val: one bottle."""
    ann_dir = tmp_path / "annotations"
    ann_dir.mkdir(parents=True)
    categories = [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}, {"id": 18, "name": "dog"},
                  {"id": 44, "name": "bottle"}]

    def ann(aid, image_id, cat, points, crowd=0):
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        box = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
        return {"id": aid, "image_id": image_id, "category_id": cat, "segmentation": [_polygon(points)],
                "area": box[2] * box[3], "bbox": box, "iscrowd": crowd}

    train = [ann(1, 1, 3, [(8, 8), (32, 8), (8, 32)]), ann(2, 1, 18, [(20, 20), (44, 20), (44, 44), (20, 44)]),
             ann(3, 1, 44, [(48, 4), (60, 4), (60, 30), (48, 30)]), ann(4, 1, 1, [(2, 40), (14, 40), (14, 62), (2, 62)]),
             ann(5, 1, 3, [(40, 50), (60, 50), (60, 60), (40, 60)], crowd=1),
             ann(7, 1, 3, [(40, 34), (60, 34), (60, 46), (40, 46)])]
    val = [ann(6, 2, 44, [(10, 10), (30, 10), (30, 40), (10, 40)])]
    for split, image_id, anns in (("train", 1, train), ("val", 2, val)):
        folder = tmp_path / f"{split}2014"
        folder.mkdir()
        image = np.full((64, 64, 3), 200, np.uint8)
        image[..., 0] = np.arange(64)[None, :] * 3  # a gradient, so the crop's position is visible
        cv2.imwrite(str(folder / f"{image_id}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        doc = {"images": [{"id": image_id, "file_name": f"{image_id}.png", "width": 64, "height": 64}],
               "annotations": anns, "categories": categories}
        (ann_dir / f"instances_{split}2014.json").write_text(json.dumps(doc))
    return tmp_path


def test_coco_ic_crops_masks_and_blacked_out_overlaps(tmp_path):
    from pycocotools import mask as mask_utils

    source = _coco(tmp_path / "coco")
    manifest = build_coco_ic(source, tmp_path / "ic", size=24, count=2)
    assert manifest["classes"] == ["car", "bottle"]  # person excluded, crowds not counted; bottle before dog by name
    assert manifest["counts"] == {"train": 3, "test": 1}
    pairs = list_pairs(tmp_path / "ic", "train", manifest["classes"])
    images, masks, labels = load_pairs(pairs)
    assert labels.tolist() == [0, 0, 1] and [p[0].name for p in pairs[:2]] == ["000000000001_1.png", "000000000001_7.png"]
    image = np.full((64, 64, 3), 200, np.uint8)
    image[..., 0] = np.arange(64)[None, :] * 3

    def raster(points):
        return mask_utils.decode(mask_utils.frPyObjects([_polygon(points)], 64, 64))[..., 0].astype(bool)

    car, dog = raster([(8, 8), (32, 8), (8, 32)]), raster([(20, 20), (44, 20), (44, 44), (20, 44)])
    expected = np.where((dog & ~car)[..., None], 0, image)[8:32, 8:32]  # the car's box is 24 px: no resize
    np.testing.assert_array_equal((images[0] * 255).round().astype(np.uint8), expected)
    np.testing.assert_array_equal(masks[0, ..., 0].astype(bool), car[8:32, 8:32])
    assert (expected[20:, 20:] == 0).all() and masks[0, 20:, 20:].sum() == 0  # the dog's pixels blacked out
    assert read_manifest(tmp_path / "ic")["builder"]["blackout"].startswith("pixels of every other")


def test_missing_sources_are_named_before_work(tmp_path):
    with pytest.raises(FileNotFoundError, match="instances_train2014.json.*train2014"):
        check_coco_source(tmp_path)
    with pytest.raises(FileNotFoundError, match="Final_Training/Images.*GT-final_test.csv"):
        check_gtsrb_source(tmp_path)
    with pytest.raises(FileNotFoundError, match="dataset.json"):
        read_manifest(tmp_path)


def _sign(size=48, seed=0):
    """A red disc with a white centre on a noisy green-grey background; returns (image, disc)."""
    rng = np.random.default_rng(seed)
    image = np.clip(rng.normal((90, 120, 90), 18, (size, size, 3)), 0, 255).astype(np.uint8)
    yy, xx = np.mgrid[:size, :size]
    disc = (yy - size / 2) ** 2 + (xx - size / 2) ** 2 <= (size * 0.3) ** 2
    image[disc] = (210, 20, 30)
    image[(yy - size / 2) ** 2 + (xx - size / 2) ** 2 <= (size * 0.18) ** 2] = (245, 245, 245)
    return image, disc


def test_grabcut_segmenter_finds_a_drawn_sign():
    image, disc = _sign()
    mask = grabcut_mask(image, seed=1)
    assert mask.shape == disc.shape and mask.dtype == bool
    assert (mask & disc).sum() / (mask | disc).sum() > 0.8


def test_gtsrb_ic_builder_on_a_tiny_gtsrb(tmp_path):
    source = tmp_path / "GTSRB"
    for cls in (0, 14):
        folder = source / "Final_Training" / "Images" / f"{cls:05d}"
        folder.mkdir(parents=True)
        cv2.imwrite(str(folder / "00000_00000.ppm"), _sign(seed=cls)[0])
    test = source / "Final_Test" / "Images"
    test.mkdir(parents=True)
    cv2.imwrite(str(test / "00000.ppm"), _sign(seed=3)[0])
    (test / "GT-final_test.csv").write_text("Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n"
                                            "00000.ppm;48;48;5;5;43;43;14\n")
    manifest = build_gtsrb_ic(source, tmp_path / "ic", size=32)
    assert manifest["classes"] == ["00", "14"] and manifest["counts"] == {"train": 2, "test": 1}
    assert manifest["builder"]["grabcut"]["seeds"] == 20
    images, masks, labels = load_pairs(list_pairs(tmp_path / "ic", "test", manifest["classes"]))
    assert images.shape == (1, 32, 32, 3) and masks.shape == (1, 32, 32, 1) and labels.tolist() == [1]
    assert 0.15 < masks.mean() < 0.5  # the disc: ~28% of the image


def test_miniature_images_masks_and_reuse(tmp_path):
    manifest = build_miniature(tmp_path / "mini", train_per_class=2, test_per_class=1, size=32, render_size=64)
    assert manifest["counts"] == {"train": 12, "test": 6} and len(manifest["classes"]) == 6
    images, masks, labels = load_pairs(list_pairs(tmp_path / "mini", "train", manifest["classes"]))
    assert images.shape == (12, 32, 32, 3) and sorted(set(labels.tolist())) == list(range(6))
    assert all(0.05 < m.mean() < 0.95 for m in masks)  # every crop holds its object and some background
    stamp = (tmp_path / "mini" / "dataset.json").stat().st_mtime_ns
    build_miniature(tmp_path / "mini", train_per_class=2, test_per_class=1, size=32, render_size=64)
    assert (tmp_path / "mini" / "dataset.json").stat().st_mtime_ns == stamp  # same options: reused
