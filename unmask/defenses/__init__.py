"""Defenses scored by the evaluator, built from their registry entries (`unmask.registry.DEFENSES`)."""
from __future__ import annotations

from unmask import registry
from unmask.defenses.base import ADVERSARIAL, MODEL_VARIANTS, PLAIN, Defense, DefenseSettings, Observation
from unmask.defenses.baselines import AdversarialTraining, NoDefense
from unmask.defenses.unmask import UnMaskDefense, UnMaskThresholdDefense

__all__ = [
    "ADVERSARIAL", "MODEL_VARIANTS", "PLAIN", "AdversarialTraining", "Defense", "DefenseSettings", "NoDefense",
    "Observation", "UnMaskDefense", "UnMaskThresholdDefense", "build_defense",
]


def build_defense(name: str, settings: DefenseSettings) -> Defense:
    """A fresh defense of the registered name (one per model x class set: it may calibrate)."""
    info = registry.lookup(registry.DEFENSES, name, "defense")
    defense = registry.load(info.factory)(name, settings)
    if not isinstance(defense, Defense):
        raise TypeError(f"defense {name!r}: {info.factory} built a {type(defense).__name__}, not a Defense")
    if defense.model not in MODEL_VARIANTS:
        raise ValueError(f"defense {name!r} asks for model variant {defense.model!r}; valid: {', '.join(MODEL_VARIANTS)}")
    return defense
