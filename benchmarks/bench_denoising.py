"""The thesis' feature-denoising blocks: what they cost on this machine.

1. One non-local block (embedded Gaussian, the thesis' form) on each of ResNet101's four stage outputs at
   150 px (38x38x256, 19x19x512, 10x10x1024, 5x5x2048): forward, and forward + backward (gradients of
   the block's weights and input), compiled.
2. A training step (forward, backward, SGD update) of M = ResNet101 and M = FD-ResNet101 (4 blocks)
   at 150 px, random weights, 3 classes.
Each configuration runs in its own subprocess, so its peak RSS is its own (the affinity matrices of
the stage-2 block are 2 x 1444^2 floats = 16.7 MB per image). Prints figures; times are medians of
``--repeats`` calls after one warm-up call.

    python benchmarks/bench_denoising.py                       # everything, batch 8
    python benchmarks/bench_denoising.py --batch 32 --parts blocks
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from children import run_child  # benchmarks/children.py (scripts run as benchmarks/<name>.py)

STAGES = {"conv2": (38, 256), "conv3": (19, 512), "conv4": (10, 1024), "conv5": (5, 2048)}
"""ResNet101's stage outputs at 150 px: (side, channels)."""


def _median_seconds(call, repeats: int) -> tuple[float, float]:
    """(first call, median of the next ``repeats`` calls) in seconds; each call's result is materialised."""
    started = time.perf_counter()
    call()
    first = time.perf_counter() - started
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return first, statistics.median(times)


def run_block(stage: str, batch: int, repeats: int) -> dict:
    """Forward and forward + backward time of one block on the stage's feature map."""
    import numpy as np
    import tensorflow as tf

    from unmask.denoising import NonLocalDenoise, affinity_bytes

    side, channels = STAGES[stage]
    block = NonLocalDenoise(zero_init_bn=False)
    x = tf.constant(np.random.default_rng(0).normal(size=(batch, side, side, channels)).astype("float32"))
    block(x[:1])
    forward = tf.function(lambda t: block(t, training=True))

    @tf.function
    def forward_backward(t):
        with tf.GradientTape() as tape:
            tape.watch(t)
            loss = tf.reduce_sum(block(t, training=True))
        return tape.gradient(loss, [t, *block.trainable_variables])

    _, f = _median_seconds(lambda: forward(x).numpy(), repeats)
    _, fb = _median_seconds(lambda: [g.numpy() for g in forward_backward(x)], repeats)
    return {"forward_s": f, "forward_backward_s": fb, "affinity_mb": affinity_bytes(batch, side, side) / 2**20,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_train_step(arch: str, batch: int, repeats: int) -> dict:
    """One SGD training step of M (``arch``) at 150 px with random weights."""
    import keras
    import numpy as np
    import tensorflow as tf

    from unmask.classifiers import build_classifier
    from unmask.training import _make_train_step

    model = build_classifier(arch, 3, weights=None, image_size=150)
    optimizer = keras.optimizers.SGD(0.001, momentum=0.9)
    optimizer.build(model.trainable_variables)
    step = _make_train_step(model, optimizer, 2e-4, 150)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.random((batch, 150, 150, 3), dtype=np.float32))
    y = tf.constant(rng.integers(0, 3, batch), dtype=tf.int64)
    first, median = _median_seconds(lambda: [t.numpy() for t in step(x, y)], repeats)
    return {"step_s": median, "first_step_s": first, "images_per_s": batch / median,
            "parameters": model.count_params(), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--parts", nargs="+", choices=("blocks", "train"), default=["blocks", "train"])
    parser.add_argument("--one", nargs=2, metavar=("KIND", "NAME"), help=argparse.SUPPRESS)  # child-process mode
    args = parser.parse_args(argv)
    if args.one:
        kind, name = args.one
        run = run_block if kind == "block" else run_train_step
        print(json.dumps(run(name, args.batch, args.repeats)))
        return 0
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}; batch {args.batch}", flush=True)
    if "blocks" in args.parts:
        print(f"\n{'block at':10} {'map':>12} {'affinity MB':>11} {'fwd s':>8} {'fwd+bwd s':>9} {'peak RSS MB':>11}")
        for stage, (side, channels) in STAGES.items():
            r = run_child(__file__, ["block", stage, "--batch", str(args.batch), "--repeats", str(args.repeats)])
            if r:
                print(f"{stage + '_out':10} {f'{side}x{side}x{channels}':>12} {r['affinity_mb']:11.1f} "
                      f"{r['forward_s']:8.4f} {r['forward_backward_s']:9.4f} {r['peak_rss_mb']:11.0f}", flush=True)
    if "train" in args.parts:
        print(f"\n{'M':14} {'parameters':>11} {'step s':>8} {'img/s':>7} {'1st step s':>10} {'peak RSS MB':>11}")
        steps = {}
        for arch in ("resnet101", "resnet101_fd"):
            r = run_child(__file__, ["train", arch, "--batch", str(args.batch), "--repeats", str(args.repeats)])
            if r:
                steps[arch] = r["step_s"]
                print(f"{arch:14} {r['parameters']:11,} {r['step_s']:8.3f} {r['images_per_s']:7.2f} "
                      f"{r['first_step_s']:10.2f} {r['peak_rss_mb']:11.0f}", flush=True)
        if len(steps) == 2:
            print(f"FD-ResNet101 / ResNet101 step time: {steps['resnet101_fd'] / steps['resnet101']:.2f}")
    print(f"\nload average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
