"""The experiment grid: every model x class set x attack x eps of a preset, resumable.

Per (model, class set) the evaluator streams the test images in batches: M and the optional
adversarially trained M predict, K extracts parts, the attack crafts adversarial images, K extracts
their parts. Work is done once and reused everywhere:
- benign part sets are cached per (image file, M's input size) in `cache/benign_parts.jsonl`, so
  every attack, eps and class set sharing an image shares one K pass;
- each attacked batch is cached in `cache/adv/<cell>/<fingerprint>/batch_NNNNN.npz` (adversarial
  images, predictions, parts), so an interrupted cell resumes at its next batch;
- each finished cell is written atomically to `cells/<cell>.json`, after a stamp holding the
  fingerprint of everything it depends on and the cell's hash, so a re-run reuses every cell file
  on disk whose inputs did not change, even one written just before the process was killed.
Memory stays flat in the number of test images: only per-image labels, predictions and part sets
are kept, never the images of a whole split.
"""
from __future__ import annotations

import json
import logging
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from unmask import core, metrics
from unmask.attack_specs import preset_spec
from unmask.images import iter_batches, list_image_folder
from unmask.parts import class_set as lookup_class_set
from unmask.presets import AttackEntry, ModelSpec, Preset
from unmask.protect import PartExtractor
from unmask.results import (
    NO_ATTACK, RESULTS_FILE, CellResult, DetectionResult, cell_key, reusable_cell, write_cell, write_json_atomic,
)

log = logging.getLogger(__name__)


class MissingInputError(FileNotFoundError):
    """A dataset folder or checkpoint the preset needs is not there; the message says where it goes."""


def model_checkpoint(preset: Preset, model: ModelSpec, class_set: str, adversarial: bool = False) -> Path:
    """Where M (or its adversarially trained twin) for a class set lives."""
    folder = model.checkpoints or preset.output / "models" / model.name
    return folder / f"{class_set}{'_at' if adversarial else ''}.keras"


def check_inputs(preset: Preset) -> None:
    """Fail before any work when a dataset folder or checkpoint is missing, naming all of them."""
    missing = []
    if not preset.extractor.checkpoint.is_file():
        missing.append(f"part extractor K checkpoint {preset.extractor.checkpoint}")
    for cs in preset.class_sets:
        for split in ("val", "test"):
            folder = preset.data.classsets_dir / cs / split
            if not folder.is_dir():
                missing.append(f"class-set images {folder} (build them with `unmask data classsets`)")
        for model in preset.models:
            paths = [model_checkpoint(preset, model, cs)]
            if model.adversarial_training:
                paths.append(model_checkpoint(preset, model, cs, adversarial=True))
            missing += [f"model M checkpoint {p} (train it with `unmask train-m` or `unmask run`)" for p in paths if not p.is_file()]
    if missing:
        raise MissingInputError("missing inputs:\n  " + "\n  ".join(missing))


class CountingExtractor:
    """Wraps K to count the images it sees (the benchmark checks: one K pass per distinct image)."""

    def __init__(self, load: Callable[[], PartExtractor]):
        self._load = load
        self._extractor: PartExtractor | None = None
        self.images_seen = 0

    def extract(self, images: np.ndarray) -> list[frozenset[str]]:
        if self._extractor is None:  # loaded lazily: a fully cached re-run never builds K
            self._extractor = self._load()
        self.images_seen += len(images)
        return [frozenset(p) for p in self._extractor.extract(images)]


class BenignPartCache:
    """Part sets of benign images, keyed by file and input size, appended as JSON lines.

    Appending keeps every finished batch on disk; a line cut by an interruption is ignored.
    """

    def __init__(self, path: Path):
        self.path = path
        self.parts: dict[str, frozenset[str]] = {}
        if path.is_file():
            for line in path.read_text().splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    log.warning("ignoring a truncated line in %s", path)
                    continue
                self.parts[row["key"]] = frozenset(row["parts"])

    @staticmethod
    def key(image_path: str, size: int) -> str:
        return f"{image_path}@{size}"

    def lookup(self, extractor: CountingExtractor, x: np.ndarray, keys: Sequence[str]) -> list[frozenset[str]]:
        """Part sets for a batch, running K only on the images not seen before."""
        todo = [i for i, k in enumerate(keys) if k not in self.parts]
        if todo:
            found = extractor.extract(x[todo])
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as out:
                for i, parts in zip(todo, found):
                    self.parts[keys[i]] = parts
                    out.write(json.dumps({"key": keys[i], "parts": sorted(parts)}) + "\n")
        return [self.parts[k] for k in keys]


