"""Patches for abnormality classification (the FNAF paper's §3.1.3 and Table 1).

Patches are square windows on a regular grid of an annotated slice, cut in the annotation frame
(the CSV's: rows flipped, femur on top) on the target grid; boxes are scaled from the 320×320
annotation grid to it and rasterised as :func:`fnaf.data.annotations.rasterize_boxes` does
(truncation, at least one pixel). A patch is **abnormal** when it covers at least
``abnormal_share`` of some box (intersection over the box's area), **normal** when it touches no
box, and dropped in between. Only slices with at least one box are used, as in the released
code. Normal patches are then capped to the abnormal count by seeded sampling (global balance):
uniformly (the released sets), or ``sampling="adaptive"``, weighted by the regional
distribution of the abnormalities at the patch's centre (the paper's Fig. 3, right; §3.1.3), so
the normal patches come from where abnormalities occur.

The released sets (``../shared/reference/fnaf_reference.md`` §9) used an 8-pixel grid for both
sizes and thresholds of 10 % (32 px train), 50 % (32 px val) and 75 % (64 px); the paper's text
gives strides 2 (32 px) and 8 (64 px). :data:`RELEASED_THRESHOLDS` holds the released values;
:class:`PatchSpec` defaults follow the paper's strides.

Cutting is vectorised: :func:`cut_patches` takes every patch of a volume at once from a strided
view (``numpy.lib.stride_tricks.sliding_window_view``), so the same positions are cut from the
fully-sampled target and from every reconstruction (:func:`patch_images`).

Intensities: a :class:`PatchSet` standardises with one global mean and standard deviation, those
of the fully-sampled training patches (the released code used fixed global constants on the
``reconstruction_esc`` scale, 2.61e-5 and 2.10e-5); reconstructions are on the target's scale, so
the same constants serve every input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch

from fnaf.data.annotations import ANNOTATION_SIZE, LABEL_BY_CODE, coverage_map

#: The released patch sets' abnormal thresholds: (patch size, split) -> share of a box.
RELEASED_THRESHOLDS = {(32, "train"): 0.10, (32, "val"): 0.50, (64, "train"): 0.75,
                       (64, "val"): 0.75}
#: The paper's grid strides per patch size (§3.1.3); the released sets used 8 for both.
PAPER_STRIDES = {32: 2, 64: 8}
#: How normal patches are capped to the abnormal count (see the module doc).
SAMPLINGS = ("uniform", "adaptive")
#: The columns of :func:`patch_table`.
PATCH_COLUMNS = ["fname", "slice", "row", "col", "label", "share", "compartment"]


@dataclass(frozen=True)
class PatchSpec:
    """Which patches a split holds.

    Args:
        size: patch side in pixels of the 320×320 grid (32 or 64 in the paper), scaled to the
            target grid like the boxes.
        stride: grid step at 320×320 (scaled, at least 1); ``None``: the paper's for ``size``.
        abnormal_share: smallest share of a box a patch must cover to be abnormal.
        offset: the grid's first row and column at 320×320 (the released sets: 3/5 train,
            7/7 val).
        sampling: how normal patches are capped to the abnormal count: ``"uniform"`` or
            ``"adaptive"`` (weighted by the abnormalities' regional distribution).
    """

    size: int = 32
    stride: int | None = None
    abnormal_share: float = 0.5
    offset: int = 0
    sampling: str = "uniform"

    def __post_init__(self):
        for name, value, least in (("size", self.size, 1), ("offset", self.offset, 0)):
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise ValueError(f"patch {name} must be an integer >= {least}, not {value!r}")
        if self.stride is not None and (not isinstance(self.stride, int) or self.stride < 1):
            raise ValueError(f"patch stride must be a positive integer (pixels at 320×320) or "
                             f"None (the paper's), not {self.stride!r}")
        if self.sampling not in SAMPLINGS:
            raise ValueError(f"unknown patch sampling {self.sampling!r}; accepted: "
                             f"{list(SAMPLINGS)}")
        if not 0 < self.abnormal_share <= 1:
            raise ValueError(f"abnormal_share must be in (0, 1] (a share of a box's area), not "
                             f"{self.abnormal_share!r}")

    def on_grid(self, crop: int) -> tuple[int, int, int]:
        """``(size, stride, offset)`` in pixels of a ``crop``-pixel target grid."""
        stride = self.stride if self.stride is not None else PAPER_STRIDES.get(self.size, 8)
        scale = crop / ANNOTATION_SIZE
        size = max(1, round(self.size * scale))
        if size > crop:
            raise ValueError(f"patch size {self.size} (at 320×320) is {size} px on the "
                             f"{crop}-px images, larger than the image; use a smaller size")
        return size, max(1, round(stride * scale)), round(self.offset * scale)


def grid_positions(crop: int, size: int, stride: int, offset: int = 0) -> np.ndarray:
    """Top-left corners ``(N, 2)`` (row, col) of every ``size`` patch on a ``crop`` grid."""
    starts = np.arange(offset, crop - size + 1, stride)
    rows, cols = np.meshgrid(starts, starts, indexing="ij")
    return np.stack([rows.ravel(), cols.ravel()], axis=1)


def box_pixels(boxes: pd.DataFrame, crop: int) -> np.ndarray:
    """Boxes ``(M, 4)`` as pixel spans ``[row0, row1, col0, col1)`` on a ``crop`` grid in the
    annotation frame, rasterised as :func:`fnaf.data.annotations.rasterize_boxes` does."""
    scale = crop / ANNOTATION_SIZE

    def span(start, stop):
        first = np.clip(np.floor(start * scale).astype(int), 0, crop - 1)
        last = np.clip(np.maximum(np.floor(stop * scale).astype(int), first + 1), None, crop)
        return first, last

    row0, row1 = span(boxes["y0"].to_numpy(float), boxes["y1"].to_numpy(float))
    col0, col1 = span(boxes["x0"].to_numpy(float), boxes["x1"].to_numpy(float))
    return np.stack([row0, row1, col0, col1], axis=1)


def box_shares(positions: np.ndarray, size: int, boxes: np.ndarray) -> np.ndarray:
    """``(N, M)``: the share of each box's area that each patch covers."""
    def overlap(start, box_start, box_stop):
        return np.clip(np.minimum(start[:, None] + size, box_stop[None]) -
                       np.maximum(start[:, None], box_start[None]), 0, None)

    area = (boxes[:, 1] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 2])
    covered = (overlap(positions[:, 0], boxes[:, 0], boxes[:, 1]) *
               overlap(positions[:, 1], boxes[:, 2], boxes[:, 3]))
    return covered / area[None]


