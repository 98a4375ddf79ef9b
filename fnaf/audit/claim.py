"""The claim file of an audited model (JSON, schema :data:`CLAIM_SCHEMA`), and :func:`audit`,
which writes it.

A claim file holds: ``schema``; ``fnaf`` (the package version); ``suite``
(:meth:`~fnaf.audit.suite.AuditSuite.settings`, its version among them, or the settings of a
chapter's attack, :mod:`fnaf.audit.chapters`); ``model`` (``name``, the file's; ``label``, for
display; ``identity``: the SHA-256 of its weights where it has any, else its name or config;
``optimises``); ``data`` (``source``: the phantom or the fastMRI folder, ``key``: the identity
of the slices and masks, ``accel``, ``volumes``, ``slices``); ``metrics``: one entry per ε,
kind (attack, control, worst case) and score with its mean, 95 % interval over volumes and
``unit`` (``"volume"``); ``features``: the FNAF searches' hit rate, control rate and loss per
search with the same fields (:mod:`fnaf.audit.features`; absent where not run); ``windows``:
the small window features' error and Moran's I with its permutation ``p``
(:mod:`fnaf.audit.windows`; absent where not run); ``flags``
(:mod:`fnaf.audit.flags`). Nothing in it depends on the
time or the machine, so the same inputs give the same file. The per-slice rows are kept beside
it (``<name>.rows.json``): an audit whose file exists is read back, not run again.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Mapping
from os import PathLike
from pathlib import Path

import pandas as pd
import torch
from torch import nn

import fnaf
from fnaf.attacks.windows import check_window
from fnaf.audit.features import feature_rows, feature_summary
from fnaf.audit.model import ReconModel, ReconPipeline
from fnaf.audit.suite import AuditSuite, audit_flags, audit_rows, audit_summary
from fnaf.audit.windows import window_rows, window_summary
from fnaf.captions import Sample
from fnaf.data.batches import SeededSlices
from fnaf.io import load_json, save_json
from fnaf.pipelines import pipeline_for
from fnaf.ranks import barrier, rank_world
from fnaf.runs.builders import attack_transform, datasets
from fnaf.runs.cache import TrainedRun
from fnaf.runs.configs import RunConfig
from fnaf.runs.untrained import data_key

#: The claim file's schema version (bumped when a field changes meaning or moves).
CLAIM_SCHEMA = 1


def model_identity(model: nn.Module, name: str) -> str:
    """The SHA-256 of the model's weights (names, dtypes, shapes and values, in name order), or
    ``name:<name>`` for a callable without any."""
    state = model.state_dict()
    if not state:
        return f"name:{name}"
    digest = hashlib.sha256()
    for key in sorted(state):
        value = state[key].detach().cpu().contiguous()
        digest.update(f"{key}:{value.dtype}:{tuple(value.shape)}".encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def audit(model: nn.Module, data: RunConfig, accel: int, suite: AuditSuite = AuditSuite(),
          directory: str | PathLike = "audits", *, pipeline=None, name: str | None = None,
          device=None, progress: bool = False) -> dict:
    """Audit ``model`` on ``data``'s validation slices at ``accel`` with ``suite``, write
    ``<directory>/<name>.json`` (the claim file) and return it. ``model``: a
    :class:`~fnaf.audit.model.ReconModel` (any callable; its pipeline and name are its own) or
    a network with its ``pipeline`` (:func:`fnaf.pipelines.pipeline_for`) and a ``name``. The
    data, the suite and the name are checked before any work; an audit already written for
    the same model, data and suite is read back, and an interrupted one resumes from the
    batches it finished (kept in ``<directory>/<name>.partial/`` until the claim is written).
    The package's methods that optimise at inference: :func:`fnaf.audit.methods.audit_method`."""
    if isinstance(model, ReconModel):
        pipeline, name = pipeline or ReconPipeline(), name or model.name
    if pipeline is None or not name or not re.fullmatch(r"[\w.+-]+", name):
        raise ValueError(f"audit needs a ReconModel, or a network with its pipeline and a name "
                         f"of letters, digits and . + - _ (the claim file's), not name={name!r}")
    return audit_checked(model, pipeline, name, model_identity(model, name), suite.settings(),
                         data, accel, suite, Path(directory), device=device, progress=progress)