@dataclass
class Records:
    """Per-image facts of one pass over a split (small: no images)."""

    labels: list[int] = field(default_factory=list)
    predicted: list[int] = field(default_factory=list)
    predicted_at: list[int] = field(default_factory=list)
    parts: list[frozenset[str]] = field(default_factory=list)

    def add(self, labels: np.ndarray, predicted: np.ndarray, predicted_at: np.ndarray | None, parts: list) -> None:
        self.labels += labels.tolist()
        self.predicted += predicted.tolist()
        if predicted_at is not None:
            self.predicted_at += predicted_at.tolist()
        self.parts += list(parts)

    def scores(self, classes: Sequence[str]) -> np.ndarray:
        return core.distances(self.parts, self.predicted, classes)


@dataclass
class PairContext:
    """Everything one (model, class set) pair needs, loaded once."""

    preset: Preset
    model_spec: ModelSpec
    class_set: str
    classes: tuple[str, ...]
    model: Any
    model_at: Any | None
    image_size: int
    test_items: list
    benign: Records
    heldout_scores: np.ndarray
    threshold: float
    fingerprint_base: list


def _predictor(model: Any) -> Callable[[np.ndarray], np.ndarray]:
    import tensorflow as tf

    forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    return lambda x: np.asarray(forward(tf.constant(x))).argmax(axis=1)


def _limit(items: list, limit: int | None, seed: int) -> list:
    """A seeded random subset of at most `limit` items, in their original order (all when no limit)."""
    if limit is None or len(items) <= limit:
        return items
    order = np.random.default_rng(seed).permutation(len(items))
    return [items[i] for i in sorted(order[:limit])]


def _benign_pass(items, ctx_size, batch_size, predict, predict_at, cache, extractor) -> Records:
    records = Records()
    for x, y, paths in iter_batches(items, ctx_size, batch_size):
        parts = cache.lookup(extractor, x, [BenignPartCache.key(p, ctx_size) for p in paths])
        records.add(y, predict(x), predict_at(x) if predict_at else None, parts)
    return records


def _accuracy(answers: Sequence[int], labels: Sequence[int]) -> float:
    return float(np.mean(np.asarray(answers) == np.asarray(labels))) if len(labels) else 0.0


def _defense_accuracies(ctx: PairContext, records: Records) -> tuple[float, float]:
    always = core.defend(records.parts, records.predicted, ctx.classes, ctx.threshold, "always_rectify")
    thresh = core.defend(records.parts, records.predicted, ctx.classes, ctx.threshold, "threshold")
    return _accuracy(always, records.labels), _accuracy(thresh, records.labels)


def _detection(ctx: PairContext, attacked: Records) -> DetectionResult:
    """Contamination 0.5: successful adversarial images and their own benign versions."""
    success = np.asarray(attacked.predicted) != np.asarray(attacked.labels)
    adv_scores = attacked.scores(ctx.classes)[success]
    benign_scores = ctx.benign.scores(ctx.classes)[success]
    result = DetectionResult(n_adversarial=int(success.sum()), n_benign=int(success.sum()), auc=None)
    if success.sum() == 0:
        return result
    scores = np.r_[adv_scores, benign_scores]
    labels = np.r_[np.ones(adv_scores.size, int), np.zeros(benign_scores.size, int)]
    curve = metrics.roc_curve(scores, labels)
    result.auc = metrics.auc(curve)
    result.roc_fpr, result.roc_tpr, result.roc_thresholds = curve.fpr.tolist(), curve.tpr.tolist(), curve.thresholds.tolist()
    for target in ctx.preset.evaluation.fpr_targets:
        point = metrics.operating_point(ctx.heldout_scores, benign_scores, adv_scores, target)
        key = f"{target:g}"
        result.tpr_at_fpr[key], result.fpr_at_fpr[key], result.threshold_at_fpr[key] = point.tpr, point.fpr, point.threshold
    return result


