"""The results schema: exact JSON round trips, cell keys, labels, atomic writes and loading a run."""
import json
import math

import numpy as np
import pytest

from unmask import fileio, results
from unmask.results import CellResult, DetectionResult, ResultsError


def make_detection(**overrides):
    values = dict(
        n_adversarial=3, n_benign=3, auc=0.75,
        roc_fpr=[0.0, 0.0, 1 / 3, 1.0], roc_tpr=[0.0, 2 / 3, 2 / 3, 1.0],
        roc_thresholds=[math.inf, 0.8, 0.5, 0.1],
        tpr_at_fpr={"0.05": 2 / 3, "0.1": 2 / 3}, fpr_at_fpr={"0.05": 0.0, "0.1": 1 / 3},
        threshold_at_fpr={"0.05": 0.8, "0.1": 0.5},
    )
    return DetectionResult(**{**values, **overrides})


ACCURACY = {"none": 0.1, "unmask": 0.7, "unmask_threshold": 0.6}


def make_cell(**overrides):
    values = dict(model="resnet50", class_set="CS3a", attack="pgd_linf", eps=8.0, n_images=10,
                  accuracy=dict(ACCURACY), detection={"unmask": make_detection()},
                  thresholds={"unmask": 0.45, "unmask_threshold": 0.45})
    return CellResult(**{**values, **overrides})


def test_round_trip_is_exact_through_strict_json():
    for cell in (make_cell(), make_cell(attack="none", eps=None, accuracy={**ACCURACY, "adversarial_training": 0.9},
                                        detection={}),
                 make_cell(detection={"unmask": make_detection(auc=None, roc_fpr=[], roc_tpr=[], roc_thresholds=[],
                                                               tpr_at_fpr={}, fpr_at_fpr={}, threshold_at_fpr={})}),
                 make_cell(thresholds={"unmask": math.inf})):
        text = json.dumps(cell.to_dict(), allow_nan=False)  # strict JSON: inf is stored as a string
        back = CellResult.from_dict(json.loads(text))
        assert back == cell
        assert back.to_dict() == cell.to_dict()
    assert make_cell().to_dict()["detection"]["unmask"]["roc_thresholds"][0] == "inf"


def test_schema1_cells_load_into_the_defense_maps():
    old = {"model": "resnet50", "class_set": "CS3a", "attack": "pgd_linf", "eps": 8.0, "n_images": 10,
           "acc_none": 0.1, "acc_at": None, "acc_um_always": 0.7, "acc_um_threshold": 0.6, "threshold": 0.45,
           "detection": make_detection().to_dict()}
    assert CellResult.from_dict(old) == make_cell()
    with pytest.raises(ResultsError, match="acc_typo"):
        CellResult.from_dict({**old, "acc_typo": 1.0})


def test_numpy_values_and_late_assignments_are_coerced():
    det = DetectionResult(n_adversarial=np.int64(4), n_benign=np.int32(4), auc=None)
    det.auc = np.float32(0.5)  # the evaluator fills a DetectionResult after creating it
    det.tpr_at_fpr[0.1] = np.float64(0.25)
    det.roc_thresholds, det.roc_fpr, det.roc_tpr = np.array([np.inf, 0.5]).tolist(), [0.0, 1.0], [0.0, 1.0]
    cell = make_cell(accuracy={"none": np.float32(0.5)}, n_images=np.int64(10), eps=np.float32(16),
                     detection={"unmask": det}, thresholds={"unmask": np.float64(0.25)})
    data = json.loads(json.dumps(cell.to_dict(), allow_nan=False))
    assert data["detection"]["unmask"]["auc"] == 0.5 and data["detection"]["unmask"]["tpr_at_fpr"] == {"0.1": 0.25}
    assert data["eps"] == 16.0 and type(data["n_images"]) is int and data["accuracy"] == {"none": 0.5}
    assert CellResult.from_dict(data).detection["unmask"].roc_thresholds == [math.inf, 0.5]


@pytest.mark.parametrize("change", [
    {"accuracy": {"none": 1.5}}, {"accuracy": {"unmask": None}}, {"accuracy": [0.5]}, {"n_images": 2.5},
    {"attack": "none"}, {"model": ""}, {"eps": "eight"}, {"detection": {"unmask": {"n_adversarial": 1}}},
    {"detection": None}, {"thresholds": {"unmask": "high"}},
])
def test_invalid_cells_are_rejected(change):
    with pytest.raises(ResultsError):
        make_cell(**change)


