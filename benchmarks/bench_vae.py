"""The VAE detector's speed: training throughput (benign/adversarial pairs per second through one class's
VAE, V Table 7's architecture, batch 64) and detector inference (images per second through all the class
VAEs: classifier logits plus detection score), and one adaptive-attack step (encoder input gradients).

Each figure is timed after a warm-up call (graph tracing excluded), on random images, in wall and
process CPU time; the load average is printed beside them, as the machine may be shared.
Usage: python benchmarks/bench_vae.py [--arch mnist] [--classes 5] [--pairs 1024] [--batch 64]
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from unmask.attack_specs import AttackSpec  # noqa: E402
from unmask.attacks import perturb_batches  # noqa: E402
from unmask.vae import VAEDetector, architecture, batched  # noqa: E402
from unmask.vae_training import TrainSettings, train_class  # noqa: E402


def timed(fn, *args, **kwargs) -> tuple[object, float, float]:
    """(result, wall seconds, process CPU seconds) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="mnist", help="V Table 7 architecture: mnist, fmnist5, catdog")
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=1024, help="benign images (one pair each) per training epoch")
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    arch = architecture(args.arch)
    tf.keras.utils.set_random_seed(0)
    detector = VAEDetector(arch, args.classes)
    rng = np.random.default_rng(0)
    x_b = rng.uniform(size=(args.pairs, *arch.input_shape)).astype(np.float32)
    x_a = rng.uniform(size=(args.pairs, *arch.input_shape)).astype(np.float32)
    settings = TrainSettings(batch_size=args.batch)
    train_class(detector.vaes[0], x_b[:args.batch], x_a[:args.batch], settings, 1, seed=0)  # warm-up: tracing
    stats, wall, cpu = timed(train_class, detector.vaes[0], x_b, x_a, settings, 2, 0)
    print(f"load average {os.getloadavg()[0]:.1f}; arch {arch.name}, {args.classes} classes, "
          f"{detector.count_params():,} parameters")
    print(f"training, one class's VAE, batch {args.batch}: {stats['pairs'] / wall:,.0f} pairs/s wall, "
          f"{stats['pairs'] / cpu:,.0f} pairs/s CPU")
    images = x_b[:512]
    batched(detector.score, images[:256], 256)
    batched(detector, images[:256], 256)
    _, wall, cpu = timed(lambda: (batched(detector, images, 256), batched(detector.score, images, 256)))
    print(f"inference, logits + detection score through all {args.classes} VAEs: {len(images) / wall:,.0f} img/s "
          f"wall, {len(images) / cpu:,.0f} img/s CPU")
    labels = np.argmax(batched(detector, images[:128], 128), axis=1)
    spec = AttackSpec("pgd_w", 76.5, steps=1, step_size=2.55, gamma=1.0, gamma_search_steps=0).resolved()
    perturb_batches(detector, images[:128], labels, spec, 128, 0)
    spec = AttackSpec("pgd_w", 76.5, steps=10, step_size=2.55, gamma=1.0, gamma_search_steps=0).resolved()
    _, wall, cpu = timed(perturb_batches, detector, images[:128], labels, spec, 128, 0)
    print(f"PGD_W, 10 steps on 128 images (logits + l_pass gradients through all VAEs): "
          f"{128 * 10 / wall:,.0f} image-steps/s wall, {128 * 10 / cpu:,.0f} CPU")


if __name__ == "__main__":
    main()
