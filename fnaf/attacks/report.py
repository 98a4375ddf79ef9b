"""Attack a whole validation set: Table 2's attack rate and average NMSE, the control run's
false-alarm rate, and the information-preservation check (eq. 7-8)."""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, default_collate
from tqdm import tqdm

from fnaf.attacks.features import Features
from fnaf.attacks.search import AttackResult, FnafAttack
from fnaf.data.batches import SeededSlices, validation_batches
from fnaf.data.fastmri import SliceDataset
from fnaf.data.transforms import KneeSlice, SliceTransform
from fnaf.ranks import gathered, my_batches
from fnaf.resume import BatchRows
from fnaf.stats import (
    cluster_bootstrap_correlation,
    cluster_bootstrap_mean,
    correlation,
    mcnemar_exact,
    volume_hits_test,
    wilson_interval,
)

#: The paper's hit threshold γ on the attack loss (§3.2).
PAPER_GAMMA = 0.25
#: The information-preservation tolerance ε of eq. 7 (D > ε: the feature's information kept).
INFORMATION_TOLERANCE = 1e-4


def check_thresholds(gamma: float | None = None, epsilon: float | None = None) -> None:
    """γ (the hit threshold) and ε (the information tolerance), where given, must be positive
    numbers."""
    for name, value in (("gamma", gamma), ("epsilon", epsilon)):
        if value is not None and not (isinstance(value, (int, float)) and value > 0):
            raise ValueError(f"{name} must be a positive number, not {value!r} (the paper: "
                             "gamma 0.25; epsilon a small tolerance such as 1e-4)")


#: A feature counts as lost when the reconstruction's response to it misses more than half of
#: its energy inside T (recovery error ``‖Δx − δ′‖²_T / ‖δ′‖²_T > 0.5``; 1 = not reconstructed
#: at all). Unlike the paper's loss, it is normalised by the feature, not by the tissue around it.
LOST_RECOVERY_ERROR = 0.5


@dataclass
class AttackReport:
    """Per-slice results of an attack over a dataset, and the thresholds that score them.

    ``slices`` has one row per slice: ``fname``, ``slice``, ``acquisition`` (contrast),
    ``loss`` (the worst found), ``control`` (same region, no feature), ``control_max`` (the
    largest control over all candidates' regions: the false-alarm statistic of a max over K),
    ``controls`` (every candidate's control), ``ceiling`` (the loss of losing the feature
    completely, see :class:`~fnaf.attacks.search.AttackResult`), ``recovery``, ``information``
    (D of eq. 7, relative to the input's variance), ``information_mse`` (the plain MSE), and the
    worst feature's ``row``, ``col`` (centroid on the target grid), ``size`` (pixels) and
    ``pixels`` (its ``[row, col, value]`` triples, to rebuild it with :func:`feature_of`).
    """

    slices: pd.DataFrame
    gamma: float
    epsilon: float

    def __post_init__(self):
        check_thresholds(self.gamma, self.epsilon)

    def summary(self, seed: int = 0) -> dict:
        """Table 2's quantities with 95 % intervals (``<name>_low``, ``<name>_high``; Wilson for
        rates, a bootstrap over volumes for means, seeded by ``seed``):

        * ``attack_rate``: share of slices with loss > γ (the paper's hit); ``nmse``: the mean
          worst loss;
        * ``control_rate``: the control at the worst candidate > γ; ``control_max_rate``: the
          largest control over the same K regions > γ, the false-alarm rate of the attack's own
          statistic; ``control_all_rate``: the share of all (slice, candidate) controls > γ;
        * ``hit_with_control_rate``: hits whose control also exceeds γ (the loss alone does
          not show that the feature was lost there); ``control_nmse``, ``recovery_error``;
        * ``ceiling_rate``: slices whose complete-loss NMSE exceeds γ, the only ones where the
          paper's hit is possible; ``lost_rate``: slices whose recovery error exceeds
          :data:`LOST_RECOVERY_ERROR`, a hit free of that contrast ceiling;
        * ``acceptance_rate`` (D > ε) and the Pearson correlations of D with the loss, with
          p-values and 95 % intervals: ``ip_pearson_r``, ``_p``, ``_r_low``, ``_r_high`` for the
          relative D, ``ip_mse_pearson_*`` for the plain MSE (slices as independent), and
          ``_r_volume_low``, ``_r_volume_high``: r's interval resampling volumes (the unit is
          the patient; :func:`~fnaf.stats.cluster_bootstrap_correlation`); ``volumes``.
        """
        frame = self.slices
        volumes = frame["fname"]

        def rate(name: str, hits) -> dict:
            hits = np.asarray(hits, dtype=bool)
            low, high = wilson_interval(int(hits.sum()), hits.size)
            return {name: float(hits.mean()) if hits.size else float("nan"),
                    f"{name}_low": low, f"{name}_high": high}

        def mean(name: str, column: str) -> dict:
            value, low, high = cluster_bootstrap_mean(frame[column], volumes, seed=seed)
            return {name: value, f"{name}_low": low, f"{name}_high": high}

        def pearson(name: str, column: str) -> dict:
            """r of D with the loss over slices, its p and 95 % interval (Fisher's z; slices of
            one volume are treated as independent), and r's interval resampling volumes."""
            result = correlation(frame[column], frame["loss"])
            _, low, high = cluster_bootstrap_correlation(frame[column], frame["loss"], volumes,
                                                         "pearson", seed=seed)
            return {**{f"{name}_{part}": result[f"pearson_{key}"] for part, key in
                       (("r", "r"), ("p", "p"), ("r_low", "low"), ("r_high", "high"))},
                    f"{name}_r_volume_low": low, f"{name}_r_volume_high": high}

        hits, controls = frame["loss"] > self.gamma, frame["control"] > self.gamma
        return {
            "slices": len(frame), "volumes": volumes.nunique(),
            **rate("attack_rate", hits),
            **mean("nmse", "loss"),
            **rate("control_rate", controls),
            **rate("control_max_rate", frame["control_max"] > self.gamma),
            **rate("control_all_rate", np.concatenate([np.asarray(c) > self.gamma
                                                        for c in frame["controls"]])),
            **rate("hit_with_control_rate", hits & controls),
            **mean("control_nmse", "control"),
            **mean("recovery_error", "recovery"),
            **rate("ceiling_rate", frame["ceiling"] > self.gamma),
            **rate("lost_rate", frame["recovery"] > LOST_RECOVERY_ERROR),
            **rate("acceptance_rate", frame["information"] > self.epsilon),
            **pearson("ip_pearson", "information"),
            **pearson("ip_mse_pearson", "information_mse"),
        }


