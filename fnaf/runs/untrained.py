"""Configs and the result cache of the methods that need no training (l1-minimisation, the
ConvDecoder and the Deep Decoder) and of their two-step attack (Darestani et al., eq. 3).

:class:`UntrainedConfig` says everything that determines a reconstruction, :class:`TwoStepConfig`
the attack; :func:`two_step_or_load` attacks the validation slices of a data config (a
:class:`~fnaf.runs.configs.RunConfig`, whose data, masks and field of view are used, never its
model) and caches the per-slice rows in ``<runs>/untrained/``, keyed by all three. Both configs are
validated when built, before any work or cache lookup.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, replace
from os import PathLike
from pathlib import Path

import pandas as pd
import torch

from fnaf.attacks.measurement import measurement_frame, measurement_rows, slice_scores
from fnaf.attacks.pgd import NORMS, check_pgd_settings
from fnaf.attacks.two_step import TwoStepAttack
from fnaf.data.batches import SeededSlices, SliceGroups
from fnaf.data.masks import MASK_STYLES, check_mask_style
from fnaf.devices import resolve_device
from fnaf.io import ensure_writable, load_json, save_json
from fnaf.metrics import SSIM_VARIANTS, check_ssim_variant
from fnaf.models.decoders import ARCHITECTURES
from fnaf.ranks import barrier, rank_world
from fnaf.runs.builders import attack_transform, datasets
from fnaf.runs.configs import RunConfig, without_later_defaults
from fnaf.runs.step_cap import capped
from fnaf.untrained.decoder_fit import CONSISTENCY, SCALINGS, DecoderMethod
from fnaf.untrained.l1 import SOLVERS, check_l1_settings
from fnaf.untrained.problem import UntrainedMethod
from fnaf.untrained.sense import L1Method
from fnaf.untrained.sparsity import BASES, check_basis

#: Part of every cached two-step result's key, bumped when what a row records changes (2: the
#: start and control drawn per slice).
TWO_STEP_VERSION = 2
#: Part of an l1 configuration's key, bumped when the solver's results change (2: FISTA's step
#: from the operator's bound, :func:`fnaf.untrained.l1.lipschitz`, not a power estimate).
L1_VERSION = 2
#: The methods without training: l1-minimisation and the decoders.
UNTRAINED_METHODS = ("l1", *ARCHITECTURES)
#: Display names.
UNTRAINED_NAMES = {"l1": "l1", "convdecoder": "ConvDecoder", "deepdecoder": "Deep Decoder"}


def _key(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class UntrainedConfig:
    """A reconstruction without training: ``method`` ∈ :data:`UNTRAINED_METHODS` and its
    settings (l1: ``basis``, ``lam``, ``iterations``, ``solver``, ``wavelet``, ``level``;
    decoders: ``layers``, ``channels``, ``in_size``, ``iterations``, ``lr``, ``scaling``,
    ``consistency``, ``beta1`` (in the key only where not the authors' 0.9); see
    :class:`~fnaf.untrained.sense.L1Method` and
    :class:`~fnaf.untrained.decoder_fit.DecoderMethod`)."""

    method: str = "l1"
    iterations: int = 100
    basis: str = BASES[0]
    lam: float = 3e-4
    solver: str = SOLVERS[0]
    wavelet: str = "db3"
    level: int = 3
    layers: int | None = None
    channels: int | None = None
    in_size: tuple[int, int] = (10, 5)
    lr: float = 8e-3
    scaling: str = SCALINGS[0]
    consistency: str = CONSISTENCY[0]
    seed: int = 0
    beta1: float = 0.9

    def __post_init__(self):
        object.__setattr__(self, "in_size", tuple(self.in_size))
        if self.method not in UNTRAINED_METHODS:
            raise ValueError(f"unknown method {self.method!r}; accepted: "
                             f"{list(UNTRAINED_METHODS)}")
        if self.method == "l1":
            check_basis(self.basis, self.wavelet, self.level)
            check_l1_settings(self.lam, self.iterations, 0.0, self.solver)
        else:
            self.build()  # the decoder's settings are checked by its constructor

    @property
    def label(self) -> str:
        """The method's display name (l1 with a basis other than the wavelet names it)."""
        name = UNTRAINED_NAMES[self.method]
        if self.method == "l1":
            return f"{name} ({self.basis})" if self.basis != "wavelet" else name
        return name if self.beta1 == 0.9 else f"{name} (Adam β1 {self.beta1:g})"

    def build(self) -> UntrainedMethod:
        if self.method == "l1":
            return L1Method(self.basis, self.lam, self.iterations, solver=self.solver,
                            wavelet=self.wavelet, level=self.level)
        return DecoderMethod(self.method, self.layers, self.channels, self.in_size,
                             self.iterations, self.lr, self.scaling, self.consistency, self.seed,
                             self.beta1)

    def key(self) -> str:
        settings = asdict(self)
        if settings["beta1"] == 0.9:  # the authors' default: the keys of earlier runs hold
            del settings["beta1"]
        return _key({**settings, **({"l1_version": L1_VERSION} if self.method == "l1"
                                    else {})})


@dataclass(frozen=True)
class TwoStepConfig:
    """The two-step attack (:class:`~fnaf.attacks.two_step.TwoStepAttack`) at each of ``eps`` on
    the ``slices_per_volume`` middle slices of the first ``volumes`` validation volumes
    (``None``: all). ``mask_style`` and ``ssim_variant`` as
    :class:`~fnaf.runs.configs.PgdConfig`'s (fastMRI's by default; in the key only when set)."""

    eps: tuple[float, ...] = (0.08,)
    steps: int = 30
    beta: float = 0.3
    step_size: float | None = None
    norm: str = NORMS[0]
    slices_per_volume: int | None = 1
    volumes: int | None = None
    batch_size: int = 8
    seed: int = 0
    mask_style: str = MASK_STYLES[0]
    ssim_variant: str = SSIM_VARIANTS[0]

    def __post_init__(self):
        check_mask_style(self.mask_style)
        check_ssim_variant(self.ssim_variant)
        eps = (self.eps,) if isinstance(self.eps, (int, float)) else tuple(self.eps)
        object.__setattr__(self, "eps", eps)
        if not eps:
            raise ValueError("eps must name at least one perturbation size")
        for value in eps:
            check_pgd_settings(value, self.steps, self.step_size, 1, self.norm)
        if not (isinstance(self.beta, (int, float)) and self.beta >= 0):
            raise ValueError(f"beta must be a number >= 0, not {self.beta!r}")
        for name in ("slices_per_volume", "volumes", "batch_size"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be an integer >= 1, not {value!r}")
        if self.batch_size is None:  # the decoders' weights are drawn per batch of networks
            raise ValueError("batch_size must be a count for the two-step attack, not None: "
                             "the decoders' initial weights are drawn per batch, so the batch "
                             "is part of the experiment (and of the cache key)")

    def attack(self, method: UntrainedMethod, eps: float) -> TwoStepAttack:
        return TwoStepAttack(method, eps, self.steps, self.beta, self.step_size, self.norm,
                             seed=self.seed)

    def key(self) -> str:
        return _key({**without_later_defaults(asdict(self)), "version": TWO_STEP_VERSION})


def data_key(data: RunConfig, accel: int) -> str:
    """What the attacked slices depend on: the data (for a ``data_root``, its files' identity:
    a replaced volume is other data), the challenge and the masks."""
    payload = {"data_root": data.data_root, "phantom": data.phantom.identity(),
               "challenge": data.data_challenge, "accel": accel}
    if data.data_root is not None:
        payload["files"] = data.data_identity()
    return _key(payload)


def two_step_or_load(method: UntrainedConfig, attack: TwoStepConfig, data: RunConfig,
                     accel: int | None = None, root: str | PathLike | None = None, *,
                     device: torch.device | str | None = None, progress: bool = False
                     ) -> pd.DataFrame:
    """The two-step attack on ``method``'s reconstructions of ``data``'s validation slices at
    ``accel`` (:func:`~fnaf.attacks.measurement.measurement_rows`), or the rows cached under
    ``<root>/untrained/`` (``root`` default :func:`~fnaf.runs.cache.runs_dir`). Under
    ``torchrun`` the processes share the slices and rank 0 writes the cache."""
    from fnaf.runs.cache import ROW_BYTES, UNWRITABLE_RUNS, runs_dir

    device = resolve_device(device)
    accel = data.evaluation_accel(accel)
    folder = (Path(root) if root is not None else runs_dir()) / "untrained"
    path = folder / (f"{method.method}-{accel}x-{data_key(data, accel)}-{method.key()}-"
                     f"{attack.key()}.json")
    if path.exists():
        return measurement_frame(load_json(path, f"delete {path} to attack again")["rows"],
                                 str(path))
    val = datasets(data)[1]
    if attack.volumes is not None:
        val = val.only(sorted(volume.fname.name for volume in val.volumes)[:attack.volumes])
    if attack.slices_per_volume is not None:
        val = val.middle_slices(attack.slices_per_volume)
    ensure_writable(folder, UNWRITABLE_RUNS, 2 * len(attack.eps) * len(val) * ROW_BYTES)
    reconstruction = method.build()
    frame = measurement_rows(lambda eps: attack.attack(reconstruction, eps), val,
                             attack_transform(data, accel, attack.mask_style), attack.eps,
                             batch_size=attack.batch_size, device=device, progress=progress,
                             ssim_variant=attack.ssim_variant)
    if not frame[["SSIM", "clean SSIM"]].notna().all().all():
        raise FloatingPointError(f"{method.label}: a reconstruction gave no finite SSIM; "
                                 "nothing was cached")
    if rank_world()[0] == 0:  # every rank holds every row (fnaf.ranks); one writes them
        save_json({"method": asdict(method), "attack": asdict(attack), "accel": accel,
                   "rows": frame.to_dict("records")}, path)
    barrier()
    return frame


def two_step_frame(methods: dict[str, UntrainedConfig], attack: TwoStepConfig, data: RunConfig,
                   accel: int | None = None, root: str | PathLike | None = None, *,
                   device: torch.device | str | None = None) -> pd.DataFrame:
    """:func:`two_step_or_load` of each method (label -> config) on ``device``, the rows of all
    with a ``model`` column holding the label (no methods: no rows)."""
    device = resolve_device(device)
    if not methods:
        return pd.DataFrame()
    return pd.concat([two_step_or_load(config, attack, data, accel, root, device=device)
                      .assign(model=label) for label, config in methods.items()],
                     ignore_index=True)


#: The preset settings per scale: l1 (iterations) and the decoders (layers, channels, input
#: size, iterations). Demo: measured on the 4-coil demo phantom (4 validation slices, 4x, one
#: CPU thread): the ConvDecoder (5 layers, 16 channels) reached SSIM 0.698/0.706/0.717/0.725
#: after 100/200/400/600 Adam steps at about 40 ms per step and slice; 150 steps is what the
#: book's budget allows. l1 (wavelet, λ 3e-4): 0.745 after 100 FISTA iterations, 0.732 after 500.
UNTRAINED_SCALES = {
    "smoke": dict(l1=dict(iterations=10), decoder=dict(layers=4, channels=8, in_size=(4, 3),
                                                       iterations=10)),
    "demo": dict(l1=dict(iterations=60), decoder=dict(layers=5, channels=16, in_size=(8, 4),
                                                      iterations=150)),
    "paper": dict(l1=dict(iterations=1000), decoder=dict(iterations=10_000)),
}


def untrained_preset(scale: str, method: str, **overrides) -> UntrainedConfig:
    """The ``scale``'s settings of ``method`` (:data:`UNTRAINED_SCALES`; the paper's decoders
    are the architecture defaults, 8 layers x 256 channels and 10 x 368), then ``overrides``;
    the iterations capped by :func:`~fnaf.runs.step_cap.set_step_cap`."""
    if scale not in UNTRAINED_SCALES:
        raise ValueError(f"unknown scale {scale!r}; accepted: {list(UNTRAINED_SCALES)}")
    settings = UNTRAINED_SCALES[scale]["l1" if method == "l1" else "decoder"]
    config = UntrainedConfig(method, **{**settings, **overrides})
    return replace(config, iterations=capped(config.iterations))


def lambda_sweep(config: UntrainedConfig, lams, data: RunConfig, accel: int | None = None,
                 volumes: int = 2, *, device: torch.device | str | None = None,
                 mask_style: str = MASK_STYLES[0], ssim_variant: str = SSIM_VARIANTS[0],
                 root: str | PathLike | None = None) -> pd.DataFrame:
    """SSIM of l1-minimisation (``config`` with each ``lam`` of ``lams``) on the middle slice of
    the first ``volumes`` *training* volumes of ``data`` (tuning never sees the attacked
    validation slices), under ``mask_style``'s masks and ``ssim_variant``'s SSIM (fastMRI's by
    default): one row per (``lam``, slice) with ``basis``, ``fname``, ``slice``, ``SSIM``.
    Each λ's rows are cached under ``<root>/untrained/sweeps/`` (``root`` default
    :func:`~fnaf.runs.cache.runs_dir`), so chapters sweeping the same data share them."""
    from fnaf.runs.cache import ROW_BYTES, UNWRITABLE_RUNS, runs_dir

    if config.method != "l1":
        raise ValueError(f"lambda_sweep tunes l1-minimisation, not {config.method!r}")
    check_mask_style(mask_style)
    check_ssim_variant(ssim_variant)
    configs = [replace(config, lam=lam) for lam in lams]  # each λ checked before any work
    device = resolve_device(device)
    accel = data.evaluation_accel(accel)
    folder = (Path(root) if root is not None else runs_dir()) / "untrained" / "sweeps"
    setting = _key({"volumes": volumes, "mask_style": mask_style, "ssim_variant": ssim_variant})
    groups, rows = None, []
    for tuned in configs:
        path = folder / f"l1-{accel}x-{data_key(data, accel)}-{tuned.key()}-{setting}.json"
        if path.exists():
            rows += load_json(path, f"delete {path} to sweep again")["rows"]
            continue
        if groups is None:  # the tuning slices, read once and only when a λ is not cached
            train = datasets(data)[0]
            names = sorted(volume.fname.name for volume in train.volumes)[:volumes]
            slices = SeededSlices(train.only(names).middle_slices(1),
                                  attack_transform(data, accel, mask_style))
            groups = SliceGroups.collate([slices[i] for i in range(len(slices))]).to(device)
            ensure_writable(folder, UNWRITABLE_RUNS, len(configs) * len(slices) * ROW_BYTES)
        reconstruct, found = tuned.build(), []
        for batch in groups.batches:
            magnitudes = reconstruct(batch).cpu().numpy()
            for i, fname in enumerate(batch.fname):
                score = slice_scores(batch.target[i].cpu().numpy(), magnitudes[i],
                                     float(batch.max_value[i]), ssim_variant)
                found.append({"basis": tuned.basis, "lam": tuned.lam, "fname": fname,
                              "slice": int(batch.slice_num[i]), "SSIM": score["SSIM"]})
        if not all(math.isfinite(row["SSIM"]) for row in found):
            raise FloatingPointError(f"{tuned.label} at λ = {tuned.lam:g}: a reconstruction "
                                     "gave no finite SSIM; nothing was cached")
        if rank_world()[0] == 0:
            save_json({"method": asdict(tuned), "accel": accel, "rows": found}, path)
        rows += found
    return pd.DataFrame(rows, columns=["basis", "lam", "fname", "slice", "SSIM"])
