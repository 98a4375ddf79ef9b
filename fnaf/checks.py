"""Checks of parameters shared across the library's floors (validated before any work)."""

from __future__ import annotations

import numpy as np


def check_counts(**counts) -> None:
    """Refuse any named count (window size, grid points, placements, ...) that is not a positive
    integer."""
    for name, value in counts.items():
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, not {value!r}")
