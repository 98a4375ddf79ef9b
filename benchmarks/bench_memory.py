"""Peak memory per slice at the paper geometry, and the batch that fits a given memory.

Each chapter's heaviest per-slice computation runs on a slice of the phantom at fastMRI's knee
geometry (k-space 640x368, targets 320x320, 15 coils; the single-coil computations take its
first coil) with a 4x mask and the papers' network sizes, on one
slice and on two; :func:`fnaf.memory.slice_cost` turns the two peaks into ``fixed + slices x
per_slice`` bytes. Printed per computation: both parts, the per-slice part as a ratio to one
slice's k-space (the reference, measured in the same run), and the batch that fits
``--budget-gib`` (default: an H100's 80 GiB) and 24 GiB. On a GPU the peaks are the CUDA
allocator's; on the CPU the profiler's tensor allocations (the same tensors; cuDNN's workspaces
are not among them).

Computations: the U-Net's training step and its forward pass (chapters 01-06: training, the FNAF
candidates, the evaluations), a k-space PGD step on the multi-coil U-Net and on the VarNet
(chapters 07 and 09; the VarNet is VarNet-ref), and a two-step attack step on l1 (chapter 08).
``--device cuda`` adds the ones a CPU cannot finish in minutes: the i-RIM's forward pass at the
full field of view and a ConvDecoder fit step (8 x 256).

Run: ``python benchmarks/bench_memory.py [--device cpu|cuda] [--budget-gib 80] [--only NAME]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import asdict

import torch
from torch.utils.data import default_collate

from fnaf.attacks.pgd import KspacePGD
from fnaf.attacks.two_step import TwoStepAttack
from fnaf.data.batches import SeededSlices
from fnaf.data.fastmri import SliceDataset, split_dir
from fnaf.data.masks import CENTER_FRACTIONS, RandomMaskFunc
from fnaf.data.phantom import PhantomConfig, write_phantom
from fnaf.data.transforms import KneeSlice, SliceTransform
from fnaf.devices import resolve_device
from fnaf.memory import GIB, slice_cost
from fnaf.models import IRIM, UNet, VarNet
from fnaf.pipelines import IrimPipeline, UnetPipeline, VarnetPipeline
from fnaf.runs.configs import IrimConfig, UnetConfig, VarNetConfig
from fnaf.runs.untrained import untrained_preset

COILS = 15
MIB = 2 ** 20


def paper_slice(folder: str, device: torch.device) -> KneeSlice:
    """The middle slice of a one-volume 15-coil phantom at the paper geometry, 4x-masked."""
    config = PhantomConfig(geometry="paper", train_volumes=1, val_volumes=1, slices=1,
                           coils=COILS)
    val = SliceDataset(split_dir(write_phantom(folder, config), "val", "multicoil"),
                       challenge="multicoil")
    transform = SliceTransform(RandomMaskFunc([CENTER_FRACTIONS[4]], [4]), use_seed=True)
    return default_collate([SeededSlices(val, transform)[0]]).to(device)


def single_coil(batch: KneeSlice) -> KneeSlice:
    """The first coil of a multi-coil batch, in the single-coil layout."""
    return batch._replace(kspace=batch.kspace[:, 0], mask=batch.mask[:, 0])


def computations(device: torch.device) -> dict:
    """name -> (work on a batch, its coils: 1 is the single-coil layout); the GPU-only ones
    only on a GPU."""
    unet = UNet(**asdict(UnetConfig())).to(device)
    varnet = VarNet(**asdict(VarNetConfig())).to(device)

    def training_step(batch):
        pipeline = UnetPipeline()
        pipeline.loss(pipeline(unet.train(), batch), batch).backward()
        unet.zero_grad(set_to_none=True)

    def forward(batch):
        with torch.no_grad():
            UnetPipeline()(unet.eval(), batch)

    def pgd(model, pipeline):
        return lambda batch: KspacePGD(model, pipeline, 0.08, steps=1)(batch)

    def l1_step(batch):
        method = untrained_preset("paper", "l1", iterations=2).build()
        TwoStepAttack(method, 0.08, steps=1)(batch)

    chosen = {"U-Net training step (01-06)": (training_step, 1),
              "U-Net forward, FNAF candidates (02-06)": (forward, 1),
              "U-Net multi-coil, PGD step (07)": (pgd(unet, UnetPipeline()), COILS),
              "VarNet(-ref), PGD step (07, 09)": (pgd(varnet, VarnetPipeline()), COILS),
              "l1 (wavelet), two-step attack step (08)": (l1_step, COILS)}
    if device.type == "cuda":
        irim = IRIM(**{name: value for name, value in asdict(IrimConfig()).items()
                       if name != "train_resolution"}).to(device).eval()

        def irim_forward(batch):
            with torch.no_grad():
                IrimPipeline()(irim, batch)

        def decoder_step(batch):
            method = untrained_preset("paper", "convdecoder", iterations=1).build()
            method.fit(batch)

        chosen["I-RIM forward, full field of view (01-06)"] = (irim_forward, 1)
        chosen["ConvDecoder fit step, 8 x 256 (08-10)"] = (decoder_step, COILS)
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default=None)
    parser.add_argument("--budget-gib", type=float, default=80.0)
    parser.add_argument("--only", help="one computation whose name contains this")
    args = parser.parse_args()
    device = resolve_device(args.device)
    with tempfile.TemporaryDirectory() as folder:
        batch = paper_slice(folder + "/phantom", device)
    print(f"device: {device}; k-space {tuple(batch.kspace.shape[1:])}, targets "
          f"{tuple(batch.target.shape[1:])}")
    for name, (work_on, coils) in computations(device).items():
        if args.only and args.only not in name:
            continue
        probe = batch if coils > 1 else single_coil(batch)
        start = time.perf_counter()
        cost = slice_cost(work_on, probe, device)
        kspace_bytes = probe.kspace[0].numel() * probe.kspace.element_size()
        fits = {gib: int((gib * GIB - cost.fixed) // cost.per_slice)
                for gib in (args.budget_gib, 24)}
        print(f"{name}: fixed {cost.fixed / MIB:.0f} MiB, per slice "
              f"{cost.per_slice / MIB:.0f} MiB ({cost.per_slice / kspace_bytes:.1f}x one "
              f"slice's k-space); batch within {args.budget_gib:g} GiB: "
              f"{fits[args.budget_gib]}, within 24 GiB: {fits[24]} "
              f"[{time.perf_counter() - start:.0f} s]", flush=True)


if __name__ == "__main__":
    main()
