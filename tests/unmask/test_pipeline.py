"""End to end on a tiny synthetic tree: data -> K -> M -> attacks -> evaluation -> report, then resume.

Everything is tiny (64 px scenes, a few K steps, one M epoch, a handful of test images) so the
module runs in a few minutes; the numbers are not meant to be good, the plumbing is.
"""
import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from unmask import registry
from unmask.defenses import Defense, Observation
from unmask.evaluation import Grid, MissingInputError
from unmask.pipeline import run
from unmask.presets import preset_from_dict
from unmask.registry import DefenseInfo
from unmask.report import write_report
from unmask.results import CellResult, load_results

pytestmark = pytest.mark.filterwarnings("ignore")


def tiny_preset(root: Path, output: Path, **changes) -> dict:
    raw = {
        "name": "tiny",
        "paper": "demo",
        "seed": 1,
        "output": str(output),
        "data": {
            "root": str(root / "data"),
            "synthetic": {"n_images": 90, "size": 64, "imagenet_per_class": 6, "flickr_per_class": 4},
            "imagenet": "train",
            "flickr": True,
        },
        "part_extractor": {
            "checkpoint": str(root / "k" / "k.h5"),
            "config": "small",
            "batch_size": 4,
            "config_overrides": {"IMAGE_MIN_DIM": 64, "IMAGE_MAX_DIM": 64, "STEPS_PER_EPOCH": 2, "VALIDATION_STEPS": 1},
            "train": {"schedule": [{"layers": "all", "epochs": 1}]},
        },
        "models": [
            {
                "name": "small_cnn",
                "arch": "small_cnn",
                "image_size": 32,
                "weights": "none",
                "train": {"epochs": 1, "batch_size": 16, "progress": False},
                "adversarial_training": {"eps": 4, "train": {"epochs": 1}},
            }
        ],
        "class_sets": ["CS3a"],
        "attack_preset": "demo",
        "attacks": [{"name": "pgd_linf", "eps": 8}, {"name": "fgsm", "eps": 8}, {"name": "mim_l2", "eps": 300}],
        "evaluation": {"batch_size": 4, "max_test_images": 8, "max_heldout_images": 6},
    }
    raw.update(changes)
    return raw


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    raw = tiny_preset(root, root / "run")
    run_dir = run(preset_from_dict(raw))
    return root, raw, run_dir


def test_full_chain_writes_every_artifact(full_run):
    root, raw, run_dir = full_run
    manifest = json.loads((run_dir / "run.json").read_text())
    assert list(manifest["timings_s"]) == ["data", "k", "m", "evaluate", "report"]
    assert manifest["versions"]["tensorflow"] and manifest["seed"] == 1
    cells = load_results(run_dir)
    assert [(c.attack, c.eps) for c in cells] == [("none", None), ("pgd_linf", 8.0), ("fgsm", 8.0), ("mim_l2", 300.0)]
    for cell in cells:
        assert cell.n_images == 8
        assert set(cell.accuracy) == {"none", "adversarial_training", "unmask", "unmask_threshold"}
        assert all(0.0 <= acc <= 1.0 for acc in cell.accuracy.values())
    pgd = cells[1]
    assert set(pgd.detection) == {"unmask", "unmask_threshold"}
    # KDD's protocol: the successfully attacked images, on which M alone is always wrong
    assert pgd.n_success["none"] == pgd.detection["unmask"].n_adversarial
    assert pgd.success_accuracy.get("none", 0.0) == 0.0 and cells[0].n_success == {}
    assert pgd.detection["unmask"].n_adversarial == pgd.detection["unmask"].n_benign == round((1 - pgd.accuracy["none"]) * 8)
    # K ran once per distinct image: benign test + held-out images, then each attacked image.
    heldout = min(6, len(list((root / "data" / "converted" / "classsets" / "CS3a" / "val").glob("*/*.jpg"))))
    assert manifest["evaluation"]["k_images"] == 8 + heldout + 3 * 8
    report = run_dir / "report"
    assert (report / "report.md").is_file()
    assert list((report / "figures").glob("roc_*.png"))
    assert any(p.suffix == ".tex" for p in (report / "tables").iterdir())


def test_second_run_reuses_everything(full_run):
    root, raw, run_dir = full_run
    before = {p.name: p.stat().st_mtime_ns for p in (run_dir / "cells").glob("*.json")}
    grid = Grid(preset_from_dict(raw))
    cells = grid.run()
    assert grid.stats["cells_computed"] == 0 and grid.stats["cells_reused"] == 4
    assert grid.extractor.images_seen == 0  # every part set came from the caches
    assert {p.name: p.stat().st_mtime_ns for p in (run_dir / "cells").glob("*.json")} == before
    assert [c.to_dict() for c in cells] == [c.to_dict() for c in load_results(run_dir)]


