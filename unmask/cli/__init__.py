"""The `unmask` command: one argparse tree, each module adding its own subcommands.

A module listed in COMMAND_MODULES exposes `add_commands(subparsers)`; each parser it adds sets
`func=handler` with `handler(args) -> int`. Modules import lazily-heavy libraries (TensorFlow)
inside their handlers so `unmask classsets` answers instantly.
"""
from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from typing import Sequence

from unmask.parts import CLASS_SETS, UnknownNameError, check_classes, overlap_stats

COMMAND_MODULES: tuple[str, ...] = (
    "unmask.cli",
    "unmask.report_commands",
    "unmask.run_commands",
    "unmask.model_commands",
    "dataset_tools.commands",
)


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
    """The commands that need nothing but the knowledge base."""
    p = subparsers.add_parser("classsets", help="class sets: classes, unique parts, feature overlap")
    p.add_argument("--classes", help="comma-separated classes of a custom set, e.g. dog,cat,bird")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_classsets)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="unmask",
        description="UnMask: detect and defend against adversarial images by part-based feature alignment.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_commands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except (UnknownNameError, FileNotFoundError, ValueError) as err:
        if args.verbose:
            raise
        print(f"unmask {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
