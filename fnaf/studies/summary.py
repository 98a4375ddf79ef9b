"""The results summary chapter: every claim of both papers (the claims register,
:mod:`fnaf.claims`), the paper's number beside ours and a computed verdict (:mod:`fnaf.verdicts`),
at each acceleration.

:func:`claims` reads the result tables the chapters write (``<results>/<chapter>/<table>.csv``,
:func:`fnaf.io.save_tables`), so the summary is computed from the same numbers the chapters
show; a missing table of chapters 01-08 raises :class:`FileNotFoundError` naming the notebook
to run, while a missing table of chapters 09-10 (the slowest; the summary also reads a build
that ran only 01-08) leaves their claims "not yet read", naming the notebook. Each row
carries its register id, and takes its claim's words, source, chapter and rule from the register;
a register entry no row reads yet is shown as "not yet read" (or "not comparable", with the
reason, where the phantom cannot measure it). :func:`summary_view` styles the table with a link
from each claim to the chapter that shows it.
"""

from __future__ import annotations

import re
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from fnaf.captions import data_words
from fnaf.claims import PAPERS, Claim, claims_register
from fnaf.classifier_scores import FULLY_SAMPLED
from fnaf.formatting import interval_string, p_string, wrapped
from fnaf.paper import PAPER_LESS_CONFIDENT, paper_table, paper_tables
from fnaf.small_feature_readings import (
    MULTI_COIL,
    location_readings,
    ranking_reading,
    real_feature_reading,
    window_readings,
)
from fnaf.verdicts import (
    SIMILAR_SSIM_MARGIN,
    VERDICTS,
    claim_verdict,
    comparison_verdict,
    count_verdict,
    direction_verdict,
    equivalence_verdict,
    level_verdict,
    line_reading,
    low_frequency_readings,
    shift_verdict,
    shift_words,
    threshold_verdict,
    too_few,
)

#: The paper's significance level, and its acceptance rate of the information check (§3.3:
#: more than 99 % of the features keep their information).
ALPHA = 0.05
PAPER_ACCEPTANCE = 0.99

COLUMNS = ["id", "study", "source", "chapter", "paper", "ours", "rule", "verdict"]

#: The verdict of a register entry no summary row reads yet.
NOT_READ = "not yet read"
#: The acceleration column of a row not read per acceleration: a claim not read yet, or read
#: once from a chapter that runs at one acceleration (chapters 07-10).
NO_AF = "–"


class ChapterResults:
    """The result tables under ``root`` (a notebook's ``results_dir`` is ``root/<chapter>``)."""

    def __init__(self, root: str | PathLike):
        self.root = Path(root)

    def table(self, chapter: str, name: str, index: list[str] | int) -> pd.DataFrame:
        path = self.root / chapter / f"{name}.csv"
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} is missing: run notebooks/{chapter}.ipynb first with results_dir="
                f"{self.root / chapter} (the book runs every chapter before the summary)")
        return pd.read_csv(path, index_col=index)

    def has(self, chapter: str, name: str) -> bool:
        return (self.root / chapter / f"{name}.csv").is_file()

    def optional(self, chapter: str, name: str, index: list[str] | int | None
                 ) -> pd.DataFrame | None:
        """:meth:`table`, or None where the chapter has not written it (chapters 09-10)."""
        return self.table(chapter, name, index) if self.has(chapter, name) else None


def claims(results: str | PathLike, real_data: bool,
           register: dict[str, Claim] | None = None) -> pd.DataFrame:
    """Every claim of the register (``register``, default :func:`fnaf.claims.claims_register`)
    at every acceleration the chapters evaluated: a frame indexed ``(claim, AF)`` with
    :data:`COLUMNS` (``id``: the register's; ``study``: the paper; ``source``: its table or
    figure; ``chapter``: the notebook that shows ours; ``rule``: the reading rule). A claim read
    once (chapters 07-10 run at one acceleration) is at ``AF`` :data:`NO_AF`, and so is an entry
    no row reads yet: :data:`NOT_READ`, or "not comparable" with the reason where nothing here
    measures it. ``real_data``: the chapters ran on fastMRI; on the
    phantom an entry with a ``phantom`` reason is "not comparable". Raises :class:`ValueError`
    for a row whose id is not in the register."""
    register = claims_register() if register is None else register
    found = ChapterResults(results)
    rows = [*_attack_rows(found), *_random_search_rows(found), *_information_rows(found),
            *_quality_rows(found),
            *_robust_rows(found), *_bbox_attack_rows(found), *_box_rows(found),
            *_compartment_rows(found),
            *_classification_rows(found, real_data), *_correlation_rows(found),
            *_vulnerability_rows(found), *_similar_rows(found), *_size_rows(found),
            *_shift_rows(found),
            *_small_feature_rows(found)]
    unknown = sorted({row["id"] for row in rows} - set(register))
    if unknown:
        raise ValueError(f"summary rows {unknown} are not in the claims register "
                         "(fnaf/claims.yaml): add an entry for each")
    read = {row["id"] for row in rows}
    rows += [_unread_row(entry, real_data, found) for entry in register.values()
             if entry.id not in read]
    for row in rows:
        entry = register[row["id"]]
        if entry.phantom and not real_data:
            row["verdict"] = "not comparable"
        row.update(claim=entry.claim, study=PAPERS[entry.paper], chapter=entry.chapter or "",
                   rule=entry.rule, source=row.get("source") or entry.source)
    order = {claim_id: position for position, claim_id in enumerate(register)}
    table = pd.DataFrame(rows).sort_values(
        ["id", "AF"], key=lambda column: column.map(order) if column.name == "id" else column,
        kind="stable")
    assert set(table["verdict"]) <= {*VERDICTS, NOT_READ}, set(table["verdict"])
    return table.set_index(["claim", "AF"])[COLUMNS]


def _row(claim_id: str, af: str, paper: str, ours: str, verdict: str,
         source: str | None = None) -> dict:
    """One reading of register entry ``claim_id`` at ``af`` (``source``: where it differs from
    the entry's, e.g. Table 6 for 64 px patches)."""
    return dict(id=claim_id, AF=af, source=source, paper=paper, ours=ours, verdict=verdict)


