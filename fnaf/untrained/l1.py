"""l1-minimisation (Darestani et al., eq. 1): ``min_x ½||A x − y||² + λ||Ψx||₁``, batched.

``A`` is an :class:`~fnaf.mri.MRIOperator` (SENSE: mask, Fourier, coil sensitivities) and ``Ψ`` a
:class:`~fnaf.untrained.sparsity.SparsifyingTransform`. Two solvers:

* ``"fista"`` (default): Beck and Teboulle's accelerated proximal gradient, step ``1/L`` with
  ``L`` the operator's bound on ``||AᴴA||`` (:func:`lipschitz`), stopped when every slice's
  relative change ``||x_k − x_{k−1}|| / ||x_k||`` falls below ``tol`` (or after ``iterations``);
* ``"gd"``: the authors' code (Robustness-CS notebooks): plain gradient descent from zero on the
  data term plus a (sub)gradient of ``λ`` times the l1 norm of the **wavelet approximation band
  only** (their ``DWTForward`` returns the low-pass band first and only that is penalised), with a
  negligible ``λ`` — in effect gradient-descent SENSE stopped after ``iterations``.

``lam`` is relative: the solver uses ``λ = lam · ||Ψ Aᴴ y||_∞`` per slice, the smallest ``λ`` whose
solution is ``x = 0`` times ``lam``, so one value means the same on any data scale.
"""

from __future__ import annotations

import torch

from fnaf.mri import MRIOperator
from fnaf.untrained.sparsity import SparsifyingTransform, soft_threshold

#: The solvers; the first is the default (a proper solve of eq. 1).
SOLVERS = ("fista", "gd")


def check_l1_settings(lam: float, iterations: int, tol: float = 0.0,
                      solver: str = SOLVERS[0]) -> None:
    """Raise a ``ValueError`` naming the first bad setting of :class:`L1Solver`."""
    if solver not in SOLVERS:
        raise ValueError(f"unknown l1 solver {solver!r}; accepted: {list(SOLVERS)}")
    if not (isinstance(lam, (int, float)) and lam >= 0):
        raise ValueError(f"lam must be a number >= 0 (λ as a fraction of ||Ψ Aᴴ y||_∞), "
                         f"not {lam!r}")
    if not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations must be an integer >= 1, not {iterations!r}")
    if not tol >= 0:
        raise ValueError(f"tol must be >= 0, not {tol!r}")


def lipschitz(operator: MRIOperator, slices: int) -> torch.Tensor:
    """An upper bound of ``||AᴴA|| = ||A||²`` per slice ``(slices,)``: with ``F`` orthonormal,
    ``||M F S x||² ≤ max|M|² · max_pixel Σ_c |S_c|² · ||x||²`` (single-coil: ``max|M|²``); 1 for
    a 0/1 mask and sensitivities whose squares sum to 1, as ESPIRiT's do. FISTA's step ``1/L``
    with this ``L`` is safe without an estimate (a power iteration reaches at most the same)."""
    bound = operator.mask.abs().square().flatten(1).amax(1)
    if operator.sensitivities is not None:
        bound = bound * operator.sensitivities.abs().square().sum(-3).flatten(1).amax(1)
    return bound.expand(slices) if bound.numel() == 1 else bound


class L1Solver:
    """Batched solver of eq. 1; see the module for ``solver``.

    Args:
        transform: the sparsifying basis ``Ψ``.
        lam: ``λ`` relative to ``||Ψ Aᴴ y||_∞`` (per slice).
        iterations: the most iterations.
        tol: stop once every slice's relative change is below it (0: run all iterations).
        solver: ``"fista"`` or ``"gd"``.
    """

    def __init__(self, transform: SparsifyingTransform, lam: float = 0.01, iterations: int = 200,
                 tol: float = 1e-4, solver: str = SOLVERS[0]):
        check_l1_settings(lam, iterations, tol, solver)
        self.transform, self.lam, self.iterations = transform, float(lam), iterations
        self.tol, self.solver = tol, solver
        self.iterations_run = 0

    def penalised(self, coefficients: torch.Tensor) -> torch.Tensor:
        """The coefficients the l1 norm covers: all (``"fista"``), the wavelet approximation band
        (``"gd"``, the authors' code; Fourier and DCT: all)."""
        return coefficients[:, :self.transform.lowpass] if self.solver == "gd" else coefficients

    def thresholds(self, operator: MRIOperator, y: torch.Tensor) -> torch.Tensor:
        """``λ`` per slice ``(B,)``: ``lam · ||Ψ Aᴴ y||_∞``."""
        return self.lam * self.transform.forward(operator.A_adjoint(y)).abs().amax(1)

    def objective(self, x: torch.Tensor, y: torch.Tensor, operator: MRIOperator,
                  lam: torch.Tensor | None = None) -> torch.Tensor:
        """``½||A x − y||² + λ||Ψx||₁`` per slice ``(B,)`` (the penalised bands only)."""
        lam = self.thresholds(operator, y) if lam is None else lam
        residual = (operator.A(x) - y).abs().square().flatten(1).sum(1)
        return 0.5 * residual + lam * self.penalised(self.transform.forward(x)).abs().sum(1)

    def __call__(self, y: torch.Tensor, operator: MRIOperator, x0: torch.Tensor | None = None,
                 constant: torch.Tensor | None = None) -> torch.Tensor:
        """Solve for the complex image ``(B, H, W)`` from measured k-space ``y`` (``(B, H, W)``
        or ``(B, C, H, W)``), starting from ``x0`` (default zero); ``constant``: ``||AᴴA||`` per
        slice if already known (default :func:`lipschitz`'s)."""
        start = operator.A_adjoint(y)
        lam = self.thresholds(operator, y)
        if constant is None:
            constant = lipschitz(operator, start.shape[0])
        step = 1 / constant.reshape(-1, 1, 1)
        x = torch.zeros_like(start) if x0 is None else x0
        momentum, t = x, 1.0
        for iteration in range(1, self.iterations + 1):
            if self.solver == "fista":
                gradient = operator.A_adjoint(operator.A(momentum) - y)
                coefficients = self.transform.forward(momentum - step * gradient)
                new = self.transform.inverse(soft_threshold(coefficients, lam * step[:, 0, 0]))
                t_next = (1 + (1 + 4 * t * t) ** 0.5) / 2
                momentum, t = new + (t - 1) / t_next * (new - x), t_next
            else:
                new = x - step * (operator.A_adjoint(operator.A(x) - y) + self._subgradient(x, lam))
            change = (new - x).abs().square().flatten(1).sum(1).sqrt()
            size = new.abs().square().flatten(1).sum(1).sqrt().clamp_min(1e-30)
            x = new
            if bool((change / size < self.tol).all()):
                break
        self.iterations_run = iteration
        return x

    def _subgradient(self, x: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
        """``λ Ψᴴ sign(Ψx)`` on the penalised bands (zero elsewhere)."""
        coefficients = self.transform.forward(x)
        sign = coefficients / coefficients.abs().clamp_min(1e-30)
        sign[:, self.transform.lowpass:] = 0
        return lam.reshape(-1, 1, 1) * self.transform.inverse(sign)
