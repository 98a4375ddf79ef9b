"""Every input file and size a run will use, checked before any training: the annotation CSVs it
reads, and its features against the region they are drawn in on the data's target grid."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from fnaf.data.fastmri import SliceDataset
from fnaf.runs.builders import datasets, own_validation_boxes, training_boxes, validation_boxes
from fnaf.runs.configs import AttackConfig, RunConfig


def target_grid(slices: SliceDataset) -> tuple[int, int]:
    """The target grid ``(h, w)`` of the first slice of ``slices``."""
    target, attrs = slices.read_slice(0)[2:4]
    return tuple(np.shape(target)[-2:]) if target is not None else tuple(attrs["recon_size"][:2])


def check_inputs(configs: RunConfig | Iterable[RunConfig], attack: AttackConfig | None = None,
                 annotations_val: str | None = None) -> None:
    """Refuse, before any training, what would otherwise stop a chapter or a command only after
    a model has trained: for every config of ``configs`` and each run it fine-tunes from, a
    missing, malformed or foreign annotation CSV (a B-Box run's training boxes; the validation
    boxes of ``annotations_val``, else the data's own ``singlecoil_bb_val.csv`` when it has
    one), and FNAF features (the objective's, ``attack``'s) that do not fit the region they are
    drawn in on the data's target grid."""
    pending = [configs] if isinstance(configs, RunConfig) else list(configs)
    data = {}  # each data source read once: (training, validation slices)
    while pending:
        config = pending.pop(0)
        if config.init_from is not None:
            pending.append(config.init_from)
        source = (config.data_root, config.phantom, config.data_challenge)
        if source not in data:
            data[source] = datasets(config)
            if annotations_val is not None:
                validation_boxes(config, annotations_val)
            else:
                own_validation_boxes(config)
        train, val = data[source]
        if config.objective.name == "bbox":
            training_boxes(config, train)
        if config.objective.name == "fnaf":
            config.objective.features().check_grid(target_grid(train),
                                                   f"the FNAF objective of {config.name}")
        if attack is not None:
            attack.features().check_grid(target_grid(val), f"the attack on {config.name}")
