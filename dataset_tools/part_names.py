"""Raw PASCAL-Part part names -> the 44 generalized UnMask parts (the original's ordered rules).

The original conversion tests substrings in a fixed order and the first match wins, which is why
'handlebar' becomes 'hand' and 'lebrow' becomes 'eyebrow' (the 'pa' and 'ear' rules come first but do
not match it). The legacy category lookup (first category name contained in the mask file name)
labels every headlight as 'head'; :func:`category_of` reproduces it on request.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from unmask.parts import PART_INDEX, PARTS

# PASCAL-Part object classes in class_ind order (1-based in the .mat files); 'table' is VOC's diningtable.
PASCAL_PART_CLASSES: tuple[str, ...] = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "table", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)

DROP = None
"""Rule target meaning: the part is not one of the 44 and is left out."""

# (substrings, generalized part or DROP), tested in this order; the first rule with any substring
# contained in the raw name decides.
RULES: tuple[tuple[tuple[str, ...], str | None], ...] = (
    (("ear",), "ear"),
    (("eye",), "eye"),
    (("leg",), "leg"),
    (("pa",), "paw"),
    (("brow",), "eyebrow"),
    (("hand",), "hand"),
    (("arm",), "arm"),
    (("horn",), "horn"),
    (("wheel",), "wheel"),
    (("foot",), "foot"),
    (("cleftside",), "coach_left"),
    (("crightside",), "coach_right"),
    (("cfrontside",), "coach_front"),
    (("cbackside",), "coach_back"),
    (("croofside",), "coach_top"),
    (("hroofside", "hleftside", "hrightside", "hfrontside", "hbackside", "coach"), DROP),
    (("rightside",), "vehicle_right"),
    (("leftside",), "vehicle_left"),
    (("roofside",), "vehicle_top"),
    (("backside",), "vehicle_back"),
    (("wing",), "wing"),
    (("engine",), "engine"),
    (("window",), "window"),
    (("headlight",), "headlight"),
    (("door",), "door"),
    (("plate",), "licenseplate"),
    (("mirror",), "mirror"),
    (("lbho", "lfho", "rbho", "rfho"), "hoof"),
)


def generalize(raw: str) -> str | None:
    """The generalized name of a raw part name, or None when the original drops it.

    The result may be a name outside the 44 parts (an unknown raw name); callers check PART_INDEX."""
    for needles, target in RULES:
        if any(needle in raw for needle in needles):
            return target
    if raw in PASCAL_PART_CLASSES:
        return DROP
    return raw


def legacy_mask_file_name(imname: str, part: str, number: int) -> str:
    """The mask file name the original conversion wrote: '<image>_<part>_<n>.png'."""
    return f"{imname}_{part}_{number}.png"


def category_of(part: str, imname: str, number: int, legacy: bool) -> int:
    """COCO category id (index in PARTS) of a generalized part instance.

    legacy=True repeats the original lookup: the FIRST part name that is a substring of the mask
    file name, so 'headlight' masks get 'head' (it comes first in PARTS)."""
    if not legacy:
        return PART_INDEX[part]
    file_name = legacy_mask_file_name(imname, part, number)
    return next(i for i, name in enumerate(PARTS) if name in file_name)


@lru_cache(maxsize=1)
def raw_part_names() -> dict[str, tuple[str, ...]]:
    """Every raw PASCAL-Part part name per object class (shipped with the package)."""
    text = resources.files("dataset_tools").joinpath("data/pascal_part_raw_names.json").read_text()
    return {cls: tuple(names) for cls, names in json.loads(text).items()}
