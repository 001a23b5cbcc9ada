"""MS-COCO-IC (Vaishnavi et al. 2020): one-label image-classification crops with their object masks, cut
from a user-supplied MS-COCO through its instance annotations (pycocotools).

Per the paper: each non-crowd instance of the ten most frequent classes other than ``person`` gives one
(image, mask, label) triple; the pixels of every other annotated object in the image are blacked out
("explicitly black-out pixels corresponding to the extra objects"; the instance's own pixels are kept
where masks overlap); the crop is a square around the instance's box, resized to 32 px; the mask is the
instance's. The paper does not name the COCO release or split: we read 2014's train (our train split)
and val (our test split), whose sizes fit its Table 1 (a test set about half the training set). The
classes are ranked by their instances in the training annotations. Instances whose box is shorter than
``min_side`` px on its longer side are skipped (the paper gives no threshold).
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from dataset_tools.fg_pairs import read_manifest, square_crop, write_manifest, write_pair

EXCLUDED = ("person",)
"""Dropped by the paper for being too frequent."""


def coco_files(source: Path, year: int = 2014) -> dict[str, tuple[Path, Path]]:
    """{split: (instances json, image folder)}: train <- train<year>, test <- val<year>."""
    source = Path(source)
    return {split: (source / "annotations" / f"instances_{coco}{year}.json", source / f"{coco}{year}")
            for split, coco in (("train", "train"), ("test", "val"))}


def check_coco_source(source: Path | None, year: int = 2014) -> dict[str, tuple[Path, Path]]:
    """The COCO files MS-COCO-IC reads; FileNotFoundError naming every missing one."""
    if source is None:
        raise FileNotFoundError("MS-COCO-IC needs a user-supplied COCO folder (data.source)")
    files = coco_files(source, year)
    missing = [str(path) for pair in files.values() for path in pair if not path.exists()]
    if missing:
        raise FileNotFoundError(f"MS-COCO-IC reads a user-supplied COCO {year} (annotations and images); missing: "
                                + ", ".join(missing))
    return files


def top_classes(coco, count: int = 10, excluded: tuple[str, ...] = EXCLUDED, min_side: float = 8) -> list[str]:
    """The ``count`` category names with the most usable instances (non-crowd, box side >= min_side), minus ``excluded``."""
    tally: dict[int, int] = {}
    for ann in coco.dataset["annotations"]:
        if not ann.get("iscrowd") and max(ann["bbox"][2:]) >= min_side:
            tally[ann["category_id"]] = tally.get(ann["category_id"], 0) + 1
    names = {c["id"]: c["name"] for c in coco.dataset["categories"]}
    ranked = sorted((cid for cid in tally if names[cid] not in excluded), key=lambda cid: (-tally[cid], names[cid]))
    return [names[cid] for cid in ranked[:count]]


def instance_crops(coco, image_dir: Path, classes: list[str], size: int, margin: float, min_side: float):
    """Yield (class, item id, uint8 crop, bool mask) for every usable instance of ``classes``, image by image."""
    wanted = {c["id"]: c["name"] for c in coco.dataset["categories"] if c["name"] in classes}
    for image_id in sorted(coco.getImgIds()):
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[image_id], iscrowd=None))
        targets = [a for a in anns if a["category_id"] in wanted and not a.get("iscrowd") and max(a["bbox"][2:]) >= min_side]
        if not targets:
            continue
        info = coco.loadImgs([image_id])[0]
        path = Path(image_dir) / info["file_name"]
        pixels = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if pixels is None:
            raise FileNotFoundError(f"cannot read COCO image {path}")
        image = cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
        masks = {a["id"]: coco.annToMask(a).astype(bool) for a in anns}
        for ann in targets:
            own = masks[ann["id"]]
            others = np.any([m for aid, m in masks.items() if aid != ann["id"]] or [np.zeros_like(own)], axis=0) & ~own
            blacked = np.where(others[..., None], 0, image).astype(np.uint8)
            crop, mask = square_crop(blacked, own, tuple(ann["bbox"]), size, margin)
            yield wanted[ann["category_id"]], f"{image_id:012d}_{ann['id']}", crop, mask


def build_coco_ic(source: Path, out: Path, size: int = 32, year: int = 2014, count: int = 10, margin: float = 0.0,
                  min_side: float = 8) -> dict:
    """Write MS-COCO-IC under ``out`` (``fg_pairs`` layout); returns the manifest written last."""
    from pycocotools.coco import COCO

    files = check_coco_source(source, year)
    cocos = {split: COCO(str(json_path)) for split, (json_path, _) in files.items()}
    classes = top_classes(cocos["train"], count, EXCLUDED, min_side)
    counts = {}
    for split, coco in cocos.items():
        counts[split] = 0
        for cls, item, crop, mask in instance_crops(coco, files[split][1], classes, size, margin, min_side):
            write_pair(out, split, cls, item, crop, mask)
            counts[split] += 1
    builder = {"name": "coco_ic", "source": str(source), "year": year, "classes_ranked_on": "train", "top": count,
               "excluded": list(EXCLUDED), "crop": "square around the instance box", "margin": margin,
               "min_side": min_side, "blackout": "pixels of every other annotated object, the instance's own kept"}
    write_manifest(out, classes, size, counts, builder)
    return read_manifest(out)
