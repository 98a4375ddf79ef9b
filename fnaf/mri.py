"""Centred orthonormal Fourier transforms, crops and the single-coil forward operator.

Conventions (``DESIGN.md``): complex data are torch ``complex64`` tensors; the two image axes are
the last two dimensions, ``(..., H, W)``, where ``H`` is the read-out (frequency-encode) axis and
``W`` the phase-encode axis along which masks remove columns. The transforms match fastMRI's
``fft2c``/``ifft2c`` (``fftshift(fft2(ifftshift(x), norm="ortho"))``), so ``||fft2c(x)|| = ||x||``.
"""

from __future__ import annotations

from collections.abc import Sequence

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


def forward_op(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Single-coil forward operator ``A = M F``: image ``(..., H, W)`` -> masked k-space.

    ``mask`` broadcasts against the k-space, e.g. ``(1, W)`` or ``(B, 1, W)``.
    """
    return fft2c(image) * mask


def adjoint_op(kspace: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Adjoint ``A^H = F^H M``: k-space ``(..., H, W)`` -> zero-filled image ``(..., H, W)``."""
    return ifft2c(kspace * mask)


def undersample(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The FNAF paper's under-sampling function ``U(y) = F^-1(M(F(y)))`` (eq. 4).

    ``U`` is linear, so ``U(y + delta') = U(y) + U(delta')`` (eq. 8).
    """
    return adjoint_op(forward_op(image, mask), mask)
