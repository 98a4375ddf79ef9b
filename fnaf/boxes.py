"""Reconstruction error inside the annotated abnormalities: the NMSE per (volume, slice, label)
that the paper's Table 4 and Figs. 8-9 summarise (the table itself: :func:`fnaf.tables.table4`).

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
