"""Table 4: NMSE inside the annotated boxes, per (volume, slice, label), and the rank-sum test."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fnaf.boxes import COMPARTMENTS, box_nmse, prediction_volumes
from fnaf.data.annotations import AnnotationIndex, read_annotations
from fnaf.data.fastmri_writer import write_reconstruction
from fnaf.evaluation import VolumeReconstruction
from fnaf.tables import table4, table4_tests_view, table4_view


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


def _units(rng, per_compartment=12):
    """Hand-made box rows: 2 compartments x ``per_compartment`` units over 4 volumes."""
    return pd.DataFrame([{"fname": f"file{unit % 4}.h5", "slice": unit, "label": code,
                          "compartment": name, "nmse": rng.uniform(0.05, 0.1)}
                         for code, name in (("Med_Men", "Med Men"), ("Cyst", "Cyst"))
                         for unit in range(per_compartment)])


def test_table4_means_intervals_and_paired_tests():
    rng = np.random.default_rng(0)
    baseline = _units(rng)
    men = baseline["compartment"] == "Med Men"
    better = baseline.assign(nmse=np.where(men, baseline["nmse"] / 3, baseline["nmse"]))
    table, tests = table4({"U-Net": baseline, "FNAF U-Net": better.sample(frac=1, random_state=1)},
                          {"FNAF U-Net": "U-Net"}, accel=4)  # row order does not matter
    assert table.index.tolist() == list(COMPARTMENTS)
    assert table.loc["Med Men", "N"] == 12 and table.loc["All", "N"] == 24
    assert table.loc["Cyst", "N"] == 12 and table.loc["BML Med Fem", "N"] == 0
    assert table.loc["Med Men", "FNAF U-Net"] == pytest.approx(baseline[men]["nmse"].mean() / 3)
    assert (table.loc["Med Men", "FNAF U-Net low"] < table.loc["Med Men", "FNAF U-Net"]
            < table.loc["Med Men", "FNAF U-Net high"])
    paired = stats.wilcoxon(better[men]["nmse"], baseline[men]["nmse"]).pvalue
    assert tests.loc["Med Men", "FNAF U-Net p"] == pytest.approx(paired)
    assert tests.loc["Med Men", "FNAF U-Net p rank-sum"] == pytest.approx(
        stats.ranksums(better[men]["nmse"], baseline[men]["nmse"]).pvalue)
    assert table.loc["Med Men", "FNAF U-Net significant"]
    assert table.loc["Med Men", "FNAF U-Net direction"] == "lower"
    assert table.loc["Cyst", "FNAF U-Net direction"] == "equal"
    assert not table.loc["Cyst", "FNAF U-Net significant"]  # identical values: p = 1
    assert np.isnan(tests.loc["BML Med Fem", "FNAF U-Net p"])  # no units: not tested
    assert table.loc["Med Men", "paper N"] == 11 and table.loc["Med Men", "paper U-Net"] == 0.04902
    # the 12 boxes come from 4 volumes: with the volume as the unit nothing can be tested
    assert table.loc["Med Men", "FNAF U-Net volumes"] == 4
    assert np.isnan(tests.loc["Med Men", "FNAF U-Net p volumes"])
    assert table.loc["Med Men", "FNAF U-Net direction volumes"] == "lower"


def test_table4_is_read_one_network_at_a_time():
    rng = np.random.default_rng(0)
    baseline = _units(rng)
    men = baseline["compartment"] == "Med Men"
    better = baseline.assign(nmse=np.where(men, baseline["nmse"] / 3, baseline["nmse"]))
    baselines = {"FNAF U-Net": "U-Net", "FNAF I-RIM": "I-RIM"}
    table, tests = table4({"U-Net": baseline, "FNAF U-Net": better, "I-RIM": baseline,
                           "FNAF I-RIM": baseline}, baselines, accel=4)
    view = table4_view(table, baselines, "U-Net")
    assert view.data.columns.tolist() == ["N", "U-Net", "FNAF U-Net", "paper N", "paper U-Net",
                                          "paper FNAF U-Net"]
    assert view.data.loc["Med Men", "FNAF U-Net"].endswith(" lower")
    assert "font-weight: bold" in view.to_html()  # Med Men's paired test is significant
    shown = table4_tests_view(tests, baselines, "I-RIM")
    assert shown.columns.tolist() == [("FNAF I-RIM", "signed-rank, boxes"),
                                      ("FNAF I-RIM", "rank-sum, boxes"),
                                      ("FNAF I-RIM", "signed-rank, volumes")]
    assert shown.loc["BML Med Fem", ("FNAF I-RIM", "signed-rank, boxes")] == "–"  # no units


def test_table4_tests_all_boxes_by_volume_beside_the_box_level_test():
    rng = np.random.default_rng(2)
    baseline = pd.DataFrame([{"fname": f"file{volume}.h5", "slice": box, "label": "Med_Men",
                              "compartment": "Med Men", "nmse": rng.uniform(0.05, 0.1)}
                             for volume in range(8) for box in range(volume * 10, volume * 10 + 5)])
    better = baseline.assign(nmse=baseline["nmse"] * 0.9)
    table, tests = table4({"U-Net": baseline, "FNAF U-Net": better}, {"FNAF U-Net": "U-Net"}, 4)
    assert table.loc["All", "FNAF U-Net volumes"] == 8
    assert tests.loc["All", "FNAF U-Net p volumes"] == pytest.approx(2 / 2 ** 8)  # exact, 8 of 8
    assert tests.loc["All", "FNAF U-Net p"] < tests.loc["All", "FNAF U-Net p volumes"]


def test_table4_does_not_test_small_compartments_and_needs_the_same_units():
    rng = np.random.default_rng(1)
    baseline = _units(rng, per_compartment=3)
    worse = baseline.assign(nmse=baseline["nmse"] * 2)
    table, tests = table4({"U-Net": baseline, "B-Box U-Net": worse}, {"B-Box U-Net": "U-Net"},
                          accel=8)
    assert np.isnan(tests.loc["Med Men", "B-Box U-Net p"])  # 3 units: shown, not tested
    assert table.loc["Med Men", "B-Box U-Net direction"] == "higher"
    assert table.loc["All", "B-Box U-Net significant"]  # 6 units, all worse: p = 1/32
    with pytest.raises(ValueError, match="other .volume, slice, label. units"):
        table4({"U-Net": baseline, "B-Box U-Net": worse.iloc[1:]}, {"B-Box U-Net": "U-Net"}, 8)
