"""Experiment configs, the run cache and the train/evaluate commands."""

import json
import threading
from dataclasses import asdict, replace
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from fnaf.__main__ import main
from fnaf.data.phantom import PhantomConfig
from fnaf.runs import (
    ObjectiveConfig,
    OptimConfig,
    load_run,
    preset,
    robust_preset,
    run_dir,
    train_or_load,
)
from fnaf.runs.configs import without_later_defaults


def test_presets_follow_the_paper_recipes():
    unet = preset("paper", "unet", 8, data_root="/data/knee")
    assert (unet.network.chans, unet.accels, unet.epochs) == (32, (8,), 50)
    assert (unet.optim.name, unet.optim.lr, unet.optim.step_size) == ("rmsprop", 1e-3, 40)
    irim = preset("paper", "irim", 4, data_root="/data/knee")
    assert (irim.optim.name, irim.optim.lr, irim.optim.step_size) == ("adam", 1e-4, 30)
    assert (irim.network.n_steps, irim.network.multiplicity, irim.batch_size) == (8, 4, 8)
    assert irim.network.train_resolution == (368, 368) and irim.accels == (4,)
    assert preset("demo").key() == preset("demo").key() != preset("demo", accel=8).key()


@pytest.mark.parametrize("arguments, message", [
    (dict(scale="huge"), "unknown scale 'huge'; accepted: \\['smoke', 'demo', 'paper'\\]"),
    (dict(model="varnet2"), "unknown model 'varnet2'; accepted: \\['unet', 'irim', 'varnet'\\]"),
    (dict(accel=6), "unknown accel 6; accepted: \\[4, 8\\]"),
    (dict(accel=(4, 6)), "unknown accel 6; accepted: \\[4, 8\\]"),
    (dict(accel=(4, 4)), "distinct"),
    (dict(accel=()), "distinct"),
    (dict(scale="paper"), "the paper preset needs data_root"),
])
def test_bad_configs_name_the_value_and_what_is_accepted(arguments, message):
    with pytest.raises(ValueError, match=message):
        preset(**arguments)


def test_train_or_load_trains_once_then_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    config = preset("smoke", "unet", 4, epochs=1)
    run = train_or_load(config, tmp_path, progress=False)
    directory = run_dir(config, tmp_path)
    assert run.directory == directory
    provenance = json.loads((directory / "provenance.json").read_text())
    assert {"torch", "git_commit", "device", "wall_time_s", "fnaf"} <= set(provenance)
    assert json.loads((directory / "config.json").read_text())["accel"] == 4
    assert len(run.metrics["volumes"]) == 2 and len(run.metrics["history"]) == 1

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run must be loaded, not retrained")

    monkeypatch.setattr("fnaf.runs.cache.fit", no_training)
    again = train_or_load(config, tmp_path, progress=False)
    for key, value in run.model.state_dict().items():
        assert torch.equal(value, again.model.state_dict()[key])


def test_a_mixed_mask_run_is_evaluated_and_attacked_at_each_acceleration(tmp_path, monkeypatch):
    from fnaf.runs import AttackConfig, attack_or_load, evaluate_or_load, transforms

    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    config = preset("smoke", "unet", [4, 8], epochs=1)  # a list, as read back from JSON
    assert config.accel == (4, 8) and config.name.startswith("unet-clean-4-8x-smoke-")
    assert config.key() != preset("smoke", "unet", 4, epochs=1).key()
    training_masks = transforms(config)[0].mask_func
    assert (training_masks.accelerations, training_masks.center_fractions) == ([4, 8],
                                                                               [0.08, 0.04])
    run = train_or_load(config, tmp_path, progress=False)
    with pytest.raises(ValueError, match="name the acceleration"):
        evaluate_or_load(run)
    quality = {accel: evaluate_or_load(run, accel, device="cpu") for accel in (4, 8)}
    # fewer samples, worse zero-filled input: the masks really are 4x and 8x
    assert (quality[8].zero_filled["NMSE"] > quality[4].zero_filled["NMSE"]).all()
    assert sorted(p.name for p in (run.directory / "evaluations").iterdir()) == ["4x.json",
                                                                                  "8x.json"]
    again = evaluate_or_load(run, 8)  # read back from the cache
    pd.testing.assert_frame_equal(again.metrics, quality[8].metrics, check_like=True)
    attack = AttackConfig(n_candidates=2)
    for accel in (4, 8):
        attack_or_load(run, attack, accel, progress=False, device="cpu")
    assert len(list((run.directory / "attacks").glob("random-*x-*.json"))) == 2


