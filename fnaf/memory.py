"""Batch sizes from a memory budget, not from a constant.

A computation batched over slices needs about ``fixed + slices × per_slice`` bytes at its peak.
:func:`slice_cost` measures the peak of one slice and of the same slice twice on the device
(:func:`peak_bytes`: the CUDA allocator's statistics on a GPU, the profiler's memory events on the
CPU — tensors only, not the interpreter or the libraries), and :meth:`SliceCost.batch_for` gives
the largest batch within a budget, by default a share of the device's free memory
(:func:`memory_budget`). Sizes are in bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import psutil
import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils.data import default_collate

from fnaf.data.batches import SeededSlices, slice_shapes
from fnaf.data.fastmri import SliceDataset
from fnaf.data.transforms import KneeSlice, SliceTransform, repeat_slices, select_slices
from fnaf.devices import resolve_device
from fnaf.ranks import smallest

#: The share of the device's free memory a batch may take (the rest: fragmentation, caches).
BUDGET_SHARE = 0.8
GIB = 2 ** 30


def peak_bytes(work: Callable[[], object], device: torch.device | str | None = None) -> int:
    """The peak of tensor memory allocated on ``device`` while ``work()`` runs, above what was
    allocated before it started."""
    device = resolve_device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        work()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - before
    if device.type != "cpu":
        raise ValueError(f"peak memory is measured on 'cpu' or 'cuda' devices, not {device}")
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as profiler:
        work()
    events = sorted((event for event in profiler.profiler.kineto_results.events()
                     if event.name() == "[memory]"), key=lambda event: event.start_ns())
    running = peak = 0
    for event in events:  # allocations are positive, frees negative, in time order
        running += event.nbytes()
        peak = max(peak, running)
    return peak


@dataclass(frozen=True)
class SliceCost:
    """The peak memory of a batched computation: ``fixed + slices × per_slice`` bytes."""

    fixed: int
    per_slice: int

    def peak(self, slices: int) -> int:
        return self.fixed + slices * self.per_slice

    def batch_for(self, budget: int, parameter: str = "batch_size") -> int:
        """The most slices whose peak fits ``budget`` bytes; a ``MemoryError`` naming
        ``parameter`` where not even one fits."""
        if self.peak(1) > budget:
            raise MemoryError(
                f"one slice needs {self.peak(1) / GIB:.2f} GiB at its peak, the budget is "
                f"{budget / GIB:.2f} GiB: free the device's memory, use a larger device, or "
                f"set {parameter} yourself to try anyway")
        return int((budget - self.fixed) // self.per_slice)


def slice_cost(work_on: Callable[[KneeSlice], object], batch: KneeSlice,
               device: torch.device | str | None = None) -> SliceCost:
    """:class:`SliceCost` of ``work_on`` (called on a batch) from its peaks on the first slice of
    ``batch`` and on that slice twice, on ``device``."""
    device = resolve_device(device)
    one = select_slices(batch, torch.tensor([0])).to(device)
    single, double = (peak_bytes(lambda probe=probe: work_on(probe), device)
                      for probe in (one, repeat_slices(one, 2)))
    per_slice = max(double - single, 1)
    return SliceCost(fixed=max(single - per_slice, 0), per_slice=per_slice)


def memory_budget(device: torch.device | str | None = None, share: float = BUDGET_SHARE) -> int:
    """``share`` of the memory free on ``device`` now (a GPU's free memory; on the CPU, the
    memory available to new processes), in bytes."""
    if not 0 < share <= 1:
        raise ValueError(f"share must lie in (0, 1], not {share!r}")
    device = resolve_device(device)
    if device.type == "cuda":
        free = torch.cuda.mem_get_info(device)[0]
    else:
        free = psutil.virtual_memory().available
    return int(share * free)


def fitting_batch_size(work_on: Callable[[KneeSlice], object], slices: SliceDataset,
                       transform: SliceTransform, device: torch.device | str | None = None,
                       parameter: str = "batch_size", shared: bool = True) -> int:
    """The most slices ``work_on`` (called on a batch) can take at once within
    :func:`memory_budget` of ``device``, its cost measured on a slice of the largest k-space
    shape of ``slices`` (:func:`slice_cost`); at most all of them. ``shared`` (work split over
    ``torchrun`` ranks): every rank takes the smallest of the ranks' sizes, so all batch alike;
    ``parameter`` is named where not even one slice fits."""
    shapes = slice_shapes(slices)
    largest = max(range(len(shapes)), key=lambda index: math.prod(shapes[index]))
    probe = default_collate([SeededSlices(slices, transform)[largest]])
    cost = slice_cost(work_on, probe, device)
    size = min(cost.batch_for(memory_budget(device), parameter), len(slices))
    return smallest(size) if shared else size
