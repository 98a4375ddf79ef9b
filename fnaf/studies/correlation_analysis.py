"""Chapter 06, the correlation analysis: does robust training help small abnormalities most?
The FNAF paper's Appendix A (Figs. 6-7), and the box NMSE per compartment (Figs. 8-9).

The unit is Table 4's (volume, slice, label); its **size** is the number of pixels its boxes
cover on fastMRI's 320 × 320 annotation grid (the paper: "the number of pixels abnormalities
occupy"), so sizes compare across data of any resolution. Fig. 6 correlates each robust model's
**improvement** over its baseline (baseline NMSE − robust NMSE inside the boxes; positive: the
robust model is better) with the size; Fig. 7 the NMSE itself. :func:`size_correlations` gives
Pearson's r and Spearman's ρ with p-values and 95 % intervals (:func:`fnaf.stats.correlation`,
units as independent) and ρ's interval resampling volumes
(:func:`fnaf.stats.cluster_bootstrap_correlation`), which the sign is read from; and
:data:`PAPER_READING` the paper's statements, so the verdict is computed.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from fnaf.data.annotations import ANNOTATION_SIZE, LABEL_CODES, LABELS, AnnotationIndex
from fnaf.stats import cluster_bootstrap_correlation, correlation
from fnaf.verdicts import comparison_verdict

#: The sign of the size correlation the paper reports (Appendix A): Fig. 6, the improvement
#: over the baseline ("increases as the size decreases" for FNAF U-Net at 8×, "comparably" at
#: 4×, "no correlation" for I-RIM, "the opposite correlation" for B-Box); Fig. 7, the NMSE
#: ("decreases as the size increases for U-Net but not I-RIM").
PAPER_READING = {
    ("improvement", "FNAF U-Net", 4): "none", ("improvement", "FNAF U-Net", 8): "negative",
    ("improvement", "FNAF I-RIM", 4): "none", ("improvement", "FNAF I-RIM", 8): "none",
    ("improvement", "B-Box U-Net", 4): "positive", ("improvement", "B-Box U-Net", 8): "positive",
    ("improvement", "B-Box I-RIM", 4): "positive", ("improvement", "B-Box I-RIM", 8): "positive",
    ("nmse", "U-Net", 4): "negative", ("nmse", "U-Net", 8): "negative",
    ("nmse", "I-RIM", 4): "none", ("nmse", "I-RIM", 8): "none",
}


def unit_sizes(units: pd.DataFrame, annotations: AnnotationIndex) -> pd.Series:
    """The pixels each unit's boxes cover at 320 × 320 (``units``: :func:`fnaf.boxes.box_nmse`
    rows or any frame with ``fname``, ``slice`` and ``label``), aligned with ``units``."""
    shape = (ANNOTATION_SIZE, ANNOTATION_SIZE)
    areas = {}
    for fname, number in units[["fname", "slice"]].drop_duplicates().itertuples(index=False):
        areas[fname, number] = annotations.masks(fname, int(number), shape).sum(axis=(1, 2))
    position = {code: index for index, code in enumerate(LABEL_CODES)}
    return pd.Series([int(areas[fname, number][position[label]]) for fname, number, label in
                      units[["fname", "slice", "label"]].itertuples(index=False)],
                     index=units.index, name="size")


def improvements(per_model: dict[str, pd.DataFrame], baselines: dict[str, str],
                 sizes: pd.Series) -> pd.DataFrame:
    """Fig. 6's points: per robust model and unit, ``improvement`` = baseline NMSE − robust
    NMSE and the unit's ``size``; ``per_model``: model -> :func:`fnaf.boxes.box_nmse` rows (the
    same units, in the same order, for every model); ``sizes`` aligned with those rows."""
    parts = []
    for robust, baseline in baselines.items():
        mine, theirs = per_model[robust], per_model[baseline]
        if not mine[["fname", "slice", "label"]].equals(theirs[["fname", "slice", "label"]]):
            raise ValueError(f"{robust} and {baseline} were scored on different units")
        parts.append(mine[["fname", "slice", "label", "compartment"]].assign(
            model=robust, baseline=baseline, size=sizes.to_numpy(),
            improvement=theirs["nmse"].to_numpy() - mine["nmse"].to_numpy()))
    return pd.concat(parts, ignore_index=True)


def size_correlations(points: pd.DataFrame, value: str, by: list[str],
                      seed: int = 0) -> pd.DataFrame:
    """:func:`fnaf.stats.correlation` of ``size`` with ``value`` within each group of ``by``
    (``n`` units taken as independent), and Spearman's ρ's 95 % interval resampling the
    ``volumes`` (``points.fname``): ``spearman_volume_low``/``_high``
    (:func:`fnaf.stats.cluster_bootstrap_correlation`, seeded). One row per group, with
    ``sign``: ``"negative"``/``"positive"`` where the volume interval excludes 0, else
    ``"none"``; ``sign_units``, the same read from the units' Fisher interval (secondary)."""
    rows = {}
    for key, group in points.groupby(by, sort=False):
        result = correlation(group["size"], group[value])
        _, low, high = cluster_bootstrap_correlation(group["size"], group[value],
                                                     group["fname"], seed=seed)
        rows[key] = {**result, "volumes": group["fname"].nunique(),
                     "spearman_volume_low": low, "spearman_volume_high": high,
                     "sign": _sign(low, high),
                     "sign_units": _sign(result["spearman_low"], result["spearman_high"])}
    table = pd.DataFrame(rows).T.infer_objects()
    table.index.names = by
    return table


