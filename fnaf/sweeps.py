"""Choosing the robust objectives' β by measurement (the demo cannot use the paper's β = 10).

:func:`beta_sweep` fine-tunes one baseline with each objective and β, and measures every
fine-tune against the clean fine-tune of equal length at each acceleration, on the same units:
the SSIM change (paired over validation volumes), the attack rate (random search; Wilson
interval, exact McNemar test) and the mean NMSE inside the annotated boxes (Table 4's "All";
paired signed-rank test). :func:`select_beta` applies the book's rule to that table.
``tools/beta_sweep.py`` runs it for the demo and writes ``fnaf/measurements/beta_sweep_<model>.csv``
(:func:`load_sweep`), from which the demo preset's β (:data:`fnaf.runs.DEMO_BETA`) is chosen.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd

from fnaf.attacks.report import compare_hits
from fnaf.captions import Sample
from fnaf.formatting import interval_strings
from fnaf.io import atomic_path
from fnaf.runs import (
    AttackConfig,
    RunConfig,
    attack_or_load,
    evaluate_or_load,
    preset,
    robust_preset,
    scored_on,
    train_or_load,
    validation_boxes,
)
from fnaf.stats import paired_test

#: The committed sweeps (``tools/beta_sweep.py``).
MEASUREMENTS = Path(__file__).resolve().parent / "measurements"
#: What each objective is chosen for: FNAF the attack rate, B-Box the error inside the boxes.
CRITERIA = {"fnaf": "attack rate (%)", "bbox": "box NMSE"}


def measure_fine_tune(config: RunConfig, attack: AttackConfig, runs_root,
                      held_out: bool = False, held_out_root=None) -> dict[int, dict]:
    """Train (or load) ``config`` and measure it at each of its accelerations: the per-volume
    quality, the ``attack`` and the error inside the annotated boxes; on its validation split,
    or with ``held_out`` on held-out volumes (:func:`fnaf.runs.scored_on`, ``held_out_root``
    for a data folder)."""
    run = train_or_load(config, runs_root, progress=False)
    if held_out:
        run = scored_on(run, held_out_root)
    boxes = validation_boxes(run.config)
    measured = {}
    for accel in config.accels:
        evaluation = evaluate_or_load(run, accel, annotations=boxes)
        measured[accel] = {
            "quality": evaluation.metrics.sort_values("fname"),
            "attack": attack_or_load(run, attack, accel, progress=False),
            "boxes": evaluation.boxes.sort_values(["fname", "slice", "label"])}
    return measured


def compare_fine_tunes(measured: dict, clean: dict) -> dict:
    """One acceleration of :func:`measure_fine_tune` against a reference's (``clean``, on the
    same volumes, slices and features): SSIM and its paired change, the attack rate and the
    McNemar p of the hits, the box NMSE and its paired change."""
    summary = measured["attack"].summary()
    _, _, p_hits = compare_hits(measured["attack"], clean["attack"])
    quality, reference = measured["quality"]["SSIM"], clean["quality"]["SSIM"]
    boxes, reference_boxes = measured["boxes"]["nmse"], clean["boxes"]["nmse"]
    return {"SSIM": quality.mean(), "ΔSSIM": quality.mean() - reference.mean(),
            "ΔSSIM p": paired_test(quality, reference).p_signed_rank,
            "attack rate (%)": 100 * summary["attack_rate"],
            "attack rate low": 100 * summary["attack_rate_low"],
            "attack rate high": 100 * summary["attack_rate_high"], "McNemar p": p_hits,
            "box NMSE": boxes.mean(), "Δbox NMSE": boxes.mean() - reference_boxes.mean(),
            "box p": paired_test(boxes, reference_boxes).p_signed_rank}


def beta_sweep(betas: Sequence[float], objectives: Sequence[str] = ("fnaf", "bbox"), *,
               scale: str = "demo", model: str = "unet", accel=(4, 8), data_root=None,
               attack: AttackConfig = AttackConfig(), runs_root=None, held_out: bool = True,
               held_out_root=None, progress: bool = True) -> pd.DataFrame:
    """One row per (objective, β, acceleration), the clean fine-tune's rows first (β NaN).

    Every fine-tune is :func:`fnaf.runs.robust_preset` ``(scale, model, accel, objective,
    data_root, beta=β)``, measured at each of its accelerations on held-out volumes (``held_out``:
    the phantom drawn with another seed, or ``held_out_root``; :func:`fnaf.runs.scored_on`), so
    that β is not chosen on the volumes the chapters judge it by; ``held_out=False`` measures on
    the validation split (``split`` says which).
    """
    def fine_tune(objective: str, **options) -> RunConfig:
        return robust_preset(scale, model, accel, objective, data_root, **options)

    def measure(config: RunConfig) -> dict[int, dict]:
        return measure_fine_tune(config, attack, runs_root, held_out, held_out_root)

    reference = measure(fine_tune("clean"))
    rows = [{"objective": "clean", "beta": float("nan"), "accel": accel,
             **compare_fine_tunes(measured, measured)} for accel, measured in reference.items()]
    for objective in objectives:
        for beta in betas:
            measured = measure(fine_tune(objective, beta=beta))
            rows += [{"objective": objective, "beta": beta, "accel": accel,
                      **compare_fine_tunes(result, reference[accel])}
                     for accel, result in measured.items()]
            if progress:
                print(pd.DataFrame(rows[-len(measured):]).round(4).to_string(), flush=True)
    return pd.DataFrame(rows).assign(split="held-out" if held_out else "validation")


def select_beta(sweep: pd.DataFrame, objective: str, max_ssim_drop: float = 0.01) -> float:
    """The book's rule: among the β whose SSIM stays within ``max_ssim_drop`` of the clean
    fine-tune's at every acceleration (the paper's claim is a change below 0.01), the one with
    the lowest criterion (:data:`CRITERIA`) averaged over the accelerations; the smallest such
    β on ties. ``ValueError`` if no β keeps the SSIM."""
    rows = sweep[sweep["objective"] == objective]
    kept = rows.groupby("beta").filter(lambda group: (group["ΔSSIM"] >= -max_ssim_drop).all())
    if kept.empty:
        raise ValueError(f"no {objective} β keeps the SSIM within {max_ssim_drop} of the clean "
                         f"fine-tune (swept: {sorted(rows['beta'].unique())})")
    score = kept.groupby("beta")[CRITERIA[objective]].mean()
    return float(score[score == score.min()].index.min())


def sweep_view(sweep: pd.DataFrame, objective: str) -> pd.DataFrame:
    """The sweep for reading: per β (and the clean fine-tune) and acceleration, the SSIM change
    and the objective's criterion (the attack rate with its 95 % interval, or the box NMSE)."""
    rows = sweep[sweep["objective"].isin(["clean", objective])].copy()
    if objective == "fnaf":
        rows["attack rate (%)"] = _interval_column(rows, "attack rate (%)", "attack rate")
    rows["ΔSSIM"] = rows["ΔSSIM"].map(lambda value: f"{value:+.4f}")
    rows["box NMSE"] = rows["box NMSE"].map(lambda value: f"{value:.4f}")
    rows["beta"] = rows["beta"].map(lambda value: "–" if pd.isna(value) else f"{value:g}")
    view = rows.pivot_table(index=["objective", "beta"], columns="accel", aggfunc="first",
                            values=["ΔSSIM", CRITERIA[objective]], sort=False)
    view.columns = [f"{name} {accel}×" for name, accel in view.columns]
    return view


