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

from fnaf.data.masks import MaskFunc, apply_mask, central_columns, volume_seed
from fnaf.mri import MRIOperator, center_crop, fft2c, ifft2c

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


def unet_input(zero_filled: torch.Tensor, crop_size: tuple[int, int],
               statistics: tuple[torch.Tensor, torch.Tensor] | None = None):
    """U-Net input from a complex zero-filled image ``(..., H, W)``, normalised by each slice's
    own mean and std (fastMRI), or by given ``statistics`` ``(mean, std)`` of shape
    ``(...)`` (the released FNAF code's statistics of a whole batch).

    Returns:
        ``(image, mean, std)``: ``image`` is ``(..., h, w)`` float, normalised and clamped.
    """
    magnitude = center_crop(zero_filled, crop_size).abs()
    if statistics is None:
        image, mean, std = normalize_instance(magnitude, NORM_EPS)
    else:
        mean, std = statistics
        image = normalize(magnitude, mean, std, NORM_EPS)
    return image.clamp(-CLAMP, CLAMP), mean, std


def unet_target(target: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Normalise a magnitude target ``(..., h, w)`` with the input's statistics and clamp it."""
    return normalize(target, mean, std, NORM_EPS).clamp(-CLAMP, CLAMP)


class KneeSlice(NamedTuple):
    """One slice as the training engine and the attacks see it (collates into a batch).

    ``kspace`` the fully-sampled complex k-space ``(H, W)`` (multi-coil ``(C, H, W)``); ``mask``
    the sampling mask ``(1, W)`` (multi-coil ``(1, 1, W)``) float; ``target`` the magnitude
    target ``(h, w)``; ``max_value`` the volume maximum (``attrs["max"]``); ``acquisition``
    (``CORPD_FBK``/``CORPDFS_FBK``) and ``system_model`` (the scanner, ``""`` when the header
    lacks it) feed the I-RIM's metadata.
    """

    kspace: torch.Tensor
    mask: torch.Tensor
    target: torch.Tensor
    max_value: float
    fname: str
    slice_num: int
    acquisition: str
    system_model: str

    def to(self, device: torch.device | str) -> KneeSlice:
        """The collated batch with its tensors on ``device`` (``max_value`` as float32)."""
        return self._replace(
            kspace=self.kspace.to(device, non_blocking=True),
            mask=self.mask.to(device, non_blocking=True),
            target=self.target.to(device, non_blocking=True),
            max_value=torch.as_tensor(self.max_value, dtype=torch.float32).to(device))


def select_slices(batch: KneeSlice, index: torch.Tensor) -> KneeSlice:
    """Rows ``index`` (a 1-D integer tensor) of a collated batch."""
    picked = index.tolist()
    return KneeSlice(*(field[index.to(field.device)] if torch.is_tensor(field)
                       else [field[i] for i in picked] for field in batch))


def repeat_slices(batch: KneeSlice, times: int) -> KneeSlice:
    """Each slice of a collated batch repeated ``times`` times in a row."""
    index = torch.arange(len(batch.fname)).repeat_interleave(times)
    return select_slices(batch, index)


def resize_fov(image: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """Zero-pad, then centre-crop an image ``(..., H, W)`` to ``shape`` (i-RIM's training crop)."""
    pad_h, pad_w = max(shape[0] - image.shape[-2], 0), max(shape[1] - image.shape[-1], 0)
    padded = torch.nn.functional.pad(image, (pad_w // 2, pad_w - pad_w // 2,
                                             pad_h // 2, pad_h - pad_h // 2))
    return center_crop(padded, shape)


class SliceTransform:
    """Draw the slice's sampling mask and return a :class:`KneeSlice`.

    Args:
        mask_func: a :class:`~fnaf.data.masks.MaskFunc`; ``None`` uses the file's stored mask
            (fastMRI test files) or samples everything.
        use_seed: seed the mask with the file name (validation: one fixed mask per volume);
            otherwise the mask is drawn with the ``seed`` given per call (training).
        resolution: re-grid the k-space to this ``(H, W)`` field of view first (the i-RIM's
            ``--train_resolution 368 368``: image-domain zero-pad/crop, then FFT);
            ``None`` keeps it.
        target_columns: zero the drawn mask outside the central columns as wide as the target
            (Robustness-CS's handling of fastMRI's zero-padded edges,
            :func:`~fnaf.data.masks.central_columns`); ``False`` (fastMRI's) keeps every column.
    """

    def __init__(self, mask_func: MaskFunc | None = None, use_seed: bool = True,
                 resolution: tuple[int, int] | None = None, target_columns: bool = False):
        self.mask_func = mask_func
        self.use_seed = use_seed
        self.resolution = resolution
        self.target_columns = target_columns

    def __call__(self, kspace, mask, target, attrs, fname, slice_num,
                 seed: int | None = None) -> KneeSlice:
        kspace = torch.as_tensor(np.asarray(kspace))
        if self.resolution is not None:
            kspace = fft2c(resize_fov(ifft2c(kspace), self.resolution))
        if target is None:
            target = torch.zeros(attrs["recon_size"][0], attrs["recon_size"][1])
        if self.mask_func is not None:
            padding = (central_columns(kspace.shape[-1], np.shape(target)[-1])
                       if self.target_columns else None)
            _, sampling_mask, _ = apply_mask(
                kspace, self.mask_func, seed=volume_seed(fname) if self.use_seed else seed,
                padding=padding)
        elif mask is None or self.resolution is not None:
            sampling_mask = torch.ones(1, kspace.shape[-1])
        else:
            sampling_mask = torch.as_tensor(np.asarray(mask), dtype=torch.float32)[None]
        return KneeSlice(
            kspace=kspace,
            mask=sampling_mask.reshape(*[1] * (kspace.ndim - 1), -1).float(),
            target=torch.as_tensor(np.asarray(target)),
            max_value=float(attrs.get("max", 0.0)),
            fname=fname,
            slice_num=slice_num,
            acquisition=str(attrs.get("acquisition", "")),
            system_model=attrs.get("system_model") or "",
        )


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
        self.slices = SliceTransform(mask_func, use_seed)

    def __call__(self, kspace, mask, target, attrs, fname, slice_num) -> UnetSample:
        knee = self.slices(kspace, mask, target, attrs, fname, slice_num)
        image, mean, std = unet_input(MRIOperator(knee.mask).A_adjoint(knee.kspace),
                                      tuple(knee.target.shape))
        return UnetSample(
            image=image,
            target=unet_target(knee.target, mean, std),
            mean=mean,
            std=std,
            fname=fname,
            slice_num=slice_num,
            max_value=knee.max_value,
            kspace=knee.kspace,
            mask=knee.mask,
            target_magnitude=knee.target,
        )
