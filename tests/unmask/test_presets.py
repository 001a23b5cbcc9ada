"""Preset loading: every key typed and checked before any work, errors naming file, key path and choices."""
import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from unmask import presets, registry
from unmask.presets import PresetError, given, key_table, load_preset, preset_from_dict

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ROOT / "experiments"


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


def with_model(**changes):
    return minimal(models=[{"arch": "small_cnn", **changes}])


def test_minimal_preset_defaults():
    preset = preset_from_dict(minimal())
    assert preset.class_sets == ("CS3a",)
    assert [(a.name, a.eps) for a in preset.attacks] == [("pgd_linf", 8.0), ("pgd_linf", 16.0), ("deepfool_l2", None)]
    assert preset.models[0].weights is None and preset.models[0].name == "small_cnn"
    assert preset.output == Path("runs/t") and preset.seed == 0 and preset.paper == "demo"
    assert preset.data.parts_dir == Path("data/x/converted/parts")
    assert preset.data.classsets_dir == Path("data/x/converted/classsets")
    assert preset.evaluation == presets.EvaluationSpec()
    assert preset.evaluation.fpr_targets == (0.05, 0.1) and preset.evaluation.max_test_images is None
    assert preset.extractor.batch_size == 1 and preset.extractor.train is None
    assert preset.defenses == ("none", "unmask", "unmask_threshold")
    assert preset.source["name"] == "t"


@pytest.mark.parametrize(
    "changes, path, message",
    [
        (with_model(train={"epcohs": 3}), "models[0].train.epcohs", "did you mean epochs"),
        ({"evalution": {}}, "evalution", "did you mean evaluation"),
        ({"evaluation": {"max_test_image": 5}}, "evaluation.max_test_image", "max_test_images"),
        (with_model(adversarial_training={"epz": 4}), "models[0].adversarial_training.epz", "valid keys: eps, train"),
        (with_model(adversarial_training={}), "models[0].adversarial_training.eps", "missing required key"),
        ({"evaluation": {"max_test_images": "abc"}}, "evaluation.max_test_images", "expected an integer"),
        ({"evaluation": {"threshold_fpr": 2}}, "evaluation.threshold_fpr", r"in \[0, 1\]"),
        ({"evaluation": {"batch_size": 0}}, "evaluation.batch_size", ">= 1"),
        ({"evaluation": {"fpr_targets": 0.1}}, "evaluation.fpr_targets", "expected a list"),
        ({"evaluation": {"fpr_targets": [0.1, 1.5]}}, "evaluation.fpr_targets[1]", r"in \[0, 1\]"),
        ({"seed": "abc"}, "seed", "expected an integer"),
        ({"seed": 1.5}, "seed", "expected an integer"),
        ({"attacks": [{"name": "fgsm", "eps": "eight"}]}, "attacks[0].eps", "expected a number"),
        ({"attacks": [{"name": "fgsm", "eps": -1}]}, "attacks[0].eps", "> 0"),
        ({"attacks": [{"name": "fgsm", "eps": [8, 0]}]}, "attacks[0].eps[1]", "> 0"),
        ({"attacks": [{"name": "pgd_linf"}]}, "attacks[0].eps", "needs eps"),
        ({"attacks": [{"name": "deepfool_l2", "eps": 8}]}, "attacks[0].eps", "minimal"),
        ({"attacks": [{"name": "cw", "eps": 8}]}, "attacks[0].name", "pgd_linf"),
        ({"attacks": []}, "attacks", "at least one"),
        (with_model(train={"epochs": 2.5}), "models[0].train.epochs", "expected an integer"),
        (with_model(train={"epochs": True}), "models[0].train.epochs", "expected an integer"),
        (with_model(train={"batch_size": 0}), "models[0].train.batch_size", ">= 1"),
        (with_model(train={"preset": "iclr"}), "models[0].train.preset", "bigdata2020, kdd2019"),
        (with_model(train={"progress": "no"}), "models[0].train.progress", "true or false"),
        ({"data": {"root": "d", "flickr": 1}}, "data.flickr", "true or false"),
        ({"data": {"root": "d", "imagenet": "val"}}, "data.imagenet", "train, test"),
        ({"data": {"root": "d", "imagenet": "test", "flickr": True}}, "data", "not both"),
        ({"data": {"flickr": True}}, "data.root", "missing required key"),
        ({"data": {"root": "d", "synthetic": {"n_image": 5}}}, "data.synthetic.n_image", "n_images"),
        ({"data": {"root": "d", "synthetic": {"classes": ["dog", "unicorn"]}}}, "data.synthetic.classes[1]", "person"),
        ({"part_extractor": {"checkpoint": "k.h5", "train": {"schedule": [{"layers": "all"}]}}},
         "part_extractor.train.schedule[0].epochs", "missing required key"),
        ({"part_extractor": {"checkpoint": "k.h5", "config": "large"}}, "part_extractor.config", "small, matterport"),
        ({"part_extractor": {"checkpoint": "k.h5", "config_overrides": [1]}}, "part_extractor.config_overrides", "mapping"),
        ({"models": [{"arch": "resnet18"}]}, "models[0].arch", "resnet50"),
        ({"models": [{"arch": "vgg16"}, {"arch": "vgg16"}]}, "models", "unique"),
        ({"models": []}, "models", "at least one"),
        ({"class_sets": ["CS9"]}, "class_sets[0]", "CS3a"),
        ({"paper": "iclr"}, "paper", "kdd2019"),
        ({"attack_preset": "iclr"}, "attack_preset", "bigdata2020_legacy"),
        ({"attack_preset": "kdd2019", "attacks": [{"name": "mim_l2", "eps": 300}]}, "attacks", "has no attack"),
        ({"stages": ["train"]}, "stages[0]", "eps_search"),
        ({"stages": ["eps_search"]}, "stages", "eps_search section"),
        ({"eps_search": {"eps": [1, "two"]}}, "eps_search.eps[1]", "expected a number"),
        ({"defenses": ["none", "feature_squeezing"]}, "defenses[1]", "unmask_threshold"),
        ({"defenses": ["none", "adversarial_training"]}, "defenses", "no model has an adversarial_training"),
        ({"name": 7}, "name", "expected a string"),
        ({"name": "../escape"}, "name", "cannot name a results file"),
        ({"models": [{"arch": "vgg16", "name": "../../../x"}]}, "models[0].name", "cannot name a results file"),
        ({"output": "../../tmp/escape"}, "output", "leaves the working directory"),
    ],
)
def test_bad_presets_fail_naming_the_key_path(changes, path, message):
    with pytest.raises(PresetError, match=message) as info:
        preset_from_dict(minimal(**changes), "p.yaml")
    assert info.value.path == path
    assert str(info.value).startswith(f"preset p.yaml: {info.value.path}: ")


