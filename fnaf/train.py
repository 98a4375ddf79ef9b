"""One training engine for every model and objective.

:func:`fit` runs epochs of shuffled, shape-homogeneous batches; each step asks the *objective* for
a loss (``objective(model, pipeline, batch, generator) -> scalar``, :mod:`fnaf.objectives`), so
the clean, FNAF-robust and B-Box objectives plug in without touching the loop, and the patch
classifier trains through the same loop (its pipeline's own loss is the cross-entropy). After
every epoch ``validate`` scores the model on the clean validation set (a reconstruction model:
fastMRI metrics and its own loss, :class:`fnaf.evaluation.Validator`; the classifier:
:class:`fnaf.classifier_scores.PatchValidator`); the best validation loss selects the weights that
are kept, and ``patience`` stops a run early.

Determinism and resuming: the epoch's order comes from ``seed + epoch``, every slice's training
mask from ``(seed, epoch, index)`` and every step's objective generator from ``(seed, step)``, so
none depends on data-loader workers. Checkpoints (model, optimiser, scheduler, position, best
weights, history) are written atomically every ``checkpoint_every`` steps and at each epoch's end;
:func:`fit` on the same folder resumes from the last one and, on CPU, reaches bit-identical
weights to an uninterrupted run.

A non-finite training loss stops training with a :class:`TrainingError` naming the step and the
slices; a validation loss that is not finite raises one too (and a reconstruction model's
validation raises on any volume whose metrics are not finite, naming the file), so no caller can
keep untrained or diverged weights, or metrics over fewer volumes, as a finished run.

Multi-GPU/multi-node: launch with ``torchrun`` (``python -m fnaf train ...``);
:func:`init_distributed` joins the process group, the model is wrapped in
:class:`~torch.nn.parallel.DistributedDataParallel`
and each rank takes its share of every global batch, so ``batch_size`` is the global batch and the
result matches one process with the same batch.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Protocol

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, default_collate
from tqdm import tqdm

from fnaf.data.batches import ShapeBatchSampler, derived_seed
from fnaf.data.transforms import KneeSlice
from fnaf.devices import default_device, resolve_device
from fnaf.io import load_torch, remove_stale_partials, save_torch
from fnaf.models.checkpoints import CheckpointError, check_state
from fnaf.ranks import rank_world

CHECKPOINT = "checkpoint.pt"
BEST = "best.pt"


class TrainingError(RuntimeError):
    """Training cannot give a usable model (a non-finite loss); the message says where."""


class Objective(Protocol):
    """A training loss: ``objective(model, pipeline, batch, generator) -> scalar tensor``.

    ``generator`` is seeded per step (on the model's device) for objectives that draw random
    perturbations; ``pipeline`` turns a batch into a reconstruction and knows the model's loss.
    """

    def __call__(self, model: nn.Module, pipeline, batch: KneeSlice,
                 generator: torch.Generator) -> torch.Tensor: ...


class TrainingSet(Protocol):
    """What :func:`fit` trains on: items indexed by ``(index, seed)`` (the seed draws the item's
    random mask, so it does not depend on loader workers), and every item's ``shapes`` entry
    (a batch holds one shape). Collated items have ``.to(device)``, ``fname`` and
    ``slice_num``. :class:`~fnaf.data.batches.SeededSlices`, :class:`~fnaf.data.patches.PatchSet`.
    """

    shapes: list

    def __len__(self) -> int: ...

    def __getitem__(self, key: tuple[int, int]): ...


class Validation(Protocol):
    """One validation pass: ``loss`` (selects the epoch), ``means()`` (the history's scores)
    and ``record()`` (what the run keeps of the selected epoch, JSON-ready)."""

    loss: float

    def means(self) -> dict[str, float]: ...

    def record(self) -> dict: ...


@dataclass
class Settings:
    """How :func:`fit` runs (not what it trains).

    ``batch_size`` is the global batch; ``checkpoint_every`` in steps (0: only at epoch ends);
    ``patience``: stop after that many epochs without a better validation loss (``None``:
    run every epoch); ``amp`` enables bfloat16 autocast on CUDA (ignored on CPU).
    """

    epochs: int
    batch_size: int
    seed: int = 0
    checkpoint_every: int = 0
    patience: int | None = None
    num_workers: int = 0
    amp: bool = False
    progress: bool = True


@dataclass
class FitResult:
    """The best weights (by clean validation loss), the per-epoch history, the wall time and
    the best epoch's :meth:`Validation.record` (``None`` on ranks other than 0)."""

    best_state: dict
    best_epoch: int
    history: list[dict] = field(default_factory=list)
    steps: int = 0
    wall_time: float = 0.0
    best_validation: dict | None = None


def init_distributed(device: torch.device | str | None = None) -> tuple[int, int]:
    """Join the ``torchrun`` process group if there is one; return ``(rank, world_size)``.

    NCCL when training on CUDA (``device``, default :func:`default_device`), gloo on CPU.
    Without ``torchrun`` (no ``WORLD_SIZE``) this is ``(0, 1)``.
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return 0, 1
    device = resolve_device(device)
    if device.type == "cuda":
        torch.cuda.set_device(device if device.index is not None else default_device())
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size()


def _state(model: nn.Module) -> dict:
    return {key: value.detach().cpu().clone() for key, value in model.state_dict().items()}


class LossGuard:
    """Stops training on a non-finite loss without a device sync per step.

    The step losses stay on the device until :meth:`check` (every few steps, before a
    checkpoint, at an epoch's end), which raises a :class:`TrainingError` naming the first bad
    step and its slices; under DDP the ranks agree on the outcome, so all of them stop.
    """

    def __init__(self, checkpoint_dir: Path, world_size: int = 1):
        self.checkpoint_dir, self.world_size = checkpoint_dir, world_size
        self.pending: list[tuple[int, int, torch.Tensor, str]] = []

    def record(self, step: int, epoch: int, loss: torch.Tensor, batch) -> None:
        """Keep the step's loss (on its device) and the names of its slices (on the host)."""
        slices = ", ".join(f"{fname} slice {int(number)}"
                           for fname, number in zip(batch.fname, batch.slice_num))
        self.pending.append((step, epoch, loss.detach(), slices))

    def check(self) -> float:
        """Raise if a loss since the last check was not finite; return the latest loss."""
        if not self.pending:
            return float("nan")
        losses = torch.stack([loss.float() for _, _, loss, _ in self.pending])
        finite = torch.isfinite(losses)
        failed = (~finite).any().float()
        if self.world_size > 1:
            dist.all_reduce(failed, op=dist.ReduceOp.MAX)
        if failed.item():
            self._fail(finite.tolist(), losses.tolist())
        latest = losses[-1].item()
        self.pending.clear()
        return latest

    def _fail(self, finite: list[bool], losses: list[float]):
        if all(finite):
            where = "on another process"
        else:
            step, epoch, _, slices = self.pending[finite.index(False)]
            where = (f"= {losses[finite.index(False)]} at step {step} (epoch {epoch + 1}) on "
                     f"{slices}")
        raise TrainingError(f"the training loss is not finite {where}; lower the learning rate "
                            f"or check the data. The last checkpoint in {self.checkpoint_dir} "
                            "(before the failure) is kept; nothing is cached as finished.")


def train_step(model: nn.Module, pipeline, objective: Objective, batch,
               optimizer: torch.optim.Optimizer, generator: torch.Generator,
               autocast: bool = False) -> torch.Tensor:
    """One optimisation step on a batch already on the model's device; returns the loss."""
    device_type = generator.device.type
    with torch.autocast(device_type, dtype=torch.bfloat16, enabled=autocast):
        loss = objective(model, pipeline, batch, generator)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()


def _stalled(position: dict, patience: int, device: torch.device, world_size: int) -> bool:
    """Whether ``patience`` epochs have passed since the best one (rank 0 decides for all)."""
    epochs = len(position["history"])
    stalled = torch.tensor(float(epochs > 0 and epochs - position["best_epoch"] >= patience),
                           device=device)
    if world_size > 1:
        dist.broadcast(stalled, src=0)
    return bool(stalled.item())


def fit(model: nn.Module, pipeline, objective: Objective, train: TrainingSet,
        validate: Callable[[nn.Module, torch.device], Validation], *,
        optimizer: torch.optim.Optimizer, scheduler, settings: Settings,
        checkpoint_dir: str | PathLike, device: torch.device | str | None = None) -> FitResult:
    """Train ``model`` with ``objective`` and return the best weights by validation loss.

    Args:
        pipeline: :class:`~fnaf.pipelines.UnetPipeline`, :class:`~fnaf.pipelines.IrimPipeline`
            or :class:`~fnaf.pipelines.ClassifierPipeline`.
        train: a :class:`TrainingSet` (slices read through a transform that draws random
            masks, ``SeededSlices(slices, SliceTransform(..., use_seed=False))``; or patches).
        validate: ``validate(model, device) -> Validation`` on the clean validation set (run on
            rank 0 after every epoch).
        scheduler: stepped once per epoch (StepLR as fastMRI and i-RIM).
        checkpoint_dir: where ``checkpoint.pt`` (resume state) and ``best.pt`` live; an
            existing checkpoint is resumed.
    """
    start = time.perf_counter()
    device = resolve_device(device)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    rank, world_size = rank_world()
    checkpoint_dir = Path(checkpoint_dir)
    if rank == 0 and checkpoint_dir.is_dir():
        remove_stale_partials(checkpoint_dir)  # half-written checkpoints of a killed run
    model.to(device)
    network = model
    if world_size > 1:
        network = DistributedDataParallel(model, device_ids=[device] if device.type == "cuda"
                                          else None)
    sampler = ShapeBatchSampler(train.shapes, settings.batch_size, settings.seed, rank,
                                world_size)
    position = {"epoch": 0, "skip": 0, "step": 0, "best_loss": float("inf"), "best_epoch": -1,
                "history": [], "wall_time": 0.0}
    best_state = _state(model)
    if (checkpoint_dir / CHECKPOINT).exists():
        restart = f"delete {checkpoint_dir} to restart the run from its first step"
        saved = load_torch(checkpoint_dir / CHECKPOINT, restart)
        foreign = (f"The run's configuration changed since this checkpoint was written (another "
                   f"architecture or size in the same folder): {restart}, or train into "
                   "another folder.")
        if not isinstance(saved, dict) or not {"model", "optimizer", "scheduler", "rng",
                                               "position"} <= set(saved):
            raise CheckpointError(f"{checkpoint_dir / CHECKPOINT}: not a training checkpoint "
                                  f"of fnaf's engine. {foreign}")
        check_state(model, saved["model"], checkpoint_dir / CHECKPOINT, foreign)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        torch.set_rng_state(saved["rng"])
        position = saved["position"]
        if (checkpoint_dir / BEST).exists():  # absent before the first validation
            best_state = load_torch(checkpoint_dir / BEST, restart)
            check_state(model, best_state, checkpoint_dir / BEST, foreign)
    earlier_time = position["wall_time"]

    def save(epoch: int, skip: int) -> None:
        if rank != 0:
            return
        position.update(epoch=epoch, skip=skip,
                        wall_time=earlier_time + time.perf_counter() - start)
        save_torch({"model": _state(model), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "rng": torch.get_rng_state(),
                    "position": position}, checkpoint_dir / CHECKPOINT)

    guard = LossGuard(checkpoint_dir, world_size)
    autocast = settings.amp and device.type == "cuda"
    for epoch in range(position["epoch"], settings.epochs):
        if settings.patience is not None and _stalled(position, settings.patience, device,
                                                      world_size):
            break  # early stopping (checked first, so a resumed run stops where it did)
        sampler.set_epoch(epoch, position["skip"])
        loader = DataLoader(train, batch_sampler=sampler, num_workers=settings.num_workers,
                            collate_fn=default_collate, pin_memory=device.type == "cuda")
        network.train()
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{settings.epochs}",
                   disable=not settings.progress or rank != 0, leave=False)
        for step_in_epoch, batch in enumerate(bar, start=position["skip"]):
            batch = batch.to(device)
            generator = torch.Generator(device).manual_seed(
                derived_seed(settings.seed, position["step"]))
            loss = train_step(network, pipeline, objective, batch, optimizer, generator, autocast)
            position["step"] += 1
            guard.record(position["step"], epoch, loss, batch)
            if position["step"] % 10 == 0:
                bar.set_postfix(loss=f"{guard.check():.4g}")
            if settings.checkpoint_every and position["step"] % settings.checkpoint_every == 0:
                guard.check()  # never checkpoint diverged weights
                save(epoch, step_in_epoch + 1)
        guard.check()
        position["skip"] = 0
        scheduler.step()
        if rank == 0:
            kept = (f"The last checkpoint in {checkpoint_dir} is kept; nothing is cached as "
                    "finished.")
            try:
                result = validate(model, device)
            except ValueError as error:  # a damaged validation volume, non-finite metrics
                raise TrainingError(f"validation after epoch {epoch + 1} failed: {error}. "
                                    f"{kept}") from error
            if not math.isfinite(result.loss):
                raise TrainingError(
                    f"the validation loss after epoch {epoch + 1} is {result.loss}; check the "
                    f"validation data (`python -m fnaf check-data`) and the learning rate. {kept}")
            position["history"].append({"epoch": epoch + 1, "step": position["step"],
                                        "val_loss": result.loss, **result.means()})
            if result.loss < position["best_loss"]:
                position.update(best_loss=result.loss, best_epoch=epoch + 1,
                                best_validation=result.record())
                best_state = _state(model)
                save_torch(best_state, checkpoint_dir / BEST)
        save(epoch + 1, 0)
        if world_size > 1:
            dist.barrier()
    if world_size > 1:  # only rank 0 validates; every rank must agree on the outcome
        shared = [position["best_epoch"], position["history"]]
        dist.broadcast_object_list(shared, src=0)
        position["best_epoch"], position["history"] = shared
    if position["best_epoch"] < 1:
        losses = [entry["val_loss"] for entry in position["history"]]
        raise TrainingError(f"no epoch gave a finite validation loss (per epoch: {losses}); the "
                            "run has no usable weights. Check the validation data and the "
                            "learning rate.")
    return FitResult(best_state, position["best_epoch"], position["history"], position["step"],
                     earlier_time + time.perf_counter() - start, position.get("best_validation"))
