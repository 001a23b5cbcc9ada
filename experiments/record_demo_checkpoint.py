"""Record the shipped demo K's metrics in checkpoints/demo/mask_rcnn_parts_demo.json.

Run after (re)training it: `python experiments/record_demo_checkpoint.py [DATA_ROOT]` (default
data/demo, made by `make demo` or `unmask run experiments/demo.yaml --stages data`). Records COCO
bbox/segm mAP on the converted test split, part agreement on the demo's Flickr-style test images,
and a probe on a small seeded synthetic set that tests/unmask/test_demo_checkpoint.py regenerates
and re-scores.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
ROOT = Path(__file__).resolve().parents[1]
CHECKPOINT = ROOT / "checkpoints" / "demo" / "mask_rcnn_parts_demo.h5"
RECORD = CHECKPOINT.with_suffix(".json")
OVERRIDES = {"TRAIN_BN": True, "LEARNING_RATE": 0.01}
PROBE = {"size": 128, "seed": 123, "flickr_per_class": 4, "difficulty": "hard"}
"""The probe set: dataset_tools.synthetic.generate(out, n_images=0, imagenet_per_class=0, **PROBE)."""
TRAINING = {
    "command": "unmask train-k --coco data/demo/converted/parts --out checkpoints/demo/mask_rcnn_parts_demo.h5 "
    "--config small --set LEARNING_RATE=0.01 --set TRAIN_BN=true --schedule all:4,all:6:0.1 "
    "--init-weights checkpoints/demo/mask_rcnn_parts_demo_easy.h5",
    "data": "experiments/demo.yaml data section (synthetic n_images 2000, size 128, seed 0, difficulty hard): "
    "1600 train / 200 val images",
    "epochs": 6,
    "starting_point": "mask_rcnn_parts_demo_easy.h5: 24 epochs from scratch on the easy setting (its recipe in "
    "mask_rcnn_parts_demo_easy.json); fine-tuned here with every layer",
    "augmentation": "horizontal flip p=0.5",
}


def probe_items(out: Path):
    from dataset_tools.synthetic import folder_classes, generate
    from unmask.images import list_image_folder

    generate(out, n_images=0, imagenet_per_class=0, **PROBE)
    classes = folder_classes()
    return list_image_folder(out / "flickr", classes), classes


def main(data_root: Path = ROOT / "data" / "demo") -> int:
    from mrcnn.evaluate import evaluate_coco
    from unmask.extractor import MaskRCNNExtractor
    from unmask.images import list_image_folder
    from unmask.part_model import load_parts_dataset, score_part_extractor

    extractor = MaskRCNNExtractor(CHECKPOINT, "small", OVERRIDES, batch_size=8)
    test_set = load_parts_dataset(data_root / "converted" / "parts", "test")
    coco = {kind: evaluate_coco(extractor.model, test_set, test_set.coco, kind) for kind in ("bbox", "segm")}
    flickr_root = data_root / "flickr"
    with tempfile.TemporaryDirectory() as tmp:
        items, classes = probe_items(Path(tmp))
        probe = score_part_extractor(extractor, items, classes, PROBE["size"])
    flickr_items = list_image_folder(flickr_root, classes)
    record = {
        "checkpoint": CHECKPOINT.name,
        "config": "small",
        "config_overrides": OVERRIDES,
        "training": TRAINING,
        "coco_test_split": {kind: {"mAP": round(stats["AP"], 4), "AP50": round(stats["AP50"], 4)} for kind, stats in coco.items()},
        "flickr_test_images": score_part_extractor(extractor, flickr_items, classes, 128),
        "probe": {"dataset": PROBE, "classes": list(classes), **probe},
    }
    RECORD.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(*(Path(arg) for arg in sys.argv[1:2])))
