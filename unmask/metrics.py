"""Detection metrics: ROC curve, AUC, and TPR at a false-positive rate fixed on held-out benign data.

Adversarial is the positive class and a higher score means more suspicious, as in the papers.
Written in NumPy (and checked against scikit-learn in the tests) so that tie handling is explicit:
images with equal scores move together along the curve.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unmask.core import threshold_for_fpr


@dataclass(frozen=True)
class RocCurve:
    """Points (fpr, tpr) for every distinct score used as threshold `score >= t`, from (0,0) to (1,1)."""

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray


def _split(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    labels = np.asarray(labels).reshape(-1)
    if scores.shape != labels.shape:
        raise ValueError(f"{scores.size} scores for {labels.size} labels")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be 0 (benign) or 1 (adversarial)")
    return scores, labels.astype(bool)


def roc_curve(scores: np.ndarray, labels: np.ndarray) -> RocCurve:
    """ROC curve of `scores` for binary `labels` (1 = adversarial); needs both classes present."""
    scores, positive = _split(scores, labels)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"ROC needs positives and negatives, got {n_pos} and {n_neg}")
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores, sorted_pos = scores[order], positive[order]
    last_of_tie = np.r_[np.nonzero(np.diff(sorted_scores))[0], sorted_scores.size - 1]
    tp = np.cumsum(sorted_pos)[last_of_tie]
    fp = (last_of_tie + 1) - tp
    return RocCurve(
        fpr=np.r_[0.0, fp / n_neg],
        tpr=np.r_[0.0, tp / n_pos],
        thresholds=np.r_[np.inf, sorted_scores[last_of_tie]],
    )


def auc(curve: RocCurve) -> float:
    """Area under the ROC curve by the trapezoid rule (ties count half, as in the rank statistic)."""
    return float(np.trapezoid(curve.tpr, curve.fpr))


def roc_point(curve: RocCurve, target_fpr: float) -> tuple[float, float]:
    """(TPR, FPR) of the ROC point with the highest TPR at FPR <= target (the smallest FPR among
    ties): the operating point read off the test ROC itself, as the papers report theirs."""
    allowed = curve.fpr <= target_fpr + 1e-12
    best = np.flatnonzero(allowed & (curve.tpr == curve.tpr[allowed].max()))[0]
    return float(curve.tpr[best]), float(curve.fpr[best])


@dataclass(frozen=True)
class OperatingPoint:
    """Detection at a threshold chosen on held-out benign scores for a target FPR."""

    target_fpr: float
    threshold: float
    tpr: float
    fpr: float


def operating_point(
    heldout_benign: np.ndarray, benign: np.ndarray, adversarial: np.ndarray, target_fpr: float
) -> OperatingPoint:
    """Choose t on `heldout_benign`, then measure TPR on `adversarial` and FPR on the test `benign` scores."""
    threshold = threshold_for_fpr(heldout_benign, target_fpr)
    adversarial = np.asarray(adversarial, dtype=np.float64)
    benign = np.asarray(benign, dtype=np.float64)
    return OperatingPoint(
        target_fpr=target_fpr,
        threshold=threshold,
        tpr=float(np.mean(adversarial >= threshold)) if adversarial.size else float("nan"),
        fpr=float(np.mean(benign >= threshold)) if benign.size else float("nan"),
    )
