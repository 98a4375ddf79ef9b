import json

import h5py
import pytest
import torch

from fnaf.__main__ import main


def test_phantom_command_writes_the_dataset(tmp_path):
    main(["phantom", "--out", str(tmp_path), "--geometry", "paper", "--train-volumes", "1",
          "--val-volumes", "1", "--slices", "1"])
    for name in ("singlecoil_bb_train.csv", "singlecoil_bb_val.csv"):
        assert (tmp_path / name).exists()
    (val_file,) = (tmp_path / "singlecoil_val").glob("*.h5")
    with h5py.File(val_file) as handle:
        assert handle["kspace"].shape == (1, 640, 368)
        assert handle["reconstruction_esc"].shape == (1, 320, 320)


def test_phantom_command_rejects_bad_counts(tmp_path):
    with pytest.raises(SystemExit, match="--slices must be at least 1"):
        main(["phantom", "--out", str(tmp_path), "--slices", "0"])


def test_phantom_command_refuses_a_non_empty_folder_unless_forced(tmp_path):
    arguments = ["phantom", "--out", str(tmp_path / "knee"), "--geometry", "smoke",
                 "--val-volumes", "1", "--slices", "1", "--train-volumes"]
    main([*arguments, "1"])
    before = sorted(path.name for path in (tmp_path / "knee" / "singlecoil_train").iterdir())
    with pytest.raises(SystemExit, match="knee is not empty; .*--force"):
        main([*arguments, "2"])
    main([*arguments, "2", "--force"])
    after = sorted(path.name for path in (tmp_path / "knee" / "singlecoil_train").iterdir())
    assert len(after) == 2 and len(before) == 1  # replaced, not merged
    assert [path.name for path in tmp_path.iterdir()] == ["knee"]  # no staging folder left


def test_multicoil_runs_train_from_the_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    main(["phantom", "--out", str(tmp_path / "knee"), "--geometry", "smoke", "--coils", "3",
          "--train-volumes", "1", "--val-volumes", "1", "--slices", "2"])
    (val_file,) = (tmp_path / "knee" / "multicoil_val").glob("*.h5")
    with h5py.File(val_file) as handle:
        assert handle["kspace"].shape == (2, 3, 64, 40)
    main(["train", "--model", "varnet", "--coils", "3", "--scale", "smoke", "--epochs", "1",
          "--runs-dir", str(tmp_path / "runs"), "--quiet"])
    (run,) = (tmp_path / "runs").iterdir()
    assert run.name.startswith("varnet-clean-4x-smoke-") and (run / "model.pt").exists()
    capsys.readouterr()
    main(["evaluate", "--model", "varnet", "--coils", "3", "--scale", "smoke", "--epochs", "1",
          "--runs-dir", str(tmp_path / "runs"), "--quiet", "--split", "train"])
    assert "varnet at 4x on 3 train volumes" in capsys.readouterr().out  # multicoil_train
    for extra, message in [(["--objective", "fnaf"], "clean objective from scratch"),
                           (["--size", "VarNet9"], "unknown varnet size 'VarNet9'")]:
        with pytest.raises(SystemExit, match=message):
            main(["train", "--model", "varnet", "--coils", "3", "--scale", "smoke", *extra])
    with pytest.raises(SystemExit, match="give --coils too"):
        main(["train", "--model", "unet", "--size", "U-net2"])
    pgd = ["pgd", "--model", "varnet", "--coils", "3", "--scale", "smoke", "--epochs", "1",
           "--runs-dir", str(tmp_path / "runs"), "--quiet", "--steps", "2"]
    capsys.readouterr()
    main([*pgd, "--eps", "0.05"])
    printed = capsys.readouterr().out
    assert "k-space PGD on 8 validation slices (2 volumes)" in printed and "control" in printed
    assert len(list((run / "pgd").glob("4x-*.json"))) == 1  # the cache a notebook reads
    main([*pgd, "--eps", "0.05", "--pgd-batch-size", "auto"])  # the same rows: read back
    assert len(list((run / "pgd").glob("4x-*.json"))) == 1
    with pytest.raises(SystemExit):
        main([*pgd, "--pgd-batch-size", "some"])
    assert "--pgd-batch-size: 'some' is neither a count nor 'auto'" in capsys.readouterr().err
    for extra, message in [(["--eps", "-1"], "eps must be a number >= 0"),
                           (["--device", "cuda:7"], "not on this machine")]:
        with pytest.raises(SystemExit, match=message):
            main([*pgd, *extra])


