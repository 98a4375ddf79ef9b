"""Coil sensitivities: simulated birdcage maps for the multi-coil phantom, and ESPIRiT estimates
from measured k-space for the methods that need maps (SENSE-type l1 reconstruction).

Both come from SigPy: ``sigpy.mri.birdcage_maps`` (the analytic field of a birdcage coil array,
normalised so that the root-sum-of-squares over coils is one everywhere) and
``sigpy.mri.app.EspiritCalib`` (Uecker et al.'s ESPIRiT, the equivalent of BART's ``ecalib``).
The VarNet needs neither: it learns its maps from the auto-calibration lines.
"""

from __future__ import annotations

import hashlib
import warnings
from collections import OrderedDict

import numpy as np
import torch

#: ESPIRiT's kernel width (BART's and SigPy's default), where the calibration region allows.
KERNEL_WIDTH = 6
#: The bytes of ESPIRiT maps :func:`memoised_espirit_maps` keeps (the oldest dropped first).
MEMO_BYTES = 2 ** 30
_MEMO: OrderedDict[str, torch.Tensor] = OrderedDict()


def _sigpy_mri():
    """``sigpy.mri`` (with its ``app``), imported on first use; SigPy's import of
    ``tqdm.auto`` warns in a notebook without ipywidgets, which says nothing about the maps."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        import sigpy.mri.app

    return sigpy.mri


def kernel_width(calib_width: int) -> int:
    """ESPIRiT's kernel width for ``calib_width`` calibration lines: BART's 6 from 12 lines on,
    else half the region (at least 2), so that small grids (the smoke phantom's 3 lines) still
    have calibration rows."""
    return min(KERNEL_WIDTH, max(2, calib_width // 2))


def birdcage_maps(coils: int, shape: tuple[int, int], radius: float = 1.5) -> np.ndarray:
    """Sensitivities of ``coils`` coils evenly spaced on a circle of ``radius`` (in units of the
    half field of view) around an image of ``shape = (H, W)``: complex64 ``(coils, H, W)`` with
    ``sum_c |S_c|^2 = 1``. One coil gives the single-coil case, ``S = 1``."""
    if not isinstance(coils, int) or coils < 1:
        raise ValueError(f"coils must be an integer >= 1, not {coils!r}")
    if coils == 1:
        return np.ones((1, *shape), np.complex64)
    return _sigpy_mri().birdcage_maps((coils, *shape), r=radius).astype(np.complex64)


def calibration_width(mask: torch.Tensor) -> int:
    """The auto-calibration block's width for ESPIRiT from one slice's column mask ``(W,)``: the
    sampled centre column ``W // 2`` and the contiguous sampled columns on both sides, as many
    on each as the shorter side has (a block centred where ESPIRiT crops it)."""
    sampled = (mask.reshape(-1) > 0).tolist()
    centre = len(sampled) // 2
    if not sampled[centre]:
        return 0
    left = next((i for i, s in enumerate(reversed(sampled[:centre])) if not s), centre)
    right = next((i for i, s in enumerate(sampled[centre + 1:]) if not s),
                 len(sampled) - centre - 1)
    return 1 + 2 * min(left, right)


def espirit_maps(kspace: torch.Tensor, calib_width: int, threshold: float = 0.02,
                 crop: float = 0.95) -> torch.Tensor:
    """ESPIRiT sensitivities from the k-space of one slice ``(C, H, W)`` (under-sampled is fine:
    only the central ``calib_width`` x ``calib_width`` auto-calibration block is used), complex64
    ``(C, H, W)`` on the k-space's device; the kernel is :func:`kernel_width`'s. ``threshold``
    and ``crop`` are ESPIRiT's (BART ``ecalib -t``, ``-c``); maps are zero where the eigenvalue
    is below ``crop`` (outside the object)."""
    if kspace.ndim != 3:
        raise ValueError(f"espirit_maps takes one slice's multi-coil k-space (C, H, W), not a "
                         f"tensor of shape {tuple(kspace.shape)}")
    kernel = kernel_width(calib_width)
    if not kernel < calib_width <= min(kspace.shape[-2:]):
        raise ValueError(f"calib_width {calib_width}: ESPIRiT needs an auto-calibration region "
                         f"wider than its kernel ({kernel}) that fits the k-space grid "
                         f"{tuple(kspace.shape[-2:])}; sample more central columns (a larger "
                         "centre fraction)")
    maps = _sigpy_mri().app.EspiritCalib(kspace.detach().cpu().numpy(), calib_width=calib_width,
                                      thresh=threshold, kernel_width=kernel, crop=crop,
                                      show_pbar=False).run()
    if not np.any(maps):
        raise ValueError(f"ESPIRiT found no sensitivity above crop={crop} anywhere (from "
                         f"{calib_width} calibration columns); lower crop or sample more "
                         "central columns")
    return torch.from_numpy(np.asarray(maps, np.complex64)).to(kspace.device)


def memoised_espirit_maps(kspace: torch.Tensor, calib_width: int, threshold: float = 0.02,
                          crop: float = 0.95) -> torch.Tensor:
    """:func:`espirit_maps`, estimated once per measured k-space and settings and reused (a
    scanner's calibration: every method reconstructing a slice, and every attack on it, uses
    the same maps); up to :data:`MEMO_BYTES` of maps are kept, keyed by the k-space's content,
    so two datasets with the same file names never share maps."""
    data = kspace.detach().cpu().numpy()
    key = hashlib.sha1(repr((data.shape, calib_width, threshold, crop)).encode()
                       + data.tobytes()).hexdigest()
    if key in _MEMO:
        _MEMO.move_to_end(key)
        return _MEMO[key].to(kspace.device)
    maps = espirit_maps(kspace, calib_width, threshold, crop)
    _MEMO[key] = maps.cpu()
    while sum(kept.nbytes for kept in _MEMO.values()) > MEMO_BYTES and len(_MEMO) > 1:
        _MEMO.popitem(last=False)
    return maps
