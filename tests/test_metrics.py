import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from fnaf.losses import SSIMLoss
from fnaf.metrics import nmse, psnr, region_nmse, ssim, volume_metrics


@pytest.fixture
def volumes():
    rng = np.random.default_rng(0)
    gt = rng.random((3, 24, 20))
    gt[0] *= 0.5  # slices with different maxima: the volume max must be used
    pred = gt + 0.05 * rng.standard_normal(gt.shape)
    return gt, pred


def test_volume_nmse_and_psnr(volumes):
    gt, pred = volumes
    assert nmse(gt, pred) == pytest.approx(np.sum((gt - pred) ** 2) / np.sum(gt**2), rel=1e-12)
    expected = 10 * np.log10(gt.max() ** 2 / np.mean((gt - pred) ** 2))
    assert psnr(gt, pred) == pytest.approx(expected, rel=1e-12)
    assert psnr(gt, pred, maxval=2.0) == pytest.approx(10 * np.log10(4 / np.mean((gt - pred) ** 2)))


def test_ssim_per_slice_with_the_volume_max(volumes):
    gt, pred = volumes
    expected = np.mean([structural_similarity(g, p, data_range=gt.max()) for g, p in zip(gt, pred)])
    assert ssim(gt, pred) == pytest.approx(expected, abs=1e-12)
    slice_max = np.mean([structural_similarity(g, p, data_range=g.max()) for g, p in zip(gt, pred)])
    assert abs(ssim(gt, pred) - slice_max) > 1e-4
    assert set(volume_metrics(gt, pred)) == {"NMSE", "PSNR", "SSIM"}


def test_ssim_loss_matches_skimage(volumes):
    gt, pred = volumes
    loss = SSIMLoss()
    for dtype, tolerance in ((torch.float64, 1e-8), (torch.float32, 1e-6)):
        x = torch.from_numpy(pred[:, None]).to(dtype)
        y = torch.from_numpy(gt[:, None]).to(dtype)
        data_range = torch.full((3,), gt.max(), dtype=dtype)
        per_slice = 1 - loss(x, y, data_range, reduced=False).mean(dim=(1, 2, 3))
        expected = [structural_similarity(p, g, data_range=gt.max()) for g, p in zip(gt, pred)]
        np.testing.assert_allclose(per_slice.numpy(), expected, atol=tolerance)
        assert (1 - loss(x, y, data_range)).item() == pytest.approx(
            np.mean(expected), abs=tolerance)


def test_region_nmse(volumes):
    gt, pred = volumes
    region = np.zeros(gt.shape[1:], dtype=bool)
    region[4:9, 3:6] = True
    inside = gt[:, region], pred[:, region]
    assert region_nmse(gt, pred, region) == pytest.approx(nmse(*inside))
    with pytest.raises(ValueError, match="non-empty"):
        region_nmse(gt, pred, np.zeros_like(region))


def test_shape_mismatch_raises(volumes):
    with pytest.raises(ValueError, match="differ in shape"):
        nmse(volumes[0], volumes[1][:2])
