"""The thesis' presets (Xiong 2021 Tables 4-5 and 7): their settings, and that a run stops before any
work, naming every missing file, when the real data, K or the ImageNet weights are absent."""
from pathlib import Path

import pytest

from unmask import classifiers
from unmask.evaluation import MissingInputError
from unmask.paper_numbers import THESIS_SWEEP
from unmask.pipeline import check_stage_inputs
from unmask.plan import describe_jobs
from unmask.presets import PresetError, load_preset, preset_from_dict

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
ATTACKS = {("pgd_linf", 8.0), ("pgd_linf", 16.0), ("pgd_l2", 300.0), ("pgd_l2", 600.0),
           ("mim_linf", 8.0), ("mim_linf", 16.0), ("mim_l2", 300.0), ("mim_l2", 600.0)}


@pytest.mark.parametrize("name, attack_preset", [("thesis2021_table7_legacy", "bigdata2020_legacy"),
                                                 ("thesis2021_table7_corrected", "bigdata2020_corrected")])
def test_table7_presets_compare_ours_with_the_baseline(name, attack_preset):
    preset = load_preset(EXPERIMENTS / f"{name}.yaml")
    assert (preset.paper, preset.attack_preset) == ("thesis2021", attack_preset)
    assert [(m.name, m.arch, m.weights, m.adversarial_training) for m in preset.models] == [
        ("resnet101_fd", "resnet101_fd", "imagenet", None), ("densenet121", "densenet121", "imagenet", None)]
    assert {(a.name, a.eps) for a in preset.attacks} == ATTACKS and len(preset.attacks) == 8
    assert preset.defenses == ("none", "unmask", "unmask_threshold")
    assert preset.class_sets == ("CS3a", "CS3b", "CS5a", "CS5b") and preset.data.subsample is None


def test_tables45_preset_sweeps_architectures_and_optimisers_on_a_subsample():
    preset = load_preset(EXPERIMENTS / "thesis2021_tables45.yaml")
    assert tuple(m.name for m in preset.models) == THESIS_SWEEP
    optimisers = {m.name: (m.arch, m.train.optimizer or "sgd") for m in preset.models}
    assert optimisers["resnet152_adam"] == ("resnet152", "adam") and optimisers["resnet50_sgd"] == ("resnet50", "sgd")
    assert preset.data.subsample == 0.1
    assert preset.data.classsets_dir == Path("data/real/converted/classsets_subsample")
    jobs = {job["kind"]: job for job in describe_jobs(preset)}
    assert jobs["class_set_folders"]["out"] == "data/real/converted/classsets"
    assert (jobs["class_set_subsample"]["out"], jobs["class_set_subsample"]["fraction"]) == (
        "data/real/converted/classsets_subsample", 0.1)
    m_jobs = [job for job in describe_jobs(preset) if job["kind"] == "model" and job["model"].endswith("_adam")]
    assert len(m_jobs) == 8 and all(job["recipe"]["optimizer"] == "adam" and job["recipe"]["learning_rate"] == 0.001
                                    and "classsets_subsample" in job["train_dir"] for job in m_jobs)


def test_subsample_is_checked():
    base = {"name": "x", "data": {"root": "d", "subsample": 0}, "part_extractor": {"checkpoint": "k.h5"},
            "models": [{"arch": "small_cnn"}], "class_sets": ["CS3a"], "attacks": [{"name": "fgsm", "eps": 8}]}
    with pytest.raises(PresetError, match="data.subsample: must be > 0"):
        preset_from_dict(base)
    base["data"] = {"root": "d", "subsample": 0.1, "classsets_dir": "d/converted/classsets"}
    with pytest.raises(PresetError, match="data.classsets_dir: with subsample"):
        preset_from_dict(base)


@pytest.mark.parametrize("name", ["thesis2021_table7_legacy", "thesis2021_table7_corrected", "thesis2021_tables45"])
def test_missing_data_k_and_imagenet_weights_stop_the_run_before_any_work(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(classifiers, "keras_cache_dirs", lambda: [tmp_path / "keras" / "models"])
    preset = load_preset(EXPERIMENTS / f"{name}.yaml")
    with pytest.raises(MissingInputError) as info:
        check_stage_inputs(preset, preset.stages)
    message = str(info.value)
    assert "nothing was run" in message
    for expected in ("data/real/VOC2010/JPEGImages", "data/real/imagenet", "data/real/flickr",
                     "checkpoints/mask_rcnn_parts_0040.h5", "keras/models/"):
        assert expected in message, expected
    archs = {m.arch for m in preset.models}
    for arch in archs:
        assert f"ImageNet weights of {arch}" in message
    assert message.count("resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5") <= 2  # each file named once
    assert not (tmp_path / "runs").exists()
