"""Figures several chapters share, in the style of the FNAF paper (matplotlib, seaborn palettes):
image rows and reconstruction grids, boxes and their legend, the FNAF attack's panels and
histograms (chapters 00-04). A figure only one of chapters 05-10 draws lives in that chapter's
module (:mod:`fnaf.studies`)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.patches import Patch, Rectangle

from fnaf.data.annotations import ANNOTATION_SIZE, LABEL_BY_CODE, LABEL_CODES

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