def _cell(ctx: PairContext, attack: str, eps: float | None, records: Records, detection: DetectionResult | None) -> CellResult:
    always, thresh = _defense_accuracies(ctx, records)
    return CellResult(
        model=ctx.model_spec.name,
        class_set=ctx.class_set,
        attack=attack,
        eps=eps,
        n_images=len(records.labels),
        acc_none=_accuracy(records.predicted, records.labels),
        acc_at=_accuracy(records.predicted_at, records.labels) if ctx.model_at is not None else None,
        acc_um_always=always,
        acc_um_threshold=thresh,
        threshold=ctx.threshold,
        detection=detection,
    )


class Grid:
    """Runs the cells of a preset, reusing everything already on disk under the run folder."""

    def __init__(self, preset: Preset, extractor_factory: Callable[[], PartExtractor] | None = None):
        self.preset = preset
        self.run_dir = preset.output
        self.extractor = CountingExtractor(extractor_factory or self._default_extractor)
        self.benign_cache = BenignPartCache(self.run_dir / "cache" / "benign_parts.jsonl")
        self.stats = {"cells_computed": 0, "cells_reused": 0, "attacked_batches": 0, "images_attacked": 0}

    def _default_extractor(self) -> PartExtractor:
        from unmask.extractor import get_extractor

        spec = self.preset.extractor
        return get_extractor(spec.checkpoint, spec.config, spec.config_overrides, spec.batch_size, spec.detection_min_confidence)

    def _fingerprint_base(self, model: ModelSpec, class_set: str, n_test: int) -> list:
        paths = [model_checkpoint(self.preset, model, class_set)]
        if model.adversarial_training:
            paths.append(model_checkpoint(self.preset, model, class_set, adversarial=True))
        k = self.preset.extractor
        return [
            [(str(p), p.stat().st_mtime_ns) for p in paths],
            [str(k.checkpoint), k.checkpoint.stat().st_mtime_ns, k.config, k.config_overrides, k.detection_min_confidence],
            asdict(self.preset.evaluation),
            n_test,
            self.preset.seed,
        ]

    def pair(self, model_spec: ModelSpec, class_set: str) -> PairContext:
        from unmask.classifiers import load_classifier

        classes = lookup_class_set(class_set)
        model, info = load_classifier(model_checkpoint(self.preset, model_spec, class_set))
        if tuple(info.class_names) != classes:
            raise ValueError(f"model {model_spec.name} for {class_set} predicts {info.class_names}, expected {classes}")
        model_at = None
        if model_spec.adversarial_training:
            model_at, _ = load_classifier(model_checkpoint(self.preset, model_spec, class_set, adversarial=True))
        ev, root = self.preset.evaluation, self.preset.data.classsets_dir / class_set
        test_items = _limit(list_image_folder(root / "test", classes), ev.max_test_images, self.preset.seed)
        heldout_items = _limit(list_image_folder(root / "val", classes), ev.max_heldout_images, self.preset.seed)
        size = info.image_size
        predict, predict_at = _predictor(model), _predictor(model_at) if model_at is not None else None
        benign = _benign_pass(test_items, size, ev.batch_size, predict, predict_at, self.benign_cache, self.extractor)
        heldout = _benign_pass(heldout_items, size, ev.batch_size, predict, None, self.benign_cache, self.extractor)
        heldout_scores = heldout.scores(classes)
        return PairContext(
            preset=self.preset,
            model_spec=model_spec,
            class_set=class_set,
            classes=classes,
            model=model,
            model_at=model_at,
            image_size=size,
            test_items=test_items,
            benign=benign,
            heldout_scores=heldout_scores,
            threshold=core.threshold_for_fpr(heldout_scores, ev.threshold_fpr),
            fingerprint_base=self._fingerprint_base(model_spec, class_set, len(test_items)),
        )

    def benign_cell(self, ctx: PairContext) -> CellResult:
        key = cell_key(ctx.model_spec.name, ctx.class_set, NO_ATTACK, None)
        fingerprint = self.preset.fingerprint(ctx.fingerprint_base, NO_ATTACK)
        cell = reusable_cell(self.run_dir, key, fingerprint)
        if cell is None:
            cell = _cell(ctx, NO_ATTACK, None, ctx.benign, None)
            write_cell(self.run_dir, cell, fingerprint)
            self.stats["cells_computed"] += 1
        else:
            self.stats["cells_reused"] += 1
        return cell

    def attack_cell(self, ctx: PairContext, entry: AttackEntry) -> CellResult:
        spec = preset_spec(self.preset.attack_preset, entry.name, entry.eps)
        key = cell_key(ctx.model_spec.name, ctx.class_set, entry.name, entry.eps)
        fingerprint = self.preset.fingerprint(ctx.fingerprint_base, asdict(spec))
        cell = reusable_cell(self.run_dir, key, fingerprint)
        if cell is not None:
            self.stats["cells_reused"] += 1
            return cell
        batch_dir = self.run_dir / "cache" / "adv" / key / fingerprint
        attacked = Records()
        for index, (x, y, _) in enumerate(iter_batches(ctx.test_items, ctx.image_size, ctx.preset.evaluation.batch_size)):
            batch = self._attacked_batch(ctx, spec, key, batch_dir / f"batch_{index:05d}.npz", index, x, y)
            attacked.add(y, batch["predicted"], batch.get("predicted_at"), batch["parts"])
        cell = _cell(ctx, entry.name, entry.eps, attacked, _detection(ctx, attacked))
        write_cell(self.run_dir, cell, fingerprint)
        self.stats["cells_computed"] += 1
        return cell

    def _attacked_batch(self, ctx: PairContext, spec, key: str, path: Path, index: int, x: np.ndarray, y: np.ndarray) -> dict:
        """Attack one batch (M and, when present, the AT model), extract parts; cached on disk."""
        if path.is_file():
            with np.load(path) as saved:
                if np.array_equal(saved["labels"], y):
                    out = {"predicted": saved["predicted"], "parts": [frozenset(json.loads(p)) for p in saved["parts"]]}
                    if "predicted_at" in saved:
                        out["predicted_at"] = saved["predicted_at"]
                    return out
        from unmask.attacks import attack

        seed = (self.preset.seed * 1_000_003 + zlib.crc32(key.encode()) + index) % 2**31
        result = attack(ctx.model, x, y, spec, batch_size=len(x), seed=seed, predict_clean=False)
        parts = self.extractor.extract(result.images_adv)
        out = {"predicted": np.asarray(result.predictions_adv), "parts": parts}
        arrays = {
            "labels": y,
            "images_adv": result.images_adv.astype(np.float32),
            "predicted": out["predicted"],
            "success": np.asarray(result.success),
            "parts": np.array([json.dumps(sorted(p)) for p in parts]),
        }
        if ctx.model_at is not None:
            out["predicted_at"] = arrays["predicted_at"] = np.asarray(
                attack(ctx.model_at, x, y, spec, batch_size=len(x), seed=seed, predict_clean=False).predictions_adv
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(path)
        self.stats["attacked_batches"] += 1
        self.stats["images_attacked"] += len(x)
        return out

    def run(self, progress: Callable[[str], None] = log.info) -> list[CellResult]:
        """Every cell of the preset, in order; writes results.json at the end."""
        check_inputs(self.preset)
        cells: list[CellResult] = []
        for model_spec in self.preset.models:
            for class_set in self.preset.class_sets:
                started = time.time()
                ctx = self.pair(model_spec, class_set)
                cells.append(self.benign_cell(ctx))
                for entry in self.preset.attacks:
                    cell = self.attack_cell(ctx, entry)
                    cells.append(cell)
                    progress(
                        f"{model_spec.name} {class_set} {entry.name} eps={entry.eps}: none {cell.acc_none:.2f} "
                        f"UM {cell.acc_um_always:.2f}/{cell.acc_um_threshold:.2f} "
                        f"AUC {cell.detection.auc if cell.detection and cell.detection.auc is not None else float('nan'):.3f}"
                    )
                log.info("%s %s done in %.1f s", model_spec.name, class_set, time.time() - started)
        write_json_atomic(
            self.run_dir / RESULTS_FILE,
            {"preset": self.preset.name, "paper": self.preset.paper, "cells": [c.to_dict() for c in cells]},
        )
        return cells
