"""Small-feature recovery: window features in k-space, the standardised window error, location
maps, the information loss and the error inside annotated boxes."""

import numpy as np
import pandas as pd
import pytest
import torch

from fnaf.attacks.windows import (
    FEATURE_FRACTION,
    check_window,
    feature_errors,
    feature_images,
    feature_kspace,
    ground_truth,
    location_grid,
    location_map,
    random_placements,
    region_errors,
    window_masks,
)
from fnaf.data.annotations import AnnotationIndex
from fnaf.data.batches import SliceGroups
from fnaf.data.transforms import KneeSlice
from fnaf.figure_labels import unlabelled_axes
from fnaf.mri import center_crop, fft2c, ifft2c
from fnaf.studies.small_features import box_errors, information_loss, location_maps, mean_anatomy


def constant_batch(count=2, grid=(12, 10), crop=(8, 6), value=3.0) -> KneeSlice:
    """Single-coil slices whose image is the constant ``value`` (times the slice number + 1)."""
    images = torch.ones(count, *grid, dtype=torch.complex64) * value
    images *= torch.arange(1, count + 1)[:, None, None]
    kspace = fft2c(images)
    target = center_crop(images.abs(), crop)
    return KneeSlice(kspace, torch.ones(count, 1, grid[1]), target,
                     torch.as_tensor([float(value * (i + 1)) for i in range(count)]),
                     [f"v{i}.h5" for i in range(count)], torch.arange(count),
                     ["CORPD_FBK"] * count, [""] * count)


def zero_filled(batch, perturbation):
    """A deterministic stand-in reconstruction: the zero-filled magnitude on the target."""
    return center_crop(ground_truth((batch.kspace + perturbation) * batch.mask),
                       batch.target.shape[-2:])


def fully_sampled(batch, perturbation):
    return center_crop(ground_truth(batch.kspace + perturbation), batch.target.shape[-2:])


def test_feature_lands_in_the_window_at_max_over_six():
    batch = constant_batch()
    windows = window_masks((8, 6), 2, torch.tensor([[1, 3], [6, 0]]))
    perturbed = ground_truth(batch.kspace + feature_kspace(batch, feature_images(batch, windows)))
    change = center_crop(perturbed - ground_truth(batch.kspace), (8, 6))
    expected = windows * (batch.max_value * FEATURE_FRACTION)[:, None, None]
    torch.testing.assert_close(change, expected.float(), atol=1e-5, rtol=0)
    outside = perturbed - ground_truth(batch.kspace)  # nothing outside the crop's window
    assert float(outside.abs().sum()) == pytest.approx(float(change.abs().sum()), rel=1e-4)


def test_multicoil_feature_is_added_to_every_coil(multicoil_batch):
    batch = multicoil_batch
    shape = batch.target.shape[-2:]
    windows = window_masks(shape, 3, torch.tensor([[0, 0]] * len(batch.fname)))
    features = feature_images(batch, windows)
    coil_images = ifft2c(feature_kspace(batch, features).expand_as(batch.kspace))
    torch.testing.assert_close(coil_images, coil_images[:, :1].expand_as(coil_images))
    top = (batch.kspace.shape[-2] - shape[0]) // 2
    left = (batch.kspace.shape[-1] - shape[1]) // 2
    corner = coil_images[:, 0, top:top + 3, left:left + 3].real
    peak = ground_truth(batch.kspace).amax(dim=(-2, -1))
    torch.testing.assert_close(corner, (peak / 6)[:, None, None].expand_as(corner).float(),
                               atol=1e-6, rtol=1e-4)


def test_window_that_does_not_fit_is_refused():
    with pytest.raises(ValueError, match="does not fit the 5×8 target.*at most 5"):
        check_window(6, (5, 8))
    with pytest.raises(ValueError, match="positive integer"):
        location_grid((5, 8), 0, 3)
    with pytest.raises(ValueError, match="grid points must be a positive integer"):
        location_grid((5, 8), 2, 0)


def test_location_grid_covers_the_image():
    corners = location_grid((10, 7), 3, 4)
    assert corners.shape == (16, 2)
    assert corners.min(0).tolist() == [0, 0]
    assert corners.max(0).tolist() == [7, 4]
    drawn = random_placements(500, 3, (10, 7), 3, np.random.default_rng(0))
    assert drawn.min(0).tolist() == [0, 0, 0] and drawn.max(0).tolist() == [2, 7, 4]


