"""Attacks on a small trained model: budgets, truthful success, determinism, strength, library parity, bad input."""
import dataclasses
import json

import numpy as np
import pytest
import tensorflow as tf

from unmask.attacks import (
    ATTACK_NAMES,
    AttackSpec,
    _pgd_unbounded_step,
    attack,
    parse_spec,
    predict,
    preset_spec,
)
from unmask.classifiers import load_classifier
from unmask.images import list_image_folder
from unmask.training import load_items

# Few steps keep the suite fast; the presets' own step counts are checked separately.
FAST_SPECS = [
    AttackSpec("fgsm", 8),
    AttackSpec("pgd_linf", 8, steps=5, step_size=2.0),
    AttackSpec("pgd_linf", 8, steps=3, step_size=510.0, random_start=True),  # legacy jump-to-the-edge step
    AttackSpec("pgd_l2", 300, steps=5, step_size=75.0),
    AttackSpec("pgd_l2", 300, steps=3, step_size=510.0),
    AttackSpec("mim_linf", 16, steps=5, step_size=4.0),
    AttackSpec("mim_l2", 600, steps=3, step_size=510.0),
    AttackSpec("deepfool_l2", None, steps=20),
    AttackSpec("deepfool_l2", 100, steps=20),
]


@pytest.fixture(scope="module")
def model_and_data(trained_model, shapes_data):
    path, _ = trained_model
    model, info = load_classifier(path)
    x, y = load_items(list_image_folder(shapes_data / "val", info.class_names), info.image_size)
    return model, x, y


def _check_budget_and_truth(result, x, y, spec, model):
    adv = result.images_adv
    assert adv.shape == x.shape and adv.dtype == np.float32
    assert adv.min() >= 0.0 and adv.max() <= 1.0
    delta = (adv.astype(np.float64) - x).reshape(len(x), -1)
    if spec.eps is not None:
        if spec.norm == np.inf:
            assert np.abs(delta).max() <= spec.eps / 255 + 1e-6
        else:
            assert np.linalg.norm(delta, axis=1).max() <= spec.eps / 255 + 1e-4
    np.testing.assert_array_equal(result.predictions_adv, predict(model, adv))
    np.testing.assert_array_equal(result.predictions_clean, predict(model, x))
    np.testing.assert_array_equal(result.success, result.predictions_adv != y)
    assert result.success.dtype == bool


@pytest.mark.parametrize("spec", FAST_SPECS, ids=lambda s: f"{s.label()}-step{s.step_size}")
def test_budget_range_and_truthful_success(model_and_data, spec):
    model, x, y = model_and_data
    result = attack(model, x[:12], y[:12], spec, batch_size=5, seed=3)
    _check_budget_and_truth(result, x[:12], y[:12], spec, model)
    assert result.spec == spec.resolved()


def test_same_seed_same_images_other_seed_differs(model_and_data):
    model, x, y = model_and_data
    spec = AttackSpec("pgd_linf", 8, steps=2, step_size=1.0, random_start=True)
    first = attack(model, x[:8], y[:8], spec, batch_size=4, seed=11)
    again = attack(model, x[:8], y[:8], spec, batch_size=4, seed=11)
    other = attack(model, x[:8], y[:8], spec, batch_size=4, seed=12)
    np.testing.assert_array_equal(first.images_adv, again.images_adv)
    assert not np.array_equal(first.images_adv, other.images_adv)
    # skipping the clean forward pass changes nothing else
    lean = attack(model, x[:8], y[:8], spec, batch_size=4, seed=11, predict_clean=False)
    assert lean.predictions_clean is None
    np.testing.assert_array_equal(lean.images_adv, first.images_adv)
    np.testing.assert_array_equal(lean.predictions_adv, first.predictions_adv)


def test_pgd_linf_eps8_breaks_the_trained_model(model_and_data):
    model, x, y = model_and_data
    result = attack(model, x, y, preset_spec("bigdata2020_corrected", "pgd_linf", 8), batch_size=32)
    clean = np.mean(result.predictions_clean == y)
    adversarial = np.mean(result.predictions_adv == y)
    assert clean >= 0.7
    assert adversarial <= clean / 3


def _direct(fn, *args, seed=0, **kwargs):
    tf.random.set_seed(seed)
    return np.asarray(fn(*args, **kwargs))


