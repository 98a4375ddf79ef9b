"""Sparsifying transforms ``Ψ`` for l1-minimisation (Darestani et al., eq. 1; appendix A.3).

Each transform keeps norms on complex images ``(B, H, W)``: ``Ψᴴ Ψ = I``, so FISTA's step
``1/L`` needs no change. Where it is also :attr:`~SparsifyingTransform.square` (orthonormal,
``Ψ Ψᴴ = I``) the proximal operator of ``λ||Ψx||₁`` is exactly ``Ψᴴ soft(Ψx, λ)`` (what FISTA
uses):

* ``"wavelet"``: a separable discrete wavelet transform, ``level`` scales, all bands (the
  approximation and every detail band), through boundary wavelets (``ptwt.MatrixWavedec2``,
  QR-orthogonalised; the authors' ``pytorch_wavelets`` zero-padded transform is only a frame).
  It is square where each side halves evenly ``level`` times (fastMRI's 640×368 at level 3,
  368 = 8·46); elsewhere (372 columns: 372/8 = 46.5) the odd bands are padded and it is a
  Parseval frame with a few more coefficients than pixels (0.07 % at 640×372), where
  ``Ψᴴ soft(Ψx, λ)`` is the usual analysis approximation of the proximal operator;
* ``"fourier"``: the centred orthonormal 2-D FFT (:func:`fnaf.mri.fft2c`);
* ``"dct"``: the orthonormal 2-D DCT-II (``scipy.fft.dct(..., norm="ortho")``, as a matrix product).

Coefficients come back flat, complex ``(B, N)``; for the wavelet the first
:attr:`~SparsifyingTransform.lowpass` entries are the approximation band, the only band the
authors' code penalises.
"""

from __future__ import annotations

import warnings

import numpy as np
import pywt
import scipy.fft
import torch

from fnaf.mri import fft2c, ifft2c

#: The sparsifying bases of appendix A.3; the first is the paper's main choice.
BASES = ("wavelet", "fourier", "dct")


def check_basis(basis: str, wavelet: str = "db3", level: int = 3) -> None:
    """Raise a ``ValueError`` naming an unknown basis or wavelet, or a bad level."""
    if basis not in BASES:
        raise ValueError(f"unknown basis {basis!r}; accepted: {list(BASES)}")
    if basis == "wavelet":
        if wavelet not in pywt.wavelist(kind="discrete"):
            raise ValueError(f"unknown wavelet {wavelet!r}: give a discrete wavelet name of "
                             "PyWavelets, e.g. 'db3', 'db4', 'haar' (pywt.wavelist(kind="
                             "'discrete'))")
        if not isinstance(level, int) or level < 1:
            raise ValueError(f"wavelet level must be an integer >= 1, not {level!r}")


