"""Figures in the style of the FNAF paper (matplotlib, seaborn palettes)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.patches import Patch, Rectangle

from fnaf.data.annotations import ANNOTATION_SIZE, LABEL_BY_CODE, LABEL_CODES, LABELS

LABEL_COLORS = dict(zip(LABEL_CODES, sns.color_palette("tab20", len(LABEL_CODES))))


def image_row(images: dict[str, np.ndarray], cmap: str = "gray", size: float = 3.0,
              columns: int = 3):
    """Images ``(H, W)`` with titles, ``columns`` to a row (readable at page width); returns the
    figure."""
    rows = -(-len(images) // columns)
    width = min(columns, len(images))
    figure, axes = plt.subplots(rows, width, figsize=(size * width, size * rows),
                                squeeze=False, layout="constrained")
    for ax in axes.flat:
        ax.axis("off")
    for ax, (title, image) in zip(axes.flat, images.items()):
        ax.imshow(image, cmap=cmap)
        ax.set_title(title, fontsize=10)
    return figure


def log_kspace(kspace: np.ndarray) -> np.ndarray:
    """``log(|k| + small)`` for display of a k-space ``(H, W)``."""
    magnitude = np.abs(kspace)
    return np.log(magnitude + magnitude[magnitude > 0].min())


def mask_image(mask: np.ndarray, height: int) -> np.ndarray:
    """A column mask ``(W,)`` repeated over ``height`` rows, for display."""
    return np.broadcast_to(np.asarray(mask).reshape(1, -1), (height, mask.size))


def draw_boxes(ax, boxes: pd.DataFrame, crop: int) -> None:
    """Draw CSV boxes (units of the 320 grid) on an image shown in the CSV's display frame."""
    scale = crop / ANNOTATION_SIZE
    for box in boxes.itertuples(index=False):
        ax.add_patch(Rectangle((box.x0 * scale - 0.5, box.y0 * scale - 0.5),
                               (box.x1 - box.x0) * scale, (box.y1 - box.y0) * scale,
                               fill=False, linewidth=1.5, edgecolor=LABEL_COLORS[box.label]))


def label_legend(ax, labels) -> None:
    handles = [Patch(edgecolor=LABEL_COLORS[code], facecolor="none", label=LABEL_BY_CODE[code].name)
               for code in LABEL_CODES if code in set(labels)]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8,
              frameon=False)


def coverage_figure(coverage: np.ndarray, title: str):
    """The regional distribution of abnormalities (the paper's Fig. 3, right)."""
    figure, ax = plt.subplots(figsize=(4.2, 3.6))
    shown = ax.imshow(coverage, cmap="magma")
    figure.colorbar(shown, ax=ax, label="annotated (volume, slice, label)")
    ax.set_title(title, fontsize=9)
    ax.axis("off")
    figure.tight_layout()
    return figure


def zoom_window(region: np.ndarray, minimum: int = 24) -> tuple[slice, slice]:
    """Rows and columns of a square window around a small region (a bool mask ``(h, w)``):
    three times the region's extent, at least ``minimum`` pixels, kept inside the image."""
    rows, columns = np.nonzero(region)
    if rows.size == 0:
        raise ValueError("the region is empty: nothing to zoom on")
    height, width = region.shape
    side = min(max(minimum, 3 * (np.ptp(rows) + 1), 3 * (np.ptp(columns) + 1)), height, width)

    def window(centre: float, size: int) -> slice:
        start = int(np.clip(round(centre - side / 2), 0, size - side))
        return slice(start, start + side)

    return window(rows.mean(), height), window(columns.mean(), width)


def outline(ax, region: np.ndarray, color: str = "tab:red") -> None:
    """Outline a bool mask ``(h, w)`` (e.g. the attack region T) on an image axis."""
    ax.contour(region, levels=[0.5], colors=color, linewidths=0.8)


