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
    points = pd.concat([
        pd.DataFrame({"model": "FNAF U-Net", "accel": 8, "size": size,
                      "improvement": -size + rng.normal(size=40)}),
        pd.DataFrame({"model": "FNAF U-Net", "accel": 4, "size": size,
                      "improvement": rng.normal(size=40)}),
        pd.DataFrame({"model": "B-Box U-Net", "accel": 4, "size": size[:3],
                      "improvement": [1.0, 2.0, 3.0]})])
    table = reading(size_correlations(points, "improvement", ["model", "accel"]), "improvement")
    assert table.loc[("FNAF U-Net", 8), "sign"] == "negative"
    assert table.loc[("FNAF U-Net", 8), "verdict"] == "reproduced"  # the paper: negative at 8x
    assert table.loc[("FNAF U-Net", 4), "sign"] == "none"
    assert table.loc[("FNAF U-Net", 4), "verdict"] == "reproduced"  # neither finds one
    assert table.loc[("B-Box U-Net", 4), "verdict"] == "not comparable"  # three units
