"""Chapter 10, small-feature recovery (Darestani et al., §6 and appendix C): the computation,
its reading, tables and figures.

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
  (one batched call per chunk; ``chunk=1`` is the one-at-a-time reference of the benchmark);
  under ``torchrun`` the processes share the chunks (:mod:`fnaf.ranks`).
* :func:`location_map`, :func:`information_loss`, :func:`box_errors` — the tables of the
  chapter: the error per (image, location), per random placement and window size (appendix
  Fig. 17), and inside the annotated boxes beside the slice's SSIM (Fig. 8).
* :func:`location_map_or_load` — chapter 10's map of a trained run or an un-trained method,
  cached in the run cache (``python -m fnaf location-map`` fills it, on several GPUs too).

The reading: every mean with a bootstrap interval over images, and a claim only where an
interval or a test says so.

* :func:`location_dependence` — per model: the mean window error, the map's **spread** (the
  coefficient of variation of the per-location means: 0 for a flat map) and Friedman's test of a
  location effect, images as blocks (the paper's claim (i): each method depends on location).
* :func:`spread_comparison` — a model's spread against a reference's on the same images and
  locations, the difference with a paired bootstrap interval over images ("flatter" only where it
  excludes zero).
* :func:`information_summary` — appendix Fig. 17: the mean window error per model and window size.
* :func:`box_reading` — Fig. 8: per model, the mean error inside the annotated boxes and the mean
  SSIM, and their correlation over slices.
* :func:`rankings` — do artificial and real features rank the models the same way (Kendall's τ)?

The chapter's tables (:func:`location_view`, :func:`flatness_view`, :func:`window_error_view`,
:func:`box_view`) and figures (:func:`location_maps`, :func:`information_curves`,
:func:`box_error_scatter`) follow.

Every reconstruction here is a :data:`~fnaf.pipelines.Reconstructor`
``(batch, perturbation) -> magnitudes (B, h, w)``: :func:`~fnaf.pipelines.trained_reconstructor`
wraps a network and its pipeline; an :class:`~fnaf.untrained.problem.UntrainedMethod` is one
already.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from os import PathLike
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from scipy import stats

from fnaf.data.annotations import AnnotationIndex
from fnaf.data.batches import SliceGroups
from fnaf.data.transforms import KneeSlice, select_slices
from fnaf.devices import resolve_device
from fnaf.formatting import interval_strings, p_string
from fnaf.io import ensure_writable, load_json, save_json
from fnaf.metrics import ssim
from fnaf.models.decoders import ARCHITECTURES
from fnaf.mri import center_crop, fft2c, ifft2c, rss
from fnaf.pipelines import Reconstructor, pipeline_for, trained_reconstructor
from fnaf.ranks import barrier, gathered, my_batches, rank_world
from fnaf.runs.cache import UNWRITABLE_RUNS, load_run, runs_dir
from fnaf.runs.configs import (
    MASKS,
    MODELS,
    RunConfig,
    check_choice,
    check_counts,
    check_lams,
    check_list,
)
from fnaf.runs.feature_slices import middle_slices
from fnaf.runs.presets import SIZE_FAMILIES
from fnaf.runs.untrained import UntrainedConfig, data_key
from fnaf.small_feature_readings import (  # noqa: F401 (the chapter's readings)
    MULTI_COIL,
    SMOOTH_BETA1,
    location_readings,
    ranking_reading,
    real_feature_reading,
    volume_correlations,
    window_readings,
)
from fnaf.stats import (  # noqa: F401 (spread_comparison: the chapter's)
    cluster_bootstrap_mean,
    correlation,
    spread,
    spread_comparison,
)
from fnaf.stats import image_draws as _image_draws
from fnaf.stats import location_matrix as _location_matrix
from fnaf.stats import percentile_interval as _interval
from fnaf.tables import correlation_view

#: The feature's value as a fraction of the slice's maximum (the authors' ``max / 6``).
FEATURE_FRACTION = 1 / 6
#: The significance level of the chapter's tests.
ALPHA = 0.05
#: Window sizes of appendix Fig. 17.
PAPER_WINDOW_SIZES = (2, 3, 4, 5)


def check_window(size: int, shape: Sequence[int]) -> None:
    """Refuse a window that is not a positive integer or does not fit the ``shape`` target."""
    check_counts(**{"window size": size})
    if size > min(shape):
        raise ValueError(f"a {size}×{size} window does not fit the {shape[0]}×{shape[1]} target "
                         f"image; choose window sizes of at most {min(shape)} pixels")


def check_parameters(*, sizes, trained, decoder: str, fnaf_models: str | None, masks: str,
                     lams, decoder_map: bool = False, smooth_map: bool = False,
                     **counts) -> None:
    """Refuse, before any data are read and any model is trained, every setting of the
    small-features chapter that would stop it later: ``counts`` (``window=...``, ``grid=...``)
    positive integers, ``sizes`` (the information loss's window sizes) a non-empty list of
    positive integers, ``trained`` a non-empty list of multi-coil networks, ``decoder`` and
    ``fnaf_models`` (``unet``, ``irim``, ``both`` or None) and ``masks`` known, ``lams`` a
    non-empty list of numbers >= 0, ``decoder_map`` and ``smooth_map`` (the decoder's map
    fitted with Adam's β1 0.98 as well; it needs ``decoder_map``) True or False. The window
    sizes are checked against the data's target grid by :func:`check_window` once the data
    are known."""
    check_counts(**counts)
    check_list("sizes", sizes)
    check_counts(**{f"sizes[{i}]": size for i, size in enumerate(sizes)})
    check_list("trained", trained, SIZE_FAMILIES)
    check_choice("decoder", decoder, ARCHITECTURES)
    if fnaf_models is not None:
        check_choice("fnaf_models", fnaf_models, [*MODELS, "both"])
    check_choice("masks", masks, MASKS)
    check_lams(lams)
    check_choice("decoder_map", decoder_map, (True, False))
    check_choice("smooth_map", smooth_map, (True, False))
    if smooth_map and not decoder_map:
        raise ValueError("smooth_map maps the decoder fitted with Adam's β1 0.98 beside its "
                         "default fit: set decoder_map=True as well")


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


def _rows(groups: SliceGroups, placements: np.ndarray, size: int, errors: np.ndarray
          ) -> pd.DataFrame:
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
    return _rows(groups, placements, size,
                 feature_errors(reconstruct, groups, placements, size, chunk, device=device))


#: The columns of a location map's rows.
MAP_COLUMNS = ["fname", "slice", "row", "col", "size", "error"]
#: Part of every cached location map's key, bumped when what a row records changes.
LOCATION_MAP_VERSION = 1


def location_map_or_load(method: RunConfig | UntrainedConfig, data: RunConfig,
                         accel: int | None, images: int | None, size: int, points: int,
                         root: str | PathLike | None = None, *, chunk: int = 8,
                         device: torch.device | str | None = None) -> pd.DataFrame:
    """:func:`location_map` of ``method`` (a trained run's config, its run loaded from ``root``,
    or an :class:`~fnaf.runs.UntrainedConfig`) on the middle slice of each of the first
    ``images`` validation volumes of ``data`` at ``accel``
    (:func:`~fnaf.runs.middle_slices`, chapter 10's), or the rows cached under
    ``<root>/location_maps/`` (``root`` default :func:`~fnaf.runs.runs_dir`), keyed by the
    method, the data, the slices, ``size``, ``points`` and ``chunk``. Every setting is checked
    before the cache is looked up. Under ``torchrun`` the processes share the chunks and rank 0
    writes the cache."""
    if not isinstance(method, (RunConfig, UntrainedConfig)):
        raise TypeError("method must be a trained run's RunConfig (fnaf.runs.multicoil_preset) "
                        f"or an UntrainedConfig (fnaf.runs.untrained_preset), not {method!r}")
    check_counts(**{"window size": size, "grid points": points}, chunk=chunk)
    device = resolve_device(device)
    accel = data.evaluation_accel(accel)
    if isinstance(method, RunConfig) and data_key(method, accel) != data_key(data, accel):
        raise ValueError(f"method {method.name} was trained on other data than data's: pass "
                         "the data (data root, coils) the run was trained on")
    slices = middle_slices(data, accel, images)
    check_window(size, slices.target_shape)
    keys = [[name, int(number)] for name, number in zip(slices.fname, slices.slice_num)]
    settings = json.dumps({"slices": keys, "size": size, "points": points, "chunk": chunk,
                           "version": LOCATION_MAP_VERSION}, sort_keys=True)
    name = method.name if isinstance(method, RunConfig) else f"{method.method}-{method.key()}"
    folder = (Path(root) if root is not None else runs_dir()) / "location_maps"
    path = folder / (f"{name}-{accel}x-{data_key(data, accel)}-"
                     f"{hashlib.sha256(settings.encode()).hexdigest()[:12]}.json")
    if path.exists():
        return pd.DataFrame(load_json(path, f"delete {path} to map again")["rows"],
                            columns=MAP_COLUMNS)
    ensure_writable(folder, UNWRITABLE_RUNS)
    reconstruct = (trained_reconstructor(load_run(method, root, device).model,
                                         pipeline_for(method.model))
                   if isinstance(method, RunConfig) else method.build())
    rows = location_map(reconstruct, slices, size, points, chunk, device=device)
    if not np.isfinite(rows.error).all():
        raise FloatingPointError(f"{name}: a window error is not finite; nothing was cached")
    rows = rows.to_dict("records")
    if rank_world()[0] == 0:  # every rank holds every row (fnaf.ranks); one writes them
        save_json({"method": asdict(method), "accel": accel, "settings": json.loads(settings),
                   "rows": rows}, path)
    barrier()
    return pd.DataFrame(rows, columns=MAP_COLUMNS)


def information_loss(reconstruct: Reconstructor, slices: KneeSlice | SliceGroups,
                     sizes: Sequence[int], placements: int, seed: int = 0, chunk: int = 8, *,
                     device: torch.device | str | None = None) -> pd.DataFrame:
    """Appendix C.2: for each window size, ``placements`` random (slice, location) draws and the
    window error of each (the same draws for every method given the same ``seed``), computed on
    ``device`` (``None``: the session's)."""
    rng = np.random.default_rng(seed)
    groups = SliceGroups.of(slices)
    frames = []
    for size in sizes:
        drawn = random_placements(placements, len(groups), groups.target_shape, size, rng)
        frames.append(_rows(groups, drawn, size,
                            feature_errors(reconstruct, groups, drawn, size, chunk,
                                           device=device)))
    return pd.concat(frames, ignore_index=True)


def box_errors(reconstruct: Reconstructor, slices: KneeSlice | SliceGroups,
               index: AnnotationIndex, *, device: torch.device | str | None = None
               ) -> pd.DataFrame:
    """Real features (§6, Fig. 8): per annotated slice of ``slices``, the standardised MSE
    inside the union of its boxes (``box error``) and the slice's ``SSIM`` (data range the
    volume maximum), both of the reconstruction from the unperturbed measurements against the
    dataset's target; computed on ``device`` (``None``: the session's)."""
    device = resolve_device(device)
    frames = [_batch_box_errors(reconstruct, batch.to(device), index)
              for batch in SliceGroups.of(slices).batches]
    if not any(len(frame) for frame in frames):
        raise ValueError("none of the slices has an annotated box: nothing to score")
    return pd.concat([frame for frame in frames if len(frame)], ignore_index=True)


def _batch_box_errors(reconstruct: Reconstructor, batch: KneeSlice, index: AnnotationIndex
                      ) -> pd.DataFrame:
    shape = tuple(batch.target.shape[-2:])
    regions = torch.as_tensor(np.stack([index.masks(fname, int(slice_num), shape).any(0)
                                        for fname, slice_num in zip(batch.fname,
                                                                    batch.slice_num)]),
                              device=batch.kspace.device)
    annotated = regions.flatten(1).any(1)
    columns = ["fname", "slice", "box error", "SSIM"]
    if not bool(annotated.any()):
        return pd.DataFrame(columns=columns)
    batch = select_slices(batch, annotated.nonzero().squeeze(1))
    prediction = reconstruct(batch, torch.zeros_like(batch.kspace))
    errors = region_errors(batch.target, prediction, regions[annotated]).cpu().numpy()
    maxima = torch.as_tensor(batch.max_value).reshape(-1).tolist()
    scores = [ssim(t[None].double().cpu().numpy(), p[None].double().cpu().numpy(), m)
              for t, p, m in zip(batch.target, prediction, maxima)]
    return pd.DataFrame(dict(zip(columns, [list(batch.fname),
                                           [int(s) for s in batch.slice_num], errors, scores])))


# The reading: bootstrap intervals over images (seeded), a claim only where one says so.
def map_means(maps: pd.DataFrame) -> pd.DataFrame:
    """The heat maps: the mean window error over images per ``model``, ``row`` and ``col``."""
    return maps.groupby(["model", "row", "col"], sort=False, as_index=False).error.mean()


#: Permutations of the location-structure test (:func:`location_structure`).
PERMUTATIONS = 2000


def neighbours(locations: pd.MultiIndex) -> np.ndarray:
    """Rook adjacency ``(L, L)`` of grid ``locations`` ``(row, col)``: 1 where two windows are
    next to each other on the grid (one step along a row or a column), else 0."""
    rows, cols = (np.unique(locations.get_level_values(level), return_inverse=True)[1]
                  for level in (0, 1))
    steps = np.abs(rows[:, None] - rows[None]) + np.abs(cols[:, None] - cols[None])
    return (steps == 1).astype(float)


def morans_i(maps: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Moran's I of each map ``(..., L)`` on ``weights`` ``(L, L)``:
    ``I = L / ΣW · zᵀWz / zᵀz``, ``z`` the map minus its mean; near ``-1/(L-1)`` for a map
    without spatial structure, up to 1 for a smooth one; NaN for a flat map."""
    z = maps - maps.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (maps.shape[-1] / weights.sum() * np.einsum("...i,ij,...j->...", z, weights, z)
                / (z * z).sum(axis=-1))


def location_structure(matrix: pd.DataFrame, permutations: int = PERMUTATIONS,
                       seed: int = 0) -> dict[str, float]:
    """Is a map structured (neighbouring windows alike) or random? ``matrix``: one model's
    :func:`~fnaf.stats.location_matrix` (images × locations, one image per volume). The
    statistic is the mean over images of each image's :func:`morans_i` on the grid's
    :func:`neighbours`; the null shuffles every image's errors among its own locations
    (``permutations`` times, seeded), which keeps each image, its content and its errors and
    destroys only their arrangement. Returns ``moran`` with its interval (bootstrap over
    volumes) and the one-sided ``p`` ``(1 + #{null ≥ observed}) / (1 + permutations)``."""
    values = matrix.to_numpy()
    weights = neighbours(matrix.columns)
    per_image = morans_i(values, weights)
    read = ~np.isnan(per_image)
    mean, low, high = cluster_bootstrap_mean(per_image[read],
                                             matrix.index.get_level_values("fname")[read],
                                             seed=seed)
    if not read.any() or weights.sum() == 0:
        return {"moran": np.nan, "moran low": np.nan, "moran high": np.nan, "p": np.nan}
    rng = np.random.default_rng(seed)
    exceed = 0
    for start in range(0, permutations, 250):
        count = min(250, permutations - start)
        shuffled = rng.permuted(np.broadcast_to(values[read], (count, *values[read].shape)),
                                axis=-1)
        exceed += int((np.nanmean(morans_i(shuffled, weights), axis=1) >= mean - 1e-12).sum())
    return {"moran": mean, "moran low": low, "moran high": high,
            "p": (1 + exceed) / (1 + permutations)}


def location_dependence(maps: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Per ``model`` of the map rows (``model``, ``fname``, ``slice``, ``row``, ``col``,
    ``error``): ``images``, ``locations``, the mean ``error`` with its interval (bootstrap over
    images), the ``spread`` with its interval, the claim's reading — the map's structure
    (:func:`location_structure`: ``moran`` with its interval, the within-image permutation
    ``structure p`` and ``structured``, p ≤ 0.05) — and, secondary, Friedman's ``chi2`` and
    ``friedman p`` over locations (images as blocks: a pattern repeated in every image passes
    it, random or not; NaN below two images)."""
    rows = []
    for model, group in maps.groupby("model", sort=False):
        matrix = _location_matrix(group)
        images, locations = matrix.shape
        mean, low, high = cluster_bootstrap_mean(group.error, group.fname + "/" +
                                                 group.slice.astype(str), seed=seed)
        draws = _image_draws(images, seed)
        values = matrix.to_numpy()
        spreads = np.array([spread(values[draw]) for draw in draws]) if images > 1 else [np.nan]
        chi2, p = (stats.friedmanchisquare(*values.T) if images > 1 and locations > 2
                   else (np.nan, np.nan))
        structure = location_structure(matrix, seed=seed)
        rows.append({"model": model, "images": images, "locations": locations, "error": mean,
                     "error low": low, "error high": high, "spread": spread(values),
                     **dict(zip(["spread low", "spread high"], _interval(spreads))),
                     **{key: structure[key] for key in ("moran", "moran low", "moran high")},
                     "structure p": structure["p"],
                     "structured": bool(structure["p"] <= ALPHA and structure["moran"] > 0),
                     "chi2": float(chi2), "friedman p": float(p)})
    return pd.DataFrame(rows)


def information_summary(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Appendix Fig. 17: per ``model`` and window ``size`` (and pooled over sizes, ``size``
    "all"), the mean window error over the random placements with its interval (bootstrap over
    images: placements on one image are not independent), the placement count ``n`` and the
    ``volumes`` (files) they fall in."""
    rows = []
    pooled = frame.assign(size="all")
    for (model, size), group in pd.concat([frame, pooled]).groupby(["model", "size"],
                                                                   sort=False):
        mean, low, high = cluster_bootstrap_mean(group.error, group.fname + "/" +
                                                 group.slice.astype(str), seed=seed)
        rows.append({"model": model, "size": size, "error": mean, "error low": low,
                     "error high": high, "n": len(group),
                     "volumes": group.fname.nunique()})
    return pd.DataFrame(rows)


def box_reading(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Fig. 8 per ``model`` of the box rows (``model``, ``fname``, ``box error``, ``SSIM``): the
    mean box error and mean SSIM with intervals (bootstrap over volumes), and their correlation
    over slices (:func:`fnaf.stats.correlation`: Pearson and Spearman with intervals)."""
    rows = []
    for model, group in frame.groupby("model", sort=False):
        error = cluster_bootstrap_mean(group["box error"], group.fname, seed=seed)
        quality = cluster_bootstrap_mean(group.SSIM, group.fname, seed=seed)
        rows.append({"model": model, "slices": len(group),
                     **dict(zip(["box error", "box error low", "box error high"], error)),
                     **dict(zip(["SSIM", "SSIM low", "SSIM high"], quality)),
                     **correlation(group.SSIM, group["box error"])})
    return pd.DataFrame(rows)


def rankings(information: pd.DataFrame, boxes: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Rank the models common to both by their pooled information loss (artificial features,
    :func:`information_summary`'s ``size == "all"``) and by their mean box error (real features,
    :func:`box_reading`), 1 = the smallest error. Returns the table and Kendall's ``tau`` and
    ``p`` between the two orders (``n`` models; NaN below three)."""
    artificial = information[information["size"] == "all"].set_index("model").error
    real = boxes.set_index("model")["box error"]
    models = [model for model in artificial.index if model in real.index]
    table = pd.DataFrame({"information loss": artificial[models], "box error": real[models]})
    table["artificial rank"] = table["information loss"].rank(method="min").astype(int)
    table["real rank"] = table["box error"].rank(method="min").astype(int)
    tau, p = (stats.kendalltau(table["artificial rank"], table["real rank"])
              if len(models) > 2 else (np.nan, np.nan))
    return table, {"n": len(models), "tau": float(tau), "p": float(p)}


def recovery_ranking(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Small-feature rankings by method (appendix Fig. 17, pooled over window sizes): per
    ``model`` of :func:`information_loss` rows, the mean window error with its interval and its
    ``rank`` (1: the least lost) with a 95 % interval, both from one paired bootstrap over
    volumes (the same volume draws for every model; a draw in which a model has no placement
    is dropped), and the ``placements`` and ``volumes`` behind them; sorted by rank."""
    cells = frame.pivot_table(index="model", columns="fname", values="error",
                              aggfunc=["sum", "count"], sort=False, fill_value=0)
    sums, counts = cells["sum"].to_numpy(float), cells["count"].to_numpy(float)
    draws = _image_draws(sums.shape[1], seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums[:, draws].sum(-1) / counts[:, draws].sum(-1)  # (models, resamples)
    means = means[:, ~np.isnan(means).any(0)]
    ranks = stats.rankdata(means, axis=0, method="min")
    error = sums.sum(1) / counts.sum(1)
    table = pd.DataFrame({"model": cells.index, "error": error,
                          "error low": np.percentile(means, 2.5, axis=1),
                          "error high": np.percentile(means, 97.5, axis=1),
                          "rank": stats.rankdata(error, method="min").astype(int),
                          "rank low": np.percentile(ranks, 2.5, axis=1).astype(int),
                          "rank high": np.ceil(np.percentile(ranks, 97.5, axis=1)).astype(int),
                          "placements": counts.sum(1).astype(int),
                          "volumes": (counts > 0).sum(1)})
    return table.sort_values("rank", kind="stable", ignore_index=True)


# The chapter's tables and figures.


def location_view(dependence: pd.DataFrame) -> pd.DataFrame:
    """A :func:`location_dependence` table for reading: per model the slices
    and locations, the mean window error and the map's spread with 95 % intervals, Moran's I
    with its interval and the within-image permutation p (the reading), and Friedman's χ² with
    its p-value (secondary)."""
    view = interval_strings(dependence, ["error", "spread", "moran"], places=3).rename(
        columns={"moran": "Moran's I"})
    view["permutation p"] = [p_string(p) for p in dependence["structure p"]]
    view["Friedman χ² (p)"] = [f"{chi2:.1f} ({p_string(p)})"
                               for chi2, p in zip(dependence.chi2, dependence["friedman p"])]
    view.index = dependence.model
    return pd.concat([dependence.set_index("model")[["images", "locations"]], view], axis=1)


def flatness_view(flatness: pd.DataFrame) -> pd.DataFrame:
    """A :func:`spread_comparison` table for reading: both spreads, the
    difference with its 95 % interval and the reading."""
    view = flatness.set_index(["model", "reference"])[["spread", "reference spread"]].map(
        "{:.3f}".format)
    view["difference"] = interval_strings(flatness, ["difference"], places=3)["difference"].values
    view["direction"] = flatness["direction"].values
    return view


def window_error_view(summary: pd.DataFrame) -> pd.DataFrame:
    """A :func:`information_summary` table for reading: one row per model,
    one column per window size (and "all"), the mean window error with its 95 % interval and the
    placements behind it."""
    cells = interval_strings(summary, ["error"], places=3)["error"] + [
        f" (n = {n})" for n in summary.n]
    view = summary.assign(cell=cells.values).pivot(index="model", columns="size", values="cell")
    return view.loc[list(dict.fromkeys(summary.model))].rename_axis(
        columns="window size").rename(columns=str)


def ranking_view(ranking: pd.DataFrame) -> pd.DataFrame:
    """A :func:`recovery_ranking` table for reading: per model its rank and the window error
    pooled over sizes, each with its 95 % interval over volumes, and what they rest on."""
    view = interval_strings(ranking, ["error"], places=3)
    view.insert(0, "rank", [f"{rank} [{low}, {high}]" for rank, low, high in
                            zip(ranking["rank"], ranking["rank low"], ranking["rank high"])])
    view.index = ranking.model
    return view.join(ranking.set_index("model")[["placements", "volumes"]])


def box_view(reading: pd.DataFrame) -> pd.DataFrame:
    """A :func:`box_reading` table for reading: per model the mean box
    error and SSIM with 95 % intervals, then their correlation over slices
    (:func:`correlation_view`)."""
    means = interval_strings(reading, ["box error", "SSIM"], places=3)
    means.index = reading.model
    return means.join(correlation_view(reading.set_index("model")))


def location_maps(means: pd.DataFrame, size: int, shape: tuple[int, int], columns: int = 4,
                  panel: float = 2.6):
    """The paper's Fig. 7 idea: per model, the mean window error (rows of
    :func:`map_means`) drawn at each window's centre on the ``shape``
    target grid, each model on its own colour scale (the pattern, not the level, is compared)."""
    models = list(dict.fromkeys(means.model))
    rows = -(-len(models) // columns)
    width = min(columns, len(models))
    figure, axes = plt.subplots(rows, width, figsize=(panel * width, panel * rows), squeeze=False,
                                layout="constrained")
    for ax in axes.flat:
        ax.axis("off")
    for ax, model in zip(axes.flat, models):
        grid = means[means.model == model].pivot(index="row", columns="col", values="error")
        half = size / 2
        extent = (grid.columns.min() + half - 0.5, grid.columns.max() + half - 0.5,
                  grid.index.max() + half - 0.5, grid.index.min() + half - 0.5)
        shown = ax.imshow(grid.to_numpy(), cmap="magma", extent=extent, interpolation="nearest")
        ax.set_xlim(-0.5, shape[1] - 0.5)
        ax.set_ylim(shape[0] - 0.5, -0.5)
        ax.set_title(model, fontsize=9)
        figure.colorbar(shown, ax=ax, shrink=0.8)
    return figure


def information_curves(summary: pd.DataFrame):
    """Appendix Fig. 17: the mean window error against the window size per model
    (:func:`information_summary` rows), 95 % intervals as bars."""
    figure, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
    sized = summary[summary["size"] != "all"]
    offsets = np.linspace(-0.15, 0.15, max(sized.model.nunique(), 1))
    for offset, (model, part) in zip(offsets, sized.groupby("model", sort=False)):
        sizes = part["size"].astype(float) + offset
        ax.errorbar(sizes, part.error, yerr=[part.error - part["error low"],
                                             part["error high"] - part.error],
                    marker="o", markersize=3, capsize=2, label=model)
    ax.set_xticks(sorted(sized["size"].astype(int).unique()))
    ax.set_xlabel("window size k (a k × k feature)")
    ax.set_ylabel("window error (standardised MSE)")
    ax.legend(fontsize=7, frameon=False, ncol=2)
    return figure


def box_error_scatter(frame: pd.DataFrame):
    """Fig. 8 idea: per annotated slice, the error inside its boxes against its SSIM, one colour
    per model (rows of :func:`box_errors` with a ``model`` column)."""
    figure, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
    sns.scatterplot(frame, x="SSIM", y="box error", hue="model", ax=ax, s=18)
    ax.set_ylabel("error inside the boxes (standardised MSE)")
    ax.legend(fontsize=7, frameon=False)
    return figure
