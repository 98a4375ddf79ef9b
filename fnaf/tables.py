"""The paper's tables rebuilt from this package's results, with the paper's numbers beside them."""

from __future__ import annotations

import pandas as pd

from fnaf.evaluation import METRICS
from fnaf.paper import paper_table

#: Display names of the models, as the paper's tables write them.
MODEL_NAMES = {"unet": "U-Net", "irim": "I-RIM"}


def table3(per_volume: dict[str, pd.DataFrame], accel: int) -> pd.DataFrame:
    """Table 3: NMSE, PSNR, SSIM (mean and std across volumes) per model, beside the paper.

    Args:
        per_volume: display name (``"zero-filled"``, ``"U-Net"``, ``"FNAF U-Net"``, ...) ->
            per-volume metrics (columns ``NMSE``, ``PSNR``, ``SSIM``; one row per volume).
        accel: 4 or 8, selecting the paper's rows.

    Returns:
        one row per model; columns ``NMSE``, ``NMSE std``, ... and ``paper NMSE``,
        ``paper NMSE std``, ... (``NaN`` where the paper has no such row, e.g. zero-filled).
    """
    paper = paper_table("table3_reconstruction_quality")[f"{accel}x"]
    rows = {}
    for name, frame in per_volume.items():
        row = {}
        for metric in METRICS:
            row[metric] = frame[metric].mean()
            row[f"{metric} std"] = frame[metric].std(ddof=1)
        reported = paper.get(name, {})
        for metric in METRICS:
            row[f"paper {metric}"] = reported.get(metric.lower(), float("nan"))
            row[f"paper {metric} std"] = reported.get(f"{metric.lower()}_std", float("nan"))
        rows[name] = row
    return pd.DataFrame(rows).T.rename_axis("model")


def mean_std_strings(table: pd.DataFrame, digits: dict[str, int] | None = None) -> pd.DataFrame:
    """Format ``X``/``X std`` column pairs as ``"mean ± std"`` strings for display."""
    digits = digits or {"NMSE": 4, "PSNR": 2, "SSIM": 4}
    shown = {}
    for column in table.columns:
        if column.endswith(" std"):
            continue
        places = digits.get(column.split()[-1], 4)
        mean, std = table[column], table[f"{column} std"]
        shown[column] = [("–" if pd.isna(m) else f"{m:.{places}f} ± {s:.{places}f}")
                         for m, s in zip(mean, std)]
    return pd.DataFrame(shown, index=table.index)


def table2(summaries: dict[str, dict], accel: int) -> pd.DataFrame:
    """Table 2: attack rate (%) and average NMSE per model, with the control run's false-alarm
    rate and mean beside them, and the paper's values.

    Args:
        summaries: display name -> :meth:`fnaf.attacks.AttackReport.summary`.
        accel: 4 or 8, selecting the paper's rows.
    """
    paper = paper_table("table2_fnaf_attack_random_search")[f"{accel}x"]
    rows = {}
    for name, summary in summaries.items():
        reported = paper.get(name, {})
        rows[name] = {
            "attack rate (%)": 100 * summary["attack_rate"],
            "NMSE": summary["nmse"],
            "control rate (%)": 100 * summary["control_rate"],
            "control NMSE": summary["control_nmse"],
            "recovery error": summary["recovery_error"],
            "paper attack rate (%)": reported.get("attack_rate_pct", float("nan")),
            "paper NMSE": reported.get("nmse", float("nan")),
        }
    return pd.DataFrame(rows).T.rename_axis("model")


def interval_strings(table: pd.DataFrame, columns: list[str], places: int = 4) -> pd.DataFrame:
    """``"mean [low, high]"`` strings of the ``X``/``X low``/``X high`` columns, ``–`` where the
    mean is missing and the mean alone where the interval is."""
    def shown(mean, low, high) -> str:
        if pd.isna(mean):
            return "–"
        if pd.isna(low):
            return f"{mean:.{places}f}"
        return f"{mean:.{places}f} [{low:.{places}f}, {high:.{places}f}]"

    return pd.DataFrame({column: [shown(*values) for values in zip(
        table[column], table[f"{column} low"], table[f"{column} high"])] for column in columns},
        index=table.index)


def table4_view(table: pd.DataFrame, robust: list[str], places: int = 4):
    """Table 4 for reading: ``N``, each model's mean NMSE with its 95 % interval, each robust
    model's direction against its baseline (bold where the paired test is significant), and
    the paper's ``N`` and means beside them."""
    models = [column[:-4] for column in table.columns
              if column.endswith(" low") and f"paper {column[:-4]}" in table.columns]
    shown = interval_strings(table, models, places)
    for model in robust:
        shown[model] = [text if direction == "equal" or text == "–" else f"{text} {direction}"
                        for text, direction in zip(shown[model], table[f"{model} direction"])]
    paper = table[["paper N", *(f"paper {model}" for model in models)]]
    view = pd.concat([table[["N"]], shown, paper.map(lambda v: "–" if pd.isna(v) else f"{v:g}")],
                     axis=1)

    def bold(column: pd.Series) -> list[str]:
        flags = table.get(f"{column.name} significant")
        return ["font-weight: bold" if flags is not None and flag else "" for flag in
                (flags if flags is not None else [False] * len(column))]

    return view.style.apply(bold, subset=robust)