def _unread_row(entry: Claim, real_data: bool, found: ChapterResults) -> dict:
    """A register entry no row reads: not comparable where nothing here measures it (the
    reason in ``ours``), else not yet read (naming the notebook to run where its table is
    missing)."""
    if entry.rule == "unmeasured_verdict":
        return _row(entry.id, NO_AF, entry.value, entry.note or "", "not comparable")
    if entry.phantom and not real_data:
        return _row(entry.id, NO_AF, entry.value, entry.phantom, "not comparable")
    if not found.has(entry.chapter, entry.table):
        return _row(entry.id, NO_AF, entry.value, f"{entry.chapter}'s {entry.table} table is "
                    f"missing: run notebooks/{entry.chapter}.ipynb", NOT_READ)
    return _row(entry.id, NO_AF, entry.value, f"not read yet from {entry.chapter}'s "
                f"{entry.table} table", NOT_READ)


def _slug(model: str) -> str:
    """A model's name as it appears in register ids: ``"B-Box U-Net"`` → ``"bbox-unet"``."""
    return (model.lower().replace("b-box", "bbox").replace("u-net", "unet")
            .replace("i-rim", "irim").replace(" ", "-"))


def _interval(row: pd.Series, column: str, places: int = 1, scale: float = 1.0,
              bounds: tuple[str, str] = (" low", " high")) -> str:
    """``row[column]`` with its interval (the columns ``column + bounds[i]``), times ``scale``."""
    return interval_string(*(row[column + suffix] * scale for suffix in ("", *bounds)), places)


def _attack_rows(found: ChapterResults) -> list[dict]:
    """Table 2's baselines: the claim the phantom can test is the comparison (the attack rate
    above the control's, intervals separated); the attack rate's level (the paper's 89-93 %)
    compares only on fastMRI — on the phantom only about half of the slices can exceed γ at
    all, so the level is "not comparable" there, as the SSIM levels are."""
    table = found.table("02_fnaf_attacks", "table2_baselines", ["AF", "model"])
    rows = []
    for (af, model), row in table.iterrows():
        control = "control rate, max over K (%)"
        shown = row["attack rate (%) low"] > row[f"{control} high"]
        direction = "higher" if row["attack rate (%)"] > row[control] else "lower"
        ours = f"{_interval(row, 'attack rate (%)')} %; control {_interval(row, control)} %"
        rows.append(_row(
            f"fnaf-t2-attack-{_slug(model)}", af,
            f"{row['paper attack rate (%)']:.3g} % (attack) above random features", ours,
            comparison_verdict("higher", True, direction, shown)))
        rows.append(_row(
            f"fnaf-t2-rate-{_slug(model)}", af, f"{row['paper attack rate (%)']:.3g} %",
            f"{_interval(row, 'attack rate (%)')} %",
            level_verdict(row["paper attack rate (%)"], row["attack rate (%) low"],
                          row["attack rate (%) high"], shown)))
    return rows


def _random_search_rows(found: ChapterResults) -> list[dict]:
    """§3.5: random search "proved to be a more effective form of attack" than finite
    differences (no number, no test here): the direction of the attack rates on the same slices,
    shown by the signed-rank test of the per-volume differences; every model must agree (the
    weakest of their readings). Read once (:data:`NO_AF`): chapter 02 compares the attacks at its
    last acceleration only. A chapter 02 without the paired table is not comparable."""
    paired = found.optional("02_fnaf_attacks", "random_search_vs_fd_volumes", 0)
    if paired is None:
        return [_row("fnaf-s35-random-search", NO_AF, "no number (Cheng et al., 2020)",
                     "no paired table (rerun 02)", "not comparable")]
    parts, verdicts = [], []
    for label, row in paired.iterrows():
        direction = "higher" if row["rate difference"] > 0 else "lower"
        verdicts.append(direction_verdict("higher", direction, bool(row["p volumes"] <= ALPHA)))
        low, high = (100 * row[f"rate difference {end}"] for end in ("low", "high"))
        parts.append(f"{label}: random search − finite differences "
                     f"{100 * row['rate difference']:+.1f} [{low:+.1f}, {high:+.1f}] pp over "
                     f"{row['volumes']:.0f} volumes (p {p_string(row['p volumes'])})")
    return [_row("fnaf-s35-random-search", NO_AF, "no number (Cheng et al., 2020)",
                 "; ".join(parts), _weakest(verdicts))]  # compared at one acceleration


def _information_rows(found: ChapterResults) -> list[dict]:
    """§3.3: the acceptance rate, and Pearson's r of the information kept (D) with the attack's
    loss read with plain MSE for D, as the paper says ("MSE is used for D"), by r's interval
    resampling volumes; the slices' Fisher interval and the r of D relative to each slice's
    variance are shown beside it (secondary, not read). A table without the volume interval
    is not comparable."""
    table = found.table("02_fnaf_attacks", "information_preservation", 0)
    paper_r = paper_tables()["other_reported_figures"]["ip_loss_vs_fnaf_loss_pearson_r"]
    rows = []
    for label, row in table.iterrows():
        model, af = label.rsplit(" ", 1)
        rows.append(_row(
            f"fnaf-s33-acceptance-{_slug(model)}", af, "> 99 %",
            f"{_interval(row, 'acceptance_rate', 1, 100, ('_low', '_high'))} %",
            threshold_verdict(row["acceptance_rate"], PAPER_ACCEPTANCE)))
        slices, relative = (_interval(row, name, 2, bounds=("_low", "_high"))
                            for name in ("ip_mse_pearson_r", "ip_pearson_r"))
        secondary = (f"slices as independent {slices}; {relative} (D relative to the slice's "
                     "variance, not read)")
        if "ip_mse_pearson_r_volume_low" in row.index:
            low, high = row["ip_mse_pearson_r_volume_low"], row["ip_mse_pearson_r_volume_high"]
            ours = (f"{interval_string(row['ip_mse_pearson_r'], low, high, 2)} (D as MSE, "
                    f"resampling {int(row['volumes'])} volumes, {int(row['slices'])} slices); "
                    f"{secondary}")
            verdict = level_verdict(paper_r, low, high, high < 0)
        else:
            ours = f"no volume-level interval in this table (rerun 02); {secondary}"
            verdict = "not comparable"
        rows.append(_row(f"fnaf-s33-correlation-{_slug(model)}", af, f"{paper_r:+.2f}", ours,
                         verdict))
    return rows


