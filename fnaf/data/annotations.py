"""Bounding-box annotations of knee abnormalities (Calivá et al.'s fastMRI CSV format).

Format (``singlecoil_bb_train.csv``/``singlecoil_bb_val.csv``): header
``filename,slice,numBBs,labels,coords``; one row per annotated (volume, slice); ``filename``
without ``.h5``; ``slice`` 1-based; ``labels`` a NumPy string-array repr (``['Med_Men']``);
``coords`` a NumPy float-array repr with one ``[x0 x1 y0 y1]`` row per box, rows with several
boxes quoted across lines. Boxes live in the 320x320 ``reconstruction_esc`` image *flipped
vertically* (the femur on top), with ``x`` the column and ``y`` the row of that flipped image.

:func:`rasterize_boxes` turns boxes into per-label masks in network orientation (rows flipped
back), filling ``[int(y0), int(y1)) x [int(x0), int(x1))`` of the flipped frame (truncation, which
matches the released classifier patches best), scaled when the crop is not 320.
"""

from __future__ import annotations

import csv
import hashlib
import re
import warnings
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from fnaf.io import atomic_path

HEADER = ["filename", "slice", "numBBs", "labels", "coords"]
ANNOTATION_SIZE = 320  # boxes are given on the 320x320 reconstruction_esc grid
COLUMNS = ["filename", "slice", "label", "x0", "x1", "y0", "y1", "line"]


@dataclass(frozen=True)
class Label:
    """One of the 11 annotated compartments: CSV code, the paper's name, anatomy fields."""

    code: str
    name: str
    tissue: str
    side: str | None
    bone: str | None


# In the order of the released code's mask channels and of the paper's Table 4.
LABELS = (
    Label("CartMedFem", "Cart Med Fem", "cartilage", "medial", "femur"),
    Label("CartLatFem", "Cart Lat Fem", "cartilage", "lateral", "femur"),
    Label("CartMedTib", "Cart Med Tib", "cartilage", "medial", "tibia"),
    Label("CartLatTib", "Cart Lat Tib", "cartilage", "lateral", "tibia"),
    Label("BML_Med_Fem", "BML Med Fem", "bone marrow", "medial", "femur"),
    Label("BML_Lat_Fem", "BML Lat Fem", "bone marrow", "lateral", "femur"),
    Label("BML_Med_Tib", "BML Med Tib", "bone marrow", "medial", "tibia"),
    Label("BML_Lat_Tib", "BML Lat Tib", "bone marrow", "lateral", "tibia"),
    Label("Med_Men", "Med Men", "meniscus", "medial", None),
    Label("Lat_Men", "Lat Men", "meniscus", "lateral", None),
    Label("Cyst", "Cyst", "cyst", None, None),
)
LABEL_CODES = tuple(label.code for label in LABELS)
LABEL_BY_CODE = {label.code: label for label in LABELS}
LABEL_INDEX = {code: index for index, code in enumerate(LABEL_CODES)}

_LABEL_TOKEN = re.compile(r"'([^']*)'")
_INNERMOST_BRACKETS = re.compile(r"\[([^\[\]]*)\]")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


class AnnotationError(ValueError):
    """A malformed annotation file; the message names the file and line."""


class AnnotationWarning(UserWarning):
    """Annotations left out because their volumes are not in the data (the message counts)."""


