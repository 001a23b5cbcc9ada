"""PASCAL-Part -> COCO: the training data of the part extractor K.

Reads ``Annotations_Part/*.mat`` and ``JPEGImages/*.jpg`` under a VOC2010 root, generalizes raw part
names to the 44 UnMask parts (:mod:`dataset_tools.part_names`), splits the annotation files 80/10/10
and writes ``<out>/{train,val,test}.json`` (COCO, categories = the 44 parts, id = index in PARTS,
one annotation per raw part instance) with the images linked or copied to ``<out>/<split>/``.

Split rule: the .mat file names are SORTED (so every file system gives the same list), shuffled with
``random.Random(seed)`` (seed 100 as in the original) and cut at int(0.8 n) and int(0.9 n). The split is
made over all annotation files before any is skipped, so a damaged file never moves the others.
(The original shuffled an unsorted directory listing, so its exact split cannot be reproduced.)

Bad input never aborts: unreadable files, missing images, objects without parts and wrong-shaped
masks are skipped, counted and named in the summary. Each split JSON carries a fingerprint of the
inputs and options; a re-run skips splits whose JSON matches and images already in place.
"""
from __future__ import annotations

import hashlib
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from dataset_tools.coco import categories, mask_annotation
from dataset_tools.mat_format import MatFormatError, read_annotation
from dataset_tools.parallel import JobMap, job_map
from dataset_tools.part_names import category_of, generalize
from dataset_tools.skipped import format_skipped, skip_report
from unmask.fileio import place_file, read_json, write_json_atomic
from unmask.parts import PART_INDEX, PARTS

SPLITS = ("train", "val", "test")
SPLIT_CUTS = (0.8, 0.9)
FORMAT_VERSION = 1
SKIP_REASONS = {
    "mat_unreadable": "annotation file cannot be read",
    "jpeg_missing": ".mat file without its JPEG",
    "jpeg_unreadable": "corrupt or truncated JPEG",
    "mat_missing": "JPEG without a .mat file (not part-annotated)",
    "object_without_parts": "object with no part annotation",
    "part_mask_shape": "part mask shape differs from the image",
    "part_unknown_name": "raw part name outside the 44 parts",
    "part_empty": "part mask empty or too small for a polygon",
    "image_without_parts": "no part left to annotate",
}


def split_names(names: list[str], seed: int = 100) -> dict[str, list[str]]:
    """The 80/10/10 split of annotation file names (sorted, then random.Random(seed).shuffle)."""
    order = sorted(names)
    random.Random(seed).shuffle(order)
    a, b = (int(len(order) * cut) for cut in SPLIT_CUTS)
    return {"train": order[:a], "val": order[a:b], "test": order[b:]}


@dataclass
class ImageResult:
    """What one annotation file contributes: the COCO image entry, its annotations (ids unset),
    the skips with what was skipped, and the raw part names the rules dropped."""

    image: dict | None = None
    annotations: list[dict] = field(default_factory=list)
    skips: list[tuple[str, str]] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)


def _image_size(path: Path) -> tuple[int, int]:
    """(height, width) after a full decode, so truncated files fail here."""
    with Image.open(path) as img:
        img.load()
        return img.height, img.width


