"""The classifier-only experiment (thesis Table 6, CIFAR-10): the preset, the missing-batches message,
and a whole run on a fabricated CIFAR-10 in the standard pickle layout."""
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from dataset_tools.cifar10 import FILES, check_cifar10, export_cifar10
from unmask import classifiers
from unmask.evaluation import MissingInputError
from unmask.pipeline import run
from unmask.plan import describe_jobs
from unmask.presets import ClassifierPreset, PresetError, load_preset, preset_from_dict

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def fake_cifar10(folder: Path, per_batch: int = 20) -> Path:
    """CIFAR-10's python layout with ``per_batch`` images per batch, each class a flat colour plus noise."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in FILES[:-1]:
        labels = [i % 10 for i in range(per_batch)]
        images = np.stack([np.clip(np.full((3, 32, 32), 25 * label) + rng.normal(0, 8, (3, 32, 32)), 0, 255)
                           for label in labels]).astype(np.uint8).reshape(per_batch, -1)
        (folder / name).write_bytes(pickle.dumps({b"data": images, b"labels": labels}))
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [n.encode() for n in NAMES]}))
    return folder


def test_table6_preset():
    preset = load_preset(EXPERIMENTS / "thesis2021_table6_cifar10.yaml")
    assert isinstance(preset, ClassifierPreset) and preset.paper == "thesis2021"
    assert [(m.name, m.arch, m.adversarial_training.eps) for m in preset.models] == [
        ("resnet101", "resnet101", 10.0), ("resnet101_fd1", "resnet101_fd1", 10.0)]
    assert [(a.name, a.eps) for a in preset.attacks] == [("pgd_linf", 10.0)]
    kinds = [job["kind"] for job in describe_jobs(preset)]
    assert kinds == ["cifar10_folders"] + ["model", "model_at"] * 2 + ["top1"] * 4


def test_classifier_presets_are_checked_like_the_others():
    raw = {"name": "c", "experiment": "classifier", "cifar10": "x", "models": [{"arch": "small_cnn"}],
           "attacks": [{"name": "pgd_linf", "eps": 10}], "class_sets": ["CS3a"]}
    with pytest.raises(PresetError, match="class_sets: unknown key"):
        preset_from_dict(raw)
    raw.pop("class_sets")
    raw["models"] *= 2
    with pytest.raises(PresetError, match="models: names must be unique"):
        preset_from_dict(raw)


def test_missing_batches_and_weights_stop_the_run_before_any_work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(classifiers, "keras_cache_dirs", lambda: [tmp_path / "keras"])
    preset = load_preset(EXPERIMENTS / "thesis2021_table6_cifar10.yaml")
    with pytest.raises(MissingInputError) as info:
        run(preset)
    message = str(info.value)
    assert "nothing was run" in message and "cifar-10-python.tar.gz" in message
    for name in FILES:
        assert f"cifar-10-batches-py/{name}" in message
    assert "ImageNet weights of resnet101" in message
    assert not (tmp_path / "runs").exists() and not (tmp_path / "data").exists()
    folder = fake_cifar10(tmp_path / "partial")
    (folder / "test_batch").unlink()
    with pytest.raises(FileNotFoundError, match=r"missing: \S*test_batch\. Unpack"):
        check_cifar10(folder)


def test_a_whole_run_on_a_fabricated_cifar10(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fake_cifar10(tmp_path / "batches", per_batch=40)
    summary = export_cifar10(tmp_path / "batches", tmp_path / "other", val_fraction=0.2, seed=0)
    assert summary["classes"] == NAMES and set(summary["counts"]["test"].values()) == {4}
    assert set(summary["counts"]["val"].values()) == {4} and set(summary["counts"]["train"].values()) == {16}  # per class
    with pytest.raises(ValueError, match="another folder"):
        export_cifar10(tmp_path / "batches", tmp_path / "other", val_fraction=0.1, seed=0)
    preset = preset_from_dict({
        "name": "cifar", "experiment": "classifier", "paper": "thesis2021", "cifar10": "batches",
        "data_dir": "folders", "attack_preset": "bigdata2020_corrected", "attacks": [{"name": "pgd_linf", "eps": 10}],
        "models": [{"name": "resnet101", "arch": "small_cnn", "image_size": 32, "weights": "none",
                    "train": {"epochs": 1, "batch_size": 20, "progress": False},
                    "adversarial_training": {"eps": 10}}]})
    run_dir = run(preset)
    rows = json.loads((run_dir / "results.json").read_text())["rows"]
    assert [(r["model"], r["adversarial"]) for r in rows] == [("resnet101", False), ("resnet101", True)]
    for row in rows:
        assert set(row["accuracy"]) == {"none", "pgd_linf:10"} and all(0 <= v <= 1 for v in row["accuracy"].values())
    report = (run_dir / "report" / "report.md").read_text()
    assert "(paper 95.40)" in report and "(paper 81.49)" in report and "(paper 59.21)" in report
    assert json.loads((run_dir / "run.json").read_text())["timings_s"]["data"] >= 0


def test_readme_documents_every_classifier_preset_key():
    from unmask.presets import key_table

    readme = (EXPERIMENTS / "README.md").read_text()
    marker = "<!-- classifier keys: generated by unmask.presets.key_table(ClassifierPreset) -->\n"
    table = readme.split(marker)[1].split("\n<!-- end classifier keys -->")[0]
    assert table == key_table(ClassifierPreset), "regenerate the classifier key table of experiments/README.md"