def test_cleverhans_calls_match_the_library(model_and_data):
    from cleverhans.tf2.attacks.fast_gradient_method import fast_gradient_method
    from cleverhans.tf2.attacks.momentum_iterative_method import momentum_iterative_method
    from cleverhans.tf2.attacks.projected_gradient_descent import projected_gradient_descent

    model, x, y = model_and_data
    x, y = x[:6], y[:6]
    tx, ty = tf.constant(x), tf.constant(y)
    ours = attack(model, x, y, AttackSpec("fgsm", 8), batch_size=6).images_adv
    theirs = _direct(fast_gradient_method, model, tx, 8 / 255, np.inf, clip_min=0.0, clip_max=1.0, y=ty)
    np.testing.assert_allclose(ours, theirs, atol=1e-6)

    spec = AttackSpec("pgd_l2", 300, steps=4, step_size=60.0, random_start=True)
    ours = attack(model, x, y, spec, batch_size=6, seed=4).images_adv
    theirs = _direct(projected_gradient_descent, model, tx, 300 / 255, 60 / 255, 4, 2, clip_min=0.0, clip_max=1.0,
                     y=ty, rand_init=True, seed=4 * 1_000_003)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)

    spec = AttackSpec("mim_linf", 8, steps=4, step_size=510.0, decay=1.0)
    ours = attack(model, x, y, spec, batch_size=6).images_adv
    theirs = _direct(momentum_iterative_method, model, tx, eps=8 / 255, eps_iter=2.0, nb_iter=4, norm=np.inf,
                     clip_min=0.0, clip_max=1.0, y=ty, decay_factor=1.0, sanity_checks=False)
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_legacy_pgd_loop_is_cleverhans_pgd_without_the_step_assert(model_and_data):
    from cleverhans.tf2.attacks.projected_gradient_descent import projected_gradient_descent

    model, x, y = model_and_data
    tx, ty = tf.constant(x[:6]), tf.constant(y[:6])
    for norm, eps, step in ((np.inf, 8 / 255, 2 / 255), (2, 1.0, 0.3)):
        ours = _direct(_pgd_unbounded_step, model, tx, ty, eps, step, 3, norm, True, seed=9)
        theirs = _direct(projected_gradient_descent, model, tx, eps, step, 3, norm, clip_min=0.0, clip_max=1.0,
                         y=ty, rand_init=True, seed=9)
        np.testing.assert_allclose(ours, theirs, atol=1e-6)
    with pytest.raises(AssertionError):  # why the legacy step needs the loop
        projected_gradient_descent(model, tx, 8 / 255, 2.0, 1, np.inf, clip_min=0.0, clip_max=1.0, y=ty)


def test_legacy_linf_step_lands_on_the_ball_edge(model_and_data):
    model, x, y = model_and_data
    spec = preset_spec("bigdata2020_legacy", "pgd_linf", 8)
    result = attack(model, x[:4], y[:4], dataclasses.replace(spec, steps=1), batch_size=4)
    delta = np.abs(result.images_adv - x[:4])
    inside = (x[:4] > 8 / 255) & (x[:4] < 1 - 8 / 255)
    assert np.mean(np.isclose(delta[inside], 8 / 255, atol=1e-6)) > 0.99


def test_deepfool_matches_foolbox(model_and_data):
    import foolbox as fb

    from unmask.attacks import compiled_logits

    model, x, y = model_and_data
    x, y = x[:6], y[:6]
    ours = attack(model, x, y, AttackSpec("deepfool_l2", None, steps=15), batch_size=6).images_adv
    fmodel = fb.TensorFlowModel(compiled_logits(model), bounds=(0.0, 1.0), device="/CPU:0")
    deepfool = fb.attacks.L2DeepFoolAttack(steps=15, candidates=3, overshoot=0.02, loss="logits")
    _, theirs, _ = deepfool(fmodel, tf.constant(x), tf.constant(y), epsilons=None)
    np.testing.assert_allclose(ours, np.asarray(theirs), atol=1e-6)


