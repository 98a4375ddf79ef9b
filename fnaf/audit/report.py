"""Reading a claim file (:mod:`fnaf.audit.claim`): its metrics as a table, its ε curves, its
FNAF searches, its small window features, its worst slices (:mod:`fnaf.audit.worst_slices`)
and its flags in words — the report card's parts, shared by the "Audit your own model" page and
the leaderboard."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from fnaf.audit.claim import claim_features, claim_metrics, claim_windows
from fnaf.audit.worst_slices import WorstSlice
from fnaf.formatting import interval_string, p_string

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


def feature_view(claims: dict[str, dict]) -> pd.DataFrame:
    """The FNAF searches of each claim that ran them: per model and search (rows), the hit
    rate, the control rate and the mean loss inside T, each with its 95 % interval over
    volumes."""
    rows = {}
    for label, claim in claims.items():
        features = claim_features(claim)
        for search, part in ([] if features is None else
                             features.groupby(level="search", sort=False)):
            rows[label, search] = {
                score: interval_string(*part.loc[(search, score), ["mean", "low", "high"]], 3)
                for score in part.index.get_level_values("score")}
    return pd.DataFrame(rows).T.rename_axis(["model", "search"])


def window_view(claims: dict[str, dict]) -> pd.DataFrame:
    """The small window features of each claim that measured them: per model (rows), the mean
    window error and Moran's I of its location map, each with its 95 % interval over volumes,
    the permutation p and the reading (a location effect shown, or not)."""
    rows = {}
    for label, claim in claims.items():
        windows = claim_windows(claim)
        if windows is None:
            continue
        error, moran = windows.loc["window error"], windows.loc["Moran's I"]
        rows[label] = {"window error": interval_string(error["mean"], error["low"],
                                                       error["high"], 3),
                       "Moran's I": interval_string(moran["mean"], moran["low"],
                                                    moran["high"], 3),
                       "permutation p": p_string(moran["p"]),
                       "location": ("structured" if moran["structured"] else
                                    "no structure shown")}
    return pd.DataFrame(rows).T.rename_axis("model")


def worst_slice_figure(examples: list[WorstSlice]):
    """One row per slice: the target, the clean and the perturbed reconstruction (on the
    target's grey scale), their difference and the perturbation as the model sees it (its
    zero-filled magnitude), the last two each with its colour bar."""
    figure, axes = plt.subplots(len(examples), 5, figsize=(14, 2.9 * len(examples)),
                                squeeze=False, layout="constrained")
    for row, example in zip(axes, examples):
        top = float(example.target.max())
        panels = [(f"{example.fname}:{example.slice} target", example.target, True),
                  (f"clean, SSIM {example.clean_ssim:.3f}", example.clean, True),
                  (f"{example.source} ε {example.eps:g}, SSIM {example.ssim:.3f}",
                   example.perturbed, True),
                  ("|perturbed − clean|", abs(example.perturbed - example.clean), False),
                  ("perturbation, zero-filled", example.perturbation, False)]
        for ax, (title, image, grey) in zip(row, panels):
            shown = (ax.imshow(image, cmap="gray", vmin=0, vmax=top) if grey else
                     ax.imshow(image, cmap="magma"))
            ax.set_title(title, fontsize=9)
            ax.set_axis_off()
            if not grey:
                figure.colorbar(shown, ax=ax, shrink=0.8)
    return figure


def flag_sentences(label: str, claim: dict) -> list[str]:
    """The claim file's flags in words, or one sentence saying there are none."""
    if not claim["flags"]:
        return [f"{label}: no flag raised."]
    return [f"{label}: {entry['flag']} — {entry['message']}. What to do: {entry['advice']}."
            for entry in claim["flags"]]
