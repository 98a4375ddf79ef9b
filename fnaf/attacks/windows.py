"""Small window features (Darestani et al., §6 and appendix C): where they go, how they enter the
measurements, and how well a reconstruction keeps them — shared by chapter 10
(:mod:`fnaf.studies.small_features`) and the audit (:mod:`fnaf.audit.windows`).

A *window feature* is a ``k``×``k`` square of constant value ``max / 6`` (``max``: the slice's
fully-sampled root-sum-of-squares image; the authors' code writes ``(k/2)·max/(3k)``), added as a
real image to **every coil** through the Fourier transform: the measurements become
``M (y + F f)`` and the ground truth the fully-sampled reconstruction of ``y + F f``. How well a
reconstruction keeps it is the **standardised MSE inside the window**: the ground truth and the
reconstruction are each standardised over the target image (zero mean, unit standard
deviation), and their squared difference averaged over the window's pixels.

* :func:`location_grid` / :func:`random_placements` — where windows go (top-left corners on the
  target grid, anywhere inside it: the authors' margin is 0).
* :func:`feature_errors` — the error of each placement, reconstructed in chunks of placements
  (one batched call per chunk; ``chunk=1`` is the one-at-a-time reference of the benchmark);
  under ``torchrun`` the processes share the chunks (:mod:`fnaf.ranks`).
* :func:`location_map` — the error per (image, location) on a grid (the paper's Fig. 7).

Every reconstruction here is a :data:`~fnaf.pipelines.Reconstructor`
``(batch, perturbation) -> magnitudes (B, h, w)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from fnaf.checks import check_counts
from fnaf.data.batches import SliceGroups
from fnaf.data.transforms import KneeSlice, select_slices
from fnaf.devices import resolve_device
from fnaf.mri import center_crop, fft2c, ifft2c, rss
from fnaf.pipelines import Reconstructor
from fnaf.ranks import gathered, my_batches

#: The feature's value as a fraction of the slice's maximum (the authors' ``max / 6``).
FEATURE_FRACTION = 1 / 6
#: The columns of a location map's rows.
MAP_COLUMNS = ["fname", "slice", "row", "col", "size", "error"]
def check_window(size: int, shape: Sequence[int]) -> None:
    """Refuse a window that is not a positive integer or does not fit the ``shape`` target."""
    check_counts(**{"window size": size})
    if size > min(shape):
        raise ValueError(f"a {size}×{size} window does not fit the {shape[0]}×{shape[1]} target "
                         f"image; choose window sizes of at most {min(shape)} pixels")


def location_grid(shape: Sequence[int], size: int, points: int) -> np.ndarray:
    """Top-left corners ``(points², 2)`` of ``size``-pixel windows on an evenly spaced
    ``points``×``points`` grid covering the ``shape`` target image, row-major."""
    check_window(size, shape)
    check_counts(**{"grid points": points})
    rows, cols = (np.linspace(0, extent - size, points).round().astype(int) for extent in shape)
    return np.stack(np.meshgrid(rows, cols, indexing="ij"), -1).reshape(-1, 2)


def random_placements(count: int, images: int, shape: Sequence[int], size: int,
                      rng: np.random.Generator) -> np.ndarray:
    """``count`` random placements ``(count, 3)``: an image index below ``images`` and a
    top-left corner, uniform over the corners where the window fits."""
    check_window(size, shape)
    check_counts(placements=count, images=images)
    return np.stack([rng.integers(0, images, count), rng.integers(0, shape[0] - size + 1, count),
                     rng.integers(0, shape[1] - size + 1, count)], -1)


def window_masks(shape: Sequence[int], size: int, corners: torch.Tensor) -> torch.Tensor:
    """Bool windows ``(P, h, w)`` of ``size`` pixels at the top-left ``corners`` ``(P, 2)``."""
    rows = torch.arange(shape[0], device=corners.device)
    cols = torch.arange(shape[1], device=corners.device)
    inside_rows = (rows >= corners[:, :1]) & (rows < corners[:, :1] + size)
    inside_cols = (cols >= corners[:, 1:]) & (cols < corners[:, 1:] + size)
    return inside_rows[:, :, None] & inside_cols[:, None, :]


def ground_truth(kspace: torch.Tensor) -> torch.Tensor:
    """The fully-sampled magnitude image of k-space ``(B, [C,] H, W)``: the root-sum-of-squares of
    the coil images (single-coil: the magnitude), full grid ``(B, H, W)``."""
    images = ifft2c(kspace)
    return rss(images, dim=1) if kspace.dim() == 4 else images.abs()


def feature_images(batch: KneeSlice, windows: torch.Tensor,
                   peaks: torch.Tensor | None = None) -> torch.Tensor:
    """Window features ``f`` on the target grid ``(B, h, w)``: ``windows`` (bool ``(B, h, w)``)
    at :data:`FEATURE_FRACTION` of each slice's fully-sampled maximum (``peaks`` ``(B,)`` if
    already known)."""
    if peaks is None:
        peaks = ground_truth(batch.kspace).amax(dim=(-2, -1))
    return windows * (peaks * FEATURE_FRACTION)[:, None, None]


def feature_kspace(batch: KneeSlice, features: torch.Tensor) -> torch.Tensor:
    """``F f``: features ``(B, h, w)`` on the target grid (centred in the k-space's grid, as the
    target is cropped from it) Fourier transformed and added to every coil; shaped like
    ``batch.kspace`` (multi-coil: broadcast over coils, ``(B, 1, H, W)``)."""
    grid = batch.kspace.shape[-2:]
    top, left = ((full - crop) // 2 for full, crop in zip(grid, features.shape[-2:]))
    image = torch.zeros(features.shape[0], *grid, dtype=batch.kspace.dtype,
                        device=batch.kspace.device)
    image[:, top:top + features.shape[-2], left:left + features.shape[-1]] = features
    kspace = fft2c(image)
    return kspace[:, None] if batch.kspace.dim() == 4 else kspace


def standardised(images: torch.Tensor) -> torch.Tensor:
    """Each image ``(B, h, w)`` at zero mean and unit standard deviation (population std)."""
    mean = images.mean(dim=(-2, -1), keepdim=True)
    std = images.std(dim=(-2, -1), correction=0, keepdim=True)
    return (images - mean) / std


def region_errors(reference: torch.Tensor, prediction: torch.Tensor,
                  regions: torch.Tensor) -> torch.Tensor:
    """The standardised MSE inside each region ``(B,)``: images ``(B, h, w)``, standardised
    over the whole image, and bool ``regions`` ``(B, h, w)`` (none may be empty)."""
    if not bool(regions.flatten(1).any(1).all()):
        raise ValueError("a region is empty: the error inside it is undefined")
    squared = (standardised(reference) - standardised(prediction)).square()
    return (squared * regions).flatten(1).sum(1) / regions.flatten(1).sum(1)


def feature_errors(reconstruct: Reconstructor, slices: KneeSlice | SliceGroups,
                   placements: np.ndarray, size: int, chunk: int = 8, *,
                   device: torch.device | str | None = None) -> np.ndarray:
    """The standardised window error ``(P,)`` of each placement ``(image, row, col)`` of a
    ``size``-pixel feature in ``slices`` (``image``: a position in their order), reconstructed
    ``chunk`` placements of one k-space shape per call (``chunk=1``: one at a time) on
    ``device`` (``None``: the session's). Under ``torchrun`` each process reconstructs every
    ``world``-th chunk (:mod:`fnaf.ranks`) and every process returns all errors, the chunks
    being the ones one process reconstructs."""
    device = resolve_device(device)
    groups = SliceGroups.of(slices)
    check_window(size, groups.target_shape)
    check_counts(chunk=chunk)
    placements = np.asarray(placements)
    chunks = []  # (group, placement indices) of each call, in one process's order
    for group, (offset, batch) in enumerate(zip(groups.offsets(), groups.batches)):
        inside = np.flatnonzero((placements[:, 0] >= offset)
                                & (placements[:, 0] < offset + len(batch.fname)))
        chunks += [(group, inside[start:start + chunk].tolist())
                   for start in range(0, len(inside), chunk)]
    mine = my_batches([indices for _, indices in chunks])
    found = {}
    for group, (offset, batch) in enumerate(zip(groups.offsets(), groups.batches)):
        share = [(position, indices) for position, indices in mine if chunks[position][0] == group]
        if share:
            found |= _batch_feature_errors(reconstruct, batch.to(device), share,
                                           placements - np.array([offset, 0, 0]), size)
    errors = np.full(len(placements), np.nan)
    errors[[index for _, indices in chunks for index in indices]] = gathered(found, len(chunks))
    return errors


def _batch_feature_errors(reconstruct: Reconstructor, batch: KneeSlice,
                          share: list[tuple[int, list[int]]], placements: np.ndarray,
                          size: int) -> dict[int, list[float]]:
    """The errors of each chunk ``(position, placement indices)`` of ``share``, by position;
    ``placements`` ``(P, 3)`` index the images of ``batch``."""
    shape = batch.target.shape[-2:]
    coil_images = center_crop(ifft2c(batch.kspace), shape)  # F⁻¹(k + F f) = F⁻¹k + f
    if batch.kspace.dim() == 3:
        coil_images = coil_images[:, None]
    peaks = ground_truth(batch.kspace).amax(dim=(-2, -1))
    errors = {}
    for position, indices in share:
        part = torch.as_tensor(placements[indices], device=batch.kspace.device)
        slices = select_slices(batch, part[:, 0])
        windows = window_masks(shape, size, part[:, 1:])
        features = feature_images(slices, windows, peaks[part[:, 0]])
        truth = rss(coil_images[part[:, 0]] + features[:, None])
        prediction = reconstruct(slices, feature_kspace(slices, features))
        errors[position] = region_errors(truth, prediction, windows).cpu().tolist()
    return errors


def window_rows(groups: SliceGroups, placements: np.ndarray, size: int, errors: np.ndarray
                ) -> pd.DataFrame:
    """One row per placement (:data:`MAP_COLUMNS`): the slice's ``fname`` and ``slice``, the
    window's top-left ``row`` and ``col``, its ``size`` and its ``error``."""
    names, numbers = groups.fname, groups.slice_num
    return pd.DataFrame({"fname": [names[i] for i in placements[:, 0]],
                         "slice": [numbers[i] for i in placements[:, 0]],
                         "row": placements[:, 1], "col": placements[:, 2], "size": size,
                         "error": errors})


def location_map(reconstruct: Reconstructor, slices: KneeSlice | SliceGroups, size: int,
                 points: int, chunk: int = 8, *, device: torch.device | str | None = None
                 ) -> pd.DataFrame:
    """The window error of a ``size``-pixel feature at every corner of a ``points``×``points``
    grid, in every slice of ``slices``: one row per (slice, location) with ``fname``, ``slice``,
    ``row``, ``col``, ``size`` and ``error`` (the paper's Fig. 7 is its mean over slices),
    computed on ``device`` (``None``: the session's)."""
    groups = SliceGroups.of(slices)
    corners = location_grid(groups.target_shape, size, points)
    images = np.repeat(np.arange(len(groups)), len(corners))
    placements = np.column_stack([images, np.tile(corners, (len(groups), 1))])
    return window_rows(groups, placements, size,
                 feature_errors(reconstruct, groups, placements, size, chunk, device=device))
