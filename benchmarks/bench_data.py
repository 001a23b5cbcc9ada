"""Data pipeline figures on a synthetic tree of a few thousand images: generation speed,
PASCAL-Part -> COCO conversion throughput (images/s) and peak memory, re-run time, class-set building,
and the part extractor K's COCO mAP (pycocotools) on the converted parts test split, beside the
papers' K on PASCAL-Part (mAP 0.56).

Each data stage runs in a fresh Python process that reports its wall time and peak resident memory
(its own and its worker processes'), so the figures do not include the other stages. With the
defaults (2,000 scenes, seed 0, difficulty easy) the data and its test split are the demo's, which
the shipped demo K never trained on; other settings (difficulty hard included) are data the shipped K
was not trained for, or put some of its training images in the split.

    python benchmarks/bench_data.py [--images 2000] [--difficulty easy] [--workers 1 2] [--keep DIR]
                                    [--checkpoint checkpoints/demo/mask_rcnn_parts_demo.h5 | --no-k]
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO_K = ROOT / "checkpoints" / "demo" / "mask_rcnn_parts_demo.h5"
PAPER_K_MAP = 0.56
"""UnMask's K (Mask R-CNN, ResNet101-FPN) on PASCAL-Part, as the papers report it."""

STAGE = """
import json, resource, sys, time
from pathlib import Path
start = time.perf_counter()
result = {call}
seconds = time.perf_counter() - start
rss = {{who: resource.getrusage(getattr(resource, who)).ru_maxrss / 1024 for who in ("RUSAGE_SELF", "RUSAGE_CHILDREN")}}
print(json.dumps({{"seconds": seconds, "rss_mib": rss, "result": result}}, default=str))
"""


def stage(call: str) -> dict:
    """Run ``call`` (an expression) in a fresh interpreter; returns seconds, peak RSS and its result."""
    done = subprocess.run([sys.executable, "-c", STAGE.format(call=call)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def part_map(parts_dir: Path, checkpoint: Path) -> dict[str, dict[str, float]]:
    """COCO bbox and segm stats of the small-config K ``checkpoint`` on the ``parts_dir`` test split
    (mrcnn.evaluate), with the config overrides recorded in the .json beside the checkpoint."""
    from mrcnn.evaluate import evaluate_coco
    from unmask.extractor import MaskRCNNExtractor
    from unmask.part_model import load_parts_dataset

    record = checkpoint.with_suffix(".json")
    if not record.is_file():
        raise FileNotFoundError(f"{record} not found: K's record (config overrides) must sit beside the checkpoint")
    overrides = json.loads(record.read_text())["config_overrides"]
    extractor = MaskRCNNExtractor(checkpoint, "small", overrides, batch_size=8)
    test_set = load_parts_dataset(parts_dir, "test")
    return {kind: evaluate_coco(extractor.model, test_set, test_set.coco, kind, verbose=False) for kind in ("bbox", "segm")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000, help="VOC-style scenes to generate")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="conversion worker counts to time")
    parser.add_argument("--difficulty", default="easy", help="synthetic difficulty (easy: the demo's, the first "
                        "generator; hard: occlusion, clutter, truncation, blur, noise)")
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it (default: a temp folder)")
    parser.add_argument("--checkpoint", type=Path, default=DEMO_K, help="K (small config) to score on the parts test split")
    parser.add_argument("--no-k", action="store_true", help="skip K's mAP")
    args = parser.parse_args()
    root = (args.keep or Path(tempfile.mkdtemp(prefix="bench_data_"))).resolve()
    try:
        gen = stage(f"__import__('dataset_tools.synthetic', fromlist=['x']).generate(Path({str(root)!r}), "
                    f"n_images={args.images}, difficulty={args.difficulty!r}) and None")
        manifest = json.loads((root / "synthetic.json").read_text())
        made = manifest["generated_now"]
        total = sum(made.values())
        print(f"synthetic generation (1 process): {made['voc']} scenes + {made['imagenet'] + made['flickr']} folder images "
              f"in {gen['seconds']:.1f} s ({total / gen['seconds']:.1f} images/s), peak RSS {gen['rss_mib']['RUSAGE_SELF']:.0f} MiB")
        for workers in args.workers:
            call = (f"{{k: v for k, v in __import__('dataset_tools.pascal_part', fromlist=['x']).convert("
                    f"Path({str(root / 'VOC2010')!r}), Path({str(root / f'parts_w{workers}')!r}), workers={workers}).items() "
                    f"if k in ('splits', 'reused_splits')}}")
            first, again = stage(call), stage(call)
            images = sum(s["images"] for s in first["result"]["splits"].values())
            annotations = sum(s["annotations"] for s in first["result"]["splits"].values())
            rss = first["rss_mib"]
            print(f"pascal-part conversion, {workers} worker(s): {images} images, {annotations} annotations in "
                  f"{first['seconds']:.1f} s = {images / first['seconds']:.1f} images/s; peak RSS main {rss['RUSAGE_SELF']:.0f} MiB"
                  + (f", largest worker {rss['RUSAGE_CHILDREN']:.0f} MiB" if workers > 1 else ""))
            print(f"  re-run with everything in place: {again['seconds']:.2f} s (reused {again['result']['reused_splits']})")
        call = (f"{{k: v for k, v in __import__('dataset_tools.voc', fromlist=['x']).build_class_sets("
                f"Path({str(root / 'VOC2010')!r}), Path({str(root / 'classsets')!r}), imagenet=Path({str(root / 'imagenet')!r}), "
                f"flickr=Path({str(root / 'flickr')!r})).items() if k in ('files_placed', 'dedup_dropped', 'counts')}}")
        sets = stage(call)
        cs3a = sets["result"]["counts"]["CS3a"]
        print(f"class sets (4 sets; ImageNet-style train, Flickr-style test with phash dedup): {sets['seconds']:.1f} s, "
              f"{sets['result']['files_placed']} files placed, {len(sets['result']['dedup_dropped'])} near-duplicates dropped, "
              f"peak RSS {sets['rss_mib']['RUSAGE_SELF']:.0f} MiB")
        print("  CS3a per split: " + "; ".join(f"{s} {sum(c.values())}" for s, c in cs3a.items()))
        if not args.no_k:
            stats = part_map(root / f"parts_w{args.workers[0]}", args.checkpoint)
            print(f"K ({args.checkpoint.name}) on the parts test split, COCO mAP@[.5:.95] (AP50): "
                  f"bbox {stats['bbox']['AP']:.3f} ({stats['bbox']['AP50']:.3f}), segm {stats['segm']['AP']:.3f} "
                  f"({stats['segm']['AP50']:.3f}); the papers' K on PASCAL-Part: {PAPER_K_MAP:.2f}")
            if (args.images, args.difficulty) != (2000, "easy"):
                print("  (not the demo's data: K trained on some of these test images)")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
