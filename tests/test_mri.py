import numpy as np
import pytest
import torch

from fnaf.mri import adjoint_op, center_crop, fft2c, forward_op, ifft2c, undersample


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


def test_forward_and_adjoint_are_adjoint():
    image, kspace = random_complex(7, 6, seed=1), random_complex(7, 6, seed=2)
    mask = torch.tensor([[1.0, 0, 1, 1, 0, 1]])
    lhs = torch.vdot(forward_op(image, mask).flatten(), kspace.flatten())
    rhs = torch.vdot(image.flatten(), adjoint_op(kspace, mask).flatten())
    assert torch.allclose(lhs, rhs)


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
