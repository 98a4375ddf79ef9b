"""FNAF features, regions T, perturbation (eq. 2-4), loss (eq. 5) and the attacks."""

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import ndimage, stats

from fnaf.attacks import (
    AttackReport,
    FiniteDifference,
    RandomSearch,
    attack_dataset,
    connected_features,
    perturb,
    random_walk_features,
    region_mask,
    released_region_mask,
    scaled,
)
from fnaf.data.fastmri import SliceDataset
from fnaf.data.masks import RandomMaskFunc
from fnaf.data.transforms import KneeSlice, SliceTransform
from fnaf.losses import masked_nmse
from fnaf.models import UNet
from fnaf.mri import center_crop, ifft2c, rss, undersample
from fnaf.pipelines import Reconstruction, UnetPipeline, zero_filled_magnitude

FOUR = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]])


def generator(seed=0):
    return torch.Generator().manual_seed(seed)


def test_connected_features_have_exactly_n_4_connected_pixels_inside_the_region():
    features = connected_features(300, (128, 128), 10, generator(), max_values=torch.ones(300))
    assert features.sizes.eq(10).all()
    side = scaled(120, 128)
    top, left = (128 - side) // 2, (128 - side) // 2
    outside = features.mask.clone()
    outside[:, top:top + side, left:left + side] = False
    assert not outside.any()
    for mask in features.mask.numpy()[:50]:
        assert ndimage.label(mask, structure=FOUR)[1] == 1
    assert (features.values[~features.mask] == 0).all() and (features.values >= 0).all()


def test_feature_sizes_from_a_range_and_seeded():
    first = connected_features(200, (64, 64), (10, 30), generator(5), value=1.0)
    again = connected_features(200, (64, 64), (10, 30), generator(5), value=1.0)
    assert torch.equal(first.mask, again.mask)
    assert first.sizes.min() >= 10 and first.sizes.max() <= 30 and len(first.sizes.unique()) > 10


def test_feature_intensities():
    maxima = torch.tensor([1.0, 5.0]).repeat(500)
    features = connected_features(1000, (64, 64), 10, generator(), max_values=maxima)
    per_feature_max = features.values.amax(dim=(-2, -1))
    assert (per_feature_max <= maxima).all() and per_feature_max[1::2].mean() > 3
    constant = connected_features(4, (64, 64), 10, generator(), value=0.5)
    assert set(constant.values[constant.mask].tolist()) == {0.5}
    ranged = connected_features(50, (64, 64), 10, generator(), value_range=(2.0, 3.0))
    assert ranged.values[ranged.mask].min() >= 2.0 and ranged.values[ranged.mask].max() <= 3.0
    with pytest.raises(ValueError, match="exactly one of"):
        connected_features(4, (64, 64), 10, generator(), value=1.0, value_range=(0, 1))


def test_features_larger_than_the_region_are_refused():
    with pytest.raises(ValueError, match="does not fit the 144-pixel region"):
        connected_features(2, (32, 32), 200, generator(), value=1.0)


def test_released_random_walk_has_fewer_distinct_pixels():
    walks = random_walk_features(2000, (320, 320), 10, generator(), value=1.0)
    sizes = walks.sizes.float()
    assert sizes.max() <= 10 and 6.8 < sizes.mean() < 7.8  # the reference measured 7.3
    assert not walks.mask[:, :50].any() and not walks.mask[:, 270:].any()  # the 220-px square
    for mask in walks.mask.numpy()[:50]:
        assert ndimage.label(mask, structure=FOUR)[1] == 1


def test_region_contains_the_feature_within_distance_d_per_slice():
    features = connected_features(20, (64, 64), 10, generator(), value=1.0)
    for border in (0, 1, 2, 5):
        regions = region_mask(features.mask, border)
        assert (regions >= features.mask).all()
        for mask, region in zip(features.mask.numpy(), regions.numpy()):
            distance = ndimage.distance_transform_edt(~mask)
            assert np.array_equal(region, distance <= border)
        alone = region_mask(features.mask[3:4], border)
        assert torch.equal(alone[0], regions[3])  # no coupling across the batch
    with pytest.raises(ValueError, match="border"):
        region_mask(features.mask, -1)


def test_released_region_is_the_feature_and_part_of_its_ring():
    features = connected_features(10, (64, 64), 10, generator(), value=1.0)
    regions = released_region_mask(features.mask)
    for mask, region in zip(features.mask.numpy(), regions.numpy()):
        ring = ndimage.binary_dilation(mask) & ~mask
        assert (region >= mask).all() and (region & ~mask <= ring).all()
        assert (region & ~mask).any()
    assert torch.equal(released_region_mask(features.mask[2:3])[0], regions[2])


