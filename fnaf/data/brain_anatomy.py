"""Brain anatomy for the anatomy-shift experiments: axial slices of a real brain, the MNI152
2009a symmetric template (ICBM 152, Fonov et al. 2011) that ships inside nilearn's wheel.

The template gives tissue probabilities at 1 mm (grey matter, white matter, the brain mask; CSF
is the mask's remainder); a skull and a scalp shell are drawn around the brain, so that the
image, like a real head scan, has a bright rim of subcutaneous fat. A *volume* is a slab of
``num_slices`` axial slices of that brain, rotated, scaled and shifted in plane by a random
draw, resampled onto the k-space grid of a :class:`~fnaf.data.knee_anatomy.Grid` (the
phantom's field of view: the ``crop`` x ``crop`` target spans :data:`FIELD_OF_VIEW_MM`, the
read-out direction is oversampled 2x as in fastMRI's data) with the anterior side up.

One subject's anatomy: training and validation volumes differ by slab position, pose, contrast
and noise, never by subject. That is enough for an anatomy *shift* (knee against brain) but
makes the brain's own validation easier than a new subject would be.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import ndimage

from fnaf.data.knee_anatomy import Grid

#: Tissue classes of a brain slice (the last axis of :func:`brain_tissues`' output).
TISSUES = ("csf", "grey matter", "white matter", "skull", "scalp")
#: The width of the target image in millimetres (fastMRI's brain scans: about 220 mm).
FIELD_OF_VIEW_MM = 220.0
#: Skull and scalp thickness in millimetres.
SKULL_MM, SCALP_MM = 6.0, 5.0
#: The axial template planes (of 189, 1 mm apart) that slabs are drawn from: the cerebrum, from
#: the lateral ventricles' floor to below the vertex.
AXIAL_RANGE = (62, 150)

_INSTALL = ("the brain anatomy comes from nilearn's MNI152 template, which ships inside its "
            "wheel: `pip install nilearn` (no download at run time)")


def template_loader():
    """nilearn's ``datasets`` module, which reads the template from inside its own package.

    Raises:
        ImportError: nilearn is not installed (the message says what to install).
    """
    try:
        from nilearn import datasets
    except ImportError as error:
        raise ImportError(f"nilearn is not installed: {_INSTALL}") from error
    return datasets


@lru_cache(maxsize=1)
def template_tissues() -> np.ndarray:
    """Tissue probabilities of the MNI152 2009a template at 1 mm: float32
    ``(197, 233, 189, 5)`` (left-right, posterior-anterior, inferior-superior; :data:`TISSUES`),
    with the skull and scalp shells drawn outside the brain mask.

    Raises:
        ImportError: nilearn is not installed (the message says what to install).
    """
    datasets = template_loader()
    try:
        grey, white, mask = (np.asarray(load(resolution=1).get_fdata(), np.float32) for load in (
            datasets.load_mni152_gm_template, datasets.load_mni152_wm_template,
            datasets.load_mni152_brain_mask))
    except (OSError, ValueError) as error:
        raise OSError(f"nilearn's MNI152 template could not be read ({error}); reinstall "
                      f"nilearn: {_INSTALL}") from error
    csf = np.clip(mask - grey - white, 0, 1)
    outside = ndimage.distance_transform_edt(mask < 0.5)  # mm from the brain
    skull = ((outside > 0) & (outside <= SKULL_MM)).astype(np.float32)
    scalp = ((outside > SKULL_MM) & (outside <= SKULL_MM + SCALP_MM)).astype(np.float32)
    return np.stack([csf, grey, white, skull, scalp], -1)


def brain_slab(rng: np.random.Generator, grid: Grid, num_slices: int) -> np.ndarray:
    """Tissue probabilities of one volume: float32 ``(num_slices, height, width, 5)`` on the full
    k-space grid, ``num_slices`` adjacent axial planes (3 mm apart) from a random position in
    :data:`AXIAL_RANGE`, rotated by up to 10°, scaled by 0.9-1.1 and shifted by up to 8 mm."""
    tissues = template_tissues()
    spacing = 3
    extent = spacing * (num_slices - 1)
    low, high = AXIAL_RANGE
    if extent > high - low:
        raise ValueError(f"{num_slices} slices 3 mm apart do not fit the template's cerebrum "
                         f"({high - low} mm); ask for at most {(high - low) // spacing + 1}")
    first = int(rng.integers(low, high - extent + 1))
    angle = np.deg2rad(rng.uniform(-10, 10))
    zoom = rng.uniform(0.9, 1.1)
    shift = rng.uniform(-8, 8, size=2)
    # output pixel (row, col) -> template (x: left-right, y: posterior-anterior) in mm
    mm_per_pixel = FIELD_OF_VIEW_MM / grid.crop / zoom
    rows = np.arange(grid.height) - (grid.height - 1) / 2
    cols = np.arange(grid.width) - (grid.width - 1) / 2
    row_grid, col_grid = np.meshgrid(rows * mm_per_pixel, cols * mm_per_pixel, indexing="ij")
    cos, sin = np.cos(angle), np.sin(angle)
    centre = (np.array(tissues.shape[:2]) - 1) / 2
    x = centre[0] + cos * col_grid - sin * row_grid + shift[0]
    y = centre[1] - (sin * col_grid + cos * row_grid) + shift[1]  # anterior up
    slab = np.empty((num_slices, grid.height, grid.width, len(TISSUES)), np.float32)
    for index in range(num_slices):
        plane = tissues[:, :, first + spacing * index]
        for tissue in range(len(TISSUES)):
            slab[index, ..., tissue] = ndimage.map_coordinates(plane[..., tissue], [x, y],
                                                               order=1, cval=0.0)
    return slab
