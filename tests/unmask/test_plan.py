"""`unmask run PRESET --plan`: every job of a run, resolved, without TensorFlow and without writing anything."""
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml

from unmask import pipeline
from unmask.cli import main
from unmask.plan import describe_jobs, format_jobs
from unmask.presets import load_preset, preset_from_dict

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ROOT / "experiments"
OTHER_KINDS = ("experiment: classifier", "experiment: foreground", "experiment: vae")
PRESETS = sorted(p for p in EXPERIMENTS.glob("*.yaml") if not any(kind in p.read_text() for kind in OTHER_KINDS))
"""The UnMask presets (the other kinds have their own plans: test_classifier_experiment.py,
test_foreground_experiment.py, test_vae_experiment.py)."""


def kinds(jobs):
    return [job["kind"] for job in jobs]


def test_demo_plan_lists_every_job_in_order():
    preset = load_preset(EXPERIMENTS / "demo.yaml")
    jobs = describe_jobs(preset)
    n_cells = len(preset.class_sets) * (1 + len(preset.attacks))  # benign + each attacked budget
    assert kinds(jobs) == (
        ["synthetic_data", "convert_pascal_part", "class_set_folders", "part_extractor"]
        + ["model", "model_at"] * 4 + ["evaluation"] + ["defense"] * 4
        + [k for _ in preset.class_sets for k in ["benign_cell"] + ["attack_cell"] * len(preset.attacks)] + ["report"]
    )
    stages = [job["stage"] for job in jobs]
    assert {s: stages.count(s) for s in stages} == {"data": 3, "k": 1, "m": 8, "evaluate": 1 + 4 + n_cells, "report": 1}
    assert json.loads(json.dumps(jobs)) == jobs  # plain JSON


def test_demo_plan_resolves_the_settings():
    jobs = describe_jobs(load_preset(EXPERIMENTS / "demo.yaml"))
    by_kind = {}
    for job in jobs:
        by_kind.setdefault(job["kind"], []).append(job)
    synthetic = by_kind["synthetic_data"][0]
    assert (synthetic["n_images"], synthetic["size"], synthetic["seed"]) == (2000, 128, 0)
    assert synthetic["workers"] == (os.cpu_count() or 1)  # data.workers unset: one process per core
    assert synthetic["classes"] == ["car", "train", "person", "dog", "bird", "bottle"]  # generate()'s default
    split = by_kind["class_set_folders"][0]
    assert split["test_split"] == "flickr" and split["imagenet_role"] == "train" and split["val_fraction"] == 0.1
    assert by_kind["part_extractor"][0] == {
        "kind": "part_extractor", "stage": "k", "action": "load", "checkpoint": "checkpoints/demo/mask_rcnn_parts_demo.h5",
        "config": "small", "config_overrides": {"TRAIN_BN": True, "LEARNING_RATE": 0.01}}
    model, model_at = by_kind["model"][0], by_kind["model_at"][0]
    assert (model["arch"], model["image_size"], model["weights"], model["seed"]) == ("small_cnn", 128, None, 0)
    assert (model["preset"], model["epochs"], model["learning_rate"], model["adversarial_eps"]) == ("bigdata2020", 8, 0.01, None)
    assert (model_at["epochs"], model_at["learning_rate"], model_at["adversarial_eps"]) == (3, 0.01, 4.0)
    assert model_at["recipe"]["batch_size"] == 32 and model_at["recipe"]["adversarial_steps"] == 7
    attack = model_at["adversarial_attack"]  # the preset's own PGD-Linf step (2/255), 7 steps
    assert {k: attack[k] for k in ("name", "eps", "steps", "step_size", "random_start")} == {
        "name": "pgd_linf", "eps": 4.0, "steps": 7, "step_size": 2.0, "random_start": True}
    selection = model_at["epoch_selection_attack"]  # the original's AT epoch selection: PGD-Linf 8, 20 steps
    assert (selection["eps"], selection["steps"], selection["step_size"]) == (8.0, 20, 2.0)
    assert (model_at["action"], model_at["out_path"]) == ("load", "checkpoints/demo/models/small_cnn/CS3a_at.keras")
    evaluation = by_kind["evaluation"][0]
    assert (evaluation["max_test_images"], evaluation["max_heldout_images"], evaluation["threshold_fpr"]) == (100, 80, 0.1)
    assert evaluation["test_images"] == "data/demo/converted/classsets/<class set>/test"
    assert [d["name"] for d in by_kind["defense"]] == ["none", "adversarial_training", "unmask", "unmask_threshold"]
    attacks = {(c["attack"]["name"], c["attack"]["eps"]): c["attack"] for c in by_kind["attack_cell"]}
    assert len(attacks) == 7
    pgd = attacks[("pgd_linf", 8.0)]
    assert (pgd["steps"], pgd["step_size"], pgd["random_start"]) == (20, 2.0, True)
    assert attacks[("deepfool_l2", None)]["steps"] == 50
    assert attacks[("pgd_l2", 300.0)]["step_size"] == 75.0
    assert by_kind["report"][0]["out"] == "runs/demo/report"


