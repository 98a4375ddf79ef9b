"""The audit's cost (``fnaf.audit``): time per slice of the fixed suite, the share of it spent in
each of its parts, against the model's bare forward pass measured in the same run.

For each model (the zero-filled callable, and the demo U-Net with random weights) this prints,
as ``name: value`` lines:

* ``audit_s_per_slice`` — :func:`fnaf.audit.suite.audit_rows` and
  :func:`fnaf.audit.features.feature_rows` over the slices, per slice;
* ``<part>_share`` — the model flags (first batch), the attack (APGD with its control at every
  ε), the coil noise, the convergence check and the FNAF searches, as shares of that time (the
  rest: scoring and the worst case);
* ``audit_vs_forward`` — the audit's time over one forward pass of the same slices.

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
from fnaf.audit.features import feature_rows
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

#: The suite's parts whose shares of the audit's time are printed.
PARTS = ("flags", "attack", "coil_noise", "convergence", "features")


def bench(label: str, model, pipeline, data, slices: SliceDataset, suite: AuditSuite,
          device: torch.device) -> None:
    transform = attack_transform(data, 4)
    keys = [(slices.volumes[v].fname.name, s) for v, s in slices.samples]
    batch = collate_slices(slices, transform, keys).to(device)
    model.to(device).eval()
    with torch.no_grad():
        forward = elapsed(lambda: pipeline(model, batch), device)
    spent = {part: 0.0 for part in PARTS}
    stages = iter(("attack", "coil_noise", "convergence"))  # audit_rows' order

    def timed(function, name=None):
        def wrapper(*args, **kwargs):
            part = name or next(stages)
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[part] += time.perf_counter() - start
        return wrapper

    flags, rows = suite_module.model_flags, suite_module.measurement_rows
    suite_module.model_flags = timed(flags, "flags")
    suite_module.measurement_rows = timed(rows)
    features = timed(feature_rows, "features")

    def audit():
        suite_module.audit_rows(model, pipeline, slices, transform, suite, device=device)
        features(model, pipeline, slices, transform, batch_size=suite.batch_size)

    try:
        total = elapsed(audit, device)
    finally:
        suite_module.model_flags, suite_module.measurement_rows = flags, rows
    print(f"{label}.audit_s_per_slice: {total / len(slices):.3f}")
    for part in PARTS:
        print(f"{label}.{part}_share: {spent[part] / total:.3f}")
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
