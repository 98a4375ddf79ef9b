"""The results summary, read from a demo build's result tables (``tests/data/summary_results``,
written by the chapters at commit 84eda32 plus 04's Table 2 and paired hits)."""

import shutil
from pathlib import Path

import pytest

from fnaf.studies.summary import claims, summary_view, verdict_counts
from fnaf.verdicts import VERDICTS

RESULTS = Path(__file__).resolve().parent / "data" / "summary_results"


@pytest.fixture(scope="module")
def table():
    return claims(RESULTS, real_data=False)


def test_every_claim_is_read_at_both_accelerations_with_a_verdict(table):
    per_claim = table.reset_index().groupby("claim", sort=False)["AF"].apply(list)
    assert (per_claim.map(sorted) == [["4×", "8×"]] * len(per_claim)).all()
    assert set(table["verdict"]) <= set(VERDICTS)
    sources = set(table["source"])
    assert {"Table 2", "Tables 2 and 3", "Table 3", "Table 4", "Table 5", "§3.3", "Fig. 6",
            "Fig. 7"} == sources
    assert table.loc[table["source"] == "Fig. 6", "chapter"].eq("06_correlation_analysis").all()


def test_the_verdicts_follow_the_rules_on_known_numbers(table):
    fnaf = ("FNAF training: the U-Net loses fewer features than its clean fine-tune, SSIM "
            "within 0.01")
    assert table.loc[(fnaf, "4×"), "verdict"] == "reproduced"  # McNemar p < 1e-6, ΔSSIM -0.008
    assert table.loc[(fnaf, "4×"), "paper"] == "88.9 → 3.41 %"
    irim = "The I-RIM reconstructs better than the U-Net (SSIM)"
    assert table.loc[(irim, "8×"), "verdict"] == "not reproduced"  # 0.539 vs 0.666, separated
    # 88.9 % lies outside 32.5 [23.2, 43.4] %, which lies above the control's 1.2 [0.2, 6.7] %
    attack = "The attack finds features the U-Net baseline loses (attack rate above the control's)"
    assert table.loc[(attack, "4×"), "verdict"] == "direction only"
    # a level on the phantom does not compare with the paper's fastMRI level ...
    level = "The U-Net baseline's SSIM"
    assert table.loc[(level, "4×"), "verdict"] == "not comparable"
    # ... on fastMRI it does: 0.7213 lies outside 0.7439 [0.7286, 0.7591]
    assert claims(RESULTS, real_data=True).loc[(level, "4×"), "verdict"] == "not reproduced"
    mcnemar = "FNAF U-Net: the classifier's decisions do not change from the U-Net's (McNemar)"
    assert table.loc[(mcnemar, "4×"), "verdict"] == "reproduced"  # p 0.21, as the paper's > 0.05
    assert table.loc[(mcnemar, "8×"), "verdict"] == "not reproduced"  # p < 1e-6
    counts = verdict_counts(table)
    assert counts.index.tolist() == list(VERDICTS)
    assert counts.sum().tolist() == [len(table.xs(af, level="AF")) for af in ("4×", "8×")]


def test_a_missing_chapter_table_names_the_notebook_to_run(tmp_path):
    shutil.copytree(RESULTS, tmp_path / "results")
    (tmp_path / "results" / "04_bbox_training" / "hits_vs_baseline.csv").unlink()
    with pytest.raises(FileNotFoundError, match=r"run notebooks/04_bbox_training\.ipynb"):
        claims(tmp_path / "results", real_data=False)


def test_the_view_links_each_source_to_its_chapter_with_the_acceleration(table):
    html = summary_view(table).to_html()
    assert ('<a class="fnaf-source" data-af="8×" href="06_correlation_analysis.html">Fig. 6</a>'
            in html)
    assert "fnaf-summary" in html and "background-color" in html
    assert html.count('class="fnaf-source"') == len(table)
