"""From per-image answers and scores to a cell's figures: accuracy per defense, detection per detector.

Defense (contamination 1): every test image attacked, accuracy = share of defended answers equal to
the label. Detection (contamination 0.5): the images whose attack succeeded on the defense's model
variant, plus their own benign versions; adversarial = positive; ROC/AUC over the defense's scores,
and at each target FPR the threshold chosen on held-out benign images, with the TPR and FPR it
reaches on the test images.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from unmask import metrics
from unmask.defenses import Defense, Observation
from unmask.results import NO_ATTACK, CellResult, DetectionResult


@dataclass
class Tally:
    """Per-image facts of one pass over a split, without images: labels, each model variant's
    answers, each defense's answers and (detectors) scores."""

    labels: list[int] = field(default_factory=list)
    predicted: dict[str, list[int]] = field(default_factory=dict)
    answers: dict[str, list[int]] = field(default_factory=dict)
    scores: dict[str, list[float]] = field(default_factory=dict)

    def add(self, labels: np.ndarray, observations: dict[str, Observation], defenses: Sequence[Defense],
            answer: bool = True) -> None:
        """Record one batch: `observations` per model variant; every defense answers (when `answer`)
        and every detector scores its variant's observation."""
        self.labels += np.asarray(labels).tolist()
        for variant, obs in observations.items():
            self.predicted.setdefault(variant, []).extend(np.asarray(obs.predicted).tolist())
        for defense in defenses:
            obs = observations[defense.model]
            if answer:
                self.answers.setdefault(defense.name, []).extend(np.asarray(defense.answer(obs)).tolist())
            if defense.detects:
                self.scores.setdefault(defense.name, []).extend(np.asarray(defense.score(obs), float).tolist())

    def score_array(self, defense: str) -> np.ndarray:
        return np.asarray(self.scores.get(defense, []), dtype=np.float64)


def accuracy(answers: Sequence[int], labels: Sequence[int]) -> float:
    return float(np.mean(np.asarray(answers) == np.asarray(labels))) if len(labels) else 0.0


def detection(defense: Defense, attacked: Tally, benign: Tally, heldout_scores: np.ndarray,
              fpr_targets: Sequence[float]) -> DetectionResult:
    """A detector's figures on one attacked cell: the successfully attacked images and their benign versions."""
    success = np.asarray(attacked.predicted[defense.model]) != np.asarray(attacked.labels)
    adv_scores = attacked.score_array(defense.name)[success]
    benign_scores = benign.score_array(defense.name)[success]
    result = DetectionResult(n_adversarial=int(success.sum()), n_benign=int(success.sum()), auc=None)
    if success.sum() == 0:
        return result
    scores = np.r_[adv_scores, benign_scores]
    labels = np.r_[np.ones(adv_scores.size, int), np.zeros(benign_scores.size, int)]
    curve = metrics.roc_curve(scores, labels)
    result.auc = metrics.auc(curve)
    result.roc_fpr, result.roc_tpr, result.roc_thresholds = curve.fpr.tolist(), curve.tpr.tolist(), curve.thresholds.tolist()
    for target in fpr_targets:
        point = metrics.operating_point(heldout_scores, benign_scores, adv_scores, target)
        key = f"{target:g}"
        result.tpr_at_fpr[key], result.fpr_at_fpr[key], result.threshold_at_fpr[key] = point.tpr, point.fpr, point.threshold
        result.roc_tpr_at_fpr[key], result.roc_fpr_at_fpr[key] = metrics.roc_point(curve, target)
    return result


def cell_result(model: str, class_set: str, attack: str, eps: float | None, tally: Tally,
                defenses: Sequence[Defense], detections: dict[str, DetectionResult]) -> CellResult:
    """The cell of one pass: every defense's accuracy, the given detections, every calibrated threshold;
    for an attacked cell also each defense's accuracy on the images whose attack succeeded."""
    labels = np.asarray(tally.labels)
    n_success, success_accuracy = {}, {}
    if attack != NO_ATTACK:
        for d in defenses:
            success = np.asarray(tally.predicted[d.model]) != labels
            n_success[d.name] = int(success.sum())
            if success.any():
                success_accuracy[d.name] = accuracy(np.asarray(tally.answers[d.name])[success], labels[success])
    return CellResult(
        model=model,
        class_set=class_set,
        attack=attack,
        eps=eps,
        n_images=len(tally.labels),
        accuracy={d.name: accuracy(tally.answers[d.name], tally.labels) for d in defenses},
        detection=detections,
        thresholds={d.name: d.threshold for d in defenses if d.threshold is not None},
        n_success=n_success,
        success_accuracy=success_accuracy,
    )
