"""Atomic file writes: write to a temporary name in the same folder, then ``os.replace``, so a
reader (or a resumed run) never sees half a file."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from os import PathLike
from pathlib import Path

import torch


@contextmanager
def atomic_path(path: str | PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success move it to ``path``, else delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # per process: ranks never clash
    try:
        yield partial
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def save_torch(obj, path: str | PathLike) -> None:
    """``torch.save`` atomically."""
    with atomic_path(path) as partial:
        torch.save(obj, partial)


def save_json(obj, path: str | PathLike) -> None:
    """Write ``obj`` as indented JSON atomically."""
    with atomic_path(path) as partial:
        partial.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
