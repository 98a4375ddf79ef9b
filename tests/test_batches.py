"""One batching rule on data as varied as fastMRI's: a batch holds one k-space shape
(coils, H, W); named slices of several shapes are groups in a fixed order; the varied copy of a
dataset keeps fastMRI's layout and consistent targets."""

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from fnaf.data.batches import (
    SliceGroups,
    collate_slices,
    slice_groups,
    slice_shapes,
    validation_batches,
)
from fnaf.data.fastmri import SliceDataset, split_dir
from fnaf.data.masks import RandomMaskFunc
from fnaf.data.transforms import SliceTransform
from fnaf.data.varied import widened, write_varied
from fnaf.mri import center_crop, ifft2c, rss

TRANSFORM = SliceTransform(RandomMaskFunc([0.08], [4]), use_seed=True)


def _multicoil_val(root):
    return SliceDataset(split_dir(root, "val", "multicoil"), challenge="multicoil")


def test_the_varied_copy_differs_in_width_coils_and_slices_like_fastmri(varied_root):
    shapes = {(volume.fname.name, volume.coils, volume.kspace_shape, volume.num_slices)
              for volume in SliceDataset(split_dir(varied_root, "train", "multicoil"),
                                         challenge="multicoil").volumes}
    assert shapes == {("file2000000.h5", 3, (64, 40), 4), ("file2000001.h5", 2, (64, 44), 4),
                      ("file2000002.h5", 2, (64, 40), 3)}
    single = SliceDataset(split_dir(varied_root, "train", "singlecoil"))
    assert sorted(volume.kspace_shape for volume in single.volumes) == [(64, 40), (64, 40),
                                                                        (64, 44)]
    boxes = pd.read_csv(varied_root / "singlecoil_bb_train.csv")
    assert not ((boxes.filename == "file2000002") & (boxes.slice == 4)).any()  # dropped slice


@pytest.mark.parametrize("challenge", ["singlecoil", "multicoil"])
def test_the_varied_copys_targets_are_its_own_kspaces_reconstructions(varied_root, challenge):
    key = "reconstruction_rss" if challenge == "multicoil" else "reconstruction_esc"
    for path in sorted(split_dir(varied_root, "val", challenge).glob("*.h5")):
        with h5py.File(path) as handle:
            kspace, target = torch.from_numpy(handle["kspace"][()]), handle[key][()]
            maximum = handle.attrs["max"]
        images = center_crop(ifft2c(kspace), target.shape[-2:])
        expected = rss(images, dim=1) if challenge == "multicoil" else images.abs()
        assert np.abs(expected.numpy() - target).max() <= 1e-5 * target.max()
        assert maximum == pytest.approx(float(target.max()))


def test_widening_adds_columns_outside_the_image_and_refuses_an_odd_count():
    kspace = torch.randn(2, 16, 10, dtype=torch.complex64).numpy()
    wide = widened(kspace, 4)
    assert wide.shape == (2, 16, 14)
    image = ifft2c(torch.from_numpy(wide))
    assert image[..., :2].abs().max() < 1e-6 and image[..., -2:].abs().max() < 1e-6
    assert torch.allclose(image[..., 2:-2], ifft2c(torch.from_numpy(kspace)), atol=1e-5)
    with pytest.raises(ValueError, match="extra_columns must be even"):
        widened(kspace, 3)


def test_write_varied_refuses_a_folder_without_splits(tmp_path):
    with pytest.raises(FileNotFoundError, match="no fastMRI split folder"):
        write_varied(tmp_path, tmp_path / "out")


def test_batches_never_mix_shapes_and_the_shape_counts_coils(varied_root):
    val = _multicoil_val(varied_root)
    shapes = slice_shapes(val)
    assert set(shapes) == {(3, 64, 40), (2, 64, 44)}
    for batch in validation_batches(val, 8):
        assert len({shapes[index] for index in batch}) == 1
    assert sorted(i for batch in validation_batches(val, 8) for i in batch) == list(range(len(val)))


def test_slices_of_several_shapes_are_groups_in_a_fixed_order(varied_root):
    val = _multicoil_val(varied_root)
    keys = [("file2100001.h5", 0), ("file2100000.h5", 1), ("file2100001.h5", 2),
            ("file2100000.h5", 3)]
    groups = slice_groups(val, TRANSFORM, keys)
    assert [tuple(batch.kspace.shape[1:]) for batch in groups.batches] == [(2, 64, 44),
                                                                           (3, 64, 40)]
    assert list(zip(groups.fname, groups.slice_num)) == [keys[0], keys[2], keys[1], keys[3]]
    assert len(groups) == 4 and groups.target_shape == (32, 32) and groups.offsets() == [0, 2]
    picked = groups.select([3, 0])  # in the groups' order
    assert list(zip(picked.fname, picked.slice_num)) == [keys[0], keys[3]]
    assert [len(batch.fname) for batch in groups.first(3).batches] == [2, 1]
    assert SliceGroups.of(groups.batches[0]).batches == (groups.batches[0],)
    with pytest.raises(IndexError, match="outside 4 slices"):
        groups.select([4])
    with pytest.raises(ValueError, match="2 k-space shapes .* use slice_groups"):
        collate_slices(val, TRANSFORM, keys)
    with pytest.raises(ValueError, match="no slices"):
        slice_groups(val, TRANSFORM, [])
