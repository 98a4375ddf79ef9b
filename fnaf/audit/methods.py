"""Auditing a method that optimises at inference (the package's l1 and un-trained decoders): the
two-step attack in PGD's place.

A gradient through an inner optimisation is not the attack's to take (RobustBench excludes such
models for that reason). Darestani et al.'s two-step attack (appendix eq. 3,
:class:`~fnaf.attacks.two_step.TwoStepAttack`) instead solves the reconstruction jointly with the
perturbation. :func:`audit_method` runs the audit's suite with it: the two-step attack at each ε
(its steps and β from :class:`~fnaf.runs.untrained.TwoStepConfig`) with its same-norm control,
the coil noise, the worst case, the convergence check (twice the two-step's steps) and, where
the suite asks, the FNAF searches (each candidate reconstructed afresh: 11 fits per slice and
search). The method is fitted on batches of the two-step config's ``batch_size``, as chapter 08
fits it: a decoder's initial weights are drawn per batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from os import PathLike
from pathlib import Path

import torch
from torch import nn

from fnaf.audit.claim import audit_checked
from fnaf.audit.suite import SUITE_VERSION, AuditSuite
from fnaf.data.transforms import KneeSlice
from fnaf.pipelines import Reconstruction
from fnaf.runs.configs import RunConfig
from fnaf.runs.untrained import TwoStepConfig, UntrainedConfig
from fnaf.untrained.problem import UntrainedMethod


class MethodModel(nn.Module):
    """An :class:`~fnaf.untrained.problem.UntrainedMethod` as a model the suite's other parts
    (coil noise, FNAF searches) reconstruct with, through :class:`MethodPipeline`."""

    optimises = True

    def __init__(self, method: UntrainedMethod, name: str):
        super().__init__()
        self.method, self.name = method, name
        self.register_buffer("anchor", torch.empty(0), persistent=False)  # the device


class MethodPipeline:
    """Each call fits the method afresh to the batch's measurements (autograd on, whatever
    the caller's mode: the fit optimises)."""

    name = "method"

    def __call__(self, model: MethodModel, batch: KneeSlice) -> Reconstruction:
        with torch.enable_grad():
            image = model.method(batch).detach()
        return Reconstruction(image, image)


def method_audit_parts(config: UntrainedConfig, suite: AuditSuite,
                       two_step: TwoStepConfig) -> tuple[MethodModel, AuditSuite, Callable]:
    """The method of ``config`` as a model, the suite it is audited with (fitted in batches of
    the two-step's ``batch_size``) and its attack ``(eps, longer)`` -> the two-step attack with
    the suite's norm and seed (twice the steps when ``longer``)."""
    attack = replace(two_step, norm=suite.norm, seed=suite.seed)
    method = config.build()

    def two_step_for(eps: float, longer: bool = False):
        return replace(attack, steps=2 * attack.steps if longer else attack.steps
                       ).attack(method, eps)

    model = MethodModel(method, f"{config.method}-{config.key()}")
    return model, replace(suite, batch_size=attack.batch_size), two_step_for


def audit_method(config: UntrainedConfig, data: RunConfig, accel: int,
                 suite: AuditSuite = AuditSuite(), directory: str | PathLike = "audits",
                 two_step: TwoStepConfig = TwoStepConfig(), *, device=None,
                 progress: bool = False) -> dict:
    """Audit the method of ``config`` on ``data``'s validation slices at ``accel`` with the
    suite's two-step form (module docstring), write ``<directory>/<method>-<key>.json`` and
    return it. The two-step attack takes the suite's norm and seed."""
    model, suite, attack = method_audit_parts(config, suite, two_step)
    settings = {**suite.settings(), "attack": f"audit suite v{SUITE_VERSION}, two-step "
                f"(β {two_step.beta:g})", "steps": two_step.steps, "restarts": 1,
                "schedule": "fixed", "two_step": {"beta": two_step.beta,
                                                  "step_size": two_step.step_size}}
    return audit_checked(model, MethodPipeline(), model.name, f"config:{model.name}", settings,
                         data, accel, suite, Path(directory), attack=attack,
                         label=config.label, device=device, progress=progress)
