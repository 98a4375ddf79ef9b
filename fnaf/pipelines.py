"""How each model turns under-sampled k-space into a magnitude image, and its own training loss.

A pipeline is the bridge between the model-agnostic batch (a collated
:class:`~fnaf.data.transforms.KneeSlice`: full k-space, mask, magnitude target) and one model
family. It is batched and runs on the model's device, so the training engine and the attacks share
it: an attack builds ``batch._replace(kspace=..., target=...)`` (eq. 2-4) and calls the very same
pipeline.

* :class:`UnetPipeline` — fastMRI's U-Net: zero-filled magnitude of the central crop (multi-coil:
  the root-sum-of-squares of the coil images), per-slice normalisation, the network,
  de-normalisation; loss L1 on the normalised images (``UnetModule``).
* :class:`VarnetPipeline` — the End-to-End VarNet: masked k-space (one or several coils) and the
  mask in, the RSS image cropped to the target; loss 1 − SSIM with the volume maximum as the data
  range (fastMRI's ``VarNetModule``).
* :class:`IrimPipeline` — the i-RIM: complex zero-filled image of the full field of view plus the
  mask and the scanner/contrast one-hot, complex estimate, central crop, magnitude; loss −SSIM
  (the i-RIM's own variant) on images divided by the volume maximum.
* :class:`ClassifierPipeline` — the patch classifier: a batch of standardised patches
  (:class:`~fnaf.data.patches.PatchBatch`) to two-class logits; loss cross-entropy (§3.8.2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from fnaf.data.transforms import KneeSlice, unet_input, unet_target, unnormalize
from fnaf.losses import IrimSSIMLoss, SSIMLoss
from fnaf.models.irim import metadata_one_hot
from fnaf.mri import MRIOperator, center_crop, zero_filled_image


class Reconstruction(NamedTuple):
    """A model's output for a batch.

    ``magnitude`` ``(B, h, w)`` on the target's scale (what the metrics see); ``output`` the
    network's raw output (U-Net: normalised ``(B, h, w)``; I-RIM: complex ``(B, H, W)``);
    ``mean``/``std`` ``(B,)`` the U-Net input statistics (``None`` for the I-RIM);
    ``zero_filled`` ``(B, h, w)`` the magnitude of the zero-filled input on the target crop.
    """

    magnitude: torch.Tensor
    output: torch.Tensor
    mean: torch.Tensor | None = None
    std: torch.Tensor | None = None
    zero_filled: torch.Tensor | None = None

    def rows(self, index: torch.Tensor) -> Reconstruction:
        """The reconstructions of the slices ``index``."""
        return Reconstruction(*(None if field is None else field[index] for field in self))


def zero_filled_magnitude(batch: KneeSlice) -> torch.Tensor:
    """``|U(y)|`` on the target crop, ``(B, h, w)`` (multi-coil: the RSS of the coil images),
    where a pipeline's :class:`Reconstruction` does not carry it."""
    return center_crop(zero_filled_image(batch.kspace, batch.mask),
                       tuple(batch.target.shape[-2:])).abs()


def input_magnitude(reconstruction: Reconstruction, batch: KneeSlice) -> torch.Tensor:
    """The zero-filled magnitude ``(B, h, w)`` the reconstruction carries, or computed from
    ``batch`` where its pipeline leaves it out."""
    return (reconstruction.zero_filled if reconstruction.zero_filled is not None
            else zero_filled_magnitude(batch))


class UnetPipeline:
    """fastMRI's U-Net pipeline (``UnetDataTransform`` + ``UnetModule``), batched."""

    name = "unet"
    loss_name = "L1 (normalised images)"

    def __call__(self, model: nn.Module, batch: KneeSlice,
                 statistics: tuple[torch.Tensor, torch.Tensor] | None = None) -> Reconstruction:
        """Reconstruct a collated batch (``kspace`` ``(B, H, W)``, ``mask`` ``(B, 1, W)``; or
        multi-coil ``(B, C, H, W)``, ``(B, 1, 1, W)``); ``statistics``: the input's
        ``(mean, std)`` per slice ``(B,)`` instead of each slice's own
        (:func:`~fnaf.data.transforms.unet_input`)."""
        zero_filled = zero_filled_image(batch.kspace, batch.mask)
        crop = tuple(batch.target.shape[-2:])
        image, mean, std = unet_input(zero_filled, crop, statistics)
        output = model(image.unsqueeze(1)).squeeze(1)
        return Reconstruction(unnormalize(output, mean, std), output, mean, std,
                              center_crop(zero_filled, crop).abs())

    def loss(self, reconstruction: Reconstruction, batch: KneeSlice) -> torch.Tensor:
        """L1 between the output and the target normalised with the input's statistics."""
        normalized = unet_target(batch.target, reconstruction.mean, reconstruction.std)
        return F.l1_loss(reconstruction.output, normalized)


