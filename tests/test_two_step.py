"""The two-step attack (Darestani et al., appendix eq. 3) on l1-minimisation and a ConvDecoder:
the norm bound and support, a larger effect than random noise of the same norm, settings."""

import numpy as np
import pandas as pd
import pytest
import torch

from fnaf.attacks.ball import slice_norms
from fnaf.attacks.two_step import TwoStepAttack
from fnaf.untrained.decoder_fit import DecoderMethod
from fnaf.untrained.sense import L1Method


@pytest.fixture
def batch(multicoil_batch):
    """The shared multi-coil batch (``conftest.py``)."""
    return multicoil_batch


def error(result, batch, kind):
    """Per-slice squared error to the target."""
    return (getattr(result, kind) - batch.target).square().flatten(1).sum(1)


@pytest.mark.parametrize("norm", ["measured", "full"])
def test_l1_two_step_respects_the_bound_and_beats_noise(batch, norm):
    method = L1Method(lam=3e-4, iterations=60)
    result = TwoStepAttack(method, eps=0.08, steps=20, beta=0.3, norm=norm)(batch)
    support = batch.mask if norm == "measured" else torch.ones_like(batch.mask)
    reference = slice_norms(batch.kspace * support)
    norms = slice_norms(result.perturbation)
    assert (norms <= 0.08 * reference * (1 + 1e-5)).all()
    assert (norms >= 0.5 * 0.08 * reference).all()  # it used its budget
    if norm == "measured":
        assert slice_norms(result.perturbation * (1 - batch.mask)).max() == 0
    torch.testing.assert_close(slice_norms(result.noise), norms)  # the control's norm
    assert (error(result, batch, "attacked") > error(result, batch, "control")).all()
    torch.testing.assert_close(result.loss, 0.5 * (result.attacked - result.clean)
                               .square().flatten(1).sum(1))


def test_convdecoder_two_step_beats_noise(batch):
    method = DecoderMethod("convdecoder", layers=4, channels=8, in_size=(4, 3), iterations=60)
    result = TwoStepAttack(method, eps=0.08, steps=15, beta=0.3)(batch)
    assert (slice_norms(result.perturbation)
            <= 0.08 * slice_norms(batch.kspace * batch.mask) * (1 + 1e-5)).all()
    assert error(result, batch, "attacked").sum() > error(result, batch, "control").sum()


def test_no_budget_no_change(batch):
    method = L1Method(lam=3e-4, iterations=30)
    result = TwoStepAttack(method, eps=0.0, steps=3)(batch)
    assert slice_norms(result.perturbation).max() == 0
    torch.testing.assert_close(result.attacked, result.clean)


@pytest.mark.parametrize("settings, message", [
    (dict(eps=-0.1), "eps"), (dict(steps=0), "steps"), (dict(beta=-1.0), "beta"),
    (dict(norm="l2"), "unknown norm"),
])
def test_attack_settings_are_checked(settings, message):
    with pytest.raises(ValueError, match=message):
        TwoStepAttack(L1Method(), **{"eps": 0.08, **settings})


def test_a_diverging_joint_optimisation_is_an_error(batch):
    method = L1Method(lam=3e-4, iterations=20)
    with pytest.raises(FloatingPointError, match="lower beta"):
        TwoStepAttack(method, eps=0.08, steps=40, beta=1e6)(batch)


def test_clean_consistency_writes_the_clean_measurements(batch):
    """The authors' quirk: with the clean data written in last, the reconstruction from the
    perturbed data keeps the clean measured entries."""
    z = torch.randn(batch.kspace.shape, dtype=torch.complex64,
                    generator=torch.Generator().manual_seed(0)) * batch.mask * 1e-3
    settings = dict(layers=4, channels=8, in_size=(4, 3), iterations=5)
    clean = DecoderMethod("convdecoder", consistency="clean", **settings)
    perturbed = DecoderMethod("convdecoder", **settings)
    assert not np.allclose(clean(batch, z).numpy(), perturbed(batch, z).numpy())


def test_cached_rows_come_back_as_computed_and_a_foreign_cache_is_named(tmp_path, monkeypatch):
    import json

    from fnaf.attacks.measurement import COLUMNS
    from fnaf.runs import TwoStepConfig, multicoil_preset, two_step_or_load, untrained_preset

    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    arguments = (untrained_preset("smoke", "l1"), TwoStepConfig(eps=(0.05,), steps=2),
                 multicoil_preset("smoke", "varnet", 4, 3))
    fresh = two_step_or_load(*arguments, root=tmp_path / "runs", device="cpu")
    cached = two_step_or_load(*arguments, root=tmp_path / "runs", device="cpu")
    assert list(fresh.columns) == list(COLUMNS)
    pd.testing.assert_frame_equal(fresh, cached)  # the same columns in the same order
    (path,) = (tmp_path / "runs" / "untrained").glob("*.json")
    saved = json.loads(path.read_text())
    saved["rows"][0]["extra"] = 1.0
    path.write_text(json.dumps(saved))
    with pytest.raises(ValueError, match=f"{path.name}: columns .*delete it to attack again"):
        two_step_or_load(*arguments, root=tmp_path / "runs", device="cpu")
