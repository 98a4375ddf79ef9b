"""The abnormality classifier's runs (the FNAF paper's §3.1.3 and §3.8.2): config, patch sets
and the cached training through the one engine (:func:`fnaf.train.fit`).

A :class:`ClassifierConfig` says everything that determines a trained SqueezeNet: the data and
its annotation CSVs, the patch size and grid, the fine-tuning strategy and head, the optimiser
and schedule. Its hash names a folder in the run cache beside the reconstruction runs, holding
``config.json``, ``checkpoint/``, ``metrics.json`` (history, the selected epoch's validation,
the patch counts and the standardisation), ``provenance.json`` and ``model.pt`` (written last).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, replace
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from fnaf.classifier_scores import FULLY_SAMPLED, PatchScores, PatchValidator, predict
from fnaf.data.annotations import match_volumes, read_annotations
from fnaf.data.fastmri import SliceDataset, read_volumes
from fnaf.data.patches import (
    RELEASED_THRESHOLDS,
    PatchSet,
    PatchSpec,
    balanced,
    patch_images,
    patch_table,
)
from fnaf.data.phantom import PhantomConfig
from fnaf.data.sources import data_fingerprint, data_source
from fnaf.devices import resolve_device
from fnaf.io import ensure_writable, load_json, load_torch, save_json, save_torch
from fnaf.models.squeezenet import HEADS, STRATEGIES, SqueezeNet, load_imagenet_features
from fnaf.objectives import CleanObjective
from fnaf.pipelines import ClassifierPipeline
from fnaf.runs.cache import (
    CHECKPOINT_COPIES,
    UNWRITABLE_RUNS,
    provenance,
    reconstructions_or_load,
    runs_dir,
    state_bytes,
)
from fnaf.runs.configs import SCALES, TRAINING_VERSION, OptimConfig, check_choice
from fnaf.runs.presets import SMOKE_PHANTOM
from fnaf.runs.step_cap import capped
from fnaf.train import Settings, TrainingError, fit

#: The paper's fine-tuning (§3.8.2): SGD, lr 1e-3 with decay rate 0.1, weight decay 5e-4. The
#: paper gives no decay step nor momentum; the released command used momentum 0.9 and an
#: exponential decay of 0.9 per epoch (``OptimConfig(step_size=1, gamma=0.9)``). Here: momentum
#: 0.9 and the 0.1 decay at half the 100 epochs.
PAPER_CLASSIFIER_OPTIM = OptimConfig("sgd", lr=1e-3, step_size=50, gamma=0.1, momentum=0.9,
                                     weight_decay=5e-4)


@dataclass(frozen=True)
class ClassifierConfig:
    """Everything that determines a trained patch classifier (its hash is the cache key).

    ``patch_size`` and ``stride`` are in pixels of fastMRI's 320 × 320 grid (``stride=None``:
    the paper's, 2 for 32 px and 8 for 64 px; the released sets used 8 for both); the abnormal
    thresholds are the released sets' (:data:`~fnaf.data.patches.RELEASED_THRESHOLDS`);
    ``sampling`` caps the normal patches uniformly or by the abnormalities' regional
    distribution (``"adaptive"``, the paper's Fig. 3).
    ``strategy``: ``"head"`` (frozen features), ``"all"`` or ``"scratch"``; ``imagenet_weights``
    a local torchvision ``squeezenet1_0`` file (without one the features start random, with a
    warning). ``max_train_patches`` caps the training set by a balanced, seeded draw (``None``:
    all). ``patience``: early stopping after that many epochs without a better validation loss.
    """

    scale: str
    patch_size: int = 32
    stride: int | None = None
    sampling: str = "uniform"
    strategy: str = "head"
    head: str = "paper"
    optim: OptimConfig = PAPER_CLASSIFIER_OPTIM
    epochs: int = 100
    patience: int | None = 60
    batch_size: int = 128
    max_train_patches: int | None = None
    imagenet_weights: str | None = None
    data_root: str | None = None
    phantom: PhantomConfig = field(default_factory=PhantomConfig)
    annotations_train: str | None = None
    annotations_val: str | None = None
    seed: int = 0

    def __post_init__(self):  # validated before any data is read or the cache is looked up
        check_choice("scale", self.scale, SCALES)
        check_choice("strategy", self.strategy, STRATEGIES)
        check_choice("head", self.head, HEADS)
        for split in ("train", "val"):
            self.spec(split)  # the patch size and stride
        if self.epochs < 1 or self.batch_size < 1 or (self.patience is not None and
                                                      self.patience < 1):
            raise ValueError(f"epochs ({self.epochs}), batch_size ({self.batch_size}) and "
                             f"patience ({self.patience}) must be at least 1")
        if self.max_train_patches is not None and self.max_train_patches < 2:
            raise ValueError(f"max_train_patches must be >= 2 (one per class) or None, not "
                             f"{self.max_train_patches}")
        if self.imagenet_weights is not None:
            if self.strategy == "scratch":
                raise ValueError("strategy 'scratch' trains from random weights: drop "
                                 "imagenet_weights, or choose 'head' or 'all'")
            if not Path(self.imagenet_weights).is_file():
                raise FileNotFoundError(f"imagenet_weights {self.imagenet_weights}: no such "
                                        "file (nothing is downloaded at run time)")

    def spec(self, split: str) -> PatchSpec:
        """The patches of ``split`` (``"train"`` or ``"val"``)."""
        threshold = RELEASED_THRESHOLDS.get((self.patch_size, split), 0.75)
        return PatchSpec(self.patch_size, self.stride, threshold, sampling=self.sampling)

    def annotations(self) -> dict[str, str]:
        given = {"train": self.annotations_train, "val": self.annotations_val}
        return {split: path for split, path in given.items() if path is not None}

    def key(self) -> str:
        source = data_source(self.data_root, self.annotations(), self.phantom)
        data = None if self.data_root is None else data_fingerprint(
            self.data_root, source.annotations.values())
        payload = json.dumps({**asdict(self), "phantom": self.phantom.identity(),
                              "version": TRAINING_VERSION, "data": data,
                              "annotations": [_sha256(path) for path in
                                              source.annotations.values()]},
                             sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]

    @property
    def name(self) -> str:
        return f"squeezenet-{self.strategy}-{self.patch_size}px-{self.scale}-{self.key()}"


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def classifier_preset(scale: str = "demo", patch_size: int = 32, strategy: str = "head",
                      **overrides) -> ClassifierConfig:
    """The classifier of a scale.

    * ``smoke`` — tests: the smoke phantom, 2 epochs on at most 64 patches (seconds).
    * ``demo`` — the embedded phantom on the released 8-px grid, 8 epochs on at most 4000
      balanced training patches, no early stopping (about a minute on a 2-core CPU).
    * ``paper`` — fastMRI with the published CSVs (``data_root`` required): the paper's grid,
      SGD as :data:`PAPER_CLASSIFIER_OPTIM`, batch 128, early stopping after 60 epochs, at
      most 100.

    The epochs are capped by :func:`~fnaf.runs.step_cap.set_step_cap`.
    """
    check_choice("scale", scale, SCALES)
    if scale == "smoke":
        base = dict(stride=8, epochs=2, patience=None, batch_size=16, max_train_patches=64,
                    phantom=SMOKE_PHANTOM, optim=replace(PAPER_CLASSIFIER_OPTIM, step_size=1))
    elif scale == "demo":
        base = dict(stride=8, epochs=8, patience=None, max_train_patches=4000,
                    optim=replace(PAPER_CLASSIFIER_OPTIM, lr=1e-2, step_size=6))
    else:
        base = {}
    config = ClassifierConfig(scale, patch_size, strategy=strategy, **{**base, **overrides})
    config = replace(config, epochs=capped(config.epochs))
    if scale == "paper" and config.data_root is None:
        raise ValueError("the paper preset needs data_root: a fastMRI knee folder (and the "
                         "published annotation CSVs)")
    return config


@dataclass
class PatchData:
    """A classifier's patch tables (``"train"``, ``"val"``), their images on the fully-sampled
    targets, the target grid's patch side and the standardisation (the training patches')."""

    tables: dict[str, pd.DataFrame]
    targets: dict[str, PatchSet]
    size: int
    mean: float
    std: float

    def on(self, volumes: dict, split: str = "val") -> PatchSet:
        """The same patches of ``split`` cut from other images (``{file name: (S, h, w)}``, e.g.
        one method's reconstructions), standardised alike."""
        table = self.tables[split]
        return PatchSet(patch_images(volumes, table, self.size), table, self.mean, self.std)


def patch_data(config: ClassifierConfig) -> PatchData:
    """Build the patch tables of both splits from the annotation CSVs (matched to the volumes
    present), cut them from the fully-sampled targets and standardise them."""
    source = data_source(config.data_root, config.annotations(), config.phantom)
    tables, images, size = {}, {}, None
    for split in ("train", "val"):
        slices = SliceDataset(source.split(split))
        boxes = match_volumes(read_annotations(source.annotations[split]), slices.volumes)
        crop = int(slices.volumes[0].metadata["recon_size"][0])
        spec = config.spec(split)
        size = spec.on_grid(crop)[0]
        table = patch_table(boxes, crop, spec, seed=config.seed)
        if split == "train" and config.max_train_patches is not None:
            table = _capped(table, config.max_train_patches, config.seed)
        if not (table["label"] == 1).any():
            raise ValueError(f"no abnormal {config.patch_size}-px patch in the {split} split "
                             f"({source.annotations[split]}): use a smaller patch_size")
        tables[split] = table
        targets = read_volumes(slices.root, sorted(set(table["fname"])), slices.recons_key)
        images[split] = patch_images(targets, table, size)
    mean, std = float(images["train"].mean()), float(images["train"].std())
    return PatchData(tables, {split: PatchSet(images[split], tables[split], mean, std)
                              for split in tables}, size, mean, std)


def _capped(table: pd.DataFrame, count: int, seed: int) -> pd.DataFrame:
    """At most ``count`` patches, half of each class, drawn without replacement (seeded)."""
    per_class = count // 2
    parts = [group.sample(min(len(group), per_class), random_state=seed)
             for _, group in table.groupby("label")]
    return balanced(pd.concat(parts).sort_index(), seed).reset_index(drop=True)


@dataclass
class TrainedClassifier:
    """A finished classifier run: config, folder, model (eval mode, CPU), ``metrics.json`` and
    ``provenance.json``."""

    config: ClassifierConfig
    directory: Path
    model: nn.Module
    metrics: dict
    provenance: dict

    @property
    def pipeline(self) -> ClassifierPipeline:
        return ClassifierPipeline(self.config.patch_size)


def build_classifier(config: ClassifierConfig) -> SqueezeNet:
    """The SqueezeNet of ``config``: ImageNet features unless from scratch, and the strategy's
    trainable parameters."""
    model = SqueezeNet(config.head)
    if config.strategy != "scratch":
        load_imagenet_features(model, config.imagenet_weights)
    return model.apply_strategy(config.strategy)


def classifier_or_load(config: ClassifierConfig, root: str | PathLike | None = None, *,
                       data: PatchData | None = None, device: torch.device | str | None = None,
                       progress: bool = True) -> TrainedClassifier:
    """The trained classifier of ``config``, training it through :func:`fnaf.train.fit` only if
    no finished run exists; ``data`` (:func:`patch_data` of ``config``) saves building it
    again."""
    directory = (Path(root) if root is not None else runs_dir()) / config.name
    retrain = f"delete {directory} and run again to retrain it"
    model = SqueezeNet(config.head)
    if not (directory / "model.pt").exists():
        ensure_writable(directory, UNWRITABLE_RUNS, CHECKPOINT_COPIES * state_bytes(model))
        _train(config, directory, data or patch_data(config), device, progress)
    model.load_state_dict(load_torch(directory / "model.pt", retrain))
    metrics, origin = (load_json(directory / name, retrain)
                       for name in ("metrics.json", "provenance.json"))
    return TrainedClassifier(config, directory, model.eval(), metrics, origin)


def _train(config: ClassifierConfig, directory: Path, data: PatchData, device, progress):
    device = resolve_device(device)
    torch.manual_seed(config.seed)
    model = build_classifier(config)
    optimizer, scheduler = config.optim.build([p for p in model.parameters()
                                               if p.requires_grad])
    pipeline = ClassifierPipeline(config.patch_size)
    if progress:
        print(f"training {config.name} on {device} ({len(data.targets['train'])} patches)")
    save_json(asdict(config), directory / "config.json")
    result = fit(model, pipeline, CleanObjective(), data.targets["train"],
                 PatchValidator(pipeline, data.targets["val"]), optimizer=optimizer,
                 scheduler=scheduler, checkpoint_dir=directory / "checkpoint", device=device,
                 settings=Settings(epochs=config.epochs, batch_size=config.batch_size,
                                   seed=config.seed, patience=config.patience,
                                   progress=progress))
    validation = result.best_validation
    if not math.isfinite(validation["loss"]):  # never cache weights without a finite loss
        raise TrainingError(f"{config.name}: the selected weights give a validation loss of "
                            f"{validation['loss']}; nothing is cached as finished")
    save_json({"history": result.history, "best_epoch": result.best_epoch,
               "steps": result.steps, "validation": validation,
               "standardisation": {"mean": data.mean, "std": data.std},
               "patches": {split: len(table) for split, table in data.tables.items()}},
              directory / "metrics.json")
    save_json({**provenance(device, result.wall_time), "data": config.key()},
              directory / "provenance.json")
    save_torch(result.best_state, directory / "model.pt")


def classify_inputs(classifier: TrainedClassifier, data: PatchData, runs: dict, *,
                    device: torch.device | str | None = None
                    ) -> tuple[dict[tuple[str, int], PatchScores], dict[str, PatchSet]]:
    """The classifier on the validation patches of every input: the fully-sampled targets
    (:data:`~fnaf.classifier_scores.FULLY_SAMPLED`, listed at each acceleration) and each run's
    reconstructions (``runs``: ``(label, accel)`` -> :class:`~fnaf.runs.cache.TrainedRun`),
    cut at the same positions (:func:`~fnaf.runs.cache.reconstructions_or_load`).

    Returns the scores keyed ``(input, accel)`` and the patch sets keyed ``"<input> <accel>×"``
    (``"Fully-sampled"`` once).
    """
    device = resolve_device(device)
    names = sorted(set(data.tables["val"]["fname"]))
    patches = {FULLY_SAMPLED: data.targets["val"]}
    for (label, accel), run in runs.items():
        folder = reconstructions_or_load(run, accel, names, device=device)
        patches[f"{label} {accel}×"] = data.on(read_volumes(folder, names))
    scores = {key: predict(classifier.model, classifier.pipeline, images, device=device)
              for key, images in patches.items()}
    accels = list(dict.fromkeys(accel for _, accel in runs))
    keyed = {(FULLY_SAMPLED, accel): scores[FULLY_SAMPLED] for accel in accels}
    keyed.update({(label, accel): scores[f"{label} {accel}×"] for label, accel in runs})
    return dict(sorted(keyed.items(), key=lambda item: item[0][1])), patches


def strategy_scores(config: ClassifierConfig, data: PatchData, root: str | PathLike | None = None,
                    *, device: torch.device | str | None = None) -> dict[str, np.ndarray]:
    """§4.3's three training strategies on the same patches: the classifier of ``config`` under
    each of :data:`~fnaf.models.squeezenet.STRATEGIES` (``"scratch"`` without the ImageNet
    file), trained or loaded from the run cache, scored on the fully-sampled validation
    patches. Returns strategy -> abnormal-class probabilities, in the patch table's order."""
    scores = {}
    for strategy in STRATEGIES:
        variant = replace(config, strategy=strategy,
                          imagenet_weights=None if strategy == "scratch"
                          else config.imagenet_weights)
        classifier = classifier_or_load(variant, root, data=data, device=device, progress=False)
        scores[strategy] = predict(classifier.model, classifier.pipeline, data.targets["val"],
                                   device=resolve_device(device)).probabilities
    return scores
