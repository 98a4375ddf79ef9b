"""Measure demo I-RIM variants against the demo U-Net and the zero-filled input (run by hand).

Each variant is the demo I-RIM preset (mixed 4x/8x masks, 320 steps) with one architectural
change; every model is evaluated at 4x and 8x (fastMRI's metrics, mean over validation volumes).
The cost is the training time and one training step's forward and backward pass (batch 4 on the
128x128 training crop, one thread), timed here. Written to ``fnaf/measurements/irim_variants.csv``
with the commit; the models chapter shows it.

Usage: ``python tools/irim_variants.py`` (about 25 min on 2 CPU cores; runs go to the run cache).
"""

from __future__ import annotations

import time
from dataclasses import replace

import pandas as pd
import torch

from fnaf.runs import build_model, evaluate_or_load, preset, train_or_load
from fnaf.sweeps import save_measurement

ACCELS = (4, 8)


def variants() -> dict[str, object]:
    """Display name -> run config; the demo preset is the one marked so."""
    demo = preset("demo", "irim", ACCELS)
    deep = dict(n_network_hidden=(16, 32, 64, 64, 64, 64, 32, 16),
                dilations=(1, 2, 4, 8, 8, 4, 2, 1))
    coarse = dict(n_network_hidden=(32, 64, 64, 64, 64, 32), dilations=(2, 4, 8, 8, 4, 2))
    network = demo.network
    return {
        "U-Net (demo preset)": preset("demo", "unet", ACCELS),
        "I-RIM (demo preset)": demo,
        "I-RIM, the release's parametric head": replace(demo, network=replace(
            network, residual_output=False)),
        "I-RIM, 24 state channels": replace(demo, network=replace(network, n_hidden=24)),
        "I-RIM, 8-layer U to 1/8 scale": replace(demo, network=replace(network, **deep)),
        "I-RIM, 6-layer U at 1/2-1/8 scale": replace(demo, network=replace(network, **coarse)),
    }


def step_seconds(config) -> float:
    """One training step's forward and backward pass (batch 4, 128x128), median of 3."""
    model = build_model(config)
    if config.model == "irim":
        image = torch.randn(4, 128, 128, dtype=torch.complex64)
        mask = torch.ones(4, 128)

        def step():
            model(image, mask, None, (128, 128)).abs().mean().backward()
    else:
        image = torch.randn(4, 1, 128, 128)

        def step():
            model(image).mean().backward()
    step()
    times = []
    for _ in range(3):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return sorted(times)[1]


def main() -> None:
    torch.set_num_threads(1)
    rows = []
    for name, config in variants().items():
        run = train_or_load(config, progress=False)
        parameters = sum(p.numel() for p in run.model.parameters())
        seconds = step_seconds(config)
        for accel in ACCELS:
            evaluation = evaluate_or_load(run, accel)
            zero = evaluation.zero_filled[["NMSE", "SSIM"]].mean()  # the same for every model
            rows.append({"model": name, "accel": accel,
                         **evaluation.metrics[["NMSE", "PSNR", "SSIM"]].mean().to_dict(),
                         "zero-filled NMSE": zero["NMSE"], "zero-filled SSIM": zero["SSIM"],
                         "parameters": parameters,
                         "training time (s)": run.provenance["wall_time_s"],
                         "step (s)": seconds})
        print(pd.DataFrame(rows[-len(ACCELS):]).round(4).to_string(), flush=True)
    path = save_measurement(pd.DataFrame(rows), "irim_variants")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
