"""One training engine for every model and objective.

:func:`fit` runs epochs of shuffled, shape-homogeneous batches; each step asks the *objective* for
a loss (``objective(model, pipeline, batch, generator) -> scalar``, :mod:`fnaf.objectives`), so
the clean, FNAF-robust and B-Box objectives plug in without touching the loop. After
every epoch the model is validated on the clean validation set (fastMRI metrics and the model's own
loss); the best clean validation loss selects the weights that are kept.

Determinism and resuming: the epoch's order comes from ``seed + epoch``, every slice's training
mask from ``(seed, epoch, index)`` and every step's objective generator from ``(seed, step)``, so
none depends on data-loader workers. Checkpoints (model, optimiser, scheduler, position, best
weights, history) are written atomically every ``checkpoint_every`` steps and at each epoch's end;
:func:`fit` on the same folder resumes from the last one and, on CPU, reaches bit-identical
weights to an uninterrupted run.

A non-finite training loss stops training with a :class:`TrainingError` naming the step and the
slices; a run whose validation loss was never finite raises one too, so no caller can keep
untrained or diverged weights as a finished run.

Multi-GPU/multi-node: launch with ``torchrun`` (``python -m fnaf train ...``);
:func:`init_distributed` joins the process group, the model is wrapped in
:class:`~torch.nn.parallel.DistributedDataParallel`
and each rank takes its share of every global batch, so ``batch_size`` is the global batch and the
result matches one process with the same batch.
"""

from __future__ import annotations

import os
import time
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

from fnaf.data.batches import SeededSlices, ShapeBatchSampler, derived_seed, slice_shapes, to_device
from fnaf.data.fastmri import SliceDataset
from fnaf.data.transforms import KneeSlice, SliceTransform
from fnaf.evaluation import METRICS, evaluate
from fnaf.io import load_torch, remove_stale_partials, save_torch

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


@dataclass
class Settings:
    """How :func:`fit` runs (not what it trains).

    ``batch_size`` is the global batch; ``checkpoint_every`` in steps (0: only at epoch ends);
    ``amp`` enables bfloat16 autocast on CUDA (ignored on CPU).
    """

    epochs: int
    batch_size: int
    seed: int = 0
    checkpoint_every: int = 0
    val_batch_size: int = 8
    num_workers: int = 0
    amp: bool = False
    progress: bool = True


@dataclass
class FitResult:
    """The best weights (by clean validation loss), the per-epoch history, the wall time and
    the best epoch's validation (``{"loss", "volumes", "zero_filled"}``, the per-volume metrics
    as records; ``None`` on ranks other than 0)."""

    best_state: dict
    best_epoch: int
    history: list[dict] = field(default_factory=list)
    steps: int = 0
    wall_time: float = 0.0
    best_validation: dict | None = None


def default_device() -> torch.device:
    """CUDA when present (the local rank's GPU under ``torchrun``), else CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


def init_distributed(device: torch.device | str | None = None) -> tuple[int, int]:
    """Join the ``torchrun`` process group if there is one; return ``(rank, world_size)``.

    NCCL when training on CUDA (``device``, default :func:`default_device`), gloo on CPU.
    Without ``torchrun`` (no ``WORLD_SIZE``) this is ``(0, 1)``.
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return 0, 1
    device = torch.device(device) if device is not None else default_device()
    if device.type == "cuda":
        torch.cuda.set_device(device if device.index is not None else default_device())
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size()


def _rank_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


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

    def record(self, step: int, epoch: int, loss: torch.Tensor, batch: KneeSlice) -> None:
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


def train_step(model: nn.Module, pipeline, objective: Objective, batch: KneeSlice,
               optimizer: torch.optim.Optimizer, generator: torch.Generator,
               autocast: bool = False) -> torch.Tensor:
    """One optimisation step on a batch already on the model's device; returns the loss."""
    device_type = batch.kspace.device.type
    with torch.autocast(device_type, dtype=torch.bfloat16, enabled=autocast):
        loss = objective(model, pipeline, batch, generator)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()


