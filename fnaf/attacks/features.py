"""Random FNAF features δ′ and their evaluation regions T (the FNAF paper, §3.2 and §3.4).

A feature is a small set of connected pixels on the target grid ``(h, w)`` with an intensity per
pixel. The paper's features have exactly 10 4-connected pixels (training: a number drawn from a
range), lie inside the central 120×120 region of the 320×320 image, and T is the feature plus a
border of 5 pixels. Sizes defined at 320×320 are scaled with the crop (``scaled``).

Everything is batched: ``count`` features are drawn at once on the generator's device.

* :func:`connected_features` — the paper's definition: exactly ``n`` distinct 4-connected pixels,
  grown one random frontier pixel at a time inside the central region.
* :func:`random_walk_features` — the released code's shape: a 4-connected random walk of ``n``
  steps whose revisits overwrite (≈7.3 distinct pixels for 10 steps), clipped to a central
  square (220×220 at 320×320 in the released U-Net code; :class:`FeatureSpec`'s ``placement``
  picks the square for either shape).
* :func:`region_mask` — T: the feature dilated by a disk of radius ``border``, per slice.
* :func:`released_region_mask` — the released code's T: the feature plus the largest connected
  piece of its 1-pixel 4-neighbour ring, per slice (the release computed it across the batch).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

#: Geometry of the paper, defined on the 320x320 target grid.
PAPER_CROP = 320
PAPER_REGION = 120
PAPER_BORDER = 5
RELEASED_CODE_SQUARE = 220
#: Side at 320×320 of the central square features lie in, per placement rule.
PLACEMENTS = {"paper": PAPER_REGION, "released": RELEASED_CODE_SQUARE}
#: Where a feature's intensity range comes from: its slice's maximum, or the batch's.
INTENSITIES = ("slice", "batch")


def scaled(size_at_320: float, crop: int) -> int:
    """A length given at the paper's 320×320 scale, scaled to a ``crop``-pixel image."""
    return round(size_at_320 * crop / PAPER_CROP)


def central_square(shape: tuple[int, int], size: int) -> tuple[int, int]:
    """Top-left corner ``(row, col)`` of the central ``size``×``size`` square of ``shape``."""
    if not 0 < size <= min(shape):
        raise ValueError(f"a central square of {size} px does not fit an image of {shape}")
    return (shape[0] - size) // 2, (shape[1] - size) // 2


@dataclass
class Features:
    """``count`` features on the target grid.

    ``mask`` bool ``(count, h, w)``; ``values`` float ``(count, h, w)``, the intensity added to
    the magnitude image (zero outside ``mask``).
    """

    mask: torch.Tensor
    values: torch.Tensor

    @property
    def sizes(self) -> torch.Tensor:
        """Distinct pixels per feature ``(count,)``."""
        return self.mask.sum(dim=(-2, -1))

    def centers(self) -> torch.Tensor:
        """Centroid ``(row, col)`` of each feature, ``(count, 2)`` float."""
        rows = torch.arange(self.mask.shape[-2], device=self.mask.device, dtype=torch.float32)
        cols = torch.arange(self.mask.shape[-1], device=self.mask.device, dtype=torch.float32)
        weights = self.mask.float()
        total = weights.sum(dim=(-2, -1)).clamp_min(1)
        return torch.stack([(weights.sum(-1) * rows).sum(-1) / total,
                            (weights.sum(-2) * cols).sum(-1) / total], dim=-1)

    def shifted(self, rows: torch.Tensor, cols: torch.Tensor) -> Features:
        """The same shapes and values moved by integer offsets ``(count,)`` (no wrap-around:
        callers keep the offsets inside the region)."""
        def move(field: torch.Tensor) -> torch.Tensor:
            return torch.stack([torch.roll(f, (int(r), int(c)), dims=(-2, -1))
                                for f, r, c in zip(field, rows.tolist(), cols.tolist())])
        return Features(move(self.mask), move(self.values))

    def __getitem__(self, index) -> Features:
        return Features(self.mask[index], self.values[index])


def size_range(n_pixels: int | tuple[int, int]) -> tuple[int, int]:
    """``(low, high)`` of a feature size given as one size or a range; ``ValueError`` if it is
    not a positive integer or an ordered pair of them."""
    low, high = (n_pixels, n_pixels) if isinstance(n_pixels, int) else tuple(n_pixels)
    if not all(isinstance(size, int) and not isinstance(size, bool) for size in (low, high)) \
            or not 1 <= low <= high:
        raise ValueError(f"n_pixels must be a positive size or a range (low, high) with "
                         f"low <= high, not {n_pixels!r}")
    return low, high