def test_from_dict_names_missing_and_unknown_fields():
    data = make_cell().to_dict()
    del data["thresholds"]
    data["tresh"] = 0.5
    with pytest.raises(ResultsError, match="missing: thresholds.*unknown: tresh"):
        CellResult.from_dict(data)
    data = make_cell().to_dict()
    del data["detection"]["unmask"]["auc"]
    with pytest.raises(ResultsError, match=r"detection\[unmask\].*missing: auc"):
        CellResult.from_dict(data)


def test_cell_key_and_labels():
    assert results.cell_key("resnet50", "CS3a", "pgd_linf", 8) == "resnet50__CS3a__pgd_linf__8"
    assert results.cell_key("vgg16", "CS5b", "mim_l2", 300.0) == "vgg16__CS5b__mim_l2__300"
    assert results.cell_key("small_cnn", "CS3b", "none", None) == "small_cnn__CS3b__none__none"
    assert results.cell_key("small_cnn", "CS3b", "fgsm", 0.5) == "small_cnn__CS3b__fgsm__0p5"
    assert make_cell().key == "resnet50__CS3a__pgd_linf__8"
    for bad in (("a/b", "CS3a", "fgsm", 8), ("m", "my set", "fgsm", 8), ("m", "CS3a", "pgd__x", 8),
                ("m", ".hidden", "fgsm", 8), ("m", "CS3a", "fgsm", -1), ("m", "CS3a", "fgsm", math.nan)):
        with pytest.raises(ValueError):
            results.cell_key(*bad)
    assert results.attack_label("pgd_linf", 8.0) == "PGD-Linf 8"
    assert results.attack_label("mim_l2", 300) == "MIA-L2 300"
    assert results.attack_label("deepfool_l2", None) == "DF"
    assert results.attack_label("fgsm", 16) == "FGSM 16"
    assert results.attack_label("fgsm", 2.5) == "FGSM 2.5"
    assert results.attack_label("none", None) == "No attack"
    assert results.attack_label("my_attack", 4) == "my_attack 4"
    assert [results.model_label(m) for m in ("vgg16", "resnet50", "densenet121", "small_cnn", "x")] == \
        ["VGG16", "ResNet50", "DenseNet121", "SmallCNN", "x"]


def test_attack_order_follows_the_papers():
    keys = [("mim_l2", 300.0), ("pgd_linf", 16.0), ("zzz", None), ("none", None), ("fgsm", 8.0),
            ("pgd_linf", 8.0), ("deepfool_l2", None), ("pgd_l2", 600.0), ("mim_linf", 8.0)]
    ordered = sorted(keys, key=lambda k: results.attack_sort_key(*k))
    assert ordered == [("none", None), ("deepfool_l2", None), ("fgsm", 8.0), ("pgd_linf", 8.0), ("pgd_linf", 16.0),
                       ("pgd_l2", 600.0), ("mim_linf", 8.0), ("mim_l2", 300.0), ("zzz", None)]


class Exploding:
    """Not JSON-serializable: json.dump raises when it reaches it, after writing what came before."""


@pytest.mark.parametrize("bad", [Exploding(), math.nan])
def test_atomic_write_never_leaves_a_partial_file(tmp_path, bad):
    target = tmp_path / "cells" / "x.json"
    fileio.write_json_atomic(target, {"old": True})
    payload = {"big": list(range(100_000)), "then": bad}  # fails late, well after the first chunks
    with pytest.raises((TypeError, ValueError)):
        fileio.write_json_atomic(target, payload)
    assert json.loads(target.read_text()) == {"old": True}
    assert [p.name for p in target.parent.iterdir()] == ["x.json"]  # no temporary file left behind
    fresh = tmp_path / "cells" / "y.json"
    with pytest.raises((TypeError, ValueError)):
        fileio.write_json_atomic(fresh, payload)
    assert not fresh.exists() and [p.name for p in target.parent.iterdir()] == ["x.json"]


