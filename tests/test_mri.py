import numpy as np
import pytest
import torch

from fnaf.mri import MRIOperator, center_crop, fft2c, ifft2c, rss, undersample


def random_complex(*shape, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, dtype=torch.complex128, generator=generator)


@pytest.mark.parametrize("shape", [(8, 6), (7, 5), (2, 9, 4)])
def test_fft2c_matches_numpy_centred_orthonormal_fft(shape):
    image = random_complex(*shape)
    expected = np.fft.fftshift(
        np.fft.fft2(np.fft.ifftshift(image.numpy(), axes=(-2, -1)), norm="ortho"), axes=(-2, -1)
    )
    np.testing.assert_allclose(fft2c(image).numpy(), expected, atol=1e-12)
    expected_inverse = np.fft.fftshift(
        np.fft.ifft2(np.fft.ifftshift(image.numpy(), axes=(-2, -1)), norm="ortho"), axes=(-2, -1)
    )
    np.testing.assert_allclose(ifft2c(image).numpy(), expected_inverse, atol=1e-12)


@pytest.mark.parametrize("shape", [(8, 6), (7, 5)])
def test_fft2c_is_unitary(shape):
    image = random_complex(*shape)
    kspace = fft2c(image)
    assert torch.allclose(kspace.norm(), image.norm())  # Parseval
    assert torch.allclose(ifft2c(kspace), image)


@pytest.mark.parametrize("coils", [None, 3])
def test_the_operator_and_its_adjoint_are_adjoint(coils):
    """<A x, y> = <x, A^H y> for random x, y: single-coil and with coil sensitivities."""
    image = random_complex(2, 7, 6, seed=1)
    mask = torch.tensor([[1.0, 0, 1, 1, 0, 1]])
    sensitivities = None if coils is None else random_complex(2, coils, 7, 6, seed=5)
    operator = MRIOperator(mask, sensitivities)
    kspace = random_complex(*operator.A(image).shape, seed=2)
    lhs = torch.vdot(operator.A(image).flatten(), kspace.flatten())
    rhs = torch.vdot(image.flatten(), operator.A_adjoint(kspace).flatten())
    assert torch.allclose(lhs, rhs, rtol=1e-5, atol=1e-5)
    assert operator.A(image).shape == ((2, 7, 6) if coils is None else (2, coils, 7, 6))


@pytest.mark.parametrize("shape", [(8, 6), (6, 10), (7, 6), (6, 5), (32, 22)])
@pytest.mark.parametrize("coils", [None, 3])
def test_the_operator_without_shifts_is_the_centred_one(shape, coils):
    """On even grids A and Aᴴ fold the centred FFT's shifts into the mask and sensitivities
    (a checkerboard, g = ±1 by (H + W) / 2): the same values as fft2c / ifft2c on any grid, odd
    ones included (their own path), for single- and multi-coil, and gradients reach the maps."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, *shape, dtype=torch.complex64, generator=generator)
    mask = (torch.rand(2, 1, *([1] if coils else []), shape[1], generator=generator) > 0.5)
    maps = (None if coils is None else
            torch.randn(2, coils, *shape, dtype=torch.complex64, generator=generator))
    operator = MRIOperator(mask.float(), maps)
    kspace = fft2c(x if maps is None else maps * x[:, None]) * mask
    torch.testing.assert_close(operator.A(x), kspace, atol=1e-5, rtol=1e-5)
    y = torch.randn(kspace.shape, dtype=torch.complex64, generator=generator)
    images = ifft2c(y * mask)
    expected = images if maps is None else (maps.conj() * images).sum(-3)
    for _ in range(2):  # the second call reuses the folded mask and maps
        torch.testing.assert_close(operator.A_adjoint(y), expected, atol=1e-5, rtol=1e-5)
    if maps is not None:
        operator = MRIOperator(mask.float(), maps.requires_grad_(True))
        for _ in range(2):  # a graph per call where the maps need a gradient
            operator.undersample(x).abs().sum().backward()
        assert maps.grad is not None and maps.grad.abs().sum() > 0


def test_single_coil_adjoint_is_the_zero_filled_image_and_rss_is_fastmris():
    kspace = random_complex(2, 7, 6, seed=6)
    mask = torch.tensor([[1.0, 0, 1, 1, 0, 1]])
    assert torch.equal(MRIOperator(mask).A_adjoint(kspace), ifft2c(kspace * mask))
    coil_images = random_complex(2, 3, 4, 5, seed=7)
    assert torch.allclose(rss(coil_images), torch.sqrt((coil_images.abs() ** 2).sum(1)))


def test_undersample_is_linear():
    y, delta = random_complex(2, 8, 6, seed=3), random_complex(2, 8, 6, seed=4)
    mask = torch.tensor([[0.0, 1, 1, 0, 1, 0]])
    assert torch.allclose(undersample(y + delta, mask),
                          undersample(y, mask) + undersample(delta, mask))


def test_center_crop_offsets_for_odd_sizes():
    x = torch.arange(7 * 6).reshape(7, 6)
    crop = center_crop(x, (4, 3))
    # start = (size - target) // 2 -> rows 1..4, columns 1..3
    assert torch.equal(crop, x[1:5, 1:4])
    assert center_crop(np.zeros((3, 9, 8)), (9, 5)).shape == (3, 9, 5)


def test_center_crop_larger_than_image_raises():
    with pytest.raises(ValueError, match="cannot centre-crop"):
        center_crop(torch.zeros(4, 4), (5, 4))