def _quality_rows(found: ChapterResults) -> list[dict]:
    table = found.table("01_baselines", "table3_baselines", ["AF", "model"])
    rows = []
    for af, part in table.groupby(level="AF", sort=False):
        part = part.droplevel("AF")
        if {"U-Net", "I-RIM"} <= set(part.index):
            irim, unet = part.loc["I-RIM"], part.loc["U-Net"]
            direction = "higher" if irim["SSIM"] > unet["SSIM"] else "lower"
            shown = irim["SSIM low"] > unet["SSIM high"] or irim["SSIM high"] < unet["SSIM low"]
            rows.append(_row(
                "fnaf-t3-irim-better", af, f"{irim['paper SSIM']:.4f} vs {unet['paper SSIM']:.4f}",
                f"{_interval(irim, 'SSIM', 3)} vs {_interval(unet, 'SSIM', 3)}",
                comparison_verdict("higher", True, direction, shown)))
        for model in ("U-Net", "I-RIM"):
            if model in part.index:
                row = part.loc[model]
                rows.append(_row(
                    f"fnaf-t3-ssim-{_slug(model)}", af, f"{row['paper SSIM']:.4f}",
                    _interval(row, "SSIM", 4),
                    level_verdict(row["paper SSIM"], row["SSIM low"], row["SSIM high"], None)))
    return rows


def _robust_rows(found: ChapterResults) -> list[dict]:
    """Tables 2-3's claim: fewer hits than the clean fine-tune, shown with the volume as the
    unit (``p volumes vs clean fine-tune``), at an SSIM change below 0.01. A claim table
    without that test (written before it) is not comparable; McNemar's p on slices is shown as
    secondary."""
    claim = found.table("03_robust_training", "claim", ["model", "AF"])
    attacks = found.table("03_robust_training", "table2", ["AF", "model"])
    rows = []
    for (model, af), row in claim.iterrows():
        robust = attacks.loc[(af, f"FNAF {model}")]
        baseline = attacks.loc[(af, model)]
        change = row["ΔSSIM (FNAF − clean fine-tune)"]
        slices = f"slices as independent McNemar p {p_string(row['McNemar p vs clean fine-tune'])}"
        ours = (f"{baseline['attack rate (%)']:.1f} → {_interval(robust, 'attack rate (%)')} % "
                f"(clean fine-tune {row['attack rate, clean fine-tune (%)']:.1f} %")
        if "p volumes vs clean fine-tune" in row.index:
            p = row["p volumes vs clean fine-tune"]
            ours += (f"; Δ {_interval(row, 'Δ attack rate vs clean fine-tune (pp)')} pp over "
                     f"{row['volumes vs clean fine-tune']:.0f} volumes, p {p_string(p)}; "
                     f"{slices}); ΔSSIM {change:+.4f}")
            verdict = claim_verdict(row["attack rate, FNAF (%)"]
                                    < row["attack rate, clean fine-tune (%)"], p, change)
        else:
            ours += f"; {slices}; not tested over volumes (rerun 03)); ΔSSIM {change:+.4f}"
            verdict = "not comparable"
        rows.append(_row(
            f"fnaf-t23-fnaf-{_slug(model)}", af,
            f"{baseline['paper attack rate (%)']:.3g} → {robust['paper attack rate (%)']:.3g} %",
            ours, verdict))
    return rows


def _bbox_attack_rows(found: ChapterResults) -> list[dict]:
    """B-Box training "seems to worsen" the attack rate: the direction of the rate change
    against the baseline, shown with the volume as the unit (``p volumes``); a table without
    that test is not comparable."""
    attacks = found.table("04_bbox_training", "table2", ["AF", "model"])
    hits = found.table("04_bbox_training", "hits_vs_baseline", ["AF", "model"])
    rows = []
    for (af, model), row in hits.iterrows():
        if not model.startswith("B-Box"):
            continue
        baseline = model.removeprefix("B-Box ")
        before, after = attacks.loc[(af, baseline)], attacks.loc[(af, model)]
        direction = "lower" if after["attack rate (%)"] < before["attack rate (%)"] else "higher"
        ours = (f"{before['attack rate (%)']:.1f} → {_interval(after, 'attack rate (%)')} % "
                f"(slices as independent McNemar p {p_string(row['McNemar p'])}")
        if "p volumes" in row.index:
            p = row["p volumes"]
            ours += (f"; Δ {_interval(row, 'Δ attack rate (pp)')} pp over "
                     f"{row['volumes']:.0f} volumes, p {p_string(p)})")
            verdict = direction_verdict("higher", direction, p <= ALPHA)  # "seems to worsen"
        else:
            ours += "; not tested over volumes (rerun 04))"
            verdict = "not comparable"
        rows.append(_row(
            f"fnaf-t2-bbox-{_slug(baseline)}", af,
            f"{before['paper attack rate (%)']:.3g} → {after['paper attack rate (%)']:.3g} %",
            ours, verdict))
    return rows


def _box_rows(found: ChapterResults) -> list[dict]:
    """Table 4's "All" row. The paper bolded compartment cells only (a two-sided rank-sum test
    per compartment) and never tested "All", so its "All" means are read by direction and size
    (:func:`fnaf.verdicts.direction_verdict`), never as "the paper found no effect". Ours is
    shown by the test with the volume as the unit (``<robust> p volumes``, per-volume mean
    NMSE); a table without it (written before that test) shows nothing, and the box-level
    p-value is printed as secondary."""
    table = found.table("04_bbox_training", "table4", ["AF", "compartment"])
    tests = found.table("04_bbox_training", "table4_tests", ["AF", "compartment"])
    paper = paper_table("table4_bbox_region_nmse")
    robust_models = [column.removesuffix(" direction") for column in table.columns
                     if column.endswith(" direction")]
    rows = []
    for af in table.index.get_level_values("AF").unique():
        row, test = table.loc[(af, "All")], tests.loc[(af, "All")]
        for robust in robust_models:
            baseline = robust.split(" ", 1)[1]
            theirs = paper[af.replace("×", "x")]["All"]
            before, after = theirs[baseline]["nmse"], theirs[robust]["nmse"]
            paper_direction = "lower" if after < before else "higher"
            if f"{robust} p volumes" in test.index:
                p_volumes = test[f"{robust} p volumes"]
                ours_shown = bool(p_volumes <= ALPHA)
                direction = row[f"{robust} direction volumes"]
                unit = (f"volumes p {p_string(p_volumes)}, {int(row[f'{robust} volumes'])} "
                        "volumes")
            else:
                ours_shown, unit = False, "no volume-level test in this table"
                direction = row[f"{robust} direction"]
            change = row[robust] / row[baseline] - 1
            rows.append(_row(
                f"fnaf-t4-all-{_slug(robust)}", af,
                f"{before:.4f} → {after:.4f} ({after / before - 1:+.0%}; not tested)",
                f"{row[baseline]:.4f} → {_interval(row, robust, 4)} ({change:+.0%}; {unit}; "
                f"boxes as independent: paired p {p_string(test[f'{robust} p'])})",
                direction_verdict(paper_direction, direction, ours_shown)))
    return rows


