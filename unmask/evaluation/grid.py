"""The experiment grid: every model x class set x attack x eps of a preset, scored for every defense.

Per (model, class set) the grid loads the model variants its defenses need (M, its adversarially
trained twin), then streams the test images in batches:
1. K's part sets of the benign test and held-out images (one K pass per image, `BenignPartCache`);
2. the held-out benign images calibrate every detector (its threshold for the preset's FPR);
3. the benign cell: every defense answers (and detectors score) the benign test images;
4. per attack cell, per model variant: the attack is crafted white-box against that variant, K
   extracts the parts of the adversarial images when a defense of that variant needs them, and every
   defense answers its variant's adversarial images.
Each attacked batch and each finished cell is cached (`caches`), so an interrupted run resumes and a
re-run reuses every cell whose inputs did not change: a cell's stamp covers the model checkpoints,
K's identity, the test images (path, size, mtime), the attack spec, the defenses and the evaluation
settings. Memory stays flat in the number of test images: only per-image labels, answers and scores
are kept, never the images of a whole split.
"""
from __future__ import annotations

import logging
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from unmask.attack_specs import AttackSpec, preset_spec
from unmask.defenses import ADVERSARIAL, PLAIN, Defense, DefenseSettings, Observation, build_defense
from unmask.evaluation.caches import (
    AttackedBatchCache, BenignPartCache, CountingExtractor, content_hash, file_stamp, fingerprint,
)
from unmask.evaluation.scoring import Tally, cell_result, detection
from unmask.images import iter_batches, list_image_folder
from unmask.parts import class_set as lookup_class_set
from unmask.presets import AttackEntry, ModelSpec, Preset
from unmask.protect import PartExtractor
from unmask.results import NO_ATTACK, CellResult, cell_key, cell_path, reusable_cell, write_cell, write_results

log = logging.getLogger(__name__)


class MissingInputError(FileNotFoundError):
    """A dataset folder or checkpoint the preset needs is not there; the message says where it goes."""


def model_checkpoint(preset: Preset, model: ModelSpec, class_set: str, adversarial: bool = False) -> Path:
    """Where M (or its adversarially trained twin) for a class set lives."""
    folder = model.checkpoints or preset.output / "models" / model.name
    return folder / f"{class_set}{'_at' if adversarial else ''}.keras"


def variant_paths(preset: Preset, model: ModelSpec, class_set: str) -> dict[str, Path]:
    """The checkpoints of the model variants this model has, plain first (the AT twin only with an AT recipe)."""
    paths = {PLAIN: model_checkpoint(preset, model, class_set)}
    if model.adversarial_training:
        paths[ADVERSARIAL] = model_checkpoint(preset, model, class_set, adversarial=True)
    return paths


def evaluation_inputs(preset: Preset) -> list[tuple[str | None, Path, str]]:
    """Every file and folder the evaluation reads: (the stage that makes it, or None when only the
    user can provide it; its path; what it is and how to get it)."""
    inputs: list[tuple[str | None, Path, str]] = [
        ("k", preset.extractor.checkpoint, "part extractor K checkpoint")]
    for cs in preset.class_sets:
        inputs += [("data", preset.data.classsets_dir / cs / split,
                    "class-set images (build them with `unmask data classsets`)") for split in ("val", "test")]
        for model in preset.models:
            stage = "m" if model.checkpoints is None else None
            inputs += [(stage, path, "model M checkpoint (train it with `unmask train-m` or `unmask run`)")
                       for path in variant_paths(preset, model, cs).values()]
    return inputs


def check_inputs(preset: Preset, made_by: frozenset[str] = frozenset()) -> None:
    """Fail before any work when an input of the evaluation is missing, naming all of them; inputs
    that a stage in `made_by` will make are not required yet."""
    missing = [f"{what}: {path}" for stage, path, what in evaluation_inputs(preset)
               if stage not in made_by and not path.exists()]
    if missing:
        raise MissingInputError("missing inputs:\n  " + "\n  ".join(missing))


