"""Untargeted evasion attacks on model M, one spec for all, run through CleverHans 4 and Foolbox 3
(and our code of Foolbox 1.8's semantics for ``foolbox1`` specs).

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
the identical loop (CleverHans fast_gradient_method steps, clip_eta projection, [0, 1] clipping)
without that assert: ``_pgd_loop``, which also serves AdverTorch's random start and Foolbox 1's runs.
MIM has no such assert and keeps the step as given.

``foolbox1`` specs run our code with Foolbox 1.8's semantics (the released foolbox-1.8.0 source; line
numbers below are of its files): ``_fgsm_foolbox1``, ``_pgd_foolbox1`` (both through
``_foolbox1_search``: Foolbox 1's ``Adversarial`` keeps each image's adversarial of least mean squared
perturbation over every run) and ``_deepfool_foolbox1``. Where Foolbox 1 finds no adversarial it
returns None; such images stay clean here.

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


def _fooled(model: tf.keras.Model, x: tf.Tensor, y: tf.Tensor) -> np.ndarray:
    """Which images M misclassifies (bool [N])."""
    return np.argmax(compiled_logits(model)(x).numpy(), axis=1) != np.asarray(y)


_FB1_TRIES = 20  # iterative_projected_gradient.py L61: k = 20 growing tries, then k bisections
_FB1_GROWTH = 1.5  # L88
_FB1_GRID = 1000  # gradient.py L117: epsilons=1000 between 0 and max_epsilon
_FB1_REPEAT = 20  # gradient.py L40, L46: a first hit among the first 20 repeats with 20 smaller eps
_FB1_OVERSHOOT = 1.05  # deepfool.py L161: perturbed + 1.05 * perturbation, on every step


class _BinarySearch:
    """Foolbox 1.8's eps schedule of its iterative attacks (iterative_projected_gradient.py L72-103),
    per image: eps, 1.5 eps, 1.5^2 eps, ... until a run fools M (20 tries; none: give up), then 20
    bisections of [0, the eps that fooled it]."""

    def __init__(self, eps: float, active: np.ndarray) -> None:
        self.active = active.copy()
        self.eps = np.full(len(active), float(eps))
        self._good = np.full(len(active), np.nan)  # NaN: still growing
        self._bad = np.zeros(len(active))
        self._tries = np.zeros(len(active), dtype=int)

    def update(self, fooled: np.ndarray) -> None:
        """Move every active image to its next eps after a try that ``fooled`` M or not."""
        for n in np.flatnonzero(self.active):
            self._tries[n] += 1
            if np.isnan(self._good[n]) and not fooled[n]:
                self.eps[n] *= _FB1_GROWTH
                self.active[n] = self._tries[n] < _FB1_TRIES
                continue
            if np.isnan(self._good[n]):
                self._tries[n] = 0
            if fooled[n]:
                self._good[n] = self.eps[n]
            else:
                self._bad[n] = self.eps[n]
            self.active[n] = self._tries[n] < _FB1_TRIES
            self.eps[n] = (self._good[n] + self._bad[n]) / 2


class _GridSearch:
    """Foolbox 1.8's FGSM eps schedule (gradient.py L27-46), per image: 1000 evenly spaced eps in
    (0, max_eps]; a first hit past the 20th ends it, else (a hit among the first 20, or none) 20 eps in
    (0, that eps] follow, until the first hit."""

    def __init__(self, max_eps: float, active: np.ndarray) -> None:
        self.active = active.copy()
        self._grids = [np.linspace(0, max_eps, num=_FB1_GRID + 1)[1:]] * len(active)
        self._index = np.zeros(len(active), dtype=int)
        self._repeated = np.zeros(len(active), dtype=bool)

    @property
    def eps(self) -> np.ndarray:
        """The eps each image tries now."""
        return np.array([grid[i] for grid, i in zip(self._grids, self._index)])

    def update(self, fooled: np.ndarray) -> None:
        """Move every active image to its next eps after a try that ``fooled`` M or not."""
        for n in np.flatnonzero(self.active):
            grid, i = self._grids[n], self._index[n]
            if self._repeated[n]:
                self.active[n] = not fooled[n] and i + 1 < len(grid)
            elif fooled[n] and i >= _FB1_REPEAT:
                self.active[n] = False
            elif fooled[n] or i + 1 == len(grid):
                self._grids[n] = np.linspace(0, grid[i], num=_FB1_REPEAT + 1)[1:]
                self._index[n], self._repeated[n] = 0, True
                continue
            if self.active[n]:
                self._index[n] += 1


def _foolbox1_search(model: tf.keras.Model, x: tf.Tensor, y: tf.Tensor,
                     search: Callable[[np.ndarray], _BinarySearch | _GridSearch],
                     trial: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]) -> tf.Tensor:
    """Run ``trial`` (eps per image, active images -> images, which fooled M) at the eps the schedule
    ``search(images to attack)`` gives (``eps``, ``active``, ``update``) until it is done, and keep each
    image's adversarial of least mean squared perturbation, as Foolbox 1.8's ``Adversarial`` does
    (adversarial.py L191-210: only a strictly smaller one replaces it). An image M already misclassifies
    is its own adversarial at distance 0 and is not attacked (L85-92, base.py L128); one never fooled
    stays clean."""
    clean = x.numpy()
    best = clean.copy()
    fooled_clean = _fooled(model, x, y)
    best_mse = np.where(fooled_clean, 0.0, np.inf)
    schedule = search(~fooled_clean)
    while schedule.active.any():
        active = schedule.active.copy()
        adversarial, fooled = trial(schedule.eps.copy(), active)
        fooled &= active
        mse = np.mean(np.square(adversarial - clean), axis=(1, 2, 3))
        better = fooled & (mse < best_mse)
        best[better], best_mse[better] = adversarial[better], mse[better]
        schedule.update(fooled)
    return tf.constant(best)


def _per_image(values: np.ndarray) -> tf.Tensor:
    """Per-image scalars as a float32 [N, 1, 1, 1] tensor."""
    return tf.constant(values.reshape(-1, 1, 1, 1), dtype=tf.float32)


def run_fgsm(model: tf.keras.Model, x: tf.Tensor, y: tf.Tensor, spec: AttackSpec) -> tf.Tensor:
    """One signed-gradient step of eps (CleverHans fast_gradient_method); with ``foolbox1`` the
    smallest of Foolbox 1's eps up to eps that fools M (``_fgsm_foolbox1``)."""
    if spec.foolbox1:
        return _fgsm_foolbox1(model, x, y, _unit(spec.eps))
    from cleverhans.tf2.attacks.fast_gradient_method import fast_gradient_method

    return fast_gradient_method(model, x, _unit(spec.eps), spec.norm, clip_min=0.0, clip_max=1.0, y=y)


