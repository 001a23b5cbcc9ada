"""UnMask as a defense of the evaluator: the same `core.assess` that `protect.UnMask` calls."""
from __future__ import annotations

import numpy as np

from unmask import core
from unmask.defenses.base import Defense, Observation


class UnMaskDefense(Defense):
    """UnMask always rectifying: answers the class whose expected parts best match K's parts (how
    the papers' numbers were scored); detects by 1 - J(parts, V[M's answer])."""

    needs_parts = True
    detects = True
    mode: core.DefenseMode = "always_rectify"

    def _assess(self, obs: Observation) -> core.Assessment:
        if obs.parts is None:
            raise ValueError(f"{self.name} needs K's part sets of every image it sees")
        threshold = np.inf if self.threshold is None else self.threshold
        return core.assess(obs.parts, obs.predicted, obs.classes, threshold)

    def answer(self, obs: Observation) -> np.ndarray:
        if self.mode == "threshold" and self.threshold is None:
            raise RuntimeError(f"{self.name} answers by threshold: calibrate it on held-out benign images first")
        return self._assess(obs).answers[self.mode]

    def score(self, obs: Observation) -> np.ndarray:
        return self._assess(obs).scores


class UnMaskThresholdDefense(UnMaskDefense):
    """Algorithm 1: rectify only the images whose distance reaches the held-out threshold."""

    mode = "threshold"
