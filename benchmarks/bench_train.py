"""Training and inference throughput, and the training engine's overhead.

For each model and size this prints, as ``name: value`` lines:

* ``engine_step_s`` — one step as :func:`fnaf.train.fit` runs it: load and collate the batch (mask
  drawing, FFTs in the workers' transform), move it, build the model input (zero-filled image,
  normalisation / metadata) and take an optimiser step through :func:`fnaf.train.train_step`;
* ``bare_step_s`` — the reference: the model's forward, its loss, backward and the optimiser step
  on the same batch's precomputed input tensors;
* ``engine_overhead`` = engine / bare (target ≤ 1.10 at the demo size);
* ``train_slices_per_s`` and ``inference_slices_per_s`` (the pipeline under ``no_grad``);
* ``robust_vs_clean_step`` — a step of the FNAF-robust objective (the robust preset: half the
  batch carries a feature) over a clean step, both through the engine (target ≤ 1.3 at the
  demo size).

Sizes: ``demo`` (the demo presets on the phantom's demo geometry) and ``paper`` (the paper
presets on phantom volumes of the paper's geometry, 640x368 -> 320x320). The paper-size I-RIM
(275M parameters) needs a GPU.

    python benchmarks/bench_train.py [--size demo paper] [--model unet irim] [--steps 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, default_collate

from fnaf.data.batches import SeededSlices, ShapeBatchSampler, slice_shapes
from fnaf.data.fastmri import SliceDataset
from fnaf.data.phantom import PhantomConfig, phantom_dataset
from fnaf.data.transforms import unet_input, unet_target
from fnaf.devices import resolve_device
from fnaf.mri import center_crop, ifft2c
from fnaf.objectives import CleanObjective
from fnaf.pipelines import pipeline_for
from fnaf.runs import build_model, build_optimizer, preset, robust_preset, transforms
from fnaf.train import train_step


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _batches(config, root: Path):
    """Training batches as the engine loads them, epoch after epoch."""
    train = SliceDataset(root / "singlecoil_train")
    sampler = ShapeBatchSampler(slice_shapes(train), config.batch_size, seed=0)
    loader = DataLoader(SeededSlices(train, transforms(config)[0]), batch_sampler=sampler,
                        collate_fn=default_collate)
    epoch = 0
    while True:
        sampler.set_epoch(epoch)
        yield from loader
        epoch += 1


def _bare_step(name: str, model, pipeline, batch, optimizer):
    """The model's own computation on precomputed inputs (the reference)."""
    if name == "unet":
        image, mean, std = unet_input(ifft2c(batch.kspace * batch.mask),
                                      tuple(batch.target.shape[-2:]))
        target = unet_target(batch.target, mean, std)

        def step():
            loss = torch.nn.functional.l1_loss(model(image.unsqueeze(1)).squeeze(1), target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    else:
        zero_filled = ifft2c(batch.kspace * batch.mask)
        metadata = torch.zeros(len(zero_filled), 8, device=zero_filled.device)
        metadata[:, -1] = 1
        crop = tuple(batch.target.shape[-2:])
        scale = batch.max_value.reshape(-1, 1, 1, 1)

        def step():
            estimate = model(zero_filled, batch.mask, metadata, crop)
            magnitude = center_crop(estimate, crop).abs()
            loss = pipeline.ssim(magnitude.unsqueeze(1) / scale, batch.target.unsqueeze(1) / scale)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return step


def _median_time(function, repeats: int, device: torch.device) -> float:
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        function()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench(name: str, size: str, steps: int, device: torch.device, root: Path) -> None:
    config = preset(size, name, 4, data_root=str(root)) if size == "paper" else preset(size, name)
    data_root = root if size == "paper" else phantom_dataset(config.phantom)
    torch.manual_seed(0)
    model = build_model(config).to(device).train()
    optimizer, _ = build_optimizer(config, model)
    pipeline, objective = pipeline_for(name), CleanObjective()
    batches = _batches(config, data_root)
    generator = torch.Generator(device).manual_seed(0)

    def step_with(chosen):
        def step():
            batch = next(batches).to(device)
            train_step(model, pipeline, chosen, batch, optimizer, generator)
        return step

    engine_step = step_with(objective)
    for _ in range(2):  # warm-up
        engine_step()
    engine = _median_time(engine_step, steps, device)
    robust_objective = robust_preset(size, name, 4, "fnaf", **(
        {"data_root": str(root)} if size == "paper" else {})).objective.build()
    robust = _median_time(step_with(robust_objective), steps, device)
    batch = next(batches).to(device)
    bare = _median_time(_bare_step(name, model, pipeline, batch, optimizer), steps, device)
    model.eval()
    with torch.no_grad():
        inference = _median_time(lambda: pipeline(model, batch), steps, device)
    label = f"{name}_{size}_batch{config.batch_size}"
    print(f"{label}_engine_step_s: {engine:.4f}")
    print(f"{label}_bare_step_s: {bare:.4f}")
    print(f"{label}_engine_overhead: {engine / bare:.3f}")
    print(f"{label}_fnaf_robust_step_s: {robust:.4f}")
    print(f"{label}_robust_vs_clean_step: {robust / engine:.3f}")
    print(f"{label}_train_slices_per_s: {config.batch_size / engine:.2f}")
    print(f"{label}_inference_slices_per_s: {config.batch_size / inference:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", nargs="+", choices=("demo", "paper"), default=["demo", "paper"])
    parser.add_argument("--model", nargs="+", choices=("unet", "irim"), default=["unet", "irim"])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per measurement")
    parser.add_argument("--device", help="default: CUDA when present, else CPU")
    args = parser.parse_args()
    device = resolve_device(args.device)
    print(f"device: {device}, threads: {torch.get_num_threads()}")
    with tempfile.TemporaryDirectory() as scratch:
        paper_root = None
        for size in args.size:
            for name in args.model:
                if size == "paper" and name == "irim" and device.type != "cuda":
                    print("irim_paper: skipped (275M parameters at 368x368 need a GPU)")
                    continue
                if size == "paper" and paper_root is None:
                    paper_root = phantom_dataset(PhantomConfig(
                        geometry="paper", train_volumes=2, val_volumes=1, slices=8), scratch)
                bench(name, size, args.steps, device, paper_root)


if __name__ == "__main__":
    main()
