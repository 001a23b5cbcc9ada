"""Untargeted evasion attacks on model M, one spec for all, run through CleverHans 4 and Foolbox 3.

Specs and presets live in ``unmask.attack_specs`` (re-exported here); ``eps`` and ``step_size`` are in
0-255 pixel units there and converted to [0, 1] units here (``_unit``), when a runner calls its library.

Each registry attack names its runner (``AttackInfo.runner``): one function per attack family with
the signature of ``Runner``. fgsm, pgd_* and mim_* run through ``cleverhans.tf2``
(fast_gradient_method, projected_gradient_descent, momentum_iterative_method); deepfool_l2 and cw_l2
through Foolbox 3 (L2DeepFoolAttack with the logits loss, L2CarliniWagnerAttack). Gradients run in
compiled graphs: CleverHans computes each step's gradient in its module-level ``tf.function`` (traced
once per model and batch shape), and Foolbox gets M's compiled forward pass.

The BigData legacy step: the original code passes a step of 2.0 in [0, 1] units, so every step
jumps past the eps-ball and the projection puts it back on the ball's edge. CleverHans'
projected_gradient_descent asserts ``eps_iter <= eps``, so PGD specs whose step exceeds eps run
the identical loop (random start, CleverHans fast_gradient_method steps, clip_eta projection,
[0, 1] clipping) without that assert: ``_pgd_unbounded_step``. MIM has no such assert and keeps the
step as given.

Determinism: the random start uses TF's global generator, re-seeded per batch from ``seed``; DeepFool
and C&W are deterministic.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import numpy as np
import tensorflow as tf

from unmask import registry
from unmask.attack_specs import (  # noqa: F401  (re-exported: the attack API in one place)
    DEEPFOOL_CANDIDATES,
    DEEPFOOL_OVERSHOOT,
    PRESETS,
    AttackSpec,
    parse_spec,
    preset_spec,
)
from unmask.classifiers import compiled_logits, predict_classes
from unmask.images import check_images

os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")  # foolbox imports GitPython

Runner = Callable[[tf.keras.Model, tf.Tensor, tf.Tensor, AttackSpec], tf.Tensor]
"""(model, images [N,H,W,3] in [0, 1], true labels [N], resolved spec) -> adversarial images."""


@dataclass
class AttackResult:
    """Per-image outcome. success = (predictions_adv != labels), measured on images_adv;
    predictions_clean is None when the caller asked to skip that forward pass."""

    images_adv: np.ndarray
    success: np.ndarray
    predictions_adv: np.ndarray
    predictions_clean: np.ndarray | None
    spec: AttackSpec


def validate_inputs(model: tf.keras.Model, images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check images (``check_images``, then M's input shape) and labels before any work; returns
    float32 images and int64 labels."""
    images = check_images(images)
    expected = tuple(model.input_shape[1:])
    if images.shape[1:] != expected:
        raise ValueError(f"images must have shape [N, {', '.join(map(str, expected))}] for this model, got {images.shape}")
    labels = np.asarray(labels)
    num_classes = int(model.output_shape[-1])
    if labels.shape != (len(images),):
        raise ValueError(f"labels must have shape [{len(images)}], got {labels.shape}")
    if labels.size and (not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must be integers in [0, {num_classes}), got {labels.dtype} in [{labels.min()}, {labels.max()}]")
    return images, labels.astype(np.int64)


def _unit(pixels: float | None) -> float | None:
    """A 0-255 pixel quantity (eps, step size) in [0, 1] image units."""
    return None if pixels is None else pixels / 255.0


def _foolbox_model(model: tf.keras.Model):
    """M as a Foolbox model over [0, 1] images, calling its compiled forward pass."""
    import foolbox as fb

    return fb.TensorFlowModel(compiled_logits(model), bounds=(0.0, 1.0), device="/CPU:0")


def run_fgsm(model: tf.keras.Model, x: tf.Tensor, y: tf.Tensor, spec: AttackSpec) -> tf.Tensor:
    """One signed-gradient step of eps (CleverHans fast_gradient_method)."""
    from cleverhans.tf2.attacks.fast_gradient_method import fast_gradient_method

    return fast_gradient_method(model, x, _unit(spec.eps), spec.norm, clip_min=0.0, clip_max=1.0, y=y)


def _pgd_unbounded_step(model_fn, x, y, eps, eps_iter, nb_iter, norm, rand_init):
    """CleverHans' projected_gradient_descent loop, minus its ``eps_iter <= eps`` assert (legacy step)."""
    from cleverhans.tf2.attacks.fast_gradient_method import fast_gradient_method
    from cleverhans.tf2.utils import clip_eta, random_lp_vector

    eta = random_lp_vector(tf.shape(x), norm, tf.cast(eps, x.dtype), dtype=x.dtype) if rand_init else tf.zeros_like(x)
    adv_x = tf.clip_by_value(x + clip_eta(eta, norm, eps), 0.0, 1.0)
    for _ in range(nb_iter):
        adv_x = fast_gradient_method(model_fn, adv_x, eps_iter, norm, clip_min=0.0, clip_max=1.0, y=y)
        adv_x = tf.clip_by_value(x + clip_eta(adv_x - x, norm, eps), 0.0, 1.0)
    return adv_x


def run_pgd(model: tf.keras.Model, x: tf.Tensor, y: tf.Tensor, spec: AttackSpec) -> tf.Tensor:
    """Projected gradient descent in the spec's norm (CleverHans; the legacy loop for steps > eps)."""
    eps, step = _unit(spec.eps), _unit(spec.step_size)
    if step > eps:
        return _pgd_unbounded_step(model, x, y, eps, step, spec.steps, spec.norm, spec.random_start)
    from cleverhans.tf2.attacks.projected_gradient_descent import projected_gradient_descent

    return projected_gradient_descent(
        model, x, eps, step, spec.steps, spec.norm, clip_min=0.0, clip_max=1.0, y=y, rand_init=spec.random_start
    )


def run_mim(model: tf.keras.Model, x: tf.Tensor, y: tf.Tensor, spec: AttackSpec) -> tf.Tensor:
    """The momentum iterative method in the spec's norm (CleverHans, Dong et al.'s accumulation)."""
    from cleverhans.tf2.attacks.momentum_iterative_method import momentum_iterative_method

    return momentum_iterative_method(
        model, x, eps=_unit(spec.eps), eps_iter=_unit(spec.step_size), nb_iter=spec.steps, norm=spec.norm,
        clip_min=0.0, clip_max=1.0, y=y, decay_factor=spec.decay, sanity_checks=False,
    )


def run_deepfool(model: tf.keras.Model, x: tf.Tensor, y: tf.Tensor, spec: AttackSpec) -> tf.Tensor:
    """Foolbox's L2 DeepFool (logits loss, overshoot 0.02); eps None = its minimal perturbation."""
    import foolbox as fb

    # None = every class: the same attack when there are few classes, without Foolbox logging
    # "Only testing the top-k classes" at INFO for every batch.
    n_classes = int(model.output_shape[-1])
    candidates = None if n_classes <= DEEPFOOL_CANDIDATES else DEEPFOOL_CANDIDATES
    deepfool = fb.attacks.L2DeepFoolAttack(
        steps=spec.steps, candidates=candidates, overshoot=DEEPFOOL_OVERSHOOT, loss="logits"
    )
    _, clipped, _ = deepfool(_foolbox_model(model), x, y, epsilons=_unit(spec.eps))
    return clipped


def run_cw_l2(model: tf.keras.Model, x: tf.Tensor, y: tf.Tensor, spec: AttackSpec) -> tf.Tensor:
    """Foolbox's Carlini-Wagner L2; eps None = the smallest adversarial it finds, an eps clips onto
    the L2 ball. Foolbox returns an all-zero image where it found none (its initial ``best_advs``);
    such images stay clean here, so a black image never counts as C&W's result."""
    import foolbox as fb

    cw = fb.attacks.L2CarliniWagnerAttack(
        binary_search_steps=int(spec.binary_search_steps), steps=int(spec.steps), stepsize=spec.learning_rate,
        confidence=spec.confidence, initial_const=spec.initial_const,
    )
    raw, clipped, _ = cw(_foolbox_model(model), x, y, epsilons=_unit(spec.eps))
    found = tf.reduce_any(tf.not_equal(raw, 0.0), axis=[1, 2, 3], keepdims=True)
    return tf.where(found, clipped, x)


def perturb(model: tf.keras.Model, x: tf.Tensor, y: tf.Tensor, spec: AttackSpec) -> tf.Tensor:
    """One batch through the runner the spec's registry entry names: no validation or final
    projection (see ``attack``); for loops that already hold valid tensors, like adversarial training."""
    spec = spec.resolved()
    runner: Runner = registry.load(spec.info.runner)
    return runner(model, x, y, spec)


def project(x: np.ndarray, x_adv: np.ndarray, norm: float, eps: float | None) -> np.ndarray:
    """Put x_adv back into [0, 1] and the eps-ball around x (eps in [0, 1] units): guards the
    budget against float drift in the libraries' own projections."""
    delta = x_adv.astype(np.float64) - x
    if eps is not None:
        if norm == np.inf:
            delta = np.clip(delta, -eps, eps)
        else:
            norms = np.sqrt(np.sum(delta**2, axis=(1, 2, 3), keepdims=True))
            delta *= np.minimum(1.0, eps / np.maximum(norms, 1e-12))
    return np.clip(x + delta, 0.0, 1.0).astype(np.float32)


def attack(
    model: tf.keras.Model, images: np.ndarray, labels: np.ndarray, spec: AttackSpec, batch_size: int = 32, seed: int = 0,
    predict_clean: bool = True,
) -> AttackResult:
    """Attack ``images`` (float32 [N,H,W,3] in [0,1]) with true ``labels``; untargeted, deterministic for a seed.

    ``predict_clean=False`` skips the clean forward pass behind ``predictions_clean`` for callers
    that already have M's clean predictions (the evaluator): a third of FGSM's time."""
    if not isinstance(spec, AttackSpec):
        raise TypeError(f"spec must be an AttackSpec (see preset_spec / parse_spec), got {type(spec).__name__}")
    if batch_size < 1:
        raise ValueError(f"batch size must be positive, got {batch_size}")
    images, labels = validate_inputs(model, images, labels)
    spec = spec.resolved()
    adversarial = np.empty_like(images)
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size]
        tf.random.set_seed(seed * 1_000_003 + start)
        x_adv = perturb(model, tf.constant(x), tf.constant(labels[start : start + batch_size]), spec)
        adversarial[start : start + len(x)] = project(x, np.asarray(x_adv), spec.norm, _unit(spec.eps))
    predictions_adv = predict_classes(model, adversarial, batch_size)
    return AttackResult(
        images_adv=adversarial,
        success=predictions_adv != labels,
        predictions_adv=predictions_adv,
        predictions_clean=predict_classes(model, images, batch_size) if predict_clean else None,
        spec=spec,
    )
