"""Small adversarial perturbations of the measurements: projected gradient ascent in k-space.

Darestani et al. (appendix eq. 2) look for the perturbation ``z`` of the measurements ``y = A x*``
that changes a reconstruction ``Ψ`` most,

    max_z  ½ ||Ψ(y) − Ψ(y + z)||²   subject to   ||z||₂ ≤ ε ||y||₂,

by projected gradient steps. ``norm`` sets what ``||·||`` covers:

* ``"measured"`` (default, the equation): ``z`` lives on the sampled entries of every coil and
  ``ε`` is relative to the norm of the measured data ``||M k||``;
* ``"full"`` (Robustness-CS's code): ``z`` spans the whole k-space grid and ``ε`` is relative to
  the fully-sampled k-space ``||k||``; the unsampled part of ``z`` is never seen by the model,
  so the same ``ε`` perturbs the measurements less.

Each step moves every slice by ``step_size · ε||y||`` along its own normalised gradient (L2 PGD)
and projects back onto the ball; the reported perturbation is each slice's best iterate (the
largest loss seen, not the last); ``schedule="apgd"`` sizes the steps instead by Croce & Hein's
step-size-free rule (:mod:`fnaf.attacks.apgd`), what :mod:`fnaf.audit` runs. ``restarts`` repeat
the search from new random starts. The control is a random perturbation (complex Gaussian on the
same entries) of exactly the same norm as the attack's. The attack is batched over slices: a
pipeline treats slices independently, so one backward pass gives every slice's gradient. Every
slice draws its random start and control from its own generator, seeded by ``(seed, file name,
slice number)`` (:func:`slice_generators`), so a slice's result does not depend on the batch it
is in: the batch size is a memory setting (:mod:`fnaf.memory`), not part of the experiment.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch
from torch import nn

from fnaf.attacks.apgd import apgd_search
from fnaf.attacks.ball import per_slice, projected_step, slice_norms
from fnaf.data.transforms import KneeSlice

#: What the perturbation's norm covers; the first is the paper's (eq. 2).
NORMS = ("measured", "full")
#: How the steps are sized: ``"fixed"`` (the papers': ``step_size`` of the radius per step) or
#: ``"apgd"`` (Croce & Hein's step-size-free rule with momentum, :mod:`fnaf.attacks.apgd`).
SCHEDULES = ("fixed", "apgd")


def check_pgd_settings(eps: float, steps: int = 10, step_size: float | None = None,
                       restarts: int = 1, norm: str = NORMS[0], start: float = 0.5,
                       schedule: str = SCHEDULES[0]) -> None:
    """Raise a ``ValueError`` naming the first bad setting of :class:`KspacePGD`."""
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; accepted: {list(SCHEDULES)}")
    if schedule == "apgd" and step_size is not None:
        raise ValueError("the apgd schedule sizes its own steps: leave step_size None")
    if not (isinstance(eps, (int, float)) and eps >= 0):
        raise ValueError(f"eps must be a number >= 0 (the perturbation's norm relative to the "
                         f"measurements'), not {eps!r}")
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; accepted: {list(NORMS)}")
    for name, value in (("steps", steps), ("restarts", restarts)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, not {value!r}")
    if not (step_size is None or step_size > 0) or not 0 < start <= 1:
        raise ValueError(f"the attack needs step_size > 0 and 0 < start <= 1, not "
                         f"step_size={step_size}, start={start}")


def perturbation_support(batch: KneeSlice, norm: str = NORMS[0]) -> torch.Tensor:
    """Where a perturbation lives: the sampled entries (``"measured"``) or the whole grid
    (``"full"``), 0/1 of the k-space's shape."""
    ones = torch.ones(batch.kspace.shape, device=batch.kspace.device)
    return ones * batch.mask if norm == "measured" else ones


def slice_generators(batch: KneeSlice, seed: int) -> list[torch.Generator]:
    """One CPU generator per slice of ``batch``, seeded by ``(seed, file name, slice number)``:
    the same slice draws the same numbers in any batch, on any rank."""
    def slice_seed(fname: str, slice_num: int) -> int:
        digest = hashlib.sha256(f"{seed}/{fname}/{slice_num}".encode()).digest()
        return int.from_bytes(digest[:8], "little")

    return [torch.Generator().manual_seed(slice_seed(fname, int(slice_num)))
            for fname, slice_num in zip(batch.fname, batch.slice_num)]


def random_perturbation(support: torch.Tensor, radius: torch.Tensor,
                        generators: list[torch.Generator]) -> torch.Tensor:
    """Complex Gaussian noise on ``support`` (a 0/1 tensor of the k-space's shape ``(B, ...)``),
    slice ``b`` drawn from ``generators[b]`` and scaled to norm exactly ``radius_b``: the
    random-noise control."""
    noise = torch.stack([torch.randn(support.shape[1:], generator=generator,
                                     dtype=torch.complex64) for generator in generators])
    noise = noise.to(support.device) * support
    return noise * per_slice(radius / slice_norms(noise).clamp_min(1e-30), noise)