def test_k_training_recipe_is_resolved(tmp_path):
    preset = load_preset(EXPERIMENTS / "demo_from_scratch.yaml")
    (job,) = [j for j in describe_jobs(preset, ("k",))]
    assert (job["action"], job["config"], job["flip"], job["init_weights"]) == ("train", "small", 0.5, None)
    assert job["schedule"] == [{"layers": "all", "epochs": 16}, {"layers": "all", "epochs": 24, "lr_factor": 0.1}]
    assert job["overrides"] == {"TRAIN_BN": True, "LEARNING_RATE": 0.01}


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.name)
def test_every_shipped_preset_has_a_plan(path):
    preset = load_preset(path)
    jobs = describe_jobs(preset)
    assert [j["stage"] for j in jobs if j["kind"] != "defense"] == sorted(
        (j["stage"] for j in jobs if j["kind"] != "defense"), key=preset.stages.index)
    assert kinds(jobs)[:2] in (["synthetic_data", "convert_pascal_part"], ["convert_pascal_part", "class_set_folders"])
    if "eps_search" in preset.stages:
        searches = [j for j in jobs if j["kind"] == "eps_search"]
        assert len(searches) == len(preset.models) * len(preset.class_sets)
        assert searches[0]["eps_values"] == [1.0, 2.0, 4.0, 6.0, 8.0, 16.0]
        assert [a["name"] for a in searches[0]["eval_attacks"]] == [a.name for a in preset.attacks]  # the paper's
        assert searches[0]["eval_attacks"][0]["steps"] == 20
    else:
        cells = [j for j in jobs if j["kind"] == "attack_cell"]
        assert len(cells) == len(preset.models) * len(preset.class_sets) * len(preset.attacks)
        assert all(c["attack"]["eps"] is None or c["attack"]["eps"] > 0 for c in cells)
        assert all(c["defenses"] == list(preset.defenses) for c in cells)
    text = format_jobs(jobs)
    assert text.startswith(f"{len(jobs)} jobs") and f"{len(jobs):>3}. [" in text


def test_plan_writes_nothing_and_imports_no_tensorflow(tmp_path):
    raw = yaml.safe_load((EXPERIMENTS / "demo_from_scratch.yaml").read_text())
    raw["output"] = str(tmp_path / "run")
    raw["data"]["root"] = str(tmp_path / "data")
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(raw))
    code = ("import sys; from unmask.presets import load_preset; from unmask.plan import describe_jobs, format_jobs; "
            "format_jobs(describe_jobs(load_preset(sys.argv[1]))); "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TensorFlow was imported'")
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, cwd=ROOT)
    assert [p.name for p in tmp_path.iterdir()] == ["p.yaml"]


