"""``check_data`` and ``python -m fnaf check-data``: clean data passes, and each fault a test
writes into a copy of the smoke phantom is a finding naming its file, slices and check."""

import shutil

import h5py
import numpy as np
import pytest
import torch

from fnaf.__main__ import main
from fnaf.data.check import DataCheckError, check_data, recomputed_target, require_clean_data
from fnaf.data.fastmri import FastMRIDataError
from fnaf.mri import center_crop, ifft2c, rss

VAL = "file2100001.h5"


@pytest.fixture
def root(phantom_root, tmp_path):
    return shutil.copytree(phantom_root, tmp_path / "data")


def _found(result, check):
    rows = result.findings[result.findings["check"] == check]
    return {(row.file, tuple(row.slices)) for row in rows.itertuples()}


def test_clean_data_single_and_multi_coil_and_varied_pass(phantom_root, varied_root):
    result = check_data(phantom_root, sorted(phantom_root.glob("*_bb_*.csv")), progress=False)
    assert result.ok, result.findings
    summary = result.summary()
    assert summary.loc["singlecoil_val", "volumes"] == 2
    assert summary.loc["singlecoil_train", "slices"] == 12
    assert summary.loc["singlecoil_val", "k-space"] == "64x40 (2)"
    assert summary.loc["singlecoil_val", "annotated"] == "2 of 2"
    varied = check_data(varied_root, progress=False)
    assert varied.ok, varied.findings
    assert set(varied.summary().index) == {"singlecoil_train", "singlecoil_val",
                                           "multicoil_train", "multicoil_val"}
    assert varied.summary().loc["multicoil_train", "coils"] == "2 (2), 3 (1)"


def test_each_fault_is_a_finding(root):
    with h5py.File(root / "singlecoil_val" / VAL, "r+") as handle:
        kspace = handle["kspace"][1]
        kspace.flat[600:850] = 0  # 2,000 zeroed bytes inside the k-space
        handle["kspace"][1] = kspace
        handle["kspace"][3] = handle["kspace"][3] * 1e-6
        handle["reconstruction_esc"][0, 5] = np.nan
        del handle.attrs["acquisition"]
    with h5py.File(root / "singlecoil_train" / "file2000000.h5", "r+") as handle:
        handle["kspace"][...] = 0
        handle["reconstruction_esc"][...] = 0
    with h5py.File(root / "singlecoil_train" / "file2000002.h5", "r+") as handle:
        target = handle["reconstruction_esc"][2]
        target.flat[100:600] = 0  # 2,000 zeroed bytes inside the target
        handle["reconstruction_esc"][2] = target
    result = check_data(root, progress=False)
    assert not result.ok
    assert _found(result, "all-zero k-space") == {("file2000000.h5", (0, 1, 2, 3))}
    assert _found(result, "all-zero target") == {("file2000000.h5", (0, 1, 2, 3))}
    assert _found(result, "non-finite target") == {(VAL, (0,))}
    assert _found(result, "target mismatch") == {(VAL, (1, 3)), ("file2000002.h5", (2,))}
    assert _found(result, "low-energy k-space") == {(VAL, (3,))}
    header = result.findings[result.findings["check"] == "header"]
    assert set(header["file"]) == {VAL, "file2000000.h5", "file2000002.h5"}
    assert header["detail"].str.contains("acquisition").any()
    assert result.summary().loc["singlecoil_val", "problems"] == 5


