"""What an optimisation-based reconstruction exposes to the two-step attack (Darestani et al.,
appendix eq. 3 and 4).

An :class:`UntrainedMethod` reconstructs a batch of slices by solving an optimisation problem per
slice (l1-minimisation, or fitting an un-trained decoder). Its :meth:`~UntrainedMethod.fit` returns
the magnitudes and the solved :class:`FitProblem`, whose variables ``θ`` (the image, or the
network's weights) the attack keeps optimising jointly with a perturbation ``z``:

    L(z, θ) = L_data(θ, y + z) − β ||G(θ) − G*||² / ||G*||²        (eq. 3)

with ``L_data(θ, y) = ½||A G(θ) − y||² / ||y_clean||²`` (eq. 1's data term, eq. 4 for a decoder,
made relative so that ``β`` means the same on any data scale), ``G(θ)`` the coil images of the
current solution and ``G*`` those of the ground truth ``x*`` (the fully-sampled k-space's).

"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import NamedTuple

import torch

from fnaf.data.transforms import KneeSlice


class FitProblem(ABC):
    """One batch's solved reconstruction problem, ready for joint steps with a perturbation."""

    @abstractmethod
    def parameters(self) -> list[torch.Tensor]:
        """The variables ``θ`` (leaf tensors that take gradients)."""

    @abstractmethod
    def data_loss(self, kspace: torch.Tensor, estimate: torch.Tensor | None = None
                  ) -> torch.Tensor:
        """``½||A G(θ) − M k||² / ||M k_clean||²`` per slice ``(B,)`` for a full k-space ``k``
        ``(B, [C,] H, W)`` (only its measured entries count); ``estimate``: ``G(θ)`` if already
        computed."""

    @abstractmethod
    def estimate(self) -> torch.Tensor:
        """``G(θ)``: the current coil images ``(B, C, H, W)`` (single-coil: the image)."""

    @abstractmethod
    def truth(self, kspace: torch.Tensor) -> torch.Tensor:
        """``G*``: the coil images ``F⁻¹ k`` of a fully-sampled k-space, in the units of
        :meth:`estimate`."""

    @abstractmethod
    def update(self) -> None:
        """One step of the method's own optimiser on ``θ`` from the gradients in ``θ.grad``."""


class Fit(NamedTuple):
    """A reconstruction: ``magnitude`` ``(B, h, w)`` on the target's grid and scale, and the
    solved ``problem``."""

    magnitude: torch.Tensor
    problem: FitProblem


class UntrainedMethod(ABC):
    """A reconstruction method with no training: each call solves its problem afresh."""

    name: str

    @abstractmethod
    def fit(self, batch: KneeSlice, perturbation: torch.Tensor | None = None) -> Fit:
        """Reconstruct ``batch`` from its measurements ``M (k + z)`` (``z = perturbation``, zero
        if ``None``, the k-space's shape); ``batch.kspace`` stays the clean k-space (a method may
        read its measured part, e.g. for a final data-consistency step)."""

    def __call__(self, batch: KneeSlice, perturbation: torch.Tensor | None = None
                 ) -> torch.Tensor:
        """The magnitudes ``(B, h, w)`` of :meth:`fit`."""
        return self.fit(batch, perturbation).magnitude


def measured(batch: KneeSlice, perturbation: torch.Tensor | None = None) -> torch.Tensor:
    """The measurements ``M (k + z)`` of a batch, zero off the mask."""
    kspace = batch.kspace if perturbation is None else batch.kspace + perturbation
    return kspace * batch.mask


def slice_energy(x: torch.Tensor) -> torch.Tensor:
    """``||x_b||²`` per slice ``(B,)``."""
    return x.abs().square().flatten(1).sum(1)
