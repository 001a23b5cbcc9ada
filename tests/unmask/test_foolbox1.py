"""Our Foolbox 1.8 semantics (``foolbox1`` specs) against a reading of the released foolbox-1.8.0 source.

The references below restate, image by image and in float64, what Foolbox 1.8 does (file and line
numbers are that release's). They run on a linear model, whose cross-entropy gradient W (softmax(z) -
onehot) is known in closed form, so every step of every run is computed by hand here; our runners
attack the same model as a Keras layer."""
from __future__ import annotations

import math
from typing import Callable

import keras
import numpy as np
import pytest
import tensorflow as tf

from unmask import attacks
from unmask.attack_specs import AttackSpec
from unmask.attacks import attack

SHAPE = (2, 2, 3)
EPS = 8 / 255


class Linear:
    """logits = flatten(x) @ W + b, with its cross-entropy gradient in closed form."""

    def __init__(self, weights: np.ndarray, bias: np.ndarray) -> None:
        self.weights, self.bias = weights, bias

    def logits(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(-1) @ self.weights + self.bias

    def predict(self, x: np.ndarray) -> int:
        return int(np.argmax(self.logits(x)))

    def crossentropy(self, x: np.ndarray, label: int) -> float:
        z = self.logits(x)
        return float(np.log(np.sum(np.exp(z - z.max()))) + z.max() - z[label])

    def ce_gradient(self, x: np.ndarray, label: int) -> np.ndarray:
        z = self.logits(x)
        p = np.exp(z - z.max()) / np.sum(np.exp(z - z.max()))
        return (self.weights @ (p - np.eye(len(z))[label])).reshape(x.shape)

    def margin(self, x: np.ndarray, label: int) -> float:
        """logit of the label minus the largest other logit (< 0: misclassified)."""
        z = self.logits(x)
        return float(z[label] - np.max(np.delete(z, label)))

    def keras_model(self) -> keras.Model:
        model = keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(), keras.layers.Dense(len(self.bias))])
        model.layers[-1].set_weights([self.weights.astype(np.float32), self.bias.astype(np.float32)])
        return model


def reference_binary_search(eps: float, fools: Callable[[float], bool]) -> list[float]:
    """iterative_projected_gradient.py L72-103: eps, 1.5 eps, ... (20 tries at most) until a run fools
    the model, then 20 bisections of [0, that eps]. Returns the eps tried, in order."""
    tried: list[float] = []

    def attempt(value: float) -> bool:
        tried.append(value)
        return fools(value)

    failures = 0
    while not attempt(eps):
        failures += 1
        if failures == 20:
            return tried
        eps = eps * 1.5
    good, bad = eps, 0.0
    for _ in range(20):
        eps = (good + bad) / 2
        if attempt(eps):
            good = eps
        else:
            bad = eps
    return tried


def reference_grid_search(max_eps: float, fools: Callable[[float], bool]) -> list[float]:
    """gradient.py L27-46 with epsilons=1000: the grid in (0, max_eps] in order up to the first hit;
    a hit past the 20th ends it, otherwise 20 eps up to the hit (or the last eps) follow, again up to
    the first hit. Returns the eps tried, in order."""
    tried: list[float] = []
    grid = np.linspace(0, max_eps, num=1001)[1:]
    for repeat in (False, True):
        first = None
        for i, value in enumerate(grid):
            tried.append(value)
            if fools(value):
                first = i
                break
        if repeat or (first is not None and first >= 20):
            return tried
        grid = np.linspace(0, grid[len(grid) - 1 if first is None else first], num=21)[1:]
    return tried


class Best:
    """Foolbox 1.8's Adversarial (adversarial.py L85-92, L191-210): the clean image if the model already
    misclassifies it (distance 0), else the adversarial of strictly least mean squared distance."""

    def __init__(self, lin: Linear, x0: np.ndarray, label: int) -> None:
        self.lin, self.x0, self.label = lin, x0, label
        self.image = x0 if lin.predict(x0) != label else None
        self.mse = 0.0 if self.image is not None else math.inf
        self.margins: list[float] = []

    def check(self, x: np.ndarray) -> bool:
        self.margins.append(self.lin.margin(x, self.label))
        fooled = self.lin.predict(x) != self.label
        mse = float(np.mean(np.square(x - self.x0)))
        if fooled and mse < self.mse:
            self.image, self.mse = x, mse
        return fooled

    def result(self) -> np.ndarray:
        """Foolbox returns None where it found nothing; our runners keep the clean image."""
        return self.x0 if self.image is None else self.image


