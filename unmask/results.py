"""The results schema shared by the evaluator (writer) and the report (reader).

One `CellResult` per model x class set x attack x eps, stored as `cells/<cell_key>.json` while a run
progresses and gathered in `results.json` at its end. Every file is written atomically, so an
interrupted run never leaves half a cell behind. JSON stays strict (no NaN or Infinity literals):
non-finite floats, such as the +inf first threshold of an sklearn ROC curve, are stored as the
strings "inf", "-inf" and "nan" and read back as floats.

results.json, schema 2:
  {"schema": 2, "preset": str, "paper": str,
   "skipped": {"<class set>/<split>/<image path>": "why it could not be read", ...},
   "defenses": [{"name", "display", "short", "paper_metric", "main_table", "family", "paper_labels"}, ...],
   "cells": [{"model", "class_set", "attack" ("none" = benign), "eps" (0-255 units or null),
              "n_images", "accuracy": {defense: fraction},
              "detection": {defense: {"n_adversarial", "n_benign", "auc", "roc_fpr", "roc_tpr",
                            "roc_thresholds", "tpr_at_fpr": {"0.1": ..}, "fpr_at_fpr", "threshold_at_fpr"}},
              "thresholds": {defense: t chosen on held-out benign images},
              "n_success": {defense: images whose attack succeeded on its model},
              "success_accuracy": {defense: accuracy on those images}}, ...]}
Schema 1 (before defenses were plug-ins: fields acc_none, acc_at, acc_um_always, acc_um_threshold,
threshold, detection) still loads: its cells are read into the maps above, figures unchanged.
"""
from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, ClassVar, Iterable, Mapping

from unmask import registry
from unmask.fileio import json_text, write_bytes_atomic, write_json_atomic

SCHEMA_VERSION = 2
RESULTS_FILE = "results.json"
CELLS_DIR = "cells"
NO_ATTACK = "none"

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ResultsError(ValueError):
    """A results file or cell that is missing, corrupt or does not follow the schema."""


