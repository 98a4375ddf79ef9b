"""Fitting an un-trained decoder to one slice's measurements (Darestani et al., eq. 4; the
authors' ``fitr`` in Robustness-CS ``include/runner_untrained.py``), every slice of a batch at
once (:class:`~fnaf.models.decoders.Decoder` with one network per slice).

* **Scaling.** The measurements are multiplied by ``s = ||RSS|G(C₀)||| / ||RSS|F⁻¹ y|||``, the
  untrained network's output norm over the data's, so the fit starts on the network's scale;
  ``scaling="measured"`` (default) takes the zero-filled image of the measurements, ``"full"``
  the fully-sampled k-space as the authors' code did (information a reconstruction cannot have).
* **Loss.** ``½||M F G(C) − s·y||²`` per slice (eq. 4, relative to ``||s·y||²``), Adam at
  ``lr`` 8e-3 and β1 0.9 (``beta1`` 0.98: the appendix's smoother convergence, §C.1 and
  Fig. 16); BatchNorm in train mode throughout, as the authors'.
* **Best iterate.** The output kept is that of the iterate whose loss ``· 1.005`` first beat the
  best so far (the authors' ``find_best``); no early stopping.
* **Data consistency.** The output's k-space has its sampled entries replaced by the
  measurements, then ``RSS |F⁻¹ ·| / s`` cropped to the target. ``consistency="clean"`` uses the
  clean measurements instead (a quirk of the authors' attack notebook, which thereby undoes part of
  any perturbation; the default uses the data the method was given).
"""

from __future__ import annotations

import torch

from fnaf.data.transforms import KneeSlice
from fnaf.models.decoders import ARCHITECTURES, Decoder, decoder
from fnaf.mri import center_crop, fft2c, ifft2c, rss
from fnaf.untrained.problem import Fit, FitProblem, UntrainedMethod, measured, slice_energy

#: What the k-space scaling's data norm is taken from; the first is the default.
SCALINGS = ("measured", "full")
#: Which measurements the final data-consistency step writes in; the first is the default.
CONSISTENCY = ("perturbed", "clean")


def _coils(kspace: torch.Tensor) -> torch.Tensor:
    """Single-coil ``(B, H, W)`` as one coil ``(B, 1, H, W)``."""
    return kspace.unsqueeze(1) if kspace.ndim == 3 else kspace


class DecoderProblem(FitProblem):
    """A decoder being fitted: its weights are ``θ``, Adam its optimiser."""

    def __init__(self, network: Decoder, noise: torch.Tensor, scale: torch.Tensor,
                 mask: torch.Tensor, clean: torch.Tensor, lr: float, beta1: float = 0.9):
        self.network, self.noise, self.scale, self.mask = network, noise, scale, mask
        self.reference = slice_energy(self._scaled(clean)).clamp_min(1e-30)
        self.optimizer = torch.optim.Adam(network.parameters(), lr=lr, betas=(beta1, 0.999))

    def _scaled(self, kspace: torch.Tensor) -> torch.Tensor:
        return _coils(kspace) * self.mask * self.scale.reshape(-1, 1, 1, 1)

    def parameters(self) -> list[torch.Tensor]:
        return list(self.network.parameters())

    def estimate(self) -> torch.Tensor:
        return self.network(self.noise)

    def truth(self, kspace: torch.Tensor) -> torch.Tensor:
        """``s · F⁻¹ k`` (the network works on the scaled data)."""
        return ifft2c(_coils(kspace)) * self.scale.reshape(-1, 1, 1, 1)

    def data_loss(self, kspace: torch.Tensor, estimate: torch.Tensor | None = None
                  ) -> torch.Tensor:
        coils = self.estimate() if estimate is None else estimate
        residual = fft2c(coils) * self.mask - self._scaled(kspace)
        return 0.5 * slice_energy(residual) / self.reference

    def update(self) -> None:
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)