def reference_fgsm(lin: Linear, x0: np.ndarray, label: int, max_eps: float) -> tuple[np.ndarray, list[float], Best]:
    """GradientSignAttack(epsilons=1000, max_epsilon) (gradient.py L18-46, L150-154); base.py L128: an
    image misclassified already is not attacked."""
    best = Best(lin, x0, label)
    if best.image is not None:
        return x0, [], best
    direction = np.sign(lin.ce_gradient(x0, label))
    tried = reference_grid_search(max_eps, lambda eps: best.check(np.clip(x0 + direction * eps, 0, 1)))
    return best.result(), tried, best


def reference_pgd_run(lin: Linear, x0: np.ndarray, label: int, epsilon: float, stepsize: float, iterations: int,
                      fooled: Callable[[np.ndarray], bool]) -> np.ndarray | None:
    """One run without random start (iterative_projected_gradient.py L105-154, return_early): steps
    stepsize * sign(gradient), projects onto the epsilon box around x0, clips to [0, 1]; returns the
    first iterate that ``fooled`` the model (None: none did)."""
    x = x0
    for _ in range(iterations):
        x = x + stepsize * np.sign(lin.ce_gradient(x, label))
        x = np.clip(x0 + np.clip(x - x0, -epsilon, epsilon), 0, 1)
        if fooled(x):
            return x
    return None


def reference_pgd(lin: Linear, x0: np.ndarray, label: int, eps: float, stepsize: float,
                  iterations: int) -> tuple[np.ndarray, list[float]]:
    """RandomStartProjectedGradientDescentAttack(binary_search=True, random_start=False): runs at the
    eps of the binary search, the step kept at stepsize/eps (L75-81), the least perturbed adversarial."""
    best = Best(lin, x0, label)
    if best.image is not None:
        return x0, []
    factor = stepsize / eps
    tried = reference_binary_search(eps, lambda epsilon: reference_pgd_run(
        lin, x0, label, epsilon, factor * epsilon, iterations, best.check) is not None)
    return best.result(), tried


def reference_deepfool(lin: Linear, x0: np.ndarray, label: int, steps: int) -> tuple[np.ndarray, int, float]:
    """DeepFoolL2Attack(steps, subsample=10) (deepfool.py L86-164), with Foolbox's cross-entropy losses
    and gradients. Returns the result, the steps it took, and how near any decision came to a tie (the
    least |margin| seen and least relative gap between the two nearest boundaries)."""
    z = lin.logits(x0)
    if np.argmax(z) != label:
        return x0, 0, math.inf
    candidates = np.argsort(z)[::-1][:10]
    x, closest = x0, math.inf
    for step in range(steps):
        z = lin.logits(x)
        closest = min(closest, abs(lin.margin(x, label)))
        if np.argmax(z) != label:
            return x, step, closest
        loss, gradient = -lin.crossentropy(x, label), lin.ce_gradient(x, label)
        options = [(-lin.crossentropy(x, k) - loss, lin.ce_gradient(x, k) - gradient)
                   for k in candidates if z[k] < z[label]]
        distances = sorted(abs(gap) / (np.linalg.norm(direction) + 1e-8) for gap, direction in options)
        if len(distances) > 1:
            closest = min(closest, (distances[1] - distances[0]) / distances[1])
        gap, direction = min(options, key=lambda o: abs(o[0]) / (np.linalg.norm(o[1]) + 1e-8))
        x = np.clip(x + 1.05 * (abs(gap) / (np.linalg.norm(direction) + 1e-8) ** 2 * -direction), 0, 1)
    return (x, steps, closest) if lin.predict(x) != label else (x0, steps, closest)


