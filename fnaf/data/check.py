"""A data check before the GPU time: :func:`check_data` reads every volume of a fastMRI-format
data root once, slice by slice, and returns what it found.

For each split folder (``singlecoil_<split>``, ``multicoil_<split>``) and each volume it checks
the layout (:func:`fnaf.data.fastmri.inspect_volume`: readable HDF5 and metadata, k-space
dimensions and dtype, the ISMRMRD header, the target's slices), the header's consistency (the
encoded matrix against the k-space, the recon matrix against the target, the ``acquisition``,
``max`` and ``norm`` attributes fastMRI files carry, ``max``/``norm`` against the target), and
per slice NaN/Inf, all-zero or implausibly low-energy k-space (below ``low_energy`` times the
volume's median slice energy), all-zero targets, and the target against the one recomputed from
the fully-sampled k-space (the ESC magnitude or the coils' RSS, centre-cropped; relative error
above ``tolerance``: damaged bytes in either). Annotation CSVs are read and matched to the
volumes (coverage per split; boxes beyond a volume's slices are problems).

:func:`require_clean_data` is the same check at the top of every chapter that reads a data root:
it stops the chapter before any work when the check finds a problem.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import scipy.fft
from tqdm import tqdm

from fnaf.data.annotations import AnnotationError, read_annotations, volume_name
from fnaf.data.fastmri import RECONS_KEYS, FastMRIDataError, VolumeInfo, inspect_volume
from fnaf.io import save_json
from fnaf.mri import center_crop

SPLIT_FOLDER = re.compile(r"^(singlecoil|multicoil)_(\w+)$")
FINDINGS = ["split", "file", "slices", "check", "detail"]
#: Defaults: the largest relative error of a stored target against the recomputed one, and the
#: smallest k-space energy of a slice relative to its volume's median slice.
TOLERANCE, LOW_ENERGY = 1e-2, 1e-4
HEADER_RTOL = 1e-3  # ``max``/``norm`` attributes are float32-exact in fastMRI files


@dataclass
class DataCheck:
    """``volumes``: one row per readable volume (``split, file, slices, kspace, coils, dtype,
    acquisition, boxes``); ``findings``: one row per problem (``split, file, slices, check,
    detail``; ``slices`` lists the 0-based slices, empty for a whole-volume problem)."""

    volumes: pd.DataFrame
    findings: pd.DataFrame
    splits: list[str]

    @property
    def ok(self) -> bool:
        return self.findings.empty

    def summary(self) -> pd.DataFrame:
        """Per split: volumes, slices, k-space shapes and coil counts (with their volume
        counts), dtypes, annotated volumes and the number of problems."""
        rows = []
        for split in self.splits:
            part = self.volumes[self.volumes["split"] == split]
            problems = self.findings[self.findings["split"] == split]
            rows.append({
                "split": split, "volumes": len(part), "slices": int(part["slices"].sum()),
                "k-space": _counted(part["kspace"]), "coils": _counted(part["coils"]),
                "dtype": _counted(part["dtype"]),
                "annotated": f"{int((part['boxes'] > 0).sum())} of {len(part)}",
                "problems": len(problems),
            })
        return pd.DataFrame(rows).set_index("split")


def _counted(values: pd.Series) -> str:
    return ", ".join(f"{value} ({count})" for value, count in values.value_counts().items())


def split_folders(root: Path) -> list[Path]:
    """The fastMRI split folders of ``root`` (``singlecoil_val``, ``multicoil_train`` ...)."""
    if not root.is_dir():
        raise FastMRIDataError(f"{root}: no such directory")
    folders = sorted(path for path in root.iterdir()
                     if path.is_dir() and SPLIT_FOLDER.match(path.name))
    if not folders:
        raise FastMRIDataError(f"{root}: no split folders (singlecoil_<split>/ or "
                               "multicoil_<split>/ holding .h5 files); give the data root")
    return folders


def _header_findings(info: VolumeInfo, target_shape: tuple[int, ...] | None) -> list[str]:
    meta, problems = info.metadata, []
    if tuple(meta["encoding_size"][:2]) != info.kspace_shape:
        problems.append(f"header's encoded matrix {meta['encoding_size'][:2]} differs from the "
                        f"k-space's {info.kspace_shape}")
    if target_shape is not None and tuple(meta["recon_size"][:2]) != target_shape[-2:]:
        problems.append(f"header's recon matrix {meta['recon_size'][:2]} differs from the "
                        f"target's {target_shape[-2:]}")
    wanted = ("acquisition",) + (("max", "norm") if target_shape is not None else ())
    missing = [name for name in wanted if name not in meta]
    if missing:
        problems.append(f"attributes {missing} missing")
    return problems


def recomputed_target(kspace: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """The fully-sampled reconstruction fastMRI's target is: ``|crop(ifft2c(k))|`` of a
    single-coil slice ``(H, W)`` or the RSS over coils of a multi-coil slice ``(C, H, W)``,
    cropped to ``shape``: ``(h, w)`` float32. The k-space shift of :func:`fnaf.mri.ifft2c` only
    changes the image's phase, so the magnitude is shifted after the plain inverse FFT (half
    the work of a centred FFT: this reads every slice of a dataset)."""
    image = scipy.fft.ifft2(kspace.astype(np.complex64, copy=False), norm="ortho")
    magnitude = np.abs(image) if kspace.ndim == 2 else np.sqrt(
        np.sum(image.real ** 2 + image.imag ** 2, axis=0))
    return center_crop(np.fft.fftshift(magnitude), shape)


def _slice_faults(kspace: np.ndarray, target: np.ndarray | None, tolerance: float
                  ) -> tuple[list[str], float, float, float, float]:
    """``(faults, target's relative error, k-space energy, target maximum, target energy)``
    of one slice; a relative error beyond ``tolerance`` is the fault ``"target mismatch"``."""
    faults = []
    energy = float(np.vdot(kspace, kspace).real)  # NaN or Inf anywhere makes it non-finite
    if not np.isfinite(energy):
        faults.append("non-finite k-space")
    elif energy == 0:
        faults.append("all-zero k-space")
    if target is None:
        return faults, 0.0, energy, 0.0, 0.0
    squares = float(np.sum(np.square(target, dtype=np.float64)))
    maximum = float(target.max())
    if not np.isfinite(squares):
        faults.append("non-finite target")
    elif squares == 0:
        faults.append("all-zero target")
    if faults:
        return faults, 0.0, energy, maximum, squares
    if kspace.shape[-2] < target.shape[-2] or kspace.shape[-1] < target.shape[-1]:
        return ["target larger than k-space"], 0.0, energy, maximum, squares
    error = float(np.linalg.norm(target - recomputed_target(kspace, target.shape))
                  / np.sqrt(squares))
    return ["target mismatch"] if error > tolerance else [], error, energy, maximum, squares


def _slice_findings(handle: h5py.File, info: VolumeInfo, key: str | None, tolerance: float,
                    low_energy: float, bar) -> tuple[dict[str, list[int]], dict, list[str]]:
    """Read each slice once: ``({check: slices}, {check: worst value}, volume problems)``."""
    found: dict[str, list[int]] = {}
    worst: dict[str, float] = {}
    energies, maximum, squares = [], 0.0, 0.0
    for number in range(info.num_slices):
        kspace = handle["kspace"][number]
        target = handle[key][number] if key is not None else None
        bar.update(1)
        faults, error, energy, slice_max, slice_squares = _slice_faults(kspace, target,
                                                                        tolerance)
        if "target mismatch" in faults:
            worst["target mismatch"] = max(worst.get("target mismatch", 0.0), error)
        energies.append(energy if np.isfinite(energy) else np.nan)
        if np.isfinite(slice_squares):
            maximum, squares = max(maximum, slice_max), squares + slice_squares
        for fault in faults:
            found.setdefault(fault, []).append(number)
    median = np.nanmedian(energies) if np.isfinite(energies).any() else np.nan
    for number, energy in enumerate(energies):
        if 0 < energy < low_energy * median:
            found.setdefault("low-energy k-space", []).append(number)
            worst["low-energy k-space"] = min(worst.get("low-energy k-space", 1.0),
                                              energy / median)
    problems = []
    if key is not None:
        for name, value in (("max", maximum), ("norm", np.sqrt(squares))):
            stored = info.metadata.get(name)
            if stored is not None and not np.isclose(stored, value, rtol=HEADER_RTOL, atol=0):
                problems.append(f"attribute {name}={stored:.6g} but the target's is {value:.6g}")
    return found, worst, problems


DETAILS = {
    "all-zero k-space": "k-space all zero: a dead or damaged volume",
    "all-zero target": "target all zero: a dead or damaged volume",
    "non-finite k-space": "k-space holds NaN or Inf: a damaged volume",
    "non-finite target": "target holds NaN or Inf: a damaged volume",
    "target larger than k-space": "the target is larger than the k-space grid",
    "target mismatch": "stored target differs from the fully-sampled reconstruction of the "
                       "k-space (relative error up to {:.3g}): damaged k-space or target",
    "low-energy k-space": "slice k-space energy down to {:.3g} x the volume's median",
}


def _check_volume(info: VolumeInfo, split: str, key: str | None, tolerance: float,
                  low_energy: float, bar) -> tuple[list[dict], str]:
    """``(findings, k-space dtype)`` of one volume."""
    name, dtype = info.fname.name, ""
    try:
        with h5py.File(info.fname, "r") as handle:
            dtype = str(handle["kspace"].dtype)
            has_target = key is not None and key in handle
            target_shape = handle[key].shape if has_target else None
            problems = _header_findings(info, target_shape)
            found, worst, volume_problems = _slice_findings(
                handle, info, key if has_target else None, tolerance, low_energy, bar)
    except (OSError, RuntimeError) as error:
        return [dict(split=split, file=name, slices=[], check="unreadable",
                     detail=f"{info.fname}: cannot be read ({error})")], dtype
    rows = [dict(split=split, file=name, slices=[], check="header", detail=problem)
            for problem in problems + volume_problems]
    for check, slices in found.items():
        detail = DETAILS[check].format(worst.get(check))
        rows.append(dict(split=split, file=name, slices=slices, check=check, detail=detail))
    return rows, dtype


def _annotation_boxes(paths: Sequence[Path], infos: list[tuple[str, VolumeInfo]]
                      ) -> tuple[dict[str, int], list[dict]]:
    """``({volume: boxes}, findings)`` of the annotation CSVs against the volumes."""
    depth = {volume_name(info.fname): info.num_slices for _, info in infos}
    counts: dict[str, int] = {}
    rows = []
    for path in paths:
        try:
            boxes = read_annotations(path)
        except (AnnotationError, OSError) as error:
            rows.append(dict(split="", file=Path(path).name, slices=[], check="annotations",
                             detail=str(error)))
            continue
        matched = boxes[boxes["filename"].isin(depth)]
        for filename, group in matched.groupby("filename"):
            counts[filename] = counts.get(filename, 0) + len(group)
        beyond = matched[matched["slice"] > matched["filename"].map(depth)]
        for _, box in beyond.iterrows():
            rows.append(dict(split="", file=Path(path).name, slices=[int(box["slice"]) - 1],
                             check="annotations",
                             detail=f"{path}, line {box['line']}: slice {box['slice']} "
                                    f"(1-based) of {box['filename']}, which has "
                                    f"{depth[box['filename']]} slices"))
    return counts, rows


def check_data(root: str | PathLike, annotations: Sequence[str | PathLike] = (), *,
               tolerance: float = TOLERANCE, low_energy: float = LOW_ENERGY,
               progress: bool = True) -> DataCheck:
    """Check every volume of every split folder of ``root`` (see the module docstring), and the
    ``annotations`` CSVs against them; nothing is skipped, every problem is a finding."""
    root = Path(root)
    for name, value in (("tolerance", tolerance), ("low_energy", low_energy)):
        if not (isinstance(value, (int, float)) and 0 <= value < 1):
            raise ValueError(f"{name} must be a number in [0, 1), not {value!r}")
    folders = split_folders(root)
    findings, infos = [], []
    for folder in folders:
        challenge = SPLIT_FOLDER.match(folder.name).group(1)
        files = sorted(folder.glob("*.h5"))
        if not files:
            findings.append(dict(split=folder.name, file="", slices=[], check="layout",
                                 detail=f"{folder}: no .h5 files"))
        for path in files:
            try:
                infos.append((folder.name, inspect_volume(path, RECONS_KEYS[challenge],
                                                          require_target=False,
                                                          challenge=challenge)))
            except FastMRIDataError as error:
                findings.append(dict(split=folder.name, file=path.name, slices=[],
                                     check="layout", detail=str(error)))
    boxes, annotation_rows = _annotation_boxes([Path(path) for path in annotations], infos)
    rows = []
    with tqdm(total=sum(info.num_slices for _, info in infos), desc="check-data",
              unit="slice", disable=not progress) as bar:
        for split, info in infos:
            challenge = SPLIT_FOLDER.match(split).group(1)
            found, dtype = _check_volume(info, split, RECONS_KEYS[challenge], tolerance,
                                         low_energy, bar)
            findings += found
            rows.append(dict(split=split, file=info.fname.name, slices=info.num_slices,
                             kspace="x".join(map(str, info.kspace_shape)), coils=info.coils,
                             dtype=dtype, acquisition=info.metadata.get("acquisition"),
                             boxes=boxes.get(volume_name(info.fname), 0)))
    volumes = pd.DataFrame(rows, columns=["split", "file", "slices", "kspace", "coils", "dtype",
                                          "acquisition", "boxes"])
    return DataCheck(volumes, pd.DataFrame(findings + annotation_rows, columns=FINDINGS),
                     [folder.name for folder in folders])


class DataCheckError(FastMRIDataError):
    """A chapter's data root whose check found problems; raised before any work."""


#: Bump when the check finds more: earlier passes are then checked again.
CHECK_VERSION = 1
#: Findings a :class:`DataCheckError` lists (the command shows them all).
LISTED_FINDINGS = 10


def _own_annotations(root: Path) -> list[Path]:
    """The data root's own annotation CSVs (``singlecoil_bb_val.csv`` ...), as the command
    reads them."""
    return sorted(root.glob("*_bb_*.csv"))


def data_signature(root: str | PathLike, annotations: Sequence[str | PathLike] = ()) -> str:
    """A hash of what :func:`check_data` would read: every ``.h5`` file of ``root``'s split
    folders and each annotation CSV, by path, size and modification time (no file is read)."""
    root = Path(root).resolve()
    entries = [CHECK_VERSION, TOLERANCE, LOW_ENERGY, str(root)]
    files = [path for folder in split_folders(root) for path in sorted(folder.glob("*.h5"))]
    for path in files + [Path(path).resolve() for path in annotations]:
        stat = path.stat()
        entries.append((str(path), stat.st_size, stat.st_mtime_ns))
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()[:32]


def _stamp(signature: str) -> Path:
    from fnaf.data.phantom import cache_dir

    return cache_dir() / "data-checks" / f"{signature}.json"


def require_clean_data(annotations: Sequence[str | PathLike | None] = (), *,
                       progress: bool = False, **roots: str | PathLike | None) -> None:
    """The data check of ``python -m fnaf check-data`` on each data root a chapter will read,
    before any work: ``roots`` maps the chapter's parameter names to its roots (``data_root=...,
    brain_root=...``; None, the embedded phantom, is not checked), each read with its own
    annotation CSVs and ``annotations`` (the chapter's extra CSVs; None entries ignored).

    A root with any finding raises :class:`DataCheckError` naming the parameter, the root, the
    first findings (file, slices, check) and the fix. A root that passed is remembered by
    :func:`data_signature` under ``$FNAF_CACHE/data-checks/`` (a chapter after another reads
    nothing again until a file changes)."""
    extra = [Path(path) for path in annotations if path is not None]
    for name, root in roots.items():
        if root is None:
            continue
        root = Path(root)
        try:
            csvs = _own_annotations(root) + [path for path in extra if path.is_file()]
            signature = data_signature(root, csvs)
        except (FastMRIDataError, OSError) as error:
            raise DataCheckError(f"{name}={str(root)!r}: {error}") from None
        stamp = _stamp(signature)
        if stamp.is_file():
            continue
        result = check_data(root, csvs, progress=progress)
        if not result.ok:
            findings = result.findings
            listed = findings.head(LISTED_FINDINGS).to_string(index=False, max_colwidth=100)
            more = (f"\n... and {len(findings) - LISTED_FINDINGS} more"
                    if len(findings) > LISTED_FINDINGS else "")
            raise DataCheckError(
                f"{name}={str(root)!r}: the data check found {len(findings)} problem(s) in "
                f"{findings['file'].nunique()} file(s), before any work:\n{listed}{more}\n"
                f"See them all with `python -m fnaf check-data {root}`; download or regenerate "
                "the files named, or move them out of their split folders, then run again.")
        try:  # remembered where the cache is writable; else checked again next time
            stamp.parent.mkdir(parents=True, exist_ok=True)
            save_json({"root": str(root.resolve()), "volumes": len(result.volumes)}, stamp)
        except OSError:
            pass