def _fgsm_foolbox1(model: tf.keras.Model, x: tf.Tensor, y: tf.Tensor, max_eps: float) -> tf.Tensor:
    """Foolbox 1.8's GradientSignAttack(epsilons=1000, max_epsilon=max_eps): the sign of the
    cross-entropy gradient at x, taken once (gradient.py L25, L150-154), scaled by each eps
    ``_GridSearch`` schedules and clipped to [0, 1] (L35-36)."""
    from cleverhans.tf2.utils import compute_gradient

    direction = tf.sign(compute_gradient(model, tf.nn.sparse_softmax_cross_entropy_with_logits, x, y, False))

    def trial(eps: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        perturbed = tf.clip_by_value(x + _per_image(eps) * direction, 0.0, 1.0)
        return perturbed.numpy(), _fooled(model, perturbed, y)

    return _foolbox1_search(model, x, y, lambda active: _GridSearch(max_eps, active), trial)


def _start_point(x: tf.Tensor, norm: float, eps: float | tf.Tensor, random_start: bool | str,
                 foolbox1: bool = False) -> tf.Tensor:
    """PGD's first iterate: x, or a random start drawn as ``AttackSpec.random_start`` says.

    CleverHans (True): ``random_lp_vector`` (uniform in the Linf box, uniform in the L2 ball), then
    clipped to [0, 1]. Foolbox 1.8 (True with ``foolbox1``; iterative_projected_gradient.py L112-119):
    uniform in the Linf box, projected into the ball, not clipped to [0, 1]. AdverTorch 0.2
    (attacks/utils.py ``rand_init_delta``): for L2 a uniform image in [0, 1] minus x, scaled to norm
    <= eps (``clamp_by_pnorm``), then clipped to the image bounds; for Linf CleverHans' draw (AdverTorch's
    uniform box, clipped to the image, has the same distribution)."""
    from cleverhans.tf2.utils import clip_eta, random_lp_vector

    if not random_start:
        return x
    if random_start == "advertorch" and norm == 2:
        delta = tf.random.uniform(tf.shape(x), 0.0, 1.0, dtype=x.dtype) - x
        length = tf.sqrt(tf.reduce_sum(tf.square(delta), axis=[1, 2, 3], keepdims=True))
        delta = delta * tf.minimum(eps / length, 1.0)
        return tf.clip_by_value(x + delta, 0.0, 1.0)
    if foolbox1 and random_start is True:
        return x + clip_eta(tf.random.uniform(tf.shape(x), -1.0, 1.0, dtype=x.dtype) * eps, norm, eps)
    eta = random_lp_vector(tf.shape(x), norm, tf.cast(eps, x.dtype), dtype=x.dtype)
    return tf.clip_by_value(x + clip_eta(eta, norm, eps), 0.0, 1.0)


def _pgd_loop(model: tf.keras.Model, x: tf.Tensor, y: tf.Tensor, eps: float | tf.Tensor, step: float | tf.Tensor,
              steps: int, norm: float, start: tf.Tensor,
              frozen: np.ndarray | None = None, mask: tf.Tensor | Callable[[tf.Tensor], tf.Tensor] | None = None,
              region: tf.Tensor | None = None, loss_fn: Callable | None = None) -> tuple[tf.Tensor, np.ndarray | None]:
    """CleverHans' projected_gradient_descent loop from ``start``, minus its ``eps_iter <= eps`` assert:
    fast_gradient_method steps (clipped to [0, 1]), clip_eta onto the ball, [0, 1] clipping. eps and
    step are floats or per-image [N, 1, 1, 1] tensors ([0, 1] units).

    ``frozen`` (a bool [N] of images to leave alone) turns on Foolbox 1's ``return_early``
    (iterative_projected_gradient.py L125-153): every other image stops at its first iterate M
    misclassifies, the loop at the first step where all have; returns which images were fooled.
    (Foolbox 1 steps, projects, then clips; for Linf these clamps compose to the same point.)

    ``mask`` (a 0/1 float [N, H, W, 1], or a function of the iterate returning one; Linf only) is the
    foreground defense's (``unmask.foreground``): M classifies ``mask * iterate``, so each step is M's
    sign-gradient step at that point, taken on the mask's pixels only (d(mask * x)/dx = mask; a mask
    recomputed from the iterate is held constant in the backward pass: BPDA). ``region`` (0/1, or None:
    anywhere) is where the perturbation may be non-zero. An all-ones mask and region give the plain loop's
    iterates bit for bit.
    ``loss_fn`` (labels, logits) -> loss replaces CleverHans' cross-entropy (the adaptive attacks of
    ``unmask.vae_attacks`` add a detector term through it)."""
    from cleverhans.tf2.attacks.fast_gradient_method import fast_gradient_method
    from cleverhans.tf2.utils import clip_eta

    adv_x = start
    fooled = None if frozen is None else np.zeros(len(frozen), dtype=bool)
    for _ in range(steps):
        if mask is None:
            stepped = fast_gradient_method(model, adv_x, step, norm, loss_fn=loss_fn, clip_min=0.0, clip_max=1.0, y=y)
        else:
            seen = mask(adv_x) if callable(mask) else mask
            stepped = fast_gradient_method(model, adv_x * seen, step, norm, loss_fn=loss_fn, clip_min=0.0, clip_max=1.0,
                                           y=y)
            stepped = tf.where(seen > 0, stepped, adv_x)
        delta = stepped - x if region is None else (stepped - x) * region
        stepped = tf.clip_by_value(x + clip_eta(delta, norm, eps), 0.0, 1.0)
        if frozen is None:
            adv_x = stepped
            continue
        adv_x = tf.where((frozen | fooled)[:, None, None, None], adv_x, stepped)
        fooled |= ~frozen & _fooled(model, adv_x, y)
        if np.all(frozen | fooled):
            break
    return adv_x, fooled


def _pgd_foolbox1(model: tf.keras.Model, x: tf.Tensor, y: tf.Tensor, spec: AttackSpec) -> tf.Tensor:
    """Foolbox 1.8's RandomStartProjectedGradientDescentAttack with binary_search (its default): runs of
    ``spec.steps`` steps at the eps ``_BinarySearch`` schedules, the step kept at step/eps of the spec
    (L75-81), each from a fresh random start and stopping at its first adversarial."""
    factor = spec.step_size / spec.eps

    def trial(eps: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        per_image = _per_image(eps)
        start = _start_point(x, spec.norm, per_image, spec.random_start, foolbox1=True)
        adversarial, fooled = _pgd_loop(model, x, y, per_image, _per_image(factor * eps), spec.steps, spec.norm,
                                        start, frozen=~active)
        return adversarial.numpy(), fooled

    return _foolbox1_search(model, x, y, lambda active: _BinarySearch(_unit(spec.eps), active), trial)


def run_pgd(model: tf.keras.Model, x: tf.Tensor, y: tf.Tensor, spec: AttackSpec) -> tf.Tensor:
    """Projected gradient descent in the spec's norm: CleverHans; our loop of it for steps > eps and
    AdverTorch's start; Foolbox 1.8's eps search with ``foolbox1``."""
    if spec.foolbox1:
        return _pgd_foolbox1(model, x, y, spec)
    eps, step = _unit(spec.eps), _unit(spec.step_size)
    if step > eps or spec.random_start == "advertorch":
        start = _start_point(x, spec.norm, eps, spec.random_start)
        return _pgd_loop(model, x, y, eps, step, spec.steps, spec.norm, start)[0]
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
    """Foolbox's L2 DeepFool (logits loss, overshoot 0.02); eps None = its minimal perturbation.
    ``foolbox1``: Foolbox 1.8's (``_deepfool_foolbox1``)."""
    if spec.foolbox1:
        return _deepfool_foolbox1(model, x, y, spec.steps)
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


@tf.function(reduce_retracing=True)
def _logits_and_gaps(model: tf.keras.Model, x: tf.Tensor, y: tf.Tensor,
                     classes: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """M's logits at x and, for each candidate class c (``classes`` [N, C]), the gradient of
    logit_y - logit_c ([N, C, H, W, 3]): Foolbox 1's difference of cross-entropy gradients
    grad CE_c - grad CE_y, whose log-sum-exp terms cancel."""
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        logits = model(x, training=False)
        true = tf.gather(logits, y, batch_dims=1)
        gaps = [true - tf.gather(logits, classes[:, r], batch_dims=1) for r in range(classes.shape[1])]
    return logits, tf.stack([tape.gradient(gap, x) for gap in gaps], axis=1)


def _deepfool_foolbox1(model: tf.keras.Model, x: tf.Tensor, y: tf.Tensor, steps: int) -> tf.Tensor:
    """Foolbox 1.8's DeepFoolL2Attack(steps, subsample=10) (deepfool.py L86-164), per image: the
    candidates are the top 10 classes of the clean logits; each step takes, among those still below
    the true class (L97-101), the one with the nearest linearised boundary (L131-144), steps 1.05 times
    onto it from the current point and clips to [0, 1] (L150-162). It stops at the first adversarial
    iterate; one not fooled after ``steps`` steps stays clean."""
    current, labels = x.numpy(), np.asarray(y)
    clean_logits = compiled_logits(model)(x).numpy()
    classes = np.argsort(clean_logits, axis=1)[:, ::-1][:, 1:DEEPFOOL_CANDIDATES]
    done = np.argmax(clean_logits, axis=1) != labels
    found = np.zeros(len(labels), dtype=bool)
    rows = np.arange(len(labels))
    for _ in range(steps):
        logits, gradients = (t.numpy() for t in _logits_and_gaps(model, tf.constant(current), y, tf.constant(classes)))
        fooled = ~done & (np.argmax(logits, axis=1) != labels)
        found |= fooled
        done |= fooled
        if done.all():
            break
        true = logits[rows, labels][:, None]
        gaps = np.take_along_axis(logits, classes, axis=1) - true  # Foolbox's l - loss: -CE_c + CE_y
        norms = np.sqrt(np.sum(np.square(gradients), axis=(2, 3, 4)))
        distances = np.where(np.take_along_axis(logits, classes, axis=1) < true, np.abs(gaps) / (norms + 1e-8), np.inf)
        nearest = np.argmin(distances, axis=1)
        scale = np.abs(gaps[rows, nearest]) / (norms[rows, nearest] + 1e-8) ** 2
        perturbation = scale[:, None, None, None] * -gradients[rows, nearest]
        stepped = np.clip(current + _FB1_OVERSHOOT * perturbation, 0.0, 1.0)
        current = np.where(done[:, None, None, None], current, stepped).astype(np.float32)
    else:
        found |= ~done & _fooled(model, tf.constant(current), y)
    return tf.constant(np.where(found[:, None, None, None], current, x.numpy()))


def run_cw_l2(model: tf.keras.Model, x: tf.Tensor, y: tf.Tensor, spec: AttackSpec, targeted: bool = False) -> tf.Tensor:
    """Foolbox's Carlini-Wagner L2; eps None = the smallest adversarial it finds, an eps clips onto
    the L2 ball. Foolbox returns an all-zero image where it found none (its initial ``best_advs``);
    such images stay clean here, so a black image never counts as C&W's result. ``targeted``: y are
    target classes (Foolbox's TargetedMisclassification; the VAE detector's training attack)."""
    import foolbox as fb

    cw = fb.attacks.L2CarliniWagnerAttack(
        binary_search_steps=int(spec.binary_search_steps), steps=int(spec.steps), stepsize=spec.learning_rate,
        confidence=spec.confidence, initial_const=spec.initial_const,
    )
    criterion = fb.criteria.TargetedMisclassification(y) if targeted else y
    raw, clipped, _ = cw(_foolbox_model(model), x, criterion, epsilons=_unit(spec.eps))
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


def craft(images: np.ndarray, labels: np.ndarray, spec: AttackSpec, batch_size: int, seed: int,
          perturb_batch: Callable[[tf.Tensor, tf.Tensor, slice], tf.Tensor]) -> np.ndarray:
    """The batch loop of every attack: ``perturb_batch(x, y, rows of the batch)`` per batch, TF's generator
    re-seeded per batch from ``seed`` (the random start), each result projected (``project``) onto the
    spec's budget and [0, 1]. ``images`` and ``labels`` are already validated."""
    adversarial = np.empty_like(images)
    for start in range(0, len(images), batch_size):
        rows = slice(start, start + batch_size)
        x = images[rows]
        tf.random.set_seed(seed * 1_000_003 + start)
        x_adv = perturb_batch(tf.constant(x), tf.constant(labels[rows]), rows)
        adversarial[start : start + len(x)] = project(x, np.asarray(x_adv), spec.norm, _unit(spec.budget))
    return adversarial


def perturb_batches(model: tf.keras.Model, images: np.ndarray, labels: np.ndarray, spec: AttackSpec, batch_size: int,
                    seed: int, perturb_fn: Runner = perturb) -> np.ndarray:
    """``perturb_fn`` (default: the spec's runner) on ``model`` over checked images, batched as ``craft``."""
    return craft(images, labels, spec, batch_size, seed, lambda x, y, rows: perturb_fn(model, x, y, spec))


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
    adversarial = perturb_batches(model, images, labels, spec, batch_size, seed)
    predictions_adv = predict_classes(model, adversarial, batch_size)
    return AttackResult(
        images_adv=adversarial,
        success=predictions_adv != labels,
        predictions_adv=predictions_adv,
        predictions_clean=predict_classes(model, images, batch_size) if predict_clean else None,
        spec=spec,
    )