def choice_sentence(sweep: pd.DataFrame, objective: str, preset_beta: float) -> str:
    """What the rule picks from ``sweep`` for ``objective``, against the preset's β, and on
    which volumes it was measured (a sweep without a ``split`` column predates the held-out
    split: it was measured on the validation volumes the chapters judge)."""
    chosen = select_beta(sweep, objective)
    agrees = "the preset's β" if chosen == preset_beta else f"not the preset's {preset_beta:g}"
    split = sweep["split"].iloc[0] if "split" in sweep.columns else "validation"
    where = ("on held-out volumes (the phantom drawn with another seed), not the ones judged "
             "here" if split == "held-out" else
             "on the validation volumes judged here: the choice is tuned on what it is judged by")
    return (f"{objective}: the rule picks β = {chosen:g} ({agrees}); measured {where}, at commit "
            f"{sweep['git_commit'].iloc[0]} by tools/beta_sweep.py")


def seed_spread(training_seeds: Sequence[int] = (0, 1, 2), attack_seeds: Sequence[int] = (0, 1, 2),
                *, scale: str = "demo", model: str = "unet", accel=(4, 8), data_root=None,
                attack: AttackConfig = AttackConfig(), runs_root=None) -> pd.DataFrame:
    """How far Table 2 moves when nothing but a seed changes: the baseline trained with each of
    ``training_seeds`` (attacked with the attack's own seed), and the first of them attacked
    with each of ``attack_seeds`` (new random features on the same model). One row per
    (source, seed, acceleration): the attack rate and the ceiling-free lost rate with 95 %
    Wilson intervals, the control's false-alarm rate, the attack NMSE and the clean SSIM.
    Different machines differ in floating-point rounding, which a training seed exceeds."""
    rows = []
    for source, seeds in (("training", training_seeds), ("attack", attack_seeds)):
        for seed in seeds:
            config = preset(scale, model, accel, data_root=data_root,
                            seed=seed if source == "training" else training_seeds[0])
            run = train_or_load(config, runs_root, progress=False)
            attack_config = replace(attack, seed=seed) if source == "attack" else attack
            for a in config.accels:
                summary = attack_or_load(run, attack_config, a, progress=False).summary()
                rows.append({"varied": source, "seed": seed, "accel": a,
                             "SSIM": evaluate_or_load(run, a).metrics["SSIM"].mean(),
                             "NMSE": summary["nmse"], **{
                                 f"{name} {part}": 100 * summary[f"{name}{suffix}"]
                                 for name in ("attack_rate", "lost_rate")
                                 for part, suffix in (("(%)", ""), ("low", "_low"),
                                                      ("high", "_high"))},
                             "control max (%)": 100 * summary["control_max_rate"]})
    return pd.DataFrame(rows).rename(columns=lambda name: name.replace("_", " "))


