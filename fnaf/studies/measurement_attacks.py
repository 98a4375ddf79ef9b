"""Chapters 07-08, measurement-domain attacks (Darestani et al.): SSIM against ε with intervals,
the attack against its random control, and one model's robustness against another's on the
same slices; the chapters' tables (:func:`pgd_curve_view`, :func:`control_view`,
:func:`robustness_view`, :func:`norm_view`) and figures (:func:`ssim_vs_eps`,
:func:`measurement_panels`, appendix Fig. 9). Chapter 07 attacks trained networks with k-space
PGD, chapter 08 l1-minimisation and un-trained decoders with the two-step attack; both read
their rows here.

The input is the rows of :func:`fnaf.attacks.measurement.pgd_dataset` (one per slice, ε and kind)
with a ``model`` column. Means carry a seeded bootstrap interval over volumes (the slices of a
volume are not independent); comparisons are paired by slice (Wilcoxon signed-rank), as the
units are the same slices under two perturbations or two models.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from fnaf.formatting import interval_string, interval_strings, p_string
from fnaf.stats import cluster_bootstrap_mean, paired_test
from fnaf.verdicts import SIMILAR_SSIM_MARGIN, equivalence_verdict

ALPHA = 0.05


def curves(frame: pd.DataFrame, metric: str = "SSIM") -> pd.DataFrame:
    """Mean ``metric`` against the ground truth per (model, ε, kind), with its 95 % interval
    (bootstrap over volumes), and the clean reconstruction's as ``kind == "clean"`` at ε = 0.

    Returns columns ``model, eps, kind, <metric>, <metric> low, <metric> high, slices``."""
    rows = []

    def row(model, eps, kind, values, volumes):
        mean, low, high = cluster_bootstrap_mean(values, volumes)
        return {"model": model, "eps": eps, "kind": kind, metric: mean, f"{metric} low": low,
                f"{metric} high": high, "slices": len(values)}

    clean = frame[frame.kind == "attack"].drop_duplicates(["model", "fname", "slice"])
    for model, part in clean.groupby("model", sort=False):
        rows.append(row(model, 0.0, "clean", part[f"clean {metric}"], part.fname))
    for (model, eps, kind), part in frame.groupby(["model", "eps", "kind"], sort=False):
        rows.append(row(model, eps, kind, part[metric], part.fname))
    return pd.DataFrame(rows).sort_values(["model", "eps", "kind"], kind="stable",
                                          ignore_index=True)


def _paired(first: pd.DataFrame, second: pd.DataFrame, metric: str):
    """The paired test of ``metric`` of two row sets joined on the slice."""
    joined = first.merge(second, on=["fname", "slice"], suffixes=("", " reference"))
    return paired_test(joined[metric], joined[f"{metric} reference"])


def attack_versus_control(frame: pd.DataFrame, metric: str = "SSIM") -> pd.DataFrame:
    """Per (model, ε): the attack's ``metric`` against the control's on the same slices.

    Returns columns ``model, eps, attack, control, median difference, p, pairs, shown``
    (``pairs``: the slices compared; ``shown``: the attack lowers ``metric`` more than noise of
    the same norm, signed-rank p ≤ 0.05)."""
    rows = []
    for (model, eps), part in frame.groupby(["model", "eps"], sort=False):
        attack = part[part.kind == "attack"][["fname", "slice", metric]]
        control = part[part.kind == "control"][["fname", "slice", metric]]
        test = _paired(attack, control, metric)
        rows.append({"model": model, "eps": eps, "attack": attack[metric].mean(),
                     "control": control[metric].mean(),
                     "median difference": test.median_difference, "p": test.p_signed_rank,
                     "pairs": test.n,
                     "shown": test.significant(ALPHA) and test.direction == "lower"})
    return pd.DataFrame(rows)


def smallest_p(pairs: int) -> float:
    """The smallest two-sided p the exact signed-rank test can give on ``pairs`` pairs (every
    difference of one sign): ``2 / 2**pairs`` (0.0078 on 8 slices)."""
    return 2.0 / 2.0 ** pairs


def drops(frame: pd.DataFrame, metric: str = "SSIM") -> pd.DataFrame:
    """The attack's cost per slice: ``clean metric − attacked metric`` (``drop``), and the
    control's (``control drop``), per (model, ε, slice)."""
    keys = ["model", "eps", "fname", "slice"]
    attack = frame[frame.kind == "attack"].set_index(keys)
    control = frame[frame.kind == "control"].set_index(keys)
    return pd.DataFrame({"drop": attack[f"clean {metric}"] - attack[metric],
                         "control drop": control[f"clean {metric}"] - control[metric]}
                        ).reset_index()