@dataclass
class PgdResult:
    """An attack on a batch: ``perturbation`` (each slice's best iterate) and ``noise`` (the
    control, the same norm) in k-space ``(B, [C,] H, W)``; the magnitudes ``(B, h, w)`` of the
    clean, attacked and control reconstructions; ``radius`` ``ε||y||`` and ``loss``
    ``½||Ψ(y) − Ψ(y + z)||²`` of the best iterate ``(B,)``."""

    perturbation: torch.Tensor
    noise: torch.Tensor
    clean: torch.Tensor
    attacked: torch.Tensor
    control: torch.Tensor
    radius: torch.Tensor
    loss: torch.Tensor


class KspacePGD:
    """Projected gradient ascent on measurement perturbations (Darestani et al., eq. 2).

    Args:
        model, pipeline: the reconstruction (a :mod:`fnaf.pipelines` pipeline turns a batch
            with k-space ``y + z`` into magnitudes on the target grid).
        eps: the perturbation's norm relative to the measurements' (``ε``; 0 = no attack).
        steps: gradient steps per start.
        step_size: each step's length as a fraction of the radius ``ε||y||``; default
            ``2.5 / steps`` (Madry et al.'s rule: the steps can cross the ball 2.5 times).
        restarts: random starts; the best iterate over all of them is kept.
        norm: ``"measured"`` (eq. 2) or ``"full"`` (the Robustness-CS code), see the module.
        start: the random start's norm as a fraction of the radius.
        seed: seed of the starts and of the control (with each slice's name and number).
        schedule: ``"fixed"`` steps of ``step_size`` or ``"apgd"`` (:data:`SCHEDULES`).
    """

    def __init__(self, model: nn.Module, pipeline, eps: float, steps: int = 10,
                 step_size: float | None = None, restarts: int = 1, norm: str = NORMS[0],
                 start: float = 0.5, seed: int = 0, schedule: str = SCHEDULES[0]):
        check_pgd_settings(eps, steps, step_size, restarts, norm, start, schedule)
        step_size = 2.5 / steps if step_size is None else step_size
        self.model, self.pipeline = model, pipeline
        self.eps, self.steps, self.step_size = float(eps), steps, step_size
        self.restarts, self.norm, self.start, self.seed = restarts, norm, start, seed
        self.schedule = schedule

    def magnitudes(self, batch: KneeSlice, z: torch.Tensor) -> torch.Tensor:
        return self.pipeline(self.model, batch._replace(kspace=batch.kspace + z)).magnitude

    def __call__(self, batch: KneeSlice) -> PgdResult:
        was_training = self.model.training
        self.model.eval()
        try:
            return self._attack(batch)
        finally:
            self.model.train(was_training)

    def _attack(self, batch: KneeSlice) -> PgdResult:
        generators = slice_generators(batch, self.seed)
        support = perturbation_support(batch, self.norm)
        radius = self.eps * slice_norms(batch.kspace * support)  # ε||y||
        with torch.no_grad():
            clean = self.magnitudes(batch, torch.zeros_like(batch.kspace))

        def evaluate(z: torch.Tensor, gradient: bool):
            """``½||Ψ(y + z) − Ψ(y)||²`` per slice, and its gradient when asked."""
            z = z.detach().requires_grad_(gradient)
            with torch.set_grad_enabled(gradient):
                loss = 0.5 * (self.magnitudes(batch, z) - clean).square().flatten(1).sum(1)
            return loss.detach(), (torch.autograd.grad(loss.sum(), z)[0] if gradient else None)

        search = apgd_search if self.schedule == "apgd" else self._fixed_search
        best_z = torch.zeros_like(batch.kspace)
        best_loss = torch.full_like(radius, -1.0)
        for _ in range(self.restarts):
            z, loss = search(evaluate, random_perturbation(support, radius * self.start,
                                                           generators),
                             support, radius, self.steps)
            better = loss > best_loss
            best_loss = torch.where(better, loss, best_loss)
            best_z = torch.where(per_slice(better, z), z, best_z)
        noise = random_perturbation(support, slice_norms(best_z), generators)
        with torch.no_grad():
            attacked = self.magnitudes(batch, best_z)
            control = self.magnitudes(batch, noise)
        return PgdResult(best_z, noise, clean, attacked, control, radius, best_loss)

    def _fixed_search(self, evaluate, z: torch.Tensor, support: torch.Tensor,
                      radius: torch.Tensor, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``steps`` steps of ``step_size · radius`` from ``z``; each slice's best iterate and
        its loss (the signature of :func:`~fnaf.attacks.apgd.apgd_search`)."""
        best_z, best_loss = z, torch.full_like(radius, -1.0)
        for step in range(steps + 1):
            loss, gradient = evaluate(z, step < steps)
            better = loss > best_loss
            best_loss = torch.where(better, loss, best_loss)
            best_z = torch.where(per_slice(better, z), z, best_z)
            if step < steps:
                z = projected_step(z, gradient * support, self.step_size * radius, radius)
        return best_z, best_loss
