"""Chapter 09, distribution shift (Darestani et al., §5 and appendix B): how a reconstruction method
that was trained or tuned on one distribution scores on another, and why some images are hard.

* :func:`shift_scores` — SSIM, PSNR and NMSE of each slice of a batch, reconstructed from its
  own measurements by any reconstruction ``(batch, perturbation) -> magnitudes``
  (a :data:`~fnaf.pipelines.Reconstructor`: :func:`~fnaf.pipelines.trained_reconstructor`, an
  :class:`~fnaf.untrained.problem.UntrainedMethod`).
* :func:`score_settings` — every :class:`ShiftMethod` on the settings of the anatomy it was
  trained or tuned on.
* :func:`shift_line` and :func:`line_fit` — the "accuracy on the line" reading (main paper
  Fig. 4): per method its mean score in distribution (x) and under the shift (y) with 95 %
  intervals, the shift's effect ``y - x`` with its interval, and the straight line through the
  methods' means.
* :func:`hardest_slices` — the adversarially-filtered subset (the paper's fastMRI-A): the slices
  a reference method reconstructs worst, by a stated rule.
* :func:`low_frequency_proportion` and :func:`frequency_energy` — appendix Fig. 14: the share
  of the k-space energy in the fully-sampled centre columns, and the energy along the
  phase-encode direction.

Intervals resample *volumes* (the slices of a volume are not independent). Two settings scored
on disjoint volumes (another dataset) are resampled independently; settings that share volumes
(the same slices under two models, a subset of a set) are resampled together, which makes the
difference paired where the slices are the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, replace
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch

from fnaf.attacks.measurement import slice_scores
from fnaf.captions import Sample, grouped_samples, sample
from fnaf.data.batches import SliceGroups
from fnaf.data.masks import MaskFunc
from fnaf.data.transforms import KneeSlice, select_slices
from fnaf.devices import resolve_device
from fnaf.formatting import interval_strings
from fnaf.models.decoders import ARCHITECTURES
from fnaf.runs.builders import build_model
from fnaf.runs.configs import SCALES, check_choice, check_counts, check_lams, check_list
from fnaf.runs.presets import SIZE_FAMILIES, size_family
from fnaf.stats import cluster_bootstrap_mean, correlation, mean_difference
from fnaf.untrained.sparsity import BASES
from fnaf.verdicts import (  # noqa: F401 (the chapter's readings, shared with the summary)
    MIN_VOLUMES,
    line_reading,
    low_frequency_readings,
    shift_verdict,
    shift_words,
)

ALPHA = 0.05


def shift_scores(reconstruct, slices: KneeSlice | SliceGroups, chunk: int = 8, *,
                 device: torch.device | str | None = None) -> pd.DataFrame:
    """One row per slice of ``slices`` (in their order): ``fname``, ``slice``, ``SSIM``,
    ``PSNR``, ``NMSE`` of the reconstruction from the slice's own measurements against its
    target (data range the volume maximum), reconstructed ``chunk`` slices of one k-space shape
    per call on ``device`` (``None``: the session's)."""
    if not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, not {chunk!r}")
    device = resolve_device(device)
    rows = []
    for batch in SliceGroups.of(slices).batches:
        for start in range(0, len(batch.fname), chunk):
            part = select_slices(batch, torch.arange(start, min(start + chunk,
                                                                len(batch.fname)))).to(device)
            magnitudes = reconstruct(part, torch.zeros_like(part.kspace)).detach().cpu().numpy()
            for i, fname in enumerate(part.fname):
                rows.append({"fname": fname, "slice": int(part.slice_num[i]),
                             **slice_scores(part.target[i].cpu().numpy(), magnitudes[i],
                                            float(part.max_value[i]))})
    return pd.DataFrame(rows)


class ShiftMethod(NamedTuple):
    """A method of the shift chapter: its ``label``, ``family`` (``VarNet``, ``U-Net``,
    ``un-trained``, ``l1``), the anatomy it was trained or ``tuned`` on, the reconstruction, and
    the number of slices of a setting it reconstructs (``None``: all; the decoders fit each
    slice)."""

    label: str
    family: str
    tuned: str
    reconstruct: Callable
    max_slices: int | None = None


def score_settings(methods: list[ShiftMethod], batches: dict[str, SliceGroups],
                   settings: dict[str, list[tuple[str, str]]], *,
                   device: torch.device | str | None = None) -> pd.DataFrame:
    """:func:`shift_scores` of every method on the settings of its anatomy (``settings``:
    tuned anatomy -> ``[(setting name, source of batches)]``): one row per (method, setting,
    slice) with ``model``, ``family``, ``setting``, ``tuned`` and ``source`` (two sources are
    different volumes, even where their file names agree). A reconstruction object shared by
    two methods (a decoder, the same whatever it is "tuned" on) reconstructs a source once.
    Computed on ``device`` (``None``: the session's)."""
    device = resolve_device(device)
    fitted, rows = {}, []
    for method in methods:
        for setting, source in settings[method.tuned]:
            batch = SliceGroups.of(batches[source])
            if method.max_slices is not None:
                batch = batch.first(method.max_slices)
            key = (id(method.reconstruct), source, method.max_slices)
            if key not in fitted:
                fitted[key] = shift_scores(method.reconstruct, batch, device=device)
            rows.append(fitted[key].assign(model=method.label, family=method.family,
                                           setting=setting, tuned=method.tuned, source=source))
    return pd.concat(rows, ignore_index=True)


def shift_line(scores: pd.DataFrame, x: str, y: str, metric: str = "SSIM",
               seed: int = 0) -> pd.DataFrame:
    """The points of the accuracy-on-the-line figure: ``scores`` holds one row per (``model``,
    ``setting``, ``fname``, ``slice``) with ``family`` and ``metric``; ``x`` and ``y`` name two
    settings. Per model: the mean of each setting with its interval, ``effect = y - x`` with its
    interval (:func:`mean_difference`), the ``slices`` and ``volumes`` of each, and
    ``direction``: ``"lower"`` or
    ``"higher"`` where the interval excludes 0, else ``"not shown"``."""
    rows = []
    for model, part in scores.groupby("model", sort=False):
        first, second = part[part.setting == x], part[part.setting == y]
        if first.empty or second.empty:
            continue
        row = {"model": model, "family": part.family.iloc[0]}
        for name, frame in ((x, first), (y, second)):
            mean, low, high = cluster_bootstrap_mean(frame[metric], frame.fname, seed=seed)
            row.update({name: mean, f"{name} low": low, f"{name} high": high,
                        f"{name} slices": len(frame), f"{name} volumes": frame.fname.nunique()})
        effect, low, high = mean_difference(first, second, metric, seed=seed)
        row.update(effect=effect, **{"effect low": low, "effect high": high})
        row["direction"] = ("lower" if high < 0 else "higher" if low > 0 else "not shown")
        rows.append(row)
    return pd.DataFrame(rows)


#: Bootstrap draws behind the line's intervals (each draw: every method's two means, one fit).
LINE_RESAMPLES = 400


def line_draws(scores: pd.DataFrame, models: list[str], x: str, y: str, metric: str = "SSIM",
               resamples: int = LINE_RESAMPLES, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Cluster-bootstrap means of each of ``models`` in settings ``x`` and ``y`` of ``scores``
    (:func:`shift_line`'s rows): two ``(resamples, len(models))`` arrays. A draw resamples the
    volumes (``fname``) of each ``source`` with replacement, independently across sources and
    the same for every method and setting that reads that source (paired where the slices are
    shared, as :func:`mean_difference`); a method none of whose volumes is drawn is NaN."""
    rows = scores[scores.setting.isin([x, y]) & scores.model.isin(models)]
    rows = rows.assign(source=rows.source.astype(str) if "source" in rows else "")
    volumes = rows[["source", "fname"]].drop_duplicates().sort_values(["source", "fname"])
    column = pd.Series(np.arange(len(volumes)), index=pd.MultiIndex.from_frame(volumes))
    weights = np.zeros((resamples, len(volumes)))
    rng = np.random.default_rng(seed)
    for name in volumes.source.unique():
        members = np.flatnonzero(volumes.source.to_numpy() == name)
        drawn = members[rng.integers(0, len(members), size=(resamples, len(members)))]
        np.add.at(weights, (np.arange(resamples)[:, None], drawn), 1)
    means = []
    for setting in (x, y):
        part = rows[rows.setting == setting]
        where = (pd.Index(models).get_indexer(part.model),
                 column[pd.MultiIndex.from_frame(part[["source", "fname"]])].to_numpy())
        sums, counts = np.zeros((2, len(models), len(volumes)))
        np.add.at(sums, where, part[metric].to_numpy(dtype=float))
        np.add.at(counts, where, 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            means.append(weights @ sums.T / (weights @ counts.T))
    return means[0], means[1]


def _lines(xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares slopes and intercepts of the rows of ``xs``, ``ys`` ``(draws, methods)``."""
    centred = xs - xs.mean(1, keepdims=True)
    slope = (centred * (ys - ys.mean(1, keepdims=True))).sum(1) / (centred ** 2).sum(1)
    return slope, ys.mean(1) - slope * xs.mean(1)


def line_fit(points: pd.DataFrame, x: str, y: str, scores: pd.DataFrame | None = None,
             metric: str = "SSIM", seed: int = 0) -> dict:
    """The least-squares line ``y = slope * x + intercept`` through the methods' means (each
    method one point), with Pearson's r and its 95 % interval (Fisher's z over the methods; NaN
    below four) and each method's ``residuals`` (observed minus the line). With ``scores`` (the
    rows behind ``points``) the slope, the intercept and every residual get 95 % percentile
    intervals from :func:`line_draws` (each draw refits the line through the drawn means; a
    draw missing a method is dropped); without, NaN."""
    result = correlation(points[x], points[y])
    means = points[[x, y]].to_numpy(dtype=float).T[:, None, :]
    slope, intercept = (float(value[0]) for value in _lines(*means)) if len(points) >= 2 \
        else (np.nan, np.nan)
    residuals = points[y] - (slope * points[x] + intercept)
    fit = {"slope": slope, "intercept": intercept, "n": len(points),
           "r": result["pearson_r"], "r low": result["pearson_low"],
           "r high": result["pearson_high"], "residuals": dict(zip(points.model,
                                                                   residuals.astype(float)))}
    bounds = dict.fromkeys(["slope", "intercept"], (np.nan, np.nan))
    residual_bounds = np.full((2, len(points)), np.nan)
    if scores is not None and len(points) >= 2:
        xs, ys = line_draws(scores, list(points.model), x, y, metric, seed=seed)
        kept = np.isfinite(xs).all(1) & np.isfinite(ys).all(1)
        if kept.sum() >= 2:
            slopes, intercepts = _lines(xs[kept], ys[kept])
            bounds = {"slope": np.percentile(slopes, [2.5, 97.5]),
                      "intercept": np.percentile(intercepts, [2.5, 97.5])}
            residual_bounds = np.percentile(
                ys[kept] - (slopes[:, None] * xs[kept] + intercepts[:, None]), [2.5, 97.5], 0)
    for name, (low, high) in bounds.items():
        fit.update({f"{name} low": float(low), f"{name} high": float(high)})
    fit["residual low"], fit["residual high"] = (dict(zip(points.model, bound.astype(float)))
                                                 for bound in residual_bounds)
    return fit


def with_residuals(points: pd.DataFrame, fit: dict) -> pd.DataFrame:
    """``points`` with each method's ``residual`` from ``fit``'s line and its interval
    (``residual low``, ``residual high``), as the ``lines`` table and :func:`line_reading`
    read them."""
    return points.assign(**{column: points.model.map(fit[key]) for column, key in (
        ("residual", "residuals"), ("residual low", "residual low"),
        ("residual high", "residual high"))})


def fit_row(fit: dict) -> dict:
    """``fit`` without its per-method dictionaries: one row of the ``fits`` table."""
    return {key: value for key, value in fit.items() if not isinstance(value, dict)}


def fits_view(fits: pd.DataFrame) -> pd.DataFrame:
    """The ``fits`` table (rows of :func:`fit_row` with ``shift``, ``x``, ``y``) for reading:
    per shift the axes, the methods ``n``, and the slope, the intercept and Pearson's r each
    with its 95 % interval (:func:`line_fit`; "–" where there is none)."""
    intervals = interval_strings(fits, ["slope", "intercept", "r"], 3)
    return pd.concat([fits[["x", "y", "n"]], intervals], axis=1).set_axis(
        fits["shift"], axis=0).rename(columns={"n": "methods"})


#: The trained families' names in the chapter's tables (``multicoil_preset``'s model -> family).
FAMILIES = {"varnet": "VarNet", "unet": "U-Net"}


def size_label(scale: str, size: str) -> str:
    """A trained network's label: the appendix's size name (``VarNet-ref``, ``U-net3``) at
    ``scale='paper'``, the only scale where it has that size; below it the name with the scale
    (``"VarNet-ref (demo size)"``: the same fractions of a smaller reference)."""
    return size if scale == "paper" else f"{size} ({scale} size)"


def _network_words(network) -> str:
    return ", ".join(f"{name} {value}" for name, value in asdict(network).items() if value)


def networks_table(runs: dict, scale: str) -> pd.DataFrame:
    """The trained networks (``runs``: ``(anatomy, model, size) -> run``, one row per size of
    the knee runs): label (:func:`size_label`), family, the configuration and parameter count
    trained here, and beside them the appendix's (Tables 1-2) configuration and parameter count
    of the same size name (counted on the ``meta`` device: nothing allocated)."""
    rows = []
    for (anatomy, model, size), run in runs.items():
        if anatomy != "knee":
            continue
        paper = SIZE_FAMILIES[model][size]
        with torch.device("meta"):
            published = build_model(replace(run.config, network=paper))
        rows.append({"network": size_label(scale, size), "family": FAMILIES[model],
                     "size": _network_words(run.config.network),
                     "parameters": f"{sum(p.numel() for p in run.model.parameters()):,}",
                     "paper size": _network_words(paper),
                     "paper parameters": f"{sum(p.numel() for p in published.parameters()):,}"})
    return pd.DataFrame(rows)


def check_fraction(fraction: float) -> None:
    """Refuse a filtered subset's ``fraction`` outside (0, 1)."""
    if isinstance(fraction, bool) or not (isinstance(fraction, (int, float))
                                          and 0 < fraction < 1):
        raise ValueError(f"the filtered subset's fraction must be in (0, 1), not {fraction!r}")


ROOTS = ("data_root", "shifted_root", "brain_root")


def check_parameters(*, scale: str, sizes: dict, untrained, bases, lams, reference: str,
                     hard_fraction: float, roots: dict, **counts) -> None:
    """Refuse, before any data are generated or read and any model is trained, every setting of
    the distribution-shift chapter that would stop it later or drop a part without a word:
    ``sizes`` (a non-empty ``{family: [members]}`` of the appendix's size families),
    ``untrained`` (decoders), ``bases`` (l1's) and ``lams`` (l1's λ, numbers >= 0) as non-empty
    lists of known values, ``reference`` among the trained sizes, ``hard_fraction`` in (0, 1),
    ``counts`` (``volumes=...``) positive integers, and at ``scale='paper'`` every one of
    ``roots`` (``{"data_root": ..., ...}``) given."""
    check_counts(**counts)
    check_choice("scale", scale, SCALES)
    if not isinstance(sizes, dict) or not sizes:
        raise ValueError(f"sizes must be a non-empty dict of size family -> members, e.g. "
                         f"{{'varnet': ['VarNet-ref'], 'unet': ['U-net-ref']}}, not {sizes!r}")
    check_list("the families of sizes", list(sizes), SIZE_FAMILIES)
    for model, members in sizes.items():
        check_list(f"sizes[{model!r}]", members)
        for member in members:
            check_choice(f"{model} size", member, size_family(scale, model))
    check_list("untrained", untrained, ARCHITECTURES)
    check_list("bases", bases, BASES)
    check_lams(lams)
    trained = [member for members in sizes.values() for member in members]
    if reference not in trained:
        raise ValueError(f"reference {reference!r} is not one of the trained sizes {sizes}; "
                         f"choose one of {trained}")
    check_fraction(hard_fraction)
    unknown = sorted(set(roots) - set(ROOTS))
    if unknown:
        raise ValueError(f"unknown roots {unknown}; accepted: {list(ROOTS)}")
    missing = [name for name in ROOTS if roots.get(name) is None]
    if scale == "paper" and missing:
        raise ValueError(f"scale='paper' reads real data for every source: pass {missing}")


def hardest_slices(scores: pd.DataFrame, fraction: float, metric: str = "SSIM") -> pd.DataFrame:
    """The adversarially-filtered subset: the ``fraction`` of the slices of ``scores`` (one
    reference method's rows) with the lowest ``metric``, ``ceil(fraction * N)`` slices, ties
    broken by file name and slice. Raises ``ValueError`` when the rule selects nothing or
    everything."""
    check_fraction(fraction)
    if scores.empty:
        raise ValueError("no scored slices to select the filtered subset from")
    count = int(np.ceil(fraction * len(scores)))
    if count >= len(scores):
        raise ValueError(f"a fraction of {fraction:g} of {len(scores)} slices keeps all of them: "
                         "score more slices or lower the fraction")
    ranked = scores.sort_values([metric, "fname", "slice"], kind="stable")
    return ranked.head(count).reset_index(drop=True)


def _centre_columns(width: int, centre_fraction: float) -> np.ndarray:
    """fastMRI's fully-sampled centre columns (bool ``(width,)``) at ``centre_fraction``."""
    if not 0 < centre_fraction < 1:
        raise ValueError(f"centre_fraction must be in (0, 1), not {centre_fraction!r}")
    return MaskFunc.center_mask(width, round(width * centre_fraction)).astype(bool)


def _column_energy(kspace: torch.Tensor) -> torch.Tensor:
    """Each slice's k-space energy per phase-encode column, coils and rows summed: ``(B, W)``."""
    return kspace.abs().square().reshape(kspace.shape[0], -1, kspace.shape[-1]).sum(1)


def low_frequency_proportion(slices: KneeSlice | SliceGroups, centre_fraction: float
                             ) -> np.ndarray:
    """Appendix B.3: the energy of the fully-sampled centre columns (fastMRI's centre of a
    mask with ``centre_fraction`` of each slice's own width) over the energy of the whole
    k-space, per slice of ``slices`` (k-space ``(B, [C,] H, W)``, coils summed): ``(N,)``."""
    _centre_columns(1, centre_fraction)  # checked before any work
    proportions = []
    for batch in SliceGroups.of(slices).batches:
        energy = _column_energy(batch.kspace)
        centre = torch.as_tensor(_centre_columns(energy.shape[-1], centre_fraction),
                                 device=energy.device)
        proportions.append((energy[:, centre].sum(1) / energy.sum(1)).cpu().numpy())
    return np.concatenate(proportions)


def frequency_energy(slices: KneeSlice | SliceGroups) -> np.ndarray:
    """Appendix Fig. 14 (right): the share of each slice's k-space energy at each distance (in
    columns) from the centre along the phase-encode direction, the two sides added:
    ``(N, W_max // 2 + 1)`` over the widest slice, each row summing to 1 (a narrower slice has
    no energy beyond its own half-width)."""
    shares = []
    for batch in SliceGroups.of(slices).batches:
        energy = _column_energy(batch.kspace).cpu()
        width = energy.shape[-1]
        distance = torch.abs(torch.arange(width) - width // 2)
        folded = torch.zeros(energy.shape[0], width // 2 + 1, dtype=energy.dtype)
        folded.index_add_(1, distance, energy)
        shares.append((folded / folded.sum(1, keepdim=True)).numpy())
    widest = max(share.shape[1] for share in shares)
    return np.concatenate([np.pad(share, ((0, 0), (0, widest - share.shape[1])))
                           for share in shares])


def example_images(methods: dict[str, Callable], slices: KneeSlice | SliceGroups, index: int = 0,
                   *, device: torch.device | str | None = None) -> dict[str, np.ndarray]:
    """Appendix Figs. 11-12: slice ``index`` of ``slices``, its target (``"ground truth"``) and
    each method's reconstruction (label -> reconstruction) on ``device`` (``None``: the
    session's), magnitudes ``(h, w)`` in display orientation."""
    (one,) = SliceGroups.of(slices).select([index]).to(resolve_device(device)).batches
    images = {"ground truth": one.target[0]}
    for label, reconstruct in methods.items():
        images[label] = reconstruct(one, torch.zeros_like(one.kspace))[0].detach()
    return {label: image.cpu().numpy()[::-1] for label, image in images.items()}


def setting_samples(scores: pd.DataFrame, settings, roots: dict[str, str | None]
                    ) -> dict[str, Sample]:
    """The captions' sample of each of ``settings`` (in order, once each) of ``scores``
    (:func:`score_settings` rows): the volumes and slices its means rest on (unit: slice), read
    from its ``source``'s data root (``roots``: source -> root, None: that source's phantom);
    where some families of methods score fewer slices (the un-trained decoders), one per group
    of families (``"brain: un-trained"``)."""
    samples = {}
    for setting in dict.fromkeys(settings):
        part = scores[scores.setting == setting]
        if part.empty:
            raise ValueError(f"no scores of the setting {setting!r}")
        groups = grouped_samples(part, "slice", roots[part.source.iloc[0]], by="family")
        samples |= ({setting: next(iter(groups.values()))} if len(groups) == 1 else
                    {f"{setting}: {models}": group for models, group in groups.items()})
    return samples


def example_sample(slices: KneeSlice | SliceGroups, data_root: str | None,
                   index: int = 0) -> Sample:
    """The captions' sample of :func:`example_images`' slice ``index`` of ``slices``."""
    one = SliceGroups.of(slices).select([index])
    return sample(pd.DataFrame({"fname": one.fname, "slice": one.slice_num}), "slice", data_root)


def verdict_sentence(title: str, verdict: dict, fit: dict, x: str, y: str,
                     points: pd.DataFrame | None = None) -> str:
    """One shift's :func:`shift_verdict` in the summary's words (:func:`shift_words`) and its
    line's (:func:`line_reading` on ``fit`` and the ``points`` with their residuals)."""
    line = line_reading(fit, points)
    return (f"{title} ({y} against {x}): {shift_words(verdict)}. (i) {verdict['losses']}. "
            f"(ii) {line['text']}: {line['verdict']}.")


def shift_view(points: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """A :func:`shift_line` table for reading: per model its family,
    the mean in each setting and the shift's effect (``y - x``) with 95 % intervals, the
    slices and volumes each mean rests on, the direction, and where ``points`` hold them
    (:func:`with_residuals`) its residual from the line with its interval."""
    view = interval_strings(points, [x, y, "effect"], places=3)
    view.insert(0, "family", points.family.values)
    for unit in ("slices", "volumes"):
        view[unit] = [f"{a} / {b}" for a, b in zip(points[f"{x} {unit}"], points[f"{y} {unit}"])]
    view["direction"] = points.direction.values
    if "residual" in points:
        view["residual"] = interval_strings(points, ["residual"], places=3).residual.values
    view.index = points.model
    return view


FAMILY_MARKERS = {"VarNet": "o", "U-Net": "s", "un-trained": "^", "l1": "D"}


def accuracy_on_the_line(panels: dict[str, tuple[pd.DataFrame, dict, str, str]],
                         metric: str = "SSIM", columns: int = 2):
    """Main paper Fig. 4 style: per panel (title -> ``(points, fit, x, y)``, from
    :func:`shift_line` and :func:`line_fit`)
    each method's mean ``metric`` in setting ``x`` against setting ``y`` with 95 % intervals as
    bars, a marker per family, the fitted line (solid) and ``y = x`` (dotted)."""
    rows = -(-len(panels) // columns)
    figure, axes = plt.subplots(rows, min(columns, len(panels)), squeeze=False,
                                figsize=(4.6 * min(columns, len(panels)), 4.0 * rows),
                                layout="constrained")
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    colors = dict(zip(FAMILY_MARKERS, sns.color_palette("colorblind", len(FAMILY_MARKERS))))
    for ax, (title, (points, fit, x, y)) in zip(axes.flat, panels.items()):
        for _, values in points.iterrows():
            family = values["family"]
            ax.errorbar(values[x], values[y],
                        xerr=[[values[x] - values[f"{x} low"]], [values[f"{x} high"] - values[x]]],
                        yerr=[[values[y] - values[f"{y} low"]], [values[f"{y} high"] - values[y]]],
                        marker=FAMILY_MARKERS.get(family, "o"), color=colors.get(family),
                        markersize=5, capsize=2, linestyle="none", label=family)
            ax.annotate(values["model"], (values[x], values[y]), fontsize=6, xytext=(3, 3),
                        textcoords="offset points")
        low = min(points[f"{x} low"].min(), points[f"{y} low"].min())
        high = max(points[f"{x} high"].max(), points[f"{y} high"].max())
        span = np.linspace(low, high, 2)
        ax.plot(span, span, ":", color="grey", linewidth=1, label="y = x")
        if np.isfinite(fit["slope"]):
            ax.plot(span, fit["slope"] * span + fit["intercept"], "-", color="black",
                    linewidth=1, label="fit")
        ax.set_xlabel(f"{metric}: {x}")
        ax.set_ylabel(f"{metric}: {y}")
        ax.set_title(title, fontsize=10)
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles))
        ax.legend(unique.values(), unique.keys(), fontsize=7, frameon=False)
    return figure


def frequency_figure(proportions: pd.DataFrame, energy: dict[str, np.ndarray]):
    """Appendix Fig. 14: (left) each slice's low-frequency proportion against the reference
    method's SSIM, the filtered subset highlighted (``proportions``: columns ``SSIM``,
    ``low-frequency proportion``, ``hard``); (right) the mean share of k-space energy against
    the distance from the centre along the phase-encode direction per group (label ->
    ``(slices, frequencies)``), log scale."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    groups = proportions.assign(slices=proportions["hard"].map(
        {True: "the filtered subset", False: "the other slices"}))
    sns.scatterplot(groups, x="SSIM", y="low-frequency proportion", hue="slices",
                    palette={"the filtered subset": "tab:red", "the other slices": "tab:blue"},
                    s=18, ax=left)
    left.set_xlabel("reference method's SSIM")
    left.legend(fontsize=7, frameon=False)
    for label, shares in energy.items():
        right.plot(np.arange(shares.shape[1]), shares.mean(0), label=label)
    right.set_yscale("log")
    right.set_xlabel("distance from the k-space centre (phase-encode columns)")
    right.set_ylabel("share of the k-space energy")
    right.legend(fontsize=7, frameon=False)
    return figure
