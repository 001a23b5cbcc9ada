"""Attack specifications and the papers' attack presets: plain data, no TensorFlow.

Units: ``eps`` and ``step_size`` are in 0-255 pixel units (Linf 8, L2 300), as in the papers;
``unmask.attacks`` converts them to [0, 1] units once, when it runs an attack. L2 budgets are over
the whole image. Kept apart from the execution so the command line can validate specs and list the
presets without loading TensorFlow.

Unset spec fields take the preset's value (``preset_spec``) or the defaults in ``_DEFAULTS``
(Foolbox 3's relative step sizes and step counts, CleverHans' MIM step of 0.2 eps and decay 1.0).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

ATTACK_NAMES = ("fgsm", "pgd_linf", "pgd_l2", "mim_linf", "mim_l2", "deepfool_l2")
NORMS = {"fgsm": np.inf, "pgd_linf": np.inf, "pgd_l2": 2, "mim_linf": np.inf, "mim_l2": 2, "deepfool_l2": 2}
# Which optional fields each attack uses; setting any other one is an error.
_FIELDS = {
    "fgsm": (),
    "pgd_linf": ("steps", "step_size", "random_start"),
    "pgd_l2": ("steps", "step_size", "random_start"),
    "mim_linf": ("steps", "step_size", "decay"),
    "mim_l2": ("steps", "step_size", "decay"),
    "deepfool_l2": ("steps",),
}
# Library defaults, step sizes relative to eps: Foolbox LinfPGD (40, eps/30, random start),
# L2PGD (50, 0.025 eps, random start), CleverHans MIM (10, 0.2 eps, decay 1.0), L2DeepFool (50).
_DEFAULTS = {
    "pgd_linf": {"steps": 40, "step_size": 1 / 30, "random_start": True},
    "pgd_l2": {"steps": 50, "step_size": 0.025, "random_start": True},
    "mim_linf": {"steps": 10, "step_size": 0.2, "decay": 1.0},
    "mim_l2": {"steps": 10, "step_size": 0.2, "decay": 1.0},
    "deepfool_l2": {"steps": 50},
}
DEEPFOOL_CANDIDATES = 10
DEEPFOOL_OVERSHOOT = 0.02


@dataclass(frozen=True)
class AttackSpec:
    """One attack: name, budget eps (0-255 units; None = DeepFool's minimal perturbation) and options.

    Validated on construction: unknown names, missing, zero or negative eps, non-positive steps or step
    sizes and options the attack does not use raise ValueError before any work.
    """

    name: str
    eps: float | None
    steps: int | None = None
    step_size: float | None = None
    random_start: bool | None = None
    decay: float | None = None

    def __post_init__(self) -> None:
        if self.name not in ATTACK_NAMES:
            raise ValueError(f"unknown attack {self.name!r}; valid: {', '.join(ATTACK_NAMES)}")
        if self.eps is None:
            if self.name != "deepfool_l2":
                raise ValueError(f"{self.name} needs an eps (0-255 units); only deepfool_l2 accepts eps=None")
        elif not np.isfinite(self.eps) or self.eps <= 0:
            raise ValueError(f"eps must be a finite number > 0 (0-255 units), got {self.eps}")
        used = _FIELDS[self.name]
        for option in ("steps", "step_size", "random_start", "decay"):
            if getattr(self, option) is not None and option not in used:
                raise ValueError(f"{self.name} does not take {option}; it takes: {', '.join(used) or 'only eps'}")
        if self.steps is not None and (int(self.steps) != self.steps or self.steps < 1):
            raise ValueError(f"steps must be a positive integer, got {self.steps}")
        if self.step_size is not None and not self.step_size > 0:
            raise ValueError(f"step_size must be > 0 (0-255 units), got {self.step_size}")
        if self.decay is not None and self.decay < 0:
            raise ValueError(f"decay must be >= 0, got {self.decay}")

    @property
    def norm(self) -> float:
        """np.inf or 2."""
        return NORMS[self.name]

    def resolved(self) -> AttackSpec:
        """The spec with every unset option filled from the library defaults (absolute units)."""
        defaults = dict(_DEFAULTS.get(self.name, {}))
        if "step_size" in defaults:
            defaults["step_size"] *= self.eps
        values = {key: value if getattr(self, key) is None else getattr(self, key) for key, value in defaults.items()}
        return dataclasses.replace(self, **values)

    def to_dict(self) -> dict:
        """JSON-able form (for npz metadata and run manifests)."""
        return dataclasses.asdict(self)

    def label(self) -> str:
        """Short name as on the command line: ``pgd_linf:8``."""
        return self.name if self.eps is None else f"{self.name}:{self.eps:g}"


def parse_spec(text: str) -> tuple[str, float | None]:
    """Parse ``NAME:EPS`` (``deepfool_l2`` or ``deepfool_l2:none`` for eps None)."""
    name, _, eps_text = text.partition(":")
    if eps_text.strip().lower() in ("", "none"):
        return name.strip(), None
    try:
        return name.strip(), float(eps_text)
    except ValueError:
        raise ValueError(f"bad attack spec {text!r}: expected NAME:EPS, e.g. pgd_linf:8") from None


_LEGACY_STEP = 2.0 * 255  # the BigData code's step of 2.0 in [0, 1] units
_CORRECTED_L2_STEP = 75.0  # 2/255 at Linf eps 8 is a quarter of eps; the same quarter of L2 eps 300
PRESETS: dict[str, dict[str, dict]] = {
    "kdd2019": {
        "deepfool_l2": {"steps": 100},
        "fgsm": {},
        "pgd_linf": {"steps": 40, "step_size": 0.01 * 255, "random_start": True},
    },
    "bigdata2020_legacy": {
        "pgd_linf": {"steps": 20, "step_size": _LEGACY_STEP, "random_start": True},
        "pgd_l2": {"steps": 20, "step_size": _LEGACY_STEP, "random_start": True},
        "mim_linf": {"steps": 20, "step_size": _LEGACY_STEP, "decay": 1.0},
        "mim_l2": {"steps": 20, "step_size": _LEGACY_STEP, "decay": 1.0},
    },
    "bigdata2020_corrected": {
        "pgd_linf": {"steps": 20, "step_size": 2.0, "random_start": True},
        "pgd_l2": {"steps": 20, "step_size": _CORRECTED_L2_STEP, "random_start": True},
        "mim_linf": {"steps": 20, "step_size": 2.0, "decay": 1.0},
        "mim_l2": {"steps": 20, "step_size": _CORRECTED_L2_STEP, "decay": 1.0},
    },
}
"""Each paper's attack settings (0-255 units). kdd2019: Foolbox's PGD abs step 0.01 = 2.55.
bigdata2020_legacy: the original code's step 2.0 in [0,1] units (= 510). bigdata2020_corrected:
2/255 for Linf and, for L2, 75/255: the same step-to-budget ratio (1/4) at the paired budgets
(Linf 8 <-> L2 300, Linf 16 <-> L2 600)."""
PRESETS["demo"] = {**PRESETS["bigdata2020_corrected"], "fgsm": {}, "deepfool_l2": {"steps": 50}}
"""The demo's: every attack family, BigData's corrected settings plus FGSM and DeepFool (50 steps)."""


def preset_spec(preset: str, name: str, eps: float | None) -> AttackSpec:
    """The spec of attack ``name`` at budget ``eps`` under a paper preset."""
    if preset not in PRESETS:
        raise ValueError(f"unknown attack preset {preset!r}; valid: {', '.join(PRESETS)}")
    if name not in PRESETS[preset]:
        raise ValueError(f"preset {preset} has no attack {name!r}; it has: {', '.join(PRESETS[preset])}")
    return AttackSpec(name, eps, **PRESETS[preset][name])