def _images(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random images with a third of their pixels saturated at 0 or 1, so clipping shapes the steps."""
    x = rng.uniform(0.05, 0.95, size=(n, *SHAPE))
    saturated = rng.uniform(size=x.shape) < 1 / 3
    return np.where(saturated, rng.integers(0, 2, size=x.shape), x)


@pytest.fixture(scope="module")
def two_classes():
    """A 2-class linear model and images picked by how far FGSM must go at max eps 8/255: a hit among
    the first 20 grid eps, a hit past them, none, and an image the model already misclassifies."""
    rng = np.random.default_rng(7)
    lin = Linear(rng.choice([-1, 1], size=(12, 2)) * rng.uniform(0.5, 2.0, size=(12, 2)), np.zeros(2))
    pool = _images(rng, 4000)
    labels = np.array([lin.predict(x) for x in pool])
    margins = np.array([lin.margin(x, y) for x, y in zip(pool, labels)])
    reach = np.abs(lin.weights[:, 0] - lin.weights[:, 1]).sum() * EPS  # the margin FGSM 8/255 removes unclipped
    picks = [np.flatnonzero((margins > low * reach) & (margins < high * reach))[0]
             for low, high in ((0.001, 0.01), (0.3, 0.5), (0.6, 0.9), (1.5, 3.0), (6.0, 9.0))]
    x = pool[picks]
    y = labels[picks]
    x = np.concatenate([x, pool[:1]])
    y = np.concatenate([y, [1 - labels[0]]])  # misclassified
    return lin, x.astype(np.float32), y


def _record(monkeypatch, name: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """Record (eps, active) of every try of our schedule class ``name`` while a runner uses it."""
    log: list[tuple[np.ndarray, np.ndarray]] = []

    class Recording(getattr(attacks, name)):
        def update(self, fooled: np.ndarray) -> None:
            log.append((self.eps.copy(), self.active.copy()))
            super().update(fooled)

    monkeypatch.setattr(attacks, name, Recording)
    return log


def _tried(log: list[tuple[np.ndarray, np.ndarray]], image: int) -> list[float]:
    return [eps[image] for eps, active in log if active[image]]


def test_fgsm_matches_foolbox1_eps_grid_image_by_image(two_classes, monkeypatch):
    lin, x, y = two_classes
    log = _record(monkeypatch, "_GridSearch")
    ours = attack(lin.keras_model(), x, y, AttackSpec("fgsm", 8, foolbox1=True), batch_size=len(x)).images_adv
    lengths = []
    for n in range(len(x)):
        expected, tried, best = reference_fgsm(lin, x[n].astype(np.float64), int(y[n]), EPS)
        assert min(map(abs, best.margins), default=1.0) > 1e-5  # no decision float32 could read otherwise
        np.testing.assert_array_equal(_tried(log, n), tried)
        np.testing.assert_allclose(ours[n], expected, atol=1e-6)
        lengths.append(len(tried))
    # the cases: a first hit among the first 20 eps (then 20 finer ones), hits past them, no hit within
    # 8/255 (1000 + 20 tries, the image stays clean), an image misclassified already (not attacked)
    assert lengths[0] < 20 + 20 and 20 < lengths[1] <= 1000 and lengths[-3:] == [1020, 1020, 0]
    np.testing.assert_array_equal(ours[-3:], x[-3:])
    assert np.abs(ours[1] - x[1]).max() < EPS - 1e-3  # the smallest eps that fools it, not eps


@pytest.mark.parametrize("iterations", [1, 40])
def test_pgd_matches_foolbox1_binary_search_image_by_image(two_classes, monkeypatch, iterations):
    lin, x, y = two_classes
    log = _record(monkeypatch, "_BinarySearch")
    spec = AttackSpec("pgd_linf", 8, steps=iterations, step_size=0.01 * 255, random_start=False, foolbox1=True)
    ours = attack(lin.keras_model(), x, y, spec, batch_size=len(x)).images_adv
    grew = 0
    for n in range(len(x)):
        expected, tried = reference_pgd(lin, x[n].astype(np.float64), int(y[n]), EPS, 0.01, iterations)
        assert len(_tried(log, n)) == len(tried)
        np.testing.assert_allclose(_tried(log, n), tried, rtol=1e-5)  # the last bisections may read a sign
        np.testing.assert_allclose(ours[n], expected, atol=1e-5)  # of a margin ~1e-7 otherwise in float32
        grew += len(tried) > 21
    assert grew >= 2  # eps 8/255 was too small for some images: the search grew it by 1.5 first
    assert np.abs(ours - x).max() > EPS + 1e-3  # so eps is no budget
    np.testing.assert_array_equal(ours[-1], x[-1])


def test_pgd_run_stops_at_its_first_adversarial_iterate(two_classes):
    """return_early (L149-151): in a box far wider than needed, later iterates would go on to its corner."""
    lin, x, y = two_classes
    x, y = x[:-1], y[:-1]
    ours, fooled = attacks._pgd_loop(lin.keras_model(), tf.constant(x), tf.constant(y), 0.5, 0.004, 40, math.inf,
                                     tf.constant(x), frozen=np.zeros(len(x), dtype=bool))
    for n in range(len(x)):
        expected = reference_pgd_run(lin, x[n].astype(np.float64), int(y[n]), 0.5, 0.004, 40,
                                     lambda image: lin.predict(image) != y[n])
        assert fooled[n] == (expected is not None)
        if fooled[n]:
            np.testing.assert_allclose(ours[n], expected, atol=1e-6)
    assert fooled.sum() >= 3 and np.abs(ours[fooled] - x[fooled]).max() < 0.5 - 0.1


@pytest.fixture(scope="module")
def three_classes():
    """A 3-class linear model and images DeepFool fools in 1, 2, 3 and 4 steps (the image bounds clip
    its steps) or never (its useful pixels saturated), plus one misclassified already: the first such
    images of a seeded pool whose path keeps every decision clear of a tie (> 1e-3; Foolbox 1's clipped
    steps often creep towards the boundary geometrically, and whether they cross it then rests on
    rounding). Checked here, so a change of the pool cannot go unnoticed."""
    rng = np.random.default_rng(2)
    lin = Linear(rng.normal(size=(12, 3)) * 2.0, rng.normal(size=3) * 0.3)
    pool = _images(rng, 3000)
    picks = {1: 0, 2: 264, 3: 889, 4: 192, 100: 528}  # steps -> pool index
    for steps, index in picks.items():
        _, used, closest = reference_deepfool(lin, pool[index], lin.predict(pool[index]), 100)
        assert used == steps and closest > 1e-3
    x = pool[list(picks.values()) + [0]].astype(np.float32)
    y = np.array([lin.predict(image) for image in x])
    y[-1] = (y[-1] + 1) % 3  # misclassified
    return lin, x, y


@pytest.mark.parametrize("steps", [1, 2, 3, 100])
def test_deepfool_matches_foolbox1_step_by_step(three_classes, steps):
    lin, x, y = three_classes
    model = lin.keras_model()
    ours = attack(model, x, y, AttackSpec("deepfool_l2", None, steps=steps, foolbox1=True), batch_size=len(x))
    for n in range(len(x)):
        expected, _, _ = reference_deepfool(lin, x[n].astype(np.float64), int(y[n]), steps)
        np.testing.assert_allclose(ours.images_adv[n], expected, atol=1e-5)
    # fooled within the steps allowed, else clean; the stalled and the misclassified image are left alone
    np.testing.assert_array_equal(ours.success, [True, steps >= 2, steps >= 3, steps >= 4, False, True])
    np.testing.assert_array_equal(ours.images_adv[~ours.success], x[~ours.success])
    np.testing.assert_array_equal(ours.images_adv[-1], x[-1])
    if steps == 100:  # Foolbox 3 accumulates the steps and overshoots the total by 1.02 once: other images
        foolbox3 = attack(model, x, y, AttackSpec("deepfool_l2", None, steps=steps), batch_size=len(x)).images_adv
        assert np.abs(foolbox3 - ours.images_adv)[:4].max(axis=(1, 2, 3)).min() > 1e-3


def _drive(search, fools: list[Callable[[float], bool]]) -> list[list[float]]:
    """The eps our schedule tries for each image when image n is fooled iff fools[n](eps)."""
    tried: list[list[float]] = [[] for _ in fools]
    while search.active.any():
        for n in np.flatnonzero(search.active):
            tried[n].append(search.eps[n])
        search.update(np.array([bool(f(e)) for f, e in zip(fools, search.eps)]))
    return tried


ORACLES = [  # whether a try at eps fools the model: thresholds, never, always, and a non-monotone one
    lambda e: e >= 0.0311,
    lambda e: e >= 0.3,
    lambda e: False,
    lambda e: True,
    lambda e: e >= 1e-4,
    lambda e: int(e * 1e4) % 3 == 0,
]


def test_binary_search_tries_foolbox1s_eps_sequence():
    tried = _drive(attacks._BinarySearch(EPS, np.ones(len(ORACLES), dtype=bool)), ORACLES)
    for n, fools in enumerate(ORACLES):
        assert tried[n] == reference_binary_search(EPS, fools)
    assert [len(t) for t in tried[:4]] == [21, 27, 20, 21]  # 20 bisections after the first hit; 20 growths


def test_grid_search_tries_foolbox1s_eps_sequence():
    tried = _drive(attacks._GridSearch(EPS, np.ones(len(ORACLES), dtype=bool)), ORACLES)
    for n, fools in enumerate(ORACLES):
        np.testing.assert_array_equal(tried[n], reference_grid_search(EPS, fools))
    assert [len(t) for t in tried[:5]] == [992, 1020, 1020, 2, 20]


def test_search_keeps_the_least_perturbed_adversarial_and_leaves_misclassified_images_alone():
    """Adversarial.__new_adversarial (adversarial.py L191-210): a later adversarial replaces the kept one
    only when strictly closer, so the last one found is not necessarily the result."""
    lin = Linear(np.array([[1.0, -1.0]] * 12), np.zeros(2))
    x = np.full((3, *SHAPE), 0.25, np.float32)
    y = np.array([0, 0, 1])  # the last image is misclassified: it is its own adversarial, never attacked
    thresholds = np.array([0.02, 0.05, 0.0])

    def trial(eps: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        assert not active[2]
        # a perturbation that shrinks as eps grows: the bisection's first success is the closest
        return x + (1e-3 / eps).reshape(-1, 1, 1, 1).astype(np.float32), eps >= thresholds

    result = attacks._foolbox1_search(lin.keras_model(), tf.constant(x), tf.constant(y),
                                      lambda active: attacks._BinarySearch(0.01, active), trial).numpy()
    for n in range(2):
        hits = [e for e in reference_binary_search(0.01, lambda e: e >= thresholds[n]) if e >= thresholds[n]]
        assert hits[0] == max(hits) and len(hits) > 1
        np.testing.assert_allclose(result[n], x[n] + 1e-3 / hits[0], rtol=1e-6)
    np.testing.assert_array_equal(result[2], x[2])


def test_foolbox1_random_start_is_uniform_in_the_box_and_not_clipped():
    """iterative_projected_gradient.py L112-119: uniform noise in [-eps, eps], projected (a no-op for
    Linf), not clipped to [0, 1]; the first gradient is taken there (strict=False)."""
    x = np.repeat(np.stack([np.zeros(SHAPE), np.ones(SHAPE), np.full(SHAPE, 0.5)]), 200, axis=0).astype(np.float32)
    eps = np.repeat([0.05, 0.1, 0.2], 200)
    tf.random.set_seed(0)
    start = attacks._start_point(tf.constant(x), math.inf, attacks._per_image(eps), True, foolbox1=True).numpy()
    delta = (start - x).reshape(3, -1)
    bounds = np.array([0.05, 0.1, 0.2])[:, None]
    assert np.all(np.abs(delta) <= bounds + 1e-7)
    np.testing.assert_allclose(delta.std(axis=1), bounds[:, 0] / np.sqrt(3), rtol=0.05)  # uniform
    assert start.min() < -0.04 and start.max() > 1.09  # outside the image: Foolbox does not clip it
    tf.random.set_seed(0)
    cleverhans = attacks._start_point(tf.constant(x), math.inf, attacks._per_image(eps), True).numpy()
    assert cleverhans.min() >= 0.0 and cleverhans.max() <= 1.0
