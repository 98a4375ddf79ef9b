"""The audit's false-negative features (Calivá et al.): small features searched for in any
model's reconstructions at the FNAF paper's sizes, beside their false-alarm control.

Both of the paper's searches run with its budget of 11 evaluations per slice
(:class:`~fnaf.runs.configs.AttackConfig`'s defaults: features of 10 connected pixels in the
central region, random search and finite differences on the feature's location), on the same
slices as the measurement attacks. A slice is a **hit** when the NMSE inside T exceeds the
paper's γ = 0.25; its **control** is the largest NMSE over the same regions without a feature
(the false-alarm level of a maximum over 11). Per slice the **worst case** is the search with
the larger loss. Each rate is the mean of per-slice hits with a 95 % interval resampling volumes
(:func:`~fnaf.stats.cluster_bootstrap_mean`; the unit is the patient). Multi-coil, a feature
enters every coil in proportion to its share of the root-sum-of-squares
(:func:`~fnaf.attacks.search.perturb`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from torch import nn

from fnaf.attacks.report import PAPER_GAMMA, attack_dataset
from fnaf.data.fastmri import SliceDataset
from fnaf.data.transforms import SliceTransform
from fnaf.runs.configs import AttackConfig
from fnaf.stats import cluster_bootstrap_mean

#: The searches (the claim file's names) and their :class:`AttackConfig` methods.
SEARCHES = {"random search": "random", "finite differences": "fd"}
#: What a feature row keeps of :class:`~fnaf.attacks.report.AttackReport`'s slices.
COLUMNS = ("fname", "slice", "search", "loss", "control_max", "recovery")


def feature_rows(model: nn.Module, pipeline, slices: SliceDataset, transform: SliceTransform,
                 *, seed: int = 0, batch_size: int = 8, progress: bool = False,
                 checkpoint: Path | None = None) -> pd.DataFrame:
    """One row per slice and search (:data:`COLUMNS`), and per slice the ``worst case`` (the
    search with the larger loss). ``checkpoint``: a folder keeping each search's finished
    batches (:class:`~fnaf.resume.BatchRows`)."""
    frames = []
    for search, method in SEARCHES.items():
        attack = AttackConfig(method=method, seed=seed, batch_size=batch_size).build(model,
                                                                                     pipeline)
        report = attack_dataset(attack, slices, transform, batch_size=batch_size,
                                progress=progress, checkpoint=None if checkpoint is None else
                                checkpoint / f"fnaf-{method}")
        frames.append(report.slices.assign(search=search)[list(COLUMNS)])
    rows = pd.concat(frames, ignore_index=True)
    worst = rows.loc[rows.groupby(["fname", "slice"], sort=False)["loss"].idxmax()]
    return pd.concat([rows, worst.assign(search="worst case")], ignore_index=True)


def feature_summary(rows: pd.DataFrame, gamma: float = PAPER_GAMMA,
                    seed: int = 0) -> pd.DataFrame:
    """Per search: the ``hit rate`` (loss > ``gamma``), the ``control rate`` (the control >
    ``gamma``) and the mean ``loss``, each ``mean``/``low``/``high`` over volumes, with the
    ``slices`` and ``volumes`` behind them; indexed ``(search, score)``."""
    table = {}
    for search, part in rows.groupby("search", sort=False):
        for score, values in (("hit rate", part["loss"] > gamma),
                              ("control rate", part["control_max"] > gamma),
                              ("loss", part["loss"])):
            mean, low, high = cluster_bootstrap_mean(values.astype(float), part["fname"],
                                                     seed=seed)
            table[search, score] = {"mean": mean, "low": low, "high": high,
                                    "slices": len(part), "volumes": part["fname"].nunique()}
    return pd.DataFrame(table).T.rename_axis(["search", "score"])
