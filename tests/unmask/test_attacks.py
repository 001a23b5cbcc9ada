"""Attacks on a small trained model: budgets, truthful success, determinism, strength, library parity, bad input.

The property tests run over every attack of ``unmask.registry.ATTACKS``: a new registry entry gets them
with no code here (few steps keep them fast; the presets' own step counts are checked separately)."""
import dataclasses
import json
import math

import numpy as np
import pytest
import tensorflow as tf

from unmask import registry
from unmask.attack_specs import AttackSpec, adversarial_spec, parse_spec, preset_spec
from unmask.attacks import _pgd_loop, _start_point, attack
from unmask.classifiers import compiled_logits, load_classifier, predict_classes
from unmask.images import list_image_folder
from unmask.training import load_items

BUDGETS = {math.inf: 8.0, 2: 300.0}  # a real budget per norm, 0-255 units
# Fast settings per option (not per attack): few steps, and C&W's learning rate and constant large
# enough to move the images within them.
FAST_OPTIONS = {"steps": 5, "binary_search_steps": 2, "learning_rate": 0.05, "initial_const": 1.0,
                "gamma_search_steps": 2}
# An invalid value of every spec option, with the error it must raise.
BAD_OPTIONS = {
    "steps": (0, "steps must be a positive integer"),
    "step_size": (-2, "step_size must be > 0"),
    "random_start": ("yes", "random_start must be True, False or 'advertorch'"),
    "decay": (-1.0, "decay must be >= 0"),
    "learning_rate": (0.0, "learning_rate must be > 0"),
    "confidence": (-1.0, "confidence must be >= 0"),
    "initial_const": (0.0, "initial_const must be > 0"),
    "binary_search_steps": (2.5, "binary_search_steps must be a positive integer"),
    "foolbox1": (1, "foolbox1 must be True or False"),
    "gamma": (-0.5, "gamma must be >= 0"),
    "gamma_search_steps": (1.5, "gamma_search_steps must be a non-negative integer"),
}


def fast_spec(info: registry.AttackInfo, eps: float | None) -> AttackSpec:
    """The attack at ``eps`` with the fast settings of the options it takes."""
    return AttackSpec(info.name, eps, **{k: v for k, v in FAST_OPTIONS.items() if k in info.options})


REGISTRY_SPECS = [fast_spec(info, BUDGETS[info.norm]) for info in registry.ATTACKS.values()] + [
    fast_spec(info, None) for info in registry.ATTACKS.values() if not info.eps_required
]
LEGACY_SPECS = [  # the BigData legacy step of 2.0 in [0, 1] units: past the ball's edge each step
    AttackSpec("pgd_linf", 8, steps=3, step_size=510.0, random_start=True),
    AttackSpec("pgd_l2", 300, steps=3, step_size=510.0),
    AttackSpec("pgd_l2", 300, steps=3, step_size=510.0, random_start="advertorch"),
    AttackSpec("mim_l2", 600, steps=3, step_size=510.0),
]
FOOLBOX1_SPECS = [  # Foolbox 1.8's semantics, checked against its source in tests/unmask/test_foolbox1.py
    AttackSpec("pgd_linf", 8, steps=2, step_size=2.55, foolbox1=True),  # (FGSM's grid: 1000 forward passes there)
    AttackSpec("deepfool_l2", None, steps=5, foolbox1=True),
]


def _id(spec: AttackSpec) -> str:
    extras = "".join(f"-{k}" for k in ("foolbox1",) if getattr(spec, k))
    start = f"-{spec.random_start}" if isinstance(spec.random_start, str) else ""
    return f"{spec.label()}-step{spec.step_size}{start}{extras}"


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
    if spec.budget is not None:
        if spec.norm == np.inf:
            assert np.abs(delta).max() <= spec.budget / 255 + 1e-6
        else:
            assert np.linalg.norm(delta, axis=1).max() <= spec.budget / 255 + 1e-4
    np.testing.assert_array_equal(result.predictions_adv, predict_classes(model, adv))
    np.testing.assert_array_equal(result.predictions_clean, predict_classes(model, x))
    np.testing.assert_array_equal(result.success, result.predictions_adv != y)
    assert result.success.dtype == bool