def _draw_sizes(count: int, n_pixels: int | tuple[int, int], generator: torch.Generator,
                limit: int) -> torch.Tensor:
    low, high = size_range(n_pixels)
    if high > limit:
        raise ValueError(f"n_pixels {high} does not fit the {limit}-pixel region; use fewer "
                         "pixels or a larger region")
    return torch.randint(low, high + 1, (count,), generator=generator, device=generator.device)


def _grow4(mask: torch.Tensor) -> torch.Tensor:
    """The 4-neighbourhood dilation of a bool ``(count, H, W)`` mask (without wrap-around)."""
    grown = mask.clone()
    grown[:, 1:] |= mask[:, :-1]
    grown[:, :-1] |= mask[:, 1:]
    grown[:, :, 1:] |= mask[:, :, :-1]
    grown[:, :, :-1] |= mask[:, :, 1:]
    return grown


def _intensities(mask: torch.Tensor, generator: torch.Generator, max_values: torch.Tensor | None,
                 value: float | None, value_range: tuple[float, float] | None) -> torch.Tensor:
    """Per-pixel intensities: constant ``value``, uniform in ``value_range``, or uniform in
    ``[0, max_values]`` per feature (the default: the slice's fully-sampled maximum)."""
    given = sum(option is not None for option in (max_values, value, value_range))
    if given != 1:
        raise ValueError("give exactly one of max_values (uniform in [0, max] per feature), "
                         "value (constant) or value_range (uniform in a fixed range)")
    if value is not None:
        return mask * float(value)
    uniform = torch.rand(mask.shape, generator=generator, device=mask.device)
    if value_range is not None:
        low, high = value_range
        return mask * (low + (high - low) * uniform)
    return mask * uniform * max_values.reshape(-1, 1, 1).to(uniform)


def connected_features(count: int, shape: tuple[int, int], n_pixels: int | tuple[int, int],
                       generator: torch.Generator, *, region: int | None = None,
                       max_values: torch.Tensor | None = None, value: float | None = None,
                       value_range: tuple[float, float] | None = None) -> Features:
    """Features of exactly ``n_pixels`` distinct 4-connected pixels inside the central region.

    Each feature starts at a uniform random pixel of the region and grows by one pixel drawn
    uniformly from its 4-neighbour frontier (inside the region) until it has its size.

    Args:
        count: number of features.
        shape: the target grid ``(h, w)``.
        n_pixels: the size, or an inclusive range ``(low, high)`` drawn uniformly per feature.
        generator: the random source (its device is the output's device).
        region: side of the central square (default: 120 at 320×320, scaled).
        max_values, value, value_range: the intensities (see :func:`_intensities`).
    """
    side = region if region is not None else scaled(PAPER_REGION, shape[0])
    top, left = central_square(shape, side)
    sizes = _draw_sizes(count, n_pixels, generator, side * side)
    device = generator.device
    canvas = torch.zeros(count, side, side, dtype=torch.bool, device=device)
    start = torch.randint(0, side * side, (count,), generator=generator, device=device)
    canvas.view(count, -1)[torch.arange(count, device=device), start] = True
    for step in range(1, int(sizes.max())):
        frontier = _grow4(canvas) & ~canvas
        scores = torch.rand(canvas.shape, generator=generator, device=device) * frontier
        chosen = scores.view(count, -1).argmax(dim=1)
        growing = torch.nonzero(sizes > step).squeeze(1)
        canvas.view(count, -1)[growing, chosen[growing]] = True
    mask = torch.zeros(count, *shape, dtype=torch.bool, device=device)
    mask[:, top:top + side, left:left + side] = canvas
    return Features(mask, _intensities(mask, generator, max_values, value, value_range))


