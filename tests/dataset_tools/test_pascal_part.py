import json
import random

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from dataset_tools import pascal_part
from dataset_tools.pascal_part import convert, split_names
from unmask.parts import PART_INDEX, PARTS


def test_split_is_sorted_then_shuffled_with_seed_100():
    names = [f"{i:04d}" for i in range(100)]
    shuffled = list(reversed(names))
    splits = split_names(shuffled)
    expected = sorted(names)
    random.Random(100).shuffle(expected)
    assert splits == {"train": expected[:80], "val": expected[80:90], "test": expected[90:]}
    assert [len(v) for v in split_names(names[:9323]).values()] == [80, 10, 10]
    assert [len(v) for v in split_names([str(i) for i in range(9323)]).values()] == [7458, 932, 933]


def test_split_sizes_files_and_determinism(voc_tree, tmp_path):
    a = convert(voc_tree, tmp_path / "a")
    b = convert(voc_tree, tmp_path / "b")
    assert {s: v["images"] for s, v in a["splits"].items()} == {"train": 16, "val": 2, "test": 2}
    for split in ("train", "val", "test"):
        assert (tmp_path / "a" / f"{split}.json").read_bytes() == (tmp_path / "b" / f"{split}.json").read_bytes()
        doc = json.loads((tmp_path / "a" / f"{split}.json").read_text())
        assert sorted(p.name for p in (tmp_path / "a" / split).iterdir()) == sorted(i["file_name"] for i in doc["images"])
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["splits"] == a["splits"]


def test_coco_json_loads_and_masks_decode_to_the_right_pixels(voc_tree, tmp_path, raw):
    convert(voc_tree, tmp_path / "out")
    coco = COCO(str(tmp_path / "out" / "train.json"))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == list(PARTS)
    assert [c["id"] for c in coco.dataset["categories"]] == list(range(44))
    expected = {"headlight": raw.box_mask(2, 2, 6, 8), "wheel": raw.box_mask(10, 2, 16, 10),
                "licenseplate": raw.box_mask(18, 2, 22, 12), "eyebrow": raw.box_mask(2, 16, 5, 26),
                "leg": raw.box_mask(8, 16, 20, 20), "hand": raw.box_mask(8, 24, 12, 30)}
    image_id = coco.getImgIds()[0]
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[image_id]))
    by_name = {}
    for ann in anns:
        by_name.setdefault(PARTS[ann["category_id"]], []).append(ann)
    assert sorted(by_name) == sorted(expected)
    assert len(by_name["hand"]) == 2  # lhand and the handlebar (the original's known bug)
    for name, truth in expected.items():
        ann = by_name[name][0]
        decoded = coco.annToMask(ann).astype(bool)
        iou = (decoded & truth.astype(bool)).sum() / (decoded | truth.astype(bool)).sum()
        assert iou > 0.7 and not (decoded & ~truth.astype(bool)).any(), name
        rle = mask_utils.encode(np.asfortranarray(truth))
        assert ann["area"] == truth.sum() and ann["bbox"] == list(mask_utils.toBbox(rle)) and ann["iscrowd"] == 0


def test_legacy_labels_headlights_as_head(voc_tree, tmp_path):
    default = convert(voc_tree, tmp_path / "default")
    legacy = convert(voc_tree, tmp_path / "legacy", legacy=True)
    assert default["annotations_per_part"]["headlight"] == 20 and default["annotations_per_part"]["head"] == 0
    assert legacy["annotations_per_part"]["headlight"] == 0 and legacy["annotations_per_part"]["head"] == 20
    doc = json.loads((tmp_path / "legacy" / "train.json").read_text())
    assert doc["categories"][PART_INDEX["headlight"]]["name"] == "headlight"


