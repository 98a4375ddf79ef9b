"""Multi-coil data: the phantom's multi-coil layout, the reader's faults, coil sensitivities."""

import hashlib
import json
from dataclasses import asdict

import h5py
import numpy as np
import pytest
import torch

from fnaf.data.coils import birdcage_maps, espirit_maps
from fnaf.data.fastmri import FastMRIDataError, SliceDataset, split_dir
from fnaf.data.fastmri_writer import ismrmrd_header, write_volume
from fnaf.data.phantom import (
    ACQUISITION_DEFAULTS,
    GENERATOR_VERSION,
    PhantomConfig,
    write_phantom,
)
from fnaf.mri import MRIOperator, center_crop, fft2c, ifft2c, rss

COILS = 3


@pytest.fixture(scope="module")
def both_layouts(tmp_path_factory):
    """The same smoke phantom written single-coil and with three coils."""
    root = tmp_path_factory.mktemp("layouts")
    config = PhantomConfig(geometry="smoke", train_volumes=1, val_volumes=2, slices=3, seed=5)
    single = write_phantom(root / "single", config)
    multi = write_phantom(root / "multi", PhantomConfig(**{**asdict(config), "coils": COILS}))
    return single, multi


def test_multicoil_layout_and_rss_target(both_layouts):
    _, multi = both_layouts
    dataset = SliceDataset(split_dir(multi, "val", "multicoil"), challenge="multicoil")
    assert len(dataset) == 2 * 3 and dataset.volumes[0].coils == COILS
    kspace, mask, target, attrs, fname, _ = dataset[4]
    assert kspace.shape == (COILS, 64, 40) and kspace.dtype == np.complex64 and mask is None
    assert target.shape == (32, 32) and attrs["recon_size"] == (32, 32, 1)
    # fastMRI's multi-coil target: RSS of the centre-cropped coil images of the stored k-space
    expected = rss(center_crop(ifft2c(torch.from_numpy(kspace)), (32, 32))).numpy()
    np.testing.assert_allclose(target, expected, rtol=1e-5, atol=1e-10)
    with h5py.File(dataset.volumes[0].fname) as handle:
        assert set(handle) == {"kspace", "reconstruction_rss", "ismrmrd_header"}
        assert handle.attrs["max"] == pytest.approx(handle["reconstruction_rss"][()].max())


def test_multicoil_phantom_shares_anatomy_and_boxes(both_layouts):
    single, multi = both_layouts
    assert ((single / "singlecoil_bb_val.csv").read_text()
            == (multi / "multicoil_bb_val.csv").read_text())
    noise_free = SliceDataset(split_dir(single, "val"), recons_key="reconstruction_rss")[1][2]
    coil_rss = SliceDataset(split_dir(multi, "val", "multicoil"), challenge="multicoil")[1][2]
    # birdcage maps have unit RSS: the multi-coil target is the same image plus coil noise
    assert np.corrcoef(noise_free.ravel(), coil_rss.ravel())[0, 1] > 0.99


def test_single_coil_phantom_keys_are_unchanged():
    config = PhantomConfig()
    fields = {k: v for k, v in asdict(config).items()
              if k not in ("coils", *ACQUISITION_DEFAULTS)}  # fields added later
    before = hashlib.sha256(json.dumps({**fields, "version": GENERATOR_VERSION},
                                       sort_keys=True).encode()).hexdigest()[:16]
    assert config.key() == before and PhantomConfig(coils=4).key() != before
    with pytest.raises(ValueError, match="coils"):
        PhantomConfig(coils=0)


def write_multicoil(path, kspace, target_key="reconstruction_rss"):
    header = ismrmrd_header(kspace.shape[-2:], (8, 8), (0, kspace.shape[-1]))
    write_volume(path, kspace, {target_key: np.ones((kspace.shape[0], 8, 8))}, header,
                 {"max": 1.0, "acquisition": "CORPD_FBK"})


