"""Experiment presets: one YAML file describes data, K, the models M, class sets, attacks, evaluation.

Loading validates every name (model architecture, class set, attack) before any work starts, so a
typo costs a second, not an hour. Relative paths are resolved against the current directory.
Keys and their defaults are documented in experiments/README.md.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from unmask.attack_specs import ATTACK_NAMES, PRESETS as ATTACK_PRESETS, preset_spec
from unmask.parts import canonical_class_set_name
from unmask.results import MODEL_NAMES

MODEL_ARCHS: tuple[str, ...] = tuple(MODEL_NAMES)
"""The architectures unmask.classifiers builds, in the papers' row order (a test checks the builders)."""
PAPERS: tuple[str, ...] = ("kdd2019", "bigdata2020", "demo")
STAGES: tuple[str, ...] = ("data", "k", "m", "eps_search", "evaluate", "report")
DEFAULT_STAGES: tuple[str, ...] = ("data", "k", "m", "evaluate", "report")


class PresetError(ValueError):
    """A preset that cannot run: the message names the key and the valid choices."""


@dataclass(frozen=True)
class DataSpec:
    """Where the data comes from and where the converted forms go."""

    root: Path
    """Raw data root holding VOC2010/ (JPEGImages, Annotations_Part, Annotations) and optional imagenet/, flickr/."""
    synthetic: dict[str, Any] | None
    """When set, `unmask run` first generates the synthetic dataset into `root` with these options."""
    parts_dir: Path
    """COCO conversion of PASCAL-Part (train/val/test.json) for K."""
    classsets_dir: Path
    """Class-set image folders <set>/{train,val,test}/<class>/ for M."""
    imagenet: str | None
    """None, "train" (BigData: extra training images for M) or "test" (KDD: the test split)."""
    flickr: bool
    """BigData: the Flickr folder is the test split."""
    legacy_parts: bool
    """Reproduce the original conversion's headlight -> head labelling."""


@dataclass(frozen=True)
class ExtractorSpec:
    """Model K: a checkpoint to load, or how to train one."""

    checkpoint: Path
    config: str
    """'small' (CPU) or 'matterport' (the published architecture)."""
    config_overrides: dict[str, Any]
    train: dict[str, Any] | None
    """None: the checkpoint must exist. Otherwise: schedule and options for `unmask.part_model.train`."""
    batch_size: int
    detection_min_confidence: float


@dataclass(frozen=True)
class ModelSpec:
    """One classifier M (trained per class set) and its optional adversarially trained twin."""

    name: str
    arch: str
    image_size: int
    weights: str | None
    train: dict[str, Any]
    adversarial_training: dict[str, Any] | None
    checkpoints: Path | None
    """Folder of existing checkpoints <set>.keras / <set>_at.keras; None: trained into the run folder."""


@dataclass(frozen=True)
class AttackEntry:
    name: str
    eps: float | None


@dataclass(frozen=True)
class EvaluationSpec:
    batch_size: int = 32
    max_test_images: int | None = None
    max_heldout_images: int | None = None
    fpr_targets: tuple[float, ...] = (0.05, 0.1)
    threshold_fpr: float = 0.1
    """Threshold-mode UnMask uses the threshold chosen for this FPR on the held-out benign split."""


@dataclass(frozen=True)
class Preset:
    name: str
    paper: str
    seed: int
    output: Path
    data: DataSpec
    extractor: ExtractorSpec
    models: tuple[ModelSpec, ...]
    class_sets: tuple[str, ...]
    attack_preset: str
    attacks: tuple[AttackEntry, ...]
    evaluation: EvaluationSpec
    stages: tuple[str, ...] = DEFAULT_STAGES
    """What `unmask run` does by default (the AT eps search preset runs data + eps_search)."""
    eps_search: dict[str, Any] | None = None
    """eps_search stage: {eps: [1, 2, 4, 6, 8, 16], eval_eps: 8} (0-255 units), per model x class set."""
    source: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    def fingerprint(self, *parts: Any) -> str:
        """A short stable hash of preset pieces: what a cached result depends on."""
        text = json.dumps([_jsonable(p) for p in parts], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "__dataclass_fields__"):
        return asdict(obj)
    return obj


def _require(mapping: dict, key: str, where: str) -> Any:
    if key not in mapping:
        raise PresetError(f"preset: missing key '{where}{key}'")
    return mapping[key]


def _choice(value: str, valid: tuple[str, ...], what: str) -> str:
    if value not in valid:
        raise PresetError(f"preset: unknown {what} {value!r}; valid: {', '.join(valid)}")
    return value


def _path(value: Any) -> Path:
    return Path(str(value)).expanduser()


def _imagenet_role(value: Any) -> str | None:
    if value in (None, False, "none"):
        return None
    return _choice(str(value), ("train", "test"), "data.imagenet role")


