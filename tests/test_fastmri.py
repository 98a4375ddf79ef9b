import h5py
import numpy as np
import pytest
import torch

from fnaf.data.fastmri import FastMRIDataError, SliceDataset, split_dir
from fnaf.data.fastmri_writer import ismrmrd_header, write_volume
from fnaf.data.masks import RandomMaskFunc
from fnaf.data.transforms import UnetDataTransform
from fnaf.mri import center_crop, ifft2c


def write_fake(path, slices=2, shape=(16, 12), target_slices=None, kspace=None, **attrs):
    rng = np.random.default_rng(0)
    if kspace is None:
        kspace = rng.standard_normal((slices, *shape)) + 1j * rng.standard_normal((slices, *shape))
    target = np.abs(rng.standard_normal((target_slices or kspace.shape[0], 8, 8)))
    header = ismrmrd_header(kspace.shape[-2:], (8, 8), (1, kspace.shape[-1] - 1))
    write_volume(path, kspace, {"reconstruction_esc": target}, header,
                 {"max": float(target.max()), "acquisition": "CORPD_FBK", **attrs})
    return path


def test_reads_the_phantom_like_fastmri(phantom_root):
    dataset = SliceDataset(split_dir(phantom_root, "val"))
    assert len(dataset) == 2 * 4
    kspace, mask, target, attrs, fname, slice_num = dataset[5]
    assert kspace.shape == (64, 40) and kspace.dtype == np.complex64 and mask is None
    assert target.shape == (32, 32) and (fname, slice_num) == ("file2100001.h5", 1)
    assert attrs["encoding_size"] == (64, 40, 1) and attrs["recon_size"] == (32, 32, 1)
    assert (attrs["padding_left"], attrs["padding_right"]) == (2, 38)
    assert np.all(kspace[:, :2] == 0) and np.all(kspace[:, 38:] == 0)
    expected = center_crop(ifft2c(torch.from_numpy(kspace)), (32, 32)).abs().numpy()
    np.testing.assert_allclose(target, expected, rtol=1e-5, atol=1e-10)


def test_acquisition_filter_and_subsampling(phantom_root):
    root = split_dir(phantom_root, "train")
    pd = SliceDataset(root, acquisition="PD")
    fs = SliceDataset(root, acquisition="PDFS")
    assert len(pd) + len(fs) == 3 * 4
    assert all(v.metadata["acquisition"] == "CORPD_FBK" for v in pd.volumes)
    one = SliceDataset(root, volume_sample_rate=0.34, seed=1)
    assert len(one.volumes) == 1
    half = SliceDataset(root, sample_rate=0.5, seed=2)
    assert len(half) == 6 and half.samples == SliceDataset(root, sample_rate=0.5, seed=2).samples


def test_dataloader_with_workers_and_transform(phantom_root):
    transform = UnetDataTransform(RandomMaskFunc([0.08], [4]))
    dataset = SliceDataset(split_dir(phantom_root, "val"), transform=transform)
    loader = torch.utils.data.DataLoader(dataset, batch_size=4, num_workers=2)
    batches = list(loader)
    assert len(batches) == 2
    assert batches[0].image.shape == (4, 32, 32) and batches[0].kspace.shape == (4, 64, 40)
    # the validation mask is seeded by file name: equal for all slices of a volume
    assert torch.equal(batches[0].mask[0], batches[0].mask[3])


def test_missing_directory_and_empty_directory(tmp_path):
    with pytest.raises(FastMRIDataError, match="no such directory"):
        split_dir(tmp_path, "val")
    with pytest.raises(FastMRIDataError, match="no .h5 files"):
        SliceDataset(tmp_path)


def test_truncated_file_names_the_file(tmp_path):
    path = write_fake(tmp_path / "file1.h5")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(FastMRIDataError, match="file1.h5.*truncated"):
        SliceDataset(tmp_path)


