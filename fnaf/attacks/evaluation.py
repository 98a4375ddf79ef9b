"""Attack a whole validation set: Table 2's attack rate and average NMSE, the control run's
false-alarm rate, and the information-preservation check (eq. 7-8)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from scipy import stats
from torch.utils.data import DataLoader, default_collate
from tqdm.auto import tqdm

from fnaf.attacks.fnaf import FnafAttack
from fnaf.data.fastmri import SliceDataset
from fnaf.data.transforms import SliceTransform
from fnaf.evaluation import SeededSlices, validation_batches


@dataclass
class AttackReport:
    """Per-slice results of an attack over a dataset, and the thresholds that score them.

    ``slices`` has one row per slice: ``fname``, ``slice``, ``loss`` (the worst found),
    ``control`` (same region, no feature), ``recovery``, ``information`` (D of eq. 7), and the
    worst feature's ``row``, ``col`` (centroid on the target grid) and ``size`` (pixels).
    """

    slices: pd.DataFrame
    gamma: float
    epsilon: float

    def summary(self) -> dict:
        """Attack (hit) rate = share of slices with loss > γ; average loss (Table 2's NMSE);
        the control's false-alarm rate and mean; the mean feature-recovery error; the IP
        acceptance rate (D > ε) and the Pearson correlation of D with the loss (with p-value)."""
        frame = self.slices
        correlation = stats.pearsonr(frame["information"], frame["loss"]) if len(frame) > 2 \
            else (float("nan"), float("nan"))
        return {
            "slices": len(frame),
            "attack_rate": float((frame["loss"] > self.gamma).mean()),
            "nmse": float(frame["loss"].mean()),
            "control_rate": float((frame["control"] > self.gamma).mean()),
            "control_nmse": float(frame["control"].mean()),
            "recovery_error": float(frame["recovery"].mean()),
            "acceptance_rate": float((frame["information"] > self.epsilon).mean()),
            "ip_pearson_r": float(correlation[0]),
            "ip_pearson_p": float(correlation[1]),
        }


def attack_dataset(attack: FnafAttack, slices: SliceDataset, transform: SliceTransform, *,
                   batch_size: int = 8, gamma: float = 0.25, epsilon: float = 1e-4,
                   num_workers: int = 0, progress: bool = False) -> AttackReport:
    """Run ``attack`` on every slice of ``slices``.

    ``transform`` draws the masks (validation: one seeded mask per volume). ``gamma`` is the hit
    threshold on the loss (the paper: 0.25), ``epsilon`` the information-preservation tolerance.
    """
    if gamma <= 0 or epsilon <= 0:
        raise ValueError(f"gamma ({gamma}) and epsilon ({epsilon}) must be positive")
    loader = DataLoader(SeededSlices(slices, transform),
                        batch_sampler=validation_batches(slices, batch_size),
                        num_workers=num_workers, collate_fn=default_collate)
    rows = []
    for batch in tqdm(loader, desc="attack", disable=not progress, leave=False):
        result = attack(batch)
        centers = result.features.centers().cpu()
        columns = {name: getattr(result, name).cpu().tolist()
                   for name in ("loss", "control", "recovery", "information")}
        sizes = result.features.sizes.cpu().tolist()
        for i, fname in enumerate(batch.fname):
            rows.append({"fname": fname, "slice": int(batch.slice_num[i]),
                         **{name: values[i] for name, values in columns.items()},
                         "row": float(centers[i, 0]), "col": float(centers[i, 1]),
                         "size": int(sizes[i])})
    return AttackReport(pd.DataFrame(rows), gamma, epsilon)

