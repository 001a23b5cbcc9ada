"""Attack specifications and the papers' attack presets: plain data, no TensorFlow.

Every attack's name, norm, options, defaults and whether eps may be None come from its entry in
``unmask.registry.ATTACKS``; this module adds the validated spec and the presets.

Units: ``eps`` and ``step_size`` are in 0-255 pixel units (Linf 8, L2 300), as in the papers;
``unmask.attacks`` converts them to [0, 1] units once, when it runs an attack. L2 budgets are over
the whole image. C&W's ``learning_rate`` (Adam's step on the tanh-space variable), ``confidence``
(a logit margin) and ``initial_const`` have no pixel unit and are passed on as they are. Kept apart
from the execution so the command line can validate specs and list the presets without loading
TensorFlow.

Unset spec fields take the preset's value (``preset_spec``) or the registry entry's defaults (the
libraries' own; a default ``step_size`` is relative to eps, as Foolbox 3 states it). A preset states a
step relative to eps with ``FractionOfEps``.

``foolbox1`` runs an attack with Foolbox 1.8's semantics (the KDD'19 code's library; ``unmask.attacks``
cites the release's lines): FGSM searches the smallest eps up to eps, PGD searches eps upward and
downward from eps (so eps is no budget there: ``AttackSpec.budget``), DeepFool overshoots every step.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable

from unmask.registry import ATTACKS, AttackInfo, lookup

DEEPFOOL_CANDIDATES = 10
DEEPFOOL_OVERSHOOT = 0.02


def _number(test: Callable[[float], bool]) -> Callable[[Any], bool]:
    """A check: a finite real number (NumPy's too, not a bool) that passes ``test``."""
    return lambda value: (isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
                          and test(value))


_positive = _number(lambda v: v > 0)
_non_negative = _number(lambda v: v >= 0)
_positive_int = _number(lambda v: v >= 1 and int(v) == v)


# What a valid value of each option is: (check, the rule as the error message states it).
_OPTION_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "steps": (_positive_int, "a positive integer"),
    "step_size": (_positive, "> 0 (0-255 units)"),
    "random_start": (lambda v: isinstance(v, bool) or (isinstance(v, str) and v == "advertorch"),
                     "True, False or 'advertorch'"),
    "decay": (_non_negative, ">= 0"),
    "learning_rate": (_positive, "> 0"),
    "confidence": (_non_negative, ">= 0 (a logit margin)"),
    "initial_const": (_positive, "> 0"),
    "binary_search_steps": (_positive_int, "a positive integer"),
    "foolbox1": (lambda v: isinstance(v, bool), "True or False"),
    # The adaptive attacks on a detector (unmask.vae_attacks): the weight of the detector-bypass loss and
    # the number of runs of its binary search (0: one run at that weight).
    "gamma": (_non_negative, ">= 0"),
    "gamma_search_steps": (_number(lambda v: v >= 0 and int(v) == v), "a non-negative integer"),
}


@dataclass(frozen=True)
class AttackSpec:
    """One attack: its registry name, budget eps (0-255 units; None = a minimal-perturbation search,
    for attacks whose entry allows it) and options (None = the preset's or the library's default).

    ``random_start`` True draws the start as the attack's library does (CleverHans: uniform in the
    Linf box or the L2 ball, clipped to the image; with ``foolbox1``: uniform in the box, unclipped);
    "advertorch" as AdverTorch 0.2 does (L2: a uniform random image minus x, scaled into the ball).

    Validated on construction: unknown names, missing, zero or negative eps, invalid option values
    and options the attack's registry entry does not list raise ValueError before any work.
    """

    name: str
    eps: float | None
    steps: int | None = None
    step_size: float | None = None
    random_start: bool | str | None = None
    decay: float | None = None
    learning_rate: float | None = None
    confidence: float | None = None
    initial_const: float | None = None
    binary_search_steps: int | None = None
    foolbox1: bool | None = None
    gamma: float | None = None
    gamma_search_steps: int | None = None

    def __post_init__(self) -> None:
        info = self.info
        if self.eps is None:
            if info.eps_required:
                allowed = ", ".join(n for n, i in ATTACKS.items() if not i.eps_required) or "none"
                raise ValueError(f"{self.name} needs an eps (0-255 units); eps=None is accepted by: {allowed}")
        elif not _positive(self.eps):
            raise ValueError(f"eps must be a finite number > 0 (0-255 units), got {self.eps}")
        unknown = set(info.options) - set(_OPTION_RULES)
        if unknown:
            raise ValueError(f"attack {self.name} lists options AttackSpec does not have: {', '.join(sorted(unknown))}")
        for option, (valid, rule) in _OPTION_RULES.items():
            value = getattr(self, option)
            if value is None:
                continue
            if option not in info.options:
                raise ValueError(f"{self.name} does not take {option}; it takes: {', '.join(info.options) or 'only eps'}")
            if not valid(value):
                raise ValueError(f"{option} must be {rule}, got {value!r}")

    @property
    def info(self) -> AttackInfo:
        """The attack's registry entry."""
        return lookup(ATTACKS, self.name, "attack")

    @property
    def norm(self) -> float:
        """math.inf or 2."""
        return self.info.norm

    @property
    def budget(self) -> float | None:
        """The bound ``attack`` holds the perturbation to (0-255 units): eps, except for a
        minimal-perturbation search (eps None) and Foolbox 1's search over the eps of an iterative
        attack (``foolbox1`` with a step size: PGD), which starts at eps and may grow past it."""
        if self.foolbox1 and "step_size" in self.info.options:
            return None
        return self.eps

    def resolved(self) -> AttackSpec:
        """The spec with every unset option filled from the registry defaults (absolute units)."""
        values = {}
        for option, default in self.info.defaults.items():
            if getattr(self, option) is None:
                values[option] = default * self.eps if option == "step_size" else default
        return dataclasses.replace(self, **values)

    def to_dict(self) -> dict:
        """Flat JSON-able form: name, eps and the options this attack takes, None when unset (npz
        metadata, manifests, plans)."""
        return {"name": self.name, "eps": self.eps, **{option: getattr(self, option) for option in self.info.options}}

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


