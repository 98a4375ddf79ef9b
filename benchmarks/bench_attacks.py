"""Random-search attack throughput: batched candidates against one forward pass per candidate,
and the attack's cost over the bare forward passes it needs.

For each model and size this prints, as ``name: value`` lines:

* ``batched_candidates_per_s`` — :class:`fnaf.attacks.RandomSearch` with candidates evaluated
  in chunks (``--chunk``);
* ``looped_candidates_per_s`` — the same attack with ``chunk_size=1``;
* ``batched_vs_looped`` — their ratio (target ≥ 3 at the demo size on a CPU);
* ``attack_overhead`` — the batched attack's time over the bare model forward passes on the same
  number of precomputed inputs, in the same chunks (target ≤ 1.2): the cost of drawing features,
  regions, FFTs, masks and losses.

    python benchmarks/bench_attacks.py [--size demo paper] [--model unet irim]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import torch

from fnaf.attacks import RandomSearch
from fnaf.data.batches import collate_slices
from fnaf.data.fastmri import SliceDataset
from fnaf.data.phantom import PhantomConfig, phantom_dataset
from fnaf.data.transforms import repeat_slices
from fnaf.devices import resolve_device
from fnaf.pipelines import pipeline_for
from fnaf.runs import attack_transform, build_model, preset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import elapsed  # noqa: E402 (the benchmarks folder)


def _timed(function, device: torch.device, repeats: int = 3) -> float:
    return statistics.median(elapsed(function, device) for _ in range(repeats))


def bench(name: str, size: str, slices: int, candidates: int, chunk: int,
          device: torch.device, root) -> None:
    config = preset(size, name, 4, data_root=str(root)) if size == "paper" else preset(size, name)
    data_root = root if size == "paper" else phantom_dataset(config.phantom)
    val = SliceDataset(data_root / "singlecoil_val")
    keys = [(val.volumes[v].fname.name, s) for v, s in val.samples[:slices]]
    batch = collate_slices(val, attack_transform(config), keys).to(device)
    torch.manual_seed(0)
    model = build_model(config).to(device).eval()
    pipeline = pipeline_for(name)

    def attack(chunk_size: int):
        return lambda: RandomSearch(model, pipeline, n_candidates=candidates,
                                    chunk_size=chunk_size)(batch)

    batched = _timed(attack(chunk), device)
    looped = _timed(attack(1), device, repeats=1)
    # the reference: the bare forward passes the attack needs, in the same chunks
    candidates_input = pipeline_input(name, repeat_slices(batch, candidates))
    total = slices * candidates
    chunks = [pipeline_input(name, batch)] + [
        tuple(part[start:start + chunk] if torch.is_tensor(part) else part
              for part in candidates_input) for start in range(0, total, chunk)]

    def bare():
        with torch.no_grad():
            for model_input in chunks:
                model(*model_input)

    reference = _timed(bare, device)
    evaluations = slices * candidates
    label = f"{name}_{size}"
    print(f"{label}_batched_candidates_per_s: {evaluations / batched:.2f}")
    print(f"{label}_looped_candidates_per_s: {evaluations / looped:.2f}")
    print(f"{label}_batched_vs_looped: {looped / batched:.2f}")
    print(f"{label}_attack_overhead: {batched / reference:.3f}")


def pipeline_input(name: str, batch) -> tuple:
    """The model's own input tensors for ``batch`` (what the pipeline hands the network)."""
    from fnaf.data.transforms import unet_input
    from fnaf.models.irim import metadata_one_hot
    from fnaf.mri import ifft2c

    zero_filled = ifft2c(batch.kspace * batch.mask)
    crop = tuple(batch.target.shape[-2:])
    if name == "unet":
        return (unet_input(zero_filled, crop)[0].unsqueeze(1),)
    metadata = metadata_one_hot("Skyra", "CORPD_FBK").to(zero_filled.real).expand(
        len(zero_filled), -1)
    return zero_filled, batch.mask, metadata, crop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", nargs="+", choices=("demo", "paper"), default=["demo", "paper"])
    parser.add_argument("--model", nargs="+", choices=("unet", "irim"), default=["unet", "irim"])
    parser.add_argument("--slices", type=int, default=8, help="slices attacked at once")
    parser.add_argument("--candidates", type=int, default=11)
    parser.add_argument("--chunk", type=int, help="candidates per forward pass (default: the "
                        "attack's, 8 on CPU, 64 on CUDA)")
    parser.add_argument("--device", help="default: CUDA when present, else CPU")
    args = parser.parse_args()
    device = resolve_device(args.device)
    chunk = args.chunk or (64 if device.type == "cuda" else 8)
    print(f"device: {device}, threads: {torch.get_num_threads()}, chunk: {chunk}")
    with tempfile.TemporaryDirectory() as scratch:
        paper_root = None
        for size in args.size:
            for name in args.model:
                if size == "paper" and device.type != "cuda":
                    print(f"{name}_paper: skipped on CPU (use a GPU for 320x320 attacks)")
                    continue
                if size == "paper" and paper_root is None:
                    paper_root = phantom_dataset(PhantomConfig(
                        geometry="paper", train_volumes=1, val_volumes=1, slices=args.slices),
                        scratch)
                bench(name, size, args.slices, args.candidates, chunk, device, paper_root)


if __name__ == "__main__":
    main()
