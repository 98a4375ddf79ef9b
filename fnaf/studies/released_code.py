"""The chapter on the FNAF paper and its released code: the departures that change a number
(``../shared/reference/fnaf_reference.md`` §12), each an option of the attack, and their
measured effect.

:data:`DEPARTURES` names each departure, the paper's rule, the released code's and the
:class:`~fnaf.runs.AttackConfig` options that switch to the released rule (the default is always
the paper's). :func:`departure_effects` reads pairs of attack reports of one model on the same
slices with the same seed — the paper's rule and the released one — into one table, with the
exact McNemar test on the hits per slice.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

from fnaf.attacks.report import AttackReport, compare_hits
from fnaf.attacks.search import RELEASED_IRIM_TARGET_SCALE
from fnaf.captions import Sample, grouped_samples
from fnaf.formatting import interval_string, p_string
from fnaf.runs import AttackConfig, RunConfig, check_inputs, datasets, robust_preset
from fnaf.sweeps import compare_fine_tunes, measure_fine_tune


def check_attacks(configs: dict[str, RunConfig], paper_rules: AttackConfig,
                  released_rules: dict[str, AttackConfig], departures: dict) -> None:
    """Before any training: the data's annotation CSVs, and the features of the paper's rules
    (on every model of ``configs``, by model name) and of each departure's released rules
    (``released_rules``, on the model of ``departures[name]``) against the region they are
    drawn in on the data's target grid (:func:`fnaf.runs.check_inputs`)."""
    check_inputs(list(configs.values()), paper_rules)
    for name, rules in released_rules.items():
        check_inputs(configs[departures[name].model], rules)


@dataclass(frozen=True)
class Departure:
    """One place where the released code departs from the paper: the ``model`` it concerns
    (``"unet"`` or ``"irim"``), the two rules in words, and the attack ``options`` that give the
    released rule."""

    name: str
    model: str
    paper: str
    released: str
    options: dict = field(default_factory=dict)


DEPARTURES = (
    Departure("region T", "unet", "the feature and a 5-px disk border (scaled)",
              "the feature and its 1-px 4-neighbour ring (largest piece)",
              {"region_rule": "released"}),
    Departure("feature shape", "unet", "exactly 10 4-connected pixels",
              "a 10-step random walk (about 7 distinct pixels)", {"shape": "walk"}),
    Departure("placement", "unet", "the central 120×120 square (scaled)",
              "the central 220×220 square (the U-Net code)", {"placement": "released"}),
    Departure("intensities", "unet", "uniform in [0, the slice's maximum]",
              "uniform in [0, the attack batch's maximum] (here a batch holds one volume's slices)",
              {"intensities": "batch"}),
    Departure("input normalisation", "unet", "each slice's own mean and std (fastMRI)",
              "the attack batch's mean and std (here a batch holds one volume's slices)",
              {"normalization": "batch"}),
    Departure("NMSE domain", "unet", "the image's intensity scale (the paper does not say)",
              "the U-Net's mean/std-normalised domain", {"domain": "normalized"}),
    Departure("I-RIM target", "irim", "y + δ′", "√2 (y + δ′): the magnitude stacked as real and "
              "imaginary parts", {"target_scale": RELEASED_IRIM_TARGET_SCALE}),
)

#: The released U-Net attack: every U-Net departure above at once.
RELEASED_UNET_ATTACK = Departure(
    "all U-Net departures", "unet", "the paper's rules",
    "the released code's rules",
    {key: value for departure in DEPARTURES if departure.model == "unet"
     for key, value in departure.options.items()})

#: The training-side departures: each an option of the FNAF objective
#: (:class:`~fnaf.runs.ObjectiveConfig`), measured by :func:`training_effects` against the
#: paper's objective fine-tuned from the same baseline.
TRAINING_DEPARTURES = (
    Departure("training term", "unet", "β·NMSE inside T on the image's scale",
              "L1 inside T in the normalised domain, β = 1, beside the clean L1 of weight 1",
              {"region_loss": "l1", "domain": "normalized", "beta": 1.0}),
    Departure("training feature sizes", "unet", "10 pixels", "10 to 99 pixels",
              {"n_pixels": (10, 99)}),
    Departure("I-RIM training target", "irim", "y + δ′", "√2 (y + δ′)",
              {"target_scale": RELEASED_IRIM_TARGET_SCALE}),
)

#: Departures of §12 that change a number but are not options here: what the released code
#: does, and why it is not measured.
NOT_MEASURED = {
    "clean gradient": "the U-Net code accumulates the clean step's gradient into the FNAF step "
                      "(no zero_grad); here clean and perturbed slices share one batch and one "
                      "step",
    "attacked input": "rebuilt from the magnitude image with zero phase and a random mask, not "
                      "the scan's complex data with the volume's validation mask",
}


