"""`UnMask`: protect any classifier with any part extractor.

The classifier is a callable images -> class scores (probabilities or logits; only the argmax is
used), with outputs in the order of the class set's classes. The extractor is any object with
`extract(images) -> list[set[str]]`, e.g. `unmask.extractor.MaskRCNNExtractor`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Protocol, Sequence

import numpy as np

from unmask import core
from unmask.images import check_images
from unmask.parts import check_classes, class_set as lookup_class_set


class PartExtractor(Protocol):
    """What UnMask needs of K: the set of part names found in each image."""

    def extract(self, images: np.ndarray) -> list[set[str]]: ...


@dataclass(frozen=True)
class Verdict:
    """UnMask's view of one image."""

    predicted: str
    """M's answer."""
    parts: frozenset[str]
    """Parts K found."""
    distance: float
    """1 - J(parts, V[predicted])."""
    is_adversarial: bool
    """distance >= threshold."""
    corrected: str | None
    """The defended answer under the defense mode; None when no class shares a part with the image."""


def _resolve_classes(classes: str | Iterable[str]) -> tuple[str, ...]:
    return lookup_class_set(classes) if isinstance(classes, str) else check_classes(classes)


class UnMask:
    """Detect adversarial images and correct M's answer by matching found parts to expected parts."""

    def __init__(
        self,
        classifier: Callable[[np.ndarray], object],
        extractor: PartExtractor,
        class_set: str | Sequence[str],
        threshold: float = 0.5,
        mode: core.DefenseMode = "threshold",
        batch_size: int = 32,
    ):
        self.classifier = classifier
        self.extractor = extractor
        self.classes = _resolve_classes(class_set)
        self.threshold = float(threshold)
        self.mode = core.check_mode(mode)
        self.batch_size = int(batch_size)

    def predict(self, images: np.ndarray) -> np.ndarray:
        """M's class indices, computed in batches."""
        images = check_images(images)
        answers = []
        for start in range(0, len(images), self.batch_size):
            scores = np.asarray(self.classifier(images[start : start + self.batch_size]))
            if scores.ndim != 2 or scores.shape[1] != len(self.classes):
                raise ValueError(
                    f"classifier returned scores of shape {scores.shape}; expected [batch, {len(self.classes)}] "
                    f"for classes {', '.join(self.classes)}"
                )
            answers.append(scores.argmax(axis=1))
        return np.concatenate(answers) if answers else np.zeros(0, dtype=np.int64)

    def extract(self, images: np.ndarray) -> list[frozenset[str]]:
        """K's part sets."""
        part_sets = [frozenset(s) for s in self.extractor.extract(check_images(images))]
        if len(part_sets) != len(images):
            raise ValueError(f"extractor returned {len(part_sets)} part sets for {len(images)} images")
        return part_sets

    def calibrate(self, benign_images: np.ndarray, target_fpr: float = 0.1) -> float:
        """Set the threshold so that at most `target_fpr` of these benign images are flagged."""
        scores = self.assess(benign_images)[1].scores
        self.threshold = core.threshold_for_fpr(scores, target_fpr)
        return self.threshold

    def detect(self, images: np.ndarray) -> list[Verdict]:
        """Algorithm 1: flag by threshold; `corrected` keeps M's answer for benign-looking images."""
        return self.defend(images, mode="threshold")

    def assess(self, images: np.ndarray) -> tuple[list[frozenset[str]], core.Assessment]:
        """K's part sets and UnMask's assessment of M's answers (the evaluator's decision, `core.assess`)."""
        predicted = self.predict(images)
        part_sets = self.extract(images)
        return part_sets, core.assess(part_sets, predicted, self.classes, self.threshold)

    def defend(self, images: np.ndarray, mode: core.DefenseMode | None = None) -> list[Verdict]:
        """Verdicts with the defended answer under `mode` (default: the instance's mode)."""
        mode = core.check_mode(mode or self.mode)
        part_sets, verdict = self.assess(images)
        return [
            Verdict(
                predicted=self.classes[p],
                parts=parts,
                distance=float(d),
                is_adversarial=bool(f),
                corrected=self.classes[a] if a != core.NO_CLASS else None,
            )
            for p, parts, d, f, a in zip(verdict.predicted, part_sets, verdict.scores, verdict.flagged, verdict.answers[mode])
        ]
