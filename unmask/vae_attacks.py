"""Adaptive white-box attacks on a classifier that carries a detector (V section 4.3): FGSM_W, PGD_W, MIM_W
and CW-L2_W, each the attack's loss -/+ gamma * l_pass with an outer binary search over gamma.

A model "carries a detector" when it has ``logits_and_pass_loss(x) -> (logits, [N])`` (V's l_pass, zero
once the detector is bypassed) and ``bypasses(x) -> bool [N]`` (V's success conditions C1 and C2), as
``unmask.vae.VAEDetector`` does. For any other model l_pass is 0 and every image bypasses: the _W
attack is then the plain attack (so the registry's budget and bounds tests run on plain M as well).

- FGSM_W and PGD_W: CleverHans' fast_gradient_method and ``unmask.attacks._pgd_loop`` (with its start
  point) with a ``loss_fn`` of cross-entropy - gamma * l_pass (gradient ascent: minus, as V states).
- MIM_W: CleverHans' momentum_iterative_method takes no loss function, so ``_mim_loop`` is its loop
  (normalised gradient, momentum, ``optimize_linear``, ``clip_eta``) with ours.
- CW-L2_W: Foolbox's C&W objective is closed, so ``unmask.attacks.run_cw_l2`` runs on the model's
  logits with gamma * l_pass added to the true class's logit: C&W then minimises
  ||delta||^2 + c * max(0, Z_y + gamma * l_pass - max_{i != y} Z_i + kappa), i.e. V's "+ gamma * l_pass"
  for a gradient-descent attack, inside C&W's hinge (it stops pushing once that margin is met); toward
  a target t (V's CW-L2_W-trained variant) max(0, max_{i != t} Z_i - Z_t + gamma * l_pass + kappa).

The gamma search (the facts sheet's default, after C&W's search over c): every image starts at the
spec's gamma; a run that succeeds (misclassified, or the target reached, and C1 and C2) halves toward
the last failure, a failed one multiplies by 10 until a success, then bisects; the successful image of
least L2 distortion is kept, else the last run's. ``gamma_search_steps`` runs (0: one run, fixed gamma,
as V's training attacks: "bs 0"). With gamma 0 and no search each attack is the plain one, image for
image, for the same seed.

``targeted`` (the min-max training's attack toward class c) ascends -CE(target) instead.
"""
from __future__ import annotations

import weakref
from typing import Callable

import numpy as np
import tensorflow as tf

from unmask.attack_specs import AttackSpec
from unmask.attacks import _pgd_loop, _start_point, _unit, perturb_batches, run_cw_l2

LossFn = Callable[..., tf.Tensor]


def has_detector(model) -> bool:
    """Whether the model carries a detector the _W attacks bypass."""
    return hasattr(model, "logits_and_pass_loss") and hasattr(model, "bypasses")


class _Objective:
    """(model_fn, loss_fn) for CleverHans: model_fn returns the logits with l_pass appended as a last
    column; loss_fn is the attack's ascent objective CE (or -CE(target)) - gamma * l_pass, gamma per image.
    Made once per model and direction with gamma in a variable, so CleverHans' compiled gradient is traced
    once, not once per run of the gamma search."""

    def __init__(self, model, targeted: bool) -> None:
        self.model, self.targeted, self.detector = model, targeted, has_detector(model)
        self.gamma = tf.Variable(tf.zeros([0]), shape=tf.TensorShape([None]), trainable=False)

    def model_fn(self, x: tf.Tensor) -> tf.Tensor:
        if self.detector:
            logits, extra = self.model.logits_and_pass_loss(x)
        else:
            logits = self.model(x, training=False)
            extra = tf.zeros(tf.shape(logits)[:1], logits.dtype)
        return tf.concat([logits, extra[:, None]], axis=1)

    def loss_fn(self, labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits[:, :-1])
        return (-ce if self.targeted else ce) - self.gamma * logits[:, -1]


