"""Experiment configs with ``smoke``/``demo``/``paper`` presets, and the run cache.

* :mod:`fnaf.runs.configs` — :class:`RunConfig`, :class:`AttackConfig` and their parts;
* :mod:`fnaf.runs.presets` — :func:`preset`, :func:`robust_preset` and the notebooks' accelerations;
* :mod:`fnaf.runs.builders` — the model, data, masks, transforms and objective of a config;
* :mod:`fnaf.runs.cache` — :func:`train_or_load`, :func:`evaluate_or_load`, :func:`attack_or_load`,
  :func:`reconstructions_or_load`;
* :mod:`fnaf.runs.classifier` — the patch classifier's config, patch sets and
  :func:`~fnaf.runs.classifier.classifier_or_load`;
* :mod:`fnaf.runs.replay` — :func:`replay_attack`, one attacked slice rebuilt for a figure.
"""

from fnaf.runs.builders import (
    attack_transform,
    build_model,
    build_optimizer,
    datasets,
    eval_transform,
    mask_function,
    objective_for,
    own_validation_boxes,
    transforms,
    validation_boxes,
)
from fnaf.runs.cache import (
    UNWRITABLE_RUNS,
    TrainedRun,
    attack_or_load,
    evaluate_or_load,
    load_run,
    provenance,
    reconstructions_or_load,
    run_dir,
    runs_dir,
    train_or_load,
)
from fnaf.runs.configs import (
    ATTACK_VERSION,
    CENTER_FRACTIONS,
    MASKS,
    MODELS,
    OBJECTIVES,
    OPTIMIZERS,
    SCALES,
    TRAINING_VERSION,
    AttackConfig,
    IrimConfig,
    ObjectiveConfig,
    OptimConfig,
    RunConfig,
    UnetConfig,
    check_choice,
)
from fnaf.runs.presets import (
    DEMO_BETA,
    IRIM_FEATURE_PIXELS,
    SMOKE_PHANTOM,
    chapter_configs,
    evaluation_accels,
    model_names,
    preset,
    robust_preset,
    training_accel,
)
from fnaf.runs.replay import (
    replay_attack,
)

__all__ = [
    "chapter_configs",
    "model_names",
    "validation_boxes",
    "ATTACK_VERSION",
    "AttackConfig",
    "CENTER_FRACTIONS",
    "DEMO_BETA",
    "IRIM_FEATURE_PIXELS",
    "IrimConfig",
    "MASKS",
    "MODELS",
    "OBJECTIVES",
    "OPTIMIZERS",
    "ObjectiveConfig",
    "OptimConfig",
    "RunConfig",
    "SCALES",
    "SMOKE_PHANTOM",
    "TRAINING_VERSION",
    "TrainedRun",
    "UNWRITABLE_RUNS",
    "UnetConfig",
    "attack_or_load",
    "attack_transform",
    "build_model",
    "build_optimizer",
    "check_choice",
    "datasets",
    "eval_transform",
    "evaluate_or_load",
    "evaluation_accels",
    "load_run",
    "mask_function",
    "objective_for",
    "own_validation_boxes",
    "preset",
    "provenance",
    "reconstructions_or_load",
    "replay_attack",
    "robust_preset",
    "run_dir",
    "runs_dir",
    "train_or_load",
    "training_accel",
    "transforms",
]
