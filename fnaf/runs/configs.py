"""What determines a trained model and an attack on it: :class:`RunConfig` (data, model,
acceleration, objective, optimiser, schedule; its hash is the run's cache key),
:class:`AttackConfig` (its hash names the cached per-slice results), and the versions that are
part of both keys."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from fnaf.attacks import FiniteDifference, RandomSearch
from fnaf.attacks.features import FeatureSpec
from fnaf.attacks.pgd import NORMS, check_pgd_settings
from fnaf.attacks.search import (
    DOMAINS,
    NORMALIZATIONS,
    REGION_LOSSES,
    check_domain,
    check_normalization,
    check_target_scale,
)
from fnaf.checks import check_counts
from fnaf.data.annotations import AnnotationIndex
from fnaf.data.masks import CENTER_FRACTIONS, MASK_STYLES, check_mask_style
from fnaf.data.phantom import ACQUISITION_DEFAULTS, PhantomConfig
from fnaf.data.sources import data_fingerprint
from fnaf.metrics import SSIM_VARIANTS, check_ssim_variant
from fnaf.objectives import (
    PAPER_ADV_FRACTION,
    PAPER_ALPHA,
    PAPER_BETA,
    PAPER_CANDIDATES,
    BoxObjective,
    CleanObjective,
    FnafObjective,
)

SCALES = ("smoke", "demo", "paper")


#: Part of every run's key: bump it when a change to the engine, the models or the data pipeline
#: changes what a config trains, so stale cached runs are not reused. 2: the FNAF share of a
#: batch is exact in expectation (at batch 1 the paper preset perturbed nothing before).
TRAINING_VERSION = 2


#: Part of every cached attack's key, bumped when the attack or what it records changes
#: (3: every candidate's control and the slice's contrast are recorded; 4: the generator is
#: reseeded per batch from the seed and the batch's position, so sharded and one-process runs
#: draw the same features).
ATTACK_VERSION = 4
#: Options added to the attack and objective configs after ATTACK_VERSION 3, with their
#: defaults (the paper's rules): a config enters them into its key only when it sets them, so
#: adding an option keeps the runs and attacks already cached (the released code's placement,
#: batch intensities and input normalisation, target brightness and training term,
#: :mod:`fnaf.studies.released_code`).
LATER_OPTIONS = {"placement": "paper", "intensities": "slice", "target_scale": 1.0,
                 "region_loss": "nmse", "normalization": "slice", "challenge": None,
                 "coils": 1, "mask_style": MASK_STYLES[0], "ssim_variant": SSIM_VARIANTS[0],
                 **ACQUISITION_DEFAULTS}


def without_later_defaults(settings: dict) -> dict:
    """``settings`` (an ``asdict``, nested configs included) without the :data:`LATER_OPTIONS`
    at their defaults."""
    return {name: without_later_defaults(value) if isinstance(value, dict) else value
            for name, value in settings.items()
            if name not in LATER_OPTIONS or value != LATER_OPTIONS[name]}


#: The FNAF paper's two models (the chapters' ``model="both"``).
MODELS = ("unet", "irim")
#: Every model a run can train: the FNAF pair and the End-to-End VarNet.
RECONSTRUCTION_MODELS = (*MODELS, "varnet")


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


@dataclass(frozen=True)
class VarNetConfig:
    """End-to-End VarNet size (``fnaf.models.VarNet``; fastMRI's defaults)."""

    num_cascades: int = 12
    sens_chans: int = 8
    sens_pools: int = 4
    chans: int = 18
    pools: int = 4


NETWORK_CONFIGS = {"unet": UnetConfig, "irim": IrimConfig, "varnet": VarNetConfig}


OPTIMIZERS = {"rmsprop": torch.optim.RMSprop, "adam": torch.optim.Adam, "sgd": torch.optim.SGD}


@dataclass(frozen=True)
class OptimConfig:
    """Optimiser (``"rmsprop"``, ``"adam"`` or ``"sgd"``, with ``momentum`` and L2
    ``weight_decay``) and StepLR schedule (stepped per epoch; ``step_size=1`` is an exponential
    decay by ``gamma`` per epoch)."""

    name: str = "rmsprop"
    lr: float = 1e-3
    step_size: int = 40
    gamma: float = 0.1
    momentum: float = 0.0
    weight_decay: float = 0.0

    def __post_init__(self):
        check_choice("optimizer", self.name, OPTIMIZERS)
        if not (self.lr > 0 and self.step_size >= 1 and 0 < self.gamma <= 1):
            raise ValueError(f"the optimiser needs lr > 0, step_size >= 1 and 0 < gamma <= 1, "
                             f"not lr={self.lr}, step_size={self.step_size}, gamma={self.gamma}")
        if not (0 <= self.momentum < 1 and self.weight_decay >= 0):
            raise ValueError(f"the optimiser needs 0 <= momentum < 1 and weight_decay >= 0, not "
                             f"momentum={self.momentum}, weight_decay={self.weight_decay}")
        if self.name == "adam" and self.momentum:
            raise ValueError("adam has no momentum parameter (its betas play that part); "
                             "use momentum=0 with adam")

    def build(self, parameters):
        """The optimiser over ``parameters`` and its StepLR schedule."""
        momentum = {} if self.name == "adam" else {"momentum": self.momentum}
        optimizer = OPTIMIZERS[self.name](parameters, lr=self.lr,
                                          weight_decay=self.weight_decay, **momentum)
        return optimizer, torch.optim.lr_scheduler.StepLR(optimizer, self.step_size, self.gamma)


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
    adv_fraction: float = PAPER_ADV_FRACTION
    n_pixels: int | tuple[int, int] = FeatureSpec.n_pixels
    area_scaled: bool = FeatureSpec.area_scaled
    n_candidates: int = PAPER_CANDIDATES
    border: int | None = FeatureSpec.border
    domain: str = DOMAINS[0]
    region_loss: str = REGION_LOSSES[0]
    target_scale: float = 1.0

    def __post_init__(self):
        check_choice("objective", self.name, OBJECTIVES)
        self.build()  # the objectives validate their weights

    def features(self) -> FeatureSpec:
        """The FNAF objective's features."""
        return FeatureSpec(n_pixels=self.n_pixels, area_scaled=self.area_scaled,
                           border=self.border)

    def build(self, annotations: AnnotationIndex | None = None):
        """The objective; ``annotations`` (the training split's boxes) for ``"bbox"``."""
        if self.name == "clean":
            return CleanObjective()
        if self.name == "bbox":
            return BoxObjective(annotations, self.alpha, self.beta, self.domain)
        return FnafObjective(self.features(), self.alpha, self.beta, self.adv_fraction,
                             self.n_candidates, self.domain, self.region_loss,
                             self.target_scale)


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a trained model (its hash is the run's cache key).

    ``accel``: the training acceleration, or several (``(4, 8)``): one drawn per slice with its
    centre fraction, as fastMRI's ``MaskFunc`` does (fastMRI's and the released FNAF code's
    default); such a model is evaluated and attacked at each acceleration separately.
    ``data_root=None`` uses the embedded phantom described by ``phantom``. ``init_from``
    fine-tunes from another run's weights (the robust objectives start from the baselines).
    ``amp`` trains with bfloat16 autocast on CUDA (ignored on CPU). ``init_weights``: a local
    weight file to start from instead (a fastMRI U-Net or VarNet state_dict or an official i-RIM
    checkpoint); with ``epochs=0`` the run *is* those weights, evaluated and cached like a
    trained run — the paper fine-tuned the released i-RIM this way. ``challenge``: the data's
    layout, ``"singlecoil"`` or ``"multicoil"``; ``None`` is the phantom's (its ``coils``), or
    single-coil for a ``data_root``.

    The key covers every field, the engine's :data:`TRAINING_VERSION` and, for a ``data_root``,
    the data's identity (:func:`~fnaf.data.sources.data_fingerprint`: the HDF5 files' names,
    sizes and modification times, and for B-Box runs the training annotation CSV's content),
    so replacing a volume or editing the boxes trains a new run instead of serving the old one.
    The phantom is identified by ``phantom`` (it is generated deterministically from it).
    """

    model: str
    accel: int | tuple[int, ...]
    scale: str
    network: UnetConfig | IrimConfig | VarNetConfig
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
    selection_share: float | None = None
    challenge: str | None = None

    def __post_init__(self):
        check_choice("model", self.model, RECONSTRUCTION_MODELS)
        if self.challenge is not None:
            check_choice("challenge", self.challenge, ("singlecoil", "multicoil"))
            if self.data_root is None and self.challenge != self.phantom.challenge:
                raise ValueError(f"challenge {self.challenge!r} does not match the phantom "
                                 f"(coils={self.phantom.coils}: {self.phantom.challenge!r}); set "
                                 "the phantom's coils instead")
        if self.model == "irim" and self.data_challenge == "multicoil":
            raise ValueError("the i-RIM is single-coil here: train it on single-coil data")
        if self.selection_share is not None and not 0 < self.selection_share <= 1:
            raise ValueError(f"selection_share must be in (0, 1] (a share of the validation "
                             f"volumes) or None (all), not {self.selection_share}")
        if isinstance(self.accel, (list, tuple)):  # JSON gives lists; the key sees a tuple
            object.__setattr__(self, "accel", tuple(self.accel))
        for accel in self.accels:
            check_choice("accel", accel, sorted(CENTER_FRACTIONS))
        if not self.accels or len(set(self.accels)) != len(self.accels):
            raise ValueError(f"accel must be one acceleration or distinct ones, not {self.accel}")
        check_choice("scale", self.scale, SCALES)
        expected = NETWORK_CONFIGS[self.model]
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
    def data_challenge(self) -> str:
        """The data's layout: ``challenge``, else the phantom's, else single-coil."""
        if self.challenge is not None:
            return self.challenge
        return self.phantom.challenge if self.data_root is None else "singlecoil"

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
        """The run's name: a hash of everything that determines the trained model (options
        added later, :data:`LATER_OPTIONS`, only when set)."""
        payload = json.dumps({**without_later_defaults(asdict(self)), "version": TRAINING_VERSION,
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
        return data_fingerprint(self.data_root, csvs, challenge=self.data_challenge)

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


def check_list(name: str, values, accepted=None) -> None:
    """Refuse a list parameter ``name`` that is not a non-empty list (or tuple), or (with
    ``accepted``) holds a value outside ``accepted``."""
    hint = f"; accepted: {list(accepted)}" if accepted is not None else ""
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"{name} must be a non-empty list, not {values!r}{hint}")
    unknown = [value for value in values if accepted is not None and value not in accepted]
    if unknown:
        raise ValueError(f"{name} holds unknown values {unknown}{hint}")


def check_lams(lams, name: str = "lams") -> None:
    """Refuse an l1 λ sweep ``lams`` that is not a non-empty list of numbers >= 0."""
    check_list(name, lams)
    for lam in lams:
        if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not lam >= 0:
            raise ValueError(f"{name} holds {lam!r}; each λ must be a number >= 0 (a fraction of "
                             "||Ψ Aᴴ y||_∞), e.g. [1e-4, 1e-3]")


def check_paired(**lists) -> None:
    """Refuse list parameters that pair entry by entry (e.g. ``accelerations`` and
    ``center_fractions``) unless each is a non-empty list and all are as long."""
    for name, values in lists.items():
        check_list(name, values)
    if len({len(values) for values in lists.values()}) > 1:
        given = ", ".join(f"{name}={values!r}" for name, values in lists.items())
        raise ValueError(f"{' and '.join(lists)} pair entry by entry, but {given} differ in "
                         "length: give one entry of each per setting")


MASKS = ("mixed", "separate")


#: The FNAF attack's search methods: random search, finite differences (same budget).
ATTACK_METHODS = ("random", "fd")


@dataclass(frozen=True)
class AttackConfig:
    """An FNAF attack on a trained run (its hash names the cached per-slice results).

    ``method``: ``"random"`` (random search, ``n_candidates`` per slice) or ``"fd"`` (finite
    differences with the same budget: ``(n_candidates - 1) // 5`` iterations of 5 evaluations
    after the first). ``batch_size``: slices attacked together (each batch draws from the seed
    and its position, so it is part of the key). ``chunk_size``: candidate reconstructions per
    forward pass (``None``: on a GPU, as many as fit its free memory); a memory setting, not
    part of the key. Other fields as :class:`fnaf.attacks.search.FnafAttack`.
    """

    method: str = "random"
    n_candidates: int = 11
    n_pixels: int | tuple[int, int] = FeatureSpec.n_pixels
    border: int | None = FeatureSpec.border
    domain: str = DOMAINS[0]
    shape: str = FeatureSpec.shape
    region_rule: str = FeatureSpec.region_rule
    placement: str = FeatureSpec.placement
    intensities: str = FeatureSpec.intensities
    target_scale: float = 1.0
    normalization: str = NORMALIZATIONS[0]
    seed: int = 0
    batch_size: int = 8
    chunk_size: int | None = None

    def __post_init__(self):  # validated here, before any training or cache lookup
        check_choice("attack method", self.method, ATTACK_METHODS)
        check_counts(batch_size=self.batch_size)
        if self.chunk_size is not None:
            check_counts(chunk_size=self.chunk_size)
        minimum = 1 if self.method == "random" else 6
        if not isinstance(self.n_candidates, int) or self.n_candidates < minimum:
            raise ValueError(f"the {self.method} attack needs n_candidates >= {minimum} "
                             f"(finite differences: 1 + 5 per iteration), not "
                             f"{self.n_candidates!r}")
        self.features()  # validates the feature settings
        check_domain(self.domain)
        check_target_scale(self.target_scale)
        check_normalization(self.normalization)
        if self.method == "fd" and self.shape != "connected":
            raise ValueError("the finite-difference attack moves a fixed connected feature; "
                             "use method='random' with shape='walk'")

    def features(self) -> FeatureSpec:
        return FeatureSpec(n_pixels=self.n_pixels, border=self.border, shape=self.shape,
                           region_rule=self.region_rule, placement=self.placement,
                           intensities=self.intensities)

    def key(self) -> str:
        """The cached attack's name: a hash of the settings (options added later,
        :data:`LATER_OPTIONS`, only when set)."""
        settings = {name: value for name, value in without_later_defaults(asdict(self)).items()
                    if name != "chunk_size"}
        payload = json.dumps({**settings, "version": TRAINING_VERSION,
                              "attack_version": ATTACK_VERSION}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]

    def build(self, model: nn.Module, pipeline):
        options = dict(n_pixels=self.n_pixels, border=self.border, domain=self.domain,
                       shape=self.shape, region_rule=self.region_rule, seed=self.seed,
                       placement=self.placement, intensities=self.intensities,
                       target_scale=self.target_scale, normalization=self.normalization,
                       chunk_size=self.chunk_size)
        if self.method == "random":
            return RandomSearch(model, pipeline, n_candidates=self.n_candidates, **options)
        return FiniteDifference(model, pipeline, iterations=(self.n_candidates - 1) // 5,
                                **options)


#: Part of every cached PGD result's key, bumped when what a row records changes
#: (2: the measured part's relative norm; 3: random starts and controls drawn per slice).
PGD_VERSION = 3


@dataclass(frozen=True)
class PgdConfig:
    """A k-space PGD attack on a trained run (:class:`fnaf.attacks.pgd.KspacePGD`) at each of
    ``eps``, on the ``slices_per_volume`` middle slices of every validation volume (``None``:
    all); its hash names the cached per-slice results. ``batch_size`` (``None``: as many slices
    as fit the device's free memory, :mod:`fnaf.memory`) is not part of the key: starts and
    controls are drawn per slice, so a slice's row does not depend on its batch.
    ``mask_style`` (:data:`~fnaf.data.masks.MASK_STYLES`) and ``ssim_variant``
    (:data:`~fnaf.metrics.SSIM_VARIANTS`) default to fastMRI's masks and SSIM;
    ``"robustness-cs"`` takes the authors' code's (entered in the key only when set).
    ``steps``: the class default is the CLI's; the chapters take the scale's budget
    (:data:`~fnaf.runs.presets.ATTACK_STEPS`)."""

    eps: tuple[float, ...] = (0.02, 0.04, 0.08)
    steps: int = 10
    step_size: float | None = None
    restarts: int = 1
    norm: str = NORMS[0]
    slices_per_volume: int | None = None
    batch_size: int | None = 8
    seed: int = 0
    mask_style: str = MASK_STYLES[0]
    ssim_variant: str = SSIM_VARIANTS[0]

    def __post_init__(self):  # validated before any attack or cache lookup
        check_mask_style(self.mask_style)
        check_ssim_variant(self.ssim_variant)
        eps = (self.eps,) if isinstance(self.eps, (int, float)) else tuple(self.eps)
        object.__setattr__(self, "eps", eps)
        if not eps:
            raise ValueError("eps must name at least one perturbation size")
        for value in eps:
            check_pgd_settings(value, self.steps, self.step_size, self.restarts, self.norm)
        for name in ("slices_per_volume", "batch_size"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be an integer >= 1, not {value!r}")

    def options(self) -> dict:
        """:class:`~fnaf.attacks.pgd.KspacePGD`'s keyword arguments (all but ``eps``)."""
        return dict(steps=self.steps, step_size=self.step_size, restarts=self.restarts,
                    norm=self.norm, seed=self.seed)

    def key(self) -> str:
        fields = {name: value for name, value in without_later_defaults(asdict(self)).items()
                  if name != "batch_size"}
        payload = json.dumps({**fields, "version": TRAINING_VERSION,
                              "pgd_version": PGD_VERSION}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]
