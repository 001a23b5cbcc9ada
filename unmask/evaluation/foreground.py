"""The foreground-attention experiment (``experiment: foreground`` presets): Vaishnavi et al.'s Table 4.

Per model of the preset, four classifiers: trained on X (whole images) or on X_FG (mask * image), each
naturally (N) or adversarially (A: every batch replaced by its mask-aware PGD version); X models are the
same code with an all-ones mask. Each is scored top-1 on the benign test images and under each attack,
crafted white-box against it (``foreground.masked_attack``). The X_FG models are scored once per mask
source:

- ``oracle``: the dataset's masks (the paper's setting; an upper bound: the masks are given, the
  adversary cannot move them);
- ``part_model`` (ours, beyond the paper): the union of K's part masks on the image as given. Non-adaptive
  attack: PGD with the mask K finds on the clean image, held fixed; adaptive (``evaluation.adaptive``):
  BPDA, K's mask recomputed on every iterate and held constant in the backward pass, the perturbation
  free over the whole image. Either way the defense then recomputes K's mask on the adversarial image.

Trained models are reused when their stored request matches; each (model, mask source) result is a
cell written atomically under ``cells/`` with the fingerprint of what it depends on, reused on resume.
Writes results.json, report/report.md (``report.foreground``) and run.json.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from unmask.evaluation.grid import MissingInputError, limit_items
from unmask.fileio import read_json, write_json_atomic
from unmask.presets import ForegroundPreset, ModelSpec, given
from unmask.results import NO_ATTACK

log = logging.getLogger(__name__)

BPDA_SUFFIX = " (BPDA)"
"""Appended to an attack's label for the adaptive attack's accuracy."""
BUILDERS: dict[str, tuple[str, str]] = {
    "coco_ic": ("dataset_tools.coco_ic:check_coco_source", "dataset_tools.coco_ic:build_coco_ic"),
    "gtsrb_ic": ("dataset_tools.gtsrb_ic:check_gtsrb_source", "dataset_tools.gtsrb_ic:build_gtsrb_ic"),
}
"""builder -> (the check of the user's raw copy, the builder (source, out, size) -> manifest)."""


@dataclasses.dataclass(frozen=True)
class Variant:
    """One of the four classifiers of a model: trained on X or X_FG, naturally or adversarially."""

    model: ModelSpec
    data: str  # "X" or "X_FG"
    training: str  # "N" or "A"

    @property
    def stem(self) -> str:
        return f"{self.model.name}_{self.data.lower().replace('_', '')}_{self.training.lower()}"


def variants(preset: ForegroundPreset) -> list[Variant]:
    """Every classifier of the preset, in Table 4's row order per model."""
    trainings = lambda m: ("N", "A") if m.adversarial_training else ("N",)  # noqa: E731
    return [Variant(m, data, training) for m in preset.models for training in trainings(m) for data in ("X", "X_FG")]


def check_foreground_inputs(preset: ForegroundPreset) -> None:
    """Before any work: the user's raw dataset (when the dataset is not built yet), K's checkpoint and the
    ImageNet weights of models that start from them."""
    from unmask import registry
    from unmask.pipeline import imagenet_weights_needed

    problems = []
    if preset.data.builder in BUILDERS and not (preset.data.root / "dataset.json").is_file():
        try:
            registry.load(BUILDERS[preset.data.builder][0])(preset.data.source)
        except FileNotFoundError as err:
            problems.append(str(err))
    if "part_model" in preset.mask_sources and not preset.part_model.checkpoint.is_file():
        problems.append(f"K's checkpoint (part_model.checkpoint): {preset.part_model.checkpoint}")
    needed = imagenet_weights_needed(preset.models, lambda model: True)
    problems += [f"{what}: {path}" for path, what in needed.items()]
    if problems:
        raise MissingInputError("missing inputs, nothing was run:\n  " + "\n  ".join(problems))


def prepare_dataset(preset: ForegroundPreset) -> dict:
    """The dataset's manifest, building it first when dataset.json is missing."""
    from dataset_tools.fg_miniature import build_miniature
    from dataset_tools.fg_pairs import read_manifest
    from unmask import registry

    data = preset.data
    if data.builder == "miniature":
        return build_miniature(data.root, data.train_per_class, data.test_per_class, data.size, seed=data.seed,
                               difficulty=data.difficulty)
    if not (data.root / "dataset.json").is_file():
        registry.load(BUILDERS[data.builder][1])(data.source, data.root, data.size)
    manifest = read_manifest(data.root)
    if manifest["size"] != data.size:
        raise ValueError(f"{data.root} holds {manifest['size']} px images, the preset asks for {data.size} (data.size)")
    return manifest


def load_split(preset: ForegroundPreset, classes: list[str], split: str, limit: int | None):
    """(images, masks, labels) of a split, a seeded subset of at most ``limit``."""
    from dataset_tools.fg_pairs import list_pairs, load_pairs

    return load_pairs(limit_items(list_pairs(preset.data.root, split, classes), limit, preset.seed))


def variant_recipe(preset: ForegroundPreset, variant: Variant):
    """(the training recipe, the adversarial-training attack or None) of a classifier: the model's train
    section (its adversarial_training.train changes for A) over its registry recipe."""
    from unmask import registry
    from unmask.attack_specs import preset_spec

    model = variant.model
    settings = model.adversarial_train() if variant.training == "A" else model.train
    recipe = registry.lookup(registry.TRAIN_PRESETS, settings.preset or registry.DEFAULT_TRAIN_PRESET,
                             "training preset").resolved(**{k: v for k, v in given(settings).items()
                                                            if k in ("epochs", "batch_size", "learning_rate", "optimizer")})
    spec = preset_spec(preset.attack_preset, "pgd_linf", model.adversarial_training.eps) if variant.training == "A" else None
    return recipe, spec


def recipe_used(recipe) -> dict[str, Any]:
    """The settings of a training recipe that ``foreground.train_masked`` uses."""
    return {k: getattr(recipe, k) for k in ("name", "epochs", "batch_size", "learning_rate", "momentum", "weight_decay",
                                            "optimizer")}


def describe_foreground_jobs(preset: ForegroundPreset) -> list[dict[str, Any]]:
    """The jobs of a foreground run (``unmask run --plan``): build the dataset, train each classifier, score
    each (classifier, mask source)."""
    jobs: list[dict[str, Any]] = [{"stage": "data", "kind": f"foreground_{preset.data.builder}", **given(preset.data)}]
    for variant in variants(preset):
        recipe, spec = variant_recipe(preset, variant)
        jobs.append({"stage": "m", "kind": "foreground_model", "model": variant.stem, "data": variant.data,
                     "training": variant.training, "arch": variant.model.arch, "recipe": recipe_used(recipe),
                     "adversarial_attack": spec.to_dict() if spec else None,
                     "out": preset.output / "models" / f"{variant.stem}.keras"})
    for variant in variants(preset):
        for source in preset.mask_sources if variant.data == "X_FG" else ("none",):
            jobs.append({"stage": "evaluate", "kind": "foreground_scores", "model": variant.stem, "mask_source": source,
                         "attack_preset": preset.attack_preset, "attacks": [e.label() for e in preset.attacks],
                         **given(preset.evaluation)})
    return jobs


def train_variant(preset: ForegroundPreset, variant: Variant, classes: list[str], train: tuple) -> Path:
    """Train (or reuse, when its stored request matches) one classifier; returns its .keras path."""
    import keras

    from unmask.classifiers import build_classifier, read_classifier_info, save_classifier
    from unmask.foreground import train_masked
    from unmask.training import _request

    model = variant.model
    recipe, spec = variant_recipe(preset, variant)
    images, masks, labels = train
    request = {"variant": variant.stem, "data": variant.data, "training": variant.training, "arch": model.arch,
               "weights": model.weights, "preprocess": model.preprocess, "recipe": recipe_used(recipe),
               "attack": spec.to_dict() if spec else None, "seed": preset.seed, "dataset": preset.fingerprint(given(preset.data)),
               "n_train": int(len(labels)), "classes": classes}
    request = _request(**request)
    path = preset.output / "models" / f"{variant.stem}.keras"
    if path.is_file() and read_classifier_info(path).extra.get("request") == request:
        log.info("reusing %s", path)
        return path
    keras.utils.set_random_seed(preset.seed)
    m = build_classifier(model.arch, len(classes), model.weights, False, model.image_size, model.preprocess)
    started = time.time()
    used = masks if variant.data == "X_FG" else np.ones_like(masks)
    history = train_masked(m, images, used, labels, recipe, spec=spec, seed=preset.seed)
    log.info("%s trained in %.0f s: %s", variant.stem, time.time() - started, history[-1])
    save_classifier(m, path, classes, model.arch, model.image_size,
                    {"request": request, "history": history, "seconds": round(time.time() - started, 1)})
    return path


def mask_iou(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Mean intersection over union of two sets of 0/1 masks (an empty union counts 1)."""
    inter = (predicted * truth).sum(axis=(1, 2, 3))
    union = np.maximum(predicted, truth).sum(axis=(1, 2, 3))
    return float(np.mean(np.where(union > 0, inter / np.maximum(union, 1), 1.0)))


def score_variant(preset: ForegroundPreset, variant: Variant, source: str, path: Path, test: tuple,
                  k_masks: Callable[[np.ndarray], np.ndarray] | None) -> dict[str, Any]:
    """Accuracies of one classifier under one mask source ("none" for an X model): benign (``none``), per
    attack and, for part_model with ``evaluation.adaptive``, per attack under BPDA."""
    import tensorflow as tf

    from unmask.attack_specs import preset_spec
    from unmask.classifiers import load_classifier
    from unmask.foreground import masked_attack, masked_predict

    model, _ = load_classifier(path)
    images, truth, labels = test
    batch, seed = preset.evaluation.batch_size, preset.seed
    row: dict[str, Any] = {"accuracy": {}}
    if source == "part_model":
        masks = k_masks(images)
        row["mask_iou_vs_oracle"] = mask_iou(masks, truth)
        row["mask_foreground_fraction"] = float(masks.mean())
    else:
        masks = truth if source == "oracle" else np.ones_like(truth)
    accuracy = lambda adv, m: float(np.mean(masked_predict(model, adv, m, batch) == labels))  # noqa: E731
    row["accuracy"][NO_ATTACK] = accuracy(images, masks)
    for entry in preset.attacks:
        spec = preset_spec(preset.attack_preset, entry.name, entry.eps)
        adv = masked_attack(model, images, labels, spec, masks=masks, batch_size=batch, seed=seed)
        row["accuracy"][entry.label()] = accuracy(adv, k_masks(adv) if source == "part_model" else masks)
        if source == "part_model" and preset.evaluation.adaptive:
            started = time.time()
            adv = masked_attack(model, images, labels, spec, mask_fn=lambda x: tf.constant(k_masks(x.numpy())),
                                batch_size=batch, seed=seed)
            row["accuracy"][entry.label() + BPDA_SUFFIX] = accuracy(adv, k_masks(adv))
            row["bpda_seconds"] = round(time.time() - started, 1)
    return row


def _k_masks(preset: ForegroundPreset) -> Callable[[np.ndarray], np.ndarray]:
    """K's foreground masks of an image batch (the part_model mask source)."""
    from unmask.extractor import get_extractor
    from unmask.foreground import part_model_masks

    spec = preset.part_model
    extractor = get_extractor(spec.checkpoint, spec.config, spec.config_overrides, spec.batch_size, 0.0)
    return lambda images: part_model_masks(extractor, np.clip(images, 0.0, 1.0), spec.min_confidence)


def run_foreground_experiment(preset: ForegroundPreset) -> Path:
    """Build the data, train the four classifiers of every model, score them per mask source; writes
    run.json, results.json and report/report.md under the preset's output."""
    from unmask.classifiers import read_classifier_info
    from unmask.report.foreground import write_foreground_report

    check_foreground_inputs(preset)
    timings: dict[str, float] = {}
    started = time.time()
    manifest = prepare_dataset(preset)
    classes = manifest["classes"]
    train = load_split(preset, classes, "train", preset.data.max_train_images)
    test = load_split(preset, classes, "test", preset.evaluation.max_test_images)
    timings["data"] = round(time.time() - started, 1)
    started = time.time()
    paths = {v.stem: train_variant(preset, v, classes, train) for v in variants(preset)}
    timings["m"] = round(time.time() - started, 1)
    started = time.time()
    k_masks = _k_masks(preset) if "part_model" in preset.mask_sources else None
    rows = []
    for variant in variants(preset):
        for source in preset.mask_sources if variant.data == "X_FG" else ("none",):
            cell = preset.output / "cells" / f"{variant.stem}__{source}.json"
            stamp = preset.fingerprint(read_classifier_info(paths[variant.stem]).extra["request"], source,
                                       given(preset.evaluation), [e.label() for e in preset.attacks], preset.attack_preset,
                                       given(preset.part_model) if source == "part_model" else None)
            done = read_json(cell) if cell.is_file() else None
            if done is None or done.get("stamp") != stamp:
                row = {"model": variant.model.name, "arch": variant.model.arch, "data": variant.data,
                       "training": variant.training, "mask_source": source, "checkpoint": str(paths[variant.stem]),
                       **score_variant(preset, variant, source, paths[variant.stem], test, k_masks)}
                write_json_atomic(cell, {"stamp": stamp, "row": row})
                log.info("%s [%s]: %s", variant.stem, source, row["accuracy"])
            else:
                row = done["row"]
            rows.append(row)
    timings["evaluate"] = round(time.time() - started, 1)
    results = write_json_atomic(preset.output / "results.json", {
        "experiment": "foreground", "preset": preset.name, "paper": preset.paper, "dataset": manifest,
        "n_train": int(len(train[2])), "n_test": int(len(test[2])), "mask_sources": list(preset.mask_sources),
        "attacks": [e.label() for e in preset.attacks], "rows": rows})
    write_json_atomic(preset.output / "run.json", {"experiment": "foreground", "preset": preset.source,
                                                   "preset_name": preset.name, "paper": preset.paper, "seed": preset.seed,
                                                   "timings_s": timings, "artifacts": {"results": str(results)}})
    report = write_foreground_report(preset.output)
    write_json_atomic(preset.output / "run.json", {**read_json(preset.output / "run.json"),
                                                   "artifacts": {"results": str(results), "report": [str(p) for p in report]}})
    return preset.output
