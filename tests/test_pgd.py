"""k-space PGD (Darestani et al., eq. 2): the norm bound, the best iterate, the control, and
the attack on single- and multi-coil models."""

import numpy as np
import pytest
import torch

from fnaf.attacks.ball import project
from fnaf.attacks.measurement import KINDS, pgd_dataset
from fnaf.attacks.pgd import KspacePGD, random_perturbation, slice_generators
from fnaf.data.batches import collate_slices
from fnaf.data.fastmri import SliceDataset, split_dir
from fnaf.data.masks import RandomMaskFunc
from fnaf.data.phantom import PhantomConfig, write_phantom
from fnaf.data.transforms import SliceTransform
from fnaf.models import IRIM, UNet, VarNet
from fnaf.pipelines import IrimPipeline, UnetPipeline, VarnetPipeline
from fnaf.runs.configs import PgdConfig

TRANSFORM = SliceTransform(RandomMaskFunc([0.08], [4]), use_seed=True)


def batch_of(slices, count=4):
    keys = [(slices.volumes[v].fname.name, s) for v, s in slices.samples[:count]]
    return collate_slices(slices, TRANSFORM, keys)


@pytest.fixture(scope="module")
def trained_unet(phantom_root):
    """A tiny U-Net trained for 60 steps on the smoke phantom's training slices."""
    torch.manual_seed(0)
    model, pipeline = UNet(chans=4, num_pool_layers=2), UnetPipeline()
    train = SliceDataset(split_dir(phantom_root, "train"))
    batch = batch_of(train, count=len(train))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(60):
        optimizer.zero_grad()
        pipeline.loss(pipeline(model, batch), batch).backward()
        optimizer.step()
    return model.eval()


@pytest.fixture(scope="module")
def multicoil_root(tmp_path_factory):
    config = PhantomConfig(geometry="smoke", train_volumes=1, val_volumes=1, slices=3, coils=3)
    return write_phantom(tmp_path_factory.mktemp("multicoil"), config)


def test_projection_scales_only_what_lies_outside_the_ball():
    z = torch.tensor([[3.0 + 4.0j, 0.0], [0.3 + 0.0j, 0.0]])
    projected = project(z, torch.tensor([1.0, 1.0]))
    torch.testing.assert_close(projected[0], z[0] / 5)
    torch.testing.assert_close(projected[1], z[1])
    noise = random_perturbation(torch.ones(2, 5, 4), torch.tensor([2.0, 0.5]),
                                [torch.Generator().manual_seed(seed) for seed in (0, 1)])
    torch.testing.assert_close(noise.abs().square().sum((1, 2)).sqrt(), torch.tensor([2.0, 0.5]))


@pytest.mark.parametrize("norm, schedule", [("measured", "fixed"), ("full", "fixed"),
                                            ("measured", "apgd")])
def test_the_perturbation_keeps_its_norm_bound_and_support(phantom_root, trained_unet, norm,
                                                           schedule):
    batch = batch_of(SliceDataset(split_dir(phantom_root, "val")))
    result = KspacePGD(trained_unet, UnetPipeline(), eps=0.05, steps=4, norm=norm,
                       schedule=schedule)(batch)
    support = batch.mask if norm == "measured" else torch.ones_like(batch.mask)
    reference = (batch.kspace * support).abs().square().flatten(1).sum(1).sqrt()
    torch.testing.assert_close(result.radius, 0.05 * reference)
    norms = result.perturbation.abs().square().flatten(1).sum(1).sqrt()
    assert torch.all(norms <= result.radius * (1 + 1e-5)) and torch.all(norms > 0)
    control = result.noise.abs().square().flatten(1).sum(1).sqrt()
    torch.testing.assert_close(control, norms)  # the control has exactly the attack's norm
    if norm == "measured":  # nothing outside the sampled columns
        assert torch.all(result.perturbation * (1 - batch.mask) == 0)
        assert torch.all(result.noise * (1 - batch.mask) == 0)


def test_pgd_beats_random_noise_of_the_same_norm_and_keeps_the_best_iterate(
        phantom_root, trained_unet):
    batch = batch_of(SliceDataset(split_dir(phantom_root, "val")))
    result = KspacePGD(trained_unet, UnetPipeline(), eps=0.05, steps=8, seed=1)(batch)
    attack_error = (result.attacked - result.clean).square().flatten(1).sum(1)
    control_error = (result.control - result.clean).square().flatten(1).sum(1)
    assert torch.all(attack_error > 2 * control_error)
    torch.testing.assert_close(result.loss, 0.5 * attack_error, rtol=1e-4, atol=0)
    more = KspacePGD(trained_unet, UnetPipeline(), eps=0.05, steps=8, restarts=2, seed=1)(batch)
    assert torch.all(more.loss >= result.loss * (1 - 1e-5))  # restarts only add candidates


@pytest.mark.parametrize("schedule", ["fixed", "apgd"])
def test_a_slice_is_attacked_the_same_in_any_batch(phantom_root, trained_unet, schedule):
    """Starts, controls and (APGD) step lengths are per slice: the batch size is a memory
    setting only."""
    slices = SliceDataset(split_dir(phantom_root, "val"))
    attack = KspacePGD(trained_unet, UnetPipeline(), eps=0.05, steps=3, seed=1,
                       schedule=schedule)
    together = attack(batch_of(slices, count=4))
    for i in (0, 3):
        keys = [(slices.volumes[v].fname.name, s) for v, s in slices.samples[i:i + 1]]
        alone = attack(collate_slices(slices, TRANSFORM, keys))
        torch.testing.assert_close(alone.noise[0], together.noise[i])
        torch.testing.assert_close(alone.perturbation[0], together.perturbation[i],
                                   rtol=1e-3, atol=1e-6)
    reseeded = KspacePGD(trained_unet, UnetPipeline(), eps=0.05, steps=3, seed=2)(
        batch_of(slices, count=4))
    assert not torch.allclose(reseeded.noise, together.noise)