def zoom_inset(ax, image: np.ndarray, region: np.ndarray, vmax: float) -> None:
    """A zoomed inset (upper right) of ``image`` around ``region``, T outlined, its window
    marked on the main panel."""
    rows, columns = zoom_window(region)
    inset = ax.inset_axes([0.58, 0.58, 0.42, 0.42])
    extent = (columns.start - 0.5, columns.stop - 0.5, rows.stop - 0.5, rows.start - 0.5)
    inset.imshow(image[rows, columns], cmap="gray", vmin=0, vmax=vmax, extent=extent)
    inset.contour(np.arange(columns.start, columns.stop), np.arange(rows.start, rows.stop),
                  region[rows, columns], levels=[0.5], colors="tab:red", linewidths=0.8)
    inset.set_xticks([])
    inset.set_yticks([])
    for spine in inset.spines.values():
        spine.set_edgecolor("yellow")
    ax.indicate_inset_zoom(inset, edgecolor="yellow")


def reconstruction_grid(target: np.ndarray, images: dict[str, np.ndarray],
                        region: np.ndarray | None = None, size: float = 2.6):
    """Reconstructions ``(h, w)`` beside the target (top) and their absolute errors (middle), on
    one grey scale and one error scale with its colour bar, as the paper's Figs. 4-5. With a
    ``region`` (a small feature's T, bool ``(h, w)``): T outlined and a bottom row zoomed on it."""
    names = ["target", *images]
    rows = 2 if region is None else 3
    figure, axes = plt.subplots(rows, len(names), figsize=(size * len(names) + 0.8, rows * size),
                                squeeze=False, layout="constrained")
    vmax = float(target.max())
    errors = {name: np.abs(image - target) for name, image in images.items()}
    error_max = max(float(error.max()) for error in errors.values())
    shown = {"target": target, **images}
    for column, name in enumerate(names):
        axes[0, column].imshow(shown[name], cmap="gray", vmin=0, vmax=vmax)
        axes[0, column].set_title(name, fontsize=10)
        if name != "target":
            error_image = axes[1, column].imshow(errors[name], cmap="magma", vmin=0,
                                                 vmax=error_max)
            axes[1, column].set_title(f"|{name} − target|", fontsize=9)
        if region is not None:
            outline(axes[0, column], region)
            window = zoom_window(region)
            axes[2, column].imshow(shown[name][window], cmap="gray", vmin=0, vmax=vmax)
            outline(axes[2, column], region[window])
            axes[2, column].set_title(f"{name}, zoom on T", fontsize=9)
    for ax in axes.flat:
        ax.axis("off")
    if images:
        figure.colorbar(error_image, ax=axes[1, :], shrink=0.9, label="absolute error")
    return figure


def training_curves(histories: dict[str, list[dict]], losses: dict[str, str]):
    """Validation curves per epoch: one panel per kind of validation loss (runs whose losses
    differ are not drawn on one axis) and one of SSIM.

    Args:
        histories: run label -> the run's per-epoch history (``epoch``, ``val_loss``, ``SSIM``).
        losses: run label -> the name of its loss (e.g. ``"L1 (normalised images)"``).
    """
    kinds = list(dict.fromkeys(losses[name] for name in histories))
    colors = dict(zip(histories, sns.color_palette(n_colors=len(histories))))
    panels = [*(("val_loss", kind) for kind in kinds), ("SSIM", "SSIM")]
    figure, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.0),
                                squeeze=False, layout="constrained")
    for ax, (metric, kind) in zip(axes[0], panels):
        for name, history in histories.items():
            if metric == "val_loss" and losses[name] != kind:
                continue
            ax.plot([entry["epoch"] for entry in history], [entry[metric] for entry in history],
                    marker="o", markersize=3, label=name, color=colors[name])
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"validation {kind}")
        ax.legend(fontsize=8, frameon=False)
    return figure