#: Table 4's claims over compartments: register id → (robust model, the paper's words at each
#: acceleration they cover, whether the paper's claim rests on its test (bold cells) or on the
#: direction alone ("outperformed ... for the majority of the classes")).
COMPARTMENT_CLAIMS = {
    "fnaf-t4-compartments-bbox-irim": ("B-Box I-RIM", {"4×": "9 of 11 compartments bold",
                                                       "8×": "6 of 11 compartments bold"}, True),
    "fnaf-t4-compartments-fnaf-unet": ("FNAF U-Net", {"8×": "9 of 11 compartments lower (1 "
                                                             "bold)"}, False),
}


def _compartment_rows(found: ChapterResults) -> list[dict]:
    """Table 4 per compartment: how many compartments the robust model's NMSE is lower in,
    with the volume as the unit (each compartment's per-volume means, signed-rank; the
    compartments with too few volumes are not tested), the paper's rank-sum on boxes beside
    it. The claim holds in direction when most compartments are lower and is shown when most
    of the tested ones are shown lower. A table without the volume-level columns is not
    comparable."""
    table = found.table("04_bbox_training", "table4", ["AF", "compartment"])
    tests = found.table("04_bbox_training", "table4_tests", ["AF", "compartment"])
    rows = []
    for claim_id, (robust, paper, tested_by_paper) in COMPARTMENT_CLAIMS.items():
        for af, words in paper.items():
            if af not in table.index.get_level_values("AF") or robust not in table.columns:
                continue
            part = table.loc[af].drop(index="All", errors="ignore")
            part = part[part["N"] > 0]
            p_rank_sum = tests.loc[af].loc[part.index, f"{robust} p rank-sum"]
            rank_sum = int(((part[f"{robust} direction"] == "lower")
                            & (p_rank_sum <= ALPHA)).sum())
            boxes = (f"boxes unpaired (the paper's rank-sum): {rank_sum} of {len(part)} lower "
                     f"with p ≤ {ALPHA:g}")
            if f"{robust} direction volumes" not in part.columns:
                rows.append(_row(claim_id, af, words, f"{boxes}; no volume-level test in this "
                                 "table (rerun 04)", "not comparable"))
                continue
            p_volumes = tests.loc[af].loc[part.index, f"{robust} p volumes"]
            lower = part[f"{robust} direction volumes"] == "lower"
            tested = int(p_volumes.notna().sum())
            shown = int((lower & (p_volumes <= ALPHA)).sum())
            direction = "lower" if lower.sum() > len(part) / 2 else "higher"
            majority_shown = tested > 0 and shown > tested / 2
            ours = (f"{int(lower.sum())} of {len(part)} compartments lower over volumes, "
                    f"{shown} of the {tested} with enough volumes to test shown lower; {boxes}")
            verdict = (comparison_verdict("lower", True, direction, majority_shown)
                       if tested_by_paper else
                       direction_verdict("lower", direction, majority_shown))
            rows.append(_row(claim_id, af, words, ours, verdict))
    return rows


#: The robust models whose decisions the paper compared with McNemar's test (§4.3: "the
#: classifications obtained on the U-Net and the robust trained versions disagree to the same
#: amount"); it stated no test for the I-RIM's.
PAPER_MCNEMAR = ("FNAF U-Net", "B-Box U-Net")


def _classification_rows(found: ChapterResults, real_data: bool) -> list[dict]:
    """Tables 5-6 and §4.3.

    * The abstract's headline, robust training reduces false negatives: each robust model's
      sensitivity against its baseline's, the paper's direction from its tables (untested:
      :func:`fnaf.verdicts.direction_verdict`), ours shown where the volume-bootstrap
      intervals separate.
    * McNemar (U-Net models only, as the paper): the paper found no change (p > 0.05). Ours not
      shown → reproduced; shown with the robust model right more often (the paper's direction,
      beyond its test) → direction only; shown against it → not reproduced.
    * The "less confident" share counts only the baseline's false negatives the robust model
      still misses (one it fixes is not "called normal less confidently"); a table without the
      ``share volumes`` column (written before its interval resampled volumes, or before it
      left the fixed ones out) is not comparable. Its level compares at 32 px on fastMRI only;
      elsewhere the claim read is "most" (the share above one half, shown by the interval).
    """
    chapter = "05_classification"
    patch_size = 32 if found.has(chapter, "table5") else 64
    source = "Table 5" if patch_size == 32 else "Table 6"
    compared = found.table(chapter, "comparisons", ["AF", "robust"])
    metrics = found.table(chapter, f"table{5 if patch_size == 32 else 6}", ["AF", "input"])
    rows = []
    for (af, robust), row in compared.iterrows():
        baseline = row["baseline"]
        mine, theirs = metrics.loc[(af, robust)], metrics.loc[(af, baseline)]
        paper_direction = "higher" if mine["paper Sn"] > theirs["paper Sn"] else "lower"
        direction = "higher" if mine["Sn"] > theirs["Sn"] else "lower"
        shown = mine["Sn low"] > theirs["Sn high"] or mine["Sn high"] < theirs["Sn low"]
        rows.append(_row(
            f"fnaf-t5-sensitivity-{_slug(robust)}", af,
            f"Sn {theirs['paper Sn']:.2f} → {mine['paper Sn']:.2f} % (not tested)",
            f"Sn {theirs['Sn']:.1f} → {_interval(mine, 'Sn')} % (intervals resample volumes)",
            direction_verdict(paper_direction, direction, shown), source))
        if robust in PAPER_MCNEMAR:
            rows.append(_decision_row(row, robust, af, source))
        if robust in PAPER_LESS_CONFIDENT:
            paper = PAPER_LESS_CONFIDENT[robust] * 100
            if "share volumes" in row.index:
                ours = (f"{_interval(row, 'share', 0, 100)} % of {row['missed on both']} missed "
                        f"on both ({row['fixed']} of the {row['false negatives']} fixed)")
                most = "higher" if row["share"] > 0.5 else "lower"
                shown = row["share low"] > 0.5 or row["share high"] < 0.5
                verdict = (level_verdict(paper, row["share low"] * 100, row["share high"] * 100,
                                         row["share low"] > 0.5)
                           if patch_size == 32 and real_data else
                           comparison_verdict("higher", True, most, shown))
            else:
                ours = (f"{_interval(row, 'share', 0, 100)} % of {row['false negatives']}: a "
                        "share with fixed ones included, or an interval counting patches as "
                        "independent (rerun 05)")
                verdict = "not comparable"
            rows.append(_row(f"fnaf-s43-confidence-{_slug(robust)}", af, f"{paper:.0f} %", ours,
                             verdict, source))
    return [*rows, *_drop_rows(found, patch_size), *_patch_size_rows(found),
            *_strategy_rows(found)]