def _parse_row(row: list[str], path: Path, line: int) -> list[dict]:
    where = f"{path}, line {line}"
    if len(row) != len(HEADER):
        raise AnnotationError(f"{where}: expected {len(HEADER)} fields {HEADER}, got {len(row)}")
    filename, slice_text, count_text, labels_text, coords_text = row
    try:
        slice_num, count = int(slice_text), int(count_text)
    except ValueError:
        raise AnnotationError(
            f"{where}: slice {slice_text!r} and numBBs {count_text!r} must be integers"
        ) from None
    if slice_num < 1:
        raise AnnotationError(f"{where}: slice {slice_num} must be >= 1 (slices are 1-based)")
    labels = _LABEL_TOKEN.findall(labels_text)
    rows = [[float(value) for value in _NUMBER.findall(text)]
            for text in _INNERMOST_BRACKETS.findall(coords_text)]
    if len(labels) != count or len(rows) != count:
        raise AnnotationError(
            f"{where}: numBBs is {count} but the row has {len(labels)} labels and "
            f"{len(rows)} coordinate rows [x0 x1 y0 y1]"
        )
    if any(len(row) != 4 for row in rows):
        raise AnnotationError(
            f"{where}: coordinate rows hold {[len(row) for row in rows]} numbers; each box is "
            "one row of 4, [x0 x1 y0 y1]"
        )
    boxes = []
    for index, label in enumerate(labels):
        if label not in LABEL_BY_CODE:
            raise AnnotationError(
                f"{where}: unknown label {label!r}; known labels are {', '.join(LABEL_CODES)}"
            )
        x0, x1, y0, y1 = rows[index]
        if not (x0 <= x1 and y0 <= y1):
            raise AnnotationError(
                f"{where}: box {index} of {label} is [{x0}, {x1}, {y0}, {y1}], but boxes are "
                "[x0, x1, y0, y1] with x0 <= x1 and y0 <= y1"
            )
        if min(x0, y0) < 0 or max(x1, y1) > ANNOTATION_SIZE:
            raise AnnotationError(
                f"{where}: box {index} of {label} is [{x0}, {x1}, {y0}, {y1}], outside the "
                f"{ANNOTATION_SIZE}x{ANNOTATION_SIZE} reconstruction grid the boxes are drawn on"
            )
        boxes.append(
            dict(filename=filename, slice=slice_num, label=label, x0=x0, x1=x1, y0=y0, y1=y1,
                 line=line)
        )
    return boxes


def read_annotations(path: str | PathLike) -> pd.DataFrame:
    """Read an annotation CSV into one row per box.

    Returns:
        DataFrame with columns ``filename, slice, label, x0, x1, y0, y1, line``: ``slice`` as
        written (1-based), ``label`` the CSV code, ``line`` the row's first line in the file.
    """
    path = Path(path)
    boxes: list[dict] = []
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header != HEADER:
            raise AnnotationError(
                f"{path}, line 1: header must be {','.join(HEADER)}, got {header}")
        start = reader.line_num + 1
        for row in reader:
            if row:
                boxes.extend(_parse_row(row, path, start))
            start = reader.line_num + 1
    frame = pd.DataFrame(boxes, columns=COLUMNS)
    frame = frame.astype({"slice": int, "line": int, "x0": float, "x1": float, "y0": float,
                          "y1": float})
    frame.attrs["path"] = str(path)  # named by the errors of match_volumes
    return frame


def _format_row(group: pd.DataFrame) -> list[str]:
    coords = group[["x0", "x1", "y0", "y1"]].to_numpy(dtype=np.float64)
    labels = np.array(group["label"].tolist())
    return [
        group["filename"].iloc[0],
        str(int(group["slice"].iloc[0])),
        str(len(group)),
        str(labels),
        np.array2string(coords, precision=5),
    ]


