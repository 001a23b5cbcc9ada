"""Fixtures and builders of tiny raw-data files in the real formats (PASCAL-Part .mat via scipy.io.savemat with
the MATLAB struct layout, VOC XML, JPEGs), written independently of dataset_tools' own writers."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.io
from PIL import Image

H, W = 24, 32


def struct_array(rows: list[dict], fields: list[str]) -> np.ndarray:
    array = np.zeros((1, len(rows)), dtype=[(f, "O") for f in fields])
    for i, row in enumerate(rows):
        for f in fields:
            array[0, i][f] = row[f]
    return array


def box_mask(y0: int, x0: int, y1: int, x1: int, shape=(H, W)) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    mask[y0:y1, x0:x1] = 1
    return mask


def save_mat(path: Path, imname: str, objects: list[tuple[str, int, list[tuple[str, np.ndarray]]]]) -> None:
    """objects: (class, class_ind, [(part_name, mask), ...]) in PASCAL-Part's anno struct layout."""
    rows = []
    for cls, ind, parts in objects:
        union = np.zeros((H, W), np.uint8)
        for _, m in parts:
            if m.shape == union.shape:
                union |= m
        rows.append({"class": cls, "class_ind": np.array([[float(ind)]]), "mask": union,
                     "parts": struct_array([{"part_name": n, "mask": m} for n, m in parts], ["part_name", "mask"])})
    anno = {"imname": imname, "objects": struct_array(rows, ["class", "class_ind", "mask", "parts"])}
    scipy.io.savemat(str(path), {"anno": anno})


def save_jpeg(path: Path, seed: int, shape=(H, W)) -> None:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (*shape, 3), dtype=np.uint8)).save(path, quality=95)


def save_voc_xml(path: Path, names: list[str]) -> None:
    objects = "".join(f"<object><name>{n}</name><difficult>0</difficult><bndbox><xmin>1</xmin><ymin>1</ymin>"
                      f"<xmax>5</xmax><ymax>5</ymax></bndbox></object>" for n in names)
    path.write_text(f"<annotation><filename>{path.stem}.jpg</filename><size><width>{W}</width><height>{H}</height>"
                    f"<depth>3</depth></size>{objects}</annotation>")




@pytest.fixture
def raw():
    """The builders, for tests (conftest modules cannot be imported under --import-mode=importlib)."""
    return SimpleNamespace(H=H, W=W, box_mask=box_mask, save_mat=save_mat, save_jpeg=save_jpeg, save_voc_xml=save_voc_xml)


@pytest.fixture
def voc_tree(tmp_path: Path) -> Path:
    """A VOC2010 root with 20 part-annotated images: a car (headlight, wheel, fliplate), a person
    (lebrow, llleg, lhand), and a bicycle (handlebar); masks are boxes at known places."""
    root = tmp_path / "VOC2010"
    for sub in ("JPEGImages", "Annotations_Part", "Annotations"):
        (root / sub).mkdir(parents=True)
    for i in range(20):
        imname = f"2008_{i:06d}"
        save_jpeg(root / "JPEGImages" / f"{imname}.jpg", i)
        save_mat(root / "Annotations_Part" / f"{imname}.mat", imname, [
            ("car", 7, [("headlight_1", box_mask(2, 2, 6, 8)), ("wheel_2", box_mask(10, 2, 16, 10)),
                        ("fliplate", box_mask(18, 2, 22, 12))]),
            ("person", 15, [("lebrow", box_mask(2, 16, 5, 26)), ("llleg", box_mask(8, 16, 20, 20)),
                            ("lhand", box_mask(8, 24, 12, 30))]),
            ("bicycle", 2, [("handlebar", box_mask(14, 22, 18, 31))]),
        ])
        save_voc_xml(root / "Annotations" / f"{imname}.xml", ["car", "person"])
    return root