def _drop_rows(found: ChapterResults, patch_size: int) -> list[dict]:
    """§4.3's expected drop, per acceleration: every reconstruction's F1 and κ against the
    fully-sampled patches' (chapter 05's ``against_fully_sampled``: paired intervals resampling
    volumes). The paper expected it without a test, so each difference is read by direction
    (:func:`fnaf.verdicts.direction_verdict`, shown where the interval excludes 0) and the
    claim, made of every reconstruction, takes the weakest reading. A chapter run before that
    table: not yet read."""
    chapter = "05_classification"
    drop = found.optional(chapter, "against_fully_sampled", ["AF", "input"])
    if drop is None:
        return []
    paper = paper_table({32: "table5_classification_32px",
                         64: "table6_classification_64px"}[patch_size])
    rows = []
    for af, part in drop.groupby(level="AF", sort=False):
        part = part.droplevel("AF")
        verdicts = [direction_verdict("lower", "lower" if row[f"Δ {metric}"] < 0 else "higher",
                                      row[f"Δ {metric} high"] < 0 or row[f"Δ {metric} low"] > 0)
                    for _, row in part.iterrows() for metric in ("F1", "Kappa")]
        reported = paper.get(af.replace("×", "x"), {})
        theirs = [values["F1"] - reported[FULLY_SAMPLED]["F1"]
                  for name, values in reported.items() if name != FULLY_SAMPLED]
        lower = {metric: int((part[f"Δ {metric} high"] < 0).sum()) for metric in ("F1", "Kappa")}
        ours = "; ".join(f"{name} {_interval(row, 'Δ F1')}" for name, row in part.iterrows())
        rows.append(_row(
            "fnaf-s43-drop", af,
            f"expected lower (not tested); its ΔF1 {min(theirs):+.2f} to {max(theirs):+.2f} pp"
            if theirs else "expected lower (not tested)",
            f"ΔF1 (pp, paired over {int(part['volumes'].iloc[0])} volumes): {ours}; shown lower: "
            f"F1 {lower['F1']}, κ {lower['Kappa']} of {len(part)}",
            _weakest(verdicts)))
    return rows


#: Where chapter 05 run at 64 px writes its tables (the book runs it at 32 px), and the command.
PATCH_64 = "05_classification_64px"
RUN_64 = ("papermill notebooks/05_classification.ipynb out.ipynb -p patch_size 64 "
          f"-p results_dir results/{PATCH_64}")


def _patch_size_rows(found: ChapterResults) -> list[dict]:
    """§4.3: the fall in confidence is more prevalent on 32-px patches than on 64-px ones, read
    from chapter 05 run at both sizes (the 64-px run's tables under :data:`PATCH_64`), per
    acceleration, for each robust model with the paper's share (the weakest of them). The
    paper gave no 64-px number and no test: the reading is the direction, shown where the two
    shares' intervals (each resampling volumes) separate. Tables without those intervals: not
    comparable. Without the 64-px run: not yet read, naming the command."""
    small = found.optional("05_classification", "comparisons", ["AF", "robust"])
    large = found.optional(PATCH_64, "comparisons", ["AF", "robust"])
    if small is None or not found.has("05_classification", "table5"):
        return []
    if large is None or not found.has(PATCH_64, "table6"):
        return [_row("fnaf-s43-confidence-patch-size", NO_AF, "61 % at 32 px (no 64-px number)",
                     f"needs chapter 05 at 64 px as well: {RUN_64}", NOT_READ)]
    if not {"share volumes"} <= {*small.columns} & {*large.columns}:
        return [_row("fnaf-s43-confidence-patch-size", NO_AF, "61 % at 32 px (no 64-px number)",
                     "shares counting the fixed false negatives or intervals counting patches "
                     "(rerun 05 at both sizes)", "not comparable")]
    rows = []
    for af in dict.fromkeys(small.index.get_level_values("AF")):
        models = [robust for robust in PAPER_LESS_CONFIDENT if (af, robust) in small.index
                  and (af, robust) in large.index]
        if not models:
            continue
        pairs = {robust: (small.loc[(af, robust)], large.loc[(af, robust)])
                 for robust in models}
        verdicts = [direction_verdict(
            "higher", "higher" if at32["share"] > at64["share"] else "lower",
            bool(at32["share low"] > at64["share high"] or at32["share high"] < at64["share low"]))
            for at32, at64 in pairs.values()]
        rows.append(_row(
            "fnaf-s43-confidence-patch-size", af, "61 % at 32 px (no 64-px number)",
            "; ".join(f"{robust} {_interval(at32, 'share', 0, 100)} % at 32 px, "
                      f"{_interval(at64, 'share', 0, 100)} % at 64 px"
                      for robust, (at32, at64) in pairs.items())
            + " (intervals resample volumes)", _weakest(verdicts), "§4.3"))
    return rows


