"""`unmask classsets`: the class-set table, JSON output, errors."""
import json

from unmask.cli import main


def test_classsets_table(capsys):
    assert main(["classsets"]) == 0
    out = capsys.readouterr().out
    assert "CS3a" in out and "29" in out and "50.00" in out and "23.53" in out and "29.41" in out


def test_classsets_json_custom(capsys):
    assert main(["classsets", "--classes", "dog,cat", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    # cat's nine parts are all dog parts; dog adds muzzle.
    assert data["custom"]["classes"] == ["dog", "cat"]
    assert data["custom"]["unique_parts"] == 10
    assert data["custom"]["overlap_percent"] == 90.0


def test_unknown_class_exits_nonzero_with_one_line(capsys):
    assert main(["classsets", "--classes", "dog,dgo"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "dgo" in err[0] and "aeroplane" in err[0]


def test_train_k_set_without_value_exits_before_work(capsys, tmp_path):
    out = tmp_path / "k.h5"
    assert main(["train-k", "--coco", str(tmp_path), "--out", str(out), "--set", "LEARNING_RATE"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "KEY=VALUE" in err[0] and "LEARNING_RATE" in err[0]
    assert not out.exists()
