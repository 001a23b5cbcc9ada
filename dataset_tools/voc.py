"""Class-set image folders for model M from PASCAL VOC 2010 (plus optional ImageNet/Flickr folders).

For every class set S and split: ``<out>/<S>/{train,val,test}/<class>/<source>_<name>.jpg``.
- VOC: the images whose ``Annotations/<id>.xml`` objects all belong to ONE class (several instances
  allowed; ``single_object=True`` demands exactly one object), split per class: sorted ids,
  ``random.Random(seed).shuffle``, then val and test take int(fraction x n) images each, train the rest.
  A class's split is the same in every set.
- ``imagenet``: ``<dir>/<class>/*.jpg`` images join the train/val pool (val takes int(val_fraction x n)),
  or with ``imagenet_role="test"`` (KDD protocol) they are the test split.
- ``flickr`` (BigData protocol): the Flickr folder becomes the test split.
A folder used as the test split is de-duplicated with perceptual hashes against every train and val
image (and among itself); VOC then has no test share.
Images are hard-linked (or copied) atomically; a re-run keeps the files already in place and removes
files a changed configuration no longer selects.
"""
from __future__ import annotations

import random
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from dataset_tools.folders import DEDUP_THRESHOLD, HashCache, dedup, image_error, list_class_folders
from dataset_tools.skipped import SHOWN_ITEMS, format_skipped, skip_report
from unmask.fileio import place_file, write_json_atomic
from unmask.parts import CLASS_SETS, class_set, canonical_class_set_name

SPLITS = ("train", "val", "test")


