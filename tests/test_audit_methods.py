"""The audit of a method that optimises at inference: the two-step attack in PGD's place, the
rest of the suite through the method's own fits."""

import torch

from fnaf.attacks.two_step import TwoStepAttack
from fnaf.audit import AuditSuite, claim_features, claim_metrics
from fnaf.audit.methods import MethodModel, MethodPipeline, audit_method
from fnaf.runs import untrained_preset
from fnaf.runs.untrained import TwoStepConfig

SUITE = AuditSuite(eps=(0.02, 0.08), steps=2, restarts=1, slices_per_volume=1)


def test_l1_is_audited_with_the_two_step_attack(l1_smoke, tmp_path, monkeypatch):
    method, data = l1_smoke
    built = []
    attack = TwoStepAttack.__init__

    def counted(self, *args, **kwargs):
        attack(self, *args, **kwargs)
        built.append(self.steps)

    monkeypatch.setattr(TwoStepAttack, "__init__", counted)
    claim = audit_method(method, data, 4, SUITE, tmp_path, TwoStepConfig(steps=3, beta=0.3))
    # the two-step attack at both ε, then twice its steps at the largest (the convergence check)
    assert built == [3, 3, 6]
    assert claim["model"]["optimises"] and claim["model"]["identity"].startswith("config:l1-")
    assert claim["suite"]["attack"].startswith("audit suite v3, two-step")
    assert claim["suite"]["steps"] == 3 and claim["suite"]["batch_size"] == 8
    metrics = claim_metrics(claim)
    assert set(metrics.index.get_level_values("kind")) == {"attack", "control", "coil noise",
                                                          "worst case"}
    drop = metrics.xs(("attack", "SSIM drop"), level=("kind", "score"))["mean"]
    assert drop.loc[0.08] > 0
    # no gradient flags: the model's gradient was never the attack's to take
    assert not {entry["flag"] for entry in claim["flags"]} & {"gradient",
                                                               "optimises at inference"}
    assert claim_features(claim) is not None
    assert (tmp_path / f"{claim['model']['name']}.json").is_file()


def test_the_method_pipeline_fits_with_autograd_inside_no_grad(multicoil_batch):
    decoder = untrained_preset("smoke", "convdecoder", iterations=3).build()
    with torch.no_grad():
        image = MethodPipeline()(MethodModel(decoder, "d"), multicoil_batch).magnitude
    assert image.shape == multicoil_batch.target.shape and torch.isfinite(image).all()
