"""Reading measurement-domain attacks (Darestani et al.): SSIM against ε with intervals, the attack
against its random control, and one model's robustness against another's on the same slices.

The input is the rows of :func:`fnaf.attacks.measurement.pgd_dataset` (one per slice, ε and kind)
with a ``model`` column. Means carry a seeded bootstrap interval over volumes (the slices of a
volume are not independent); comparisons are paired by slice (Wilcoxon signed-rank), as the
units are the same slices under two perturbations or two models.
"""

from __future__ import annotations

import pandas as pd

from fnaf.stats import cluster_bootstrap_mean, paired_test

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

    Returns columns ``model, eps, attack, control, median difference, p, shown`` (``shown``:
    the attack lowers ``metric`` more than noise of the same norm, signed-rank p ≤ 0.05)."""
    rows = []
    for (model, eps), part in frame.groupby(["model", "eps"], sort=False):
        attack = part[part.kind == "attack"][["fname", "slice", metric]]
        control = part[part.kind == "control"][["fname", "slice", metric]]
        test = _paired(attack, control, metric)
        rows.append({"model": model, "eps": eps, "attack": attack[metric].mean(),
                     "control": control[metric].mean(),
                     "median difference": test.median_difference, "p": test.p_signed_rank,
                     "shown": test.significant(ALPHA) and test.direction == "lower"})
    return pd.DataFrame(rows)


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
    bootstrap over volumes), ``reference drop``, ``median difference``, ``p`` (signed-rank) and
    ``direction``: ``"more robust"`` / ``"less robust"`` where shown, else ``"not shown"``."""
    per_slice = drops(frame, metric)
    rows = []
    for model, reference in references.items():
        for eps in sorted(per_slice.eps.unique()):
            mine = per_slice[(per_slice.model == model) & (per_slice.eps == eps)]
            theirs = per_slice[(per_slice.model == reference) & (per_slice.eps == eps)]
            joined = mine.merge(theirs, on=["fname", "slice"], suffixes=("", " reference"))
            test = paired_test(joined["drop"], joined["drop reference"])
            mean, low, high = cluster_bootstrap_mean(joined["drop"], joined.fname)
            direction = "not shown"
            if test.significant(ALPHA):
                direction = "more robust" if test.direction == "lower" else "less robust"
            rows.append({"model": model, "reference": reference, "eps": eps, "drop": mean,
                         "drop low": low, "drop high": high,
                         "reference drop": joined["drop reference"].mean(),
                         "median difference": test.median_difference,
                         "p": test.p_signed_rank, "direction": direction})
    return pd.DataFrame(rows)


def vulnerability_sentence(versus: pd.DataFrame) -> str:
    """One computed sentence: at which ε each model's attack is shown to hurt more than noise."""
    parts = []
    for model, part in versus.groupby("model", sort=False):
        shown = part[part.shown].eps.tolist()
        if len(shown) == len(part):
            parts.append(f"{model}: at every ε")
        elif shown:
            parts.append(f"{model}: at ε ≥ {min(shown):g} only")
        else:
            parts.append(f"{model}: at no ε")
    return ("The attack lowers SSIM more than random noise of the same norm (paired signed-rank "
            f"test, p ≤ {ALPHA}) — " + "; ".join(parts) + ".")
