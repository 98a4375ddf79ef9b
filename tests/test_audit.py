"""``fnaf audit``: any callable audited by the fixed suite, its outputs checked, each sanity flag
provoked, and a claim file that the same inputs write again byte for byte."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from fnaf.attacks.pgd import KspacePGD
from fnaf.audit import (
    AuditSuite,
    ReconError,
    ReconModel,
    audit,
    audit_run,
    claim_features,
    claim_metrics,
    claim_rows,
    claim_windows,
    model_identity,
)
from fnaf.audit.flags import convergence_flags, model_flags, result_flags
from fnaf.audit.model import ReconPipeline
from fnaf.audit.report import window_view, worst_slice_figure
from fnaf.audit.worst_slices import worst_keys, worst_slices
from fnaf.mri import zero_filled_image
from fnaf.runs import multicoil_preset, preset, train_or_load

SUITE = AuditSuite(eps=(0.02, 0.08), steps=3, restarts=1, slices_per_volume=1, batch_size=4)


def zero_filled(masked_kspace, mask):
    """The simplest reconstruction: the zero-filled root-sum-of-squares image."""
    return zero_filled_image(masked_kspace, mask)


class Scaled(nn.Module):
    """A model with one weight, to hash."""

    def __init__(self, scale=1.0):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(scale))

    def forward(self, masked_kspace, mask):
        return self.scale * zero_filled_image(masked_kspace, mask)


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    return multicoil_preset("smoke", "varnet", 4, 3)


@pytest.fixture
def batch(multicoil_batch):
    return multicoil_batch


def test_a_callable_is_audited_and_the_same_inputs_write_the_same_claim_file(data, tmp_path,
                                                                           monkeypatch):
    claim = audit(ReconModel(zero_filled, "zero-filled"), data, 4, SUITE, tmp_path / "a")
    metrics = claim_metrics(claim)
    assert set(metrics.index.get_level_values("kind")) == {"attack", "control", "coil noise",
                                                          "worst case"}
    assert set(metrics.index.get_level_values("eps")) == {0.02, 0.08}
    ssim = metrics.xs("SSIM", level="score")["mean"].unstack("kind")
    assert (ssim["worst case"] <= ssim[["attack", "control", "coil noise"]].min(axis=1)
            + 1e-12).all()
    assert (ssim["attack"] < ssim[["control", "coil noise"]].min(axis=1)).all()  # beats noise
    drop = metrics.xs(("attack", "SSIM drop"), level=("kind", "score"))["mean"]
    assert drop.loc[0.08] > drop.loc[0.02] > 0
    assert ((metrics["low"] <= metrics["mean"] + 1e-12)
            & (metrics["mean"] <= metrics["high"] + 1e-12)).all()
    assert (metrics["unit"] == "volume").all()
    # 3 steps and 1 restart are not enough: twice the budget finds a stronger attack
    assert [entry["flag"] for entry in claim["flags"]] == ["not converged"]
    assert claim["model"]["identity"] == "name:zero-filled"
    assert claim["data"]["volumes"] == claim["data"]["slices"] > 1
    assert claim["suite"]["version"] == 3 and claim["schema"] == 1
    again = audit(ReconModel(zero_filled, "zero-filled"), data, 4, SUITE, tmp_path / "b")
    first, second = ((tmp_path / name / "zero-filled.json").read_text() for name in "ab")
    assert first == second and again == claim
    # an audit already written for the same model, data and suite is read back, not run
    monkeypatch.setattr("fnaf.audit.claim.audit_rows", None)
    assert audit(ReconModel(zero_filled, "zero-filled"), data, 4, SUITE, tmp_path / "a") == claim
    saved = json.loads((tmp_path / "a" / "zero-filled.rows.json").read_text())
    assert {row["kind"] for row in saved["rows"]} == {"attack", "control", "coil noise",
                                                          "worst case"}


def test_the_weights_identify_a_model():
    first, same, other = Scaled(1.0), Scaled(1.0), Scaled(2.0)
    assert model_identity(first, "a") == model_identity(same, "b")
    assert model_identity(first, "a") != model_identity(other, "a")
    assert len(model_identity(first, "a")) == 64
    assert model_identity(ReconModel(zero_filled, "zf"), "zf") == "name:zf"


@pytest.mark.parametrize("recon, message", [
    (lambda k, m: [1.0], "returned a list"),
    (lambda k, m: zero_filled(k, m).to(torch.complex64), "dtype torch.complex64"),
    (lambda k, m: zero_filled(k, m)[:, :4], r"returned shape \(\d+, 4, \d+\)"),
    (lambda k, m: zero_filled(k, m)[0], "returned shape"),
    (lambda k, m: zero_filled(k, m) * float("nan"), "non-finite values"),
])
def test_a_broken_reconstruction_is_named(batch, recon, message):
    with pytest.raises(ReconError, match=message):
        ReconPipeline()(ReconModel(recon, "broken"), batch)
    with pytest.raises(ReconError, match="must be callable"):
        ReconModel("not a model", "broken")


def test_a_mask_of_the_wrong_width_or_values_is_named(batch):
    model = ReconModel(zero_filled, "zf")
    narrow = batch._replace(mask=batch.mask[..., :-2])
    with pytest.raises(ReconError, match=r"expected \(\d+, 1, 1, 40\): one value per k-space"):
        ReconPipeline()(model, narrow)
    with pytest.raises(ReconError, match="other than 0 and 1"):
        ReconPipeline()(model, batch._replace(mask=batch.mask * 0.5))


def test_the_model_flags_are_provoked(batch):
    pipeline = ReconPipeline()
    assert model_flags(ReconModel(zero_filled, "clean"), pipeline, batch, 0.08) == []

    def noisy(k, m):
        image = zero_filled(k, m)
        return image + 0.01 * image.max() * torch.rand_like(image)

    def detached(k, m):
        return zero_filled(k.detach(), m)

    def optimising(k, m):
        estimate = zero_filled(k, m).detach().clone().requires_grad_()
        optimiser = torch.optim.SGD([estimate], lr=0.1)
        with torch.enable_grad():
            (estimate - zero_filled(k.detach(), m)).square().sum().backward()
        optimiser.step()
        return estimate.detach() + zero_filled(k, m) - zero_filled(k, m).detach()

    def names(recon, **options):
        return [entry["flag"] for entry in
                model_flags(ReconModel(recon, "m", **options), pipeline, batch, 0.08)]

    assert names(noisy) == ["nondeterministic"]
    assert names(detached) == ["gradient"]
    assert names(optimising) == ["optimises at inference"]
    assert names(zero_filled, optimises=True) == ["optimises at inference"]


def test_the_result_flags_read_the_means():
    index = pd.MultiIndex.from_product([[0.02, 0.04, 0.08], ["attack", "control"]],
                                       names=["eps", "kind"])
    fine = pd.DataFrame({"SSIM": [0.8, 0.9, 0.7, 0.88, 0.6, 0.85]}, index=index)
    assert result_flags(fine) == []
    beaten = fine.copy()
    beaten.loc[(0.08, "control"), "SSIM"] = 0.5
    flags = result_flags(beaten)
    assert [entry["flag"] for entry in flags] == ["control beats attack"]
    assert "ε [0.08]" in flags[0]["message"]
    noise = pd.concat([fine, pd.DataFrame(
        {"SSIM": [0.95, 0.92, 0.55]}, index=pd.MultiIndex.from_product(
            [[0.02, 0.04, 0.08], ["coil noise"]], names=["eps", "kind"]))])
    assert [entry["flag"] for entry in result_flags(noise)] == ["coil noise beats attack"]
    rising = fine.copy()
    rising.loc[(0.04, "attack"), "SSIM"] = 0.85
    assert [entry["flag"] for entry in result_flags(rising)] == ["damage not growing"]


def test_the_suite_is_checked_before_any_work():
    for settings, message in [(dict(eps=(0.08, 0.02)), "increasing"),
                              (dict(eps=()), "increasing"), (dict(steps=0), "steps"),
                              (dict(norm="l2"), "unknown norm"),
                              (dict(slices_per_volume=0), "slices_per_volume"),
                              (dict(convergence="yes"), "convergence must be"),
                              (dict(schedule="sgd"), "unknown schedule")]:
        with pytest.raises(ValueError, match=message):
            AuditSuite(**settings)
    assert np.isclose(AuditSuite().eps, (0.02, 0.04, 0.08)).all()


def test_a_trained_run_is_audited_with_its_own_pipeline_and_named_after_its_folder(tmp_path,
                                                                                  monkeypatch):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    run = train_or_load(preset("smoke", epochs=1), tmp_path / "runs", progress=False)
    claim = audit_run(run, suite=SUITE, directory=tmp_path / "audits")
    assert claim["model"]["name"] == run.directory.name
    assert claim["model"]["identity"] == model_identity(run.model, "unused")
    assert (tmp_path / "audits" / f"{run.directory.name}.json").is_file()
    assert claim_metrics(claim).xs("SSIM drop", level="score")["mean"].notna().all()
    with pytest.raises(ValueError, match="with its pipeline and a name"):
        audit(run.model, run.config, 4, SUITE, tmp_path / "x")
    with pytest.raises(ValueError, match="name='a/b'"):
        audit(ReconModel(zero_filled, "a/b"), run.config, 4, SUITE, tmp_path / "x")


def test_an_attack_that_twice_the_budget_beats_is_not_converged():
    rows = pd.DataFrame({"eps": 0.08, "kind": ["attack", "attack", "control"],
                         "SSIM": [0.60, 0.62, 0.9]})
    assert convergence_flags(rows, rows.assign(SSIM=rows.SSIM - 0.004)) == []
    flags = convergence_flags(rows, rows.assign(SSIM=rows.SSIM - 0.05))
    assert [entry["flag"] for entry in flags] == ["not converged"]
    assert "from 0.6100 to 0.5600 at ε 0.08" in flags[0]["message"]


def test_the_fnaf_searches_find_features_a_blurring_model_loses(data, tmp_path):
    """The FNAF paper's searches in the suite: a model keeping only 6 central k-space columns
    loses small features more than zero-filling, and the worst case takes the larger loss."""
    def blurred(masked_kspace, mask):
        keep = torch.zeros(masked_kspace.shape[-1])
        centre = masked_kspace.shape[-1] // 2
        keep[centre - 3:centre + 3] = 1
        return zero_filled_image(masked_kspace * keep, mask)

    suite = AuditSuite(eps=(0.08,), steps=2, restarts=1, slices_per_volume=1, convergence=False)
    losses = {}
    for name, recon in (("zero-filled", zero_filled), ("blurred", blurred)):
        claim = audit(ReconModel(recon, name), data, 4, suite, tmp_path)
        features = claim_features(claim)
        assert set(features.index.get_level_values("search")) == {
            "random search", "finite differences", "worst case"}
        loss = features.xs("loss", level="score")["mean"]
        assert loss["worst case"] >= loss[["random search", "finite differences"]].max() - 1e-12
        assert (features["unit"] == "volume").all() and features["mean"].between(0, 1).all()
        losses[name] = loss["worst case"]
        saved = json.loads((tmp_path / f"{name}.rows.json").read_text())
        assert len(saved["features"]) == 3 * claim["data"]["slices"]
    assert losses["blurred"] > losses["zero-filled"]
    off = audit(ReconModel(zero_filled, "off"), data, 4,
                AuditSuite(eps=(0.08,), steps=2, restarts=1, slices_per_volume=1,
                           convergence=False, features=False), tmp_path)
    assert claim_features(off) is None and off["suite"]["features"] is False


def test_the_worst_slices_are_attacked_again_as_the_claim_scored_them(data, tmp_path):
    suite = AuditSuite(eps=(0.02, 0.08), steps=3, restarts=1, slices_per_volume=2,
                       convergence=False, features=False)
    model = ReconModel(zero_filled, "zero-filled")
    claim = audit(model, data, 4, suite, tmp_path)
    rows = claim_rows(claim, tmp_path)
    examples = worst_slices(model, data, 4, suite, rows, count=2)
    keys = worst_keys(rows, 2)
    assert [(e.fname, e.slice) for e in examples] == list(zip(keys["fname"], keys["slice"]))
    assert len({e.fname for e in examples}) == 2  # one per volume
    drops = (keys["clean SSIM"] - keys["SSIM"]).tolist()
    assert drops == sorted(drops, reverse=True)
    worst = rows[(rows["kind"] == "worst case") & (rows["eps"] == 0.08)]
    assert drops[0] == pytest.approx((worst["clean SSIM"] - worst["SSIM"]).max())
    for example, row in zip(examples, keys.itertuples()):
        assert example.source == row.source and example.eps == 0.08
        assert example.ssim == pytest.approx(row.SSIM, abs=1e-3)  # the same seeded attack
        assert example.perturbation.shape == example.target.shape and example.perturbation.max() > 0
    figure = worst_slice_figure(examples)
    assert len(figure.axes) == 2 * 5 + 2 * 2  # five panels per slice and two colour bars


def test_an_interrupted_audit_resumes_from_the_batches_it_finished(data, tmp_path, monkeypatch):
    suite = AuditSuite(eps=(0.02, 0.08), steps=2, restarts=1, slices_per_volume=1, batch_size=1,
                       convergence=False, features=False)
    model = ReconModel(zero_filled, "zero-filled")
    whole = audit(model, data, 4, suite, tmp_path / "whole")
    calls = []
    attack = KspacePGD.__call__

    def interrupted(self, batch):
        calls.append(batch.fname)
        if len(calls) == 3:  # the second slice's first ε
            raise KeyboardInterrupt
        return attack(self, batch)

    monkeypatch.setattr(KspacePGD, "__call__", interrupted)
    with pytest.raises(KeyboardInterrupt):
        audit(model, data, 4, suite, tmp_path / "cut")
    assert not (tmp_path / "cut" / "zero-filled.json").exists()
    assert list((tmp_path / "cut" / "zero-filled.partial").glob("*/attack.rank0.json"))
    calls.clear()
    resumed = audit(model, data, 4, suite, tmp_path / "cut")
    assert len(calls) == 2  # only the second slice, at both ε
    assert resumed == whole
    assert ((tmp_path / "cut" / "zero-filled.json").read_text()
            == (tmp_path / "whole" / "zero-filled.json").read_text())
    assert not (tmp_path / "cut" / "zero-filled.partial").exists()


def test_the_windows_show_a_model_whose_loss_depends_on_location(data, tmp_path):
    """A model that erases the left half of every image loses window features there only: its
    map is structured (Moran's I > 0, permutation p ≤ 0.05) and its mean error is larger."""
    def half(masked_kspace, mask):
        image = zero_filled(masked_kspace, mask).clone()
        left = image[..., : image.shape[-1] // 2]
        image[..., : image.shape[-1] // 2] = left.mean(dim=(-2, -1), keepdim=True)
        return image

    suite = AuditSuite(eps=(0.08,), steps=2, restarts=1, slices_per_volume=1, convergence=False,
                       features=False, window=3)
    found = {name: claim_windows(audit(ReconModel(recon, name), data, 4, suite, tmp_path))
             for name, recon in (("zero-filled", zero_filled), ("half", half))}
    assert found["half"].loc["Moran's I", "structured"]
    assert found["half"].loc["Moran's I", "p"] <= 0.05 < 1
    assert (found["half"].loc["window error", "mean"]
            > found["zero-filled"].loc["window error", "high"])
    rows = json.loads((tmp_path / "half.rows.json").read_text())["windows"]
    assert len(rows) == 25 * found["half"].loc["window error", "slices"]  # 5 × 5 locations
    view = window_view({"half": audit(ReconModel(half, "half"), data, 4, suite, tmp_path)})
    assert view.loc["half", "location"] == "structured"


def test_a_window_that_does_not_fit_the_target_stops_the_audit_before_any_work(data, tmp_path):
    with pytest.raises(ValueError, match="does not fit the 32×32 target"):
        audit(ReconModel(zero_filled, "zf"), data, 4, AuditSuite(window=40), tmp_path / "a")
    assert not (tmp_path / "a").exists()
    with pytest.raises(ValueError, match="grid must be a positive integer"):
        AuditSuite(grid=0)


def test_a_callable_is_evaluated_beside_the_zero_filled_input_it_does_not_carry(data):
    from fnaf.audit.claim import attack_transform
    from fnaf.evaluation import evaluate
    from fnaf.runs import datasets

    class WithLoss(ReconPipeline):  # evaluate() also reads a loss; a callable has none
        def loss(self, reconstruction, batch):
            return torch.zeros(())

    scored = evaluate(ReconModel(zero_filled, "zero-filled"), WithLoss(), datasets(data)[1],
                      attack_transform(data, 4), shared=False)
    # the model is the zero-filled image, so its rows and the zero-filled rows agree
    assert len(scored.metrics) == len(scored.zero_filled) > 0
    assert np.allclose(scored.metrics["SSIM"], scored.zero_filled["SSIM"], atol=1e-6)


def test_a_claim_files_sample_names_its_data():
    from fnaf.audit.claim import PHANTOM_SOURCE, claim_sample, claims_sample
    from fnaf.captions import Sample

    claim = {"data": {"source": PHANTOM_SOURCE, "volumes": 3, "slices": 6}}
    assert claim_sample(claim) == Sample("slice", 3, 6)
    claim["data"]["source"] = "/data/brain"
    assert claim_sample(claim).text().endswith("data: fastMRI from /data/brain")
    brain = {"data": {**claim["data"], "key": "brain-4x"}}
    assert claims_sample({"U-Net": brain, "l1": brain}) == claim_sample(brain)
    other = {"data": {**claim["data"], "key": "brain-8x"}}
    assert list(claims_sample({"U-Net": brain, "l1": other})) == ["U-Net", "l1"]