def test_missing_kspace_key(tmp_path):
    with h5py.File(tmp_path / "file2.h5", "w") as handle:
        handle["reconstruction_esc"] = np.zeros((1, 8, 8))
    with pytest.raises(FastMRIDataError, match="file2.h5: missing dataset 'kspace'"):
        SliceDataset(tmp_path)


def test_missing_target_key(tmp_path):
    path = write_fake(tmp_path / "file3.h5")
    with h5py.File(path, "a") as handle:
        del handle["reconstruction_esc"]
    with pytest.raises(FastMRIDataError, match="file3.h5: missing target dataset"):
        SliceDataset(tmp_path)
    assert len(SliceDataset(tmp_path, require_target=False)) == 2


def test_wrong_dimensionality(tmp_path):
    write_fake(tmp_path / "file4.h5", kspace=np.ones((2, 3, 4, 16, 12), np.complex64))
    with pytest.raises(FastMRIDataError, match="must be 3-D"):
        SliceDataset(tmp_path)


def test_slice_count_mismatch(tmp_path):
    write_fake(tmp_path / "file5.h5", slices=3, target_slices=2)
    with pytest.raises(FastMRIDataError, match="2 slices but 'kspace' has 3"):
        SliceDataset(tmp_path)


def test_nan_kspace_names_file_and_slice(tmp_path):
    kspace = np.ones((3, 16, 12), np.complex64)
    kspace[1, 4, 4] = np.nan
    write_fake(tmp_path / "file6.h5", kspace=kspace)
    dataset = SliceDataset(tmp_path)
    dataset[0]
    with pytest.raises(FastMRIDataError, match="file6.h5 slice 1: 'kspace' contains NaN"):
        dataset[1]


def test_nan_target_names_file_and_slice(tmp_path):
    path = write_fake(tmp_path / "file8.h5")
    with h5py.File(path, "a") as handle:
        handle["reconstruction_esc"][1, 2, 2] = np.nan
    dataset = SliceDataset(tmp_path)
    dataset[0]
    with pytest.raises(FastMRIDataError,
                       match="file8.h5 slice 1: 'reconstruction_esc' contains NaN or Inf"):
        dataset[1]


def test_double_precision_files_read_as_fastmri_dtypes(tmp_path):
    path = write_fake(tmp_path / "file9.h5")
    with h5py.File(path, "a") as handle:
        kspace, target = handle["kspace"][()], handle["reconstruction_esc"][()]
        del handle["kspace"], handle["reconstruction_esc"]
        handle["kspace"] = kspace.astype(np.complex128)
        handle["reconstruction_esc"] = target.astype(np.float64)
    kspace, _, target, *_ = SliceDataset(tmp_path)[0]
    assert (kspace.dtype, target.dtype) == (np.complex64, np.float32)


def test_header_field_that_is_not_a_number(tmp_path):
    path = write_fake(tmp_path / "file10.h5")
    with h5py.File(path, "a") as handle:
        header = handle["ismrmrd_header"][()]
        start = header.index(b"<center>") + len(b"<center>")
        header = header[:start] + b"abc" + header[header.index(b"</center>"):]
        del handle["ismrmrd_header"]
        handle["ismrmrd_header"] = np.bytes_(header)
    with pytest.raises(FastMRIDataError, match="file10.h5: ismrmrd_header field .*center is "
                                               "'abc', not an integer"):
        SliceDataset(tmp_path)


def test_header_missing_field(tmp_path):
    path = write_fake(tmp_path / "file7.h5")
    with h5py.File(path, "a") as handle:
        header = handle["ismrmrd_header"][()].replace(b"<reconSpace>", b"<other>").replace(
            b"</reconSpace>", b"</other>")
        del handle["ismrmrd_header"]
        handle["ismrmrd_header"] = np.bytes_(header)
    with pytest.raises(FastMRIDataError,
                       match="file7.h5: ismrmrd_header lacks encoding/reconSpace"):
        SliceDataset(tmp_path)
