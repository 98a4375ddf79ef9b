"""l1-minimisation (Darestani et al., eq. 1): the sparsifying transforms, FISTA against known
solutions and against SigPy, the authors' gradient-descent option, and the method on batches."""

import numpy as np
import pytest
import torch

from fnaf.data.coils import birdcage_maps
from fnaf.data.masks import RandomMaskFunc
from fnaf.metrics import ssim
from fnaf.mri import MRIOperator, fft2c
from fnaf.untrained.l1 import L1Solver, lipschitz
from fnaf.untrained.sense import L1Method
from fnaf.untrained.sparsity import BASES, SparsifyingTransform, soft_threshold


def column_mask(width, seed):
    """A 4x random mask ``(1, 1, 1, W)`` (one slice, coils)."""
    mask, _ = RandomMaskFunc([0.1], [4])((1, width, 1), seed=seed)
    return mask.reshape(1, 1, 1, width)


def random_image(shape, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, dtype=torch.complex64, generator=generator)


@pytest.mark.parametrize("basis", BASES)
@pytest.mark.parametrize("shape", [(64, 40), (50, 30)])
def test_every_basis_keeps_norms_with_perfect_reconstruction(basis, shape):
    transform = SparsifyingTransform(basis, shape)
    x = random_image((3, *shape))
    coefficients = transform.forward(x)
    energy = x.abs().square().sum()
    assert coefficients.abs().square().sum() == pytest.approx(energy.item(), rel=1e-5)
    torch.testing.assert_close(transform.inverse(coefficients), x, atol=1e-5, rtol=0)


@pytest.mark.parametrize("shape, square", [((64, 368), True), ((64, 372), False),
                                           ((64, 40), True), ((64, 44), False)])
def test_the_wavelet_is_square_only_where_each_side_halves_evenly(shape, square):
    """fastMRI's widths: 368 = 8 x 46 gives an orthonormal level-3 wavelet; at 372 it is a
    Parseval frame (norms kept, more coefficients than pixels), as the docstring says."""
    transform = SparsifyingTransform("wavelet", shape)
    x = random_image((2, *shape))
    coefficients = transform.forward(x)
    assert transform.square == square == (coefficients.shape[-1] == shape[0] * shape[1])
    torch.testing.assert_close(transform.inverse(coefficients), x, atol=1e-5, rtol=0)
    other = random_image(coefficients.shape, seed=1)  # Ψ Ψᴴ = I only for a square transform
    roundtrip = transform.forward(transform.inverse(other))
    assert torch.allclose(roundtrip, other, atol=1e-4) == square
    assert all(SparsifyingTransform(basis, shape).square for basis in ("fourier", "dct"))


@pytest.mark.parametrize("shape", [(64, 40), (64, 44), (50, 37)])
def test_the_dense_wavelet_gives_ptwts_coefficients_and_its_adjoint(shape):
    """The wavelet applies ptwt's boundary-wavelet matrices as dense products: the same bands
    as ``ptwt.MatrixWavedec2`` (odd sides zero-padded at each scale), and ``Ψᴴ`` is the exact
    adjoint of ``Ψ`` (<Ψx, c> = <x, Ψᴴc>) also where the transform is only a frame."""
    import ptwt

    transform = SparsifyingTransform("wavelet", shape)
    x = random_image((2, *shape))
    approximation, *details = ptwt.MatrixWavedec2("db3", level=3)(torch.cat([x.real, x.imag]))
    bands = [approximation] + [band for scale in details for band in scale]
    real, imag = torch.cat([band.flatten(1) for band in bands], 1).chunk(2)
    coefficients = transform.forward(x)
    torch.testing.assert_close(coefficients, torch.complex(real, imag), atol=1e-5, rtol=0)
    other = random_image(coefficients.shape, seed=1)
    inner = (coefficients.conj() * other).sum()
    torch.testing.assert_close(inner, (x.conj() * transform.inverse(other)).sum(),
                               atol=1e-3, rtol=1e-5)


