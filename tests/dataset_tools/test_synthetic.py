import json

import numpy as np
import pytest

from dataset_tools.folders import DEDUP_THRESHOLD, HashCache, hamming
from dataset_tools.mat_format import read_annotation
from dataset_tools.part_names import generalize, raw_part_names
from dataset_tools.synthetic import CLASSES, folder_classes, generate, render_scene
from unmask.parts import CLASS_FEATURES, CLASS_SETS

TINY = {"n_images": 12, "imagenet_per_class": 1, "flickr_per_class": 2}


def _content(path):
    """File bytes; for .mat files the annotation (their header holds the creation time)."""
    if path.suffix != ".mat":
        return path.read_bytes()
    anno = read_annotation(path)
    return anno.imname, [(o.cls, o.mask.tobytes(), [(p.name, p.mask.tobytes()) for p in o.parts]) for o in anno.objects]


def _files(root):
    return {p.relative_to(root): _content(p) for p in sorted(root.rglob("*.*")) if p.name != "synthetic.json"}


def test_draws_every_class_of_the_class_sets():
    assert {cls for classes in CLASS_SETS.values() for cls in classes} <= set(CLASSES)
    assert set(folder_classes()) == {"car", "person", "train", "dog", "bird", "bottle"}


@pytest.mark.parametrize("cls", CLASSES)
def test_objects_have_raw_pascal_part_names_covering_v_and_big_enough_parts(cls):
    seen: dict[str, list[int]] = {}
    for i in range(20):
        _, canvas, poses = render_scene([cls], 128, np.random.default_rng([3, i]))
        assert len(poses) == 1
        for obj, name, mask in canvas.part_masks(12):
            assert obj == 0 and name in raw_part_names()[cls], name
            part = generalize(name)
            if part is not None:
                ys, xs = np.nonzero(mask)
                seen.setdefault(part, []).append(max(np.ptp(ys), np.ptp(xs)) + 1)
    assert set(seen) == CLASS_FEATURES[cls]
    assert all(np.median(extents) >= 8 for extents in seen.values()), {p: np.median(e) for p, e in seen.items()}


def test_generation_is_deterministic_and_independent_of_workers(tmp_path):
    generate(tmp_path / "a", seed=5, **TINY)
    generate(tmp_path / "b", seed=5, workers=2, **TINY)
    generate(tmp_path / "c", seed=6, **TINY)
    a = _files(tmp_path / "a")
    assert len([p for p in a if p.parts[0] == "VOC2010"]) == 3 * 12
    assert len([p for p in a if p.parts[0] == "flickr"]) == 2 * 6
    assert a == _files(tmp_path / "b")
    assert a.keys() == _files(tmp_path / "c").keys() and a != _files(tmp_path / "c")


def test_annotation_files_use_the_real_layout(tmp_path):
    generate(tmp_path, seed=1, **TINY)
    voc = tmp_path / "VOC2010"
    anno = read_annotation(voc / "Annotations_Part" / "2010_000001.mat")
    assert anno.imname == "2010_000001" and anno.objects
    for obj in anno.objects:
        assert obj.mask.shape == (128, 128) and obj.parts
        union = np.zeros((128, 128), bool)
        for part in obj.parts:
            assert part.mask.shape == (128, 128) and part.mask.dtype == np.uint8
            union |= part.mask.astype(bool)
        assert not (union & ~obj.mask.astype(bool)).any()


def test_rerun_fills_in_only_missing_files_and_refuses_other_options(tmp_path):
    generate(tmp_path, seed=2, **TINY)
    image = tmp_path / "VOC2010" / "JPEGImages" / "2010_000003.jpg"
    original = image.read_bytes()
    image.unlink()
    generate(tmp_path, seed=2, **TINY)
    manifest = json.loads((tmp_path / "synthetic.json").read_text())
    assert manifest["generated_now"] == {"voc": 1, "imagenet": 0, "flickr": 0}
    assert image.read_bytes() == original
    with pytest.raises(ValueError, match="another --out"):
        generate(tmp_path, seed=3, **TINY)


def test_flickr_images_are_not_near_duplicates(tmp_path):
    generate(tmp_path, seed=4, n_images=30, imagenet_per_class=2, flickr_per_class=3)
    hashes = HashCache()
    flickr = sorted((tmp_path / "flickr").rglob("*.jpg"))
    others = sorted((tmp_path / "VOC2010" / "JPEGImages").glob("*.jpg")) + sorted((tmp_path / "imagenet").rglob("*.jpg"))
    distances = hamming([hashes(p) for p in flickr], [hashes(p) for p in others + flickr])
    distances[:, len(others):][np.eye(len(flickr), dtype=bool)] = 64
    assert distances.min() > DEDUP_THRESHOLD
