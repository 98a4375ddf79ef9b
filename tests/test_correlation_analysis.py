"""The correlation analysis: unit sizes at 320 x 320, improvements over the baseline, the sign
read from Spearman's interval, and the verdict beside the paper's reading."""

import numpy as np
import pandas as pd
import pytest

from fnaf.data.annotations import AnnotationIndex
from fnaf.studies.correlation_analysis import improvements, reading, size_correlations, unit_sizes


def test_a_units_size_counts_its_labels_pixels_at_320():
    boxes = pd.DataFrame([("file1", 2, "BML_Med_Fem", 10, 20, 30, 35),
                          ("file1", 2, "BML_Med_Fem", 15, 25, 30, 35),  # overlaps the first
                          ("file1", 2, "Cyst", 0, 4, 0, 4)],
                         columns=["filename", "slice", "label", "x0", "x1", "y0", "y1"])
    units = pd.DataFrame({"fname": ["file1.h5", "file1.h5"], "slice": [1, 1],
                          "label": ["Cyst", "BML_Med_Fem"]})
    assert unit_sizes(units, AnnotationIndex(boxes)).tolist() == [16, 15 * 5]


def _rows(nmse):
    return pd.DataFrame({"fname": "a.h5", "slice": np.arange(len(nmse)), "label": "Cyst",
                         "compartment": "Cyst", "nmse": nmse})


def test_improvement_is_the_baselines_error_minus_the_robust_models():
    sizes = pd.Series([10, 20, 30])
    points = improvements({"U-Net": _rows([0.5, 0.4, 0.3]), "FNAF U-Net": _rows([0.2, 0.4, 0.4])},
                          {"FNAF U-Net": "U-Net"}, sizes)
    assert points["improvement"].tolist() == pytest.approx([0.3, 0.0, -0.1])
    assert points["size"].tolist() == [10, 20, 30]
    with pytest.raises(ValueError, match="different units"):
        improvements({"U-Net": _rows([0.5, 0.4]), "FNAF U-Net": _rows([0.2, 0.4, 0.4])},
                     {"FNAF U-Net": "U-Net"}, sizes)


def test_the_sign_is_claimed_only_where_spearmans_interval_excludes_zero():
    rng = np.random.default_rng(0)
    size = np.arange(1, 41)
    volumes = np.repeat([f"v{i}" for i in range(8)], 5)
    points = pd.concat([
        pd.DataFrame({"model": "FNAF U-Net", "accel": 8, "size": size, "fname": volumes,
                      "improvement": -size + rng.normal(size=40)}),
        pd.DataFrame({"model": "FNAF U-Net", "accel": 4, "size": size, "fname": volumes,
                      "improvement": rng.normal(size=40)}),
        pd.DataFrame({"model": "B-Box U-Net", "accel": 4, "size": size[:3],
                      "fname": volumes[:3], "improvement": [1.0, 2.0, 3.0]})])
    table = reading(size_correlations(points, "improvement", ["model", "accel"]), "improvement")
    assert table.loc[("FNAF U-Net", 8), "sign"] == "negative"
    assert table.loc[("FNAF U-Net", 8), "verdict"] == "reproduced"  # the paper: negative at 8x
    assert table.loc[("FNAF U-Net", 4), "sign"] == "none"
    assert table.loc[("FNAF U-Net", 4), "verdict"] == "reproduced"  # neither finds one
    assert table.loc[("B-Box U-Net", 4), "verdict"] == "not comparable"  # three units
    assert table.loc[("FNAF U-Net", 8), "volumes"] == 8


def test_the_sign_is_read_over_volumes_not_boxes():
    """Six volumes of 30 boxes, each a cloud with no size correlation inside it, the volumes'
    centres in no consistent order: over the 180 boxes ρ's Fisher interval excludes 0 (a
    positive sign), resampling the volumes it does not, so the verdict against the paper's
    "no correlation" is reproduced (read over boxes it would be "not reproduced")."""
    rng = np.random.default_rng(1)
    volume = np.repeat(np.arange(6), 30)
    size_centre, gain_centre = np.array([0.0, 1, 2, 3, 4, 5]), np.array([0.0, 2, 1, 3, -1, 2])
    points = pd.DataFrame({"model": "FNAF I-RIM", "accel": 8, "fname": volume.astype(str),
                           "size": 100 + 10 * size_centre[volume] + rng.normal(0, 3, 180),
                           "improvement": 0.05 * gain_centre[volume]
                           + rng.normal(0, 0.02, 180)})
    row = reading(size_correlations(points, "improvement", ["model", "accel"]),
                  "improvement").iloc[0]
    assert row["sign_units"] == "positive" and row["sign"] == "none"
    assert row["spearman_volume_low"] < 0 < row["spearman_volume_high"]
    assert row["volumes"] == 6 and row["verdict"] == "reproduced"
