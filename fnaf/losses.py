"""Training losses.

:class:`SSIMLoss` is fastMRI's: 7x7 uniform window, valid (unpadded) local statistics and the
49/48 sample-covariance factor, so ``1 - loss`` equals scikit-image's SSIM of the same images with
the same data range. :class:`IrimSSIMLoss` is the reflect-padded variant the i-RIM release trains
with (``irim_fastMRI``'s ``ssim_uniform``); it gives different values, so do not mix the two.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SSIMLoss(nn.Module):
    """``1 - SSIM`` of images ``(B, 1, H, W)`` with a per-sample ``data_range`` ``(B,)``."""

    def __init__(self, win_size: int = 7, k1: float = 0.01, k2: float = 0.03):
        super().__init__()
        self.win_size, self.k1, self.k2 = win_size, k1, k2
        self.register_buffer("w", torch.ones(1, 1, win_size, win_size) / win_size**2)
        num_pixels = win_size**2
        self.cov_norm = num_pixels / (num_pixels - 1)

    def ssim_map(self, x: torch.Tensor, y: torch.Tensor, data_range: torch.Tensor):
        """The SSIM map ``(B, 1, H - win + 1, W - win + 1)``."""
        data_range = data_range.reshape(-1, 1, 1, 1)
        c1, c2 = (self.k1 * data_range) ** 2, (self.k2 * data_range) ** 2
        w = self.w.to(x)
        mean_x, mean_y = F.conv2d(x, w), F.conv2d(y, w)
        var_x = self.cov_norm * (F.conv2d(x * x, w) - mean_x * mean_x)
        var_y = self.cov_norm * (F.conv2d(y * y, w) - mean_y * mean_y)
        cov_xy = self.cov_norm * (F.conv2d(x * y, w) - mean_x * mean_y)
        numerator = (2 * mean_x * mean_y + c1) * (2 * cov_xy + c2)
        denominator = (mean_x**2 + mean_y**2 + c1) * (var_x + var_y + c2)
        return numerator / denominator

    def forward(self, x: torch.Tensor, y: torch.Tensor, data_range: torch.Tensor,
                reduced: bool = True) -> torch.Tensor:
        ssim = self.ssim_map(x, y, data_range)
        return 1 - ssim.mean() if reduced else 1 - ssim


class IrimSSIMLoss(nn.Module):
    """``-SSIM`` as the i-RIM release trains with (``training_utils/ssim.py:ssim_uniform``).

    Images ``(B, 1, H, W)`` must already be divided by the volume max (the release divides both
    estimate and target by ``attrs["max"]``). A 7x7 uniform window gives local statistics.
    Unlike :class:`SSIMLoss` (fastMRI, equal to scikit-image): the images are reflect-padded by
    3 pixels so the map covers the full image and is averaged over all of it; variances and
    covariance are biased (no 49/48 factor); the constants are fixed, ``C1 = 0.01**2`` and
    ``C2 = 0.03**2`` (a data range of 1); the loss is ``-SSIM`` (in ``[-1, 1]``), not
    ``1 - SSIM``. The mean over the batch equals the release's per-sample mean followed by the
    batch mean, since all samples have the same size.
    """

    def __init__(self, win_size: int = 7, k1: float = 0.01, k2: float = 0.03):
        super().__init__()
        self.win_size, self.k1, self.k2 = win_size, k1, k2
        self.register_buffer("w", torch.ones(1, 1, win_size, win_size) / win_size**2)

    def _local_mean(self, image: torch.Tensor) -> torch.Tensor:
        pad = self.win_size // 2
        padded = F.pad(image, [pad, pad, pad, pad], mode="reflect")
        return F.conv2d(padded, self.w.to(image))

    def ssim_map(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The SSIM map ``(B, 1, H, W)``."""
        mean_x, mean_y = self._local_mean(x), self._local_mean(y)
        var_x = self._local_mean(x * x) - mean_x**2
        var_y = self._local_mean(y * y) - mean_y**2
        cov_xy = self._local_mean(x * y) - mean_x * mean_y
        c1, c2 = self.k1**2, self.k2**2
        luminance = (2 * mean_x * mean_y + c1) / (mean_x**2 + mean_y**2 + c1)
        contrast = (2 * cov_xy + c2) / (var_x + var_y + c2)
        return luminance * contrast

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return -self.ssim_map(x, y).mean()


def masked_nmse(prediction: torch.Tensor, target: torch.Tensor, region: torch.Tensor,
                eps: float = 1e-12) -> torch.Tensor:
    """NMSE inside a region, per slice: ``||T(x - y)||^2 / ||T(y)||^2`` (the FNAF paper's eq. 5
    term, normalised by the *target's* energy in T).

    ``prediction``, ``target`` ``(N, h, w)``; ``region`` bool ``(N, h, w)``. Returns ``(N,)``.
    """
    region = region.to(prediction.dtype)
    error = ((prediction - target) * region).pow(2).sum(dim=(-2, -1))
    energy = (target * region).pow(2).sum(dim=(-2, -1))
    return error / energy.clamp_min(eps)


def masked_l1(prediction: torch.Tensor, target: torch.Tensor, region: torch.Tensor,
              eps: float = 1e-12) -> torch.Tensor:
    """Mean absolute error inside a region, per slice: ``||T(x - y)||_1 / |T|`` (the released
    U-Net code's FNAF training term). Shapes as :func:`masked_nmse`; returns ``(N,)``."""
    region = region.to(prediction.dtype)
    error = ((prediction - target) * region).abs().sum(dim=(-2, -1))
    return error / region.sum(dim=(-2, -1)).clamp_min(eps)
