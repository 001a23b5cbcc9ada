"""Read and write PASCAL-Part annotation files (``Annotations_Part/<id>.mat``).

Layout: ``anno`` (1x1 struct) with ``imname`` (string) and ``objects`` (1xN struct array); each object
has ``class``, ``class_ind`` (1..20), ``mask`` (HxW uint8) and ``parts`` (1xP struct array, possibly
empty); each part has ``part_name`` and ``mask`` (HxW uint8). Files are loaded with squeeze_me=True and
struct_as_record=False, which turns 1-element struct arrays into a single struct and N-element ones
into object arrays; :func:`_items` flattens both (and empty arrays) into lists.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.io

from dataset_tools.part_names import PASCAL_PART_CLASSES


class MatFormatError(ValueError):
    """A .mat file that is not a readable PASCAL-Part annotation."""


@dataclass
class PartAnnotation:
    """One raw part instance: its PASCAL-Part name and binary mask."""

    name: str
    mask: np.ndarray


@dataclass
class ObjectAnnotation:
    """One object instance with its class, silhouette and parts."""

    cls: str
    mask: np.ndarray
    parts: list[PartAnnotation] = field(default_factory=list)

    @property
    def class_ind(self) -> int:
        """1-based PASCAL class index."""
        return PASCAL_PART_CLASSES.index(self.cls) + 1


@dataclass
class ImageAnnotation:
    """The content of one PASCAL-Part .mat file."""

    imname: str
    objects: list[ObjectAnnotation]


def _items(value) -> list:
    """A MATLAB struct array loaded with squeeze_me as a list of structs (1, N or 0 elements)."""
    if isinstance(value, np.ndarray):
        return [] if value.size == 0 else list(value.ravel())
    return [value]


def _text(value) -> str:
    if isinstance(value, np.ndarray):
        value = "".join(value.ravel().tolist()) if value.size else ""
    return str(value)


def read_annotation(path: Path) -> ImageAnnotation:
    """Parse a PASCAL-Part .mat file; raises MatFormatError when it cannot be read or lacks fields."""
    try:
        data = scipy.io.loadmat(str(path), squeeze_me=True, struct_as_record=False)
        anno = data["anno"]
        objects = []
        for obj in _items(anno.objects):
            parts = [
                PartAnnotation(_text(part.part_name), np.asarray(part.mask))
                for part in _items(getattr(obj, "parts", np.empty(0)))
            ]
            objects.append(ObjectAnnotation(_text(getattr(obj, "class")), np.asarray(obj.mask), parts))
        return ImageAnnotation(_text(anno.imname), objects)
    except MatFormatError:
        raise
    except Exception as exc:  # scipy raises many types for damaged files
        raise MatFormatError(f"{path.name}: not a readable PASCAL-Part annotation ({type(exc).__name__}: {exc})") from exc


def _struct_array(rows: list[dict], fields: tuple[str, ...]) -> np.ndarray:
    """A 1xN MATLAB struct array (numpy structured array of objects)."""
    array = np.empty((1, len(rows)), dtype=[(name, object) for name in fields])
    for i, row in enumerate(rows):
        for name in fields:
            array[0, i][name] = row[name]
    return array


def write_annotation(path: Path, annotation: ImageAnnotation) -> None:
    """Write ``annotation`` in PASCAL-Part's struct layout (compressed MATLAB v5 file)."""
    objects = []
    for obj in annotation.objects:
        parts = [{"part_name": p.name, "mask": p.mask.astype(np.uint8)} for p in obj.parts]
        objects.append({
            "class": obj.cls,
            "class_ind": np.array([[obj.class_ind]], dtype=np.float64),
            "mask": obj.mask.astype(np.uint8),
            "parts": _struct_array(parts, ("part_name", "mask")),
        })
    anno = {"imname": annotation.imname, "objects": _struct_array(objects, ("class", "class_ind", "mask", "parts"))}
    with open(path, "wb") as handle:
        scipy.io.savemat(handle, {"anno": anno}, do_compression=True)
