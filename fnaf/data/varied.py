"""A copy of a fastMRI-layout dataset whose volumes differ in shape as real fastMRI's do.

Real fastMRI volumes differ in k-space width (368, 372, ... phase-encode columns), in slice
count and (brains) in coil count, while the embedded phantom's volumes share one shape. The copy
:func:`write_varied` makes changes volume ``i`` of each split (file names sorted):

* ``i`` odd: ``extra_columns`` more k-space columns, added in the *image* (zero columns at both
  edges of the field of view, outside the object), so the centre-cropped targets are unchanged;
  the header's matrix widens and every column counts as acquired;
* ``i % 4`` in ``(1, 2)`` (multi-coil with more than 2 coils): the last coil dropped, the
  root-sum-of-squares target recomputed from the remaining coils;
* ``i % 3 == 2``: the last slice dropped, with its annotated boxes.

Every volume keeps fastMRI's layout and consistent targets (``max``/``norm`` recomputed), so a
chapter run on the copy reads the same anatomy through batches of several shapes.
"""

from __future__ import annotations

import shutil
from os import PathLike
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import torch

from fnaf.data.annotations import read_annotations, write_annotations
from fnaf.data.fastmri import parse_header
from fnaf.data.fastmri_writer import ismrmrd_header, write_volume
from fnaf.io import atomic_directory
from fnaf.mri import center_crop, fft2c, ifft2c, rss


def widened(kspace: np.ndarray, extra_columns: int) -> np.ndarray:
    """k-space ``(..., H, W)`` of the image padded with ``extra_columns / 2`` zero columns on
    each side: ``(..., H, W + extra_columns)``; the centre crop of its image is unchanged."""
    if extra_columns % 2:
        raise ValueError(f"extra_columns must be even (a centred crop stays put), "
                         f"not {extra_columns}")
    image = ifft2c(torch.from_numpy(kspace))
    half = extra_columns // 2
    image = torch.nn.functional.pad(image, (half, half))
    return fft2c(image).numpy().astype(np.complex64)


def _changes(position: int, coils: int) -> tuple[bool, bool, bool]:
    """(wider, one coil fewer, one slice fewer) for the volume at ``position``."""
    return position % 2 == 1, position % 4 in (1, 2) and coils > 2, position % 3 == 2


def _vary_volume(source: Path, out: Path, position: int, extra_columns: int) -> int | None:
    """Write the varied copy of one volume; the dropped slice's 0-based index, if any."""
    with h5py.File(source, "r") as handle:
        kspace = handle["kspace"][()]
        targets = {key: handle[key][()] for key in handle if key.startswith("reconstruction")}
        header = parse_header(handle["ismrmrd_header"][()], source)
        attrs = dict(handle.attrs)
    multicoil = kspace.ndim == 4
    wider, fewer_coils, fewer_slices = _changes(position, kspace.shape[1] if multicoil else 1)
    dropped = kspace.shape[0] - 1 if fewer_slices else None
    if fewer_slices:
        kspace = kspace[:-1]
        targets = {key: target[:-1] for key, target in targets.items()}
    if fewer_coils:
        kspace = kspace[:, :-1]
    padding = (header["padding_left"], header["padding_right"])
    if wider:
        kspace = widened(kspace, extra_columns)
        padding = (0, kspace.shape[-1])
    if multicoil:
        crop = targets["reconstruction_rss"].shape[-2:]
        images = center_crop(ifft2c(torch.from_numpy(kspace)), crop)
        targets["reconstruction_rss"] = rss(images, dim=1).numpy().astype(np.float32)
    scored = targets["reconstruction_rss" if multicoil else "reconstruction_esc"]
    attrs.update(max=float(scored.max()), norm=float(np.linalg.norm(scored)))
    recon = tuple(header["recon_size"][:2])
    write_volume(out, kspace, targets, ismrmrd_header(kspace.shape[-2:], recon, padding,
                                                      header["system_model"] or "Skyra"), attrs)
    return dropped


def write_varied(source: str | PathLike, out: str | PathLike, extra_columns: int = 4,
                 force: bool = False) -> Path:
    """Copy the dataset at ``source`` (``*_train``/``*_val`` folders of ``.h5`` volumes and
    ``*_bb_*.csv`` annotations) to ``out`` with the volumes' shapes varied (module docstring),
    atomically. Returns ``out``."""
    source = Path(source)
    folders = sorted(path for path in source.iterdir()
                     if path.is_dir() and path.name.endswith(("_train", "_val")))
    if not folders:
        raise FileNotFoundError(f"{source} holds no fastMRI split folder (e.g. singlecoil_val/)")
    with atomic_directory(out, force=force) as staging:
        dropped: dict[tuple[str, str], set[str]] = {}
        for folder in folders:
            (staging / folder.name).mkdir()
            split = folder.name.split("_")[-1]
            for position, path in enumerate(sorted(folder.glob("*.h5"))):
                last = _vary_volume(path, staging / folder.name / path.name, position,
                                    extra_columns)
                if last is not None:
                    dropped.setdefault((split, path.stem), set()).add(last + 1)  # CSV: 1-based
        for csv in sorted(source.glob("*_bb_*.csv")):
            split = csv.stem.split("_")[-1]
            boxes = read_annotations(csv)
            gone = pd.Series([int(row.slice) in dropped.get((split, row.filename), ())
                              for row in boxes.itertuples()], index=boxes.index, dtype=bool)
            write_annotations(boxes[~gone], staging / csv.name)
        for other in sorted(source.glob("*.json")):
            shutil.copy2(other, staging / other.name)
    return Path(out)
