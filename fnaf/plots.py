"""Figures in the style of the FNAF paper (matplotlib, seaborn palettes)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.patches import Patch, Rectangle

from fnaf.data.annotations import ANNOTATION_SIZE, LABEL_BY_CODE, LABEL_CODES, LABELS

LABEL_COLORS = dict(zip(LABEL_CODES, sns.color_palette("tab20", len(LABEL_CODES))))


def image_row(images: dict[str, np.ndarray], cmap: str = "gray", size: float = 3.0):
    """One row of images ``(H, W)`` with titles; returns the figure."""
    figure, axes = plt.subplots(1, len(images), figsize=(size * len(images), size),
                                squeeze=False)
    for ax, (title, image) in zip(axes[0], images.items()):
        ax.imshow(image, cmap=cmap)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    figure.tight_layout()
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


def reconstruction_grid(target: np.ndarray, images: dict[str, np.ndarray], size: float = 2.6):
    """Reconstructions ``(h, w)`` beside the target (top) and their absolute errors (bottom),
    on one grey scale and one error scale, as the paper's Figs. 4-5."""
    names = ["target", *images]
    figure, axes = plt.subplots(2, len(names), figsize=(size * len(names), 2 * size),
                                squeeze=False)
    vmax = float(target.max())
    errors = {name: np.abs(image - target) for name, image in images.items()}
    error_max = max(float(error.max()) for error in errors.values())
    for column, name in enumerate(names):
        axes[0, column].imshow(target if name == "target" else images[name], cmap="gray",
                               vmin=0, vmax=vmax)
        axes[0, column].set_title(name, fontsize=9)
        if name != "target":
            axes[1, column].imshow(errors[name], cmap="magma", vmin=0, vmax=error_max)
            axes[1, column].set_title(f"|{name} − target|", fontsize=8)
    for ax in axes.flat:
        ax.axis("off")
    figure.tight_layout()
    return figure


def training_curves(histories: dict[str, list[dict]], metrics=("val_loss", "SSIM")):
    """Validation curves per epoch (one line per run, one panel per metric)."""
    figure, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics), 2.8),
                                squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for name, history in histories.items():
            ax.plot([entry["epoch"] for entry in history], [entry[metric] for entry in history],
                    marker="o", markersize=3, label=name)
        ax.set_xlabel("epoch")
        ax.set_title(f"validation {metric}", fontsize=9)
    axes[0, 0].legend(fontsize=8, frameon=False)
    figure.tight_layout()
    return figure


def fnaf_panels(rows: dict[str, dict[str, np.ndarray]], size: float = 2.4):
    """The paper's Fig. 2: for each example (a row), the zero-filled input with the feature,
    the fully-sampled image with the feature, and the reconstruction, with T outlined.

    ``rows``: title -> ``{"zero-filled": ..., "fully sampled": ..., "reconstruction": ...,
    "region": bool mask}``, images ``(h, w)``.
    """
    columns = ("zero-filled", "fully sampled", "reconstruction")
    figure, axes = plt.subplots(len(rows), len(columns), figsize=(size * len(columns),
                                                                  size * len(rows)),
                                squeeze=False)
    for ax_row, (title, panels) in zip(axes, rows.items()):
        vmax = float(panels["fully sampled"].max())
        for ax, column in zip(ax_row, columns):
            ax.imshow(panels[column], cmap="gray", vmin=0, vmax=vmax)
            ax.contour(panels["region"], levels=[0.5], colors="tab:red", linewidths=0.8)
            ax.set_title(f"{column}" if ax is not ax_row[0] else f"{title}\n{column}", fontsize=8)
            ax.axis("off")
    figure.tight_layout()
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
    figure, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(order) + 2), 3.6))
    sns.boxplot(frame, x="compartment", y="nmse", hue="model", order=order, ax=ax,
                fliersize=2, linewidth=0.8)
    ax.set_xlabel("")
    ax.set_ylabel("NMSE inside the boxes")
    ax.tick_params(axis="x", rotation=45, labelsize=8)
    ax.legend(fontsize=7, frameon=False, ncols=2)
    ax.set_title(title, fontsize=9)
    figure.tight_layout()
    return figure
