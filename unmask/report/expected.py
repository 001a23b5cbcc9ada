"""A run's headline figures as a small JSON file, and the check of another run against it.

`unmask report RUN --write-expected FILE` records, per cell, every defense's accuracy and every
detector's AUC; `unmask report RUN --check-expected FILE` says which cells of RUN differ from the
file by more than its tolerance (0: exact, for the same machine type; the file may carry the
tolerance measured across machines). Missing and extra cells count as differences.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable

from unmask.fileio import read_json, write_json_atomic
from unmask.results import CellResult

FORMAT = "unmask-expected-figures/1"


def figures(cells: Iterable[CellResult]) -> dict[str, dict[str, float | None]]:
    """cell key -> {"accuracy/<defense>": value, "auc/<detector>": value} (values rounded to 6 digits)."""
    out = {}
    for cell in cells:
        values: dict[str, float | None] = {f"accuracy/{d}": round(a, 6) for d, a in sorted(cell.accuracy.items())}
        for name, det in sorted(cell.detection.items()):
            values[f"auc/{name}"] = None if det.auc is None else round(det.auc, 6)
        out[cell.key] = values
    return dict(sorted(out.items()))


def write_expected(path: Path, cells: Iterable[CellResult], preset: str | None, tolerance: float = 0.0,
                   note: str = "") -> Path:
    """Record the figures of `cells` with the tolerance a check allows."""
    doc = {"format": FORMAT, "preset": preset, "tolerance": tolerance, "note": note, "cells": figures(cells)}
    return write_json_atomic(path, doc)


def check_expected(cells: Iterable[CellResult], path: Path, tolerance: float | None = None) -> list[str]:
    """One line per difference between the run's figures and the file's (empty: the run matches).
    `tolerance` None: the file's."""
    doc = read_json(path)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("cells"), dict):
        raise ValueError(f"{path}: not an expected-figures file (format {FORMAT}); write one with --write-expected")
    allowed = float(doc.get("tolerance", 0.0)) if tolerance is None else tolerance
    ours, theirs = figures(cells), doc["cells"]
    lines = [f"{key}: missing from the run" for key in theirs if key not in ours]
    lines += [f"{key}: not in {path.name}" for key in ours if key not in theirs]
    for key in ours.keys() & theirs.keys():
        for name in sorted(ours[key].keys() | theirs[key].keys()):
            mine, expected = ours[key].get(name), theirs[key].get(name)
            if not _close(mine, expected, allowed):
                lines.append(f"{key} {name}: {_text(mine)} (expected {_text(expected)}, tolerance {allowed:g})")
    return sorted(lines)


def _close(a: Any, b: Any, tolerance: float) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(float(a), float(b), rel_tol=0.0, abs_tol=tolerance + 1e-9)


def _text(value: Any) -> str:
    return "absent" if value is None else f"{value:.6f}"
