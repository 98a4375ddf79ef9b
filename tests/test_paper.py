import pytest

from fnaf.data.annotations import LABELS
from fnaf.paper import paper_table


def test_table4_compartments_follow_the_label_vocabulary():
    table = paper_table("table4_bbox_region_nmse")["4x"]
    assert [name for name in table if name != "All"] == [label.name for label in LABELS]
    assert sum(table[label.name]["N"] for label in LABELS) == 157


def test_table5_and_table6_hold_their_own_values():
    assert paper_table("table5_classification_32px")["4x"]["Fully-sampled"]["Sn"] == 86.12
    assert paper_table("table6_classification_64px")["4x"]["Fully-sampled"]["Sn"] == 78.43
    assert paper_table("table3_reconstruction_quality")["8x"]["U-Net"]["ssim"] == 0.6548


def test_unknown_table():
    with pytest.raises(KeyError, match="no paper table 'table9'"):
        paper_table("table9")