def audit_checked(model: nn.Module, pipeline, name: str, identity: str, settings: dict,
                  data: RunConfig, accel: int, suite: AuditSuite, directory: Path, *,
                  attack=None, label: str | None = None, device=None,
                  progress: bool = False) -> dict:
    """:func:`audit` once the model is named and identified: the claim read back when written
    for the same header (``settings``: the suite's as the claim records them), else the suite
    run (``attack``: :func:`~fnaf.audit.suite.audit_rows`'), resuming from the batches kept
    under ``<name>.partial/``."""
    transform = attack_transform(data, accel)
    slices = datasets(data)[1]
    if suite.slices_per_volume is not None:
        slices = slices.middle_slices(suite.slices_per_volume)
    if suite.windows:  # the window must fit the target, known before any work
        check_window(suite.window, tuple(SeededSlices(slices, transform)[0].target.shape))
    header = claim_header(name, identity, bool(getattr(model, "optimises", False)), settings,
                          data, accel, label)
    path = directory / f"{name}.json"
    if path.exists() and path.with_suffix(".rows.json").exists():
        claim = load_json(path, f"delete {path} to audit again")
        if {key: claim.get(key) for key in header} == {
                **header, "data": {**header["data"], **_counts(claim.get("data", {}))}}:
            return claim
    partial = path.with_suffix(".partial")
    checkpoint = partial / hashlib.sha256(json.dumps(header, sort_keys=True).encode()
                                          ).hexdigest()[:12]
    rows, flags = audit_rows(model, pipeline, slices, transform, suite, attack=attack,
                             device=device, progress=progress, checkpoint=checkpoint)
    features = (feature_rows(model, pipeline, slices, transform, seed=suite.seed,
                             batch_size=suite.batch_size or 8, progress=progress,
                             checkpoint=checkpoint)
                if suite.features else None)
    windows = (window_rows(model, pipeline, slices, transform, window=suite.window,
                           grid=suite.grid, batch_size=suite.batch_size or 8, device=device,
                           checkpoint=checkpoint)
               if suite.windows else None)
    claim = write_claim(header, rows, flags, directory, suite.seed, features, windows)
    if rank_world()[0] == 0:
        shutil.rmtree(partial, ignore_errors=True)
    return claim


#: ``data.source`` of a claim file audited on the embedded phantom.
PHANTOM_SOURCE = "embedded phantom"


def claim_sample(claim: dict) -> Sample:
    """What a claim file's numbers rest on: per-slice scores (their intervals resample the
    volumes), its volumes and slices, and its data (None: the embedded phantom)."""
    data = claim["data"]
    return Sample("slice", data["volumes"], data["slices"],
                  data_root=None if data["source"] == PHANTOM_SOURCE else data["source"])


def claims_sample(claims: Mapping[str, dict]) -> Sample | dict[str, Sample]:
    """What several claim files rest on: one :func:`claim_sample` where all were audited on the
    same data (one data key, the same counts), else one per label of ``claims``."""
    samples = {label: claim_sample(claim) for label, claim in claims.items()}
    same = {(claim["data"]["key"], samples[label]) for label, claim in claims.items()}
    return next(iter(samples.values())) if len(same) == 1 else samples


def claim_header(name: str, identity: str, optimises: bool, suite: dict, data: RunConfig,
                 accel: int, label: str | None = None) -> dict:
    """A claim file's fields before any attack (``label``: a display name, default ``name``),
    as the file holds them (lists, not tuples)."""
    return json.loads(json.dumps({
        "schema": CLAIM_SCHEMA, "fnaf": fnaf.__version__, "suite": suite,
        "model": {"name": name, "label": label or name, "identity": identity,
                  "optimises": optimises},
        "data": {"source": str(data.data_root or PHANTOM_SOURCE),
                 "key": data_key(data, accel), "accel": accel}}))


def write_claim(header: dict, rows: pd.DataFrame, flags: list[dict],
                directory: str | PathLike, seed: int = 0,
                features: pd.DataFrame | None = None,
                windows: pd.DataFrame | None = None) -> dict:
    """The claim file of ``header`` with the suite's ``rows`` (worst case included), the
    model's ``flags``, and the FNAF searches' ``features`` rows and the ``windows`` rows where
    run (:func:`claim_file`), written to ``<directory>/<name>.json`` with the rows beside it
    (rank 0 under torchrun), and returned."""
    claim = json.loads(json.dumps(claim_file(header, rows, flags, seed, features, windows)))
    path = Path(directory) / f"{header['model']['name']}.json"
    if rank_world()[0] == 0:  # under torchrun every rank holds every row; one writes them
        extra = {name: frame.to_dict("records") for name, frame in
                 (("features", features), ("windows", windows)) if frame is not None}
        save_json({"rows": rows.to_dict("records"), "flags": flags, **extra},
                  path.with_suffix(".rows.json"))
        save_json(claim, path)
    barrier()
    return claim


