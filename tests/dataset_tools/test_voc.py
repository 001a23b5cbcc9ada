import json
import random

import numpy as np
import pytest
from PIL import Image

from dataset_tools.voc import build_class_sets, read_voc_objects, split_list


def _scene(root, name, classes, seed, raw):
    raw.save_voc_xml(root / "Annotations" / f"{name}.xml", classes)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (6, 6, 3), dtype=np.uint8)).resize((48, 48), Image.BICUBIC).save(
        root / "JPEGImages" / f"{name}.jpg", quality=95)


@pytest.fixture
def voc(tmp_path, raw):
    """20 single-dog, 20 single-car (two cars each), 10 dog+person, 10 single-person images, one bad XML."""
    root = tmp_path / "VOC2010"
    (root / "Annotations").mkdir(parents=True)
    (root / "JPEGImages").mkdir()
    seed = 0
    for prefix, classes, n in (("d", ["dog"], 20), ("c", ["car", "car"], 20), ("m", ["dog", "person"], 10), ("p", ["person"], 10)):
        for i in range(n):
            seed += 1
            _scene(root, f"{prefix}{i:03d}", classes, seed, raw)
    (root / "Annotations" / "broken.xml").write_text("<annotation><object>")
    return root


def test_split_list_is_sorted_shuffled_and_sized():
    items = [f"{i}" for i in range(20)]
    order = sorted(items)
    random.Random(3).shuffle(order)
    assert split_list(list(reversed(items)), 3, 0.1, 0.2) == {"val": order[:2], "test": order[2:6], "train": order[6:]}


def test_single_class_selection_and_split_counts(voc, tmp_path):
    summary = build_class_sets(voc, tmp_path / "out", class_sets=("CS3a", "CS3b"))
    assert summary["voc_single_class_images"] == {"bird": 0, "car": 20, "dog": 20, "person": 10, "train": 0}
    assert summary["counts"]["CS3b"]["train"] == {"person": 8, "dog": 16, "bird": 0}
    assert summary["counts"]["CS3b"]["val"]["dog"] == 2 and summary["counts"]["CS3b"]["test"]["dog"] == 2
    assert summary["skipped"]["xml_unreadable"]["count"] == 1
    dogs = {p.name for split in ("train", "val", "test") for p in (tmp_path / "out" / "CS3b" / split / "dog").iterdir()}
    assert dogs == {f"voc_d{i:03d}.jpg" for i in range(20)}  # no dog+person image
    person_test = sorted(p.name for p in (tmp_path / "out" / "CS3a" / "test" / "person").iterdir())
    assert person_test == sorted(p.name for p in (tmp_path / "out" / "CS3b" / "test" / "person").iterdir())
    single = build_class_sets(voc, tmp_path / "single", class_sets=("CS3a",), single_object=True)
    assert single["voc_single_class_images"]["car"] == 0
    assert read_voc_objects(voc / "Annotations" / "c000.xml") == ["car", "car"]


def test_imagenet_joins_training_and_flickr_is_deduplicated_test(voc, tmp_path, raw):
    imagenet, flickr = tmp_path / "imagenet", tmp_path / "flickr"
    for cls in ("dog", "person", "sofa"):
        (imagenet / cls).mkdir(parents=True)
        (flickr / cls).mkdir(parents=True)
    for i in range(10):
        pixels = np.random.default_rng(1000 + i).integers(0, 255, (6, 6, 3), dtype=np.uint8)
        Image.fromarray(pixels).resize((48, 48), Image.BICUBIC).save(imagenet / "dog" / f"n{i}.jpg")
        Image.fromarray(255 - pixels).resize((48, 48), Image.BICUBIC).save(flickr / "dog" / f"f{i}.jpg")
    Image.open(voc / "JPEGImages" / "d000.jpg").save(flickr / "dog" / "copy_of_voc.jpg", quality=70)
    Image.open(imagenet / "dog" / "n3.jpg").save(flickr / "person" / "copy_of_imagenet.jpg", quality=70)
    (flickr / "dog" / "broken.jpg").write_bytes(b"\xff\xd8\xff broken")
    summary = build_class_sets(voc, tmp_path / "out", class_sets=("CS3b",), imagenet=imagenet, flickr=flickr)
    counts = summary["counts"]["CS3b"]
    assert counts["train"]["dog"] + counts["val"]["dog"] == 30 and counts["val"]["dog"] == 2 + 1
    assert counts["test"] == {"person": 0, "dog": 10, "bird": 0}
    assert sorted(d["file"].rsplit("/", 1)[1] for d in summary["dedup_dropped"]) == ["copy_of_imagenet.jpg", "copy_of_voc.jpg"]
    assert summary["skipped"]["folder_image_unreadable"]["count"] == 1
    assert summary["ignored_folders"] == {"imagenet": ["sofa"], "flickr": ["sofa"]}
    test_dogs = {p.name for p in (tmp_path / "out" / "CS3b" / "test" / "dog").iterdir()}
    assert test_dogs == {f"flickr_f{i}.jpg" for i in range(10)}
    kdd = build_class_sets(voc, tmp_path / "kdd", class_sets=("CS3b",), imagenet=imagenet, imagenet_role="test")
    assert kdd["counts"]["CS3b"]["test"]["dog"] == 10 and kdd["counts"]["CS3b"]["train"]["dog"] == 18
    with pytest.raises(ValueError, match="not both"):
        build_class_sets(voc, tmp_path / "x", imagenet=imagenet, flickr=flickr, imagenet_role="test")


def test_rerun_places_nothing_and_removes_stale_files(voc, tmp_path):
    out = tmp_path / "out"
    first = build_class_sets(voc, out, class_sets=("CS3a",))
    assert first["files_placed"] == 30  # 20 car + 10 person images
    again = build_class_sets(voc, out, class_sets=("CS3a",))
    assert again["files_placed"] == 0 and again["counts"] == first["counts"]
    smaller = build_class_sets(voc, out, class_sets=("CS3a",), max_per_class=5)
    already_in_place = 10 - smaller["files_placed"]
    assert smaller["stale_files_removed"] == 30 - already_in_place
    assert sum(1 for _ in (out / "CS3a").rglob("*.jpg")) == 10
    assert json.loads((out / "summary.json").read_text())["max_per_class"] == 5
    assert not list(out.rglob("*.tmp"))
