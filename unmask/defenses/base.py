"""The defense interface the evaluator iterates over.

A defense protects model M of one class set. It says which trained variant of M it needs
(`model`: the plain M, or its adversarially trained twin; attacks are crafted white-box against that
variant), whether it needs K's part sets of the images it sees, how it answers, and, if it
detects, its score per image (higher = more suspicious). The evaluator streams batches: for each
batch of benign, held-out or attacked images it builds one `Observation` per model variant and asks
every defense of that variant for its answers (and scores). Nothing here holds a whole split.

A new defense is one subclass plus one `registry.DefenseInfo` entry naming it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from unmask.core import threshold_for_fpr

PLAIN = "plain"
ADVERSARIAL = "adversarial"
MODEL_VARIANTS: tuple[str, ...] = (PLAIN, ADVERSARIAL)
"""The trained variants of M a defense can ask for: as trained, or adversarially trained."""


@dataclass(frozen=True)
class Observation:
    """One batch as a defense sees it: the images M's variant saw, their labels, the variant's
    answers (class indices into `classes`) and, when the defense needs them, K's part sets."""

    images: np.ndarray
    labels: np.ndarray
    predicted: np.ndarray
    parts: list[frozenset[str]] | None
    classes: tuple[str, ...]


@dataclass(frozen=True)
class DefenseSettings:
    """What the evaluation preset tells every defense: the FPR its threshold is chosen for on the
    held-out benign images (detecting defenses that answer by threshold)."""

    threshold_fpr: float = 0.1


class Defense:
    """Base class: answers M's variant unchanged and detects nothing. Subclasses override.

    Built once per model x class set by `build_defense(name, settings)`; `name` is its registry name,
    the key of its figures in the results."""

    model: ClassVar[str] = PLAIN
    needs_parts: ClassVar[bool] = False
    detects: ClassVar[bool] = False

    def __init__(self, name: str, settings: DefenseSettings = DefenseSettings()):
        self.name = name
        self.settings = settings
        self.threshold: float | None = None

    def answer(self, obs: Observation) -> np.ndarray:
        """The defended answer per image: class indices into obs.classes (-1: no class)."""
        return np.asarray(obs.predicted, dtype=np.int64)

    def score(self, obs: Observation) -> np.ndarray:
        """Detection score per image, higher = more suspicious (detecting defenses only)."""
        raise NotImplementedError(f"{type(self).__name__} does not detect")

    def calibrate(self, heldout_scores: np.ndarray) -> None:
        """Choose the threshold on held-out benign scores for the settings' FPR (detecting defenses)."""
        self.threshold = threshold_for_fpr(heldout_scores, self.settings.threshold_fpr)