def test_bad_inputs_are_skipped_counted_and_named(voc_tree, tmp_path, raw):
    jpegs, mats = voc_tree / "JPEGImages", voc_tree / "Annotations_Part"
    (jpegs / "2008_000001.jpg").write_bytes(b"garbage, not a jpeg")
    data = (jpegs / "2008_000002.jpg").read_bytes()
    (jpegs / "2008_000002.jpg").write_bytes(data[: len(data) // 2])  # truncated
    (jpegs / "2008_000003.jpg").unlink()  # .mat without JPEG
    (jpegs / "2008_000099.jpg").write_bytes(data)  # JPEG without .mat
    (mats / "2008_000004.mat").write_bytes(b"MATLAB 5.0 junk")
    raw.save_mat(mats / "2008_000005.mat", "2008_000005", [
        ("boat", 4, []), ("dog", 12, [("head", raw.box_mask(1, 1, 5, 5)), ("nose", np.ones((raw.H + 1, raw.W), np.uint8))])])
    summary = convert(voc_tree, tmp_path / "out")
    skipped = {reason: entry for reason, entry in summary["skipped"].items() if entry["count"]}
    assert {r: e["count"] for r, e in skipped.items()} == {
        "jpeg_unreadable": 2, "jpeg_missing": 1, "mat_missing": 1, "mat_unreadable": 1,
        "object_without_parts": 1, "part_mask_shape": 1}
    assert any("2008_000001.jpg" in item for item in skipped["jpeg_unreadable"]["items"])
    assert any("2008_000002.jpg" in item for item in skipped["jpeg_unreadable"]["items"])
    assert skipped["jpeg_missing"]["items"] == ["2008_000003"] and skipped["mat_missing"]["items"] == ["2008_000099"]
    assert "boat" in skipped["object_without_parts"]["items"][0] and "nose" in skipped["part_mask_shape"]["items"][0]
    assert sum(s["images"] for s in summary["splits"].values()) == 16
    assert sum(s["mat_files"] for s in summary["splits"].values()) == 20


def test_rerun_skips_done_splits_and_a_crash_leaves_no_json(voc_tree, tmp_path, monkeypatch):
    out = tmp_path / "out"
    first = convert(voc_tree, out)
    assert first["reused_splits"] == []
    assert convert(voc_tree, out)["reused_splits"] == ["train", "val", "test"]
    assert convert(voc_tree, out, legacy=True)["reused_splits"] == []  # other options: redone

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    (out / "val.json").unlink()
    monkeypatch.setattr(pascal_part, "mask_annotation", crash)
    with pytest.raises(KeyboardInterrupt):
        convert(voc_tree, out, legacy=True)
    assert not (out / "val.json").exists()
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    monkeypatch.undo()
    again = convert(voc_tree, out, legacy=True)
    assert again["reused_splits"] == ["train", "test"]
    assert again["splits"] == first["splits"]
    other_split = convert(voc_tree, out, seed=7)  # a new split: images of the old one leave the folders
    for split in ("train", "val", "test"):
        listed = {i["file_name"] for i in json.loads((out / f"{split}.json").read_text())["images"]}
        assert {p.name for p in (out / split).iterdir()} == listed
    assert other_split["reused_splits"] == []


def test_a_repaired_or_added_jpeg_reconverts(voc_tree, tmp_path):
    jpegs, out = voc_tree / "JPEGImages", tmp_path / "out"
    good = (jpegs / "2008_000002.jpg").read_bytes()
    (jpegs / "2008_000002.jpg").write_bytes(good[: len(good) // 2])  # truncated
    (jpegs / "2008_000003.jpg").unlink()  # missing
    first = convert(voc_tree, out)
    assert first["skipped"]["jpeg_missing"]["count"] == 1 and first["skipped"]["jpeg_unreadable"]["count"] == 1
    (jpegs / "2008_000002.jpg").write_bytes(good)  # repaired
    (jpegs / "2008_000003.jpg").write_bytes(good)  # added
    again = convert(voc_tree, out)
    assert again["reused_splits"] == []
    assert again["skipped"]["jpeg_missing"]["count"] == 0 and again["skipped"]["jpeg_unreadable"]["count"] == 0
    assert sum(s["images"] for s in again["splits"].values()) == sum(s["images"] for s in first["splits"].values()) + 2


def test_parallel_conversion_gives_identical_output(voc_tree, tmp_path):
    convert(voc_tree, tmp_path / "one")
    convert(voc_tree, tmp_path / "two", workers=2)
    for split in ("train", "val", "test"):
        assert (tmp_path / "one" / f"{split}.json").read_bytes() == (tmp_path / "two" / f"{split}.json").read_bytes()


def test_missing_folders_give_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="Annotations_Part"):
        convert(tmp_path, tmp_path / "out")


def test_summary_text_shows_splits_parts_and_skips(voc_tree, tmp_path):
    out = tmp_path / "out"
    (voc_tree / "Annotations_Part" / "2008_000003.mat").write_bytes(b"not a mat file")
    convert(voc_tree, out)
    lines = pascal_part.format_summary(convert(voc_tree, out)).splitlines()
    assert lines[0].startswith(f"PASCAL-Part -> COCO in {out} (default labelling, ")
    assert lines[2:] == [
        "  train     15 images     105 annotations (unchanged, kept)",
        "  val        2 images      14 annotations (unchanged, kept)",
        "  test       2 images      14 annotations (unchanged, kept)",
        "annotations per part: licenseplate 19, eyebrow 19, wheel 19, headlight 19, leg 19, hand 38",
        "skipped: 1",
        "  mat_unreadable (annotation file cannot be read): 1",
        lines[-1],
    ]
    assert lines[-1].startswith("    2008_000003.mat: not a readable PASCAL-Part annotation")