def test_cell_is_reused_only_when_its_stamp_matches(tmp_path):
    cell = make_cell()
    assert results.reusable_cell(tmp_path, cell.key, "fp1") is None  # nothing stored yet
    path = results.write_cell(tmp_path, cell, "fp1")
    assert results.reusable_cell(tmp_path, cell.key, "fp1") == cell
    assert results.reusable_cell(tmp_path, cell.key, "fp2") is None  # inputs changed
    # killed between the stamp and the cell: a new stamp beside the old cell file is never trusted
    newer = make_cell(accuracy={"none": 0.2})
    stamp = tmp_path / "cells" / f"{cell.key}.fingerprint"
    old_stamp = stamp.read_text()
    results.write_cell(tmp_path, newer, "fp2")
    fresh_cell = path.read_bytes()
    path.write_bytes(fileio.json_text(cell.to_dict()).encode())
    assert results.reusable_cell(tmp_path, cell.key, "fp2") is None
    path.write_bytes(fresh_cell)
    assert results.reusable_cell(tmp_path, cell.key, "fp2") == newer
    stamp.write_text(old_stamp)  # an edited or foreign cell file does not match its stamp's hash
    assert results.reusable_cell(tmp_path, cell.key, "fp1") is None
    stamp.write_text("not json")
    assert results.reusable_cell(tmp_path, cell.key, "fp2") is None


def test_load_results_from_cells_then_results_json(tmp_path):
    cells = [make_cell(), make_cell(attack="none", eps=None, detection={}),
             make_cell(model="vgg16", attack="fgsm", eps=16)]
    for cell in cells:
        results.write_cell(tmp_path, cell)
    (tmp_path / "cells" / "x.fingerprint").write_text("not a cell")
    assert sorted(c.key for c in results.load_results(tmp_path)) == sorted(c.key for c in cells)
    assert results.load_run_info(tmp_path) == {"preset": None, "paper": None, "defenses": None, "skipped": None}
    results.write_results(tmp_path, cells[:2], preset="demo", paper="demo", defenses=["none", "unmask"])
    assert results.load_results(tmp_path) == cells[:2]  # results.json wins over cells/
    info = results.load_run_info(tmp_path)
    assert (info["preset"], info["paper"]) == ("demo", "demo")
    assert [d["name"] for d in info["defenses"]] == ["none", "unmask"]
    assert info["defenses"][1]["short"] == "UM" and info["defenses"][1]["paper_metric"] == "acc_um"
    # the run's defenses: those listed, then any other found in the cells, in the registry's order
    assert [d["name"] for d in results.run_defenses(cells, info["defenses"])] == ["none", "unmask", "unmask_threshold"]
    plugin = make_cell(accuracy={"zz_plugin": 0.5, "none": 0.1}, detection={}, thresholds={})
    assert [d["name"] for d in results.run_defenses([plugin])] == ["none", "zz_plugin"]
    assert results.run_defenses([plugin])[1]["display"] == "zz_plugin"


def test_schema1_results_json_still_loads(tmp_path):
    cell = make_cell().to_dict()
    old = {k: cell[k] for k in ("model", "class_set", "attack", "eps", "n_images")}
    old.update(acc_none=0.1, acc_at=0.3, acc_um_always=0.7, acc_um_threshold=0.6, threshold=0.45,
               detection=cell["detection"]["unmask"])
    (tmp_path / "results.json").write_text(json.dumps({"preset": "demo", "paper": "demo", "cells": [old]}))
    (loaded,) = results.load_results(tmp_path)
    assert loaded.accuracy == {**ACCURACY, "adversarial_training": 0.3}
    assert loaded.detection == {"unmask": make_detection()}


def test_load_results_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a run directory"):
        results.load_results(tmp_path)
    with pytest.raises(ResultsError, match="appears twice"):
        results.write_results(tmp_path, [make_cell(), make_cell()], preset="p", paper="demo", defenses=["none"])
    results.write_cell(tmp_path, make_cell())
    (tmp_path / "cells" / "broken.json").write_text('{"model": ')
    with pytest.raises(ResultsError, match="broken.json"):
        results.load_results(tmp_path)
    wrong = make_cell().to_dict()
    wrong["accuracy"]["none"] = "high"
    (tmp_path / "cells" / "broken.json").write_text(json.dumps(wrong))
    with pytest.raises(ResultsError, match=r"broken.json: accuracy\[none\]: expected a number"):
        results.load_results(tmp_path)
