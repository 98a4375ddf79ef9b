"""Classifier scores against hand-computed confusion matrices, their volume-bootstrap
intervals, and the paper's confidence analysis."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fnaf.classifier_scores import FULLY_SAMPLED, point_metrics, weighted_metrics
from fnaf.studies.classification import (
    against_fully_sampled,
    classification_metrics,
    classification_sentences,
    classification_table,
    classification_view,
    comparisons,
    comparisons_view,
    confidence_drop,
    decision_test,
    strategy_comparison,
)


def test_metrics_match_a_hand_computed_confusion_matrix():
    labels = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    probabilities = [0.9, 0.8, 0.6, 0.2, 0.7, 0.1, 0.2, 0.3, 0.4, 0.1]
    # tp 3, fn 1, fp 1, tn 5
    scores = point_metrics(labels, probabilities)
    assert scores["Sn"] == pytest.approx(75.0) and scores["Sp"] == pytest.approx(500 / 6)
    precision, recall = 3 / 4, 3 / 4
    assert scores["F1"] == pytest.approx(100 * 2 * precision * recall / (precision + recall))
    observed, expected = 8 / 10, (4 * 4 + 6 * 6) / 100  # κ = (p_o - p_e) / (1 - p_e)
    assert scores["Kappa"] == pytest.approx(100 * (observed - expected) / (1 - expected))
    # AUROC: the share of (abnormal, normal) pairs ranked correctly, ties counting one half
    pairs = [(a, b) for a, la in zip(probabilities, labels) if la
             for b, lb in zip(probabilities, labels) if not lb]
    assert scores["AUROC"] == pytest.approx(100 * np.mean([(a > b) + 0.5 * (a == b)
                                                           for a, b in pairs]))


def test_intervals_resample_volumes_and_hold_the_estimate():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 400)
    probabilities = np.clip(labels * 0.3 + rng.random(400) * 0.7, 0, 1)
    volumes = np.repeat(np.arange(20), 20)
    table = classification_metrics(labels, probabilities, volumes, resamples=200, seed=1)
    assert list(table.index) == ["Sn", "Sp", "F1", "Kappa", "AUROC"]
    assert ((table["low"] <= table["value"]) & (table["value"] <= table["high"])).all()
    again = classification_metrics(labels, probabilities, volumes, resamples=200, seed=1)
    assert table.equals(again)
    with pytest.raises(ValueError, match="one entry per patch"):
        classification_metrics(labels, probabilities[:-1], volumes)


def test_the_confidence_analysis_counts_false_negatives_called_normal_less_confidently():
    labels = [1, 1, 1, 0, 1, 1]
    baseline = [0.4, 0.3, 0.9, 0.2, 0.45, 0.1]  # false negatives: patches 0, 1, 4 and 5
    robust = [0.3, 0.6, 0.1, 0.1, 0.2, 0.35]  # 1 is fixed; of 0, 4, 5 still missed, 5 rises
    # (less confident, missed on both, fixed): the fixed patch 1 is not "called normal less
    # confidently" (counting it gave 2 of 4)
    assert confidence_drop(labels, baseline, robust) == (1, 3, 1)


def test_mcnemar_compares_which_patches_each_reconstruction_gets_right():
    labels = [1, 1, 1, 0, 0, 1]
    baseline = [0.9, 0.2, 0.3, 0.1, 0.8, 0.7]  # right: 0, 3, 5
    robust = [0.9, 0.8, 0.6, 0.7, 0.2, 0.7]  # right: 0, 1, 2, 4, 5
    result = decision_test(labels, baseline, robust, ["a", "a", "b", "b", "c", "c"])
    assert result["baseline only"] == 1 and result["robust only"] == 3
    assert result["p"] == pytest.approx(0.625)  # two-sided binomial, 1 of 4 discordant
    # by volume: a +1/2, b 0 (patch 2 fixed, patch 3 lost), c +1/2; 3 volumes: not tested
    assert result["volumes"] == 3 and result["rate difference"] == pytest.approx(2 / 6)
    assert np.isnan(result["p volumes"])


def test_the_decisions_are_tested_over_volumes_not_patches():
    """Eight volumes of 20 abnormal patches: on one volume the robust reconstruction turns all
    20 from wrong to right, on each of the other seven it loses one. McNemar on patches sees
    20 against 7 (p < 0.05); over volumes one gain against seven small losses is no change."""
    volumes = np.repeat(np.arange(8), 20)
    labels = np.ones(160)
    baseline, robust = np.full(160, 0.9), np.full(160, 0.9)
    baseline[:20] = 0.1  # volume 0: wrong on the baseline, right on the robust
    robust[20::20] = 0.1  # volumes 1-7: one patch lost each
    result = decision_test(labels, baseline, robust, volumes)
    assert (result["robust only"], result["baseline only"]) == (20, 7)
    assert result["p"] == pytest.approx(stats.binomtest(20, 27).pvalue) and result["p"] < 0.05
    assert result["p volumes"] == pytest.approx(stats.wilcoxon([1.0] + [-0.05] * 7).pvalue)
    assert result["p volumes"] > 0.05 and result["volumes"] == 8
    assert result["rate difference"] == pytest.approx(13 / 160)


def test_weighted_metrics_equal_scikit_learns_on_the_repeated_patches():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 60)
    probabilities = np.round(rng.random(60), 1)  # ties, which AUROC counts one half
    weights = rng.integers(0, 3, (4, 60))
    table = weighted_metrics(labels, probabilities, weights)
    for row, counts in zip(table.to_dict("records"), weights):
        repeated = np.repeat(np.arange(60), counts)
        expected = point_metrics(labels[repeated], probabilities[repeated])
        assert row == pytest.approx(expected)


def test_the_classification_table_puts_ours_with_its_interval_beside_the_papers():
    metrics = pd.DataFrame({"value": [90.0, 60.0, 80.0, 50.0, 85.0],
                            "low": [85.0, 55.0, 75.0, 40.0, 80.0],
                            "high": [95.0, 65.0, 85.0, 60.0, 90.0]},
                           index=["Sn", "Sp", "F1", "Kappa", "AUROC"])
    table = classification_table({("U-Net", 8): metrics, ("mine", 8): metrics}, 32)
    assert table.loc[("8×", "U-Net"), "paper Sn"] == 85.3  # Table 5, 8x
    assert np.isnan(table.loc[("8×", "mine"), "paper Sn"])
    view = classification_view(table).data
    assert view.loc[("8×", "U-Net", "ours"), "Sn"] == "90.0<br><small>[85.0, 95.0]</small>"
    assert view.loc[("8×", "U-Net", "paper"), "Kappa"] == "54.26"
    assert view.loc[("8×", "mine", "paper"), "AUROC"] == "–"


def test_the_drop_against_fully_sampled_pairs_both_inputs_on_the_same_volume_resamples():
    """A reconstruction that flips one abnormal patch per volume to normal loses F1 in every
    resample: its paired interval lies below zero, while two unpaired intervals overlap."""
    rng = np.random.default_rng(0)
    volumes = np.repeat(np.arange(12), 30)
    labels = np.tile(np.r_[np.ones(10), np.zeros(20)], 12).astype(int)
    full = labels * 0.25 + rng.random(len(labels)) * 0.6 + 0.05  # some errors per volume
    worse = full.copy()
    worse[np.arange(12) * 30] = 0.01  # the first abnormal patch of each volume, missed
    table = against_fully_sampled(labels, {(FULLY_SAMPLED, 4): full, ("U-Net", 4): worse,
                                           ("Same", 4): full.copy()}, volumes)
    row = table.loc[("4×", "U-Net")]
    expected = point_metrics(labels, worse)["F1"] - point_metrics(labels, full)["F1"]
    assert row["Δ F1"] == pytest.approx(expected) and row["Δ F1 high"] < 0
    assert row["volumes"] == 12 and list(table.index.get_level_values("input")) == ["U-Net",
                                                                                      "Same"]
    assert (table.loc[("4×", "Same"), ["Δ F1", "Δ F1 low", "Δ F1 high", "Δ Kappa"]] == 0).all()
    unpaired = [classification_metrics(labels, scores, volumes, seed=seed)
                .loc["F1"] for scores, seed in ((full, 0), (worse, 1))]
    assert unpaired[1]["high"] > unpaired[0]["low"]  # the overlap the pairing removes
    inputs = {(FULLY_SAMPLED, 4): full, ("U-Net", 4): worse, ("Same", 4): full.copy()}
    metrics = {key: classification_metrics(labels, scores, volumes, resamples=50)
               for key, scores in inputs.items()}
    sentences = classification_sentences(classification_table(metrics, 32), pd.DataFrame(), 32,
                                         table)
    assert sentences[0].startswith("4×: the F1 on 1 of 2 reconstructions lies below")
    assert "on 0 above" in sentences[0]


def test_the_strategies_are_compared_with_the_head_only_one_on_the_same_patches():
    rng = np.random.default_rng(1)
    volumes = np.repeat(np.arange(10), 40)
    labels = np.tile(np.r_[np.ones(15), np.zeros(25)], 10).astype(int)
    head = labels * 0.4 + rng.random(len(labels)) * 0.55
    scores = {"head": head, "all": 1 - head, "scratch": head.copy()}
    table = strategy_comparison(labels, scores, volumes, "ImageNet", seed=2)
    assert list(table.index) == ["head", "all", "scratch"]
    assert table.loc["head", "AUROC"] == pytest.approx(point_metrics(labels, head)["AUROC"])
    assert table.loc["all", "AUROC"] == pytest.approx(100 - table.loc["head", "AUROC"])
    assert table.loc["all", "Δ AUROC high"] < 0 and pd.isna(table.loc["head", "Δ AUROC"])
    assert table.loc["scratch", ["Δ AUROC", "Δ F1", "Δ F1 low", "Δ F1 high"]].eq(0).all()
    assert (table["features"] == "ImageNet").all() and (table["volumes"] == 10).all()
    assert (table["AUROC low"] <= table["AUROC"]).all()


def test_the_less_confident_share_resamples_the_volumes_of_the_missed_patches():
    """All 40 abnormal patches missed on both; the robust model is less confident on every patch
    of volume a and on none of volume b: 50 %, and with two volumes the interval spans [0, 1]
    (Wilson's on 40 patches as independent would claim about [35, 65] %)."""
    labels = np.ones(40, dtype=int)
    volumes = np.repeat(["a", "b"], 20)
    baseline = np.full(40, 0.1)
    robust = np.where(volumes == "a", 0.2, 0.05)
    table = comparisons(labels, {("U-Net", 4): baseline, ("FNAF U-Net", 4): robust},
                        {"FNAF U-Net": "U-Net"}, volumes)
    row = table.loc[("4×", "FNAF U-Net")]
    assert row["share"] == 0.5 and row["missed on both"] == 40 and row["fixed"] == 0
    assert (row["share low"], row["share high"], row["share volumes"]) == (0.0, 1.0, 2)
    shown = comparisons_view(table)
    assert shown.index.tolist() == [("4×", "FNAF U-Net vs U-Net")]
    assert shown.iloc[0]["right only on baseline / robust (patches)"] == "0 / 0"
    assert shown.iloc[0]["less confident / still missed"] == "20 / 40"
