"""K's own figure: COCO AP on a PASCAL-Part split (`unmask score-k`, the `k_map` stage) beside the papers' 0.56."""
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import PIL.Image
import pytest
from pycocotools import mask as mask_utils

from unmask import extractor as extractor_module
from unmask.cli import main
from unmask.part_model import format_part_extractor_map, part_extractor_map
from unmask.parts import PARTS

SIZE = 64
BOXES = {1: [(0, 4, 4, 30, 40), (43, 34, 10, 60, 30)], 2: [(20, 10, 20, 50, 60)], 3: []}
"""Per COCO image id: (category, y1, x1, y2, x2) parts; image 3 has none (so it is not scored)."""


@pytest.fixture
def parts_dir(tmp_path) -> Path:
    """A converter-style test split: images whose pixel value is their COCO id, rectangle parts as RLE."""
    (tmp_path / "test").mkdir()
    images, annotations = [], []
    for image_id, boxes in BOXES.items():
        PIL.Image.fromarray(np.full((SIZE, SIZE, 3), image_id, np.uint8)).save(tmp_path / "test" / f"{image_id}.png")
        images.append({"id": image_id, "file_name": f"{image_id}.png", "height": SIZE, "width": SIZE})
        for category, y1, x1, y2, x2 in boxes:
            mask = np.zeros((SIZE, SIZE), np.uint8, order="F")
            mask[y1:y2, x1:x2] = 1
            rle = mask_utils.encode(mask)
            rle["counts"] = rle["counts"].decode("ascii")
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": category, "iscrowd": 0,
                                "segmentation": rle, "area": float(mask.sum()), "bbox": [x1, y1, x2 - x1, y2 - y1]})
    categories = [{"id": i, "name": name, "supercategory": "part"} for i, name in enumerate(PARTS)]
    (tmp_path / "test.json").write_text(json.dumps({"images": images, "annotations": annotations,
                                                    "categories": categories}))
    return tmp_path


class _OracleK:
    """Stands in for MaskRCNNExtractor: its model answers an image's ground truth (the pixel value is the
    image's COCO id), shifted right by ``shift`` pixels; records the settings it was built with."""

    built: list[tuple] = []
    shift = 0

    def __init__(self, checkpoint, config, overrides, batch_size, detection_min_confidence):
        type(self).built.append((Path(checkpoint).name, config, overrides, batch_size, detection_min_confidence))
        self.model = SimpleNamespace(config=SimpleNamespace(BATCH_SIZE=batch_size), detect=self.detect)

    def detect(self, images, verbose=0):
        results = []
        for image in images:
            boxes = BOXES[int(image[0, 0, 0])]
            masks = np.zeros((SIZE, SIZE, len(boxes)), bool)
            rois = np.array([[y1, x1 + self.shift, y2, x2 + self.shift] for _, y1, x1, y2, x2 in boxes]).reshape(-1, 4)
            for i, (_, y1, x1, y2, x2) in enumerate(boxes):
                masks[y1:y2, x1 + self.shift:x2 + self.shift, i] = True
            results.append({"rois": rois, "class_ids": np.array([c + 1 for c, *_ in boxes], np.int32),
                            "scores": np.ones(len(boxes), np.float32), "masks": masks})
        return results


@pytest.fixture
def oracle(monkeypatch):
    _OracleK.built, _OracleK.shift = [], 0
    monkeypatch.setattr(extractor_module, "MaskRCNNExtractor", _OracleK)
    return _OracleK