def fit(model: nn.Module, pipeline, objective: Objective, train: SliceDataset,
        val: SliceDataset, *, train_transform: SliceTransform, val_transform: SliceTransform,
        optimizer: torch.optim.Optimizer, scheduler, settings: Settings,
        checkpoint_dir: str | PathLike, device: torch.device | str | None = None) -> FitResult:
    """Train ``model`` with ``objective`` and return the best weights by clean validation loss.

    Args:
        pipeline: :class:`~fnaf.pipelines.UnetPipeline` or :class:`~fnaf.pipelines.IrimPipeline`.
        train, val: the slices; ``train_transform`` draws random masks (``use_seed=False``),
            ``val_transform`` one fixed mask per volume (``use_seed=True``).
        scheduler: stepped once per epoch (StepLR as fastMRI and i-RIM).
        checkpoint_dir: where ``checkpoint.pt`` (resume state) and ``best.pt`` live; an
            existing checkpoint is resumed.
    """
    start = time.perf_counter()
    device = torch.device(device) if device is not None else default_device()
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    rank, world_size = _rank_world()
    checkpoint_dir = Path(checkpoint_dir)
    if rank == 0 and checkpoint_dir.is_dir():
        remove_stale_partials(checkpoint_dir)  # half-written checkpoints of a killed run
    model.to(device)
    network = model
    if world_size > 1:
        network = DistributedDataParallel(model, device_ids=[device] if device.type == "cuda"
                                          else None)
    sampler = ShapeBatchSampler(slice_shapes(train), settings.batch_size, settings.seed, rank,
                                world_size)
    position = {"epoch": 0, "skip": 0, "step": 0, "best_loss": float("inf"), "best_epoch": -1,
                "history": [], "wall_time": 0.0}
    best_state = _state(model)
    if (checkpoint_dir / CHECKPOINT).exists():
        restart = f"delete {checkpoint_dir} to restart the run from its first step"
        saved = load_torch(checkpoint_dir / CHECKPOINT, restart)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        torch.set_rng_state(saved["rng"])
        position = saved["position"]
        if (checkpoint_dir / BEST).exists():  # absent before the first validation
            best_state = load_torch(checkpoint_dir / BEST, restart)
    earlier_time = position["wall_time"]

    def save(epoch: int, skip: int) -> None:
        if rank != 0:
            return
        position.update(epoch=epoch, skip=skip,
                        wall_time=earlier_time + time.perf_counter() - start)
        save_torch({"model": _state(model), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "rng": torch.get_rng_state(),
                    "position": position}, checkpoint_dir / CHECKPOINT)

    dataset = SeededSlices(train, train_transform)
    guard = LossGuard(checkpoint_dir, world_size)
    autocast = settings.amp and device.type == "cuda"
    for epoch in range(position["epoch"], settings.epochs):
        sampler.set_epoch(epoch, position["skip"])
        loader = DataLoader(dataset, batch_sampler=sampler, num_workers=settings.num_workers,
                            collate_fn=default_collate, pin_memory=device.type == "cuda")
        network.train()
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{settings.epochs}",
                   disable=not settings.progress or rank != 0, leave=False)
        for step_in_epoch, batch in enumerate(bar, start=position["skip"]):
            batch = to_device(batch, device)
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
            result = evaluate(model, pipeline, val, val_transform,
                              batch_size=settings.val_batch_size, device=device,
                              num_workers=settings.num_workers)
            means = result.metrics[list(METRICS)].mean()
            position["history"].append({"epoch": epoch + 1, "step": position["step"],
                                        "val_loss": result.loss, **means.to_dict()})
            if result.loss < position["best_loss"]:
                position.update(best_loss=result.loss, best_epoch=epoch + 1, best_validation={
                    "loss": result.loss, "volumes": result.metrics.to_dict("records"),
                    "zero_filled": result.zero_filled.to_dict("records")})
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
