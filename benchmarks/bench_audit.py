"""The audit's cost (``fnaf.audit``): time per slice of the fixed suite, the share of it spent in
the sanity flags and in the attacks, against the model's bare forward pass measured in the same
run.

For each model (the zero-filled callable, and the demo U-Net with random weights) this prints,
as ``name: value`` lines:

* ``audit_s_per_slice`` — :func:`fnaf.audit.suite.audit_rows` over the slices, per slice;
* ``flags_share`` and ``attacks_share`` — the model flags (first batch) and PGD with its
  control at every ε, as shares of that time (the rest: scoring and the worst case);
* ``audit_vs_forward`` — the audit's time over one forward pass of the same slices (what a
  suite of ``len(eps) × restarts × (steps + 3)`` passes and their gradients should cost).

    python benchmarks/bench_audit.py [--slices 8] [--device cuda]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

import fnaf.audit.suite as suite_module
from fnaf.audit import AuditSuite, ReconModel
from fnaf.audit.model import ReconPipeline
from fnaf.data.batches import collate_slices
from fnaf.data.fastmri import SliceDataset
from fnaf.data.phantom import phantom_dataset
from fnaf.devices import resolve_device
from fnaf.mri import zero_filled_image
from fnaf.pipelines import pipeline_for
from fnaf.runs import attack_transform, build_model, multicoil_preset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import elapsed  # noqa: E402 (the benchmarks folder)


def bench(label: str, model, pipeline, data, slices: SliceDataset, suite: AuditSuite,
          device: torch.device) -> None:
    transform = attack_transform(data, 4)
    keys = [(slices.volumes[v].fname.name, s) for v, s in slices.samples]
    batch = collate_slices(slices, transform, keys).to(device)
    model.to(device).eval()
    with torch.no_grad():
        forward = elapsed(lambda: pipeline(model, batch), device)
    spent = {"flags": 0.0, "attacks": 0.0}

    def timed(name, function):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - start
        return wrapper

    flags, attacks = suite_module.model_flags, suite_module.pgd_dataset
    suite_module.model_flags = timed("flags", flags)
    suite_module.pgd_dataset = timed("attacks", attacks)
    try:
        total = elapsed(lambda: suite_module.audit_rows(model, pipeline, slices, transform, suite,
                                                       device=device), device)
    finally:
        suite_module.model_flags, suite_module.pgd_dataset = flags, attacks
    print(f"{label}.audit_s_per_slice: {total / len(slices):.3f}")
    print(f"{label}.flags_share: {spent['flags'] / total:.3f}")
    print(f"{label}.attacks_share: {spent['attacks'] / total:.3f}")
    print(f"{label}.audit_vs_forward: {total / forward:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slices", type=int, default=8, help="validation slices audited")
    parser.add_argument("--device", help="cpu, cuda, ... (default: CUDA when present)")
    args = parser.parse_args()
    device = resolve_device(args.device)
    data = multicoil_preset("demo", "unet", 4, 4)
    slices = SliceDataset(phantom_dataset(data.phantom) / "multicoil_val",
                          challenge="multicoil").middle_slices(1)
    slices.samples = slices.samples[:args.slices]
    suite = AuditSuite(slices_per_volume=None)
    torch.manual_seed(0)
    bench("zero_filled", ReconModel(zero_filled_image, "zero-filled"), ReconPipeline(), data,
          slices, suite, device)
    bench("unet", build_model(data), pipeline_for("unet"), data, slices, suite, device)


if __name__ == "__main__":
    main()
