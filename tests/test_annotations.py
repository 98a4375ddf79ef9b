import warnings

import numpy as np
import pandas as pd
import pytest

from fnaf.data.annotations import (
    LABEL_CODES,
    LABELS,
    AnnotationError,
    AnnotationIndex,
    AnnotationWarning,
    coverage_map,
    label_counts,
    match_volumes,
    rasterize_boxes,
    read_annotations,
    write_annotations,
)

CSV = """filename,slice,numBBs,labels,coords
file1000196,26,1,['Med_Men'],[[176.88335 234.66667 193.80656 210.94229]]
file1002515,18,2,['BML_Med_Tib' 'BML_Med_Fem'],"[[190.03404 242.63678 192.87671 236.31382]
 [161.74014 247.41886 141.46949 186.89913]]"
file1002515,19,2,['Cyst' 'Cyst'],"[[ 93.99419 119.10004 125.26359 145.98588]
 [ 10.       20.       30.       40.     ]]"
"""


@pytest.fixture
def csv_path(tmp_path):
    path = tmp_path / "bb.csv"
    path.write_text(CSV)
    return path


def test_reads_one_row_per_box(csv_path):
    boxes = read_annotations(csv_path)
    assert list(boxes.columns[:7]) == ["filename", "slice", "label", "x0", "x1", "y0", "y1"]
    assert len(boxes) == 5
    second = boxes.iloc[2]
    assert (second.filename, second.slice, second.label) == ("file1002515", 18, "BML_Med_Fem")
    assert (second.x0, second.x1, second.y0, second.y1) == (
        161.74014, 247.41886, 141.46949, 186.89913)
    assert boxes["line"].tolist() == [2, 3, 3, 5, 5]


def test_round_trip_is_byte_identical(csv_path, tmp_path):
    write_annotations(read_annotations(csv_path), tmp_path / "again.csv")
    assert (tmp_path / "again.csv").read_text() == CSV


def test_unknown_label_names_the_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(CSV + "file1,3,1,['Meniscus'],[[1. 2. 3. 4.]]\n")
    with pytest.raises(AnnotationError, match=r"bad.csv, line 7: unknown label 'Meniscus'"):
        read_annotations(path)


@pytest.mark.parametrize(
    "row, message",
    [("file1,3,2,['Cyst'],[[1. 2. 3. 4.]]", "numBBs is 2"),
     ("file1,x,1,['Cyst'],[[1. 2. 3. 4.]]", "must be integers"),
     ("file1,0,1,['Cyst'],[[1. 2. 3. 4.]]", "1-based"),
     ("file1,3,1,['Cyst'],[[5. 2. 3. 4.]]", "x0 <= x1"),
     ("file1,3,1,['Cyst'],[[300. 330. 3. 4.]]", "outside the 320x320"),
     ("file1,3,1,['Cyst']", "expected 5 fields"),
     ("file1,3,2,['Cyst' 'Cyst'],\"[[1. 2. 3.]\n [4. 5. 6. 7. 8.]]\"",
      r"coordinate rows hold \[3, 5\] numbers; each box is one row of 4"),
     ("file1,3,2,['Cyst' 'Cyst'],[[1. 2. 3. 4. 5. 6. 7. 8.]]", "numBBs is 2 .* 1 coordinate rows")],
)
def test_malformed_rows_name_the_line(tmp_path, row, message):
    path = tmp_path / "bad.csv"
    path.write_text("filename,slice,numBBs,labels,coords\n" + row + "\n")
    with pytest.raises(AnnotationError, match=f"line 2: .*{message}"):
        read_annotations(path)


