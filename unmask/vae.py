"""The disentangling VAE detector of Joe, Hwang and Shin (V; facts sheet section 3): one dual-latent VAE
per class, its loss, and the wrapper that is both a classifier and a detector.

``DualLatentVAE`` (VAE^c): an encoder E^c with two Gaussian latents, z_r (robust, for benign inputs)
and z_v (vulnerable, for adversarial inputs), each a mean and a log-variance from its own Dense heads,
and one decoder D^c shared by both. Architectures are V's Table 7 (``ARCHITECTURES``); where Table 7 is
silent the facts sheet's defaults (3.7): encoder convs with stride 2, 'same', ReLU (Cat & Dog: its printed
BN / ReLU / max-pool blocks, stride 1); the decoder's d(49) reshaped to 7x7x1, transposed convs with
stride 1 and ReLU (stride 2 would make the last Dense 50,176 x 784), a sigmoid output.

``vae_loss``: V's eq. 5, l^c = reconstruction (pixel-wise MSE) of x_b through z_r and of x_a through z_v
+ alpha * KL(z_r(x_b)) + alpha * KL(z_v(x_a)) - beta * [log(1 - N(z_r(x_a))) + log(1 - N(z_v(x_b)))],
alpha = 1, beta = 100. The literal normalised density N(z | 0, I) is at most (2 pi)^(-d/2) (6.4e-4 in 8-D,
~1e-26 in 64-D), so the last term vanishes; the default ``density="kernel"`` uses the unnormalised
exp(-||z||^2 / 2) (the facts sheet's default), ``"literal"`` the printed one; the density is taken at the
encoder's mean (``penalty_on="mean"``, default: the facts sheet allows "the sampled z (or mu)", and mu is
what inference reads) or at a sampled z.

``VAEDetector``: the N VAEs. As a classifier its logits are -||mu_r^c(x)|| (V's nearest-mean classifier
on P_r: the class whose robust code lies nearest the prior mean), so every attack runs on it; as a
detector its score is log N(mu_v^{y_hat}(x) | 0, I) up to a constant, -||mu_v^{y_hat}||^2 / 2 (higher =
more suspicious). It keeps each class's benign reference means E[log P_r^c], E[log P_v^c] over X_b^c
(``calibrate``), which the success conditions C1 / C2 and the adaptive attacks' l_pass compare with.
"""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from unmask.fileio import read_json, write_json_atomic

DENSITIES = ("kernel", "literal")
PENALTY_INPUTS = ("mean", "sample")
_LOG_FLOOR = 1e-7  # log(1 - N) is floored at log(1e-7) where N reaches 1 (z = 0 under the kernel)


@dataclass(frozen=True)
class VAEArchitecture:
    """One row of V's Table 7 (the merged model cell read as encoder / decoder of both training variants)."""

    name: str
    input_shape: tuple[int, int, int]
    enc_filters: int
    enc_kernel: int
    enc_convs: int
    enc_pool: bool
    """False: stride-2 convs with ReLU (MNIST, FMNIST5); True: stride-1 conv-BN-ReLU, max-pool 2 after all
    but the last (Cat & Dog)."""
    z_r: int
    z_v: int
    dec_filters: int
    dec_kernel: int = 4
    dec_convs: int = 3
    dec_dense: tuple[int, int] = (24, 49)


ARCHITECTURES: dict[str, VAEArchitecture] = {
    "mnist": VAEArchitecture("mnist", (28, 28, 1), 16, 4, 3, False, 8, 8, 16),
    "fmnist5": VAEArchitecture("fmnist5", (28, 28, 1), 32, 4, 3, False, 8, 8, 32),
    "catdog": VAEArchitecture("catdog", (64, 64, 1), 32, 12, 3, True, 64, 64, 64),
}


