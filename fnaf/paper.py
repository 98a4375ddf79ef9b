"""The FNAF paper's reported numbers (Tables 1-6 and figures quoted in the text), for the book to
print beside this package's results. Transcribed from Calivá et al. (MELBA 2021)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

_TABLES = Path(__file__).with_name("paper_tables.json")


@cache
def paper_tables() -> dict:
    """All tables: ``table1_data``, ``table2_fnaf_attack_random_search``,
    ``table3_reconstruction_quality``, ``table4_bbox_region_nmse``,
    ``table5_classification_32px``, ``table6_classification_64px``, ``other_reported_figures``."""
    return json.loads(_TABLES.read_text())


def paper_table(name: str) -> dict:
    """One table by its key (see :func:`paper_tables`); a clear error for an unknown key."""
    tables = paper_tables()
    if name not in tables:
        known = ", ".join(key for key in tables if not key.startswith("_"))
        raise KeyError(f"no paper table {name!r}; known: {known}")
    return tables[name]


#: The paper's confidence analysis at 32 px (§4.3): the share of the baseline's false
#: negatives called normal less confidently on the FNAF model's reconstruction.
PAPER_LESS_CONFIDENT = {"FNAF U-Net": 0.61, "FNAF I-RIM": 0.54}
