"""The FNAF paper and its released code: the departures that change a number
(``../shared/reference/fnaf_reference.md`` §12), each an option of the attack, and their
measured effect.

:data:`DEPARTURES` names each departure, the paper's rule, the released code's and the
:class:`~fnaf.runs.AttackConfig` options that switch to the released rule (the default is always
the paper's). :func:`departure_effects` reads pairs of attack reports of one model on the same
slices with the same seed — the paper's rule and the released one — into one table, with the
exact McNemar test on the hits per slice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from fnaf.attacks.report import AttackReport, compare_hits
from fnaf.attacks.search import RELEASED_IRIM_TARGET_SCALE
from fnaf.tables import interval_string, p_string


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
    Departure("T, the region scored", "unet", "the feature and a 5-px disk border (scaled)",
              "the feature and its 1-px 4-neighbour ring (largest piece)",
              {"region_rule": "released"}),
    Departure("feature shape", "unet", "exactly 10 4-connected pixels",
              "a 10-step random walk (about 7 distinct pixels)", {"shape": "walk"}),
    Departure("placement", "unet", "the central 120×120 square (scaled)",
              "the central 220×220 square (the U-Net code)", {"placement": "released"}),
    Departure("feature intensities", "unet", "uniform in [0, the slice's maximum]",
              "uniform in [0, the attack batch's maximum] (here a batch holds one volume's slices)",
              {"intensities": "batch"}),
    Departure("NMSE domain", "unet", "the image's intensity scale (the paper does not say)",
              "the U-Net's mean/std-normalised domain", {"domain": "normalized"}),
    Departure("I-RIM target", "irim", "y + δ′", "√2 (y + δ′): the magnitude stacked as real and "
              "imaginary parts", {"target_scale": RELEASED_IRIM_TARGET_SCALE}),
)

#: The released U-Net attack: every U-Net departure above at once.
RELEASED_UNET_ATTACK = Departure(
    "all of the above (the released U-Net attack)", "unet", "the paper's rules",
    "the released code's rules",
    {key: value for departure in DEPARTURES if departure.model == "unet"
     for key, value in departure.options.items()})

#: Departures of §12 that change a number but are not options of the attack: what the released
#: code does, and why it is not measured here.
NOT_MEASURED = {
    "U-Net input normalisation": "the mean and std over the attack's batch, not per slice "
                                 "(the U-Net's pipeline normalises each slice, as fastMRI)",
    "training loss": "U-Net: masked L1 over T plus L1 on the whole image, weights 1 and 1, the "
                     "clean gradient accumulated into the FNAF step; I-RIM: 10·NMSE_T on a "
                     "separate batch (a fine-tune per variant; not yet an objective option)",
    "I-RIM training target": "the same √2 too bright target trains the FNAF I-RIM to "
                             "over-brighten features (a fine-tune; not yet an objective option)",
    "training feature sizes": "U-Net 10–99 steps, I-RIM 10–5000 (the paper: 10 and 10–1000); an "
                              "objective option (n_pixels), not re-trained here",
    "attacked input": "rebuilt from the magnitude image with zero phase and a random mask, not "
                      "the scan's complex data with the volume's validation mask",
}


def departure_effects(reports: dict[str, tuple[AttackReport, AttackReport]],
                      departures: dict[str, Departure], alpha: float = 0.05) -> pd.DataFrame:
    """One row per departure: ``reports[name]`` is ``(paper's rule, released rule)`` for the
    same model, slices and seed. Columns: the two rules, their attack rates, controls (the
    false-alarm rate, max over the same K regions) and NMSE with 95 % intervals, the hits only
    one rule scores, the McNemar p and the effect on the attack rate (``"raises"``,
    ``"lowers"`` where p ≤ ``alpha``, else ``"no change shown"``)."""
    rows = {}
    for name, (paper, released) in reports.items():
        departure = departures[name]
        ours, theirs = paper.summary(), released.summary()
        only_paper, only_released, p = compare_hits(paper, released)
        effect = ("no change shown" if p > alpha else
                  "raises" if only_released > only_paper else "lowers")
        row = {"model": {"unet": "U-Net", "irim": "I-RIM"}[departure.model],
               "paper's rule": departure.paper, "released rule": departure.released}
        for label, summary in (("paper", ours), ("released", theirs)):
            row[f"attack rate, {label} (%)"] = _percent(summary, "attack_rate")
        for label, summary in (("paper", ours), ("released", theirs)):
            row[f"control, {label} (%)"] = _percent(summary, "control_max_rate")
        for label, summary in (("paper", ours), ("released", theirs)):
            row[f"NMSE, {label}"] = interval_string(summary["nmse"], summary["nmse_low"],
                                                    summary["nmse_high"], 3)
        row.update({"hits paper only / released only": f"{only_paper} / {only_released}",
                    "McNemar p": p_string(p), "effect on the attack rate": effect})
        rows[name] = row
    return pd.DataFrame(rows).T.rename_axis("departure")


def _percent(summary: dict, key: str) -> str:
    return interval_string(*(100 * summary[key + suffix] for suffix in ("", "_low", "_high")), 1)