def fnaf_panels(rows: dict[str, dict[str, np.ndarray]], size: float = 2.8):
    """The paper's Fig. 2: for each example (a row), the zero-filled input with the feature,
    the fully-sampled image with the feature, and the reconstruction, with T outlined and a
    zoomed inset on it.

    ``rows``: title -> ``{"zero-filled": ..., "fully sampled": ..., "reconstruction": ...,
    "region": bool mask}``, images ``(h, w)``.
    """
    columns = ("zero-filled", "fully sampled", "reconstruction")
    figure = plt.figure(figsize=(size * len(columns), (size + 0.5) * len(rows)),
                        layout="constrained")
    for subfigure, (title, panels) in zip(np.atleast_1d(figure.subfigures(len(rows), 1)),
                                          rows.items()):
        subfigure.suptitle(title, fontsize=10, fontweight="bold")
        vmax = float(panels["fully sampled"].max())
        for ax, column in zip(subfigure.subplots(1, len(columns)), columns):
            ax.imshow(panels[column], cmap="gray", vmin=0, vmax=vmax)
            outline(ax, panels["region"])
            zoom_inset(ax, panels[column], panels["region"], vmax)
            ax.set_title(column, fontsize=10)
            ax.axis("off")
    return figure


def loss_histogram(losses: dict[str, np.ndarray], gamma: float, title: str = ""):
    """Distribution of per-slice attack losses (one colour per run), with γ marked."""
    frame = pd.concat([pd.DataFrame({"loss": values, "run": name})
                       for name, values in losses.items()], ignore_index=True)
    figure, ax = plt.subplots(figsize=(5.5, 3))
    sns.histplot(frame, x="loss", hue="run", bins=30, element="step", ax=ax)
    ax.axvline(gamma, color="black", linestyle="--", linewidth=1)
    ax.text(gamma, ax.get_ylim()[1] * 0.95, f" γ = {gamma}", va="top", fontsize=8)
    ax.set_xlabel("NMSE inside T (per slice)")
    ax.set_title(title, fontsize=9)
    figure.tight_layout()
    return figure


