"""The one atomic file writer of UnMask-TF, and idempotent image placement.

Every file a run or a converter produces goes through ``write_bytes_atomic``: a temporary file in
the destination folder, fsync, then os.replace. An interrupted run therefore leaves either the old
file or the complete new one, never a half-written file, and a re-run can trust every file it finds.
The text, JSON and npz helpers only serialize and hand the bytes to it.

A bottom module: it imports nothing from the project, so the data converters and the library share it.
"""
from __future__ import annotations

import io
import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Any, Mapping

import numpy as np

_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def _temp_name(path: Path) -> Path:
    """A fresh hidden name beside ``path`` (os.replace must not cross devices); creates the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")


def _open_temp(path: Path) -> tuple[int, Path]:
    """Create a temporary file beside ``path``, open for writing.

    Created with mode 0666 so the kernel applies the process umask, exactly as for a plain
    ``open(path, "w")`` (mkstemp's 0600 would leave every written file private)."""
    while True:
        tmp = _temp_name(path)
        try:
            return os.open(tmp, _TEMP_FLAGS, 0o666), tmp
        except FileExistsError:
            continue


def write_bytes_atomic(path: str | os.PathLike, data: bytes, durable: bool = True) -> Path:
    """Write ``data`` to ``path`` through a temporary file, fsync and os.replace: the target is
    either the old file or the complete new one, and no temporary file is left on error.

    durable=False skips the fsync, for files a re-run regenerates (the synthetic images): a killed
    process still leaves the old file or the new one; only a power cut may lose both."""
    path = Path(path)
    fd, tmp = _open_temp(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) atomically."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def json_text(obj: Any, indent: int | None = 1) -> str:
    """``obj`` as strict JSON text with a trailing newline; raises ValueError on NaN or infinity
    (not JSON) and TypeError on unserializable values, before anything is written."""
    return json.dumps(obj, indent=indent, allow_nan=False) + "\n"


def write_json_atomic(path: str | os.PathLike, obj: Any, indent: int | None = 1) -> Path:
    """Write ``obj`` as strict JSON (see ``json_text``) atomically; ``indent=None`` for compact files."""
    return write_bytes_atomic(path, json_text(obj, indent).encode("utf-8"))


def write_npz_atomic(path: str | os.PathLike, arrays: Mapping[str, np.ndarray], compressed: bool = True) -> Path:
    """Write ``arrays`` as an .npz archive (np.savez_compressed, or np.savez) atomically."""
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    return write_bytes_atomic(path, buffer.getvalue())


def read_json(path: str | os.PathLike) -> Any | None:
    """The JSON content of ``path``, or None when it is missing or unreadable (a file to redo)."""
    try:
        return json.loads(Path(path).read_text("utf-8"))
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
    tmp = _temp_name(dst)
    try:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return True
