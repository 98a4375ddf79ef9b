"""What several chapters share of the FNAF paper's tables: Tables 1-4 rebuilt from this
package's results with the paper's numbers beside them (chapters 00-04, the summary), the views
of Table 2's attack summaries, and the correlation view of chapters 06 and 10. A table only one
chapter shows lives in that chapter's module (:mod:`fnaf.studies`); number formatting in
:mod:`fnaf.formatting`."""

from __future__ import annotations

import pandas as pd

from fnaf.boxes import COMPARTMENTS
from fnaf.evaluation import METRICS
from fnaf.formatting import interval_string, interval_strings, p_string
from fnaf.models import MODEL_NAMES  # noqa: F401 (the notebooks' display names)
from fnaf.paper import paper_table
from fnaf.stats import cluster_bootstrap_mean, paired_test, volume_paired_test


def table3(per_volume: dict[str, pd.DataFrame], accel: int) -> pd.DataFrame:
    """Table 3: NMSE, PSNR, SSIM (mean and std across volumes) per model, beside the paper.

    Args:
        per_volume: display name (``"zero-filled"``, ``"U-Net"``, ``"FNAF U-Net"``, ...) ->
            per-volume metrics (columns ``NMSE``, ``PSNR``, ``SSIM``; one row per volume).
        accel: 4 or 8, selecting the paper's rows.

    Returns:
        one row per model; columns ``NMSE``, ``NMSE std``, ``NMSE low``, ``NMSE high`` (the
        mean's 95 % bootstrap interval over volumes), ... and ``paper NMSE``,
        ``paper NMSE std``, ... (``NaN`` where the paper has no such row, e.g. zero-filled).
    """
    paper = paper_table("table3_reconstruction_quality")[f"{accel}x"]
    rows = {}
    for name, frame in per_volume.items():
        row = {}
        for metric in METRICS:
            row[metric], row[f"{metric} low"], row[f"{metric} high"] = cluster_bootstrap_mean(
                frame[metric], frame["fname"])
            row[f"{metric} std"] = frame[metric].std(ddof=1)
        reported = paper.get(name, {})
        for metric in METRICS:
            row[f"paper {metric}"] = reported.get(metric.lower(), float("nan"))
            row[f"paper {metric} std"] = reported.get(f"{metric.lower()}_std", float("nan"))
        rows[name] = row
    return pd.DataFrame(rows).T.rename_axis("model")


def quality_table(evaluations: dict) -> pd.DataFrame:
    """Table 3 at every acceleration from evaluations keyed by ``(label, accel)``
    (:class:`fnaf.evaluation.Evaluation`): the zero-filled input (the first label's: all share
    the validation masks) and then each label, stacked as :func:`by_acceleration` does."""
    accels = list(dict.fromkeys(accel for _, accel in evaluations))
    labels = list(dict.fromkeys(label for label, _ in evaluations))
    return by_acceleration({a: table3(
        {"zero-filled": evaluations[labels[0], a].zero_filled,
         **{label: evaluations[label, a].metrics for label in labels}}, a) for a in accels})


def by_acceleration(tables: dict[int, pd.DataFrame]) -> pd.DataFrame:
    """One table from per-acceleration tables, the acceleration (``"4×"``) as the outer row
    level ``AF``, as the paper stacks its tables."""
    return pd.concat({f"{accel}×": table for accel, table in tables.items()}, names=["AF"])


#: Per metric: the direction in which a model beats the zero-filled input.
BETTER = {"NMSE": "lower", "PSNR": "higher", "SSIM": "higher"}


def versus_zero_filled(per_volume: dict[str, pd.DataFrame], alpha: float = 0.05) -> pd.DataFrame:
    """Whether each model beats the zero-filled input, volume by volume: per metric the mean
    paired difference (model − zero-filled), the two-sided signed-rank p over the volumes, and
    ``beats`` — the better direction with p ≤ ``alpha``.

    Args:
        per_volume: as :func:`table3`, with a ``"zero-filled"`` entry (the same volumes).
    """
    zero = per_volume["zero-filled"].sort_values("fname")
    rows = {}
    for name, frame in per_volume.items():
        if name == "zero-filled":
            continue
        frame = frame.sort_values("fname")
        if frame["fname"].tolist() != zero["fname"].tolist():
            raise ValueError(f"{name} is scored on other volumes than the zero-filled input")
        row = {}
        for metric, better in BETTER.items():
            comparison = paired_test(frame[metric], zero[metric])
            row[f"{metric} difference"] = float((frame[metric].to_numpy()
                                                 - zero[metric].to_numpy()).mean())
            row[f"{metric} p"] = comparison.p_signed_rank
            row[f"{metric} beats"] = (comparison.direction == better
                                      and comparison.significant(alpha))
        rows[name] = row
    return pd.DataFrame(rows).T.rename_axis("model")


