"""The embedded knee phantom: a procedural fastMRI-format knee dataset, single- or multi-coil
(and, for the anatomy shift, brains through the same pipeline).

:func:`phantom_volume` renders one volume (k-space, targets, boxes); :func:`write_phantom`
writes a dataset laid out like fastMRI's (``singlecoil_train/``, ``singlecoil_val/`` and the
annotation CSVs ``singlecoil_bb_{train,val}.csv``; with ``coils > 1`` the ``multicoil_*``
equivalents); :func:`phantom_dataset` returns the path of a cached copy, generated on first use.
The simulation:

1. tissue label map of each coronal slice (:mod:`fnaf.data.knee_anatomy`) on the full field of
   view (2x read-out oversampling: ``H = 2 * crop``), abnormalities drawn in; or, with
   ``anatomy="brain"``, tissue probabilities of axial slices of a real brain
   (:mod:`fnaf.data.brain_anatomy`, no abnormalities);
2. magnitude from a contrast table (knee: PD, PD-FS or the second source's 3-D FSE PD; brain:
   T1, T2, FLAIR), textures correlated across slices, a smooth coil shading; a smooth phase;
   the volume scaled to fastMRI's intensity range (about 1e-4);
3. k-space = ``fft2c`` of the image plus complex Gaussian noise, zero outside the acquired
   phase-encode columns (as in fastMRI's zero-padded knee data);
4. ``reconstruction_esc`` = ``|centre crop (ifft2c(kspace))|`` (exactly the target a fully-sampled
   reconstruction is scored against) and ``reconstruction_rss`` = the noise-free magnitude crop;
5. multi-coil (``coils > 1``): the same image (same anatomy, lesions and boxes: coil draws come
   from a generator of their own) times birdcage sensitivities
   (:func:`fnaf.data.coils.birdcage_maps`, ``sum_c |S_c|^2 = 1``), complex Gaussian noise of the
   same level on every coil, and ``reconstruction_rss`` = the root-sum-of-squares of the
   centre-cropped coil images of that k-space (fastMRI's multi-coil target).

The cache lives under ``$FNAF_CACHE`` (default ``~/.cache/fnaf``) in a folder named by a hash of
the parameters and the generator version; it is written to a staging folder and renamed, so an
interrupted run leaves nothing half-written (a killed run's staging folder is removed by the next
run), and new parameters give a new folder.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import ndimage

from fnaf.data import knee_anatomy as anatomy
from fnaf.data.annotations import LABEL_CODES, write_annotations
from fnaf.data.brain_anatomy import brain_slab, template_loader
from fnaf.data.coils import birdcage_maps
from fnaf.data.fastmri_writer import ismrmrd_header, write_volume
from fnaf.io import atomic_directory, ensure_writable
from fnaf.mri import center_crop, fft2c, ifft2c, rss

GENERATOR_VERSION = 3


@dataclass(frozen=True)
class Geometry:
    """k-space ``(H, W)`` with ``H = 2 * crop`` (read-out oversampling), target ``crop``^2,
    and ``acquired`` phase-encode columns in the middle of ``W`` (the rest zero-padded)."""

    name: str
    kspace_shape: tuple[int, int]
    crop: int
    acquired: int

    @property
    def padding(self) -> tuple[int, int]:
        left = (self.kspace_shape[1] - self.acquired) // 2
        return left, left + self.acquired


GEOMETRIES = {
    "paper": Geometry("paper", (640, 368), 320, 340),  # fastMRI knee: 640x368 -> 320x320
    "demo": Geometry("demo", (256, 148), 128, 136),  # the same proportions at 128x128
    "smoke": Geometry("smoke", (64, 40), 32, 36),  # tests
}


def get_geometry(geometry: str | Geometry) -> Geometry:
    if isinstance(geometry, Geometry):
        return geometry
    try:
        return GEOMETRIES[geometry]
    except KeyError:
        raise ValueError(
            f"unknown geometry {geometry!r}; choose one of {sorted(GEOMETRIES)}"
        ) from None


# Magnitude of each tissue class (knee_anatomy.TISSUES order) for fastMRI's coronal PD and
# PD-FS, and a 3-D fast-spin-echo PD (the second source of the dataset shift, like the Stanford
# knees of mridata.org: fat and marrow brighter, muscle darker, fluid and cartilage closer).
CONTRASTS = {
    "CORPD_FBK": np.array([0, 0.90, 0.35, 0.80, 0.05, 0.55, 0.70, 0.07, 0.50, 0.72, 0.55, 0.75]),
    "CORPDFS_FBK": np.array([0, 0.12, 0.30, 0.18, 0.05, 0.50, 0.95, 0.07, 0.80, 0.92, 0.75, 1.0]),
    "PD_3DFSE": np.array([0, 1.00, 0.28, 0.90, 0.04, 0.62, 0.85, 0.06, 0.60, 0.80, 0.55, 0.90]),
}
# ... and of each brain tissue (brain_anatomy.TISSUES order: CSF, grey and white matter, skull,
# scalp) for fastMRI brain's T1, T2 and FLAIR weightings.
BRAIN_CONTRASTS = {
    "AXT1": np.array([0.15, 0.45, 0.75, 0.05, 0.90]),
    "AXT2": np.array([1.00, 0.55, 0.40, 0.05, 0.60]),
    "AXFLAIR": np.array([0.12, 0.70, 0.50, 0.05, 0.55]),
}
#: The contrasts a volume is drawn from (uniformly), per anatomy.
DEFAULT_CONTRASTS = {"knee": ("CORPDFS_FBK", "CORPD_FBK"), "brain": tuple(BRAIN_CONTRASTS)}
ANATOMIES = tuple(DEFAULT_CONTRASTS)
#: The acquisition fields of :class:`PhantomConfig` and their defaults (added after the first
#: datasets: left out of the cache keys at their defaults).
ACQUISITION_DEFAULTS = {"anatomy": "knee", "contrasts": None, "fov": 1.0, "coil_radius": 1.5}
TEXTURED = {anatomy.FAT: 0.05, anatomy.MUSCLE: 0.08, anatomy.MARROW: 0.09, anatomy.EDEMA: 0.1}


@dataclass(frozen=True)
class PhantomConfig:
    """What determines a phantom dataset (its cache key).

    The validation split carries more lesions (``val_lesions_per_volume``, each of the 11
    labels at least ``val_lesions_per_label`` times) than the training split, so that Table 4
    has enough (volume, slice, label) units per compartment for a paired test: the demo's 10
    validation volumes hold about as many units as the published validation CSV (157).

    The acquisition: ``anatomy`` (``"knee"``: the procedural knees; ``"brain"``: real brain
    anatomy, :mod:`fnaf.data.brain_anatomy`, no lesions or boxes), the ``contrasts`` volumes are
    drawn from (``None``: the anatomy's :data:`DEFAULT_CONTRASTS`), ``fov`` (the field of view
    relative to the default: above 1 the anatomy is smaller in the image), the k-space
    ``noise`` (relative to the image scale) and the coils (``coils``, on a circle of
    ``coil_radius`` half fields of view).
    """

    geometry: str = "demo"
    train_volumes: int = 40
    val_volumes: int = 10
    slices: int = 8
    noise: float = 0.015
    lesions_per_volume: float = 2.5
    val_lesions_per_volume: float = 7.0
    val_lesions_per_label: int = 3
    seed: int = 0
    coils: int = 1
    anatomy: str = "knee"
    contrasts: tuple[str, ...] | None = None
    fov: float = 1.0
    coil_radius: float = 1.5

    def __post_init__(self):  # validated before any generation or cache lookup
        get_geometry(self.geometry)
        if self.anatomy not in ANATOMIES:
            raise ValueError(f"unknown anatomy {self.anatomy!r}; choose one of {list(ANATOMIES)}")
        if self.anatomy == "brain":
            template_loader()  # the brain's source is installed (offline: inside nilearn)
        if self.contrasts is not None:
            object.__setattr__(self, "contrasts", tuple(self.contrasts))
            known = BRAIN_CONTRASTS if self.anatomy == "brain" else CONTRASTS
            unknown = [name for name in self.contrasts if name not in known] or (
                [] if self.contrasts else ["(none)"])
            if unknown:
                raise ValueError(f"phantom contrasts {unknown} are not {self.anatomy} contrasts; "
                                 f"choose from {sorted(known)}")
        for name in ("fov", "coil_radius"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0.5 <= value <= 3):
                raise ValueError(f"phantom {name} must be a number in [0.5, 3], not {value!r}")
        for name in ("train_volumes", "val_volumes", "slices", "coils"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"phantom {name} must be an integer >= 1, not "
                                 f"{getattr(self, name)!r}")
        for name in ("noise", "lesions_per_volume", "val_lesions_per_volume",
                     "val_lesions_per_label"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"phantom {name} must be >= 0, not {getattr(self, name)!r}")

    @property
    def challenge(self) -> str:
        """fastMRI's name for the layout: ``"singlecoil"`` or ``"multicoil"``."""
        return "multicoil" if self.coils > 1 else "singlecoil"

    @property
    def acquisitions(self) -> tuple[str, ...]:
        """The contrasts volumes are drawn from."""
        return self.contrasts or DEFAULT_CONTRASTS[self.anatomy]

    def identity(self) -> dict:
        """The fields, the acquisition's (:data:`ACQUISITION_DEFAULTS`) only where they differ
        from their defaults: what the caches built on a phantom hash, so that the datasets and
        runs from before these fields keep their keys."""
        return {name: value for name, value in asdict(self).items()
                if name not in ACQUISITION_DEFAULTS or value != ACQUISITION_DEFAULTS[name]}

    def key(self) -> str:
        """A hash of :meth:`identity` (``coils`` only when multi-coil: single-coil keys predate
        it)."""
        fields = self.identity()
        if self.coils == 1:
            del fields["coils"]
        payload = json.dumps({**fields, "version": GENERATOR_VERSION}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _smooth_noise(rng: np.random.Generator, shape, sigma) -> np.ndarray:
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    return field / (field.std() + 1e-12)


def _volume_labels(rng: np.random.Generator, geometry: Geometry, num_slices: int,
                   lesion_codes: list[str], fov: float = 1.0):
    grid = anatomy.Grid(*geometry.kspace_shape, geometry.crop)
    centre = anatomy.UNITS / 2  # a wider field of view about the crop's centre
    x, y = (centre + fov * (coordinate - centre) for coordinate in grid.coordinates())
    knee = anatomy.KneeParameters.draw(rng)
    knee.lesions = anatomy.draw_lesions(knee, lesion_codes, num_slices, rng)
    z_positions = np.linspace(-0.6, 0.6, num_slices) if num_slices > 1 else np.zeros(1)
    labels = np.empty((num_slices, *geometry.kspace_shape), dtype=np.uint8)
    boxes = []
    for index, z in enumerate(z_positions):
        labels[index], regions = anatomy.anatomy_slice(knee, z, x, y, fov * grid.unit)
        for lesion in knee.lesions:
            pixels = anatomy.apply_lesion(labels[index], regions, lesion, index, x, y, knee)
            box = anatomy.box_of(pixels, grid) if pixels.any() else None
            if box is not None:
                boxes.append((index, lesion.label, box))
    return labels, boxes


def _shading(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A smooth receive-field shading ``(height, width)`` between 0.75 and 1.25."""
    rows, cols = np.meshgrid(np.linspace(-1, 1, height), np.linspace(-1, 1, width), indexing="ij")
    direction = rng.uniform(-1, 1, size=2)
    return 1 + 0.25 * np.tanh(direction[0] * cols + 0.5 * direction[1] * rows)


def _magnitude(rng: np.random.Generator, labels: np.ndarray, acquisition: str,
               grid_unit: float) -> np.ndarray:
    magnitude = CONTRASTS[acquisition][labels]
    sigma_texture = (0.7, 2.5 / grid_unit, 2.5 / grid_unit)
    for tissue, strength in TEXTURED.items():
        texture = _smooth_noise(rng, labels.shape, sigma_texture)
        magnitude = np.where(labels == tissue, magnitude * (1 + strength * texture), magnitude)
    return np.clip(magnitude, 0, None) * _shading(rng, *labels.shape[1:])


def _brain_magnitude(rng: np.random.Generator, tissues: np.ndarray, acquisition: str,
                     grid_unit: float) -> np.ndarray:
    """Magnitude of a brain slab ``(S, H, W, tissues)``: the tissue mixture's contrast with a
    mild texture and the shading."""
    magnitude = tissues @ BRAIN_CONTRASTS[acquisition]
    texture = _smooth_noise(rng, magnitude.shape, (0.7, 1.5 / grid_unit, 1.5 / grid_unit))
    magnitude = magnitude * (1 + 0.05 * texture)
    return np.clip(magnitude, 0, None) * _shading(rng, *magnitude.shape[1:])


def _phase(rng: np.random.Generator, shape) -> np.ndarray:
    num_slices, height, width = shape
    rows, cols = np.meshgrid(np.linspace(-1, 1, height), np.linspace(-1, 1, width), indexing="ij")
    ramp = rng.uniform(-1, 1) * rows + rng.uniform(-1, 1) * cols + rng.uniform(-np.pi, np.pi)
    slow = _smooth_noise(rng, shape, (1.5, height / 8, width / 8))
    return ramp[None] + 0.6 * slow


def _zero_unacquired(kspace: np.ndarray, geometry: Geometry) -> np.ndarray:
    left, right = geometry.padding
    kspace[..., :left] = 0
    kspace[..., right:] = 0
    return kspace.astype(np.complex64)


def multicoil_kspace(image: np.ndarray, geometry: Geometry, coils: int, sigma: float,
                     rng: np.random.Generator, coil_radius: float = 1.5
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Multi-coil k-space of ``image`` ``(S, H, W)`` through birdcage sensitivities (coils on a
    circle of ``coil_radius``) with complex Gaussian noise of standard deviation ``sigma`` per
    real component on every coil.

    Returns:
        ``(kspace, rss)``: complex64 ``(S, coils, H, W)`` (zero outside the acquired columns) and
        fastMRI's ``reconstruction_rss``, float32 ``(S, crop, crop)``.
    """
    maps = birdcage_maps(coils, geometry.kspace_shape, coil_radius)
    coil_images = torch.from_numpy(np.ascontiguousarray(image[:, None] * maps)).to(torch.complex64)
    kspace = fft2c(coil_images).numpy()
    kspace = kspace + sigma * (rng.standard_normal(kspace.shape)
                               + 1j * rng.standard_normal(kspace.shape))
    kspace = _zero_unacquired(kspace, geometry)
    crop = (geometry.crop, geometry.crop)
    target = rss(center_crop(ifft2c(torch.from_numpy(kspace)), crop))
    return kspace, target.numpy().astype(np.float32)


def phantom_volume(rng: np.random.Generator, geometry: str | Geometry, num_slices: int,
                   acquisition: str, lesion_codes: list[str], noise: float = 0.015,
                   coils: int = 1, coil_rng: np.random.Generator | None = None,
                   anatomy_name: str = "knee", fov: float = 1.0, coil_radius: float = 1.5):
    """One volume.

    ``coils > 1`` renders the same volume (the draws from ``rng`` are unchanged) as multi-coil
    data, its coil noise drawn from ``coil_rng``. ``anatomy_name="brain"`` renders a slab of
    the brain template (:func:`fnaf.data.brain_anatomy.brain_slab`; no lesions, no boxes).

    Returns:
        ``(kspace, targets, boxes)``: k-space complex64 ``(S, H, W)`` (multi-coil
        ``(S, coils, H, W)``); the targets float32 ``(S, crop, crop)`` in network orientation,
        ``{"reconstruction_esc", "reconstruction_rss"}`` (multi-coil: ``reconstruction_rss``
        only, as fastMRI); boxes as a list of ``(slice_index, label, (x0, x1, y0, y1))`` in the
        CSV frame.
    """
    geometry = get_geometry(geometry)
    unit = fov * anatomy.UNITS / geometry.crop
    if anatomy_name == "brain":
        grid = anatomy.Grid(*geometry.kspace_shape, geometry.crop)
        slab = brain_slab(rng, grid, num_slices)
        magnitude, boxes = _brain_magnitude(rng, slab, acquisition, unit), []
    else:
        labels, boxes = _volume_labels(rng, geometry, num_slices, lesion_codes, fov)
        magnitude = _magnitude(rng, labels, acquisition, unit)
    scale = rng.uniform(1.5e-4, 5e-4)  # fastMRI single-coil knee intensities
    image = scale * magnitude * np.exp(1j * _phase(rng, magnitude.shape))
    image = image[:, ::-1, :]  # display frame (femur on top) -> network orientation
    kspace = fft2c(torch.from_numpy(np.ascontiguousarray(image)).to(torch.complex64)).numpy()
    sigma = noise * scale / np.sqrt(2)
    kspace = kspace + sigma * (rng.standard_normal(kspace.shape)
                               + 1j * rng.standard_normal(kspace.shape))
    kspace = _zero_unacquired(kspace, geometry)
    if coils > 1:
        kspace, target = multicoil_kspace(image, geometry, coils, sigma, coil_rng, coil_radius)
        return kspace, {"reconstruction_rss": target}, boxes
    crop = (geometry.crop, geometry.crop)
    esc = center_crop(ifft2c(torch.from_numpy(kspace)), crop).abs().numpy()
    magnitude = np.abs(center_crop(image, crop))
    return kspace, {"reconstruction_esc": esc.astype(np.float32),
                    "reconstruction_rss": magnitude.astype(np.float32)}, boxes


def _split_lesion_codes(rng: np.random.Generator, num_volumes: int, rate: float,
                        per_label: int = 1):
    """Lesion labels per volume: Poisson counts; every label at least ``per_label`` times when
    the split has room for all of them, the rest drawn by (flattened) real-data frequency."""
    counts = rng.poisson(rate, size=num_volumes)
    total = int(counts.sum())
    forced = per_label * len(LABEL_CODES)
    codes = list(LABEL_CODES) * per_label if total >= forced else []
    codes += list(rng.choice(LABEL_CODES, size=total - len(codes), p=anatomy.LABEL_WEIGHTS))
    codes = [str(code) for code in rng.permutation(codes)]
    bounds = np.cumsum(counts)[:-1]
    return [list(part) for part in np.split(np.array(codes, dtype=object), bounds)]


def write_phantom(out: str | PathLike, config: PhantomConfig = PhantomConfig(),
                  progress: bool = False, force: bool = False) -> Path:
    """Write the phantom dataset described by ``config`` as the folder ``out``, atomically.

    The dataset is built in a staging folder beside ``out`` and renamed into place when
    complete, so an interrupted run leaves no partial dataset. A non-empty ``out`` is refused
    (``FileExistsError``) unless ``force``, which replaces it.
    """
    with atomic_directory(out, force=force) as staging:
        _write_files(staging, config, progress)
    return Path(out)


def _write_files(out: Path, config: PhantomConfig, progress: bool) -> None:
    geometry = get_geometry(config.geometry)
    rng = np.random.default_rng(config.seed)
    challenge = config.challenge
    for split, num_volumes, first_id in (("train", config.train_volumes, 2_000_000),
                                         ("val", config.val_volumes, 2_100_000)):
        split_path = out / f"{challenge}_{split}"
        split_path.mkdir(parents=True, exist_ok=True)
        rate, per_label = ((config.lesions_per_volume, 1) if split == "train" else
                           (config.val_lesions_per_volume, config.val_lesions_per_label))
        lesion_codes = _split_lesion_codes(rng, num_volumes, rate, per_label)
        rows = []
        volumes = range(num_volumes)
        if progress:
            from tqdm import tqdm
            volumes = tqdm(volumes, desc=f"phantom {split}")
        for number in volumes:
            acquisitions = config.acquisitions
            acquisition = acquisitions[int(rng.random() * len(acquisitions))]
            coil_rng = np.random.default_rng([config.seed, first_id + number])
            kspace, targets, boxes = phantom_volume(
                rng, geometry, config.slices, acquisition, lesion_codes[number], config.noise,
                config.coils, coil_rng, config.anatomy, config.fov, config.coil_radius)
            name = f"file{first_id + number}"
            scored = targets["reconstruction_rss" if config.coils > 1 else "reconstruction_esc"]
            attrs = dict(max=float(scored.max()), norm=float(np.linalg.norm(scored)),
                         acquisition=acquisition, patient_id=f"phantom-{config.seed}-{name}")
            header = ismrmrd_header(geometry.kspace_shape, (geometry.crop, geometry.crop),
                                    geometry.padding)
            write_volume(split_path / f"{name}.h5", kspace, targets, header, attrs)
            rows += [dict(filename=name, slice=index + 1, label=label, x0=box[0], x1=box[1],
                          y0=box[2], y1=box[3]) for index, label, box in sorted(boxes)]
        frame = pd.DataFrame(rows, columns=["filename", "slice", "label", "x0", "x1", "y0", "y1"])
        write_annotations(frame, out / f"{challenge}_bb_{split}.csv")
    (out / "phantom.json").write_text(json.dumps({**asdict(config),
                                                  "version": GENERATOR_VERSION}, indent=2))


def cache_dir() -> Path:
    """Root of fnaf's on-disk cache: ``$FNAF_CACHE`` or ``~/.cache/fnaf``."""
    return Path(os.environ.get("FNAF_CACHE", Path.home() / ".cache" / "fnaf"))


def phantom_dataset(config: PhantomConfig = PhantomConfig(), root: str | PathLike | None = None,
                    progress: bool = False) -> Path:
    """Path of the phantom dataset for ``config``, generated (atomically) if not cached yet.

    Args:
        config: the dataset's parameters; any change gives a different folder.
        root: cache root (default :func:`cache_dir`); the data go to ``root/phantom/<key>``.
    """
    fix = ("pass a writable root" if root is not None else
           "point $FNAF_CACHE at a writable folder (the phantom is generated there on first use; "
           "default ~/.cache/fnaf)")
    root = Path(root) if root is not None else cache_dir()
    target = root / "phantom" / f"{config.geometry}-{config.key()}"
    if (target / "phantom.json").exists():
        return target
    ensure_writable(target.parent, fix)
    try:
        write_phantom(target, config, progress=progress)
    except OSError:  # another process finished first
        if not (target / "phantom.json").exists():
            raise
    return target
