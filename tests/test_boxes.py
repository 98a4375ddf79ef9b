"""Table 4: NMSE inside the annotated boxes, per (volume, slice, label), and the rank-sum test."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fnaf.boxes import COMPARTMENTS, box_nmse, prediction_volumes, table4
from fnaf.data.annotations import AnnotationIndex, read_annotations
from fnaf.data.fastmri_writer import write_reconstruction
from fnaf.evaluation import VolumeReconstruction


def _annotated_volume(root):
    boxes = read_annotations(root / "singlecoil_bb_val.csv")
    index = AnnotationIndex(boxes)
    fname = boxes["filename"].iloc[0] + ".h5"
    import h5py

    with h5py.File(root / "singlecoil_val" / fname) as handle:
        target = handle["reconstruction_esc"][()]
    return index, boxes, fname, target


def test_box_nmse_is_zero_for_a_perfect_and_one_for_an_empty_reconstruction(phantom_root):
    index, boxes, fname, target = _annotated_volume(phantom_root)
    slices = list(range(len(target)))
    perfect = VolumeReconstruction(fname, slices, target.copy(), target, target, 0.0)
    empty = VolumeReconstruction(fname, slices, np.zeros_like(target), target, target, 0.0)
    exact, lost = box_nmse([perfect], index), box_nmse([empty], index)
    expected = boxes[boxes["filename"] == fname[:-3]].drop_duplicates(["slice", "label"])
    assert len(exact) == len(expected) > 0  # one row per annotated (slice, label)
    assert (exact["nmse"] == 0).all() and np.allclose(lost["nmse"], 1.0)
    assert set(exact["compartment"]) <= set(COMPARTMENTS)


def test_prediction_files_are_scored_like_a_run(phantom_root, tmp_path):
    index, _, fname, target = _annotated_volume(phantom_root)
    write_reconstruction(tmp_path / fname, target * 0.5)
    (volume,) = prediction_volumes(tmp_path, phantom_root / "singlecoil_val")
    rows = box_nmse([volume], index)
    assert np.allclose(rows["nmse"], 0.25)
    with pytest.raises(FileNotFoundError, match="no prediction files"):
        list(prediction_volumes(tmp_path / "empty", phantom_root / "singlecoil_val"))


def test_table4_means_counts_and_rank_sum_tests():
    rng = np.random.default_rng(0)
    rows = [{"compartment": name, "nmse": value} for name in ("Med Men", "Cyst")
            for value in rng.uniform(0.05, 0.1, 12)]
    baseline = pd.DataFrame(rows)
    better = baseline.assign(nmse=np.where(baseline["compartment"] == "Med Men",
                                           baseline["nmse"] / 3, baseline["nmse"]))
    table, p_values = table4({"U-Net": baseline, "FNAF U-Net": better},
                             {"FNAF U-Net": "U-Net"}, accel=4)
    assert table.index.tolist() == list(COMPARTMENTS)
    assert table.loc["Med Men", "N"] == 12 and table.loc["All", "N"] == 24
    assert table.loc["Cyst", "N"] == 12 and table.loc["BML Med Fem", "N"] == 0
    assert table.loc["Med Men", "FNAF U-Net"] == pytest.approx(
        baseline[baseline["compartment"] == "Med Men"]["nmse"].mean() / 3)
    men = baseline["compartment"] == "Med Men"
    expected = stats.ranksums(better[men]["nmse"], baseline[men]["nmse"]).pvalue
    assert p_values.loc["Med Men", "FNAF U-Net"] == pytest.approx(expected)
    assert table.loc["Med Men", "FNAF U-Net significant"]
    assert not table.loc["Cyst", "FNAF U-Net significant"]  # identical values: p = 1
    assert table.loc["Med Men", "paper N"] == 11 and table.loc["Med Men", "paper U-Net"] == 0.04902