@dataclass(frozen=True)
class FractionOfEps:
    """A preset's step size stated relative to each spec's eps: ``eps * numerator / denominator``."""

    numerator: float
    denominator: float

    def of(self, eps: float) -> float:
        """The step size at budget ``eps``."""
        return eps * self.numerator / self.denominator


_LEGACY_STEP = 2.0 * 255  # the BigData code's step of 2.0 in [0, 1] units
_BIGDATA_STEPS = 20
_MIFGSM_STEP = FractionOfEps(1, _BIGDATA_STEPS)  # BigData'20: MI-FGSM's alpha = eps / T
_CORRECTED_L2_STEP = 75.0  # 2/255 at Linf eps 8 is a quarter of eps; the same quarter of L2 eps 300
PRESETS: dict[str, dict[str, dict]] = {
    "kdd2019": {
        "deepfool_l2": {"steps": 100},
        "fgsm": {},
        "pgd_linf": {"steps": 40, "step_size": 0.01 * 255, "random_start": True},
    },
    "kdd2019_foolbox1": {
        "deepfool_l2": {"steps": 100, "foolbox1": True},
        "fgsm": {"foolbox1": True},
        "pgd_linf": {"steps": 40, "step_size": 0.01 * 255, "random_start": True, "foolbox1": True},
    },
    "bigdata2020_legacy": {
        "pgd_linf": {"steps": _BIGDATA_STEPS, "step_size": _LEGACY_STEP, "random_start": True},
        "pgd_l2": {"steps": _BIGDATA_STEPS, "step_size": _LEGACY_STEP, "random_start": "advertorch"},
        "mim_linf": {"steps": _BIGDATA_STEPS, "step_size": _LEGACY_STEP, "decay": 1.0},
        "mim_l2": {"steps": _BIGDATA_STEPS, "step_size": _LEGACY_STEP, "decay": 1.0},
    },
    "bigdata2020_corrected": {
        "pgd_linf": {"steps": _BIGDATA_STEPS, "step_size": 2.0, "random_start": True},
        "pgd_l2": {"steps": _BIGDATA_STEPS, "step_size": _CORRECTED_L2_STEP, "random_start": True},
        "mim_linf": {"steps": _BIGDATA_STEPS, "step_size": _MIFGSM_STEP, "decay": 1.0},
        "mim_l2": {"steps": _BIGDATA_STEPS, "step_size": _MIFGSM_STEP, "decay": 1.0},
    },
    # The VAE detector's black-box evaluation attacks (Joe, Hwang, Shin, "Learning to Disentangle Robust
    # and Vulnerable Features for Adversarial Detection"; SEED_SYSTEMS_FACTS section 3.5, V Table 8, the
    # same for MNIST and FMNIST5): PGD i 90, ss 0.01; MIM i 160, ss 0.01, df 0.3; CW-L2 i 160, lr 0.1,
    # cf 3, ic 10, bs 1. Its budgets go with the call: e 0.3 (FGSM, MIM) and 0.4 (PGD) on [0, 1] images
    # are eps 76.5 and 102 here; its CW-L2 has none (eps None). PGD's random start is not given: ours applies.
    "vae2019": {
        "fgsm": {},
        "pgd_linf": {"steps": 90, "step_size": 0.01 * 255},
        "mim_linf": {"steps": 160, "step_size": 0.01 * 255, "decay": 0.3},
        "cw_l2": {"steps": 160, "learning_rate": 0.1, "confidence": 3.0, "initial_const": 10.0, "binary_search_steps": 1},
    },
}
"""Each paper's attack settings (0-255 units).

kdd2019: the fixed-budget reading of KDD'19 (eps a budget, Foolbox's PGD step 0.01 = 2.55, 40 steps;
DeepFool 100 steps), run by today's libraries. kdd2019_foolbox1: the same settings with Foolbox 1.8's
semantics, as the KDD code's library ran its defaults (``foolbox1``: FGSM's eps search up to eps, PGD's
binary search over eps starting at eps with the step scaled along, DeepFool's 1.05 overshoot per step).
bigdata2020_legacy: the original code's step 2.0 in [0,1] units (= 510) and AdverTorch 0.2's random
start for PGD-L2 (its Linf start, uniform in the box and clipped to the image, is CleverHans' draw).
bigdata2020_corrected: PGD 2/255 for Linf and, for L2, 75/255 (the same step-to-budget ratio, 1/4, at
the paired budgets Linf 8 <-> L2 300, Linf 16 <-> L2 600); MI-FGSM eps / T with T = 20 steps, as the
paper defines it. vae2019: the VAE detector paper's (see the comment above)."""
PRESETS["demo"] = {
    **PRESETS["bigdata2020_corrected"],
    "fgsm": {}, "deepfool_l2": {"steps": 50}, "cw_l2": PRESETS["vae2019"]["cw_l2"],
}
"""The demo's: every attack family, BigData's corrected settings (PGD 2/255, MI-FGSM eps / T), FGSM,
DeepFool (50 steps) and the VAE paper's C&W (160 steps, one binary-search step: cheap on a CPU)."""


