"""Peak memory of one i-RIM training or attack step: invert to learn against plain autograd.

One training step = forward, i-RIM SSIM loss on the cropped magnitude, backward. One attack step
(``--step attack``, a k-space PGD iteration) = the same forward with the weights frozen and the
input perturbed, ``½||Ψ(y + z) − Ψ(y)||²``, backward to the perturbation only. Measured for 2 and 8
recurrent steps, with ``memory_free=True`` (activations reconstructed by inversion) and
``memory_free=False`` (autograd stores them). On CUDA: ``torch.cuda.max_memory_allocated``
above the memory held before the step (model and inputs), and the step's time. On CPU each
configuration runs in a fresh subprocess and reports the rise of ``ru_maxrss`` (the process's
peak resident memory) over its value just before the step. The subprocess fixes glibc's mmap
threshold at 1 MiB (``MALLOC_MMAP_THRESHOLD_``): with the default dynamic threshold, freed
activations stay in the heap and fragment it, and the resident peak then grows with the number
of layers processed even when live memory does not. CPU times are not printed (that allocator
setting and a shared machine make them meaningless). Printed as ``name: value`` lines, with the
ratios 8 vs 2 steps per mode and autograd vs invertible at 8 steps, and the size of the
parameter gradients, which both modes allocate during the step and which grows with the steps.

Run: ``python benchmarks/bench_irim_memory.py [--size demo|paper] [--device auto|cpu|cuda]
[--step train|attack]``.
``paper`` (the release's model at its 368x368 training crop, batch 1) is meant for a GPU.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

import torch

from fnaf.losses import IrimSSIMLoss
from fnaf.models import IRIM
from fnaf.mri import center_crop

SIZES = {
    # name: (IRIM arguments except n_steps/memory_free, batch, image size, crop)
    "demo": ({"n_hidden": 32, "n_network_hidden": [32] * 12,
              "dilations": [1, 1, 2, 2, 4, 8, 8, 4, 2, 2, 1, 1], "multiplicity": 4},
             2, (128, 128), (128, 128)),
    "paper": ({"n_hidden": 64, "n_network_hidden": [64, 64, 128, 128, 256, 1024, 1024, 256, 128,
                                                    128, 64, 64],
               "dilations": [1, 1, 2, 2, 4, 8, 8, 4, 2, 2, 1, 1], "multiplicity": 4},
              1, (368, 368), (320, 320)),
}
CONFIGS = [(True, 2), (True, 8), (False, 2), (False, 8)]


def setup(size: str, n_steps: int, memory_free: bool, device: torch.device):
    """Model and one batch of inputs on ``device``."""
    arguments, batch, image_size, crop = SIZES[size]
    torch.manual_seed(0)
    model = IRIM(n_steps=n_steps, memory_free=memory_free, **arguments).to(device).train()
    zero_filled = torch.randn(batch, *image_size, dtype=torch.complex64, device=device)
    mask = (torch.rand(batch, 1, image_size[1], device=device) < 0.3).float()
    metadata = torch.zeros(batch, 8, device=device)
    metadata[:, 7] = 1
    target = torch.rand(batch, 1, *crop, device=device)
    return model, (zero_filled, mask, metadata, crop), target


def training_step(model: IRIM, inputs, target: torch.Tensor, step: str = "train") -> None:
    """One training step, or one attack step: the gradient reaches the perturbation of the
    input (a k-space perturbation's zero-filled image), not the frozen weights."""
    zero_filled, mask, metadata, crop = inputs
    if step == "attack":
        model.requires_grad_(False)
        zero_filled = zero_filled.clone().requires_grad_(True)
    magnitude = center_crop(model(zero_filled, mask, metadata, crop), crop).abs().unsqueeze(1)
    if step == "attack":
        loss = 0.5 * (magnitude - target).square().sum()
    else:
        loss = IrimSSIMLoss().to(target.device)(magnitude / magnitude.detach().amax(), target)
    loss.backward()


def measure_cuda(size: str, n_steps: int, memory_free: bool, step: str
                 ) -> tuple[float, float | None]:
    """(peak MiB above the pre-step allocation, seconds) of one step on the GPU."""
    device = torch.device("cuda")
    model, inputs, target = setup(size, n_steps, memory_free, device)
    training_step(model, inputs, target, step)  # warm-up (cuDNN workspaces), then measure
    model.zero_grad(set_to_none=True)
    torch.cuda.synchronize()
    baseline = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    training_step(model, inputs, target, step)
    torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() - baseline
    del model, inputs, target
    torch.cuda.empty_cache()
    return peak / 2**20, seconds


def measure_cpu_worker(size: str, n_steps: int, memory_free: bool, step: str) -> None:
    """Print the peak MiB of one step in this (fresh) process."""
    model, inputs, target = setup(size, n_steps, memory_free, torch.device("cpu"))
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    training_step(model, inputs, target, step)
    print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline) / 1024)


def measure_cpu(size: str, n_steps: int, memory_free: bool, step: str) -> tuple[float, None]:
    """(peak MiB above the pre-step resident peak, no time) of one step in a subprocess."""
    command = [sys.executable, __file__, "--size", size, "--step", step, "--worker",
               str(n_steps), str(int(memory_free))]
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(2**20)}
    result = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return float(result.stdout), None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(SIZES), default="demo")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--step", choices=["train", "attack"], default="train")
    parser.add_argument("--worker", nargs=2, type=int, metavar=("N_STEPS", "MEMORY_FREE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        measure_cpu_worker(args.size, args.worker[0], bool(args.worker[1]), args.step)
        return
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device available")
    measure = measure_cuda if device == "cuda" else measure_cpu
    arguments, batch, image_size, _ = SIZES[args.size]
    print(f"device: {torch.cuda.get_device_name() if device == 'cuda' else 'cpu'}")
    print(f"step: {args.step}")
    print(f"size: {args.size} (n_hidden {arguments['n_hidden']}, "
          f"{len(arguments['dilations'])} layers, batch {batch}, "
          f"{image_size[0]}x{image_size[1]})")
    print("measure: " + ("cuda max_memory_allocated above the pre-step allocation" if device ==
                         "cuda" else "ru_maxrss rise over the pre-step value, fresh process, "
                         "MALLOC_MMAP_THRESHOLD_=1MiB"))
    for n_steps in sorted({n for _, n in CONFIGS}):
        with torch.device("meta"):
            n_parameters = sum(p.numel() for p in IRIM(n_steps=n_steps, **arguments).parameters())
        print(f"parameter_gradients_mib_steps{n_steps}: {4 * n_parameters / 2**20:.1f}")
    peaks = {}
    for memory_free, n_steps in CONFIGS:
        mode = "invertible" if memory_free else "autograd"
        peak, seconds = measure(args.size, n_steps, memory_free, args.step)
        peaks[mode, n_steps] = peak
        print(f"peak_mib_{mode}_steps{n_steps}: {peak:.1f}")
        if seconds is not None:
            print(f"step_seconds_{mode}_steps{n_steps}: {seconds:.2f}")
    for mode in ("invertible", "autograd"):
        print(f"ratio_{mode}_steps8_vs_steps2: {peaks[mode, 8] / peaks[mode, 2]:.2f}")
    print(f"ratio_autograd_vs_invertible_steps8: "
          f"{peaks['autograd', 8] / peaks['invertible', 8]:.2f}")


if __name__ == "__main__":
    main()
