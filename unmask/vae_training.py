"""Training the VAE detector: one class's VAE on (benign, adversarial) pairs, and V's min-max game
(Algorithm 1, whose body was lost in extraction; the facts sheet's reconstruction, 3.1):

    round 0: every VAE^c on its benign X_b^c alone (the z_r path and z_v's benign penalty; P_v^c empty)
    round r >= 1, for each class c:
        X_a^c <- the adaptive attack A_W (MIM_W by default, fixed gamma: V's "bs 0") on X_b \\ X_b^c
                 toward c, against the current detector (the inner max)
        accumulate the attacked images that reached c; retrain VAE^c on (X_b^c, accumulated X_a^c)
        recalibrate the benign references
    stop when the round's success ratio (reached c and bypassed the detector: C1 and C2, over every
    attacked image) is at most ``stop_ratio``, or after ``rounds`` rounds.

Optimiser, batch size and epochs are not in V: Adam 1e-3, batch 64-128, ~20 epochs per round (the
facts sheet's defaults); each (round, class) starts a fresh Adam, so a resumed run equals an
uninterrupted one. Every finished round leaves ``rounds/round_NNN/`` (the detector and the accumulated
adversarial images) and then its stamp ``rounds/round_NNN.json`` (the round's figures), both written
atomically; a rerun with the same settings continues after the last stamped round.
"""
from __future__ import annotations

import logging
import shutil
import time
import weakref
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from unmask.attack_specs import AttackSpec
from unmask.fileio import read_json, write_json_atomic, write_npz_atomic
from unmask.vae import VAEDetector, batched, load_detector, save_detector, vae_loss
from unmask.vae_attacks import attack_toward

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainSettings:
    """How one class's VAE is trained (per round)."""

    epochs: int = 20
    batch_size: int = 64
    learning_rate: float = 1e-3
    alpha: float = 1.0
    beta: float = 100.0
    density: str = "kernel"
    penalty_on: str = "mean"


@dataclass(frozen=True)
class MinMaxSettings:
    """The min-max game: the first (benign) round's epochs, rounds after it, the stop criterion, the
    training attack and how many images of the other classes it attacks toward each class per round."""

    train: TrainSettings
    attack: AttackSpec
    init_epochs: int = 20
    rounds: int = 3
    stop_ratio: float = 0.0
    sources_per_class: int = 100
    attack_batch: int = 128
    seed: int = 0

    def fingerprint(self) -> dict[str, Any]:
        """What a stamped round depends on (a stamp of other settings is not resumed from)."""
        return {**asdict(self), "attack": self.attack.to_dict()}


class _Trainer:
    """One VAE's Adam and its compiled training steps (benign only, benign + adversarial), made once per
    VAE and settings; ``reset`` puts the optimiser back to its fresh state (zero moments, step 0), so each
    call of ``train_class`` trains as with a new Adam without tracing the steps again."""

    def __init__(self, vae: keras.Model, settings: TrainSettings) -> None:
        self.vae, self.settings = vae, settings
        self.optimizer = keras.optimizers.Adam(settings.learning_rate)
        self.optimizer.build(vae.trainable_variables)
        self.initial = [v.numpy() for v in self.optimizer.variables]
        self.step = tf.function(self._step, reduce_retracing=True)

    def reset(self) -> None:
        for variable, value in zip(self.optimizer.variables, self.initial):
            variable.assign(value)

    def _step(self, xb: tf.Tensor, xa: tf.Tensor | None, seed: tf.Tensor) -> dict[str, tf.Tensor]:
        s = self.settings
        with tf.GradientTape() as tape:
            terms = vae_loss(self.vae, xb, xa, s.alpha, s.beta, s.density, training=True, seed=seed,
                             penalty_on=s.penalty_on)
        grads = tape.gradient(terms["total"], self.vae.trainable_variables)
        # the benign half leaves z_v's log-variance head out of the loss: no gradient, nothing to apply
        self.optimizer.apply_gradients([(g, v) for g, v in zip(grads, self.vae.trainable_variables) if g is not None])
        return terms


_TRAINERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def train_class(vae: keras.Model, x_b: np.ndarray, x_a: np.ndarray | None, settings: TrainSettings, epochs: int,
                seed: int) -> dict[str, float]:
    """Train one class's VAE on its benign images x_b and adversarial images x_a (None or empty: the
    benign half of the loss), with a fresh Adam; the sampling noise is drawn from ``seed`` (stateless), so a
    resumed run draws what an uninterrupted one does. An epoch is one pass over x_b in shuffled batches, each
    paired with a batch of x_a drawn with replacement. Returns the last epoch's mean terms, ``pairs``
    and ``seconds``."""
    rng = np.random.default_rng(seed)
    trainers = _TRAINERS.setdefault(vae, {})
    if settings not in trainers:
        trainers[settings] = _Trainer(vae, settings)
    trainer = trainers[settings]
    trainer.reset()
    adversarial = x_a is not None and len(x_a) > 0
    started, pairs, totals = time.perf_counter(), 0, {}
    for _ in range(epochs):
        order = rng.permutation(len(x_b))
        sums: dict[str, float] = {}
        batches = 0
        for start in range(0, len(order), settings.batch_size):
            xb = x_b[order[start:start + settings.batch_size]]
            xa = x_a[rng.integers(0, len(x_a), len(xb))] if adversarial else None
            noise_seed = tf.constant(rng.integers(0, 2**31 - 1, size=2), tf.int32)
            terms = trainer.step(tf.constant(xb), None if xa is None else tf.constant(xa), noise_seed)
            for name, value in terms.items():
                sums[name] = sums.get(name, 0.0) + float(value)
            batches += 1
            pairs += len(xb)
        totals = {name: value / batches for name, value in sums.items()}
    return {**totals, "pairs": pairs, "seconds": time.perf_counter() - started}


def _round_dir(out_dir: Path, number: int) -> Path:
    return out_dir / "rounds" / f"round_{number:03d}"


def _stamp(out_dir: Path, number: int) -> Path:
    return out_dir / "rounds" / f"round_{number:03d}.json"


def finished_rounds(out_dir: Path, settings: MinMaxSettings) -> list[dict[str, Any]]:
    """The stamped rounds of these settings, in order (a gap or other settings end the list)."""
    rounds = []
    while True:
        stamp = read_json(_stamp(out_dir, len(rounds)))
        if not stamp or stamp.get("settings") != settings.fingerprint():
            return rounds
        rounds.append(stamp)


def _accumulated(out_dir: Path, number: int, classes: int) -> list[np.ndarray]:
    with np.load(_round_dir(out_dir, number) / "adversarial.npz") as data:
        return [data[f"class_{c}"] for c in range(classes)]


def _finish_round(out_dir: Path, number: int, detector: VAEDetector, accumulated: list[np.ndarray],
                  figures: dict[str, Any], settings: MinMaxSettings) -> dict[str, Any]:
    """Save the round (detector, accumulated images), then its stamp; drop the previous round's copy."""
    folder = _round_dir(out_dir, number)
    save_detector(detector, folder / "detector", extra={"round": number})
    write_npz_atomic(folder / "adversarial.npz", {f"class_{c}": a for c, a in enumerate(accumulated)})
    stamp = {"round": number, "settings": settings.fingerprint(), **figures}
    write_json_atomic(_stamp(out_dir, number), stamp)
    if number > 0:
        shutil.rmtree(_round_dir(out_dir, number - 1), ignore_errors=True)
    return stamp


def minmax_train(detector: VAEDetector, x: np.ndarray, y: np.ndarray, settings: MinMaxSettings,
                 out_dir: Path) -> tuple[VAEDetector, list[dict[str, Any]]]:
    """Run (or resume) the min-max game on the training split (x, y); returns the trained detector and
    every round's figures (also in ``rounds/round_NNN.json``)."""
    classes = detector.num_classes
    done = finished_rounds(out_dir, settings)
    if done:
        detector = load_detector(_round_dir(out_dir, len(done) - 1) / "detector")
        accumulated = _accumulated(out_dir, len(done) - 1, classes)
        log.info("resuming the min-max game after round %d", len(done) - 1)
    else:
        accumulated = [np.zeros((0, *x.shape[1:]), np.float32) for _ in range(classes)]
    if not done:
        started = time.perf_counter()
        losses = [train_class(detector.vaes[c], x[y == c], None, settings.train, settings.init_epochs,
                              settings.seed * 1000 + c) for c in range(classes)]
        detector.calibrate(x, y)
        done.append(_finish_round(out_dir, 0, detector, accumulated, {
            "kind": "benign", "seconds": round(time.perf_counter() - started, 1), "losses": losses,
            "benign_accuracy": _accuracy(detector, x, y)}, settings))
        log.info("round 0 (benign): train accuracy %.3f", done[-1]["benign_accuracy"])
    while len(done) <= settings.rounds and done[-1].get("success_ratio", 1.0) > settings.stop_ratio:
        done.append(_play_round(detector, x, y, settings, out_dir, len(done), accumulated))
    return detector, done


