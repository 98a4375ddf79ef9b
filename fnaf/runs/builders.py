"""What a config builds: the model, the data, the masks and transforms at each acceleration, the
objective and the optimiser."""

from __future__ import annotations

import random
from dataclasses import asdict

from torch import nn

from fnaf.data.annotations import AnnotationIndex, match_volumes, read_annotations
from fnaf.data.fastmri import SliceDataset
from fnaf.data.masks import (
    MASK_STYLES,
    style_mask_function,
)
from fnaf.data.sources import data_source
from fnaf.data.transforms import SliceTransform
from fnaf.models import IRIM, UNet, VarNet
from fnaf.runs.configs import RunConfig


def build_model(config: RunConfig) -> nn.Module:
    network = asdict(config.network)
    if config.model == "unet":
        return UNet(**network)
    if config.model == "varnet":
        return VarNet(**network)
    network.pop("train_resolution")
    return IRIM(**network)


def datasets(config: RunConfig) -> tuple[SliceDataset, SliceDataset]:
    """The training and validation slices of the config's data (phantom or ``data_root``)."""
    source = data_source(config.data_root, phantom=config.phantom, require_annotations=False,
                         challenge=config.data_challenge)
    return (SliceDataset(source.split("train"), challenge=source.challenge),
            SliceDataset(source.split("val"), challenge=source.challenge))


def selection_slices(config: RunConfig, val: SliceDataset) -> SliceDataset:
    """The validation volumes that select the epoch during training: all, or a seeded draw of
    ``config.selection_share`` of them (at least one)."""
    if config.selection_share is None:
        return val
    names = sorted(volume.fname.name for volume in val.volumes)
    count = max(1, round(config.selection_share * len(names)))
    return val.only(random.Random(config.seed).sample(names, count))


def training_boxes(config: RunConfig, train: SliceDataset) -> AnnotationIndex:
    """The training split's boxes of a B-Box run, read from ``<data_root>/singlecoil_bb_train.csv``
    (the phantom writes it there; for fastMRI copy the published CSV there) and matched to the
    volumes present."""
    source = data_source(config.data_root, phantom=config.phantom)
    return AnnotationIndex(match_volumes(read_annotations(source.annotations["train"]),
                                         train.volumes))


def objective_for(config: RunConfig, train: SliceDataset):
    """The run's objective; for ``"bbox"`` with :func:`training_boxes`."""
    bbox = config.objective.name == "bbox"
    return config.objective.build(training_boxes(config, train) if bbox else None)


def validation_boxes(config: RunConfig, annotations_val: str | None = None) -> AnnotationIndex:
    """The validation split's annotated boxes (Table 4's units), matched to the volumes present:
    from ``annotations_val`` (a CSV path) or the data's own ``singlecoil_bb_val.csv``."""
    source = data_source(config.data_root, {"val": annotations_val} if annotations_val else None,
                         config.phantom)
    val = datasets(config)[1]
    return AnnotationIndex(match_volumes(read_annotations(source.annotations["val"]),
                                         val.volumes))


def own_validation_boxes(config: RunConfig) -> AnnotationIndex | None:
    """:func:`validation_boxes` from the data's own ``singlecoil_bb_val.csv``, or ``None`` when
    the data has none."""
    source = data_source(config.data_root, phantom=config.phantom, require_annotations=False)
    return validation_boxes(config) if source.annotations["val"].is_file() else None


def mask_function(accels: tuple[int, ...]):
    """fastMRI's random mask at ``accels`` (one drawn per call), the paper's centre fractions."""
    return style_mask_function(MASK_STYLES[0], accels)


def transforms(config: RunConfig) -> tuple[SliceTransform, SliceTransform]:
    """Training (random mask per slice, i-RIM training crop) and validation (one seeded mask
    per volume, at the training accelerations: what selects the epoch) transforms."""
    resolution = getattr(config.network, "train_resolution", None)
    return (SliceTransform(mask_function(config.accels), use_seed=False, resolution=resolution),
            SliceTransform(mask_function(config.accels), use_seed=True))


def eval_transform(config: RunConfig, accel: int | None = None) -> SliceTransform:
    """Validation masks (one seeded mask per volume, fastMRI's rule) at one acceleration."""
    return SliceTransform(mask_function((config.evaluation_accel(accel),)), use_seed=True)


def attack_transform(config: RunConfig, accel: int | None = None,
                     mask_style: str = MASK_STYLES[0]) -> SliceTransform:
    """:func:`eval_transform` on the field of view the model is attacked in: the I-RIM's
    training crop (the released i-RIM code attacks 368×368 images), else the full one.
    ``mask_style`` ``"fastmri"`` (the default) draws fastMRI's masks; ``"robustness-cs"``
    Robustness-CS's (:func:`~fnaf.data.masks.style_mask_function`, the columns outside the
    target's width zeroed)."""
    mask_func = style_mask_function(mask_style, (config.evaluation_accel(accel),))
    return SliceTransform(mask_func, use_seed=True,
                          resolution=getattr(config.network, "train_resolution", None),
                          target_columns=mask_style == "robustness-cs")


def build_optimizer(config: RunConfig, model: nn.Module):
    """The run's optimiser over the parameters that train, and its schedule."""
    return config.optim.build([p for p in model.parameters() if p.requires_grad])
