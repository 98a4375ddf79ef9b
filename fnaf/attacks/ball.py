"""L2 balls, one per slice: norms, projections and normalised steps of batched perturbations
``(B, ...)`` (the geometry shared by :mod:`~fnaf.attacks.pgd` and :mod:`~fnaf.attacks.apgd`)."""

from __future__ import annotations

import torch


def slice_norms(z: torch.Tensor) -> torch.Tensor:
    """The L2 norm of each slice (all coils) ``(B,)``."""
    return z.abs().square().flatten(1).sum(1).sqrt()


def per_slice(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return values.reshape(-1, *[1] * (like.ndim - 1))


def project(z: torch.Tensor, radius: torch.Tensor) -> torch.Tensor:
    """``z`` ``(B, ...)`` scaled onto the ball ``||z_b|| <= radius_b`` where it lies outside."""
    scale = (radius / slice_norms(z).clamp_min(1e-30)).clamp(max=1.0)
    return z * per_slice(scale, z)


def projected_step(z: torch.Tensor, direction: torch.Tensor, length: torch.Tensor,
                   radius: torch.Tensor) -> torch.Tensor:
    """One L2 PGD step: ``z`` moved ``length_b`` along each slice's normalised ``direction``,
    projected onto the ball of ``radius_b``."""
    unit = direction / per_slice(slice_norms(direction).clamp_min(1e-30), direction)
    return project(z + per_slice(length, z) * unit, radius)
