"""Reconstruction metrics with fastMRI's ``evaluate.py`` rules.

All three take whole volumes ``(S, H, W)`` as numpy arrays. NMSE and PSNR are computed over the
whole volume; SSIM per slice and averaged; the data range is the *volume* maximum of the ground
truth unless ``maxval`` is given (fastMRI's Lightning validation passes ``attrs["max"]``).
"""

from __future__ import annotations

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from fnaf.losses import masked_nmse


def _check_volumes(gt: np.ndarray, pred: np.ndarray) -> None:
    if gt.shape != pred.shape:
        raise ValueError(f"ground truth {gt.shape} and prediction {pred.shape} differ in shape")


def mse(gt: np.ndarray, pred: np.ndarray) -> float:
    """Mean squared error over the whole volume."""
    _check_volumes(gt, pred)
    return float(np.mean((gt - pred) ** 2))


def nmse(gt: np.ndarray, pred: np.ndarray) -> float:
    """``||gt - pred||^2 / ||gt||^2`` over the whole volume."""
    _check_volumes(gt, pred)
    return float(np.linalg.norm(gt - pred) ** 2 / np.linalg.norm(gt) ** 2)


def psnr(gt: np.ndarray, pred: np.ndarray, maxval: float | None = None) -> float:
    """``10 log10(maxval^2 / MSE)`` over the whole volume; ``maxval`` defaults to ``gt.max()``."""
    _check_volumes(gt, pred)
    maxval = gt.max() if maxval is None else maxval
    return float(peak_signal_noise_ratio(gt, pred, data_range=maxval))


def ssim(gt: np.ndarray, pred: np.ndarray, maxval: float | None = None) -> float:
    """Mean over slices of scikit-image's SSIM (7x7 uniform window, sample covariance),
    each with the volume's data range ``maxval`` (default ``gt.max()``)."""
    _check_volumes(gt, pred)
    if gt.ndim != 3:
        raise ValueError(f"ssim expects volumes (S, H, W), got {gt.ndim} dimensions")
    maxval = gt.max() if maxval is None else maxval
    values = [
        structural_similarity(gt[index], pred[index], data_range=maxval)
        for index in range(gt.shape[0])
    ]
    return float(np.mean(values))


def region_nmse(gt: np.ndarray, pred: np.ndarray, region: np.ndarray) -> float:
    """NMSE over the pixels where the boolean ``region`` is set (e.g. an abnormality box):
    ``||gt_R - pred_R||^2 / ||gt_R||^2`` (the released B-Box evaluation's BBOX_NMSE), in float64
    through the package's one definition, :func:`fnaf.losses.masked_nmse`."""
    _check_volumes(gt, pred)
    region = np.broadcast_to(np.asarray(region, dtype=bool), gt.shape)
    if not region.any():
        raise ValueError("region_nmse needs a non-empty region")
    width = gt.shape[-1]

    def flat(array) -> torch.Tensor:  # the whole array as one (1, rows, width) "slice"
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float64)).reshape(
            1, -1, width)

    return float(masked_nmse(flat(pred), flat(gt), flat(region).bool(), eps=0.0)[0])


def volume_metrics(gt: np.ndarray, pred: np.ndarray, maxval: float | None = None) -> dict:
    """NMSE, PSNR and SSIM of one volume (``maxval`` is used by PSNR and SSIM)."""
    return {"NMSE": nmse(gt, pred), "PSNR": psnr(gt, pred, maxval), "SSIM": ssim(gt, pred, maxval)}


def slice_scores(reference: np.ndarray, prediction: np.ndarray, maxval: float) -> dict:
    """SSIM, PSNR and NMSE of one slice ``(h, w)`` against ``reference``, data range
    ``maxval`` (the volume maximum, fastMRI's rule)."""
    gt, pred = reference[None].astype(np.float64), prediction[None].astype(np.float64)
    return {"SSIM": ssim(gt, pred, maxval), "PSNR": psnr(gt, pred, maxval),
            "NMSE": nmse(gt, pred)}