_OBJECTIVES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _objective(model, gamma: tf.Tensor, targeted: bool) -> tuple[Callable, LossFn]:
    """The model's cached ``_Objective`` for this direction, its gamma set to ``gamma``."""
    objectives = _OBJECTIVES.setdefault(model, {})
    if targeted not in objectives:
        objectives[targeted] = _Objective(model, targeted)
    objective = objectives[targeted]
    objective.gamma.assign(tf.cast(gamma, tf.float32))
    return objective.model_fn, objective.loss_fn


def _fgsm_once(model, x, y, spec: AttackSpec, gamma: tf.Tensor, targeted: bool) -> tf.Tensor:
    from cleverhans.tf2.attacks.fast_gradient_method import fast_gradient_method

    model_fn, loss_fn = _objective(model, gamma, targeted)
    return fast_gradient_method(model_fn, x, _unit(spec.eps), spec.norm, loss_fn=loss_fn, clip_min=0.0, clip_max=1.0,
                                y=y)


def _pgd_once(model, x, y, spec: AttackSpec, gamma: tf.Tensor, targeted: bool) -> tf.Tensor:
    model_fn, loss_fn = _objective(model, gamma, targeted)
    eps = _unit(spec.eps)
    start = _start_point(x, spec.norm, eps, spec.random_start)
    return _pgd_loop(model_fn, x, y, eps, _unit(spec.step_size), spec.steps, spec.norm, start, loss_fn=loss_fn)[0]


def _mim_loop(model_fn: Callable, loss_fn: LossFn, x: tf.Tensor, y: tf.Tensor, eps: float, step: float, steps: int,
              norm: float, decay: float) -> tf.Tensor:
    """CleverHans 4's momentum_iterative_method loop (untargeted, clipped to [0, 1]) with ``loss_fn``."""
    from cleverhans.tf2.utils import clip_eta, compute_gradient, optimize_linear

    momentum = tf.zeros_like(x)
    adv_x = x
    axes = list(range(1, len(x.shape)))
    for _ in range(steps):
        grad = compute_gradient(model_fn, loss_fn, adv_x, y, False)
        grad = grad / tf.math.maximum(tf.cast(1e-12, grad.dtype), tf.math.reduce_mean(tf.math.abs(grad), axes,
                                                                                      keepdims=True))
        momentum = decay * momentum + grad
        adv_x = adv_x + optimize_linear(momentum, step, norm)
        adv_x = tf.clip_by_value(x + clip_eta(adv_x - x, norm, eps), 0.0, 1.0)
    return adv_x


def _mim_once(model, x, y, spec: AttackSpec, gamma: tf.Tensor, targeted: bool) -> tf.Tensor:
    model_fn, loss_fn = _objective(model, gamma, targeted)
    return _mim_loop(model_fn, loss_fn, x, y, _unit(spec.eps), _unit(spec.step_size), spec.steps, spec.norm, spec.decay)