def architecture(name: str) -> VAEArchitecture:
    """A Table 7 architecture by name; unknown names list the valid ones."""
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown VAE architecture {name!r}; valid: {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[name]


@keras.saving.register_keras_serializable(package="unmask")
class DualLatentVAE(keras.Model):
    """VAE^c: encoder -> (mu_r, logvar_r, mu_v, logvar_v); one decoder for z_r and z_v."""

    def __init__(self, arch: VAEArchitecture | dict, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        arch = arch if isinstance(arch, VAEArchitecture) else _arch_from_dict(arch)
        self.arch = arch
        body: list[keras.layers.Layer] = [keras.Input(arch.input_shape)]
        for index in range(arch.enc_convs):
            if arch.enc_pool:
                body += [keras.layers.Conv2D(arch.enc_filters, arch.enc_kernel, padding="same"),
                         keras.layers.BatchNormalization(), keras.layers.ReLU()]
                if index < arch.enc_convs - 1:
                    body.append(keras.layers.MaxPooling2D(2))
            else:
                body.append(keras.layers.Conv2D(arch.enc_filters, arch.enc_kernel, strides=2, padding="same",
                                                activation="relu"))
        body.append(keras.layers.Flatten())
        self.encoder = keras.Sequential(body, name="encoder")
        self.heads = [keras.layers.Dense(size, name=name) for size, name in
                      ((arch.z_r, "mu_r"), (arch.z_r, "logvar_r"), (arch.z_v, "mu_v"), (arch.z_v, "logvar_v"))]
        side = int(math.isqrt(arch.dec_dense[1]))
        if side * side != arch.dec_dense[1] or arch.z_r != arch.z_v:
            raise ValueError(f"{arch.name}: the decoder needs a square d({arch.dec_dense[1]}) and dim z_r = dim z_v")
        pixels = int(np.prod(arch.input_shape))
        self.decoder = keras.Sequential(
            [keras.Input((arch.z_r,)), keras.layers.Dense(arch.dec_dense[0], activation="relu"),
             keras.layers.Dense(arch.dec_dense[1], activation="relu"), keras.layers.Reshape((side, side, 1)),
             *(keras.layers.Conv2DTranspose(arch.dec_filters, arch.dec_kernel, padding="same", activation="relu")
               for _ in range(arch.dec_convs)),
             keras.layers.Flatten(), keras.layers.Dense(pixels, activation="sigmoid"),
             keras.layers.Reshape(arch.input_shape)], name="decoder")
        features = self.encoder.output_shape[-1]
        for head in self.heads:
            head.build((None, features))

    def encode(self, x: tf.Tensor, training: bool = False) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
        """(mu_r, logvar_r, mu_v, logvar_v), each [N, dim]."""
        features = self.encoder(x, training=training)
        return tuple(head(features) for head in self.heads)

    def call(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        """The latent means [N, dim_r + dim_v] (mu_r then mu_v)."""
        mu_r, _, mu_v, _ = self.encode(x, training)
        return tf.concat([mu_r, mu_v], axis=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "arch": asdict(self.arch)}


def _arch_from_dict(raw: dict) -> VAEArchitecture:
    values = dict(raw)
    values["input_shape"] = tuple(values["input_shape"])
    values["dec_dense"] = tuple(values["dec_dense"])
    return VAEArchitecture(**values)


# ------------------------------------------------------------------------------------------------- the loss


def reconstruction(x: tf.Tensor, x_hat: tf.Tensor) -> tf.Tensor:
    """||x - x_hat||^2 as pixel-wise MSE: the mean over pixels, per image [N]."""
    return tf.reduce_mean(tf.square(x - x_hat), axis=[1, 2, 3])


def kl_divergence(mu: tf.Tensor, logvar: tf.Tensor) -> tf.Tensor:
    """KL(N(mu, sigma^2) || N(0, I)) = -1/2 sum_i (1 + log sigma_i^2 - mu_i^2 - sigma_i^2), per image [N]."""
    return -0.5 * tf.reduce_sum(1.0 + logvar - tf.square(mu) - tf.exp(logvar), axis=-1)


def log_one_minus_density(z: tf.Tensor, density: str = "kernel") -> tf.Tensor:
    """log(1 - N(z | 0, I)) per image [N]: ``kernel`` N = exp(-||z||^2/2); ``literal`` the normalised
    density (2 pi)^(-d/2) exp(-||z||^2/2). Computed as log(-expm1(-s)), floored at log(1e-7)."""
    if density not in DENSITIES:
        raise ValueError(f"density must be one of {DENSITIES}, got {density!r}")
    s = 0.5 * tf.reduce_sum(tf.square(z), axis=-1)
    if density == "literal":
        s = s + 0.5 * float(z.shape[-1]) * math.log(2 * math.pi)
    return tf.math.log(tf.maximum(-tf.math.expm1(-s), _LOG_FLOOR))


def sample(mu: tf.Tensor, logvar: tf.Tensor, seed: Any = None) -> tf.Tensor:
    """z = mu + sigma * eps, the reparameterisation (``seed``: a stateless [2] seed, or None for TF's global one)."""
    noise = (tf.random.normal(tf.shape(mu)) if seed is None
             else tf.random.stateless_normal(tf.shape(mu), seed))
    return mu + tf.exp(0.5 * logvar) * noise


def vae_loss(vae: DualLatentVAE, x_b: tf.Tensor, x_a: tf.Tensor | None, alpha: float = 1.0, beta: float = 100.0,
             density: str = "kernel", training: bool = True, seed: tf.Tensor | None = None,
             penalty_on: str = "mean") -> dict[str, tf.Tensor]:
    """V's l^c on a benign batch x_b of class c and an adversarial batch x_a pushed to c (None before any
    exists: the benign half only). Returns the batch-mean terms and their sum under ``total``. ``seed``
    (int32 [2]) draws the samples statelessly; None: TF's global generator. ``penalty_on``: the z error
    penalty's N(E(x) | 0, I) at the encoder's mean (``mean``, what the classifier and the detector read
    at inference) or at a sampled z (``sample``; with sigma near 1, as the KL term pulls it, a sampled
    8-D z lies ~2.8 from the origin whatever mu is, so that penalty barely moves mu)."""
    if penalty_on not in PENALTY_INPUTS:
        raise ValueError(f"penalty_on must be one of {PENALTY_INPUTS}, got {penalty_on!r}")

    def draw(mu: tf.Tensor, logvar: tf.Tensor, index: int) -> tf.Tensor:
        return sample(mu, logvar, None if seed is None else seed + tf.constant([0, index], seed.dtype))

    def penalised(mu: tf.Tensor, logvar: tf.Tensor, index: int) -> tf.Tensor:
        return mu if penalty_on == "mean" else draw(mu, logvar, index)

    mu_r, logvar_r, mu_v_b, logvar_v_b = vae.encode(x_b, training)
    terms = {"recon_b": reconstruction(x_b, vae.decoder(draw(mu_r, logvar_r, 0), training=training)),
             "kl_r": alpha * kl_divergence(mu_r, logvar_r),
             "penalty_v_b": -beta * log_one_minus_density(penalised(mu_v_b, logvar_v_b, 1), density)}
    if x_a is not None:
        mu_r_a, logvar_r_a, mu_v, logvar_v = vae.encode(x_a, training)
        terms.update({"recon_a": reconstruction(x_a, vae.decoder(draw(mu_v, logvar_v, 2), training=training)),
                      "kl_v": alpha * kl_divergence(mu_v, logvar_v),
                      "penalty_r_a": -beta * log_one_minus_density(penalised(mu_r_a, logvar_r_a, 3), density)})
    means = {name: tf.reduce_mean(value) for name, value in terms.items()}
    means["total"] = tf.add_n(list(means.values()))
    return means


# ------------------------------------------------------------------------------------ classifier + detector


@keras.saving.register_keras_serializable(package="unmask")
class VAEDetector(keras.Model):
    """The N class VAEs as a classifier (logits -||mu_r^c||) and a detector (``score``), with each class's
    benign reference means ``ref_r`` / ``ref_v`` of log P_r^c / log P_v^c (set by ``calibrate``)."""

    def __init__(self, arch: VAEArchitecture | dict, num_classes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.arch = arch if isinstance(arch, VAEArchitecture) else _arch_from_dict(arch)
        if num_classes < 2:
            raise ValueError(f"a VAE detector needs at least 2 classes, got {num_classes}")
        self.num_classes = int(num_classes)
        self.vaes = [DualLatentVAE(self.arch, name=f"vae_{c}") for c in range(num_classes)]
        self.ref_r = self.add_weight(shape=(num_classes,), initializer="zeros", trainable=False, name="ref_r")
        self.ref_v = self.add_weight(shape=(num_classes,), initializer="zeros", trainable=False, name="ref_v")
        self.built = True  # every VAE builds its layers when it is made

    def means(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """mu_r [N, C, dim_r] and mu_v [N, C, dim_v] of every class's encoder (deterministic: no sampling)."""
        encoded = [vae.encode(x) for vae in self.vaes]
        return tf.stack([e[0] for e in encoded], axis=1), tf.stack([e[2] for e in encoded], axis=1)

    def log_densities(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """log P_r^c and log P_v^c per class [N, C]: log N(mu | 0, I) without its constant, -||mu||^2 / 2."""
        mu_r, mu_v = self.means(x)
        return _log_density(mu_r), _log_density(mu_v)

    def call(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        """Logits [N, C] = -||mu_r^c(x)||: argmax is the nearest-mean class; linear in the norm, as V
        chose it so attacks do not meet vanishing gradients."""
        mu_r, _ = self.means(x)
        return _logits(mu_r)

    def predicted_terms(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
        """For the predicted class y_hat: ``pred``, ``log_pr``, ``log_pv`` and the references ``ref_r``,
        ``ref_v`` (all [N]), and the ``logits``; differentiable in x except through the choice of y_hat."""
        mu_r, mu_v = self.means(x)
        log_pr, log_pv = _log_density(mu_r), _log_density(mu_v)
        pred = tf.argmax(log_pr, axis=1, output_type=tf.int32)
        return {"pred": pred, "log_pr": tf.gather(log_pr, pred, batch_dims=1),
                "log_pv": tf.gather(log_pv, pred, batch_dims=1),
                "ref_r": tf.gather(self.ref_r, pred), "ref_v": tf.gather(self.ref_v, pred), "logits": _logits(mu_r)}

    def score(self, x: tf.Tensor) -> tf.Tensor:
        """Detection score [N]: log P_v^{y_hat}(x) (higher = more suspicious)."""
        return self.predicted_terms(x)["log_pv"]

    def logits_and_pass_loss(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """The logits and V's l_pass [N] = max(0, log P_v^{y_hat}(x) - E[log P_v^{y_hat}] over benign
        X_b^{y_hat}), zero once the detector is bypassed, from one pass through the encoders: the interface
        ``unmask.vae_attacks`` adds to an attack's loss."""
        terms = self.predicted_terms(x)
        return terms["logits"], tf.nn.relu(terms["log_pv"] - terms["ref_v"])

    def bypasses(self, x: tf.Tensor) -> np.ndarray:
        """C1 and C2 per image (bool [N]): log P_v^{y_hat} below and log P_r^{y_hat} above class y_hat's benign means."""
        terms = self.predicted_terms(x)
        return (terms["log_pv"] < terms["ref_v"]).numpy() & (terms["log_pr"] > terms["ref_r"]).numpy()

    def calibrate(self, x: np.ndarray, y: np.ndarray, batch_size: int = 256) -> None:
        """Set the references from benign images x of classes y: class c's mean log P_r^c and log P_v^c
        over its own images (the training split, as the facts sheet's default)."""
        log_pr, log_pv = batched(self.log_densities, x, batch_size)
        for refs, values in ((self.ref_r, log_pr), (self.ref_v, log_pv)):
            means = np.array([values[y == c, c].mean() if np.any(y == c) else 0.0 for c in range(self.num_classes)])
            refs.assign(means.astype(np.float32))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "arch": asdict(self.arch), "num_classes": self.num_classes}


def _log_density(mu: tf.Tensor) -> tf.Tensor:
    """log N(mu | 0, I) per class [N, C] without its constant: -||mu||^2 / 2."""
    return -0.5 * tf.reduce_sum(tf.square(mu), -1)


def _logits(mu_r: tf.Tensor) -> tf.Tensor:
    return -tf.sqrt(tf.reduce_sum(tf.square(mu_r), -1) + 1e-12)


def batched(fn: Any, x: np.ndarray, batch_size: int = 256) -> Any:
    """``fn`` over x in batches, its output (a tensor or a tuple of them) concatenated as NumPy."""
    parts = [fn(tf.constant(x[i:i + batch_size])) for i in range(0, len(x), batch_size)]
    if isinstance(parts[0], (tuple, list)):
        return tuple(np.concatenate([np.asarray(p[k]) for p in parts]) for k in range(len(parts[0])))
    return np.concatenate([np.asarray(p) for p in parts])


def save_detector(detector: VAEDetector, path: str | Path, extra: dict | None = None) -> Path:
    """Write the detector as ``<path>/config.json`` + ``<path>/weights.weights.h5``, each atomically (the
    weights under a temporary name first, then renamed; the config last, so it marks a complete save)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tmp = path / f".weights.tmp{os.getpid()}.weights.h5"
    detector.save_weights(tmp)
    os.replace(tmp, path / "weights.weights.h5")
    write_json_atomic(path / "config.json", {**detector.get_config(), "extra": extra or {}})
    return path


def load_detector(path: str | Path) -> VAEDetector:
    """A detector written by ``save_detector``; names the folder when it is incomplete."""
    path = Path(path)
    config = read_json(path / "config.json")
    if config is None or not (path / "weights.weights.h5").is_file():
        raise FileNotFoundError(f"no saved VAE detector in {path} (config.json and weights.weights.h5)")
    detector = VAEDetector(config["arch"], config["num_classes"], name=config.get("name"))
    detector(tf.zeros((1, *detector.arch.input_shape)))
    detector.load_weights(path / "weights.weights.h5")
    return detector
