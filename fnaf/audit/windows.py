"""The audit's small window features (Darestani et al., §6, chapter 10): how well a model keeps a
small feature, and whether that depends on where the feature is.

On every audited slice, a ``window``×``window`` feature (:mod:`fnaf.attacks.windows`: ``max / 6``
added to every coil) is placed at each corner of a ``grid``×``grid`` grid over the target
(:func:`~fnaf.attacks.windows.location_map`) and the model reconstructs each placement. The
claim reports

* the mean **window error** (the standardised MSE inside the window) with its 95 % interval
  resampling volumes;
* the map's **location dependence**: each image's Moran's I on the grid (rook neighbours), its
  mean over images with a volume interval, and the within-image permutation ``p``
  (:func:`~fnaf.stats.location_structure`, which keeps each image's errors and shuffles only
  their places): "structured" where ``p ≤ 0.05`` and I > 0 — the paper's finding that every
  method depends on location, read by chapter 10's test.

Slices are mapped a validation batch at a time (one k-space shape each), so memory stays that
of a batch; each finished batch is kept (:class:`~fnaf.resume.BatchRows`) for a resumed audit.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from torch import nn

from fnaf.attacks.windows import location_map
from fnaf.data.batches import collate_slices, validation_batches
from fnaf.data.fastmri import SliceDataset
from fnaf.data.transforms import SliceTransform
from fnaf.pipelines import trained_reconstructor
from fnaf.resume import BatchRows
from fnaf.stats import cluster_bootstrap_mean, location_matrix, location_structure

#: The significance level of the location test (chapter 10's).
ALPHA = 0.05


def window_rows(model: nn.Module, pipeline, slices: SliceDataset, transform: SliceTransform,
                *, window: int, grid: int, batch_size: int = 8, device=None,
                checkpoint: Path | None = None) -> pd.DataFrame:
    """The window error of every slice at every grid location: one row per (slice, location),
    :data:`~fnaf.attacks.windows.MAP_COLUMNS`."""
    reconstruct = trained_reconstructor(model, pipeline)
    kept = BatchRows(None if checkpoint is None else checkpoint / "windows")
    frames = []
    for position, indices in enumerate(validation_batches(slices, batch_size)):
        if position not in kept:
            keys = [(slices.volumes[volume].fname.name, number)
                    for volume, number in (slices.samples[index] for index in indices)]
            batch = collate_slices(slices, transform, keys)
            found = location_map(reconstruct, batch, window, grid, device=device)
            kept.save(position, found.to_dict("records"))
        frames.append(pd.DataFrame(kept[position]))
    return pd.concat(frames, ignore_index=True)


def window_summary(rows: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """``window error`` and ``Moran's I`` (``mean``/``low``/``high`` over volumes, the latter
    with its permutation ``p`` and ``structured``), with the ``slices`` and ``volumes`` behind
    them; indexed by score."""
    counts = {"slices": len(rows[["fname", "slice"]].drop_duplicates()),
              "volumes": rows["fname"].nunique()}
    mean, low, high = cluster_bootstrap_mean(rows["error"], rows["fname"], seed=seed)
    structure = location_structure(location_matrix(rows), seed=seed)
    return pd.DataFrame({
        "window error": {"mean": mean, "low": low, "high": high, **counts},
        "Moran's I": {"mean": structure["moran"], "low": structure["moran low"],
                      "high": structure["moran high"], "p": structure["p"],
                      "structured": bool(structure["p"] <= ALPHA and structure["moran"] > 0),
                      **counts}}).T.rename_axis("score")
