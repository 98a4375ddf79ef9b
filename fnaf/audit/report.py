"""Reading a claim file (:mod:`fnaf.audit.claim`): its metrics as a table, its ε curves, its
FNAF searches, its small window features, its worst slices (:mod:`fnaf.audit.worst_slices`)
and its flags in words — the report card's parts, shared by the "Audit your own model" page and
the leaderboard — and the report card as one HTML page (:func:`report_html`, what
``python -m fnaf audit`` writes beside the claim file)."""

from __future__ import annotations

import base64
import io
from html import escape

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
                figure.colorbar(shown, ax=ax, shrink=0.8, label="magnitude (target's units)")
    return figure


def flag_sentences(label: str, claim: dict) -> list[str]:
    """The claim file's flags in words, or one sentence saying there are none."""
    if not claim["flags"]:
        return [f"{label}: no flag raised."]
    return [f"{label}: {entry['flag']} — {entry['message']}. What to do: {entry['advice']}."
            for entry in claim["flags"]]


def report_html(claim: dict, examples: list[WorstSlice] | None = None) -> str:
    """The report card of one claim file as a standalone HTML page: what was audited, the SSIM
    lost per ε and kind with intervals, the ε curves, the FNAF searches, the window features,
    the worst slices (``examples``, where the model was at hand to attack them again) and the
    flags in words."""
    label = claim["model"]["label"]
    claims = {label: claim}
    data, suite = claim["data"], claim["suite"]
    parts = [f"<h1>Robustness audit: {escape(label)}</h1>",
             f"<p>Data: {escape(data['source'])} ({data['volumes']} volumes, {data['slices']} "
             f"slices), {data['accel']}× acceleration. Suite: "
             f"{escape(str(suite.get('attack', 'audit suite v' + str(suite.get('version')))))}."
             f" Model identity: <code>{escape(claim['model']['identity'])}</code>. Every "
             "interval is a 95 % interval resampling volumes.</p>",
             "<h2>SSIM lost per ε</h2>", claim_view(claims).to_html(),
             _png(claim_figure(claims))]
    for title, table in (("FNAF searches", feature_view(claims)),
                         ("Small window features", window_view(claims))):
        if len(table):
            parts += [f"<h2>{title}</h2>", table.to_html()]
    if examples:
        parts += ["<h2>The worst slices</h2>", _png(worst_slice_figure(examples))]
    parts += ["<h2>Flags</h2>", "<ul>", *(f"<li>{escape(sentence)}</li>"
                                          for sentence in flag_sentences(label, claim)), "</ul>"]
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
            f"{escape(label)}</title></head><body>" + "\n".join(parts) + "</body></html>\n")


def _png(figure) -> str:
    """``figure`` as an inline PNG image (and closed)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return (f"<img alt='figure' src='data:image/png;base64,"
            f"{base64.b64encode(buffer.getvalue()).decode()}'>")