def test_the_command_line_offers_the_owners_choices_and_defaults():
    from fnaf.__main__ import build_parser
    from fnaf.attacks.report import INFORMATION_TOLERANCE, PAPER_GAMMA
    from fnaf.data.masks import CENTER_FRACTIONS
    from fnaf.runs import AttackConfig
    from fnaf.runs.configs import OBJECTIVES, RECONSTRUCTION_MODELS, SCALES

    attack = build_parser()._subparsers._group_actions[0].choices["attack"]
    options = {action.dest: action for action in attack._actions}
    assert list(options["accel"].choices) == sorted(CENTER_FRACTIONS)
    assert list(options["model"].choices) == list(RECONSTRUCTION_MODELS)
    assert list(options["scale"].choices) == list(SCALES)
    assert list(options["objective"].choices) == list(OBJECTIVES)
    defaults = AttackConfig()
    assert (options["n_candidates"].default, options["attack_pixels"].default,
            options["domain"].default, options["method"].default) == (
        defaults.n_candidates, defaults.n_pixels, defaults.domain, defaults.method)
    assert (options["gamma"].default, options["epsilon"].default) == (PAPER_GAMMA,
                                                                      INFORMATION_TOLERANCE)
    help_text = " ".join(attack.format_help().split())  # argparse wraps the lines
    assert all(f"{CENTER_FRACTIONS[a]:g} at {a}x" in help_text for a in CENTER_FRACTIONS)


def test_the_two_step_command_fills_the_cache_chapter_08_reads(tmp_path, capsys):
    from fnaf.runs import (
        TwoStepConfig,
        attack_steps,
        multicoil_preset,
        two_step_or_load,
        untrained_preset,
    )

    command = ["two-step", "--method", "l1", "--coils", "3", "--scale", "smoke", "--volumes", "1",
               "--runs-dir", str(tmp_path), "--quiet", "--eps", "0.05"]
    main(command)
    assert "l1: the two-step attack on 1 validation slices (1 volumes)" in capsys.readouterr().out
    (cached,) = (tmp_path / "untrained").iterdir()
    # the chapter's own settings at smoke find the same file
    frame = two_step_or_load(untrained_preset("smoke", "l1", seed=0),
                             TwoStepConfig(eps=(0.05,), steps=attack_steps("smoke", "two_step"),
                                           volumes=1),
                             multicoil_preset("smoke", "varnet", 4, 3), 4, tmp_path)
    assert list((tmp_path / "untrained").iterdir()) == [cached] and len(frame) == 2
    for extra, message in [(["--method", "convdecoder", "--lam", "1e-3"],
                            "set l1-minimisation, not convdecoder"),
                           (["--beta", "-1"], "beta must be a number >= 0")]:
        with pytest.raises(SystemExit, match=message):
            main([*command, *extra])


def test_the_location_map_command_fills_the_cache_chapter_10_reads(tmp_path, capsys,
                                                                    monkeypatch):
    from fnaf.runs import multicoil_preset, untrained_preset
    from fnaf.studies import small_features

    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    base = ["location-map", "--coils", "3", "--scale", "smoke", "--images", "1", "--window", "3",
            "--grid", "2", "--runs-dir", str(tmp_path / "runs"), "--device", "cpu"]
    command = [*base, "--method", "l1", "--lam", "1e-3"]
    main(command)
    assert "a 3-pixel window at 2x2 locations in 1 validation slices" in capsys.readouterr().out
    (cached,) = (tmp_path / "runs" / "location_maps").iterdir()
    monkeypatch.setattr(small_features, "location_map", None)  # the chapter's settings: read
    rows = small_features.location_map_or_load(untrained_preset("smoke", "l1", seed=0, lam=1e-3),
                                               multicoil_preset("smoke", "varnet", 4, 3), 4, 1,
                                               3, 2, tmp_path / "runs")
    assert list((tmp_path / "runs" / "location_maps").iterdir()) == [cached] and len(rows) == 4
    for extra, message in [(["--method", "unet", "--lam", "1e-3"], "not the trained unet"),
                           (["--method", "convdecoder", "--lam", "1e-3"], "not convdecoder"),
                           (["--grid", "0"], "grid must be a positive integer"),
                           (["--beta1", "0.98"], "not l1-minimisation")]:
        with pytest.raises(SystemExit, match=message):
            main([*command, *extra])
    with pytest.raises(SystemExit, match=r"beta1 must be in \[0, 1\)"):
        main([*base, "--method", "convdecoder", "--beta1", "1.5"])
    with pytest.raises(FileNotFoundError, match="no finished run"):  # trained first
        main([*base, "--method", "unet"])


