"""User-supplied MNIST / Fashion-MNIST IDX files and a Cat & Dog face folder, for the VAE detector (V 3.6).

Nothing is downloaded (this workplace cannot reach the datasets' hosts): the user puts the four standard
IDX files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
``t10k-labels-idx1-ubyte``, each optionally ``.gz``) in one folder, or the cat and dog faces as image files
under ``cat/`` and ``dog/``. Every loader returns ``x_train``, ``y_train``, ``x_test``, ``y_test`` as float32
[N, H, W, 1] in [0, 1] and int64 labels.

Fashion-MNIST5 is V's five classes, relabelled Coat 0, Trouser 1, Sandal 2, Sneaker 3, Bag 4 (original
indices 4, 1, 5, 7, 8). Cat & Dog: V resized 2,028 faces to 64x64 grayscale and gives no split; the
default here holds out a seeded 20% of each class.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
from PIL import Image

IDX_FILES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
             "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}
FMNIST5_CLASSES = (4, 1, 5, 7, 8)
"""Fashion-MNIST's coat, trouser, sandal, sneaker, bag: V's classes 0-4 in this order."""
CATDOG_CLASSES = ("cat", "dog")
CATDOG_SIZE = 64
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff"}


def read_idx(path: str | Path) -> np.ndarray:
    """One IDX file (plain or gzipped) as a uint8 array; names the file when it is not IDX uint8."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        data = stream.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes (magic {data[:4].hex()})")
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape} = {int(np.prod(shape))} values, the file holds {body.size}")
    return body.reshape(shape)


def _idx_path(folder: Path, stem: str) -> Path:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{folder / stem}[.gz] not found: put the four MNIST / Fashion-MNIST IDX files "
                            f"({', '.join(IDX_FILES.values())}) in {folder}")


def check_idx_folder(folder: str | Path) -> None:
    """Before any work: every IDX file is there (FileNotFoundError naming the first missing one)."""
    for stem in IDX_FILES.values():
        _idx_path(Path(folder), stem)


def load_idx_dataset(folder: str | Path, classes: tuple[int, ...] | None = None) -> dict[str, np.ndarray]:
    """MNIST or Fashion-MNIST from ``folder``; ``classes`` keeps those original labels, relabelled 0..K-1
    in that order (FMNIST5_CLASSES for V's Fashion-MNIST5)."""
    folder = Path(folder)
    raw = {key: read_idx(_idx_path(folder, stem)) for key, stem in IDX_FILES.items()}
    out = {}
    for split in ("train", "test"):
        images, labels = raw[f"x_{split}"], raw[f"y_{split}"].astype(np.int64)
        if images.ndim != 3 or len(images) != len(labels):
            raise ValueError(f"{folder}: {split} images {images.shape} do not match labels {labels.shape}")
        if classes is not None:
            keep = np.isin(labels, classes)
            relabel = {original: new for new, original in enumerate(classes)}
            images, labels = images[keep], np.array([relabel[int(v)] for v in labels[keep]], dtype=np.int64)
        out[f"x_{split}"] = (images.astype(np.float32) / 255.0)[..., None]
        out[f"y_{split}"] = labels
    return out


def check_catdog_folder(folder: str | Path) -> None:
    """Before any work: ``cat/`` and ``dog/`` hold images."""
    for name in CATDOG_CLASSES:
        sub = Path(folder) / name
        if not sub.is_dir() or not any(p.suffix.lower() in _IMAGE_SUFFIXES for p in sub.iterdir()):
            raise FileNotFoundError(f"{sub} not found or holds no images: put the cat and dog face crops under "
                                    f"{Path(folder) / 'cat'} and {Path(folder) / 'dog'}")


def load_catdog(folder: str | Path, test_fraction: float = 0.2, seed: int = 0,
                size: int = CATDOG_SIZE) -> dict[str, np.ndarray]:
    """The Cat & Dog faces as 64x64 grayscale, a seeded ``test_fraction`` of each class held out."""
    check_catdog_folder(folder)
    rng = np.random.default_rng(seed)
    parts: dict[str, list] = {"x_train": [], "y_train": [], "x_test": [], "y_test": []}
    for label, name in enumerate(CATDOG_CLASSES):
        files = sorted(p for p in (Path(folder) / name).iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
        images = []
        for path in files:
            try:
                with Image.open(path) as image:
                    gray = image.convert("L").resize((size, size), Image.BILINEAR)
            except OSError as err:
                raise ValueError(f"{path}: not a readable image ({err})") from err
            images.append(np.asarray(gray, dtype=np.float32) / 255.0)
        order = rng.permutation(len(images))
        cut = int(round(len(images) * test_fraction))
        for split, index in (("test", order[:cut]), ("train", order[cut:])):
            parts[f"x_{split}"] += [images[i] for i in index]
            parts[f"y_{split}"] += [label] * len(index)
    return {key: (np.stack(value)[..., None] if key.startswith("x") else np.array(value, dtype=np.int64))
            for key, value in parts.items()}
