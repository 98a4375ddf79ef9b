"""The paper's tables as this package builds them: per-acceleration stacking, the paired
comparison with the zero-filled input, and the display strings."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fnaf.formatting import mean_std_strings, p_string
from fnaf.tables import (
    attack_comparison_view,
    by_acceleration,
    information_view,
    separation,
    table3,
    versus_zero_filled,
)


def volumes(nmse, psnr, ssim, names=None):
    names = names or [f"file{i}.h5" for i in range(len(nmse))]
    return pd.DataFrame({"fname": names, "NMSE": nmse, "PSNR": psnr, "SSIM": ssim})


def test_a_model_beats_zero_filled_only_when_the_paired_test_says_so():
    rng = np.random.default_rng(0)
    zero = volumes(rng.uniform(0.05, 0.1, 8), rng.uniform(20, 25, 8), rng.uniform(0.5, 0.6, 8))
    better = volumes(zero["NMSE"] * 0.8, zero["PSNR"] + 1, zero["SSIM"] + 0.05)
    # the same mean improvement carried by one volume, the others worse: no claim
    mixed = volumes(zero["NMSE"] + [-0.2, *[0.001] * 7], zero["PSNR"] - 0.1, zero["SSIM"])
    result = versus_zero_filled({"zero-filled": zero, "good": better, "mixed": mixed})
    assert result.loc["good", ["NMSE beats", "PSNR beats", "SSIM beats"]].all()
    assert result.loc["good", "NMSE p"] == pytest.approx(
        stats.wilcoxon(better["NMSE"], zero["NMSE"]).pvalue)
    assert result.loc["good", "NMSE difference"] == pytest.approx(
        (better["NMSE"] - zero["NMSE"]).mean())
    assert not result.loc["mixed", ["NMSE beats", "PSNR beats", "SSIM beats"]].any()


def test_volumes_are_paired_by_name_and_must_match():
    zero = volumes([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [20] * 6, [0.5] * 6)
    shuffled = zero.iloc[::-1].assign(NMSE=lambda f: f["NMSE"] * 0.9)
    assert versus_zero_filled({"zero-filled": zero, "m": shuffled}).loc["m", "NMSE beats"]
    other = zero.assign(fname=[f"other{i}.h5" for i in range(6)])
    with pytest.raises(ValueError, match="other volumes"):
        versus_zero_filled({"zero-filled": zero, "m": other})


def test_tables_stack_by_acceleration_with_the_papers_rows():
    frame = volumes([0.1, 0.2], [20, 22], [0.5, 0.6])
    table = by_acceleration({a: table3({"zero-filled": frame, "U-Net": frame}, a)
                             for a in (4, 8)})
    assert table.index.names == ["AF", "model"]
    assert table.loc[("8×", "U-Net"), "paper SSIM"] == 0.6548
    assert table.loc[("4×", "U-Net"), "NMSE std"] == pytest.approx(np.std([0.1, 0.2], ddof=1))
    shown = mean_std_strings(table)
    assert table.loc[("4×", "U-Net"), "NMSE low"] <= 0.15 <= table.loc[("4×", "U-Net"), "NMSE high"]
    # the mean, its 95 % bootstrap interval over the two volumes, and fastMRI's ± 2σ
    assert shown.loc[("4×", "U-Net"), "NMSE [95 % CI] (± 2σ)"] == "0.1500 [0.1000, 0.2000] ± 0.1414"
    assert shown.loc[("4×", "zero-filled"), "paper NMSE (± as printed)"] == "–"


def summary(rate, low, high, **extra):
    """A hand-made attack summary: every rate and mean the same, with its interval."""
    keys = ("attack_rate", "nmse", "control_max_rate", "control_nmse", "acceptance_rate")
    values = {key + suffix: value for key in keys
              for suffix, value in (("", rate), ("_low", low), ("_high", high))}
    return {**values, **extra}


def test_intervals_separate_only_when_they_do_not_overlap():
    high, low, middle = summary(0.5, 0.4, 0.6), summary(0.2, 0.1, 0.3), summary(0.35, 0.25, 0.45)
    assert separation(high, low, "attack_rate") == "above"
    assert separation(low, high, "attack_rate") == "below"
    assert separation(middle, low, "attack_rate") == "overlapping"


def test_comparison_and_information_views_show_intervals_and_the_paper():
    view = attack_comparison_view({("U-Net 8×", "random search"): summary(0.3, 0.2, 0.41)})
    assert view.loc[("U-Net 8×", "random search"), "attack rate (%)"] == "30.0 [20.0, 41.0]"
    assert view.loc[("U-Net 8×", "random search"), "NMSE"] == "0.300 [0.200, 0.410]"
    correlations = {f"{name}_{part}": value for name in ("ip_pearson", "ip_mse_pearson")
                    for part, value in (("r", -0.2), ("r_low", -0.4), ("r_high", 0.01),
                                        ("p", 0.0))}
    shown = information_view({"U-Net 4×": summary(0.99, 0.95, 1.0, **correlations)})
    row = shown.loc["U-Net 4×"]
    assert row["acceptance rate (%)"] == "99.0 [95.0, 100.0]"
    assert row["r, relative D"] == "-0.20 [-0.40, 0.01]" and row["p (relative D)"] == "< 1e-06"
    assert row["paper r"] == "-0.14" and row["paper acceptance"] == ">99%"
    assert p_string(0.01234) == "0.012" and p_string(float("nan")) == "–"


def test_the_quality_table_takes_the_zero_filled_input_once_and_every_label_per_acceleration():
    from fnaf.evaluation import Evaluation
    from fnaf.tables import quality_table

    zero, model = volumes([0.1, 0.2], [20, 21], [0.5, 0.6]), volumes([0.05, 0.1], [25, 26],
                                                                      [0.7, 0.8])
    evaluations = {(label, a): Evaluation(model, zero, 0.0) for a in (4, 8)
                   for label in ("U-Net", "FNAF U-Net")}
    table = quality_table(evaluations)
    assert table.index.tolist() == [(af, name) for af in ("4×", "8×")
                                    for name in ("zero-filled", "U-Net", "FNAF U-Net")]
    assert table.loc[("8×", "zero-filled"), "NMSE"] == pytest.approx(0.15)
    assert table.loc[("4×", "FNAF U-Net"), "SSIM"] == pytest.approx(0.75)
