"""Model K for UnMask: the parts configuration of our Mask R-CNN and its staged training.

Two configurations: `matterport` (the published architecture: ResNet101-FPN, 1024 px, as the
original UnMask trained on PASCAL-Part) and `small` (a narrow backbone at 128 px that trains in
minutes on a CPU, for the synthetic demo). Both have NUM_CLASSES = 1 + 44 parts.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Sequence

from unmask.fileio import write_bytes_atomic
from unmask.parts import PARTS

log = logging.getLogger(__name__)

HEAD_LAYERS: tuple[str, ...] = ("mrcnn_class_logits", "mrcnn_bbox_fc", "mrcnn_bbox", "mrcnn_mask")
"""Excluded when starting from a checkpoint with another NUM_CLASSES (e.g. Matterport's COCO one)."""

PAPER_SCHEDULE: tuple[dict[str, Any], ...] = (
    {"layers": "heads", "epochs": 10, "lr_factor": 1.0},
    {"layers": "4+", "epochs": 25, "lr_factor": 1.0},
    {"layers": "all", "epochs": 40, "lr_factor": 0.1},
)
"""heads -> 4+ -> all with the last stage at LR/10, 40 epochs in all (the published checkpoint is
epoch 40). The original does not publish the stage boundaries; 10/25 are our choice."""


def part_config(kind: str, mode: str, overrides: dict[str, Any] | None = None, batch_size: int | None = None):
    """The Mask R-CNN config of K; `mode` 'training' or 'inference' (batch_size images per detect call)."""
    from mrcnn.config import Config, small_cpu_config

    if kind not in ("small", "matterport"):
        raise ValueError(f"unknown part-extractor config {kind!r}; valid: small, matterport")
    values: dict[str, Any] = {"NAME": "parts", "NUM_CLASSES": 1 + len(PARTS)}
    if kind == "matterport":
        values["IMAGES_PER_GPU"] = 4  # UnMask's training batch
    if mode == "inference":
        values["IMAGES_PER_GPU"] = batch_size or 1
        values["GPU_COUNT"] = 1
    values.update(overrides or {})
    return small_cpu_config(**values) if kind == "small" else Config(**values)


def load_parts_dataset(parts_dir: Path, split: str):
    """The COCO split written by `unmask data pascal-part`, as a prepared mrcnn Dataset."""
    from mrcnn.utils import CocoDataset

    json_path = Path(parts_dir) / f"{split}.json"
    if not json_path.is_file():
        raise FileNotFoundError(f"{json_path} not found: convert PASCAL-Part first with `unmask data pascal-part`")
    dataset = CocoDataset()
    dataset.load_coco(str(json_path), str(Path(parts_dir) / split))
    dataset.prepare()
    if tuple(dataset.class_names[1:]) != PARTS:
        raise ValueError(f"{json_path}: categories are not the 44 parts in the original order")
    return dataset


def _heads_fit(weights_file: str | Path, num_classes: int) -> bool:
    """Whether a checkpoint's class-specific heads have ``num_classes`` outputs (a K to fine-tune,
    not Matterport's 81-class COCO model)."""
    from mrcnn.weights import read_weights

    entries = dict(read_weights(str(weights_file), layers={"mrcnn_class_logits"}).get("mrcnn_class_logits", []))
    kernel = next((value for name, value in entries.items() if "kernel" in name), None)
    return kernel is not None and kernel.shape[-1] == num_classes


def train_part_extractor(
    parts_dir: Path,
    checkpoint: Path,
    kind: str = "matterport",
    overrides: dict[str, Any] | None = None,
    schedule: Sequence[dict[str, Any]] = PAPER_SCHEDULE,
    init_weights: Path | None = None,
    flip: float = 0.5,
) -> Path:
    """Train K on the PASCAL-Part COCO splits and copy the final epoch's weights to `checkpoint`.

    Idempotent: an existing `checkpoint` is returned as is. An interrupted training resumes from its
    last epoch checkpoint (kept under `<checkpoint>.training/`). `init_weights`: a K to fine-tune (every
    layer loaded), or another model such as Matterport's mask_rcnn_coco.h5 (every layer but the
    class-specific heads, whose class count differs).
    """
    from mrcnn.augment import HorizontalFlip
    from mrcnn.model import MaskRCNN

    checkpoint = Path(checkpoint)
    if checkpoint.is_file():
        log.info("K checkpoint %s exists: not retraining", checkpoint)
        return checkpoint
    train_set, val_set = load_parts_dataset(parts_dir, "train"), load_parts_dataset(parts_dir, "val")
    config = part_config(kind, "training", overrides)
    work_dir = checkpoint.with_name(checkpoint.name + ".training")
    work_dir.mkdir(parents=True, exist_ok=True)
    model = MaskRCNN(mode="training", config=config, model_dir=str(work_dir))
    try:
        last = model.find_last()
    except FileNotFoundError:
        last = None
    if last:
        log.info("resuming K training from %s", last)
        model.load_weights(last, by_name=True)
    elif init_weights:
        if not Path(init_weights).is_file():
            raise FileNotFoundError(f"initial K weights {init_weights} not found (e.g. Matterport's mask_rcnn_coco.h5)")
        exclude = [] if _heads_fit(init_weights, config.NUM_CLASSES) else list(HEAD_LAYERS)
        log.info("K starts from %s (%s)", init_weights, "every layer" if not exclude else "class-specific heads excluded")
        model.load_weights(str(init_weights), by_name=True, exclude=exclude)
    augmentation = HorizontalFlip(flip) if flip else None
    for stage in schedule:
        model.train(
            train_set,
            val_set,
            learning_rate=config.LEARNING_RATE * float(stage.get("lr_factor", 1.0)),
            epochs=int(stage["epochs"]),
            layers=stage["layers"],
            augmentation=augmentation,
        )
    final = Path(model.find_last())
    write_bytes_atomic(checkpoint, final.read_bytes())
    log.info("K trained: %s (from %s)", checkpoint, final)
    return checkpoint


def part_extractor_map(parts_dir: Path, checkpoint: Path, kind: str = "matterport", overrides: dict[str, Any] | None = None,
                       split: str = "test", eval_types: Sequence[str] = ("bbox", "segm"), limit: int = 0,
                       batch_size: int = 1, detection_min_confidence: float = 0.0) -> dict[str, Any]:
    """K's COCO AP on a PASCAL-Part split (pycocotools), the figure the papers report as mAP 0.56.

    As the original's evaluate_model: images with at least one annotation, detection at K's inference
    settings (DETECTION_MIN_CONFIDENCE 0), detected once and scored per ``eval_types``; ``limit`` > 0
    scores the first images only. Returns split, images, seconds and, per eval type, every COCOeval stat.
    """
    from mrcnn.evaluate import detect_coco_results, evaluate_results
    from unmask.extractor import MaskRCNNExtractor

    dataset = load_parts_dataset(parts_dir, split)
    ids = list(dataset.image_ids[:limit] if limit else dataset.image_ids)
    if not ids:
        raise ValueError(f"{Path(parts_dir) / split}.json has no annotated image to score K on")
    model = MaskRCNNExtractor(checkpoint, kind, overrides, batch_size, detection_min_confidence).model
    start = time.perf_counter()
    results = detect_coco_results(model, dataset, ids)
    seconds = time.perf_counter() - start
    coco_ids = [dataset.image_info[i]["id"] for i in ids]
    scores = {eval_type: evaluate_results(dataset.coco, [dict(r) for r in results], eval_type, coco_ids)
              for eval_type in eval_types}
    return {"split": split, "images": len(ids), "detect_seconds": round(seconds, 1), **scores}


def format_part_extractor_map(result: dict[str, Any]) -> str:
    """A ``part_extractor_map`` result beside the papers' mAP 0.56 (which neither paper defines; the
    original's evaluate_model printed COCOeval's bbox summary)."""
    from unmask.paper_numbers import K_MAP

    scored = "; ".join(f"{eval_type} AP {stats['AP']:.3f}, AP50 {stats['AP50']:.3f}, AP75 {stats['AP75']:.3f}"
                       for eval_type, stats in result.items() if isinstance(stats, dict))
    return (f"K on the {result['split']} split ({result['images']} images, detection {result['detect_seconds']:.1f} s): "
            f"{scored}\npublished (KDD'19 Sec. 3.1.4, BigData'20 Sec. 4.1): mAP {K_MAP:.2f}")


def score_part_extractor(extractor, items: Sequence[tuple[Path, int]], classes: Sequence[str], size: int,
                         batch_size: int = 32) -> dict[str, float]:
    """How well K's parts describe class-labelled single-object images.

    mean_jaccard: mean J(parts found, V[true class]); rectify_accuracy: share of images whose
    best-matching class (UnMask's rectification) is the true one; mean_parts: parts per image.
    """
    from unmask import core
    from unmask.images import iter_batches

    found, labels = [], []
    for x, y, _ in iter_batches(items, size, batch_size):
        found += extractor.extract(x)
        labels += y.tolist()
    if not labels:
        raise ValueError("no readable images to score K on")
    verdict = core.assess(found, labels, classes, threshold=1.0)
    return {
        "images": len(labels),
        "mean_jaccard": round(float(1.0 - verdict.scores.mean()), 4),
        "rectify_accuracy": round(float((verdict.rectified == labels).mean()), 4),
        "mean_parts": round(float(sum(len(f) for f in found) / len(found)), 4),
    }