def _strategy_rows(found: ChapterResults) -> list[dict]:
    """§4.3: fine-tuning only the classification layer beats fine-tuning all layers and
    training from scratch (no number, no test), from chapter 05's ``strategies`` table (run with
    ``compare_strategies``): each other strategy's AUROC minus the head-only one's, paired over
    volume resamples, read by direction (:func:`fnaf.verdicts.direction_verdict`), the weaker
    of the two. From random features (no ImageNet file) the comparison is not the paper's: not
    comparable. Without the table: not yet read, naming the parameters."""
    table = found.optional("05_classification", "strategies", "strategy")
    paper = "head-only best (no number, no test)"
    if table is None:
        return [_row("fnaf-s43-fine-tuning", NO_AF, paper, "needs chapter 05 with "
                     "-p compare_strategies True -p imagenet_weights FILE", NOT_READ)]
    ours = "; ".join(f"{name} {_interval(row, 'AUROC')}" for name, row in table.iterrows())
    if (table["features"] != "ImageNet").any():
        return [_row("fnaf-s43-fine-tuning", NO_AF, paper,
                     f"AUROC {ours}: from random features, not ImageNet's (no weight file), the "
                     "strategies are not the paper's", "not comparable")]
    others = table.drop(index="head")
    verdicts = [direction_verdict("higher", "higher" if row["Δ AUROC"] < 0 else "lower",
                                  row["Δ AUROC high"] < 0 or row["Δ AUROC low"] > 0)
                for _, row in others.iterrows()]
    differences = "; ".join(f"{name} − head {_interval(row, 'Δ AUROC')}"
                            for name, row in others.iterrows())
    return [_row("fnaf-s43-fine-tuning", NO_AF, paper,
                 f"AUROC {ours}; {differences} (paired over {int(table['volumes'].iloc[0])} "
                 "volumes)",
                 _weakest(verdicts))]


def _decision_row(row: pd.Series, robust: str, af: str, source: str) -> dict:
    """§4.3's McNemar claim read with the volume as the unit (``p volumes``, the signed-rank
    test of the per-volume differences in patches called right; McNemar's p on patches shown
    as secondary): the paper found no change (p > 0.05). Ours not shown → reproduced; shown with
    the robust model right more often (the paper's direction, beyond its test) → direction
    only; shown against it → not reproduced. Not tested (too few volumes, or a table written
    before the volume test) → not comparable."""
    patches = (f"McNemar on patches as independent p {p_string(row['p'])}, "
               f"{row['robust only']} / {row['baseline only']} right on one only")
    if pd.isna(row.get("p volumes", np.nan)):
        return _row(f"fnaf-s43-mcnemar-{_slug(robust)}", af, "p > 0.05",
                    f"not tested over volumes (rerun 05, or too few volumes); {patches}",
                    "not comparable", source)
    p = row["p volumes"]
    verdict = ("reproduced" if p > ALPHA else "direction only" if row["rate difference"] > 0
               else "not reproduced")
    return _row(f"fnaf-s43-mcnemar-{_slug(robust)}", af, "p > 0.05",
                f"Δ right {_interval(row, 'rate difference', 1, 100)} %, p {p_string(p)} over "
                f"{int(row['volumes'])} volumes; {patches}", verdict, source)


def _correlation_rows(found: ChapterResults) -> list[dict]:
    """Figs. 6-7: the chapter's verdict, read from ρ's interval resampling volumes; the boxes'
    Fisher interval (units as independent) shown beside it. A table written before the volume
    interval is not comparable."""
    chapter = "06_correlation_analysis"
    rows = []
    for figure in ("fig6", "fig7"):
        table = found.table(chapter, f"{figure}_correlations", ["model", "accel"])
        by_volume = "spearman_volume_low" in table.columns
        for (model, accel), row in table.iterrows():
            if row["paper"] == "–":
                continue
            boxes = (f"boxes as independent [{row['spearman_low']:+.2f}, "
                     f"{row['spearman_high']:+.2f}]")
            ours = (f"ρ {row['spearman_r']:+.2f} [{row['spearman_volume_low']:+.2f}, "
                    f"{row['spearman_volume_high']:+.2f}] resampling {int(row['volumes'])} "
                    f"volumes, n = {row['n']} boxes; {boxes}" if by_volume else
                    f"ρ {row['spearman_r']:+.2f}, n = {row['n']}; {boxes}; no volume-level "
                    "interval in this table (rerun 06)")
            rows.append(_row(f"fnaf-{figure}-{_slug(model)}", f"{accel}×", row["paper"], ours,
                             row["verdict"] if by_volume else "not comparable"))
    return rows


#: The measurement-attack chapters' methods, by their register ids (appendix Fig. 9).
VULNERABLE = {"07_measurement_attacks": {"VarNet": "varnet", "U-Net": "unet"},
              "08_untrained_and_l1": {"ConvDecoder": "convdecoder", "l1": "l1"}}


def _vulnerability_rows(found: ChapterResults) -> list[dict]:
    """Appendix Figs. 9-10: each method (each l1 basis) attacked at its largest ε against random
    noise of the same norm on the same slices. The paper's claim is the comparison (vulnerable:
    the attack's SSIM below the noise's), shown by the chapters' paired signed-rank test; read
    once (:data:`NO_AF`), as the chapters run at one acceleration."""
    rows = []
    for chapter, methods in VULNERABLE.items():
        table = found.table(chapter, "attack_vs_control", None)
        for model, part in table.groupby("model", sort=False):
            if model in methods:
                largest = part[part["eps"] == part["eps"].max()]
                rows.append(_row(f"rcs-fig9-vulnerable-{methods[model]}", NO_AF,
                                 "vulnerable at ε = 0.08 (Fig. 9; no number)",
                                 _versus(largest.iloc[0]), _vulnerable(largest)))
    bases = found.table("08_untrained_and_l1", "basis_vs_control", None)
    rows.append(_row("rcs-fig10-bases-vulnerable", NO_AF, "every basis vulnerable at ε = 0.08",
                     "; ".join(f"{row['model']}: {_versus(row)}" for _, row in bases.iterrows()),
                     _vulnerable(bases)))
    return rows


#: The second paper's "similar" claims: register id → chapter 08's table of SSIM-drop
#: differences against a reference, and what a row compares.
SIMILAR = {"rcs-s4-similar-methods": ("method_comparison", "each method against l1"),
           "rcs-fig10-bases-similar": ("basis_comparison", "each basis against the wavelet")}