def limit_items(items: list, limit: int | None, seed: int) -> list:
    """A seeded random subset of at most `limit` items, in their original order (all when no limit)."""
    if limit is None or len(items) <= limit:
        return items
    order = np.random.default_rng(seed).permutation(len(items))
    return [items[i] for i in sorted(order[:limit])]


@dataclass
class Variant:
    """One trained variant of M: the model, its compiled predictor, whether K must see its attacks."""

    name: str
    model: Any
    checkpoint: Path
    needs_parts: bool

    def predict(self, x: np.ndarray) -> np.ndarray:
        from unmask.classifiers import predict_classes

        return predict_classes(self.model, x, batch_size=len(x))


@dataclass(frozen=True)
class InputStamp:
    """What the results of one (model, class set) pair depend on, as plain data for `fingerprint`."""

    checkpoints: dict[str, list]
    """Model variant -> its checkpoint's path, size and mtime."""
    k: list | None
    """K's identity (None when no defense needs parts)."""
    test_images: list
    heldout_images: list | None
    evaluation: dict
    seed: int


@dataclass
class PairContext:
    """Everything one (model, class set) pair needs, loaded once."""

    model_spec: ModelSpec
    class_set: str
    classes: tuple[str, ...]
    variants: dict[str, Variant]
    defenses: list[Defense]
    image_size: int
    test_items: list
    benign: Tally
    heldout_scores: dict[str, np.ndarray]
    stamp: InputStamp


