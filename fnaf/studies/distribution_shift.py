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
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from scipy import stats

from fnaf.attacks.measurement import slice_scores
from fnaf.data.batches import SliceGroups
from fnaf.data.masks import MaskFunc
from fnaf.data.transforms import KneeSlice, select_slices
from fnaf.devices import resolve_device
from fnaf.formatting import interval_strings
from fnaf.models.decoders import ARCHITECTURES
from fnaf.runs.configs import SCALES, check_choice, check_counts, check_lams, check_list
from fnaf.runs.presets import SIZE_FAMILIES, size_family
from fnaf.stats import cluster_bootstrap_mean, correlation, mean_difference
from fnaf.untrained.sparsity import BASES
from fnaf.verdicts import MIN_VOLUMES, shift_verdict  # noqa: F401 (the chapter's reading)

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


def line_fit(points: pd.DataFrame, x: str, y: str) -> dict[str, float]:
    """The least-squares line ``y = slope * x + intercept`` through the methods' means (each
    method one point), with Pearson's r and its 95 % interval (Fisher's z; NaN below four
    methods) and each method's ``residuals`` (observed minus the line)."""
    fit = stats.linregress(points[x], points[y]) if len(points) >= 2 else None
    result = correlation(points[x], points[y])
    slope, intercept = (fit.slope, fit.intercept) if fit is not None else (np.nan, np.nan)
    residuals = points[y] - (slope * points[x] + intercept)
    return {"slope": float(slope), "intercept": float(intercept), "n": len(points),
            "r": result["pearson_r"], "r low": result["pearson_low"],
            "r high": result["pearson_high"],
            "residuals": dict(zip(points.model, residuals.astype(float)))}


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


def verdict_sentence(title: str, verdict: dict, fit: dict, x: str, y: str) -> str:
    """One shift's :func:`shift_verdict` in words, with its counts and the line's r."""
    left_out = "; ".join(f"{name} left out ({why})" for name, why in verdict["excluded"].items())
    higher = f", higher: {', '.join(verdict['higher'])}" if verdict["higher"] else ""
    return (f"{title} ({y} against {x}): {len(verdict['lower'])} of {verdict['read']} methods "
            f"shown to lose{higher}" + (f"; {left_out}" if left_out else "")
            + f". (i) {verdict['losses']}. (ii) r = {fit['r']:.2f} [{fit['r low']:.2f}, "
            f"{fit['r high']:.2f}] over {fit['n']} methods: {verdict['line']}.")


def shift_view(points: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """A :func:`shift_line` table for reading: per model its family,
    the mean in each setting and the shift's effect (``y - x``) with 95 % intervals, the
    slices and volumes each mean rests on, and the direction."""
    view = interval_strings(points, [x, y, "effect"], places=3)
    view.insert(0, "family", points.family.values)
    for unit in ("slices", "volumes"):
        view[unit] = [f"{a} / {b}" for a, b in zip(points[f"{x} {unit}"], points[f"{y} {unit}"])]
    view["direction"] = points.direction.values
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
    sns.scatterplot(proportions, x="SSIM", y="low-frequency proportion", hue="hard",
                    palette={True: "tab:red", False: "tab:blue"}, s=18, ax=left)
    left.set_xlabel("reference method's SSIM")
    left.legend(title="filtered subset", fontsize=7, title_fontsize=8, frameon=False)
    for label, shares in energy.items():
        right.plot(np.arange(shares.shape[1]), shares.mean(0), label=label)
    right.set_yscale("log")
    right.set_xlabel("distance from the k-space centre (phase-encode columns)")
    right.set_ylabel("share of the k-space energy")
    right.legend(fontsize=7, frameon=False)
    return figure
