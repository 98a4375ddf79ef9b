"""Attack a whole validation set: Table 2's attack rate and average NMSE, the control run's
false-alarm rate, and the information-preservation check (eq. 7-8)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch
from scipy import stats
from torch.utils.data import DataLoader, default_collate
from tqdm import tqdm

from fnaf.attacks.features import Features
from fnaf.attacks.fnaf import FnafAttack
from fnaf.data.fastmri import SliceDataset
from fnaf.data.transforms import SliceTransform
from fnaf.evaluation import SeededSlices, validation_batches


def check_thresholds(gamma: float | None = None, epsilon: float | None = None) -> None:
    """γ (the hit threshold) and ε (the information tolerance), where given, must be positive
    numbers."""
    for name, value in (("gamma", gamma), ("epsilon", epsilon)):
        if value is not None and not (isinstance(value, (int, float)) and value > 0):
            raise ValueError(f"{name} must be a positive number, not {value!r} (the paper: "
                             "gamma 0.25; epsilon a small tolerance such as 1e-4)")


@dataclass
class AttackReport:
    """Per-slice results of an attack over a dataset, and the thresholds that score them.

    ``slices`` has one row per slice: ``fname``, ``slice``, ``loss`` (the worst found),
    ``control`` (same region, no feature), ``recovery``, ``information`` (D of eq. 7, relative
    to the input's variance), ``information_mse`` (the plain MSE), and the
    worst feature's ``row``, ``col`` (centroid on the target grid), ``size`` (pixels) and
    ``pixels`` (its ``[row, col, value]`` triples, to rebuild it with :func:`feature_of`).
    """

    slices: pd.DataFrame
    gamma: float
    epsilon: float

    def __post_init__(self):
        check_thresholds(self.gamma, self.epsilon)

    def summary(self) -> dict:
        """Attack (hit) rate = share of slices with loss > γ; average loss (Table 2's NMSE);
        the control's false-alarm rate and mean; the mean feature-recovery error; the IP
        acceptance rate (D > ε) and the Pearson correlations of D (relative and plain MSE) with
        the loss, with p-values."""
        frame = self.slices

        def pearson(column: str) -> tuple[float, float]:
            if len(frame) < 3:
                return float("nan"), float("nan")
            result = stats.pearsonr(frame[column], frame["loss"])
            return float(result[0]), float(result[1])

        relative, plain = pearson("information"), pearson("information_mse")
        return {
            "slices": len(frame),
            "attack_rate": float((frame["loss"] > self.gamma).mean()),
            "nmse": float(frame["loss"].mean()),
            "control_rate": float((frame["control"] > self.gamma).mean()),
            "control_nmse": float(frame["control"].mean()),
            "recovery_error": float(frame["recovery"].mean()),
            "acceptance_rate": float((frame["information"] > self.epsilon).mean()),
            "ip_pearson_r": relative[0],
            "ip_pearson_p": relative[1],
            "ip_mse_pearson_r": plain[0],
            "ip_mse_pearson_p": plain[1],
        }


def attack_dataset(attack: FnafAttack, slices: SliceDataset, transform: SliceTransform, *,
                   batch_size: int = 8, gamma: float = 0.25, epsilon: float = 1e-4,
                   num_workers: int = 0, progress: bool = False) -> AttackReport:
    """Run ``attack`` on every slice of ``slices``.

    ``transform`` draws the masks (validation: one seeded mask per volume). ``gamma`` is the hit
    threshold on the loss (the paper: 0.25), ``epsilon`` the information-preservation tolerance.
    """
    check_thresholds(gamma, epsilon)
    loader = DataLoader(SeededSlices(slices, transform),
                        batch_sampler=validation_batches(slices, batch_size),
                        num_workers=num_workers, collate_fn=default_collate)
    rows = []
    for batch in tqdm(loader, desc="attack", disable=not progress, leave=False):
        result = attack(batch)
        centers = result.features.centers().cpu()
        columns = {name: getattr(result, name).cpu().tolist()
                   for name in ("loss", "control", "recovery", "information",
                                "information_mse")}
        sizes = result.features.sizes.cpu().tolist()
        for i, fname in enumerate(batch.fname):
            where = torch.nonzero(result.features.mask[i]).cpu()
            values = result.features.values[i][result.features.mask[i]].cpu()
            rows.append({"fname": fname, "slice": int(batch.slice_num[i]),
                         **{name: column[i] for name, column in columns.items()},
                         "row": float(centers[i, 0]), "col": float(centers[i, 1]),
                         "size": int(sizes[i]),
                         "pixels": [[int(r), int(c), float(v)]
                                    for (r, c), v in zip(where.tolist(), values.tolist())]})
    return AttackReport(pd.DataFrame(rows), gamma, epsilon)


def feature_of(pixels: list, shape: tuple[int, int]) -> Features:
    """Rebuild one stored feature (``[row, col, value]`` triples) as a batch of one."""
    mask = torch.zeros(1, *shape, dtype=torch.bool)
    values = torch.zeros(1, *shape)
    for row, col, value in pixels:
        mask[0, row, col], values[0, row, col] = True, value
    return Features(mask, values)