def test_unreadable_files_and_annotations_are_findings(root):
    (root / "singlecoil_val" / "file9.h5").write_bytes(b"not hdf5")
    path = root / "singlecoil_val" / VAL
    data = bytearray(path.read_bytes())
    start = data.find(b"acquisition")
    data[start:start + 48] = bytes(48)  # h5py's RuntimeError iterating over the attributes
    path.write_bytes(bytes(data))
    csv = root / "singlecoil_bb_val.csv"
    csv.write_text(csv.read_text() + "file2100000,99,1,['BML_Med_Fem'],[[ 8. 12. 15. 18.]]\n")
    broken = root / "broken.csv"
    broken.write_text("filename,slice\n")
    result = check_data(root, [csv, broken], progress=False)
    layout = result.findings[result.findings["check"] == "layout"]
    assert set(layout["file"]) == {"file9.h5", VAL}
    assert layout["detail"].str.contains("metadata cannot be read").any()
    annotations = result.findings[result.findings["check"] == "annotations"]
    assert list(annotations["file"]) == ["singlecoil_bb_val.csv", "broken.csv"]
    assert annotations["detail"].str.contains("slice 99 .* of file2100000").iloc[0]
    assert annotations["detail"].str.contains("broken.csv, line 1: header").iloc[1]


def test_cli_exit_code_and_table(root, capsys):
    main(["check-data", str(root)])
    assert "no problems in 5 volumes" in capsys.readouterr().out
    with h5py.File(root / "singlecoil_val" / VAL, "r+") as handle:
        handle["kspace"][2] = 0
    with pytest.raises(SystemExit, match="1 problem.* in 1 file"):
        main(["check-data", str(root)])
    out = capsys.readouterr().out
    assert "singlecoil_val" in out and VAL in out and "all-zero k-space" in out
    with pytest.raises(SystemExit, match="no split folders"):
        main(["check-data", str(root / "singlecoil_val")])


def test_bad_arguments_are_refused_before_reading(tmp_path):
    with pytest.raises(FastMRIDataError, match="no such directory"):
        check_data(tmp_path / "missing")
    with pytest.raises(ValueError, match="tolerance must be a number in"):
        check_data(tmp_path, tolerance=2)


@pytest.mark.parametrize("shape", [(3, 16, 12), (15, 11), (2, 13, 9)])
def test_recomputed_target_is_the_centred_reconstruction(shape):
    rng = np.random.default_rng(1)
    kspace = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
    images = center_crop(ifft2c(torch.from_numpy(kspace)), (7, 6))
    expected = rss(images) if kspace.ndim == 3 else images.abs()
    np.testing.assert_allclose(recomputed_target(kspace, (7, 6)), expected.numpy(), rtol=1e-5,
                               atol=1e-6)


def test_a_chapter_stops_on_damaged_data_before_any_work(root, tmp_path, monkeypatch):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    with h5py.File(root / "singlecoil_train" / "file2000001.h5", "r+") as handle:
        handle["kspace"][...] = 0  # a dead training volume
    with pytest.raises(DataCheckError, match=(
            r"(?s)data_root='.*data': the data check found 1 problem\(s\) in 1 file\(s\), "
            r"before any work:.*file2000001.h5 .*all-zero k-space.*python -m fnaf check-data "
            r".*move them out of their split folders")):
        require_clean_data(data_root=root)
    with pytest.raises(DataCheckError, match="brain_root='/nowhere': /nowhere: no such directory"):
        require_clean_data(brain_root="/nowhere")


def test_a_passed_check_is_remembered_until_a_file_changes(root, tmp_path, monkeypatch):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    calls = []
    monkeypatch.setattr("fnaf.data.check.check_data",
                        lambda *a, **k: calls.append(a) or check_data(*a, **k))
    require_clean_data(data_root=None, shifted_root=None)  # the phantom: nothing read
    assert calls == []
    require_clean_data(data_root=str(root))
    require_clean_data(data_root=str(root))  # remembered: nothing read again
    assert len(calls) == 1
    assert [path.name for path in calls[0][1]] == ["singlecoil_bb_train.csv",
                                                   "singlecoil_bb_val.csv"]
    with h5py.File(root / "singlecoil_val" / VAL, "r+") as handle:
        handle["kspace"][2] = np.nan
    with pytest.raises(DataCheckError, match=f"{VAL} .*non-finite k-space"):
        require_clean_data(data_root=str(root))
    assert len(calls) == 2
