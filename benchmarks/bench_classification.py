"""Bootstrap intervals of the classification metrics: one weighted pass for all resamples
(:func:`fnaf.classifier_scores.weighted_metrics`) against scikit-learn's metrics recomputed per
resample (the direct loop over :func:`~fnaf.classifier_scores.point_metrics`).

On the paper's 32-px validation set size (2552 patches in 42 volumes); printed: resamples/s of
each and their ratio (weighted / loop), and the largest difference between the two interval
ends (the same resamples, so it should be rounding). Run:
``python benchmarks/bench_classification.py``.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from fnaf.classifier_scores import point_metrics, weighted_metrics

PATCHES, VOLUMES, RESAMPLES = 2552, 42, 400


def main() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, PATCHES)
    probabilities = np.clip(0.35 * labels + rng.random(PATCHES) * 0.65, 0, 1)
    volumes = rng.integers(0, VOLUMES, PATCHES)
    drawn = rng.integers(0, VOLUMES, (RESAMPLES, VOLUMES))
    counts = np.stack([np.bincount(row, minlength=VOLUMES) for row in drawn])[:, volumes]

    start = time.perf_counter()
    weighted = weighted_metrics(labels, probabilities, counts)
    fast = time.perf_counter() - start

    start = time.perf_counter()
    loop = pd.DataFrame([point_metrics(labels[np.repeat(np.arange(PATCHES), row)],
                                       probabilities[np.repeat(np.arange(PATCHES), row)])
                         for row in counts])
    slow = time.perf_counter() - start

    ends = [weighted.quantile(q) - loop.quantile(q) for q in (0.025, 0.975)]
    print(f"bootstrap of Sn/Sp/F1/kappa/AUROC, {PATCHES} patches, {VOLUMES} volumes, "
          f"{RESAMPLES} resamples")
    print(f"  weighted pass: {RESAMPLES / fast:9.0f} resamples/s")
    print(f"  loop (sklearn): {RESAMPLES / slow:8.0f} resamples/s")
    print(f"  ratio weighted/loop: {slow / fast:.1f}x; largest interval-end difference "
          f"{max(float(end.abs().max()) for end in ends):.2e} (percentage points)")


if __name__ == "__main__":
    main()