#: Table 2's columns: (column, summary key, scale); each has ``low``/``high`` interval columns.
TABLE2_COLUMNS = (
    ("attack rate (%)", "attack_rate", 100),
    ("NMSE", "nmse", 1),
    ("control rate, max over K (%)", "control_max_rate", 100),
    ("control rate at the worst candidate (%)", "control_rate", 100),
    ("control rate, all candidates (%)", "control_all_rate", 100),
    ("hits with control (%)", "hit_with_control_rate", 100),
    ("control NMSE", "control_nmse", 1),
    ("recovery error", "recovery_error", 1),
    ("feature lost (%)", "lost_rate", 100),
    ("complete loss above γ (%)", "ceiling_rate", 100),
)


def table2(summaries: dict[str, dict], accel: int) -> pd.DataFrame:
    """Table 2: attack rate (%) and average NMSE per model with 95 % intervals, the controls
    read the same way (the clean slices scored in the same regions: the max over the K
    candidates' regions, as the attack's own statistic; at the worst candidate; over all
    candidates), the hits whose control also fires, and the paper's values.

    Args:
        summaries: display name -> :meth:`fnaf.attacks.AttackReport.summary`.
        accel: 4 or 8, selecting the paper's rows.
    """
    paper = paper_table("table2_fnaf_attack_random_search")[f"{accel}x"]
    rows = {}
    for name, summary in summaries.items():
        row = {"slices": summary["slices"]}
        for column, key, scale in TABLE2_COLUMNS:
            for suffix in ("", "_low", "_high"):
                row[column + suffix.replace("_", " ")] = scale * summary[key + suffix]
        reported = paper.get(name, {})
        row["paper attack rate (%)"] = reported.get("attack_rate_pct", float("nan"))
        row["paper NMSE"] = reported.get("nmse", float("nan"))
        rows[name] = row
    return pd.DataFrame(rows).T.rename_axis("model")


def table2_view(table: pd.DataFrame) -> pd.DataFrame:
    """Table 2 as the paper prints it — the attack rate and the mean attack NMSE, with 95 %
    intervals — beside the paper's values."""
    shown = pd.concat([interval_strings(table, ["attack rate (%)"], places=1),
                       interval_strings(table, ["NMSE"], places=3)], axis=1)
    paper = table[["paper attack rate (%)", "paper NMSE"]].map(
        lambda value: "–" if pd.isna(value) else f"{value:g}")
    return pd.concat([table[["slices"]].astype(int), shown["attack rate (%)"],
                      paper["paper attack rate (%)"], shown["NMSE"], paper["paper NMSE"]], axis=1)


def hits_view(table: pd.DataFrame) -> pd.DataFrame:
    """What Table 2's hits mean, with 95 % intervals: the control's false-alarm rate (the same
    K regions on the clean slice: the max over K, as the attack's own statistic, and over all
    candidates), the hits whose control also fires, and the hit free of the contrast ceiling
    (the feature lost: recovery error above ``LOST_RECOVERY_ERROR``) with the mean recovery
    error."""
    rates = ["attack rate (%)", "control rate, max over K (%)",
             "control rate, all candidates (%)", "hits with control (%)", "feature lost (%)"]
    return pd.concat([interval_strings(table, rates, places=1),
                      interval_strings(table, ["recovery error"], places=3)], axis=1)


def separation(first: dict, second: dict, key: str) -> str:
    """``"above"`` where ``first``'s 95 % interval of ``key`` lies wholly above ``second``'s,
    ``"below"`` where wholly below, else ``"overlapping"`` (summaries carry ``<key>_low`` and
    ``<key>_high``)."""
    if first[f"{key}_low"] > second[f"{key}_high"]:
        return "above"
    if first[f"{key}_high"] < second[f"{key}_low"]:
        return "below"
    return "overlapping"


