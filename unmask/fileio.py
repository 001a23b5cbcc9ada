"""Atomic file writes and idempotent image placement, so an interrupted run leaves no half-written
file behind and a re-run can trust every file it finds."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any


def _temp_beside(path: Path) -> Path:
    """A fresh temporary file name in the destination folder (os.replace must not cross devices)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(name)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, fsync and os.replace: the target is
    either the old file or the complete new one, and no temporary file is left on error."""
    tmp = _temp_beside(path)
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json_atomic(path: Path, obj: Any, indent: int | None = None) -> None:
    """Serialize ``obj`` as JSON and write it atomically."""
    write_bytes_atomic(path, json.dumps(obj, indent=indent).encode("utf-8"))


def read_json(path: Path) -> Any | None:
    """The JSON content of ``path``, or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def place_file(src: Path, dst: Path) -> bool:
    """Hard-link (or, across devices, copy) ``src`` to ``dst`` atomically.

    Returns False, doing nothing, when ``dst`` already exists with the same size (a re-run)."""
    try:
        if dst.stat().st_size == src.stat().st_size:
            return False
    except FileNotFoundError:
        pass
    tmp = _temp_beside(dst)
    try:
        tmp.unlink()
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return True
