"""Foreground attention masks as a defense (Vaishnavi et al., "Can Attention Masks Improve Adversarial
Robustness?"): M classifies ``mask * image``, the background set to 0.

- ``apply_mask`` / ``foreground_model``: the masking, as an array operation and as a two-input Keras
  model (image, mask) -> M(mask * image): the plug-in a user calls.
- ``masked_attack``: PGD-Linf through the masking (``attacks._pgd_loop`` with a mask). With a fixed mask
  (the paper's oracle masks) the perturbation lives on the mask's pixels only, projected and clipped as
  every other attack (``attacks.craft``). With ``mask_fn`` (a mask recomputed from the image, e.g. K's)
  the attack is adaptive: the mask is recomputed at every step and held constant in the backward pass
  (BPDA), and the perturbation may touch any pixel.
- ``train_masked``: natural or adversarial training of M on masked images; adversarial training replaces
  every batch by its mask-aware PGD version (100% adversarial batches, Madry et al.), as the facts sheet's
  default for the paper's unstated recipe.
- ``part_model_masks``: a mask predicted by K, the union of the part masks our Mask R-CNN finds on the
  image as given (beyond the paper, whose masks are all given).

Masks are float32 0/1 arrays [N, H, W, 1] (``check_masks`` accepts [N, H, W] too). An image trained or
scored "on X" uses an all-ones mask: the defense then reduces to plain M and plain PGD, bit for bit.
"""
from __future__ import annotations

import math
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from unmask.attack_specs import AttackSpec
from unmask.attacks import _pgd_loop, _start_point, _unit, craft, validate_inputs
from unmask.classifiers import predict_classes
from unmask.registry import TrainRecipe
from unmask.training import _make_train_step, make_optimizer

MaskFn = Callable[[tf.Tensor], tf.Tensor]
"""A mask recomputed from an image batch (float [N, H, W, 3] in [0, 1]) -> 0/1 float [N, H, W, 1]."""


def check_masks(masks: np.ndarray, images: np.ndarray) -> np.ndarray:
    """Masks as float32 [N, H, W, 1] of 0s and 1s matching ``images`` [N, H, W, 3]; ValueError otherwise."""
    masks = np.asarray(masks)
    if masks.ndim == 3:
        masks = masks[..., None]
    if masks.shape != (*images.shape[:3], 1):
        raise ValueError(f"masks must have shape {(*images.shape[:3], 1)} (or without the last axis) for images "
                         f"{images.shape}, got {masks.shape}")
    if masks.size and not np.isin(masks, (0, 1)).all():
        raise ValueError("masks must hold only 0 (background) and 1 (foreground)")
    return masks.astype(np.float32)


