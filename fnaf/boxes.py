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
from scipy import stats

from fnaf.data.annotations import LABELS, AnnotationIndex
from fnaf.evaluation import VolumeReconstruction
from fnaf.metrics import region_nmse
from fnaf.paper import paper_table

#: Table 4's rows: the 11 compartments in the paper's order, then all of them together.
COMPARTMENTS = tuple(label.name for label in LABELS) + ("All",)


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
    return pd.DataFrame(rows, columns=["fname", "slice", "label", "compartment", "nmse"])


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


def table4(per_model: dict[str, pd.DataFrame], baselines: dict[str, str], accel: int,
           alpha: float = 0.05) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table 4: mean NMSE inside the boxes per compartment and model, with ``N``.

    Args:
        per_model: display name -> :func:`box_nmse` rows of that model.
        baselines: robust model -> its baseline (e.g. ``{"FNAF U-Net": "U-Net"}``); each pair
            is compared per compartment with a two-sided Wilcoxon rank-sum test.
        accel: 4 or 8, selecting the paper's values.

    Returns:
        ``(table, p_values)``. ``table`` has ``N`` and one column per model, the paper's ``N``
        and values as ``paper <model>`` columns, and ``<model> significant`` (p ≤ ``alpha``)
        for the robust models; ``p_values`` one column per robust model.
    """
    def rows_of(frame: pd.DataFrame, compartment: str) -> pd.Series:
        chosen = frame if compartment == "All" else frame[frame["compartment"] == compartment]
        return chosen["nmse"]

    reported = paper_table("table4_bbox_region_nmse")[f"{accel}x"]
    first = next(iter(per_model.values()))
    table = pd.DataFrame(index=pd.Index(COMPARTMENTS, name="compartment"))
    table["N"] = [len(rows_of(first, name)) for name in COMPARTMENTS]
    p_values = pd.DataFrame(index=table.index)
    for model, frame in per_model.items():
        table[model] = [rows_of(frame, name).mean() for name in COMPARTMENTS]
    for robust, baseline in baselines.items():
        p_values[robust] = [
            stats.ranksums(rows_of(per_model[robust], name), rows_of(per_model[baseline], name)
                           ).pvalue if len(rows_of(first, name)) else float("nan")
            for name in COMPARTMENTS]
        table[f"{robust} significant"] = p_values[robust] <= alpha
    table["paper N"] = [reported.get(name, {}).get("N") or float("nan") for name in COMPARTMENTS]
    for model in per_model:
        table[f"paper {model}"] = [reported.get(name, {}).get(model, {}).get("nmse", float("nan"))
                                   for name in COMPARTMENTS]
    return table, p_values