def _batch(root, count=4):
    slices = SliceDataset(root / "singlecoil_val")
    transform = SliceTransform(RandomMaskFunc([0.08], [4]), use_seed=True)
    items = [transform(*slices.read_slice(i)) for i in range(count)]
    return KneeSlice(
        kspace=torch.stack([item.kspace for item in items]),
        mask=torch.stack([item.mask for item in items]),
        target=torch.stack([item.target for item in items]),
        max_value=torch.tensor([item.max_value for item in items]),
        fname=[item.fname for item in items],
        slice_num=torch.tensor([item.slice_num for item in items]),
        acquisition=[item.acquisition for item in items],
        system_model=[item.system_model for item in items],
    )


def test_perturbation_is_linear_and_adds_the_feature_to_the_magnitude(phantom_root):
    batch = _batch(phantom_root)
    features = connected_features(4, (32, 32), 10, generator(),
                                  max_values=batch.target.amax(dim=(-2, -1)))
    attacked = perturb(batch, features)
    delta = ifft2c(attacked.kspace) - ifft2c(batch.kspace)  # delta' in the full field of view
    assert torch.allclose(ifft2c(attacked.kspace * batch.mask),
                          ifft2c(batch.kspace * batch.mask) + undersample(delta, batch.mask),
                          atol=1e-5)  # U(y + d') = U(y) + U(d'), eq. 8
    full = center_crop(ifft2c(batch.kspace), (32, 32)).abs()
    full_attacked = center_crop(ifft2c(attacked.kspace), (32, 32)).abs()
    assert torch.allclose(full_attacked, full + features.values, atol=1e-5)  # in phase
    assert torch.allclose(attacked.target, batch.target + features.values)
    outside = torch.ones_like(delta, dtype=torch.bool)
    outside[..., 16:48, 4:36] = False  # the 32x32 crop of the 64x40 field of view
    assert delta[outside].abs().max() < 1e-5



def test_a_multicoil_feature_adds_to_the_root_sum_of_squares(multicoil_batch):
    """Each coil takes δ′ in proportion to its share of the RSS: the RSS becomes |y| + δ′."""
    batch = multicoil_batch
    features = connected_features(len(batch.fname), (32, 32), 10, generator(),
                                  max_values=batch.target.amax(dim=(-2, -1)))
    attacked = perturb(batch, features)
    before, after = (rss(center_crop(ifft2c(kspace), (32, 32)))
                     for kspace in (batch.kspace, attacked.kspace))
    assert torch.allclose(after, before + features.values, atol=1e-4 * float(before.max()))
    assert torch.allclose(attacked.target, batch.target + features.values)


def test_the_zero_filled_input_of_a_multicoil_slice_is_the_rss_of_its_coil_images(
        multicoil_batch):
    """What eq. 7 compares where a pipeline does not carry it (the audit's ReconPipeline)."""
    batch = multicoil_batch
    expected = rss(center_crop(ifft2c(batch.kspace * batch.mask), (32, 32)))
    assert torch.allclose(zero_filled_magnitude(batch), expected, atol=1e-6)


def test_masked_nmse_is_normalised_by_the_target_inside_the_region():
    target = torch.zeros(1, 4, 4)
    target[0, 1, 1], target[0, 2, 2] = 2.0, 1.0
    prediction = torch.zeros(1, 4, 4)
    region = target > 0
    assert masked_nmse(prediction, target, region).item() == pytest.approx(1.0)
    prediction[0, 1, 1] = 2.0
    assert masked_nmse(prediction, target, region).item() == pytest.approx(1 / 5)


class FullySampled(torch.nn.Module):
    """An oracle 'model': the fully-sampled magnitude, ignoring the mask."""

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, image):
        return image


class OraclePipeline:
    def __call__(self, model, batch):
        magnitude = center_crop(ifft2c(batch.kspace), tuple(batch.target.shape[-2:])).abs()
        return Reconstruction(magnitude, magnitude, zero_filled=zero_filled_magnitude(batch))

    def loss(self, reconstruction, batch):
        return (reconstruction.magnitude - batch.target).abs().mean()


