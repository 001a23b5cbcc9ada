"""The `unmask` command: the class-set table, JSON output, --plan, one-line errors, a light start-up."""
import errno
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from unmask import cli, fileio
from unmask.cli import error_message, main
from unmask.presets import PresetError
from unmask.registry import ARCHS, ATTACKS

DEMO = str(Path(__file__).resolve().parents[2] / "experiments" / "demo.yaml")


def test_classsets_table(capsys):
    assert main(["classsets"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert rows[0] == ["set", "unique", "parts", "overlap", "%", "classes"]
    assert rows[1:] == [
        ["CS3a", "29", "6.90", "car,", "person,", "train"],
        ["CS3b", "18", "50.00", "person,", "dog,", "bird"],
        ["CS5a", "34", "23.53", "dog,", "car,", "bottle,", "train,", "person"],
        ["CS5b", "34", "29.41", "dog,", "car,", "bird,", "train,", "person"],
    ]


def test_classsets_json_custom(capsys):
    assert main(["classsets", "--classes", "dog,cat", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    # cat's nine parts are all dog parts; dog adds muzzle.
    assert data == {"custom": {"classes": ["dog", "cat"], "unique_parts": 10, "shared_parts": 9,
                               "overlap_percent": 90.0}}


def test_unknown_class_exits_nonzero_with_one_line(capsys):
    assert main(["classsets", "--classes", "dog,dgo"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("unmask classsets: error: ")
    assert "dgo" in err[0] and "aeroplane" in err[0]


@pytest.mark.parametrize("item, words", [("LEARNING_RATE", ["KEY=VALUE", "LEARNING_RATE"]),
                                         ("STEPS=[1,", ["STEPS=[1,", "not valid YAML"])])
def test_train_k_bad_set_exits_before_work(capsys, tmp_path, item, words):
    out = tmp_path / "k.h5"
    assert main(["train-k", "--coco", str(tmp_path), "--out", str(out), "--set", item]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and all(word in err[0] for word in words)
    assert not out.exists()


def test_help_lists_names_from_the_registry(capsys):
    with pytest.raises(SystemExit):
        main(["attack", "--help"])
    assert f"names: {', '.join(ATTACKS)}" in " ".join(capsys.readouterr().out.split())
    with pytest.raises(SystemExit):
        main(["train-m", "--help"])
    assert f"architecture: {', '.join(ARCHS)}" in " ".join(capsys.readouterr().out.split())


def test_parser_loads_no_heavy_library():
    code = ("import sys; from unmask.cli import build_parser; build_parser(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'matplotlib')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.fixture
def fake_plan(monkeypatch):
    """unmask.plan's two functions replaced by ones whose jobs name the preset and stages asked for."""
    import unmask.plan

    seen = []

    def describe_jobs(preset, stages=None):
        seen.append(stages)
        return [{"stage": stage, "preset": preset.name} for stage in stages or preset.stages]

    monkeypatch.setattr(unmask.plan, "describe_jobs", describe_jobs)
    monkeypatch.setattr(unmask.plan, "format_jobs",
                        lambda jobs: "\n".join(f"JOB {job['stage']} of {job['preset']}" for job in jobs))
    return seen


def test_run_plan_prints_the_jobs_and_does_nothing(capsys, fake_plan, monkeypatch):
    monkeypatch.setattr("unmask.pipeline.run", lambda *a: pytest.fail("--plan ran the pipeline"))
    assert main(["run", DEMO, "--plan"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"JOB {stage} of demo" for stage in ("data", "k", "m", "evaluate", "report")]
    assert main(["run", DEMO, "--plan", "--json", "--stages", "data,m"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"stage": "data", "preset": "demo"},
                                                   {"stage": "m", "preset": "demo"}]
    assert fake_plan == [None, ("data", "m")]


def test_run_plan_json_is_the_real_job_list(capsys):
    assert main(["run", DEMO, "--plan", "--json", "--stages", "data"]) == 0
    jobs = json.loads(capsys.readouterr().out)
    assert [job["stage"] for job in jobs] == ["data"] * len(jobs) and len(jobs) >= 2


def test_json_without_plan_is_an_error(capsys):
    assert main(["run", DEMO, "--json"]) == 2
    assert "--json goes with --plan" in capsys.readouterr().err


def test_out_pointing_at_a_file_is_one_line_naming_it(capsys, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert main(["data", "synth", "--out", str(blocker), "--images", "1", "--imagenet-per-class", "0",
                 "--flickr-per-class", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(blocker) in err[0] and "is a file, not a folder" in err[0]


def test_unwritable_output_is_one_line_naming_it(capsys, tmp_path, monkeypatch):
    def refuse(path):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(fileio, "_open_temp", refuse)
    (tmp_path / "test").mkdir()
    report = tmp_path / "report.json"
    assert main(["data", "dedup", "--test", str(tmp_path / "test"), "--reference", str(tmp_path / "test"),
                 "--report", str(report)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"unmask data: error: {report}: Permission denied "
                   "(check its permissions or choose a writable location)"]


def test_broken_preset_yaml_is_one_line(capsys, tmp_path):
    preset = tmp_path / "broken.yaml"
    preset.write_text("name: demo\nmodels: [\n  - a\n")
    assert main(["run", str(preset), "--plan"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("unmask run: error: ")


def test_error_messages_are_one_line():
    with pytest.raises(yaml.YAMLError) as info:
        yaml.safe_load("a: [1,\nb: 2\n")
    message = error_message(info.value)
    assert "\n" not in message and message.startswith("invalid YAML (line ") and message.endswith("fix the YAML syntax")
    message = error_message(PresetError("models[0].arch: unknown\n  valid: vgg16"))
    assert "\n" not in message and message.endswith("models[0].arch: unknown valid: vgg16")
    assert error_message(FileNotFoundError("run directory x does not exist")) == "run directory x does not exist"


def test_every_command_module_adds_its_commands():
    commands = cli.build_parser()._subparsers._group_actions[0].choices
    assert sorted(commands) == ["attack", "classsets", "data", "evaluate", "report", "run", "score-k", "train-k", "train-m"]