def attack_comparison_view(summaries: dict, places: dict[str, int] | None = None
                           ) -> pd.DataFrame:
    """Attack settings side by side (random search against finite differences, one NMSE domain
    against another): per row label, the attack rate, the mean attack NMSE, the control's
    false-alarm rate (max over K) and the control NMSE, each with its 95 % interval.

    Args:
        summaries: row label (a string or a tuple, e.g. ``("U-Net 8×", "finite differences")``)
            -> :meth:`fnaf.attacks.AttackReport.summary`.
    """
    columns = {"attack rate (%)": ("attack_rate", 100, 1), "NMSE": ("nmse", 1, 3),
               "control rate, max over K (%)": ("control_max_rate", 100, 1),
               "control NMSE": ("control_nmse", 1, 3)}
    places = {**{column: digits for column, (_, _, digits) in columns.items()}, **(places or {})}
    rows = {label: {column + suffix.replace("_", " "): scale * summary[key + suffix]
                    for column, (key, scale, _) in columns.items()
                    for suffix in ("", "_low", "_high")}
            for label, summary in summaries.items()}
    table = pd.DataFrame(rows).T
    return pd.concat([interval_strings(table, [column], places[column]) for column in columns],
                     axis=1)


def information_view(summaries: dict) -> pd.DataFrame:
    """Information preservation (§3.3) per row label: the acceptance rate (D > ε, Wilson 95 %
    interval), Pearson's r of the relative D and of the plain MSE with the attack loss (95 %
    interval and p with slices as independent), the MSE's r with its interval resampling volumes
    (the one the summary reads; where the summary has it), the volumes and slices, and the
    paper's acceptance rate and r beside them."""
    reported = paper_table("other_reported_figures")
    rows = {}
    for label, summary in summaries.items():
        row = {"acceptance rate (%)" + suffix.replace("_", " "):
               100 * summary["acceptance_rate" + suffix] for suffix in ("", "_low", "_high")}
        for name, key in (("r, relative D", "ip_pearson"), ("r, MSE", "ip_mse_pearson")):
            row.update({name: summary[f"{key}_r"], f"{name} low": summary[f"{key}_r_low"],
                        f"{name} high": summary[f"{key}_r_high"],
                        f"p ({name[3:]})": p_string(summary[f"{key}_p"])})
        rows[label] = row
    table = pd.DataFrame(rows).T
    view = pd.concat([interval_strings(table, ["acceptance rate (%)"], 1),
                      interval_strings(table, ["r, relative D"], 2), table[["p (relative D)"]],
                      interval_strings(table, ["r, MSE"], 2), table[["p (MSE)"]]], axis=1)
    if all("ip_mse_pearson_r_volume_low" in summary for summary in summaries.values()):
        view["r, MSE, volumes resampled"] = [interval_string(
            summary["ip_mse_pearson_r"], summary["ip_mse_pearson_r_volume_low"],
            summary["ip_mse_pearson_r_volume_high"], 2) for summary in summaries.values()]
        view["volumes / slices"] = [f"{summary['volumes']} / {summary['slices']}"
                                    for summary in summaries.values()]
    view["paper acceptance"] = reported["information_preservation_acceptance_rate"]
    view["paper r"] = f"{reported['ip_loss_vs_fnaf_loss_pearson_r']:g}"
    return view


def table4_view(table: pd.DataFrame, baselines: dict[str, str], baseline: str,
                places: int = 4):
    """Table 4 for reading, one baseline's family (``baselines``: robust model -> baseline;
    the whole table is too wide for a projector): ``N``, the baseline's and its robust models'
    mean NMSE with 95 % intervals, each robust model's direction against the baseline (bold
    where the paired test is significant), and the paper's ``N`` and means beside them."""
    robust = [model for model, of in baselines.items() if of == baseline]
    models = [baseline, *robust]
    shown = interval_strings(table, models, places)
    for model in robust:
        shown[model] = [text if direction == "equal" or text == "–" else f"{text} {direction}"
                        for text, direction in zip(shown[model], table[f"{model} direction"])]
    paper = table[["paper N", *(f"paper {model}" for model in models)]]
    view = pd.concat([table[["N"]], shown, paper.map(lambda v: "–" if pd.isna(v) else f"{v:g}")],
                     axis=1)

    def bold(column: pd.Series) -> list[str]:
        return ["font-weight: bold" if flag else "" for flag in table[f"{column.name} significant"]]

    return view.style.apply(bold, subset=robust).set_table_attributes('class="dataframe"') \
        .set_table_styles([{"selector": "th, td", "props": "padding: 0.25em 0.4em;"}])


