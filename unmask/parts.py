"""The UnMask knowledge base: 44 generalized parts, the class-feature matrix V and the class sets.

The data ships inside the package (``unmask/data/class_features.json``, copied from the papers'
public code) and is validated when loaded, so a typo in a class or part name fails loudly with the
list of valid names instead of silently producing empty part sets.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Iterable, Mapping


class UnknownNameError(ValueError):
    """A class, part or class-set name that the knowledge base does not know."""

    def __init__(self, kind: str, unknown: Iterable[str], valid: Iterable[str]):
        self.unknown = sorted(set(unknown))
        self.valid = list(valid)
        super().__init__(
            f"unknown {kind} name(s): {', '.join(self.unknown)}; valid {kind} names: {', '.join(self.valid)}"
        )


def _load() -> dict:
    text = resources.files("unmask").joinpath("data/class_features.json").read_text()
    return json.loads(text)


def _validated(raw: dict) -> tuple[tuple[str, ...], dict[str, frozenset[str]], dict[str, tuple[str, ...]], dict[str, str]]:
    parts = tuple(raw["parts_in_category_id_order"])
    if len(set(parts)) != len(parts):
        raise ValueError("duplicate part names in the part vocabulary")
    features = {cls: frozenset(names) for cls, names in raw["class_features"].items()}
    for cls, names in features.items():
        unknown = names - set(parts)
        if unknown:
            raise UnknownNameError(f"part (in class {cls!r})", unknown, parts)
    sets = {name: tuple(classes) for name, classes in raw["class_sets"].items()}
    for name, classes in sets.items():
        unknown = set(classes) - set(features)
        if unknown:
            raise UnknownNameError(f"class (in class set {name!r})", unknown, features)
    aliases = dict(raw["class_set_aliases_in_original_code"])
    for alias, target in aliases.items():
        if target not in sets:
            raise UnknownNameError("class set (alias target)", [target], sets)
    return parts, features, sets, aliases


PARTS, CLASS_FEATURES, CLASS_SETS, CLASS_SET_ALIASES = _validated(_load())
"""PARTS: the 44 generalized parts, index = COCO category id order of the original conversion.
CLASS_FEATURES: V, class name -> frozenset of part names (16 classes).
CLASS_SETS: CS3a, CS3b, CS5a, CS5b -> classes in the papers' order (= model M's output order).
CLASS_SET_ALIASES: the original code's names (cs3-1, ...) -> ours."""

PART_INDEX: dict[str, int] = {name: i for i, name in enumerate(PARTS)}
CLASSES: tuple[str, ...] = tuple(CLASS_FEATURES)


def check_classes(names: Iterable[str], features: Mapping[str, frozenset[str]] = CLASS_FEATURES) -> tuple[str, ...]:
    """Return ``names`` as a tuple, or raise UnknownNameError listing the valid class names."""
    names = tuple(names)
    unknown = [n for n in names if n not in features]
    if unknown:
        raise UnknownNameError("class", unknown, features)
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate class names in {list(names)}")
    return names


def check_parts(names: Iterable[str]) -> frozenset[str]:
    """Return ``names`` as a frozenset, or raise UnknownNameError listing the 44 valid part names."""
    names = frozenset(names)
    unknown = names - PART_INDEX.keys()
    if unknown:
        raise UnknownNameError("part", unknown, PARTS)
    return names


def class_set(name: str) -> tuple[str, ...]:
    """Classes of a class set by its paper name (CS3a) or the original code's alias (cs3-1)."""
    canonical = CLASS_SET_ALIASES.get(name, name)
    if canonical not in CLASS_SETS:
        raise UnknownNameError("class set", [name], [*CLASS_SETS, *CLASS_SET_ALIASES])
    return CLASS_SETS[canonical]


def canonical_class_set_name(name: str) -> str:
    """Map an alias (cs3-1) to the paper name (CS3a); validates the name."""
    class_set(name)
    return CLASS_SET_ALIASES.get(name, name)


@dataclass(frozen=True)
class OverlapStats:
    """Feature statistics of a class set (KDD'19 Table 5 / BigData'20 Table 1)."""

    classes: tuple[str, ...]
    unique_parts: int
    shared_parts: int

    @property
    def overlap_percent(self) -> float:
        """Parts that belong to two or more classes of the set, in percent of the unique parts."""
        return 100.0 * self.shared_parts / self.unique_parts if self.unique_parts else 0.0


def overlap_stats(classes: Iterable[str]) -> OverlapStats:
    """Unique parts and feature overlap of any set of classes."""
    classes = check_classes(classes)
    counts: dict[str, int] = {}
    for cls in classes:
        for part in CLASS_FEATURES[cls]:
            counts[part] = counts.get(part, 0) + 1
    shared = sum(1 for c in counts.values() if c >= 2)
    return OverlapStats(classes=classes, unique_parts=len(counts), shared_parts=shared)
