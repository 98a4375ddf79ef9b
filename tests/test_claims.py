"""The claims register (``fnaf/claims.yaml``): it loads and validates, names real chapters, tables
and rules, covers both papers, and the results summary renders every entry and nothing else."""

import json
from dataclasses import asdict
from pathlib import Path

import pytest
import yaml

from fnaf.claims import PAPERS, REQUIRED, RULES, RegisterError, claims_register, read_claims
from fnaf.studies.summary import NO_AF, NOT_READ, claims

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "tests" / "data" / "summary_results"
CHAPTERS = {path.stem for path in (ROOT / "notebooks").glob("*.ipynb")} - {"summary"}


@pytest.fixture(scope="module")
def register():
    return claims_register()


def test_the_register_loads_with_every_field_and_unique_ids(register):
    assert len(register) == len({claim.id for claim in register.values()})
    for claim in register.values():
        assert all(getattr(claim, field) for field in REQUIRED), claim.id
        assert claim.paper in PAPERS and claim.rule in RULES, claim.id


def test_the_register_names_real_chapters_and_their_tables(register):
    code = {chapter: "".join("".join(cell["source"]) for cell in json.loads(
        (ROOT / "notebooks" / f"{chapter}.ipynb").read_text())["cells"]) for chapter in CHAPTERS}
    for claim in register.values():
        if claim.chapter is None:
            assert claim.rule == "unmeasured_verdict", claim.id
            continue
        assert claim.chapter in CHAPTERS, claim.id
        # the table is one the chapter saves (Tables 5-6 are named by the patch size)
        assert f'"{claim.table}"' in code[claim.chapter] or claim.table == "table5", claim.id


def test_the_register_covers_both_papers_and_every_chapter(register):
    by_paper = {paper: {claim.chapter for claim in register.values() if claim.paper == paper}
                for paper in PAPERS}
    assert {"00_data", "01_baselines", "02_fnaf_attacks", "03_robust_training",
            "04_bbox_training", "05_classification", "06_correlation_analysis",
            "released_code"} <= by_paper["fnaf"]
    assert {"07_measurement_attacks", "08_untrained_and_l1", "09_distribution_shift",
            "10_small_features"} <= by_paper["robustness"]


def _write(tmp_path, entries) -> Path:
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump(entries, allow_unicode=True), encoding="utf-8")
    return path


def _entries(register) -> list[dict]:
    return [{key: value for key, value in asdict(claim).items() if value is not None}
            for claim in register.values()]


@pytest.mark.parametrize("edit, message", [
    (lambda entries: entries.append(dict(entries[0])), "used twice"),
    (lambda entries: entries[0].pop("quote"), r"missing \['quote'\]"),
    (lambda entries: entries[0].update(rule="sign_verdict"), "not in fnaf.verdicts"),
    (lambda entries: entries[0].update(paper="other"), "is not one of"),
    (lambda entries: entries[1].update(chapter=None), "names the chapter and table"),
    (lambda entries: entries[0].update(colour="red"), r"unknown fields \['colour'\]"),
])
def test_a_malformed_register_names_the_entry(tmp_path, register, edit, message):
    entries = _entries(register)
    edit(entries)
    with pytest.raises(RegisterError, match=message):
        read_claims(_write(tmp_path, entries))


def test_the_summary_renders_every_register_entry_and_only_those(register):
    table = claims(RESULTS, real_data=False)
    assert set(table["id"]) == set(register)
    # one source: the claim's words, source and rule come from the register
    for (claim, af), row in table.iterrows():
        entry = register[row["id"]]
        assert claim == entry.claim and row["rule"] == entry.rule and row["study"] == PAPERS[
            entry.paper]
    # an entry no row reads is shown, at no acceleration, never hidden
    unread = table[table.index.get_level_values("AF") == NO_AF]
    assert unread.set_index("id").loc["fnaf-s43-confidence-patch-size", "verdict"] == NOT_READ
    # nothing measures a radiologist's reading; the phantom cannot measure Table 1's counts
    assert unread.set_index("id").loc["fnaf-s37-radiologist", "verdict"] == "not comparable"
    assert unread.set_index("id").loc["fnaf-t1-data", "verdict"] == "not comparable"
    assert claims(RESULTS, real_data=True).set_index("id").loc["fnaf-t1-data",
                                                               "verdict"] == NOT_READ


def test_a_summary_row_whose_id_is_not_in_the_register_fails(register):
    smaller = {claim_id: claim for claim_id, claim in register.items()
               if claim_id != "fnaf-t2-attack-unet"}
    with pytest.raises(ValueError, match=r"\['fnaf-t2-attack-unet'\] are not in the claims"):
        claims(RESULTS, real_data=False, register=smaller)