def convert_image(mat_path: Path, jpeg_path: Path, image_id: int, legacy: bool) -> ImageResult:
    """Convert one PASCAL-Part annotation file into COCO entries."""
    result = ImageResult()
    stem = mat_path.stem
    if not jpeg_path.exists():
        result.skips.append(("jpeg_missing", stem))
        return result
    try:
        height, width = _image_size(jpeg_path)
    except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError... on damaged files
        result.skips.append(("jpeg_unreadable", f"{jpeg_path.name}: {exc}"))
        return result
    try:
        anno = read_annotation(mat_path)
    except MatFormatError as exc:
        result.skips.append(("mat_unreadable", str(exc)))
        return result
    numbers: Counter = Counter()
    for k, obj in enumerate(anno.objects):
        if not obj.parts:
            result.skips.append(("object_without_parts", f"{stem} object {k} ({obj.cls})"))
            continue
        for part in obj.parts:
            name = generalize(part.name)
            where = f"{stem} object {k} ({obj.cls}) part {part.name}"
            if name is None:
                result.dropped[part.name.split("_")[0]] += 1
            elif name not in PART_INDEX:
                result.skips.append(("part_unknown_name", where))
            elif part.mask.shape != (height, width):
                result.skips.append(("part_mask_shape", f"{where}: {part.mask.shape} vs image {(height, width)}"))
            else:
                numbers[name] += 1
                category = category_of(name, stem, numbers[name], legacy)
                ann = mask_annotation(part.mask.astype(bool), 0, image_id, category)
                if ann is None:
                    result.skips.append(("part_empty", where))
                else:
                    result.annotations.append(ann)
    if result.annotations:
        result.image = {"id": image_id, "file_name": jpeg_path.name, "width": width, "height": height}
    else:
        result.skips.append(("image_without_parts", stem))
    return result


def _convert_job(job: tuple[Path, Path, int, bool]) -> ImageResult:
    return convert_image(*job)


