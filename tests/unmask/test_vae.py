"""The VAE detector's model (unmask/vae.py): the loss terms on hand-computed inputs, the classifier and
detector outputs and their shapes, serialisation."""
import math

import numpy as np
import pytest
import tensorflow as tf

from unmask.vae import (ARCHITECTURES, VAEDetector, architecture, kl_divergence, load_detector,
                        log_one_minus_density, reconstruction, save_detector, vae_loss)


@pytest.fixture(scope="module")
def detector():
    tf.keras.utils.set_random_seed(1)
    return VAEDetector(architecture("mnist"), 3)


@pytest.fixture(scope="module")
def images():
    return tf.constant(np.random.default_rng(0).uniform(size=(5, 28, 28, 1)).astype(np.float32))


def test_reconstruction_is_the_pixel_mean_of_squared_errors():
    x = np.zeros((2, 2, 2, 1), np.float32)
    x_hat = np.array([[[[1.0], [0.0]], [[0.0], [0.0]]], [[[0.5], [0.5]], [[0.5], [0.5]]]], np.float32)
    np.testing.assert_allclose(reconstruction(x, x_hat).numpy(), [0.25, 0.25])


def test_kl_divergence_by_hand():
    mu = tf.constant([[1.0, 0.0], [0.0, 0.0]])
    logvar = tf.constant([[0.0, math.log(2.0)], [0.0, 0.0]])
    # -1/2 [(1 + 0 - 1 - 1) + (1 + log 2 - 0 - 2)] = 1 - log(2)/2; the prior itself: 0
    np.testing.assert_allclose(kl_divergence(mu, logvar).numpy(), [1 - math.log(2) / 2, 0.0], rtol=1e-6)


def test_penalty_density_kernel_literal_and_floor():
    z = tf.constant([[1.0, 1.0], [0.0, 0.0], [3.0, 4.0]])
    kernel = log_one_minus_density(z, "kernel").numpy()
    literal = log_one_minus_density(z, "literal").numpy()
    np.testing.assert_allclose(kernel[0], math.log(1 - math.exp(-1)), rtol=1e-6)
    np.testing.assert_allclose(kernel[1], math.log(1e-7), rtol=1e-6)  # N = 1 at z = 0: floored, not -inf
    np.testing.assert_allclose(literal[0], math.log(1 - math.exp(-1) / (2 * math.pi)), rtol=1e-6)
    np.testing.assert_allclose(literal[1], math.log(1 - 1 / (2 * math.pi)), rtol=1e-6)
    assert kernel[2] == pytest.approx(math.log(1 - math.exp(-12.5)), abs=1e-7)
    # the literal density in 8-D is at most (2 pi)^-4: its penalty is numerically nothing
    assert abs(log_one_minus_density(tf.zeros((1, 8)), "literal").numpy()[0]) < 7e-4
    with pytest.raises(ValueError, match="density must be one of"):
        log_one_minus_density(z, "normalised")


def test_loss_terms_alpha_and_the_benign_half(detector, images):
    vae = detector.vaes[0]
    full = vae_loss(vae, images[:3], images[3:], alpha=1.0, beta=100.0)
    assert set(full) == {"recon_b", "kl_r", "penalty_v_b", "recon_a", "kl_v", "penalty_r_a", "total"}
    assert float(full["total"]) == pytest.approx(sum(float(v) for k, v in full.items() if k != "total"), rel=1e-5)
    doubled = vae_loss(vae, images[:3], images[3:], alpha=2.0, beta=100.0)
    assert float(doubled["kl_r"]) == pytest.approx(2 * float(full["kl_r"]), rel=1e-5)  # KL uses mu, logvar only
    benign = vae_loss(vae, images[:3], None)
    assert set(benign) == {"recon_b", "kl_r", "penalty_v_b", "total"}
    # the penalty at the encoder's mean (the default) by hand: -beta * mean log(1 - exp(-||mu||^2 / 2))
    _, _, mu_v, _ = (t.numpy().astype(np.float64) for t in vae.encode(images[:3]))
    by_hand = -100.0 * np.mean(np.log(np.maximum(1 - np.exp(-0.5 * np.sum(mu_v**2, -1)), 1e-7)))
    assert float(full["penalty_v_b"]) == pytest.approx(by_hand, rel=1e-4)
    with pytest.raises(ValueError, match="penalty_on must be one of"):
        vae_loss(vae, images[:3], None, penalty_on="z")


def test_classifier_and_detector_outputs(detector, images):
    logits = detector(images).numpy()
    assert logits.shape == (5, 3)
    mu_r, mu_v = (t.numpy() for t in detector.means(images))
    assert mu_r.shape == (5, 3, 8) and mu_v.shape == (5, 3, 8)
    np.testing.assert_allclose(logits, -np.linalg.norm(mu_r, axis=-1), rtol=1e-5, atol=1e-6)
    terms = {k: v.numpy() for k, v in detector.predicted_terms(images).items()}
    np.testing.assert_array_equal(terms["pred"], np.argmax(logits, axis=1))
    rows = np.arange(5)
    np.testing.assert_allclose(detector.score(images).numpy(), -0.5 * np.sum(mu_v[rows, terms["pred"]] ** 2, -1),
                               rtol=1e-5)
    assert detector.bypasses(images).shape == (5,) and detector.bypasses(images).dtype == bool
    logits_again, pass_loss = detector.logits_and_pass_loss(images)
    np.testing.assert_allclose(logits_again.numpy(), logits, rtol=1e-6)
    assert pass_loss.shape == (5,)


def test_calibrate_sets_class_means_and_the_conditions(detector, images):
    labels = np.array([0, 0, 1, 1, 2])
    detector.calibrate(images.numpy(), labels)
    log_pr, log_pv = (t.numpy() for t in detector.log_densities(images))
    np.testing.assert_allclose(detector.ref_v.numpy(), [log_pv[:2, 0].mean(), log_pv[2:4, 1].mean(), log_pv[4, 2]],
                               rtol=1e-5)
    terms = {k: v.numpy() for k, v in detector.predicted_terms(images).items()}
    expected = (terms["log_pv"] < terms["ref_v"]) & (terms["log_pr"] > terms["ref_r"])
    np.testing.assert_array_equal(detector.bypasses(images), expected)
    np.testing.assert_allclose(detector.logits_and_pass_loss(images)[1].numpy(),
                               np.maximum(0, terms["log_pv"] - terms["ref_v"]), rtol=1e-5, atol=1e-7)


def test_save_and_load_round_trip(detector, images, tmp_path):
    detector.calibrate(images.numpy(), np.array([0, 1, 2, 0, 1]))
    save_detector(detector, tmp_path / "det")
    loaded = load_detector(tmp_path / "det")
    np.testing.assert_array_equal(loaded(images).numpy(), detector(images).numpy())
    np.testing.assert_array_equal(loaded.ref_v.numpy(), detector.ref_v.numpy())
    assert loaded.get_config()["arch"] == detector.get_config()["arch"]
    with pytest.raises(FileNotFoundError, match="no saved VAE detector"):
        load_detector(tmp_path / "missing")


def test_architectures_follow_table_7():
    assert architecture("fmnist5").enc_filters == 32 and architecture("mnist").z_r == 8
    assert ARCHITECTURES["catdog"].input_shape == (64, 64, 1) and ARCHITECTURES["catdog"].z_v == 64
    with pytest.raises(ValueError, match="unknown VAE architecture 'cifar'; valid: mnist"):
        architecture("cifar")
    with pytest.raises(ValueError, match="at least 2 classes"):
        VAEDetector(architecture("mnist"), 1)
