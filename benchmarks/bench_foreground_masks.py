"""K's foreground masks on the foreground miniature's crops (the ``part_model`` mask source): time per
image and agreement with the drawn object masks (mean IoU, foreground fraction), at the miniature's
32 px and at larger crops of the same drawings, for a few detection-score thresholds.

K (the shipped demo K, 128 px scenes) molds every image up to its 128 px canvas, so a 32 px crop
reaches it blurred; the figures say how much that costs, and what one K pass costs the BPDA attack
(one pass per image per PGD step).

    python benchmarks/bench_foreground_masks.py [--images 60] [--sizes 32 64 128] [--checkpoint PATH]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEMO_K = ROOT / "checkpoints" / "demo" / "mask_rcnn_parts_demo.h5"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=60, help="test crops (spread over the six classes)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.0, 0.5, 0.7])
    parser.add_argument("--checkpoint", type=Path, default=DEMO_K)
    args = parser.parse_args()

    from dataset_tools.fg_miniature import miniature_item
    from dataset_tools.synthetic import CLASSES
    from unmask.evaluation.foreground import mask_iou
    from unmask.extractor import get_extractor
    from unmask.foreground import part_model_masks

    extractor = get_extractor(args.checkpoint, "small", {}, 8, 0.0)
    print(f"K: {args.checkpoint.name}; {args.images} miniature test crops (hard look)")
    print("size  min score  ms/image  mean IoU  K foreground  true foreground")
    for size in args.sizes:
        items = [miniature_item("test", CLASSES[i % len(CLASSES)], i // len(CLASSES), size, 128, 0, "hard")
                 for i in range(args.images)]
        images = np.stack([image for image, _ in items]).astype(np.float32) / 255
        truth = np.stack([mask for _, mask in items])[..., None].astype(np.float32)
        part_model_masks(extractor, images[:8], 0.0)  # warm-up: the graph traces once
        for threshold in args.thresholds:
            started = time.perf_counter()
            masks = part_model_masks(extractor, images, threshold)
            per_image = 1000 * (time.perf_counter() - started) / len(images)
            print(f"{size:>4}  {threshold:>9.2f}  {per_image:>8.1f}  {mask_iou(masks, truth):>8.3f}  "
                  f"{masks.mean():>12.3f}  {truth.mean():>15.3f}")


if __name__ == "__main__":
    main()
