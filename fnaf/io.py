"""Files the package writes and reads back: atomic writes (a temporary name in the same folder,
then ``os.replace``, so a reader or a resumed run never sees half a file; a full disk named as
such), reads that name the file and the fix when it is damaged, and a writability and free-space
check made before any work."""

from __future__ import annotations

import errno
import io
import json
import os
import pickle
import shutil
import socket
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


class DiskFullError(NotWritableError):
    """A disk without room for what will be written there (before the work, or at the write)."""


#: The errors of a write that found no room: no space left, or the user's quota exceeded.
FULL_DISK = (errno.ENOSPC, errno.EDQUOT)


@contextmanager
def atomic_path(path: str | PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success move it to ``path``, else delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(_partial_prefix() + path.name)  # per process: ranks never clash
    try:
        yield partial
        os.replace(partial, path)
    except BaseException as error:
        partial.unlink(missing_ok=True)
        if isinstance(error, OSError) and error.errno in FULL_DISK:
            raise DiskFullError(f"{path}: cannot be written, the disk is full ({error.strerror}); "
                                "free space on it, or point this output at another disk") from None
        raise


def _partial_prefix() -> str:
    return f".partial-{socket.gethostname()}-{os.getpid()}-"


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_partials(parent: str | PathLike) -> list[Path]:
    """Delete the temporary files and staging folders in ``parent`` that :func:`atomic_path`
    and :func:`atomic_directory` left behind in processes of this host that no longer run
    (killed with ``kill -9``, or the machine lost power); return what was removed. Other
    hosts' are left alone."""
    removed = []
    host = f".partial-{socket.gethostname()}-"
    for path in Path(parent).glob(f"{host}*"):
        pid = path.name[len(host):].split("-", 1)[0]
        if pid.isdigit() and not _is_running(int(pid)):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed


@contextmanager
def atomic_directory(path: str | PathLike, *, force: bool = False) -> Iterator[Path]:
    """Yield an empty staging folder beside ``path``; on success it becomes ``path``, on an
    exception it is deleted, so ``path`` never holds half a result.

    A non-empty ``path`` is refused (``FileExistsError``) unless ``force``, which replaces it
    once the new one is complete. Stale staging folders of killed processes are removed first
    (:func:`remove_stale_partials`).
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{path} is a file, not a folder; choose another folder")
    if not force and path.is_dir() and any(path.iterdir()):
        raise FileExistsError(f"{path} is not empty; choose an empty or new folder, or replace "
                              "it (--force / force=True)")
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(path.parent)
    staging = Path(tempfile.mkdtemp(prefix=_partial_prefix(), dir=path.parent))
    try:
        yield staging
        if force and path.is_dir():
            old = Path(tempfile.mkdtemp(prefix=_partial_prefix(), dir=path.parent))
            os.replace(path, old / path.name)
            os.replace(staging, path)
            shutil.rmtree(old)
        else:
            os.replace(staging, path)  # fails if another process filled ``path`` meanwhile
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def save_torch(obj, path: str | PathLike) -> None:
    """``torch.save`` atomically (serialised in memory first, so that a full disk is an
    ``OSError`` :func:`atomic_path` names, not an error inside torch's writer)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with atomic_path(path) as partial:
        partial.write_bytes(buffer.getbuffer())


def save_json(obj, path: str | PathLike) -> None:
    """Write ``obj`` as indented JSON atomically."""
    with atomic_path(path) as partial:
        partial.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def save_tables(directory: str | PathLike | None, tables: dict) -> list[Path]:
    """Write each ``name -> DataFrame`` as ``<directory>/<name>.csv`` (atomically; index kept)
    and return the paths; ``directory`` None writes nothing (a notebook's ``results_dir``)."""
    if directory is None:
        return []
    paths = [Path(directory) / f"{name}.csv" for name in tables]
    for path, table in zip(paths, tables.values()):
        with atomic_path(path) as partial:
            table.to_csv(partial)
    return paths


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


def ensure_writable(directory: str | PathLike, fix: str, needed: int = 0) -> Path:
    """Create ``directory`` if needed and check that files can be written in it (a probe file
    is created and removed) and that its disk has ``needed`` bytes free, so that work is not
    done only to be lost; raises :class:`NotWritableError` (:class:`DiskFullError`) naming the
    folder, the bytes and ``fix``."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        raise NotWritableError(f"{directory}: results cannot be written there ({error}); "
                               f"{fix}") from None
    free = shutil.disk_usage(directory).free
    if free < needed:
        raise DiskFullError(f"{directory}: about {needed:,} bytes will be written there, but its "
                            f"disk has {free:,} bytes free; free space on it, or {fix}")
    return directory