class IrimPipeline:
    """The i-RIM's single-coil pipeline (irim_fastMRI), batched."""

    name = "irim"
    loss_name = "−SSIM (i-RIM)"

    def __init__(self):
        self.ssim = IrimSSIMLoss()

    def __call__(self, model: nn.Module, batch: KneeSlice) -> Reconstruction:
        """Reconstruct a collated batch; the scanner/contrast one-hot comes from each slice's
        ``system_model`` and ``acquisition``."""
        metadata = torch.stack([
            metadata_one_hot(system_model or None, acquisition)
            for system_model, acquisition in zip(batch.system_model, batch.acquisition)
        ]).to(batch.mask.device)
        if batch.kspace.ndim != 3:
            raise ValueError(f"the i-RIM is single-coil: k-space (B, H, W), not "
                             f"{tuple(batch.kspace.shape)}")
        crop_size = tuple(batch.target.shape[-2:])
        zero_filled = MRIOperator(batch.mask).A_adjoint(batch.kspace)
        estimate = model(zero_filled, batch.mask, metadata, crop_size)
        return Reconstruction(center_crop(estimate, crop_size).abs(), estimate,
                              zero_filled=center_crop(zero_filled, crop_size).abs())

    def loss(self, reconstruction: Reconstruction, batch: KneeSlice) -> torch.Tensor:
        """−SSIM (i-RIM variant) of the magnitude and target, both divided by the volume max."""
        scale = batch.max_value.to(batch.target.dtype).reshape(-1, 1, 1, 1)
        return self.ssim(reconstruction.magnitude.unsqueeze(1) / scale,
                         batch.target.unsqueeze(1) / scale)


class VarnetPipeline:
    """The End-to-End VarNet's pipeline (fastMRI's ``VarNetDataTransform`` + ``VarNetModule``),
    batched, single- or multi-coil."""

    name = "varnet"
    loss_name = "1 − SSIM (fastMRI)"

    def __init__(self):
        self.ssim = SSIMLoss()

    def __call__(self, model: nn.Module, batch: KneeSlice) -> Reconstruction:
        crop = tuple(batch.target.shape[-2:])
        image = model(batch.kspace * batch.mask, batch.mask)
        zero_filled = zero_filled_image(batch.kspace, batch.mask)
        return Reconstruction(center_crop(image, crop), image,
                              zero_filled=center_crop(zero_filled, crop).abs())

    def loss(self, reconstruction: Reconstruction, batch: KneeSlice) -> torch.Tensor:
        """1 − SSIM of the cropped RSS image and the target, data range the volume maximum."""
        return self.ssim(reconstruction.magnitude.unsqueeze(1), batch.target.unsqueeze(1),
                         batch.max_value.to(batch.target.dtype))


class ClassifierPipeline:
    """The SqueezeNet patch classifier's pipeline (§3.8.2).

    Patches ``(B, p, p)`` are resized (bilinear) to the classifier's ``size`` when the data's
    grid is smaller than fastMRI's 320 × 320 (the phantom's 128-px images cut 13-px patches for
    a 32-px patch), so the network sees the paper's input size; on fastMRI data ``p == size``
    and nothing is resampled.
    """

    name = "classifier"
    loss_name = "cross-entropy"

    def __init__(self, size: int):
        self.size = size

    def __call__(self, model: nn.Module, batch) -> torch.Tensor:
        """Logits ``(B, 2)``; column 1 is the abnormal class."""
        images = batch.image.unsqueeze(1)
        if images.shape[-1] != self.size:
            images = F.interpolate(images, size=(self.size, self.size), mode="bilinear",
                                   align_corners=False)
        return model(images)

    def loss(self, logits: torch.Tensor, batch) -> torch.Tensor:
        """Cross-entropy of the logits against the patch labels (the paper's binary loss)."""
        return F.cross_entropy(logits, batch.label)


PIPELINES = {"unet": UnetPipeline, "irim": IrimPipeline, "varnet": VarnetPipeline}


def pipeline_for(model_name: str):
    """The pipeline of ``model_name`` (``"unet"``, ``"irim"`` or ``"varnet"``)."""
    if model_name not in PIPELINES:
        raise ValueError(f"unknown model {model_name!r}; accepted: {sorted(PIPELINES)}")
    return PIPELINES[model_name]()


#: Any reconstruction of perturbed measurements, trained or not: called as
#: ``reconstruct(batch, perturbation) -> magnitudes (B, h, w)``, where ``perturbation`` (the
#: shape of ``batch.kspace``) is added to the k-space before the mask (``M (k + z)``). An
#: :class:`~fnaf.untrained.problem.UntrainedMethod` is one; :func:`trained_reconstructor` makes a
#: network one. (Not :class:`Reconstruction`, one model's output for a batch.)
Reconstructor = Callable[[KneeSlice, torch.Tensor], torch.Tensor]


def trained_reconstructor(model: nn.Module, pipeline) -> Reconstructor:
    """A trained network and its pipeline as a :data:`Reconstructor` (eval mode, no
    gradients)."""
    model.eval()

    def reconstruct(batch: KneeSlice, perturbation: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return pipeline(model, batch._replace(kspace=batch.kspace + perturbation)).magnitude
    return reconstruct
