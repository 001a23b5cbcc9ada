"""Evaluator benchmark: K passes vs distinct images, end-to-end images/s, and peak memory vs test-set size.

Runs the evaluate stage of a preset (data, K and M must exist: run `unmask run PRESET` once first)
in a fresh run folder, in a subprocess per test-set cap, so that each peak-memory figure is its own.
Usage: python benchmarks/bench_evaluate.py [--preset experiments/demo.yaml] [--caps 50,100,200]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def measure(preset_path: str, cap: int, out: Path) -> dict:
    """One evaluate run with at most `cap` test images per class set (runs in the child process)."""
    from unmask.evaluation import Grid, model_checkpoint
    from unmask.presets import load_preset

    preset = load_preset(preset_path)
    evaluation = dataclasses.replace(preset.evaluation, max_test_images=cap)
    # Reuse the trained models and K of the preset's own run folder; compute every cell afresh.
    models = tuple(
        dataclasses.replace(m, checkpoints=model_checkpoint(preset, m, preset.class_sets[0]).parent) for m in preset.models
    )
    preset = dataclasses.replace(preset, output=out, evaluation=evaluation, models=models)
    grid = Grid(preset)
    started = time.time()
    cells = grid.run(progress=lambda message: None)
    seconds = time.time() - started
    # K sees the attacked images of the variants whose defenses need parts (not the AT twin's)
    distinct = len(grid.benign_cache.parts) + grid.stats["attacked_images_to_k"]
    return {
        "cap": cap,
        "cells": len(cells),
        "k_images": grid.extractor.images_seen,
        "distinct_images": distinct,
        "seconds": round(seconds, 1),
        "images_per_s": round(distinct / seconds, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="experiments/demo.yaml")
    parser.add_argument("--caps", default="50,100,200", help="test images per class set, one run each")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure(args.preset, args.child, Path(args.out))))
        return 0
    print(f"{'cap':>5} {'cells':>5} {'K images':>9} {'distinct':>9} {'s':>7} {'img/s':>7} {'peak MB':>8}")
    rows = []
    for cap in [int(c) for c in args.caps.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            done = subprocess.run(
                [sys.executable, __file__, "--preset", args.preset, "--child", str(cap), "--out", tmp],
                capture_output=True, text=True, check=True,
            )
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        ok = "ok" if row["k_images"] == row["distinct_images"] else "MISMATCH"
        print(f"{cap:>5} {row['cells']:>5} {row['k_images']:>9} {row['distinct_images']:>9} {row['seconds']:>7} "
              f"{row['images_per_s']:>7} {row['peak_rss_mb']:>8}  K passes = distinct images: {ok}")
    growth = rows[-1]["peak_rss_mb"] - rows[0]["peak_rss_mb"]
    print(f"peak memory change from {rows[0]['cap']} to {rows[-1]['cap']} test images per set: {growth:+.1f} MB")
    return 0 if all(r["k_images"] == r["distinct_images"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
