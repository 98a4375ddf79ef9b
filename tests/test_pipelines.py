"""The model pipelines (k-space to magnitude, and each model's loss) and the volume-by-volume
evaluation that scores them with fastMRI's rules."""

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from fnaf.data.batches import collate_slices
from fnaf.data.fastmri import SliceDataset
from fnaf.data.masks import RandomMaskFunc
from fnaf.data.transforms import SliceTransform, unet_input, unet_target
from fnaf.evaluation import VolumeReconstruction, evaluate, reconstruct_volumes, score_volumes
from fnaf.metrics import volume_metrics
from fnaf.models import IRIM, UNet
from fnaf.mri import center_crop, ifft2c
from fnaf.pipelines import IrimPipeline, UnetPipeline, pipeline_for

TRANSFORM = SliceTransform(RandomMaskFunc([0.08], [4]), use_seed=True)


def validation(root):
    return SliceDataset(root / "singlecoil_val")


def batch_of(slices, count=3):
    keys = [(slices.volumes[v].fname.name, s) for v, s in slices.samples[:count]]
    return collate_slices(slices, TRANSFORM, keys)


def unet():
    torch.manual_seed(0)
    return UNet(chans=2, num_pool_layers=2).eval()


def test_the_unet_pipeline_is_fastmris_transform_and_module(phantom_root):
    batch, model = batch_of(validation(phantom_root)), unet()
    with torch.no_grad():
        result = UnetPipeline()(model, batch)
        crop = tuple(batch.target.shape[-2:])
        image, mean, std = unet_input(ifft2c(batch.kspace * batch.mask), crop)
        output = model(image.unsqueeze(1)).squeeze(1)
    torch.testing.assert_close(result.output, output)
    torch.testing.assert_close(result.magnitude, output * std[:, None, None] + mean[:, None, None])
    torch.testing.assert_close(result.zero_filled,
                               center_crop(ifft2c(batch.kspace * batch.mask), crop).abs())
    loss = UnetPipeline().loss(result, batch)
    torch.testing.assert_close(loss, F.l1_loss(output, unet_target(batch.target, mean, std)))


def test_the_irim_pipeline_scores_minus_ssim_on_the_volume_scale(phantom_root):
    batch = batch_of(validation(phantom_root))
    torch.manual_seed(0)
    model = IRIM(n_steps=1, n_hidden=16, n_network_hidden=(4,), dilations=(1,), multiplicity=1)
    with torch.no_grad():
        result = IrimPipeline()(model.eval(), batch)
    assert result.magnitude.shape == batch.target.shape
    perfect = result._replace(magnitude=batch.target)  # a reconstruction equal to the target
    assert float(IrimPipeline().loss(perfect, batch)) == pytest.approx(-1.0, abs=1e-5)
    assert -1 < float(IrimPipeline().loss(result, batch)) < 1
    with pytest.raises(ValueError, match="unknown model"):
        pipeline_for("varnet2")


def test_reconstruct_volumes_yields_each_volume_whole_in_order(phantom_root):
    slices = validation(phantom_root)
    volumes = list(reconstruct_volumes(unet(), UnetPipeline(), slices, TRANSFORM, batch_size=3))
    assert [v.fname for v in volumes] == [volume.fname.name for volume in slices.volumes]
    for volume, source in zip(volumes, slices.volumes):
        assert volume.slice_nums == list(range(source.num_slices))
        assert volume.reconstruction.shape == volume.target.shape == volume.zero_filled.shape


def test_scores_follow_fastmris_evaluate_per_volume_and_the_loss_is_the_slice_mean():
    rng = np.random.default_rng(0)
    target = rng.random((2, 3, 8, 8)).astype(np.float32)
    recon = target + 0.1 * rng.standard_normal(target.shape).astype(np.float32)
    volumes = [VolumeReconstruction(f"file{i}.h5", [0, 1, 2], recon[i], target[i],
                                    0.5 * target[i], loss_sum=3.0 * (i + 1)) for i in range(2)]
    scored = score_volumes(volumes)
    expected = volume_metrics(target[1], recon[1], float(target[1].max()))
    row = scored.metrics.set_index("fname").loc["file1.h5"]
    for metric, value in expected.items():
        assert row[metric] == pytest.approx(value)
    assert scored.loss == pytest.approx((3.0 + 6.0) / 6)  # loss sums over six slices
    assert (scored.zero_filled["NMSE"] > scored.metrics["NMSE"]).all()


def test_volumes_taken_in_another_order_score_as_in_dataset_order(phantom_root, monkeypatch):
    """Whole volumes are the unit a rank reconstructs; their rows gather by position, so any
    share of the volumes gives one process's evaluation."""
    import fnaf.evaluation

    model, slices = unet(), validation(phantom_root)
    expected = evaluate(model, UnetPipeline(), slices, TRANSFORM, batch_size=3)
    in_order = fnaf.evaluation.my_batches
    monkeypatch.setattr(fnaf.evaluation, "my_batches", lambda units: in_order(units)[::-1])
    volumes = list(reconstruct_volumes(model, UnetPipeline(), slices, TRANSFORM, batch_size=3))
    assert [v.position for v in volumes] == list(range(len(slices.volumes)))[::-1]
    shared = score_volumes(volumes, len(volumes))
    pd.testing.assert_frame_equal(shared.metrics, expected.metrics)
    pd.testing.assert_frame_equal(shared.zero_filled, expected.zero_filled)
    assert shared.loss == expected.loss
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        next(reconstruct_volumes(model, UnetPipeline(), slices, TRANSFORM, batch_size=0))


def test_evaluate_restores_the_models_training_mode(phantom_root):
    model = unet().train()
    evaluation = evaluate(model, UnetPipeline(), validation(phantom_root), TRANSFORM)
    assert model.training and len(evaluation.metrics) == len(validation(phantom_root).volumes)


def test_a_batch_sized_from_memory_scores_as_a_fixed_batch(phantom_root):
    model, slices = unet().train(), validation(phantom_root)
    fixed = evaluate(model, UnetPipeline(), slices, TRANSFORM, batch_size=1)
    sized = evaluate(model, UnetPipeline(), slices, TRANSFORM, batch_size=None)
    assert model.training
    pd.testing.assert_frame_equal(sized.metrics, fixed.metrics, rtol=1e-4)
    assert sized.loss == pytest.approx(fixed.loss, rel=1e-4)
