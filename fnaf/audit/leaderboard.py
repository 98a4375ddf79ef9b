"""The leaderboard: claim files (:mod:`fnaf.audit.claim`) side by side, ranked by the SSIM the
worst case of the perturbations (the attack, its control, the coil noise) takes away at the
largest ε. Models are ranked only against models attacked the same way on the same data: a board
per data set, acceleration and attack."""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import pandas as pd

from fnaf.audit.claim import claim_features, claim_metrics
from fnaf.formatting import interval_string
from fnaf.io import load_json


def read_claims(root: str | PathLike) -> list[dict]:
    """Every claim file under ``root`` (``<root>/<chapter>/audits/<name>.json``, the rows files
    beside them left out), in path order."""
    paths = sorted(path for path in Path(root).glob("*/audits/*.json")
                   if not path.name.endswith(".rows.json"))
    return [load_json(path, f"delete {path} and run its chapter again") for path in paths]


def board_name(claim: dict) -> str:
    """What a model is ranked against: the data, the acceleration and the attack's settings."""
    suite, data = claim["suite"], claim["data"]
    attack = (suite["attack"] if "attack" in suite else
              f"audit suite v{suite['version']} ({suite.get('schedule', 'fixed')} steps)")
    return (f"{data['source']} ({data['key']}), {data['accel']}×; {attack}, "
            f"{suite['steps']} steps × {suite.get('restarts', 1)} restarts, {suite['norm']} norm")


def leaderboard(claims: list[dict], score: str = "SSIM drop") -> pd.DataFrame:
    """One row per claim at its largest ε, indexed ``(board, rank)`` (:func:`board_name`): the
    worst case's ``score`` with its interval over volumes, the attack's and the control's, the
    FNAF searches' worst-case hit rate where the suite ran them (else "—"), the volumes and the
    flags; within a board the least damaged first."""
    rows = []
    for claim in claims:
        features = claim_features(claim)
        hits = ("—" if features is None else interval_string(
            *features.loc[("worst case", "hit rate"), ["mean", "low", "high"]], 3))
        metrics = claim_metrics(claim).xs(score, level="score")
        eps = max(metrics.index.get_level_values("eps"))
        at = metrics.xs(eps, level="eps")
        rows.append({"board": board_name(claim), "model": claim["model"]["label"],
                     "ε": f"{eps:g}", "order": at.loc["worst case", "mean"],
                     **{f"{kind} {score}": interval_string(*at.loc[kind, ["mean", "low", "high"]],
                                                           3)
                        for kind in ("worst case", "attack", "control")},
                     "FNAF hit rate": hits,
                     "volumes": claim["data"]["volumes"],
                     "flags": ", ".join(entry["flag"] for entry in claim["flags"]) or "none"})
    table = pd.DataFrame(rows).sort_values(["board", "order"], kind="stable")
    table["rank"] = table.groupby("board").cumcount() + 1
    return table.drop(columns="order").set_index(["board", "rank"])
