"""l1-minimisation as a reconstruction method (Darestani et al.'s "l1"): SENSE with ESPIRiT maps
and a sparsifying basis, on batches of slices (:class:`~fnaf.untrained.problem.UntrainedMethod`).

The maps are estimated once per slice from its clean measurements (the auto-calibration block,
SigPy's ESPIRiT as the authors' BART ``ecalib``) and kept for every reconstruction of that slice,
as a scanner's calibration would be: an attack perturbs the measurements the image is solved
from, not the calibration. Single-coil data take ``S = 1``. The output is ``|x|`` on the target's
crop (the maps' squares sum to one inside the object, so ``|x|`` is on the RSS scale).
"""

from __future__ import annotations

import torch

from fnaf.data.coils import calibration_width, memoised_espirit_maps
from fnaf.data.transforms import KneeSlice
from fnaf.mri import MRIOperator, center_crop, fft2c, ifft2c
from fnaf.untrained.l1 import SOLVERS, L1Solver, check_l1_settings, lipschitz
from fnaf.untrained.problem import Fit, FitProblem, UntrainedMethod, measured, slice_energy
from fnaf.untrained.sparsity import BASES, SparsifyingTransform, check_basis, soft_threshold


class L1Problem(FitProblem):
    """A solved eq. 1 ``x`` with its operator; :meth:`update` is a proximal gradient step."""

    def __init__(self, solver: L1Solver, operator: MRIOperator, y: torch.Tensor,
                 x: torch.Tensor, constant: torch.Tensor):
        self.solver, self.operator = solver, operator
        self.reference = slice_energy(y).clamp_min(1e-30)
        self.lam = solver.thresholds(operator, y)
        self.step = 1 / constant  # 1 / ||AᴴA|| per slice
        self.x = x.detach().clone().requires_grad_(True)

    def parameters(self) -> list[torch.Tensor]:
        return [self.x]

    def data_loss(self, kspace: torch.Tensor, estimate: torch.Tensor | None = None
                  ) -> torch.Tensor:
        coils = self.estimate() if estimate is None else estimate
        residual = fft2c(coils) * self.operator.mask - kspace * self.operator.mask
        return 0.5 * slice_energy(residual) / self.reference

    def estimate(self) -> torch.Tensor:
        """``S x`` (single-coil: ``x``)."""
        maps = self.operator.sensitivities
        return self.x if maps is None else maps * self.x.unsqueeze(-3)

    def truth(self, kspace: torch.Tensor) -> torch.Tensor:
        return ifft2c(kspace)

    def update(self) -> None:
        """``x ← prox(x − (1/L)·∇)``; the gradient of the relative loss is rescaled by
        ``||y||²`` to eq. 1's units."""
        with torch.no_grad():
            step = (self.step * self.reference).reshape(-1, 1, 1)
            moved = self.x - step * self.x.grad
            transform = self.solver.transform
            coefficients = soft_threshold(transform.forward(moved), self.lam * self.step)
            self.x.copy_(transform.inverse(coefficients))
            self.x.grad = None


class L1Method(UntrainedMethod):
    """l1-minimisation (eq. 1) of every slice of a batch.

    Args:
        basis: the sparsifying basis (:data:`~fnaf.untrained.sparsity.BASES`).
        lam, iterations, tol, solver: :class:`~fnaf.untrained.l1.L1Solver`'s.
        wavelet, level: the wavelet and its scales (``basis="wavelet"``).
        calibration: ESPIRiT's eigenvalue crop (BART ``ecalib -c``).
    """

    name = "l1"

    def __init__(self, basis: str = BASES[0], lam: float = 3e-4, iterations: int = 200,
                 tol: float = 1e-4, solver: str = SOLVERS[0], wavelet: str = "db3",
                 level: int = 3, calibration: float = 0.95):
        check_basis(basis, wavelet, level)
        check_l1_settings(lam, iterations, tol, solver)
        self.basis, self.lam, self.iterations, self.tol = basis, lam, iterations, tol
        self.solver, self.wavelet, self.level = solver, wavelet, level
        self.calibration = calibration
        self._transforms: dict[tuple[int, int], SparsifyingTransform] = {}

    def transform(self, shape: tuple[int, int]) -> SparsifyingTransform:
        """The sparsifying transform of images ``shape`` (built once per grid)."""
        if shape not in self._transforms:
            self._transforms[shape] = SparsifyingTransform(self.basis, shape, self.wavelet,
                                                           self.level)
        return self._transforms[shape]

    def operator(self, batch: KneeSlice) -> MRIOperator:
        """SENSE for the batch: its masks and each slice's ESPIRiT maps from its clean
        measurements (:func:`~fnaf.data.coils.memoised_espirit_maps`: estimated once per slice
        and mask, whichever method or attack asks)."""
        if batch.kspace.ndim == 3:
            return MRIOperator(batch.mask)
        clean = measured(batch)
        return MRIOperator(batch.mask, torch.stack([
            memoised_espirit_maps(clean[i], calibration_width(batch.mask[i]),
                                  crop=self.calibration) for i in range(len(batch.fname))]))

    def fit(self, batch: KneeSlice, perturbation: torch.Tensor | None = None) -> Fit:
        y = measured(batch, perturbation)
        operator = self.operator(batch)
        solver = L1Solver(self.transform(tuple(y.shape[-2:])), self.lam, self.iterations,
                          self.tol, self.solver)
        constant = lipschitz(operator, y.shape[0])
        x = solver(y, operator, constant=constant)
        magnitude = center_crop(x, tuple(batch.target.shape[-2:])).abs()
        return Fit(magnitude, L1Problem(solver, operator, y, x, constant))