def _similar_rows(found: ChapterResults) -> list[dict]:
    """Appendix §A.2 and Fig. 10, "similar" read with the equivalence margin stated up front
    (:data:`fnaf.verdicts.SIMILAR_SSIM_MARGIN`), never as "not significantly different": each
    method's (basis's, at its own λ) SSIM drop under attack at the largest ε against the
    reference's on the same slices, the difference's interval resampling volumes; the claim is
    the weakest of its rows' :func:`~fnaf.verdicts.equivalence_verdict`. A table without the
    difference interval (written before it) is not comparable."""
    rows = []
    for claim_id, (name, compared) in SIMILAR.items():
        table = found.optional("08_untrained_and_l1", name, None)
        margin = f"margin ±{SIMILAR_SSIM_MARGIN:g} SSIM"
        if table is None or "difference low" not in table.columns:
            rows.append(_row(claim_id, NO_AF, "similar (no number)",
                             f"no difference interval in this table (rerun 08); {margin}",
                             "not comparable"))
            continue
        table = table[~table["model"].str.contains("at the wavelet's λ", regex=False)]
        table = table[table["eps"] == table["eps"].max()]
        ours = "; ".join(
            f"{row['model']}: Δ drop {row['difference']:+.3f} [{row['difference low']:+.3f}, "
            f"{row['difference high']:+.3f}] over {row['volumes']:.0f} volumes"
            for _, row in table.iterrows())
        verdicts = [equivalence_verdict(row["difference low"], row["difference high"],
                                        SIMILAR_SSIM_MARGIN) for _, row in table.iterrows()]
        rows.append(_row(claim_id, NO_AF, "similar (no number)",
                         f"{compared} at ε = {table['eps'].max():g}, {margin}: {ours}",
                         _weakest(verdicts)))
    return rows


def _versus(row: pd.Series) -> str:
    return (f"SSIM {row['attack']:.3f} under attack, {row['control']:.3f} under noise of the "
            f"same norm at ε = {row['eps']:g} (paired p {p_string(row['p'])})")


def _vulnerable(rows: pd.DataFrame) -> str:
    """Every row's attack below its control (the direction), shown by the paired test."""
    direction = "lower" if (rows["attack"] < rows["control"]).all() else "higher"
    return comparison_verdict("lower", True, direction, bool(rows["shown"].all()))


SHIFT = "09_distribution_shift"
#: Chapter 09's shifts (its ``lines`` and ``fits`` tables' ``shift``) behind each register
#: entry, and the direction of the change the paper stated ("lower": every method loses).
SHIFT_CLAIMS = {
    "rcs-b1-dataset-shift": (("dataset shift",), "lower"),
    "rcs-b2-anatomy-shift": (("anatomy shift (Fig. 4)",
                              "anatomy shift, brain to knee (Fig. 12)"), "lower"),
    "rcs-fig13-brain-easier": (("knee-tuned, knee against brain (Fig. 13)",), "higher"),
    "rcs-b3-filtered-hard": (("adversarially-filtered shift",), "lower"),
}
#: The shift whose line is the appendix's "accuracy on the line" (§B.1, the Stanford shift).
LINE_SHIFT = "dataset shift"


def _size_rows(found: ChapterResults) -> list[dict]:
    """Appendix Tables 1-2: how many of chapter 09's trained networks have the appendix's
    parameter count for their size name (a count; on the phantom the register's reason makes
    it not comparable: the demo trains fractions of those sizes)."""
    networks = found.optional(SHIFT, "networks", None)
    if networks is None:
        return []
    same = networks["parameters"] == networks["paper parameters"]
    ours = "; ".join(f"{row['network']}: {row['parameters']} parameters ({row['size']}), the "
                     f"appendix's {row['paper parameters']}" for _, row in networks.iterrows())
    return [_row("rcs-tables12-sizes", NO_AF, f"{len(networks)} networks at the appendix's sizes",
                 f"{int(same.sum())} of {len(networks)} at the appendix's size: {ours}",
                 count_verdict(len(networks), int(same.sum())))]


def _weakest(verdicts: list[str]) -> str:
    """The weakest of several readings of one claim (each must hold); "not comparable" only
    where none could be read."""
    read = [verdict for verdict in verdicts if verdict != "not comparable"]
    return max(read, key=VERDICTS.index) if read else "not comparable"


def _shift_rows(found: ChapterResults) -> list[dict]:
    """Appendix B (chapter 09), read as the chapter reads them (read once, :data:`NO_AF`).

    * Each shift: :func:`fnaf.verdicts.shift_verdict` on the saved points
      (``lines``) and line (``fits``), the methods the chapter leaves out (its ``left out``
      column: the decoders and an l1 with the same λ on both anatomies under the anatomy shift,
      the reference on the filtered subset) and those whose means rest on fewer than
      ``MIN_VOLUMES`` volumes left out too; no method left: "not comparable". The paper stated
      no test, so this is its direction and size (every method's change; shown where every
      interval, resampling volumes, excludes 0).
    * Accuracy on the line: :func:`fnaf.verdicts.line_reading` on the dataset shift's line (the
      slope's interval, resampling volumes, and r's above 0), with the residuals.
    * Fig. 14: the filtered subset's low-frequency proportion against the rest's
      (:func:`~fnaf.stats.mean_difference`), and its energy outside the
      centre columns against the average slice's; "not comparable" while the subset spans
      fewer than ``MIN_VOLUMES`` volumes. Tables written before the ``left out`` column are
      not read (rerun 09)."""
    rows = []
    lines = found.optional(SHIFT, "lines", None)
    fits = found.optional(SHIFT, "fits", "shift")
    if lines is not None and fits is not None and "left out" in lines:
        for claim_id, (titles, expected) in SHIFT_CLAIMS.items():
            readings = [_shift_reading(lines, fits, title, expected) for title in titles
                        if title in set(lines["shift"]) and title in fits.index]
            if readings:
                rows.append(_row(claim_id, NO_AF, f"every method {expected} (no test)",
                                 "; ".join(text for _, text in readings),
                                 _weakest([verdict for verdict, _ in readings])))
        if LINE_SHIFT in fits.index:
            rows.append(_line_row(lines[lines["shift"] == LINE_SHIFT], fits.loc[LINE_SHIFT]))
    frequencies = found.optional(SHIFT, "low_frequency", None)
    if frequencies is not None:
        rows += _frequency_rows(frequencies)
    return rows


def _shift_reading(lines: pd.DataFrame, fits: pd.DataFrame, title: str,
                   expected: str) -> tuple[str, str]:
    """One shift's (i) as chapter 09 reads it: the verdict and the words."""
    part = lines[lines["shift"] == title]
    excluded = {model: why for model, why in zip(part["model"], part["left out"])
                if isinstance(why, str) and why}
    points = part.drop(columns=["shift", "left out"]).dropna(axis=1, how="all")
    fit = fits.loc[title]
    verdict = shift_verdict(points, fit, excluded, expected=expected)
    read = points[~points["model"].isin(verdict["excluded"])]
    effects = ", ".join(f"{row['model']} {_interval(row, 'effect', 3)}"
                        for _, row in read.iterrows())
    text = f"{title} ({fit['y']} − {fit['x']}): {shift_words(verdict, expected, effects)}"
    return verdict["losses"], text


