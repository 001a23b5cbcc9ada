"""Training M: best-epoch selection, logs, idempotence, adversarial training, the eps line search, train-m."""
import csv
import shutil

import numpy as np
import pytest

from unmask.classifiers import load_classifier, read_classifier_info
from unmask.training import format_eps_table, split_items, train_classifier
from unmask.parts import class_set


def test_session_model_learned_and_kept_its_best_epoch(trained_model):
    path, result = trained_model
    assert not result.reused and result.model_path == path
    scores = [row["score"] for row in result.history]
    assert result.best_epoch == int(np.argmax(scores)) + 1
    assert result.val_accuracy == max(scores) >= 0.7
    assert result.val_adv_accuracy is None
    with open(result.log_path) as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == list(range(1, len(result.history) + 1))
    info = read_classifier_info(path)
    assert info.class_names == class_set("CS3a") and info.arch == "small_cnn" and info.image_size == 32
    assert info.extra["best_epoch"] == result.best_epoch and info.extra["request"]["seed"] == 5


def test_rerun_reuses_the_model(trained_model, shapes_data, tiny_training):
    path, first = trained_model
    stamp = path.stat().st_mtime_ns
    again = train_classifier(shapes_data / "train", shapes_data / "val", class_set("CS3a"), "small_cnn", path,
                             **tiny_training)
    assert again.reused and path.stat().st_mtime_ns == stamp
    assert (again.best_epoch, again.val_accuracy, again.history) == (first.best_epoch, first.val_accuracy, first.history)


def test_changed_request_retrains(trained_model, shapes_data, tiny_training, tmp_path):
    copy = tmp_path / "m.keras"
    shutil.copy(trained_model[0], copy)
    shutil.copy(trained_model[0].with_suffix(".json"), copy.with_suffix(".json"))
    changed = {**tiny_training, "epochs": 1}
    result = train_classifier(shapes_data / "train", None, class_set("CS3a"), "small_cnn", copy, **changed)
    assert not result.reused and len(result.history) == 1
    assert read_classifier_info(copy).extra["request"]["val_dir"] is None


def test_changed_images_in_the_same_folders_retrain(trained_model, shapes_data, tiny_training, tmp_path):
    """Regenerated data (e.g. another synthetic difficulty) at the same path is not the data M was trained on."""
    data = tmp_path / "CS3a"
    shutil.copytree(shapes_data, data)
    copy = tmp_path / "m.keras"
    shutil.copy(trained_model[0], copy)
    shutil.copy(trained_model[0].with_suffix(".json"), copy.with_suffix(".json"))
    settings = {**tiny_training, "epochs": 1}
    first = train_classifier(data / "train", data / "val", class_set("CS3a"), "small_cnn", copy, **settings)
    assert not first.reused  # another folder path and epochs: a new request
    assert train_classifier(data / "train", data / "val", class_set("CS3a"), "small_cnn", copy, **settings).reused
    victim = next((data / "train" / class_set("CS3a")[0]).iterdir())
    victim.write_bytes(victim.read_bytes() + b"\0" * 16)  # same name, other content (and size)
    again = train_classifier(data / "train", data / "val", class_set("CS3a"), "small_cnn", copy, **settings)
    assert not again.reused
    assert read_classifier_info(copy).extra["request"]["images"] != read_classifier_info(trained_model[0]).extra["request"]["images"]


def test_adversarial_training_selects_on_benign_and_adversarial_accuracy(shapes_data, tiny_training, tmp_path):
    settings = {**tiny_training, "epochs": 2}
    result = train_classifier(shapes_data / "train", shapes_data / "val", class_set("CS3a"), "small_cnn",
                              tmp_path / "at.keras", adversarial_eps=4, **settings)
    for row in result.history:
        assert row["score"] == pytest.approx((row["val_accuracy"] + row["val_adv_accuracy"]) / 2)
    assert result.best_epoch == int(np.argmax([r["score"] for r in result.history])) + 1
    _, info = load_classifier(result.model_path)
    spec = info.extra["adversarial_spec"]
    assert (spec["name"], spec["eps"], spec["steps"], spec["step_size"]) == ("pgd_linf", 4, 7, 510.0)
    # the kept epoch is chosen under the original's selection attack: PGD-Linf eps 8, the preset's 20 steps
    selection = info.extra["selection_spec"]
    assert (selection["eps"], selection["steps"], selection["step_size"]) == (8, 20, 510.0)


