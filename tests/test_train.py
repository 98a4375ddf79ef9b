"""The training engine: batching, determinism, checkpoint/resume, model selection."""

import re

import pytest
import torch

from fnaf.data.batches import SeededSlices, ShapeBatchSampler
from fnaf.data.fastmri import SliceDataset
from fnaf.data.phantom import write_phantom
from fnaf.evaluation import Validator
from fnaf.models import CheckpointError, UNet
from fnaf.objectives import CleanObjective
from fnaf.pipelines import UnetPipeline
from fnaf.runs import preset, transforms
from fnaf.train import BEST, CHECKPOINT, Settings, TrainingError, fit


def test_batches_hold_one_shape_and_ranks_split_each_global_batch():
    shapes = [(8, 6)] * 7 + [(8, 4)] * 5
    single = ShapeBatchSampler(shapes, batch_size=4, seed=1)
    single.set_epoch(3)
    batches = list(single)
    assert len(batches) == len(single) == 1 + 1  # 7 -> one full batch, 5 -> one (rest dropped)
    for batch in batches:
        assert len({shapes[index] for index, _ in batch}) == 1
    ranks = [ShapeBatchSampler(shapes, batch_size=4, seed=1, rank=r, world_size=2) for r in (0, 1)]
    for sampler in ranks:
        sampler.set_epoch(3)
    merged = [a + b for a, b in zip(*(list(sampler) for sampler in ranks))]
    assert merged == batches  # same indices and the same per-slice mask seeds


def test_sampler_order_depends_on_epoch_and_skip_resumes_it():
    sampler = ShapeBatchSampler([(4, 4)] * 16, batch_size=2, seed=0)
    sampler.set_epoch(0)
    first = list(sampler)
    sampler.set_epoch(1)
    assert list(sampler) != first
    sampler.set_epoch(0, skip=3)
    assert list(sampler) == first[3:]


def test_sampler_rejects_a_batch_that_ranks_cannot_share():
    with pytest.raises(ValueError, match="multiple of the number of processes"):
        ShapeBatchSampler([(4, 4)] * 8, batch_size=3, world_size=2)


class Interrupt(Exception):
    pass


class InterruptAt:
    """The clean objective, killed at a given call (a run stopped mid-epoch)."""

    def __init__(self, call: int):
        self.calls, self.stop = 0, call

    def __call__(self, model, pipeline, batch, generator):
        self.calls += 1
        if self.calls == self.stop:
            raise Interrupt
        return CleanObjective()(model, pipeline, batch, generator)


def _train(root, checkpoint_dir, objective, epochs=2, checkpoint_every=2, num_workers=0):
    torch.manual_seed(0)
    model = UNet(chans=2, num_pool_layers=2)
    config = preset("smoke", "unet", 4)
    train_transform, val_transform = transforms(config)
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1, 0.5)
    result = fit(model, UnetPipeline(), objective,
                 SeededSlices(SliceDataset(root / "singlecoil_train"), train_transform),
                 Validator(UnetPipeline(), SliceDataset(root / "singlecoil_val"), val_transform),
                 optimizer=optimizer, scheduler=scheduler,
                 settings=Settings(epochs=epochs, batch_size=2, seed=5,
                                   checkpoint_every=checkpoint_every, num_workers=num_workers,
                                   progress=False),
                 checkpoint_dir=checkpoint_dir, device="cpu")
    return model, result


class NanAt(InterruptAt):
    """The clean objective, with a NaN loss from a given call on (a diverging run)."""

    def __call__(self, model, pipeline, batch, generator):
        loss = CleanObjective()(model, pipeline, batch, generator)
        self.calls += 1
        return loss * float("nan") if self.calls >= self.stop else loss


def test_a_non_finite_training_loss_stops_training_before_a_checkpoint(phantom_root, tmp_path):
    with pytest.raises(TrainingError, match=r"not finite = nan at step 3 \(epoch 1\) on "
                                            r"file\d+\.h5 slice \d, file\d+\.h5 slice \d"):
        _train(phantom_root, tmp_path, NanAt(3), checkpoint_every=4)
    assert not (tmp_path / CHECKPOINT).exists()  # step 4's checkpoint would hold NaN weights


