"""CIFAR-10 from its standard python-pickle batches to class folders, for the thesis' Table 6.

The thesis (Xiong 2021, Sec. 6.3) checks its denoising block on CIFAR-10. Nothing is downloaded here:
the user puts CIFAR-10's python version (``cifar-10-batches-py``: data_batch_1 ... data_batch_5,
test_batch, batches.meta) in a folder. ``export_cifar10`` writes ``<out>/{train,val,test}/<class>/*.png``
(val: a seeded ``val_fraction`` of each class of the training batches), the layout M's training and
scoring read; a re-run keeps the files already written.
"""
from __future__ import annotations

import io
import pickle
import random
from pathlib import Path

import numpy as np
from PIL import Image

from unmask.fileio import read_json, write_bytes_atomic, write_json_atomic

TRAIN_BATCHES: tuple[str, ...] = tuple(f"data_batch_{i}" for i in range(1, 6))
FILES: tuple[str, ...] = (*TRAIN_BATCHES, "test_batch", "batches.meta")
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"


def missing_files(folder: Path) -> list[Path]:
    """The CIFAR-10 batch files absent from ``folder``."""
    return [Path(folder) / name for name in FILES if not (Path(folder) / name).is_file()]


def check_cifar10(folder: Path) -> None:
    """FileNotFoundError naming every missing batch file and where to get them."""
    missing = missing_files(folder)
    if missing:
        raise FileNotFoundError(
            f"CIFAR-10 python batches missing: {', '.join(str(p) for p in missing)}. Unpack "
            f"cifar-10-python.tar.gz ({URL}) and point the preset's cifar10 key at its cifar-10-batches-py folder.")


def _load(path: Path) -> dict:
    with open(path, "rb") as stream:
        return pickle.load(stream, encoding="bytes")


def class_names(folder: Path) -> tuple[str, ...]:
    """The ten class names in label order (batches.meta)."""
    check_cifar10(folder)
    return tuple(name.decode() for name in _load(Path(folder) / "batches.meta")[b"label_names"])


def export_cifar10(folder: Path, out: Path, val_fraction: float = 0.1, seed: int = 0) -> dict:
    """Write the batches as PNG class folders, val a seeded ``val_fraction`` of each class of the training
    batches; returns (and writes to ``<out>/summary.json``) the counts. A folder exported with another
    split is refused (its files would sit in two splits)."""
    folder, out = Path(folder), Path(out)
    names = class_names(folder)
    previous = read_json(out / "summary.json")
    if previous and (previous["val_fraction"], previous["seed"]) != (val_fraction, seed):
        raise ValueError(f"{out} holds CIFAR-10 split with val_fraction {previous['val_fraction']} and seed "
                         f"{previous['seed']}; export this split into another folder")
    batches = {name: _load(folder / name) for name in (*TRAIN_BATCHES, "test_batch")}
    train_labels = np.concatenate([batches[name][b"labels"] for name in TRAIN_BATCHES])
    val = set()
    for label in range(len(names)):
        members = np.flatnonzero(train_labels == label).tolist()
        random.Random(f"{seed}/{label}").shuffle(members)
        val.update(members[:round(val_fraction * len(members))])
    counts: dict[str, dict[str, int]] = {split: dict.fromkeys(names, 0) for split in ("train", "val", "test")}
    offset = 0
    for batch, raw in batches.items():
        images = np.asarray(raw[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        for index, (image, label) in enumerate(zip(images, raw[b"labels"])):
            split = "test" if batch == "test_batch" else ("val" if offset + index in val else "train")
            path = out / split / names[label] / f"{batch}_{index:05d}.png"
            counts[split][names[label]] += 1
            if not path.is_file():
                path.parent.mkdir(parents=True, exist_ok=True)
                png = io.BytesIO()
                Image.fromarray(image).save(png, format="PNG")
                write_bytes_atomic(path, png.getvalue())
        offset += len(images)
    summary = {"source": str(folder), "val_fraction": val_fraction, "seed": seed, "classes": list(names),
               "counts": counts}
    write_json_atomic(out / "summary.json", summary)
    return summary
