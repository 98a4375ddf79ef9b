"""Chapter 05, the classifier (the FNAF paper's Tables 5-6 and §4.3): does robust training help
a classifier find the abnormalities on the reconstructions?

* :func:`classification_metrics` — Sn, Sp, F1, Cohen's κ and AUROC (%) of one input's patches,
  each with a 95 % percentile bootstrap interval that resamples whole volumes (patches of one
  volume are not independent; seeded), all resamples at once
  (:func:`fnaf.classifier_scores.weighted_metrics`).
* :func:`confidence_drop`, :func:`decision_test`, :func:`comparisons` — §4.3: among the
  baseline's false negatives the robust reconstruction still misses, the share called normal
  less confidently (those it fixes counted apart), and the two reconstructions' decisions
  compared with the volume as the unit (:func:`fnaf.stats.volume_hits_test`), McNemar's exact
  test on patches beside it (secondary).
* :func:`against_fully_sampled` (the expected drop) and :func:`strategy_comparison` (the
  three training strategies), both paired over volume resamples (:func:`metric_differences`).
* :func:`classification_table`, :func:`classification_view`, :func:`comparisons_view`,
  :func:`classification_sentences`, :func:`patch_rows` — the chapter's tables beside the paper's
  and its computed conclusion; :func:`roc_figure`, :func:`patch_examples` — its figures
  (:func:`example_rows`: the patches the latter shows).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fnaf.classifier_scores import (
    CLASSIFICATION_METRICS,
    FULLY_SAMPLED,
    point_metrics,
    weighted_metrics,
)
from fnaf.formatting import interval_strings, p_string
from fnaf.paper import PAPER_LESS_CONFIDENT, paper_table
from fnaf.stats import cluster_bootstrap_mean, mcnemar_exact, volume_hits_test


def classification_metrics(labels, probabilities, volumes, *, resamples: int = 1000,
                           seed: int = 0, confidence: float = 0.95) -> pd.DataFrame:
    """One row per metric (:data:`CLASSIFICATION_METRICS`): ``value`` (scikit-learn's,
    :func:`point_metrics`), ``low`` and ``high``, the percentile interval from resampling
    ``volumes`` (each patch's volume) with replacement (:func:`weighted_metrics`)."""
    labels, probabilities, volumes = (np.asarray(a) for a in (labels, probabilities, volumes))
    if not len(labels) == len(probabilities) == len(volumes):
        raise ValueError("labels, probabilities and volumes must have one entry per patch")
    draws = weighted_metrics(labels, probabilities, volume_resamples(volumes, resamples, seed))
    tail = (1 - confidence) / 2
    return pd.DataFrame({"value": pd.Series(point_metrics(labels, probabilities)),
                         "low": draws.quantile(tail), "high": draws.quantile(1 - tail)}
                        ).loc[list(CLASSIFICATION_METRICS)]


def volume_resamples(volumes, resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """``(resamples, N)`` patch weights: each row draws the volumes (``volumes``: each patch's)
    with replacement and counts every patch as often as its volume was drawn (seeded: the same
    ``volumes`` and ``seed`` give the same draws, so two inputs' metrics pair)."""
    names, index = np.unique(np.asarray(volumes), return_inverse=True)
    drawn = np.random.default_rng(seed).integers(0, len(names), (resamples, len(names)))
    counts = np.stack([np.bincount(row, minlength=len(names)) for row in drawn])
    return counts[:, index]


def metric_differences(labels, scores: dict[str, np.ndarray], reference, volumes, *,
                       metrics: tuple[str, ...] = ("F1", "Kappa"), resamples: int = 1000,
                       seed: int = 0, confidence: float = 0.95) -> pd.DataFrame:
    """Each input's ``metrics`` (%) minus ``reference``'s on the same patches, with a paired
    95 % percentile interval: both are scored on each volume resample
    (:func:`volume_resamples`). ``scores``: input -> abnormal-class probabilities. Rows per
    input; columns ``Δ F1``, ``Δ F1 low``, ``Δ F1 high``, ... and ``volumes``."""
    labels, volumes = np.asarray(labels), np.asarray(volumes)
    weights = volume_resamples(volumes, resamples, seed)
    base, base_draws = (pd.Series(point_metrics(labels, reference)),
                        weighted_metrics(labels, reference, weights))
    tail = (1 - confidence) / 2
    rows = {}
    for name, probabilities in scores.items():
        point = pd.Series(point_metrics(labels, probabilities)) - base
        draws = weighted_metrics(labels, probabilities, weights) - base_draws
        row = {}
        for metric in metrics:
            row[f"Δ {metric}"] = point[metric]
            row[f"Δ {metric} low"], row[f"Δ {metric} high"] = draws[metric].quantile(
                [tail, 1 - tail])
        rows[name] = {**row, "volumes": len(np.unique(volumes))}
    return pd.DataFrame(rows).T


def against_fully_sampled(labels, probabilities: dict[tuple[str, int], np.ndarray], volumes, *,
                          seed: int = 0) -> pd.DataFrame:
    """§4.3's expected drop: each reconstruction's F1 and κ minus the fully-sampled patches'
    (:func:`metric_differences`), per acceleration. ``probabilities``: ``(input, accel)`` ->
    abnormal-class probabilities, with :data:`FULLY_SAMPLED` at each acceleration. Rows
    ``(AF, input)``."""
    accels = dict.fromkeys(accel for _, accel in probabilities)
    return pd.concat({f"{accel}×": metric_differences(
        labels, {name: scores for (name, at), scores in probabilities.items()
                 if at == accel and name != FULLY_SAMPLED},
        probabilities[FULLY_SAMPLED, accel], volumes, seed=seed) for accel in accels},
        names=["AF", "input"])


def strategy_comparison(labels, scores: dict[str, np.ndarray], volumes, features: str, *,
                        seed: int = 0) -> pd.DataFrame:
    """§4.3's training strategies on the fully-sampled validation patches (``scores``:
    strategy -> probabilities, e.g. :func:`fnaf.runs.classifier.strategy_scores`): each
    strategy's AUROC and F1 with their volume intervals, and each other strategy's minus the
    head-only one's (paired, :func:`metric_differences`; the paper found head-only best) over
    ``volumes`` validation volumes.
    ``features``: ``"ImageNet"`` or ``"random"``, what the head-only strategy froze. Rows per
    strategy."""
    metrics = pd.DataFrame({name: classification_metrics(labels, probabilities, volumes,
                                                         seed=seed).loc[["AUROC", "F1"]].stack()
                            for name, probabilities in scores.items()}).T
    metrics.columns = [metric if bound == "value" else f"{metric} {bound}"
                       for metric, bound in metrics.columns]
    others = {name: probabilities for name, probabilities in scores.items() if name != "head"}
    differences = metric_differences(labels, others, scores["head"], volumes,
                                     metrics=("AUROC", "F1"), seed=seed)
    return (metrics.join(differences.drop(columns="volumes"))
            .assign(features=features, volumes=len(np.unique(volumes))).rename_axis("strategy"))


def against_fully_sampled_view(differences: pd.DataFrame) -> pd.DataFrame:
    """:func:`against_fully_sampled` for reading: each difference with its interval."""
    names = [column for column in differences if column.startswith("Δ ")
             and not column.endswith((" low", " high"))]
    shown = interval_strings(differences.astype(float), names, 1)[names]
    return shown.rename(columns={name: f"{name} (pp) [95 % CI, volumes]" for name in names})


def confidence_drop(labels, baseline, robust, threshold: float = 0.5) -> tuple[int, int, int]:
    """The paper's confidence analysis (§4.3) on the same patches: ``(less_confident,
    missed_on_both, fixed)``. Of the baseline's false negatives (abnormal patches called
    normal), ``fixed`` are called abnormal on the robust model's reconstruction and
    ``missed_on_both`` are still called normal; ``less_confident`` counts those still called
    normal *less confidently*, i.e. with a higher abnormal-class probability (the paper: 61 %
    for U-Net, 54 % for I-RIM at 32 px, read as the robust reconstruction keeping more of the
    abnormality). A fixed false negative is not "called normal less confidently": counting it
    would inflate the share."""
    less, still, fixed = confidence_masks(labels, baseline, robust, threshold)
    return int(less.sum()), int(still.sum()), int(fixed.sum())


def confidence_masks(labels, baseline, robust, threshold: float = 0.5
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The patches behind :func:`confidence_drop`: boolean ``(less_confident, missed_on_both,
    fixed)`` masks over the patches."""
    labels, baseline, robust = (np.asarray(a, dtype=float) for a in (labels, baseline, robust))
    missed = (labels == 1) & (baseline <= threshold)
    still = missed & (robust <= threshold)
    return still & (robust > baseline), still, missed & ~still


def decision_test(labels, baseline, robust, volumes, threshold: float = 0.5,
                  seed: int = 0) -> dict:
    """The classifier's correctness on the same patches from two reconstructions, with the
    volume as the unit (``volumes``: each patch's): the keys of
    :func:`fnaf.stats.volume_hits_test` (``rate difference``: the robust reconstruction's share
    of patches called right minus the baseline's, its interval resampling volumes; ``p
    volumes``: the signed-rank test over volumes), and, secondary, McNemar's exact test with
    patches taken as independent, as in the paper (patches of one volume overlap, so its ``p``
    is optimistic): ``baseline only``, ``robust only`` (the patches only one gets right)."""
    labels = np.asarray(labels) == 1
    right = [(np.asarray(side) > threshold) == labels for side in (baseline, robust)]
    only_robust, only_baseline, p = mcnemar_exact(right[1], right[0])
    return {"baseline only": only_baseline, "robust only": only_robust, "p": p,
            **volume_hits_test(right[1], right[0], volumes, seed=seed)}


def comparisons(labels, probabilities: dict[tuple[str, int], np.ndarray],
                baselines: dict[str, str], volumes, seed: int = 0) -> pd.DataFrame:
    """Each robust reconstruction against its baseline on the same patches (``volumes``: each
    patch's), per acceleration: the classifier's correctness by volume and by McNemar's test
    on patches (:func:`decision_test`) and the
    confidence analysis (:func:`confidence_drop`: the baseline's ``false negatives``, those the
    robust model ``fixed``, those ``missed on both`` and how many of these are called normal
    ``less confident``ly; the ``share`` of ``missed on both``, with a 95 % interval resampling
    the volumes of those patches, :func:`fnaf.stats.cluster_bootstrap_mean`, over ``share
    volumes`` volumes).

    ``probabilities``: ``(input, accel)`` -> abnormal-class probabilities; ``baselines``: robust
    input -> its baseline (e.g. ``{"FNAF U-Net": "U-Net"}``). Rows ``(AF, robust)``.
    """
    rows = {}
    for (robust, accel), scores in probabilities.items():
        if robust not in baselines:
            continue
        baseline = probabilities[baselines[robust], accel]
        less, still, fixed = confidence_masks(labels, baseline, scores)
        share, low, high = cluster_bootstrap_mean(less[still], np.asarray(volumes)[still],
                                                  seed=seed)
        rows[f"{accel}×", robust] = {
            "baseline": baselines[robust],
            **decision_test(labels, baseline, scores, volumes, seed=seed),
            "false negatives": int(still.sum() + fixed.sum()), "fixed": int(fixed.sum()),
            "missed on both": int(still.sum()), "less confident": int(less.sum()),
            "share": share, "share low": low, "share high": high,
            "share volumes": len(np.unique(np.asarray(volumes)[still]))}
    return pd.DataFrame(rows).T.rename_axis(["AF", "robust"])


def classification_table(metrics: dict[tuple[str, int], pd.DataFrame],
                         patch_size: int) -> pd.DataFrame:
    """Table 5 (32-px patches) or 6 (64 px): the classifier's Sn, Sp, F1, κ and AUROC (%) on
    the same patches of each input, beside the paper.

    Args:
        metrics: ``(input, accel)`` -> :func:`classification_metrics`
            (``value``/``low``/``high`` per metric); inputs are :data:`FULLY_SAMPLED` and the
            models' display names (``"U-Net"``, ``"FNAF U-Net"``, ...).
        patch_size: 32 or 64, selecting the paper's table (other sizes: no paper values).

    Returns:
        rows ``(AF, input)``; columns ``Sn``, ``Sn low``, ``Sn high``, ``paper Sn``, ...
    """
    name = {32: "table5_classification_32px", 64: "table6_classification_64px"}.get(patch_size)
    paper = paper_table(name) if name else {}
    rows = {}
    for (label, accel), frame in metrics.items():
        reported = paper.get(f"{accel}x", {}).get(label, {})
        row = {}
        for metric in CLASSIFICATION_METRICS:
            row[metric], row[f"{metric} low"], row[f"{metric} high"] = frame.loc[metric]
            row[f"paper {metric}"] = reported.get(metric, float("nan"))
        rows[f"{accel}×", label] = row
    return pd.DataFrame(rows).T.rename_axis(["AF", "input"])


def classification_view(table: pd.DataFrame, places: int = 1):
    """:func:`classification_table` for reading (a Styler): per input a row ``ours`` (the value,
    its 95 % interval on a second line) and a row ``paper``; ``–`` where a value is missing."""
    ours = interval_strings(table, list(CLASSIFICATION_METRICS), places,
                            separator="<br><small>[{}]</small>")
    rows = {}
    for key, row in table.iterrows():
        rows[(*key, "ours")] = ours.loc[key].to_dict()
        rows[(*key, "paper")] = {m: "–" if pd.isna(row[f"paper {m}"]) else
                                 f"{row[f'paper {m}']:.2f}" for m in CLASSIFICATION_METRICS}
    view = pd.DataFrame(rows).T.rename_axis(["AF", "input", "source"])
    return view.style.set_table_attributes('class="dataframe"').set_table_styles(  # fits
        [{"selector": "th, td",  # the column: five metrics, each with its interval
          "props": "padding: 0.15em 0.4em; text-align: right; font-size: 0.85em;"}])


def patch_rows(tables: dict[str, pd.DataFrame], patch_size: int) -> pd.DataFrame:
    """Table 1's patch rows: per split, the patches used here
    (:func:`~fnaf.data.patches.patch_counts`) beside the paper's count for ``patch_size``."""
    from fnaf.data.patches import patch_counts

    paper = paper_table("table1_data").get(f"patches_{patch_size}", {})
    counts = patch_counts(tables)
    counts["paper patches"] = [paper.get(split, "–") for split in counts.index]
    return counts.rename_axis("split")


def classification_sentences(table: pd.DataFrame, compared: pd.DataFrame,
                             patch_size: int, drop: pd.DataFrame | None = None) -> list[str]:
    """The classification chapter's conclusion, computed: whether the fully-sampled patches
    bound the reconstructions' AUROC (intervals separate), each robust model's sensitivity
    against its baseline beside the paper's direction, whether the decisions differ by the test
    over volumes (McNemar's p on patches beside it), the
    confidence analysis beside the paper's share, and (``drop``: :func:`against_fully_sampled`)
    how many reconstructions score a lower F1 than the fully-sampled patches."""
    sentences = []
    for af, part in ([] if drop is None else drop.groupby(level="AF", sort=False)):
        lower = part[part["Δ F1 high"] < 0].index.get_level_values("input")
        higher = part[part["Δ F1 low"] > 0].index.get_level_values("input")
        sentences.append(
            f"{af}: the F1 on {len(lower)} of {len(part)} reconstructions lies below the "
            f"fully-sampled patches' (paired interval below 0), on {len(higher)} above; the "
            "paper expected a drop on every one.")
    for af, part in table.groupby(level="AF", sort=False):
        part = part.droplevel("AF")
        full = part.loc[FULLY_SAMPLED]
        others = part.drop(index=FULLY_SAMPLED)
        below = [name for name, row in others.iterrows() if row["AUROC high"] < full["AUROC low"]]
        sentences.append(
            f"{af}: the AUROC on fully-sampled patches, {full['AUROC']:.1f} "
            f"[{full['AUROC low']:.1f}, {full['AUROC high']:.1f}], lies above the interval of "
            f"{len(below)} of {len(others)} reconstructions" +
            (f" ({', '.join(below)})." if below else "."))
    for (af, robust), row in compared.iterrows():
        mine, theirs = table.loc[(af, robust)], table.loc[(af, row["baseline"])]
        ours = _direction(mine["Sn"], theirs["Sn"])
        paper = _direction(mine["paper Sn"], theirs["paper Sn"])
        differ = ("are not tested (too few volumes)" if pd.isna(row["p volumes"]) else
                  "differ" if row["p volumes"] <= 0.05 else "do not differ")
        verdict = ("–" if paper == "–" else
                   "reproduced" if ours == paper else "not reproduced")
        sentences.append(
            f"{af}: the sensitivity on {robust} is {_compared(ours)} on {row['baseline']} "
            f"({mine['Sn']:.1f} vs {theirs['Sn']:.1f} %; paper: {_compared(paper)}; direction "
            f"{verdict}); the classifier's decisions {differ} over {row['volumes']} volumes "
            f"(p {p_string(row['p volumes'])}; McNemar on patches as independent, as the paper: "
            f"p {p_string(row['p'])}; the paper: p > 0.05).")
        share = PAPER_LESS_CONFIDENT.get(robust) if patch_size == 32 else None
        if row["missed on both"]:
            paper_share = f"; paper {share:.0%}" if share is not None else ""
            sentences.append(
                f"{af}: of {row['baseline']}'s {row['false negatives']} false negatives, "
                f"{robust} fixes {row['fixed']}; of the {row['missed on both']} it still misses, "
                f"{row['share']:.0%} [{row['share low']:.0%}, {row['share high']:.0%}] are "
                f"called normal less confidently{paper_share}.")
    return sentences


def _compared(direction: str) -> str:
    return {"equal": "the same as", "–": "not comparable to"}.get(direction,
                                                                  f"{direction} than")


def _direction(value: float, reference: float) -> str:
    if pd.isna(value) or pd.isna(reference):
        return "–"
    return "higher" if value > reference else "lower" if value < reference else "equal"


def comparisons_view(compared: pd.DataFrame) -> pd.DataFrame:
    """:func:`comparisons` for reading, one row per robust model and its baseline: the
    difference in the share of patches called right (robust − baseline, %, its interval
    resampling volumes) with the signed-rank p over volumes, the patches only one
    reconstruction lets the classifier get right (``baseline / robust``) with McNemar's p on
    patches as if independent (secondary), the baseline's false negatives the robust model
    fixes, and the confidence analysis as ``less confident / still missed`` with the share and
    its 95 % interval (resampling volumes)."""
    share = interval_strings(compared.astype({"share": float}), ["share"], 2)["share"]
    columns = [f"rate difference{end}" for end in ("", " low", " high")]
    difference = interval_strings(compared[columns].astype(float) * 100, ["rate difference"], 1)
    view = pd.DataFrame({
        "Δ right (%), by volume": difference["rate difference"],
        "p, volumes": compared["p volumes"].map(p_string),
        "volumes": compared["volumes"],
        "right only on baseline / robust (patches)": [
            f"{baseline} / {robust}" for baseline, robust in
            zip(compared["baseline only"], compared["robust only"])],
        "McNemar p, patches": compared["p"].map(p_string),
        "FN fixed": [f"{fixed} / {missed}" for fixed, missed in
                     zip(compared["fixed"], compared["false negatives"])],
        "less confident / still missed": [
            f"{less} / {still}" for less, still in
            zip(compared["less confident"], compared["missed on both"])],
        "share [95 % CI, volumes]": share})
    pairs = [f"{robust} vs {baseline}" for robust, baseline in
             zip(compared.index.get_level_values("robust"), compared["baseline"])]
    return view.set_axis(pd.MultiIndex.from_arrays(
        [compared.index.get_level_values(0), pairs],
        names=[compared.index.names[0], "robust vs baseline"]))


def strategy_view(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`strategy_comparison` for reading: AUROC and F1 with their intervals, and each
    strategy's difference from the head-only one (pp, paired interval)."""
    names = ["AUROC", "F1", "Δ AUROC", "Δ F1"]
    shown = interval_strings(table.astype({name: float for name in names}), names, 1)
    return shown.rename(columns={"Δ AUROC": "Δ AUROC vs head", "Δ F1": "Δ F1 vs head"}).assign(
        features=table["features"])


def roc_figure(labels, probabilities: dict[str, dict[str, np.ndarray]]):
    """ROC curves of the classifier on every input (the fully-sampled patches dashed), one
    panel per acceleration; ``probabilities``: panel title -> input -> abnormal-class
    probabilities of the same patches as ``labels``."""
    from sklearn.metrics import roc_curve

    panels = len(probabilities)
    figure, axes = plt.subplots(1, panels, figsize=(4.6 * panels, 4.4), squeeze=False,
                                layout="constrained")
    for ax, (title, inputs) in zip(axes[0], probabilities.items()):
        for name, scores in inputs.items():
            false_positive, true_positive, _ = roc_curve(labels, scores)
            ax.plot(100 * false_positive, 100 * true_positive, label=name, linewidth=1.2,
                    linestyle="--" if name == "Fully-sampled" else "-")
        ax.plot([0, 100], [0, 100], color="0.7", linewidth=0.8)
        ax.set(xlabel="1 − specificity (%)", ylabel="sensitivity (%)", title=title,
               aspect="equal", xlim=(0, 100), ylim=(0, 100))
        ax.legend(fontsize=8, frameon=False, loc="lower right")
    return figure


def example_rows(table: pd.DataFrame, count: int = 3) -> pd.DataFrame:
    """The rows of ``table`` that :func:`patch_examples` shows, indexed by their position:
    ``count`` abnormal and ``count`` normal patches, the first of each class on different
    slices."""
    firsts = table.reset_index(drop=True).drop_duplicates(["fname", "slice", "label"])
    return pd.concat([firsts[firsts["label"] == 1][:count], firsts[firsts["label"] == 0][:count]])


def patch_examples(patches: dict[str, np.ndarray], table: pd.DataFrame, count: int = 3):
    """``count`` abnormal and ``count`` normal patches (columns: :func:`example_rows`) cut from
    each input (rows; ``patches``: input -> ``(N, p, p)`` at the positions of ``table``'s rows),
    on one grey scale per column (the fully-sampled patch's)."""
    labels = table["label"].to_numpy()
    chosen = example_rows(table, count).index.tolist()
    reference = next(iter(patches.values()))
    figure, axes = plt.subplots(len(patches), len(chosen), squeeze=False, layout="constrained",
                                figsize=(1.3 * len(chosen) + 1.2, 1.3 * len(patches)))
    for row, (name, images) in zip(axes, patches.items()):
        for column, (ax, index) in enumerate(zip(row, chosen)):
            ax.imshow(images[index], cmap="gray", vmin=reference[index].min(),
                      vmax=reference[index].max())
            ax.set_xticks([])
            ax.set_yticks([])
            if row is axes[0]:
                ax.set_title("abnormal" if labels[index] == 1 else "normal", fontsize=9)
            if column == 0:
                ax.set_ylabel(name, fontsize=9, rotation=0, ha="right", va="center")
    return figure