class SparsifyingTransform:
    """An orthonormal transform of complex images ``(B, H, W)`` <-> coefficients ``(B, N)``.

    Args:
        basis: one of :data:`BASES`.
        shape: the image grid ``(H, W)``.
        wavelet, level: the wavelet (a PyWavelets discrete wavelet name) and its number of
            scales (``"wavelet"`` only; the authors' ``db3`` with 3 scales by default).
    """

    def __init__(self, basis: str, shape: tuple[int, int], wavelet: str = "db3", level: int = 3):
        check_basis(basis, wavelet, level)
        self.basis, self.shape = basis, tuple(int(n) for n in shape)
        self.wavelet, self.level = wavelet, level
        if basis == "dct":
            self._dct = [torch.from_numpy(scipy.fft.dct(np.eye(n), norm="ortho", axis=0))
                         for n in self.shape]
        if basis == "wavelet":
            self._levels, self._copies = _wavelet_levels(wavelet, level, self.shape), {}
        self.lowpass = self._lowpass_size()

    @property
    def square(self) -> bool:
        """Orthonormal (as many coefficients as pixels, ``Ψ Ψᴴ = I``): the proximal step is
        exact. Fourier and DCT always; the wavelet where each side halves evenly ``level``
        times."""
        if self.basis != "wavelet":
            return True
        return all(n % 2 ** self.level == 0 for n in self.shape)

    def __repr__(self) -> str:
        extra = f", wavelet={self.wavelet!r}, level={self.level}" if self.basis == "wavelet" else ""
        return f"SparsifyingTransform({self.basis!r}, shape={self.shape}{extra})"

    def _lowpass_size(self) -> int:
        if self.basis != "wavelet":
            return int(np.prod(self.shape))
        rows, cols, _ = self._levels[-1]
        return rows.shape[0] // 2 * (cols.shape[0] // 2)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """``Ψx``: complex ``(B, H, W)`` -> complex ``(B, N)``."""
        if tuple(image.shape[-2:]) != self.shape:
            raise ValueError(f"{self!r} was built for images {self.shape}, not "
                             f"{tuple(image.shape[-2:])}")
        if self.basis == "fourier":
            return fft2c(image).flatten(1)
        if self.basis == "dct":
            rows, cols = (matrix.to(image.device, image.dtype) for matrix in self._dct)
            return (rows @ image @ cols.T).flatten(1)
        return self._wavelet_forward(image)

    def inverse(self, coefficients: torch.Tensor) -> torch.Tensor:
        """``Ψᴴc``: complex ``(B, N)`` -> complex ``(B, H, W)``."""
        if self.basis == "fourier":
            return ifft2c(coefficients.reshape(-1, *self.shape))
        if self.basis == "dct":
            rows, cols = (matrix.to(coefficients.device, coefficients.dtype)
                          for matrix in self._dct)
            return rows.T @ coefficients.reshape(-1, *self.shape) @ cols
        return self._wavelet_inverse(coefficients)

    def _levels_on(self, like: torch.Tensor) -> list:
        """The scales' matrices on ``like``'s device and dtype, copied there once."""
        where = (like.device, like.dtype)
        if where not in self._copies:
            self._copies[where] = [(rows.to(*where), cols.to(*where), pad)
                                   for rows, cols, pad in self._levels]
        return self._copies[where]

    def _wavelet_forward(self, image: torch.Tensor) -> torch.Tensor:
        """Per scale: zero-pad an odd side by one, ``R · LL · Cᵀ``, split into the
        approximation and the three detail bands; flat as ``(approximation, coarsest details,
        ..., finest details)``, each detail scale ``(LH, HL, HH)`` (ptwt's order)."""
        low = torch.cat([image.real, image.imag])  # the real transform on both parts
        details = []
        for rows, cols, (pad_rows, pad_cols) in self._levels_on(low):
            low = rows @ torch.nn.functional.pad(low, (0, pad_cols, 0, pad_rows)) @ cols.T
            h, w = low.shape[-2] // 2, low.shape[-1] // 2
            details.append([low[:, :h, w:], low[:, h:, :w], low[:, h:, w:]])
            low = low[:, :h, :w]
        bands = [low] + [band for scale in reversed(details) for band in scale]
        real, imag = torch.cat([band.flatten(1) for band in bands], 1).chunk(2)
        return torch.complex(real, imag)

    def _wavelet_inverse(self, coefficients: torch.Tensor) -> torch.Tensor:
        """The adjoint of :meth:`_wavelet_forward`: per scale, coarsest first,
        ``Rᵀ · [[LL, LH], [HL, HH]] · C``, then the padding cropped."""
        parts = torch.cat([coefficients.real, coefficients.imag])
        first_rows, first_cols, _ = self._levels[-1]
        size = first_rows.shape[0] // 2 * (first_cols.shape[0] // 2)
        low, rest = parts[:, :size], parts[:, size:]
        low = low.reshape(-1, first_rows.shape[0] // 2, first_cols.shape[0] // 2)
        for rows, cols, (pad_rows, pad_cols) in reversed(self._levels_on(parts)):
            h, w = rows.shape[0] // 2, cols.shape[0] // 2
            lh, hl, hh = (band.reshape(-1, h, w) for band in rest[:, :3 * h * w].split(h * w, 1))
            rest = rest[:, 3 * h * w:]
            low = rows.T @ torch.cat([torch.cat([low, lh], -1), torch.cat([hl, hh], -1)], -2) @ cols
            low = low[:, :low.shape[-2] - pad_rows, :low.shape[-1] - pad_cols]
        real, imag = low.chunk(2)
        return torch.complex(real, imag)


def _wavelet_levels(wavelet: str, level: int, shape: tuple[int, int]
                    ) -> list[tuple[torch.Tensor, torch.Tensor, tuple[int, int]]]:
    """The separable analysis matrices of each scale, finest first: ``(R, C, (pad rows,
    pad cols))``, built by ``ptwt.MatrixWavedec2`` (boundary wavelets, QR-orthogonalised) and
    kept dense: a dense product is several times faster on a CPU than ptwt's sparse one
    (``benchmarks/bench_l1.py``), for the same coefficients."""
    import ptwt

    analysis = ptwt.MatrixWavedec2(wavelet, level=level)
    with warnings.catch_warnings():  # ptwt's sparse matrices warn that they are beta
        warnings.simplefilter("ignore", UserWarning)
        analysis(torch.zeros(1, *shape))  # builds the matrices for this grid
    return [(rows.to_dense(), cols.to_dense(), (int(pad[1]), int(pad[0])))
            for (rows, cols), pad in zip(analysis.fwt_matrix_list, analysis.pad_list)]


def soft_threshold(coefficients: torch.Tensor, threshold: torch.Tensor) -> torch.Tensor:
    """Complex soft thresholding ``c · max(0, 1 − t/|c|)``, the prox of ``t||c||₁``;
    ``threshold`` ``(B,)`` per slice or a scalar."""
    threshold = torch.as_tensor(threshold, device=coefficients.device).reshape(-1, 1)
    magnitude = coefficients.abs()
    return coefficients * (1 - threshold / magnitude.clamp_min(1e-30)).clamp_min(0)