def test_a_perfect_reconstruction_is_not_attacked(phantom_root):
    batch = _batch(phantom_root)
    oracle = batch._replace(target=center_crop(ifft2c(batch.kspace), (32, 32)).abs())
    result = RandomSearch(FullySampled(), OraclePipeline(), n_candidates=3, border=1)(oracle)
    assert result.loss.max() < 1e-8 and result.control.max() < 1e-8
    assert result.recovery.max() < 1e-8  # the feature comes back exactly


def test_random_search_keeps_the_worst_candidate_and_restores_the_model(phantom_root):
    torch.manual_seed(0)
    model = UNet(chans=2, num_pool_layers=2).train()
    attack = RandomSearch(model, UnetPipeline(), n_candidates=5, border=1, chunk_size=7, seed=3)
    batch = _batch(phantom_root)
    result = attack(batch)
    assert model.training and all(p.grad is None for p in model.parameters())
    assert result.losses.shape == (4, 5)
    assert torch.equal(result.loss, result.losses.amax(dim=1))
    assert (result.loss[:, None] >= result.losses).all()
    model.eval()
    with torch.no_grad():  # the returned adversarial batch reproduces the loss
        again = UnetPipeline()(model, result.adversarial)
    recomputed = masked_nmse(again.magnitude, result.adversarial.target, result.region)
    assert torch.allclose(recomputed, result.loss, rtol=1e-4)
    assert torch.equal(result.features.sizes, torch.full((4,), 10))
    repeat = RandomSearch(model, UnetPipeline(), n_candidates=5, border=1, seed=3)(batch)
    assert torch.allclose(repeat.losses, result.losses)  # seeded; chunking does not matter


def test_the_candidate_chunk_is_a_memory_setting(phantom_root):
    """Measured from the free memory where asked (a GPU's default); never part of the key."""
    from fnaf.memory import memory_budget
    from fnaf.runs import AttackConfig

    model = UNet(chans=2, num_pool_layers=2).eval()
    attack = RandomSearch(model, UnetPipeline(), n_candidates=3, border=1)
    assert attack.chunk_size == 8  # the CPU's default
    chunk = attack.fitting_chunk(_batch(phantom_root))
    assert 8 < chunk <= memory_budget("cpu") // 1000  # a few kB per small candidate at least
    assert AttackConfig(chunk_size=2).key() == AttackConfig().key()
    with pytest.raises(ValueError, match="chunk_size must be a positive integer"):
        AttackConfig(chunk_size=0)
    with pytest.raises(ValueError, match="chunk_size must be an integer >= 1 or None"):
        RandomSearch(model, UnetPipeline(), chunk_size=0)


def test_attack_options_are_checked():
    model = UNet(chans=2, num_pool_layers=2)
    with pytest.raises(ValueError, match="n_candidates must be at least 1"):
        RandomSearch(model, UnetPipeline(), n_candidates=0)
    with pytest.raises(ValueError, match="unknown domain 'kspace'"):
        RandomSearch(model, UnetPipeline(), domain="kspace")


def test_finite_differences_spend_the_random_search_budget_inside_the_region(phantom_root):
    torch.manual_seed(0)
    model = UNet(chans=2, num_pool_layers=2)
    attack = FiniteDifference(model, UnetPipeline(), iterations=2, border=1, h=2)
    result = attack(_batch(phantom_root))
    assert attack.budget == 11 and result.losses.shape == (4, 11)
    assert torch.equal(result.loss, result.losses.amax(dim=1))
    side = scaled(120, 32)
    top = (32 - side) // 2
    inside = torch.zeros(32, 32, dtype=torch.bool)
    inside[top:top + side, top:top + side] = True
    assert not (result.features.mask & ~inside).any()
    assert torch.equal(result.features.sizes, torch.full((4,), 10))