def test_bad_header(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("file,slice\n")
    with pytest.raises(AnnotationError, match="line 1: header"):
        read_annotations(path)


def test_vocabulary():
    assert len(LABELS) == 11 and LABEL_CODES[0] == "CartMedFem"
    names = {label.code: label for label in LABELS}
    assert names["BML_Lat_Tib"].name == "BML Lat Tib"
    assert (names["BML_Lat_Tib"].tissue, names["BML_Lat_Tib"].side, names["BML_Lat_Tib"].bone) == (
        "bone marrow", "lateral", "tibia")
    assert names["Med_Men"].name == "Med Men" and names["Cyst"].side is None


def box(label, x0, x1, y0, y1, filename="f", slice_num=1):
    return pd.DataFrame([dict(filename=filename, slice=slice_num, label=label, x0=x0, x1=x1,
                              y0=y0, y1=y1)])


def test_rasterise_flips_rows_back_to_network_orientation():
    masks = rasterize_boxes(box("Cyst", 10.7, 20.2, 0.0, 10.9))
    assert masks.shape == (11, 320, 320)
    channel = masks[LABEL_CODES.index("Cyst")]
    rows, cols = np.nonzero(channel)
    assert (rows.min(), rows.max()) == (310, 319)  # flipped-frame rows 0..9
    assert (cols.min(), cols.max()) == (10, 19)  # truncation: [int(x0), int(x1))
    assert masks.sum() == channel.sum() == 10 * 10


def test_rasterise_scales_to_the_crop():
    masks = rasterize_boxes(box("CartMedFem", 160, 240, 80, 160), shape=(128, 128))
    rows, cols = np.nonzero(masks[0])
    assert (cols.min(), cols.max()) == (64, 95)
    assert (rows.min(), rows.max()) == (128 - 64, 128 - 32 - 1)
    tiny = rasterize_boxes(box("Cyst", 100.1, 100.3, 50.1, 50.2), shape=(32, 32))
    assert tiny.sum() == 1  # every box covers at least one pixel


def test_index_converts_one_based_slices(csv_path):
    index = AnnotationIndex(read_annotations(csv_path))
    masks = index.masks("file1002515.h5", 17, (320, 320))  # dataset slice 17 = CSV slice 18
    assert masks[LABEL_CODES.index("BML_Med_Fem")].any()
    assert not index.masks("file1002515.h5", 18 - 2, (320, 320)).any()


def test_label_counts_unit_is_volume_slice_label(csv_path):
    counts = label_counts(read_annotations(csv_path)).set_index("label")
    assert counts.loc["Cyst", "boxes"] == 2 and counts.loc["Cyst", "N"] == 1
    assert counts.loc["Med_Men", "compartment"] == "Med Men"
    assert coverage_map(read_annotations(csv_path)).max() >= 1


class Volume:
    def __init__(self, fname, num_slices=40):
        self.fname, self.num_slices = fname, num_slices


def test_match_volumes_counts_what_it_leaves_out(csv_path):
    boxes = read_annotations(csv_path)
    with pytest.warns(AnnotationWarning, match=r"bb.csv: 1 of 5 boxes \(1 of 2 annotated "
                                                r"volumes, e.g. file1000196\) are of volumes not"):
        matched = match_volumes(boxes, [Volume("/data/file1002515.h5"), Volume("file9.h5")])
    assert set(matched.filename) == {"file1002515"} and len(matched) == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # everything matched: silent
        match_volumes(boxes, [Volume("file1002515.h5"), Volume("file1000196.h5")])
    with pytest.raises(AnnotationError, match="none of the 2 annotated volumes of .*bb.csv .* "
                                              "among the 1 volumes"):
        match_volumes(boxes, [Volume("file9.h5")])


def test_a_box_beyond_its_volume_names_the_line(csv_path):
    boxes = read_annotations(csv_path)
    with pytest.raises(AnnotationError, match=r"bb.csv, line 3: slice 18 of file1002515 "
                                              r"\(1-based\), but the volume has 17 slices"):
        match_volumes(boxes, [Volume("file1002515.h5", 17), Volume("file1000196.h5")])
    match_volumes(boxes, [Volume("file1002515.h5", 19), Volume("file1000196.h5")])  # fits
