"""The validation slices the small-feature and distribution-shift chapters reconstruct, as
:class:`~fnaf.data.batches.SliceGroups` (one batch per k-space shape): the middle slices of each
volume, and each volume's annotated slice nearest its middle (real features). Masks are the
evaluation's (one seeded mask per volume)."""

from __future__ import annotations

from fnaf.data.annotations import AnnotationIndex
from fnaf.data.batches import SliceGroups, slice_groups
from fnaf.runs.builders import datasets, eval_transform
from fnaf.runs.configs import RunConfig


def _check_volumes(volumes: int | None) -> None:
    if volumes is not None and (not isinstance(volumes, int) or volumes < 1):
        raise ValueError(f"volumes must be a positive integer or None (all), not {volumes!r}")


def _sorted_volumes(config: RunConfig):
    val = datasets(config)[1]
    return val, sorted(val.volumes, key=lambda volume: volume.fname.name)


def middle_slices(config: RunConfig, accel: int | None = None,
                  volumes: int | None = None, per_volume: int | None = 1) -> SliceGroups:
    """The ``per_volume`` middle slices (``None``: every slice) of each of the first
    ``volumes`` validation volumes (by file name; ``None``: all) of ``config``'s data, with
    the evaluation masks at ``accel``."""
    _check_volumes(volumes)
    _check_volumes(per_volume)
    val, chosen = _sorted_volumes(config)
    keys = []
    for volume in chosen[:volumes]:
        count = min(per_volume or volume.num_slices, volume.num_slices)
        first = (volume.num_slices - count + 1) // 2  # one slice: num_slices // 2
        keys += [(volume.fname.name, number) for number in range(first, first + count)]
    return slice_groups(val, eval_transform(config, accel), keys)


def annotated_slices(config: RunConfig, index: AnnotationIndex, accel: int | None = None,
                     volumes: int | None = None) -> SliceGroups:
    """For each of the first ``volumes`` validation volumes with annotated boxes, its annotated
    slice nearest the middle, with the evaluation masks at ``accel``."""
    _check_volumes(volumes)
    val, chosen = _sorted_volumes(config)
    keys = []
    for volume in chosen:
        annotated = [number for number in range(volume.num_slices)
                     if len(index.boxes_for(volume.fname.name, number))]
        if annotated:
            keys.append((volume.fname.name,
                         min(annotated, key=lambda n: abs(n - volume.num_slices // 2))))
    if not keys:
        raise ValueError(f"no validation volume of {val.root} has an annotated slice")
    return slice_groups(val, eval_transform(config, accel), keys[:volumes])
