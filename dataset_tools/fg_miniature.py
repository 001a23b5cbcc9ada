"""The embedded miniature of the foreground-attention experiment: single-object crops with their object
masks, drawn by the synthetic scene generator (``synthetic.render_scene``), so the experiment runs on a
fresh machine.

Each image is one object of one of the generator's six classes in a single-object scene at
``render_size`` px (the single-object look of ``difficulty``: scale, pose, truncation, occluders,
lighting, blur and noise for ``hard``). As MS-COCO-IC is built, the crop is a square around the
object's box (``fg_pairs.square_crop``, 10% margin), pixels of any other object (a distractor) are
blacked out, and the crop is resized to ``size`` (32 px, the paper's); the mask holds the object's
visible pixels. Every image has its own seeded generator (seed, split, class, index).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from dataset_tools.fg_pairs import SPLITS, read_manifest, square_crop, write_manifest, write_pair
from dataset_tools.synthetic import CLASSES, DIFFICULTIES, render_scene

SPLIT_STREAMS = {"train": 10, "test": 11}
"""Generator streams of the miniature (the synthetic dataset's own use 0-2)."""
MIN_OBJECT_FRACTION = 0.01
"""An object must keep at least this share of the rendered scene's pixels visible."""
MAX_ATTEMPTS = 20


def miniature_item(split: str, cls: str, index: int, size: int, render_size: int, seed: int,
                   difficulty: str) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 RGB [size, size, 3], bool mask [size, size]) of one miniature image. A drawing whose object is
    (nearly) hidden by occluders or the border is drawn again from the next seed."""
    for attempt in range(MAX_ATTEMPTS):
        rng = np.random.default_rng([seed, SPLIT_STREAMS[split], CLASSES.index(cls), index, attempt])
        image, canvas, _ = render_scene([cls], render_size, rng, "imagenet", DIFFICULTIES[difficulty].single)
        target = canvas.objects.index(cls)  # a distractor is of another class
        mask = canvas.object_mask(target)
        if mask.sum() >= MIN_OBJECT_FRACTION * render_size**2:
            break
    else:
        raise RuntimeError(f"no visible {cls} in {MAX_ATTEMPTS} drawings ({split} {index})")
    others = np.isin(canvas.owner, [pid for pid, (obj, _) in enumerate(canvas.parts) if obj != target])
    image = np.where(others[..., None], 0, image).astype(np.uint8)
    ys, xs = np.nonzero(mask)
    box = (xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min())
    return square_crop(image, mask, box, size)


def build_miniature(out: Path, train_per_class: int = 100, test_per_class: int = 30, size: int = 32,
                    render_size: int = 128, seed: int = 0, difficulty: str = "hard") -> dict:
    """Write the miniature under ``out`` (``fg_pairs`` layout) unless dataset.json already records the same
    options; returns the manifest."""
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"unknown difficulty {difficulty!r}; valid: {', '.join(DIFFICULTIES)}")
    builder = {"name": "miniature", "train_per_class": train_per_class, "test_per_class": test_per_class,
               "render_size": render_size, "seed": seed, "difficulty": difficulty, "crop_margin": 0.1}
    out = Path(out)
    if (out / "dataset.json").is_file():
        manifest = read_manifest(out)
        if manifest["builder"] == builder and manifest["size"] == size:
            return manifest
    counts = dict(zip(SPLITS, (train_per_class, test_per_class)))
    for split, per_class in counts.items():
        for cls in CLASSES:
            for i in range(per_class):
                image, mask = miniature_item(split, cls, i, size, render_size, seed, difficulty)
                write_pair(out, split, cls, f"{cls}_{i:05d}", image, mask)
    write_manifest(out, list(CLASSES), size, {s: n * len(CLASSES) for s, n in counts.items()}, builder)
    return read_manifest(out)