def test_no_budget_no_change(phantom_root, trained_unet):
    batch = batch_of(SliceDataset(split_dir(phantom_root, "val")), count=2)
    result = KspacePGD(trained_unet, UnetPipeline(), eps=0.0, steps=2)(batch)
    assert torch.all(result.perturbation == 0)
    torch.testing.assert_close(result.attacked, result.clean)


def test_attack_settings_are_checked(trained_unet):
    for options, message in [(dict(eps=-0.1), "eps must be a number >= 0"),
                             (dict(eps=0.1, norm="coils"), "unknown norm 'coils'"),
                             (dict(eps=0.1, steps=0), "steps must be an integer >= 1"),
                             (dict(eps=0.1, step_size=0.0), "step_size > 0"),
                             (dict(eps=0.1, schedule="adam"), "unknown schedule 'adam'"),
                             (dict(eps=0.1, schedule="apgd", step_size=0.1),
                              "sizes its own steps")]:
        with pytest.raises(ValueError, match=message):
            KspacePGD(trained_unet, UnetPipeline(), **options)


def test_multicoil_varnet_and_unet_are_attacked(multicoil_root):
    slices = SliceDataset(split_dir(multicoil_root, "val", "multicoil"), challenge="multicoil")
    batch = batch_of(slices, count=3)
    assert batch.kspace.shape == (3, 3, 64, 40) and batch.mask.shape == (3, 1, 1, 40)
    torch.manual_seed(0)
    for model, pipeline in ((VarNet(2, 2, 2, 4, 2), VarnetPipeline()),
                            (UNet(chans=4, num_pool_layers=2), UnetPipeline())):
        result = KspacePGD(model.eval(), pipeline, eps=0.05, steps=3)(batch)
        assert result.attacked.shape == batch.target.shape == (3, 32, 32)
        assert torch.all(result.perturbation * (1 - batch.mask) == 0)
        assert torch.all(result.loss > 0)


def test_irim_gradients_through_the_memory_saving_backward_match_autograd(phantom_root):
    batch = batch_of(SliceDataset(split_dir(phantom_root, "val")), count=2)
    torch.manual_seed(0)
    model = IRIM(n_steps=2, n_hidden=16, n_network_hidden=(4,), dilations=(1,), multiplicity=1,
                 memory_free=True).eval()
    z = random_perturbation(torch.ones_like(batch.kspace.real) * batch.mask,
                            torch.tensor([1e-5, 1e-5]), slice_generators(batch, 0))
    gradients = []
    for memory_free in (True, False):
        model.memory_free = memory_free
        z_leaf = z.clone().requires_grad_(True)
        magnitude = IrimPipeline()(model, batch._replace(kspace=batch.kspace + z_leaf)).magnitude
        (gradient,) = torch.autograd.grad(magnitude.square().sum(), z_leaf)
        gradients.append(gradient)
    assert gradients[0].abs().max() > 0
    torch.testing.assert_close(gradients[0], gradients[1], rtol=1e-3, atol=1e-6)


def test_pgd_dataset_rows(phantom_root, trained_unet):
    slices = SliceDataset(split_dir(phantom_root, "val")).middle_slices(2)
    assert [number for _, number in slices.samples] == [1, 2, 1, 2]
    frame = pgd_dataset(trained_unet, UnetPipeline(), slices, TRANSFORM, [0.02, 0.05],
                        batch_size=3, steps=3)
    assert len(frame) == 4 * 2 * len(KINDS)
    assert set(frame.kind) == set(KINDS)
    np.testing.assert_allclose(frame.relative_norm, frame.eps, rtol=1e-4)
    np.testing.assert_allclose(frame.measured_relative_norm, frame.eps, rtol=1e-4)
    full = pgd_dataset(trained_unet, UnetPipeline(), slices, TRANSFORM, [0.05], batch_size=3,
                       steps=2, norm="full")
    control = full[full.kind == "control"]
    assert (control.measured_relative_norm < 0.05).all()  # noise off the samples is not seen
    worse = frame[frame.kind == "attack"].groupby("eps")["NMSE vs clean"].mean()
    assert worse[0.05] > worse[0.02] > 0
    with pytest.raises(ValueError, match="count must be an integer >= 1"):
        slices.middle_slices(0)


def test_running_out_of_memory_names_the_batch_size_to_lower(phantom_root):
    from fnaf.attacks.measurement import measurement_rows

    def attack_for(eps):
        def attack(batch):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return attack

    slices = SliceDataset(split_dir(phantom_root, "val"))
    with pytest.raises(torch.OutOfMemoryError, match="lower batch_size \\(now 3\\): chapters "
                       "07-08's batch_size, the CLI's --pgd-batch-size"):
        measurement_rows(attack_for, slices, TRANSFORM, [0.05], batch_size=3, device="cpu")


def test_a_batch_sized_from_memory_gives_the_rows_of_a_fixed_batch(phantom_root, trained_unet):
    val = SliceDataset(split_dir(phantom_root, "val")).middle_slices(2)
    rows = {size: pgd_dataset(trained_unet, UnetPipeline(), val, TRANSFORM, [0.05], steps=2,
                              batch_size=size) for size in (None, 1)}
    columns = ["fname", "slice", "eps", "kind"]
    assert rows[None][columns].equals(rows[1][columns])
    np.testing.assert_allclose(rows[None]["SSIM"], rows[1]["SSIM"], rtol=1e-4, atol=1e-5)
    assert PgdConfig(batch_size=None).key() == PgdConfig(batch_size=1).key()