def table4_tests_view(tests: pd.DataFrame, baselines: dict[str, str], baseline: str
                      ) -> pd.DataFrame:
    """:func:`table4`'s p-values of the robust models of one ``baseline``, two significant
    digits, under a header of model and test (signed-rank over boxes, the paper's rank-sum,
    signed-rank over volumes)."""
    robust = [model for model, of in baselines.items() if of == baseline]
    tests_of = {"": "signed-rank, boxes", " rank-sum": "rank-sum, boxes",
                " volumes": "signed-rank, volumes"}
    columns = {(model, name): tests[f"{model} p{suffix}"] for model in robust
               for suffix, name in tests_of.items()}
    return pd.DataFrame(columns).map(lambda p: "–" if pd.isna(p) else f"{p:.2g}")


UNIT = ["fname", "slice", "label"]


def table4(per_model: dict[str, pd.DataFrame], baselines: dict[str, str], accel: int,
           alpha: float = 0.05, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table 4: mean NMSE inside the boxes per compartment and model, with intervals and paired
    tests of each robust model against its baseline.

    Every model is scored on the same (volume, slice, label) units, so a robust model is
    compared with its baseline unit by unit: the two-sided Wilcoxon signed-rank test (exact for
    small ``N``; compartments with fewer than :data:`~fnaf.stats.MIN_PAIRED_UNITS` units are
    shown but not tested), with the direction of the median difference. The paper's unpaired
    rank-sum test is given beside it.

    Args:
        per_model: display name -> :func:`box_nmse` rows of that model (the same units).
        baselines: robust model -> its baseline (e.g. ``{"FNAF U-Net": "U-Net"}``).
        accel: 4 or 8, selecting the paper's values.
        seed: of the bootstrap over volumes behind the means' 95 % intervals.

    Returns:
        ``(table, tests)``. ``table``: ``N``; per model the mean (``<model>``) and its interval
        (``<model> low``, ``<model> high``); per robust model ``<robust> direction``
        (``lower``/``higher``/``equal`` than the baseline, lower is better) and
        ``<robust> significant`` (signed-rank p ≤ ``alpha``); the paper's ``paper N`` and
        ``paper <model>``; with the volume as the unit (:func:`~fnaf.stats.volume_paired_test`:
        boxes of one volume are not independent) ``<robust> volumes`` (how many) and
        ``<robust> direction volumes``. ``tests``: per robust model ``<robust> p`` (signed-rank
        over boxes), ``<robust> p rank-sum`` (the paper's test, boxes unpaired) and ``<robust>
        p volumes`` (signed-rank over the volumes' mean NMSE); the box-level p-values are
        secondary (optimistic).
    """
    def units_of(frame: pd.DataFrame, compartment: str) -> pd.DataFrame:
        chosen = frame if compartment == "All" else frame[frame["compartment"] == compartment]
        return chosen.sort_values(UNIT)

    reference_units = next(iter(per_model.values()))[UNIT]
    for model, frame in per_model.items():
        if not frame[UNIT].sort_values(UNIT).reset_index(drop=True).equals(
                reference_units.sort_values(UNIT).reset_index(drop=True)):
            raise ValueError(f"{model}: scored on other (volume, slice, label) units than "
                             f"{next(iter(per_model))}; every model must be scored on the "
                             "same annotated units")
    reported = paper_table("table4_bbox_region_nmse")[f"{accel}x"]
    first = next(iter(per_model.values()))
    table = pd.DataFrame(index=pd.Index(COMPARTMENTS, name="compartment"))
    table["N"] = [len(units_of(first, name)) for name in COMPARTMENTS]
    tests = pd.DataFrame(index=table.index)
    for model, frame in per_model.items():
        summaries = [cluster_bootstrap_mean(units["nmse"], units["fname"], seed=seed)
                     for units in (units_of(frame, name) for name in COMPARTMENTS)]
        table[model], table[f"{model} low"], table[f"{model} high"] = zip(*summaries)
    for robust, baseline in baselines.items():
        comparisons = [paired_test(units_of(per_model[robust], name)["nmse"],
                                   units_of(per_model[baseline], name)["nmse"])
                       for name in COMPARTMENTS]
        tests[f"{robust} p"] = [c.p_signed_rank for c in comparisons]
        tests[f"{robust} p rank-sum"] = [c.p_rank_sum for c in comparisons]
        by_volume = [volume_paired_test(robust_units["nmse"], baseline_units["nmse"],
                                        robust_units["fname"])
                     for robust_units, baseline_units in (
                         (units_of(per_model[robust], name), units_of(per_model[baseline], name))
                         for name in COMPARTMENTS)]
        tests[f"{robust} p volumes"] = [c.p_signed_rank for c in by_volume]
        table[f"{robust} volumes"] = [c.n for c in by_volume]
        table[f"{robust} direction volumes"] = [c.direction for c in by_volume]
        table[f"{robust} direction"] = [c.direction for c in comparisons]
        table[f"{robust} significant"] = [c.significant(alpha) for c in comparisons]
    table["paper N"] = [reported.get(name, {}).get("N") or float("nan") for name in COMPARTMENTS]
    for model in per_model:
        table[f"paper {model}"] = [reported.get(name, {}).get(model, {}).get("nmse", float("nan"))
                                   for name in COMPARTMENTS]
    return table, tests


def table1(datasets: dict, boxes: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Table 1's data rows: per split (``datasets``: split -> :class:`~fnaf.data.fastmri.
    SliceDataset`; ``boxes``: split -> its annotation CSV matched to those volumes), the
    volumes and slices reconstructed and the volumes and slices with boxes, beside the paper's
    counts (``–`` where the paper gives none)."""
    paper = paper_table("table1_data")
    rows = {}
    for split, data in datasets.items():
        annotated = boxes[split]
        rows[split] = {
            ("reconstruction", "volumes"): len(data.volumes),
            ("reconstruction", "slices"): len(data),
            ("annotation", "volumes"): annotated["filename"].nunique(),
            ("annotation", "slices"): len(annotated[["filename", "slice"]].drop_duplicates()),
        }
        for part, unit in list(rows[split]):
            rows[f"paper {split}"] = rows.get(f"paper {split}", {})
            rows[f"paper {split}"][part, unit] = paper[part].get(f"{split}_{unit}", "–")
    return pd.DataFrame(rows).rename_axis(["data", "count"])


def correlation_view(table: pd.DataFrame) -> pd.DataFrame:
    """A correlation table for reading (chapter 06's
    :func:`~fnaf.studies.correlation_analysis.size_correlations`, chapter 10's box reading):
    ``n``, Pearson's r and Spearman's ρ each with its 95 % interval, ρ's p-value, ρ's interval
    resampling volumes where the table has one (the count of volumes in its header where every
    row has the same; the sign is then read from it; the units' reading ``sign, units`` beside
    it), and the sign (with the paper's and the verdict where
    :func:`~fnaf.studies.correlation_analysis.reading` added them); the acceleration as
    ``"4×"``."""
    renamed = table.rename(columns={"pearson_r": "Pearson r", "pearson_low": "Pearson r low",
                                    "pearson_high": "Pearson r high",
                                    "spearman_r": "Spearman ρ", "spearman_low": "Spearman ρ low",
                                    "spearman_high": "Spearman ρ high"}).astype(
        {"Pearson r": float, "Spearman ρ": float})
    view = interval_strings(renamed, ["Pearson r", "Spearman ρ"], 2)
    view.insert(0, "n", table["n"].astype(int))
    view["p (ρ)"] = table["spearman_p"].map(p_string)
    if "spearman_volume_low" in table.columns:  # chapter 06: ρ's interval resampling volumes
        view.insert(0, "volumes", table["volumes"].astype(int))
        view["ρ, volumes resampled"] = [interval_string(*values, 2) for values in zip(
            table["spearman_r"], table["spearman_volume_low"], table["spearman_volume_high"])]
    extra = [column for column in ("sign", "sign_units", "paper", "verdict")
             if column in table.columns]
    view = pd.concat([view, table[extra].rename(columns={"sign_units": "sign, units"})], axis=1)
    if view.get("volumes", pd.Series(dtype=int)).nunique() == 1:  # one count: in the header
        count = view.pop("volumes").iloc[0]
        view = view.rename(columns={"ρ, volumes resampled": f"ρ, {count} volumes resampled"})
    if "accel" in view.index.names:
        view = view.rename(index="{}×".format, level="accel").rename_axis(
            index={"accel": "AF"})
    return view
