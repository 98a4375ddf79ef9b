"""A step-size-free schedule for L2 PGD: Croce & Hein's APGD (ICML 2020, Algorithm 1), per slice.

APGD replaces PGD's fixed step by a budget-aware rule, so one setting serves every model:

* the step length starts at ``η = 2·radius`` (twice the ball's radius ``ε||y||``);
* steps carry momentum ``α = 0.75``:
  ``x_{k+1} = P(x_k + α(z_{k+1} − x_k) + (1 − α)(x_k − x_{k−1}))`` with
  ``z_{k+1} = P(x_k + η g/||g||)`` (``P`` the projection on the ball, ``g`` the gradient);
* at the checkpoints ``w_j = ⌈p_j N⌉`` (``p_0 = 0``, ``p_1 = 0.22``,
  ``p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06)``) a slice's step is halved, and the slice
  restarts from its best point, when since the last checkpoint fewer than ``ρ = 0.75`` of its
  steps raised the loss, or neither its step nor its best loss changed.

Every slice keeps its own step length, counters and best iterate: a slice's result does not
depend on the batch it is in.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from fnaf.attacks.ball import per_slice, project, projected_step

#: Algorithm 1's constants: momentum α, the success share ρ, the checkpoints' first position,
#: their shrinking and their smallest spacing (as fractions of the step budget).
MOMENTUM, SUCCESS_SHARE = 0.75, 0.75
FIRST_CHECKPOINT, CHECKPOINT_SHRINK, CHECKPOINT_SPACING = 0.22, 0.03, 0.06

#: ``evaluate(z, gradient)`` -> (the loss per slice ``(B,)``, its gradient or ``None``).
Evaluate = Callable[[torch.Tensor, bool], tuple[torch.Tensor, torch.Tensor | None]]


def checkpoints(steps: int) -> list[int]:
    """The steps ``w_j`` (``0 < w_j < steps``) where APGD may halve a slice's step."""
    positions = [0.0, FIRST_CHECKPOINT]
    while positions[-1] < 1:
        positions.append(positions[-1] + max(positions[-1] - positions[-2] - CHECKPOINT_SHRINK,
                                             CHECKPOINT_SPACING))
    # rounded first: 0.22 + 0.19 is 0.41000000000000003 in floating point
    return sorted({math.ceil(round(value * steps, 6)) for value in positions[1:]}
                  & set(range(1, steps)))


def apgd_search(evaluate: Evaluate, start: torch.Tensor, support: torch.Tensor,
                radius: torch.Tensor, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """APGD from ``start`` ``(B, ...)`` in the balls of ``radius`` ``(B,)``, moving only on
    ``support``: ``steps`` gradient steps (``steps + 1`` evaluations). Returns each slice's best
    iterate and its loss."""
    marks = checkpoints(steps)
    z = start
    loss, gradient = evaluate(z, True)
    best_z, best_loss, best_gradient = z, loss, gradient
    step = 2 * radius
    mark_step, mark_best, raised, last_mark = step.clone(), best_loss.clone(), 0 * loss, 0
    previous, z = z, projected_step(z, gradient * support, step, radius)
    for k in range(1, steps + 1):
        new_loss, gradient = evaluate(z, k < steps)
        raised = raised + (new_loss > loss).to(loss)
        loss = new_loss
        better = loss > best_loss
        best_loss = torch.where(better, loss, best_loss)
        best_z = torch.where(per_slice(better, z), z, best_z)
        if k == steps:
            break
        best_gradient = torch.where(per_slice(better, z), gradient, best_gradient)
        if k in marks:
            halve = ((raised < SUCCESS_SHARE * (k - last_mark))
                     | ((step == mark_step) & (best_loss == mark_best)))
            step = torch.where(halve, step / 2, step)
            back = per_slice(halve, z)
            z, previous = torch.where(back, best_z, z), torch.where(back, best_z, previous)
            gradient = torch.where(back, best_gradient, gradient)
            loss = torch.where(halve, best_loss, loss)
            mark_step, mark_best, raised, last_mark = step.clone(), best_loss.clone(), 0 * loss, k
        moved = projected_step(z, gradient * support, step, radius)
        previous, z = z, project(z + MOMENTUM * (moved - z) + (1 - MOMENTUM) * (z - previous),
                                 radius)
    return best_z, best_loss