def by_contrast(report: AttackReport) -> dict[str, AttackReport]:
    """The report split by the slices' contrast (``"PD"``, ``"PD-FS"``)."""
    names = {"CORPD_FBK": "PD", "CORPDFS_FBK": "PD-FS"}
    return {names.get(acquisition, acquisition): AttackReport(part, report.gamma, report.epsilon)
            for acquisition, part in report.slices.groupby("acquisition")}


def aligned_hits(report: AttackReport, reference: AttackReport) -> tuple[pd.Series, pd.Series]:
    """Hits (loss > γ) of two models attacked on the same slices (with the same seed, so with
    the same candidate features), each a boolean series indexed ``(fname, slice)`` in one order."""
    def hits(of: AttackReport) -> pd.Series:
        return (of.slices.set_index(["fname", "slice"])["loss"] > of.gamma).sort_index()

    mine, theirs = hits(report), hits(reference)
    if not mine.index.equals(theirs.index):
        raise ValueError("the two reports cover different slices; attack the same validation "
                         "set with both models")
    return mine, theirs


def compare_hits(report: AttackReport, reference: AttackReport) -> tuple[int, int, float]:
    """The two models' hits (:func:`aligned_hits`) by the exact McNemar test, slices as
    independent: ``(only report's hits, only reference's hits, p)``."""
    mine, theirs = aligned_hits(report, reference)
    return mcnemar_exact(mine.to_numpy(), theirs.to_numpy())


def compare_hits_by_volume(report: AttackReport, reference: AttackReport,
                           seed: int = 0) -> dict[str, float]:
    """The two models' hits (:func:`aligned_hits`) with the volume as the unit
    (:func:`fnaf.stats.volume_hits_test`): the attack-rate difference (report − reference)
    with its volume-bootstrap interval, and the signed-rank p of the per-volume differences."""
    mine, theirs = aligned_hits(report, reference)
    return volume_hits_test(mine.to_numpy(), theirs.to_numpy(),
                            mine.index.get_level_values("fname"), seed=seed)


def paired_hits(reports: dict[tuple[str, int], AttackReport],
                baselines: dict[str, str]) -> pd.DataFrame:
    """Each model's hits against its baseline's (``baselines``: label → baseline's label) at
    each acceleration of ``reports`` (keyed ``(label, accel)``): a frame indexed ``(AF,
    model)`` with ``"hits, model only"``, ``"hits, baseline only"``, ``"McNemar p"``
    (slices as independent, :func:`compare_hits`), and by volume (:func:`compare_hits_by_volume`)
    ``"Δ attack rate (pp)"`` with ``low``/``high``, ``"volumes"`` and ``"p volumes"``."""
    rows = {}
    for (label, accel), report in reports.items():
        if label in baselines:
            reference = reports[baselines[label], accel]
            only_model, only_baseline, p = compare_hits(report, reference)
            by_volume = compare_hits_by_volume(report, reference)
            rows[f"{accel}×", label] = {
                "hits, model only": only_model, "hits, baseline only": only_baseline,
                "McNemar p": p, **_rate_difference(by_volume, "Δ attack rate (pp)"),
                "volumes": by_volume["volumes"], "p volumes": by_volume["p volumes"]}
    return pd.DataFrame(rows).T.rename_axis(["AF", "model"])


