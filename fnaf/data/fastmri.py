"""Reader for fastMRI knee HDF5 volumes, single-coil (``singlecoil_train/``: ``kspace``
``(S, H, W)``, target ``reconstruction_esc``) and multi-coil (``multicoil_train/``: ``kspace``
``(S, C, H, W)``, target ``reconstruction_rss``).

:class:`SliceDataset` follows fastMRI's ``SliceDataset``: one sample per slice over the sorted
``*.h5`` files of a split directory, metadata from the ISMRMRD header (encoded/recon matrix sizes
and the phase-encode padding), and ``transform(kspace, mask, target, attrs, fname, slice_num)``.
Unlike fastMRI it checks every file when the dataset is built and every slice when it is read,
and raises :class:`FastMRIDataError` naming the file (and slice) instead of failing later or
skipping data. HDF5 files are opened lazily and the handles kept per worker process.
"""

from __future__ import annotations

import copy
import os
import random
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import h5py
import numpy as np
import torch

ISMRMRD_NAMESPACE = "http://www.ismrm.org/ISMRMRD"
ACQUISITIONS = {"PD": "CORPD_FBK", "PDFS": "CORPDFS_FBK"}
#: fastMRI's challenges: the k-space dimensions and the target dataset of each.
KSPACE_DIMS = {"singlecoil": 3, "multicoil": 4}
RECONS_KEYS = {"singlecoil": "reconstruction_esc", "multicoil": "reconstruction_rss"}


def check_challenge(challenge: str) -> None:
    if challenge not in KSPACE_DIMS:
        raise ValueError(f"unknown challenge {challenge!r}; accepted: {sorted(KSPACE_DIMS)}")


class FastMRIDataError(ValueError):
    """A fastMRI file (or one of its slices) cannot be used; the message says which and why."""


def split_dir(data_root: str | PathLike, split: str, challenge: str = "singlecoil") -> Path:
    """``<data_root>/<challenge>_<split>``, e.g. ``knee/singlecoil_val``; errors if missing."""
    path = Path(data_root) / f"{challenge}_{split}"
    if not path.is_dir():
        raise FastMRIDataError(
            f"{path}: no such directory; data_root must hold the fastMRI split folders "
            f"({challenge}_train/, {challenge}_val/)"
        )
    return path


def _header_value(root: ET.Element, path: Sequence[str], fname: Path) -> str:
    query = "." + "".join(f"//ismrmrd:{name}" for name in path)
    node = root.find(query, {"ismrmrd": ISMRMRD_NAMESPACE})
    if node is None or node.text is None:
        raise FastMRIDataError(f"{fname}: ismrmrd_header lacks {'/'.join(path)}")
    return node.text


def _header_int(root: ET.Element, path: Sequence[str], fname: Path) -> int:
    text = _header_value(root, path, fname)
    try:
        return int(text)
    except ValueError:
        raise FastMRIDataError(f"{fname}: ismrmrd_header field {'/'.join(path)} is {text!r}, "
                               "not an integer; the header is corrupt") from None


def parse_header(header: bytes | str, fname: Path) -> dict:
    """The fields fastMRI reads from ``ismrmrd_header``, plus the scanner model if present."""
    try:
        root = ET.fromstring(header)
    except ET.ParseError as error:
        raise FastMRIDataError(f"{fname}: ismrmrd_header is not valid XML ({error})") from None

    def size(space: str) -> tuple[int, int, int]:
        return tuple(
            _header_int(root, ["encoding", space, "matrixSize", axis], fname)
            for axis in "xyz"
        )

    encoding_size, recon_size = size("encodedSpace"), size("reconSpace")
    limits = ["encoding", "encodingLimits", "kspace_encoding_step_1"]
    center = _header_int(root, limits + ["center"], fname)
    maximum = _header_int(root, limits + ["maximum"], fname)
    padding_left = encoding_size[1] // 2 - center
    model = root.find(".//ismrmrd:systemModel", {"ismrmrd": ISMRMRD_NAMESPACE})
    return {
        "encoding_size": encoding_size,
        "recon_size": recon_size,
        "padding_left": padding_left,
        "padding_right": padding_left + maximum + 1,
        "system_model": None if model is None else model.text,
    }