def robustness_comparison(frame: pd.DataFrame, references: dict[str, str],
                          metric: str = "SSIM") -> pd.DataFrame:
    """Each model of ``references`` (model → its reference, e.g. FNAF U-Net → U-Net) against
    its reference: the attack's ``metric`` drop on the same slices at each ε.

    Returns columns ``model, reference, eps, drop`` (mean, with ``drop low``/``drop high``,
    bootstrap over volumes), ``reference drop``, ``difference`` (drop − reference drop, with
    ``difference low``/``high`` resampling volumes: what an equivalence margin is read
    against), ``volumes``, ``median difference``, ``p`` (signed-rank) and ``direction``:
    ``"more robust"`` / ``"less robust"`` where shown, else ``"not shown"``."""
    per_slice = drops(frame, metric)
    rows = []
    for model, reference in references.items():
        for eps in sorted(per_slice.eps.unique()):
            mine = per_slice[(per_slice.model == model) & (per_slice.eps == eps)]
            theirs = per_slice[(per_slice.model == reference) & (per_slice.eps == eps)]
            joined = mine.merge(theirs, on=["fname", "slice"], suffixes=("", " reference"))
            test = paired_test(joined["drop"], joined["drop reference"])
            mean, low, high = cluster_bootstrap_mean(joined["drop"], joined.fname)
            difference = cluster_bootstrap_mean(joined["drop"] - joined["drop reference"],
                                                joined.fname)
            direction = "not shown"
            if test.significant(ALPHA):
                direction = "more robust" if test.direction == "lower" else "less robust"
            rows.append({"model": model, "reference": reference, "eps": eps, "drop": mean,
                         "drop low": low, "drop high": high,
                         "reference drop": joined["drop reference"].mean(),
                         **dict(zip(("difference", "difference low", "difference high"),
                                    difference)),
                         "volumes": joined.fname.nunique(),
                         "median difference": test.median_difference,
                         "p": test.p_signed_rank, "direction": direction})
    return pd.DataFrame(rows)


def shared_largest_eps(frame: pd.DataFrame) -> float:
    """The largest ε at which every model of ``frame`` was attacked."""
    attacked = frame[frame.kind == "attack"].groupby("model").eps.apply(set)
    return max(set.intersection(*attacked))


#: :func:`fnaf.verdicts.equivalence_verdict`'s readings in a sentence's words.
SIMILARITY_WORDS = {"reproduced": "similar (the interval inside the margin)",
                    "not reproduced": "not similar (the interval beyond the margin)",
                    "direction only": "neither similarity nor a difference beyond the margin "
                                      "shown"}


def similarity_sentence(compared: pd.DataFrame, margin: float = SIMILAR_SSIM_MARGIN) -> str:
    """:func:`robustness_comparison`'s rows read as "similar" against an equivalence
    ``margin`` stated up front: each drop difference with its interval over volumes, in words
    from :func:`fnaf.verdicts.equivalence_verdict` (the summary's reading)."""
    parts = [f"{row['model']} against {row['reference']}: Δ drop {row['difference']:+.3f} "
             f"[{row['difference low']:+.3f}, {row['difference high']:+.3f}] over "
             f"{row['volumes']} volumes, "
             + SIMILARITY_WORDS[equivalence_verdict(row["difference low"],
                                                    row["difference high"], margin)]
             for _, row in compared.iterrows()]
    return f"Margin ±{margin:g} SSIM: " + "; ".join(parts) + "."


def vulnerability_sentence(versus: pd.DataFrame) -> str:
    """One computed sentence: at which ε each model's attack is shown to hurt more than noise."""
    parts = []
    for model, part in versus.groupby("model", sort=False):
        shown = part[part.shown].eps.tolist()
        if len(part) == 1:
            parts.append(f"{model}: {'at' if shown else 'not at'} its one attacked ε "
                         f"({part.eps.iloc[0]:g})")
        elif len(shown) == len(part):
            parts.append(f"{model}: at every ε")
        elif shown:
            parts.append(f"{model}: at ε ≥ {min(shown):g} only")
        else:
            parts.append(f"{model}: at no ε")
    floor = ""
    if "pairs" in versus and len(versus):
        at_floor = versus[versus.p <= versus.pairs.map(smallest_p) * (1 + 1e-9)]
        if len(at_floor):
            pairs = int(at_floor.pairs.min())
            floor = (f" On {pairs} slices the smallest p this exact test can give is "
                     f"{smallest_p(pairs):.2g}, reached where every slice moved the same way: "
                     "more slices, not a stronger attack, would lower it.")
    return ("The attack lowers SSIM more than random noise of the same norm (paired signed-rank "
            f"test, p ≤ {ALPHA}) — " + "; ".join(parts) + "." + floor)


def pgd_curve_view(curves: pd.DataFrame, metric: str = "SSIM") -> pd.DataFrame:
    """:func:`curves` as a table to read: one row per (model, ε), the clean,
    attacked and control ``metric`` with its interval on a second line."""
    order = curves.model.map({model: i for i, model in enumerate(curves.model.unique())})
    curves = curves.assign(order=order).sort_values(["order", "eps"], kind="stable")
    shown = curves[["model", "kind"]].assign(
        eps=curves.eps.map("{:g}".format),
        value=interval_strings(curves, [metric], 3, "<br>[{}]")[metric])
    table = shown.pivot_table(index=["model", "eps"], columns="kind", values="value",
                              aggfunc="first", sort=False).fillna("–")
    return table.rename_axis(columns=None).rename_axis(index=["model", "ε"])


