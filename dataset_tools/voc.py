"""Class-set image folders for model M from PASCAL VOC 2010 (plus optional ImageNet/Flickr folders).

For every class set S and split: ``<out>/<S>/{train,val,test}/<class>/<source>_<name>.jpg``.
VOC images are chosen and split by one of two rules (``SPLIT_RULES``):
- ``ours`` (default): the images whose ``Annotations/<id>.xml`` objects all belong to ONE class (several
  instances allowed; ``single_object=True`` demands exactly one object), split per class: sorted ids,
  ``random.Random(100).shuffle``, then val and test take int(fraction x n) images each, train the rest.
  A class's split is the same in every set, and every image shows only its class.
- ``kdd2019``: the original code's (preprocess.py, ``DataLoad.split_data``), which gives KDD'19 Table 3's
  counts: every PASCAL-Part ``.mat`` name, ``random.Random(4).shuffle``, labelled from VOC's
  ``ImageSets/Main/<class>_trainval.txt`` (label 1), kept when the label is in the set; the set's pool
  is cut 50/10/40 into train/val/test. An image of several classes gets ONE label (the original's
  loop over the label files lets a later file overwrite an earlier one: we read them sorted, the
  original in glob order), so such images can land in the wrong class's folder.
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
from dataclasses import dataclass
from pathlib import Path

from dataset_tools.folders import DEDUP_THRESHOLD, HashCache, dedup, image_error, list_class_folders
from dataset_tools.skipped import SHOWN_ITEMS, format_skipped, skip_report
from unmask.fileio import place_file, write_json_atomic
from unmask.parts import CLASS_SETS, class_set, canonical_class_set_name

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class SplitRule:
    """How VOC images are chosen and split for M: defaults of ``build_class_sets`` and the rule's text."""

    seed: int
    val_fraction: float
    test_fraction: float
    describe: str


SPLIT_RULES: dict[str, SplitRule] = {
    "ours": SplitRule(100, 0.1, 0.1, "VOC images whose XML objects are all of one class, split per class (sorted, "
                      "random.Random(seed).shuffle, val and test int(fraction x n) each, train the rest)"),
    "kdd2019": SplitRule(4, 0.1, 0.4, "the original's (preprocess.py): PASCAL-Part .mat names sorted, "
                         "random.Random(seed).shuffle, labelled from ImageSets/Main/<class>_trainval.txt, pooled per "
                         "set: train int((1 - val - test) n), val up to int((1 - test) n), test the rest"),
}
"""The VOC split rules: ``ours`` (single-class images, per class) and ``kdd2019`` (the original code's)."""


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


def read_voc_labels(voc_root: Path) -> dict[str, str]:
    """Image id -> class from ``ImageSets/Main/<class>_trainval.txt`` (lines whose last field is 1), the
    labels of the original's M split. Files are read in sorted order and a later class overwrites an
    earlier one, as the original's loop did in glob order."""
    files = sorted((Path(voc_root) / "ImageSets" / "Main").glob("*_trainval.txt"))
    if not files:
        raise FileNotFoundError(f"no {voc_root}/ImageSets/Main/<class>_trainval.txt: the kdd2019 split labels images "
                                "from VOC2010's ImageSets (in the VOC2010 trainval download)")
    labels: dict[str, str] = {}
    for path in files:
        for line in path.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 2 and fields[-1] == "1":
                labels[fields[0]] = path.name.split("_")[0]
    return labels


def labelled_part_images(voc_root: Path, classes: set[str], seed: int) -> tuple[list[tuple[Path, str]], dict[str, list[str]]]:
    """(JPEG, class) of the PASCAL-Part images whose VOC label is one of ``classes``, in the original's
    order (sorted .mat names, ``random.Random(seed).shuffle``, filtered after the shuffle); plus skipped
    files by reason."""
    voc_root = Path(voc_root)
    stems = sorted(p.stem for p in (voc_root / "Annotations_Part").glob("*.mat"))
    random.Random(seed).shuffle(stems)
    labels = read_voc_labels(voc_root)
    pool: list[tuple[Path, str]] = []
    skipped: dict[str, list[str]] = {"unlabelled": [], "jpeg_missing": [], "jpeg_unreadable": []}
    for stem in stems:
        cls = labels.get(stem)
        if cls is None:
            skipped["unlabelled"].append(stem)
            continue
        if cls not in classes:
            continue
        jpeg = voc_root / "JPEGImages" / f"{stem}.jpg"
        if not jpeg.exists():
            skipped["jpeg_missing"].append(stem)
        elif (error := image_error(jpeg)) is not None:
            skipped["jpeg_unreadable"].append(f"{jpeg.name}: {error}")
        else:
            pool.append((jpeg, cls))
    return pool, skipped