def test_region_error_is_standardised():
    reference = torch.rand(3, 8, 8)
    regions = window_masks((8, 8), 3, torch.tensor([[0, 0], [2, 5], [5, 5]]))
    assert region_errors(reference, 4 * reference + 2, regions).abs().max() < 1e-5
    flattened = reference.clone()
    flattened[regions] = reference.mean()
    assert (region_errors(reference, flattened, regions) > 0.1).all()
    with pytest.raises(ValueError, match="empty"):
        region_errors(reference, reference, torch.zeros(3, 8, 8, dtype=torch.bool))


def test_full_sampling_keeps_the_feature_and_undersampling_loses_it(multicoil_batch):
    placements = np.array([[0, 4, 4], [1, 10, 20], [2, 0, 0]])
    assert np.abs(feature_errors(fully_sampled, multicoil_batch, placements, 3)).max() < 1e-8
    lost = feature_errors(zero_filled, multicoil_batch, placements, 3)
    ignored = feature_errors(lambda batch, z: batch.target, multicoil_batch, placements, 3)
    assert (lost > 0).all() and (ignored > 0).all()


def test_batched_placements_equal_one_at_a_time(multicoil_batch):
    batched = location_map(zero_filled, multicoil_batch, 4, 3, chunk=16)
    looped = location_map(zero_filled, multicoil_batch, 4, 3, chunk=1)
    assert len(batched) == 3 * 9 and set(batched.fname) == set(multicoil_batch.fname)
    np.testing.assert_allclose(batched.error, looped.error, rtol=1e-4, atol=1e-7)


def test_information_loss_draws_the_same_placements_for_every_method(multicoil_batch):
    first = information_loss(zero_filled, multicoil_batch, (2, 5), 7, seed=4)
    second = information_loss(fully_sampled, multicoil_batch, (2, 5), 7, seed=4)
    assert len(first) == 14 and first["size"].tolist() == [2] * 7 + [5] * 7
    pd.testing.assert_frame_equal(first.drop(columns="error"), second.drop(columns="error"))
    assert (first.error > second.error).all()


def test_box_errors_score_only_annotated_slices(multicoil_batch):
    name = multicoil_batch.fname[0].removesuffix(".h5")
    boxes = pd.DataFrame({"filename": [name], "slice": [int(multicoil_batch.slice_num[1]) + 1],
                          "label": ["BML_Lat_Fem"], "x0": [100.0], "x1": [180.0],
                          "y0": [100.0], "y1": [200.0], "line": [2]})
    rows = box_errors(zero_filled, multicoil_batch, AnnotationIndex(boxes))
    assert rows[["fname", "slice"]].values.tolist() == [[multicoil_batch.fname[1],
                                                         int(multicoil_batch.slice_num[1])]]
    assert rows["box error"].iloc[0] > 0 and 0 < rows.SSIM.iloc[0] < 1
    with pytest.raises(ValueError, match="none of the slices"):
        box_errors(zero_filled, multicoil_batch, AnnotationIndex(boxes.iloc[:0]))


def test_maps_losses_and_boxes_read_slices_of_several_shapes_group_by_group(varied_root):
    from fnaf.data.batches import slice_groups
    from fnaf.data.fastmri import SliceDataset, split_dir
    from fnaf.data.masks import RandomMaskFunc
    from fnaf.data.transforms import SliceTransform

    val = SliceDataset(split_dir(varied_root, "val", "multicoil"), challenge="multicoil")
    keys = [(val.volumes[v].fname.name, s) for v, s in val.samples][2:6]  # 2 slices per shape
    groups = slice_groups(val, SliceTransform(RandomMaskFunc([0.08], [4]), use_seed=True),
                          keys)
    assert len(groups.batches) == 2
    maps = location_map(zero_filled, groups, 3, 2, chunk=3)
    alone = pd.concat([location_map(zero_filled, batch, 3, 2) for batch in groups.batches],
                      ignore_index=True)
    pd.testing.assert_frame_equal(maps, alone, rtol=1e-5)
    drawn = information_loss(zero_filled, groups, [2], 6, seed=1)
    assert set(zip(drawn.fname, drawn.slice)) <= set(zip(groups.fname, groups.slice_num))
    assert np.isfinite(drawn.error).all() and len(drawn) == 6
    index = AnnotationIndex(pd.DataFrame({"filename": [keys[0][0][:-3], keys[-1][0][:-3]],
                                          "slice": [keys[0][1] + 1, keys[-1][1] + 1],
                                          "label": ["CartMedFem"] * 2, "x0": [64.0] * 2,
                                          "x1": [192.0] * 2, "y0": [64.0] * 2, "y1": [192.0] * 2}))
    boxes = box_errors(zero_filled, groups, index)
    assert sorted(zip(boxes.fname, boxes.slice)) == sorted([keys[0], keys[-1]])


