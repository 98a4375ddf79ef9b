"""tools/table_widths.py: which measured tables are wider than their column (the measurement
itself needs Chromium: ``make book`` runs it on the built book)."""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "table_widths", Path(__file__).resolve().parents[1] / "tools" / "table_widths.py")
table_widths = importlib.util.module_from_spec(spec)
spec.loader.exec_module(table_widths)


def test_a_table_wider_than_its_article_is_listed():
    measured = {"article": 740, "tables": [{"width": 733, "text": "fits"},
                                           {"width": 742, "text": "within the slack"},
                                           {"width": 1135, "text": "too wide"}]}
    assert [table["text"] for table in table_widths.too_wide(measured)] == ["too wide"]
    assert table_widths.too_wide({"article": None, "tables": measured["tables"]}) == []
