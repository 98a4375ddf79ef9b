"""The End-to-End Variational Network (Sriram et al., 2020): ``fastmri.models.VarNet``, drop-in.

Same constructor arguments, the same ``state_dict`` keys and shapes (``sens_net.norm_unet.unet.*``,
``cascades.{i}.dc_weight``, ``cascades.{i}.model.unet.*``) and the same computation, so fastMRI's
weight files load unchanged (:func:`fnaf.models.load_weights`). Inside, k-space is a complex
tensor (``DESIGN.md``); ``forward`` also takes fastMRI's real ``(..., 2)`` layout and boolean
``(B, 1, 1, W, 1)`` masks.

* :class:`SensitivityModel`: the auto-calibration lines (the central run of sampled columns, or
  ``num_low_frequencies``) -> coil images -> a normalised U-Net per coil -> divided by their
  root-sum-of-squares.
* :class:`VarNetBlock` (one cascade): ``k <- k - λ M (k - k0) - E(U(R(k)))``, with the expand
  ``E(x) = F(S x)``, the reduce ``R(k) = Σ_c conj(S_c) F^-1(k_c)`` and a learned ``λ``
  (``dc_weight``).
* Output: the root-sum-of-squares over coils of ``|F^-1(k)|``, ``(B, H, W)`` on the full grid.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from fnaf.models.unet import UNet
from fnaf.mri import fft2c, ifft2c, rss


class NormUnet(nn.Module):
    """A U-Net on complex images ``(B, C, H, W)``: real and imaginary parts as ``2C`` channels
    (all real parts first), each part normalised by its mean and unbiased std over the image,
    zero-padded to multiples of 16, and the normalisation undone after the network."""

    def __init__(self, chans: int, num_pools: int, in_chans: int = 2, out_chans: int = 2,
                 drop_prob: float = 0.0):
        super().__init__()
        self.unet = UNet(in_chans, out_chans, chans, num_pools, drop_prob)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        batch, coils, height, width = image.shape
        channels = torch.cat([image.real, image.imag], dim=1)
        groups = channels.reshape(batch, 2, -1)
        mean = groups.mean(-1).repeat_interleave(coils, dim=1)[..., None, None]
        std = groups.std(-1).repeat_interleave(coils, dim=1)[..., None, None]
        channels = (channels - mean) / std
        pad_h, pad_w = (-height) % 16, (-width) % 16
        top, left = pad_h // 2, pad_w // 2
        channels = F.pad(channels, [left, pad_w - left, top, pad_h - top])
        channels = self.unet(channels)[..., top:top + height, left:left + width]
        channels = channels * std + mean
        return torch.complex(channels[:, :coils], channels[:, coils:])


def low_frequency_columns(mask: torch.Tensor, num_low_frequencies: int | None = None
                          ) -> tuple[torch.Tensor, torch.Tensor]:
    """The auto-calibration columns ``[start, start + count)`` of each slice's mask ``(B, W)``:
    ``count`` is ``num_low_frequencies``, or twice the shorter run of sampled columns on either
    side of the centre (at least 1), as fastMRI's ``get_pad_and_num_low_freqs``;
    ``start = (W - count + 1) // 2``. Returns ``(start, count)``, each ``(B,)`` long."""
    width = mask.shape[-1]
    if num_low_frequencies:
        count = torch.full((mask.shape[0],), int(num_low_frequencies), device=mask.device)
    else:
        sampled = mask.to(torch.int8)
        centre = width // 2
        left = torch.argmin(sampled[:, :centre].flip(1), dim=1)
        right = torch.argmin(sampled[:, centre:], dim=1)
        count = torch.clamp(2 * torch.minimum(left, right), min=1)
    return ((width - count + 1) // 2).long(), count.long()


class SensitivityModel(nn.Module):
    """Coil sensitivities ``(B, C, H, W)`` complex estimated from the auto-calibration lines."""

    def __init__(self, chans: int, num_pools: int, in_chans: int = 2, out_chans: int = 2,
                 drop_prob: float = 0.0, mask_center: bool = True):
        super().__init__()
        self.mask_center = mask_center
        self.norm_unet = NormUnet(chans, num_pools, in_chans, out_chans, drop_prob)

    def forward(self, masked_kspace: torch.Tensor, mask: torch.Tensor,
                num_low_frequencies: int | None = None) -> torch.Tensor:
        """``masked_kspace`` ``(B, C, H, W)`` complex, ``mask`` ``(B, W)`` bool."""
        if self.mask_center:
            start, count = low_frequency_columns(mask, num_low_frequencies)
            columns = torch.arange(mask.shape[-1], device=mask.device)
            keep = (columns >= start[:, None]) & (columns < (start + count)[:, None])
            masked_kspace = masked_kspace * keep[:, None, None, :]
        batch, coils, height, width = masked_kspace.shape
        images = ifft2c(masked_kspace).reshape(batch * coils, 1, height, width)
        maps = self.norm_unet(images).reshape(batch, coils, height, width)
        return maps / rss(maps, dim=1).unsqueeze(1)


class VarNetBlock(nn.Module):
    """One cascade: soft data consistency with a learned weight, plus a refinement of the
    coil-combined image by ``model`` (eq. of Sriram et al. 2020, Sec. 3.2)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.dc_weight = nn.Parameter(torch.ones(1))

    def forward(self, current: torch.Tensor, reference: torch.Tensor, mask: torch.Tensor,
                maps: torch.Tensor) -> torch.Tensor:
        """``current``, ``reference`` ``(B, C, H, W)`` complex; ``mask`` ``(B, 1, 1, W)`` bool."""
        soft_dc = torch.where(mask, current - reference, torch.zeros_like(current))
        reduced = (ifft2c(current) * maps.conj()).sum(dim=1, keepdim=True)
        model_term = fft2c(self.model(reduced) * maps)
        return current - soft_dc * self.dc_weight - model_term


def as_complex_kspace(kspace: torch.Tensor) -> torch.Tensor:
    """k-space as a complex ``(B, C, H, W)`` tensor: from complex ``(B, C, H, W)`` or
    ``(B, H, W)`` (single-coil: one coil), or fastMRI's real ``(B, C, H, W, 2)``."""
    if not kspace.is_complex():
        if kspace.shape[-1] != 2:
            raise ValueError(f"k-space of shape {tuple(kspace.shape)}: give a complex tensor "
                             "(B, C, H, W) or fastMRI's real layout (B, C, H, W, 2)")
        kspace = torch.view_as_complex(kspace.contiguous())
    if kspace.ndim == 3:
        kspace = kspace.unsqueeze(1)
    if kspace.ndim != 4:
        raise ValueError(f"k-space of shape {tuple(kspace.shape)}: the VarNet takes "
                         "(B, coils, H, W) (or (B, H, W) for one coil)")
    return kspace


def column_mask(mask: torch.Tensor, batch: int) -> torch.Tensor:
    """A sampling mask of columns as ``(B, W)`` bool: from fastMRI's ``(B, 1, 1, W, 1)`` or any
    shape whose last non-singleton axis is the columns (``(B, 1, W)``, ``(B, 1, 1, W)``)."""
    if mask.ndim == 5:
        mask = mask[..., 0]
    columns = mask.reshape(mask.shape[0], -1).bool()
    return columns.expand(batch, -1) if columns.shape[0] == 1 else columns


class VarNet(nn.Module):
    """The End-to-End VarNet, with ``fastmri.models.VarNet``'s arguments and weights.

    Args:
        num_cascades: cascades (unrolled iterations).
        sens_chans, sens_pools: width and depth of the sensitivity U-Net.
        chans, pools: width and depth of each cascade's U-Net.
        mask_center: estimate the maps from the auto-calibration lines only.

    Shape: ``forward(masked_kspace (B, C, H, W) complex, mask, num_low_frequencies=None)`` ->
    ``(B, H, W)`` real, the RSS image on the k-space's grid (crop it to the target outside).
    """

    def __init__(self, num_cascades: int = 12, sens_chans: int = 8, sens_pools: int = 4,
                 chans: int = 18, pools: int = 4, mask_center: bool = True):
        super().__init__()
        self.sens_net = SensitivityModel(sens_chans, sens_pools, mask_center=mask_center)
        self.cascades = nn.ModuleList(
            [VarNetBlock(NormUnet(chans, pools)) for _ in range(num_cascades)])

    def forward(self, masked_kspace: torch.Tensor, mask: torch.Tensor,
                num_low_frequencies: int | None = None) -> torch.Tensor:
        kspace = as_complex_kspace(masked_kspace)
        columns = column_mask(mask, kspace.shape[0])
        maps = self.sens_net(kspace, columns, num_low_frequencies)
        sampled = columns[:, None, None, :]
        prediction = kspace
        for cascade in self.cascades:
            prediction = cascade(prediction, kspace, sampled, maps)
        return rss(ifft2c(prediction), dim=1)
