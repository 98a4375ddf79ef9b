"""The ``smoke`` / ``demo`` / ``paper`` presets: a baseline's config (:func:`preset`), a robust
or clean fine-tune of it (:func:`robust_preset`), and the accelerations a notebook's ``accel``
and ``masks`` parameters name."""

from __future__ import annotations

from dataclasses import replace

from fnaf.data.masks import CENTER_FRACTIONS
from fnaf.data.phantom import PhantomConfig
from fnaf.models import MODEL_NAMES
from fnaf.objectives import PAPER_BETA
from fnaf.runs.configs import (
    MASKS,
    MODELS,
    RECONSTRUCTION_MODELS,
    SCALES,
    IrimConfig,
    ObjectiveConfig,
    OptimConfig,
    RunConfig,
    UnetConfig,
    VarNetConfig,
    check_choice,
)
from fnaf.runs.step_cap import capped


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


def model_names(model: str) -> list[str]:
    """The models a notebook's ``model`` parameter names: ``"unet"``, ``"irim"`` or ``"both"``."""
    check_choice("model", model, [*MODELS, "both"])
    return list(MODELS) if model == "both" else [model]


def chapter_configs(scale: str, model: str, accel: int | str, masks: str,
                    variants: dict[str, tuple[str, dict]], *, data_root: str | None = None,
                    irim_weights: str | None = None) -> dict[tuple[str, int], RunConfig]:
    """The runs a chapter compares, keyed by ``(display label, evaluation acceleration)``.

    For each model (:func:`model_names`) and acceleration (:func:`evaluation_accels`, trained as
    :func:`training_accel` says), one run per ``variants`` entry ``label template -> (objective,
    options)``: the template's ``{}`` takes the model's display name; objective ``"baseline"``
    is :func:`preset`, any other a :func:`robust_preset` fine-tune of it with ``options``.
    ``irim_weights``: the released i-RIM as the I-RIM baseline (and its fine-tunes' start).
    """
    data = {"data_root": data_root} if data_root is not None else {}
    configs = {}
    for name in model_names(model):
        weights = irim_weights if name == "irim" else None
        for a in evaluation_accels(accel):
            trained_at = training_accel(a, masks)
            for template, (objective, options) in variants.items():
                label = template.format(MODEL_NAMES[name])
                configs[label, a] = (
                    preset(scale, name, trained_at, **data, init_weights=weights, **options)
                    if objective == "baseline" else
                    robust_preset(scale, name, trained_at, objective, **data,
                                  init_weights=weights, **options))
    return configs


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
    ("smoke", "varnet"): VarNetConfig(num_cascades=2, sens_chans=2, sens_pools=2, chans=4,
                                      pools=2),
    ("demo", "varnet"): VarNetConfig(num_cascades=4, sens_chans=4, sens_pools=2, chans=6,
                                     pools=3),
    ("paper", "varnet"): VarNetConfig(),
}


#: The size families of Darestani et al.'s appendix (Tables 1 and 2), for the paper preset.
#: Table 2 gives every U-Net 4 pools and 8 or 4 "layers"; fastMRI's U-Net has no layer count
#: apart from its pools (a down and an up block per pool), and with 4 pools throughout U-net2
#: and U-net3 would be one network, so "#layers" is read as 2 x pools (U-net3, U-net5: 2 pools).
VARNET_FAMILY = {
    "VarNet-ref": VarNetConfig(num_cascades=12, sens_chans=8, chans=18),
    "VarNet2": VarNetConfig(num_cascades=12, sens_chans=4, chans=9),
    "VarNet3": VarNetConfig(num_cascades=6, sens_chans=4, chans=9),
    "VarNet4": VarNetConfig(num_cascades=12, sens_chans=2, chans=4),
    "VarNet5": VarNetConfig(num_cascades=6, sens_chans=2, chans=4),
}
UNET_FAMILY = {
    "U-net-ref": UnetConfig(chans=32, num_pool_layers=4),
    "U-net2": UnetConfig(chans=16, num_pool_layers=4),
    "U-net3": UnetConfig(chans=16, num_pool_layers=2),
    "U-net4": UnetConfig(chans=8, num_pool_layers=4),
    "U-net5": UnetConfig(chans=8, num_pool_layers=2),
}
SIZE_FAMILIES = {"varnet": VARNET_FAMILY, "unet": UNET_FAMILY}
#: The fields a family member changes, and the reference's field it is a fraction of.
_SIZED_FIELDS = {"varnet": ("num_cascades", "sens_chans", "chans"),
                 "unet": ("chans", "num_pool_layers")}