def _stamp(path: Path) -> tuple[int, int] | None:
    """(size, mtime_ns) of a file, None when it is missing: what says it changed, without reading it."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_size, stat.st_mtime_ns


def _fingerprint(mat_files: list[Path], jpegs: Path, legacy: bool, seed: int) -> str:
    """Hash of the inputs and options a split depends on: every .mat and its JPEG (size and mtime,
    or missing), so adding a missing JPEG or repairing a truncated one reconverts."""
    listing = [(p.name, _stamp(p), _stamp(jpegs / f"{p.stem}.jpg")) for p in mat_files]
    blob = json.dumps([FORMAT_VERSION, legacy, seed, SPLIT_CUTS, listing]).encode()
    return hashlib.sha1(blob).hexdigest()


def _convert_split(split: str, stems: list[str], ids: dict[str, int], mats: Path, jpegs: Path, out: Path,
                   legacy: bool, fingerprint: str, run: JobMap) -> dict:
    """Write ``<out>/<split>.json`` and ``<out>/<split>/``; returns the COCO info block (its statistics)."""
    jobs = [(mats / f"{s}.mat", jpegs / f"{s}.jpg", ids[s], legacy) for s in stems]
    images, annotations, skips, dropped = [], [], {}, Counter()
    for result in run(_convert_job, jobs):
        for reason, item in result.skips:
            skips.setdefault(reason, []).append(item)
        dropped.update(result.dropped)
        if result.image is None:
            continue
        place_file(jpegs / result.image["file_name"], out / split / result.image["file_name"])
        images.append(result.image)
        for ann in result.annotations:
            ann["id"] = len(annotations) + 1
            annotations.append(ann)
    names = {image["file_name"] for image in images}
    for stale in (out / split).glob("*") if (out / split).is_dir() else ():
        if stale.name not in names:
            stale.unlink()
    per_part = Counter(PARTS[a["category_id"]] for a in annotations)
    info = {
        "description": f"PASCAL-Part {split} split, 44 generalized UnMask parts",
        "version": FORMAT_VERSION, "legacy": legacy, "fingerprint": fingerprint,
        "mat_files": len(stems), "images": len(images), "annotations": len(annotations),
        "annotations_per_part": dict(sorted(per_part.items())), "skipped": skips, "dropped_raw_parts": dict(dropped),
    }
    doc = {"info": info, "licenses": [], "images": images, "annotations": annotations, "categories": categories()}
    write_json_atomic(out / f"{split}.json", doc, indent=None)
    return info


def convert(voc_root: Path, out: Path, legacy: bool = False, seed: int = 100,
            annotations: Path | None = None, workers: int = 1) -> dict:
    """Convert PASCAL-Part to COCO JSON splits; returns (and writes to ``<out>/summary.json``) a summary.

    voc_root: folder with JPEGImages/ (and Annotations_Part/ unless ``annotations`` points elsewhere).
    legacy: reproduce the original category lookup (headlight masks labelled 'head').
    workers: processes for the per-image work; the output is identical for any value."""
    start = time.perf_counter()
    voc_root, out = Path(voc_root), Path(out)
    mats = Path(annotations) if annotations else voc_root / "Annotations_Part"
    jpegs = voc_root / "JPEGImages"
    if not mats.is_dir() or not jpegs.is_dir():
        raise FileNotFoundError(
            f"expected {mats} (PASCAL-Part .mat files) and {jpegs} (VOC2010 images); download PASCAL-Part "
            "and VOC2010, or generate the embedded dataset with `unmask data synth`")
    mat_files = sorted(mats.glob("*.mat"))
    stems = [p.stem for p in mat_files]
    fingerprint = _fingerprint(mat_files, jpegs, legacy, seed)
    ids = {s: i + 1 for i, s in enumerate(stems)}
    splits = split_names(stems, seed)
    infos, reused = {}, []
    stale = []
    for split in SPLITS:
        previous = read_json(out / f"{split}.json")
        if previous and previous.get("info", {}).get("fingerprint") == fingerprint:
            infos[split] = previous["info"]
            reused.append(split)
        else:
            stale.append(split)
    with job_map(workers if stale else 1, chunksize=16) as run:
        for split in stale:
            infos[split] = _convert_split(split, splits[split], ids, mats, jpegs, out, legacy, fingerprint, run)
    stem_set = set(stems)
    skipped = {reason: [] for reason in SKIP_REASONS}
    skipped["mat_missing"] = sorted(p.stem for p in jpegs.glob("*.jpg") if p.stem not in stem_set)
    per_part, dropped = Counter(), Counter()
    for info in infos.values():
        for reason, items in info["skipped"].items():
            skipped[reason].extend(items)
        per_part.update(info["annotations_per_part"])
        dropped.update(info["dropped_raw_parts"])
    elapsed = time.perf_counter() - start
    summary = {
        "voc_root": str(voc_root), "annotations_dir": str(mats), "out": str(out), "legacy": legacy, "seed": seed,
        "split_rule": "sorted .mat names, random.Random(seed).shuffle, cut at int(0.8 n) and int(0.9 n)",
        "mat_files": len(mat_files),
        "splits": {s: {k: infos[s][k] for k in ("mat_files", "images", "annotations")} for s in SPLITS},
        "reused_splits": reused,
        "annotations_per_part": {p: per_part.get(p, 0) for p in PARTS},
        "dropped_raw_parts": dict(sorted(dropped.items())),
        "skipped": skip_report(skipped, SKIP_REASONS),
        "elapsed_s": round(elapsed, 3),
    }
    write_json_atomic(out / "summary.json", summary)
    return summary


def format_summary(summary: dict) -> str:
    """The text of a ``convert`` summary: splits, annotations per part, dropped raw parts, skipped files."""
    labelling = "legacy" if summary["legacy"] else "default"
    lines = [f"PASCAL-Part -> COCO in {summary['out']} ({labelling} labelling, {summary['elapsed_s']:.1f} s)",
             f"annotation files: {summary['mat_files']} ({summary['split_rule']})"]
    for split, counts in summary["splits"].items():
        reused = " (unchanged, kept)" if split in summary["reused_splits"] else ""
        lines.append(f"  {split:<5} {counts['images']:>6} images {counts['annotations']:>7} annotations{reused}")
    lines.append("annotations per part: "
                 + ", ".join(f"{p} {n}" for p, n in summary["annotations_per_part"].items() if n))
    if summary["dropped_raw_parts"]:
        lines.append("raw parts dropped by the rules: "
                     + ", ".join(f"{p} {n}" for p, n in summary["dropped_raw_parts"].items()))
    return "\n".join(lines + format_skipped(summary["skipped"]))
