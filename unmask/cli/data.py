"""`unmask data ...`: generate the synthetic dataset, convert PASCAL-Part, build class-set folders,
de-duplicate a test folder. Each subcommand prints a summary (counts, skipped files and why)."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from unmask.parts import CLASS_SETS


def _synth(args: argparse.Namespace) -> int:
    """Handler of `unmask data synth`."""
    from dataset_tools.synthetic import generate

    start = time.perf_counter()
    out = generate(args.out, n_images=args.images, size=args.size, seed=args.seed,
                   imagenet_per_class=args.imagenet_per_class, flickr_per_class=args.flickr_per_class,
                   workers=args.workers)
    manifest = json.loads((out / "synthetic.json").read_text())
    print(f"synthetic dataset in {out} ({time.perf_counter() - start:.1f} s)")
    print(f"  VOC2010 scenes: {args.images} ({manifest['generated_now']['voc']} generated now, the rest already there)")
    for style in ("imagenet", "flickr"):
        per_class = getattr(args, f"{style}_per_class")
        print(f"  {style}/<class>/: {per_class} per class ({manifest['generated_now'][style]} generated now)")
    return 0


def _pascal_part(args: argparse.Namespace) -> int:
    """Handler of `unmask data pascal-part`."""
    from dataset_tools.pascal_part import convert, format_summary

    print(format_summary(convert(args.voc_root, args.out, legacy=args.legacy, seed=args.seed,
                                 annotations=args.annotations, workers=args.workers)))
    return 0


def _classsets(args: argparse.Namespace) -> int:
    """Handler of `unmask data classsets`."""
    from dataset_tools.voc import build_class_sets, format_summary

    print(format_summary(build_class_sets(
        args.voc_root, args.out, class_sets=tuple(args.sets), imagenet=args.imagenet, flickr=args.flickr,
        imagenet_role=args.imagenet_role, split=args.split, seed=args.seed, val_fraction=args.val_fraction,
        test_fraction=args.test_fraction, max_per_class=args.max_per_class, single_object=args.single_object,
        dedup_threshold=args.dedup_threshold)))
    return 0


def _dedup(args: argparse.Namespace) -> int:
    """Handler of `unmask data dedup`."""
    from dataset_tools.folders import IMAGE_SUFFIXES, dedup
    from unmask.fileio import write_json_atomic

    def images(root: Path) -> list[Path]:
        if not root.is_dir():
            raise FileNotFoundError(f"{root} is not a folder")
        return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)

    candidates = images(args.test)
    reference = [p for root in args.reference for p in images(root)]
    kept, dropped = dedup(candidates, reference, args.threshold)
    print(f"{len(candidates)} test images, {len(reference)} reference images, threshold {args.threshold}: "
          f"{len(kept)} kept, {len(dropped)} near-duplicates")
    for entry in dropped:
        print(f"  {entry['file']} ~ {entry['duplicate_of']} (distance {entry['distance']}, {entry['why']})")
    if args.report:
        write_json_atomic(args.report, {"kept": [str(p) for p in kept], "dropped": dropped})
    if args.delete:
        for entry in dropped:
            Path(entry["file"]).unlink()
        print(f"deleted {len(dropped)} files from {args.test}")
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add `unmask data {synth,pascal-part,classsets,dedup}`."""
    from dataset_tools.folders import DEDUP_THRESHOLD
    from dataset_tools.voc import SPLIT_RULES

    data = subparsers.add_parser("data", help="datasets: synthetic data, PASCAL-Part -> COCO, class-set folders")
    sub = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    sub.required = True

    p = sub.add_parser("synth", help="generate the embedded synthetic dataset in the PASCAL-Part/VOC raw formats")
    p.add_argument("--out", type=Path, required=True, help="output folder (VOC2010/, imagenet/, flickr/)")
    p.add_argument("--images", type=int, default=2000, help="VOC-style scenes with part annotations")
    p.add_argument("--size", type=int, default=128, help="image side in pixels")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--imagenet-per-class", type=int, default=60, help="ImageNet-style training images per class")
    p.add_argument("--flickr-per-class", type=int, default=50, help="Flickr-style test images per class")
    p.add_argument("--workers", type=int, default=1, help="processes (the output does not depend on it)")
    p.set_defaults(func=_synth)

    p = sub.add_parser("pascal-part", help="PASCAL-Part .mat -> COCO JSON over the 44 parts, split 80/10/10")
    p.add_argument("--voc-root", type=Path, required=True, help="folder with JPEGImages/ and Annotations_Part/")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--annotations", type=Path, help="Annotations_Part folder when not under --voc-root")
    p.add_argument("--legacy", action="store_true", help="original labelling: headlight masks become 'head'")
    p.add_argument("--seed", type=int, default=100, help="split shuffle seed (the original used 100)")
    p.add_argument("--workers", type=int, default=1, help="processes (the output does not depend on it)")
    p.set_defaults(func=_pascal_part)

    p = sub.add_parser("classsets", help="class-set image folders for model M from single-class VOC images")
    p.add_argument("--voc-root", type=Path, required=True, help="folder with JPEGImages/ and Annotations/ (VOC XML)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--sets", nargs="+", default=list(CLASS_SETS), help="class sets (CS3a ... or cs3-1 ...)")
    p.add_argument("--imagenet", type=Path, help="ImageNet-style <dir>/<class>/*.jpg")
    p.add_argument("--imagenet-role", choices=("train", "test"), default="train",
                   help="train: extra training images (default); test: the test split (KDD protocol)")
    p.add_argument("--flickr", type=Path, help="Flickr-style <dir>/<class>/*.jpg: the test split (BigData protocol)")
    p.add_argument("--split", choices=tuple(SPLIT_RULES), default="ours",
                   help="ours: single-class VOC images, per class; kdd2019: the original code's 50/10/40 of the "
                        "PASCAL-Part list (needs ImageSets/Main)")
    p.add_argument("--val-fraction", type=float, help="VOC share for validation (default: the split's)")
    p.add_argument("--test-fraction", type=float,
                   help="VOC share for test when no folder is the test split (default: the split's)")
    p.add_argument("--max-per-class", type=int, help="cap per class and source")
    p.add_argument("--single-object", action="store_true", help="only images with exactly one object")
    p.add_argument("--seed", type=int, help="split shuffle seed (default: the split's: 100 ours, 4 kdd2019)")
    p.add_argument("--dedup-threshold", type=int, default=DEDUP_THRESHOLD, help="phash Hamming distance (of 64 bits)")
    p.set_defaults(func=_classsets)

    p = sub.add_parser("dedup", help="find test images that are near-duplicates of reference images (phash)")
    p.add_argument("--test", type=Path, required=True, help="folder of test images (searched recursively)")
    p.add_argument("--reference", type=Path, nargs="+", required=True, help="folders of training images")
    p.add_argument("--threshold", type=int, default=DEDUP_THRESHOLD)
    p.add_argument("--report", type=Path, help="write kept/dropped lists as JSON")
    p.add_argument("--delete", action="store_true", help="delete the near-duplicates from the test folder")
    p.set_defaults(func=_dedup)