def test_attacking_a_validation_set_reports_table2_quantities(phantom_root):
    torch.manual_seed(0)
    model = UNet(chans=2, num_pool_layers=2)
    slices = SliceDataset(phantom_root / "singlecoil_val")
    transform = SliceTransform(RandomMaskFunc([0.08], [4]), use_seed=True)
    report = attack_dataset(RandomSearch(model, UnetPipeline(), n_candidates=2, border=1),
                            slices, transform, batch_size=3)
    assert len(report.slices) == len(slices)
    assert report.slices[["fname", "slice"]].drop_duplicates().shape[0] == len(slices)
    summary = report.summary()
    assert summary["attack_rate"] == pytest.approx((report.slices["loss"] > 0.25).mean())
    assert summary["nmse"] == pytest.approx(report.slices["loss"].mean())
    assert 0 <= summary["acceptance_rate"] <= 1 and -1 <= summary["ip_pearson_r"] <= 1
    r = stats.pearsonr(report.slices["information"], report.slices["loss"])
    assert summary["ip_pearson_r"] == pytest.approx(r.statistic)
    assert summary["ip_pearson_r_low"] < r.statistic < summary["ip_pearson_r_high"]
    assert summary["volumes"] == report.slices["fname"].nunique()
    if summary["volumes"] > 1:  # r's interval resampling volumes
        assert (summary["ip_mse_pearson_r_volume_low"] - 1e-9 <= summary["ip_mse_pearson_r"]
                <= summary["ip_mse_pearson_r_volume_high"] + 1e-9)
    frame = report.slices
    assert frame["controls"].map(len).eq(2).all() and set(frame["acquisition"]) <= {
        "CORPD_FBK", "CORPDFS_FBK"}
    assert (frame["control_max"] == frame["controls"].map(max)).all()
    assert (frame["control_max"] >= frame["control"]).all()  # the worst candidate's is one of K
    gamma = float(frame["control_max"].median())  # a threshold some controls cross
    scored = AttackReport(frame, gamma, 1e-4).summary()
    assert scored["control_max_rate"] == pytest.approx((frame["control_max"] > gamma).mean())
    assert scored["control_all_rate"] == pytest.approx(
        np.mean([c > gamma for row in frame["controls"] for c in row]))
    assert scored["hit_with_control_rate"] == pytest.approx(
        ((frame["loss"] > gamma) & (frame["control"] > gamma)).mean())
    for name in ("attack_rate", "nmse", "control_max_rate", "recovery_error"):
        assert summary[f"{name}_low"] <= summary[name] <= summary[f"{name}_high"]
    with pytest.raises(ValueError, match="gamma must be a positive number"):
        attack_dataset(RandomSearch(model, UnetPipeline()), slices, transform, gamma=0)


def test_each_batch_draws_by_its_position_whatever_came_before(phantom_root, monkeypatch):
    """The generator is reseeded per batch, so a reused attack, or batches attacked in another
    order (as a rank of a sharded run attacks them), give the same rows."""
    import fnaf.attacks.report as report

    model = UNet(chans=2, num_pool_layers=2)
    slices = SliceDataset(phantom_root / "singlecoil_val")
    transform = SliceTransform(RandomMaskFunc([0.08], [4]), use_seed=True)
    attack = RandomSearch(model, UnetPipeline(), n_candidates=2, border=1, seed=5)
    first = attack_dataset(attack, slices, transform, batch_size=3).slices
    pd.testing.assert_frame_equal(attack_dataset(attack, slices, transform, batch_size=3).slices,
                                  first)
    in_order = report.my_batches
    monkeypatch.setattr(report, "my_batches", lambda batches: in_order(batches)[::-1])
    pd.testing.assert_frame_equal(attack_dataset(attack, slices, transform, batch_size=3).slices,
                                  first)
    assert first["pixels"].map(str).nunique() == len(first)  # batches draw different features
    with pytest.raises(ValueError, match="position must be an integer >= 0"):
        attack.seeded(-1)


def test_information_distance_grows_with_the_feature(phantom_root):
    batch = _batch(phantom_root, 2)
    weak = connected_features(2, (32, 32), 10, generator(1), value=0.01)
    strong = weak.__class__(weak.mask, weak.values * 100)
    clean = zero_filled_magnitude(batch)
    from fnaf.attacks.search import information_distance

    small = information_distance(clean, zero_filled_magnitude(perturb(batch, weak)))
    large = information_distance(clean, zero_filled_magnitude(perturb(batch, strong)))
    assert (large > small).all() and (small > 0).all()


@pytest.mark.parametrize("options", [dict(shape="walk"), dict(region_rule="released"),
                                     dict(domain="normalized"), dict(value_range=(0.0, 1.0)),
                                     dict(placement="released"), dict(intensities="batch"),
                                     dict(target_scale=2 ** 0.5), dict(normalization="batch")])
def test_the_released_code_options_run_end_to_end(phantom_root, options):
    torch.manual_seed(0)
    model = UNet(chans=2, num_pool_layers=2)
    result = RandomSearch(model, UnetPipeline(), n_candidates=3, border=1, **options)(
        _batch(phantom_root))
    assert result.losses.shape == (4, 3) and torch.isfinite(result.losses).all()
    assert (result.region >= result.features.mask).all()
    if options.get("shape") == "walk":
        assert (result.features.sizes <= 10).all()


