"""Physics-realistic measurement noise: complex Gaussian noise with the scan's own coil
covariance, at the SNR of the attack's ball.

A receiver adds thermal noise that is white over k-space but correlated between coils (the noise
covariance ``Ψ``, ``C × C``). Each slice's ``Ψ`` is estimated from its outermost k-space rows
(:data:`PERIPHERY` of the readout at each end, on the sampled columns): fastMRI oversamples the
readout twice, so there the data are mostly noise. The noise ``n = L w`` (``L Lᴴ = Ψ``, ``w``
white, drawn per slice as :func:`~fnaf.attacks.pgd.random_perturbation` draws it) lives on the
sampled entries and is scaled to the ball's norm ``ε||y||``: the SNR ``||y|| / ||n||`` is
``1/ε``, matched to the attack's. Single-coil data have ``C = 1``: the noise is white.
"""

from __future__ import annotations

import torch
from torch import nn

from fnaf.attacks.ball import per_slice, slice_norms
from fnaf.attacks.pgd import (
    NORMS,
    PgdResult,
    check_pgd_settings,
    perturbation_support,
    random_perturbation,
    slice_generators,
)
from fnaf.data.transforms import KneeSlice

#: The share of the readout (k-space rows) at each end that estimates the noise covariance.
PERIPHERY = 1 / 16


def coil_covariance(kspace: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``Ψ`` ``(B, C, C)`` of multi-coil ``kspace`` ``(B, C, H, W)`` from its outermost
    :data:`PERIPHERY` rows at each end on the sampled columns (``mask`` ``(B, 1, 1, W)``)."""
    edge = max(1, round(kspace.shape[-2] * PERIPHERY))
    samples = torch.cat([kspace[..., :edge, :], kspace[..., -edge:, :]], dim=-2) * mask
    samples = samples.flatten(2)  # (B, C, N), unsampled entries zero
    count = mask.flatten(1).sum(1).clamp_min(1) * 2 * edge
    return samples @ samples.conj().transpose(1, 2) / per_slice(count, samples)


def coil_noise(kspace: torch.Tensor, mask: torch.Tensor, support: torch.Tensor,
               radius: torch.Tensor, generators: list[torch.Generator]) -> torch.Tensor:
    """Noise with each slice's coil covariance (:func:`coil_covariance`) on ``support`` (0/1 of
    ``kspace``'s shape), slice ``b`` drawn from ``generators[b]`` and scaled to norm exactly
    ``radius_b``; single-coil ``kspace`` ``(B, H, W)`` gets white noise."""
    white = torch.stack([torch.randn(kspace.shape[1:], generator=generator,
                                     dtype=torch.complex64) for generator in generators]
                        ).to(kspace.device)
    if kspace.ndim == 4:
        covariance = coil_covariance(kspace, mask)
        scale = covariance.diagonal(dim1=1, dim2=2).real.mean(1).clamp_min(1e-30)
        identity = torch.eye(covariance.shape[-1], dtype=covariance.dtype, device=kspace.device)
        # a small ridge keeps the factor defined where a coil's periphery is empty
        factor = torch.linalg.cholesky(covariance + 1e-6 * per_slice(scale, covariance) * identity)
        white = torch.einsum("bij,bjhw->bihw", factor, white)
    noise = white * support
    return noise * per_slice(radius / slice_norms(noise).clamp_min(1e-30), noise)


class CoilNoise:
    """Coil noise (:func:`coil_noise`) of norm ``ε||y||`` on a batch, in the shape of a
    k-space attack's result (:class:`~fnaf.attacks.pgd.PgdResult`: ``perturbation`` the coil
    noise, ``noise`` white noise of the same norm, ``loss`` ``½||Ψ(y) − Ψ(y + n)||²``), so
    :func:`~fnaf.attacks.measurement.measurement_rows` scores it as it scores PGD."""

    def __init__(self, model: nn.Module, pipeline, eps: float, norm: str = NORMS[0],
                 seed: int = 0):
        check_pgd_settings(eps, norm=norm)
        self.model, self.pipeline, self.eps, self.norm, self.seed = model, pipeline, eps, norm, seed

    @torch.no_grad()
    def __call__(self, batch: KneeSlice) -> PgdResult:
        was_training = self.model.training
        self.model.eval()
        try:
            support = perturbation_support(batch, self.norm)
            radius = self.eps * slice_norms(batch.kspace * support)
            generators = slice_generators(batch, self.seed)
            noise = coil_noise(batch.kspace, batch.mask, support, radius, generators)
            white = random_perturbation(support, radius, generators)
            clean, noisy, control = (
                self.pipeline(self.model, batch._replace(kspace=batch.kspace + z)).magnitude
                for z in (torch.zeros_like(noise), noise, white))
        finally:
            self.model.train(was_training)
        loss = 0.5 * (noisy - clean).square().flatten(1).sum(1)
        return PgdResult(noise, white, clean, noisy, control, radius, loss)