def test_changed_attack_recomputes_only_its_cell(full_run, tmp_path):
    root, raw, run_dir = full_run
    changed = tiny_preset(root, run_dir, attacks=[{"name": "pgd_linf", "eps": 8}, {"name": "fgsm", "eps": 16}])
    grid = Grid(preset_from_dict(changed))
    cells = grid.run()
    assert grid.stats["cells_computed"] == 1 and grid.stats["cells_reused"] == 2
    assert [(c.attack, c.eps) for c in cells] == [("none", None), ("pgd_linf", 8.0), ("fgsm", 16.0)]


def test_interrupted_run_resumes_without_recomputing(full_run, tmp_path):
    root, raw, run_dir = full_run
    models = str(run_dir / "models" / "small_cnn")
    resumed_raw = tiny_preset(root, tmp_path / "resumed")
    resumed_raw["models"][0]["checkpoints"] = models
    preset_file = tmp_path / "preset.yaml"
    preset_file.write_text(yaml.safe_dump(resumed_raw))
    cells_dir = tmp_path / "resumed" / "cells"
    env = {**os.environ, "GIT_PYTHON_REFRESH": "quiet", "TF_CPP_MIN_LOG_LEVEL": "3"}
    child = subprocess.Popen(
        [sys.executable, "-m", "unmask.cli", "run", str(preset_file), "--stages", "evaluate"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 240
    while time.time() < deadline and len(list(cells_dir.glob("*.json"))) < 2 and child.poll() is None:
        time.sleep(0.2)
    child.send_signal(signal.SIGKILL)
    child.wait()
    finished = {p.name: p.read_bytes() for p in cells_dir.glob("*.json")}
    assert 2 <= len(finished) < 4, "the child should be killed mid-way"
    assert not (tmp_path / "resumed" / "results.json").exists()

    grid = Grid(preset_from_dict(resumed_raw))
    cells = grid.run()
    assert grid.stats["cells_reused"] == len(finished)
    assert grid.stats["cells_computed"] == 4 - len(finished)
    for name, content in finished.items():
        assert (cells_dir / name).read_bytes() == content
    # Same numbers as the uninterrupted run of the same models, K and seed.
    for cell in cells:
        assert cell.to_dict() == json.loads((run_dir / "cells" / f"{cell.key}.json").read_text())


class DarkIsClassZero(Defense):
    """A toy defense defined here only: answers class 0 for dark images, M's answer otherwise."""

    def answer(self, obs: Observation) -> np.ndarray:
        return np.where(obs.images.mean(axis=(1, 2, 3)) < 0.45, 0, obs.predicted)


def test_a_new_defense_runs_through_the_evaluator_and_the_report(full_run, tmp_path):
    root, raw, run_dir = full_run
    entry = registry.register(DefenseInfo("dark_zero", "Dark is class 0", "Dark", DarkIsClassZero))
    try:
        plugged = tiny_preset(root, tmp_path / "plugged", defenses=["none", "dark_zero", "unmask"])
        plugged["models"][0]["checkpoints"] = str(run_dir / "models" / "small_cnn")
        grid = Grid(preset_from_dict(plugged))
        cells = grid.run()
        test_items = grid.pair(grid.preset.models[0], "CS3a").test_items
    finally:
        registry.unregister(entry)
    for cell in cells:  # the same figures as the full run's cells for the defenses both scored
        assert list(cell.accuracy) == ["none", "dark_zero", "unmask"]
        same = CellResult.from_dict(json.loads((run_dir / "cells" / f"{cell.key}.json").read_text()))
        assert cell.accuracy["none"] == same.accuracy["none"] and cell.accuracy["unmask"] == same.accuracy["unmask"]
    # the toy's benign accuracy, recomputed by hand from the test images and M's answers
    from unmask.classifiers import load_classifier, predict_classes
    from unmask.images import iter_batches

    model, info = load_classifier(run_dir / "models" / "small_cnn" / "CS3a.keras")
    batches = list(iter_batches(test_items, info.image_size, 8))
    x, y = np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])
    expected = np.where(x.mean(axis=(1, 2, 3)) < 0.45, 0, predict_classes(model, x))
    assert cells[0].attack == "none" and cells[0].accuracy["dark_zero"] == pytest.approx(np.mean(expected == y))

    written = write_report(tmp_path / "plugged")
    bigdata = (tmp_path / "plugged" / "report" / "tables" / "bigdata2020_table3.csv").read_text().splitlines()[0]
    assert "No attack: Dark" in bigdata and "PGD-Linf 8: Dark" in bigdata
    kdd = (tmp_path / "plugged" / "report" / "tables" / "kdd2019_table6.csv").read_text().splitlines()[0]
    assert "FGSM 8: Dark" in kdd
    assert any(p.name == "report.md" for p in written)


