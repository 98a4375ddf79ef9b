"""APGD's step-size-free schedule (Croce & Hein 2020, Algorithm 1) on problems whose answer is
known: its checkpoints, convergence to an interior maximum that fixed steps overshoot, the ball,
and slices searched independently."""

import torch

from fnaf.attacks.apgd import apgd_search, checkpoints
from fnaf.attacks.ball import slice_norms


def test_checkpoints_are_the_papers():
    # p = 0, 0.22, 0.41, 0.57, 0.70, 0.80, 0.87, 0.93, 0.99 (then past the budget)
    assert checkpoints(100) == [22, 41, 57, 70, 80, 87, 93, 99]
    assert checkpoints(10) == [3, 5, 6, 7, 8, 9]
    assert checkpoints(1) == []


def peaked(centre: torch.Tensor):
    """``−||z − centre||²`` per slice (maximum at ``centre``, inside the ball) and its gradient."""
    def evaluate(z, gradient):
        return -(z - centre).square().flatten(1).sum(1), (-2 * (z - centre) if gradient else None)
    return evaluate


def test_halving_the_step_finds_a_maximum_inside_the_ball():
    """Steps of twice the radius overshoot an interior maximum; APGD halves them on the way."""
    radius = torch.tensor([1.0, 2.0])
    centre = torch.tensor([[0.3, 0.0, 0.0], [0.0, -0.5, 0.4]])
    start = torch.tensor([[0.0, 0.5, 0.0], [0.5, 0.0, 0.0]])
    best, loss = apgd_search(peaked(centre), start, torch.ones(2, 3), radius, steps=60)
    assert torch.all(slice_norms(best - centre) < 0.02 * radius)
    torch.testing.assert_close(loss, -(best - centre).square().sum(1))
    # with the step halving disabled (one budget without checkpoints), it stays far off
    stuck, _ = apgd_search(peaked(centre), start, torch.ones(2, 3), radius, steps=1)
    assert torch.all(slice_norms(stuck - centre) > 0.1 * radius)


def test_the_search_stays_in_the_ball_on_the_support_and_slices_are_independent():
    torch.manual_seed(0)
    weights = torch.randn(2, 4, 4)

    def evaluate(z, gradient):  # ½||W_b z_b||², maximal on the sphere
        image = torch.einsum("bij,bj->bi", weights, z)
        return 0.5 * image.square().sum(1), (torch.einsum("bji,bj->bi", weights, image)
                                             if gradient else None)

    support = torch.tensor([[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    radius = torch.tensor([0.5, 1.5])
    start = 0.1 * support
    best, loss = apgd_search(evaluate, start, support, radius, steps=20)
    assert torch.all(slice_norms(best) <= radius * (1 + 1e-6))
    assert best[0, 3] == 0
    # the largest singular value on the support bounds the loss, and APGD comes close to it
    top = [torch.linalg.matrix_norm(weights[b] * support[b], 2) for b in range(2)]
    bound = torch.stack([0.5 * (top[b] * radius[b]) ** 2 for b in range(2)])
    assert torch.all(loss <= bound * (1 + 1e-5)) and torch.all(loss >= 0.95 * bound)

    def alone(b):
        def evaluate_one(z, gradient):
            image = weights[b] @ z[0]
            return (0.5 * image.square().sum()[None],
                    (weights[b].T @ image)[None] if gradient else None)
        return apgd_search(evaluate_one, start[b:b + 1], support[b:b + 1], radius[b:b + 1], 20)

    for b in range(2):
        torch.testing.assert_close(alone(b)[0][0], best[b])
