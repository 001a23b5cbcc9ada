"""Training-time augmentation for Mask R-CNN, in place of imgaug (which does not import with numpy 2).

An augmenter is any callable ``(image, masks, rng) -> (image, masks)`` that applies one random
geometric transform to the image [H, W, C] and the same transform to its instance masks [H, W, N].
All randomness comes from the numpy Generator passed in, so a seeded generator replays exactly.
UnMask trained its part extractor with a horizontal flip of probability 0.5: ``HorizontalFlip(0.5)``.
"""
from __future__ import annotations

from typing import Iterable, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Augmenter(Protocol):
    """Transforms an image and its masks together, drawing randomness only from ``rng``."""

    def __call__(self, image: np.ndarray, masks: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]: ...


class HorizontalFlip:
    """Mirror image and masks left-right with probability ``p``."""

    def __init__(self, p: float = 0.5):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"flip probability must be in [0, 1], got {p}")
        self.p = p

    def __call__(self, image: np.ndarray, masks: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        if image.shape[:2] != masks.shape[:2]:
            raise ValueError(f"image {image.shape} and masks {masks.shape} differ in height/width")
        if rng.random() < self.p:
            return image[:, ::-1].copy(), masks[:, ::-1].copy()
        return image, masks

    def __repr__(self) -> str:
        return f"HorizontalFlip(p={self.p})"


class Sequential:
    """Apply augmenters one after another (each draws from the same generator, in order)."""

    def __init__(self, augmenters: Iterable[Augmenter]):
        self.augmenters = list(augmenters)
        for augmenter in self.augmenters:
            if not callable(augmenter):
                raise TypeError(f"not an augmenter (not callable): {augmenter!r}")

    def __call__(self, image: np.ndarray, masks: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        for augmenter in self.augmenters:
            image, masks = augmenter(image, masks, rng)
        return image, masks

    def __repr__(self) -> str:
        return f"Sequential({self.augmenters!r})"
