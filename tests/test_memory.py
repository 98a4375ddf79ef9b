"""Batch sizes from a memory budget: peaks measured on the device, a linear cost per slice."""

import pytest
import torch

from fnaf.data.transforms import KneeSlice
from fnaf.memory import SliceCost, memory_budget, peak_bytes, slice_cost

MIB = 2 ** 20


def test_the_peak_counts_tensors_alive_together_not_the_total_allocated():
    def work():
        for _ in range(3):  # three rounds of 4 + 4 MiB, freed after each
            (torch.ones(MIB) * 2).sum()

    assert 8 * MIB <= peak_bytes(work, "cpu") < 9 * MIB


def test_the_cost_is_measured_on_one_slice_and_on_two():
    batch = KneeSlice(kspace=torch.zeros(3, 4, 4, dtype=torch.complex64),
                      mask=torch.ones(3, 1, 4), target=torch.zeros(3, 4, 4),
                      max_value=torch.ones(3), fname=["a", "b", "c"], slice_num=torch.arange(3),
                      acquisition=["x"] * 3, system_model=[""] * 3)

    def work_on(probe):  # 2 MiB whatever the batch, 1 MiB per slice, alive together
        fixed, per_slice = torch.ones(MIB // 2), torch.ones(len(probe.fname), MIB // 4)
        return fixed.sum() + per_slice.sum()

    cost = slice_cost(work_on, batch, "cpu")
    assert abs(cost.per_slice - MIB) < MIB / 100
    assert abs(cost.fixed - 2 * MIB) < MIB / 100


def test_the_batch_is_what_fits_the_budget_and_too_small_a_budget_names_the_parameter():
    cost = SliceCost(fixed=100, per_slice=10)
    assert cost.batch_for(1000) == 90
    assert cost.batch_for(110) == 1
    with pytest.raises(MemoryError, match="set pgd_batch_size yourself"):
        cost.batch_for(109, parameter="pgd_batch_size")


def test_the_budget_is_a_share_of_the_free_memory():
    assert 0 < memory_budget("cpu", share=0.5) < memory_budget("cpu", share=1.0)
    with pytest.raises(ValueError, match="share"):
        memory_budget("cpu", share=0)
    with pytest.raises(ValueError, match="cuda"):
        memory_budget("cuda:7")
