"""Claim files from the chapters' own attacks: chapter 07's k-space PGD on the trained networks
and chapter 08's two-step attack on l1 and the ConvDecoder, read into the audit's claim files
(:mod:`fnaf.audit.claim`) from the rows the chapters computed, so the leaderboard runs no attack
of its own. A trained network's flags are checked on its first attacked batch; a method that
optimises at inference was attacked by the two-step attack the audit prescribes for it, and
only the flags read from its results apply. The claim's ``suite`` holds the chapter's attack
settings (``attack`` names it; not the audit suite, so no convergence check)."""

from __future__ import annotations

from dataclasses import asdict
from os import PathLike

import pandas as pd

from fnaf.audit.claim import claim_header, model_identity, write_claim
from fnaf.audit.flags import model_flags
from fnaf.audit.suite import first_batch, worst_case
from fnaf.devices import resolve_device
from fnaf.pipelines import pipeline_for
from fnaf.runs.builders import attack_transform, datasets
from fnaf.runs.cache import TrainedRun
from fnaf.runs.configs import PgdConfig, RunConfig
from fnaf.runs.untrained import TwoStepConfig, UntrainedConfig


def _rows(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    rows = frame[frame["model"] == label].drop(columns="model")
    if rows.empty:
        raise ValueError(f"no rows of {label!r} in the chapter's frame (models: "
                         f"{sorted(frame['model'].unique())})")
    return worst_case(rows.reset_index(drop=True))


def run_claims(runs: dict[str, TrainedRun], frame: pd.DataFrame, pgd: PgdConfig, accel: int,
               directory: str | PathLike, chapter: str, *, device=None) -> dict[str, dict]:
    """The claim file of each trained run of ``runs`` (label -> run) from its rows of
    ``frame`` (:func:`fnaf.runs.pgd_frame`, column ``model``) attacked with ``pgd``, named after
    the run's folder, labelled ``label``; the model flags on its first attacked batch."""
    device = resolve_device(device)
    settings = {"attack": f"k-space PGD ({chapter})", **asdict(pgd)}
    claims = {}
    for label, run in runs.items():
        at = run.config.evaluation_accel(accel)
        slices = datasets(run.config)[1]
        if pgd.slices_per_volume is not None:
            slices = slices.middle_slices(pgd.slices_per_volume)
        pipeline = pipeline_for(run.config.model)
        batch = first_batch(slices, attack_transform(run.config, at, pgd.mask_style),
                            pgd.batch_size or 8).to(device)
        flags = model_flags(run.model.to(device), pipeline, batch, max(pgd.eps), pgd.seed)
        header = claim_header(run.directory.name, model_identity(run.model, label), False,
                              settings, run.config, at, label)
        claims[label] = write_claim(header, _rows(frame, label), flags, directory, pgd.seed)
    return claims


def method_claims(methods: dict[str, UntrainedConfig], frame: pd.DataFrame,
                  attack: TwoStepConfig, data: RunConfig, accel: int,
                  directory: str | PathLike, chapter: str) -> dict[str, dict]:
    """The claim file of each method that optimises at inference (label -> config) from its
    rows of ``frame`` (:func:`fnaf.runs.two_step_frame`) attacked by the two-step attack
    ``attack``; identified by its config, flags read from its results only."""
    settings = {"attack": f"two-step ({chapter})", **asdict(attack)}
    claims = {}
    for label, config in methods.items():
        name = f"{config.method}-{config.key()}"
        header = claim_header(name, f"config:{name}", True, settings, data, accel, label)
        claims[label] = write_claim(header, _rows(frame, label), [], directory, attack.seed)
    return claims
