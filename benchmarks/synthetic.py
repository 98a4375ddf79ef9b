"""A random multi-coil batch for the throughput benchmarks (their cost does not depend on
content)."""

from __future__ import annotations

import torch

from fnaf.data.transforms import KneeSlice


def synthetic_batch(slices: int, coils: int, shape: tuple[int, int], crop: int,
                    device: torch.device) -> KneeSlice:
    """Random multi-coil k-space with a 4x random mask (throughput does not depend on content)."""
    generator = torch.Generator().manual_seed(0)
    kspace = torch.randn(slices, coils, *shape, dtype=torch.complex64, generator=generator)
    mask = (torch.rand(slices, 1, 1, shape[1], generator=generator) < 0.25).float()
    mask[..., shape[1] // 2 - 6: shape[1] // 2 + 6] = 1
    return KneeSlice(kspace.to(device), mask.to(device), torch.rand(slices, crop, crop).to(device),
                     torch.ones(slices).to(device), ["synthetic"] * slices, list(range(slices)),
                     ["CORPD_FBK"] * slices, [""] * slices)