def test_adversarial_training_uses_the_given_attack_preset(shapes_data, tiny_training, tmp_path):
    settings = {**tiny_training, "epochs": 1}
    result = train_classifier(shapes_data / "train", shapes_data / "val", class_set("CS3a"), "small_cnn",
                              tmp_path / "at.keras", adversarial_eps=4, attack_preset="bigdata2020_corrected", **settings)
    _, info = load_classifier(result.model_path)
    assert info.extra["adversarial_spec"]["step_size"] == 2.0 and info.extra["selection_spec"]["step_size"] == 2.0
    assert info.extra["request"]["attack_preset"] == "bigdata2020_corrected"


def test_flips_follow_the_recipe_and_preprocessing_can_be_raw(shapes_data, tiny_training, tmp_path):
    settings = {**tiny_training, "epochs": 1}
    plain = train_classifier(shapes_data / "train", shapes_data / "val", class_set("CS3a"), "small_cnn",
                             tmp_path / "plain.keras", **settings)
    flipped = train_classifier(shapes_data / "train", shapes_data / "val", class_set("CS3a"), "small_cnn",
                               tmp_path / "flipped.keras", flip=True, preprocessing="raw", **settings)
    plain_model, plain_info = load_classifier(plain.model_path)
    flipped_model, flipped_info = load_classifier(flipped.model_path)
    assert plain_info.extra["request"]["flip"] is False and flipped_info.extra["request"]["flip"] is True
    assert plain_model.get_layer("preprocess").mode == "symmetric" and flipped_model.get_layer("preprocess").mode == "raw"
    assert plain.history[0]["train_loss"] != flipped.history[0]["train_loss"]


def test_split_is_seeded_and_disjoint():
    items = [(f"{i}.jpg", i % 3) for i in range(50)]
    train, val = split_items(items, 0.1, seed=5)
    assert len(val) == 5 and not set(train) & set(val) and len(train) + len(val) == 50
    assert split_items(items, 0.1, seed=5) == (train, val) != split_items(items, 0.1, seed=6)


def test_eps_table_marks_the_best_score():
    rows = [{"train_eps": 2.0, "val_accuracy": 0.9, "score": 0.6, "model": "a"},
            {"train_eps": 4.0, "val_accuracy": 0.8, "score": 0.7, "model": "b"}]
    lines = format_eps_table(rows).splitlines()
    assert lines[0] == "| train_eps | val_accuracy | score | best |"
    assert lines[3] == "| 4 | 0.8000 | 0.7000 | * |" and lines[2].endswith("|  |")


def test_train_m_command_eps_search(shapes_data, tmp_path, capsys):
    from unmask.cli import main

    out = tmp_path / "search"
    code = main(["train-m", "--data", str(shapes_data), "--arch", "small_cnn", "--epochs", "1", "--image-size", "32",
                 "--batch-size", "32", "--eps-search", "2,4", "--eval-eps", "8", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "| train_eps | val_accuracy | val_adv_accuracy_pgd_linf:8 | score | best |" in printed
    assert sorted(p.name for p in out.glob("*.keras")) == ["small_cnn_at_eps2.keras", "small_cnn_at_eps4.keras"]
    assert (out / "eps_search.md").read_text() == printed
    assert len(printed.splitlines()) == 4 and printed.count("*") == 1


def test_train_m_command_errors(shapes_data, tmp_path, monkeypatch, capsys):
    from unmask.cli import main

    assert main(["train-m", "--data", str(tmp_path), "--arch", "small_cnn"]) == 2  # folder name is no class set
    assert main(["train-m", "--data", str(shapes_data), "--arch", "resnet18", "--out", str(tmp_path / "m.keras")]) == 2
    assert "unknown architecture 'resnet18'" in capsys.readouterr().err
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty_keras_home"))
    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path))
    assert main(["train-m", "--data", str(shapes_data), "--arch", "resnet50", "--out", str(tmp_path / "m.keras")]) == 2
    assert "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5" in capsys.readouterr().err