@pytest.mark.parametrize("spec", REGISTRY_SPECS + LEGACY_SPECS + FOOLBOX1_SPECS, ids=_id)
def test_budget_range_truthful_success_and_determinism(model_and_data, spec):
    model, x, y = model_and_data
    result = attack(model, x[:8], y[:8], spec, batch_size=4, seed=3)
    _check_budget_and_truth(result, x[:8], y[:8], spec, model)
    assert result.spec == spec.resolved()
    # the same seed gives the same images; skipping the clean forward pass changes nothing else
    again = attack(model, x[:8], y[:8], spec, batch_size=4, seed=3, predict_clean=False)
    assert again.predictions_clean is None
    np.testing.assert_array_equal(again.images_adv, result.images_adv)
    np.testing.assert_array_equal(again.predictions_adv, result.predictions_adv)


def test_other_seed_other_random_start(model_and_data):
    model, x, y = model_and_data
    spec = AttackSpec("pgd_linf", 8, steps=2, step_size=1.0, random_start=True)
    first = attack(model, x[:8], y[:8], spec, batch_size=4, seed=11)
    other = attack(model, x[:8], y[:8], spec, batch_size=4, seed=12)
    assert not np.array_equal(first.images_adv, other.images_adv)


def test_pgd_linf_eps8_breaks_the_trained_model(model_and_data):
    model, x, y = model_and_data
    result = attack(model, x, y, preset_spec("bigdata2020_corrected", "pgd_linf", 8), batch_size=32)
    clean = np.mean(result.predictions_clean == y)
    adversarial = np.mean(result.predictions_adv == y)
    assert clean >= 0.7
    assert adversarial <= clean / 3


def test_cw_l2_with_a_budget_breaks_the_trained_model(model_and_data):
    model, x, y = model_and_data
    spec = AttackSpec("cw_l2", 300, steps=20, learning_rate=0.05, initial_const=1.0, binary_search_steps=2)
    result = attack(model, x, y, spec, batch_size=len(x))
    clean = np.mean(result.predictions_clean == y)
    assert clean >= 0.7
    assert np.mean(result.predictions_adv == y) <= clean / 2
    assert np.linalg.norm((result.images_adv - x).reshape(len(x), -1), axis=1).max() <= 300 / 255 + 1e-4


def test_cw_l2_keeps_unfound_images_clean_and_matches_foolbox(model_and_data):
    """Foolbox returns a black image where C&W found no adversarial; ours keeps the clean one."""
    import foolbox as fb

    model, x, y = model_and_data
    spec = AttackSpec("cw_l2", None, steps=10, learning_rate=0.05, initial_const=0.3, binary_search_steps=1)
    ours = attack(model, x, y, spec, batch_size=len(x))
    cw = fb.attacks.L2CarliniWagnerAttack(binary_search_steps=1, steps=10, stepsize=0.05, initial_const=0.3)
    fmodel = fb.TensorFlowModel(compiled_logits(model), bounds=(0.0, 1.0), device="/CPU:0")
    theirs, _, _ = cw(fmodel, tf.constant(x), tf.constant(y), epsilons=None)
    theirs = np.asarray(theirs)
    failed = ~ours.success
    assert failed.any() and np.all(theirs[failed] == 0.0)
    np.testing.assert_array_equal(ours.images_adv[failed], x[failed])
    np.testing.assert_allclose(ours.images_adv[~failed], theirs[~failed], atol=1e-6)