def random_walk_features(count: int, shape: tuple[int, int], steps: int | tuple[int, int],
                         generator: torch.Generator, *, square: int | None = None,
                         max_values: torch.Tensor | None = None, value: float | None = None,
                         value_range: tuple[float, float] | None = None) -> Features:
    """The released code's features: a random walk of ``steps`` moves (revisits overwrite).

    The start is uniform in the central ``square`` (default: the released U-Net code's 220×220
    at 320×320, scaled); each step writes a fresh intensity, then moves ±1 along a random axis
    and is clipped to the square. Distinct pixels are at most ``steps`` (≈7.3 for 10 steps).
    """
    side = square if square is not None else scaled(RELEASED_CODE_SQUARE, shape[0])
    top, left = central_square(shape, side)
    lengths = _draw_sizes(count, steps, generator, 10**9)
    device = generator.device
    position = torch.stack([top + torch.randint(0, side, (count,), generator=generator,
                                                device=device),
                            left + torch.randint(0, side, (count,), generator=generator,
                                                 device=device)], dim=1)
    lower = torch.tensor([top, left], device=device)
    upper = lower + side - 1
    written = torch.zeros(count, *shape, dtype=torch.bool, device=device)
    rows = torch.arange(count, device=device)
    for step in range(int(lengths.max())):
        active = lengths > step
        written[rows[active], position[active, 0], position[active, 1]] = True
        axis = torch.randint(0, 2, (count,), generator=generator, device=device)
        sign = torch.randint(0, 2, (count,), generator=generator, device=device) * 2 - 1
        move = torch.zeros_like(position)
        move[rows, axis] = sign
        position = torch.minimum(torch.maximum(position + move, lower), upper)
    # a revisited pixel keeps one uniform draw, as the release's last overwrite does
    return Features(written, _intensities(written, generator, max_values, value, value_range))


def _disk(radius: int, device) -> torch.Tensor:
    offsets = torch.arange(-radius, radius + 1, device=device, dtype=torch.float32)
    return (offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius**2).float()


def region_mask(feature_mask: torch.Tensor, border: int) -> torch.Tensor:
    """T: every pixel within Euclidean distance ``border`` of the feature, per slice.

    ``feature_mask`` bool ``(N, h, w)``; ``border`` in pixels (the paper's 5 at 320×320: use
    ``scaled(PAPER_BORDER, h)``); 0 gives the feature itself.
    """
    if border < 0:
        raise ValueError(f"border must be >= 0 pixels, not {border}")
    if border == 0:
        return feature_mask.clone()
    kernel = _disk(border, feature_mask.device)[None, None]
    spread = F.conv2d(feature_mask[:, None].float(), kernel, padding=border)[:, 0]
    return spread > 0.5


def released_region_mask(feature_mask: torch.Tensor) -> torch.Tensor:
    """The released code's T, computed per slice: the feature plus the largest connected piece
    (scipy's default 4-connectivity; ties all kept) of its 1-pixel 4-neighbour ring."""
    features = feature_mask.cpu().numpy()
    regions = np.zeros_like(features)
    for index, feature in enumerate(features):
        ring = ndimage.binary_dilation(feature) & ~feature
        labels, count = ndimage.label(ring)
        if count:
            sizes = np.bincount(labels.ravel())[1:]
            ring = np.isin(labels, 1 + np.flatnonzero(sizes == sizes.max()))
        regions[index] = feature | ring
    return torch.from_numpy(regions).to(feature_mask.device)


SHAPES = ("connected", "walk")
REGION_RULES = ("paper", "released")