def test_the_wavelet_lowpass_band_is_the_approximation():
    transform = SparsifyingTransform("wavelet", (64, 40), "haar", level=2)
    assert transform.lowpass == (64 // 4) * (40 // 4)
    constant = torch.ones(1, 64, 40, dtype=torch.complex64)
    coefficients = transform.forward(constant)  # a constant lives in the approximation band
    assert coefficients[:, transform.lowpass:].abs().max() < 1e-5


def test_soft_threshold_is_the_prox_of_the_l1_norm():
    c = torch.tensor([[3 + 4j, 0.1 + 0j, -2 + 0j]], dtype=torch.complex64)
    out = soft_threshold(c, torch.tensor([1.0]))
    torch.testing.assert_close(out, torch.tensor([[2.4 + 3.2j, 0, -1]], dtype=torch.complex64))


@pytest.mark.parametrize("basis", BASES)
def test_fista_reaches_the_closed_form_solution_of_a_fully_sampled_problem(basis):
    """With every column sampled and one coil, A = F is orthonormal and eq. 1 is solved by
    x = Ψᴴ soft(Ψ Fᴴ y, λ)."""
    shape = (32, 24)
    transform = SparsifyingTransform(basis, shape, "db2", level=2)
    x_true = random_image((2, *shape), seed=1)
    operator = MRIOperator(torch.ones(2, 1, shape[1]))
    y = operator.A(x_true)
    solver = L1Solver(transform, lam=0.2, iterations=500, tol=1e-5)
    lam = solver.thresholds(operator, y)
    expected = transform.inverse(soft_threshold(transform.forward(x_true), lam))
    torch.testing.assert_close(solver(y, operator), expected, atol=1e-4, rtol=0)
    assert solver.iterations_run < 500  # the stopping rule ended it


def test_lam_one_gives_the_zero_image_and_lipschitz_is_one_for_normalised_maps():
    shape = (48, 32)
    maps = torch.from_numpy(birdcage_maps(4, shape))[None]
    operator = MRIOperator(column_mask(32, seed=0), maps)
    y = operator.A(random_image((1, *shape)))
    assert lipschitz(operator, 1).item() == pytest.approx(1.0, abs=1e-5)
    x = random_image((1, *shape), seed=2)  # a power iteration stays below the bound
    for _ in range(50):
        x = operator.A_adjoint(operator.A(x))
        estimate = x.abs().square().sum().sqrt()
        x = x / estimate
    assert 0.95 < estimate.item() <= lipschitz(operator, 1).item() + 1e-5
    assert lipschitz(MRIOperator(2 * torch.ones(3, 1, 8)), 3).tolist() == [4.0] * 3
    x = L1Solver(SparsifyingTransform("wavelet", shape), lam=1.0, iterations=50)(y, operator)
    assert x.abs().max() < 1e-6


def test_the_objective_decreases_and_gd_matches_the_authors_lowpass_penalty():
    shape = (48, 32)
    maps = torch.from_numpy(birdcage_maps(3, shape))[None]
    operator = MRIOperator(column_mask(32, seed=1), maps)
    y = operator.A(random_image((1, *shape), seed=2))
    transform = SparsifyingTransform("wavelet", shape)
    short, long = (L1Solver(transform, lam=0.05, iterations=n, tol=0) for n in (5, 100))
    assert (long.objective(long(y, operator), y, operator)
            < short.objective(short(y, operator), y, operator)).all()
    gd = L1Solver(transform, lam=0.05, iterations=10, solver="gd")
    coefficients = transform.forward(random_image((1, *shape)))
    assert gd.penalised(coefficients).shape[1] == transform.lowpass < coefficients.shape[1]
    assert long.penalised(coefficients).shape[1] == coefficients.shape[1]


def test_fista_agrees_with_sigpy_l1waveletrecon(multicoil_batch):
    """A phantom slice's SENSE problem solved by SigPy and by FISTA with the same absolute λ and
    the same wavelet: Haar at SigPy's default (maximal) level on a 64x32 grid, where SigPy's
    zero-padded transform needs no padding and both are the same orthonormal transform. (With
    db3 SigPy's transform is a frame and the problems differ at the boundary:
    ``benchmarks/bench_l1.py`` reports that comparison.)"""
    sigpy_app = pytest.importorskip("sigpy.mri.app")
    import pywt

    from fnaf.mri import ifft2c

    shape, coils = (64, 32), multicoil_batch.kspace.shape[1]
    wide = torch.from_numpy(birdcage_maps(coils, tuple(multicoil_batch.kspace.shape[-2:])))
    image = (wide.conj() * ifft2c(multicoil_batch.kspace[:1])).sum(1)[..., 4:36]
    maps = torch.from_numpy(birdcage_maps(coils, shape))
    operator = MRIOperator(column_mask(32, seed=3), maps[None])
    y = operator.A(image)
    level = pywt.dwtn_max_level(shape, "haar")
    solver = L1Solver(SparsifyingTransform("wavelet", shape, "haar", level), lam=0.02,
                      iterations=1000, tol=1e-6)
    ours = solver(y, operator)
    lam = float(solver.thresholds(operator, y))
    theirs = sigpy_app.L1WaveletRecon(y[0].numpy(), maps.numpy(), lam, wave_name="haar",
                                      max_iter=1000, show_pbar=False).run()
    theirs = torch.from_numpy(np.asarray(theirs, np.complex64))[None]
    difference = ((ours - theirs).abs().norm() / theirs.abs().norm()).item()
    assert difference < 0.01
    reference = image.abs().numpy().astype(np.float64)
    scores = [ssim(reference, x.abs().numpy().astype(np.float64), float(reference.max()))
              for x in (ours, theirs)]
    assert abs(scores[0] - scores[1]) < 0.005
    assert solver.objective(ours, y, operator) <= solver.objective(theirs, y, operator) * 1.001


def test_the_l1_method_beats_zero_filling_and_memoises_its_maps(multicoil_batch, monkeypatch):
    from fnaf.data import coils
    from fnaf.mri import center_crop, zero_filled_image

    estimated = []
    monkeypatch.setattr(coils, "_MEMO", type(coils._MEMO)())
    monkeypatch.setattr(coils, "espirit_maps", lambda kspace, *args: estimated.append(1) or
                        torch.from_numpy(birdcage_maps(kspace.shape[0], kspace.shape[-2:])))
    method = L1Method(lam=3e-4, iterations=100)
    magnitude = method(multicoil_batch)
    assert magnitude.shape == multicoil_batch.target.shape
    target = multicoil_batch.target.numpy().astype(np.float64)
    zero_filled = center_crop(zero_filled_image(multicoil_batch.kspace, multicoil_batch.mask),
                              target.shape[-2:])
    maxval = float(target.max())
    assert (ssim(target, magnitude.numpy().astype(np.float64), maxval)
            > ssim(target, zero_filled.numpy().astype(np.float64), maxval))
    assert len(estimated) == len(multicoil_batch.fname)
    L1Method(basis="dct", lam=3e-4, iterations=2)(multicoil_batch)
    assert len(estimated) == len(multicoil_batch.fname)  # once per slice, for every method
    # the same file and slice names with other data (another dataset, fewer coils): new maps
    other = multicoil_batch._replace(kspace=multicoil_batch.kspace[:, :-1] * 2)
    assert method(other).shape == magnitude.shape
    assert len(estimated) == 2 * len(multicoil_batch.fname)
    monkeypatch.setattr(coils, "MEMO_BYTES", 0)  # the oldest maps go first; the newest stay
    method(multicoil_batch._replace(kspace=multicoil_batch.kspace * 3))
    assert len(coils._MEMO) == 1


@pytest.mark.parametrize("settings, message", [
    (dict(basis="curvelet"), "unknown basis"),
    (dict(wavelet="db99x"), "unknown wavelet"),
    (dict(level=0), "level"),
    (dict(lam=-1.0), "lam"),
    (dict(iterations=0), "iterations"),
    (dict(solver="admm"), "unknown l1 solver"),
])
def test_bad_settings_are_named(settings, message):
    with pytest.raises(ValueError, match=message):
        L1Method(**settings)


def test_a_transform_refuses_another_grid():
    with pytest.raises(ValueError, match="built for images"):
        SparsifyingTransform("dct", (32, 24)).forward(random_image((1, 24, 32)))


def test_fft_basis_is_the_centred_fourier_transform():
    x = random_image((1, 16, 12))
    torch.testing.assert_close(SparsifyingTransform("fourier", (16, 12)).forward(x),
                               fft2c(x).flatten(1))
