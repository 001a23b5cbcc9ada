"""Shared fixtures of the model-M tests: a tiny drawn dataset and one small_cnn trained on it per session."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from unmask.parts import class_set

# The classes carry CS3a's names (so the class-set commands accept the folder); each is drawn as a shape.
SHAPE_CLASSES = class_set("CS3a")
SHAPES = dict(zip(SHAPE_CLASSES, ("circle", "square", "triangle")))
SHAPE_SIZE = 32
TINY_TRAINING = {"epochs": 20, "image_size": SHAPE_SIZE, "batch_size": 16, "learning_rate": 0.05, "seed": 5, "progress": False}


def draw_shape(kind: str, rng: np.random.Generator, size: int = SHAPE_SIZE) -> Image.Image:
    """One shape of a random colour, size and place on a noisy background: the class is the shape."""
    background = rng.integers(60, 196, size=(size, size, 3)) + rng.normal(0, 12, size=(size, size, 3))
    img = Image.fromarray(np.clip(background, 0, 255).astype(np.uint8))
    radius = rng.uniform(0.22, 0.36) * size
    cx, cy = rng.uniform(radius, size - radius, size=2)
    fill = tuple(int(v) for v in rng.integers(0, 256, size=3))
    draw = ImageDraw.Draw(img)
    if kind == "circle":
        draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=fill)
    elif kind == "square":
        draw.rectangle([cx - radius, cy - radius, cx + radius, cy + radius], fill=fill)
    else:
        draw.polygon([(cx, cy - radius), (cx - radius, cy + radius), (cx + radius, cy + radius)], fill=fill)
    return img


def write_shapes(root: Path, per_class: int, seed: int) -> Path:
    """``<root>/<class>/*.png`` with ``per_class`` drawn images per class."""
    rng = np.random.default_rng(seed)
    for name in SHAPE_CLASSES:
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            draw_shape(SHAPES[name], rng).save(root / name / f"{name}_{i:03d}.png")
    return root


@pytest.fixture(scope="session")
def shapes_data(tmp_path_factory) -> Path:
    """A tiny class-set folder ``.../CS3a``: train/ (60 per class) and val/ (15 per class) at 32 px."""
    root = tmp_path_factory.mktemp("shapes") / "CS3a"
    write_shapes(root / "train", 60, seed=1)
    write_shapes(root / "val", 15, seed=2)
    return root


@pytest.fixture(scope="session")
def tiny_training() -> dict:
    """train_classifier keyword arguments of the session model (a 20-epoch run of ~10 s)."""
    return dict(TINY_TRAINING)


@pytest.fixture(scope="session")
def trained_model(shapes_data, tmp_path_factory):
    """(model path, TrainResult): one small_cnn trained on shapes_data, shared by every test."""
    from unmask.training import train_classifier

    out = tmp_path_factory.mktemp("models") / "shapes_small_cnn.keras"
    result = train_classifier(shapes_data / "train", shapes_data / "val", SHAPE_CLASSES, "small_cnn", out,
                              **TINY_TRAINING)
    return out, result