class DecoderMethod(UntrainedMethod):
    """An un-trained decoder fitted to each slice (see the module).

    Args:
        architecture: ``"convdecoder"`` or ``"deepdecoder"``.
        layers, channels: default the paper's (:data:`~fnaf.models.decoders.ARCHITECTURES`).
        in_size: the fixed input's spatial size.
        iterations: Adam steps (the paper: 10,000-25,000).
        lr: Adam's learning rate (the authors' 8e-3).
        beta1: Adam's first-moment decay (the authors' 0.9; 0.98 for the appendix's smoother
            convergence, Fig. 16).
        scaling, consistency: :data:`SCALINGS`, :data:`CONSISTENCY`; see the module.
        seed: seed of the networks' initial weights and input (the same for every fit, so a
            refit to perturbed data starts where the clean fit started, as the authors').
    """

    def __init__(self, architecture: str = "convdecoder", layers: int | None = None,
                 channels: int | None = None, in_size: tuple[int, int] = (10, 5),
                 iterations: int = 10_000, lr: float = 8e-3, scaling: str = SCALINGS[0],
                 consistency: str = CONSISTENCY[0], seed: int = 0, beta1: float = 0.9):
        if architecture not in ARCHITECTURES:
            raise ValueError(f"unknown decoder {architecture!r}; accepted: "
                             f"{list(ARCHITECTURES)}")
        if not isinstance(iterations, int) or iterations < 1:
            raise ValueError(f"iterations must be an integer >= 1, not {iterations!r}")
        if not lr > 0:
            raise ValueError(f"lr must be > 0, not {lr!r}")
        if not 0 <= beta1 < 1:
            raise ValueError(f"beta1 must be in [0, 1), not {beta1!r} (the authors' 0.9; the "
                             "appendix's smoother fit 0.98)")
        for name, value, accepted in (("scaling", scaling, SCALINGS),
                                      ("consistency", consistency, CONSISTENCY)):
            if value not in accepted:
                raise ValueError(f"unknown {name} {value!r}; accepted: {list(accepted)}")
        self.architecture, self.layers, self.channels = architecture, layers, channels
        self.in_size, self.iterations, self.lr = tuple(in_size), iterations, lr
        self.scaling, self.consistency, self.seed, self.beta1 = scaling, consistency, seed, beta1
        self.name = architecture

    def network(self, grid: tuple[int, int], coils: int, networks: int) -> Decoder:
        """Fresh networks, initialised from :attr:`seed`."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            return decoder(self.architecture, grid, coils, self.layers, self.channels,
                           self.in_size, networks)

    def fit(self, batch: KneeSlice, perturbation: torch.Tensor | None = None) -> Fit:
        y = _coils(measured(batch, perturbation))
        device = y.device
        network = self.network(tuple(y.shape[-2:]), y.shape[1], y.shape[0]).to(device)
        noise = network.random_input(torch.Generator().manual_seed(self.seed)).to(device)
        full = _coils(batch.kspace if perturbation is None else batch.kspace + perturbation)
        with torch.no_grad():
            data = rss(ifft2c(full if self.scaling == "full" else y))
            scale = rss(network(noise)).flatten(1).norm(dim=1) / data.flatten(1).norm(dim=1)
        mask = batch.mask.reshape(y.shape[0], 1, 1, y.shape[-1])
        problem = DecoderProblem(network, noise, scale, mask, batch.kspace, self.lr, self.beta1)
        best = self._fit(problem, y)
        written = measured(batch) if self.consistency == "clean" else y
        magnitude = self.output(problem, best, written, tuple(batch.target.shape[-2:]))
        return Fit(magnitude, problem)

    def _fit(self, problem: DecoderProblem, y: torch.Tensor) -> torch.Tensor:
        """Adam on eq. 4; returns the best iterate's coil images (scaled units)."""
        best_loss = torch.full((y.shape[0],), float("inf"), device=y.device)
        best = None
        for _ in range(self.iterations):
            coils = problem.estimate()
            loss = problem.data_loss(y, coils)
            better = loss.detach() * 1.005 < best_loss
            best_loss = torch.where(better, loss.detach(), best_loss)
            kept = coils.detach()
            best = kept if best is None else torch.where(better.reshape(-1, 1, 1, 1), kept, best)
            loss.sum().backward()
            problem.update()
        self.best_loss = best_loss
        return best

    @staticmethod
    def output(problem: DecoderProblem, coils: torch.Tensor, written: torch.Tensor,
               crop: tuple[int, int]) -> torch.Tensor:
        """Data consistency with ``written`` (measured k-space), ``RSS / s``, cropped."""
        with torch.no_grad():
            kspace = fft2c(coils) * (1 - problem.mask) + problem._scaled(written)
            image = rss(ifft2c(kspace)) / problem.scale.reshape(-1, 1, 1)
        return center_crop(image, crop)