def apply_mask(images: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """F(x): every pixel outside the mask set to 0 (float32 images [N, H, W, 3])."""
    images = np.asarray(images, dtype=np.float32)
    return images * check_masks(masks, images)


def foreground_model(model: keras.Model) -> keras.Model:
    """The defense as one Keras model: inputs ``image`` [H, W, 3] in [0, 1] and ``mask`` [H, W, 1] (0/1),
    output M's logits on ``mask * image``."""
    image = keras.Input(model.input_shape[1:], name="image")
    mask = keras.Input((*model.input_shape[1:3], 1), name="mask")
    return keras.Model([image, mask], model(keras.layers.Multiply(name="foreground")([image, mask])),
                       name=f"foreground_{model.name}")


def masked_predict(model: keras.Model, images: np.ndarray, masks: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """M's classes of ``mask * image``."""
    return predict_classes(model, apply_mask(images, masks), batch_size)


def masked_pgd(model: keras.Model, x: tf.Tensor, y: tf.Tensor, spec: AttackSpec, mask: tf.Tensor | None = None,
               mask_fn: MaskFn | None = None) -> tf.Tensor:
    """One batch of PGD-Linf against M behind the masking: with ``mask`` the random start and every step
    stay on the mask's pixels; with ``mask_fn`` (BPDA) the start covers the image and each step uses the
    mask of the current iterate."""
    if spec.norm != math.inf:
        raise ValueError(f"the mask-aware attack is PGD-Linf (the paper's); got {spec.name}")
    if (mask is None) == (mask_fn is None):
        raise ValueError("give either a fixed mask or a mask_fn")
    eps, step = _unit(spec.eps), _unit(spec.step_size)
    start = _start_point(x, spec.norm, eps, spec.random_start)
    if mask is not None:
        start = tf.where(mask > 0, start, x)
    return _pgd_loop(model, x, y, eps, step, spec.steps, spec.norm, start, mask=mask if mask_fn is None else mask_fn,
                     region=mask)[0]


def masked_attack(model: keras.Model, images: np.ndarray, labels: np.ndarray, spec: AttackSpec,
                  masks: np.ndarray | None = None, mask_fn: MaskFn | None = None, batch_size: int = 32,
                  seed: int = 0) -> np.ndarray:
    """Adversarial images of ``masked_pgd`` (fixed ``masks`` or an adaptive ``mask_fn``), batched, seeded
    and projected as ``attacks.attack``; deterministic for a seed."""
    images, labels = validate_inputs(model, images, labels)
    spec = spec.resolved()
    fixed = None if masks is None else check_masks(masks, images)
    return craft(images, labels, spec, batch_size, seed,
                 lambda x, y, rows: masked_pgd(model, x, y, spec, None if fixed is None else tf.constant(fixed[rows]),
                                               mask_fn))


def train_masked(model: keras.Model, images: np.ndarray, masks: np.ndarray, labels: np.ndarray, recipe: TrainRecipe,
                 spec: AttackSpec | None = None, seed: int = 0) -> list[dict]:
    """Train M in place on ``mask * image`` for ``recipe.epochs`` epochs of ``recipe.batch_size`` (the
    recipe's optimiser and coupled weight decay, ``training._make_train_step``); with ``spec`` every batch
    is first replaced by its mask-aware PGD version (crafted with M in inference mode). The last epoch is
    kept. Returns one row per epoch (loss, training accuracy on what M was trained on)."""
    images, labels = validate_inputs(model, images, labels)
    masks = check_masks(masks, images)
    spec = spec.resolved() if spec is not None else None
    optimizer = make_optimizer(recipe)
    optimizer.build(model.trainable_variables)
    step = _make_train_step(model, optimizer, recipe.weight_decay, images.shape[1])
    history = []
    tf.random.set_seed(seed)  # once: re-seeding per batch clears TF's kernel caches, a graph rebuild per step
    for epoch in range(1, recipe.epochs + 1):
        order = np.random.default_rng([seed, epoch]).permutation(len(images))
        total_loss = total_correct = 0.0
        for start in range(0, len(order), recipe.batch_size):
            rows = order[start : start + recipe.batch_size]
            x, m, y = tf.constant(images[rows]), tf.constant(masks[rows]), tf.constant(labels[rows])
            if spec is not None:
                x = masked_pgd(model, x, y, spec, mask=m)
            loss, correct = step(x * m, y)
            total_loss += float(loss) * len(rows)
            total_correct += float(correct)
        history.append({"epoch": epoch, "train_loss": total_loss / len(order), "train_accuracy": total_correct / len(order)})
    return history


def part_model_masks(extractor, images: np.ndarray, min_confidence: float) -> np.ndarray:
    """K's foreground mask of each image (float32 [N, H, W, 1]): the union of the masks of every part it
    detects with a score of at least ``min_confidence``, on the image as given (K's own molding resizes
    it). No detection: an all-zero mask (the image is blanked)."""
    masks = np.zeros((*images.shape[:3], 1), dtype=np.float32)
    for i, found in enumerate(extractor.detect(images, masks=True)):
        kept = found["scores"] >= min_confidence
        if kept.any():
            masks[i, ..., 0] = found["masks"][..., kept].any(axis=-1)
    return masks


def part_model_mask_fn(extractor, min_confidence: float) -> MaskFn:
    """``part_model_masks`` as a MaskFn for the BPDA attack (K runs on every iterate)."""
    return lambda x: tf.constant(part_model_masks(extractor, np.clip(x.numpy(), 0.0, 1.0), min_confidence))