def test_the_audit_command_audits_a_run_of_the_cache(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    run = ["--scale", "smoke", "--epochs", "1", "--runs-dir", str(tmp_path / "runs"),
           "--device", "cpu", "--quiet"]
    main(["train", *run])
    suite = ["--eps", "0.02", "0.08", "--steps", "2", "--restarts", "1",
             "--slices-per-volume", "1", "--out", str(tmp_path / "audits")]
    main(["audit", *run, *suite])
    printed = capsys.readouterr().out
    assert "SSIM lost per ε" in printed and "worst case" in printed
    (claim,) = (tmp_path / "audits").glob("unet-*[0-9a-f].json")  # not its .rows.json
    assert json.loads(claim.read_text())["suite"]["eps"] == [0.02, 0.08]
    card = claim.with_suffix(".html").read_text()  # the report card, beside the claim file
    for section in ("SSIM lost per ε", "FNAF searches", "Small window features",
                    "The worst slices", "Flags", "data:image/png;base64,"):
        assert section in card
    torch.save({"encoder.weight": torch.zeros(3, 3)}, tmp_path / "other.pt")
    with pytest.raises(SystemExit, match="other.pt.*encoder.weight"):  # another architecture
        main(["audit", *run, *suite, "--weights", str(tmp_path / "other.pt")])
    with pytest.raises(SystemExit, match="unknown schedule 'adam'"):
        main(["audit", *run, *suite, "--schedule", "adam"])
    with pytest.raises(SystemExit, match="eps must be increasing"):
        main(["audit", *run, *suite, "--eps", "0.08", "0.02"])
    with pytest.raises(SystemExit, match="--chans sets the U-Net's width"):
        main(["audit", *run, "--model", "irim", "--chans", "8"])


def test_the_audit_method_command_audits_l1_with_the_two_step_attack(tmp_path, capsys,
                                                                      monkeypatch):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    command = ["audit-method", "--method", "l1", "--coils", "3", "--scale", "smoke", "--quiet",
               "--eps", "0.08", "--steps", "2", "--slices-per-volume", "1",
               "--out", str(tmp_path / "audits")]
    main(command)
    printed = capsys.readouterr().out
    assert "SSIM lost per ε" in printed and "FNAF searches" in printed
    (claim,) = (tmp_path / "audits").glob("l1-*[0-9a-f].json")
    saved = json.loads(claim.read_text())
    assert saved["model"]["optimises"] and saved["suite"]["steps"] == 2
    assert "The worst slices" in claim.with_suffix(".html").read_text()
    with pytest.raises(SystemExit, match="--lam and --basis set l1-minimisation"):
        main([*command, "--method", "convdecoder", "--lam", "0.1"])


def test_the_audit_command_takes_the_released_irim_checkpoint(tmp_path, capsys, monkeypatch):
    """The release's checkpoint ({"args": Namespace, "model": module.-prefixed state_dict})
    audited with --weights: no run of the cache is needed."""
    import argparse

    import numpy as np

    from fnaf.audit import model_identity
    from fnaf.runs import build_model, preset

    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    released = build_model(preset("smoke", "irim")).state_dict()
    torch.save({"epoch": 50, "args": argparse.Namespace(n_steps=2), "best_dev_loss":
                np.float64(0.7), "model": {f"module.{k}": v for k, v in released.items()}},
               tmp_path / "model.pt")
    main(["audit", "--scale", "smoke", "--model", "irim", "--weights", str(tmp_path / "model.pt"),
          "--device", "cpu", "--quiet", "--eps", "0.08", "--steps", "2", "--restarts", "1",
          "--slices-per-volume", "1", "--out", str(tmp_path / "audits")])
    assert "model: SSIM lost per ε" in capsys.readouterr().out
    claim = json.loads((tmp_path / "audits" / "model.json").read_text())
    loaded = build_model(preset("smoke", "irim"))
    loaded.load_state_dict(released)
    assert claim["model"]["identity"] == model_identity(loaded, "unused")  # the release's weights