def departure_effects(reports: dict[str, tuple[AttackReport, AttackReport]],
                      departures: dict[str, Departure], alpha: float = 0.05) -> pd.DataFrame:
    """Two rows per departure (index ``(departure, rule)``, rule ``"paper"`` then
    ``"released"``): ``reports[name]`` is ``(paper's rule, released rule)`` for the same model,
    slices and seed. Columns: the model; the attack rate, the control (the false-alarm rate,
    max over the same K regions) and the NMSE with 95 % intervals; the hits only this rule
    scores (``"hits only here"``); on the released row the McNemar p and the ``"effect"`` on the
    attack rate (``"raises"``,
    ``"lowers"`` where p ≤ ``alpha``, else ``"no change shown"``)."""
    rows = {}
    for name, (paper, released) in reports.items():
        model = {"unet": "U-Net", "irim": "I-RIM"}[departures[name].model]
        only_paper, only_released, p = compare_hits(paper, released)
        effect = ("no change shown" if p > alpha else
                  "raises" if only_released > only_paper else "lowers")
        for rule, report, only in (("paper", paper, only_paper),
                                   ("released", released, only_released)):
            summary = report.summary()
            rows[name, rule] = {
                "model": model, "attack rate (%)": _percent(summary, "attack_rate"),
                "control (%)": _percent(summary, "control_max_rate"),
                "NMSE": interval_string(summary["nmse"], summary["nmse_low"],
                                        summary["nmse_high"], 3),
                "hits only here": only,
                "McNemar p": p_string(p) if rule == "released" else "",
                "effect": effect if rule == "released" else ""}
    return pd.DataFrame(rows).T.rename_axis(["departure", "rule"])


def effects_sample(reports: dict[str, tuple[AttackReport, AttackReport]],
                   departures: dict[str, Departure],
                   data_root: str | None = None) -> dict[str, Sample]:
    """The slices :func:`departure_effects` rests on (its rates and NMSE are over slices),
    counted from every report of ``reports``: one entry where the U-Net and the I-RIM were
    attacked on the same slices, else one per model."""
    frames = [report.slices.assign(model={"unet": "U-Net", "irim": "I-RIM"}[
        departures[name].model]) for name, pair in reports.items() for report in pair]
    return grouped_samples(pd.concat(frames, ignore_index=True), "slice", data_root)


def training_samples(table: pd.DataFrame) -> dict[str, Sample]:
    """What the committed training measurement (:func:`training_effects`, run on the embedded
    phantom at the preset of its ``scale`` column) rests on, counted from that preset's
    validation set, as its CSV keeps no counts: its attack rates over the slices, its SSIMs
    over the volumes (per model where the models' volumes differ)."""
    (scale,) = set(table["scale"])
    accels = tuple(sorted({int(af.rstrip("×")) for af in table["AF"]}))
    volumes = {}
    for model in dict.fromkeys(table["model"]):
        val = datasets(robust_preset(scale, model, accels, "fnaf"))[1]
        volumes.setdefault((frozenset(v.fname.name for v in val.volumes), len(val)),
                           []).append(model)
    return {f"{', '.join(models)} {part}" if len(volumes) > 1 else part:
            Sample(unit, len(names), slices)
            for (names, slices), models in volumes.items()
            for part, unit in (("attack rates", "slice"), ("SSIM", "volume"))}


def rules(departures: dict[str, Departure]) -> pd.DataFrame:
    """The paper's and the released rule of each departure, in words."""
    return pd.DataFrame({name: {"paper": d.paper, "released code": d.released}
                         for name, d in departures.items()}).T.rename_axis("departure")


def training_effects(scale: str = "demo", accel: tuple[int, ...] = (4, 8), *,
                     attack: AttackConfig = AttackConfig(), runs_root=None,
                     departures=TRAINING_DEPARTURES) -> pd.DataFrame:
    """Each training departure's FNAF fine-tune against the paper's objective fine-tuned from
    the same baseline for as long, at each acceleration, on the same volumes, slices and
    features (:func:`fnaf.sweeps.compare_fine_tunes`): one row per departure and acceleration
    with the paper objective's attack rate and SSIM beside the released one's, the McNemar p
    of the hits and the paired SSIM change."""
    rows = []
    for departure in departures:
        paper = robust_preset(scale, departure.model, accel, "fnaf")
        released = replace(paper, objective=replace(paper.objective, **departure.options))
        reference = measure_fine_tune(paper, attack, runs_root)
        measured = measure_fine_tune(released, attack, runs_root)
        for a in paper.accels:
            ours = compare_fine_tunes(reference[a], reference[a])
            rows.append({"departure": departure.name, "model": departure.model, "AF": f"{a}×",
                         "attack rate, paper (%)": ours["attack rate (%)"],
                         "attack rate, paper low": ours["attack rate low"],
                         "attack rate, paper high": ours["attack rate high"],
                         "SSIM, paper": ours["SSIM"],
                         **compare_fine_tunes(measured[a], reference[a])})
    return pd.DataFrame(rows)


def training_view(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`training_effects` (or its committed measurement) for reading: per departure and
    acceleration, the paper objective's and the released one's attack rate (95 % Wilson
    intervals) with the McNemar p of the hits, and their SSIM with the paired change's p."""
    rows = {}
    for _, row in table.iterrows():
        rows[row["departure"], row["AF"]] = {
            "attack rate, paper (%)": interval_string(
                row["attack rate, paper (%)"], row["attack rate, paper low"],
                row["attack rate, paper high"], 1),
            "attack rate, released (%)": interval_string(
                row["attack rate (%)"], row["attack rate low"], row["attack rate high"], 1),
            "McNemar p": p_string(row["McNemar p"]),
            "SSIM, paper": f"{row['SSIM, paper']:.4f}", "SSIM, released": f"{row['SSIM']:.4f}",
            "ΔSSIM (p)": f"{row['ΔSSIM']:+.4f} ({p_string(row['ΔSSIM p'])})"}
    return pd.DataFrame(rows).T.rename_axis(["departure", "AF"])


def _percent(summary: dict, key: str) -> str:
    return interval_string(*(100 * summary[key + suffix] for suffix in ("", "_low", "_high")), 1)
