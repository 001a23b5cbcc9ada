"""The thesis' small crafted dataset: a stratified, seeded, recorded subsample of class-set folders."""
import json

import pytest
from PIL import Image

from dataset_tools.subsample import subsample_class_sets
from dataset_tools.voc import SPLITS
from unmask.parts import class_set


def make_sets(root, sizes):
    for name in ("CS3a", "CS5a"):
        for split in SPLITS:
            for cls in class_set(name):
                folder = root / name / split / cls
                folder.mkdir(parents=True, exist_ok=True)
                for i in range(sizes[split]):
                    Image.new("RGB", (4, 4)).save(folder / f"voc_{cls}_{i:03d}.png")


def test_a_stratified_fraction_of_every_class_and_split_recorded_beside_the_data(tmp_path):
    make_sets(tmp_path / "full", {"train": 40, "val": 10, "test": 3})
    summary = subsample_class_sets(tmp_path / "full", tmp_path / "small", ("CS3a", "cs5-1"), 0.1, seed=5)
    assert set(summary["files"]) == {"CS3a", "CS5a"}
    for name in ("CS3a", "CS5a"):
        for cls in class_set(name):
            kept = {s: sorted(p.name for p in (tmp_path / "small" / name / s / cls).iterdir()) for s in SPLITS}
            assert {s: len(v) for s, v in kept.items()} == {"train": 4, "val": 1, "test": 1}  # at least one each
            assert kept == {s: summary["files"][name][s][cls] for s in SPLITS}
    assert summary["files"]["CS3a"]["train"]["car"] == summary["files"]["CS5a"]["train"]["car"]  # same in every set
    assert json.loads((tmp_path / "small" / "subsample.json").read_text()) == summary
    assert subsample_class_sets(tmp_path / "full", tmp_path / "small", ("CS3a",), 0.1, seed=5)["files"]["CS3a"] == \
        summary["files"]["CS3a"]  # seeded: the same lists again
    other = subsample_class_sets(tmp_path / "full", tmp_path / "other", ("CS3a",), 0.1, seed=6)
    assert other["files"]["CS3a"]["train"] != summary["files"]["CS3a"]["train"]


def test_missing_folders_and_bad_fractions(tmp_path):
    with pytest.raises(FileNotFoundError, match="build the class-set folders first"):
        subsample_class_sets(tmp_path / "none", tmp_path / "out", ("CS3a",), 0.1, seed=0)
    with pytest.raises(ValueError, match="fraction"):
        subsample_class_sets(tmp_path, tmp_path / "out", ("CS3a",), 0.0, seed=0)