def test_a_trained_run_keeps_its_selected_epochs_validation(tmp_path, monkeypatch):
    import fnaf.evaluation

    passes = []

    def counted(*args, **kwargs):
        passes.append(1)
        return evaluate(*args, **kwargs)

    evaluate = fnaf.evaluation.evaluate
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(fnaf.evaluation, "evaluate", counted)
    run = train_or_load(preset("smoke", epochs=2), tmp_path, progress=False)
    assert len(passes) == 2  # one per epoch; the selected epoch is not validated again
    selected = run.metrics["history"][run.metrics["best_epoch"] - 1]
    assert run.metrics["val_loss"] == selected["val_loss"]
    assert pd.DataFrame(run.metrics["volumes"])["SSIM"].mean() == pytest.approx(selected["SSIM"])


def test_an_evaluation_scores_the_boxes_in_the_same_pass_and_caches_them(tmp_path,
                                                                          monkeypatch):
    from fnaf.boxes import box_nmse
    from fnaf.data.annotations import AnnotationIndex, match_volumes, read_annotations
    from fnaf.data.sources import data_source
    from fnaf.evaluation import reconstruct_volumes
    from fnaf.pipelines import pipeline_for
    from fnaf.runs import datasets, eval_transform, evaluate_or_load

    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    config = preset("smoke", epochs=1)
    run = train_or_load(config, tmp_path, progress=False)
    val = datasets(config)[1]
    boxes = match_volumes(read_annotations(data_source(None, phantom=config.phantom)
                                           .annotations["val"]), val.volumes)
    index = AnnotationIndex(boxes)
    scored = evaluate_or_load(run, annotations=index, device="cpu").boxes
    expected = box_nmse(reconstruct_volumes(run.model, pipeline_for("unet"), val,
                                            eval_transform(config)), index)
    assert len(scored) == len(expected) > 0
    pd.testing.assert_frame_equal(scored.reset_index(drop=True), expected, check_dtype=False)

    def no_second_pass(*args, **kwargs):
        raise AssertionError("cached")

    monkeypatch.setattr("fnaf.runs.cache.reconstruct_volumes", no_second_pass)
    again = evaluate_or_load(run, annotations=AnnotationIndex(boxes.sample(frac=1, random_state=0)))
    pd.testing.assert_frame_equal(again.boxes, scored, check_dtype=False)  # same boxes: cached
    default = evaluate_or_load(run).boxes  # the data's own validation boxes: cached too
    pd.testing.assert_frame_equal(default, scored, check_dtype=False)
    written = sorted(path.name for path in (run.directory / "reconstructions" / "4x").iterdir())
    assert written == sorted(set(scored["fname"]))  # the annotated volumes, for classification
    with pytest.raises(AssertionError, match="cached"):  # other boxes: a new pass
        evaluate_or_load(run, annotations=AnnotationIndex(boxes.iloc[1:]))


def test_load_run_says_how_to_train_a_missing_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m fnaf train"):
        load_run(preset("smoke"), tmp_path)


