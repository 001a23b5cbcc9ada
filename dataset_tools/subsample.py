"""A stratified subsample of class-set folders: the thesis' "small crafted dataset" (Xiong 2021, Table 3).

The thesis chose its M configuration (Tables 4-5) on a hand-made set "about 1/10 to 1/15" the size of
the UnMask data, whose composition its Table 3 gives only in part. We rebuild it as the same fraction
of every class of every split of each class set, drawn with a seeded shuffle of the sorted file names
per split and class (so a class keeps the same images in every set), hard-linked (or copied) into the
same layout, and record the exact file lists in ``<out>/subsample.json``.
"""
from __future__ import annotations

import random
from pathlib import Path

from dataset_tools.folders import list_class_folders
from dataset_tools.voc import SPLITS, _sync_folder
from unmask.fileio import write_json_atomic
from unmask.parts import canonical_class_set_name, class_set


def subsample_class_sets(source: Path, out: Path, class_sets: tuple[str, ...], fraction: float, seed: int) -> dict:
    """Keep ``fraction`` (at least one image) of each ``<source>/<set>/<split>/<class>/`` in ``out``;
    returns (and writes to ``<out>/subsample.json``) the kept file names per set, split and class."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    source, out = Path(source), Path(out)
    kept: dict[str, dict[str, dict[str, list[str]]]] = {}
    for name in map(canonical_class_set_name, class_sets):
        kept[name] = {}
        for split in SPLITS:
            folder = source / name / split
            if not folder.is_dir():
                raise FileNotFoundError(f"{folder} not found: build the class-set folders first (the data stage)")
            images, _ = list_class_folders(folder, class_set(name))
            kept[name][split] = {}
            for cls in class_set(name):
                paths = sorted(images.get(cls, []))
                random.Random(f"{seed}/{split}/{cls}").shuffle(paths)
                chosen = sorted(paths[:max(1, round(fraction * len(paths)))]) if paths else []
                _sync_folder(out / name / split / cls, {p.name: p for p in chosen})
                kept[name][split][cls] = [p.name for p in chosen]
    summary = {"source": str(source), "fraction": fraction, "seed": seed, "files": kept,
               "counts": {n: {s: sum(map(len, per.values())) for s, per in splits.items()} for n, splits in kept.items()}}
    write_json_atomic(out / "subsample.json", summary)
    return summary