def test_none_and_null_mean_the_default():
    preset = preset_from_dict(minimal(output=None, data={"root": "d", "imagenet": "none", "synthetic": None}))
    assert preset.output == Path("runs/t") and preset.data.imagenet is None and preset.data.synthetic is None


def test_floats_read_from_yaml_strings_and_ints():
    raw = yaml.safe_load("learning_rate: 1e-3")  # PyYAML reads 1e-3 (no dot) as a string
    preset = preset_from_dict(with_model(train={**raw, "epochs": 4}, adversarial_training={"eps": 4}))
    assert preset.models[0].train.learning_rate == 0.001
    assert preset.models[0].adversarial_training.eps == 4.0 and isinstance(preset.models[0].adversarial_training.eps, float)


def test_adversarial_training_recipe_and_default_defenses():
    preset = preset_from_dict(with_model(train={"epochs": 8, "learning_rate": 0.01},
                                         adversarial_training={"eps": 4, "train": {"epochs": 3}}))
    model = preset.models[0]
    assert given(model.train) == {"epochs": 8, "learning_rate": 0.01}
    assert given(model.adversarial_train()) == {"epochs": 3, "learning_rate": 0.01}
    assert preset.defenses == ("none", "adversarial_training", "unmask", "unmask_threshold")
    chosen = preset_from_dict(minimal(defenses=["unmask"]))
    assert chosen.defenses == ("unmask",)


def test_given_passes_only_set_fields_and_nested_sections_as_dicts():
    preset = preset_from_dict(minimal(part_extractor={
        "checkpoint": "k.h5", "train": {"schedule": [{"layers": "heads", "epochs": 2}, {"layers": "all", "epochs": 4, "lr_factor": 0.1}]}}))
    assert given(preset.extractor.train) == {
        "schedule": ({"layers": "heads", "epochs": 2}, {"layers": "all", "epochs": 4, "lr_factor": 0.1}), "config": {}}


def test_names_are_read_from_the_registry_when_checked():
    entry = registry.register(registry.ArchInfo("tiny_test_arch", "Tiny", "x:y", "symmetric", None))
    try:
        assert preset_from_dict(with_model(arch="tiny_test_arch")).models[0].arch == "tiny_test_arch"
    finally:
        registry.unregister(entry)
    with pytest.raises(PresetError, match="tiny_test_arch"):
        preset_from_dict(with_model(arch="tiny_test_arch"))


def test_training_recipes_are_read_from_the_registry():
    assert preset_from_dict(with_model(train={"preset": "kdd2019"})).models[0].train.preset == "kdd2019"
    with pytest.raises(PresetError, match="bigdata2020, kdd2019") as info:
        preset_from_dict(with_model(train={"preset": "iclr"}))
    assert info.value.path == "models[0].train.preset"


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_preset(tmp_path / "nope.yaml")