def test_a_registered_plug_in_attack_runs_through_its_runner(model_and_data):
    """A new attack is one registry entry plus its runner: spec validation, projection and success come free."""

    def uniform_noise(model, x, y, spec):  # random signs of twice the budget: the projection must cut them
        return x + tf.sign(tf.random.uniform(tf.shape(x), -1.0, 1.0)) * (2 * spec.eps / 255)

    info = registry.register(registry.AttackInfo("noise_linf", "Noise", math.inf, uniform_noise))
    try:
        model, x, y = model_and_data
        result = attack(model, x[:6], y[:6], AttackSpec("noise_linf", 8), batch_size=3, seed=1)
        _check_budget_and_truth(result, x[:6], y[:6], result.spec, model)
        inside = (x[:6] > 8 / 255) & (x[:6] < 1 - 8 / 255)
        assert np.allclose(np.abs(result.images_adv - x[:6])[inside], 8 / 255, atol=1e-6)
        with pytest.raises(ValueError, match="noise_linf does not take steps"):
            AttackSpec("noise_linf", 8, steps=3)
    finally:
        registry.unregister(info)


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

    def ours(eps, step, norm, random_start):
        return _pgd_loop(model, tx, ty, eps, step, 3, norm, _start_point(tx, norm, eps, random_start))[0]

    for norm, eps, step in ((np.inf, 8 / 255, 2 / 255), (2, 1.0, 0.3)):
        theirs = _direct(projected_gradient_descent, model, tx, eps, step, 3, norm, clip_min=0.0, clip_max=1.0,
                         y=ty, rand_init=True, seed=9)
        np.testing.assert_allclose(_direct(ours, eps, step, norm, True, seed=9), theirs, atol=1e-6)
    # AdverTorch's Linf start is CleverHans' draw: the legacy PGD-Linf keeps its numbers bit for bit
    np.testing.assert_array_equal(_direct(ours, 8 / 255, 2.0, np.inf, "advertorch", seed=9),
                                  _direct(ours, 8 / 255, 2.0, np.inf, True, seed=9))
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
    assert kdd.resolved().budget == 16  # the fixed-budget reading
    assert preset_spec("kdd2019", "deepfool_l2", None).steps == 100
    legacy = preset_spec("bigdata2020_legacy", "mim_l2", 600)
    assert (legacy.steps, legacy.step_size, legacy.decay) == (20, 510.0, 1.0)
    assert preset_spec("bigdata2020_legacy", "pgd_l2", 300).random_start == "advertorch"
    assert preset_spec("bigdata2020_corrected", "pgd_linf", 8).step_size == 2.0
    assert preset_spec("bigdata2020_corrected", "pgd_l2", 300).step_size == 75.0
    cw = preset_spec("vae2019", "cw_l2", None)  # the VAE detector paper's black-box C&W (V Table 8)
    assert (cw.steps, cw.learning_rate, cw.confidence, cw.initial_const, cw.binary_search_steps) == (160, 0.1, 3.0, 10.0, 1)
    mim = preset_spec("vae2019", "mim_linf", 76.5)
    assert (mim.steps, mim.decay) == (160, 0.3) and mim.step_size == pytest.approx(2.55)
    assert preset_spec("demo", "cw_l2", 300) == dataclasses.replace(cw, eps=300)
    with pytest.raises(ValueError, match="has no attack 'mim_linf'.*deepfool_l2, fgsm, pgd_linf"):
        preset_spec("kdd2019", "mim_linf", 8)
    with pytest.raises(ValueError, match="unknown attack preset"):
        preset_spec("bigdata2021", "pgd_linf", 8)


def test_kdd2019_foolbox1_preset_is_kdd2019_with_foolbox1_semantics():
    for name, eps in (("fgsm", 8), ("pgd_linf", 16), ("deepfool_l2", None)):
        fixed, searched = preset_spec("kdd2019", name, eps), preset_spec("kdd2019_foolbox1", name, eps)
        assert searched == dataclasses.replace(fixed, foolbox1=True)
        assert fixed.resolved().foolbox1 is False
    # Foolbox 1's FGSM searches up to eps (a budget); its PGD starts its eps search at eps (none)
    assert preset_spec("kdd2019_foolbox1", "fgsm", 8).budget == 8
    assert preset_spec("kdd2019_foolbox1", "pgd_linf", 8).budget is None
    assert preset_spec("kdd2019_foolbox1", "deepfool_l2", None).budget is None
    assert adversarial_spec(4, "kdd2019", 7).budget == 4
    with pytest.raises(ValueError, match="kdd2019_foolbox1: its PGD-Linf searches eps"):  # no budget to train at
        adversarial_spec(4, "kdd2019_foolbox1", 7)


