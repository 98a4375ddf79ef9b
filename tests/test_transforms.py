import numpy as np
import torch

from fnaf.data.masks import RandomMaskFunc, volume_seed
from fnaf.data.transforms import UnetDataTransform, normalize_instance, unnormalize


def test_unet_transform_matches_direct_numpy_computation():
    rng = np.random.default_rng(0)
    kspace = (rng.standard_normal((20, 14))
              + 1j * rng.standard_normal((20, 14))).astype(np.complex64)
    target = np.abs(rng.standard_normal((8, 8))).astype(np.float32)
    mask_func = RandomMaskFunc([0.25], [2])
    sample = UnetDataTransform(mask_func)(kspace, None, target, {"max": 3.0}, "file7.h5", 2)

    mask, _ = RandomMaskFunc([0.25], [2])((20, 14, 2), seed=volume_seed("file7.h5"))
    mask = mask.numpy()[..., 0]
    image = np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(kspace * mask), norm="ortho"))
    magnitude = np.abs(image[6:14, 3:11])  # crop offsets (20-8)//2, (14-8)//2
    mean, std = magnitude.mean(), magnitude.std(ddof=1)
    expected = np.clip((magnitude - mean) / (std + 1e-11), -6, 6)
    np.testing.assert_allclose(sample.image.numpy(), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(sample.mean.item(), mean, rtol=1e-5)
    np.testing.assert_allclose(sample.std.item(), std, rtol=1e-5)
    expected_target = np.clip((target - mean) / (std + 1e-11), -6, 6)
    np.testing.assert_allclose(sample.target.numpy(), expected_target, rtol=1e-4, atol=1e-5)
    assert sample.max_value == 3.0 and sample.mask.shape == (1, 14)
    assert torch.equal(sample.kspace, torch.from_numpy(kspace))


def test_normalisation_is_per_slice_and_invertible():
    x = torch.rand(3, 2, 9, 7, dtype=torch.float64) * torch.arange(1, 4).reshape(3, 1, 1, 1)
    normalized, mean, std = normalize_instance(x)
    assert mean.shape == (3, 2)
    for b in range(3):
        single, single_mean, _ = normalize_instance(x[b, 1])
        assert torch.allclose(normalized[b, 1], single)
        assert torch.allclose(mean[b, 1], single_mean)
    assert torch.allclose(unnormalize(normalized, mean, std), x, atol=1e-9)


def test_clamp_to_six():
    kspace = np.zeros((8, 8), dtype=np.complex64)
    kspace[:, :] = 1  # a single bright pixel in image space after the IFFT
    sample = UnetDataTransform()(kspace, None, np.zeros((8, 8), np.float32), {}, "f.h5", 0)
    assert sample.image.max() <= 6 and sample.target.min() >= -6
