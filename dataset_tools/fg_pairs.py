"""Image + foreground-mask datasets (the foreground-attention experiment: MS-COCO-IC, GTSRB-IC, the
synthetic miniature), one layout for all of them:

    <root>/dataset.json                      classes (label order), image size, splits, the builder and its parameters
    <root>/<split>/<class>/<id>.png          the RGB image
    <root>/<split>/<class>/<id>_mask.png     its foreground mask beside it (0 background, 255 foreground)

``square_crop`` is the crop every builder shares: a square around an object's box, grown by a margin,
padded with black where it leaves the image, resized to the dataset's side (area interpolation for
the image; the mask resized as a fraction and thresholded at 1/2).
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from unmask.fileio import read_json, write_bytes_atomic, write_json_atomic

MANIFEST = "dataset.json"
MASK_SUFFIX = "_mask"
SPLITS = ("train", "test")


def square_crop(image: np.ndarray, mask: np.ndarray, box: tuple[float, float, float, float], size: int,
                margin: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 RGB [size, size, 3], bool [size, size]): the square of side max(w, h) * (1 + margin) centred
    on ``box`` (x, y, w, h), black outside the image."""
    x, y, w, h = box
    side = max(1, int(round(max(w, h) * (1 + margin))))
    x0, y0 = int(round(x + w / 2 - side / 2)), int(round(y + h / 2 - side / 2))
    canvas = np.zeros((side, side, 3), np.uint8)
    cmask = np.zeros((side, side), np.float32)
    sy0, sx0 = max(y0, 0), max(x0, 0)
    sy1, sx1 = min(y0 + side, image.shape[0]), min(x0 + side, image.shape[1])
    canvas[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = image[sy0:sy1, sx0:sx1]
    cmask[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = mask[sy0:sy1, sx0:sx1]
    small = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)
    return small, cv2.resize(cmask, (size, size), interpolation=cv2.INTER_AREA) >= 0.5


def _png(image: np.ndarray) -> bytes:
    pixels = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    ok, data = cv2.imencode(".png", pixels)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return data.tobytes()


def write_pair(root: Path, split: str, cls: str, item: str, image: np.ndarray, mask: np.ndarray) -> None:
    """Write one image (uint8 RGB) and its mask (bool) side by side, atomically."""
    folder = Path(root) / split / cls
    write_bytes_atomic(folder / f"{item}.png", _png(image))
    write_bytes_atomic(folder / f"{item}{MASK_SUFFIX}.png", _png(mask.astype(np.uint8) * 255))


def write_manifest(root: Path, classes: list[str], size: int, counts: dict[str, int], builder: dict) -> Path:
    """dataset.json, written last: a dataset without it is unfinished."""
    return write_json_atomic(Path(root) / MANIFEST, {"classes": list(classes), "size": size, "counts": counts,
                                                     "builder": builder})


def read_manifest(root: Path) -> dict:
    """dataset.json of a built dataset; FileNotFoundError naming it when the dataset is not built."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"foreground dataset manifest {path} not found: build the dataset first")
    return read_json(path)


def list_pairs(root: Path, split: str, classes: list[str]) -> list[tuple[Path, Path, int]]:
    """(image, mask, label) of every image of a split, sorted; FileNotFoundError naming an image without its mask."""
    pairs = []
    for label, cls in enumerate(classes):
        for image in sorted((Path(root) / split / cls).glob("*.png")):
            if image.stem.endswith(MASK_SUFFIX):
                continue
            mask = image.with_name(f"{image.stem}{MASK_SUFFIX}.png")
            if not mask.is_file():
                raise FileNotFoundError(f"{image} has no mask {mask.name} beside it")
            pairs.append((image, mask, label))
    return pairs


def load_pairs(pairs: list[tuple[Path, Path, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(float32 images [N, H, W, 3] in [0, 1], float32 0/1 masks [N, H, W, 1], int64 labels [N])."""
    images, masks = [], []
    for image, mask, _ in pairs:
        pixels = cv2.imread(str(image), cv2.IMREAD_COLOR)
        fg = cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE)
        if pixels is None or fg is None:
            raise ValueError(f"cannot read {image if pixels is None else mask}")
        images.append(cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB))
        masks.append(fg >= 128)
    return (np.stack(images).astype(np.float32) / 255, np.stack(masks)[..., None].astype(np.float32),
            np.array([label for _, _, label in pairs], dtype=np.int64))
