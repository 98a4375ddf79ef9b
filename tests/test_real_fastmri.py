"""The estimate of what the paper's setting costs: passes counted, FLOPs counted, and the sum."""

import pandas as pd
import pytest
import torch

from fnaf.models import IRIM
from fnaf.studies.real_fastmri import (
    EPOCHS,
    FINE_TUNE_EPOCHS,
    IRIM_TRAINING_FORWARDS,
    _count,
    notebook_costs,
    notebook_passes,
)


def test_the_passes_follow_the_presets_and_the_data_sizes():
    passes = notebook_passes(1000, 100, 5000, candidates=11, irim_released=True)
    table = passes.set_index(["notebook", "network", "work"])["passes"]
    assert table["01_baselines", "U-Net", "baseline training"] == EPOCHS * 1000
    assert ("01_baselines", "I-RIM", "baseline training") not in table  # the released weights
    assert table["02_fnaf_attacks", "I-RIM", "random search"] == 2 * 100 * 12  # 11 + clean
    assert table["03_robust_training", "U-Net", "fine-tunes"] == 2 * FINE_TUNE_EPOCHS * 1000
    trained = notebook_passes(1000, 100, 5000, irim_released=False)
    assert (trained["network"] == "I-RIM").sum() == (passes["network"] == "I-RIM").sum() + 2


def test_the_costs_multiply_passes_by_flops_over_the_throughput():
    passes = pd.DataFrame({"notebook": ["a", "a", "b"], "network": ["U-Net", "I-RIM", "U-Net"],
                           "work": ["x", "y", "z"], "kind": ["forward", "training", "training"],
                           "passes": [10, 2, 1]})
    flops = pd.DataFrame({"forward": [1e12, 5e12], "training": [3e12, 20e12]},
                         index=["U-Net", "I-RIM"])
    costs = notebook_costs(passes, flops, sustained_tflops=10.0)
    assert costs.loc["a", "PFLOP"] == pytest.approx((10 * 1e12 + 2 * 20e12) / 1e15)
    assert costs.loc["b", "hours"] == pytest.approx(3e12 / 10e12 / 3600)
    with pytest.raises(ValueError, match="sustained_tflops must be positive"):
        notebook_costs(passes, flops, 0)


def test_the_irims_flops_scale_with_the_pixels_as_counted():
    """The I-RIM is counted on a small grid and scaled by area: its convolutions scale exactly,
    what does not (a few small matrix products) is well under a percent."""
    irim = IRIM(n_steps=2, n_hidden=16, n_network_hidden=(8, 8), dilations=(1, 2),
                multiplicity=1)

    def forward(side):
        zero_filled = torch.zeros(1, side, side, dtype=torch.complex64)
        with torch.no_grad():
            return _count(lambda: irim(zero_filled, torch.ones(1, 1, side)))

    assert forward(64) == pytest.approx(4 * forward(32), rel=0.01)
    assert IRIM_TRAINING_FORWARDS == 4
