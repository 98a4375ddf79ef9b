"""Every input file and feature size a run will use is refused before anything trains: annotation
CSVs (malformed, or of other files) and features larger than their region."""

import shutil

import pytest

from fnaf.__main__ import main
from fnaf.attacks.features import FeatureSpec
from fnaf.data.annotations import AnnotationError
from fnaf.runs import AttackConfig, check_inputs, preset, robust_preset, train_or_load


@pytest.fixture
def no_training(tmp_path, monkeypatch):
    """The phantom cached under ``tmp_path``; any training fails the test."""
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("fnaf.runs.cache.fit", lambda *a, **k: pytest.fail("trained anyway"))


@pytest.fixture
def own_root(phantom_root, tmp_path):
    """A copy of the smoke phantom's data root that a test may damage."""
    return shutil.copytree(phantom_root, tmp_path / "data")


def test_a_malformed_training_csv_stops_a_bbox_run_before_its_baseline_trains(own_root,
                                                                             tmp_path,
                                                                             no_training):
    (own_root / "singlecoil_bb_train.csv").write_text("filename,slice,numBBs,labels,coords\n"
                                                      "file2000000,1,two,['Cyst'],[[1 2 3 4]]\n")
    config = robust_preset("smoke", "unet", 4, "bbox", data_root=str(own_root))
    with pytest.raises(AnnotationError, match="singlecoil_bb_train.csv, line 2: slice '1' and "
                                              "numBBs 'two' must be integers"):
        train_or_load(config, tmp_path / "runs", progress=False)
    assert not (tmp_path / "runs").exists()


def test_a_validation_csv_of_other_files_is_refused_before_any_work(own_root, no_training):
    foreign = own_root / "foreign.csv"
    foreign.write_text("filename,slice,numBBs,labels,coords\n"
                       "file9999999,1,1,['Cyst'],[[1 2 3 4]]\n")
    with pytest.raises(AnnotationError, match="foreign.csv .* is among the 2 volumes"):
        check_inputs([preset("smoke", data_root=str(own_root))], annotations_val=str(foreign))
    (own_root / "singlecoil_bb_val.csv").write_text("filename,slice,numBBs,labels,coords\n"
                                                    "file2100000,9,1,['Cyst'],[[1 2 3 4]]\n")
    with pytest.raises(AnnotationError, match="line 2: slice 9 of file2100000 .* has 4 slices"):
        check_inputs(preset("smoke", data_root=str(own_root)))  # the data's own CSV


def test_fnaf_features_larger_than_their_region_stop_training_before_the_baseline(tmp_path,
                                                                                 no_training):
    config = robust_preset("smoke", "unet", 4, "fnaf", n_pixels=200)
    with pytest.raises(ValueError, match=r"the FNAF objective of unet-fnaf-ft-.*: n_pixels 200 "
                                         r"\(200 pixels on the 32x32 target grid\) does not fit "
                                         r"the central 12x12 square .* n_pixels <= 144"):
        train_or_load(config, tmp_path / "runs", progress=False)
    assert not (tmp_path / "runs").exists()
    check_inputs(robust_preset("smoke", "unet", 4, "fnaf", n_pixels=144))  # fits exactly


def test_attack_features_are_checked_against_the_data_before_training(tmp_path, no_training,
                                                                     capsys):
    config = preset("smoke")
    with pytest.raises(ValueError, match=r"the attack on unet-clean-4x-smoke-.*: n_pixels 145"):
        check_inputs([config], AttackConfig(n_pixels=145))
    check_inputs([config], AttackConfig(n_pixels=145, shape="walk", placement="released"))
    with pytest.raises(SystemExit, match="python -m fnaf attack: the attack on .* n_pixels 500"):
        main(["attack", "--scale", "smoke", "--attack-pixels", "500", "--quiet",
              "--runs-dir", str(tmp_path / "runs")])
    with pytest.raises(SystemExit, match="python -m fnaf train: the FNAF objective .* n_pixels "
                                         "500"):
        main(["train", "--scale", "smoke", "--objective", "fnaf", "--n-pixels", "500",
              "--quiet", "--runs-dir", str(tmp_path / "runs")])
    assert not (tmp_path / "runs").exists()


def test_a_region_larger_than_the_grid_is_refused():
    with pytest.raises(ValueError, match="the attack: region 40 px .* 32x32 target grid"):
        FeatureSpec(region=40).check_grid((32, 32), "the attack")
    FeatureSpec(n_pixels=(10, 1000), area_scaled=True).check_grid((128, 128), "the I-RIM's")