def read_voc_objects(path: Path) -> list[str]:
    """Object class names of a VOC annotation file; raises ValueError when it cannot be parsed."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise ValueError(f"{path.name}: unreadable VOC XML ({exc})") from exc
    names = [(obj.findtext("name") or "").strip() for obj in root.iter("object")]
    if not names or not all(names):
        raise ValueError(f"{path.name}: VOC XML without named objects")
    return names


def split_list(items: list, seed: int, val_fraction: float, test_fraction: float) -> dict[str, list]:
    """Deterministic split of ``items``: sort, random.Random(seed).shuffle, val and test take
    int(fraction x n) items each (in that order), train the rest."""
    order = sorted(items)
    random.Random(seed).shuffle(order)
    n_val, n_test = int(len(order) * val_fraction), int(len(order) * test_fraction)
    return {"val": order[:n_val], "test": order[n_val:n_val + n_test], "train": order[n_val + n_test:]}


def single_class_images(voc_root: Path, classes: set[str], single_object: bool = False) -> tuple[dict[str, list[Path]], dict[str, list[str]]]:
    """VOC JPEGs per class for images showing only that class; plus skipped files by reason."""
    jpegs = voc_root / "JPEGImages"
    selected: dict[str, list[Path]] = {cls: [] for cls in classes}
    skipped: dict[str, list[str]] = {"xml_unreadable": [], "jpeg_missing": [], "jpeg_unreadable": []}
    for xml in sorted((voc_root / "Annotations").glob("*.xml")):
        try:
            names = read_voc_objects(xml)
        except ValueError as exc:
            skipped["xml_unreadable"].append(str(exc))
            continue
        if len(set(names)) != 1 or names[0] not in classes or (single_object and len(names) != 1):
            continue
        jpeg = jpegs / f"{xml.stem}.jpg"
        if not jpeg.exists():
            skipped["jpeg_missing"].append(xml.stem)
        elif (error := image_error(jpeg)) is not None:
            skipped["jpeg_unreadable"].append(f"{jpeg.name}: {error}")
        else:
            selected[names[0]].append(jpeg)
    return selected, skipped


def _checked_folder(root: Path, classes: set[str], skipped: list[str]) -> tuple[dict[str, list[Path]], list[str]]:
    images, ignored = list_class_folders(root, classes)
    good = {}
    for cls, paths in images.items():
        good[cls] = []
        for path in paths:
            if (error := image_error(path)) is None:
                good[cls].append(path)
            else:
                skipped.append(f"{path}: {error}")
    return good, ignored


def _sync_folder(folder: Path, files: dict[str, Path]) -> tuple[int, int]:
    """Make ``folder`` hold exactly ``files`` (name -> source); returns (placed, removed)."""
    folder.mkdir(parents=True, exist_ok=True)
    placed = sum(place_file(src, folder / name) for name, src in files.items())
    stale = [p for p in folder.iterdir() if p.is_file() and p.name not in files]
    for path in stale:
        path.unlink()
    return placed, len(stale)


def build_class_sets(voc_root: Path, out: Path, class_sets: tuple[str, ...] = tuple(CLASS_SETS),
                     imagenet: Path | None = None, flickr: Path | None = None, imagenet_role: str = "train", seed: int = 100,
                     val_fraction: float = 0.1, test_fraction: float = 0.1, max_per_class: int | None = None,
                     single_object: bool = False, dedup_threshold: int = DEDUP_THRESHOLD) -> dict:
    """Write the class-set folders; returns (and writes to ``<out>/summary.json``) a summary with the
    counts per set/split/class, skipped files with reasons and the de-duplication report."""
    start = time.perf_counter()
    voc_root, out = Path(voc_root), Path(out)
    if not (voc_root / "Annotations").is_dir() or not (voc_root / "JPEGImages").is_dir():
        raise FileNotFoundError(f"expected {voc_root}/Annotations (VOC XML) and {voc_root}/JPEGImages; "
                                "download VOC2010 or generate the embedded dataset with `unmask data synth`")
    if imagenet_role not in ("train", "test"):
        raise ValueError(f"imagenet_role must be 'train' or 'test', not {imagenet_role!r}")
    test_source = "flickr" if flickr is not None else ("imagenet" if imagenet is not None and imagenet_role == "test" else None)
    if flickr is not None and imagenet is not None and imagenet_role == "test":
        raise ValueError("the test split comes from either the ImageNet folder (imagenet_role='test') or Flickr, not both")
    sets = {canonical_class_set_name(name): class_set(name) for name in class_sets}
    classes = {cls for members in sets.values() for cls in members}
    voc, skipped = single_class_images(voc_root, classes, single_object)
    skipped["folder_image_unreadable"] = []
    ignored: dict[str, list[str]] = {}
    extra: dict[str, dict[str, list[Path]]] = {}
    for source, root in (("imagenet", imagenet), ("flickr", flickr)):
        if root is not None:
            extra[source], ignored[source] = _checked_folder(Path(root), classes, skipped["folder_image_unreadable"])
    # file name in the output -> source file, per class and split
    chosen: dict[str, dict[str, dict[str, Path]]] = {cls: {s: {} for s in SPLITS} for cls in classes}
    for cls in sorted(classes):
        sources = [("voc", voc[cls], 0.0 if test_source else test_fraction)]
        if "imagenet" in extra and test_source != "imagenet":
            sources.append(("imagenet", extra["imagenet"].get(cls, []), 0.0))
        for source, paths, test_share in sources:
            order = split_list(paths, seed, 0.0, 0.0)["train"]
            order = order[:max_per_class] if max_per_class else order
            for split, items in split_list(order, seed, val_fraction, test_share).items():
                chosen[cls][split].update({f"{source}_{p.name}": p for p in items})
    dedup_report = []
    if test_source:
        hashes = HashCache()
        reference = sorted(p for cls in classes for s in ("train", "val") for p in chosen[cls][s].values())
        for cls in sorted(classes):
            candidates = extra[test_source].get(cls, [])
            candidates = candidates[:max_per_class] if max_per_class else candidates
            kept, dropped = dedup(candidates, reference, dedup_threshold, hashes)
            chosen[cls]["test"] = {f"{test_source}_{p.name}": p for p in kept}
            dedup_report.extend({"class": cls, **d} for d in dropped)
    counts: dict[str, dict[str, dict[str, int]]] = {}
    placed = removed = 0
    for name, members in sets.items():
        counts[name] = {}
        for split in SPLITS:
            counts[name][split] = {}
            for cls in members:
                p, r = _sync_folder(out / name / split / cls, chosen[cls][split])
                placed, removed = placed + p, removed + r
                counts[name][split][cls] = len(chosen[cls][split])
    summary = {
        "voc_root": str(voc_root), "out": str(out), "imagenet": str(imagenet) if imagenet else None,
        "flickr": str(flickr) if flickr else None, "imagenet_role": imagenet_role, "test_source": test_source or "voc",
        "seed": seed, "val_fraction": val_fraction, "test_fraction": 0.0 if test_source else test_fraction, "max_per_class": max_per_class,
        "single_object": single_object, "dedup_threshold": dedup_threshold,
        "voc_single_class_images": {cls: len(voc[cls]) for cls in sorted(classes)},
        "counts": counts, "files_placed": placed, "stale_files_removed": removed,
        "ignored_folders": ignored,
        "skipped": skip_report(skipped),
        "dedup_dropped": dedup_report,
        "elapsed_s": round(time.perf_counter() - start, 3),
    }
    write_json_atomic(out / "summary.json", summary)
    return summary


def format_summary(summary: dict) -> str:
    """The text of a ``build_class_sets`` summary: counts per set, split and class, de-duplication,
    skipped files."""
    lines = [f"class-set folders in {summary['out']} (test split from {summary['test_source']}, "
             f"{summary['elapsed_s']:.1f} s)",
             "VOC single-class images: " + ", ".join(f"{c} {n}" for c, n in summary["voc_single_class_images"].items())]
    for name, splits in summary["counts"].items():
        lines.append(f"  {name}: " + "; ".join(
            f"{split} " + " ".join(f"{c}={n}" for c, n in per.items()) for split, per in splits.items()))
    lines.append(f"files placed now: {summary['files_placed']}, stale files removed: {summary['stale_files_removed']}")
    lines.extend(f"{source}: folders outside the class sets ignored: {', '.join(folders)}"
                 for source, folders in summary["ignored_folders"].items() if folders)
    lines.append(f"near-duplicate test images dropped: {len(summary['dedup_dropped'])}")
    lines.extend(f"    {entry['file']} ~ {entry['duplicate_of']} (distance {entry['distance']})"
                 for entry in summary["dedup_dropped"][:SHOWN_ITEMS])
    return "\n".join(lines + format_skipped(summary["skipped"]))