@pytest.mark.parametrize("name,eps", [("mim_linf", 8), ("mim_linf", 16), ("mim_l2", 300), ("mim_l2", 600)])
def test_corrected_mifgsm_step_is_eps_over_steps(name, eps):
    spec = preset_spec("bigdata2020_corrected", name, eps)
    assert (spec.steps, spec.decay) == (20, 1.0)
    assert spec.step_size == eps / spec.steps and spec.resolved().step_size == eps / 20
    assert spec.to_dict()["step_size"] == {8: 0.4, 16: 0.8, 300: 15.0, 600: 30.0}[eps]


def test_pgd_linf_and_demo_specs_resolve_as_before():
    """The demo's and the corrected preset's PGD-Linf, and the demo's MI-FGSM (its recorded results), as
    they resolved before Foolbox 1's option and the MI-FGSM eps / T step."""
    for preset in ("demo", "bigdata2020_corrected"):
        for eps in (8, 16):
            spec = preset_spec(preset, "pgd_linf", eps).resolved()
            assert spec == AttackSpec("pgd_linf", eps, steps=20, step_size=2.0, random_start=True, foolbox1=False)
            assert spec.to_dict() == {"name": "pgd_linf", "eps": eps, "steps": 20, "step_size": 2.0,
                                      "random_start": True, "foolbox1": False}
            assert spec.budget == eps
    for name, eps in (("mim_linf", 8), ("mim_l2", 300), ("pgd_l2", 300)):  # the demo follows the corrected preset
        assert preset_spec("demo", name, eps) == preset_spec("bigdata2020_corrected", name, eps)
    assert preset_spec("demo", "mim_linf", 8).resolved().step_size == pytest.approx(8 / 20)


def _start_deltas(x: np.ndarray, norm: float, eps: float, random_start, seed: int = 0) -> np.ndarray:
    tf.random.set_seed(seed)
    start = np.asarray(_start_point(tf.constant(x), norm, eps, random_start))
    assert start.min() >= 0.0 and start.max() <= 1.0
    return (start.astype(np.float64) - x).reshape(len(x), -1)


def test_advertorch_l2_start_is_a_uniform_image_minus_x_scaled_into_the_ball():
    """AdverTorch 0.2's rand_init_delta for L2: uniform image - x, clamp_by_pnorm to eps, clip to [0, 1]."""
    gray, black = np.full((8, 32, 32, 3), 0.5, np.float32), np.zeros((8, 32, 32, 3), np.float32)
    eps = 300 / 255
    ours = _start_deltas(gray, 2, eps, "advertorch")
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), eps, rtol=1e-5)  # on the sphere: ||u - x|| >> eps
    # a scaled uniform: every coordinate within sqrt(3) standard deviations; CleverHans' Gaussian has tails
    assert np.max(np.abs(ours) / ours.std(axis=1, keepdims=True)) < np.sqrt(3) * 1.05
    cleverhans = _start_deltas(gray, 2, eps, True)
    assert np.max(np.abs(cleverhans) / cleverhans.std(axis=1, keepdims=True)) > 3.0
    # from a black image AdverTorch never leaves the image (x + delta is a convex mix of x and u): the
    # full norm eps; CleverHans' clipping removes the negative half of its draw
    np.testing.assert_allclose(np.linalg.norm(_start_deltas(black, 2, eps, "advertorch"), axis=1), eps, rtol=1e-5)
    assert np.linalg.norm(_start_deltas(black, 2, eps, True), axis=1).max() < 0.8 * eps
    # a budget larger than ||u - x||: the start is the uniform image itself, whatever x was
    tf.random.set_seed(1)
    uniform = tf.random.uniform(black.shape, 0.0, 1.0).numpy()
    np.testing.assert_allclose(_start_deltas(black, 2, 1e3, "advertorch", seed=1).reshape(black.shape), uniform)
    np.testing.assert_allclose(_start_deltas(gray, 2, 1e3, "advertorch", seed=1).reshape(gray.shape), uniform - 0.5,
                               atol=1e-7)


@pytest.mark.parametrize("info", registry.ATTACKS.values(), ids=lambda i: i.name)
def test_registry_defaults_resolve_every_option(info):
    eps = None if not info.eps_required else BUDGETS[info.norm]
    resolved = AttackSpec(info.name, eps).resolved()
    assert resolved.norm == info.norm
    assert all(getattr(resolved, option) is not None for option in info.options)
    flat = resolved.to_dict()
    assert flat["name"] == info.name and flat["eps"] == eps and json.loads(json.dumps(flat)) == flat
    assert set(BAD_OPTIONS) >= set(info.options)  # every option has a bad-value case below


