"""Batches of slices, by one rule: a batch holds slices of one k-space shape ``(coils, H, W)``.

Real fastMRI volumes differ in k-space width (368, 372, ... columns), slice count and (brains)
coil count, so nothing here ever collates across shapes: training batches (shuffled, sharded
over ranks) and validation batches (in dataset order) group by shape, and a set of named slices
from several volumes is a :class:`SliceGroups`, one batch per shape. Mask seeds are per slice,
not per data-loader worker."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import default_collate

from fnaf.data.fastmri import SliceDataset
from fnaf.data.transforms import KneeSlice, SliceTransform, select_slices


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
    def shapes(self) -> list[tuple[int, int, int]]:
        """Every sample's k-space shape (a training batch holds one shape)."""
        return slice_shapes(self.slices)

    def __getitem__(self, key) -> KneeSlice:
        index, seed = key if isinstance(key, tuple) else (key, None)
        return self.transform(*self.slices.read_slice(index), seed=seed)


def slice_shapes(slices: SliceDataset) -> list[tuple[int, int, int]]:
    """The k-space shape ``(coils, H, W)`` of every sample (single-coil: 1 coil); batches
    never mix shapes."""
    return [(slices.volumes[volume].coils, *slices.volumes[volume].kspace_shape)
            for volume, _ in slices.samples]


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


def _kspace_shape(item: KneeSlice) -> tuple[int, ...]:
    return tuple(item.kspace.shape)


@dataclass(frozen=True)
class SliceGroups:
    """Slices of several volumes as one collated batch per k-space shape, in order of each
    shape's first slice (slices keep their order within a shape). The slices' order is the
    groups' order: :attr:`fname`, :attr:`slice_num`, :meth:`select` and every per-slice result
    computed group by group follow it. On data of one shape (the phantom) it is one batch in the
    order asked for."""

    batches: tuple[KneeSlice, ...]

    @classmethod
    def collate(cls, items: Sequence[KneeSlice]) -> SliceGroups:
        """Group uncollated slices by k-space shape and collate each group."""
        groups: dict[tuple[int, ...], list[KneeSlice]] = defaultdict(list)
        for item in items:
            groups[_kspace_shape(item)].append(item)
        return cls(tuple(default_collate(group) for group in groups.values()))

    @classmethod
    def of(cls, slices: KneeSlice | SliceGroups) -> SliceGroups:
        """``slices`` as groups (a collated batch is one group)."""
        return slices if isinstance(slices, SliceGroups) else cls((slices,))

    def __len__(self) -> int:
        return sum(len(batch.fname) for batch in self.batches)

    @property
    def fname(self) -> list[str]:
        return [name for batch in self.batches for name in batch.fname]

    @property
    def slice_num(self) -> list[int]:
        return [int(number) for batch in self.batches for number in batch.slice_num]

    @property
    def target_shape(self) -> tuple[int, int]:
        """The targets' ``(h, w)``, shared by every group (fastMRI's 320x320 crop)."""
        shapes = {tuple(batch.target.shape[-2:]) for batch in self.batches}
        if len(shapes) != 1:
            raise ValueError(f"the slices' targets differ in shape ({sorted(shapes)}); a "
                             "computation on one target grid needs slices with one target shape")
        return shapes.pop()

    def offsets(self) -> list[int]:
        """The position of each group's first slice in the slices' order."""
        return np.cumsum([0] + [len(batch.fname) for batch in self.batches[:-1]]).tolist()

    def select(self, positions: Sequence[int]) -> SliceGroups:
        """The slices at ``positions`` (in the slices' order), as groups; empty groups dropped."""
        wanted = sorted({int(position) for position in positions})
        if wanted and not 0 <= wanted[0] <= wanted[-1] < len(self):
            raise IndexError(f"positions {wanted[0]}..{wanted[-1]} outside {len(self)} slices")
        picked = []
        for offset, batch in zip(self.offsets(), self.batches):
            local = [p - offset for p in wanted if offset <= p < offset + len(batch.fname)]
            if local:
                picked.append(select_slices(batch, torch.tensor(local)))
        return SliceGroups(tuple(picked))

    def first(self, count: int) -> SliceGroups:
        """The first ``count`` slices (all where there are fewer)."""
        return self.select(range(min(count, len(self))))

    def to(self, device: torch.device | str) -> SliceGroups:
        return SliceGroups(tuple(batch.to(device) for batch in self.batches))


def _named_items(slices: SliceDataset, transform: SliceTransform,
                 keys: list[tuple[str, int]]) -> list[KneeSlice]:
    if not keys:
        raise ValueError(f"no slices of {slices.root} were asked for")
    index = {(slices.volumes[volume].fname.name, number): position
             for position, (volume, number) in enumerate(slices.samples)}
    missing = [key for key in keys if key not in index]
    if missing:
        raise KeyError(f"slices not in {slices.root}: {missing[:3]}")
    dataset = SeededSlices(slices, transform)
    return [dataset[index[key]] for key in keys]


def slice_groups(slices: SliceDataset, transform: SliceTransform,
                 keys: list[tuple[str, int]]) -> SliceGroups:
    """The slices named by ``(file name, slice number)``, one batch per k-space shape."""
    return SliceGroups.collate(_named_items(slices, transform, keys))


def collate_slices(slices: SliceDataset, transform: SliceTransform,
                   keys: list[tuple[str, int]]) -> KneeSlice:
    """One batch of the slices named by ``(file name, slice number)``, which must share a
    k-space shape (slices of several shapes: :func:`slice_groups`)."""
    groups = slice_groups(slices, transform, keys)
    if len(groups.batches) > 1:
        shapes = [tuple(batch.kspace.shape[1:]) for batch in groups.batches]
        raise ValueError(f"the slices of {slices.root} asked for have {len(shapes)} k-space "
                         f"shapes {shapes}; one batch holds one shape: use slice_groups")
    return groups.batches[0]


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