def test_a_validation_with_non_finite_metrics_is_an_error(phantom_root, tmp_path):
    config = preset("smoke", "unet", 4)
    train_transform, val_transform = transforms(config)

    def nan_targets(*sample, seed=None):
        sliced = val_transform(*sample, seed=seed)
        return sliced._replace(target=sliced.target * float("nan"))

    model = UNet(chans=2, num_pool_layers=2)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1)
    with pytest.raises(TrainingError, match=r"validation after epoch 1 failed: file\d+.h5: the "
                                            "reconstruction's metrics are not finite"):
        fit(model, UnetPipeline(), CleanObjective(),
            SeededSlices(SliceDataset(phantom_root / "singlecoil_train"), train_transform),
            Validator(UnetPipeline(), SliceDataset(phantom_root / "singlecoil_val"), nan_targets),
            optimizer=optimizer, scheduler=scheduler,
            settings=Settings(epochs=1, batch_size=2, progress=False), checkpoint_dir=tmp_path,
            device="cpu")


def test_interrupted_run_resumes_to_the_same_weights(phantom_root, tmp_path):
    model, result = _train(phantom_root, tmp_path / "straight", CleanObjective())
    assert result.steps == 12 and len(result.history) == 2  # 12 slices / 2 per batch x 2 epochs
    with pytest.raises(Interrupt):  # killed at step 9 (epoch 2); last checkpoint at step 8
        _train(phantom_root, tmp_path / "resumed", InterruptAt(9))
    saved = torch.load(tmp_path / "resumed" / CHECKPOINT, weights_only=True)
    assert saved["position"]["step"] == 8 and saved["position"]["epoch"] == 1
    resumed, resumed_result = _train(phantom_root, tmp_path / "resumed", CleanObjective())
    assert resumed_result.steps == 12
    for key, value in model.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key
    assert resumed_result.history == result.history
    for key, value in result.best_state.items():
        assert torch.equal(value, resumed_result.best_state[key]), key


def test_data_loading_workers_do_not_change_the_result(phantom_root, tmp_path):
    """Each slice's training mask is seeded by the sampler, not by the worker that loads it."""
    alone, _ = _train(phantom_root, tmp_path / "0", CleanObjective(), epochs=1)
    workers, _ = _train(phantom_root, tmp_path / "2", CleanObjective(), epochs=1, num_workers=2)
    for key, value in alone.state_dict().items():
        assert torch.equal(value, workers.state_dict()[key]), key


def test_training_selects_the_lowest_clean_validation_loss(phantom_root, tmp_path):
    _, result = _train(phantom_root, tmp_path, CleanObjective(), epochs=3, checkpoint_every=0)
    losses = [entry["val_loss"] for entry in result.history]
    assert result.best_epoch == 1 + losses.index(min(losses))
    assert {"NMSE", "PSNR", "SSIM", "val_loss", "epoch", "step"} <= set(result.history[0])


def test_batches_of_different_kspace_widths_train(tmp_path):
    """Real fastMRI volumes differ in width; batches never mix them."""
    from fnaf.data.phantom import PhantomConfig

    root = write_phantom(tmp_path / "a", PhantomConfig("smoke", 2, 1, 2, seed=1))
    wide = write_phantom(tmp_path / "b", PhantomConfig("smoke", 1, 1, 2, seed=2))
    # make the second phantom's volume one column wider and move it in
    import h5py
    import numpy as np

    (source,) = (wide / "singlecoil_train").glob("*.h5")
    with h5py.File(source, "r+") as handle:
        kspace = handle["kspace"][()]
        del handle["kspace"]
        handle["kspace"] = np.pad(kspace, ((0, 0), (0, 0), (0, 2)))
    source.rename(root / "singlecoil_train" / "file2999999.h5")
    dataset = SliceDataset(root / "singlecoil_train")
    assert len({volume.kspace_shape for volume in dataset.volumes}) == 2
    _, result = _train(root, tmp_path / "run", CleanObjective(), epochs=1, checkpoint_every=0)
    assert result.steps == 3  # 2 batches of the 4 narrow slices + 1 of the 2 wide ones


@pytest.mark.slow  # over ~10 s: `make test` runs it, a bare `pytest` does not
def test_two_processes_with_gloo_average_the_gradient_of_one_process(tmp_path):
    """torchrun + DistributedDataParallel (gloo, CPU): one SGD step on one global batch,
    2 ranks x 1 slice == 1 rank x 2 slices (see ``distributed_worker.py``).

    The update is lr x the (all-reduced) gradient, so both runs make the same update up to float
    summation order; a rank that trains on the wrong share, or gradients summed instead of
    averaged, changes it by O(1). The tolerance is relative to the update's size.
    """
    import os
    import subprocess
    import sys
    from pathlib import Path

    worker = Path(__file__).with_name("distributed_worker.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "FNAF_CACHE": str(tmp_path / "cache")}
    subprocess.run([sys.executable, str(worker), str(tmp_path / "one")], check=True, env=env,
                   timeout=120)
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                    "--nproc_per_node", "2", str(worker), str(tmp_path / "two")],
                   check=True, env=env, timeout=120)
    (one,) = (tmp_path / "one").glob("*/model.pt")
    (two,) = (tmp_path / "two").glob("*/model.pt")
    assert one.parent.name == two.parent.name  # the same config, so the same run key
    single, double = (torch.load(path, weights_only=True) for path in (one, two))
    torch.manual_seed(0)  # the smoke preset's seed fixes the initial weights
    initial = UNet(chans=4, num_pool_layers=2).state_dict()
    update = max(float((single[key] - initial[key]).abs().max()) for key in single)
    assert update > 1e-4  # the runs trained
    for key in single:
        torch.testing.assert_close(double[key], single[key], rtol=0, atol=1e-3 * update)


