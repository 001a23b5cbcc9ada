"""Image loading shared by training, attacks and evaluation.

One loader for every consumer, so model M sees exactly the same pixels at training, attack and
evaluation time: the shorter side is resized to ``size`` (bilinear, as torchvision's
``Resize(size)`` on PIL images in the BigData code) and the centre ``size x size`` square is cropped
(``CenterCrop(size)``). Images come back as float32 RGB in [0, 1].
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
log = logging.getLogger(__name__)


class ImageLoadError(ValueError):
    """An image file that cannot be read or decoded."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        super().__init__(f"cannot load image {self.path}: {reason}")


class DatasetLayoutError(ValueError):
    """An image folder whose class sub-folders do not match the requested class names."""


_WIDE_GRAY_MODES = {"I": 65535.0, "I;16": 65535.0, "I;16B": 65535.0, "I;16L": 65535.0, "I;16N": 65535.0, "F": 1.0}


def _to_rgb(img: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB as torchvision's loader does (``convert("RGB")``, alpha
    dropped); 16/32-bit integer grayscale is rescaled from its full range and float from [0, 1]
    instead of being clipped at 255."""
    full_scale = _WIDE_GRAY_MODES.get(img.mode)
    if full_scale is not None:
        values = np.asarray(img, dtype=np.float64) / full_scale
        img = Image.fromarray(np.clip(np.round(values * 255.0), 0, 255).astype(np.uint8), mode="L")
    return img.convert("RGB")


def _resize_center_crop(img: Image.Image, size: int) -> Image.Image:
    """torchvision Resize(size) + CenterCrop(size): shorter side to size, then the centre square."""
    width, height = img.size
    if width <= height:
        new_w, new_h = size, int(size * height / width)
    else:
        new_w, new_h = int(size * width / height), size
    img = img.resize((new_w, new_h), Image.BILINEAR)
    left = int(round((new_w - size) / 2.0))
    top = int(round((new_h - size) / 2.0))
    return img.crop((left, top, left + size, top + size))


def check_images(images: np.ndarray) -> np.ndarray:
    """The one image check of every public entry point: float32 [N,H,W,3], finite, in [0, 1].

    Raises a ValueError that says what is wrong (NaN pixels would otherwise give M a valid-looking
    argmax of class 0 and UnMask valid-looking verdicts)."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must have shape [N, H, W, 3], got {images.shape}")
    if not (np.issubdtype(images.dtype, np.floating) or np.issubdtype(images.dtype, np.integer)):
        raise ValueError(f"images must be float RGB in [0, 1], got dtype {images.dtype}")
    images = images.astype(np.float32, copy=False)
    if images.size:
        if not np.all(np.isfinite(images)):
            raise ValueError(f"images must be finite; {int(np.sum(~np.isfinite(images)))} values are NaN or infinite")
        if images.min() < 0.0 or images.max() > 1.0:
            raise ValueError(f"images must lie in [0, 1], got values in [{images.min()}, {images.max()}]")
    return images


def load_image(path: str | Path, size: int) -> np.ndarray:
    """Load one image as float32 RGB [size, size, 3] in [0, 1]; raises ImageLoadError on bad files."""
    if size < 1:
        raise ValueError(f"image size must be positive, got {size}")
    try:
        with Image.open(path) as img:
            img.load()
            rgb = _to_rgb(img)
    except FileNotFoundError:
        raise ImageLoadError(path, "file not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise ImageLoadError(path, f"{type(err).__name__}: {err}") from err
    if min(rgb.size) < 1:
        raise ImageLoadError(path, f"empty image of size {rgb.size}")
    return np.asarray(_resize_center_crop(rgb, size), dtype=np.float32) / 255.0


def list_image_folder(root: str | Path, class_names: Sequence[str]) -> list[tuple[Path, int]]:
    """List ``<root>/<class>/*.{jpg,jpeg,png}`` as (path, label), label = index in class_names.

    Every requested class must have a folder and every folder must be a requested class, so a
    mistyped or mismatched class set fails here with what was found instead of training on a subset.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetLayoutError(f"image folder {root} does not exist")
    found = sorted(p.name for p in root.iterdir() if p.is_dir())
    missing = [c for c in class_names if c not in found]
    unknown = [c for c in found if c not in class_names]
    if missing or unknown:
        raise DatasetLayoutError(
            f"class folders in {root} do not match the requested classes {list(class_names)}: "
            f"missing {missing}, unexpected {unknown}; found {found}"
        )
    items = [
        (path, label)
        for label, name in enumerate(class_names)
        for path in sorted((root / name).iterdir())
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES
    ]
    if not items:
        raise DatasetLayoutError(f"no {'/'.join(IMAGE_SUFFIXES)} images under {root}/<class>/")
    return items


def iter_batches(
    items: Sequence[tuple[str | Path, int]], size: int, batch_size: int, skipped: dict[str, str] | None = None
) -> Iterator[tuple[np.ndarray, np.ndarray, list[str]]]:
    """Yield (x [n,size,size,3] float32, y [n] int64, paths) batches; unreadable images (corrupt,
    truncated, decompression bombs) are logged and skipped, and recorded in `skipped` (path -> error)."""
    if batch_size < 1:
        raise ValueError(f"batch size must be positive, got {batch_size}")
    images: list[np.ndarray] = []
    labels: list[int] = []
    paths: list[str] = []
    for path, label in items:
        try:
            images.append(load_image(path, size))
        except ImageLoadError as err:
            log.warning("skipping image: %s", err)
            if skipped is not None:
                skipped[err.path] = str(err)
            continue
        labels.append(int(label))
        paths.append(str(path))
        if len(images) == batch_size:
            yield np.stack(images), np.asarray(labels, dtype=np.int64), paths
            images, labels, paths = [], [], []
    if images:
        yield np.stack(images), np.asarray(labels, dtype=np.int64), paths
