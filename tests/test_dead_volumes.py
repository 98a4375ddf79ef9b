"""Dead and damaged volumes never shrink a mean: reading, evaluating and training on a volume
whose k-space or target is all zero (or whose metrics are not finite) is an error naming the file
(and slice), and a run whose validation failed is not cached as finished."""

import shutil

import h5py
import numpy as np
import pytest
import torch

from fnaf.data.batches import SeededSlices
from fnaf.data.fastmri import FastMRIDataError, SliceDataset
from fnaf.evaluation import Validator, VolumeReconstruction, evaluate, score_volumes
from fnaf.models import UNet
from fnaf.objectives import CleanObjective
from fnaf.pipelines import UnetPipeline
from fnaf.runs import preset, run_dir, train_or_load, transforms
from fnaf.train import Settings, TrainingError, fit

VAL = "file2100001.h5"  # the second validation volume of the smoke phantom


@pytest.fixture
def damaged(phantom_root, tmp_path):
    """A copy of the smoke phantom and a function zeroing datasets of one of its volumes."""
    root = shutil.copytree(phantom_root, tmp_path / "data")

    def zero(split: str, name: str, *keys: str):
        with h5py.File(root / f"singlecoil_{split}" / name, "r+") as handle:
            for key in keys:
                handle[key][...] = 0
        return root

    return zero


@pytest.mark.parametrize("keys", [("kspace", "reconstruction_esc"), ("kspace",),
                                  ("reconstruction_esc",)])
def test_evaluating_a_dead_validation_volume_names_the_file(damaged, keys):
    root = damaged("val", VAL, *keys)
    config = preset("smoke", "unet", 4)
    slices = SliceDataset(root / "singlecoil_val")
    with pytest.raises(FastMRIDataError,
                       match=rf"{VAL} slice 0: '{keys[0]}' is all zero .*check-data"):
        evaluate(UNet(chans=2, num_pool_layers=2), UnetPipeline(), slices, transforms(config)[1])


def test_non_finite_volume_metrics_are_an_error_not_a_shorter_mean():
    target = np.zeros((2, 8, 8), np.float32)
    volume = VolumeReconstruction("file7.h5", [3, 4], np.zeros_like(target), target,
                                  np.zeros_like(target), 0.0)
    good = VolumeReconstruction("file8.h5", [0, 1], target + 1, target + 2, target + 1, 0.0)
    assert len(score_volumes([good]).metrics) == 1
    with pytest.raises(ValueError, match=r"file7.h5: .* all zero in slices \[3, 4\]"):
        score_volumes([good, volume])
    volume.target[:] = 1
    volume.reconstruction[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"file7.h5: .* not finite in slices \[3\]"):
        score_volumes([volume])


def _fit(train, val, checkpoint_dir, validator=None):
    config = preset("smoke", "unet", 4)
    train_transform, val_transform = transforms(config)
    model = UNet(chans=2, num_pool_layers=2)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    return fit(model, UnetPipeline(), CleanObjective(), SeededSlices(train, train_transform),
               validator or Validator(UnetPipeline(), val, val_transform),
               optimizer=optimizer, scheduler=torch.optim.lr_scheduler.StepLR(optimizer, 1),
               settings=Settings(epochs=1, batch_size=2, progress=False),
               checkpoint_dir=checkpoint_dir, device="cpu")


def test_a_dead_single_coil_training_volume_is_an_error(damaged, tmp_path):
    root = damaged("train", "file2000001.h5", "kspace", "reconstruction_esc")
    with pytest.raises(FastMRIDataError, match=r"file2000001.h5 slice \d: 'kspace' is all zero"):
        _fit(SliceDataset(root / "singlecoil_train"), SliceDataset(root / "singlecoil_val"),
             tmp_path / "run")


def test_a_non_finite_validation_loss_stops_training_naming_the_folder(phantom_root, tmp_path):
    class NanLoss:
        loss = float("nan")

    with pytest.raises(TrainingError, match=rf"after epoch 1 is nan.*{tmp_path / 'run'}"):
        _fit(SliceDataset(phantom_root / "singlecoil_train"), None, tmp_path / "run",
             validator=lambda model, device: NanLoss())


def test_a_run_with_a_dead_validation_volume_is_not_cached(damaged, tmp_path):
    root = damaged("val", VAL, "reconstruction_esc")
    config = preset("smoke", "unet", 4, data_root=str(root), epochs=1)
    with pytest.raises(TrainingError, match=rf"validation after epoch 1 failed: .*{VAL} slice 0"
                                            rf".*{run_dir(config, tmp_path / 'runs')}"):
        train_or_load(config, tmp_path / "runs", device="cpu", progress=False)
    folder = run_dir(config, tmp_path / "runs")
    assert not (folder / "model.pt").exists() and not (folder / "metrics.json").exists()


def test_damaged_hdf5_metadata_names_the_file(phantom_root, tmp_path):
    split = shutil.copytree(phantom_root / "singlecoil_val", tmp_path / "singlecoil_val")
    path = split / VAL
    data = bytearray(path.read_bytes())
    start = data.find(b"acquisition")  # an attribute's name: h5py's RuntimeError on iterating
    data[start:start + 48] = bytes(48)
    path.write_bytes(bytes(data))
    with pytest.raises(FastMRIDataError, match=rf"{VAL}: its HDF5 metadata cannot be read "
                                               r"\(Error iterating over attributes"):
        SliceDataset(split)
