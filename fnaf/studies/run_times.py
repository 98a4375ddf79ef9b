"""The page "Running the book in class": each page's execution time on the book's machine, cold
(nothing cached) and warm (the run cache filled), what it keeps in the caches for the next run,
and which pages run live in a lesson.

The cold times are the build's own record (:func:`fnaf.book.notebook_times`, Jupyter Book's
execution cache); the warm times are ``tools/warm_times.py``'s record (every page executed again
with papermill on a filled run cache, written to ``book/warm_times.json`` with its date and
machine). Neither is typed.
"""

from __future__ import annotations

import pandas as pd

#: A page runs live in class when its warm time is below this many minutes.
LIVE_MINUTES = 5
#: What each page keeps for the next run (the run cache unless said otherwise), in book order.
CACHED = {
    "start_here": "nothing: it loads chapter 01's U-Net",
    "summary": "nothing: it reads the chapters' result tables",
    "00_data": "the phantom (the data cache)",
    "01_baselines": "the U-Net and I-RIM trainings and evaluations",
    "02_fnaf_attacks": "the FNAF attacks' per-slice results",
    "03_robust_training": "the FNAF-robust fine-tunes, their evaluations and attacks",
    "04_bbox_training": "the B-Box fine-tunes, their evaluations and attacks",
    "05_classification": "the patch classifier",
    "06_correlation_analysis": "the box errors of the evaluations",
    "07_measurement_attacks": "the multi-coil trainings and the PGD rows",
    "08_untrained_and_l1": "the λ sweep, the two-step and PGD rows",
    "09_distribution_shift": "the size families' trainings and the λ sweeps",
    "10_small_features": "the location maps",
    "released_code": "the released code's trainings and attacks",
    "audit_your_model": "the claim files (its results folder)",
    "leaderboard": "nothing: it reads the claim files",
    "real_fastmri": "nothing without a data_root",
    "run_times": "nothing: it reads the timing records",
}


def run_time_table(cold: dict[str, float], warm: dict[str, float]) -> pd.DataFrame:
    """One row per page of :data:`CACHED` (book order): its ``cold`` and ``warm`` minutes
    (``"not recorded"`` where a record lacks it), what it caches, and whether it runs ``live``
    (warm below :data:`LIVE_MINUTES`)."""
    def minutes(seconds):
        return "not recorded" if seconds is None else f"{seconds / 60:.1f}"

    rows = []
    for page, cached in CACHED.items():
        warm_seconds = warm.get(page)
        rows.append({"page": page, "cold (min)": minutes(cold.get(page)),
                     "warm (min)": minutes(warm_seconds), "caches": cached,
                     "live in class": ("—" if warm_seconds is None else
                                       "yes" if warm_seconds < 60 * LIVE_MINUTES else "no")})
    return pd.DataFrame(rows).set_index("page")
