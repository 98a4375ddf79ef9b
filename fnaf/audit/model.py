"""Any reconstruction model as the attacks see one: a callable
``recon(masked_kspace, mask) -> image`` in fastMRI's conventions, checked on every call.

* ``masked_kspace``: complex, the measured k-space with zeros where not sampled — single-coil
  ``(B, H, W)``, multi-coil ``(B, C, H, W)`` (fastMRI's layout, centred, orthonormal FFT);
* ``mask``: float 0/1, ``(B, 1, W)`` single-coil or ``(B, 1, 1, W)`` multi-coil, one column per
  k-space column;
* ``image``: real magnitude ``(B, h, w)`` on the target's scale, at least the target's size (it
  is centre-cropped to the target, as fastMRI crops to 320×320).

:class:`ReconModel` holds the callable (an ``nn.Module`` one is registered, so ``eval()``
reaches it) and :class:`ReconPipeline` is its :mod:`fnaf.pipelines` pipeline: the same
:class:`~fnaf.attacks.pgd.KspacePGD` and :func:`~fnaf.attacks.measurement.pgd_dataset` that
attack the package's networks attack it. A call that returns the wrong type, dtype, shape or
device, or non-finite values, raises :class:`ReconError` naming what was expected.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from fnaf.data.transforms import KneeSlice
from fnaf.mri import center_crop
from fnaf.pipelines import Reconstruction

Recon = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class ReconError(ValueError):
    """A reconstruction callable broke the audit's contract (the message says how)."""


class ReconModel(nn.Module):
    """``recon`` as a module. ``optimises``: the model solves an optimisation problem per call
    (l1, an un-trained network), so its gradient is not the attack's to take (the two-step
    attack applies); ``name`` identifies it in the claim file."""

    def __init__(self, recon: Recon, name: str, optimises: bool = False):
        super().__init__()
        if not callable(recon):
            raise ReconError(f"the model to audit must be callable as recon(masked_kspace, "
                             f"mask) -> image, not a {type(recon).__name__}")
        self.recon, self.name, self.optimises = recon, name, optimises
        # moves with .to(device), so the attacks know where the model runs (not in its weights)
        self.register_buffer("anchor", torch.empty(0), persistent=False)

    def forward(self, masked_kspace: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.recon(masked_kspace, mask)


class ReconPipeline:
    """The pipeline of a :class:`ReconModel`: the batch's k-space masked, the model, its image
    checked (:func:`checked_image`) and centre-cropped to the target. It leaves the zero-filled
    magnitude out (PGD's steps do not read it); the FNAF searches compute it where they need it
    (:func:`fnaf.pipelines.zero_filled_magnitude`); so does the evaluation."""

    name = "recon"

    def __call__(self, model: ReconModel, batch: KneeSlice) -> Reconstruction:
        checked_mask(batch, model.name)
        image = model(batch.kspace * batch.mask, batch.mask)
        return Reconstruction(checked_image(image, batch, model.name), image)


def checked_mask(batch: KneeSlice, name: str) -> None:
    """:class:`ReconError` unless ``batch``'s mask has the contract's shape: one 0/1 value per
    k-space column, ``(B, 1, W)`` single-coil or ``(B, 1, 1, W)`` multi-coil."""
    kspace, mask = batch.kspace, batch.mask
    expected = (kspace.shape[0], *[1] * (kspace.ndim - 2), kspace.shape[-1])
    if tuple(mask.shape) != expected:
        raise ReconError(f"the mask given to {name} has shape {tuple(mask.shape)} for k-space "
                         f"{tuple(kspace.shape)}; expected {expected}: one value per k-space "
                         f"column ({kspace.shape[-1]}), as fastMRI's mask functions draw it")
    if not ((mask == 0) | (mask == 1)).all():
        raise ReconError(f"the mask given to {name} holds values other than 0 and 1")


def checked_image(image, batch: KneeSlice, name: str) -> torch.Tensor:
    """``image`` cropped to ``batch``'s target ``(B, h, w)``, or :class:`ReconError` saying
    which of the contract's terms it breaks."""
    expected = (f"a real floating tensor (B, h, w) = ({batch.kspace.shape[0]}, >= "
                f"{batch.target.shape[-2]}, >= {batch.target.shape[-1]}) on "
                f"{batch.kspace.device}")
    if not isinstance(image, torch.Tensor):
        raise ReconError(f"{name} returned a {type(image).__name__}; expected {expected}")
    if image.is_complex() or not image.is_floating_point():
        raise ReconError(f"{name} returned dtype {image.dtype}; expected {expected} (take the "
                         "magnitude of a complex image: image.abs())")
    if image.device != batch.kspace.device:
        raise ReconError(f"{name} returned an image on {image.device} for k-space on "
                         f"{batch.kspace.device}; expected {expected}")
    size, target = tuple(image.shape), tuple(batch.target.shape)
    if (image.ndim != 3 or size[0] != target[0] or size[1] < target[1]
            or size[2] < target[2]):
        raise ReconError(f"{name} returned shape {size}; expected {expected}")
    if not torch.isfinite(image).all():
        raise ReconError(f"{name} returned non-finite values (NaN or inf) for slices "
                         f"{_names(batch, ~torch.isfinite(image).flatten(1).all(1))}")
    return center_crop(image, target[-2:])


def _names(batch: KneeSlice, rows: torch.Tensor) -> list[str]:
    return [f"{fname}:{int(number)}" for fname, number, bad in
            zip(batch.fname, batch.slice_num, rows.tolist()) if bad]
