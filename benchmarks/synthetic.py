"""Shared by the throughput benchmarks: a random multi-coil batch (their cost does not depend on
content) and the batched-against-looped timing."""

from __future__ import annotations

import argparse
import time

import torch

from fnaf.data.transforms import KneeSlice, select_slices
from fnaf.devices import resolve_device


def synthetic_batch(slices: int, coils: int, shape: tuple[int, int], crop: int,
                    device: torch.device) -> KneeSlice:
    """Random multi-coil k-space with a 4x random mask (throughput does not depend on content)."""
    generator = torch.Generator().manual_seed(0)
    kspace = torch.randn(slices, coils, *shape, dtype=torch.complex64, generator=generator)
    mask = (torch.rand(slices, 1, 1, shape[1], generator=generator) < 0.25).float()
    mask[..., shape[1] // 2 - 6: shape[1] // 2 + 6] = 1
    return KneeSlice(kspace.to(device), mask.to(device), torch.rand(slices, crop, crop).to(device),
                     torch.ones(slices).to(device), ["synthetic"] * slices, list(range(slices)),
                     ["CORPD_FBK"] * slices, [""] * slices)


def batched_and_looped(call, batch: KneeSlice, steps: int, device: torch.device
                       ) -> tuple[float, float]:
    """Steps x slices per second of ``call(batch)`` on the whole batch and on one slice at a
    time (after a one-slice warm-up), ``steps`` the work one call does per slice."""
    def rate(part: KneeSlice) -> float:
        return steps * len(part.fname) / elapsed(lambda: call(part), device)

    slices = [select_slices(batch, torch.tensor([i])) for i in range(len(batch.fname))]
    call(slices[0])  # warm-up
    batched = rate(batch)
    return batched, len(slices) / sum(1 / rate(part) for part in slices)


def elapsed(function, device: torch.device) -> float:
    """Seconds one call of ``function`` takes (the device synchronised around it)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    function()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def throughput_arguments(doc: str) -> argparse.ArgumentParser:
    """The throughput benchmarks' common options: ``--slices``, ``--coils``, ``--device``,
    ``--threads``."""
    parser = argparse.ArgumentParser(description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slices", type=int, default=8)
    parser.add_argument("--coils", type=int, default=4)
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    return parser


def demo_batch(args: argparse.Namespace) -> tuple[KneeSlice, torch.device]:
    """Apply ``--threads``, print the setting, and return a random batch on the demo phantom's
    grid (256x148 k-space, 128x128 target) on ``--device``."""
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    print(f"device: {device}, threads: {torch.get_num_threads()}")
    return synthetic_batch(args.slices, args.coils, (256, 148), 128, device), device