def test_yaml_syntax_error_names_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: t\nmodels: [a, b\nseed: 1\n")
    with pytest.raises(PresetError) as info:
        load_preset(path)
    assert str(path) in str(info.value) and "line" in str(info.value)
    assert "<unicode string>" not in str(info.value)


def test_refused_yaml_tag_is_one_line_naming_the_file(tmp_path):
    path = tmp_path / "tagged.yaml"
    path.write_text("name: !!python/object:os.system {}\n")
    with pytest.raises(PresetError) as info:
        load_preset(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and "plain YAML" in message


def test_a_nested_typo_in_a_file_names_file_and_key_path(tmp_path):
    raw = yaml.safe_load((EXPERIMENTS / "demo.yaml").read_text())
    raw["models"][0]["train"]["epcohs"] = raw["models"][0]["train"].pop("epochs")
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(PresetError, match=re.escape(f"preset {path}: models[0].train.epcohs: unknown key")):
        load_preset(path)


def test_loading_imports_no_tensorflow():
    code = ("import sys; from unmask.presets import load_preset; load_preset(sys.argv[1]); "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TensorFlow was imported'")
    for name in ("demo.yaml", "bigdata2020_table3_legacy.yaml"):
        subprocess.run([sys.executable, "-c", code, str(EXPERIMENTS / name)], check=True, cwd=ROOT)


def test_fingerprint_changes_with_inputs():
    preset = preset_from_dict(minimal())
    assert preset.fingerprint("a", 1) == preset.fingerprint("a", 1)
    assert preset.fingerprint("a", 1) != preset.fingerprint("a", 2)
    assert preset.fingerprint(preset.evaluation) != preset.fingerprint(dataclasses.replace(preset.evaluation, batch_size=8))


@pytest.mark.parametrize("path", sorted(EXPERIMENTS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_presets_load(path):
    preset = load_preset(path)
    assert preset.name and (isinstance(preset, presets.VAEPreset) or (preset.models and preset.attacks))
    assert yaml.safe_load(path.read_text())["name"] == preset.name


def test_only_the_legacy_preset_uses_the_legacy_part_labelling():
    loaded = {p.stem: load_preset(p) for p in EXPERIMENTS.glob("*.yaml")}
    legacy = {name for name, preset in loaded.items() if isinstance(preset, presets.Preset) and preset.data.legacy_parts}
    assert legacy == {"bigdata2020_table3_legacy", "thesis2021_table7_legacy", "thesis2021_tables45"}


def test_demo_preset_values():
    preset = load_preset(EXPERIMENTS / "demo.yaml")
    model = preset.models[0]
    assert (model.arch, model.image_size, model.weights) == ("small_cnn", 128, None)
    assert given(model.train) == {"preset": "bigdata2020", "epochs": 8, "learning_rate": 0.01, "flip": True}
    assert model.adversarial_training.eps == 4.0 and given(model.adversarial_train())["epochs"] == 3
    assert model.checkpoints == Path("checkpoints/demo/models/small_cnn")  # shipped; demo_from_scratch trains
    assert load_preset(EXPERIMENTS / "demo_from_scratch.yaml").models[0].checkpoints is None
    assert given(preset.data.synthetic) == {"n_images": 2000, "size": 128, "seed": 0, "imagenet_per_class": 60,
                                            "flickr_per_class": 50, "difficulty": "hard"}
    assert preset.extractor.config_overrides == {"TRAIN_BN": True, "LEARNING_RATE": 0.01}
    assert (preset.evaluation.max_test_images, preset.evaluation.max_heldout_images) == (100, 80)
    assert preset.stages == presets.DEFAULT_STAGES


def test_stages_and_eps_search_section():
    preset = preset_from_dict(minimal(stages=["data", "eps_search"], eps_search={"eps": [1, 4]}))
    assert preset.stages == ("data", "eps_search")
    assert given(preset.eps_search) == {"eps_values": (1.0, 4.0)}
    assert preset_from_dict(minimal()).stages == ("data", "k", "m", "evaluate", "report")


def _sections(cls=presets.Preset, seen=None):
    seen = seen if seen is not None else {}
    for f in dataclasses.fields(cls):
        seen.setdefault(cls, []).append(f)
        tp = presets._read_type(cls, f)
        section, _ = presets._section_of(tp)
        if section is not None and section not in seen:
            _sections(section, seen)
    return seen


def test_readme_documents_every_key():
    readme = (EXPERIMENTS / "README.md").read_text()
    table = readme.split("<!-- keys: generated by unmask.presets.key_table() -->\n")[1].split("\n<!-- end keys -->")[0]
    assert table == key_table(), "regenerate the key table of experiments/README.md with unmask.presets.key_table()"
    for cls, fields in _sections().items():
        for f in fields:
            if not f.metadata.get("internal"):
                assert f"{f.metadata.get('yaml') or f.name}` |" in table, (cls.__name__, f.name)


def test_readme_example_loads():
    readme = (EXPERIMENTS / "README.md").read_text()
    example = readme.split("## Keys")[1].split("```yaml\n")[1].split("```")[0]
    preset = preset_from_dict(yaml.safe_load(example))
    assert preset.models[0].adversarial_training.eps == 4.0
