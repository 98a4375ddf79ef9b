"""Numbers for reading: a mean with its 95 % interval, a p-value, a mean ± spread, and tables of
words that wrap at the page's column. The ground floor every table view, chapter and summary
formats with (pandas only; nothing here computes a statistic)."""

from __future__ import annotations

import pandas as pd


def mean_std_strings(table: pd.DataFrame, digits: dict[str, int] | None = None,
                     spread: float = 2.0) -> pd.DataFrame:
    """Format ``X``/``X std`` column pairs as ``"mean ± spread·std"`` strings for display, with
    the mean's 95 % interval where the table has one (``"mean [low, high] ± spread·std"``).

    The default ``spread = 2`` is fastMRI ``evaluate.py``'s convention (mean ± 2 sample standard
    deviations across volumes), which the paper's Table 3 most likely follows; the columns say
    which (``NMSE [95 % CI] ± 2σ``). The paper's own columns (``paper …``) are shown as printed.
    """
    digits = digits or {"NMSE": 4, "PSNR": 2, "SSIM": 4}
    shown = {}
    for column in table.columns:
        if column.endswith((" std", " low", " high")):
            continue
        places = digits.get(column.split()[-1], 4)
        factor, label = ((1.0, "± as printed") if column.startswith("paper ")
                         else (spread, f"± {spread:g}σ"))
        mean, std = table[column], table[f"{column} std"]
        nan = pd.Series(float("nan"), index=table.index)
        low, high = table.get(f"{column} low", nan), table.get(f"{column} high", nan)
        interval = [f" [{lo:.{places}f}, {hi:.{places}f}]" if not pd.isna(lo) else ""
                    for lo, hi in zip(low, high)]
        name = f"{column} [95 % CI] ({label})" if not low.isna().all() else f"{column} ({label})"
        shown[name] = ["–" if pd.isna(m) else f"{m:.{places}f}{ci} ± {factor * s:.{places}f}"
                       for m, s, ci in zip(mean, std, interval)]
    return pd.DataFrame(shown, index=table.index)


def interval_string(mean: float, low: float, high: float, places: int = 4,
                    separator: str = " [{}]") -> str:
    """``"mean [low, high]"``; ``–`` where the mean is missing, the mean alone where the interval
    is. ``separator`` places the interval (e.g. ``"<br><small>[{}]</small>"`` on a second line)."""
    if pd.isna(mean):
        return "–"
    if pd.isna(low):
        return f"{mean:.{places}f}"
    return f"{mean:.{places}f}" + separator.format(f"{low:.{places}f}, {high:.{places}f}")


def interval_strings(table: pd.DataFrame, columns: list[str], places: int = 4,
                     separator: str = " [{}]") -> pd.DataFrame:
    """:func:`interval_string` of the ``X``/``X low``/``X high`` columns."""
    return pd.DataFrame({column: [interval_string(*values, places, separator) for values in zip(
        table[column], table[f"{column} low"], table[f"{column} high"])] for column in columns},
        index=table.index)


def p_string(p: float) -> str:
    """A p-value for reading: two significant digits, ``< 1e-06`` below that, ``–`` if missing."""
    if pd.isna(p):
        return "–"
    return "< 1e-06" if p < 1e-6 else f"{p:.2g}"


def wrapped(table: pd.DataFrame):
    """A table of words for reading (a Styler): cells wrap at the column instead of running
    past it, aligned left and to the top."""
    return table.style.set_table_attributes('class="dataframe"').set_table_styles(
        [{"selector": "th, td", "props": "text-align: left; padding: 0.2em 0.4em; "
                                         "white-space: normal; vertical-align: top;"}])