@pytest.mark.slow  # over ~10 s: `make test` runs it, a bare `pytest` does not
def test_processes_that_see_different_data_refuse_to_train(phantom_root, tmp_path):
    """Nodes with their own copies of the data must agree on the run (its key hashes the data's
    modification times): a copy without them is refused by every process, not trained."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    copies = [tmp_path / "node0", tmp_path / "node1"]
    shutil.copytree(phantom_root, copies[0])
    shutil.copytree(phantom_root, copies[1])
    volume = next((copies[1] / "singlecoil_val").glob("*.h5"))
    os.utime(volume, ns=(0, volume.stat().st_mtime_ns + 10**9))
    worker = Path(__file__).with_name("distributed_worker.py")
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                             "--nproc_per_node", "2", str(worker), str(tmp_path / "runs"),
                             *map(str, copies)], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode != 0
    assert "the processes name different runs" in result.stderr
    assert not list((tmp_path / "runs").rglob("model.pt"))


class ScriptedValidation:
    """Validation losses given in advance (what early stopping reads)."""

    def __init__(self, losses):
        self.losses = iter(losses)

    def __call__(self, model, device):
        loss = next(self.losses)
        return type("Scored", (), {"loss": loss, "means": lambda self: {},
                                   "record": lambda self: {"loss": loss}})()


def test_patience_stops_a_run_that_stopped_improving(phantom_root, tmp_path):
    model = UNet(chans=2, num_pool_layers=2)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    train = SeededSlices(SliceDataset(phantom_root / "singlecoil_train"),
                         transforms(preset("smoke", "unet", 4))[0])
    result = fit(model, UnetPipeline(), CleanObjective(), train,
                 ScriptedValidation([1.0, 0.5, 0.7, 0.8, 0.2]), optimizer=optimizer,
                 scheduler=torch.optim.lr_scheduler.StepLR(optimizer, 1),
                 settings=Settings(epochs=5, batch_size=6, patience=2, progress=False),
                 checkpoint_dir=tmp_path, device="cpu")
    assert [entry["val_loss"] for entry in result.history] == [1.0, 0.5, 0.7, 0.8]
    assert result.best_epoch == 2 and result.best_validation == {"loss": 0.5}


def test_a_checkpoint_of_another_architecture_is_refused_naming_the_folder(phantom_root,
                                                                          tmp_path):
    model = UNet(chans=4, num_pool_layers=1)  # the folder's checkpoint: another U-Net's
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1, 0.5)
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "rng": torch.get_rng_state(),
                "position": {"epoch": 1, "skip": 0, "step": 6, "best_loss": 1.0,
                             "best_epoch": 1, "history": [], "wall_time": 0.0}},
               tmp_path / CHECKPOINT)
    with pytest.raises(CheckpointError, match=(
            rf"{re.escape(str(tmp_path / CHECKPOINT))} does not fit UNet: .*missing keys.*The "
            rf"run's configuration changed .* delete {re.escape(str(tmp_path))} to restart")):
        _train(phantom_root, tmp_path, CleanObjective())
    torch.save({"weights": 1}, tmp_path / CHECKPOINT)  # not the engine's
    with pytest.raises(CheckpointError, match="not a training checkpoint of fnaf's engine"):
        _train(phantom_root, tmp_path, CleanObjective())


def test_a_best_state_of_another_architecture_is_refused_on_resume(phantom_root, tmp_path):
    with pytest.raises(Interrupt):  # a checkpoint at step 8 and the best weights of epoch 1
        _train(phantom_root, tmp_path, InterruptAt(9))
    torch.save(UNet(chans=4, num_pool_layers=1).state_dict(), tmp_path / BEST)
    with pytest.raises(CheckpointError, match=rf"{re.escape(str(tmp_path / BEST))} does not fit"):
        _train(phantom_root, tmp_path, CleanObjective())