def test_pipeline_trains_exactly_the_planned_models(monkeypatch, tmp_path):
    calls = []
    fake = types.ModuleType("unmask.training")
    fake.train_classifier = lambda **kwargs: calls.append(kwargs)
    monkeypatch.setitem(sys.modules, "unmask.training", fake)
    preset = load_preset(EXPERIMENTS / "demo_from_scratch.yaml")  # demo.yaml ships its models
    pipeline.prepare_models(preset)
    planned = [j for j in describe_jobs(preset, ("m",))]
    assert len(calls) == len(planned) == 8
    for call, job in zip(calls, planned):
        assert {k: str(v) if isinstance(v, Path) else v for k, v in call.items() if k != "class_names"} == {
            k: job[k] for k in call if k != "class_names"}
    # The demo's recipe, as the preset writes it: 8 epochs at lr 0.01; the AT twin 3 epochs at eps 4.
    assert {k: calls[0][k] for k in ("preset", "epochs", "learning_rate", "adversarial_eps", "weights", "image_size")} == {
        "preset": "bigdata2020", "epochs": 8, "learning_rate": 0.01, "adversarial_eps": None, "weights": None, "image_size": 128}
    assert (calls[1]["epochs"], calls[1]["learning_rate"], calls[1]["adversarial_eps"]) == (3, 0.01, 4.0)


def test_cli_plan_json_is_describe_jobs(capsys):
    path = str(EXPERIMENTS / "demo.yaml")
    assert main(["run", path, "--plan", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == describe_jobs(load_preset(path))
    assert main(["run", path, "--plan"]) == 0
    assert capsys.readouterr().out.strip() == format_jobs(describe_jobs(load_preset(path)))


def test_cli_run_fails_on_a_nested_typo_naming_the_key(tmp_path, capsys):
    raw = yaml.safe_load((EXPERIMENTS / "demo.yaml").read_text())
    raw["evaluation"]["max_test_image"] = raw["evaluation"].pop("max_test_images")
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["run", str(path), "--plan"]) == 2
    err = capsys.readouterr().err
    assert "evaluation.max_test_image: unknown key (did you mean max_test_images?)" in err and str(path) in err


def test_plan_of_a_preset_without_adversarial_training():
    preset = preset_from_dict({
        "name": "t", "data": {"root": "d", "imagenet": "test"}, "part_extractor": {"checkpoint": "k.h5"},
        "models": [{"arch": "vgg16", "train": {"preset": "kdd2019"}}], "class_sets": ["CS3a"],
        "attack_preset": "kdd2019", "attacks": [{"name": "fgsm", "eps": 8}], "stages": ["data", "m", "evaluate"]})
    jobs = describe_jobs(preset)
    assert kinds(jobs) == ["convert_pascal_part", "class_set_folders", "model", "evaluation", "defense", "defense",
                           "defense", "benign_cell", "attack_cell"]
    assert jobs[1]["test_split"] == "imagenet" and jobs[2]["preset"] == "kdd2019" and "epochs" not in jobs[2]
    assert jobs[2]["recipe"]["epochs"] == 30 and jobs[2]["recipe"]["freeze_base"] is True  # resolved from the recipe
    assert jobs[-1]["checkpoint_at"] is None and jobs[-1]["attack"]["name"] == "fgsm"


def test_paper_presets_plan_the_originals_split_and_ks_input():
    kdd = {job["kind"]: job for job in describe_jobs(load_preset(EXPERIMENTS / "kdd2019_table6.yaml"), ("data", "evaluate"))}
    folders = kdd["class_set_folders"]
    assert (folders["split"], folders["seed"], folders["val_fraction"], folders["test_fraction"]) == ("kdd2019", 4, 0.1, 0.4)
    assert folders["test_split"] == "imagenet" and "Random(seed)" in folders["split_rule"]
    assert kdd["evaluation"]["part_extractor"]["quantize"] is False
    legacy = {job["kind"]: job for job in describe_jobs(load_preset(EXPERIMENTS / "bigdata2020_table3_legacy.yaml"),
                                                          ("data", "evaluate"))}
    assert (legacy["class_set_folders"]["split"], legacy["class_set_folders"]["seed"]) == ("ours", 100)
    assert legacy["evaluation"]["part_extractor"]["quantize"] is True


def test_the_report_job_says_which_images_each_table_scores():
    from unmask.report import TABLES

    report = [j for j in describe_jobs(load_preset(EXPERIMENTS / "kdd2019_table6.yaml")) if j["kind"] == "report"][0]
    assert set(report["images_scored"]) == {stem for stem, _, _ in TABLES}
    assert "perturbed successfully" in report["images_scored"]["kdd2019_table6"]
