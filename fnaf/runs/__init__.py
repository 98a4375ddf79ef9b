"""Experiment configs with ``smoke``/``demo``/``paper`` presets, and the run cache.

* :mod:`fnaf.runs.configs` — :class:`RunConfig`, :class:`AttackConfig` and their parts;
* :mod:`fnaf.runs.presets` — :func:`preset`, :func:`robust_preset` and the notebooks' accelerations;
* :mod:`fnaf.runs.builders` — the model, data, masks, transforms and objective of a config;
* :mod:`fnaf.runs.inputs` — :func:`check_inputs`, every input file and feature size a run will
  use, checked before any training;
* :mod:`fnaf.runs.cache` — :func:`train_or_load`, :func:`evaluate_or_load`, :func:`attack_or_load`,
  :func:`reconstructions_or_load`;
* :mod:`fnaf.runs.classifier` — the patch classifier's config, patch sets and
  :func:`~fnaf.runs.classifier.classifier_or_load`;
* :mod:`fnaf.runs.untrained` — l1-minimisation and the un-trained decoders: their configs,
  presets, the λ sweep and the cached two-step attack :func:`two_step_or_load`;
* :mod:`fnaf.runs.feature_slices` — the validation slices of the small-feature and
  distribution-shift chapters as batches;
* :mod:`fnaf.runs.replay` — :func:`replay_attack`, one attacked slice rebuilt for a figure;
* :mod:`fnaf.runs.step_cap` — :func:`set_step_cap`, the dry run's cap on every preset's epochs,
  steps and iterations;
* :mod:`fnaf.runs.processes` — :func:`set_processes` (``$FNAF_PROCESSES``): each training
  launched in that many ``torchrun`` processes.
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
    HELD_OUT_SEED_OFFSET,
    UNWRITABLE_RUNS,
    TrainedRun,
    attack_or_load,
    evaluate_or_load,
    load_run,
    pgd_frame,
    pgd_or_load,
    provenance,
    reconstructions_or_load,
    run_dir,
    runs_dir,
    scored_on,
    train_or_load,
)
from fnaf.runs.configs import (
    ATTACK_VERSION,
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
    PgdConfig,
    RunConfig,
    UnetConfig,
    VarNetConfig,
    check_choice,
    check_counts,
    check_lams,
    check_list,
    check_paired,
)
from fnaf.runs.feature_slices import annotated_slices, middle_slices
from fnaf.runs.inputs import check_inputs
from fnaf.runs.presets import (
    ATTACK_STEPS,
    DEMO_BETA,
    IRIM_FEATURE_PIXELS,
    PHANTOM_SOURCES,
    SIZE_FAMILIES,
    SMOKE_PHANTOM,
    attack_steps,
    chapter_configs,
    evaluation_accels,
    model_names,
    multicoil_preset,
    preset,
    robust_preset,
    size_family,
    training_accel,
)
from fnaf.runs.processes import set_processes
from fnaf.runs.replay import (
    replay_attack,
    replay_pgd,
    replay_two_step,
)
from fnaf.runs.step_cap import set_step_cap
from fnaf.runs.untrained import (
    UNTRAINED_METHODS,
    TwoStepConfig,
    UntrainedConfig,
    lambda_sweep,
    two_step_frame,
    two_step_or_load,
    untrained_preset,
)

__all__ = [
    "set_processes",
    "set_step_cap",
    "annotated_slices",
    "middle_slices",
    "chapter_configs",
    "attack_steps",
    "ATTACK_STEPS",
    "model_names",
    "validation_boxes",
    "ATTACK_VERSION",
    "AttackConfig",
    "DEMO_BETA",
    "IRIM_FEATURE_PIXELS",
    "IrimConfig",
    "MASKS",
    "MODELS",
    "OBJECTIVES",
    "OPTIMIZERS",
    "ObjectiveConfig",
    "OptimConfig",
    "PgdConfig",
    "RunConfig",
    "PHANTOM_SOURCES",
    "SIZE_FAMILIES",
    "size_family",
    "SCALES",
    "SMOKE_PHANTOM",
    "TRAINING_VERSION",
    "TrainedRun",
    "UNWRITABLE_RUNS",
    "UnetConfig",
    "VarNetConfig",
    "attack_or_load",
    "attack_transform",
    "build_model",
    "build_optimizer",
    "check_choice",
    "check_counts",
    "check_inputs",
    "check_lams",
    "check_list",
    "check_paired",
    "datasets",
    "eval_transform",
    "evaluate_or_load",
    "evaluation_accels",
    "load_run",
    "mask_function",
    "objective_for",
    "own_validation_boxes",
    "multicoil_preset",
    "pgd_frame",
    "pgd_or_load",
    "preset",
    "provenance",
    "reconstructions_or_load",
    "replay_attack",
    "replay_pgd",
    "replay_two_step",
    "TwoStepConfig",
    "UNTRAINED_METHODS",
    "UntrainedConfig",
    "lambda_sweep",
    "two_step_frame",
    "two_step_or_load",
    "untrained_preset",
    "robust_preset",
    "run_dir",
    "scored_on",
    "HELD_OUT_SEED_OFFSET",
    "runs_dir",
    "train_or_load",
    "training_accel",
    "transforms",
]
