"""The adaptive attacks on the VAE detector (unmask/vae_attacks.py): with gamma 0 and no search each is the
plain attack image for image; with the detector term and the gamma search they keep their budget and
[0, 1]; the targeted form (the min-max training's) reports V's success. The registry's property tests
(tests/unmask/test_attacks.py) run them on plain M as well."""
import numpy as np
import pytest
import tensorflow as tf

from unmask.attack_specs import AttackSpec
from unmask.attacks import perturb_batches, run_cw_l2, run_fgsm, run_mim, run_pgd
from unmask.vae import VAEArchitecture, VAEDetector
from unmask.vae_attacks import attack_toward, has_detector, run_cw_l2_w, run_fgsm_w, run_mim_w, run_pgd_w


TINY = VAEArchitecture("tiny", (28, 28, 1), 4, 4, 3, False, 4, 4, 4)  # Table 7's layout, fewer units: fast


@pytest.fixture(scope="module")
def setup():
    tf.keras.utils.set_random_seed(2)
    detector = VAEDetector(TINY, 3)
    x = np.random.default_rng(0).uniform(size=(6, 28, 28, 1)).astype(np.float32)
    y = np.argmax(detector(tf.constant(x)).numpy(), axis=1)
    detector.calibrate(x, y)
    return detector, x, y


PAIRS = [  # (plain spec, its runner, the adaptive runner, the adaptive spec's extra options)
    (AttackSpec("fgsm", 40), run_fgsm, run_fgsm_w, "fgsm_w"),
    (AttackSpec("pgd_linf", 40, steps=4, step_size=4, random_start=True), run_pgd, run_pgd_w, "pgd_w"),
    (AttackSpec("mim_linf", 40, steps=4, step_size=4, decay=0.9), run_mim, run_mim_w, "mim_w"),
    (AttackSpec("cw_l2", None, steps=8, learning_rate=0.05, confidence=0.0, initial_const=1.0, binary_search_steps=1),
     run_cw_l2, run_cw_l2_w, "cw_l2_w"),
]


def _adaptive(plain: AttackSpec, name: str, **extra) -> AttackSpec:
    options = {k: getattr(plain, k) for k in plain.info.options if getattr(plain, k) is not None}
    return AttackSpec(name, plain.eps, **options, **extra)


@pytest.mark.parametrize("plain,run_plain,run_adaptive,name", PAIRS, ids=[p[3] for p in PAIRS])
def test_gamma_zero_is_the_plain_attack(setup, plain, run_plain, run_adaptive, name):
    detector, x, y = setup
    tf.random.set_seed(7)
    expected = run_plain(detector, tf.constant(x), tf.constant(y), plain.resolved()).numpy()
    tf.random.set_seed(7)
    ours = run_adaptive(detector, tf.constant(x), tf.constant(y),
                        _adaptive(plain, name, gamma=0.0, gamma_search_steps=0).resolved()).numpy()
    np.testing.assert_array_equal(ours, expected)
    if name != "cw_l2_w":  # the detector term changes the gradient, so the attack: the test can fail
        tf.random.set_seed(7)
        weighted = run_adaptive(detector, tf.constant(x), tf.constant(y),
                                _adaptive(plain, name, gamma=1e3, gamma_search_steps=0).resolved()).numpy()
        assert np.abs(weighted - expected).max() > 0


@pytest.mark.parametrize("plain,run_plain,run_adaptive,name", PAIRS, ids=[p[3] for p in PAIRS])
def test_budget_and_bounds_with_the_gamma_search(setup, plain, run_plain, run_adaptive, name):
    detector, x, y = setup
    spec = _adaptive(plain, name, gamma=1.0, gamma_search_steps=2)
    if name == "cw_l2_w":
        spec = AttackSpec(name, 300, **{k: getattr(spec, k) for k in spec.info.options})
    adversarial = perturb_batches(detector, x, y, spec.resolved(), batch_size=6, seed=1)
    assert adversarial.shape == x.shape and adversarial.dtype == np.float32
    assert adversarial.min() >= 0.0 and adversarial.max() <= 1.0
    delta = (adversarial.astype(np.float64) - x).reshape(len(x), -1)
    if spec.norm == np.inf:
        assert np.abs(delta).max() <= spec.eps / 255 + 1e-6
    else:
        assert np.linalg.norm(delta, axis=1).max() <= spec.eps / 255 + 1e-4


def test_targeted_attack_reports_v_success(setup):
    detector, x, y = setup
    targets = (y + 1) % 3
    spec = AttackSpec("mim_w", 127.5, steps=5, step_size=25.5, decay=0.9, gamma=1.0, gamma_search_steps=0)
    adversarial, success = attack_toward(detector, x, targets, spec, batch_size=4, seed=0)
    assert adversarial.shape == x.shape and success.shape == (6,) and success.dtype == bool
    predicted = np.argmax(detector(tf.constant(adversarial)).numpy(), axis=1)
    np.testing.assert_array_equal(success, (predicted == targets) & detector.bypasses(tf.constant(adversarial)))
    assert np.abs(adversarial - x).max() <= 0.5 + 1e-6
    with pytest.raises(ValueError, match="adaptive attacks"):
        attack_toward(detector, x, targets, AttackSpec("fgsm", 8))
    # V's second training attack, C&W-L2_W toward the class (Foolbox's targeted criterion)
    spec = AttackSpec("cw_l2_w", None, steps=20, learning_rate=0.05, confidence=0.0, initial_const=10.0,
                      binary_search_steps=1, gamma=1.0, gamma_search_steps=0)
    adversarial, success = attack_toward(detector, x, targets, spec, batch_size=6, seed=0)
    predicted = np.argmax(detector(tf.constant(adversarial)).numpy(), axis=1)
    moved = np.abs(adversarial - x).reshape(6, -1).max(axis=1) > 0
    assert moved.any() and np.all(predicted[moved] == targets[moved])  # C&W keeps only images that reached the target
    np.testing.assert_array_equal(success, (predicted == targets) & detector.bypasses(tf.constant(adversarial)))


def test_only_a_model_with_a_detector_has_one(setup):
    detector, _, _ = setup
    assert has_detector(detector) and not has_detector(tf.keras.Sequential([tf.keras.layers.Dense(2)]))
