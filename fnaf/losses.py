"""Training losses.

:class:`SSIMLoss` is fastMRI's: 7x7 uniform window, valid (unpadded) local statistics and the
49/48 sample-covariance factor, so ``1 - loss`` equals scikit-image's SSIM of the same images with
the same data range. (The i-RIM release uses a different, reflect-padded SSIM; it belongs to the
I-RIM model, not here.)
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
        w = self.w.to(x.dtype)
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
