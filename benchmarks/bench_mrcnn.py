"""Mask R-CNN inference speed and peak memory: resnet50/101-FPN at 512/1024 px, batch 1 and 4.

Random weights, Matterport's default heads (NUM_CLASSES 81, 1000 proposals, 100 detections), the
full detect() path (molding, one compiled graph call, unmolding). Each configuration runs in its
own subprocess so that its peak memory (max RSS; GPU peak when a GPU is used) is its own.

    python benchmarks/bench_mrcnn.py                       # everything
    python benchmarks/bench_mrcnn.py --backbones resnet50 --sizes 512 --batches 1
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def run_one(backbone: str, size: int, batch: int, repeats: int) -> dict:
    """Build, warm up (trace) and time detect() for one configuration in this process."""
    import numpy as np
    import tensorflow as tf

    from mrcnn.config import Config
    from mrcnn.model import MaskRCNN

    config = Config(NAME="bench", BACKBONE=backbone, NUM_CLASSES=81, IMAGES_PER_GPU=batch,
                    IMAGE_MIN_DIM=size, IMAGE_MAX_DIM=size)
    start = time.perf_counter()
    model = MaskRCNN("inference", config, "/tmp/bench_mrcnn")
    build = time.perf_counter() - start
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(batch)]
    start = time.perf_counter()
    model.detect(images)  # traces the graph
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.detect(images)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    gpus = tf.config.list_logical_devices("GPU")
    result = {"backbone": backbone, "size": size, "batch": batch, "device": "GPU" if gpus else "CPU",
              "build_s": build, "first_call_s": first, "median_call_s": median, "images_per_s": batch / median,
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if gpus:
        result["peak_gpu_mb"] = tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2 ** 20
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", nargs="+", default=["resnet50", "resnet101"],
                        choices=["resnet50", "resnet101"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[512, 1024])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 4])
    parser.add_argument("--repeats", type=int, default=3, help="timed detect() calls after the warm-up call")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # child-process mode
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.backbones[0], args.sizes[0], args.batches[0], args.repeats)))
        return 0

    header = (f"{'backbone':10} {'size':>5} {'batch':>5} {'device':>6} {'img/s':>7} {'s/call':>7} "
              f"{'1st call s':>10} {'build s':>8} {'peak RSS MB':>11} {'peak GPU MB':>11}")
    print(header, flush=True)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    for backbone in args.backbones:
        for size in args.sizes:
            for batch in args.batches:
                command = [sys.executable, os.path.abspath(__file__), "--one", "--backbones", backbone,
                           "--sizes", str(size), "--batches", str(batch), "--repeats", str(args.repeats)]
                done = subprocess.run(command, capture_output=True, text=True, env=env)
                if done.returncode != 0:
                    print(f"{backbone:10} {size:>5} {batch:>5} failed:\n{done.stderr[-2000:]}", flush=True)
                    continue
                r = json.loads(done.stdout.strip().splitlines()[-1])
                gpu = f"{r['peak_gpu_mb']:11.0f}" if "peak_gpu_mb" in r else f"{'-':>11}"
                print(f"{backbone:10} {size:>5} {batch:>5} {r['device']:>6} {r['images_per_s']:7.3f} "
                      f"{r['median_call_s']:7.2f} {r['first_call_s']:10.2f} {r['build_s']:8.2f} "
                      f"{r['peak_rss_mb']:11.0f} {gpu}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
