"""Cartesian under-sampling masks, bit-identical to fastMRI's ``fastmri.data.subsample``.

The mask functions are drop-ins for fastMRI's: ``mask_func(shape, offset=None, seed=None)``
samples columns along ``shape[-2]`` (the phase-encode width of fastMRI's ``(..., H, W, 2)``
layout) and returns ``(mask, num_low_frequencies)`` with ``mask`` a float32 tensor shaped like
``shape`` with ones everywhere except ``W`` at dimension -2. They draw from a legacy
``numpy.random.RandomState`` in fastMRI's order (choose the (centre fraction, acceleration) pair,
then the acceleration mask), round the centre width with Python's ``round`` and place the centre
block at ``(W - n + 1) // 2``, so the same seed gives the same mask as fastMRI.

For torch complex k-space ``(..., H, W)`` use :func:`apply_mask`, which calls the mask function
with ``shape = (H, W, 2)`` and returns a mask of shape ``(1, W)``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from os import PathLike
from pathlib import Path

import numpy as np
import torch

#: The paper's masks: random (fastMRI ``RandomMaskFunc``), centre fraction by acceleration.
CENTER_FRACTIONS = {4: 0.08, 8: 0.04}
#: Robustness-CS's masks (Darestani et al.'s code): centre fraction 0.07, at 4x only.
ROBUSTNESS_CS_CENTER_FRACTIONS = {4: 0.07}
#: How far ``W / sum(mask)`` may stray from the acceleration in Robustness-CS's redraw loop.
ROBUSTNESS_CS_TOLERANCE = 0.03
#: The mask styles: fastMRI's (the package's default) and Robustness-CS's
#: (:class:`ToleranceMaskFunc` at :data:`ROBUSTNESS_CS_CENTER_FRACTIONS`, the columns outside
#: the target's width zeroed, :func:`central_columns`).
MASK_STYLES = ("fastmri", "robustness-cs")


@contextlib.contextmanager
def temp_seed(rng: np.random.RandomState, seed) -> Iterator[None]:
    """Reseed ``rng`` with ``seed`` inside the block and restore its state afterwards."""
    if seed is None:
        yield
        return
    state = rng.get_state()
    rng.seed(seed)
    try:
        yield
    finally:
        rng.set_state(state)


def volume_seed(fname: str | PathLike) -> tuple[int, ...]:
    """fastMRI's per-volume validation seed: the code points of the file *name*.

    Every slice of ``file1000000.h5`` gets ``tuple(map(ord, "file1000000.h5"))``, so validation
    masks are deterministic and shared by the slices of a volume.
    """
    return tuple(map(ord, Path(fname).name))


class MaskFunc:
    """Base class: chooses (centre fraction, acceleration) and builds centre + acceleration masks.

    Args:
        center_fractions: fraction of low-frequency columns always kept, each in (0, 1).
        accelerations: under-sampling factors, each > 1, paired with ``center_fractions``.
        allow_any_combination: draw the fraction and the acceleration independently.
        seed: seed of the mask function's own ``RandomState`` (unseeded calls use it).
    """

    def __init__(
        self,
        center_fractions: Sequence[float],
        accelerations: Sequence[float],
        allow_any_combination: bool = False,
        seed=None,
    ):
        center_fractions, accelerations = list(center_fractions), list(accelerations)
        if not center_fractions or not accelerations:
            raise ValueError("center_fractions and accelerations must not be empty")
        if len(center_fractions) != len(accelerations) and not allow_any_combination:
            raise ValueError(
                f"got {len(center_fractions)} center_fractions but {len(accelerations)} "
                "accelerations; give one centre fraction per acceleration "
                "(or pass allow_any_combination=True)"
            )
        for fraction in center_fractions:
            if not 0 < fraction < 1:
                raise ValueError(f"center fraction {fraction} is outside (0, 1)")
        for acceleration in accelerations:
            if not acceleration > 1:
                raise ValueError(f"acceleration {acceleration} must be greater than 1")
        pairs = ([(f, a) for f in center_fractions for a in accelerations]
                 if allow_any_combination else list(zip(center_fractions, accelerations)))
        for fraction, acceleration in pairs:
            if fraction * acceleration >= 1:
                raise ValueError(
                    f"center fraction {fraction} at acceleration {acceleration} keeps "
                    f"{fraction:.0%} of the columns in the centre alone, more than the "
                    f"1/{acceleration:g} the acceleration allows; use a centre fraction below "
                    f"{1 / acceleration:.3g} (fastMRI: 0.08 at 4x, 0.04 at 8x)"
                )
        self.center_fractions = center_fractions
        self.accelerations = accelerations
        self.allow_any_combination = allow_any_combination
        self.rng = np.random.RandomState(seed)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(center_fractions={self.center_fractions}, "
            f"accelerations={self.accelerations})"
        )

    def __call__(self, shape: Sequence[int], offset: int | None = None, seed=None):
        """Sample a mask for data of ``shape`` (at least 3-D, columns at ``shape[-2]``).

        Returns:
            ``(mask, num_low_frequencies)``; ``mask`` is float32 with shape ``(1, .., W, 1)``.
        """
        if len(shape) < 3:
            raise ValueError(
                f"shape {tuple(shape)} must have at least 3 dimensions, with the column count at "
                "shape[-2] as in fastMRI's (..., H, W, 2) layout"
            )
        with temp_seed(self.rng, seed):
            center_mask, accel_mask, num_low_frequencies = self.sample_mask(shape, offset)
        return torch.maximum(center_mask, accel_mask), num_low_frequencies

    def sample_mask(self, shape: Sequence[int], offset: int | None):
        num_cols = shape[-2]
        center_fraction, acceleration = self.choose_acceleration()
        num_low_frequencies = round(num_cols * center_fraction)
        if num_low_frequencies >= num_cols / acceleration:
            raise ValueError(
                f"{num_cols} columns at centre fraction {center_fraction} give "
                f"{num_low_frequencies} centre columns, not fewer than the {num_cols} / "
                f"{acceleration:g} the acceleration allows; the image is too narrow for this "
                "mask: lower the centre fraction"
            )
        center_mask = self.reshape_mask(self.center_mask(num_cols, num_low_frequencies), shape)
        accel_mask = self.reshape_mask(
            self.acceleration_mask(num_cols, acceleration, offset, num_low_frequencies), shape
        )
        return center_mask, accel_mask, num_low_frequencies

    def choose_acceleration(self) -> tuple[float, float]:
        if self.allow_any_combination:
            return self.rng.choice(self.center_fractions), self.rng.choice(self.accelerations)
        choice = self.rng.randint(len(self.center_fractions))
        return self.center_fractions[choice], self.accelerations[choice]

    @staticmethod
    def center_mask(num_cols: int, num_low_frequencies: int) -> np.ndarray:
        mask = np.zeros(num_cols, dtype=np.float32)
        pad = (num_cols - num_low_frequencies + 1) // 2
        mask[pad : pad + num_low_frequencies] = 1
        return mask

    @staticmethod
    def reshape_mask(mask: np.ndarray, shape: Sequence[int]) -> torch.Tensor:
        mask_shape = [1] * len(shape)
        mask_shape[-2] = shape[-2]
        return torch.from_numpy(mask.reshape(*mask_shape).astype(np.float32))

    def acceleration_mask(
        self, num_cols: int, acceleration: float, offset: int | None, num_low_frequencies: int
    ) -> np.ndarray:
        raise NotImplementedError


class RandomMaskFunc(MaskFunc):
    """Columns kept independently with probability ``(W/acc - n_low) / (W - n_low)``.

    One uniform draw per column (centre columns included), so the expected number of sampled
    columns is ``W / acc``. fastMRI's ``RandomMaskFunc``.
    """

    def acceleration_mask(self, num_cols, acceleration, offset, num_low_frequencies):
        prob = (num_cols / acceleration - num_low_frequencies) / (num_cols - num_low_frequencies)
        return self.rng.uniform(size=num_cols) < prob


class EquispacedMaskFractionFunc(MaskFunc):
    """Approximately equispaced columns plus the centre, with the total kept at ``W / acc``.

    The spacing is adjusted for the centre block, ``acc (n_low - W) / (n_low acc - W)``, and the
    positions are rounded, so they are not exactly equispaced. This is fastMRI's
    ``EquispacedMaskFractionFunc``, the behaviour of "equispaced" before September 2021 (used by
    i-RIM and Robustness-CS).
    """

    def acceleration_mask(self, num_cols, acceleration, offset, num_low_frequencies):
        adjusted_accel = (acceleration * (num_low_frequencies - num_cols)) / (
            num_low_frequencies * acceleration - num_cols
        )
        if offset is None:
            offset = self.rng.randint(0, high=round(adjusted_accel))
        mask = np.zeros(num_cols, dtype=np.float32)
        positions = np.around(np.arange(offset, num_cols - 1, adjusted_accel)).astype(np.uint)
        mask[positions] = 1.0
        return mask


class ToleranceMaskFunc(RandomMaskFunc):
    """One (centre fraction, acceleration) pair's :class:`RandomMaskFunc`, drawn again (from the
    same generator) until ``W / sum(mask)`` is within ``tolerance`` of the acceleration, as
    Robustness-CS's notebooks do (theirs are unseeded; seeded here, a seed gives one mask). The
    first draw is fastMRI's mask of the same seed.
    """

    def __init__(self, center_fraction: float, acceleration: float,
                 tolerance: float = ROBUSTNESS_CS_TOLERANCE, seed=None, max_draws: int = 10_000):
        super().__init__([center_fraction], [acceleration], seed=seed)
        if not 0 < tolerance < acceleration - 1:
            raise ValueError(f"tolerance {tolerance} must be in (0, acceleration - 1)")
        self.tolerance, self.max_draws = tolerance, max_draws

    def sample_mask(self, shape: Sequence[int], offset: int | None):
        num_cols, acceleration = shape[-2], self.accelerations[0]
        if np.floor(num_cols / (acceleration - self.tolerance)) < num_cols / (
                acceleration + self.tolerance):
            raise ValueError(f"no column count of a {num_cols}-column mask gives acceleration "
                             f"{acceleration} ± {self.tolerance}; raise the tolerance")
        for _ in range(self.max_draws):
            center_mask, accel_mask, num_low_frequencies = super().sample_mask(shape, offset)
            count = float(torch.maximum(center_mask, accel_mask).sum())
            if abs(num_cols / count - acceleration) <= self.tolerance:
                return center_mask, accel_mask, num_low_frequencies
        raise RuntimeError(f"no {num_cols}-column mask within acceleration {acceleration} ± "
                           f"{self.tolerance} in {self.max_draws} draws")


def central_columns(num_cols: int, kept: int) -> tuple[int, int]:
    """The ``(left, right)`` bounds of the central ``kept`` of ``num_cols`` columns, Robustness-CS's
    ``W // 2 - 160 : W // 2 + 160`` for the 320 columns of fastMRI's knee target; all of them
    where ``kept >= num_cols``."""
    if kept >= num_cols:
        return 0, num_cols
    left = num_cols // 2 - kept // 2
    return left, left + kept


def check_mask_style(mask_style: str) -> None:
    """Refuse a ``mask_style`` outside :data:`MASK_STYLES`."""
    if mask_style not in MASK_STYLES:
        raise ValueError(f"unknown mask_style {mask_style!r}; accepted: {list(MASK_STYLES)}")


def style_mask_function(mask_style: str, accels: Sequence[int]) -> MaskFunc:
    """The mask function of ``mask_style`` at ``accels`` (one drawn per call): fastMRI's
    :class:`RandomMaskFunc` at :data:`CENTER_FRACTIONS` (the default), or Robustness-CS's
    :class:`ToleranceMaskFunc` at :data:`ROBUSTNESS_CS_CENTER_FRACTIONS` (4x only)."""
    check_mask_style(mask_style)
    if mask_style == "fastmri":
        return RandomMaskFunc([CENTER_FRACTIONS[a] for a in accels], list(accels))
    unknown = sorted(set(accels) - set(ROBUSTNESS_CS_CENTER_FRACTIONS))
    if unknown:
        raise ValueError(f"Robustness-CS's masks exist at {list(ROBUSTNESS_CS_CENTER_FRACTIONS)}x "
                         f"only, not {unknown}x: use accel=4 or mask_style='fastmri'")
    if len(accels) != 1:
        raise ValueError(f"Robustness-CS's masks have one acceleration, not {list(accels)}")
    return ToleranceMaskFunc(ROBUSTNESS_CS_CENTER_FRACTIONS[accels[0]], accels[0])


MASK_TYPES = {"random": RandomMaskFunc, "equispaced_fraction": EquispacedMaskFractionFunc}


def create_mask_for_mask_type(
    mask_type: str, center_fractions: Sequence[float], accelerations: Sequence[float], seed=None
) -> MaskFunc:
    """Build a mask function by fastMRI's type name (``random`` or ``equispaced_fraction``)."""
    try:
        mask_class = MASK_TYPES[mask_type]
    except KeyError:
        raise ValueError(
            f"unknown mask type {mask_type!r}; choose one of {sorted(MASK_TYPES)}"
        ) from None
    return mask_class(center_fractions, accelerations, seed=seed)


def apply_mask(
    kspace: torch.Tensor,
    mask_func: MaskFunc,
    offset: int | None = None,
    seed=None,
    padding: tuple[int, int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Under-sample complex k-space ``(..., H, W)`` along its columns.

    Args:
        kspace: complex tensor ``(..., H, W)``.
        mask_func: a :class:`MaskFunc`.
        seed: per-call seed, e.g. :func:`volume_seed` for validation.
        padding: ``(left, right)``: zero the mask outside ``[left, right)`` (fastMRI's
            ``padding_left``/``padding_right``).

    Returns:
        ``(masked_kspace, mask, num_low_frequencies)`` with ``mask`` float32 of shape ``(1, W)``.
    """
    height, width = kspace.shape[-2:]
    mask, num_low_frequencies = mask_func((height, width, 2), offset=offset, seed=seed)
    mask = mask[..., 0]  # (1, W, 1) -> (1, W)
    if padding is not None:
        mask = mask.clone()
        mask[..., : padding[0]] = 0
        mask[..., padding[1] :] = 0
    return kspace * mask + 0.0, mask, num_low_frequencies
