"""The shipped demo K loads and reproduces the metrics recorded when it was trained."""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECORDER = ROOT / "experiments" / "record_demo_checkpoint.py"


def _recorder():
    spec = importlib.util.spec_from_file_location("record_demo_checkpoint", RECORDER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_checkpoint_reproduces_its_recorded_probe(tmp_path):
    from unmask.extractor import MaskRCNNExtractor
    from unmask.part_model import score_part_extractor

    recorder = _recorder()
    record = json.loads(recorder.RECORD.read_text())
    extractor = MaskRCNNExtractor(recorder.CHECKPOINT, "small", recorder.OVERRIDES, batch_size=8)
    items, classes = recorder.probe_items(tmp_path)
    assert list(classes) == record["probe"]["classes"]
    probe = score_part_extractor(extractor, items, classes, recorder.PROBE["size"])
    assert probe["images"] == record["probe"]["images"]
    # Part sets are discrete; allow for float round-off flipping a borderline detection.
    for key in ("mean_jaccard", "rectify_accuracy", "mean_parts"):
        assert probe[key] == pytest.approx(record["probe"][key], abs=0.03), key
    # And the recorded K is a useful one on the hard setting: it names the right class of six from
    # parts alone far above chance (1/6), and finds parts where they are.
    assert record["probe"]["rectify_accuracy"] >= 0.5 and record["flickr_test_images"]["rectify_accuracy"] >= 0.7
    assert record["coco_test_split"]["bbox"]["AP50"] > 0.4