def _play_round(detector: VAEDetector, x: np.ndarray, y: np.ndarray, settings: MinMaxSettings, out_dir: Path,
                number: int, accumulated: list[np.ndarray]) -> dict[str, Any]:
    """One round: attack toward each class, accumulate, retrain that class's VAE, recalibrate."""
    started = time.perf_counter()
    rng = np.random.default_rng([settings.seed, number])
    per_class = []
    for c in range(detector.num_classes):
        sources = np.flatnonzero(y != c)
        sources = np.sort(rng.choice(sources, min(settings.sources_per_class, len(sources)), replace=False))
        targets = np.full(len(sources), c, dtype=np.int64)
        attacked, success = attack_toward(detector, x[sources], targets, settings.attack, settings.attack_batch,
                                          seed=settings.seed * 1000 + number * 100 + c)
        reached = np.argmax(_logits(detector, attacked), axis=1) == c
        accumulated[c] = np.concatenate([accumulated[c], attacked[reached]])
        losses = train_class(detector.vaes[c], x[y == c], accumulated[c], settings.train, settings.train.epochs,
                             settings.seed * 1000 + number * 100 + c)
        detector.calibrate(x, y)
        per_class.append({"class": c, "attacked": len(sources), "reached": int(reached.sum()),
                          "success": int(success.sum()), "accumulated": len(accumulated[c]), "losses": losses})
    attacked_total = sum(p["attacked"] for p in per_class)
    figures = {"kind": "min-max", "seconds": round(time.perf_counter() - started, 1),
               "success_ratio": sum(p["success"] for p in per_class) / max(attacked_total, 1),
               "reached_ratio": sum(p["reached"] for p in per_class) / max(attacked_total, 1),
               "benign_accuracy": _accuracy(detector, x, y), "classes": per_class}
    log.info("round %d: success ratio %.3f (reached %.3f), train accuracy %.3f, %.0f s", number,
             figures["success_ratio"], figures["reached_ratio"], figures["benign_accuracy"], figures["seconds"])
    return _finish_round(out_dir, number, detector, accumulated, figures, settings)


def _logits(detector: VAEDetector, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    return batched(lambda t: detector(t, training=False), x, batch_size)


def _accuracy(detector: VAEDetector, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(_logits(detector, x), axis=1) == y))


def baseline_cnn(input_shape: tuple[int, int, int], outputs: int) -> keras.Model:
    """V Table 5's F_p CNN, c(5,20) mp(2) c(5,50) mp(2) d(500) and logits: the facts sheet's default for the
    black-box substitute F_s and, with 2 outputs, Gong et al.'s binary detector (kernel 5: MNIST F_p's
    printed kernel 2 is read as a typo, as every other row has 5)."""
    return keras.Sequential([
        keras.Input(input_shape), keras.layers.Conv2D(20, 5, activation="relu"), keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(50, 5, activation="relu"), keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
        keras.layers.Dense(500, activation="relu"), keras.layers.Dense(outputs)])


def train_cnn(input_shape: tuple[int, int, int], outputs: int, x: np.ndarray, y: np.ndarray, epochs: int,
              batch_size: int = 64, learning_rate: float = 1e-3, seed: int = 0) -> keras.Model:
    """A ``baseline_cnn`` initialised and shuffled from ``seed`` (so a resumed run builds the same one),
    trained with Adam on sparse cross-entropy from logits (the settings V does not give)."""
    keras.utils.set_random_seed(seed)
    model = baseline_cnn(input_shape, outputs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)
    return model
