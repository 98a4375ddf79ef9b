"""Reconstruction error inside the annotated abnormalities (the paper's Table 4, Figs. 8-9).

The evaluation unit is (volume, slice, label): for every annotated slice and every label with a
box on it, the NMSE of the reconstruction inside that label's boxes (rasterised in network
orientation on the target grid). The same functions score a run's reconstructions and fastMRI
prediction files read from disk, against the published annotation CSVs.
"""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from fnaf.data.annotations import LABELS, AnnotationIndex
from fnaf.evaluation import VolumeReconstruction
from fnaf.metrics import region_nmse
from fnaf.paper import paper_table
from fnaf.stats import cluster_bootstrap_mean, paired_test

#: Table 4's rows: the 11 compartments in the paper's order, then all of them together.
COMPARTMENTS = tuple(label.name for label in LABELS) + ("All",)


#: The columns of :func:`box_nmse`.
BOX_COLUMNS = ["fname", "slice", "label", "compartment", "nmse"]


def box_nmse(volumes: Iterable[VolumeReconstruction], annotations: AnnotationIndex
             ) -> pd.DataFrame:
    """NMSE inside the boxes per (volume, slice, label).

    Returns columns ``fname``, ``slice`` (0-based), ``label`` (CSV code), ``compartment``
    (the paper's name) and ``nmse``; slices without boxes give no rows.
    """
    rows = []
    for volume in volumes:
        for index, slice_num in enumerate(volume.slice_nums):
            target = volume.target[index]
            masks = annotations.masks(volume.fname, slice_num, target.shape)
            for label, mask in zip(LABELS, masks):
                if mask.any():
                    rows.append({"fname": volume.fname, "slice": slice_num,
                                 "label": label.code, "compartment": label.name,
                                 "nmse": region_nmse(target, volume.reconstruction[index],
                                                     mask)})
    return pd.DataFrame(rows, columns=BOX_COLUMNS)


def prediction_volumes(predictions: str | PathLike, targets: str | PathLike,
                       recons_key: str = "reconstruction_esc") -> Iterable[VolumeReconstruction]:
    """fastMRI prediction files (dataset ``reconstruction``) beside their targets, as
    :class:`~fnaf.evaluation.VolumeReconstruction` s (every slice; no model loss)."""
    predictions, targets = Path(predictions), Path(targets)
    files = sorted(predictions.glob("*.h5"))
    if not files:
        raise FileNotFoundError(f"{predictions}: no prediction files (*.h5)")
    for path in files:
        target_path = targets / path.name
        if not target_path.exists():
            raise FileNotFoundError(f"{path.name}: no target file {target_path}")
        with h5py.File(path, "r") as handle, h5py.File(target_path, "r") as target_file:
            reconstruction = handle["reconstruction"][()]
            target = target_file[recons_key][()]
        if reconstruction.shape != target.shape:
            raise ValueError(f"{path}: prediction {reconstruction.shape} and target "
                             f"{target.shape} differ in shape")
        yield VolumeReconstruction(path.name, list(range(len(target))), reconstruction,
                                   target, np.zeros_like(target), 0.0)


UNIT = ["fname", "slice", "label"]


def table4(per_model: dict[str, pd.DataFrame], baselines: dict[str, str], accel: int,
           alpha: float = 0.05, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table 4: mean NMSE inside the boxes per compartment and model, with intervals and paired
    tests of each robust model against its baseline.

    Every model is scored on the same (volume, slice, label) units, so a robust model is
    compared with its baseline unit by unit: the two-sided Wilcoxon signed-rank test (exact for
    small ``N``; compartments with fewer than :data:`~fnaf.stats.MIN_PAIRED_UNITS` units are
    shown but not tested), with the direction of the median difference. The paper's unpaired
    rank-sum test is given beside it.

    Args:
        per_model: display name -> :func:`box_nmse` rows of that model (the same units).
        baselines: robust model -> its baseline (e.g. ``{"FNAF U-Net": "U-Net"}``).
        accel: 4 or 8, selecting the paper's values.
        seed: of the bootstrap over volumes behind the means' 95 % intervals.

    Returns:
        ``(table, tests)``. ``table``: ``N``; per model the mean (``<model>``) and its interval
        (``<model> low``, ``<model> high``); per robust model ``<robust> direction``
        (``lower``/``higher``/``equal`` than the baseline, lower is better) and
        ``<robust> significant`` (signed-rank p ≤ ``alpha``); the paper's ``paper N`` and
        ``paper <model>``. ``tests``: per robust model ``<robust> p`` (signed-rank) and
        ``<robust> p rank-sum``.
    """
    def units_of(frame: pd.DataFrame, compartment: str) -> pd.DataFrame:
        chosen = frame if compartment == "All" else frame[frame["compartment"] == compartment]
        return chosen.sort_values(UNIT)

    reference_units = next(iter(per_model.values()))[UNIT]
    for model, frame in per_model.items():
        if not frame[UNIT].sort_values(UNIT).reset_index(drop=True).equals(
                reference_units.sort_values(UNIT).reset_index(drop=True)):
            raise ValueError(f"{model}: scored on other (volume, slice, label) units than "
                             f"{next(iter(per_model))}; every model must be scored on the "
                             "same annotated units")
    reported = paper_table("table4_bbox_region_nmse")[f"{accel}x"]
    first = next(iter(per_model.values()))
    table = pd.DataFrame(index=pd.Index(COMPARTMENTS, name="compartment"))
    table["N"] = [len(units_of(first, name)) for name in COMPARTMENTS]
    tests = pd.DataFrame(index=table.index)
    for model, frame in per_model.items():
        summaries = [cluster_bootstrap_mean(units["nmse"], units["fname"], seed=seed)
                     for units in (units_of(frame, name) for name in COMPARTMENTS)]
        table[model], table[f"{model} low"], table[f"{model} high"] = zip(*summaries)
    for robust, baseline in baselines.items():
        comparisons = [paired_test(units_of(per_model[robust], name)["nmse"],
                                   units_of(per_model[baseline], name)["nmse"])
                       for name in COMPARTMENTS]
        tests[f"{robust} p"] = [c.p_signed_rank for c in comparisons]
        tests[f"{robust} p rank-sum"] = [c.p_rank_sum for c in comparisons]
        table[f"{robust} direction"] = [c.direction for c in comparisons]
        table[f"{robust} significant"] = [c.significant(alpha) for c in comparisons]
    table["paper N"] = [reported.get(name, {}).get("N") or float("nan") for name in COMPARTMENTS]
    for model in per_model:
        table[f"paper {model}"] = [reported.get(name, {}).get(model, {}).get("nmse", float("nan"))
                                   for name in COMPARTMENTS]
    return table, tests
