"""Preset validation: every bad name fails before work, with the valid choices in the message."""
from pathlib import Path

import pytest
import yaml

from unmask.presets import PresetError, load_preset, preset_from_dict

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def minimal(**changes):
    raw = {
        "name": "t",
        "data": {"root": "data/x"},
        "part_extractor": {"checkpoint": "k.h5", "config": "small"},
        "models": [{"arch": "small_cnn", "image_size": 32, "weights": "none"}],
        "class_sets": ["cs3-1"],
        "attack_preset": "demo",
        "attacks": [{"name": "pgd_linf", "eps": [8, 16]}, {"name": "deepfool_l2"}],
    }
    raw.update(changes)
    return raw


def test_minimal_preset_defaults():
    preset = preset_from_dict(minimal())
    assert preset.class_sets == ("CS3a",)
    assert [(a.name, a.eps) for a in preset.attacks] == [("pgd_linf", 8.0), ("pgd_linf", 16.0), ("deepfool_l2", None)]
    assert preset.models[0].weights is None and preset.models[0].name == "small_cnn"
    assert preset.output == Path("runs/t")
    assert preset.data.parts_dir == Path("data/x/converted/parts")
    assert preset.evaluation.fpr_targets == (0.05, 0.1)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"models": [{"arch": "resnet18"}]}, "resnet50"),
        ({"class_sets": ["CS9"]}, "CS3a"),
        ({"attacks": [{"name": "cw", "eps": 8}]}, "pgd_linf"),
        ({"attacks": [{"name": "pgd_linf"}]}, "needs eps"),
        ({"attacks": [{"name": "fgsm", "eps": -1}]}, "negative"),
        ({"attacks": [{"name": "deepfool_l2", "eps": 8}]}, "minimal"),
        ({"paper": "iclr"}, "kdd2019"),
        ({"models": [{"arch": "vgg16"}, {"arch": "vgg16"}]}, "unique"),
        ({"attack_preset": "iclr"}, "bigdata2020_legacy"),
        ({"attack_preset": "kdd2019", "attacks": [{"name": "mim_l2", "eps": 300}]}, "has no attack"),
    ],
)
def test_bad_presets_fail_with_choices(changes, message):
    with pytest.raises(PresetError, match=message):
        preset_from_dict(minimal(**changes))


def test_every_preset_arch_has_a_builder():
    from unmask.classifiers import _APPLICATIONS
    from unmask.presets import MODEL_ARCHS

    assert set(MODEL_ARCHS) == set(_APPLICATIONS) | {"small_cnn"}


def test_missing_key_named():
    raw = minimal()
    del raw["part_extractor"]
    with pytest.raises(PresetError, match="part_extractor"):
        preset_from_dict(raw)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_preset(tmp_path / "nope.yaml")


def test_fingerprint_changes_with_inputs():
    preset = preset_from_dict(minimal())
    assert preset.fingerprint("a", 1) == preset.fingerprint("a", 1)
    assert preset.fingerprint("a", 1) != preset.fingerprint("a", 2)


@pytest.mark.parametrize("path", sorted(EXPERIMENTS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_presets_load(path):
    preset = load_preset(path)
    assert preset.name and preset.models and preset.attacks
    assert yaml.safe_load(path.read_text())["name"] == preset.name


def test_stages_and_eps_search_section():
    preset = preset_from_dict(minimal(stages=["data", "eps_search"], eps_search={"eps": [1, 4]}))
    assert preset.stages == ("data", "eps_search") and preset.eps_search == {"eps": [1, 4]}
    assert preset_from_dict(minimal()).stages == ("data", "k", "m", "evaluate", "report")
    with pytest.raises(PresetError, match="eps_search section"):
        preset_from_dict(minimal(stages=["eps_search"]))
    with pytest.raises(PresetError, match="stage"):
        preset_from_dict(minimal(stages=["train"]))