class Grid:
    """Runs the cells of a preset, reusing everything already on disk under the run folder."""

    def __init__(self, preset: Preset, extractor_factory: Callable[[], PartExtractor] | None = None):
        self.preset = preset
        self.run_dir = preset.output
        self.extractor = CountingExtractor(extractor_factory or self._default_extractor)
        self.stats = {"cells_computed": 0, "cells_reused": 0, "attacked_batches": 0, "images_attacked": 0,
                      "attacked_images_to_k": 0}
        self.skipped: dict[str, str] = {}
        """Unreadable images left out, "<class set>/<split>/<path>" -> error (results.json counts them)."""
        self._k_identity: list | None = None
        self._benign_cache: BenignPartCache | None = None

    def _default_extractor(self) -> PartExtractor:
        from unmask.extractor import get_extractor

        spec = self.preset.extractor
        return get_extractor(spec.checkpoint, spec.config, spec.config_overrides, spec.batch_size, spec.detection_min_confidence,
                             spec.quantize)

    @property
    def k_identity(self) -> list:
        """What K's part sets depend on: checkpoint content, configuration, overrides, batch, confidence, quantize."""
        if self._k_identity is None:
            k = self.preset.extractor
            self._k_identity = [content_hash(k.checkpoint), k.config, k.config_overrides, k.batch_size,
                                k.detection_min_confidence, k.quantize]
        return self._k_identity

    @property
    def benign_cache(self) -> BenignPartCache:
        if self._benign_cache is None:
            name = fingerprint(self.k_identity)
            self._benign_cache = BenignPartCache(self.run_dir / "cache" / "benign_parts" / f"{name}.jsonl")
        return self._benign_cache

    def _parts(self, x: np.ndarray, paths: list[str], size: int) -> list[frozenset[str]]:
        return self.benign_cache.lookup(self.extractor, x, [BenignPartCache.key(p, size) for p in paths])

    def _defenses(self, model_spec: ModelSpec) -> list[Defense]:
        settings = DefenseSettings(threshold_fpr=self.preset.evaluation.threshold_fpr)
        defenses = [build_defense(name, settings) for name in self.preset.defenses]
        missing = [d.name for d in defenses if d.model == ADVERSARIAL and not model_spec.adversarial_training]
        if missing:
            log.info("%s has no adversarially trained twin: not scoring %s", model_spec.name, ", ".join(missing))
        return [d for d in defenses if d.name not in missing]

    @staticmethod
    def _observations(variants: dict[str, Variant], x: np.ndarray, y: np.ndarray,
                      parts: list[frozenset[str]] | None, classes: tuple[str, ...]) -> dict[str, Observation]:
        """A benign batch as each variant sees it (benign parts do not depend on the variant)."""
        return {name: Observation(x, y, v.predict(x), parts, classes) for name, v in variants.items()}

    def pair(self, model_spec: ModelSpec, class_set: str) -> PairContext:
        from unmask.classifiers import load_classifier

        classes = lookup_class_set(class_set)
        defenses = self._defenses(model_spec)
        wanted = {d.model for d in defenses}
        variants = {}
        for name, path in variant_paths(self.preset, model_spec, class_set).items():
            if name not in wanted:
                continue
            model, info = load_classifier(path)
            if tuple(info.class_names) != classes:
                raise ValueError(f"{path} predicts {info.class_names}, expected {classes} for {class_set}")
            needs_parts = any(d.needs_parts for d in defenses if d.model == name)
            variants[name] = Variant(name, model, path, needs_parts)
            size = info.image_size
        ev, root = self.preset.evaluation, self.preset.data.classsets_dir / class_set
        test_items = limit_items(list_image_folder(root / "test", classes), ev.max_test_images, self.preset.seed)
        heldout_items = limit_items(list_image_folder(root / "val", classes), ev.max_heldout_images, self.preset.seed)
        needs_parts = any(d.needs_parts for d in defenses)
        detectors = [d for d in defenses if d.detects]
        skipped: dict[str, dict[str, str]] = {"test": {}, "heldout": {}}
        # K on the test images first (their part sets are shared by every cell); unreadable images
        # are found here, counted, and left out of every later pass.
        for x, _, paths in iter_batches(test_items, size, ev.batch_size, skipped["test"]):
            if needs_parts:
                self._parts(x, paths, size)
        test_items = [item for item in test_items if str(item[0]) not in skipped["test"]]
        heldout = Tally()
        if detectors:
            detector_variants = {name: v for name, v in variants.items() if any(d.model == name for d in detectors)}
            for x, y, paths in iter_batches(heldout_items, size, ev.batch_size, skipped["heldout"]):
                parts = self._parts(x, paths, size) if needs_parts else None
                heldout.add(y, self._observations(detector_variants, x, y, parts, classes), detectors, answer=False)
            heldout_items = [item for item in heldout_items if str(item[0]) not in skipped["heldout"]]
        for defense in detectors:
            defense.calibrate(heldout.score_array(defense.name))
        for split, errors in skipped.items():
            self.skipped.update({f"{class_set}/{split}/{path}": error for path, error in errors.items()})
        benign = Tally()
        for x, y, paths in iter_batches(test_items, size, ev.batch_size):
            parts = self._parts(x, paths, size) if needs_parts else None
            benign.add(y, self._observations(variants, x, y, parts, classes), defenses)

        stamp = InputStamp(
            checkpoints={name: file_stamp(v.checkpoint) for name, v in variants.items()},
            k=self.k_identity if needs_parts else None,
            test_images=[file_stamp(path) for path, _ in test_items],
            heldout_images=[file_stamp(path) for path, _ in heldout_items] if detectors else None,
            evaluation=asdict(ev),
            seed=self.preset.seed,
        )
        return PairContext(model_spec, class_set, classes, variants, defenses, size, test_items, benign,
                           {d.name: heldout.score_array(d.name) for d in detectors}, stamp)

    def _cell_stamp(self, ctx: PairContext, attack: Any) -> str:
        return fingerprint(ctx.stamp, attack, [(d.name, type(d).__module__, type(d).__qualname__) for d in ctx.defenses])

    def _reuse(self, ctx: PairContext, key: str, stamp: str) -> CellResult | None:
        """The cell on disk when it was computed from these inputs; else None, and the log says why."""
        cell = reusable_cell(self.run_dir, key, stamp)
        if cell is not None:
            self.stats["cells_reused"] += 1
        elif cell_path(self.run_dir, key).is_file():
            log.info("recomputing cell %s: its inputs changed (checkpoints, K, images, attack, defenses or settings)", key)
        else:
            log.info("computing cell %s", key)
        return cell

    def _finish(self, cell: CellResult, stamp: str) -> CellResult:
        write_cell(self.run_dir, cell, stamp)
        self.stats["cells_computed"] += 1
        return cell

    def benign_cell(self, ctx: PairContext) -> CellResult:
        key = cell_key(ctx.model_spec.name, ctx.class_set, NO_ATTACK, None)
        stamp = self._cell_stamp(ctx, NO_ATTACK)
        cell = self._reuse(ctx, key, stamp)
        if cell is None:
            cell = self._finish(cell_result(ctx.model_spec.name, ctx.class_set, NO_ATTACK, None, ctx.benign,
                                            ctx.defenses, {}), stamp)
        return cell

    def attack_cell(self, ctx: PairContext, entry: AttackEntry) -> CellResult:
        spec = preset_spec(self.preset.attack_preset, entry.name, entry.eps)
        key = cell_key(ctx.model_spec.name, ctx.class_set, entry.name, entry.eps)
        stamp = self._cell_stamp(ctx, spec.to_dict())
        cell = self._reuse(ctx, key, stamp)
        if cell is not None:
            return cell
        caches = {
            name: AttackedBatchCache(self.run_dir / "cache" / "adv" / key / name / fingerprint(
                ctx.stamp.checkpoints[name], ctx.stamp.k if v.needs_parts else None, ctx.stamp.test_images,
                spec.to_dict(), ctx.stamp.seed, ctx.stamp.evaluation["batch_size"]))
            for name, v in ctx.variants.items()
        }
        attacked = Tally()
        for index, (x, y, _) in enumerate(iter_batches(ctx.test_items, ctx.image_size, self.preset.evaluation.batch_size)):
            seed = (self.preset.seed * 1_000_003 + zlib.crc32(key.encode()) + index) % 2**31
            observations = {
                name: self._attacked_batch(variant, spec, caches[name], index, x, y, seed, ctx.classes)
                for name, variant in ctx.variants.items()
            }
            attacked.add(y, observations, ctx.defenses)
        detections = {
            d.name: detection(d, attacked, ctx.benign, ctx.heldout_scores[d.name], self.preset.evaluation.fpr_targets)
            for d in ctx.defenses if d.detects
        }
        return self._finish(cell_result(ctx.model_spec.name, ctx.class_set, entry.name, entry.eps, attacked,
                                        ctx.defenses, detections), stamp)

    def _attacked_batch(self, variant: Variant, spec: AttackSpec, cache: AttackedBatchCache, index: int,
                        x: np.ndarray, y: np.ndarray, seed: int, classes: tuple[str, ...]) -> Observation:
        """Attack one batch white-box against a model variant; K extracts the parts if needed; cached."""
        saved = cache.load(index, y, variant.needs_parts)
        if saved is None:
            from unmask.attacks import attack

            result = attack(variant.model, x, y, spec, batch_size=len(x), seed=seed, predict_clean=False)
            parts = self.extractor.extract(result.images_adv) if variant.needs_parts else None
            saved = {"images": result.images_adv, "predicted": np.asarray(result.predictions_adv), "parts": parts}
            cache.save(index, y, saved["images"], saved["predicted"], np.asarray(result.success), parts)
            self.stats["attacked_batches"] += 1
            self.stats["images_attacked"] += len(x)
            self.stats["attacked_images_to_k"] += len(x) if variant.needs_parts else 0
        return Observation(saved["images"], y, saved["predicted"], saved["parts"], classes)

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
                    progress(f"{model_spec.name} {class_set} {entry.name} eps={entry.eps}: " + _cell_line(cell))
                log.info("%s %s done in %.1f s", model_spec.name, class_set, time.time() - started)
        if self.skipped:
            log.warning("%d unreadable images were left out (listed in results.json under 'skipped')", len(self.skipped))
        write_results(self.run_dir, cells, self.preset.name, self.preset.paper, self.preset.defenses, self.skipped)
        return cells


def _cell_line(cell: CellResult) -> str:
    """Accuracy per defense and AUC per detector, for the progress log."""
    accuracies = " ".join(f"{name} {acc:.2f}" for name, acc in cell.accuracy.items())
    aucs = " ".join(f"AUC[{name}] {float('nan') if det.auc is None else det.auc:.3f}" for name, det in cell.detection.items())
    return f"{accuracies} {aucs}".strip()
