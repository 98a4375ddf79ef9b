"""Physics-realistic measurement noise: the coil covariance it estimates, the noise it draws
(its norm, support and correlation), and its rows beside PGD's."""

import torch

from fnaf.attacks.ball import slice_norms
from fnaf.attacks.coil_noise import CoilNoise, coil_covariance, coil_noise
from fnaf.attacks.pgd import random_perturbation
from fnaf.audit import ReconModel
from fnaf.audit.model import ReconPipeline
from fnaf.mri import zero_filled_image

COVARIANCE = torch.tensor([[2.0, 0.8 + 0.6j, 0.0], [0.8 - 0.6j, 1.0, 0.3j],
                           [0.0, -0.3j, 0.5]], dtype=torch.complex64)


def generators(count, seed=0):
    return [torch.Generator().manual_seed(seed + b) for b in range(count)]


def correlated_kspace(height=512, width=64):
    """Pure noise with :data:`COVARIANCE` between 3 coils ``(1, 3, H, W)``."""
    white = torch.randn(1, 3, height, width, dtype=torch.complex64,
                        generator=torch.Generator().manual_seed(5))
    return torch.einsum("ij,bjhw->bihw", torch.linalg.cholesky(COVARIANCE), white)


def test_the_covariance_is_estimated_from_the_periphery_on_sampled_columns():
    kspace = correlated_kspace()
    mask = torch.zeros(1, 1, 1, 64)
    mask[..., ::2] = 1
    centre = kspace.clone()
    centre[..., 40:-40, :] *= 100  # the centre (signal) does not enter the estimate
    estimate = coil_covariance(centre, mask)[0]
    assert torch.allclose(estimate, COVARIANCE, atol=0.15)
    unsampled = kspace.clone()
    unsampled[..., 1::2] *= 100  # nor do unsampled columns
    assert torch.allclose(coil_covariance(unsampled, mask)[0], estimate)


def test_the_noise_has_the_norm_the_support_and_the_scans_coil_correlation():
    kspace = correlated_kspace()
    mask = torch.zeros(1, 1, 1, 64)
    mask[..., ::2] = 1
    support = torch.ones_like(kspace.real) * mask
    noise = coil_noise(kspace, mask, support, torch.tensor([3.0]), generators(1))
    torch.testing.assert_close(slice_norms(noise), torch.tensor([3.0]))
    assert torch.all(noise * (1 - mask) == 0)
    samples = noise[..., ::2].flatten(2)[0]
    empirical = samples @ samples.conj().T
    expected = COVARIANCE * empirical.diagonal().real.sum() / COVARIANCE.diagonal().real.sum()
    assert torch.allclose(empirical, expected, atol=0.1 * expected.abs().max())


def test_single_coil_noise_is_white_noise():
    kspace = torch.randn(2, 16, 12, dtype=torch.complex64)
    mask = torch.ones(2, 1, 12)
    support = torch.ones(2, 16, 12) * mask
    radius = torch.tensor([1.0, 2.0])
    torch.testing.assert_close(coil_noise(kspace, mask, support, radius, generators(2)),
                               random_perturbation(support, radius, generators(2)))


def test_a_model_meets_the_coil_noise_and_its_white_control_at_one_norm(multicoil_batch):
    model = ReconModel(zero_filled_image, "zero-filled")
    result = CoilNoise(model, ReconPipeline(), eps=0.05)(multicoil_batch)
    measured = slice_norms(multicoil_batch.kspace * multicoil_batch.mask)
    torch.testing.assert_close(result.radius, 0.05 * measured)
    torch.testing.assert_close(slice_norms(result.perturbation), result.radius)
    torch.testing.assert_close(slice_norms(result.noise), result.radius)
    assert not torch.allclose(result.perturbation, result.noise)  # coloured, not white
    torch.testing.assert_close(result.loss, 0.5 * (result.attacked - result.clean)
                               .square().flatten(1).sum(1))
    assert torch.all(result.loss > 0)
