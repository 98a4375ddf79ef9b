"""Figures in the style of the FNAF paper (matplotlib, seaborn palettes)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.patches import Patch, Rectangle

from fnaf.data.annotations import ANNOTATION_SIZE, LABEL_BY_CODE, LABEL_CODES

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