FEATURE_SETTINGS = dict(sizes=[2, 3], trained=["varnet", "unet"], decoder="convdecoder",
                        fnaf_models="both", masks="mixed", lams=[1e-3], window=3, grid=2,
                        images=2, placements=3, decoder_placements=1, box_volumes=2,
                        tuning_volumes=1)


@pytest.mark.parametrize("change, message", [
    ({"sizes": []}, r"sizes must be a non-empty list, not \[\]"),
    ({"sizes": [2, 0]}, r"sizes\[1\] must be a positive integer, not 0"),
    ({"trained": []}, r"trained must be a non-empty list, not \[\]; accepted: "
                      r"\['varnet', 'unet'\]"),
    ({"trained": ["irim"]}, r"trained holds unknown values \['irim'\]"),
    ({"decoder": "dip"}, r"unknown decoder 'dip'; accepted: \['convdecoder', 'deepdecoder'\]"),
    ({"fnaf_models": "varnet"}, r"unknown fnaf_models 'varnet'; accepted: "
                                r"\['unet', 'irim', 'both'\]"),
    ({"masks": "random"}, r"unknown masks 'random'; accepted: \['mixed', 'separate'\]"),
    ({"lams": []}, "lams must be a non-empty list"),
    ({"lams": ["0.1"]}, "lams holds '0.1'; each λ must be a number >= 0"),
    ({"grid": 0}, "grid must be a positive integer, not 0"),
])
def test_every_chapter_setting_is_refused_naming_the_parameter_and_the_fix(change, message):
    from fnaf.studies.small_features import check_parameters

    check_parameters(**FEATURE_SETTINGS)
    check_parameters(**{**FEATURE_SETTINGS, "fnaf_models": None})  # no FNAF models
    with pytest.raises(ValueError, match=message):
        check_parameters(**{**FEATURE_SETTINGS, **change})


def test_location_maps_share_one_colour_scale_over_the_anatomy():
    import matplotlib.pyplot as plt

    means = pd.DataFrame([{"model": model, "row": row, "col": col, "error": level * (1 + row)}
                          for model, level in (("small", 0.1), ("large", 1.0))
                          for row in range(3) for col in range(3)])
    targets = torch.zeros(2, 8, 8)
    targets[0, 2:6, 2:6], targets[1, 3:5, 3:5] = 2.0, 4.0  # each divided by its maximum first
    groups = SliceGroups((KneeSlice(*[None] * len(KneeSlice._fields))._replace(target=targets),))
    anatomy = mean_anatomy(groups)
    assert anatomy[3, 3] == 1.0 and anatomy[2, 2] == 0.5 and anatomy[0, 0] == 0.0
    figure = location_maps(means, 4, anatomy, columns=2)
    maps = [image for ax in figure.axes for image in ax.get_images() if image.cmap.name == "magma"]
    assert [image.get_clim() for image in maps] == [(0.0, 3.0)] * 2  # the largest mean, shared
    assert all(ax.get_images()[0].cmap.name == "gray" for ax in figure.axes if ax.get_images())
    assert unlabelled_axes(figure) == []  # the one colour bar says what it shows
    plt.close(figure)


def test_the_box_caption_counts_the_boxes_of_the_scored_slices():
    from fnaf.captions import Sample
    from fnaf.data.annotations import AnnotationIndex
    from fnaf.studies.small_features import box_sample

    boxes = pd.DataFrame({"filename": ["a", "a", "a", "b"], "slice": [1, 1, 1, 9],
                          "label": ["meniscus", "meniscus", "bone", "bone"]})
    rows = pd.DataFrame({"fname": ["a", "a"], "slice": [0, 0], "model": ["U-Net", "l1"]})
    counted = box_sample(rows, AnnotationIndex(boxes), "/data/knee")
    assert counted == Sample("slice", 1, 1, boxes=2, data_root="/data/knee")
    assert box_sample(rows, AnnotationIndex(boxes), unit="volume").unit == "volume"
