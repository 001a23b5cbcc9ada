"""UnMask: adversarial detection and defense by part-based feature alignment (TensorFlow 2 / Keras 3).

The public names load on first use, so importing a bottom module (``unmask.parts``, ``unmask.fileio``,
``unmask.registry``) loads nothing else of the package: the data converters use those without
pulling in the library.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from unmask.core import assess, jaccard
    from unmask.protect import UnMask, Verdict

_PUBLIC: dict[str, str] = {"UnMask": "unmask.protect", "Verdict": "unmask.protect",
                           "jaccard": "unmask.core", "assess": "unmask.core"}
__all__ = list(_PUBLIC)
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """Import a public name's module when the name is first asked for (PEP 562)."""
    if name not in _PUBLIC:
        raise AttributeError(f"module 'unmask' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names plus the lazy public ones, for completion and dir()."""
    return sorted({*globals(), *_PUBLIC})
