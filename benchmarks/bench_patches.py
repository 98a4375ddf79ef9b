"""Patch extraction throughput: ``fnaf.data.patches`` against a per-patch Python loop.

Labelling: :func:`~fnaf.data.patches.patch_table` (one broadcast box-share matrix per slice)
against a loop that scores each grid patch against each box in Python. Cutting:
:func:`~fnaf.data.patches.cut_patches` (one strided view per volume) against slicing each patch
out of the flipped volume in a loop. Printed: patches/s of each and their ratio (vectorised /
loop), on boxes and volumes of the paper's 320×320 grid, 32-px patches at the paper's stride 2.
Run: ``python benchmarks/bench_patches.py``.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from fnaf.data.patches import PatchSpec, box_pixels, cut_patches, grid_positions, patch_table

CROP, SLICES = 320, 20


def example_boxes(rng: np.random.Generator) -> pd.DataFrame:
    """Two boxes on each of ``SLICES`` slices of one volume, 20-80 px wide."""
    x0, y0 = rng.uniform(60, 200, (2, 2 * SLICES))
    width, height = rng.uniform(20, 80, (2, 2 * SLICES))
    return pd.DataFrame({"filename": "file1", "slice": np.repeat(np.arange(1, SLICES + 1), 2),
                         "label": "Cyst", "x0": x0, "x1": x0 + width, "y0": y0,
                         "y1": y0 + height})


def labels_by_loop(boxes: pd.DataFrame, spec: PatchSpec) -> int:
    size, stride, offset = spec.on_grid(CROP)
    kept = 0
    for _, group in boxes.groupby("slice"):
        spans = box_pixels(group, CROP)
        for row, col in grid_positions(CROP, size, stride, offset):
            shares = []
            for row0, row1, col0, col1 in spans:
                rows = max(0, min(row + size, row1) - max(row, row0))
                cols = max(0, min(col + size, col1) - max(col, col0))
                shares.append(rows * cols / ((row1 - row0) * (col1 - col0)))
            kept += max(shares) >= spec.abnormal_share or max(shares) == 0
    return kept


def cut_by_loop(volume: np.ndarray, rows: pd.DataFrame, size: int) -> np.ndarray:
    flipped = volume[:, ::-1, :]
    return np.stack([flipped[s, r:r + size, c:c + size]
                     for s, r, c in rows[["slice", "row", "col"]].to_numpy()])


def timed(function, *args) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def main() -> None:
    rng = np.random.default_rng(0)
    boxes, spec = example_boxes(rng), PatchSpec(size=32, abnormal_share=0.5)
    fast, table = timed(lambda: patch_table(boxes, CROP, spec, balance=False))
    slow, kept = timed(labels_by_loop, boxes, spec)
    assert kept == len(table), "the loop and the vectorised labels disagree"
    positions = len(grid_positions(CROP, 32, 2)) * SLICES
    print(f"label: vectorised {positions / fast:,.0f} patches/s, loop {positions / slow:,.0f} "
          f"patches/s, ratio {slow / fast:.1f}")
    volume = rng.random((SLICES, CROP, CROP), dtype=np.float32)
    fast, cut = timed(cut_patches, volume, table, 32)
    slow, looped = timed(cut_by_loop, volume, table, 32)
    assert np.array_equal(cut, looped), "the loop and the strided view disagree"
    print(f"cut: vectorised {len(table) / fast:,.0f} patches/s, loop {len(table) / slow:,.0f} "
          f"patches/s, ratio {slow / fast:.1f} ({len(table)} patches)")


if __name__ == "__main__":
    main()