def _float(value: Any, name: str) -> float:
    """A float from a real number (numpy scalars included) or "inf", "-inf", "nan" (strict JSON)."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, str)):
        raise ResultsError(f"{name}: expected a number, got {value!r}")
    if isinstance(value, str) and value.lower() not in ("inf", "-inf", "nan"):
        raise ResultsError(f"{name}: expected a number, got {value!r}")
    return float(value)


def _optional_float(value: Any, name: str) -> float | None:
    return None if value is None else _float(value, name)


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ResultsError(f"{name}: expected an integer, got {value!r}")
    return int(value)


def _json_float(value: float | None) -> float | str | None:
    """A float for strict JSON: non-finite values become "inf", "-inf" or "nan"."""
    if value is None or math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def fpr_key(rate: float | str) -> str:
    """The key of a target false-positive rate in `tpr_at_fpr` & co.: 0.05 -> "0.05", 0.1 -> "0.1"."""
    return repr(float(rate))


def _rate_dict(value: Mapping[Any, Any], name: str) -> dict[str, float]:
    return {fpr_key(k): _float(v, f"{name}[{k}]") for k, v in value.items()}


def _check_fraction(value: float | None, name: str) -> None:
    if value is not None and not 0.0 <= value <= 1.0:
        raise ResultsError(f"{name} must be a fraction in [0, 1], got {value}")


def _check_keys(data: Mapping[str, Any], cls: type, where: str) -> None:
    expected = {f.name for f in fields(cls)}
    missing = expected - data.keys() - set(getattr(cls, "ADDED_LATER", ()))
    unknown = data.keys() - expected
    if missing or unknown:
        raise ResultsError(
            f"{where}: {cls.__name__} fields do not match the schema"
            + (f"; missing: {', '.join(sorted(missing))}" if missing else "")
            + (f"; unknown: {', '.join(sorted(unknown))}" if unknown else "")
        )


@dataclass
class DetectionResult:
    """Detection on the successfully attacked images plus their benign versions (contamination 0.5)."""

    n_adversarial: int
    n_benign: int
    auc: float | None
    roc_fpr: list[float] = field(default_factory=list)
    roc_tpr: list[float] = field(default_factory=list)
    roc_thresholds: list[float] = field(default_factory=list)
    tpr_at_fpr: dict[str, float] = field(default_factory=dict)
    fpr_at_fpr: dict[str, float] = field(default_factory=dict)
    threshold_at_fpr: dict[str, float] = field(default_factory=dict)
    roc_tpr_at_fpr: dict[str, float] = field(default_factory=dict)
    """The papers' operating point: the highest TPR on the test ROC itself at FPR <= target ..."""
    roc_fpr_at_fpr: dict[str, float] = field(default_factory=dict)
    """... and the FPR of that ROC point."""

    ADDED_LATER: ClassVar[tuple[str, ...]] = ("roc_tpr_at_fpr", "roc_fpr_at_fpr")
    """Fields a file written before they existed may lack (read as empty)."""

    def __post_init__(self) -> None:
        """Coerce numpy scalars/arrays to plain Python types and check the invariants."""
        self.n_adversarial = _int(self.n_adversarial, "n_adversarial")
        self.n_benign = _int(self.n_benign, "n_benign")
        self.auc = _optional_float(self.auc, "auc")
        _check_fraction(self.auc, "auc")
        self.roc_fpr = [_float(v, "roc_fpr") for v in self.roc_fpr]
        self.roc_tpr = [_float(v, "roc_tpr") for v in self.roc_tpr]
        self.roc_thresholds = [_float(v, "roc_thresholds") for v in self.roc_thresholds]
        if not len(self.roc_fpr) == len(self.roc_tpr) == len(self.roc_thresholds):
            raise ResultsError("roc_fpr, roc_tpr and roc_thresholds must have the same length")
        self.tpr_at_fpr = _rate_dict(self.tpr_at_fpr, "tpr_at_fpr")
        self.fpr_at_fpr = _rate_dict(self.fpr_at_fpr, "fpr_at_fpr")
        self.threshold_at_fpr = _rate_dict(self.threshold_at_fpr, "threshold_at_fpr")
        self.roc_tpr_at_fpr = _rate_dict(self.roc_tpr_at_fpr, "roc_tpr_at_fpr")
        self.roc_fpr_at_fpr = _rate_dict(self.roc_fpr_at_fpr, "roc_fpr_at_fpr")

    @property
    def n_images(self) -> int:
        """Images behind the detection figures: the papers' image-count table (adversarial + benign)."""
        return self.n_adversarial + self.n_benign

    def to_dict(self) -> dict[str, Any]:
        """A strict-JSON-able dict (non-finite floats as strings). Fields assigned after construction
        (numpy values, float keys) are coerced and checked again here."""
        checked = replace(self)
        return {
            "n_adversarial": checked.n_adversarial,
            "n_benign": checked.n_benign,
            "auc": checked.auc,
            "roc_fpr": [_json_float(v) for v in checked.roc_fpr],
            "roc_tpr": [_json_float(v) for v in checked.roc_tpr],
            "roc_thresholds": [_json_float(v) for v in checked.roc_thresholds],
            "tpr_at_fpr": {k: _json_float(v) for k, v in checked.tpr_at_fpr.items()},
            "fpr_at_fpr": {k: _json_float(v) for k, v in checked.fpr_at_fpr.items()},
            "threshold_at_fpr": {k: _json_float(v) for k, v in checked.threshold_at_fpr.items()},
            "roc_tpr_at_fpr": {k: _json_float(v) for k, v in checked.roc_tpr_at_fpr.items()},
            "roc_fpr_at_fpr": {k: _json_float(v) for k, v in checked.roc_fpr_at_fpr.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "detection") -> "DetectionResult":
        _check_keys(data, cls, where)
        try:
            return cls(**data)
        except ResultsError as err:
            raise ResultsError(f"{where}: {err}") from err


def _accuracy_map(value: Any, name: str) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise ResultsError(f"{name}: expected a mapping defense -> accuracy, got {value!r}")
    out = {}
    for defense, acc in value.items():
        out[str(defense)] = _float(acc, f"{name}[{defense}]")
        _check_fraction(out[str(defense)], f"{name}[{defense}]")
    return out


@dataclass
class CellResult:
    """Every figure of one model x class set x attack x eps cell, for every defense the run scored.

    accuracy: defense -> accuracy over the cell's images (fractions in [0, 1]); a defense the cell
    could not score (e.g. adversarial training for a model without an AT twin) is absent.
    detection: detecting defense -> its detection figures (attacked cells only).
    thresholds: calibrated defense -> the threshold it chose on the held-out benign images.
    """

    model: str
    class_set: str
    attack: str
    eps: float | None
    n_images: int
    accuracy: dict[str, float]
    detection: dict[str, DetectionResult] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    n_success: dict[str, int] = field(default_factory=dict)
    """Attacked cells: per defense, the images whose attack succeeded on the defense's model variant
    (KDD'19 Table 4: only those are scored in its defense table)..."""
    success_accuracy: dict[str, float] = field(default_factory=dict)
    """... and the defense's accuracy on them (absent when there are none)."""

    ADDED_LATER: ClassVar[tuple[str, ...]] = ("n_success", "success_accuracy")

    def __post_init__(self) -> None:
        """Coerce numpy scalars to plain Python types and check the invariants."""
        for name in ("model", "class_set", "attack"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ResultsError(f"{name} must be a non-empty string, got {getattr(self, name)!r}")
        self.eps = _optional_float(self.eps, "eps")
        if self.attack == NO_ATTACK and self.eps is not None:
            raise ResultsError(f"the benign cell (attack {NO_ATTACK!r}) has no eps, got {self.eps}")
        self.n_images = _int(self.n_images, "n_images")
        self.accuracy = _accuracy_map(self.accuracy, "accuracy")
        self.success_accuracy = _accuracy_map(self.success_accuracy, "success_accuracy")
        if not isinstance(self.n_success, Mapping):
            raise ResultsError(f"n_success must map defense names to counts, got {self.n_success!r}")
        self.n_success = {str(k): _int(v, f"n_success[{k}]") for k, v in self.n_success.items()}
        if not isinstance(self.detection, Mapping) or not all(
            isinstance(d, DetectionResult) for d in self.detection.values()
        ):
            raise ResultsError(f"detection must map defense names to DetectionResult, got {self.detection!r}")
        self.detection = {str(k): v for k, v in self.detection.items()}
        if not isinstance(self.thresholds, Mapping):
            raise ResultsError(f"thresholds must map defense names to numbers, got {self.thresholds!r}")
        self.thresholds = {str(k): _float(v, f"thresholds[{k}]") for k, v in self.thresholds.items()}

    @property
    def key(self) -> str:
        """The cells/ file stem of this cell."""
        return cell_key(self.model, self.class_set, self.attack, self.eps)

    def to_dict(self) -> dict[str, Any]:
        """A strict-JSON-able dict; `from_dict(to_dict())` gives back an equal cell. Fields assigned
        after construction are coerced and checked again here."""
        checked = replace(self)
        return {
            "model": checked.model,
            "class_set": checked.class_set,
            "attack": checked.attack,
            "eps": checked.eps,
            "n_images": checked.n_images,
            "accuracy": dict(checked.accuracy),
            "detection": {k: d.to_dict() for k, d in checked.detection.items()},
            "thresholds": {k: _json_float(v) for k, v in checked.thresholds.items()},
            "n_success": dict(checked.n_success),
            "success_accuracy": dict(checked.success_accuracy),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "cell") -> "CellResult":
        if isinstance(data, Mapping) and "acc_none" in data:
            data = _from_schema1(data)
        _check_keys(data, cls, where)
        if not isinstance(data["detection"], Mapping):
            raise ResultsError(f"{where}: detection must be a mapping defense -> figures")
        detection = {k: DetectionResult.from_dict(d, f"{where} detection[{k}]") for k, d in data["detection"].items()}
        try:
            return cls(**{**data, "detection": detection})
        except ResultsError as err:
            raise ResultsError(f"{where}: {err}") from err


_SCHEMA1_ACCURACY = {"acc_none": "none", "acc_at": "adversarial_training", "acc_um_always": "unmask",
                     "acc_um_threshold": "unmask_threshold"}


def _from_schema1(data: Mapping[str, Any]) -> dict[str, Any]:
    """A cell of schema 1 (three fixed defenses as fields) in today's form: its figures are kept as
    they are, the fixed fields become map entries (threshold -> both UnMask modes)."""
    known = set(_SCHEMA1_ACCURACY) | {"model", "class_set", "attack", "eps", "n_images", "threshold", "detection"}
    unknown = set(data) - known
    if unknown:
        raise ResultsError(f"unknown fields {sorted(unknown)} in a schema-1 cell")
    return {
        **{k: data[k] for k in ("model", "class_set", "attack", "eps", "n_images") if k in data},
        "accuracy": {new: data[old] for old, new in _SCHEMA1_ACCURACY.items() if data.get(old) is not None},
        "detection": {} if data.get("detection") is None else {"unmask": data["detection"]},
        "thresholds": {} if data.get("threshold") is None else {"unmask": data["threshold"],
                                                               "unmask_threshold": data["threshold"]},
    }


def _eps_text(eps: float | None) -> str:
    if eps is None:
        return "none"
    eps = float(eps)
    if not math.isfinite(eps) or eps < 0:
        raise ValueError(f"eps must be a finite number >= 0, got {eps}")
    return str(int(eps)) if eps.is_integer() else repr(eps).replace(".", "p")


def safe_name(name: str, kind: str) -> str:
    """`name` if it can be part of a file name: letters, digits, '_', '.', '-', no leading dot and no
    '__' (the separator of cell keys, so that two different cells never share a file)."""
    if not isinstance(name, str) or not _SAFE_NAME.match(name) or "__" in name:
        raise ValueError(
            f"{kind} name {name!r} cannot name a results file: use letters, digits, '_', '.', '-' "
            "(no '__', not starting with a dot)"
        )
    return name


def cell_key(model: str, class_set: str, attack: str, eps: float | None) -> str:
    """The cells/ file stem, e.g. "resnet50__CS3a__pgd_linf__8" ("none" for no eps, 0.5 -> "0p5")."""
    parts = (safe_name(model, "model"), safe_name(class_set, "class set"), safe_name(attack, "attack"))
    return "__".join((*parts, _eps_text(eps)))


def _format_eps(eps: float) -> str:
    return str(int(eps)) if float(eps).is_integer() else f"{eps:g}"


def attack_label(attack: str, eps: float | None) -> str:
    """The display name of an attack column: "PGD-Linf 8", "MIA-L2 300", "DF", "FGSM 16", "No attack"."""
    if attack == NO_ATTACK:
        return "No attack"
    name = registry.attack_display(attack)
    return name if eps is None else f"{name} {_format_eps(eps)}"


def model_label(model: str) -> str:
    """The display name of a model: vgg16 -> VGG16, small_cnn -> SmallCNN; unknown ids unchanged."""
    return registry.arch_display(model)


def attack_sort_key(attack: str, eps: float | None) -> tuple:
    """Columns in the papers' order (the registry's): no attack, then DF, FGSM, PGD-Linf, PGD-L2,
    MIA-Linf, MIA-L2, ... (unknown attacks after, by name), each by increasing eps."""
    order = list(registry.ATTACKS)
    rank = -1 if attack == NO_ATTACK else (order.index(attack) if attack in order else len(order))
    return (rank, attack, -1.0 if eps is None else float(eps))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ResultsError(f"{path}: not valid JSON ({err})") from err


def cell_path(run_dir: str | os.PathLike, key: str) -> Path:
    """Where the cell `key` of a run is stored."""
    return Path(run_dir) / CELLS_DIR / f"{key}.json"


def _stamp_path(run_dir: Path, key: str) -> Path:
    return run_dir / CELLS_DIR / f"{key}.fingerprint"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_cell(run_dir: str | os.PathLike, cell: CellResult, fingerprint: str = "") -> Path:
    """Write one finished cell to `run_dir/cells/<cell_key>.json`, after its stamp.

    The stamp `<cell_key>.fingerprint` holds `fingerprint` (what the cell was computed from) and the
    SHA-256 of the cell file it announces. It is written first, so a cell file whose hash matches
    its stamp is complete and current even if the process died right after writing it, and a cell
    left from older inputs never matches a newer stamp."""
    run_dir = Path(run_dir)
    data = json_text(cell.to_dict()).encode("utf-8")
    write_json_atomic(_stamp_path(run_dir, cell.key), {"fingerprint": fingerprint, "sha256": _sha256(data)})
    path = cell_path(run_dir, cell.key)
    write_bytes_atomic(path, data)
    return path


def reusable_cell(run_dir: str | os.PathLike, key: str, fingerprint: str) -> CellResult | None:
    """The stored cell `key` when its stamp names `fingerprint` and the cell file's hash; else None."""
    run_dir = Path(run_dir)
    path = cell_path(run_dir, key)
    try:
        stamp = json.loads(_stamp_path(run_dir, key).read_text("utf-8"))
        data = path.read_bytes()
    except (OSError, ValueError):
        return None
    if not isinstance(stamp, dict) or stamp.get("fingerprint") != fingerprint or stamp.get("sha256") != _sha256(data):
        return None
    return CellResult.from_dict(json.loads(data), str(path))


def defense_entry(name: str) -> dict[str, Any]:
    """What the report needs to know of a defense, stored in results.json so that a run of a plug-in
    defense reports without the plug-in installed."""
    info = registry.DEFENSES.get(name)
    if info is None:
        return {"name": name, "display": name, "short": name, "paper_metric": None, "main_table": True, "family": "",
                "paper_labels": {}}
    return {"name": name, "display": info.display, "short": info.short, "paper_metric": info.paper_metric,
            "main_table": info.main_table, "family": info.family, "paper_labels": dict(info.paper_labels)}


def write_results(run_dir: str | os.PathLike, cells: Iterable[CellResult], preset: str, paper: str,
                  defenses: Iterable[str], skipped: Mapping[str, str] | None = None) -> Path:
    """Write `run_dir/results.json` ({"schema", "preset", "paper", "defenses", "skipped", "cells"}) atomically."""
    cells = _unique(list(cells), str(run_dir))
    doc = {"schema": SCHEMA_VERSION, "preset": preset, "paper": paper,
           "defenses": [defense_entry(d) for d in defenses], "skipped": dict(skipped or {}),
           "cells": [c.to_dict() for c in cells]}
    return write_json_atomic(Path(run_dir) / RESULTS_FILE, doc)


def _unique(cells: list[CellResult], where: str) -> list[CellResult]:
    seen: set[str] = set()
    for cell in cells:
        if cell.key in seen:
            raise ResultsError(f"{where}: cell {cell.key} appears twice")
        seen.add(cell.key)
    return cells


def load_results(run_dir: str | os.PathLike) -> list[CellResult]:
    """The cells of a run: from results.json, or from the cells/ folder when results.json is absent."""
    run_dir = Path(run_dir)
    results = run_dir / RESULTS_FILE
    if results.is_file():
        doc = _read_json(results)
        if not isinstance(doc, dict) or not isinstance(doc.get("cells"), list):
            raise ResultsError(f"{results}: expected an object with a 'cells' list")
        cells = [CellResult.from_dict(d, f"{results} cell {i}") for i, d in enumerate(doc["cells"])]
        return _unique(cells, str(results))
    cells_dir = run_dir / CELLS_DIR
    if not cells_dir.is_dir():
        raise FileNotFoundError(f"{run_dir}: no {RESULTS_FILE} and no {CELLS_DIR}/ folder: not a run directory")
    cells = [CellResult.from_dict(_read_json(p), str(p)) for p in sorted(cells_dir.glob("*.json"))]
    return _unique(cells, str(cells_dir))


def load_run_info(run_dir: str | os.PathLike) -> dict[str, Any]:
    """{"preset", "paper", "defenses", "skipped"} of a run from results.json (None for what it does not
    say or when absent; "defenses" lists the defense entries in the run's order, "skipped" the
    unreadable images left out, "<class set>/<split>/<path>" -> error)."""
    results = Path(run_dir) / RESULTS_FILE
    doc = _read_json(results) if results.is_file() else {}
    doc = doc if isinstance(doc, dict) else {}
    return {key: doc.get(key) for key in ("preset", "paper", "defenses", "skipped")}


def run_defenses(cells: Iterable[CellResult], listed: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The defense entries of a run: those results.json lists, then any other defense found in its
    cells (in the registry's order, then by name)."""
    entries = {e["name"]: e for e in listed or []}
    found = {d for c in cells for d in (*c.accuracy, *c.detection)}
    order = [d for d in registry.DEFENSES if d in found] + sorted(found - set(registry.DEFENSES))
    for name in order:
        entries.setdefault(name, defense_entry(name))
    return list(entries.values())
