import json
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dataset_tools.voc import build_class_sets, pooled_split, read_voc_objects, split_list


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
    assert summary["voc_images"] == {"bird": 0, "car": 20, "dog": 20, "person": 10, "train": 0}
    assert summary["counts"]["CS3b"]["train"] == {"person": 8, "dog": 16, "bird": 0}
    assert summary["counts"]["CS3b"]["val"]["dog"] == 2 and summary["counts"]["CS3b"]["test"]["dog"] == 2
    assert summary["skipped"]["xml_unreadable"]["count"] == 1
    dogs = {p.name for split in ("train", "val", "test") for p in (tmp_path / "out" / "CS3b" / split / "dog").iterdir()}
    assert dogs == {f"voc_d{i:03d}.jpg" for i in range(20)}  # no dog+person image
    person_test = sorted(p.name for p in (tmp_path / "out" / "CS3a" / "test" / "person").iterdir())
    assert person_test == sorted(p.name for p in (tmp_path / "out" / "CS3b" / "test" / "person").iterdir())
    single = build_class_sets(voc, tmp_path / "single", class_sets=("CS3a",), single_object=True)
    assert single["voc_images"]["car"] == 0
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


# --- the kdd2019 split (the original's preprocess.py DataLoad.split_data) -----------------------------

KDD_LABELS = {"car": 40, "person": 30, "train": 20, "dog": 6}
"""Images per VOC label in the kdd2019 tree; 4 more .mat files have no positive label."""


@pytest.fixture
def kdd_tree(tmp_path):
    """A VOC root with 100 PASCAL-Part .mat names (content unused by the split), tiny JPEGs and VOC's
    ImageSets/Main/<class>_trainval.txt: labels per KDD_LABELS, image m000 positive for car AND person."""
    root = tmp_path / "VOC2010"
    for sub in ("JPEGImages", "Annotations_Part", "ImageSets/Main"):
        (root / sub).mkdir(parents=True)
    names = [f"m{i:03d}" for i in range(100)]
    labels = [cls for cls, n in KDD_LABELS.items() for _ in range(n)]
    lines: dict[str, list[str]] = {cls: [] for cls in (*KDD_LABELS, "bird")}
    for i, name in enumerate(names):
        (root / "Annotations_Part" / f"{name}.mat").write_bytes(b"")
        Image.fromarray(np.full((4, 4, 3), i, np.uint8)).save(root / "JPEGImages" / f"{name}.jpg")
        for cls in lines:  # VOC's layout: "<id> -1", "<id>  1" (two spaces), "<id>  0" (difficult)
            positive = i < len(labels) and labels[i] == cls or (name == "m000" and cls == "person")
            lines[cls].append(f"{name}  1" if positive else f"{name}  0" if cls == "bird" else f"{name} -1")
    for cls, rows in lines.items():
        (root / "ImageSets" / "Main" / f"{cls}_trainval.txt").write_text("\n".join(rows) + "\n")
    (root / "ImageSets" / "Main" / "trainval.txt").write_text("\n".join(names) + "\n")  # matched by the original's glob
    return root


def test_kdd2019_split_follows_the_original_order_labels_and_cuts(kdd_tree, tmp_path):
    summary = build_class_sets(kdd_tree, tmp_path / "out", class_sets=("CS3a", "CS5b"), split="kdd2019")
    # the original: .mat names (sorted here), random.Random(4).shuffle, filter by label, cut 50/10/40
    order = sorted(p.stem for p in (kdd_tree / "Annotations_Part").glob("*.mat"))
    random.Random(4).shuffle(order)
    label = {f"m{i:03d}": cls for i, cls in enumerate(c for c, n in KDD_LABELS.items() for _ in range(n))}
    label["m000"] = "person"  # positive in car_ and person_trainval.txt: the later file (sorted) wins
    cs3a = [name for name in order if label.get(name) in ("car", "person", "train")]
    assert len(cs3a) == 90 and summary["voc_counts"]["CS3a"] == {"train": 45, "val": 9, "test": 36}
    for split, names in (("train", cs3a[:45]), ("val", cs3a[45:54]), ("test", cs3a[54:])):
        placed = {(p.parent.name, p.name) for p in (tmp_path / "out" / "CS3a" / split).rglob("*.jpg")}
        assert placed == {(label[n], f"voc_{n}.jpg") for n in names}, split
    assert summary["voc_counts"]["CS5b"] == {"train": 48, "val": 9, "test": 39}  # 96 images: dog joins, bird has none
    assert summary["voc_images"] == {"bird": 0, "car": 39, "dog": 6, "person": 31, "train": 20}
    assert sorted(summary["skipped"]["unlabelled"]["items"]) == ["m096", "m097", "m098", "m099"]
    assert (summary["seed"], summary["val_fraction"], summary["test_fraction"]) == (4, 0.1, 0.4)
    with pytest.raises(ValueError, match="single_object"):
        build_class_sets(kdd_tree, tmp_path / "x", split="kdd2019", single_object=True)
    (kdd_tree / "ImageSets" / "Main").rename(kdd_tree / "ImageSets" / "Gone")
    with pytest.raises(FileNotFoundError, match="trainval"):
        build_class_sets(kdd_tree, tmp_path / "y", split="kdd2019")


def test_kdd2019_split_holds_its_voc_test_share_out_when_a_folder_is_the_test_split(kdd_tree, tmp_path):
    imagenet = tmp_path / "imagenet"
    for c, cls in enumerate(("car", "person", "train")):
        (imagenet / cls).mkdir(parents=True)
        for i in range(3):
            pixels = np.random.default_rng(100 + 10 * c + i).integers(0, 255, (6, 6, 3), dtype=np.uint8)
            Image.fromarray(pixels).resize((48, 48), Image.BICUBIC).save(imagenet / cls / f"n{i}.jpg")
    summary = build_class_sets(kdd_tree, tmp_path / "out", class_sets=("CS3a",), imagenet=imagenet,
                               imagenet_role="test", split="kdd2019")
    assert summary["voc_counts"]["CS3a"] == {"train": 45, "val": 9, "test": 36}  # KDD Table 3's columns
    counts = summary["counts"]["CS3a"]
    assert sum(counts["train"].values()) == 45 and sum(counts["val"].values()) == 9
    assert counts["test"] == {"car": 3, "person": 3, "train": 3}  # only ImageNet is placed as test


def test_pooled_split_gives_kdd_table3_counts():
    """KDD'19 Table 3 (M, PASCAL VOC 2010): CS3a 1,750/350/1,400 and CS5b 2,501/500/2,001 from pools of
    3,500 and 5,002 labelled images."""
    for members, n, expected in ((("car", "person", "train"), 3500, (1750, 350, 1400)),
                                 (("dog", "car", "bird", "train", "person"), 5002, (2501, 500, 2001))):
        pool = [(Path(f"{i}.jpg"), members[i % len(members)]) for i in range(n)]
        split = pooled_split(pool, members, 0.1, 0.4)
        assert tuple(sum(len(per[s]) for per in split.values()) for s in ("train", "val", "test")) == expected
