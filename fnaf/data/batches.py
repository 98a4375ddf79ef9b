"""Batches of slices: shape-homogeneous batching for training (shuffled, sharded over ranks)
and validation (in dataset order), per-slice mask seeds that do not depend on data-loader
workers, and collation of named slices."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch
from torch.utils.data import default_collate

from fnaf.data.fastmri import SliceDataset
from fnaf.data.transforms import KneeSlice, SliceTransform


class SeededSlices(torch.utils.data.Dataset):
    """A :class:`SliceDataset` read through a :class:`SliceTransform`, indexed by
    ``(index, seed)`` so that every slice's training mask is fixed by the sampler, not by the
    worker that loads it."""

    def __init__(self, slices: SliceDataset, transform: SliceTransform):
        self.slices = slices
        self.transform = transform

    def __len__(self) -> int:
        return len(self.slices)

    @property
    def shapes(self) -> list[tuple[int, int]]:
        """Every sample's k-space shape (a training batch holds one shape)."""
        return slice_shapes(self.slices)

    def __getitem__(self, key) -> KneeSlice:
        index, seed = key if isinstance(key, tuple) else (key, None)
        return self.transform(*self.slices.read_slice(index), seed=seed)


def slice_shapes(slices: SliceDataset) -> list[tuple[int, int]]:
    """The k-space shape of every sample (batches must not mix shapes)."""
    return [slices.volumes[volume].kspace_shape for volume, _ in slices.samples]


def validation_batches(slices: SliceDataset, batch_size: int) -> list[list[int]]:
    """Consecutive samples of equal k-space shape, in dataset order, at most ``batch_size``."""
    shapes = slice_shapes(slices)
    batches: list[list[int]] = []
    for index, shape in enumerate(shapes):
        if batches and len(batches[-1]) < batch_size and shapes[batches[-1][0]] == shape:
            batches[-1].append(index)
        else:
            batches.append([index])
    return batches


def collate_slices(slices: SliceDataset, transform: SliceTransform,
                   keys: list[tuple[str, int]]) -> KneeSlice:
    """A batch of the slices named by ``(file name, slice number)``."""
    index = {(slices.volumes[volume].fname.name, number): position
             for position, (volume, number) in enumerate(slices.samples)}
    missing = [key for key in keys if key not in index]
    if missing:
        raise KeyError(f"slices not in {slices.root}: {missing[:3]}")
    dataset = SeededSlices(slices, transform)
    return default_collate([dataset[index[key]] for key in keys])


def derived_seed(*keys: int) -> int:
    """A 32-bit seed mixed from integers (``numpy.random.SeedSequence``), e.g.
    ``(seed, epoch, index)``; valid for numpy's ``RandomState`` (fastMRI masks) and torch."""
    return int(np.random.SeedSequence(list(keys)).generate_state(1)[0])


class ShapeBatchSampler(torch.utils.data.Sampler):
    """Shuffled global batches of slices with equal k-space shape; each rank yields its share.

    Real fastMRI volumes differ in width (368, 372, ...), so a batch holds one shape. Each epoch
    the samples are permuted with ``seed + epoch``, grouped by shape, cut into batches of
    ``batch_size`` (incomplete ones dropped, so every rank gets equal work) and the batches are
    shuffled. Rank ``r`` of ``world_size`` takes items ``[r*b, (r+1)*b)`` of each batch, with
    ``b = batch_size / world_size``. Items are ``(index, mask seed)``.
    """

    def __init__(self, shapes: list, batch_size: int, seed: int = 0, rank: int = 0,
                 world_size: int = 1):
        if batch_size < 1 or batch_size % world_size:
            raise ValueError(f"batch_size {batch_size} must be a positive multiple of the "
                             f"number of processes ({world_size})")
        self.shapes, self.batch_size, self.seed = shapes, batch_size, seed
        self.rank, self.world_size = rank, world_size
        self.epoch, self.skip = 0, 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        """Select the epoch's order and skip its first ``skip`` batches (resuming)."""
        self.epoch, self.skip = epoch, skip

    def global_batches(self) -> list[list[int]]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        buckets = defaultdict(list)
        for index in torch.randperm(len(self.shapes), generator=generator).tolist():
            buckets[self.shapes[index]].append(index)
        batches = [bucket[start:start + self.batch_size] for bucket in buckets.values()
                   for start in range(0, len(bucket) - self.batch_size + 1, self.batch_size)]
        order = torch.randperm(len(batches), generator=generator).tolist()
        return [batches[i] for i in order]

    def __iter__(self):
        share = self.batch_size // self.world_size
        for batch in self.global_batches()[self.skip:]:
            mine = batch[self.rank * share:(self.rank + 1) * share]
            yield [(index, derived_seed(self.seed, self.epoch, index)) for index in mine]

    def __len__(self) -> int:
        return max(len(self.global_batches()) - self.skip, 0)