def test_hits_of_two_models_are_compared_slice_by_slice():
    from fnaf.attacks.report import compare_hits

    def report(losses, order):
        frame = pd.DataFrame({"fname": ["a.h5", "a.h5", "b.h5", "b.h5"], "slice": [0, 1, 0, 1],
                              "loss": losses}).iloc[order]
        return AttackReport(frame, 0.25, 1e-4)

    robust = report([0.1, 0.1, 0.3, 0.1], [3, 2, 1, 0])  # row order does not matter
    baseline = report([0.3, 0.3, 0.3, 0.1], [0, 1, 2, 3])
    assert compare_hits(robust, baseline) == (0, 2, pytest.approx(0.5))
    with pytest.raises(ValueError, match="different slices"):
        compare_hits(AttackReport(robust.slices.iloc[1:], 0.25, 1e-4), baseline)
    from fnaf.attacks.report import paired_hits

    table = paired_hits({("FNAF", 8): robust, ("base", 8): baseline}, {"FNAF": "base"})
    assert table.index.tolist() == [("8×", "FNAF")]  # the baseline is not compared with itself
    row = table.loc[("8×", "FNAF")]
    assert row[["hits, model only", "hits, baseline only", "McNemar p"]].tolist() == [
        0, 2, pytest.approx(0.5)]
    assert row["volumes"] == 2 and row["Δ attack rate (pp)"] == pytest.approx(-50)  # 1/4 − 3/4
    assert row["Δ attack rate (pp) low"] <= -50 <= row["Δ attack rate (pp) high"]
    assert np.isnan(row["p volumes"])  # two volumes are too few for the signed-rank test


def test_the_ceiling_is_the_loss_of_a_reconstruction_that_drops_the_feature(phantom_root):
    """A 'model' that returns the clean target whatever its input loses every feature: its
    loss equals the ceiling and its recovery error is 1."""
    batch = _batch(phantom_root, 4)

    class Oracle(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(()))

    def clean_target(model, attacked):
        return Reconstruction(batch.target, batch.target, zero_filled=zero_filled_magnitude(
            attacked))

    attack = RandomSearch(Oracle(), clean_target, n_candidates=1, border=1)
    features = attack.draw(batch, 1)
    values = attack.evaluate(batch, features, 1)
    assert torch.allclose(values["loss"], values["ceiling"], rtol=1e-5)
    assert torch.allclose(values["recovery"], torch.ones(4), atol=1e-5)
    expected = masked_nmse(batch.target, batch.target + features.values,
                           attack.regions(features))
    assert torch.allclose(values["ceiling"], expected)


def test_lost_and_ceiling_rates_and_the_contrast_split():
    from fnaf.attacks.report import LOST_RECOVERY_ERROR, by_contrast

    frame = pd.DataFrame({
        "fname": ["a.h5", "a.h5", "b.h5", "b.h5"], "slice": [0, 1, 0, 1],
        "acquisition": ["CORPD_FBK", "CORPD_FBK", "CORPDFS_FBK", "CORPDFS_FBK"],
        "loss": [0.1, 0.2, 0.3, 0.1], "ceiling": [0.15, 0.2, 0.4, 0.3],
        "recovery": [0.9, 0.2, 0.8, 0.1], "control": [0.0] * 4, "control_max": [0.0] * 4,
        "controls": [[0.0]] * 4, "information": [1.0, 2.0, 3.0, 5.0],
        "information_mse": [1.0, 3.0, 2.0, 5.0]})
    summary = AttackReport(frame, 0.25, 1e-4).summary()
    assert LOST_RECOVERY_ERROR == 0.5
    assert summary["lost_rate"] == 0.5 and summary["ceiling_rate"] == 0.5
    parts = by_contrast(AttackReport(frame, 0.25, 1e-4))
    assert sorted(parts) == ["PD", "PD-FS"]
    assert parts["PD"].summary()["attack_rate"] == 0  # PD: the ceiling stays below gamma
    assert parts["PD"].summary()["lost_rate"] == 0.5  # yet one of its two features is lost


