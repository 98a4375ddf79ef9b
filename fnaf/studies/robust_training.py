"""Chapter 03 (robust training): the FNAF paper's claim for Tables 2-3, that FNAF fine-tuning
lowers the attack rate against a clean fine-tune of the same length without costing SSIM.

:func:`claim_table` reads the attacks and SSIM of each model at each acceleration against two
references (the baseline and the clean fine-tune). The hits are compared with the volume as the
unit (the attack-rate difference with its volume-bootstrap interval and the signed-rank p of the
per-volume differences), the exact McNemar test on slices beside it as secondary: slices of one
volume are not independent. :func:`claim_sentences` and :func:`claim_verdicts` say it in words.
"""

from __future__ import annotations

import pandas as pd

from fnaf.attacks.report import AttackReport, compare_hits, compare_hits_by_volume
from fnaf.formatting import p_string
from fnaf.verdicts import claim_verdict

#: The two references of the claim, by the column suffix they give.
REFERENCES = {"baseline": "{}", "clean fine-tune": "{} + clean fine-tune"}


def claim_table(attacks: pd.DataFrame, quality: pd.DataFrame,
                reports: dict[tuple[str, int], AttackReport], models: list[str],
                accels: list[int], seed: int = 0) -> pd.DataFrame:
    """One row per ``(model, AF)``: the attack rates of the baseline, the clean fine-tune and
    the FNAF model (``attacks``, Table 2 by acceleration), their recovery errors and SSIM
    (``quality``, Table 3), ΔSSIM (FNAF − clean fine-tune), and against each reference the hits
    only each side has with McNemar's p (slices), the attack-rate difference in percentage
    points with its interval over volumes, and the volumes' signed-rank p."""
    claim = {}
    for label in models:
        robust, clean = f"FNAF {label}", f"{label} + clean fine-tune"
        for accel in accels:
            af = f"{accel}×"
            row = claim[label, af] = {
                "attack rate, baseline (%)": attacks.loc[(af, label), "attack rate (%)"],
                "attack rate, clean fine-tune (%)": attacks.loc[(af, clean), "attack rate (%)"],
                "attack rate, FNAF (%)": attacks.loc[(af, robust), "attack rate (%)"],
                "recovery error, clean fine-tune": attacks.loc[(af, clean), "recovery error"],
                "recovery error, FNAF": attacks.loc[(af, robust), "recovery error"],
                "SSIM, clean fine-tune": quality.loc[(af, clean), "SSIM"],
                "SSIM, FNAF": quality.loc[(af, robust), "SSIM"],
                "ΔSSIM (FNAF − clean fine-tune)": quality.loc[(af, robust), "SSIM"]
                - quality.loc[(af, clean), "SSIM"],
            }
            for kind, pattern in REFERENCES.items():
                mine, theirs = reports[robust, accel], reports[pattern.format(label), accel]
                only_robust, only_reference, p = compare_hits(mine, theirs)
                by_volume = compare_hits_by_volume(mine, theirs, seed=seed)
                row[f"hits FNAF only / {kind} only"] = f"{only_robust} / {only_reference}"
                row[f"McNemar p vs {kind}"] = p
                for end in ("", " low", " high"):
                    row[f"Δ attack rate vs {kind} (pp){end}"] = (
                        100 * by_volume[f"rate difference{end}"])
                row[f"volumes vs {kind}"] = by_volume["volumes"]
                row[f"p volumes vs {kind}"] = by_volume["p volumes"]
    return pd.DataFrame(claim).T.rename_axis(["model", "AF"])


def claim_sentences(claim: pd.DataFrame, attacks: pd.DataFrame) -> list[str]:
    """Per row of :func:`claim_table`: the three attack rates with their intervals, whether the
    FNAF model's rate differs from the clean fine-tune's over volumes (the difference with its
    interval and p; McNemar's on slices in brackets) and ΔSSIM against the paper's 0.01."""
    def with_interval(af, model, column="attack rate (%)"):
        row = attacks.loc[(af, model)]
        return f"{row[column]:.1f} % [{row[column + ' low']:.1f}, {row[column + ' high']:.1f}]"

    sentences = []
    for (label, af), row in claim.iterrows():
        robust, clean = f"FNAF {label}", f"{label} + clean fine-tune"
        difference = row["Δ attack rate vs clean fine-tune (pp)"]
        p = row["p volumes vs clean fine-tune"]
        measured = (f"{difference:+.1f} pp [{row['Δ attack rate vs clean fine-tune (pp) low']:+.1f}"
                    f", {row['Δ attack rate vs clean fine-tune (pp) high']:+.1f}] over "
                    f"{row['volumes vs clean fine-tune']:.0f} volumes, p {p_string(p)}; slices "
                    f"as independent McNemar p {p_string(row['McNemar p vs clean fine-tune'])}")
        hits = (f"{'fewer' if difference < 0 else 'more'} hits than the clean fine-tune "
                f"({measured})" if p <= 0.05 else
                f"no difference in hits from the clean fine-tune is shown ({measured})")
        change = row["ΔSSIM (FNAF − clean fine-tune)"]
        size = "within" if abs(change) < 0.01 else "beyond"
        sentences.append(
            f"{label} at {af}: attack rate FNAF {with_interval(af, robust)}, clean fine-tune "
            f"{with_interval(af, clean)}, baseline {with_interval(af, label)}: {hits}; ΔSSIM "
            f"{change:+.4f}, {size} the paper's 0.01.")
    return sentences


def claim_verdicts(claim: pd.DataFrame) -> pd.Series:
    """:func:`fnaf.verdicts.claim_verdict` per row of :func:`claim_table`, with the volumes'
    p: fewer hits than the clean fine-tune, shown over volumes, at an SSIM change under 0.01."""
    return pd.Series({key: claim_verdict(row["Δ attack rate vs clean fine-tune (pp)"] < 0,
                                         row["p volumes vs clean fine-tune"],
                                         row["ΔSSIM (FNAF − clean fine-tune)"])
                      for key, row in claim.iterrows()}, name="verdict")