def test_presets():
    kdd = preset_spec("kdd2019", "pgd_linf", 16)
    assert (kdd.steps, kdd.random_start) == (40, True) and kdd.step_size == pytest.approx(2.55)
    assert preset_spec("kdd2019", "deepfool_l2", None).steps == 100
    legacy = preset_spec("bigdata2020_legacy", "mim_l2", 600)
    assert (legacy.steps, legacy.step_size, legacy.decay) == (20, 510.0, 1.0)
    assert preset_spec("bigdata2020_corrected", "pgd_linf", 8).step_size == 2.0
    assert preset_spec("bigdata2020_corrected", "pgd_l2", 300).step_size == 75.0
    with pytest.raises(ValueError, match="has no attack 'mim_linf'.*deepfool_l2, fgsm, pgd_linf"):
        preset_spec("kdd2019", "mim_linf", 8)
    with pytest.raises(ValueError, match="unknown attack preset"):
        preset_spec("bigdata2021", "pgd_linf", 8)


def test_defaults_and_spec_strings():
    resolved = AttackSpec("pgd_l2", 300).resolved()
    assert (resolved.steps, resolved.random_start) == (50, True) and resolved.step_size == pytest.approx(7.5)
    assert AttackSpec("mim_linf", 10).resolved().step_size == pytest.approx(2.0)
    assert parse_spec("pgd_linf:8") == ("pgd_linf", 8.0)
    assert parse_spec("deepfool_l2") == ("deepfool_l2", None)
    assert json.loads(json.dumps(AttackSpec("fgsm", 8).to_dict()))["eps"] == 8
    with pytest.raises(ValueError, match="NAME:EPS"):
        parse_spec("pgd_linf:eight")


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"name": "cw_l2", "eps": 8}, "unknown attack 'cw_l2'.*" + ", ".join(ATTACK_NAMES)),
        ({"name": "pgd_linf", "eps": -1}, "eps must be"),
        ({"name": "pgd_linf", "eps": 0}, "eps must be"),
        ({"name": "pgd_linf", "eps": None}, "needs an eps"),
        ({"name": "pgd_linf", "eps": 8, "decay": 1.0}, "does not take decay"),
        ({"name": "fgsm", "eps": 8, "steps": 3}, "does not take steps"),
        ({"name": "pgd_l2", "eps": 8, "steps": 0}, "positive integer"),
        ({"name": "mim_l2", "eps": 8, "step_size": -2}, "step_size"),
    ],
)
def test_bad_specs_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AttackSpec(**kwargs)


def test_bad_inputs_raise_before_work(model_and_data):
    model, x, y = model_and_data
    spec = AttackSpec("fgsm", 8)
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 3\)"):
        attack(model, x[:2], np.array([0, 3]), spec)
    with pytest.raises(ValueError, match="labels must have shape"):
        attack(model, x[:2], y[:3], spec)
    with pytest.raises(ValueError, match=r"lie in \[0, 1\]"):
        attack(model, x[:2] * 255, y[:2], spec)
    with pytest.raises(ValueError, match="must have shape"):
        attack(model, x[:2, :16, :16], y[:2], spec)
    with pytest.raises(ValueError, match="dtype uint8"):
        attack(model, (x[:2] * 255).astype(np.uint8), y[:2], spec)
    with pytest.raises(ValueError, match="batch size"):
        attack(model, x[:2], y[:2], spec, batch_size=0)


def test_attack_command_writes_npz(trained_model, shapes_data, tmp_path):
    from unmask.cli import main

    out = tmp_path / "adv" / "pgd.npz"
    code = main(["attack", "--model", str(trained_model[0]), "--data", str(shapes_data / "val"),
                 "--spec", "pgd_linf:8", "--preset", "bigdata2020_corrected", "--limit", "6", "--out", str(out)])
    assert code == 0
    with np.load(out) as saved:
        meta = json.loads(str(saved["meta"]))
        assert meta["spec"] == preset_spec("bigdata2020_corrected", "pgd_linf", 8).to_dict()
        assert saved["images_adv"].shape == (6, 32, 32, 3) and len(saved["paths"]) == 6
        np.testing.assert_array_equal(saved["success"], saved["predictions_adv"] != saved["labels"])
    assert [p.name for p in out.parent.iterdir()] == ["pgd.npz"]
    assert main(["attack", "--model", str(trained_model[0]), "--data", str(shapes_data / "val"),
                 "--spec", "pgd_linf:-8", "--out", str(out)]) == 2
