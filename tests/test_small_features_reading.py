"""Reading the small-feature tables: location dependence, flatness, information loss, boxes and
rankings; and the chapter's slices."""

import numpy as np
import pandas as pd
import pytest

from fnaf.studies.small_features import (
    box_reading,
    information_summary,
    location_dependence,
    map_means,
    rankings,
    spread,
    spread_comparison,
)


def map_rows(model, location_effect, images=8, seed=0):
    """A 3x3 map per image: error = 1 + effect x (row index) + noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for image in range(images):
        for row in range(3):
            for col in range(3):
                rows.append({"model": model, "fname": f"v{image}.h5", "slice": 4,
                             "row": row * 10, "col": col * 10,
                             "error": 1 + location_effect * row + 0.05 * rng.random()})
    return pd.DataFrame(rows)


def test_a_location_effect_is_shown_and_a_flat_map_is_not():
    maps = pd.concat([map_rows("steep", 1.0), map_rows("flat", 0.0)])
    table = location_dependence(maps).set_index("model")
    assert table.loc["steep", "shown"] and not table.loc["flat", "shown"]
    assert table.loc["steep", "spread"] > 10 * table.loc["flat", "spread"]
    assert (table["spread low"] <= table.spread).all()
    assert (table.spread <= table["spread high"]).all()
    assert table.loc["steep", "images"] == 8 and table.loc["steep", "locations"] == 9
    means = map_means(maps)
    assert len(means) == 18
    assert means[means.model == "steep"].error.max() == pytest.approx(3, abs=0.06)


def test_spread_comparison_reads_the_direction_from_a_paired_interval():
    maps = pd.concat([map_rows("steep", 1.0), map_rows("flat", 0.0, seed=1)])
    compared = spread_comparison(maps, {"flat": "steep", "steep": "flat"}).set_index("model")
    assert compared.loc["flat", "direction"] == "flatter"
    assert compared.loc["steep", "direction"] == "less flat"
    same = spread_comparison(pd.concat([map_rows("a", 0.0), map_rows("b", 0.0, seed=2)]),
                             {"a": "b"})
    assert same.direction.tolist() == ["not shown"]
    with pytest.raises(ValueError, match="same images and locations"):
        spread_comparison(pd.concat([map_rows("a", 0.0), map_rows("b", 0.0, images=5)]),
                          {"a": "b"})


def test_spread_is_the_coefficient_of_variation_of_the_location_means():
    matrix = np.array([[1.0, 3.0], [1.0, 3.0]])
    assert spread(matrix) == pytest.approx(0.5)


def test_information_summary_pools_the_sizes():
    frame = pd.DataFrame({"model": ["a"] * 6, "fname": ["v0", "v1", "v2"] * 2, "slice": 0,
                          "size": [2, 2, 2, 5, 5, 5], "error": [1.0, 2, 3, 4, 5, 6]})
    table = information_summary(frame).set_index("size")
    assert table.loc[2, "error"] == 2 and table.loc[5, "error"] == 5
    assert table.loc["all", "error"] == 3.5 and table.loc["all", "n"] == 6
    assert table.loc["all", "volumes"] == 3  # the files the placements fall in


def test_box_reading_and_rankings():
    rng = np.random.default_rng(0)
    quality = rng.random(10)
    boxes = pd.DataFrame({"model": "a", "fname": [f"v{i}" for i in range(10)], "slice": 0,
                          "SSIM": quality, "box error": 1 - quality})
    reading = box_reading(pd.concat([boxes, boxes.assign(model="b", **{"box error": 2 - quality}),
                                     boxes.assign(model="c", **{"box error": 3 - quality})]))
    assert reading.spearman_r.tolist() == pytest.approx([-1.0] * 3)
    information = pd.DataFrame({"model": ["a", "b", "c"], "size": "all", "error": [0.1, 0.2, 0.3]})
    table, agreement = rankings(information, reading)
    assert table["artificial rank"].tolist() == table["real rank"].tolist() == [1, 2, 3]
    assert agreement["tau"] == pytest.approx(1.0) and agreement["n"] == 3


def test_the_chapter_slices(phantom_root):
    from fnaf.runs import annotated_slices, middle_slices, preset, validation_boxes

    config = preset("smoke", "unet", 4, data_root=str(phantom_root))
    batch = middle_slices(config, 4, volumes=1)
    assert len(batch.fname) == 1 and int(batch.slice_num[0]) == 2  # 4 slices: the middle is 2
    index = validation_boxes(config)
    annotated = annotated_slices(config, index, 4)
    assert all(len(index.boxes_for(name, int(number)))
               for name, number in zip(annotated.fname, annotated.slice_num))
    with pytest.raises(ValueError, match="volumes must be a positive integer"):
        middle_slices(config, 4, volumes=0)
