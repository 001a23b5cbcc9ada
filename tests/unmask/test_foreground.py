"""The foreground-mask defense (unmask.foreground): masking, the mask-aware PGD, masked training."""
import numpy as np
import pytest
import tensorflow as tf

from unmask.attack_specs import AttackSpec
from unmask.attacks import attack
from unmask.classifiers import build_classifier, load_classifier, predict_classes
from unmask.foreground import (apply_mask, check_masks, foreground_model, masked_attack, masked_predict, train_masked)
from unmask.images import list_image_folder
from unmask.registry import TRAIN_PRESETS
from unmask.training import load_items

PAPER_PGD = AttackSpec("pgd_linf", 8.0, steps=10, step_size=2.0, random_start=True)


@pytest.fixture(scope="module")
def model_and_data(trained_model, shapes_data):
    path, _ = trained_model
    model, info = load_classifier(path)
    x, y = load_items(list_image_folder(shapes_data / "val", info.class_names), info.image_size)
    return model, x[:24], y[:24]


def random_masks(n: int, size: int, seed: int = 0) -> np.ndarray:
    """A random rectangle of foreground per image, float32 [n, size, size, 1]."""
    rng = np.random.default_rng(seed)
    masks = np.zeros((n, size, size, 1), np.float32)
    for i in range(n):
        y0, x0 = rng.integers(0, size // 2, 2)
        masks[i, y0 : y0 + rng.integers(4, size // 2), x0 : x0 + rng.integers(4, size // 2)] = 1
    return masks


def test_masked_inputs_are_exactly_zero_outside_the_mask(model_and_data):
    model, x, _ = model_and_data
    masks = random_masks(len(x), x.shape[1])
    masked = apply_mask(x, masks)
    assert np.all(masked[masks[..., 0] == 0] == 0)
    np.testing.assert_array_equal(masked[masks[..., 0] == 1], x[masks[..., 0] == 1])
    two_inputs = foreground_model(model)
    np.testing.assert_allclose(two_inputs.predict([x, masks], verbose=0), model.predict(masked, verbose=0), atol=1e-5)
    np.testing.assert_array_equal(masked_predict(model, x, masks), predict_classes(model, masked))


def test_mask_aware_pgd_never_touches_the_background_and_respects_eps(model_and_data):
    model, x, y = model_and_data
    masks = random_masks(len(x), x.shape[1], seed=1)
    adv = masked_attack(model, x, y, PAPER_PGD, masks=masks, batch_size=16, seed=3)
    background = np.broadcast_to(masks == 0, x.shape)
    np.testing.assert_array_equal(adv[background], x[background])
    assert np.abs(adv.astype(np.float64) - x).max() <= 8 / 255 + 1e-6
    assert adv.min() >= 0 and adv.max() <= 1
    assert np.abs(adv - x)[~background].max() > 7 / 255  # the foreground is attacked
    np.testing.assert_array_equal(adv, masked_attack(model, x, y, PAPER_PGD, masks=masks, batch_size=16, seed=3))


def test_an_all_ones_mask_is_plain_m_and_plain_pgd(model_and_data):
    model, x, y = model_and_data
    ones = np.ones((*x.shape[:3], 1), np.float32)
    np.testing.assert_array_equal(masked_predict(model, x, ones), predict_classes(model, x))
    plain = attack(model, x, y, PAPER_PGD, batch_size=16, seed=4).images_adv  # CleverHans' own PGD
    np.testing.assert_array_equal(masked_attack(model, x, y, PAPER_PGD, masks=ones, batch_size=16, seed=4), plain)


def test_adaptive_attack_recomputes_the_mask_every_step(model_and_data):
    model, x, y = model_and_data
    masks = random_masks(len(x), x.shape[1], seed=2)
    calls = []

    def mask_fn(images):
        calls.append(images.shape[0])
        return tf.constant(masks[: images.shape[0]])

    adv = masked_attack(model, x[:8], y[:8], PAPER_PGD, mask_fn=mask_fn, batch_size=8, seed=0)
    assert calls == [8] * PAPER_PGD.steps
    assert np.abs(adv.astype(np.float64) - x[:8]).max() <= 8 / 255 + 1e-6
    with pytest.raises(ValueError, match="either a fixed mask or a mask_fn"):
        masked_attack(model, x[:2], y[:2], PAPER_PGD, batch_size=2)
    with pytest.raises(ValueError, match="PGD-Linf"):
        masked_attack(model, x[:2], y[:2], AttackSpec("pgd_l2", 300.0, steps=2), masks=masks[:2])


def test_bad_masks_raise(model_and_data):
    _, x, _ = model_and_data
    with pytest.raises(ValueError, match="masks must have shape"):
        check_masks(np.ones((len(x), 5, 5)), x)
    with pytest.raises(ValueError, match="only 0"):
        check_masks(np.full((*x.shape[:3], 1), 0.5), x)


def test_masked_adversarial_training_is_deterministic_and_learns_on_masked_images(model_and_data):
    _, x, y = model_and_data
    masks = random_masks(len(x), x.shape[1], seed=5)
    recipe = TRAIN_PRESETS["bigdata2020"].resolved(epochs=2, batch_size=12, learning_rate=0.01)
    spec = AttackSpec("pgd_linf", 8.0, steps=2, step_size=4.0, random_start=True)
    weights = []
    for _ in range(2):
        tf.keras.utils.set_random_seed(0)
        model = build_classifier("small_cnn", 3, None, image_size=x.shape[1])
        history = train_masked(model, x, masks, y, recipe, spec=spec, seed=1)
        weights.append(model.get_weights())
    assert [row["epoch"] for row in history] == [1, 2]
    assert all(np.isfinite(row["train_loss"]) for row in history)
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_vgg19_at_32_px_is_keras_vgg19_without_top_plus_a_dense_head():
    model = build_classifier("vgg19", 10, None, image_size=32)
    assert model.input_shape == (None, 32, 32, 3) and model.output_shape == (None, 10)
    base = next(layer for layer in model.layers if layer.name == "vgg19")
    assert base.output_shape == (None, 1, 1, 512) and len([w for w in base.weights if "kernel" in w.name]) == 16
    assert model.layers[-1].name == "logits"
