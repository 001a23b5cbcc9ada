"""COCO-style bbox and segm mAP of Mask R-CNN detections with pycocotools (Matterport's evaluate_coco).

The work is split so each step can be used and tested alone: ``build_coco_results`` turns one image's
detections into COCO result dicts, ``detect_coco_results`` runs a model over a dataset in batches of
its BATCH_SIZE, ``evaluate_results`` scores result dicts against the ground truth, and
``evaluate_coco`` chains the last two.
"""
from __future__ import annotations

import contextlib
import io
import time
from typing import Any, Sequence

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mrcnn.utils import Dataset

STAT_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")
"""Names of COCOeval.stats, in order: AP over IoU 0.50:0.95, at 0.50, at 0.75, by object size, then
average recall with at most 1, 10, 100 detections per image and by object size."""


def build_coco_results(dataset: Dataset, image_ids: Sequence[int], rois: np.ndarray | None,
                       class_ids: np.ndarray, scores: np.ndarray, masks: np.ndarray) -> list[dict]:
    """One image's detections -> COCO result dicts (JSON-able, masks as compressed RLE).

    ``image_ids`` is the image's COCO id as a one-element sequence (Matterport's signature); rois are
    [N, (y1, x1, y2, x2)] pixels, masks [H, W, N]. Internal class ids are mapped back to the ids of
    their source (e.g. internal 1 -> "parts" category 0).
    """
    if rois is None:
        return []
    if len(image_ids) != 1:
        raise ValueError(f"build_coco_results takes the detections of one image, got image ids {list(image_ids)}")
    results = []
    for i in range(rois.shape[0]):
        class_id = int(class_ids[i])
        y1, x1, y2, x2 = (float(v) for v in np.around(rois[i], 1))
        rle = mask_utils.encode(np.asfortranarray(masks[:, :, i].astype(np.uint8)))
        rle["counts"] = rle["counts"].decode("ascii")
        results.append({
            "image_id": int(image_ids[0]),
            "category_id": dataset.get_source_class_id(class_id, dataset.class_info[class_id]["source"]),
            "bbox": [x1, y1, x2 - x1, y2 - y1],
            "score": float(scores[i]),
            "segmentation": rle,
        })
    return results


def detect_coco_results(model: Any, dataset: Dataset, image_ids: Sequence[int]) -> list[dict]:
    """Run ``model.detect`` over the dataset images in batches of model.config.BATCH_SIZE.

    The last batch is filled up by repeating its last image; those extra detections are dropped.
    """
    batch_size = int(model.config.BATCH_SIZE)
    results: list[dict] = []
    for start in range(0, len(image_ids), batch_size):
        batch = list(image_ids[start:start + batch_size])
        images = [dataset.load_image(i) for i in batch]
        images += [images[-1]] * (batch_size - len(images))
        detections = model.detect(images, verbose=0)
        for image_id, r in zip(batch, detections):
            results.extend(build_coco_results(dataset, [dataset.image_info[image_id]["id"]], r["rois"],
                                              r["class_ids"], r["scores"], r["masks"]))
    return results


def _empty_results(coco: COCO) -> COCO:
    """A result set without detections (pycocotools' loadRes cannot take an empty list)."""
    empty = COCO()
    empty.dataset = {"images": list(coco.dataset["images"]), "categories": list(coco.dataset["categories"]),
                     "annotations": []}
    empty.createIndex()
    return empty


def evaluate_results(coco: COCO, results: list[dict], eval_type: str = "bbox",
                     image_ids: Sequence[int] | None = None, verbose: bool = False) -> dict[str, float]:
    """Score COCO result dicts against the ground truth ``coco``; returns {STAT_NAMES[i]: stats[i]}.

    ``image_ids`` are COCO image ids to score (default: every image of ``coco``). A stat is -1 when
    no ground truth falls in its category (e.g. no small objects), as in pycocotools.
    """
    if eval_type not in ("bbox", "segm"):
        raise ValueError(f"eval_type must be 'bbox' or 'segm', got {eval_type!r}")
    zero_ids = [a["image_id"] for a in coco.dataset.get("annotations", []) if a["id"] == 0]
    if zero_ids:
        raise ValueError("a ground-truth annotation has id 0 (image ids "
                         f"{sorted(set(zero_ids))[:5]}); COCOeval reads id 0 as 'unmatched', so "
                         "matches to it would count as false positives: number annotations from 1")
    quiet = contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO())
    with quiet:
        detections = coco.loadRes(results) if results else _empty_results(coco)
        evaluation = COCOeval(coco, detections, eval_type)
        evaluation.params.imgIds = list(image_ids) if image_ids is not None else sorted(coco.getImgIds())
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return {name: float(value) for name, value in zip(STAT_NAMES, evaluation.stats)}


def evaluate_coco(model: Any, dataset: Dataset, coco: COCO, eval_type: str = "bbox", limit: int = 0,
                  image_ids: Sequence[int] | None = None, verbose: bool = True) -> dict[str, float]:
    """Detect on the dataset (first ``limit`` images when > 0) and return its COCO bbox or segm stats.

    ``image_ids`` are internal dataset ids (default: all). Also reports the detection time when
    ``verbose``.
    """
    ids = list(dataset.image_ids if image_ids is None else image_ids)
    if limit:
        ids = ids[:limit]
    if not ids:
        raise ValueError("no images to evaluate: the dataset (or image_ids) is empty")
    start = time.perf_counter()
    results = detect_coco_results(model, dataset, ids)
    seconds = time.perf_counter() - start
    stats = evaluate_results(coco, results, eval_type, [dataset.image_info[i]["id"] for i in ids], verbose)
    if verbose:
        print(f"detection: {seconds:.1f} s for {len(ids)} images ({seconds / max(len(ids), 1):.2f} s/image)")
    return stats
