"""Data pipeline figures on a synthetic tree of a few thousand images: generation speed,
PASCAL-Part -> COCO conversion throughput (images/s) and peak memory, re-run time, class-set building.

Each stage runs in a fresh Python process that reports its wall time and peak resident memory
(its own and its worker processes'), so the figures do not include the other stages.

    python benchmarks/bench_data.py [--images 2000] [--workers 1 2] [--keep DIR]
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000, help="VOC-style scenes to generate")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="conversion worker counts to time")
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it (default: a temp folder)")
    args = parser.parse_args()
    root = (args.keep or Path(tempfile.mkdtemp(prefix="bench_data_"))).resolve()
    try:
        gen = stage(f"__import__('dataset_tools.synthetic', fromlist=['x']).generate(Path({str(root)!r}), n_images={args.images}) and None")
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
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