def size_family(scale: str, model: str) -> dict:
    """The appendix's size family of ``model`` at ``scale``: at ``paper`` the published
    networks (:data:`SIZE_FAMILIES`); below it each member keeps the published member's
    fractions of the reference (cascades, widths, pools; rounded, at least 1) applied to the
    scale's own network, so that ``VarNet3`` is always the reference with half the cascades
    and half the widths."""
    check_choice("scale", scale, SCALES)
    check_choice("model", model, tuple(SIZE_FAMILIES))
    family = SIZE_FAMILIES[model]
    if scale == "paper":
        return dict(family)
    reference, own = next(iter(family.values())), _NETWORKS[scale, model]
    return {name: replace(own, **{field: max(1, round(getattr(own, field) * getattr(member, field)
                                                      / getattr(reference, field)))
                                  for field in _SIZED_FIELDS[model]})
            for name, member in family.items()}


_OPTIM = {"unet": OptimConfig("rmsprop", 1e-3, 40, 0.1), "irim": OptimConfig("adam", 1e-4, 30, 0.1),
          "varnet": OptimConfig("adam", 3e-4, 40, 0.1)}


def preset(scale: str = "demo", model: str = "unet", accel: int | tuple[int, ...] = 4,
           **overrides) -> RunConfig:
    """The clean baseline config of ``model`` trained at ``accel`` (one, or ``(4, 8)``: mixed
    masks) for a scale.

    * ``smoke`` — tests: 3+2 phantom volumes at 32x32, tiny networks, 2 epochs (seconds).
    * ``demo`` — the default: the embedded phantom (40+10 volumes x 8 slices, 128x128), U-Net
      chans 8 / a small i-RIM, sized for a 2-core CPU (minutes); schedules keep the paper's shape
      (learning-rate decay for the last fifth); half the validation volumes select the epoch.
    * ``paper`` — the paper's setting: real fastMRI single-coil knee data (``data_root``
      required), U-Net chans 32 (RMSprop 1e-3, StepLR 40, 50 epochs, fastMRI) and the i-RIM
      single-coil preset (Adam 1e-4, StepLR 30, 50 epochs, batch 8, 368x368 training crop).

    ``overrides`` replace fields (e.g. ``epochs=2``, ``data_root="/data/knee"``);
    ``init_weights`` (a weight file, e.g. the released i-RIM) makes the file the baseline:
    ``epochs=0`` unless given. The epochs are capped by :func:`~fnaf.runs.step_cap.set_step_cap`.
    """
    check_choice("scale", scale, SCALES)
    check_choice("model", model, RECONSTRUCTION_MODELS)
    optim = _OPTIM[model]
    if scale == "smoke":
        base = dict(epochs=2, batch_size=2, phantom=SMOKE_PHANTOM,
                    optim=replace(optim, step_size=1))
    elif scale == "demo" and model == "varnet":
        base = dict(_DEMO_VARNET)
    elif scale == "demo":
        # The U-Net keeps fastMRI's learning rate; the small i-RIM needs 5e-3 (the paper's
        # 1e-4 x 50) to learn within 320 steps (measured: SSIM 0.668 at 1e-3, 0.709 at 3e-3,
        # 0.727 at 5e-3, 0.708 at 1e-2; zero-filled 0.612).
        # Half the validation volumes select the epoch (a third of the I-RIM's training time
        # was its full-field-of-view validation); Table 3 evaluates every volume.
        base = dict(epochs=10 if model == "unet" else 4, batch_size=4, selection_share=0.5,
                    optim=replace(optim, step_size=8 if model == "unet" else 3,
                                  lr=1e-3 if model == "unet" else 5e-3))
    else:
        base = dict(epochs=50, batch_size=8 if model == "irim" else 1, optim=optim)
    if overrides.get("init_weights") is not None:
        base["epochs"] = 0  # the weight file is the baseline (unless epochs are given)
    config = RunConfig(**{"model": model, "accel": accel, "scale": scale,
                          "network": _NETWORKS[scale, model], **base, **overrides})
    config = replace(config, epochs=capped(config.epochs))
    if config.scale == "paper" and config.data_root is None:
        raise ValueError("the paper preset needs data_root: a fastMRI knee folder with "
                         f"{config.data_challenge}_train/ and {config.data_challenge}_val/ (the "
                         "phantom is for smoke/demo)")
    return config


#: The demo VarNet's schedule: fastMRI's Adam at a higher rate, three epochs with a drop for the
#: last (an epoch takes about 40 s on the 2-core CPU). Measured on the multi-coil demo phantom
#: (validation SSIM after each epoch; zero-filled 0.625): 1e-3, 2 epochs: 0.612, 0.650;
#: 3e-3, 3 epochs: 0.647, 0.682, 0.695; 5e-3, 3 epochs: 0.654, 0.699, 0.720.
_DEMO_VARNET = dict(epochs=3, batch_size=4, selection_share=0.5,
                    optim=OptimConfig("adam", 5e-3, 2, 0.1))

