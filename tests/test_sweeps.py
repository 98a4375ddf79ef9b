"""The β sweep measures every fine-tune against the clean one; the rule picks from the table."""

import pandas as pd
import pytest

from fnaf.runs import DEMO_BETA, AttackConfig
from fnaf.sweeps import (
    beta_sweep,
    choice_sentence,
    load_sweep,
    seed_spread,
    select_beta,
    spread_sentence,
    spread_view,
    sweep_view,
)


def test_a_sweep_compares_each_fine_tune_with_the_clean_one(tmp_path, monkeypatch):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    table = beta_sweep([2.0], scale="smoke", attack=AttackConfig(n_candidates=2, border=1),
                       runs_root=tmp_path / "runs", progress=False)
    assert table[["objective", "accel"]].values.tolist() == [
        ["clean", 4], ["clean", 8], ["fnaf", 4], ["fnaf", 8], ["bbox", 4], ["bbox", 8]]
    clean = table[table["objective"] == "clean"]
    assert (clean["ΔSSIM"] == 0).all() and (clean["Δbox NMSE"] == 0).all()
    robust = table[table["objective"] != "clean"].set_index(["objective", "accel"])
    reference = clean.set_index("accel")
    for (objective, accel), row in robust.iterrows():
        assert row["ΔSSIM"] == pytest.approx(row["SSIM"] - reference.loc[accel, "SSIM"])
        assert row["attack rate low"] <= row["attack rate (%)"] <= row["attack rate high"]
    # one run per objective and β, trained on both accelerations' masks
    assert len(list((tmp_path / "runs").glob("unet-*-ft-4-8x-smoke-*"))) == 3


def sweep(rows):
    return pd.DataFrame(rows, columns=["objective", "beta", "accel", "ΔSSIM", "attack rate (%)",
                                       "box NMSE"])


def test_the_rule_picks_the_best_beta_that_keeps_the_image_quality():
    table = sweep([
        ["fnaf", 0.3, 4, -0.002, 20.0, 0.1], ["fnaf", 0.3, 8, -0.004, 30.0, 0.1],
        ["fnaf", 1.0, 4, -0.008, 5.0, 0.1], ["fnaf", 1.0, 8, -0.009, 10.0, 0.1],
        ["fnaf", 3.0, 4, -0.005, 0.0, 0.1], ["fnaf", 3.0, 8, -0.030, 0.0, 0.1],  # SSIM lost
        ["bbox", 0.3, 4, 0.0, 50.0, 0.20], ["bbox", 0.3, 8, 0.0, 50.0, 0.30],
        ["bbox", 1.0, 4, 0.0, 50.0, 0.25], ["bbox", 1.0, 8, 0.0, 50.0, 0.25],
    ])
    assert select_beta(table, "fnaf") == 1.0
    assert select_beta(table, "bbox") == 0.3  # a tie on the mean: the smaller β
    assert select_beta(table, "fnaf", max_ssim_drop=0.05) == 3.0
    with pytest.raises(ValueError, match="no fnaf β keeps the SSIM within 0.001"):
        select_beta(table, "fnaf", max_ssim_drop=0.001)


def test_the_sweep_view_and_the_sentence_say_what_the_rule_picked():
    table = sweep([
        ["clean", float("nan"), 4, 0.0, 30.0, 0.2], ["clean", float("nan"), 8, 0.0, 40.0, 0.3],
        ["fnaf", 0.3, 4, -0.002, 20.0, 0.1], ["fnaf", 0.3, 8, -0.004, 30.0, 0.1],
        ["fnaf", 1.0, 4, -0.008, 5.0, 0.1], ["fnaf", 1.0, 8, -0.009, 10.0, 0.1],
    ]).assign(**{"attack rate low": 1.0, "attack rate high": 50.0, "git_commit": "abc1234"})
    view = sweep_view(table, "fnaf")
    assert view.index.tolist() == [("clean", "–"), ("fnaf", "0.3"), ("fnaf", "1")]
    assert view.loc[("fnaf", "1"), "attack rate (%) 8×"] == "10.0 [1.0, 50.0]"
    assert view.loc[("fnaf", "0.3"), "ΔSSIM 4×"] == "-0.0020"
    assert choice_sentence(table, "fnaf", 1.0) == (
        "fnaf: the rule picks β = 1 (the preset's β); measured on the validation volumes judged "
        "here: the choice is tuned on what it is judged by, at commit abc1234 by "
        "tools/beta_sweep.py")
    assert "not the preset's 0.5" in choice_sentence(table, "fnaf", 0.5)
    held_out = choice_sentence(table.assign(split="held-out"), "fnaf", 1.0)
    assert "measured on held-out volumes (the phantom drawn with another seed)" in held_out


def test_the_demo_preset_uses_the_beta_the_rule_picks_from_the_committed_sweep():
    measured = load_sweep("unet")
    assert {objective: select_beta(measured, objective) for objective in DEMO_BETA} == DEMO_BETA


def test_the_seed_spread_varies_the_training_seed_and_the_attack_seed_apart(tmp_path, monkeypatch):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    table = seed_spread([0, 1], [0, 5], scale="smoke", accel=4, runs_root=tmp_path / "runs",
                        attack=AttackConfig(n_candidates=2, border=1))
    assert table[["varied", "seed", "accel"]].values.tolist() == [
        ["training", 0, 4], ["training", 1, 4], ["attack", 0, 4], ["attack", 5, 4]]
    assert len(list((tmp_path / "runs").glob("unet-*"))) == 2  # attack seeds reuse seed 0's run
    by_row = table.set_index(["varied", "seed"])
    # the same run and attack seed is the same measurement, whichever way it was reached
    assert by_row.loc[("training", 0)].equals(by_row.loc[("attack", 0)])
    assert by_row.loc[("attack", 0), "SSIM"] == by_row.loc[("attack", 5), "SSIM"]
    assert (table["attack rate low"] <= table["attack rate (%)"]).all()
    view = spread_view(table)
    assert view.index.names == ["varied", "seed", "AF"] and view.index[0] == ("training", 0, "4×")
    row = table.iloc[0]
    assert view.iloc[0]["attack rate (%)"] == (f"{row['attack rate (%)']:.1f} "
                                               f"[{row['attack rate low']:.1f}, "
                                               f"{row['attack rate high']:.1f}]")


def test_the_spread_sentence_says_whether_the_seeds_agree_within_their_intervals():
    spread = pd.DataFrame({"varied": ["training"] * 2 + ["attack"] * 2, "accel": [4] * 4,
                           "attack rate (%)": [30.0, 32.0, 30.0, 50.0],
                           "attack rate low": [20.0, 22.0, 20.0, 40.0],
                           "attack rate high": [40.0, 42.0, 40.0, 60.0]})
    sentence = spread_sentence(spread)
    assert "4×, training seeds: attack rate 30.0–32.0 %, each inside" in sentence
    assert "4×, attack seeds: attack rate 30.0–50.0 %, not all inside" in sentence


def test_a_measurement_is_saved_with_the_commit_it_was_measured_at(tmp_path):
    from fnaf.sweeps import save_measurement

    path = save_measurement(pd.DataFrame({"beta": [0.5]}), "example", tmp_path)
    saved = pd.read_csv(path)
    assert path == tmp_path / "example.csv" and saved["beta"].tolist() == [0.5]
    assert saved["git_commit"].iloc[0] not in ("", None)
