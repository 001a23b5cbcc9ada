"""Training the VAE detector (unmask/vae_training.py) on the digits miniature: a few steps of the min-max
game (two rounds) separate benign from FGSM images better than chance; the game resumes after a kill without
repeating a finished round, and ends where an uninterrupted run ends."""

import numpy as np
import pytest
import tensorflow as tf

import unmask.vae_training as vae_training
from dataset_tools.digits import load_digits_split
from unmask.attack_specs import AttackSpec
from unmask.attacks import perturb_batches
from unmask.metrics import auc, roc_curve
from unmask.vae import VAEArchitecture, VAEDetector, architecture, batched
from unmask.vae_training import MinMaxSettings, TrainSettings, finished_rounds, minmax_train


@pytest.fixture(scope="module")
def digits():
    data = load_digits_split((0, 1, 2), seed=0)
    keep = np.concatenate([np.flatnonzero(data["y_train"] == c)[:40] for c in range(3)])
    return data["x_train"][keep], data["y_train"][keep], data["x_test"], data["y_test"]


def test_digits_miniature_shapes():
    data = load_digits_split((3, 7), test_fraction=0.5, seed=1)
    assert data["x_train"].shape[1:] == (28, 28, 1) and data["x_train"].dtype == np.float32
    assert 0.0 <= data["x_train"].min() and data["x_train"].max() <= 1.0 and data["x_train"].max() > 0.5
    assert set(np.unique(data["y_test"])) == {0, 1}
    with pytest.raises(ValueError, match="distinct integers in 0-9"):
        load_digits_split((1, 1))


def test_a_few_steps_separate_benign_from_fgsm(digits, tmp_path):
    x, y, x_test, y_test = digits
    tf.keras.utils.set_random_seed(0)
    settings = MinMaxSettings(TrainSettings(epochs=8, batch_size=32), AttackSpec("fgsm_w", 76.5, gamma=0.0,
                              gamma_search_steps=0), init_epochs=4, rounds=2, sources_per_class=60, seed=0)
    detector, rounds = minmax_train(VAEDetector(architecture("mnist"), 3), x, y, settings, tmp_path)
    assert [r["round"] for r in rounds] == [0, 1, 2] and rounds[1]["classes"][0]["attacked"] == 60
    adversarial = perturb_batches(detector, x_test, y_test, AttackSpec("fgsm", 76.5).resolved(), 128, seed=0)
    benign, attacked = batched(detector.score, x_test), batched(detector.score, adversarial)
    area = auc(roc_curve(np.r_[benign, attacked], np.r_[np.zeros(len(benign)), np.ones(len(attacked))]))
    print(f"\nVAE detector after {len(rounds) - 1} min-max rounds on 3 digit classes: benign vs FGSM AUC = {area:.3f}")
    assert area > 0.7


def test_minmax_resumes_after_a_kill_without_repeating_a_round(digits, tmp_path, monkeypatch):
    x, y, _, _ = digits
    keep = np.flatnonzero(y < 2)[::4]  # two classes, 20 images: the resume logic, not the detector, is tested
    x, y = x[keep], y[keep]
    tiny = VAEArchitecture("tiny", (28, 28, 1), 4, 4, 3, False, 4, 4, 4)
    settings = MinMaxSettings(TrainSettings(epochs=1, batch_size=16), AttackSpec(
        "mim_w", 127.5, steps=2, step_size=25.5, decay=0.9, gamma=1.0, gamma_search_steps=0), init_epochs=1,
        rounds=2, stop_ratio=0.0, sources_per_class=4, seed=3)

    def fresh() -> VAEDetector:
        tf.keras.utils.set_random_seed(3)
        return VAEDetector(tiny, 2)

    _, whole = minmax_train(fresh(), x, y, settings, tmp_path / "whole")

    attacked_rounds = []
    real_attack, real_train = vae_training.attack_toward, vae_training.train_class

    def counting_attack(*args, **kwargs):
        attacked_rounds.append(kwargs["seed"] // 100 % 10)
        return real_attack(*args, **kwargs)

    def killed_in_round_2(vae, x_b, x_a, train, epochs, seed):
        if seed // 100 % 10 == 2:
            raise KeyboardInterrupt("killed")
        return real_train(vae, x_b, x_a, train, epochs, seed)

    monkeypatch.setattr(vae_training, "attack_toward", counting_attack)
    monkeypatch.setattr(vae_training, "train_class", killed_in_round_2)
    with pytest.raises(KeyboardInterrupt):
        minmax_train(fresh(), x, y, settings, tmp_path / "killed")
    assert [r["round"] for r in finished_rounds(tmp_path / "killed", settings)] == [0, 1]
    stamp = tmp_path / "killed" / "rounds" / "round_001.json"
    before = stamp.stat().st_mtime_ns
    monkeypatch.setattr(vae_training, "train_class", real_train)
    attacked_rounds.clear()
    _, resumed = minmax_train(fresh(), x, y, settings, tmp_path / "killed")
    assert set(attacked_rounds) == {2} and stamp.stat().st_mtime_ns == before
    assert [r["round"] for r in resumed] == [0, 1, 2]
    for ours, theirs in zip(resumed, whole):
        assert ours.get("success_ratio") == theirs.get("success_ratio")
        assert ours["benign_accuracy"] == pytest.approx(theirs["benign_accuracy"])
    assert not (tmp_path / "killed" / "rounds" / "round_001").exists()  # only the last round's copy is kept
