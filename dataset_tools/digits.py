"""The offline miniature of the VAE detector's datasets: scikit-learn's bundled digits (1,797 8x8 images,
values 0-16, no download), upsampled to 28x28 like MNIST, with a seeded stratified train / test split."""
from __future__ import annotations

import numpy as np
from PIL import Image

DIGITS_SIZE = 28


def _upsample(image: np.ndarray, size: int) -> np.ndarray:
    """One 8x8 digit (0-16) as float32 [size, size] in [0, 1], bilinear."""
    pil = Image.fromarray((image / 16.0).astype(np.float32), mode="F").resize((size, size), Image.BILINEAR)
    return np.clip(np.asarray(pil, dtype=np.float32), 0.0, 1.0)


def load_digits_split(classes: tuple[int, ...] = (0, 1, 2, 3, 4), test_fraction: float = 0.25, seed: int = 0,
                      size: int = DIGITS_SIZE) -> dict[str, np.ndarray]:
    """``x_train``, ``y_train``, ``x_test``, ``y_test``: the digits of ``classes`` (relabelled 0..K-1 in that
    order) as float32 [N, size, size, 1] in [0, 1], split per class with ``test_fraction`` held out."""
    from sklearn.datasets import load_digits

    if not classes or len(set(classes)) != len(classes) or not all(0 <= c <= 9 for c in classes):
        raise ValueError(f"digit classes must be distinct integers in 0-9, got {classes}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    digits = load_digits()
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label, digit in enumerate(classes):
        index = rng.permutation(np.flatnonzero(digits.target == digit))
        cut = int(round(len(index) * test_fraction))
        test += [(i, label) for i in index[:cut]]
        train += [(i, label) for i in index[cut:]]
    out = {}
    for split, pairs in (("train", train), ("test", test)):
        out[f"x_{split}"] = np.stack([_upsample(digits.images[i], size) for i, _ in pairs])[..., None]
        out[f"y_{split}"] = np.array([label for _, label in pairs], dtype=np.int64)
    return out