#: The multi-coil demo phantom: the demo knees with 4 birdcage coils, fewer training volumes
#: (each multi-coil slice costs its coils' FFTs and the VarNet's cascades).
MULTICOIL_DEMO_PHANTOM = PhantomConfig(train_volumes=12, val_volumes=8, coils=4)

#: The phantom's data sources of the distribution-shift chapter, as changes to the scale's
#: multi-coil phantom. ``knee``: the FNAF chapters' knees. ``knee-shifted``: a second source of
#: the same anatomy, as the Stanford 3-D FSE knees were for fastMRI: another contrast (PD 3-D
#: FSE, no fat suppression), twice the noise, a 20 % wider field of view and 8 coils on a
#: tighter circle (other knees too: its own seed). ``brain``: real brain anatomy (the MNI152
#: template, T1/T2/FLAIR, no abnormalities), through the same coils and pipeline.
PHANTOM_SOURCES = {
    "knee": {},
    "knee-shifted": dict(contrasts=("PD_3DFSE",), noise=0.03, fov=1.2, coils=8, coil_radius=1.2,
                         seed=101),
    "brain": dict(anatomy="brain", lesions_per_volume=0, val_lesions_per_volume=0,
                  val_lesions_per_label=0, seed=102),
}


def multicoil_preset(scale: str = "demo", model: str = "varnet", accel: int = 4,
                     coils: int = 4, size: str | None = None, data_root: str | None = None,
                     source: str = "knee", **overrides) -> RunConfig:
    """A model trained on multi-coil data (Darestani et al.'s setting): the phantom with
    ``coils`` coils (smoke, demo) or a fastMRI multi-coil folder (paper, ``data_root`` with
    ``multicoil_train/``, ``multicoil_val/``); ``size`` a member of the appendix's size family
    (:func:`size_family`), default the scale's own network; ``source`` the phantom's data
    source (:data:`PHANTOM_SOURCES`; ``knee-shifted`` brings its own coils)."""
    check_choice("model", model, tuple(SIZE_FAMILIES))
    check_choice("source", source, tuple(PHANTOM_SOURCES))
    if not isinstance(coils, int) or coils < 2:
        raise ValueError(f"coils must be an integer >= 2 for multi-coil data, not {coils!r}")
    data: dict = {}
    if scale == "paper" and data_root is None:
        raise ValueError("the paper preset needs data_root: a fastMRI knee folder with "
                         "multicoil_train/ and multicoil_val/ (the phantom is for smoke/demo)")
    if data_root is not None:
        data = dict(data_root=data_root, challenge="multicoil")
    elif scale in ("smoke", "demo"):
        base = SMOKE_PHANTOM if scale == "smoke" else MULTICOIL_DEMO_PHANTOM
        data = dict(phantom=replace(base, **{"coils": coils, **PHANTOM_SOURCES[source]}))
    if size is not None:
        family = size_family(scale, model)
        check_choice(f"{model} size", size, family)
        overrides["network"] = family[size]
    return preset(scale, model, accel, **data, **overrides)


#: The attacks' budgets per scale: k-space PGD steps per start on a trained network (chapter 07)
#: and the two-step attack's joint steps on l1 and the decoders (chapter 08). The appendix gives
#: no counts ("a few gradient iterations", A.1); the authors' code moved the perturbation for at
#: most 2000 Adam steps on the trained networks (stopped early after 100 projections or a
#: stalled norm, the best iterate kept), 249 SGD steps on l1 (350 after a clean start of 101)
#: and 300 Adam steps on the ConvDecoder (400 after an entry at 100). The paper preset gives
#: every method the same 300 steps on the perturbation, so budgets compare across methods: the
#: ConvDecoder's, above l1's and below the networks' cap (this PGD takes normalised steps of
#: ``2.5 / steps`` of the radius, not Adam's; with the best iterate kept, more steps only help
#: the attack). Smoke and demo are CPU budgets: fewer steps, and not equal across the attacks.
ATTACK_STEPS = {"smoke": {"pgd": 3, "two_step": 3}, "demo": {"pgd": 8, "two_step": 20},
                "paper": {"pgd": 300, "two_step": 300}}


def attack_steps(scale: str, attack: str) -> int:
    """The ``scale``'s steps of ``attack`` (``"pgd"`` or ``"two_step"``), :data:`ATTACK_STEPS`
    (capped by :func:`~fnaf.runs.step_cap.set_step_cap`)."""
    check_choice("scale", scale, ATTACK_STEPS)
    check_choice("attack", attack, ATTACK_STEPS[scale])
    return capped(ATTACK_STEPS[scale][attack])


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
    return replace(baseline, objective=ObjectiveConfig(objective, **options), epochs=capped(epochs),
                   optim=replace(baseline.optim, step_size=drop), init_from=baseline,
                   init_weights=None)
