"""Attack throughput on ResNet50 at 150 px, batch 32, against the floor of its gradient steps.

floor = steps x one compiled forward+backward pass (input gradient of the cross-entropy) on the same
batch, timed as a loop of min(steps, 10) such passes right before each attack. ratio = floor time /
attack time (1.0 = no overhead beyond the gradients; target >= 0.8 for the iterative attacks). On a
shared machine wall time swings with the other processes' load, so the ratio is taken on process CPU
time (all threads), which depends far less on that load; wall-clock figures and the load average
are printed beside it. Each attack is warmed up once with one step so graph tracing is excluded,
as in a long run. DeepFool stops early
once every image is adversarial and needs (classes - 1) gradients per step, and C&W runs its steps
once per binary-search step but stops a search step early when its loss stalls (abort_early), so
their ratios are against their configured gradient count and are reported, not targeted. Foolbox 1's
DeepFool (kdd2019_foolbox1) likewise. Its FGSM and PGD are left out: their eps searches run up to
1,020 forward passes or 40 PGD runs per batch, however many the images need, tens of minutes here.

Columns: img/s and floor (img/s) in wall time; success = fraction of the batch misclassified.
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
    ("kdd2019_foolbox1", preset_spec("kdd2019_foolbox1", "deepfool_l2", None)),
    ("vae2019", preset_spec("vae2019", "cw_l2", None)),
]


def timed(fn, *args, **kwargs):
    """(result, wall seconds, process CPU seconds) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def gradient_step_seconds(model: tf.keras.Model, x: tf.Tensor, y: tf.Tensor, calls: int) -> tuple[float, float]:
    """Mean (wall, CPU) seconds of one compiled forward+backward (input gradient) on the batch."""

    @tf.function
    def grad(x, y):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.nn.sparse_softmax_cross_entropy_with_logits(y, model(x, training=False))
        return tape.gradient(loss, x)

    grad(x, y).numpy()
    _, wall, cpu = timed(lambda: [grad(x, y).numpy() for _ in range(calls)])
    return wall / calls, cpu / calls


def one_step(spec: AttackSpec) -> AttackSpec:
    """The same attack with a single step (for warm-up tracing)."""
    return dataclasses.replace(spec, steps=1) if "steps" in spec.info.options else spec


def gradient_count(spec: AttackSpec) -> int:
    """The input gradients the attack's settings call for: steps (1 for FGSM), times C&W's binary-search steps."""
    resolved = spec.resolved()
    return (resolved.steps or 1) * (resolved.binary_search_steps or 1)


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
    print(f"{'preset':<22} {'attack':<16} {'steps':>5} {'img/s':>6} {'floor':>6} {'wall ratio':>10} "
          f"{'CPU ratio':>9} {'success':>7} {'load':>5}")
    for preset, spec in SPECS:
        if args.only and not spec.label().startswith(args.only):
            continue
        attack(model, images, labels, one_step(spec), batch_size=args.batch)
        steps = gradient_count(spec)
        step_wall, step_cpu = gradient_step_seconds(model, x, y, min(steps, 10))
        result, wall, cpu = timed(attack, model, images, labels, spec, batch_size=args.batch)
        print(f"{preset:<22} {spec.label():<16} {steps:>5} {args.batch / wall:>6.2f} {args.batch / (steps * step_wall):>6.2f} "
              f"{steps * step_wall / wall:>10.2f} {steps * step_cpu / cpu:>9.2f} {result.success.mean():>7.2f} "
              f"{os.getloadavg()[0]:>5.1f}", flush=True)


if __name__ == "__main__":
    main()