@dataclass(frozen=True)
class VolumeInfo:
    """What :class:`SliceDataset` learned about one file when it was built."""

    fname: Path
    num_slices: int
    metadata: dict
    kspace_shape: tuple[int, int]
    coils: int = 1


def _check_kspace_layout(kspace: h5py.Dataset, fname: Path, challenge: str) -> None:
    expected = KSPACE_DIMS[challenge]
    if kspace.ndim == expected:
        return
    if challenge == "singlecoil":
        hint = ("4-D k-space is multi-coil: read it with challenge='multicoil'"
                if kspace.ndim == 4 else "single-coil k-space must be 3-D (slices, H, W)")
    elif kspace.ndim == 3:
        hint = ("the coil dimension is missing: multi-coil k-space is 4-D (slices, coils, H, W); "
                "single-coil files are read with challenge='singlecoil'")
    else:
        hint = "multi-coil k-space must be 4-D (slices, coils, H, W)"
    raise FastMRIDataError(f"{fname}: 'kspace' has shape {kspace.shape}; {hint}")


def inspect_volume(
    fname: Path, recons_key: str | None, require_target: bool = True,
    challenge: str = "singlecoil",
) -> VolumeInfo:
    """Open ``fname`` and check its layout; raise :class:`FastMRIDataError` naming the fault."""
    try:
        handle = h5py.File(fname, "r")
    except OSError as error:
        raise FastMRIDataError(
            f"{fname}: cannot be opened as HDF5 ({error}); the file is truncated, corrupt or not "
            "an HDF5 file: download or regenerate it"
        ) from None
    try:
        with handle:
            return _inspect(handle, fname, recons_key, require_target, challenge)
    except (OSError, RuntimeError) as error:  # h5py's errors on damaged metadata
        raise FastMRIDataError(
            f"{fname}: its HDF5 metadata cannot be read ({error}); the file is corrupt: "
            "download or regenerate it"
        ) from None


def _inspect(handle: h5py.File, fname: Path, recons_key: str | None, require_target: bool,
             challenge: str) -> VolumeInfo:
    if "kspace" not in handle:
        raise FastMRIDataError(f"{fname}: missing dataset 'kspace' (keys: {sorted(handle)})")
    kspace = handle["kspace"]
    _check_kspace_layout(kspace, fname, challenge)
    if not np.issubdtype(kspace.dtype, np.complexfloating):
        raise FastMRIDataError(f"{fname}: 'kspace' has dtype {kspace.dtype}, not complex")
    if "ismrmrd_header" not in handle:
        raise FastMRIDataError(f"{fname}: missing dataset 'ismrmrd_header'")
    metadata = parse_header(handle["ismrmrd_header"][()], fname)
    encoded = tuple(metadata["encoding_size"][:2])
    if kspace.ndim == 4 and kspace.shape[1:3] == encoded != kspace.shape[-2:]:
        raise FastMRIDataError(
            f"{fname}: 'kspace' has shape {kspace.shape}, the coils last (slices, H, W, "
            f"coils) for the header's {encoded[0]}x{encoded[1]} grid; fastMRI stores "
            "multi-coil k-space as (slices, coils, H, W): move the coil axis")
    num_slices, kspace_shape = kspace.shape[0], tuple(kspace.shape[-2:])
    coils = kspace.shape[1] if kspace.ndim == 4 else 1
    if recons_key is not None:
        if recons_key in handle:
            target = handle[recons_key]
            if target.ndim != 3:
                raise FastMRIDataError(
                    f"{fname}: '{recons_key}' has shape {target.shape}, expected 3-D "
                    "(slices, h, w)"
                )
            if target.shape[0] != num_slices:
                raise FastMRIDataError(
                    f"{fname}: '{recons_key}' has {target.shape[0]} slices but 'kspace' has "
                    f"{num_slices}"
                )
        elif require_target:
            raise FastMRIDataError(
                f"{fname}: missing target dataset '{recons_key}' (keys: {sorted(handle)})"
            )
    metadata.update(dict(handle.attrs))
    return VolumeInfo(fname, num_slices, metadata, kspace_shape, coils)