def pooled_split(pool: list[tuple[Path, str]], members: tuple[str, ...], val_fraction: float, test_fraction: float,
                 max_per_class: int | None = None) -> dict[str, dict[str, list[Path]]]:
    """The kdd2019 split of one class set: its members' images in pool order (the first ``max_per_class``
    of each class), train the first int((1 - val - test) n), val up to int((1 - test) n), test the
    rest; returned per class and split."""
    taken = {cls: 0 for cls in members}
    items = []
    for path, cls in pool:
        if cls in taken and (not max_per_class or taken[cls] < max_per_class):
            taken[cls] += 1
            items.append((path, cls))
    train_end = int(len(items) * (1 - val_fraction - test_fraction))
    val_end = int(len(items) * (1 - test_fraction))
    parts = {"train": items[:train_end], "val": items[train_end:val_end], "test": items[val_end:]}
    return {cls: {split: [p for p, c in parts[split] if c == cls] for split in SPLITS} for cls in members}


def _class_split(paths: list[Path], seed: int, val_fraction: float, test_fraction: float,
                 max_per_class: int | None) -> dict[str, list[Path]]:
    """The ours split of one class: shuffled, the first ``max_per_class`` kept, then ``split_list``."""
    order = split_list(paths, seed, 0.0, 0.0)["train"]
    return split_list(order[:max_per_class] if max_per_class else order, seed, val_fraction, test_fraction)


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
                     imagenet: Path | None = None, flickr: Path | None = None, imagenet_role: str = "train",
                     split: str = "ours", seed: int | None = None, val_fraction: float | None = None,
                     test_fraction: float | None = None, max_per_class: int | None = None,
                     single_object: bool = False, dedup_threshold: int = DEDUP_THRESHOLD) -> dict:
    """Write the class-set folders; returns (and writes to ``<out>/summary.json``) a summary with the
    counts per set/split/class, the VOC split's own counts per set (``voc_counts``: with a test folder,
    kdd2019's VOC test share is held out, not placed), skipped files with reasons and the
    de-duplication report. ``split`` names a ``SPLIT_RULES`` entry; seed and fractions left None are
    the rule's."""
    start = time.perf_counter()
    voc_root, out = Path(voc_root), Path(out)
    if split not in SPLIT_RULES:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLIT_RULES)}")
    rule = SPLIT_RULES[split]
    seed = rule.seed if seed is None else seed
    val_fraction = rule.val_fraction if val_fraction is None else val_fraction
    test_fraction = rule.test_fraction if test_fraction is None else test_fraction
    needed = ("Annotations_Part", "JPEGImages") if split == "kdd2019" else ("Annotations", "JPEGImages")
    if not all((voc_root / name).is_dir() for name in needed):
        raise FileNotFoundError(f"expected {' and '.join(f'{voc_root}/{name}' for name in needed)}; download VOC2010 "
                                "(and PASCAL-Part) or generate the embedded dataset with `unmask data synth`")
    if imagenet_role not in ("train", "test"):
        raise ValueError(f"imagenet_role must be 'train' or 'test', not {imagenet_role!r}")
    if split == "kdd2019" and single_object:
        raise ValueError("single_object selects by VOC XML (the ours split); kdd2019 labels images from ImageSets/Main")
    test_source = "flickr" if flickr is not None else ("imagenet" if imagenet is not None and imagenet_role == "test" else None)
    if flickr is not None and imagenet is not None and imagenet_role == "test":
        raise ValueError("the test split comes from either the ImageNet folder (imagenet_role='test') or Flickr, not both")
    # ours gives VOC no test share when a folder is the test split; kdd2019 holds its test share out
    test_fraction = 0.0 if test_source and split == "ours" else test_fraction
    sets = {canonical_class_set_name(name): class_set(name) for name in class_sets}
    classes = {cls for members in sets.values() for cls in members}
    # the VOC split per set, class and split
    if split == "kdd2019":
        pool, skipped = labelled_part_images(voc_root, classes, seed)
        voc_images = {cls: sum(c == cls for _, c in pool) for cls in sorted(classes)}
        voc_split = {name: pooled_split(pool, members, val_fraction, test_fraction, max_per_class)
                     for name, members in sets.items()}
    else:
        voc, skipped = single_class_images(voc_root, classes, single_object)
        voc_images = {cls: len(voc[cls]) for cls in sorted(classes)}
        per_class = {cls: _class_split(voc[cls], seed, val_fraction, test_fraction, max_per_class) for cls in classes}
        voc_split = {name: {cls: per_class[cls] for cls in members} for name, members in sets.items()}
    voc_counts = {name: {s: sum(len(per[s]) for per in by_class.values()) for s in SPLITS}
                  for name, by_class in voc_split.items()}
    skipped["folder_image_unreadable"] = []
    ignored: dict[str, list[str]] = {}
    extra: dict[str, dict[str, list[Path]]] = {}
    for source, root in (("imagenet", imagenet), ("flickr", flickr)):
        if root is not None:
            extra[source], ignored[source] = _checked_folder(Path(root), classes, skipped["folder_image_unreadable"])
    imagenet_split = ({cls: _class_split(extra["imagenet"].get(cls, []), seed, val_fraction, 0.0, max_per_class)
                       for cls in classes} if "imagenet" in extra and test_source != "imagenet" else {})
    # file name in the output -> source file, per set, class and split
    chosen: dict[str, dict[str, dict[str, dict[str, Path]]]] = {}
    for name, by_class in voc_split.items():
        chosen[name] = {}
        for cls, parts in by_class.items():
            chosen[name][cls] = {s: {f"voc_{p.name}": p for p in ([] if s == "test" and test_source else parts[s])}
                                 for s in SPLITS}
            for s, items in imagenet_split.get(cls, {}).items():
                chosen[name][cls][s].update({f"imagenet_{p.name}": p for p in items})
    dedup_report = []
    if test_source:
        hashes = HashCache()
        reference = sorted({p for by_class in chosen.values() for per in by_class.values()
                            for s in ("train", "val") for p in per[s].values()})
        for cls in sorted(classes):
            candidates = extra[test_source].get(cls, [])
            candidates = candidates[:max_per_class] if max_per_class else candidates
            kept, dropped = dedup(candidates, reference, dedup_threshold, hashes)
            for by_class in chosen.values():
                if cls in by_class:
                    by_class[cls]["test"] = {f"{test_source}_{p.name}": p for p in kept}
            dedup_report.extend({"class": cls, **d} for d in dropped)
    counts: dict[str, dict[str, dict[str, int]]] = {}
    placed = removed = 0
    for name, members in sets.items():
        counts[name] = {}
        for s in SPLITS:
            counts[name][s] = {}
            for cls in members:
                p, r = _sync_folder(out / name / s / cls, chosen[name][cls][s])
                placed, removed = placed + p, removed + r
                counts[name][s][cls] = len(chosen[name][cls][s])
    summary = {
        "voc_root": str(voc_root), "out": str(out), "imagenet": str(imagenet) if imagenet else None,
        "flickr": str(flickr) if flickr else None, "imagenet_role": imagenet_role, "test_source": test_source or "voc",
        "split": split, "split_rule": rule.describe, "seed": seed, "val_fraction": val_fraction,
        "test_fraction": test_fraction, "max_per_class": max_per_class,
        "single_object": single_object, "dedup_threshold": dedup_threshold,
        "voc_images": voc_images, "voc_counts": voc_counts,
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
             f"VOC split {summary['split']}: {summary['split_rule']}",
             "VOC images per class: " + ", ".join(f"{c} {n}" for c, n in summary["voc_images"].items())]
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