def _rate_difference(by_volume: dict[str, float], name: str) -> dict[str, float]:
    """The rate difference of :func:`compare_hits_by_volume` in percentage points, as
    ``name``, ``name low`` and ``name high``."""
    return {f"{name}{end}": 100 * by_volume[f"rate difference{end}"]
            for end in ("", " low", " high")}


def attack_dataset(attack: FnafAttack, slices: SliceDataset, transform: SliceTransform, *,
                   batch_size: int = 8, gamma: float = PAPER_GAMMA,
                   epsilon: float = INFORMATION_TOLERANCE,
                   num_workers: int = 0, progress: bool = False,
                   checkpoint: str | PathLike | None = None) -> AttackReport:
    """Run ``attack`` on every slice of ``slices``.

    ``transform`` draws the masks (validation: one seeded mask per volume). ``gamma`` is the hit
    threshold on the loss (the paper: 0.25), ``epsilon`` the information-preservation tolerance.
    Each batch is attacked with the generator seeded by its position
    (:meth:`~fnaf.attacks.search.FnafAttack.seeded`); under ``torchrun`` each process attacks
    every ``world``-th batch (:mod:`fnaf.ranks`) and every process returns all rows, in the
    order one process gives. ``checkpoint``: a file stem keeping each finished batch's rows
    (:class:`~fnaf.resume.BatchRows`), so an interrupted call resumes where it stopped.
    """
    check_thresholds(gamma, epsilon)
    batches = validation_batches(slices, batch_size)
    mine = my_batches(batches)
    loader = DataLoader(SeededSlices(slices, transform),
                        batch_sampler=[batch for _, batch in mine],
                        num_workers=num_workers, collate_fn=default_collate)
    rows, kept = {}, BatchRows(checkpoint)
    for (position, _), batch in zip(mine, tqdm(loader, desc="attack", disable=not progress,
                                                leave=False)):
        if position in kept:
            rows[position] = kept[position]
            continue
        try:
            rows[position] = _slice_rows(attack.seeded(position)(batch), batch)
            kept.save(position, rows[position])
        except torch.OutOfMemoryError as error:
            raise torch.OutOfMemoryError(
                f"out of memory attacking {len(batch.fname)} slices of k-space shape "
                f"{tuple(batch.kspace.shape[1:])} with {attack.chunk_size} candidate "
                "reconstructions per forward pass: lower chunk_size (AttackConfig.chunk_size, "
                "the CLI's --attack-chunk-size) or batch_size (--attack-batch-size)") from error
    return AttackReport(pd.DataFrame(gathered(rows, len(batches))), gamma, epsilon)


def _slice_rows(result: AttackResult, batch: KneeSlice) -> list[dict]:
    """One :class:`AttackReport` row per slice of ``batch`` from the attack's ``result``."""
    centers = result.features.centers().cpu()
    columns = {name: getattr(result, name).cpu().tolist()
               for name in ("loss", "control", "ceiling", "recovery", "information",
                            "information_mse")}
    columns["control_max"] = result.controls.amax(dim=1).cpu().tolist()
    columns["controls"] = result.controls.cpu().tolist()
    sizes = result.features.sizes.cpu().tolist()
    rows = []
    for i, fname in enumerate(batch.fname):
        where = torch.nonzero(result.features.mask[i]).cpu()
        values = result.features.values[i][result.features.mask[i]].cpu()
        rows.append({"fname": fname, "slice": int(batch.slice_num[i]),
                     "acquisition": batch.acquisition[i],
                     **{name: column[i] for name, column in columns.items()},
                     "row": float(centers[i, 0]), "col": float(centers[i, 1]),
                     "size": int(sizes[i]),
                     "pixels": [[int(r), int(c), float(v)]
                                for (r, c), v in zip(where.tolist(), values.tolist())]})
    return rows


def feature_of(pixels: list, shape: tuple[int, int],
               device: torch.device | str = "cpu") -> Features:
    """Rebuild one stored feature (``[row, col, value]`` triples) as a batch of one on
    ``device``."""
    mask = torch.zeros(1, *shape, dtype=torch.bool)
    values = torch.zeros(1, *shape)
    for row, col, value in pixels:
        mask[0, row, col], values[0, row, col] = True, value
    return Features(mask.to(device), values.to(device))