def spread_sentence(spread: pd.DataFrame, column: str = "attack rate") -> str:
    """Whether every seed's estimate lies inside every other seed's 95 % interval, per source
    of variation and acceleration (the test of "the same config gives numbers inside each
    other's intervals")."""
    parts = []
    for (varied, accel), group in spread.groupby(["varied", "accel"], sort=False):
        values = group[f"{column} (%)"]
        inside = all(((low <= values) & (values <= high)).all()
                     for low, high in zip(group[f"{column} low"], group[f"{column} high"]))
        parts.append(f"{accel}×, {varied} seeds: {column} {values.min():.1f}–{values.max():.1f} %,"
                     f" {'each inside' if inside else 'not all inside'} the others' intervals")
    return "; ".join(parts)


def _interval_column(table: pd.DataFrame, column: str, bounds: str) -> pd.Series:
    """``column`` with its interval (``<bounds> low``/``high``) as ``"value [low, high]"``."""
    renamed = table.rename(columns={f"{bounds} low": f"{column} low",
                                    f"{bounds} high": f"{column} high"})
    return interval_strings(renamed, [column], 1)[column]


def spread_view(spread: pd.DataFrame) -> pd.DataFrame:
    """The seed spread for reading: per source of variation, seed and acceleration, the attack
    rate and the lost rate with their 95 % intervals, the control's rate, NMSE and SSIM."""
    def interval(name: str) -> pd.Series:
        return _interval_column(spread, f"{name} (%)", name)

    view = pd.DataFrame({"attack rate (%)": interval("attack rate"),
                         "feature lost (%)": interval("lost rate"),
                         "control max (%)": spread["control max (%)"].map("{:.1f}".format),
                         "NMSE": spread["NMSE"].map("{:.3f}".format),
                         "SSIM": spread["SSIM"].map("{:.4f}".format)})
    view.index = pd.MultiIndex.from_arrays(
        [spread["varied"], spread["seed"], spread["accel"].map("{}×".format)],
        names=["varied", "seed", "AF"])
    return view


def save_measurement(table: pd.DataFrame, name: str, directory: Path = MEASUREMENTS) -> Path:
    """Write a tool's measurement as ``<directory>/<name>.csv`` (atomically), stamped with the
    ``git_commit`` it was measured at (``git describe --always --dirty``: a dirty tree says so)."""
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                            text=True, cwd=Path(__file__).parent).stdout.strip() or "unknown"
    path = Path(directory) / f"{name}.csv"
    with atomic_path(path) as partial:
        table.assign(git_commit=commit).to_csv(partial, index=False)
    return path


def load_measurement(name: str) -> pd.DataFrame:
    """A committed measurement table ``fnaf/measurements/<name>.csv`` (each written by a tool
    in ``tools/`` with the ``git_commit`` it was measured at)."""
    path = MEASUREMENTS / f"{name}.csv"
    if not path.exists():
        raise FileNotFoundError(f"no measurement {path}; the tools/ script that writes it "
                                "says how to run it")
    return pd.read_csv(path)


def demo_sample(unit: str, model: str = "unet") -> Sample:
    """What a committed demo measurement (``tools/beta_sweep.py``, ``seed_spread.py``,
    ``irim_variants.py``) rests on: the demo preset's validation volumes and their slices on the
    embedded phantom (held-out ones are drawn with another seed, in the same numbers), counted
    from the preset, as the CSVs keep no counts."""
    phantom = preset("demo", model).phantom
    return Sample(unit, phantom.val_volumes, phantom.val_volumes * phantom.slices)


def load_sweep(model: str = "unet") -> pd.DataFrame:
    """The committed demo β sweep of ``model`` (``tools/beta_sweep.py``)."""
    return load_measurement(f"beta_sweep_{model}")