def write_annotations(boxes: pd.DataFrame, path: str | PathLike) -> None:
    """Write one row per box (columns as :func:`read_annotations`) in the published format.

    Boxes of a (filename, slice) pair are grouped into one row, in order of first appearance.
    The file is written atomically.
    """
    with atomic_path(path) as partial, open(partial, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        for _, group in boxes.groupby(["filename", "slice"], sort=False):
            writer.writerow(_format_row(group))


def rasterize_boxes(boxes: pd.DataFrame, shape: tuple[int, int] = (ANNOTATION_SIZE,) * 2):
    """Per-label masks ``(11, H, W)`` bool of the given boxes, in network orientation.

    The boxes (CSV frame: 320x320, rows flipped) are scaled by ``H/320`` and ``W/320``, filled by
    truncation in the flipped frame (at least one pixel each), and the rows flipped back. Boxes of
    the same label merge into one channel; channels follow :data:`LABEL_CODES`.
    """
    height, width = shape
    masks = np.zeros((len(LABELS), height, width), dtype=bool)
    scale_y, scale_x = height / ANNOTATION_SIZE, width / ANNOTATION_SIZE
    for box in boxes.itertuples(index=False):
        rows = _pixel_span(box.y0 * scale_y, box.y1 * scale_y, height)
        cols = _pixel_span(box.x0 * scale_x, box.x1 * scale_x, width)
        masks[LABEL_INDEX[box.label], rows, cols] = True
    return masks[:, ::-1, :].copy()


def _pixel_span(start: float, stop: float, size: int) -> slice:
    first = min(max(int(start), 0), size - 1)
    last = min(max(int(stop), first + 1), size)
    return slice(first, last)


def volume_name(fname: str | PathLike) -> str:
    """The CSV's volume key: the file name without ``.h5`` (``file1000196``)."""
    name = Path(fname).name
    return name.removesuffix(".h5")


class AnnotationIndex:
    """Look up the boxes of a dataset slice: ``index.masks(fname, slice_num, shape)``.

    ``slice_num`` is the dataset's 0-based slice index; the CSV's 1-based slice is converted.
    """

    def __init__(self, boxes: pd.DataFrame):
        self.boxes = boxes
        self._groups = {key: group for key, group in boxes.groupby(["filename", "slice"])}

    def boxes_for(self, fname: str | PathLike, slice_num: int) -> pd.DataFrame:
        key = (volume_name(fname), slice_num + 1)
        return self._groups.get(key, self.boxes.iloc[:0])

    def masks(self, fname: str | PathLike, slice_num: int, shape: tuple[int, int]) -> np.ndarray:
        """``(11, H, W)`` bool masks of one slice in network orientation (all False if none)."""
        return rasterize_boxes(self.boxes_for(fname, slice_num), shape)

    def fingerprint(self) -> str:
        """A hash of the boxes (what a cached box score was computed on)."""
        columns = sorted(self.boxes.columns)
        frame = self.boxes[columns].sort_values(columns).reset_index(drop=True)
        return hashlib.sha256(pd.util.hash_pandas_object(frame).values.tobytes()).hexdigest()[:16]


def label_counts(boxes: pd.DataFrame) -> pd.DataFrame:
    """Per-label counts in the paper's order: boxes, ``N`` = distinct (volume, slice, label)
    (the evaluation unit of Table 4) and volumes."""
    rows = []
    for label in LABELS:
        subset = boxes[boxes["label"] == label.code]
        rows.append(
            dict(
                label=label.code,
                compartment=label.name,
                boxes=len(subset),
                N=len(subset.drop_duplicates(["filename", "slice"])),
                volumes=subset["filename"].nunique(),
            )
        )
    return pd.DataFrame(rows)


def coverage_map(boxes: pd.DataFrame, shape: tuple[int, int] = (ANNOTATION_SIZE,) * 2):
    """How many (volume, slice, label) instances cover each pixel, in the CSV's (flipped,
    femur-on-top) display frame: the regional distribution map of the paper's Fig. 3."""
    counts = np.zeros(shape, dtype=np.int64)
    for _, group in boxes.groupby(["filename", "slice"]):
        counts += rasterize_boxes(group, shape)[:, ::-1, :].sum(axis=0)
    return counts


def match_volumes(boxes: pd.DataFrame, volumes) -> pd.DataFrame:
    """The boxes of the volumes in ``volumes`` (a :class:`~fnaf.data.fastmri.SliceDataset`'s
    ``volumes``: objects with ``fname`` and ``num_slices``).

    Boxes of volumes not in the data are dropped with an :class:`AnnotationWarning` that says
    how many (a CSV of the whole dataset used with a subset of its volumes).

    Raises:
        AnnotationError: the CSV has boxes but none of its volumes is in the data (a CSV of
            another dataset or split), or a box names a slice beyond its volume's depth (file
            and line named).
    """
    depth = {volume_name(volume.fname): volume.num_slices for volume in volumes}
    source = boxes.attrs.get("path", "the annotation CSV")
    matched = boxes[boxes["filename"].isin(depth)]
    if len(boxes) and matched.empty:
        raise AnnotationError(
            f"none of the {boxes['filename'].nunique()} annotated volumes of {source} (e.g. "
            f"{boxes['filename'].iloc[0]}) is among the {len(depth)} volumes of the data; pass "
            "the annotation CSV that belongs to this data root and split"
        )
    beyond = matched[matched["slice"] > matched["filename"].map(depth)]
    if len(beyond):
        box = beyond.iloc[0]
        raise AnnotationError(
            f"{source}, line {box['line']}: slice {box['slice']} of {box['filename']} (1-based), "
            f"but the volume has {depth[box['filename']]} slices ({len(beyond)} such boxes); "
            "the CSV does not belong to these files"
        )
    dropped = boxes[~boxes["filename"].isin(depth)]
    if len(dropped):
        warnings.warn(
            f"{source}: {len(dropped)} of {len(boxes)} boxes ({dropped['filename'].nunique()} of "
            f"{boxes['filename'].nunique()} annotated volumes, e.g. "
            f"{dropped['filename'].iloc[0]}) are of volumes not in the data and are left out",
            AnnotationWarning, stacklevel=2)
    return matched