def test_the_placement_picks_the_central_square_for_either_shape():
    from fnaf.attacks.features import FeatureSpec

    target = torch.ones(400, 320, 320)
    for shape in ("connected", "walk"):
        paper = FeatureSpec(shape=shape).draw(target, 1, generator())
        released = FeatureSpec(shape=shape, placement="released").draw(target, 1, generator())
        assert not paper.mask[:, :100].any() and not paper.mask[:, 220:].any()  # 120 px
        assert released.mask[:, :100].any() and not released.mask[:, :50].any()  # 220 px
    with pytest.raises(ValueError, match="unknown placement 'centre'"):
        FeatureSpec(placement="centre")


def test_batch_intensities_follow_the_batchs_maximum_not_the_slices():
    from fnaf.attacks.features import FeatureSpec

    target = torch.stack([torch.full((64, 64), 1.0), torch.full((64, 64), 10.0)])
    per_slice = FeatureSpec().draw(target, 200, generator())
    per_batch = FeatureSpec(intensities="batch").draw(target, 200, generator())
    assert per_slice.values[:200].max() <= 1.0  # the dark slice's features stay below its max
    assert per_batch.values[:200].max() > 5.0  # ... unless the bright slice sets the range
    assert per_batch.values.max() <= 10.0


def test_the_released_irim_target_is_root_two_too_bright():
    """A reconstruction equal to the target scores (√2 − 1)² / 2 ≈ 0.086 against the released
    I-RIM code's target (the reference notes' floor), 0 against the paper's."""
    from fnaf.attacks.search import RELEASED_IRIM_TARGET_SCALE, FnafAttack, region_loss
    from fnaf.runs import AttackConfig

    model = UNet(chans=2, num_pool_layers=2)
    batch = KneeSlice(torch.zeros(1, 8, 8, dtype=torch.complex64), torch.ones(1, 1, 8),
                      torch.rand(1, 8, 8) + 0.5, torch.ones(1), ["a.h5"], torch.zeros(1),
                      ["CORPD_FBK"], [""])
    region = torch.ones(1, 8, 8, dtype=torch.bool)
    perfect = Reconstruction(batch.target, batch.target, None, None, batch.target)
    floor = region_loss(perfect, batch, region, target_scale=RELEASED_IRIM_TARGET_SCALE)
    assert floor.item() == pytest.approx((2 ** 0.5 - 1) ** 2 / 2, rel=1e-5)
    assert region_loss(perfect, batch, region).item() == 0
    # the released U-Net code's training term: the mean absolute error over T
    half = Reconstruction(batch.target / 2, batch.target / 2, None, None, batch.target)
    assert region_loss(half, batch, region, kind="l1").item() == pytest.approx(
        (batch.target / 2).mean().item(), rel=1e-5)
    assert FnafAttack(model, UnetPipeline(), target_scale=2 ** 0.5).target_scale == 2 ** 0.5
    with pytest.raises(ValueError, match="target_scale must be a positive number"):
        AttackConfig(target_scale=0)
    # options added later keep the keys of the attacks already cached
    assert AttackConfig(placement="paper").key() == AttackConfig().key()
    assert AttackConfig(placement="released").key() != AttackConfig().key()


def test_batch_normalisation_gives_every_slice_the_batchs_statistics(phantom_root):
    """The released U-Net code normalised its inputs by the batch's mean and std: the same
    statistics for every slice, which change the loss; the I-RIM has none to share."""
    from fnaf.pipelines import IrimPipeline, zero_filled_magnitude

    batch = _batch(phantom_root)
    inputs = zero_filled_magnitude(batch)
    statistics = (inputs.mean().expand(4), inputs.std().expand(4))
    model = UNet(chans=2, num_pool_layers=2)
    shared = UnetPipeline()(model, batch, statistics)
    own = UnetPipeline()(model, batch)
    assert torch.equal(shared.mean, statistics[0]) and not torch.equal(own.mean, shared.mean)
    torch.manual_seed(0)
    attacks = [RandomSearch(model, UnetPipeline(), n_candidates=3, border=1, seed=1,
                            normalization=normalization) for normalization in ("slice", "batch")]
    drawn = [attack.draw(batch, 3).mask for attack in attacks]
    assert torch.equal(*drawn)  # the same candidates ...
    paper, released = (attack.seeded(0)(batch) for attack in attacks)
    assert not torch.allclose(paper.losses, released.losses)  # ... scored differently
    with pytest.raises(ValueError, match="the irim pipeline has none"):
        RandomSearch(model, IrimPipeline(), normalization="batch")
    with pytest.raises(ValueError, match="unknown normalization 'volume'"):
        RandomSearch(model, UnetPipeline(), normalization="volume")
