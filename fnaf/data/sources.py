"""Where an experiment's data come from: the embedded phantom by default, or a fastMRI folder.

Every notebook takes ``data_root`` (``None`` = the embedded phantom, generated and cached on first
use) and optional annotation CSV paths; :func:`data_source` turns them into one
:class:`DataSource` so that the notebooks treat both cases alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

from fnaf.data.fastmri import FastMRIDataError, split_dir
from fnaf.data.phantom import PhantomConfig, phantom_dataset


@dataclass(frozen=True)
class DataSource:
    """A fastMRI-format knee folder and the annotation CSV of each split."""

    root: Path
    annotations: dict[str, Path]
    is_phantom: bool
    challenge: str = "singlecoil"

    def split(self, split: str) -> Path:
        return split_dir(self.root, split, self.challenge)


def data_source(data_root: str | PathLike | None = None,
                annotations: dict[str, str | PathLike] | None = None,
                phantom: PhantomConfig = PhantomConfig(),
                require_annotations: bool = True, challenge: str | None = None) -> DataSource:
    """Resolve a notebook's data parameters.

    Args:
        data_root: a fastMRI knee folder holding ``<challenge>_train/`` and
            ``<challenge>_val/``; ``None`` uses the embedded phantom described by ``phantom``.
        annotations: ``{"train": csv, "val": csv}``; missing splits default to
            ``<data_root>/<challenge>_bb_<split>.csv`` (where the phantom writes them; for real
            fastMRI data pass the published CSVs).
        require_annotations: raise if a split's CSV is missing (training a baseline needs none).
        challenge: ``"singlecoil"`` or ``"multicoil"``; default the phantom's (its ``coils``),
            single-coil for a ``data_root``.
    """
    is_phantom = data_root is None
    challenge = challenge or (phantom.challenge if is_phantom else "singlecoil")
    root = phantom_dataset(phantom) if is_phantom else Path(data_root)
    if not root.is_dir():
        raise FastMRIDataError(f"data_root {root}: no such directory")
    paths = {split: root / f"{challenge}_bb_{split}.csv" for split in ("train", "val")}
    paths.update({split: Path(path) for split, path in (annotations or {}).items()})
    for split, path in paths.items():
        if require_annotations and not path.exists():
            raise FastMRIDataError(
                f"annotation CSV for the {split} split not found at {path}; pass the published "
                f"{challenge}_bb_{split}.csv "
                "(github.com/fcaliva/fastMRI_BB_abnormalities_annotation)"
            )
    return DataSource(root, paths, is_phantom, challenge)


def data_fingerprint(data_root: str | PathLike, csvs: Iterable[str | PathLike] = (),
                     splits: Iterable[str] = ("train", "val"),
                     challenge: str = "singlecoil") -> str:
    """A cheap identity of a fastMRI folder, for cache keys: the name, size and modification
    time (ns) of every ``.h5`` file of each split, and the SHA-256 of each CSV in ``csvs``.

    Replacing, adding or editing a volume, or editing a CSV, changes it; copying the folder
    without keeping modification times (``cp`` without ``-p``) changes it too, which costs a
    retraining, never a stale result. Raises :class:`FastMRIDataError` for a missing split.
    """
    digest = hashlib.sha256()
    for split in splits:
        for path in sorted(split_dir(data_root, split, challenge).glob("*.h5")):
            status = path.stat()
            digest.update(f"{split}/{path.name}:{status.st_size}:{status.st_mtime_ns}\n".encode())
    for csv in csvs:
        path = Path(csv)
        if not path.is_file():
            raise FastMRIDataError(f"annotation CSV {path} not found")
        digest.update(f"{path.name}:".encode() + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]
