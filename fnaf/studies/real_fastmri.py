"""The chapter on real fastMRI data: what the paper's setting costs, the floating-point operations
each notebook spends at the ``paper`` preset on fastMRI's single-coil knee data, counted, and the
time they take at a given sustained throughput. An estimate, not a measurement on a GPU:

* :func:`slice_flops` counts one slice's forward (and training) pass with
  :class:`torch.utils.flop_counter.FlopCounterMode` on the paper's networks: the U-Net on
  "meta" tensors at 320×320 (forward and backward counted); the I-RIM's forward on a small
  grid, scaled to its 368×368 training crop by the number of pixels (exact for its
  convolutions; a few small matrix products that do not scale are well under a percent of the
  count), and its memory-free training pass as four forwards (forward,
  inversion during the backward, and a backward of twice the forward's cost). The patch
  classifier is counted at its 32-pixel patches.
* :func:`notebook_passes` counts the slice passes each notebook makes at the paper preset from
  the data's sizes (the paper's Table 1), the presets' epochs and the attack's candidates.
* :func:`notebook_costs` multiplies the two and divides by a sustained throughput.

Not counted: data loading (HDF5 reads, which can bound a GPU's pace), the FFTs, the
evaluation's metrics, and the attacks' cache (a notebook reuses what an earlier one ran).
"""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd
import torch
from torch.utils.flop_counter import FlopCounterMode

from fnaf.models import IRIM, SqueezeNet, UNet
from fnaf.runs.configs import IrimConfig, UnetConfig

#: The grid the I-RIM's forward is counted on before scaling by area (small: it runs on a CPU).
COUNT_GRID = 64
#: A memory-free training pass of the I-RIM in forward passes (see the module docstring).
IRIM_TRAINING_FORWARDS = 4
#: The paper's epochs: baselines (fastMRI and the presets), FNAF and B-Box fine-tunes (this
#: package's choice; the paper does not say), and the classifier's maximum.
EPOCHS, FINE_TUNE_EPOCHS, CLASSIFIER_EPOCHS = 50, 10, 100


def _count(run) -> int:
    with FlopCounterMode(display=False) as counter:
        run()
    return counter.get_total_flops()


def slice_flops() -> pd.DataFrame:
    """Per network, the FLOPs of one slice's (one patch's) ``forward`` and ``training`` pass at
    the paper's sizes (the module docstring says how each is counted)."""
    with torch.device("meta"):
        unet = UNet(**asdict(UnetConfig()))
        image = torch.zeros(1, 1, 320, 320)
        classifier = SqueezeNet()
        patch = torch.zeros(1, 1, 32, 32)
        unet_forward = _count(lambda: unet(image))
        unet_training = _count(lambda: unet(image).sum().backward())
        patch_forward = _count(lambda: classifier(patch))
        patch_training = _count(lambda: classifier(patch).sum().backward())
    settings = asdict(IrimConfig())
    side = settings.pop("train_resolution")[0]
    irim = IRIM(**settings)
    zero_filled = torch.zeros(1, COUNT_GRID, COUNT_GRID, dtype=torch.complex64)
    with torch.no_grad():
        small = _count(lambda: irim(zero_filled, torch.ones(1, 1, COUNT_GRID)))
    irim_forward = small * (side / COUNT_GRID) ** 2
    return pd.DataFrame({
        "U-Net": {"forward": unet_forward, "training": unet_training},
        "I-RIM": {"forward": irim_forward, "training": IRIM_TRAINING_FORWARDS * irim_forward},
        "classifier": {"forward": patch_forward, "training": patch_training}}).T


def notebook_passes(train_slices: int, val_slices: int, train_patches: int, *,
                    candidates: int = 11, irim_released: bool = True) -> pd.DataFrame:
    """The slice passes of each notebook at the paper preset, both accelerations, one model per
    architecture on mixed masks: rows ``(notebook, network, work, kind, passes)`` with kind
    ``"forward"`` or ``"training"``. ``irim_released``: the released i-RIM is the baseline (the
    paper), so it is not trained; ``candidates``: the random search's (the paper: 11)."""
    accels, attack = 2, val_slices * (candidates + 1)  # the candidates and the clean slice
    rows = []

    def add(notebook, network, work, kind, passes):
        rows.append({"notebook": notebook, "network": network, "work": work, "kind": kind,
                     "passes": passes})

    for network in ("U-Net", "I-RIM"):
        if not (network == "I-RIM" and irim_released):
            add("01_baselines", network, "baseline training", "training", EPOCHS * train_slices)
            add("01_baselines", network, "epoch selection", "forward", EPOCHS * val_slices)
        add("01_baselines", network, "Table 3", "forward", accels * val_slices)
        add("02_fnaf_attacks", network, "random search", "forward", accels * attack)
        add("02_fnaf_attacks", network, "finite differences", "forward", attack)
        for notebook, fine_tunes in (("03_robust_training", 2), ("04_bbox_training", 1)):
            add(notebook, network, "fine-tunes", "training",
                fine_tunes * FINE_TUNE_EPOCHS * train_slices)
            add(notebook, network, "epoch selection", "forward",
                fine_tunes * FINE_TUNE_EPOCHS * val_slices)
            add(notebook, network, "attacks", "forward", fine_tunes * accels * attack)
            add(notebook, network, "Tables 3-4", "forward", fine_tunes * accels * val_slices)
    add("02_fnaf_attacks", "U-Net", "the normalised domain", "forward", attack)
    add("05_classification", "classifier", "training", "training",
        CLASSIFIER_EPOCHS * train_patches)
    add("released_code", "U-Net", "five departures", "forward", 5 * attack)
    add("released_code", "I-RIM", "the target brightness", "forward", attack)
    return pd.DataFrame(rows)


def spent_flops(passes: pd.DataFrame, flops: pd.DataFrame) -> pd.DataFrame:
    """:func:`notebook_passes` with each row's FLOPs (its passes × :func:`slice_flops`)."""
    return passes.assign(flops=[row.passes * flops.loc[row.network, row.kind]
                                for row in passes.itertuples()])


def notebook_costs(passes: pd.DataFrame, flops: pd.DataFrame,
                   sustained_tflops: float) -> pd.DataFrame:
    """Per notebook: its PFLOPs (:func:`spent_flops`) and the hours they take at
    ``sustained_tflops`` (TFLOP/s actually reached, not a GPU's peak)."""
    if not sustained_tflops > 0:
        raise ValueError(f"sustained_tflops must be positive, not {sustained_tflops!r}")
    spent = spent_flops(passes, flops)
    table = spent.groupby("notebook", sort=False)["flops"].sum().to_frame("PFLOP") / 1e15
    table["hours"] = table["PFLOP"] * 1e15 / (sustained_tflops * 1e12) / 3600
    return table
