"""Chapter 03's claim table: hits against each reference by volume (the unit) and by slice."""

import pandas as pd
import pytest

from fnaf.attacks.report import AttackReport
from fnaf.studies.robust_training import claim_sentences, claim_table, claim_verdicts

VOLUMES = [f"v{k}.h5" for k in range(8)]


def _report(hit_slices: set[int]) -> AttackReport:
    """Eight volumes of two slices; the slices whose number (0-15) is in ``hit_slices`` hit."""
    rows = [{"fname": fname, "slice": s, "loss": 0.3 if 2 * v + s in hit_slices else 0.1}
            for v, fname in enumerate(VOLUMES) for s in range(2)]
    return AttackReport(pd.DataFrame(rows), 0.25, 1e-4)


def _tables(rates: dict[str, float], ssim: dict[str, float]):
    index = pd.MultiIndex.from_tuples([("4×", model) for model in rates], names=["AF", "model"])
    attacks = pd.DataFrame({"attack rate (%)": list(rates.values()),
                            "attack rate (%) low": 0.0, "attack rate (%) high": 100.0,
                            "recovery error": 0.5, "paper attack rate (%)": 90.0}, index=index)
    quality = pd.DataFrame({"SSIM": list(ssim.values())}, index=index)
    return attacks, quality


def test_fewer_hits_in_every_volume_are_shown_over_volumes_and_on_slices():
    every_first = set(range(0, 16, 2))  # one hit per volume
    reports = {("U-Net", 4): _report(every_first | {1}),
               ("U-Net + clean fine-tune", 4): _report(every_first),
               ("FNAF U-Net", 4): _report(set())}
    attacks, quality = _tables({"U-Net": 56.25, "U-Net + clean fine-tune": 50.0,
                                "FNAF U-Net": 0.0},
                               {"U-Net": 0.75, "U-Net + clean fine-tune": 0.76,
                                "FNAF U-Net": 0.755})
    claim = claim_table(attacks, quality, reports, ["U-Net"], [4])
    row = claim.loc[("U-Net", "4×")]
    assert row["Δ attack rate vs clean fine-tune (pp)"] == pytest.approx(-50)
    assert row["volumes vs clean fine-tune"] == 8
    assert row["p volumes vs clean fine-tune"] == pytest.approx(2 / 2 ** 8)  # exact signed rank
    assert row["McNemar p vs clean fine-tune"] == pytest.approx(2 / 2 ** 8)
    assert row["hits FNAF only / baseline only"] == "0 / 9"
    assert row["ΔSSIM (FNAF − clean fine-tune)"] == pytest.approx(-0.005)
    assert claim_verdicts(claim).tolist() == ["reproduced"]
    assert "over 8 volumes, p 0.0078" in claim_sentences(claim, attacks)[0]


def test_hits_bunched_in_one_volume_are_not_shown_over_volumes():
    """The slices' McNemar test counts 2 discordant slices of one volume as 2 units; over
    volumes one of eight volumes moved, which shows nothing."""
    reports = {("U-Net", 4): _report({0, 1}), ("U-Net + clean fine-tune", 4): _report({0, 1}),
               ("FNAF U-Net", 4): _report(set())}
    attacks, quality = _tables({"U-Net": 12.5, "U-Net + clean fine-tune": 12.5,
                                "FNAF U-Net": 0.0}, {"U-Net": 0.75, "U-Net + clean fine-tune":
                                                     0.76, "FNAF U-Net": 0.76})
    claim = claim_table(attacks, quality, reports, ["U-Net"], [4])
    assert claim.loc[("U-Net", "4×"), "p volumes vs clean fine-tune"] > 0.05
    assert claim_verdicts(claim).tolist() == ["direction only"]
    assert "no difference in hits" in claim_sentences(claim, attacks)[0]
