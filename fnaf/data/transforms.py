"""fastMRI's U-Net input pipeline on torch complex tensors, batched over leading dimensions.

zero-filled image -> complex centre crop to the target size -> magnitude -> per-slice
normalisation ``(x - mean) / (std + eps)`` with the unbiased std and ``eps = 1e-11`` -> clamp to
``[-6, 6]``; the target is normalised with the *input's* mean and std and clamped the same way
(fastMRI ``UnetDataTransform``). The functions take ``(..., H, W)`` tensors and treat every slice
(the last two dimensions) on its own, so the attack code can push a batch of perturbed k-spaces
through the very same pipeline.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from fnaf.data.masks import MaskFunc, apply_mask, volume_seed
from fnaf.mri import center_crop, ifft2c

NORM_EPS = 1e-11
CLAMP = 6.0


def _per_slice(stat: torch.Tensor) -> torch.Tensor:
    return stat[..., None, None]


def normalize(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, eps: float = 0.0):
    """``(x - mean) / (std + eps)`` with ``mean``/``std`` of shape ``x.shape[:-2]``."""
    return (x - _per_slice(mean)) / (_per_slice(std) + eps)


def unnormalize(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Invert the normalisation as fastMRI's ``UnetModule`` does: ``x * std + mean``."""
    return x * _per_slice(std) + _per_slice(mean)


def normalize_instance(x: torch.Tensor, eps: float = NORM_EPS):
    """Normalise each slice ``(..., H, W)`` by its own mean and unbiased std.

    Returns:
        ``(normalized, mean, std)``; ``mean`` and ``std`` have shape ``x.shape[:-2]``.
    """
    mean = x.mean(dim=(-2, -1))
    std = x.std(dim=(-2, -1))  # unbiased (N - 1), as torch.std in fastMRI
    return normalize(x, mean, std, eps), mean, std


def unet_input(zero_filled: torch.Tensor, crop_size: tuple[int, int]):
    """U-Net input from a complex zero-filled image ``(..., H, W)``.

    Returns:
        ``(image, mean, std)``: ``image`` is ``(..., h, w)`` float, normalised and clamped.
    """
    magnitude = center_crop(zero_filled, crop_size).abs()
    image, mean, std = normalize_instance(magnitude, NORM_EPS)
    return image.clamp(-CLAMP, CLAMP), mean, std


def unet_target(target: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Normalise a magnitude target ``(..., h, w)`` with the input's statistics and clamp it."""
    return normalize(target, mean, std, NORM_EPS).clamp(-CLAMP, CLAMP)


class UnetSample(NamedTuple):
    """One slice prepared for the U-Net, with everything the attacks need to rebuild it.

    ``image``/``target`` ``(h, w)`` normalised; ``mean``/``std`` 0-d; ``kspace`` the
    fully-sampled complex k-space ``(H, W)``; ``mask`` ``(1, W)`` float; ``target_magnitude`` the
    un-normalised target ``(h, w)``; ``max_value`` the volume maximum (``attrs["max"]``).
    """

    image: torch.Tensor
    target: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor
    fname: str
    slice_num: int
    max_value: float
    kspace: torch.Tensor
    mask: torch.Tensor
    target_magnitude: torch.Tensor


class UnetDataTransform:
    """fastMRI's ``UnetDataTransform`` for single-coil data, returning :class:`UnetSample`.

    Args:
        mask_func: a :class:`~fnaf.data.masks.MaskFunc`; ``None`` uses the k-space as given.
        use_seed: seed the mask with the file name (validation); ``False`` draws a fresh mask.
    """

    def __init__(self, mask_func: MaskFunc | None = None, use_seed: bool = True):
        self.mask_func = mask_func
        self.use_seed = use_seed

    def __call__(self, kspace, mask, target, attrs, fname, slice_num) -> UnetSample:
        kspace = torch.as_tensor(np.asarray(kspace))
        max_value = float(attrs.get("max", 0.0))
        if self.mask_func is not None:
            seed = volume_seed(fname) if self.use_seed else None
            masked, sampling_mask, _ = apply_mask(kspace, self.mask_func, seed=seed)
        else:
            if mask is None:
                sampling_mask = torch.ones(1, kspace.shape[-1])
            else:
                sampling_mask = torch.as_tensor(np.asarray(mask), dtype=torch.float32)[None]
            masked = kspace * sampling_mask
        if target is not None:
            target = torch.as_tensor(np.asarray(target))
            crop_size = tuple(target.shape[-2:])
        else:
            crop_size = (attrs["recon_size"][0], attrs["recon_size"][1])
        image, mean, std = unet_input(ifft2c(masked), crop_size)
        if target is None:
            target = torch.zeros(crop_size)
        normalized_target = unet_target(target, mean, std)
        return UnetSample(
            image=image,
            target=normalized_target,
            mean=mean,
            std=std,
            fname=fname,
            slice_num=slice_num,
            max_value=max_value,
            kspace=kspace,
            mask=sampling_mask,
            target_magnitude=target,
        )