class SliceDataset(torch.utils.data.Dataset):
    """Slices of the fastMRI volumes in one split directory.

    Args:
        root: a split directory such as ``knee/singlecoil_val`` (see :func:`split_dir`).
        transform: ``transform(kspace, mask, target, attrs, fname, slice_num)``; without one the
            raw tuple is returned. ``kspace`` is complex64 ``(H, W)`` (single-coil) or
            ``(C, H, W)`` (multi-coil), ``target`` float32.
        challenge: ``"singlecoil"`` or ``"multicoil"`` (fastMRI's ``challenge``).
        recons_key: target dataset; default ``reconstruction_esc`` (single-coil) or
            ``reconstruction_rss`` (multi-coil), as fastMRI.
        require_target: raise if a file lacks ``recons_key`` (test files have none).
        acquisition: keep only ``"PD"`` (``CORPD_FBK``) or ``"PDFS"`` (``CORPDFS_FBK``) volumes.
        volume_sample_rate: keep this fraction of the volumes (drawn with ``seed``).
        sample_rate: keep this fraction of the slices (drawn with ``seed``).
        seed: seed of the volume/slice sub-sampling.
    """

    def __init__(
        self,
        root: str | PathLike,
        transform: Callable | None = None,
        challenge: str = "singlecoil",
        recons_key: str | None = None,
        require_target: bool = True,
        acquisition: str | None = None,
        volume_sample_rate: float | None = None,
        sample_rate: float | None = None,
        seed: int = 0,
    ):
        root = Path(root)
        check_challenge(challenge)
        if not root.is_dir():
            raise FastMRIDataError(f"{root}: no such directory")
        recons_key = RECONS_KEYS[challenge] if recons_key is None else recons_key
        if sample_rate is not None and volume_sample_rate is not None:
            raise ValueError("give sample_rate or volume_sample_rate, not both")
        if acquisition is not None and acquisition not in ACQUISITIONS:
            raise ValueError(
                f"acquisition must be one of {sorted(ACQUISITIONS)}, not {acquisition!r}")
        files = sorted(root.glob("*.h5"))
        if not files:
            raise FastMRIDataError(f"{root}: no .h5 files found")
        self.root = root
        self.challenge = challenge
        self.transform = transform
        self.recons_key = recons_key
        rng = random.Random(seed)
        if volume_sample_rate is not None:
            files = sorted(rng.sample(files, max(1, round(len(files) * volume_sample_rate))))
        self.volumes = [inspect_volume(f, recons_key, require_target, challenge) for f in files]
        if acquisition is not None:
            wanted = ACQUISITIONS[acquisition]
            self.volumes = [v for v in self.volumes if v.metadata.get("acquisition") == wanted]
        self.samples = [
            (index, slice_num)
            for index, volume in enumerate(self.volumes)
            for slice_num in range(volume.num_slices)
        ]
        if sample_rate is not None:
            count = round(len(self.samples) * sample_rate)
            keep = sorted(rng.sample(range(len(self.samples)), count))
            self.samples = [self.samples[i] for i in keep]
        self._handles: dict[Path, h5py.File] = {}
        self._pid = os.getpid()

    def __len__(self) -> int:
        return len(self.samples)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_handles"] = {}
        return state

    def _handle(self, fname: Path) -> h5py.File:
        if os.getpid() != self._pid:  # a forked worker must not share the parent's handles
            self._handles, self._pid = {}, os.getpid()
        if fname not in self._handles:
            self._handles[fname] = h5py.File(fname, "r")
        return self._handles[fname]

    def read_slice(self, index: int):
        """The raw ``(kspace, mask, target, attrs, fname, slice_num)`` of sample ``index``:
        k-space as complex64 and the target as float32 (fastMRI's dtypes; complex128 or float64
        files are converted), both checked to be finite and not all zero."""
        volume_index, slice_num = self.samples[index]
        volume = self.volumes[volume_index]
        try:
            handle = self._handle(volume.fname)
            kspace = handle["kspace"][slice_num]
            mask = np.asarray(handle["mask"]) if "mask" in handle else None
            target = handle[self.recons_key][slice_num] if self.recons_key in handle else None
        except (OSError, RuntimeError) as error:
            raise FastMRIDataError(
                f"{volume.fname} slice {slice_num}: cannot be read ({error}); the file is "
                "truncated or corrupt: download or regenerate it"
            ) from None
        for name, values in (("kspace", kspace), (self.recons_key, target)):
            if values is None:
                continue
            fault = ("contains NaN or Inf values" if not np.isfinite(values).all() else
                     "is all zero (a dead or damaged volume)" if not values.any() else None)
            if fault is not None:
                raise FastMRIDataError(
                    f"{volume.fname} slice {slice_num}: '{name}' {fault}; the file is corrupt: "
                    f"download or regenerate it, or move it out of {self.root} "
                    f"(`python -m fnaf check-data {self.root.parent}` lists every such file)"
                )
        kspace = kspace.astype(np.complex64, copy=False)  # fastMRI's dtypes, whatever the file's
        target = None if target is None else target.astype(np.float32, copy=False)
        return kspace, mask, target, dict(volume.metadata), volume.fname.name, slice_num

    def __getitem__(self, index: int):
        sample = self.read_slice(index)
        return sample if self.transform is None else self.transform(*sample)

    def middle_slices(self, count: int) -> SliceDataset:
        """The same dataset restricted to the ``count`` middle slices of each volume (all of a
        volume with fewer), e.g. to attack a few slices per volume."""
        if not isinstance(count, int) or count < 1:
            raise ValueError(f"count must be an integer >= 1, not {count!r}")
        subset = copy.copy(self)
        subset._handles = {}
        subset.samples = [(index, number) for index, number in self.samples
                          if 0 <= number - (self.volumes[index].num_slices - count) // 2 < count]
        return subset

    def only(self, names) -> SliceDataset:
        """The same dataset restricted to the slices of the volumes ``names`` (file names)."""
        wanted = set(names)
        unknown = sorted(wanted - {volume.fname.name for volume in self.volumes})
        if unknown:
            raise KeyError(f"{self.root} has no volumes {unknown[:5]}")
        subset = copy.copy(self)
        subset._handles = {}
        subset.samples = [(index, number) for index, number in self.samples
                          if self.volumes[index].fname.name in wanted]
        return subset


def read_volumes(folder: str | PathLike, names, key: str = "reconstruction"
                 ) -> dict[str, np.ndarray]:
    """``{file name: (S, h, w) float32}`` of dataset ``key`` of ``<folder>/<name>`` for each name:
    fastMRI prediction files (``reconstruction``, as ``save_reconstructions`` writes them) or the
    targets of a split (``reconstruction_esc``). Missing files are named in one error."""
    folder = Path(folder)
    missing = sorted(name for name in set(names) if not (folder / name).is_file())
    if missing:
        raise FastMRIDataError(f"{folder}: {len(missing)} volume(s) missing: {missing[:5]}; "
                               "reconstruct them first (fnaf.runs.reconstructions_or_load, or "
                               "`python -m fnaf evaluate --out FOLDER`)")
    volumes = {}
    for name in names:
        try:
            with h5py.File(folder / name, "r") as handle:
                volumes[name] = np.asarray(handle[key], dtype=np.float32)
        except (OSError, KeyError) as error:
            raise FastMRIDataError(f"{folder / name}: no readable '{key}' dataset ({error}); "
                                   "write it again") from None
    return volumes
