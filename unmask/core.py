"""The UnMask algorithm on part sets: Jaccard similarity, distance, detection and rectification.

Everything is vectorized over a batch: part sets become multi-hot rows over the 44 parts, so the
similarity of N images to C classes is one matrix product. Class indices always refer to the
order of the `classes` tuple the caller passes (for a class set: model M's output order).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import AbstractSet, Iterable, Literal, Mapping, Sequence

import numpy as np

from unmask.parts import CLASS_FEATURES, PART_INDEX, PARTS, check_classes, check_parts

DefenseMode = Literal["always_rectify", "threshold"]
DEFENSE_MODES: tuple[str, ...] = ("always_rectify", "threshold")
NO_CLASS = -1
"""Rectification answer when no class of the set shares a single part with the image."""


def jaccard(a: AbstractSet[str], b: AbstractSet[str]) -> float:
    """|a ∩ b| / |a ∪ b|, and 0 when both sets are empty (the papers' convention)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def multi_hot(part_sets: Sequence[Iterable[str]]) -> np.ndarray:
    """[N, 44] bool matrix, row i marking the parts of set i; unknown part names raise."""
    matrix = np.zeros((len(part_sets), len(PARTS)), dtype=bool)
    for row, parts in enumerate(part_sets):
        names = check_parts(parts)
        matrix[row, [PART_INDEX[n] for n in names]] = True
    return matrix


def class_feature_matrix(
    classes: Sequence[str], features: Mapping[str, AbstractSet[str]] = CLASS_FEATURES
) -> np.ndarray:
    """[C, 44] bool matrix of the expected parts V[c] of each class, in the given class order."""
    classes = check_classes(classes, features)
    return multi_hot([features[c] for c in classes])


def similarity_matrix(found: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """[N, C] Jaccard similarities between multi-hot rows `found` [N,P] and `expected` [C,P]."""
    found_f = found.astype(np.float32)
    expected_f = expected.astype(np.float32)
    inter = found_f @ expected_f.T
    union = found_f.sum(1, keepdims=True) + expected_f.sum(1)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _predicted_indices(predicted: Sequence[int] | np.ndarray, n_images: int, n_classes: int) -> np.ndarray:
    predicted = np.asarray(predicted, dtype=np.int64).reshape(-1)
    if predicted.shape[0] != n_images:
        raise ValueError(f"{predicted.shape[0]} predictions for {n_images} part sets")
    if predicted.size and (predicted.min() < 0 or predicted.max() >= n_classes):
        raise ValueError(f"predicted class indices must be in [0, {n_classes}), got {predicted.min()}..{predicted.max()}")
    return predicted


def is_adversarial(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Algorithm 1's detector: adversarial iff distance >= t."""
    return np.asarray(scores) >= threshold


@dataclass(frozen=True)
class Assessment:
    """UnMask's verdict on a batch of images, every field [N] (class indices refer to `classes`).

    scores: 1 - J(found parts, V[predicted]); higher = more suspicious.
    flagged: scores >= threshold (Algorithm 1's detector).
    rectified: the best-matching class (first class on ties; NO_CLASS when no class shares a part).
    answers: the defended answer per mode: `always_rectify` answers `rectified` for every image (how
    the original code scored its defense); `threshold` keeps M's answer when not flagged.
    """

    predicted: np.ndarray
    scores: np.ndarray
    flagged: np.ndarray
    rectified: np.ndarray
    answers: Mapping[str, np.ndarray]


def assess(
    part_sets: Sequence[Iterable[str]],
    predicted: Sequence[int] | np.ndarray,
    classes: Sequence[str],
    threshold: float,
    features: Mapping[str, AbstractSet[str]] = CLASS_FEATURES,
) -> Assessment:
    """The one UnMask decision: `protect.UnMask`, the evaluator and K's scoring all call this."""
    similarity = similarity_matrix(multi_hot(part_sets), class_feature_matrix(classes, features))
    predicted = _predicted_indices(predicted, len(part_sets), len(classes))
    scores = 1.0 - similarity[np.arange(len(predicted)), predicted]
    if similarity.shape[0]:
        rectified = np.where(similarity.max(axis=1) > 0, similarity.argmax(axis=1), NO_CLASS).astype(np.int64)
    else:
        rectified = np.zeros(0, dtype=np.int64)
    flagged = is_adversarial(scores, threshold)
    answers = {"always_rectify": rectified, "threshold": np.where(flagged, rectified, predicted)}
    return Assessment(predicted, scores, flagged, rectified, answers)


def check_mode(mode: str) -> str:
    """`mode` if it is one of DEFENSE_MODES, else a ValueError naming them."""
    if mode not in DEFENSE_MODES:
        raise ValueError(f"unknown defense mode {mode!r}; valid modes: {', '.join(DEFENSE_MODES)}")
    return mode


def threshold_for_fpr(benign_scores: np.ndarray, target_fpr: float) -> float:
    """The smallest threshold t whose false-positive rate (share of benign scores >= t) is <= target.

    Used to set t on held-out benign images, as the papers' operating points do. Above every
    score (nothing flagged) when no smaller threshold meets the target.
    """
    if not 0.0 <= target_fpr <= 1.0:
        raise ValueError(f"target FPR must be in [0, 1], got {target_fpr}")
    scores = np.sort(np.asarray(benign_scores, dtype=np.float64).reshape(-1))
    if scores.size == 0:
        raise ValueError("need at least one benign score to choose a threshold")
    candidates = np.append(np.unique(scores), np.nextafter(scores[-1], np.inf))
    fpr = 1.0 - np.searchsorted(scores, candidates, side="left") / scores.size
    return float(candidates[np.argmax(fpr <= target_fpr)])
