"""The released code's departures: each an attack option, read in pairs of reports."""

import pandas as pd
import pytest

from fnaf.attacks import AttackReport
from fnaf.runs import AttackConfig
from fnaf.studies.released_code import (
    DEPARTURES,
    RELEASED_UNET_ATTACK,
    Departure,
    departure_effects,
    rules,
)


def test_every_departure_is_an_attack_option_and_the_paper_is_the_default():
    for departure in (*DEPARTURES, RELEASED_UNET_ATTACK):
        released = AttackConfig(**departure.options)  # validated: every option exists
        assert released.key() != AttackConfig().key()
        assert all(getattr(AttackConfig(), key) != value
                   for key, value in departure.options.items())
    assert RELEASED_UNET_ATTACK.options["placement"] == "released"
    assert "target_scale" not in RELEASED_UNET_ATTACK.options  # the I-RIM's own departure


def _report(losses, controls):
    frame = pd.DataFrame({"fname": ["a.h5"] * 4 + ["b.h5"] * 4, "slice": list(range(4)) * 2,
                          "loss": losses, "control": controls, "control_max": controls,
                          "controls": [[c] for c in controls], "recovery": 0.5,
                          "information": 1.0, "information_mse": 1.0, "ceiling": 1.0,
                          "acquisition": "CORPD_FBK"})
    return AttackReport(frame, 0.25, 1e-4)


def test_the_effects_compare_the_two_rules_slice_by_slice():
    paper = _report([0.1] * 8, [0.0] * 8)
    released = _report([0.3] * 8, [0.3] * 4 + [0.0] * 4)
    same = _report([0.1] * 8, [0.0] * 8)
    departures = {"x": Departure("x", "unet", "rule a", "rule b"),
                  "y": Departure("y", "irim", "rule a", "rule a too")}
    table = departure_effects({"x": (paper, released), "y": (paper, same)}, departures)
    assert table.index.tolist() == [("x", "paper"), ("x", "released"), ("y", "paper"),
                                    ("y", "released")]
    assert table.loc[("x", "released"), "hits only here"] == 8
    assert table.loc[("x", "paper"), "hits only here"] == 0
    assert table.loc[("x", "released"), "McNemar p"] == "0.0078"  # 2 × 0.5⁸
    assert table.loc[("x", "released"), "effect"] == "raises"
    assert table.loc[("x", "released"), "attack rate (%)"].startswith("100.0 [")
    assert table.loc[("x", "released"), "control (%)"].startswith("50.0 [")
    assert table.loc[("y", "released"), "effect"] == "no change shown"
    assert table.loc[("y", "paper"), "model"] == "I-RIM"
    assert rules(departures).loc["x", "released code"] == "rule b"
    with pytest.raises(ValueError, match="different slices"):
        departure_effects({"x": (paper, AttackReport(released.slices.iloc[1:], 0.25, 1e-4))},
                          departures)


def test_each_training_departure_is_compared_with_the_papers_objective(tmp_path, monkeypatch):
    from fnaf.studies.released_code import TRAINING_DEPARTURES, training_effects, training_view

    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    table = training_effects("smoke", attack=AttackConfig(n_candidates=2, border=1),
                             runs_root=tmp_path / "runs", departures=TRAINING_DEPARTURES[:1])
    assert table[["departure", "AF"]].values.tolist() == [["training term", "4×"],
                                                          ["training term", "8×"]]
    row = table.iloc[0]
    assert row["ΔSSIM"] == pytest.approx(row["SSIM"] - row["SSIM, paper"])
    # the paper's objective and the released one, fine-tuned from the one baseline
    assert sorted(path.name.split("-4-8x-")[0] for path in (tmp_path / "runs").iterdir()) == [
        "unet-clean", "unet-fnaf-ft", "unet-fnaf-ft"]
    assert training_view(table).index.tolist() == [("training term", "4×"),
                                                   ("training term", "8×")]


def test_the_committed_training_measurement_covers_every_departure_at_both_accelerations():
    from fnaf.studies.released_code import TRAINING_DEPARTURES
    from fnaf.sweeps import load_measurement

    table = load_measurement("released_training")
    assert table[["departure", "AF"]].values.tolist() == [
        [d.name, af] for d in TRAINING_DEPARTURES for af in ("4×", "8×")]
    assert table["git_commit"].nunique() == 1 and not table["git_commit"].iloc[0].endswith(
        "dirty")


def test_every_attack_is_checked_against_its_models_data_before_training(tmp_path,
                                                                         monkeypatch):
    from dataclasses import replace

    from fnaf.runs import preset
    from fnaf.studies.released_code import Departure, check_attacks

    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("fnaf.runs.cache.fit", lambda *a, **k: pytest.fail("trained anyway"))
    configs = {name: preset("smoke", name, 4) for name in ("unet", "irim")}
    paper = AttackConfig(n_candidates=2)
    departures = {"wide": Departure("wide", "irim", "small", "large")}
    check_attacks(configs, paper, {"wide": replace(paper, n_pixels=10)}, departures)
    with pytest.raises(ValueError, match=r"the attack on irim-clean-.*: n_pixels 500 \(500 "
                                         r"pixels on the 32x32 target grid\) does not fit"):
        check_attacks(configs, paper, {"wide": replace(paper, n_pixels=500)}, departures)
    with pytest.raises(ValueError, match=r"the attack on unet-clean-.*: n_pixels 400"):
        check_attacks(configs, replace(paper, n_pixels=400), {}, departures)
