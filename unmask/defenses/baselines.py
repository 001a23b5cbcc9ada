"""The two baselines of the papers' tables: M alone, and adversarially trained M."""
from __future__ import annotations

from unmask.defenses.base import ADVERSARIAL, Defense


class NoDefense(Defense):
    """M's own answer (the papers' "No Def" / "None")."""


class AdversarialTraining(Defense):
    """The adversarially trained twin of M answers; attacks are crafted against it (BigData's "AT")."""

    model = ADVERSARIAL
