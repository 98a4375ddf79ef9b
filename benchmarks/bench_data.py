"""Data-reading throughput: SliceDataset + UnetDataTransform against raw h5py reads.

Reference: opening each file with h5py and reading the same k-space and target slices, nothing
else. Printed: slices/s of each and their ratio (dataset / raw; 1.0 means reading costs nothing
beyond h5py). Run: ``python benchmarks/bench_data.py [--geometry demo|paper]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import h5py
import torch

from fnaf.data.fastmri import SliceDataset, split_dir
from fnaf.data.masks import RandomMaskFunc
from fnaf.data.phantom import PhantomConfig, write_phantom
from fnaf.data.transforms import UnetDataTransform


def raw_reads(dataset: SliceDataset) -> None:
    for volume_index, slice_num in dataset.samples:
        with h5py.File(dataset.volumes[volume_index].fname, "r") as handle:
            handle["kspace"][slice_num]
            handle["reconstruction_esc"][slice_num]


def dataset_reads(dataset: SliceDataset) -> None:
    for index in range(len(dataset)):
        dataset[index]


def best_of(function, *args, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--geometry", default="demo")
    parser.add_argument("--volumes", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        config = PhantomConfig(geometry=args.geometry, train_volumes=1, val_volumes=args.volumes)
        root = split_dir(write_phantom(tmp, config), "val")
        raw = SliceDataset(root)
        transformed = SliceDataset(root, transform=UnetDataTransform(RandomMaskFunc([0.08], [4])))
        slices = len(raw)
        raw_time = best_of(raw_reads, raw)
        plain_time = best_of(dataset_reads, raw)
        transform_time = best_of(dataset_reads, transformed)
    print(f"geometry: {args.geometry} ({slices} slices)")
    print(f"raw_h5py_slices_per_s: {slices / raw_time:.1f}")
    print(f"dataset_slices_per_s: {slices / plain_time:.1f}")
    print(f"dataset_plus_transform_slices_per_s: {slices / transform_time:.1f}")
    print(f"ratio_dataset_to_raw: {raw_time / plain_time:.2f}")
    print(f"ratio_dataset_plus_transform_to_raw: {raw_time / transform_time:.2f}")


if __name__ == "__main__":
    main()