def _sign(low: float, high: float) -> str:
    if np.isnan(low):
        return "–"
    return "negative" if high < 0 else "positive" if low > 0 else "none"


def reading(table: pd.DataFrame, value: str) -> pd.DataFrame:
    """Beside each ``(model, accel)`` row of :func:`size_correlations`: the paper's sign and the
    verdict (:func:`fnaf.verdicts.comparison_verdict`: a sign is a direction shown, ``"none"`` no
    correlation shown; the direction of ours is that of Spearman's ρ), ``"not comparable"``
    where the paper says nothing or too few units were scored."""
    paper = [PAPER_READING.get((value, model, accel), "–") for model, accel in table.index]
    verdict = ["not comparable" if "–" in (ours, theirs) else
               comparison_verdict(theirs, theirs != "none",
                                  "positive" if rho > 0 else "negative", ours != "none")
               for ours, theirs, rho in zip(table["sign"], paper, table["spearman_r"])]
    return table.assign(paper=paper, verdict=verdict)


def box_nmse_figure(per_model: dict[str, pd.DataFrame], title: str = ""):
    """Per-abnormality NMSE inside the boxes, one box per model and compartment (the paper's
    Figs. 8-9); ``per_model``: model -> :func:`fnaf.boxes.box_nmse` rows."""
    frame = pd.concat([rows.assign(model=model) for model, rows in per_model.items()],
                      ignore_index=True)
    order = [label.name for label in LABELS if label.name in set(frame["compartment"])]
    figure, ax = plt.subplots(figsize=(9.0, 4.8), layout="constrained")
    sns.boxplot(frame, x="compartment", y="nmse", hue="model", order=order, ax=ax,
                fliersize=2, linewidth=0.8)
    ax.set_xlabel("compartment")
    ax.set_ylabel("NMSE inside the boxes")
    ax.set_yscale("log")
    ax.tick_params(axis="x", rotation=35, labelsize=10)
    plt.setp(ax.get_xticklabels(), ha="right", rotation_mode="anchor")
    ax.legend(fontsize=9, frameon=False, ncols=3, loc="upper center",
              bbox_to_anchor=(0.5, -0.35))
    ax.set_title(title, fontsize=11)
    return figure


def size_scatter(points: pd.DataFrame, value: str, ylabel: str):
    """Figs. 6-7: ``value`` against the abnormality's size (pixels at 320 × 320, log scale) with
    a least-squares line (on log size) per kind of model; one row per architecture, one column
    per acceleration (``points`` columns ``size``, ``value``, ``kind``, ``architecture``,
    ``AF``)."""
    grid = sns.lmplot(points, x="size", y=value, hue="kind", row="architecture", col="AF",
                      logx=True, ci=None, height=2.9, aspect=1.2,
                      scatter_kws={"s": 9, "alpha": 0.45}, line_kws={"linewidth": 1.6},
                      facet_kws={"sharey": False, "margin_titles": True})
    grid.set(xscale="log")
    grid.set_xlabels("abnormality size (pixels at 320 × 320)")
    for ax in grid.axes.flat:  # each panel has its own y scale, so each says what it is
        ax.set_ylabel(ylabel)
    if value == "improvement":
        grid.refline(y=0, color="0.6", linewidth=0.8)
    return grid.figure
