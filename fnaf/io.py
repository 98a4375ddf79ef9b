"""Files the package writes and reads back: atomic writes (a temporary name in the same folder,
then ``os.replace``, so a reader or a resumed run never sees half a file), reads that name the
file and the fix when it is damaged, and a writability check made before any work."""

from __future__ import annotations

import json
import os
import pickle
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from os import PathLike
from pathlib import Path

import torch


class DamagedFileError(ValueError):
    """A file that exists but cannot be read (truncated, empty, of another format)."""


class NotWritableError(OSError):
    """A folder results must go to cannot be written; raised before the work starts."""


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


def _damaged(path: Path, error: Exception, fix: str) -> DamagedFileError:
    reason = str(error).strip().splitlines()[0] if str(error).strip() else "no data"
    return DamagedFileError(f"{path}: cannot be read ({type(error).__name__}: {reason}); the "
                            f"file is truncated, empty or of another format: {fix}")


def load_torch(path: str | PathLike, fix: str, map_location="cpu", safe_globals=()):
    """``torch.load(path, weights_only=True)``; a damaged file raises
    :class:`DamagedFileError` naming ``path`` and ``fix`` (what the user should do)."""
    path = Path(path)
    try:
        with torch.serialization.safe_globals(list(safe_globals)):
            return torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise
    except (RuntimeError, EOFError, KeyError, ValueError, OSError,
            pickle.UnpicklingError) as error:
        raise _damaged(path, error, fix) from None


def load_json(path: str | PathLike, fix: str):
    """The JSON in ``path``; a damaged file raises :class:`DamagedFileError` naming the fix."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise _damaged(path, error, fix) from None


def ensure_writable(directory: str | PathLike, fix: str) -> Path:
    """Create ``directory`` if needed and check that files can be written in it (a probe file
    is created and removed), so that work is not done only to be lost; raises
    :class:`NotWritableError` naming the folder and ``fix``."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        raise NotWritableError(f"{directory}: results cannot be written there ({error}); "
                               f"{fix}") from None
    return directory
