"""Procedural coronal knee anatomy for the embedded phantom: tissue maps and abnormalities.

Everything is drawn in the *display frame* of the annotation CSVs (femur on top, rows flipped
relative to ``reconstruction_esc``) and measured in *units* of the paper's 320x320 crop, so the
anatomy, the lesion sizes and the boxes are the same at every geometry; only the pixel grid
changes. A volume is a stack of coronal slices at positions ``z`` in [-1, 1] (anterior to
posterior); every shape parameter is a smooth function of ``z`` and the textures are correlated
across slices, so neighbouring slices look alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from fnaf.data.annotations import LABEL_BY_CODE, LABEL_CODES

UNITS = 320.0  # the annotation grid

# Tissue classes of the label map; lesion classes come after the anatomy.
AIR, FAT, MUSCLE, MARROW, CORTEX, CARTILAGE, FLUID, MENISCUS = range(8)
EDEMA, DEFECT, TEAR, CYST = range(8, 12)
TISSUES = ("air", "fat", "muscle", "marrow", "cortex", "cartilage", "fluid", "meniscus",
           "edema", "cartilage defect", "meniscal tear", "cyst")

# Relative frequency of each label in the published training CSV (boxes per label), flattened
# by a square root so that rare labels still appear in small phantom datasets.
_TRAIN_BOXES = dict(CartMedFem=44, CartLatFem=13, CartMedTib=11, CartLatTib=18, BML_Med_Fem=85,
                    BML_Lat_Fem=97, BML_Med_Tib=34, BML_Lat_Tib=50, Med_Men=82, Lat_Men=32,
                    Cyst=46)
LABEL_WEIGHTS = np.sqrt([_TRAIN_BOXES[code] for code in LABEL_CODES])
LABEL_WEIGHTS = LABEL_WEIGHTS / LABEL_WEIGHTS.sum()


@dataclass(frozen=True)
class Grid:
    """A full-FOV pixel grid ``(height, width)`` whose central ``crop`` x ``crop`` pixels span
    the 320-unit annotation frame."""

    height: int
    width: int
    crop: int

    @property
    def unit(self) -> float:
        """Units per pixel."""
        return UNITS / self.crop

    def coordinates(self) -> tuple[np.ndarray, np.ndarray]:
        """Pixel-centre coordinates ``(x, y)`` in units, each ``(height, width)``."""
        rows = (np.arange(self.height) - (self.height - self.crop) // 2 + 0.5) * self.unit
        cols = (np.arange(self.width) - (self.width - self.crop) // 2 + 0.5) * self.unit
        return np.meshgrid(cols, rows)


@dataclass
class Lesion:
    """One abnormality: its CSV label, the slices it spans and how to draw it."""

    label: str
    slices: range
    center: tuple[float, float]  # (x, y) in units at the middle slice
    radii: tuple[float, float]
    angle: float = 0.0

    def scale(self, slice_index: int) -> float:
        """Relative size on ``slice_index``: largest in the middle of the run, never zero."""
        middle = (self.slices.start + self.slices.stop - 1) / 2
        half = len(self.slices) / 2
        return float(np.sqrt(max(1 - ((slice_index - middle) / (half + 0.5)) ** 2, 0.15)))


@dataclass
class KneeParameters:
    """Per-volume anatomy: joint position, sizes, which side is medial."""

    x_center: float
    joint_y: float
    leg_half_width: float
    bone_scale: float
    medial_sign: int  # +1: medial compartment at larger x (a left knee in this frame)
    lesions: list[Lesion] = field(default_factory=list)

    @classmethod
    def draw(cls, rng: np.random.Generator) -> KneeParameters:
        return cls(
            x_center=160 + rng.uniform(-8, 8),
            joint_y=190 + rng.uniform(-8, 8),
            leg_half_width=128 + rng.uniform(-10, 10),
            bone_scale=1 + rng.uniform(-0.07, 0.07),
            medial_sign=int(rng.choice([-1, 1])),
        )

    def side_sign(self, side: str | None) -> int:
        return self.medial_sign if side == "medial" else -self.medial_sign


def _ellipse(x, y, cx, cy, rx, ry, angle=0.0) -> np.ndarray:
    cos, sin = np.cos(angle), np.sin(angle)
    u, v = (x - cx) * cos + (y - cy) * sin, -(x - cx) * sin + (y - cy) * cos
    return (u / rx) ** 2 + (v / ry) ** 2 <= 1


def _distance_inside(mask: np.ndarray, unit: float) -> np.ndarray:
    return ndimage.distance_transform_edt(mask) * unit


def anatomy_slice(knee: KneeParameters, z: float, x: np.ndarray, y: np.ndarray,
                  unit: float) -> tuple[np.ndarray, dict]:
    """Tissue label map ``(H, W)`` uint8 of one slice at position ``z`` and the masks the
    lesions are placed against (``femur``, ``tibia``, ``cartilage_femur``, ...)."""
    s = knee.bone_scale * (0.8 + 0.2 * np.cos(np.pi * z / 2))  # bones widest mid-volume
    xc, yj = knee.x_center, knee.joint_y
    gap = 7 + 2 * abs(z)

    leg = (np.abs(x - xc) / (knee.leg_half_width * (1 + 0.06 * (yj - y) / 160))) ** 3 < 1
    femur = (
        ((np.abs(x - xc) < 40 * s) & (y < yj - 50 * s))
        | _ellipse(x, y, xc, yj - 60 * s, 78 * s, 38 * s)
        | _ellipse(x, y, xc - 41 * s, yj - 31 * s - gap / 2, 40 * s, 31 * s)
        | _ellipse(x, y, xc + 41 * s, yj - 31 * s - gap / 2, 40 * s, 31 * s)
    ) & ~_ellipse(x, y, xc, yj - gap / 2, (10 + 4 * (1 - abs(z))) * s, 26 * s)
    plateau_half_width = 38 * s + 56 * s / (1 + np.exp((y - (yj + 60 * s)) / 10))
    tibia_top = yj + gap / 2 + 3 * ((x - xc) / (90 * s)) ** 2 - 9 * np.exp(-((x - xc) / 11) ** 2)
    tibia = (np.abs(x - xc) < plateau_half_width) & (y > tibia_top)
    fibula = _ellipse(x, y, xc - knee.medial_sign * 100 * s, yj + 52 * s, 15 * s, 22 * s)
    bone = (femur | tibia | fibula) & leg

    labels = np.full(x.shape, AIR, dtype=np.uint8)
    labels[leg] = MUSCLE
    labels[leg & (_distance_inside(leg, unit) < 11)] = FAT
    joint_band = (np.abs(x - xc) < 92 * s) & (y > yj - 45 * s) & (y < yj + 22 * s) & leg
    to_femur, to_tibia = _distance_inside(~femur, unit), _distance_inside(~tibia, unit)
    labels[joint_band & ~bone & (to_femur < 10) & (to_tibia < 10)] = FLUID
    cartilage_femur = (to_femur > 0) & (to_femur < 4.5) & joint_band & (y > yj - 40 * s)
    cartilage_tibia = (to_tibia > 0) & (to_tibia < 4.0) & joint_band
    cartilage_tibia &= (y < yj + 18 * s) & (np.abs(x - xc) < 86 * s)
    labels[cartilage_femur | cartilage_tibia] = CARTILAGE
    menisci = np.zeros_like(bone)
    for sign in (-1, 1):
        apex_x, outer_x = xc + sign * 62 * s, xc + sign * 95 * s
        depth = (x - apex_x) / (outer_x - apex_x)  # 0 at the apex, 1 at the outer rim
        menisci |= (depth > 0) & (depth < 1) & (np.abs(y - yj) < 11 * depth * s)
    menisci &= (abs(z) < 0.85) & ~bone
    labels[menisci] = MENISCUS
    labels[bone] = MARROW
    labels[bone & (_distance_inside(bone, unit) < 2.5)] = CORTEX
    marrow = labels == MARROW
    regions = dict(
        femur=femur & marrow, tibia=tibia & marrow, menisci=menisci, leg=leg,
        cartilage_femur=cartilage_femur, cartilage_tibia=cartilage_tibia,
    )
    return labels, regions


def draw_lesions(knee: KneeParameters, label_codes: list[str], num_slices: int,
                 rng: np.random.Generator) -> list[Lesion]:
    """Place one lesion per label code at an anatomically plausible site of ``knee``."""
    lesions = []
    xc, yj = knee.x_center, knee.joint_y
    for code in label_codes:
        label = LABEL_BY_CODE[code]
        sign = knee.side_sign(label.side)
        if label.tissue == "bone marrow":
            length = int(rng.integers(2, 7))
            radii = (rng.uniform(10, 34), rng.uniform(8, 24))
            if label.bone == "femur":
                center = (xc + sign * rng.uniform(30, 55), yj - 12 - radii[1] * 0.8)
            else:
                center = (xc + sign * rng.uniform(30, 60), yj + 10 + radii[1] * 0.8)
        elif label.tissue == "cartilage":
            length = int(rng.integers(1, 4))
            radii = (rng.uniform(6, 18), 7.0)
            offset = -8 if label.bone == "femur" else 7
            center = (xc + sign * rng.uniform(25, 65), yj + offset)
        elif label.tissue == "meniscus":
            length = int(rng.integers(2, 5))
            radii = (rng.uniform(6, 12), 1.6)
            center = (xc + sign * rng.uniform(72, 86), yj + rng.uniform(-3, 3))
        else:  # cyst: at a joint margin, medial or lateral
            length = int(rng.integers(1, 4))
            radius = rng.uniform(4, 11)
            radii = (radius, radius * rng.uniform(0.8, 1.2))
            sign = int(rng.choice([-1, 1]))
            center = (xc + sign * rng.uniform(92, 104), yj + rng.uniform(-8, 14))
        length = min(length, num_slices)
        start = int(rng.integers(0, num_slices - length + 1))
        lesions.append(Lesion(code, range(start, start + length), center, radii,
                              angle=float(rng.uniform(-0.6, 0.6))))
    return lesions


def apply_lesion(labels: np.ndarray, regions: dict, lesion: Lesion, slice_index: int,
                 x: np.ndarray, y: np.ndarray, knee: KneeParameters) -> np.ndarray:
    """Draw ``lesion`` into ``labels`` (in place); return the pixels the box must cover."""
    if slice_index not in lesion.slices:
        return np.zeros_like(labels, dtype=bool)
    label = LABEL_BY_CODE[lesion.label]
    grow = lesion.scale(slice_index)
    region = _ellipse(x, y, *lesion.center, lesion.radii[0] * grow, lesion.radii[1] * grow,
                      lesion.angle if label.tissue in ("meniscus", "cyst") else 0.0)
    if label.tissue == "bone marrow":
        region &= regions[label.bone]
        labels[region] = EDEMA
        return region
    if label.tissue == "cartilage":
        region &= regions[f"cartilage_{label.bone}"]
        labels[region] = DEFECT
        return region
    if label.tissue == "meniscus":
        sign = knee.side_sign(label.side)
        meniscus = regions["menisci"] & ((x - knee.x_center) * sign > 0)
        tear = region & meniscus
        labels[tear] = TEAR
        return meniscus if tear.any() else tear  # the annotator boxes the meniscus segment
    region &= regions["leg"]
    labels[region] = CYST
    return region


def box_of(pixels: np.ndarray, grid: Grid, margin: float = 2.0) -> tuple[float, ...] | None:
    """``(x0, x1, y0, y1)`` in CSV units of the crop, around the pixels (with a margin), or
    ``None`` if the pixels are fewer than two or outside the crop."""
    offset_rows, offset_cols = (grid.height - grid.crop) // 2, (grid.width - grid.crop) // 2
    rows, cols = np.nonzero(pixels)
    rows, cols = rows - offset_rows, cols - offset_cols
    inside = (rows >= 0) & (rows < grid.crop) & (cols >= 0) & (cols < grid.crop)
    if inside.sum() < 2:
        return None
    rows, cols = rows[inside], cols[inside]
    unit = grid.unit
    x0, x1 = cols.min() * unit - margin, (cols.max() + 1) * unit + margin
    y0, y1 = rows.min() * unit - margin, (rows.max() + 1) * unit + margin
    return tuple(float(np.clip(v, 0, UNITS)) for v in (x0, x1, y0, y1))
