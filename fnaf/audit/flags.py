"""Sanity flags of an audit: the signs that an attack's numbers cannot be trusted (in the spirit
of AutoAttack's checks for a failed evaluation), each with what to do about it.

Checked on the first batch before attacking (:func:`model_flags`): outputs that change between
identical calls, zero or non-finite gradients at a random start, autograd or an optimiser
running inside the forward pass (or declared: ``optimises``). Checked on the results
(:func:`result_flags`): the random control or the coil noise damaging more than the attack, and
damage that does not grow with ε; and (:func:`convergence_flags`) an attack with twice the steps
and restarts doing more than a stated tolerance (:data:`SSIM_TOLERANCE`) better.
"""

from __future__ import annotations

from contextlib import contextmanager

import pandas as pd
import torch
from torch.optim.optimizer import register_optimizer_step_pre_hook

from fnaf.attacks.ball import slice_norms
from fnaf.attacks.pgd import perturbation_support, random_perturbation, slice_generators
from fnaf.data.transforms import KneeSlice

#: Relative change between two identical calls above which the outputs "change".
REPEAT_TOLERANCE = 1e-5
#: SSIM by which the control may beat the attack, or a larger ε damage less, before a flag.
SSIM_TOLERANCE = 0.005


def flag(name: str, message: str, advice: str) -> dict:
    """One flag as the claim file stores it."""
    return {"flag": name, "message": message, "advice": advice}


@contextmanager
def _inner_optimisation():
    """Count optimiser steps and autograd calls while the block runs (a reconstruction that
    optimises at inference time makes both)."""
    calls = {"optimiser steps": 0, "autograd calls": 0}

    def counted(function, key):
        def wrapper(*args, **kwargs):
            calls[key] += 1
            return function(*args, **kwargs)
        return wrapper

    handle = register_optimizer_step_pre_hook(
        lambda *_: calls.__setitem__("optimiser steps", calls["optimiser steps"] + 1))
    grad, backward = torch.autograd.grad, torch.autograd.backward
    torch.autograd.grad = counted(grad, "autograd calls")
    torch.autograd.backward = counted(backward, "autograd calls")
    try:
        yield calls
    finally:
        handle.remove()
        torch.autograd.grad, torch.autograd.backward = grad, backward


def model_flags(model, pipeline, batch: KneeSlice, eps: float, seed: int = 0) -> list[dict]:
    """The model's flags on ``batch`` (eval mode, as the attacks run it): two identical calls,
    then the gradient of the attack's loss at a random start of norm ``eps/2 ||y||``."""
    flags = []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), _inner_optimisation() as calls:
            first = pipeline(model, batch).magnitude
        with torch.no_grad():
            second = pipeline(model, batch).magnitude
        change = float((first - second).abs().max() / first.abs().max().clamp_min(1e-30))
        if change > REPEAT_TOLERANCE:
            flags.append(flag("nondeterministic", f"two identical calls differ by {change:.2g} "
                              "of the image's maximum",
                              "call model.eval() (BatchNorm or dropout in training mode) or fix "
                              "the model's randomness; an attack on a moving target is not "
                              "measured"))
        if any(calls.values()) or getattr(model, "optimises", False):
            seen = ", ".join(f"{count} {what}" for what, count in calls.items() if count)
            flags.append(flag("optimises at inference",
                              f"the forward pass optimises ({seen or 'declared'})",
                              "a gradient through an inner optimisation is not the attack's "
                              "to take: use the two-step attack (python -m fnaf two-step) for "
                              "such methods, and read these PGD numbers as a lower bound"))
        support = perturbation_support(batch)
        z = random_perturbation(support, eps / 2 * slice_norms(batch.kspace * support),
                                slice_generators(batch, seed)).requires_grad_()
        moved = pipeline(model, batch._replace(kspace=batch.kspace + z)).magnitude
        loss = 0.5 * (moved - first).square().sum()
        gradient = (torch.autograd.grad(loss, z, allow_unused=True)[0] if loss.requires_grad
                    else None)
    finally:
        model.train(was_training)
    if gradient is None or not torch.isfinite(gradient).all():
        flags.append(flag("gradient", "the attack's gradient is "
                          + ("missing (the output does not depend on the input through "
                             "autograd)" if gradient is None else "not finite"),
                          "the model detaches, quantises or breaks its input's graph: use the "
                          "two-step or a gradient-free attack"))
    elif (slice_norms(gradient * support) == 0).any():
        flags.append(flag("gradient", "the attack's gradient is zero on some slices",
                          "the model detaches, quantises or saturates: use the two-step or a "
                          "gradient-free attack"))
    return flags


def result_flags(summary: pd.DataFrame) -> list[dict]:
    """Flags on the per-ε means (:func:`fnaf.audit.suite.audit_summary`, rows ``(eps,
    kind)`` with ``SSIM``): a random perturbation (the control, the coil noise) lower than the
    attack, or the attack's SSIM rising with ε, each beyond :data:`SSIM_TOLERANCE`."""
    flags = []
    ssim = summary["SSIM"].unstack("kind")
    for kind in ("control", "coil noise"):
        beaten = (ssim.index[ssim[kind] < ssim["attack"] - SSIM_TOLERANCE].tolist()
                  if kind in ssim else [])
        if beaten:
            flags.append(flag(f"{kind} beats attack", f"random {kind} of the same norm lowers "
                              f"SSIM more than the attack at ε {beaten}",
                              "the gradient attack failed (obfuscated or masked gradients?): "
                              "raise steps and restarts, or use a gradient-free or the two-step "
                              "attack"))
    rising = [float(eps) for eps, change in ssim["attack"].diff().items()
              if change > SSIM_TOLERANCE]
    if rising:
        flags.append(flag("damage not growing", f"the attack's SSIM rises with ε at ε {rising}",
                          "a larger ball holds every smaller one: the attack has not converged; "
                          "raise steps and restarts"))
    return flags


def convergence_flags(rows: pd.DataFrame, longer: pd.DataFrame) -> list[dict]:
    """The attack's mean SSIM (``rows``: one ε, attack and control rows) against the same
    attack run with twice the steps and restarts (``longer``) on the same slices: more than
    :data:`SSIM_TOLERANCE` lower means the suite's attack had not converged."""
    ssim, doubled = (frame.loc[frame["kind"] == "attack", "SSIM"].mean() for frame in
                     (rows, longer))
    if ssim - doubled <= SSIM_TOLERANCE:
        return []
    return [flag("not converged", f"twice the steps and restarts lower the attack's mean SSIM "
                 f"from {ssim:.4f} to {doubled:.4f} at ε {float(rows['eps'].max()):g}",
                 "the suite's attack has not converged on this model: audit it with more "
                 "steps and restarts (AuditSuite(steps=..., restarts=...)) and report those")]