def _line_row(points: pd.DataFrame, fit: pd.Series) -> dict:
    """Accuracy on the line as chapter 09 reads it (:func:`fnaf.verdicts.line_reading`): the
    slope's and r's intervals, the methods above and below the line by their residuals'."""
    reading = line_reading(fit, points)
    return _row("rcs-b1-on-the-line", NO_AF, "on one line (no number)", reading["text"],
                reading["verdict"])


def _frequency_rows(frequencies: pd.DataFrame) -> list[dict]:
    """Fig. 14 from the slices' low-frequency proportions, as chapter 09's (iii) reads them
    (:func:`fnaf.verdicts.low_frequency_readings`)."""
    rows = []
    for claim_id, reading in low_frequency_readings(frequencies).items():
        ours = (f"{reading['quantity']}, the subset minus {reading['against']}: "
                f"{interval_string(reading['effect'], reading['low'], reading['high'], 3)} "
                f"({reading['slices']} slices of {reading['volumes']} volumes; the interval "
                "resamples volumes)")
        if reading["verdict"] == "not comparable":
            ours += f": {too_few(reading['volumes'])}"
        rows.append(_row(claim_id, NO_AF, f"{reading['expected']} (no test)", ours,
                         reading["verdict"]))
    return rows


SMALL = "10_small_features"


def _small_feature_rows(found: ChapterResults) -> list[dict]:
    """Appendix C (chapter 10), read once (:data:`NO_AF`) by the chapter's own readings
    (:mod:`fnaf.small_feature_readings`: :func:`location_readings`, :func:`window_readings`,
    :func:`ranking_reading`, :func:`real_feature_reading`), each claim where its tables were
    written, of the appendix's methods (the chapter's ``rankings`` group
    :data:`~fnaf.small_feature_readings.MULTI_COIL`)."""
    rows = []
    dependence = found.optional(SMALL, "location_dependence", None)
    if dependence is not None and "structured" in dependence:
        rows += location_readings(dependence)
    information = found.optional(SMALL, "information_summary", None)
    ranked = found.optional(SMALL, "rankings", None)
    reading = found.optional(SMALL, "box_reading", None)
    boxes = found.optional(SMALL, "box_errors", None)
    if information is not None and ranked is not None and "volumes" in information:
        ranked = ranked[ranked["group"] == MULTI_COIL]
        multi = ranked["model"].tolist()
        information = information[information["model"].isin(multi)]
        rows += window_readings(information)
        if reading is not None:
            reading = reading[reading["model"].isin(multi)]
            rows.append(ranking_reading(ranked, information, reading))
            if boxes is not None:
                rows.append(real_feature_reading(boxes[boxes["model"].isin(multi)], reading))
    return [_row(row["id"], NO_AF, row["paper"], row["ours"], row["verdict"]) for row in rows]


def verdict_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Readings per verdict (rows: :data:`VERDICTS`, then :data:`NOT_READ`) and per paper and
    acceleration (columns; :data:`NO_AF` holds the entries read at no acceleration)."""
    counts = pd.crosstab(table["verdict"], [table["study"], table.index.get_level_values("AF")])
    studies = [name for name in PAPERS.values() if name in set(table["study"])]
    columns = sorted(counts.columns, key=lambda column: (studies.index(column[0]),
                                                         column[1] == NO_AF, column[1]))
    return (counts.reindex(index=[*VERDICTS, NOT_READ], columns=columns, fill_value=0)
            .rename_axis(index="verdict", columns=["paper", "AF"]))


def verdicts_rest_on(table: pd.DataFrame, data_root: str | None) -> str:
    """A caption's words for what ``table``'s verdicts (or their counts) rest on: claims read at
    an acceleration, not images (its rows and claims counted); each verdict's volumes and slices
    and its data are on the chapter's table it is read from (``data_root``: this page's)."""
    return (f"unit: a claim at an acceleration (one verdict), not an image; N = {len(table)} "
            f"rows of {table['id'].nunique()} claims, each verdict resting on the volumes and "
            f"slices its chapter's table states; data: each chapter's table names its own (the "
            f"brain, shifted and single-coil sets have roots of their own); this page: "
            f"{data_words(data_root)}")


#: Background colours of the verdicts (light, readable with black text).
VERDICT_COLOURS = {"reproduced": "#d4edda", "direction only": "#fff3cd",
                   "not reproduced": "#f8d7da", "not comparable": "#e2e3e5",
                   NOT_READ: "#ffffff"}


def source_link(source: str, chapter: str, af: str) -> str:
    """The source cell: a link to the chapter's page (``chapter``.html beside the summary's),
    marked for ``tools/check_html.py`` (class ``fnaf-source``, the acceleration in ``data-af``).
    A claim read at no acceleration (``af`` :data:`NO_AF`) links unmarked, or not at all
    without a chapter."""
    if af != NO_AF:
        return f'<a class="fnaf-source" data-af="{af}" href="{chapter}.html">{source}</a>'
    return f'<a href="{chapter}.html">{source}</a>' if chapter else source


def summary_view(table: pd.DataFrame):
    """:func:`claims` for reading (a Styler): each claim with its register id beneath it, the
    source linked to its chapter, the rule by its short name (``direction`` for
    ``direction_verdict``), the verdicts coloured, and the readings free to break after their
    hyphens, underscores, slashes and dots (so that the table fits a projector's page)."""
    shown = table.drop(columns=["chapter", "study", "id"]).copy()
    shown["source"] = [source_link(row["source"], row["chapter"], af)
                       for (_, af), row in table.iterrows()]
    shown["rule"] = shown["rule"].str.removesuffix("_verdict")
    for column in ("paper", "ours"):
        shown[column] = [re.sub(r"([-_/]|\.(?=[a-z]))", r"\1<wbr>", f"{text}")
                         for text in shown[column]]
    shown.index = pd.MultiIndex.from_arrays(
        [[f"{claim}<br><small><code>{claim_id}</code></small>" for claim, claim_id in
          zip(table.index.get_level_values("claim"), table["id"])],
         table.index.get_level_values("AF")], names=table.index.names)
    return wrapped(shown).set_table_attributes('class="dataframe fnaf-summary"').map(
        lambda verdict: f"background-color: {VERDICT_COLOURS[verdict]}", subset=["verdict"])
