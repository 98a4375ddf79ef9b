"""Experiment configs with ``smoke``/``demo``/``paper`` presets, and the run cache.

A :class:`RunConfig` says everything that determines a trained model: data, model, acceleration,
objective, optimiser and schedule. Its hash names a folder under :func:`runs_dir`
(``$FNAF_RUNS``, default ``~/.cache/fnaf/runs``) holding

* ``config.json`` — the config; ``checkpoint/`` — the engine's resumable state;
* ``model.pt`` — the selected weights (written last: its presence means the run is finished);
* ``metrics.json`` — per-epoch history and the final validation metrics per volume;
* ``provenance.json`` — package versions, git commit, device, wall time.

:func:`train_or_load` returns a trained model, training only when no finished run exists, so
notebooks share work and a re-run loads instead of recomputing. How long the presets take and
what they reproduce is documented in the book's baselines chapter.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field, replace
from os import PathLike
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from fnaf.attacks import AttackReport, FiniteDifference, RandomSearch, attack_dataset, perturb
from fnaf.attacks.evaluation import check_thresholds, feature_of
from fnaf.attacks.features import FeatureSpec
from fnaf.attacks.fnaf import DOMAINS, check_domain, zero_filled_magnitude
from fnaf.boxes import BOX_COLUMNS, box_nmse
from fnaf.data.annotations import AnnotationIndex, match_volumes, read_annotations
from fnaf.data.batches import collate_slices, to_device
from fnaf.data.fastmri import SliceDataset
from fnaf.data.masks import create_mask_for_mask_type
from fnaf.data.phantom import PhantomConfig, cache_dir
from fnaf.data.sources import data_fingerprint, data_source
from fnaf.data.transforms import SliceTransform
from fnaf.evaluation import Evaluation, evaluate, reconstruct_volumes, score_volumes
from fnaf.io import ensure_writable, load_json, load_torch, save_json, save_torch
from fnaf.models import IRIM, UNet, load_irim_checkpoint, load_weights
from fnaf.objectives import PAPER_ALPHA, PAPER_BETA, BoxObjective, CleanObjective, FnafObjective
from fnaf.pipelines import pipeline_for
from fnaf.train import FitResult, Settings, TrainingError, default_device, fit

#: The paper's masks: random (fastMRI ``RandomMaskFunc``), centre fraction by acceleration.
CENTER_FRACTIONS = {4: 0.08, 8: 0.04}
SCALES = ("smoke", "demo", "paper")
#: Part of every run's key: bump it when a change to the engine, the models or the data pipeline
#: changes what a config trains, so stale cached runs are not reused. 2: the FNAF share of a
#: batch is exact in expectation (at batch 1 the paper preset perturbed nothing before).
TRAINING_VERSION = 2
#: Part of every cached attack's key, bumped when the attack or what it records changes
#: (3: every candidate's control and the slice's contrast are recorded).
ATTACK_VERSION = 3
MODELS = ("unet", "irim")


@dataclass(frozen=True)
class UnetConfig:
    """fastMRI U-Net size (``fnaf.models.UNet``)."""

    chans: int = 32
    num_pool_layers: int = 4
    drop_prob: float = 0.0


@dataclass(frozen=True)
class IrimConfig:
    """i-RIM size (``fnaf.models.IRIM``); ``train_resolution`` is the i-RIM's training crop of
    the field of view (``None``: full field of view). ``memory_free`` backpropagates by
    inverting layers (the i-RIM's O(1)-memory training); off, plain autograd gives the same
    gradients (tested) about 1.6x faster on a CPU, where memory is not the limit."""

    n_steps: int = 8
    n_hidden: int = 64
    n_network_hidden: tuple[int, ...] = (64, 64, 128, 128, 256, 1024, 1024, 256, 128, 128, 64, 64)
    dilations: tuple[int, ...] = (1, 1, 2, 2, 4, 8, 8, 4, 2, 2, 1, 1)
    multiplicity: int = 4
    train_resolution: tuple[int, int] | None = (368, 368)
    memory_free: bool = True
    residual_output: bool = False


OPTIMIZERS = {"rmsprop": torch.optim.RMSprop, "adam": torch.optim.Adam, "sgd": torch.optim.SGD}


@dataclass(frozen=True)
class OptimConfig:
    """Optimiser (``"rmsprop"``, ``"adam"`` or plain ``"sgd"``) and StepLR schedule (stepped
    per epoch)."""

    name: str = "rmsprop"
    lr: float = 1e-3
    step_size: int = 40
    gamma: float = 0.1

    def __post_init__(self):
        check_choice("optimizer", self.name, OPTIMIZERS)
        if not (self.lr > 0 and self.step_size >= 1 and 0 < self.gamma <= 1):
            raise ValueError(f"the optimiser needs lr > 0, step_size >= 1 and 0 < gamma <= 1, "
                             f"not lr={self.lr}, step_size={self.step_size}, gamma={self.gamma}")


OBJECTIVES = ("clean", "fnaf", "bbox")


@dataclass(frozen=True)
class ObjectiveConfig:
    """What a run minimises (:mod:`fnaf.objectives`): ``"clean"`` (the model's own loss),
    ``"fnaf"`` (FNAF-robust, eq. 5) or ``"bbox"`` (eq. 5 with T = the annotated boxes).

    ``alpha``, ``beta`` weigh eq. 5 (the paper: 1 and 10); ``adv_fraction`` and
    ``n_candidates`` are :class:`~fnaf.objectives.FnafObjective`'s; ``n_pixels``,
    ``area_scaled`` and ``border`` are the features' (:class:`~fnaf.attacks.features.FeatureSpec`,
    whose defaults these are); ``domain`` is the NMSE's domain.
    """

    name: str = "clean"
    alpha: float = PAPER_ALPHA
    beta: float = PAPER_BETA
    adv_fraction: float = 0.5
    n_pixels: int | tuple[int, int] = FeatureSpec.n_pixels
    area_scaled: bool = FeatureSpec.area_scaled
    n_candidates: int = 1
    border: int | None = FeatureSpec.border
    domain: str = DOMAINS[0]

    def __post_init__(self):
        check_choice("objective", self.name, OBJECTIVES)
        self.build()  # the objectives validate their weights

    def build(self, annotations: AnnotationIndex | None = None):
        """The objective; ``annotations`` (the training split's boxes) for ``"bbox"``."""
        if self.name == "clean":
            return CleanObjective()
        if self.name == "bbox":
            return BoxObjective(annotations, self.alpha, self.beta, self.domain)
        features = FeatureSpec(n_pixels=self.n_pixels, area_scaled=self.area_scaled,
                               border=self.border)
        return FnafObjective(features, self.alpha, self.beta, self.adv_fraction,
                             self.n_candidates, self.domain)


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a trained model (its hash is the run's cache key).

    ``accel``: the training acceleration, or several (``(4, 8)``): one drawn per slice with its
    centre fraction, as fastMRI's ``MaskFunc`` does (fastMRI's and the released FNAF code's
    default); such a model is evaluated and attacked at each acceleration separately.
    ``data_root=None`` uses the embedded phantom described by ``phantom``. ``init_from``
    fine-tunes from another run's weights (the robust objectives start from the baselines).
    ``amp`` trains with bfloat16 autocast on CUDA (ignored on CPU). ``init_weights``: a local
    weight file to start from instead (a fastMRI U-Net state_dict or an official i-RIM
    checkpoint); with ``epochs=0`` the run *is* those weights, evaluated and cached like a
    trained run — the paper fine-tuned the released i-RIM this way.

    The key covers every field, the engine's :data:`TRAINING_VERSION` and, for a ``data_root``,
    the data's identity (:func:`~fnaf.data.sources.data_fingerprint`: the HDF5 files' names,
    sizes and modification times, and for B-Box runs the training annotation CSV's content),
    so replacing a volume or editing the boxes trains a new run instead of serving the old one.
    The phantom is identified by ``phantom`` (it is generated deterministically from it).
    """

    model: str
    accel: int | tuple[int, ...]
    scale: str
    network: UnetConfig | IrimConfig
    optim: OptimConfig
    epochs: int
    batch_size: int
    data_root: str | None = None
    phantom: PhantomConfig = field(default_factory=PhantomConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    init_from: RunConfig | None = None
    seed: int = 0
    amp: bool = False
    init_weights: str | None = None

    def __post_init__(self):
        check_choice("model", self.model, MODELS)
        if isinstance(self.accel, (list, tuple)):  # JSON gives lists; the key sees a tuple
            object.__setattr__(self, "accel", tuple(self.accel))
        for accel in self.accels:
            check_choice("accel", accel, sorted(CENTER_FRACTIONS))
        if not self.accels or len(set(self.accels)) != len(self.accels):
            raise ValueError(f"accel must be one acceleration or distinct ones, not {self.accel}")
        check_choice("scale", self.scale, SCALES)
        expected = UnetConfig if self.model == "unet" else IrimConfig
        if not isinstance(self.network, expected):
            raise TypeError(f"model {self.model!r} needs a {expected.__name__}, "
                             f"not {type(self.network).__name__}")
        if self.epochs < (0 if self.init_weights else 1) or self.batch_size < 1:
            raise ValueError(f"epochs ({self.epochs}) and batch_size ({self.batch_size}) must be "
                             "at least 1 (epochs 0 only with init_weights: the weights as given)")
        if self.init_weights is not None:
            if self.init_from is not None:
                raise ValueError("give init_from (a run) or init_weights (a file), not both")
            if not Path(self.init_weights).is_file():
                raise FileNotFoundError(f"init_weights {self.init_weights}: no such weight file "
                                        "(nothing is downloaded at run time)")

    @property
    def accels(self) -> tuple[int, ...]:
        """The training acceleration(s) as a tuple."""
        return self.accel if isinstance(self.accel, tuple) else (self.accel,)

    def evaluation_accel(self, accel: int | None = None) -> int:
        """The acceleration to evaluate or attack at: ``accel``, or the run's only one."""
        if accel is None:
            if len(self.accels) > 1:
                raise ValueError(f"{self.model} was trained on {self.accels} masks: name the "
                                 "acceleration to evaluate it at (accel=4 or accel=8)")
            return self.accels[0]
        check_choice("accel", accel, sorted(CENTER_FRACTIONS))
        return accel

    def key(self) -> str:
        payload = json.dumps({**asdict(self), "version": TRAINING_VERSION,
                              "data": self.data_identity(),
                              "init_from_key": self.init_from.key() if self.init_from else None,
                              "init_weights_file": _file_identity(self.init_weights)},
                             sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]

    def data_identity(self) -> str | None:
        """The fingerprint of ``data_root`` (``None`` for the phantom), see the class doc."""
        if self.data_root is None:
            return None
        csvs = [Path(self.data_root) / "singlecoil_bb_train.csv"] \
            if self.objective.name == "bbox" else []
        return data_fingerprint(self.data_root, csvs)

    @property
    def name(self) -> str:
        weights = self.init_weights is not None
        tuned = "-ft" if self.init_from is not None or (weights and self.epochs) else ""
        tuned = "-weights" + tuned if weights else tuned
        accel = "-".join(map(str, self.accels))
        return f"{self.model}-{self.objective.name}{tuned}-{accel}x-{self.scale}-{self.key()}"


def _file_identity(path: str | None) -> str | None:
    """Name, size and modification time of a weight file (``None`` for none)."""
    if path is None:
        return None
    status = Path(path).stat()
    return f"{Path(path).name}:{status.st_size}:{status.st_mtime_ns}"


def check_choice(name: str, value, accepted) -> None:
    """Raise a ``ValueError`` naming ``value`` and the accepted ones."""
    if value not in accepted:
        raise ValueError(f"unknown {name} {value!r}; accepted: {list(accepted)}")


MASKS = ("mixed", "separate")


def evaluation_accels(accel: int | str) -> tuple[int, ...]:
    """The accelerations a notebook's ``accel`` parameter names: ``4``, ``8`` or ``"both"``."""
    if accel == "both":
        return tuple(sorted(CENTER_FRACTIONS))
    check_choice("accel", accel, [*sorted(CENTER_FRACTIONS), "both"])
    return (accel,)


def training_accel(accel: int, masks: str = "mixed") -> int | tuple[int, ...]:
    """The training acceleration(s) of the model evaluated at ``accel``: ``"mixed"`` — one
    model trained on 4x and 8x masks serves both (fastMRI's and the released FNAF code's
    default); ``"separate"`` — a model per acceleration."""
    check_choice("masks", masks, MASKS)
    check_choice("accel", accel, sorted(CENTER_FRACTIONS))
    return tuple(sorted(CENTER_FRACTIONS)) if masks == "mixed" else accel


SMOKE_PHANTOM = PhantomConfig(geometry="smoke", train_volumes=3, val_volumes=2, slices=4, seed=3)

_NETWORKS = {
    ("smoke", "unet"): UnetConfig(chans=4, num_pool_layers=2),
    ("smoke", "irim"): IrimConfig(n_steps=2, n_hidden=16, n_network_hidden=(8, 8, 8),
                                  dilations=(1, 2, 1), multiplicity=1, train_resolution=None),
    ("demo", "unet"): UnetConfig(chans=8),
    ("demo", "irim"): IrimConfig(n_steps=4, n_hidden=16, n_network_hidden=(16, 32, 32, 16),
                                 dilations=(1, 2, 2, 1), multiplicity=1,
                                 train_resolution=(128, 128), memory_free=False,
                                 residual_output=True),
    ("paper", "unet"): UnetConfig(),
    ("paper", "irim"): IrimConfig(),
}
_OPTIM = {"unet": OptimConfig("rmsprop", 1e-3, 40, 0.1), "irim": OptimConfig("adam", 1e-4, 30, 0.1)}


def preset(scale: str = "demo", model: str = "unet", accel: int | tuple[int, ...] = 4,
           **overrides) -> RunConfig:
    """The clean baseline config of ``model`` trained at ``accel`` (one, or ``(4, 8)``: mixed
    masks) for a scale.

    * ``smoke`` — tests: 3+2 phantom volumes at 32x32, tiny networks, 2 epochs (seconds).
    * ``demo`` — the default: the embedded phantom (40+10 volumes x 8 slices, 128x128), U-Net
      chans 8 / a small i-RIM, sized for a 2-core CPU (minutes); schedules keep the paper's shape
      (learning-rate decay for the last fifth).
    * ``paper`` — the paper's setting: real fastMRI single-coil knee data (``data_root``
      required), U-Net chans 32 (RMSprop 1e-3, StepLR 40, 50 epochs, fastMRI) and the i-RIM
      single-coil preset (Adam 1e-4, StepLR 30, 50 epochs, batch 8, 368x368 training crop).

    ``overrides`` replace fields (e.g. ``epochs=2``, ``data_root="/data/knee"``);
    ``init_weights`` (a weight file, e.g. the released i-RIM) makes the file the baseline:
    ``epochs=0`` unless given.
    """
    check_choice("scale", scale, SCALES)
    check_choice("model", model, MODELS)
    optim = _OPTIM[model]
    if scale == "smoke":
        base = dict(epochs=2, batch_size=2, phantom=SMOKE_PHANTOM,
                    optim=replace(optim, step_size=1))
    elif scale == "demo":
        # The U-Net keeps fastMRI's learning rate; the small i-RIM needs 5e-3 (the paper's
        # 1e-4 x 50) to learn within 320 steps (measured: SSIM 0.668 at 1e-3, 0.709 at 3e-3,
        # 0.727 at 5e-3, 0.708 at 1e-2; zero-filled 0.612).
        base = dict(epochs=10 if model == "unet" else 4, batch_size=4,
                    optim=replace(optim, step_size=8 if model == "unet" else 3,
                                  lr=1e-3 if model == "unet" else 5e-3))
    else:
        base = dict(epochs=50, batch_size=1 if model == "unet" else 8, optim=optim)
    if overrides.get("init_weights") is not None:
        base["epochs"] = 0  # the weight file is the baseline (unless epochs are given)
    config = RunConfig(model=model, accel=accel, scale=scale, network=_NETWORKS[scale, model],
                       **{**base, **overrides})
    if config.scale == "paper" and config.data_root is None:
        raise ValueError("the paper preset needs data_root: a fastMRI knee folder with "
                         "singlecoil_train/ and singlecoil_val/ (the phantom is for smoke/demo)")
    return config


#: Fine-tuning from the baseline: epochs and the epoch of the learning-rate drop, per scale and
#: model (the paper does not give its fine-tuning length; these are this package's choices).
_FINE_TUNE = {("smoke", "unet"): (1, 1), ("smoke", "irim"): (1, 1),
              ("demo", "unet"): (5, 4), ("demo", "irim"): (2, 1),
              ("paper", "unet"): (10, 8), ("paper", "irim"): (10, 8)}
#: The demo's β per robust objective, chosen by :func:`fnaf.sweeps.select_beta` from the
#: measured sweep of the demo U-Net (``fnaf/measurements/beta_sweep_unet.csv``, written by
#: ``tools/beta_sweep.py``; a test keeps the two in agreement). The paper preset keeps β = 10.
DEMO_BETA = {"fnaf": 0.5, "bbox": 0.5}
#: The paper's I-RIM feature sizes (§3.5), at 320×320; scaled with the image area when drawn.
IRIM_FEATURE_PIXELS = (10, 1000)


def robust_preset(scale: str = "demo", model: str = "unet", accel: int | tuple[int, ...] = 4,
                  objective: str = "fnaf", data_root: str | None = None,
                  init_weights: str | None = None, **objective_options) -> RunConfig:
    """A fine-tune of the baseline ``preset(scale, model, accel)`` with ``objective``.

    ``"fnaf"``: the paper's FNAF-robust training (U-Net features of 10 pixels; I-RIM 10-1000,
    the upper bound scaled with the image area below 320×320); ``"bbox"``: the annotated boxes;
    ``"clean"``: the comparator, a clean fine-tune of the same length and schedule. The
    optimiser restarts from the recipe's learning rate and drops it for the last epochs.
    ``objective_options`` override :class:`ObjectiveConfig` fields (``beta``, ...).
    ``init_weights``: the baseline is that weight file (e.g. the released i-RIM, as in the
    paper), not a run trained from scratch.
    """
    data = {"data_root": data_root} if data_root is not None else {}
    released = {"init_weights": init_weights} if init_weights is not None else {}
    baseline = preset(scale, model, accel, **data, **released)
    epochs, drop = _FINE_TUNE[scale, model]
    options: dict = {}
    if objective != "clean":
        options["beta"] = DEMO_BETA[objective] if scale == "demo" else PAPER_BETA
    if objective == "fnaf" and model == "irim":  # scaled to the images' grid when drawn
        options.update(n_pixels=IRIM_FEATURE_PIXELS, area_scaled=True)
    options.update(objective_options)
    return replace(baseline, objective=ObjectiveConfig(objective, **options), epochs=epochs,
                   optim=replace(baseline.optim, step_size=drop), init_from=baseline,
                   init_weights=None)


UNWRITABLE_RUNS = ("point $FNAF_RUNS (or --runs-dir, or the notebooks' runs_root) at a "
                   "writable folder")


def runs_dir() -> Path:
    """Root of the run cache: ``$FNAF_RUNS``, else ``<cache_dir()>/runs``."""
    return Path(os.environ.get("FNAF_RUNS", cache_dir() / "runs"))


def run_dir(config: RunConfig, root: str | PathLike | None = None) -> Path:
    return (Path(root) if root is not None else runs_dir()) / config.name


def build_model(config: RunConfig) -> nn.Module:
    network = asdict(config.network)
    if config.model == "unet":
        return UNet(**network)
    network.pop("train_resolution")
    return IRIM(**network)


def datasets(config: RunConfig) -> tuple[SliceDataset, SliceDataset]:
    """The training and validation slices of the config's data (phantom or ``data_root``)."""
    source = data_source(config.data_root, phantom=config.phantom, require_annotations=False)
    return SliceDataset(source.split("train")), SliceDataset(source.split("val"))


def objective_for(config: RunConfig, train: SliceDataset):
    """The run's objective; for ``"bbox"`` with the training split's boxes, read from
    ``<data_root>/singlecoil_bb_train.csv`` (the phantom writes it there; for fastMRI copy the
    published CSV there) and matched to the volumes present."""
    annotations = None
    if config.objective.name == "bbox":
        source = data_source(config.data_root, phantom=config.phantom)
        boxes = read_annotations(source.annotations["train"])
        annotations = AnnotationIndex(match_volumes(boxes, train.volumes))
    return config.objective.build(annotations)


def mask_function(accels: tuple[int, ...]):
    """fastMRI's random mask at ``accels`` (one drawn per call), the paper's centre fractions."""
    return create_mask_for_mask_type("random", [CENTER_FRACTIONS[a] for a in accels],
                                     list(accels))


def transforms(config: RunConfig) -> tuple[SliceTransform, SliceTransform]:
    """Training (random mask per slice, i-RIM training crop) and validation (one seeded mask
    per volume, at the training accelerations: what selects the epoch) transforms."""
    resolution = getattr(config.network, "train_resolution", None)
    return (SliceTransform(mask_function(config.accels), use_seed=False, resolution=resolution),
            SliceTransform(mask_function(config.accels), use_seed=True))


def eval_transform(config: RunConfig, accel: int | None = None) -> SliceTransform:
    """Validation masks (one seeded mask per volume, fastMRI's rule) at one acceleration."""
    return SliceTransform(mask_function((config.evaluation_accel(accel),)), use_seed=True)


def attack_transform(config: RunConfig, accel: int | None = None) -> SliceTransform:
    """:func:`eval_transform` on the field of view the model is attacked in: the I-RIM's
    training crop (the released i-RIM code attacks 368×368 images), else the full one."""
    return SliceTransform(mask_function((config.evaluation_accel(accel),)), use_seed=True,
                          resolution=getattr(config.network, "train_resolution", None))


def _optimizer(config: RunConfig, model: nn.Module):
    optimizer = OPTIMIZERS[config.optim.name](model.parameters(), lr=config.optim.lr)
    return optimizer, torch.optim.lr_scheduler.StepLR(optimizer, config.optim.step_size,
                                                      config.optim.gamma)


def provenance(device: torch.device, wall_time: float) -> dict:
    """Package versions, git commit, device and wall time of a run."""
    import fnaf

    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=Path(fnaf.__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {"fnaf": fnaf.__version__, "torch": torch.__version__,
            "python": platform.python_version(),
            "git_commit": commit, "device": str(device), "threads": torch.get_num_threads(),
            "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else
            platform.processor() or platform.machine(), "wall_time_s": round(wall_time, 1)}


@dataclass
class TrainedRun:
    """A finished run: its config, folder, model (eval mode, on CPU), saved metrics
    (``metrics.json``) and provenance (``provenance.json``)."""

    config: RunConfig
    directory: Path
    model: nn.Module
    metrics: dict
    provenance: dict


def load_run(config: RunConfig, root: str | PathLike | None = None) -> TrainedRun:
    """The finished run of ``config``; ``FileNotFoundError`` if it has not been trained."""
    directory = run_dir(config, root)
    if not (directory / "model.pt").exists():
        raise FileNotFoundError(f"no finished run for {config.name} in {directory.parent}; "
                                "train it with fnaf.runs.train_or_load or `python -m fnaf train`")
    retrain = f"delete {directory} and run again to retrain it"
    model = build_model(config)
    model.load_state_dict(load_torch(directory / "model.pt", retrain))
    metrics, origin = (load_json(directory / name, retrain)
                       for name in ("metrics.json", "provenance.json"))
    return TrainedRun(config, directory, model.eval(), metrics, origin)


def _check_ranks_agree(config: RunConfig) -> None:
    """Under ``torchrun``, every process must name the same run: the key includes the data's
    fingerprint, so nodes with differently copied data would otherwise disagree."""
    import torch.distributed as dist

    names = [None] * dist.get_world_size()
    dist.all_gather_object(names, config.name)
    if len(set(names)) > 1:
        raise ValueError(f"the processes name different runs ({sorted(set(names))}): their "
                         "data differ (file names, sizes or modification times). Give every "
                         "node the same files: a shared filesystem, or copies that keep "
                         "modification times (rsync -t, cp -p)")


def train_or_load(config: RunConfig, root: str | PathLike | None = None, *,
                  device: torch.device | str | None = None, progress: bool = True,
                  checkpoint_every: int = 0, num_workers: int = 0) -> TrainedRun:
    """Return the trained model of ``config``, training it (and ``init_from``) only if needed.

    An interrupted run resumes from its checkpoint. Under ``torchrun`` every rank trains and
    rank 0 writes the results.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        _check_ranks_agree(config)
    directory = run_dir(config, root)
    if (directory / "model.pt").exists():
        return load_run(config, root)
    ensure_writable(directory, UNWRITABLE_RUNS)
    device = torch.device(device) if device is not None else default_device()
    torch.manual_seed(config.seed)  # the initial weights are part of the run
    model = build_model(config)
    if config.init_from is not None:
        model.load_state_dict(train_or_load(config.init_from, root, device=device,
                                            progress=progress).model.state_dict())
    if config.init_weights is not None:
        load = load_irim_checkpoint if config.model == "irim" else load_weights
        load(model, config.init_weights)
    train, val = datasets(config)
    train_transform, val_transform = transforms(config)
    optimizer, scheduler = _optimizer(config, model)
    if progress and config.epochs:
        print(f"training {config.name} on {device} ({len(train)} training slices)")
    save_json(asdict(config), directory / "config.json")
    if config.epochs == 0:  # the given weights as they are
        result = FitResult({key: value.detach().cpu().clone()
                            for key, value in model.state_dict().items()}, best_epoch=0)
    else:
        result = fit(model, pipeline_for(config.model), objective_for(config, train), train,
                     val, train_transform=train_transform, val_transform=val_transform,
                     optimizer=optimizer, scheduler=scheduler, device=device,
                     checkpoint_dir=directory / "checkpoint",
                     settings=Settings(epochs=config.epochs, batch_size=config.batch_size,
                                       seed=config.seed, checkpoint_every=checkpoint_every,
                                       num_workers=num_workers, amp=config.amp,
                                       progress=progress))
    distributed = dist.is_available() and dist.is_initialized()
    if not distributed or dist.get_rank() == 0:
        model.load_state_dict(result.best_state)
        validation = result.best_validation  # the selected epoch's own validation pass
        if validation is None:  # the given weights as they are: validate them now
            final = evaluate(model, pipeline_for(config.model), val, val_transform, device=device)
            validation = {"loss": final.loss, "volumes": final.metrics.to_dict("records"),
                          "zero_filled": final.zero_filled.to_dict("records")}
        if not math.isfinite(validation["loss"]):  # never cache weights without a finite loss
            raise TrainingError(f"{config.name}: the selected weights give a validation loss of "
                                f"{validation['loss']}; nothing is cached as finished")
        save_json({"history": result.history, "best_epoch": result.best_epoch,
                   "steps": result.steps, "val_loss": validation["loss"],
                   "volumes": validation["volumes"], "zero_filled": validation["zero_filled"]},
                  directory / "metrics.json")
        save_json({**provenance(device, result.wall_time), "data": config.data_identity()},
                  directory / "provenance.json")
        save_torch(result.best_state, directory / "model.pt")
    if distributed:
        dist.barrier()
    return load_run(config, root)


@dataclass(frozen=True)
class AttackConfig:
    """An FNAF attack on a trained run (its hash names the cached per-slice results).

    ``method``: ``"random"`` (random search, ``n_candidates`` per slice) or ``"fd"`` (finite
    differences with the same budget: ``(n_candidates - 1) // 5`` iterations of 5 evaluations
    after the first). Other fields as :class:`fnaf.attacks.fnaf.FnafAttack`.
    """

    method: str = "random"
    n_candidates: int = 11
    n_pixels: int | tuple[int, int] = FeatureSpec.n_pixels
    border: int | None = FeatureSpec.border
    domain: str = DOMAINS[0]
    shape: str = FeatureSpec.shape
    region_rule: str = FeatureSpec.region_rule
    seed: int = 0

    def __post_init__(self):  # validated here, before any training or cache lookup
        check_choice("attack method", self.method, ("random", "fd"))
        minimum = 1 if self.method == "random" else 6
        if not isinstance(self.n_candidates, int) or self.n_candidates < minimum:
            raise ValueError(f"the {self.method} attack needs n_candidates >= {minimum} "
                             f"(finite differences: 1 + 5 per iteration), not "
                             f"{self.n_candidates!r}")
        FeatureSpec(n_pixels=self.n_pixels, border=self.border, shape=self.shape,
                    region_rule=self.region_rule)  # validates the feature settings
        check_domain(self.domain)

    def key(self) -> str:
        payload = json.dumps({**asdict(self), "version": TRAINING_VERSION,
                              "attack_version": ATTACK_VERSION}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]

    def build(self, model: nn.Module, pipeline):
        options = dict(n_pixels=self.n_pixels, border=self.border, domain=self.domain,
                       shape=self.shape, region_rule=self.region_rule, seed=self.seed)
        if self.method == "random":
            return RandomSearch(model, pipeline, n_candidates=self.n_candidates, **options)
        return FiniteDifference(model, pipeline, iterations=(self.n_candidates - 1) // 5,
                                **options)


def evaluate_or_load(run: TrainedRun, accel: int | None = None, *,
                     annotations: AnnotationIndex | None = None,
                     device: torch.device | str | None = None) -> Evaluation:
    """Table 3's per-volume metrics of ``run`` (and of the zero-filled input) on its validation
    split at ``accel`` (fastMRI's seeded masks, one per volume), or those cached in
    ``<run>/evaluations/``. ``accel`` may be omitted for a run trained at one acceleration.

    With ``annotations`` (the validation split's boxes) the same pass also scores the NMSE
    inside every box (Table 4's units, :func:`fnaf.boxes.box_nmse`), cached with the boxes'
    fingerprint: other boxes evaluate again.
    """
    accel = run.config.evaluation_accel(accel)
    path = run.directory / "evaluations" / f"{accel}x.json"
    wanted = annotations.fingerprint() if annotations is not None else None
    if path.exists():
        saved = load_json(path, f"delete {path} to evaluate again")
        boxes = saved.get("boxes")
        if wanted is None or (boxes is not None and boxes["annotations"] == wanted):
            return Evaluation(pd.DataFrame(saved["volumes"]), pd.DataFrame(saved["zero_filled"]),
                              saved["loss"], None if wanted is None else
                              pd.DataFrame(boxes["rows"], columns=BOX_COLUMNS))
    ensure_writable(path.parent, UNWRITABLE_RUNS)
    device = torch.device(device) if device is not None else default_device()
    box_rows = []

    def scoring_boxes(volumes):
        for volume in volumes:
            if annotations is not None:
                box_rows.append(box_nmse([volume], annotations))
            yield volume

    result = score_volumes(scoring_boxes(reconstruct_volumes(
        run.model.to(device), pipeline_for(run.config.model), datasets(run.config)[1],
        eval_transform(run.config, accel), device=device)))
    saved = {"accel": accel, "loss": result.loss, "volumes": result.metrics.to_dict("records"),
             "zero_filled": result.zero_filled.to_dict("records")}
    if annotations is not None:
        result.boxes = pd.concat(box_rows, ignore_index=True) if box_rows else \
            pd.DataFrame(columns=BOX_COLUMNS)
        saved["boxes"] = {"annotations": wanted, "rows": result.boxes.to_dict("records")}
    save_json(saved, path)
    return result


def attack_or_load(run: TrainedRun, attack: AttackConfig, accel: int | None = None, *,
                   gamma: float = 0.25, epsilon: float = 1e-4,
                   device: torch.device | str | None = None, progress: bool = True) -> AttackReport:
    """Attack every validation slice of ``run`` at ``accel`` (its own data, per-volume masks,
    see :func:`attack_transform`; omit ``accel`` for a run trained at one acceleration), or load
    the per-slice results cached in ``<run>/attacks/``. ``gamma``/``epsilon`` only score them
    (validated first, whether cached or not)."""
    check_thresholds(gamma, epsilon)
    accel = run.config.evaluation_accel(accel)
    path = run.directory / "attacks" / f"{attack.method}-{accel}x-{attack.key()}.json"
    if path.exists():
        saved = load_json(path, f"delete {path} to attack again")
        return AttackReport(pd.DataFrame(saved["slices"]), gamma, epsilon)
    ensure_writable(path.parent, UNWRITABLE_RUNS)
    device = torch.device(device) if device is not None else default_device()
    _, val = datasets(run.config)
    model = run.model.to(device)
    report = attack_dataset(attack.build(model, pipeline_for(run.config.model)), val,
                            attack_transform(run.config, accel), gamma=gamma, epsilon=epsilon,
                            progress=progress)
    save_json({"attack": asdict(attack), "accel": accel,
               "slices": report.slices.to_dict("records")}, path)
    return report


def replay_attack(run: TrainedRun, attack: AttackConfig, row, accel: int | None = None) -> dict:
    """Rebuild one attacked slice at ``accel`` from a cached result row (``fname``, ``slice``,
    ``pixels``):
    the paper's Fig. 2 panels as arrays ``(h, w)``: ``zero-filled`` and ``fully sampled`` with
    the feature, the model's ``reconstruction``, the clean ``reference`` reconstruction and the
    ``region`` T."""
    val = datasets(run.config)[1]
    key = (row["fname"], int(row["slice"]))
    batch = collate_slices(val, attack_transform(run.config, accel), [key])
    batch = to_device(batch, torch.device("cpu"))
    features = feature_of(row["pixels"], tuple(batch.target.shape[-2:]))
    attacked = perturb(batch, features)
    model, pipeline = run.model.cpu().eval(), pipeline_for(run.config.model)
    with torch.no_grad():
        reconstruction = pipeline(model, attacked).magnitude[0]
        reference = pipeline(model, batch).magnitude[0]
    region = attack.build(model, pipeline).regions(features)[0]
    return {"zero-filled": zero_filled_magnitude(attacked)[0].numpy(),
            "fully sampled": attacked.target[0].numpy(),
            "reconstruction": reconstruction.numpy(), "reference": reference.numpy(),
            "region": region.numpy()}
