"""Write single-coil volumes in fastMRI's HDF5 layout (used by the phantom and by tests).

A file holds ``kspace`` complex64 ``(S, H, W)``, the targets (``reconstruction_esc``,
``reconstruction_rss``) float32 ``(S, h, w)``, an ``ismrmrd_header`` XML with the fields fastMRI's
``SliceDataset`` reads, and the attributes ``max``, ``norm``, ``acquisition``, ``patient_id``.
Files are written to a temporary name and moved into place, so a reader never sees half a file.
:func:`write_reconstruction` writes prediction files in fastMRI's submission layout.
"""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike

import h5py
import numpy as np

from fnaf.data.fastmri import ISMRMRD_NAMESPACE, VolumeInfo
from fnaf.io import atomic_path


def ismrmrd_header(encoded: tuple[int, int], recon: tuple[int, int], padding: tuple[int, int],
                   system_model: str = "Skyra", field_of_view_mm: float = 140.0) -> bytes:
    """A minimal ISMRMRD header: encoded/recon matrix sizes, phase-encode limits, scanner.

    ``padding = (left, right)``: acquired phase-encode columns are ``[left, right)``, written as
    ``kspace_encoding_step_1`` centre ``W // 2 - left`` and maximum ``right - left - 1``.
    """
    left, right = padding
    center, maximum = encoded[1] // 2 - left, right - left - 1

    def matrix(size):
        return (f"<matrixSize><x>{size[0]}</x><y>{size[1]}</y><z>1</z></matrixSize>"
                f"<fieldOfView_mm><x>{field_of_view_mm * size[0] / size[1]:.1f}</x>"
                f"<y>{field_of_view_mm:.1f}</y><z>3.0</z></fieldOfView_mm>")

    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<ismrmrdHeader xmlns="{ISMRMRD_NAMESPACE}">'
        f"<acquisitionSystemInformation><systemVendor>fnaf phantom</systemVendor>"
        f"<systemModel>{system_model}</systemModel>"
        f"<systemFieldStrength_T>2.89</systemFieldStrength_T></acquisitionSystemInformation>"
        f"<encoding><encodedSpace>{matrix(encoded)}</encodedSpace>"
        f"<reconSpace>{matrix(recon)}</reconSpace><encodingLimits>"
        f"<kspace_encoding_step_1><minimum>0</minimum><maximum>{maximum}</maximum>"
        f"<center>{center}</center></kspace_encoding_step_1></encodingLimits>"
        f"<trajectory>cartesian</trajectory></encoding></ismrmrdHeader>"
    ).encode()


def write_volume(path: str | PathLike, kspace: np.ndarray, targets: dict[str, np.ndarray],
                 header: bytes, attrs: dict) -> None:
    """Write one volume atomically (a temporary file, then ``os.replace``)."""
    with atomic_path(path) as partial, h5py.File(partial, "w") as handle:
        handle.create_dataset("kspace", data=kspace.astype(np.complex64))
        for key, target in targets.items():
            handle.create_dataset(key, data=target.astype(np.float32))
        handle.create_dataset("ismrmrd_header", data=np.bytes_(header))
        handle.attrs.update(attrs)


#: HDF5's bytes around a prediction file's one dataset (superblock, object header, chunk index),
#: rounded up.
PREDICTION_OVERHEAD = 8192


def reconstruction_bytes(volumes: Iterable[VolumeInfo]) -> int:
    """About the bytes :func:`write_reconstruction` writes for the predictions of ``volumes``:
    float32 ``(S, h, w)`` on each volume's recon matrix (the target grid), plus HDF5's own."""
    return sum(info.num_slices * int(np.prod(info.metadata["recon_size"][:2])) * 4
               + PREDICTION_OVERHEAD for info in volumes)


def write_reconstruction(path: str | PathLike, reconstruction: np.ndarray) -> None:
    """Write a prediction file as fastMRI's ``save_reconstructions``: dataset
    ``reconstruction`` float32 ``(S, h, w)``, the layout ``fastmri/evaluate.py`` reads."""
    with atomic_path(path) as partial, h5py.File(partial, "w") as handle:
        handle.create_dataset("reconstruction", data=np.asarray(reconstruction, np.float32))
