"""Reading a claim file (:mod:`fnaf.audit.claim`): its metrics as a table, its ε curves and its
flags in words — the report card's parts, shared by the "Audit your own model" page and the
leaderboard."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from fnaf.audit.claim import claim_metrics
from fnaf.formatting import interval_string

#: The report's line style and marker per kind of perturbation.
STYLES = {"attack": "-", "control": "--", "coil noise": "-.", "worst case": ":"}
MARKERS = {"attack": "o", "control": "s", "coil noise": "^", "worst case": "x"}


def claim_view(claims: dict[str, dict], score: str = "SSIM drop") -> pd.DataFrame:
    """``score`` of each claim file (``claims``: label -> claim) per ε (rows) and kind (columns,
    one group per model), each mean with its 95 % interval over volumes."""
    columns = {}
    for label, claim in claims.items():
        metrics = claim_metrics(claim).xs(score, level="score")
        for kind, part in metrics.groupby(level="kind", sort=False):
            columns[label, kind] = {eps: interval_string(row["mean"], row["low"], row["high"],
                                                         3)
                                    for (eps, _), row in part.iterrows()}
    return pd.DataFrame(columns).rename_axis("ε").rename_axis(["model", score], axis=1)


def claim_figure(claims: dict[str, dict], score: str = "SSIM drop"):
    """``score`` against ε per model (one panel each, from 0 at ε = 0): each kind of
    perturbation the claim holds (the attack, the same-norm control, the coil noise where the
    suite ran it) and their worst case, with their intervals over volumes as bands."""
    figure, axes = plt.subplots(1, len(claims), figsize=(4.2 * len(claims), 3.4), squeeze=False,
                                sharey=True, layout="constrained")
    for ax, (label, claim) in zip(axes[0], claims.items()):
        metrics = claim_metrics(claim).xs(score, level="score")
        for kind, part in metrics.groupby(level="kind", sort=False):
            eps = [0.0, *part.index.get_level_values("eps")]
            ax.plot(eps, [0.0, *part["mean"]], STYLES[kind], marker=MARKERS[kind],
                    markersize=4, label=kind)
            ax.fill_between(eps, [0.0, *part["low"]], [0.0, *part["high"]], alpha=0.15)
        ax.set(title=label, xlabel="ε (perturbation norm / measurements' norm)", ylabel=score)
        ax.legend(fontsize=8, frameon=False)
    return figure


def flag_sentences(label: str, claim: dict) -> list[str]:
    """The claim file's flags in words, or one sentence saying there are none."""
    if not claim["flags"]:
        return [f"{label}: no flag raised."]
    return [f"{label}: {entry['flag']} — {entry['message']}. What to do: {entry['advice']}."
            for entry in claim["flags"]]
