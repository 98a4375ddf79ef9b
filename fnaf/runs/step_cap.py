"""The dry run's cap on iteration counts: :func:`set_step_cap` (a notebook's ``dry_run_steps``
parameter) makes every preset (:func:`~fnaf.runs.presets.preset` and its fine-tunes, the attack
budgets, the un-trained methods' iterations, the classifier's epochs) stop after at most that
many epochs, steps or iterations, every other setting the scale's. The capped count is a field
of the config, so its cache key differs from the uncapped run's; ``None`` (the default) changes
nothing."""

from __future__ import annotations

_cap: int | None = None


def set_step_cap(steps: int | None) -> None:
    """Cap the presets' epochs, steps and iterations at ``steps`` (an integer >= 1), or remove
    the cap (``None``)."""
    global _cap
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise ValueError(f"dry_run_steps must be an integer >= 1 or None, not {steps!r}")
    _cap = steps


def capped(count: int) -> int:
    """``count`` limited by the cap of :func:`set_step_cap` (unchanged when there is none)."""
    return count if _cap is None else min(count, _cap)
