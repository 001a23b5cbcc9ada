"""Our Mask R-CNN (``mrcnn``, detect()) against torchvision's ``maskrcnn_resnet50_fpn``, side by side on this CPU.

Optional: torch and torchvision are never a dependency of the package or of its tests. They live in a
venv of their own, e.g.

    python -m venv /work/tvenv && /work/tvenv/bin/pip install torch torchvision
    python benchmarks/compare_torchvision.py --torch-python /work/tvenv/bin/python

Run it with the project's interpreter. Each half runs in a long-lived worker subprocess in its own venv
(ours in this interpreter, torchvision's in ``--torch-python``): a worker builds its model, warms up and
then times one inference per request, so the rounds alternate ours / torchvision and machine load
affects both alike. Configuration (issue 18): batch 1, random weights, ResNet50-FPN, RPN 1000
proposals after NMS, 100 detections with score threshold 0 (both run the mask head on 100 boxes) and
full-image masks; torchvision with min_size = max_size = the image size. Prints per size the medians
and ours / torchvision in images per second (> 1: ours faster).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def ours(size: int) -> tuple[Callable[[], int], str]:
    """detect() on one random size x size image; returns (run -> detection count, label)."""
    import numpy as np

    from mrcnn.config import Config
    from mrcnn.model import MaskRCNN

    config = Config(NAME="compare", BACKBONE="resnet50", NUM_CLASSES=81, IMAGES_PER_GPU=1, IMAGE_MIN_DIM=size,
                    IMAGE_MAX_DIM=size, POST_NMS_ROIS_INFERENCE=1000, DETECTION_MAX_INSTANCES=100,
                    DETECTION_MIN_CONFIDENCE=0)
    model = MaskRCNN("inference", config, "/tmp")
    image = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    return lambda: len(model.detect([image])[0]["class_ids"]), "mrcnn"


def torchvision_model(size: int) -> tuple[Callable[[], int], str]:
    """maskrcnn_resnet50_fpn in eval mode on one random image (0-1 floats); run -> detection count."""
    import torch
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.detection.maskrcnn_resnet50_fpn(
        weights=None, weights_backbone=None, min_size=size, max_size=size, rpn_post_nms_top_n_test=1000,
        box_score_thresh=0.0, box_detections_per_img=100).eval()
    image = torch.rand(3, size, size)

    def run() -> int:
        with torch.inference_mode():
            return len(model([image])[0]["labels"])

    return run, f"torchvision {torchvision.__version__}"


def worker(kind: str, size: int) -> None:
    """Serve timing requests on stdin: build and warm up, print 'ready', then one 'seconds count' per line."""
    run, label = (ours if kind == "ours" else torchvision_model)(size)
    run()
    run()
    print(f"ready {label}", flush=True)
    for _ in sys.stdin:
        start = time.perf_counter()
        count = run()
        print(f"{time.perf_counter() - start} {count}", flush=True)


class Worker:
    """A worker subprocess of this script for one model and size."""

    def __init__(self, python: str, kind: str, size: int) -> None:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.process = subprocess.Popen([python, os.path.abspath(__file__), "--worker", kind, "--sizes", str(size)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        ready = self.process.stdout.readline().split(maxsplit=1)
        if not ready or ready[0] != "ready":
            raise RuntimeError(f"{kind} worker ({python}) did not start; see its error above")
        self.label = ready[1].strip()

    def time_one(self) -> tuple[float, int]:
        """Seconds and detection count of one inference."""
        self.process.stdin.write("run\n")
        self.process.stdin.flush()
        seconds, count = self.process.stdout.readline().split()
        return float(seconds), int(count)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def compare(size: int, rounds: int, torch_python: str) -> None:
    """Alternate rounds of both workers at one size and print the medians and the ratio."""
    workers = [Worker(sys.executable, "ours", size), Worker(torch_python, "torchvision", size)]
    times: list[list[float]] = [[], []]
    counts = [set(), set()]
    try:
        for _ in range(rounds):
            for worker_, seconds, seen in zip(workers, times, counts):
                elapsed, count = worker_.time_one()
                seconds.append(elapsed)
                seen.add(count)
    finally:
        for worker_ in workers:
            worker_.close()
    medians = [statistics.median(seconds) for seconds in times]
    for worker_, median, seconds, seen in zip(workers, medians, times, counts):
        print(f"{size:5d} px  {worker_.label:26} median {median:6.3f} s  {1 / median:6.3f} img/s  "
              f"rounds {' '.join(f'{s:.3f}' for s in seconds)}  detections {sorted(seen)}", flush=True)
    print(f"{size:5d} px  ours / torchvision (img/s): {medians[1] / medians[0]:.3f}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--torch-python", default="/work/tvenv/bin/python",
                        help="an interpreter with torch and torchvision")
    parser.add_argument("--sizes", nargs="+", type=int, default=[512, 1024])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--worker", choices=["ours", "torchvision"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.sizes[0])
        return 0
    print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    for size in args.sizes:
        compare(size, args.rounds, args.torch_python)
    print(f"load average after: {os.getloadavg()[0]:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