def ceiling_figure(slices: dict[str, pd.DataFrame], gamma: float):
    """Each slice's attack loss against its ceiling (the loss of losing the feature entirely
    over a perfect background), by contrast, one panel per run. Hits lie above the dashed γ;
    a slice left of the dotted γ cannot be a hit however badly the feature is lost.

    Args:
        slices: run name -> :attr:`fnaf.attacks.AttackReport.slices` (``loss``, ``ceiling``,
            ``acquisition``).
    """
    contrasts = {"CORPD_FBK": "PD", "CORPDFS_FBK": "PD-FS"}
    figure, axes = plt.subplots(1, len(slices), figsize=(3.1 * len(slices), 3.0), sharey=True,
                                squeeze=False)
    for ax, (name, frame) in zip(axes[0], slices.items()):
        shown = frame.assign(contrast=frame["acquisition"].map(contrasts).fillna(
            frame["acquisition"]))
        sns.scatterplot(shown, x="ceiling", y="loss", hue="contrast", s=12, ax=ax,
                        hue_order=sorted(shown["contrast"].unique()))
        ax.axhline(gamma, color="black", linestyle="--", linewidth=0.8)
        ax.axvline(gamma, color="black", linestyle=":", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("ceiling: complete-loss NMSE")
        ax.set_ylabel("attack loss (NMSE inside T)")
        ax.set_title(name, fontsize=10)
        ax.legend(fontsize=8, frameon=False, title=None)
    figure.tight_layout()
    return figure


def box_nmse_figure(per_model: dict[str, pd.DataFrame], title: str = ""):
    """Per-abnormality NMSE inside the boxes, one box per model and compartment (the paper's
    Figs. 8-9); ``per_model``: model -> :func:`fnaf.boxes.box_nmse` rows."""
    frame = pd.concat([rows.assign(model=model) for model, rows in per_model.items()],
                      ignore_index=True)
    order = [label.name for label in LABELS if label.name in set(frame["compartment"])]
    figure, ax = plt.subplots(figsize=(9.0, 4.8), layout="constrained")
    sns.boxplot(frame, x="compartment", y="nmse", hue="model", order=order, ax=ax,
                fliersize=2, linewidth=0.8)
    ax.set_xlabel("")
    ax.set_ylabel("NMSE inside the boxes")
    ax.set_yscale("log")
    ax.tick_params(axis="x", rotation=35, labelsize=10)
    plt.setp(ax.get_xticklabels(), ha="right", rotation_mode="anchor")
    ax.legend(fontsize=9, frameon=False, ncols=3, loc="upper center",
              bbox_to_anchor=(0.5, -0.35))
    ax.set_title(title, fontsize=11)
    return figure


def roc_figure(labels, probabilities: dict[str, dict[str, np.ndarray]]):
    """ROC curves of the classifier on every input (the fully-sampled patches dashed), one
    panel per acceleration; ``probabilities``: panel title -> input -> abnormal-class
    probabilities of the same patches as ``labels``."""
    from sklearn.metrics import roc_curve

    panels = len(probabilities)
    figure, axes = plt.subplots(1, panels, figsize=(4.6 * panels, 4.4), squeeze=False,
                                layout="constrained")
    for ax, (title, inputs) in zip(axes[0], probabilities.items()):
        for name, scores in inputs.items():
            false_positive, true_positive, _ = roc_curve(labels, scores)
            ax.plot(100 * false_positive, 100 * true_positive, label=name, linewidth=1.2,
                    linestyle="--" if name == "Fully-sampled" else "-")
        ax.plot([0, 100], [0, 100], color="0.7", linewidth=0.8)
        ax.set(xlabel="1 − specificity (%)", ylabel="sensitivity (%)", title=title,
               aspect="equal", xlim=(0, 100), ylim=(0, 100))
        ax.legend(fontsize=8, frameon=False, loc="lower right")
    return figure


def patch_examples(patches: dict[str, np.ndarray], table: pd.DataFrame, count: int = 3):
    """``count`` abnormal and ``count`` normal patches (columns; the first of each class on
    different slices) cut from each input (rows; ``patches``: input -> ``(N, p, p)`` at the
    positions of ``table``'s rows), on one grey scale per column (the fully-sampled patch's)."""
    labels = table["label"].to_numpy()
    firsts = table.reset_index(drop=True).drop_duplicates(["fname", "slice", "label"])
    chosen = [*firsts.index[firsts["label"] == 1][:count],
              *firsts.index[firsts["label"] == 0][:count]]
    reference = next(iter(patches.values()))
    figure, axes = plt.subplots(len(patches), len(chosen), squeeze=False, layout="constrained",
                                figsize=(1.3 * len(chosen) + 1.2, 1.3 * len(patches)))
    for row, (name, images) in zip(axes, patches.items()):
        for column, (ax, index) in enumerate(zip(row, chosen)):
            ax.imshow(images[index], cmap="gray", vmin=reference[index].min(),
                      vmax=reference[index].max())
            ax.set_xticks([])
            ax.set_yticks([])
            if row is axes[0]:
                ax.set_title("abnormal" if labels[index] == 1 else "normal", fontsize=9)
            if column == 0:
                ax.set_ylabel(name, fontsize=9, rotation=0, ha="right", va="center")
    return figure


def size_scatter(points: pd.DataFrame, value: str, ylabel: str):
    """Figs. 6-7: ``value`` against the abnormality's size (pixels at 320 × 320, log scale) with
    a least-squares line (on log size) per kind of model; one row per architecture, one column
    per acceleration (``points`` columns ``size``, ``value``, ``kind``, ``architecture``,
    ``AF``)."""
    grid = sns.lmplot(points, x="size", y=value, hue="kind", row="architecture", col="AF",
                      logx=True, ci=None, height=2.9, aspect=1.2,
                      scatter_kws={"s": 9, "alpha": 0.45}, line_kws={"linewidth": 1.6},
                      facet_kws={"sharey": False, "margin_titles": True})
    grid.set(xscale="log")
    grid.set_axis_labels("abnormality size (pixels at 320 × 320)", ylabel)
    if value == "improvement":
        grid.refline(y=0, color="0.6", linewidth=0.8)
    return grid.figure


def ssim_vs_eps(curves: pd.DataFrame, metric: str = "SSIM"):
    """SSIM against the perturbation's relative norm ε per model (:func:`fnaf.robustness.curves`
    rows): the attack solid, the random control of the same norm dashed, 95 % intervals as bars;
    ε = 0 is the clean reconstruction."""
    figure, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
    palette = dict(zip(curves.model.unique(), sns.color_palette("tab10")))
    for model, part in curves.groupby("model", sort=False):
        clean = part[part.kind == "clean"]
        for kind, style in (("attack", "-"), ("control", "--")):
            points = pd.concat([clean, part[part.kind == kind]]).sort_values("eps")
            ax.errorbar(points.eps, points[metric],
                        yerr=[points[metric] - points[f"{metric} low"],
                              points[f"{metric} high"] - points[metric]],
                        color=palette[model], linestyle=style, marker="o", markersize=3,
                        capsize=2, label=f"{model} ({'attack' if kind == 'attack' else 'noise'})")
    ax.set_xlabel("ε = ||z|| / ||y||")
    ax.set_ylabel(f"{metric} to the ground truth")
    ax.legend(fontsize=7, frameon=False, ncol=2)
    return figure


def measurement_panels(columns: dict[str, dict[str, np.ndarray]], size: float = 2.4):
    """Appendix Fig. 9: one column per method; rows the ground truth, the clean reconstruction,
    the reconstruction of the attacked measurements and the perturbation's image
    (RSS of ``F^-1 z``, its own scale).

    ``columns``: method -> ``{"ground truth", "clean", "attacked", "perturbation"}`` ``(h, w)``.
    """
    rows = ("ground truth", "clean", "attacked", "perturbation")
    figure, axes = plt.subplots(len(rows), len(columns), squeeze=False, layout="constrained",
                                figsize=(size * len(columns), size * len(rows)))
    for column, (method, images) in enumerate(columns.items()):
        vmax = float(images["ground truth"].max())
        for row, name in enumerate(rows):
            ax = axes[row, column]
            scale = {} if name == "perturbation" else {"vmin": 0, "vmax": vmax}
            ax.imshow(images[name], cmap="gray", **scale)
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(method, fontsize=10)
            if column == 0:
                ax.set_ylabel(name, fontsize=9)
    return figure


def location_maps(means: pd.DataFrame, size: int, shape: tuple[int, int], columns: int = 4,
                  panel: float = 2.6):
    """The paper's Fig. 7 idea: per model, the mean window error (rows of
    :func:`fnaf.feature_recovery.map_means`) drawn at each window's centre on the ``shape``
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
    (:func:`fnaf.feature_recovery.information_summary` rows), 95 % intervals as bars."""
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
    per model (rows of :func:`fnaf.small_features.box_errors` with a ``model`` column)."""
    figure, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
    sns.scatterplot(frame, x="SSIM", y="box error", hue="model", ax=ax, s=18)
    ax.set_ylabel("error inside the boxes (standardised MSE)")
    ax.legend(fontsize=7, frameon=False)
    return figure


FAMILY_MARKERS = {"VarNet": "o", "U-Net": "s", "un-trained": "^", "l1": "D"}


def accuracy_on_the_line(panels: dict[str, tuple[pd.DataFrame, dict, str, str]],
                         metric: str = "SSIM", columns: int = 2):
    """Main paper Fig. 4 style: per panel (title -> ``(points, fit, x, y)``, from
    :func:`fnaf.distribution_shift.shift_line` and :func:`~fnaf.distribution_shift.line_fit`)
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
