"""Attack throughput on ResNet50 at 150 px, batch 32, against the floor of its gradient steps.

floor = steps x one compiled forward+backward pass (input gradient of the cross-entropy) on the same
batch, timed as a loop of min(steps, 20) such passes right before each attack, so that both see
the same CPU load on a shared machine (the load average is printed with each row). ratio = floor time / attack
time (1.0 = no overhead beyond the gradients; target >= 0.8 for the iterative attacks). Each attack
is warmed up once with one step so graph tracing is excluded, as in a long run. DeepFool stops early
once every image is adversarial and needs (classes - 1) gradients per step, so its ratio is against
its configured step count and is reported, not targeted.

Usage: python benchmarks/bench_attacks.py [--batch 32] [--size 150] [--classes 3] [--only NAME]
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import time

os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from unmask.attacks import AttackSpec, attack, preset_spec  # noqa: E402
from unmask.classifiers import build_classifier  # noqa: E402

SPECS = [
    ("kdd2019", preset_spec("kdd2019", "fgsm", 8)),
    ("kdd2019", preset_spec("kdd2019", "pgd_linf", 8)),
    ("bigdata2020_legacy", preset_spec("bigdata2020_legacy", "pgd_linf", 8)),
    ("bigdata2020_legacy", preset_spec("bigdata2020_legacy", "pgd_l2", 300)),
    ("bigdata2020_legacy", preset_spec("bigdata2020_legacy", "mim_linf", 8)),
    ("bigdata2020_legacy", preset_spec("bigdata2020_legacy", "mim_l2", 300)),
    ("bigdata2020_corrected", preset_spec("bigdata2020_corrected", "pgd_linf", 8)),
    ("kdd2019", preset_spec("kdd2019", "deepfool_l2", None)),
]


def gradient_step_seconds(model: tf.keras.Model, x: tf.Tensor, y: tf.Tensor, calls: int) -> float:
    """Mean wall time of one compiled forward+backward (input gradient) on the batch, over ``calls``."""

    @tf.function
    def grad(x, y):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.nn.sparse_softmax_cross_entropy_with_logits(y, model(x, training=False))
        return tape.gradient(loss, x)

    grad(x, y).numpy()
    start = time.perf_counter()
    for _ in range(calls):
        grad(x, y).numpy()
    return (time.perf_counter() - start) / calls


def one_step(spec: AttackSpec) -> AttackSpec:
    """The same attack with a single step (for warm-up tracing)."""
    return spec if spec.name == "fgsm" else dataclasses.replace(spec, steps=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=150)
    parser.add_argument("--classes", type=int, default=3)
    parser.add_argument("--only", help="run only the attacks whose label starts with this, e.g. pgd_linf")
    args = parser.parse_args()

    tf.keras.utils.set_random_seed(0)
    model = build_classifier("resnet50", args.classes, weights=None, image_size=args.size)
    rng = np.random.default_rng(0)
    images = rng.random((args.batch, args.size, args.size, 3), dtype=np.float32)
    labels = rng.integers(0, args.classes, args.batch)
    x, y = tf.constant(images), tf.constant(labels)
    print(f"ResNet50 (random init), {args.size} px, batch {args.batch}, {args.classes} classes, "
          f"{os.cpu_count()} CPUs, TF {tf.__version__}")
    print(f"{'preset':<22} {'attack':<16} {'steps':>5} {'img/s':>7} {'floor img/s':>11} {'ratio':>6} {'success':>8} {'load':>5}")
    for preset, spec in SPECS:
        if args.only and not spec.label().startswith(args.only):
            continue
        attack(model, images, labels, one_step(spec), batch_size=args.batch)
        steps = spec.resolved().steps or 1
        step_seconds = gradient_step_seconds(model, x, y, min(steps, 20))
        start = time.perf_counter()
        result = attack(model, images, labels, spec, batch_size=args.batch)
        seconds = time.perf_counter() - start
        floor = args.batch / (steps * step_seconds)
        rate = args.batch / seconds
        print(f"{preset:<22} {spec.label():<16} {steps:>5} {rate:>7.2f} {floor:>11.2f} {rate / floor:>6.2f} "
              f"{result.success.mean():>8.2f} {os.getloadavg()[0]:>5.1f}", flush=True)


if __name__ == "__main__":
    main()
