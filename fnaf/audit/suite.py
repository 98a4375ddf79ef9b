"""The audit's fixed attack suite, run on any :class:`~fnaf.audit.model.ReconModel`.

The suite (:class:`AuditSuite`, versioned by :data:`SUITE_VERSION`) is the same for every model:
k-space L2 PGD (appendix eq. 2, :class:`~fnaf.attacks.pgd.KspacePGD`) with APGD's
step-size-free schedule (:mod:`fnaf.attacks.apgd`) and restarts at each ε of chapter 07's grid,
beside the random control of the same norm and physics-realistic noise at the same SNR (the
scan's own coil covariance, :mod:`fnaf.attacks.coil_noise`), on the middle slices of every
validation volume (:func:`~fnaf.attacks.measurement.measurement_rows`: batches grouped by
shape, shared over ``torchrun`` ranks). Per slice and ε the **worst case** is the lowest SSIM
of the three. :func:`audit_summary` gives each mean with a 95 % interval
resampling volumes (the unit is the patient).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
from torch import nn
from torch.utils.data import default_collate

from fnaf.attacks.coil_noise import CoilNoise
from fnaf.attacks.measurement import measurement_rows
from fnaf.attacks.pgd import NORMS, KspacePGD, PgdResult, check_pgd_settings
from fnaf.attacks.report import PAPER_GAMMA
from fnaf.audit.features import SEARCHES
from fnaf.audit.flags import convergence_flags, model_flags, result_flags
from fnaf.checks import check_counts
from fnaf.data.batches import SeededSlices, validation_batches
from fnaf.data.transforms import KneeSlice, SliceTransform
from fnaf.devices import resolve_device
from fnaf.runs.configs import AttackConfig
from fnaf.stats import cluster_bootstrap_mean

#: Bumped whenever the suite's attacks or their settings change (claim files say which):
#: 2 the convergence check; 3 APGD's schedule, the coil noise, the FNAF searches and the
#: small window features.
SUITE_VERSION = 3
#: A batch attack at a perturbation size: ``(eps, longer)`` -> (batch -> PgdResult).
AttackFor = Callable[..., Callable[[KneeSlice], PgdResult]]
#: The scores a claim file reports, and the kinds of perturbation per ε.
SCORES = ("SSIM", "NMSE")
KINDS = ("attack", "control", "coil noise", "worst case")


@dataclass(frozen=True)
class AuditSuite:
    """The suite's settings: ``eps`` the perturbation sizes (relative to the measurements' norm,
    chapter 07's grid), ``steps``, ``restarts`` and step ``schedule`` of PGD
    (:data:`~fnaf.attacks.pgd.SCHEDULES`; the papers' fixed steps as an option), the
    perturbation's ``norm``
    convention, the middle ``slices_per_volume`` of every validation volume (``None``: all),
    the ``batch_size`` (memory only: a slice's result does not depend on it), the ``seed``
    of the starts and the control, and ``convergence``: PGD run again at the largest ε with
    twice the steps and restarts (:func:`~fnaf.audit.flags.convergence_flags`); ``features``:
    the FNAF paper's searches for false-negative features (:mod:`fnaf.audit.features`);
    ``windows``: a ``window``-pixel feature at ``grid``×``grid`` locations of every slice
    (:mod:`fnaf.audit.windows`; chapter 10's defaults)."""

    eps: tuple[float, ...] = (0.02, 0.04, 0.08)
    steps: int = 10
    restarts: int = 2
    norm: str = NORMS[0]
    slices_per_volume: int | None = 2
    batch_size: int | None = 8
    seed: int = 0
    convergence: bool = True
    schedule: str = "apgd"
    features: bool = True
    windows: bool = True
    window: int = 5
    grid: int = 5

    def __post_init__(self):
        object.__setattr__(self, "eps", tuple(float(value) for value in self.eps))
        if not self.eps or sorted(self.eps) != list(self.eps) or min(self.eps) <= 0:
            raise ValueError(f"eps must be increasing perturbation sizes > 0, not {self.eps}")
        for value in self.eps:
            check_pgd_settings(value, self.steps, None, self.restarts, self.norm,
                               schedule=self.schedule)
        check_counts(window=self.window, grid=self.grid)
        for name in ("convergence", "features", "windows"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, not {getattr(self, name)!r}")
        if self.slices_per_volume is not None and self.slices_per_volume < 1:
            raise ValueError(f"slices_per_volume must be >= 1 or None, not "
                             f"{self.slices_per_volume}")

    def settings(self) -> dict:
        """What the claim file records of the suite (with the FNAF searches' settings)."""
        features = self.features and {"searches": list(SEARCHES), "gamma": PAPER_GAMMA,
                                      "n_candidates": AttackConfig.n_candidates,
                                      "n_pixels": AttackConfig.n_pixels}
        return {"version": SUITE_VERSION, **asdict(self), "features": features}


def pgd_attack(model: nn.Module, pipeline, suite: AuditSuite) -> AttackFor:
    """The suite's gradient attack: ``(eps, longer)`` -> k-space PGD with the suite's steps,
    restarts and schedule (twice the steps and restarts when ``longer``, the convergence
    check)."""
    def attack(eps: float, longer: bool = False) -> KspacePGD:
        factor = 2 if longer else 1
        return KspacePGD(model, pipeline, eps, steps=factor * suite.steps,
                         restarts=factor * suite.restarts, norm=suite.norm, seed=suite.seed,
                         schedule=suite.schedule)
    return attack


def audit_rows(model: nn.Module, pipeline, slices, transform: SliceTransform,
               suite: AuditSuite, *, attack: AttackFor | None = None, device=None,
               progress: bool = False, checkpoint: Path | None = None
               ) -> tuple[pd.DataFrame, list[dict]]:
    """Run the suite on ``model`` and its ``pipeline`` (:mod:`fnaf.pipelines`, or
    :class:`~fnaf.audit.model.ReconPipeline` for a callable): the model's flags on the first
    batch (:func:`~fnaf.audit.flags.model_flags`), then the attack and its control, and the
    coil noise, at every ε. ``attack``: ``(eps, longer)`` -> a batch attack, default
    :func:`pgd_attack` (a method that optimises at inference brings the two-step attack,
    :mod:`fnaf.audit.methods`; the gradient flags are then not the model's to raise). Returns
    the measurement rows (one per slice, ε and kind, :data:`fnaf.attacks.measurement.COLUMNS`)
    with the worst case added, and the flags (the convergence check's among them).
    ``checkpoint``: a folder keeping each attack's finished batches
    (:class:`~fnaf.resume.BatchRows`), so an interrupted audit resumes."""
    device = resolve_device(device)
    model.to(device)
    flags = []
    if attack is None:
        batch = first_batch(slices, transform, suite.batch_size or 8).to(device)
        flags = model_flags(model, pipeline, batch, max(suite.eps), suite.seed)
        attack = pgd_attack(model, pipeline, suite)
    options = dict(batch_size=suite.batch_size, progress=progress, device=device)

    def kept(stage: str) -> Path | None:
        return None if checkpoint is None else checkpoint / stage

    rows = measurement_rows(attack, slices, transform, suite.eps, checkpoint=kept("attack"),
                            **options)
    noise = measurement_rows(lambda eps: CoilNoise(model, pipeline, eps, suite.norm, suite.seed),
                             slices, transform, suite.eps, checkpoint=kept("coil-noise"),
                             **options)
    if suite.convergence:
        longer = measurement_rows(lambda eps: attack(eps, longer=True), slices, transform,
                                  (max(suite.eps),), checkpoint=kept("convergence"), **options)
        flags += convergence_flags(rows[rows["eps"] == max(suite.eps)], longer)
    noise = noise[noise["kind"] == "attack"].assign(kind="coil noise")  # its own control left out
    return worst_case(pd.concat([rows, noise], ignore_index=True)), flags


def first_batch(slices, transform: SliceTransform, batch_size: int):
    """The first batch the attacks see (consecutive slices of one shape), collated: what the
    model flags are checked on."""
    seeded = SeededSlices(slices, transform)
    return default_collate([seeded[index] for index in
                            validation_batches(slices, batch_size)[0]])


def worst_case(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with, per slice and ε, a ``worst case`` row: the kind with the lower SSIM (its
    scores, and ``source`` naming it)."""
    rows = rows.assign(source=rows["kind"])
    lowest = rows.loc[rows.groupby(["fname", "slice", "eps"], sort=False)["SSIM"].idxmin()]
    return pd.concat([rows, lowest.assign(kind="worst case")], ignore_index=True)


def audit_summary(rows: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Per ``(eps, kind)``: each score of :data:`SCORES` and the SSIM drop from the clean
    reconstruction (``clean SSIM − SSIM``), their means with a 95 % interval resampling volumes
    (``low``/``high``), and the ``slices`` and ``volumes`` behind them."""
    table = {}
    rows = rows.assign(**{"SSIM drop": rows["clean SSIM"] - rows["SSIM"]})
    for (eps, kind), part in rows.groupby(["eps", "kind"], sort=True):
        entry = {"slices": len(part), "volumes": part["fname"].nunique()}
        for score in (*SCORES, "SSIM drop"):
            mean, low, high = cluster_bootstrap_mean(part[score], part["fname"], seed=seed)
            entry.update({score: mean, f"{score} low": low, f"{score} high": high})
        table[eps, kind] = entry
    summary = pd.DataFrame(table).T.rename_axis(["eps", "kind"])
    return summary.reindex(pd.MultiIndex.from_product(
        [sorted(set(rows["eps"])), [kind for kind in KINDS if kind in set(rows["kind"])]],
        names=["eps", "kind"]))


def audit_flags(summary: pd.DataFrame) -> list[dict]:
    """The flags read from the results (:func:`~fnaf.audit.flags.result_flags`)."""
    return result_flags(summary.drop(index="worst case", level="kind"))
