"""End to end on a tiny synthetic tree: data -> K -> M -> attacks -> evaluation -> report, then resume.

Everything is tiny (64 px scenes, a few K steps, one M epoch, a handful of test images) so the
module runs in a few minutes; the numbers are not meant to be good, the plumbing is.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from unmask.evaluation import Grid, MissingInputError
from unmask.pipeline import run
from unmask.presets import preset_from_dict
from unmask.results import load_results

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
        assert cell.n_images == 8 and cell.acc_at is not None
        assert 0.0 <= cell.acc_um_always <= 1.0 and 0.0 <= cell.acc_um_threshold <= 1.0
    pgd = cells[1]
    assert pgd.detection.n_adversarial == pgd.detection.n_benign == round((1 - pgd.acc_none) * 8)
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


def test_missing_checkpoint_fails_before_work(full_run, tmp_path):
    root, raw, run_dir = full_run
    broken = tiny_preset(root, tmp_path / "broken")
    broken["part_extractor"]["checkpoint"] = str(tmp_path / "nowhere.h5")
    with pytest.raises(MissingInputError, match="nowhere.h5"):
        Grid(preset_from_dict(broken)).run()
    assert not (tmp_path / "broken" / "cells").exists()


def test_eps_search_stage_writes_its_table(full_run, tmp_path, capsys):
    root, raw, run_dir = full_run
    search = tiny_preset(root, tmp_path / "search", stages=["eps_search"], eps_search={"eps": [2, 4], "eval_eps": 8})
    out = run(preset_from_dict(search))
    rows = json.loads((out / "eps_search" / "small_cnn" / "CS3a" / "eps_search.json").read_text())
    assert [r["train_eps"] for r in rows] == [2.0, 4.0]
    for row in rows:
        assert row["score"] == pytest.approx((row["val_accuracy"] + row["val_adv_accuracy_eps8"]) / 2)
    assert "<- best" in capsys.readouterr().out
