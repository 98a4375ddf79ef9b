"""The two-step attack on reconstructions that solve an optimisation problem per slice
(Darestani et al., appendix A.1, eq. 3): l1-minimisation and un-trained decoders.

Eq. 2 needs gradients of the reconstruction with respect to the measurements, which an
optimisation-based method does not offer. The authors instead

1. solve the reconstruction problem jointly with the perturbation: from the clean solution ``θ*``,
   alternate a step of the method's own optimiser on ``θ`` and a projected gradient step on ``z``,
   both *descending*

       L(z, θ) = L_data(θ, y + z) − β ||G(θ) − G*||² / ||G*||²        (eq. 3)

   (``G`` coil images, ``G*`` the ground truth's: the data term asks that ``y + z`` be explained
   by an image the second term pushes away from the truth); ``z`` stays in the ball
   ``||z|| ≤ ε||y||``;
2. reconstruct afresh from ``y + ẑ``, the last ``z`` (the first step's image is discarded).

``ε``, the norm convention and the random-noise control (a random perturbation of exactly ``ẑ``'s
norm, reconstructed the same way) are those of :class:`~fnaf.attacks.pgd.KspacePGD`, so the
results read the same as PGD's (:class:`~fnaf.attacks.pgd.PgdResult`, ``loss`` there being
``½||Ψ(y) − Ψ(y + ẑ)||²`` of the final reconstruction). The authors' final data-consistency step
with the *clean* data is :class:`~fnaf.untrained.decoder_fit.DecoderMethod`'s
``consistency="clean"``.
"""

from __future__ import annotations

import torch

from fnaf.attacks.ball import projected_step, slice_norms
from fnaf.attacks.pgd import (
    NORMS,
    PgdResult,
    check_pgd_settings,
    perturbation_support,
    random_perturbation,
    slice_generators,
)
from fnaf.data.transforms import KneeSlice
from fnaf.untrained.problem import UntrainedMethod, slice_energy


class TwoStepAttack:
    """The two-step attack (eq. 3) on ``method``.

    Args:
        method: the reconstruction (:class:`~fnaf.untrained.problem.UntrainedMethod`).
        eps: the perturbation's norm relative to the measurements' (``ε``).
        steps: joint steps of the first step.
        beta: ``β`` of eq. 3 (relative units: the image's departure from the clean one).
        step_size: each ``z`` step's length as a fraction of ``ε||y||``; default ``2.5 / steps``.
        norm: ``"measured"`` (eq. 2's convention) or ``"full"`` (the authors' code).
        start: the random start's norm as a fraction of the radius.
        seed: seed of the start and of the control (with each slice's name and number).
    """

    def __init__(self, method: UntrainedMethod, eps: float, steps: int = 100, beta: float = 1.0,
                 step_size: float | None = None, norm: str = NORMS[0], start: float = 0.1,
                 seed: int = 0):
        check_pgd_settings(eps, steps, step_size, 1, norm, start)
        if not (isinstance(beta, (int, float)) and beta >= 0):
            raise ValueError(f"beta must be a number >= 0, not {beta!r}")
        self.method, self.eps, self.steps, self.beta = method, float(eps), steps, float(beta)
        self.step_size = 2.5 / steps if step_size is None else step_size
        self.norm, self.start, self.seed = norm, start, seed

    def __call__(self, batch: KneeSlice) -> PgdResult:
        generators = slice_generators(batch, self.seed)
        support = perturbation_support(batch, self.norm)
        radius = self.eps * slice_norms(batch.kspace * support)
        clean = self.method.fit(batch)
        z = self.perturbation(batch, clean.problem, support, radius, generators)
        noise = random_perturbation(support, slice_norms(z), generators)
        attacked, control = self.method(batch, z), self.method(batch, noise)
        loss = 0.5 * slice_energy(attacked - clean.magnitude)
        return PgdResult(z, noise, clean.magnitude, attacked, control, radius, loss)

    def perturbation(self, batch: KneeSlice, problem, support: torch.Tensor,
                     radius: torch.Tensor, generators: list[torch.Generator]) -> torch.Tensor:
        """Step 1: joint descent of eq. 3 from the solved ``problem``; returns ``ẑ``."""
        reference = problem.truth(batch.kspace).detach()
        energy = slice_energy(reference).clamp_min(1e-30)
        z = random_perturbation(support, radius * self.start, generators)
        parameters = problem.parameters()
        for _ in range(self.steps):
            z = z.detach().requires_grad_(True)
            estimate = problem.estimate()
            loss = (problem.data_loss(batch.kspace + z, estimate)
                    - self.beta * slice_energy(estimate - reference) / energy)
            gradient, *gradients = torch.autograd.grad(loss.sum(), [z, *parameters])
            for parameter, value in zip(parameters, gradients):
                parameter.grad = value
            problem.update()
            z = projected_step(z.detach(), -gradient * support, self.step_size * radius, radius)
        if not torch.isfinite(torch.view_as_real(z)).all():
            raise FloatingPointError(f"the joint optimisation of eq. 3 diverged (beta={self.beta}"
                                     "): lower beta, whose term is unbounded below")
        return z.detach()