def test_reader_names_the_coil_layout_faults(tmp_path):
    write_multicoil(tmp_path / "file1.h5", np.ones((2, 16, 12), np.complex64))
    with pytest.raises(FastMRIDataError, match="file1.h5.*coil dimension is missing"):
        SliceDataset(tmp_path, challenge="multicoil")
    (tmp_path / "file1.h5").unlink()
    write_multicoil(tmp_path / "file2.h5", np.ones((2, 4, 16, 12), np.complex64))
    with pytest.raises(FastMRIDataError, match="file2.h5.*challenge='multicoil'"):
        SliceDataset(tmp_path)
    with pytest.raises(ValueError, match="unknown challenge 'multi'"):
        SliceDataset(tmp_path, challenge="multi")
    (tmp_path / "file2.h5").unlink()
    coils_last = np.ones((2, 16, 12, 4), np.complex64)
    header = ismrmrd_header((16, 12), (8, 8), (0, 12))
    write_volume(tmp_path / "file4.h5", coils_last, {"reconstruction_rss": np.ones((2, 8, 8))},
                 header, {"max": 1.0})
    with pytest.raises(FastMRIDataError, match=r"file4.h5.*coils last.*\(slices, coils, H, W\)"):
        SliceDataset(tmp_path, challenge="multicoil")
    (tmp_path / "file4.h5").unlink()
    write_multicoil(tmp_path / "file3.h5", np.ones((2, 4, 16, 12), np.complex64),
                    target_key="reconstruction_esc")
    with pytest.raises(FastMRIDataError, match="file3.h5: missing target dataset "
                                               "'reconstruction_rss'"):
        SliceDataset(tmp_path, challenge="multicoil")


def test_sensitivities_must_match_the_kspace():
    maps = torch.from_numpy(birdcage_maps(4, (16, 12)))
    operator = MRIOperator(torch.ones(1, 1, 12), maps)
    image = torch.randn(16, 12, dtype=torch.complex64)
    assert operator.A(image).shape == (4, 16, 12)
    with pytest.raises(ValueError, match=r"do not match the k-space of shape \(3, 16, 12\)"):
        operator.A_adjoint(torch.zeros(3, 16, 12, dtype=torch.complex64))
    with pytest.raises(ValueError, match="do not match the image"):
        operator.A(torch.zeros(16, 10, dtype=torch.complex64))


def test_birdcage_maps_have_unit_rss_and_vary_smoothly():
    maps = birdcage_maps(8, (64, 40))
    np.testing.assert_allclose(np.sqrt((np.abs(maps) ** 2).sum(0)), 1, rtol=1e-5)
    energy = fft2c(torch.from_numpy(maps)).abs().square()
    central = center_crop(energy, (16, 10)).sum((-2, -1)) / energy.sum((-2, -1))
    assert central.min() > 0.95  # smooth: the maps' energy lies in the lowest frequencies
    assert np.array_equal(birdcage_maps(1, (4, 4)), np.ones((1, 4, 4), np.complex64))
    with pytest.raises(ValueError, match="coils must be an integer >= 1"):
        birdcage_maps(0, (4, 4))


def test_espirit_recovers_the_true_maps_inside_the_object(both_layouts):
    _, multi = both_layouts
    kspace = torch.from_numpy(
        SliceDataset(split_dir(multi, "val", "multicoil"), challenge="multicoil")[1][0])
    estimated = espirit_maps(kspace, calib_width=12)
    true = torch.from_numpy(birdcage_maps(COILS, (64, 40)))
    inside = estimated.abs().square().sum(0) > 0.5  # ESPIRiT's support: the object
    # maps are defined up to one phase per pixel: compare |<S_true, S_est>| over the coils
    agreement = (true.conj() * estimated).sum(0).abs()[inside]
    assert inside.float().mean() > 0.2 and agreement.mean() > 0.95
    with pytest.raises(ValueError, match="calib_width 80"):
        espirit_maps(kspace, calib_width=80)
    with pytest.raises(ValueError, match="wider than its kernel"):  # it would give zero maps
        espirit_maps(kspace, calib_width=2)
    with pytest.raises(ValueError, match="no sensitivity"):
        espirit_maps(kspace, calib_width=12, crop=0.99999)


@pytest.mark.parametrize("columns, expected", [
    ([0, 1, 1, 1, 1, 0], 3),  # centre 3: two sampled on the left, one on the right
    ([0, 1, 1, 1, 1, 1, 1, 0], 5),  # centre 4: three on the left, two on the right
    ([1, 1, 1, 1, 1, 0, 1, 0], 1),  # centre 4: none on the right
    ([1, 1, 0, 1, 1], 0),  # the centre column is not sampled
])
def test_the_calibration_block_is_centred_on_the_sampled_centre(columns, expected):
    from fnaf.data.coils import calibration_width

    assert calibration_width(torch.tensor(columns, dtype=torch.float32)) == expected
