"""Numbers for reading: a mean with its interval, a p-value, words that wrap."""

import numpy as np
import pandas as pd

from fnaf.formatting import interval_string, interval_strings, p_string, wrapped


def test_an_interval_string_shows_what_is_there():
    assert interval_string(0.12345, 0.1, 0.15) == "0.1235 [0.1000, 0.1500]"
    assert interval_string(0.5, np.nan, np.nan, places=2) == "0.50"
    assert interval_string(np.nan, 0.1, 0.2) == "–"
    assert interval_string(1.0, 0.5, 1.5, 1, "<br>[{}]") == "1.0<br>[0.5, 1.5]"


def test_interval_strings_read_each_column_with_its_bounds():
    table = pd.DataFrame({"SSIM": [0.8, 0.7], "SSIM low": [0.75, np.nan],
                          "SSIM high": [0.85, np.nan]}, index=["a", "b"])
    shown = interval_strings(table, ["SSIM"], places=2)
    assert shown.loc["a", "SSIM"] == "0.80 [0.75, 0.85]" and shown.loc["b", "SSIM"] == "0.70"
    assert list(shown.index) == ["a", "b"]


def test_p_values_keep_two_significant_digits_and_a_floor():
    assert p_string(0.04567) == "0.046" and p_string(3e-8) == "< 1e-06"
    assert p_string(None) == "–"


def test_a_wrapped_table_keeps_its_cells_and_wraps_them():
    table = pd.DataFrame({"claim": ["a long sentence"]})
    styler = wrapped(table)
    assert styler.data.equals(table)
    assert "white-space: normal" in styler.to_html()