def patch_table(boxes: pd.DataFrame, crop: int, spec: PatchSpec, *, balance: bool = True,
                seed: int = 0) -> pd.DataFrame:
    """The patches of every annotated slice in ``boxes`` (a read annotation CSV matched to the
    data): one row per kept patch with :data:`PATCH_COLUMNS` — ``fname`` (``<volume>.h5``),
    ``slice`` (0-based), ``row``/``col`` (top-left, annotation frame, target grid), ``label``
    (1 abnormal, 0 normal), ``share`` (the largest box share) and ``compartment`` (the label of
    that box; ``""`` for normal patches). With ``balance``, normal patches are sampled (seeded)
    down to the number of abnormal ones."""
    size, stride, offset = spec.on_grid(crop)
    positions = grid_positions(crop, size, stride, offset)
    parts = []
    for (name, slice_csv), group in boxes.groupby(["filename", "slice"], sort=True):
        shares = box_shares(positions, size, box_pixels(group, crop))
        best = shares.argmax(axis=1)
        largest = shares[np.arange(len(positions)), best]
        abnormal = largest >= spec.abnormal_share
        keep = abnormal | (largest == 0)
        labels = group["label"].to_numpy()[best]
        parts.append(pd.DataFrame({
            "fname": f"{name}.h5", "slice": int(slice_csv) - 1,
            "row": positions[keep, 0], "col": positions[keep, 1],
            "label": abnormal[keep].astype(int), "share": largest[keep],
            "compartment": np.where(abnormal[keep],
                                    [LABEL_BY_CODE[code].name for code in labels[keep]], "")}))
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=PATCH_COLUMNS)
    if balance:
        weights = None
        if spec.sampling == "adaptive":
            density = coverage_map(boxes, (crop, crop))
            weights = density[table["row"] + size // 2, table["col"] + size // 2]
        table = balanced(table, seed, weights)
    return table[PATCH_COLUMNS].reset_index(drop=True)


def balanced(table: pd.DataFrame, seed: int = 0, weights=None) -> pd.DataFrame:
    """All abnormal patches and as many normal ones, drawn without replacement (seeded), with
    probability proportional to ``weights`` (one per row; ``None``: uniform); the table's order
    is kept. Normal patches of zero weight are drawn only when the others run out."""
    abnormal = table[table["label"] == 1]
    normal = table[table["label"] == 0]
    if len(normal) > len(abnormal):
        rng = np.random.default_rng(seed)
        if weights is None:
            normal = normal.sample(len(abnormal), random_state=rng)
        else:
            weight = pd.Series(np.asarray(weights, dtype=float), index=table.index)[normal.index]
            positive = normal[weight > 0]
            if len(positive) >= len(abnormal):
                normal = positive.sample(len(abnormal), weights=weight[positive.index],
                                         random_state=rng)
            else:
                rest = normal[weight == 0].sample(len(abnormal) - len(positive),
                                                  random_state=rng)
                normal = pd.concat([positive, rest])
    return table.loc[sorted([*abnormal.index, *normal.index])]


def cut_patches(volume: np.ndarray, rows: pd.DataFrame, size: int) -> np.ndarray:
    """The patches ``(n, size, size)`` of one volume ``(S, h, w)`` (network orientation) at the
    ``slice``/``row``/``col`` of ``rows`` (annotation frame), in ``rows``' order — the same
    positions from any reconstruction of the volume."""
    volume = np.asarray(volume)
    flipped = np.ascontiguousarray(volume[:, ::-1, :])  # the annotation frame, unit strides
    windows = np.lib.stride_tricks.sliding_window_view(flipped, (size, size), axis=(1, 2))
    slices = rows["slice"].to_numpy()
    if len(slices) and (slices.max() >= len(volume) or slices.min() < 0):
        raise ValueError(f"patch rows name slice {slices.max()} of a volume of {len(volume)} "
                         f"slices; the annotations and the reconstruction disagree")
    return windows[slices, rows["row"].to_numpy(), rows["col"].to_numpy()]  # a new array


def patch_counts(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Table 1's patch rows: per split, patches, abnormal / normal, volumes and slices."""
    return pd.DataFrame({split: {
        "patches": len(table), "abnormal": int((table["label"] == 1).sum()),
        "normal": int((table["label"] == 0).sum()), "volumes": table["fname"].nunique(),
        "slices": len(table[["fname", "slice"]].drop_duplicates())}
        for split, table in tables.items()}).T


def patch_images(volumes: Mapping[str, np.ndarray], table: pd.DataFrame,
                 size: int) -> np.ndarray:
    """The patches ``(N, size, size)`` float32 of ``table`` (in its order) cut from ``volumes``
    (file name -> ``(S, h, w)``, network orientation): the fully-sampled targets or one
    method's reconstructions. A volume the table names but ``volumes`` lacks is an error."""
    missing = sorted(set(table["fname"]) - set(volumes))
    if missing:
        raise KeyError(f"{len(missing)} volume(s) named by the patch table are missing from the "
                       f"images given: {missing[:5]}; reconstruct them (fnaf.runs."
                       "reconstructions_or_load) or drop them from the annotations")
    images = np.empty((len(table), size, size), np.float32)
    for fname, rows in table.groupby("fname", sort=False):
        images[rows.index.to_numpy()] = cut_patches(volumes[fname], rows, size)
    return images


class PatchBatch(NamedTuple):
    """Patches as the training engine sees them (collates into a batch): ``image`` ``(P, P)``
    standardised, ``label`` (1 abnormal), and where they come from."""

    image: torch.Tensor
    label: int
    fname: str
    slice_num: int

    def to(self, device: torch.device | str) -> PatchBatch:
        """The collated batch with its tensors on ``device``."""
        return self._replace(image=self.image.to(device, non_blocking=True),
                             label=torch.as_tensor(self.label).to(device))


class PatchSet(torch.utils.data.Dataset):
    """Labelled patches for :func:`fnaf.train.fit` and scoring: ``images`` ``(N, P, P)`` cut at
    ``table``'s rows (:func:`patch_images`), standardised as ``(image - mean) / std``. Items are
    indexed like slices, by ``index`` or ``(index, seed)`` (patches draw nothing at random)."""

    def __init__(self, images: np.ndarray, table: pd.DataFrame, mean: float, std: float):
        if len(images) != len(table):
            raise ValueError(f"{len(images)} patches for {len(table)} table rows")
        if not std > 0:
            raise ValueError(f"the standardisation's std must be > 0, not {std}")
        self.images = torch.from_numpy((np.asarray(images, np.float32) - mean) / std)
        self.table = table.reset_index(drop=True)
        self.labels = torch.tensor(self.table["label"].to_numpy(), dtype=torch.long)

    def __len__(self) -> int:
        return len(self.table)

    @property
    def shapes(self) -> list[tuple[int, int]]:
        return [tuple(self.images.shape[1:])] * len(self)

    def __getitem__(self, key) -> PatchBatch:
        index = key[0] if isinstance(key, tuple) else key
        row = self.table.iloc[index]
        return PatchBatch(self.images[index], self.labels[index], row["fname"],
                          int(row["slice"]))