def control_view(versus: pd.DataFrame) -> pd.DataFrame:
    """:func:`attack_versus_control` as a table to read."""
    return pd.DataFrame({
        "model": versus.model, "ε": versus.eps.map("{:g}".format),
        "SSIM attack": versus.attack.map("{:.3f}".format),
        "SSIM control": versus.control.map("{:.3f}".format),
        "median paired difference": versus["median difference"].map("{:+.3f}".format),
        "p": versus.p.map(p_string), "shown": versus.shown.map({True: "yes", False: "no"})})


def robustness_view(compared: pd.DataFrame) -> pd.DataFrame:
    """:func:`robustness_comparison` as a table to read: each model's SSIM drop
    under attack (interval on a second line) beside its reference's, the paired test."""
    return pd.DataFrame({
        "model": compared.model, "reference": compared.reference,
        "ε": compared.eps.map("{:g}".format),
        "SSIM drop": interval_strings(compared, ["drop"], 3, "<br>[{}]")["drop"],
        "reference's drop": compared["reference drop"].map("{:.3f}".format),
        "difference (volumes)": [f"{row['difference']:+.3f}<br>[{row['difference low']:+.3f}, "
                                 f"{row['difference high']:+.3f}], {row['volumes']}"
                                 for _, row in compared.iterrows()],
        "median paired difference": compared["median difference"].map("{:+.3f}".format),
        "p": compared.p.map(p_string), "reading": compared.direction})


def norm_view(frame: pd.DataFrame) -> pd.DataFrame:
    """PGD rows of one model at one ε under both norm conventions (a ``norm`` column): the
    perturbation's norm relative to the measured data (what the model sees), and the mean SSIM
    under attack and under the control, with intervals (bootstrap over volumes)."""
    rows = []
    for (norm, kind), part in frame.groupby(["norm", "kind"], sort=False):
        mean, low, high = cluster_bootstrap_mean(part.SSIM, part.fname)
        rows.append({"norm": norm, "kind": kind, "ε": f"{part.eps.iloc[0]:g}",
                     "||Mz|| / ||My||": f"{part.measured_relative_norm.mean():.3f}",
                     "SSIM": interval_string(mean, low, high, 3, "<br>[{}]")})
    return pd.DataFrame(rows).set_index(["norm", "kind"])


def ssim_vs_eps(curves: pd.DataFrame, metric: str = "SSIM"):
    """SSIM against the perturbation's relative norm ε per model (:func:`curves`
    rows): the attack solid, the random control of the same norm dashed, 95 % intervals as bars;
    ε = 0 is the clean reconstruction."""
    figure, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
    palette = dict(zip(curves.model.unique(), sns.color_palette("tab10")))
    for model, part in curves.groupby("model", sort=False):
        clean = part[part.kind == "clean"]
        for kind, style in (("attack", "-"), ("control", "--")):
            points = pd.concat([clean, part[part.kind == kind]]).sort_values("eps")
            ax.errorbar(points.eps, points[metric],
                        yerr=[points[metric] - points[f"{metric} low"],
                              points[f"{metric} high"] - points[metric]],
                        color=palette[model], linestyle=style, marker="o", markersize=3,
                        capsize=2, label=f"{model} ({'attack' if kind == 'attack' else 'noise'})")
    ax.set_xlabel("ε = ||z|| / ||y||")
    ax.set_ylabel(f"{metric} to the ground truth")
    ax.legend(fontsize=7, frameon=False, ncol=2)
    return figure


def measurement_panels(columns: dict[str, dict[str, np.ndarray]], size: float = 2.4):
    """Appendix Fig. 9: one column per method; rows the ground truth, the clean reconstruction,
    the reconstruction of the attacked measurements and the perturbation's image
    (RSS of ``F^-1 z``, its own scale).

    ``columns``: method -> ``{"ground truth", "clean", "attacked", "perturbation"}`` ``(h, w)``.
    """
    rows = ("ground truth", "clean", "attacked", "perturbation")
    figure, axes = plt.subplots(len(rows), len(columns), squeeze=False, layout="constrained",
                                figsize=(size * len(columns), size * len(rows)))
    for column, (method, images) in enumerate(columns.items()):
        vmax = float(images["ground truth"].max())
        for row, name in enumerate(rows):
            ax = axes[row, column]
            scale = {} if name == "perturbation" else {"vmin": 0, "vmax": vmax}
            ax.imshow(images[name], cmap="gray", **scale)
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(method, fontsize=10)
            if column == 0:
                ax.set_ylabel(name, fontsize=9)
    return figure
