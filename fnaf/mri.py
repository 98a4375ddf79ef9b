"""Centred orthonormal Fourier transforms, crops and the MRI forward operator (single- and
multi-coil).

Conventions (``DESIGN.md``): complex data are torch ``complex64`` tensors; the two image axes are
the last two dimensions, ``(..., H, W)``, where ``H`` is the read-out (frequency-encode) axis and
``W`` the phase-encode axis along which masks remove columns. The transforms match fastMRI's
``fft2c``/``ifft2c`` (``fftshift(fft2(ifftshift(x), norm="ortho"))``), so ``||fft2c(x)|| = ||x||``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import torch

_IMAGE_DIMS = (-2, -1)


def fft2c(image: torch.Tensor) -> torch.Tensor:
    """Centred orthonormal 2-D FFT, image ``(..., H, W)`` complex -> k-space ``(..., H, W)``."""
    shifted = torch.fft.ifftshift(image, dim=_IMAGE_DIMS)
    kspace = torch.fft.fft2(shifted, dim=_IMAGE_DIMS, norm="ortho")
    return torch.fft.fftshift(kspace, dim=_IMAGE_DIMS)


def ifft2c(kspace: torch.Tensor) -> torch.Tensor:
    """Centred orthonormal 2-D inverse FFT, k-space ``(..., H, W)`` -> image ``(..., H, W)``."""
    shifted = torch.fft.ifftshift(kspace, dim=_IMAGE_DIMS)
    image = torch.fft.ifft2(shifted, dim=_IMAGE_DIMS, norm="ortho")
    return torch.fft.fftshift(image, dim=_IMAGE_DIMS)


@lru_cache(maxsize=32)
def checkerboard(height: int, width: int, device: torch.device) -> torch.Tensor:
    """``C = (−1)^(m+n)`` on an even ``(H, W)`` grid: with ``g = (−1)^((H+W)/2)``,
    ``fft2c(x) = g · C · fft2(C · x)`` and ``ifft2c(x) = g · C · ifft2(C · x)``: the centred
    transform's two shifts are modulations (a shift by ``N/2`` multiplies the other domain by
    ``(−1)^k``), which :class:`MRIOperator` folds into its mask and sensitivities. Shared: never
    modify it in place."""
    if height % 2 or width % 2:
        raise ValueError(f"the checkerboard identity needs an even grid, not {height}x{width}")
    signs = 1 - 2 * ((torch.arange(height)[:, None] + torch.arange(width)) % 2)
    return signs.to(device, torch.float32)


def center_crop(x, shape: Sequence[int]):
    """Crop the last two dimensions of ``x`` (torch or numpy, real or complex) to ``shape``.

    The start offset is ``(size - target) // 2`` on each axis, as in fastMRI's ``center_crop``
    and ``complex_center_crop`` (one function suffices for torch complex tensors).
    """
    height, width = int(shape[0]), int(shape[1])
    in_height, in_width = x.shape[-2], x.shape[-1]
    if not (0 < height <= in_height and 0 < width <= in_width):
        raise ValueError(
            f"cannot centre-crop an image of size {in_height}x{in_width} to {height}x{width}; "
            "the crop must be positive and no larger than the image"
        )
    top = (in_height - height) // 2
    left = (in_width - width) // 2
    return x[..., top : top + height, left : left + width]


def rss(coil_images: torch.Tensor, dim: int = -3) -> torch.Tensor:
    """Root-sum-of-squares coil combination (fastMRI's ``rss``): ``(..., C, H, W)`` -> real
    ``(..., H, W)``."""
    return coil_images.abs().square().sum(dim).sqrt()


class MRIOperator:
    """The MRI forward model ``A = M F S`` and its adjoint, for one batch's sampling masks.

    * single-coil (``sensitivities`` None): image ``(..., H, W)`` -> k-space ``(..., H, W)``,
      ``A = M F``; ``A^H A`` is the FNAF paper's under-sampling ``U`` (eq. 4);
    * multi-coil (``sensitivities`` ``(..., C, H, W)``, complex): image ``(..., H, W)`` ->
      k-space ``(..., C, H, W)``, ``A x = M F (S_c x)`` per coil and
      ``A^H y = sum_c conj(S_c) F^H (M y_c)`` (SENSE).

    ``mask`` broadcasts against the k-space, e.g. ``(B, 1, W)`` (one mask per slice, columns
    along the phase-encode axis) or ``(B, 1, 1, W)`` for coils. Like deepinv's ``physics``: ``A``,
    ``A_adjoint`` and the zero-filled estimate ``A_adjoint(y)``; :meth:`coil_images` and
    :func:`rss` give fastMRI's multi-coil zero-filled image.
    """

    def __init__(self, mask: torch.Tensor, sensitivities: torch.Tensor | None = None):
        self.mask = mask
        self.sensitivities = sensitivities
        self._folded = {}

    def _check_grid(self, data: torch.Tensor, what: str, coil_dim: bool) -> None:
        expected = self.sensitivities.shape[-3:] if coil_dim else self.sensitivities.shape[-2:]
        if tuple(data.shape[-len(expected):]) != tuple(expected):
            raise ValueError(f"sensitivity maps of shape {tuple(self.sensitivities.shape)} do "
                             f"not match the {what} of shape {tuple(data.shape)}: maps are "
                             "(..., coils, H, W) on the k-space's coils and grid")

    def _fold(self, grid: tuple[int, int], device: torch.device
              ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """On an even grid ``(S', M') = (C · S, g · C · M)`` (single-coil ``S' = C``,
        :func:`checkerboard`), so that ``A x = M' · fft2(S' x)`` and ``Aᴴ y = Σ_c conj(S'_c) ·
        ifft2(M' y_c)`` without shifts; ``None`` on an odd grid. Computed once per grid (the
        mask and sensitivities are fixed at construction; recomputed per call where either
        requires a gradient, so that each call has a graph of its own)."""
        if grid[0] % 2 or grid[1] % 2:
            return None
        if grid not in self._folded or self.mask.requires_grad or (
                self.sensitivities is not None and self.sensitivities.requires_grad):
            signs = checkerboard(*grid, device)
            sign = -1.0 if (grid[0] + grid[1]) // 2 % 2 else 1.0
            sensitivities = signs if self.sensitivities is None else signs * self.sensitivities
            self._folded[grid] = sensitivities, sign * signs * self.mask
        return self._folded[grid]

    def A(self, image: torch.Tensor) -> torch.Tensor:  # noqa: N802 (the operator's name)
        """Masked k-space of ``image``."""
        if self.sensitivities is not None:
            self._check_grid(image, "image", coil_dim=False)
        folded = self._fold(tuple(image.shape[-2:]), image.device)
        if folded is not None:
            sensitivities, mask = folded
            if self.sensitivities is not None:
                image = image.unsqueeze(-3)
            return torch.fft.fft2(sensitivities * image, dim=_IMAGE_DIMS, norm="ortho") * mask
        if self.sensitivities is not None:
            image = self.sensitivities * image.unsqueeze(-3)
        return fft2c(image) * self.mask

    def A_adjoint(self, kspace: torch.Tensor) -> torch.Tensor:  # noqa: N802
        """The adjoint (zero-filled, coil-combined with conjugate sensitivities) image."""
        if self.sensitivities is not None:
            self._check_grid(kspace, "k-space", coil_dim=True)
        folded = self._fold(tuple(kspace.shape[-2:]), kspace.device)
        if folded is None:
            images = self.coil_images(kspace)
            return images if self.sensitivities is None else (
                self.sensitivities.conj() * images).sum(-3)
        sensitivities, mask = folded
        images = torch.fft.ifft2(kspace * mask, dim=_IMAGE_DIMS, norm="ortho")
        return sensitivities * images if self.sensitivities is None else (
            sensitivities.conj() * images).sum(-3)

    def coil_images(self, kspace: torch.Tensor) -> torch.Tensor:
        """``F^H M y``: the zero-filled image of each coil (single-coil: the image)."""
        return ifft2c(kspace * self.mask)

    def undersample(self, image: torch.Tensor) -> torch.Tensor:
        """``A^H A x``: for one coil the FNAF paper's ``U(y) = F^-1(M(F(y)))`` (eq. 4),
        linear, so ``U(y + delta') = U(y) + U(delta')`` (eq. 8)."""
        return self.A_adjoint(self.A(image))


def zero_filled_image(kspace: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The zero-filled image fastMRI's models start from: single-coil ``F^H M y`` (complex
    ``(B, H, W)``), multi-coil the root-sum-of-squares of the coil images ``(B, C, H, W)`` ->
    real ``(B, H, W)`` (a mask ``(B, 1, 1, W)``)."""
    operator = MRIOperator(mask)
    return rss(operator.coil_images(kspace)) if kspace.ndim == 4 else operator.A_adjoint(kspace)


def undersample(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The FNAF paper's under-sampling function ``U(y) = F^-1(M(F(y)))`` (eq. 4), single-coil."""
    return MRIOperator(mask).undersample(image)