@dataclass(frozen=True)
class FeatureSpec:
    """How FNAF features are drawn and what their region T is: the one owner of these settings,
    shared by the attacks (:mod:`fnaf.attacks.search`) and FNAF-robust training
    (:class:`fnaf.objectives.FnafObjective`), and stored by the run and attack configs.

    Args:
        n_pixels: feature size (the paper: 10), or a range ``(low, high)`` drawn per feature.
        area_scaled: ``n_pixels``'s upper bound is given at 320×320 and scaled with the target
            grid's area when drawing (never below the lower bound): the paper's I-RIM range
            10–1000 becomes 10–160 on 128×128 images.
        border: T's border in pixels (default: the paper's 5 at 320×320, scaled to the grid).
        region: side of the central square features lie in (default: 120 at 320×320, scaled).
        shape: ``"connected"`` (the paper: exactly ``n_pixels`` 4-connected pixels) or ``"walk"``
            (the released code's random walk of ``n_pixels`` steps in its 220-px square).
        region_rule: ``"paper"`` (disk border) or ``"released"`` (1-px ring, largest piece).
        placement: the central square features lie in when ``region`` is not given:
            ``"paper"`` (120×120 at 320×320) or ``"released"`` (the released U-Net code's
            220×220), scaled; for either shape.
        intensities: ``"slice"`` (the paper: each pixel uniform in ``[0, max]`` of its slice's
            fully-sampled magnitude) or ``"batch"`` (the released code: the maximum over the
            batch the attack is called on, so the features depend on the batch).
        value, value_range: constant or fixed-range intensities instead.
    """

    n_pixels: int | tuple[int, int] = 10
    area_scaled: bool = False
    border: int | None = None
    region: int | None = None
    shape: str = "connected"
    region_rule: str = "paper"
    placement: str = "paper"
    intensities: str = "slice"
    value: float | None = None
    value_range: tuple[float, float] | None = None

    def __post_init__(self):  # validated before any work
        size_range(self.n_pixels)
        if self.border is not None and (not isinstance(self.border, int) or self.border < 0):
            raise ValueError(f"border must be None (the paper's, scaled) or >= 0 pixels, "
                             f"not {self.border!r}")
        for name, choice, accepted in (("shape", self.shape, SHAPES),
                                       ("region_rule", self.region_rule, REGION_RULES),
                                       ("placement", self.placement, tuple(PLACEMENTS)),
                                       ("intensities", self.intensities, INTENSITIES)):
            if choice not in accepted:
                raise ValueError(f"unknown {name} {choice!r}; accepted: {list(accepted)}")

    def sizes(self, grid: tuple[int, int]) -> int | tuple[int, int]:
        """The feature sizes on a target grid ``(h, w)`` (see ``area_scaled``)."""
        if not self.area_scaled:
            return self.n_pixels
        low, high = size_range(self.n_pixels)
        return low, max(low, round(high * (grid[0] / PAPER_CROP) ** 2))

    def side(self, grid: tuple[int, int]) -> int:
        """Side of the central square features lie in on a target grid ``(h, w)``."""
        return self.region if self.region is not None else scaled(PLACEMENTS[self.placement],
                                                                  grid[0])

    def check_grid(self, grid: tuple[int, int], owner: str) -> None:
        """Refuse, before any work, features that cannot be drawn on a target grid ``(h, w)``:
        a central square larger than the grid, or connected features of more pixels than the
        square holds; the ``ValueError`` starts with ``owner`` (whose features they are)."""
        side = self.side(grid)
        if not 0 < side <= min(grid):
            raise ValueError(f"{owner}: region {side} px (the central square features lie in) "
                             f"does not fit the {grid[0]}x{grid[1]} target grid; give a region "
                             f"of at most {min(grid)} px")
        high = size_range(self.sizes(grid))[1]
        if self.shape == "connected" and high > side * side:
            raise ValueError(f"{owner}: n_pixels {self.n_pixels!r} ({high} pixels on the "
                             f"{grid[0]}x{grid[1]} target grid) does not fit the central "
                             f"{side}x{side} square features are drawn in ({side * side} "
                             f"pixels); use n_pixels <= {side * side} or a larger region")

    def draw(self, target: torch.Tensor, per_slice: int, generator: torch.Generator) -> Features:
        """``per_slice`` random features for each slice of ``target`` ``(B, h, w)`` (adjacent),
        ``(B * per_slice, h, w)``; intensities relative to each slice's maximum by default."""
        count = len(target) * per_slice
        grid = tuple(target.shape[-2:])
        maxima = None
        if self.value is None and self.value_range is None:
            maxima = target.amax(dim=(-2, -1))
            if self.intensities == "batch":
                maxima = maxima.amax().expand(len(target))
            maxima = maxima.repeat_interleave(per_slice)
        side = self.side(grid)
        if self.shape == "connected":
            return connected_features(count, grid, self.sizes(grid), generator, region=side,
                                      max_values=maxima, value=self.value,
                                      value_range=self.value_range)
        return random_walk_features(count, grid, self.sizes(grid), generator, square=side,
                                    max_values=maxima, value=self.value,
                                    value_range=self.value_range)

    def regions(self, features: Features) -> torch.Tensor:
        """T of each feature, bool ``(count, h, w)``."""
        if self.region_rule == "released":
            return released_region_mask(features.mask)
        border = self.border if self.border is not None else scaled(
            PAPER_BORDER, features.mask.shape[-2])
        return region_mask(features.mask, border)