def audit_run(run: TrainedRun, accel: int | None = None, suite: AuditSuite = AuditSuite(),
              directory: str | PathLike = "audits", **options) -> dict:
    """:func:`audit` of a trained run of the cache (its network, pipeline and data; named
    after its folder)."""
    return audit(run.model, run.config, run.config.evaluation_accel(accel), suite, directory,
                 pipeline=pipeline_for(run.config.model), name=run.directory.name, **options)


def _counts(data: dict) -> dict:
    return {key: data[key] for key in ("volumes", "slices") if key in data}


def claim_file(header: dict, rows: pd.DataFrame, flags: list[dict], seed: int = 0,
               features: pd.DataFrame | None = None,
               windows: pd.DataFrame | None = None) -> dict:
    """The claim file from the suite's rows (:func:`~fnaf.audit.suite.audit_rows`) and the
    model's flags: the summary's means and intervals as ``metrics``, the result flags added;
    with ``features`` (:func:`~fnaf.audit.features.feature_rows`), their rates as
    ``features``; with ``windows`` (:func:`~fnaf.audit.windows.window_rows`), the window error
    and Moran's I as ``windows``."""
    summary = audit_summary(rows, seed)
    metrics = []
    for (eps, kind), row in summary.iterrows():
        for score in ("SSIM", "SSIM drop", "NMSE"):
            metrics.append({"eps": float(eps), "kind": kind, "score": score,
                            "mean": float(row[score]), "low": float(row[f"{score} low"]),
                            "high": float(row[f"{score} high"]), "unit": "volume",
                            "volumes": int(row["volumes"]), "slices": int(row["slices"])})
    found = ({} if features is None else {"features": [
        {"search": search, "score": score, "mean": float(row["mean"]), "low": float(row["low"]),
         "high": float(row["high"]), "unit": "volume", "volumes": int(row["volumes"]),
         "slices": int(row["slices"])}
        for (search, score), row in feature_summary(features, seed=seed).iterrows()]})
    if windows is not None:
        found["windows"] = [
            {"score": score, "mean": float(row["mean"]), "low": float(row["low"]),
             "high": float(row["high"]), "unit": "volume", "volumes": int(row["volumes"]),
             "slices": int(row["slices"]),
             **({"p": float(row["p"]), "structured": bool(row["structured"])}
                if score == "Moran's I" else {})}
            for score, row in window_summary(windows, seed).iterrows()]
    return {**header, "data": {**header["data"], "volumes": int(rows["fname"].nunique()),
                               "slices": int(rows[["fname", "slice"]].drop_duplicates().shape[0])},
            "metrics": metrics, **found, "flags": [*flags, *audit_flags(summary)]}


def claim_metrics(claim: dict) -> pd.DataFrame:
    """A claim file's ``metrics`` as a table indexed ``(eps, kind, score)``."""
    return pd.DataFrame(claim["metrics"]).set_index(["eps", "kind", "score"])


def claim_rows(claim: dict, directory: str | PathLike) -> pd.DataFrame:
    """The per-slice measurement rows kept beside ``claim`` in ``directory``."""
    path = Path(directory) / f"{claim['model']['name']}.rows.json"
    return pd.DataFrame(load_json(path, f"audit {claim['model']['name']} again")["rows"])


def claim_windows(claim: dict) -> pd.DataFrame | None:
    """A claim file's ``windows`` as a table indexed by score (``window error``, ``Moran's
    I``); ``None`` where the suite ran none."""
    if "windows" not in claim:
        return None
    return pd.DataFrame(claim["windows"]).set_index("score")


def claim_features(claim: dict) -> pd.DataFrame | None:
    """A claim file's FNAF ``features`` as a table indexed ``(search, score)``; ``None`` where
    the suite ran none (a chapter's claim, or ``AuditSuite(features=False)``)."""
    if "features" not in claim:
        return None
    return pd.DataFrame(claim["features"]).set_index(["search", "score"])
