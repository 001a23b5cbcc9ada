"""Class folders (``<root>/<class>/*.jpg``, the ImageNet/Flickr layout) and perceptual-hash
de-duplication of test images against training images.

Near-duplicates are found with imagehash's 64-bit DCT hash (phash): two images whose hashes differ
in at most ``threshold`` bits count as the same picture (re-encoded, resized, slightly edited).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import Image

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
DEDUP_THRESHOLD = 4
"""Default Hamming distance (of 64 bits) at or below which two images are near-duplicates."""


def image_error(path: Path) -> str | None:
    """None when ``path`` decodes completely, else why not (corrupt, truncated, missing)."""
    try:
        with Image.open(path) as img:
            img.load()
        return None
    except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError... on damaged files
        return f"{type(exc).__name__}: {exc}"


def list_class_folders(root: Path, classes: Iterable[str] | None = None) -> tuple[dict[str, list[Path]], list[str]]:
    """Images per class folder of ``root`` (sorted), limited to ``classes`` when given.

    Returns (images, ignored) where ignored names the folders outside ``classes``."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {root} does not exist (expected {root}/<class>/*.jpg)")
    wanted = None if classes is None else set(classes)
    images, ignored = {}, []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if wanted is not None and folder.name not in wanted:
            ignored.append(folder.name)
            continue
        images[folder.name] = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    return images, ignored


def phash(path: Path) -> int:
    """64-bit perceptual hash of an image as an int."""
    import imagehash  # imported here: it pulls in scipy, which the CLI should not load at start-up
    with Image.open(path) as img:
        bits = imagehash.phash(img.convert("RGB")).hash.ravel()
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def hamming(a: Iterable[int], b: Iterable[int]) -> np.ndarray:
    """Pairwise Hamming distances (len(a) x len(b)) between 64-bit hashes."""
    x = np.fromiter(a, np.uint64)
    y = np.fromiter(b, np.uint64)
    return np.bitwise_count(x[:, None] ^ y[None, :]).astype(np.int32)


class HashCache:
    """phash per file, computed once per process."""

    def __init__(self):
        self._hashes: dict[Path, int] = {}

    def __call__(self, path: Path) -> int:
        if path not in self._hashes:
            self._hashes[path] = phash(path)
        return self._hashes[path]


def dedup(candidates: list[Path], reference: list[Path], threshold: int = DEDUP_THRESHOLD,
          hashes: HashCache | None = None) -> tuple[list[Path], list[dict]]:
    """Keep the candidates that are not near-duplicates of a reference image nor of an earlier kept
    candidate. Returns (kept, dropped) with one report entry {file, duplicate_of, distance} per drop;
    unreadable candidates are dropped with the reason instead."""
    hashes = hashes or HashCache()
    ref_paths, ref_hashes = [], []
    for path in reference:
        try:
            ref_hashes.append(hashes(path))
            ref_paths.append(path)
        except Exception:  # an unreadable reference image cannot be a duplicate of anything
            continue
    kept, kept_hashes, dropped = [], [], []
    for path in candidates:
        try:
            h = hashes(path)
        except Exception as exc:
            dropped.append({"file": str(path), "duplicate_of": None, "distance": None, "why": f"unreadable: {exc}"})
            continue
        for pool_paths, pool_hashes in ((ref_paths, ref_hashes), (kept, kept_hashes)):
            if pool_hashes:
                dist = hamming([h], pool_hashes)[0]
                j = int(dist.argmin())
                if dist[j] <= threshold:
                    dropped.append({"file": str(path), "duplicate_of": str(pool_paths[j]), "distance": int(dist[j]),
                                    "why": "near-duplicate"})
                    break
        else:
            kept.append(path)
            kept_hashes.append(h)
    return kept, dropped