def _data(raw: dict) -> DataSpec:
    root = _path(_require(raw, "root", "data."))
    if raw.get("imagenet") == "test" and raw.get("flickr"):
        raise PresetError("preset: the test split comes from either ImageNet (data.imagenet: test) or Flickr, not both")
    return DataSpec(
        root=root,
        synthetic=raw.get("synthetic"),
        parts_dir=_path(raw.get("parts_dir", root / "converted" / "parts")),
        classsets_dir=_path(raw.get("classsets_dir", root / "converted" / "classsets")),
        imagenet=_imagenet_role(raw.get("imagenet")),
        flickr=bool(raw.get("flickr", False)),
        legacy_parts=bool(raw.get("legacy_parts", False)),
    )


def _extractor(raw: dict) -> ExtractorSpec:
    return ExtractorSpec(
        checkpoint=_path(_require(raw, "checkpoint", "part_extractor.")),
        config=_choice(raw.get("config", "matterport"), ("small", "matterport"), "part_extractor.config"),
        config_overrides=dict(raw.get("config_overrides", {})),
        train=raw.get("train"),
        batch_size=int(raw.get("batch_size", 1)),
        detection_min_confidence=float(raw.get("detection_min_confidence", 0.0)),
    )


def _model(raw: dict) -> ModelSpec:
    arch = _choice(_require(raw, "arch", "models[]."), MODEL_ARCHS, "model arch")
    weights = raw.get("weights", "imagenet")
    return ModelSpec(
        name=str(raw.get("name", arch)),
        arch=arch,
        image_size=int(raw.get("image_size", 150)),
        weights=None if weights in (None, "none") else str(weights),
        train=dict(raw.get("train", {})),
        adversarial_training=raw.get("adversarial_training"),
        checkpoints=_path(raw["checkpoints"]) if raw.get("checkpoints") else None,
    )


def _attacks(raw: list) -> tuple[AttackEntry, ...]:
    entries = []
    for item in raw:
        name = _choice(_require(item, "name", "attacks[]."), ATTACK_NAMES, "attack")
        eps_values = item.get("eps")
        if name == "deepfool_l2":
            if eps_values is not None:
                raise PresetError("preset: deepfool_l2 searches a minimal perturbation; give it no eps")
            entries.append(AttackEntry(name, None))
            continue
        if eps_values is None:
            raise PresetError(f"preset: attack {name} needs eps (0-255 units)")
        for eps in eps_values if isinstance(eps_values, list) else [eps_values]:
            if float(eps) < 0:
                raise PresetError(f"preset: attack {name} has negative eps {eps}")
            entries.append(AttackEntry(name, float(eps)))
    return tuple(entries)


def preset_from_dict(raw: dict[str, Any]) -> Preset:
    """Validate a preset mapping (as read from YAML)."""
    models = tuple(_model(m) for m in _require(raw, "models", ""))
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        raise PresetError(f"preset: model names must be unique, got {names}")
    try:
        class_sets = tuple(canonical_class_set_name(c) for c in _require(raw, "class_sets", ""))
    except ValueError as err:
        raise PresetError(f"preset: {err}") from err
    ev = dict(raw.get("evaluation", {}))
    evaluation = EvaluationSpec(
        batch_size=int(ev.get("batch_size", 32)),
        max_test_images=ev.get("max_test_images"),
        max_heldout_images=ev.get("max_heldout_images"),
        fpr_targets=tuple(float(f) for f in ev.get("fpr_targets", (0.05, 0.1))),
        threshold_fpr=float(ev.get("threshold_fpr", 0.1)),
    )
    name = str(_require(raw, "name", ""))
    attack_preset = _choice(str(raw.get("attack_preset", "bigdata2020_corrected")), tuple(ATTACK_PRESETS), "attack_preset")
    attacks = _attacks(_require(raw, "attacks", ""))
    for entry in attacks:
        try:
            preset_spec(attack_preset, entry.name, entry.eps)
        except ValueError as err:
            raise PresetError(f"preset: {err}") from err
    stages = tuple(raw.get("stages", DEFAULT_STAGES))
    for stage in stages:
        _choice(stage, STAGES, "stage")
    if "eps_search" in stages and not raw.get("eps_search"):
        raise PresetError("preset: the eps_search stage needs an eps_search section, e.g. {eps: [1, 2, 4], eval_eps: 8}")
    return Preset(
        name=name,
        paper=_choice(raw.get("paper", "demo"), PAPERS, "paper"),
        seed=int(raw.get("seed", 0)),
        output=_path(raw.get("output", Path("runs") / name)),
        data=_data(_require(raw, "data", "")),
        extractor=_extractor(_require(raw, "part_extractor", "")),
        models=models,
        class_sets=class_sets,
        attack_preset=attack_preset,
        attacks=attacks,
        evaluation=evaluation,
        stages=stages,
        eps_search=raw.get("eps_search"),
        source=raw,
    )


def load_preset(path: str | Path) -> Preset:
    """Read and validate a preset YAML file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"preset file not found: {path}")
    raw = yaml.safe_load(path.read_text())
    if not isinstance(raw, dict):
        raise PresetError(f"preset {path}: expected a mapping at the top level")
    return preset_from_dict(raw)