def test_ground_truth_scores_one_and_the_text_shows_the_published_figure(parts_dir, oracle):
    result = part_extractor_map(parts_dir, parts_dir / "k.h5", "small", {"TRAIN_BN": True}, batch_size=2)
    assert oracle.built == [("k.h5", "small", {"TRAIN_BN": True}, 2, 0.0)]  # the papers' confidence 0
    assert result["split"] == "test" and result["images"] == 2  # image 3 has no part: not scored
    assert result["bbox"]["AP"] == pytest.approx(1.0) and result["segm"]["AP"] == pytest.approx(1.0)
    oracle.shift = 6
    shifted = part_extractor_map(parts_dir, parts_dir / "k.h5", "small", limit=1, eval_types=("bbox",))
    assert shifted["images"] == 1 and set(shifted) == {"split", "images", "detect_seconds", "bbox"}
    assert 0.0 < shifted["bbox"]["AP"] < 1.0 and shifted["bbox"]["AP50"] == pytest.approx(1.0)
    text = format_part_extractor_map(result)
    assert "test split (2 images" in text and "bbox AP 1.000, AP50 1.000" in text and "segm AP 1.000" in text
    assert text.splitlines()[1].endswith("mAP 0.56")


def test_score_k_command(parts_dir, oracle, capsys, tmp_path):
    out = tmp_path / "k_map.json"
    assert main(["score-k", "--coco", str(parts_dir), "--checkpoint", str(parts_dir / "k.h5"), "--config", "small",
                 "--set", "TRAIN_BN=true", "--out", str(out)]) == 0
    assert oracle.built == [("k.h5", "small", {"TRAIN_BN": True}, 1, 0.0)]
    assert "mAP 0.56" in capsys.readouterr().out
    assert json.loads(out.read_text())["bbox"]["AP"] == pytest.approx(1.0)
    assert main(["score-k", "--coco", str(tmp_path / "nowhere"), "--checkpoint", "k.h5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "test.json not found" in err[0]


def test_k_map_stage_plan_and_missing_inputs(parts_dir, oracle, capsys, tmp_path):
    from unmask.evaluation import MissingInputError
    from unmask.pipeline import run
    from unmask.plan import describe_jobs
    from unmask.presets import preset_from_dict

    raw = {"name": "kmap", "output": str(tmp_path / "run"), "data": {"root": str(tmp_path), "parts_dir": str(parts_dir)},
           "part_extractor": {"checkpoint": str(parts_dir / "k.h5"), "config": "small", "batch_size": 2},
           "models": [{"arch": "small_cnn", "weights": "none"}], "class_sets": ["CS3a"], "attack_preset": "demo",
           "attacks": [{"name": "fgsm", "eps": 8}]}
    preset = preset_from_dict(raw)
    [job] = describe_jobs(preset, ("k_map",))
    assert (job["kind"], job["split"], job["config"], job["batch_size"], job["published_map"]) == ("k_map", "test", "small", 2, 0.56)
    with pytest.raises(MissingInputError, match="k.h5"):
        run(preset, ("k_map",))
    (parts_dir / "k.h5").write_bytes(b"")
    run_dir = run(preset, ("k_map",))
    record = json.loads((run_dir / "k_map.json").read_text())
    assert record["published_map"] == 0.56 and record["segm"]["AP"] == pytest.approx(1.0)
    assert json.loads((run_dir / "run.json").read_text())["artifacts"]["k_map"] == str(run_dir / "k_map.json")
    assert "mAP 0.56" in capsys.readouterr().out


def test_a_tiny_k_is_scored_end_to_end(parts_dir, tmp_path):
    """A real (random, 64 px) K: detection, id mapping and pycocotools run; the figures are COCOeval's."""
    import keras

    from mrcnn.model import MaskRCNN
    from unmask.part_model import part_config

    overrides = {"IMAGE_MIN_DIM": 64, "IMAGE_MAX_DIM": 64}
    keras.utils.set_random_seed(0)
    MaskRCNN("inference", part_config("small", "inference", overrides), str(tmp_path)).save_weights(str(tmp_path / "k.h5"))
    result = part_extractor_map(parts_dir, tmp_path / "k.h5", "small", overrides)
    assert result["images"] == 2 and result["detect_seconds"] >= 0
    for stats in (result["bbox"], result["segm"]):
        assert 0.0 <= stats["AP"] <= stats["AP50"] <= 1.0 and -1.0 <= stats["APs"] <= 1.0
