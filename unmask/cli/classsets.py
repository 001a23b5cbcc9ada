"""`unmask classsets`: the class sets' classes, unique parts and feature overlap (knowledge base only)."""
from __future__ import annotations

import argparse
import json

from unmask.parts import CLASS_SETS, overlap_stats


def _classsets(args: argparse.Namespace) -> int:
    """Print classes, unique parts and feature overlap for the paper's class sets or a custom one."""
    if args.classes:
        sets = {"custom": tuple(c.strip() for c in args.classes.split(",") if c.strip())}
    else:
        sets = dict(CLASS_SETS)
    stats = {name: overlap_stats(classes) for name, classes in sets.items()}
    if args.json:
        rows = {
            name: {
                "classes": list(s.classes),
                "unique_parts": s.unique_parts,
                "shared_parts": s.shared_parts,
                "overlap_percent": round(s.overlap_percent, 2),
            }
            for name, s in stats.items()
        }
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'set':<8} {'unique parts':>12} {'overlap %':>10}  classes")
    for name, s in stats.items():
        print(f"{name:<8} {s.unique_parts:>12} {s.overlap_percent:>10.2f}  {', '.join(s.classes)}")
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add `unmask classsets`."""
    p = subparsers.add_parser("classsets", help="class sets: classes, unique parts, feature overlap")
    p.add_argument("--classes", help="comma-separated classes of a custom set, e.g. dog,cat,bird")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_classsets)