def test_changed_k_or_a_replaced_image_is_never_served_from_the_caches(full_run, tmp_path):
    root, raw, run_dir = full_run
    classsets = tmp_path / "classsets"  # a copy: replacing an image touches no other test
    shutil.copytree(root / "data" / "converted" / "classsets", classsets)
    preset = tiny_preset(root, tmp_path / "run", attacks=[{"name": "fgsm", "eps": 8}])
    preset["data"]["classsets_dir"] = str(classsets)
    preset["models"][0]["checkpoints"] = str(run_dir / "models" / "small_cnn")
    Grid(preset_from_dict(preset)).run()
    stricter = copy.deepcopy(preset)
    stricter["part_extractor"]["detection_min_confidence"] = 0.99  # another K setting, same run folder
    grid = Grid(preset_from_dict(stricter))
    grid.run()
    assert grid.stats["cells_computed"] == 2
    assert grid.extractor.images_seen >= 8 + 8  # the benign images again (and the attacked ones), not the old K's
    again = Grid(preset_from_dict(stricter))
    again.run()
    assert again.stats["cells_computed"] == 0 and again.extractor.images_seen == 0
    victim = again.pair(again.preset.models[0], "CS3a").test_items[0][0]
    stranger = next(p for p in (classsets / "CS3a" / "test").glob("*/*.jpg") if p.parent != victim.parent)
    shutil.copyfile(stranger, victim)  # another class's image under the same name
    replaced = Grid(preset_from_dict(stricter))
    replaced.run()
    assert replaced.stats["cells_computed"] == 2 and replaced.extractor.images_seen >= 1


def test_unreadable_test_images_are_skipped_named_and_counted(full_run, tmp_path):
    root, raw, run_dir = full_run
    classsets = tmp_path / "classsets"
    shutil.copytree(root / "data" / "converted" / "classsets", classsets)
    broken = classsets / "CS3a" / "test" / "car" / "zz_broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 cut short")
    preset = tiny_preset(root, tmp_path / "run", attacks=[{"name": "fgsm", "eps": 8}],
                         evaluation={"batch_size": 4, "max_test_images": None, "max_heldout_images": 6})
    preset["data"]["classsets_dir"] = str(classsets)
    preset["models"][0]["checkpoints"] = str(run_dir / "models" / "small_cnn")
    cells = Grid(preset_from_dict(preset)).run()
    listed = len(list((classsets / "CS3a" / "test").glob("*/*.jpg")))
    assert all(c.n_images == listed - 1 for c in cells)
    skipped = json.loads((tmp_path / "run" / "results.json").read_text())["skipped"]
    assert list(skipped) == [f"CS3a/test/{broken}"] and "cannot load image" in skipped[f"CS3a/test/{broken}"]
    write_report(tmp_path / "run")
    assert "Unreadable images left out: 1" in (tmp_path / "run" / "report" / "report.md").read_text()


def test_carlini_wagner_runs_from_a_preset(full_run, tmp_path):
    root, raw, run_dir = full_run
    preset = tiny_preset(root, tmp_path / "cw", attacks=[{"name": "cw_l2"}], defenses=["none", "unmask"])
    preset["models"][0]["checkpoints"] = str(run_dir / "models" / "small_cnn")
    benign, cw = Grid(preset_from_dict(preset)).run()
    assert (cw.attack, cw.eps, cw.n_images) == ("cw_l2", None, 8)
    assert cw.accuracy["none"] <= benign.accuracy["none"] and 0.0 <= cw.accuracy["unmask"] <= 1.0
    assert cw.n_success["none"] == cw.detection["unmask"].n_adversarial


def test_missing_checkpoint_fails_before_work(full_run, tmp_path):
    root, raw, run_dir = full_run
    broken = tiny_preset(root, tmp_path / "broken")
    broken["part_extractor"]["checkpoint"] = str(tmp_path / "nowhere.h5")
    with pytest.raises(MissingInputError, match="nowhere.h5"):
        Grid(preset_from_dict(broken)).run()
    assert not (tmp_path / "broken" / "cells").exists()


def test_every_stage_input_is_checked_before_the_first_stage(tmp_path):
    raw = tiny_preset(tmp_path, tmp_path / "run")
    del raw["part_extractor"]["train"]
    raw["models"][0]["checkpoints"] = str(tmp_path / "no_models")
    with pytest.raises(MissingInputError) as caught:
        run(preset_from_dict(raw))
    message = str(caught.value)
    assert "k.h5" in message and "no part_extractor.train" in message
    assert message.count("CS3a.keras") == 1 and "CS3a_at.keras" in message  # each path once
    assert not (tmp_path / "data").exists() and not (tmp_path / "run").exists()  # nothing was run


def test_eps_search_stage_writes_its_table(full_run, tmp_path, capsys):
    root, raw, run_dir = full_run
    search = tiny_preset(root, tmp_path / "search", stages=["eps_search"], eps_search={"eps": [2, 4]})
    out = run(preset_from_dict(search))
    folder = out / "eps_search" / "small_cnn" / "CS3a"
    rows = json.loads((folder / "eps_search.json").read_text())
    assert [r["train_eps"] for r in rows] == [2.0, 4.0]
    for row in rows:  # the paper's criterion: benign and every attack cell of the preset
        attacked = [row["val_adv_accuracy_pgd_linf:8"], row["val_adv_accuracy_fgsm:8"], row["val_adv_accuracy_mim_l2:300"]]
        assert row["score"] == pytest.approx(np.mean([row["val_accuracy"], *attacked]))
    assert (folder / "eps_search.png").read_bytes()[:4] == b"\x89PNG"
    assert "<- best" in capsys.readouterr().out