def test_train_then_evaluate_commands_write_fastmri_predictions(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    common = ["--scale", "smoke", "--epochs", "1", "--runs-dir", str(tmp_path / "runs"),
              "--quiet"]
    main(["train", *common])
    main(["evaluate", *common, "--out", str(tmp_path / "predictions")])
    printed = capsys.readouterr().out
    assert "zero-filled" in printed and "SSIM_mean" in printed
    files = sorted((tmp_path / "predictions").glob("*.h5"))
    assert [f.name for f in files] == ["file2100000.h5", "file2100001.h5"]
    with h5py.File(files[0]) as handle:
        reconstruction = handle["reconstruction"][()]
    assert reconstruction.shape == (4, 32, 32) and reconstruction.dtype == np.float32


def test_commands_train_on_mixed_masks_and_evaluate_at_one_acceleration(tmp_path, monkeypatch,
                                                                        capsys):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    common = ["--scale", "smoke", "--epochs", "1", "--runs-dir", str(tmp_path / "runs"),
              "--quiet", "--mixed-masks"]
    main(["train", *common])
    (run,) = (tmp_path / "runs").iterdir()
    assert "-4-8x-smoke-" in run.name
    main(["evaluate", *common, "--accel", "8"])
    main(["attack", *common, "--accel", "8", "--n-candidates", "2"])
    assert "unet at 8x on 2 val volumes" in capsys.readouterr().out
    assert [path.name.split("-")[1] for path in (run / "attacks").iterdir()] == ["8x"]
    assert [path.name for path in (run / "evaluations").iterdir()] == ["8x.json"]  # cached


def test_evaluate_rejects_a_weight_file_of_another_architecture(tmp_path, monkeypatch):
    from fnaf.models import CheckpointError, UNet

    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    torch.save(UNet(chans=8).state_dict(), tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="does not fit UNet"):
        main(["evaluate", "--scale", "smoke", "--weights", str(tmp_path / "other.pt"), "--quiet"])


def test_commands_reject_bad_values(tmp_path):
    with pytest.raises(SystemExit, match="the paper preset needs data_root"):
        main(["train", "--scale", "paper", "--runs-dir", str(tmp_path)])
    with pytest.raises(SystemExit):
        main(["train", "--accel", "6"])
    with pytest.raises(SystemExit, match="--epochs must be at least 1"):
        main(["train", "--epochs", "0"])


def test_a_data_root_without_split_folders_says_what_it_needs(tmp_path):
    from fnaf.data.fastmri import FastMRIDataError

    with pytest.raises(FastMRIDataError, match="must hold the fastMRI split folders"):
        train_or_load(preset("smoke", data_root=str(tmp_path)), tmp_path / "runs",
                      progress=False)


def test_robust_training_and_attack_commands(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    common = ["--scale", "smoke", "--runs-dir", str(tmp_path / "runs"), "--quiet"]
    main(["train", *common, "--objective", "fnaf", "--beta", "2"])
    assert len(list((tmp_path / "runs").glob("unet-fnaf-ft-4x-smoke-*/model.pt"))) == 1
    main(["attack", *common, "--objective", "fnaf", "--beta", "2", "--n-candidates", "2"])
    printed = capsys.readouterr().out
    assert "attack_rate" in printed and "control_rate" in printed
    with pytest.raises(SystemExit, match="adv_fraction must be in"):
        main(["train", *common, "--objective", "fnaf", "--adv-fraction", "2"])
    with pytest.raises(SystemExit, match="loss weights must be >= 0"):
        main(["train", *common, "--objective", "bbox", "--beta", "-1"])


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished smoke run in its own run cache: ``(config, runs root)``."""
    root = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FNAF_CACHE", str(root / "cache"))
        config = preset("smoke", "unet", 4, epochs=1)
        train_or_load(config, root, progress=False)
    return config, root


@pytest.mark.parametrize("name", ["model.pt", "metrics.json", "provenance.json"])
def test_a_damaged_run_file_says_to_delete_the_run(finished_run, tmp_path, name):
    import shutil

    from fnaf.io import DamagedFileError

    config, root = finished_run
    shutil.copytree(run_dir(config, root), run_dir(config, tmp_path))
    damaged = run_dir(config, tmp_path) / name
    damaged.write_bytes(damaged.read_bytes()[:20])
    with pytest.raises(DamagedFileError, match=f"{name}: cannot be read .* delete "
                                               f".*{config.name} and run again to retrain it"):
        load_run(config, tmp_path)


def test_another_architectures_weights_in_a_run_folder_name_the_file_and_the_fix(finished_run,
                                                                                tmp_path):
    import shutil

    from fnaf.models import IRIM, CheckpointError

    config, root = finished_run
    shutil.copytree(run_dir(config, root), run_dir(config, tmp_path))
    weights = run_dir(config, tmp_path) / "model.pt"
    torch.save(IRIM(n_steps=1, n_hidden=16, n_network_hidden=(4,), dilations=(1,),
                    multiplicity=1).state_dict(), weights)
    with pytest.raises(CheckpointError, match=f"{weights} does not fit UNet: .* missing keys .* "
                                              f"another model's weights .* delete "
                                              f".*{config.name} and run again to retrain it"):
        train_or_load(config, tmp_path, progress=False)


def test_a_damaged_resume_checkpoint_says_how_to_restart(tmp_path, monkeypatch):
    from fnaf.io import DamagedFileError

    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    config = preset("smoke", "unet", 4, epochs=1)
    checkpoint = run_dir(config, tmp_path) / "checkpoint" / "checkpoint.pt"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(b"")
    with pytest.raises(DamagedFileError, match="checkpoint.pt: cannot be read .* to restart"):
        train_or_load(config, tmp_path, progress=False)


def test_a_run_another_process_is_training_is_waited_for_then_loaded(tmp_path, monkeypatch):
    from filelock import FileLock

    from fnaf.runs.cache import LOCK, _train

    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    config = preset("smoke", "unet", 4, epochs=1)
    directory = run_dir(config, tmp_path)
    directory.mkdir(parents=True)
    other = FileLock(directory / LOCK)  # the other process's
    other.acquire()
    asked = {}
    waiting = threading.Thread(target=lambda: asked.update(
        run=train_or_load(config, tmp_path, progress=False)))
    waiting.start()
    waiting.join(timeout=2)
    assert waiting.is_alive() and not (directory / "config.json").exists()  # waits, trains nothing
    trained = _train(config, tmp_path, directory, torch.device("cpu"), False, 0, 0)
    monkeypatch.setattr("fnaf.runs.cache.fit", lambda *a, **k: pytest.fail("trained twice"))
    other.release()
    waiting.join(timeout=60)
    for key, value in trained.model.state_dict().items():
        assert torch.equal(value, asked["run"].model.state_dict()[key])


def test_an_unwritable_run_cache_is_found_before_training(tmp_path, monkeypatch):
    from fnaf.io import NotWritableError

    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("fnaf.runs.cache.fit", lambda *a, **k: pytest.fail("trained anyway"))
    (tmp_path / "runs").write_text("a file where the cache should be")
    with pytest.raises(NotWritableError, match="FNAF_RUNS"):
        train_or_load(preset("smoke", "unet", 4), tmp_path / "runs", progress=False)


def test_a_disk_without_room_is_found_before_training_or_attacking(finished_run, tmp_path,
                                                                  monkeypatch):
    import shutil

    from fnaf.io import DiskFullError
    from fnaf.runs import AttackConfig, attack_or_load, build_model
    from fnaf.runs.cache import CHECKPOINT_COPIES, state_bytes

    config, root = finished_run
    shutil.copytree(run_dir(config, root), run_dir(config, tmp_path))
    monkeypatch.setenv("FNAF_CACHE", str(root / "cache"))
    monkeypatch.setattr("fnaf.io.shutil.disk_usage",
                        lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 100, 100))
    monkeypatch.setattr("fnaf.runs.cache.fit", lambda *a, **k: pytest.fail("trained anyway"))
    monkeypatch.setattr("fnaf.runs.cache.attack_dataset", lambda *a, **k: pytest.fail("attacked"))
    needed = CHECKPOINT_COPIES * state_bytes(build_model(config))
    other = replace(config, seed=1)
    with pytest.raises(DiskFullError, match=f"{other.name}: about {needed:,} bytes .* 100 bytes "
                                            "free; free space on it, or point \\$FNAF_RUNS"):
        train_or_load(other, tmp_path, progress=False)
    with pytest.raises(DiskFullError, match="attacks: about 32,768 bytes will be written"):
        attack_or_load(load_run(config, tmp_path), AttackConfig(n_candidates=2), progress=False)


def test_an_unwritable_attack_cache_is_found_before_attacking(finished_run, tmp_path,
                                                              monkeypatch):
    import shutil

    from fnaf.io import NotWritableError
    from fnaf.runs import AttackConfig, attack_or_load

    config, root = finished_run
    shutil.copytree(run_dir(config, root), run_dir(config, tmp_path))
    (run_dir(config, tmp_path) / "attacks").write_text("a file where the cache should be")
    monkeypatch.setattr("fnaf.runs.cache.attack_dataset", lambda *a, **k: pytest.fail("attacked"))
    with pytest.raises(NotWritableError, match="attacks: results cannot be written"):
        attack_or_load(load_run(config, tmp_path), AttackConfig(n_candidates=2), progress=False)


@pytest.mark.parametrize("options, message", [
    ({"method": "pgd"}, "unknown attack method 'pgd'"),
    ({"n_candidates": 0}, "random attack needs n_candidates >= 1"),
    ({"method": "fd", "n_candidates": 5}, "fd attack needs n_candidates >= 6"),
    ({"n_pixels": 0}, "n_pixels must be a positive size"),
    ({"n_pixels": (20, 10)}, "n_pixels must be a positive size"),
    ({"border": -1}, "border must be None"),
    ({"domain": "image"}, "unknown domain 'image'"),
    ({"shape": "blob"}, "unknown shape 'blob'"),
])
def test_attack_settings_are_validated_when_configured(options, message):
    from fnaf.runs import AttackConfig

    with pytest.raises(ValueError, match=message):
        AttackConfig(**options)


def test_thresholds_are_validated_before_a_cached_attack_is_read(finished_run):
    from fnaf.runs import AttackConfig, attack_or_load

    config, root = finished_run
    run, attack = load_run(config, root), AttackConfig(n_candidates=2)
    attack_or_load(run, attack, progress=False)  # now cached
    for thresholds in ({"gamma": -1}, {"epsilon": 0}):
        with pytest.raises(ValueError, match="must be a positive number"):
            attack_or_load(run, attack, progress=False, **thresholds)


@pytest.mark.parametrize("arguments, message", [
    (["--gamma", "-1"], "gamma must be a positive number"),
    (["--n-candidates", "0"], "n_candidates >= 1"),
    (["--method", "fd", "--n-candidates", "5"], "n_candidates >= 6"),
])
def test_attack_command_checks_its_settings_before_looking_anything_up(tmp_path, arguments,
                                                                       message):
    with pytest.raises(SystemExit, match=message):  # not "no finished run"
        main(["attack", "--scale", "smoke", "--runs-dir", str(tmp_path), *arguments])


def _copy_phantom(phantom_root, destination):
    import shutil

    return Path(shutil.copytree(phantom_root, destination))


def test_run_keys_follow_the_data_not_the_path(phantom_root, tmp_path):
    import os

    root = _copy_phantom(phantom_root, tmp_path / "knee")
    clean = preset("smoke", data_root=str(root))
    bbox = replace(clean, objective=ObjectiveConfig("bbox"))
    keys = clean.key(), bbox.key()
    assert keys == (clean.key(), bbox.key())  # stable while nothing changes
    from fnaf.data.annotations import read_annotations, write_annotations

    csv = root / "singlecoil_bb_train.csv"
    boxes = read_annotations(csv)
    boxes.loc[0, "x1"] += 1  # one box edited
    write_annotations(boxes, csv)
    assert clean.key() == keys[0] and bbox.key() != keys[1]  # boxes matter to B-Box runs only
    volume = sorted((root / "singlecoil_val").glob("*.h5"))[0]
    os.utime(volume, ns=(0, volume.stat().st_mtime_ns + 1))  # a volume replaced in place
    assert clean.key() != keys[0]
    assert preset("smoke").key() == preset("smoke").key()  # the phantom: keyed by its config


def test_a_nan_target_trains_nothing_and_caches_nothing(phantom_root, tmp_path):
    from fnaf.data.fastmri import FastMRIDataError
    from fnaf.train import TrainingError

    root = _copy_phantom(phantom_root, tmp_path / "knee")
    volume = sorted((root / "singlecoil_val").glob("*.h5"))[0]
    with h5py.File(volume, "r+") as handle:
        handle["reconstruction_esc"][1, 3, 3] = np.nan
    config = preset("smoke", data_root=str(root), epochs=1)
    with pytest.raises(TrainingError, match=f"{volume.name} slice 1: 'reconstruction_esc'") as info:
        train_or_load(config, tmp_path / "runs", progress=False)
    assert isinstance(info.value.__cause__, FastMRIDataError)
    assert not list((tmp_path / "runs").rglob("model.pt"))


@pytest.mark.parametrize("build, message", [
    (lambda: OptimConfig("adagrad"), "unknown optimizer 'adagrad'"),
    (lambda: OptimConfig(lr=0), "lr > 0"),
    (lambda: OptimConfig(gamma=0), "0 < gamma <= 1"),
    (lambda: PhantomConfig(train_volumes=0), "train_volumes must be an integer >= 1"),
    (lambda: PhantomConfig(geometry="huge"), "unknown geometry 'huge'"),
    (lambda: PhantomConfig(noise=-0.1), "noise must be >= 0"),
])
def test_optimiser_and_phantom_settings_are_validated_when_configured(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_a_weight_file_is_a_run_and_robust_fine_tunes_start_from_it(tmp_path, monkeypatch):
    """The paper fine-tuned the released i-RIM: a run with init_weights and no epochs is the
    file's model, evaluated and cached; robust_preset(init_weights=...) fine-tunes it."""
    from fnaf.models import UNet

    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(7)
    released = UNet(chans=4, num_pool_layers=2).state_dict()
    torch.save({"state_dict": {f"unet.{k}": v for k, v in released.items()}},
               tmp_path / "released.ckpt")  # a Lightning-style checkpoint
    weights = str(tmp_path / "released.ckpt")
    run = train_or_load(preset("smoke", init_weights=weights, epochs=0), tmp_path / "runs",
                        progress=False)
    assert run.directory.name.startswith("unet-clean-weights-4x-smoke-")
    assert run.metrics["steps"] == 0
    for key, value in released.items():
        assert torch.equal(run.model.state_dict()[key], value)
    tuned = robust_preset("smoke", "unet", 4, "fnaf", init_weights=weights)
    assert tuned.init_from == run.config and tuned.init_weights is None
    fine = train_or_load(tuned, tmp_path / "runs", progress=False)
    assert fine.metrics["steps"] > 0
    keys = run.config.key(), tuned.key()
    import os

    os.utime(weights, ns=(0, os.stat(weights).st_mtime_ns + 1))  # the file replaced
    assert run.config.key() != keys[0] and tuned.key() != keys[1]  # both runs are new
    with pytest.raises(FileNotFoundError, match="no such weight file"):
        preset("smoke", init_weights=str(tmp_path / "absent.pt"), epochs=0)
    with pytest.raises(ValueError, match="epochs 0 only with init_weights"):
        preset("smoke", epochs=0)
    with pytest.raises(SystemExit, match="no such weight file"):
        main(["train", "--scale", "smoke", "--init-weights", str(tmp_path / "absent.pt")])


def test_an_official_irim_checkpoint_is_a_run(tmp_path, monkeypatch):
    import argparse

    from fnaf.runs import build_model

    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(3)
    released = build_model(preset("smoke", "irim")).state_dict()
    torch.save({"epoch": 50, "args": argparse.Namespace(n_steps=2), "best_dev_loss":
                np.float64(0.7), "model": {f"module.{k}": v for k, v in released.items()}},
               tmp_path / "model.pt")
    run = train_or_load(preset("smoke", "irim", init_weights=str(tmp_path / "model.pt"),
                               epochs=0), tmp_path / "runs", progress=False)
    for key, value in released.items():
        assert torch.equal(run.model.state_dict()[key], value)


def test_a_chapter_configures_every_model_variant_and_acceleration_before_any_work():
    from fnaf.runs import chapter_configs, model_names, robust_preset

    configs = chapter_configs("demo", "both", "both", "mixed", {
        "{}": ("baseline", {}), "FNAF {}": ("fnaf", {"beta": 0.3})})
    assert list(configs) == [(label, a) for model in ("U-Net", "I-RIM") for a in (4, 8)
                             for label in (model, f"FNAF {model}")]
    assert configs["FNAF U-Net", 8] == robust_preset("demo", "unet", (4, 8), "fnaf", beta=0.3)
    assert configs["U-Net", 4] == configs["U-Net", 8]  # one mixed-mask model serves both
    separate = chapter_configs("demo", "unet", 8, "separate", {"{}": ("baseline", {})})
    assert separate["U-Net", 8].accels == (8,)
    assert model_names("both") == ["unet", "irim"]
    with pytest.raises(ValueError, match="model"):
        model_names("varnet")
    with pytest.raises(ValueError, match="accel"):
        chapter_configs("demo", "unet", 6, "mixed", {"{}": ("baseline", {})})


def test_validation_boxes_are_the_units_of_table4(tmp_path, monkeypatch):
    from fnaf.runs import datasets, preset, validation_boxes

    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    config = preset("smoke", "unet", 4)
    boxes = validation_boxes(config)
    volumes = {volume.fname.name for volume in datasets(config)[1].volumes}
    assert len(boxes.boxes) > 0 and set(boxes.boxes["filename"] + ".h5") <= volumes


def test_a_share_of_the_validation_volumes_selects_the_epoch(tmp_path, monkeypatch):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    config = preset("smoke", epochs=1, selection_share=0.5)
    run = train_or_load(config, tmp_path, progress=False)
    assert len(run.metrics["volumes"]) == 1  # one of the smoke phantom's two volumes
    from fnaf.runs import evaluate_or_load

    assert len(evaluate_or_load(run).metrics) == 2  # Table 3 still scores every volume
    with pytest.raises(ValueError, match="selection_share must be in"):
        preset("smoke", selection_share=0.0)


def test_multicoil_presets_and_size_families():
    from fnaf.runs import SIZE_FAMILIES, UnetConfig, VarNetConfig, multicoil_preset

    config = multicoil_preset("demo", "varnet", 4, coils=4)
    assert config.phantom.coils == 4 and config.data_challenge == "multicoil"
    assert config.key() != multicoil_preset("demo", "varnet", 4, coils=6).key()
    assert config.name.startswith("varnet-clean-4x-demo-")
    # below the paper, a member is the scale's network with the published member's fractions
    assert multicoil_preset("demo", "unet", 4, size="U-net3").network == UnetConfig(
        chans=4, num_pool_layers=2)
    assert multicoil_preset("demo", "varnet", 4, size="VarNet3").network == VarNetConfig(
        num_cascades=2, sens_chans=2, sens_pools=2, chans=3, pools=3)
    assert multicoil_preset("demo", "varnet", 4, size="VarNet-ref").key() == config.key()
    assert multicoil_preset("paper", "unet", 4, size="U-net3", data_root="/d").network == \
        UnetConfig(chans=16, num_pool_layers=2)
    assert SIZE_FAMILIES["varnet"]["VarNet5"] == VarNetConfig(num_cascades=6, sens_chans=2,
                                                               chans=4)
    assert len(SIZE_FAMILIES["unet"]) == len(SIZE_FAMILIES["varnet"]) == 5
    paper = multicoil_preset("paper", "varnet", 4, coils=15, data_root="/data/knee")
    assert paper.challenge == "multicoil" and paper.network == VarNetConfig()
    for arguments, message in [(dict(model="irim"), "unknown model 'irim'"),
                               (dict(coils=1), "coils must be an integer >= 2"),
                               (dict(size="VarNet9"), "unknown varnet size 'VarNet9'"),
                               (dict(source="heart"), "unknown source 'heart'")]:
        with pytest.raises(ValueError, match=message):
            multicoil_preset("demo", **{"model": "varnet", **arguments})
    with pytest.raises(ValueError, match="multicoil_train/ and multicoil_val/"):
        multicoil_preset("paper", "varnet", 4, coils=15)


@pytest.mark.slow  # over ~10 s: `make test` runs it, a bare `pytest` does not
def test_earlier_runs_keep_their_keys_after_the_phantoms_acquisition_fields():
    from fnaf.runs import multicoil_preset
    from fnaf.runs.classifier import ClassifierConfig
    from fnaf.runs.untrained import data_key

    # anchors computed before PhantomConfig had its acquisition fields (commit c53c2d8)
    assert multicoil_preset("demo", "varnet", 4, 4).key() == "55d88d2c9bc2"
    assert preset("demo", "unet", (4, 8)).key() == "69e83d34e52a"
    assert robust_preset("demo", "irim", (4, 8), "fnaf").key() == "329f99070bce"
    assert data_key(multicoil_preset("demo", "varnet", 4, 4), 4) == "7dc193181cb9"
    assert ClassifierConfig("demo").key() == "9b1a1e5c1cdd"


def test_the_shift_sources_change_the_acquisition_and_keep_the_knee_runs():
    from fnaf.runs import multicoil_preset

    knee = multicoil_preset("demo", "varnet", 4, coils=4, source="knee")
    assert knee == multicoil_preset("demo", "varnet", 4, coils=4)
    shifted = multicoil_preset("demo", "varnet", 4, coils=4, source="knee-shifted").phantom
    assert (shifted.anatomy, shifted.contrasts, shifted.coils) == ("knee", ("PD_3DFSE",), 8)
    assert shifted.noise > knee.phantom.noise and shifted.fov > 1 and shifted.seed != 0
    brain = multicoil_preset("demo", "unet", 4, coils=4, source="brain").phantom
    assert brain.anatomy == "brain" and brain.coils == 4 and brain.lesions_per_volume == 0


def test_the_data_layout_is_checked_against_the_phantom_and_the_model():
    from fnaf.runs import multicoil_preset

    with pytest.raises(ValueError, match="does not match the phantom"):
        preset("demo", "unet", 4, challenge="multicoil")
    with pytest.raises(ValueError, match="the i-RIM is single-coil"):
        preset("demo", "irim", 4, phantom=multicoil_preset("demo").phantom)
    # the single-coil runs keep their keys: the new fields enter only when set
    settings = json.dumps(without_later_defaults(asdict(preset("demo", "unet", 4))))
    assert "challenge" not in settings and "coils" not in settings
    assert preset("demo", "unet", (4, 8)).key() == "69e83d34e52a"  # the book's cached baseline


def test_pgd_configs_are_checked_and_keyed():
    from fnaf.runs import PgdConfig

    config = PgdConfig(eps=[0.02, 0.08])
    assert config.eps == (0.02, 0.08) and PgdConfig(eps=0.05).eps == (0.05,)
    assert config.key() != PgdConfig(eps=(0.02, 0.08), norm="full").key()
    for arguments, message in [(dict(eps=()), "at least one"),
                               (dict(eps=(-0.1,)), "eps must be a number >= 0"),
                               (dict(steps=0), "steps must be an integer >= 1"),
                               (dict(norm="all"), "unknown norm 'all'"),
                               (dict(slices_per_volume=0), "slices_per_volume must be")]:
        with pytest.raises(ValueError, match=message):
            PgdConfig(**arguments)


def test_the_varnet_keeps_fastmris_recipe_and_its_own_demo_schedule():
    from fnaf.runs import multicoil_preset

    paper = multicoil_preset("paper", "varnet", 4, coils=15, data_root="/data/knee")
    assert (paper.optim.name, paper.optim.lr, paper.optim.step_size) == ("adam", 3e-4, 40)
    assert (paper.epochs, paper.batch_size) == (50, 1)
    demo = multicoil_preset("demo", "varnet", 4)
    assert (demo.optim.name, demo.optim.lr, demo.epochs) == ("adam", 5e-3, 3)


def test_predictions_without_room_are_refused_before_any_reconstruction(finished_run, tmp_path,
                                                                       monkeypatch):
    import shutil

    from fnaf.io import DiskFullError
    from fnaf.runs import reconstructions_or_load

    config, root = finished_run
    monkeypatch.setenv("FNAF_CACHE", str(root / "cache"))
    monkeypatch.setattr("fnaf.io.shutil.disk_usage",
                        lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 100, 100))
    monkeypatch.setattr("fnaf.runs.cache.reconstruct_volumes",
                        lambda *a, **k: pytest.fail("reconstructed anyway"))
    monkeypatch.setattr("fnaf.evaluation.reconstruct_volumes",
                        lambda *a, **k: pytest.fail("reconstructed anyway"))
    run = load_run(config, root)
    per_volume = 4 * 32 * 32 * 4 + 8192  # 4 float32 slices of 32x32 and HDF5's own bytes
    with pytest.raises(DiskFullError, match=f"{run.directory / 'reconstructions' / '4x'}: about "
                                            f"{2 * per_volume:,} bytes .* 100 bytes free"):
        reconstructions_or_load(run, 4)
    with pytest.raises(DiskFullError, match=f"about {per_volume:,} bytes"):
        reconstructions_or_load(run, 4, ["file2100001.h5"])
    out = tmp_path / "predictions"
    with pytest.raises(SystemExit, match=f"evaluate: {out}: about {2 * per_volume:,} bytes will "
                                         "be written there, .* pass a folder on another disk"):
        main(["evaluate", "--scale", "smoke", "--epochs", "1", "--runs-dir", str(root),
              "--quiet", "--out", str(out)])


def test_a_run_scored_on_held_out_volumes_caches_apart_from_its_own(finished_run, monkeypatch):
    """The held-out phantom (other patients, the seed plus HELD_OUT_SEED_OFFSET) gives other
    scores, cached under the run's scored_on/ folder; the run's own evaluation is untouched."""
    from fnaf.runs import HELD_OUT_SEED_OFFSET, evaluate_or_load, scored_on

    config, root = finished_run
    monkeypatch.setenv("FNAF_CACHE", str(root / "cache"))
    run = load_run(config, root)
    own = evaluate_or_load(run, 4)
    held_out = scored_on(run)
    assert held_out.config.phantom.seed == config.phantom.seed + HELD_OUT_SEED_OFFSET
    assert held_out.directory.parent == run.directory / "scored_on"
    scores = evaluate_or_load(held_out, 4)
    assert (held_out.directory / "evaluations" / "4x.json").is_file()
    assert not np.allclose(scores.metrics.sort_values("fname")["SSIM"],
                           own.metrics.sort_values("fname")["SSIM"])
    pd.testing.assert_frame_equal(evaluate_or_load(run, 4).metrics, own.metrics,
                                  check_like=True)  # still the run's own
    with pytest.raises(ValueError, match="give the held-out volumes' folder"):
        from types import SimpleNamespace

        fastmri = SimpleNamespace(name="unet-clean-4x-paper", data_root="/data/knee")
        scored_on(replace(run, config=fastmri))  # fastMRI's volumes: the caller names others
