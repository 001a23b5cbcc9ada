"""GTSRB-IC (Vaishnavi et al. 2020): GTSRB images with foreground masks from a centre-seeded graph cut,
read from a user-supplied GTSRB (the official layout: ``Final_Training/Images/<class>/*.ppm`` and
``Final_Test/Images/*.ppm`` with ``GT-final_test.csv``).

The paper's segmenter "randomly samples pixels near the image centre" (signs are central, regular and
sharply coloured) and runs min-cut/max-flow on a colour model; it gives no parameters. Ours
(``grabcut_mask``): OpenCV's grabCut (GMM colour models + graph cut) initialised with a mask: a border
band is sure background, ``seeds`` pixels drawn at random (seeded) in a centre window are sure
foreground, the rest of a larger centre window probable foreground, everything else probable
background. Every parameter is recorded in dataset.json. Each image is segmented at its own resolution,
then image and mask are resized to 32 px (``fg_pairs.square_crop`` over the whole image).
"""
from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from dataset_tools.fg_pairs import read_manifest, square_crop, write_manifest, write_pair


@dataclass(frozen=True)
class GrabCutParams:
    """The segmenter's settings (window sides are fractions of the image side)."""

    seed_window: float = 0.3
    seeds: int = 20
    probable_window: float = 0.6
    border: int = 2
    iterations: int = 5


def grabcut_mask(image: np.ndarray, params: GrabCutParams = GrabCutParams(), seed: int = 0) -> np.ndarray:
    """The foreground (bool [H, W]) of an RGB uint8 image, by centre-seeded grabCut."""
    h, w = image.shape[:2]
    rng = np.random.default_rng(seed)
    init = np.full((h, w), cv2.GC_PR_BGD, np.uint8)

    def window(fraction: float) -> tuple[slice, slice]:
        dy, dx = max(1, int(h * fraction / 2)), max(1, int(w * fraction / 2))
        return slice(h // 2 - dy, h // 2 + dy), slice(w // 2 - dx, w // 2 + dx)

    init[window(params.probable_window)] = cv2.GC_PR_FGD
    rows, cols = window(params.seed_window)
    ys = rng.integers(rows.start, rows.stop, params.seeds)
    xs = rng.integers(cols.start, cols.stop, params.seeds)
    init[ys, xs] = cv2.GC_FGD
    b = params.border
    init[:b], init[-b:], init[:, :b], init[:, -b:] = cv2.GC_BGD, cv2.GC_BGD, cv2.GC_BGD, cv2.GC_BGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), init, None, bgd, fgd, params.iterations, cv2.GC_INIT_WITH_MASK)
    return np.isin(init, (cv2.GC_FGD, cv2.GC_PR_FGD))


def gtsrb_files(source: Path) -> dict[str, Path]:
    """The GTSRB paths GTSRB-IC reads."""
    source = Path(source)
    return {"train": source / "Final_Training" / "Images", "test": source / "Final_Test" / "Images",
            "test_labels": source / "Final_Test" / "Images" / "GT-final_test.csv"}


def check_gtsrb_source(source: Path | None) -> dict[str, Path]:
    """The GTSRB folders and label file; FileNotFoundError naming every missing one."""
    if source is None:
        raise FileNotFoundError("GTSRB-IC needs a user-supplied GTSRB folder (data.source)")
    files = gtsrb_files(source)
    missing = [str(path) for path in files.values() if not path.exists()]
    if missing:
        raise FileNotFoundError("GTSRB-IC reads a user-supplied GTSRB (Final_Training/Images, Final_Test/Images, "
                                "GT-final_test.csv); missing: " + ", ".join(missing))
    return files


def gtsrb_items(files: dict[str, Path]) -> dict[str, list[tuple[Path, int]]]:
    """{split: [(image, class id)]}: training images by class folder, test images by GT-final_test.csv."""
    train = [(path, int(folder.name)) for folder in sorted(p for p in files["train"].iterdir() if p.is_dir())
             for path in sorted(folder.glob("*.ppm"))]
    with open(files["test_labels"], newline="") as stream:
        test = [(files["test"] / row["Filename"], int(row["ClassId"])) for row in csv.DictReader(stream, delimiter=";")]
    return {"train": train, "test": test}


def build_gtsrb_ic(source: Path, out: Path, size: int = 32, params: GrabCutParams = GrabCutParams(),
                   seed: int = 0) -> dict:
    """Write GTSRB-IC under ``out`` (``fg_pairs`` layout); returns the manifest written last."""
    items = gtsrb_items(check_gtsrb_source(source))
    classes = [f"{c:02d}" for c in sorted({label for split in items.values() for _, label in split})]
    counts = {}
    for split_index, (split, listed) in enumerate(items.items()):
        for index, (path, label) in enumerate(listed):
            pixels = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if pixels is None:
                raise FileNotFoundError(f"cannot read GTSRB image {path}")
            image = cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
            mask = grabcut_mask(image, params, seed=seed * 1_000_003 + split_index * 100_000 + index)
            crop, small = square_crop(image, mask, (0, 0, image.shape[1], image.shape[0]), size, margin=0.0)
            write_pair(out, split, f"{label:02d}", path.stem, crop, small)
        counts[split] = len(listed)
    write_manifest(out, classes, size, counts, {"name": "gtsrb_ic", "source": str(source), "segmenter": "cv2.grabCut",
                                                "grabcut": asdict(params), "seed": seed})
    return read_manifest(out)
