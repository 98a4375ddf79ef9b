"""Chapters 07-08's reading of measurement attacks: the curves' intervals hold their means, the
attack is read against its control and one model against another on the same slices, and each
verdict can come out either way."""

import numpy as np
import pandas as pd
import pytest

from fnaf.studies.measurement_attacks import (
    attack_versus_control,
    control_view,
    curves,
    drops,
    pgd_curve_view,
    robustness_comparison,
    robustness_view,
    shared_largest_eps,
    similarity_sentence,
    smallest_p,
    vulnerability_sentence,
)

EPS = (0.01, 0.05)


def pgd_rows(attack_drop: dict[str, float], control_drop: float = 0.0, volumes: int = 8,
             slices: int = 3, seed: int = 0) -> pd.DataFrame:
    """Rows as :func:`fnaf.attacks.measurement.pgd_dataset` writes them, with a ``model``
    column: per model the attack lowers each slice's SSIM by ``attack_drop[model] * eps / 0.05``
    (plus small noise), the control by ``control_drop``."""
    rng = np.random.default_rng(seed)
    rows = []
    for model, drop in attack_drop.items():
        for volume in range(volumes):
            for index in range(slices):
                clean = 0.8 + 0.05 * rng.standard_normal()
                for eps in EPS:
                    for kind, cost in (("attack", drop * eps / 0.05), ("control", control_drop)):
                        rows.append({"model": model, "eps": eps, "kind": kind,
                                     "fname": f"file{volume}.h5", "slice": index,
                                     "clean SSIM": clean,
                                     "SSIM": clean - cost + 0.002 * rng.standard_normal()})
    return pd.DataFrame(rows)


def test_curves_hold_each_mean_inside_its_interval_with_the_clean_point_at_zero():
    frame = pgd_rows({"U-Net": 0.2})
    table = curves(frame)
    assert set(table.kind) == {"clean", "attack", "control"}
    clean = table[table.kind == "clean"]
    assert clean.eps.tolist() == [0.0] and clean.slices.item() == 24
    assert (table["SSIM low"] <= table.SSIM).all() and (table.SSIM <= table["SSIM high"]).all()
    attacked = table[(table.kind == "attack")].set_index("eps").SSIM
    assert attacked[0.05] < attacked[0.01] < clean.SSIM.item()
    expected = frame[(frame.kind == "attack") & (frame.eps == 0.05)].SSIM.mean()
    assert attacked[0.05] == pytest.approx(expected)


def test_the_attack_is_shown_only_where_it_hurts_more_than_its_control():
    frame = pd.concat([pgd_rows({"U-Net": 0.2}), pgd_rows({"l1": 0.0}, seed=1)])
    versus = attack_versus_control(frame).set_index(["model", "eps"])
    assert versus.loc[("U-Net", 0.05), "shown"] and versus.loc[("U-Net", 0.01), "shown"]
    assert not versus.loc[("l1", 0.05), "shown"]
    assert versus.loc[("U-Net", 0.05), "median difference"] < 0
    sentence = vulnerability_sentence(versus.reset_index())
    assert "U-Net: at every ε" in sentence and "l1: at no ε" in sentence
    view = control_view(versus.reset_index())
    assert set(view.shown) == {"yes", "no"}


def test_an_attack_shown_at_the_larger_eps_only_is_said_so():
    frame = pgd_rows({"U-Net": 0.2})
    frame.loc[(frame.eps == 0.01) & (frame.kind == "attack"), "SSIM"] = frame.loc[
        (frame.eps == 0.01) & (frame.kind == "control"), "SSIM"].to_numpy()
    versus = attack_versus_control(frame)
    assert "U-Net: at ε ≥ 0.05 only" in vulnerability_sentence(versus)


def test_a_model_is_more_robust_only_where_its_drop_is_smaller_on_the_same_slices():
    frame = pgd_rows({"U-Net": 0.2, "FNAF U-Net": 0.05, "twin": 0.2})
    per_slice = drops(frame)
    assert per_slice["drop"].gt(0).all()
    compared = robustness_comparison(frame, {"FNAF U-Net": "U-Net", "U-Net": "FNAF U-Net"})
    reading = compared.set_index(["model", "eps"]).direction
    assert reading["FNAF U-Net", 0.05] == "more robust"
    assert reading["U-Net", 0.05] == "less robust"
    same = robustness_comparison(frame, {"twin": "U-Net"}).set_index("eps")
    assert (same.direction == "not shown").all()
    assert (same["drop low"] <= same["drop"]).all() and (same["drop"] <= same["drop high"]).all()
    assert same["difference"].abs().max() < 0.01  # the twin drops as much as the U-Net
    row = compared.set_index(["model", "eps"]).loc[("FNAF U-Net", 0.05)]
    assert row["difference"] == pytest.approx(row["drop"] - row["reference drop"])
    assert row["difference low"] <= row["difference"] <= row["difference high"] < 0
    assert row["volumes"] == frame.fname.nunique()
    assert list(robustness_view(compared).columns)[:3] == ["model", "reference", "ε"]
    sentence = similarity_sentence(same[same.index == 0.05].reset_index(), margin=0.05)
    assert sentence.startswith("Margin ±0.05 SSIM: twin against U-Net: Δ drop")
    assert "similar (the interval inside the margin)" in sentence
    beyond = similarity_sentence(compared[compared.model == "U-Net"], margin=0.01)
    assert "not similar (the interval beyond the margin)" in beyond


def test_methods_are_compared_at_the_largest_eps_every_one_was_attacked_at():
    frame = pgd_rows({"U-Net": 0.2, "l1": 0.1})
    frame = frame[~((frame.model == "l1") & (frame.eps == frame.eps.max()))]
    assert shared_largest_eps(frame) == sorted(frame.eps[frame.kind == "attack"].unique())[-2]


def test_the_curve_view_has_one_row_per_model_and_eps_and_one_column_per_kind():
    table = curves(pgd_rows({"U-Net": 0.2, "VarNet": 0.1}))
    view = pgd_curve_view(table)
    assert view.shape == (2 * (1 + len(EPS)), 3)
    assert list(view.index.get_level_values("model").unique()) == ["U-Net", "VarNet"]
    assert view.loc[("U-Net", "0"), "attack"] == "–"  # the clean point has no attack


def test_a_model_attacked_at_one_eps_is_not_said_to_fail_at_every_eps():
    frame = pgd_rows({"U-Net": 0.2})
    versus = attack_versus_control(frame[frame.eps == 0.05])
    sentence = vulnerability_sentence(versus)
    assert "U-Net: at its one attacked ε (0.05)" in sentence and "every ε" not in sentence


def test_the_smallest_attainable_p_is_said_where_it_is_reached():
    assert smallest_p(8) == pytest.approx(0.0078125)
    frame = pgd_rows({"U-Net": 0.2})
    versus = attack_versus_control(frame)
    pairs = int(versus.pairs.iloc[0])
    assert versus.p.min() == pytest.approx(smallest_p(pairs))  # every slice moved down
    assert f"On {pairs} slices the smallest p" in vulnerability_sentence(versus)
    noisy = attack_versus_control(pgd_rows({"l1": 0.0}, seed=1))
    assert "smallest p" not in vulnerability_sentence(noisy)