PRESETS["vaishnavi2020"] = {"pgd_linf": {"steps": 10, "step_size": 2.0, "random_start": True}}
"""Foreground attention masks (Vaishnavi et al. 2020): PGD-Linf, 10 steps of 2/255 (eps 8/255 in their
Table 4); the random start is not stated, Madry's PGD has one (the facts sheet's default)."""

def preset_spec(preset: str, name: str, eps: float | None) -> AttackSpec:
    """The spec of attack ``name`` at budget ``eps`` under a paper preset."""
    if preset not in PRESETS:
        raise ValueError(f"unknown attack preset {preset!r}; valid: {', '.join(PRESETS)}")
    if name not in PRESETS[preset]:
        raise ValueError(f"preset {preset} has no attack {name!r}; it has: {', '.join(PRESETS[preset])}")
    return AttackSpec(name, eps, **_options_at(PRESETS[preset][name], eps))


def _options_at(options: dict, eps: float | None) -> dict:
    """A preset entry's options at budget ``eps``: each ``FractionOfEps`` becomes its step."""
    relative = [option for option, value in options.items() if isinstance(value, FractionOfEps)]
    if relative and eps is None:
        raise ValueError(f"{', '.join(relative)} is relative to eps, so this attack needs an eps")
    return {option: value.of(eps) if isinstance(value, FractionOfEps) else value for option, value in options.items()}


def _check_presets() -> None:
    """Every preset entry names a registry attack and only options it takes, with valid values."""
    for preset, entries in PRESETS.items():
        for name, options in entries.items():
            try:
                AttackSpec(name, 1.0, **_options_at(options, 1.0))
            except (ValueError, TypeError) as err:
                raise ValueError(f"attack preset {preset}, {name}: {err}") from None


_check_presets()


def adversarial_spec(eps: float, attack_preset: str, steps: int) -> AttackSpec:
    """The PGD-Linf spec that trains (and selects) an adversarially trained M: the attack preset's
    PGD-Linf step at budget ``eps`` (0-255 units), ``steps`` iterations. A preset whose PGD-Linf has no
    budget (Foolbox 1's eps search) cannot train one."""
    spec = dataclasses.replace(preset_spec(attack_preset, "pgd_linf", eps), steps=steps)
    if spec.budget is None:
        raise ValueError(f"attack preset {attack_preset}: its PGD-Linf searches eps (Foolbox 1) instead of holding a "
                         f"budget, so it cannot train a model at eps {eps:g}; use a fixed-budget preset (e.g. kdd2019)")
    return spec
