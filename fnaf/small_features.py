"""Small-feature recovery (Darestani et al., §6 and appendix C).

A *window feature* is a ``k``×``k`` square of constant value ``max / 6`` (``max``: the slice's
fully-sampled root-sum-of-squares image; the authors' code writes ``(k/2)·max/(3k)``), added as a
real image to **every coil** through the Fourier transform: the measurements become
``M (y + F f)`` and the ground truth the fully-sampled reconstruction of ``y + F f``.

How well a reconstruction keeps the feature is the **standardised MSE inside the window**: the
ground truth and the reconstruction are each standardised over the target image (zero mean, unit
standard deviation), and their squared difference averaged over the window's pixels. The same
error inside a slice's annotated boxes scores real features.

* :func:`location_grid` / :func:`random_placements` — where windows go (top-left corners on the
  target grid, anywhere inside it: the authors' margin is 0).
* :func:`feature_errors` — the error of each placement, reconstructed in chunks of placements
  (one batched call per chunk; ``chunk=1`` is the one-at-a-time reference of the benchmark).
* :func:`location_map`, :func:`information_loss`, :func:`box_errors` — the tables of the
  chapter: the error per (image, location), per random placement and window size (appendix
  Fig. 17), and inside the annotated boxes beside the slice's SSIM (Fig. 8).

A *reconstruction* here is any callable ``(batch, perturbation) -> magnitudes (B, h, w)``:
:func:`trained_reconstruction` wraps a network and its pipeline; an
:class:`~fnaf.recon.problem.UntrainedMethod` is one already.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from fnaf.data.annotations import AnnotationIndex
from fnaf.data.transforms import KneeSlice, select_slices
from fnaf.metrics import ssim
from fnaf.mri import center_crop, fft2c, ifft2c, rss

#: The feature's value as a fraction of the slice's maximum (the authors' ``max / 6``).
FEATURE_FRACTION = 1 / 6
#: Window sizes of appendix Fig. 17.
PAPER_WINDOW_SIZES = (2, 3, 4, 5)

Reconstruction = Callable[[KneeSlice, torch.Tensor], torch.Tensor]


def trained_reconstruction(model: nn.Module, pipeline) -> Reconstruction:
    """A trained network as a reconstruction of perturbed measurements ``M (k + z)`` (eval
    mode, no gradients)."""
    model.eval()

    def reconstruct(batch: KneeSlice, perturbation: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return pipeline(model, batch._replace(kspace=batch.kspace + perturbation)).magnitude
    return reconstruct


def check_counts(**counts) -> None:
    """Refuse any named count (window size, grid points, placements, ...) that is not a positive
    integer."""
    for name, value in counts.items():
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, not {value!r}")


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


def feature_errors(reconstruct: Reconstruction, batch: KneeSlice, placements: np.ndarray,
                   size: int, chunk: int = 8) -> np.ndarray:
    """The standardised window error ``(P,)`` of each placement ``(image, row, col)`` of a
    ``size``-pixel feature in the slices of ``batch``, reconstructed ``chunk`` placements per
    call (``chunk=1``: one at a time)."""
    shape = batch.target.shape[-2:]
    check_window(size, shape)
    check_counts(chunk=chunk)
    placements = torch.as_tensor(np.asarray(placements), device=batch.kspace.device)
    coil_images = center_crop(ifft2c(batch.kspace), shape)  # F⁻¹(k + F f) = F⁻¹k + f
    if batch.kspace.dim() == 3:
        coil_images = coil_images[:, None]
    peaks = ground_truth(batch.kspace).amax(dim=(-2, -1))
    errors = []
    for part in placements.split(chunk):
        slices = select_slices(batch, part[:, 0])
        windows = window_masks(shape, size, part[:, 1:])
        features = feature_images(slices, windows, peaks[part[:, 0]])
        truth = rss(coil_images[part[:, 0]] + features[:, None])
        prediction = reconstruct(slices, feature_kspace(slices, features))
        errors.append(region_errors(truth, prediction, windows))
    return torch.cat(errors).cpu().numpy()


def _rows(batch: KneeSlice, placements: np.ndarray, size: int, errors: np.ndarray
          ) -> pd.DataFrame:
    return pd.DataFrame({"fname": [batch.fname[i] for i in placements[:, 0]],
                         "slice": [int(batch.slice_num[i]) for i in placements[:, 0]],
                         "row": placements[:, 1], "col": placements[:, 2], "size": size,
                         "error": errors})


def location_map(reconstruct: Reconstruction, batch: KneeSlice, size: int, points: int,
                 chunk: int = 8) -> pd.DataFrame:
    """The window error of a ``size``-pixel feature at every corner of a ``points``×``points``
    grid, in every slice of ``batch``: one row per (slice, location) with ``fname``, ``slice``,
    ``row``, ``col``, ``size`` and ``error`` (the paper's Fig. 7 is its mean over slices)."""
    corners = location_grid(batch.target.shape[-2:], size, points)
    images = np.repeat(np.arange(len(batch.fname)), len(corners))
    placements = np.column_stack([images, np.tile(corners, (len(batch.fname), 1))])
    return _rows(batch, placements, size,
                 feature_errors(reconstruct, batch, placements, size, chunk))


def information_loss(reconstruct: Reconstruction, batch: KneeSlice, sizes: Sequence[int],
                     placements: int, seed: int = 0, chunk: int = 8) -> pd.DataFrame:
    """Appendix C.2: for each window size, ``placements`` random (slice, location) draws and the
    window error of each (the same draws for every method given the same ``seed``)."""
    rng = np.random.default_rng(seed)
    shape = batch.target.shape[-2:]
    frames = []
    for size in sizes:
        drawn = random_placements(placements, len(batch.fname), shape, size, rng)
        frames.append(_rows(batch, drawn, size,
                            feature_errors(reconstruct, batch, drawn, size, chunk)))
    return pd.concat(frames, ignore_index=True)


def box_errors(reconstruct: Reconstruction, batch: KneeSlice, index: AnnotationIndex
               ) -> pd.DataFrame:
    """Real features (§6, Fig. 8): per annotated slice of ``batch``, the standardised MSE inside
    the union of its boxes (``box error``) and the slice's ``SSIM`` (data range the volume
    maximum), both of the reconstruction from the unperturbed measurements against the
    dataset's target."""
    shape = tuple(batch.target.shape[-2:])
    regions = torch.as_tensor(np.stack([index.masks(fname, int(slice_num), shape).any(0)
                                        for fname, slice_num in zip(batch.fname,
                                                                    batch.slice_num)]),
                              device=batch.kspace.device)
    annotated = regions.flatten(1).any(1)
    if not bool(annotated.any()):
        raise ValueError("none of the slices has an annotated box: nothing to score")
    batch = select_slices(batch, annotated.nonzero().squeeze(1))
    prediction = reconstruct(batch, torch.zeros_like(batch.kspace))
    errors = region_errors(batch.target, prediction, regions[annotated]).cpu().numpy()
    maxima = torch.as_tensor(batch.max_value).reshape(-1).tolist()
    scores = [ssim(t[None].double().cpu().numpy(), p[None].double().cpu().numpy(), m)
              for t, p, m in zip(batch.target, prediction, maxima)]
    return pd.DataFrame({"fname": list(batch.fname), "slice": [int(s) for s in batch.slice_num],
                         "box error": errors, "SSIM": scores})
