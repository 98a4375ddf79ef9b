"""Chapter 10, small-feature recovery (Darestani et al., §6 and appendix C): the computation,
its reading, tables and figures.

The window features, their placements and the window error (the standardised MSE inside the
window) are :mod:`fnaf.attacks.windows`' (the audit measures them too); :func:`location_map` is
its map of the error per (image, location). The same error inside a slice's annotated boxes
scores real features.

* :func:`information_loss`, :func:`box_errors` — the tables of the chapter beside the map: the
  error per random placement and window size (appendix Fig. 17), and inside the annotated boxes
  beside the slice's SSIM (Fig. 8).
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
from dataclasses import asdict, replace
from os import PathLike
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from scipy import stats

from fnaf.attacks.windows import (
    MAP_COLUMNS,
    check_window,
    feature_errors,
    location_map,
    random_placements,
    region_errors,
    window_rows,
)
from fnaf.captions import Sample, sample
from fnaf.data.annotations import AnnotationIndex
from fnaf.data.batches import SliceGroups
from fnaf.data.transforms import KneeSlice, select_slices
from fnaf.devices import resolve_device
from fnaf.formatting import interval_strings, p_string
from fnaf.io import ensure_writable, load_json, save_json
from fnaf.metrics import ssim
from fnaf.models.decoders import ARCHITECTURES
from fnaf.pipelines import Reconstructor, pipeline_for, trained_reconstructor
from fnaf.ranks import barrier, rank_world
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
from fnaf.stats import (  # noqa: F401 (spread_comparison, PERMUTATIONS: the chapter's)
    PERMUTATIONS,
    cluster_bootstrap_mean,
    correlation,
    location_structure,
    spread,
    spread_comparison,
)
from fnaf.stats import image_draws as _image_draws
from fnaf.stats import location_matrix as _location_matrix
from fnaf.stats import percentile_interval as _interval
from fnaf.tables import correlation_view

#: The significance level of the chapter's tests.
ALPHA = 0.05
#: Window sizes of appendix Fig. 17.
PAPER_WINDOW_SIZES = (2, 3, 4, 5)




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
        frames.append(window_rows(groups, drawn, size,
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


def box_sample(rows: pd.DataFrame, index: AnnotationIndex, data_root: str | None = None,
               unit: str = "slice") -> Sample:
    """The captions' sample of :func:`box_errors` rows (one per annotated slice: the error over
    the union of its boxes, so the unit is the slice): the volumes, slices and the boxes of
    ``index`` inside them (distinct label per slice, as :func:`fnaf.captions.sample` counts
    boxes); ``unit`` volume for a per-volume table."""
    slices = rows[["fname", "slice"]].drop_duplicates()
    boxes = pd.concat([index.boxes_for(fname, int(number))[["label"]].assign(
        fname=fname, slice=int(number)) for fname, number in slices.itertuples(index=False)],
        ignore_index=True)
    return replace(sample(boxes, "box", data_root), unit=unit)


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


def mean_anatomy(slices: SliceGroups) -> np.ndarray:
    """The slices' mean target ``(h, w)``, each divided by its maximum first: the anatomy
    beneath :func:`location_maps`."""
    targets = torch.cat([batch.target / batch.target.flatten(1).amax(1)[:, None, None]
                         for batch in slices.batches])
    return targets.mean(0).cpu().numpy()


def location_maps(means: pd.DataFrame, size: int, anatomy: np.ndarray, columns: int = 4,
                  panel: float = 2.6):
    """The paper's Fig. 7 idea: per model, the mean window error (rows of :func:`map_means`)
    drawn at each window's centre over the slices' mean ``anatomy`` ``(h, w)``
    (:func:`mean_anatomy`), every model on one colour scale from 0 to the largest mean, so
    that both the pattern and the level compare across panels."""
    models = list(dict.fromkeys(means.model))
    rows = -(-len(models) // columns)
    width = min(columns, len(models))
    figure, axes = plt.subplots(rows, width, figsize=(panel * width + 1.0, panel * rows),
                                squeeze=False, layout="constrained")
    for ax in axes.flat:
        ax.axis("off")
    top = float(means.error.max())
    half = size / 2
    for ax, model in zip(axes.flat, models):
        grid = means[means.model == model].pivot(index="row", columns="col", values="error")
        extent = (grid.columns.min() + half - 0.5, grid.columns.max() + half - 0.5,
                  grid.index.max() + half - 0.5, grid.index.min() + half - 0.5)
        ax.imshow(anatomy, cmap="gray", vmin=0, vmax=float(anatomy.max()))
        shown = ax.imshow(grid.to_numpy(), cmap="magma", vmin=0, vmax=top, alpha=0.6,
                          extent=extent, interpolation="nearest")
        ax.set_xlim(-0.5, anatomy.shape[1] - 0.5)
        ax.set_ylim(anatomy.shape[0] - 0.5, -0.5)
        ax.set_title(model, fontsize=11)
    figure.colorbar(shown, ax=axes, shrink=0.8,
                    label=f"mean error, {size}-px window")
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
