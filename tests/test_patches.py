"""Classification patches: the grid, the box-share labels at their threshold edges, the same
positions from every reconstruction, global balance, and clear errors for bad settings."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import default_collate

from fnaf.data.annotations import coverage_map, rasterize_boxes
from fnaf.data.patches import (
    PatchSet,
    PatchSpec,
    balanced,
    box_pixels,
    box_shares,
    cut_patches,
    grid_positions,
    patch_counts,
    patch_images,
    patch_table,
)


def boxes(*rows):
    """Boxes on the 320 grid: (filename, slice, label, x0, x1, y0, y1)."""
    return pd.DataFrame(rows, columns=["filename", "slice", "label", "x0", "x1", "y0", "y1"])


def test_the_grid_covers_the_image_in_steps():
    positions = grid_positions(10, 4, 3)
    assert positions.tolist() == [[r, c] for r in (0, 3, 6) for c in (0, 3, 6)]
    assert grid_positions(10, 4, 3, offset=1)[-1].tolist() == [4, 4]


def test_box_pixels_match_the_rasterised_boxes():
    box = boxes(("file1", 1, "BML_Med_Fem", 10.4, 30.9, 40.2, 52.7))
    spans = box_pixels(box, 128)
    mask = rasterize_boxes(box, (128, 128))[:, ::-1, :].any(axis=0)  # back to the CSV frame
    row0, row1, col0, col1 = spans[0]
    expected = np.zeros_like(mask)
    expected[row0:row1, col0:col1] = True
    assert np.array_equal(mask, expected)


def test_shares_are_the_covered_part_of_each_box():
    spans = np.array([[0, 4, 0, 4], [10, 12, 10, 14]])  # a 4x4 box and a 2x4 box
    positions = np.array([[0, 0], [2, 0], [10, 12], [20, 20]])
    shares = box_shares(positions, 4, spans)
    assert shares.tolist() == [[1.0, 0.0], [0.5, 0.0], [0.0, 0.5], [0.0, 0.0]]


@pytest.mark.parametrize("start, label", [(0, 1), (1, None), (40, 0)])
def test_a_patch_is_abnormal_at_the_threshold_dropped_below_and_normal_only_when_clear(start,
                                                                                       label):
    # the one 32-px patch at (0, 0) and a 64-px-wide box from column `start`: it covers
    # 32/64 = 0.5 of the box (the threshold), 31/64 (below: dropped) or nothing (normal)
    table = patch_table(boxes(("file1", 3, "Cyst", start, start + 64, 0, 32)), 320,
                        PatchSpec(size=32, stride=320, abnormal_share=0.5), balance=False)
    assert table[["row", "col"]].values.tolist() == ([] if label is None else [[0, 0]])
    if label is not None:
        assert table["label"].tolist() == [label] and table["slice"].tolist() == [2]
        assert table["compartment"].tolist() == (["Cyst"] if label else [""])


def test_balance_keeps_every_abnormal_patch_and_as_many_normal_ones_seeded():
    table = pd.DataFrame({"label": [1, 0, 0, 0, 1, 0, 0]})
    once, again = balanced(table, seed=3), balanced(table, seed=3)
    assert once.equals(again) and (once["label"] == 1).sum() == (once["label"] == 0).sum() == 2
    assert once.index.is_monotonic_increasing


def test_the_same_positions_are_cut_from_every_reconstruction():
    rng = np.random.default_rng(0)
    target, recon = rng.random((3, 16, 16)), rng.random((3, 16, 16))
    rows = pd.DataFrame({"slice": [0, 2, 1], "row": [0, 5, 12], "col": [3, 0, 12]})
    for volume in (target, recon):
        cut = cut_patches(volume, rows, 4)
        flipped = volume[:, ::-1, :]
        loop = np.stack([flipped[s, r:r + 4, c:c + 4] for s, r, c in rows.to_numpy()])
        assert np.array_equal(cut, loop)
    with pytest.raises(ValueError, match="slice 5"):
        cut_patches(target, rows.assign(slice=[0, 5, 1]), 4)


def test_a_table_counts_patches_per_split():
    table = patch_table(boxes(("file1", 1, "Cyst", 100, 140, 100, 140),
                              ("file2", 2, "BML_Med_Fem", 20, 60, 200, 260)), 128,
                        PatchSpec(size=32, stride=8, abnormal_share=0.5), seed=1)
    counts = patch_counts({"train": table})
    assert counts.loc["train", "abnormal"] == counts.loc["train", "normal"] > 0
    assert counts.loc["train", "volumes"] == 2 and counts.loc["train", "slices"] == 2
    assert set(table["compartment"]) - {""} <= {"Cyst", "BML Med Fem"}


@pytest.mark.parametrize("options, message", [
    ({"size": 0}, "patch size must be an integer >= 1"),
    ({"stride": 0}, "patch stride must be a positive integer"),
    ({"abnormal_share": 0}, "abnormal_share must be in"),
])
def test_bad_patch_settings_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        PatchSpec(**options)


def test_a_patch_larger_than_the_image_is_refused():
    with pytest.raises(ValueError, match="larger than the image"):
        PatchSpec(size=640).on_grid(128)


def _table(rows):
    return pd.DataFrame(rows, columns=["fname", "slice", "row", "col", "label"])


def test_patch_images_cut_every_source_at_the_table_positions_in_order():
    volume = np.arange(2 * 8 * 8, dtype=np.float32).reshape(2, 8, 8)
    table = _table([("b.h5", 1, 0, 0, 1), ("a.h5", 0, 2, 3, 0), ("b.h5", 0, 4, 4, 0)])
    target = patch_images({"a.h5": volume, "b.h5": volume + 1000}, table, 3)
    doubled = patch_images({"a.h5": 2 * volume, "b.h5": 2 * (volume + 1000)}, table, 3)
    assert target.shape == (3, 3, 3) and np.array_equal(doubled, 2 * target)
    flipped = volume[:, ::-1]  # the annotation frame
    assert np.array_equal(target[1], flipped[0, 2:5, 3:6])
    assert np.array_equal(target[0], flipped[1, 0:3, 0:3] + 1000)


def test_patch_images_name_the_volumes_a_source_lacks():
    table = _table([("a.h5", 0, 0, 0, 1), ("c.h5", 0, 0, 0, 0)])
    with pytest.raises(KeyError, match=r"missing from the images given: \['c.h5'\]"):
        patch_images({"a.h5": np.zeros((1, 4, 4))}, table, 2)


def test_a_patch_set_standardises_and_collates_named_patches():
    table = _table([("a.h5", 0, 0, 0, 1), ("a.h5", 1, 0, 0, 0)])
    patches = PatchSet(np.full((2, 4, 4), 3.0), table, mean=1.0, std=2.0)
    assert patches.shapes == [(4, 4), (4, 4)] and len(patches) == 2
    batch = default_collate([patches[(1, 123)], patches[0]])
    assert torch.equal(batch.image, torch.ones(2, 4, 4))
    assert batch.label.tolist() == [0, 1] and batch.slice_num.tolist() == [1, 0]
    assert list(batch.fname) == ["a.h5", "a.h5"]
    with pytest.raises(ValueError, match="std must be > 0"):
        PatchSet(np.zeros((2, 4, 4)), table, 0.0, 0.0)


def test_adaptive_sampling_draws_normal_patches_where_abnormalities_occur():
    # two slices with boxes in opposite corners: each slice's normal patches over the other
    # slice's box lie where abnormalities occur (coverage > 0); elsewhere the coverage is zero
    annotated = boxes(("f", 1, "BML_Med_Fem", 10, 34, 10, 34),
                      ("f", 2, "BML_Med_Fem", 270, 294, 270, 294))
    density = coverage_map(annotated)

    def normal_density(sampling):
        table = patch_table(annotated, 320, PatchSpec(32, stride=16, abnormal_share=0.5,
                                                      sampling=sampling), seed=1)
        normal = table[table["label"] == 0]
        assert len(normal) == (table["label"] == 1).sum() > 0
        return density[normal["row"] + 16, normal["col"] + 16]

    assert (normal_density("adaptive") > 0).all()
    assert (normal_density("uniform") == 0).any()
