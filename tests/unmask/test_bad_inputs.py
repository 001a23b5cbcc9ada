"""Bad input over the command line, table-driven: each case gives exit code 2, one line on stderr
naming the file or key and the remedy, and loses nothing already on disk."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import yaml

from unmask.cli import main
from unmask.results import CellResult, write_results

GOOD_PRESET = {
    "name": "bad_inputs",
    "data": {"root": "data"},
    "part_extractor": {"checkpoint": "k.h5", "config": "small"},
    "models": [{"arch": "small_cnn", "weights": "none", "image_size": 32}],
    "class_sets": ["CS3a"],
    "attack_preset": "demo",
    "attacks": [{"name": "fgsm", "eps": 8}],
}


def write_preset(folder: Path, **changes) -> Path:
    path = folder / "preset.yaml"
    path.write_text(yaml.safe_dump({**GOOD_PRESET, "output": str(folder / "run"), **changes}))
    return path


def finished_run(folder: Path) -> Path:
    """A run folder holding one finished cell (what must never be lost)."""
    run = folder / "finished"
    cell = CellResult(model="small_cnn", class_set="CS3a", attack="none", eps=None, n_images=4,
                      accuracy={"none": 0.5, "unmask": 0.75}, thresholds={"unmask": 0.5})
    write_results(run, [cell], preset="bad_inputs", paper="demo", defenses=["none", "unmask"])
    return run


@dataclass
class Case:
    name: str
    argv: Callable[[Path], list[str]]
    words: tuple[str, ...]
    """Every one of them appears in the error line (file or key named, and what to do)."""


def lambda_model(folder: Path) -> Path:
    """A saved classifier with a Python Lambda layer, which Keras' safe mode refuses to load."""
    import keras

    inputs = keras.Input((8, 8, 3))
    outputs = keras.layers.Dense(3)(keras.layers.Flatten()(keras.layers.Lambda(lambda x: x * 2)(inputs)))
    path = folder / "lambda.keras"
    keras.Model(inputs, outputs).save(path)
    path.with_suffix(".json").write_text(json.dumps({"class_names": ["car", "person", "train"], "arch": "small_cnn",
                                                     "image_size": 8}))
    return path


CASES = [
    Case("yaml syntax error", lambda d: ["run", str(_text(d / "p.yaml", "name: [unclosed\n"))], ("p.yaml", "line")),
    Case("refused yaml tag", lambda d: ["run", str(_text(d / "p.yaml", "name: !!python/object:os.system x\n"))],
         ("p.yaml",)),
    Case("nested typo", lambda d: ["run", str(write_preset(d, evaluation={"max_test_image": 3}))],
         ("preset.yaml", "evaluation.max_test_image", "max_test_images")),
    Case("bad value", lambda d: ["run", str(write_preset(d, evaluation={"threshold_fpr": 2}))],
         ("evaluation.threshold_fpr", "[0, 1]")),
    Case("missing preset file", lambda d: ["run", str(d / "nowhere.yaml")], ("nowhere.yaml",)),
    Case("missing K checkpoint", lambda d: ["run", str(write_preset(d)), "--stages", "evaluate"],
         ("k.h5", "missing inputs")),
    Case("escaping output", lambda d: ["run", str(write_preset(d, output="../../../tmp/escape"))],
         ("output", "absolute path")),
    Case("report --out is a file", lambda d: ["report", str(finished_run(d)), "--out", str(_text(d / "f.txt", "mine"))],
         ("f.txt",)),
    Case("report of a missing run", lambda d: ["report", str(d / "no_run")], ("no_run", "does not exist")),
    Case("corrupt results.json", lambda d: ["report", str(_corrupt_results(d))], ("results.json", "not valid JSON")),
    Case("unknown class", lambda d: ["classsets", "--classes", "dog,unicorn"], ("unicorn",)),
    Case("model refused by keras safe mode", lambda d: ["attack", "--model", str(lambda_model(d)), "--data", str(d),
                                                        "--spec", "fgsm:8", "--out", str(d / "a.npz")],
         ("lambda.keras", "refused")),
    Case("attack with a bad spec", lambda d: ["attack", "--model", "m.keras", "--data", str(d), "--spec", "pgd_linf:eight",
                                              "--out", str(d / "a.npz")], ("pgd_linf:eight", "NAME:EPS")),
]


def _text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _corrupt_results(folder: Path) -> Path:
    run = finished_run(folder / "corrupt")
    (run / "results.json").write_text('{"cells": [')
    return run


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bad_input_is_one_line_and_loses_nothing(case, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = case.argv(tmp_path)
    before = snapshot(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"unmask {argv[0]}: error: ")
    for word in case.words:
        assert word in err[0], (word, err[0])
    assert snapshot(tmp_path) == before  # nothing written, nothing lost
    assert not (tmp_path / "run").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_output_folder_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run = finished_run(tmp_path)
    os.chmod(run, 0o555)
    try:
        assert main(["report", str(run)]) == 2
    finally:
        os.chmod(run, 0o755)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(run) in err[0]
    assert json.loads((run / "results.json").read_text())["cells"]
