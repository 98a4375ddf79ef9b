"""Reconstruction metrics with fastMRI's ``evaluate.py`` rules.

All three take whole volumes ``(S, H, W)`` as numpy arrays. NMSE and PSNR are computed over the
whole volume; SSIM per slice and averaged; the data range is the *volume* maximum of the ground
truth unless ``maxval`` is given (fastMRI's Lightning validation passes ``attrs["max"]``).
Robustness-CS's SSIM (:func:`robustness_cs_ssim`) is an option of :func:`slice_scores` beside it.
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


#: The SSIM variants: fastMRI's (:func:`ssim`, the default) and Robustness-CS's
#: (:func:`robustness_cs_ssim`).
SSIM_VARIANTS = ("fastmri", "robustness-cs")


def check_ssim_variant(ssim_variant: str) -> None:
    """Refuse an ``ssim_variant`` outside :data:`SSIM_VARIANTS`."""
    if ssim_variant not in SSIM_VARIANTS:
        raise ValueError(f"unknown ssim_variant {ssim_variant!r}; accepted: "
                         f"{list(SSIM_VARIANTS)}")


def robustness_cs_ssim(gt: np.ndarray, pred: np.ndarray) -> float:
    """Robustness-CS's SSIM of one slice ``(h, w)``: the ground truth matched to the
    prediction's mean and standard deviation, ``g' = (g - mean g) / std g * std p + mean p``,
    then scikit-image's SSIM (7x7 uniform window, sample covariance) with data range
    ``max g'`` (their ``ssim1_``; the score ignores the ground truth's scale and offset)."""
    _check_volumes(gt, pred)
    if gt.ndim != 2:
        raise ValueError(f"robustness_cs_ssim expects one slice (h, w), got {gt.ndim} dimensions")
    gt, pred = gt.astype(np.float64), pred.astype(np.float64)
    if not gt.std() > 0:
        raise ValueError("robustness_cs_ssim needs a ground truth that is not constant")
    matched = (gt - gt.mean()) / gt.std() * pred.std() + pred.mean()
    return float(structural_similarity(matched, pred, data_range=matched.max()))


def slice_scores(reference: np.ndarray, prediction: np.ndarray, maxval: float,
                 ssim_variant: str = SSIM_VARIANTS[0]) -> dict:
    """SSIM, PSNR and NMSE of one slice ``(h, w)`` against ``reference``, data range
    ``maxval`` (the volume maximum, fastMRI's rule). ``ssim_variant`` ``"fastmri"`` (the
    default) is :func:`ssim`; ``"robustness-cs"`` :func:`robustness_cs_ssim` (``maxval`` unused
    by it; PSNR and NMSE stay fastMRI's)."""
    check_ssim_variant(ssim_variant)
    gt, pred = reference[None].astype(np.float64), prediction[None].astype(np.float64)
    structural = (ssim(gt, pred, maxval) if ssim_variant == "fastmri"
                  else robustness_cs_ssim(gt[0], pred[0]))
    return {"SSIM": structural, "PSNR": psnr(gt, pred, maxval), "NMSE": nmse(gt, pred)}
