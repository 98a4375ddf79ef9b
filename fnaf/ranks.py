"""Per-slice work shared over ``torchrun`` processes, on the engine's process group
(:func:`fnaf.train.init_distributed`): each rank takes every ``world``-th batch, and the rows of
all ranks are gathered in the one-process order, so a sharded run returns (and rank 0 caches)
exactly the rows one process would. Without ``torchrun`` there is one rank and nothing to gather.
"""

from __future__ import annotations

import hashlib

import torch.distributed as dist


def rank_world() -> tuple[int, int]:
    """``(rank, world_size)`` of the process group, ``(0, 1)`` without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _everyone(value) -> list:
    """``value`` of every rank, in rank order."""
    values = [None] * rank_world()[1]
    dist.all_gather_object(values, value)
    return values


def my_batches(batches: list[list[int]]) -> list[tuple[int, list[int]]]:
    """This rank's share of ``batches`` (lists of sample indices), with each batch's position:
    positions ``rank, rank + world, ...``. Every rank must see the same batches (the same data
    files): otherwise a ``ValueError`` says so on every rank."""
    rank, world = rank_world()
    if world > 1:
        digest = hashlib.sha1(repr(batches).encode()).hexdigest()
        if len(set(_everyone(digest))) > 1:
            raise ValueError("the processes see different slices (their data or parameters "
                             "differ): give every node the same data files and parameters")
    return [(position, batch) for position, batch in enumerate(batches)
            if position % world == rank]


def gathered(rows: dict[int, list], count: int) -> list:
    """Every rank's ``rows`` (batch position -> that batch's rows) merged and flattened in
    batch order, on every rank; ``count`` batches are expected."""
    parts = _everyone(rows) if rank_world()[1] > 1 else [rows]
    merged = {position: part_rows for part in parts for position, part_rows in part.items()}
    if sorted(merged) != list(range(count)):
        raise RuntimeError(f"gathered {len(merged)} of {count} batches: a process did not "
                           "finish its share")
    return [row for position in range(count) for row in merged[position]]


def smallest(value: int) -> int:
    """The smallest of every rank's ``value`` (e.g. the batch that fits every rank's device)."""
    return min(_everyone(value)) if rank_world()[1] > 1 else value


def barrier() -> None:
    """Wait for every rank (after rank 0 wrote a cache); nothing without ``torchrun``."""
    if rank_world()[1] > 1:
        dist.barrier()