def test_defaults_and_spec_strings():
    resolved = AttackSpec("pgd_l2", 300).resolved()
    assert (resolved.steps, resolved.random_start) == (50, True) and resolved.step_size == pytest.approx(7.5)
    assert AttackSpec("mim_linf", 10).resolved().step_size == pytest.approx(2.0)
    cw = AttackSpec("cw_l2", None).resolved()
    assert (cw.steps, cw.learning_rate, cw.initial_const, cw.binary_search_steps) == (10_000, 0.01, 1e-3, 9)
    assert parse_spec("pgd_linf:8") == ("pgd_linf", 8.0)
    assert parse_spec("deepfool_l2") == ("deepfool_l2", None)
    assert AttackSpec("fgsm", 8).to_dict() == {"name": "fgsm", "eps": 8, "foolbox1": None}  # the attack's options
    assert list(AttackSpec("pgd_linf", 8).to_dict()) == ["name", "eps", "steps", "step_size", "random_start", "foolbox1"]
    assert list(AttackSpec("pgd_l2", 300).to_dict()) == ["name", "eps", "steps", "step_size", "random_start"]
    with pytest.raises(ValueError, match="NAME:EPS"):
        parse_spec("pgd_linf:eight")


def _bad_specs() -> list[tuple[dict, str]]:
    """Invalid specs of every registry attack and the error each must raise."""
    cases = [({"name": "nope", "eps": 8}, "unknown attack 'nope'; valid: " + ", ".join(registry.ATTACKS))]
    for info in registry.ATTACKS.values():
        cases += [({"name": info.name, "eps": -1}, "eps must be"), ({"name": info.name, "eps": 0}, "eps must be"),
                  ({"name": info.name, "eps": float("nan")}, "eps must be")]
        if info.eps_required:
            cases.append(({"name": info.name, "eps": None}, f"{info.name} needs an eps"))
        unused = sorted(set(BAD_OPTIONS) - set(info.options))[0]
        cases.append(({"name": info.name, "eps": 8, unused: 1}, f"{info.name} does not take {unused}"))
        cases += [({"name": info.name, "eps": 8, option: BAD_OPTIONS[option][0]}, BAD_OPTIONS[option][1])
                  for option in info.options]
    return cases


@pytest.mark.parametrize("kwargs,message", _bad_specs(), ids=lambda v: v.get("name", "") if isinstance(v, dict) else "")
def test_bad_specs_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AttackSpec(**kwargs)


@pytest.mark.parametrize("spec", REGISTRY_SPECS, ids=_id)
def test_bad_inputs_raise_before_work(model_and_data, spec):
    model, x, y = model_and_data
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 3\)"):
        attack(model, x[:2], np.array([0, 3]), spec)
    with pytest.raises(ValueError, match="labels must have shape"):
        attack(model, x[:2], y[:3], spec)
    with pytest.raises(ValueError, match=r"lie in \[0, 1\]"):
        attack(model, x[:2] * 255, y[:2], spec)
    with pytest.raises(ValueError, match=r"lie in \[0, 1\]"):
        attack(model, (x[:2] * 255).astype(np.uint8), y[:2], spec)
    with pytest.raises(ValueError, match="must be finite"):
        attack(model, np.where(x[:2] > 0.5, np.nan, x[:2]), y[:2], spec)
    with pytest.raises(ValueError, match="for this model"):
        attack(model, x[:2, :16, :16], y[:2], spec)
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
        assert meta["spec"] == preset_spec("bigdata2020_corrected", "pgd_linf", 8).resolved().to_dict()
        assert saved["images_adv"].shape == (6, 32, 32, 3) and len(saved["paths"]) == 6
        np.testing.assert_array_equal(saved["success"], saved["predictions_adv"] != saved["labels"])
    assert [p.name for p in out.parent.iterdir()] == ["pgd.npz"]
    assert main(["attack", "--model", str(trained_model[0]), "--data", str(shapes_data / "val"),
                 "--spec", "pgd_linf:-8", "--out", str(out)]) == 2