class _ShiftedLogits:
    """The model's logits with gamma * l_pass added to the logit of each image's class ``y`` (C&W's
    "+ gamma * l_pass" inside its closed objective; see the module docstring); for a target class
    ``y`` (targeted), subtracted from the target's logit, which C&W's targeted hinge maximises."""

    def __init__(self, model, y: tf.Tensor, gamma: tf.Tensor, targeted: bool = False) -> None:
        self.model, self.y = model, y
        self.gamma = -gamma if targeted else gamma
        self.detector = has_detector(model)

    def __call__(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        if not self.detector:
            return self.model(x, training=False)
        logits, extra = self.model.logits_and_pass_loss(x)
        shift = self.gamma * extra
        return logits + tf.one_hot(self.y, tf.shape(logits)[1], dtype=logits.dtype) * shift[:, None]


def _cw_once(model, x, y, spec: AttackSpec, gamma: tf.Tensor, targeted: bool) -> tf.Tensor:
    plain = AttackSpec("cw_l2", spec.eps, steps=spec.steps, learning_rate=spec.learning_rate, confidence=spec.confidence,
                 initial_const=spec.initial_const, binary_search_steps=spec.binary_search_steps)
    return run_cw_l2(_ShiftedLogits(model, y, gamma, targeted), x, y, plain, targeted=targeted)


def succeeded(model, x_adv: tf.Tensor, y: np.ndarray, targeted: bool) -> np.ndarray:
    """V's success per image: misclassified (or the target reached) and, for a model with a detector, C1 and C2."""
    predicted = np.argmax(model(x_adv, training=False).numpy(), axis=1)
    hit = predicted == y if targeted else predicted != y
    return hit & model.bypasses(x_adv) if has_detector(model) else hit


def gamma_search(model, x: tf.Tensor, y: tf.Tensor, spec: AttackSpec, once: Callable,
                 targeted: bool = False) -> tf.Tensor:
    """``once`` (one run at per-image gamma) under the outer binary search over gamma (module docstring)."""
    labels = np.asarray(y)
    gamma = np.full(len(labels), float(spec.gamma))
    low, high = np.zeros(len(labels)), np.full(len(labels), np.inf)
    clean = x.numpy()
    best, best_distance = None, np.full(len(labels), np.inf)
    for _ in range(max(1, int(spec.gamma_search_steps))):
        x_adv = once(model, x, y, spec, tf.constant(gamma, tf.float32), targeted)
        adversarial = np.asarray(x_adv)
        if best is None:
            best = adversarial.copy()
        success = succeeded(model, x_adv, labels, targeted)
        distance = np.sqrt(np.sum(np.square(adversarial - clean).reshape(len(labels), -1), axis=1))
        better = success & (distance < best_distance)
        best[better], best_distance[better] = adversarial[better], distance[better]
        never = ~np.isfinite(best_distance)
        best[never] = adversarial[never]
        high = np.where(success, gamma, high)
        low = np.where(success, low, gamma)
        gamma = np.where(np.isfinite(high), (low + high) / 2, np.where(gamma > 0, gamma * 10, 1.0))
    return tf.constant(best)


def _runner(once: Callable) -> Callable[[object, tf.Tensor, tf.Tensor, AttackSpec], tf.Tensor]:
    def run(model, x: tf.Tensor, y: tf.Tensor, spec: AttackSpec) -> tf.Tensor:
        return gamma_search(model, x, y, spec, once)

    run.__doc__ = f"The registry runner (untargeted) of {once.__name__.strip('_').replace('_once', '')}_W."
    return run


run_fgsm_w = _runner(_fgsm_once)
run_pgd_w = _runner(_pgd_once)
run_mim_w = _runner(_mim_once)
run_cw_l2_w = _runner(_cw_once)

_ONCE = {"fgsm_w": _fgsm_once, "pgd_w": _pgd_once, "mim_w": _mim_once, "cw_l2_w": _cw_once}


def attack_toward(model, images: np.ndarray, targets: np.ndarray, spec: AttackSpec, batch_size: int = 128,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Targeted _W attack (the min-max training's inner max): every image pushed toward its target class
    while evading the detector; returns the projected images and V's success per image."""
    spec = spec.resolved()
    if spec.name not in _ONCE:
        raise ValueError(f"attack_toward runs the adaptive attacks {', '.join(_ONCE)}; got {spec.name}")
    once = _ONCE[spec.name]
    adversarial = perturb_batches(model, images, targets, spec, batch_size, seed,
                                  perturb_fn=lambda m, x, t, s: gamma_search(m, x, t, s, once, targeted=True))
    success = np.zeros(len(images), dtype=bool)
    for start in range(0, len(images), batch_size):
        batch = slice(start, start + batch_size)
        success[batch] = succeeded(model, tf.constant(adversarial[batch]), targets[batch], True)
    return adversarial, success
