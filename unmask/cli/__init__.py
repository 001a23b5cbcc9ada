"""The `unmask` command: one argparse tree, each module of this package adding one command group.

A module listed in COMMAND_MODULES exposes `add_commands(subparsers)`; each parser it adds sets
`func=handler` with `handler(args) -> int`. The modules import heavy libraries (TensorFlow,
matplotlib) inside their handlers, so `unmask --help` and `unmask classsets` answer instantly.
A user's mistake (a bad name or value, a missing or unwritable file, broken YAML) ends in one line
`unmask <command>: error: ...` and exit status 2; `--verbose` shows the traceback instead.
"""
from __future__ import annotations

import argparse
import errno
import importlib
import logging
import os
import sys
from typing import Sequence

import yaml

COMMAND_MODULES: tuple[str, ...] = (
    "unmask.cli.classsets",
    "unmask.cli.data",
    "unmask.cli.models",
    "unmask.cli.run",
    "unmask.cli.report",
)

_REMEDIES: dict[int, str] = {
    errno.EACCES: "check its permissions or choose a writable location",
    errno.EPERM: "check its permissions or choose a writable location",
    errno.EROFS: "the file system is read-only; choose another location",
    errno.ENOTDIR: "a part of the path is a file, not a folder; choose another path",
    errno.EEXIST: "it exists and is not a folder; choose another path",
    errno.EISDIR: "it is a folder; give a file path",
    errno.ENOSPC: "free some disk space or choose another location",
    errno.ENOENT: "check the path",
}


def _one_line(text: str) -> str:
    """``text`` with its line breaks and runs of spaces collapsed, so an error stays one line."""
    return " ".join(text.split())


def error_message(err: BaseException) -> str:
    """The one-line message of a user-facing error: what went wrong, on which file, and what to do."""
    if isinstance(err, OSError) and err.filename is not None:
        remedy = _REMEDIES.get(err.errno or 0, "check the path")
        return _one_line(f"{err.filename}: {err.strerror or err} ({remedy})")
    if isinstance(err, yaml.MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        where = "" if mark is None or mark.name.startswith("<") else f"{mark.name}, "
        line = "" if mark is None else f"line {mark.line + 1}, column {mark.column + 1}: "
        return _one_line(f"invalid YAML ({where}{line}{err.problem or err.context}); fix the YAML syntax")
    if isinstance(err, yaml.YAMLError):
        return _one_line(f"invalid YAML ({err}); fix the YAML syntax")
    return _one_line(str(err))


def build_parser() -> argparse.ArgumentParser:
    """The full `unmask` parser, each command group added by its module."""
    parser = argparse.ArgumentParser(
        prog="unmask",
        description="UnMask: detect and defend against adversarial images by part-based feature alignment.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging and full tracebacks")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_commands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `unmask` command; returns its exit status (2 for a user's mistake)."""
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except (ValueError, OSError, yaml.YAMLError) as err:
        if args.verbose:
            raise
        print(f"unmask {args.command}: error: {error_message(err)}", file=sys.stderr)
        return 2
