"""The VAE-detector experiment (experiment: vae): preset validation, the user-data loaders and their
errors, and a tiny run end to end through ``unmask.pipeline.run`` (report, figures, run.json)."""
import gzip
import json
import struct

import numpy as np
import pytest
from PIL import Image

from dataset_tools.idx import FMNIST5_CLASSES, check_idx_folder, load_catdog, load_idx_dataset, read_idx
from unmask.cli import main
from unmask.evaluation.grid import MissingInputError
from unmask.plan import describe_jobs
from unmask.presets import PresetError, VAEPreset, preset_from_dict


def _write_idx(path, array: np.ndarray, gz: bool = False) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


def test_idx_files_load_and_fmnist5_relabels(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.arange(10).repeat(2)
    for prefix, gz in (("train", False), ("t10k", True)):
        suffix = ".gz" if gz else ""
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte{suffix}", rng.integers(0, 256, (20, 28, 28)), gz)
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte{suffix}", labels, gz)
    full = load_idx_dataset(tmp_path)
    assert full["x_train"].shape == (20, 28, 28, 1) and full["x_test"].dtype == np.float32
    assert full["x_train"].max() <= 1.0 and list(full["y_test"]) == list(labels)
    five = load_idx_dataset(tmp_path, FMNIST5_CLASSES)
    assert len(five["y_train"]) == 10 and sorted(set(five["y_train"])) == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(five["x_train"][five["y_train"] == 0], full["x_train"][labels == 4])  # coat = 0
    (tmp_path / "bad").write_bytes(b"\x00\x00\x0d\x01" + struct.pack(">I", 3) + b"abc")
    with pytest.raises(ValueError, match="not an IDX file of unsigned bytes"):
        read_idx(tmp_path / "bad")


def test_missing_user_data_is_named_before_any_work(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        check_idx_folder(tmp_path)
    with pytest.raises(FileNotFoundError, match="cat"):
        load_catdog(tmp_path)
    preset = preset_from_dict({"name": "m", "experiment": "vae", "data": {"dataset": "mnist", "path": str(tmp_path)}})
    from unmask.pipeline import run

    with pytest.raises(MissingInputError, match="data.path: .*t10k|data.path: .*train"):
        run(preset)
    assert not (tmp_path / "runs").exists()


def test_catdog_faces_are_64px_grayscale_with_a_seeded_split(tmp_path):
    for name, value in (("cat", 40), ("dog", 200)):
        (tmp_path / name).mkdir()
        for i in range(5):
            Image.new("RGB", (80, 70), (value, value, value)).save(tmp_path / name / f"{i}.png")
    data = load_catdog(tmp_path, test_fraction=0.2, seed=0)
    assert data["x_train"].shape == (8, 64, 64, 1) and data["x_test"].shape == (2, 64, 64, 1)
    assert list(data["y_test"]) == [0, 1]
    assert data["x_test"][0].max() == pytest.approx(40 / 255, abs=1e-6)


@pytest.mark.parametrize("raw,message", [
    ({"data": {"dataset": "mnist"}}, "data.path: dataset mnist reads user-supplied files"),
    ({"training": {"attack": {"name": "mim_w", "eps": 8, "gamma": -1}}}, "training.attack: gamma must be >= 0"),
    ({"training": {"attack": {"eps": 8}}}, "training.attack: an attack mapping needs a name"),
    ({"evaluation": {"white_box": [{"name": "nope"}]}}, r"evaluation.white_box\[0\]: unknown attack 'nope'"),
    ({"training": {"density": "normalised"}}, "training.density"),
])
def test_bad_vae_presets_name_the_key(raw, message):
    with pytest.raises(PresetError, match=message):
        preset_from_dict({"name": "bad", "experiment": "vae", **raw})


TINY = {
    "name": "vae_tiny", "experiment": "vae", "paper": "vae2019", "seed": 1,
    "data": {"dataset": "digits", "digits": [0, 1], "max_train_per_class": 12, "max_test_images": 12},
    "training": {"init_epochs": 1, "epochs": 1, "rounds": 1, "sources_per_class": 4, "batch_size": 8,
                 "attack": {"name": "mim_w", "eps": 127.5, "steps": 2, "step_size": 25.5, "gamma": 1.0,
                            "gamma_search_steps": 0}},
    "evaluation": {"classifier_epochs": 1, "black_box": [{"name": "fgsm", "eps": 76.5}],
                   "gong_attack": {"name": "fgsm", "eps": 76.5},
                   "white_box": [{"name": "fgsm_w", "gamma_search_steps": 1}], "white_box_eps": [51, 204],
                   "cw": {"name": "cw_l2_w", "steps": 3, "learning_rate": 0.01, "confidence": 0.0,
                          "initial_const": 10.0, "binary_search_steps": 1, "gamma_search_steps": 1},
                   "max_white_box_images": 6},
}


def test_a_tiny_run_end_to_end(tmp_path, monkeypatch):
    from unmask.pipeline import run

    monkeypatch.chdir(tmp_path)
    preset = preset_from_dict(TINY)
    assert isinstance(preset, VAEPreset) and describe_jobs(preset)[0]["stage"] == "vae"
    out = run(preset)
    results = json.loads((out / "results.json").read_text())
    assert [r["round"] for r in results["rounds"]] == [0, 1]
    assert set(results["black_box"]) == {"fgsm:76.5"} and results["white_box"]["n"] == 6
    assert set(results["white_box"]["success_ratio"]["fgsm_w"]) == {"51", "204"}
    report = (out / "report" / "report.md").read_text()
    assert "Black-box detection AUC" in report and "(paper " in report  # V's numbers beside ours
    assert (out / "report" / "black_box_roc.png").is_file() and (out / "report" / "white_box_success.png").is_file()
    manifest = json.loads((out / "run.json").read_text())
    assert [r["round"] for r in manifest["rounds"]] == [0, 1] and "success_ratio" in manifest["rounds"][1]
    main(["report", str(out), "--compare-paper", "--out", str(tmp_path / "again")])
    assert (tmp_path / "again" / "report.md").read_text() == report
    # a rerun resumes the finished game (no round replayed) and scores exactly as the first run
    stamp = out / "training" / "rounds" / "round_001.json"
    before = stamp.stat().st_mtime_ns
    again = json.loads((run(preset) / "results.json").read_text())
    assert stamp.stat().st_mtime_ns == before
    assert {k: v for k, v in again.items() if k != "rounds"} == {k: v for k, v in results.items() if k != "rounds"}


def test_readme_documents_every_vae_preset_key():
    from pathlib import Path

    from unmask.presets import key_table

    readme = (Path(__file__).resolve().parents[2] / "experiments" / "README.md").read_text()
    marker = "<!-- vae keys: generated by unmask.presets.key_table(VAEPreset) -->\n"
    table = readme.split(marker)[1].split("\n<!-- end vae keys -->")[0]
    assert table == key_table(VAEPreset), "regenerate the VAE key table of experiments/README.md"
