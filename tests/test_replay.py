"""Replaying one attacked slice for a figure (``fnaf.runs.replay``) rebuilds what the cached attack
scored: the same feature, region and loss (FNAF), the same attacked reconstruction (k-space PGD,
the two-step attack on l1)."""

import numpy as np
import pytest
import torch

from fnaf.losses import masked_nmse
from fnaf.metrics import nmse
from fnaf.runs import (
    AttackConfig,
    PgdConfig,
    TwoStepConfig,
    attack_or_load,
    multicoil_preset,
    pgd_or_load,
    preset,
    replay_attack,
    replay_pgd,
    replay_two_step,
    train_or_load,
    two_step_or_load,
    untrained_preset,
)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FNAF_CACHE", str(root / "cache"))
        yield train_or_load(preset("smoke", "unet", 4, epochs=1), root, progress=False)


def test_an_fnaf_replay_rebuilds_the_cached_feature_region_and_loss(run):
    attack = AttackConfig(n_candidates=3)
    rows = attack_or_load(run, attack, progress=False, device="cpu").slices
    for _, row in rows.head(2).iterrows():
        panels = replay_attack(run, attack, row)
        shape = panels["reconstruction"].shape
        assert all(panel.shape == shape for panel in panels.values())
        region = panels["region"].astype(bool)
        for r, c, _ in row["pixels"]:
            assert region[int(r), int(c)]  # T holds the feature
        loss = masked_nmse(*(torch.from_numpy(panels[name])[None] for name in
                             ("reconstruction", "fully sampled")), torch.from_numpy(region)[None])
        assert loss.item() == pytest.approx(row["loss"], rel=1e-4, abs=1e-7)
        assert not np.array_equal(panels["reconstruction"], panels["reference"])


def test_a_pgd_replay_gives_the_cached_rows_reconstructions(run):
    pgd = PgdConfig(eps=(0.05,), steps=2, slices_per_volume=1, batch_size=1)
    rows = pgd_or_load(run, pgd, progress=False, device="cpu")
    attacked = rows[rows.kind == "attack"].iloc[0]
    panels = replay_pgd(run, pgd, attacked["fname"], int(attacked["slice"]), 0.05)
    truth = panels["ground truth"][None].astype(np.float64)
    assert nmse(truth, panels["attacked"][None].astype(np.float64)) == pytest.approx(
        attacked["NMSE"], rel=1e-4)
    assert nmse(truth, panels["clean"][None].astype(np.float64)) == pytest.approx(
        attacked["clean NMSE"], rel=1e-4)
    assert panels["perturbation"].shape == panels["clean"].shape
    assert panels["perturbation"].max() > 0


def test_a_two_step_replay_on_l1_gives_the_cached_rows_reconstructions(tmp_path, monkeypatch):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    data = multicoil_preset("smoke", "varnet", 4, coils=4)
    method = untrained_preset("smoke", "l1")
    attack = TwoStepConfig(eps=(0.05,), steps=2, volumes=1, batch_size=1)
    rows = two_step_or_load(method, attack, data, root=tmp_path / "runs")
    attacked = rows[rows.kind == "attack"].iloc[0]
    panels = replay_two_step(method, attack, data, attacked["fname"], int(attacked["slice"]), 0.05)
    truth = panels["ground truth"][None].astype(np.float64)
    assert nmse(truth, panels["attacked"][None].astype(np.float64)) == pytest.approx(
        attacked["NMSE"], rel=1e-4)
    assert nmse(truth, panels["clean"][None].astype(np.float64)) == pytest.approx(
        attacked["clean NMSE"], rel=1e-4)
    assert panels["perturbation"].max() > 0
