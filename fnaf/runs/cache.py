"""The run cache: trained runs, and their evaluations and attacks per acceleration.

A :class:`RunConfig` says everything that determines a trained model: data, model, acceleration,
objective, optimiser and schedule. Its hash names a folder under :func:`runs_dir`
(``$FNAF_RUNS``, default ``~/.cache/fnaf/runs``) holding

* ``config.json`` — the config; ``checkpoint/`` — the engine's resumable state; ``.lock`` —
  held while a process trains it (another process asking for it waits, then loads it);
* ``model.pt`` — the selected weights (written last: its presence means the run is finished);
* ``metrics.json`` — per-epoch history and the final validation metrics per volume;
* ``provenance.json`` — package versions, git commit, device, wall time.

:func:`train_or_load` returns a trained model, training only when no finished run exists, so
notebooks share work and a re-run loads instead of recomputing. How long the presets take and
what they reproduce is documented in the book's baselines chapter.
"""

from __future__ import annotations

import math
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, replace
from os import PathLike
from pathlib import Path

import pandas as pd
import torch
from filelock import FileLock
from torch import nn

from fnaf.attacks import AttackReport, attack_dataset
from fnaf.attacks.measurement import measurement_frame, pgd_dataset
from fnaf.attacks.report import INFORMATION_TOLERANCE, PAPER_GAMMA, check_thresholds
from fnaf.boxes import BOX_COLUMNS, box_nmse
from fnaf.data.annotations import AnnotationIndex, volume_name
from fnaf.data.batches import SeededSlices
from fnaf.data.fastmri_writer import reconstruction_bytes, write_reconstruction
from fnaf.data.phantom import cache_dir
from fnaf.devices import resolve_device
from fnaf.evaluation import (
    Evaluation,
    Validator,
    reconstruct_volumes,
    score_volumes,
    volume_samples,
)
from fnaf.io import ensure_writable, load_json, load_torch, save_json, save_torch
from fnaf.models import load_irim_checkpoint, load_state, load_weights
from fnaf.pipelines import pipeline_for
from fnaf.ranks import barrier, gathered, rank_world
from fnaf.runs.builders import (
    attack_transform,
    build_model,
    build_optimizer,
    datasets,
    eval_transform,
    objective_for,
    own_validation_boxes,
    selection_slices,
    transforms,
)
from fnaf.runs.configs import AttackConfig, PgdConfig, RunConfig
from fnaf.runs.inputs import check_inputs
from fnaf.runs.processes import train_in_processes, training_processes
from fnaf.train import FitResult, Settings, TrainingError, fit

UNWRITABLE_RUNS = ("point $FNAF_RUNS (or --runs-dir, or the notebooks' runs_root) at a "
                   "writable folder; unset, runs go to $FNAF_CACHE/runs (default "
                   "~/.cache/fnaf/runs)")


#: What a training run writes, in copies of its model's state (parameters and buffers): the
#: selected weights, the best epoch's, and a checkpoint of the weights with two optimiser moments
#: written beside the previous one; checked free before training.
CHECKPOINT_COPIES = 8
#: The run folder's lock file, held while a process trains the run.
LOCK = ".lock"
#: A generous size of one cached row of an attack (indented JSON); checked free before attacking.
ROW_BYTES = 4096


def state_bytes(model: nn.Module) -> int:
    """Bytes of ``model``'s parameters and buffers."""
    return sum(t.numel() * t.element_size() for t in model.state_dict().values())


def runs_dir() -> Path:
    """Root of the run cache: ``$FNAF_RUNS``, else ``<cache_dir()>/runs``."""
    return Path(os.environ.get("FNAF_RUNS", cache_dir() / "runs"))


def run_dir(config: RunConfig, root: str | PathLike | None = None) -> Path:
    return (Path(root) if root is not None else runs_dir()) / config.name


def provenance(device: torch.device, wall_time: float) -> dict:
    """Package versions, git commit, device and wall time of a run."""
    import fnaf

    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=Path(fnaf.__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {"fnaf": fnaf.__version__, "torch": torch.__version__,
            "python": platform.python_version(),
            "git_commit": commit, "device": str(device), "threads": torch.get_num_threads(),
            "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else
            platform.processor() or platform.machine(), "wall_time_s": round(wall_time, 1)}


@dataclass
class TrainedRun:
    """A finished run: its config, folder, model (eval mode, on CPU), saved metrics
    (``metrics.json``) and provenance (``provenance.json``)."""

    config: RunConfig
    directory: Path
    model: nn.Module
    metrics: dict
    provenance: dict


def load_run(config: RunConfig, root: str | PathLike | None = None,
             device: torch.device | str | None = None) -> TrainedRun:
    """The finished run of ``config``, its model on ``device`` (``None``: the session's,
    :func:`~fnaf.devices.resolve_device`); ``FileNotFoundError`` if it has not been trained."""
    device = resolve_device(device)
    directory = run_dir(config, root)
    if not (directory / "model.pt").exists():
        raise FileNotFoundError(f"no finished run for {config.name} in {directory.parent}; "
                                "train it with fnaf.runs.train_or_load or `python -m fnaf train`")
    retrain = f"delete {directory} and run again to retrain it"
    model = load_state(build_model(config), load_torch(directory / "model.pt", retrain),
                       directory / "model.pt",
                       f"The run folder holds another model's weights (copied in, or written "
                       f"under another version with the same run key {config.key()}): {retrain}")
    metrics, origin = (load_json(directory / name, retrain)
                       for name in ("metrics.json", "provenance.json"))
    return TrainedRun(config, directory, model.to(device).eval(), metrics, origin)


#: What a held-out phantom adds to the run's phantom seed: the same population, other patients.
HELD_OUT_SEED_OFFSET = 1000


def scored_on(run: TrainedRun, data_root: str | PathLike | None = None) -> TrainedRun:
    """``run``'s trained model read on held-out data: ``data_root`` (a fastMRI-layout folder of
    other volumes), or by default the run's phantom drawn with its seed plus
    :data:`HELD_OUT_SEED_OFFSET` (other patients from the same population). Returns a run whose
    config names those data (every other field the run's) and whose folder is
    ``<run>/scored_on/<data key>/``, so :func:`evaluate_or_load` and :func:`attack_or_load`
    cache its results apart from the run's own validation split."""
    if data_root is None:
        if run.config.data_root is not None:
            raise ValueError(f"{run.config.name} was trained on {run.config.data_root}: give "
                             "the held-out volumes' folder (data_root); only the phantom can "
                             "draw a held-out split by itself")
        phantom = replace(run.config.phantom,
                          seed=run.config.phantom.seed + HELD_OUT_SEED_OFFSET)
        config, key = replace(run.config, phantom=phantom), f"phantom-{phantom.key()}"
    else:
        config = replace(run.config, data_root=str(data_root))
        key = f"data-{config.data_identity()}"
    return TrainedRun(config, run.directory / "scored_on" / key, run.model, run.metrics,
                      run.provenance)


def _check_ranks_agree(config: RunConfig) -> None:
    """Under ``torchrun``, every process must name the same run: the key includes the data's
    fingerprint, so nodes with differently copied data would otherwise disagree."""
    import torch.distributed as dist

    names = [None] * dist.get_world_size()
    dist.all_gather_object(names, config.name)
    if len(set(names)) > 1:
        raise ValueError(f"the processes name different runs ({sorted(set(names))}): their "
                         "data differ (file names, sizes or modification times). Give every "
                         "node the same files: a shared filesystem, or copies that keep "
                         "modification times (rsync -t, cp -p)")


def train_or_load(config: RunConfig, root: str | PathLike | None = None, *,
                  device: torch.device | str | None = None, progress: bool = True,
                  checkpoint_every: int = 0, num_workers: int = 0) -> TrainedRun:
    """Return the trained model of ``config``, training it (and ``init_from``) only if needed.

    An interrupted run resumes from its checkpoint. Under ``torchrun`` every rank trains and
    rank 0 writes the results. Its input files and feature sizes (:func:`check_inputs`) are
    checked before anything trains, ``init_from`` included. Two processes asking for the same
    run (two notebooks executed side by side) train it once: the second waits on the run's
    lock file (:data:`LOCK` in the run folder) and then loads it.
    """
    import torch.distributed as dist

    distributed = dist.is_available() and dist.is_initialized()
    if distributed:
        _check_ranks_agree(config)
    device = resolve_device(device)
    directory = run_dir(config, root)
    if (directory / "model.pt").exists():
        return load_run(config, root, device)
    check_inputs(config)
    if distributed:  # the ranks train together; torchrun's launcher holds the lock
        return _train(config, root, directory, device, progress, checkpoint_every, num_workers)
    ensure_writable(directory, UNWRITABLE_RUNS)
    with FileLock(directory / LOCK):
        if (directory / "model.pt").exists():  # trained by another process meanwhile
            return load_run(config, root, device)
        return _train(config, root, directory, device, progress, checkpoint_every, num_workers)


def _train(config: RunConfig, root, directory: Path, device: torch.device, progress: bool,
           checkpoint_every: int, num_workers: int) -> TrainedRun:
    """Train ``config`` into ``directory`` (see :func:`train_or_load`; its inputs checked)
    and load it."""
    import torch.distributed as dist

    distributed = dist.is_available() and dist.is_initialized()
    processes = training_processes()
    if processes > 1 and config.epochs and not distributed:  # torchrun, then load (the module)
        if config.init_from is not None:
            train_or_load(config.init_from, root, device=device, progress=progress)
        train_in_processes(config, directory.parent, device, processes)
        return load_run(config, root, device)
    torch.manual_seed(config.seed)  # the initial weights are part of the run
    model = build_model(config)
    ensure_writable(directory, UNWRITABLE_RUNS, CHECKPOINT_COPIES * state_bytes(model))
    if config.init_from is not None:
        model.load_state_dict(train_or_load(config.init_from, root, device=device,
                                            progress=progress).model.state_dict())
    if config.init_weights is not None:
        load = load_irim_checkpoint if config.model == "irim" else load_weights
        load(model, config.init_weights)
    train, val = datasets(config)
    train_transform, val_transform = transforms(config)
    optimizer, scheduler = build_optimizer(config, model)
    if progress and config.epochs:
        print(f"training {config.name} on {device} ({len(train)} training slices)")
    save_json(asdict(config), directory / "config.json")
    if config.epochs == 0:  # the given weights as they are
        result = FitResult({key: value.detach().cpu().clone()
                            for key, value in model.state_dict().items()}, best_epoch=0)
    else:
        pipeline = pipeline_for(config.model)
        result = fit(model, pipeline, objective_for(config, train),
                     SeededSlices(train, train_transform),
                     Validator(pipeline, selection_slices(config, val), val_transform,
                               num_workers=num_workers),
                     optimizer=optimizer, scheduler=scheduler, device=device,
                     checkpoint_dir=directory / "checkpoint",
                     settings=Settings(epochs=config.epochs, batch_size=config.batch_size,
                                       seed=config.seed, checkpoint_every=checkpoint_every,
                                       num_workers=num_workers, amp=config.amp,
                                       progress=progress))
    if not distributed or dist.get_rank() == 0:
        model.load_state_dict(result.best_state)
        validation = result.best_validation  # the selected epoch's own validation pass
        if validation is None:  # the given weights as they are: validate them now
            validate = Validator(pipeline_for(config.model), selection_slices(config, val),
                                 val_transform)
            validation = validate(model, device).record()
        if not math.isfinite(validation["loss"]):  # never cache weights without a finite loss
            raise TrainingError(f"{config.name}: the selected weights give a validation loss of "
                                f"{validation['loss']}; nothing is cached as finished")
        save_json({"history": result.history, "best_epoch": result.best_epoch,
                   "steps": result.steps, "val_loss": validation["loss"],
                   "volumes": validation["volumes"], "zero_filled": validation["zero_filled"]},
                  directory / "metrics.json")
        save_json({**provenance(device, result.wall_time), "data": config.data_identity(),
                   "processes": dist.get_world_size() if distributed else 1},
                  directory / "provenance.json")
        save_torch(result.best_state, directory / "model.pt")
    if distributed:
        dist.barrier()
    return load_run(config, root, device)


def evaluate_or_load(run: TrainedRun, accel: int | None = None, *,
                     annotations: AnnotationIndex | None = None,
                     device: torch.device | str | None = None) -> Evaluation:
    """Table 3's per-volume metrics of ``run`` (and of the zero-filled input) on its validation
    split at ``accel`` (fastMRI's seeded masks, one per volume), or those cached in
    ``<run>/evaluations/``. ``accel`` may be omitted for a run trained at one acceleration.

    The same pass scores the NMSE inside every box of ``annotations`` (the validation split's
    boxes; default: the data's own ``singlecoil_bb_val.csv`` when it has one) — Table 4's units,
    :func:`fnaf.boxes.box_nmse`, cached with the boxes' fingerprint: other boxes evaluate
    again — and writes the annotated volumes' reconstructions where
    :func:`reconstructions_or_load` finds them (the classification chapter's inputs). Under
    ``torchrun`` the processes share the volumes (each writes its own reconstructions) and rank 0
    writes the cache.
    """
    device = resolve_device(device)
    accel = run.config.evaluation_accel(accel)
    path = run.directory / "evaluations" / f"{accel}x.json"
    if annotations is None:
        annotations = own_validation_boxes(run.config)
    wanted = annotations.fingerprint() if annotations is not None else None
    if path.exists():
        saved = load_json(path, f"delete {path} to evaluate again")
        boxes = saved.get("boxes")
        if wanted is None or (boxes is not None and boxes["annotations"] == wanted):
            return Evaluation(pd.DataFrame(saved["volumes"]), pd.DataFrame(saved["zero_filled"]),
                              saved["loss"], None if wanted is None else
                              pd.DataFrame(boxes["rows"], columns=BOX_COLUMNS))
    val = datasets(run.config)[1]
    count = len(volume_samples(val))
    box_rows = {}
    folder = run.directory / "reconstructions" / f"{accel}x"
    annotated = set() if annotations is None else set(annotations.boxes["filename"])
    ensure_writable(path.parent, UNWRITABLE_RUNS, reconstruction_bytes(  # annotated predictions
        volume for volume in val.volumes if volume_name(volume.fname) in annotated
        and not (folder / volume.fname.name).is_file()))

    def scoring_boxes(volumes):
        for volume in volumes:
            if annotations is not None:
                rows = box_nmse([volume], annotations)
                box_rows[volume.position] = rows.to_dict("records")
                if len(rows) and not (folder / volume.fname).is_file():
                    folder.mkdir(parents=True, exist_ok=True)
                    write_reconstruction(folder / volume.fname, volume.reconstruction)
            yield volume

    result = score_volumes(scoring_boxes(reconstruct_volumes(
        run.model.to(device), pipeline_for(run.config.model), val,
        eval_transform(run.config, accel), device=device)), count)
    saved = {"accel": accel, "loss": result.loss, "volumes": result.metrics.to_dict("records"),
             "zero_filled": result.zero_filled.to_dict("records")}
    if annotations is not None:
        rows = gathered(box_rows, count)
        result.boxes = pd.DataFrame(rows, columns=BOX_COLUMNS)
        saved["boxes"] = {"annotations": wanted, "rows": rows}
    if rank_world()[0] == 0:  # every rank holds every row (fnaf.ranks); one writes them
        save_json(saved, path)
    barrier()
    return result


def attack_or_load(run: TrainedRun, attack: AttackConfig, accel: int | None = None, *,
                   gamma: float = PAPER_GAMMA, epsilon: float = INFORMATION_TOLERANCE,
                   device: torch.device | str | None = None, progress: bool = True) -> AttackReport:
    """Attack every validation slice of ``run`` at ``accel`` (its own data, per-volume masks,
    see :func:`attack_transform`; omit ``accel`` for a run trained at one acceleration), or load
    the per-slice results cached in ``<run>/attacks/``. ``gamma``/``epsilon`` only score them
    (validated first, whether cached or not). Under ``torchrun`` the processes share the batches
    and rank 0 writes the cache."""
    check_thresholds(gamma, epsilon)
    device = resolve_device(device)
    accel = run.config.evaluation_accel(accel)
    path = run.directory / "attacks" / f"{attack.method}-{accel}x-{attack.key()}.json"
    if path.exists():
        saved = load_json(path, f"delete {path} to attack again")
        return AttackReport(pd.DataFrame(saved["slices"]), gamma, epsilon)
    _, val = datasets(run.config)
    ensure_writable(path.parent, UNWRITABLE_RUNS, len(val) * ROW_BYTES)
    model = run.model.to(device)
    report = attack_dataset(attack.build(model, pipeline_for(run.config.model)), val,
                            attack_transform(run.config, accel), batch_size=attack.batch_size,
                            gamma=gamma, epsilon=epsilon, progress=progress)
    if rank_world()[0] == 0:  # every rank holds every row (fnaf.ranks); one writes them
        save_json({"attack": asdict(attack), "accel": accel,
                   "slices": report.slices.to_dict("records")}, path)
    barrier()
    return report


def pgd_or_load(run: TrainedRun, pgd: PgdConfig, accel: int | None = None, *,
                device: torch.device | str | None = None, progress: bool = True) -> pd.DataFrame:
    """k-space PGD on ``run``'s validation slices at ``accel`` (the masks of ``pgd.mask_style``
    and the field of view of :func:`attack_transform`), every ``pgd.eps``, beside the random control
    (:func:`fnaf.attacks.measurement.pgd_dataset` rows), or the rows cached in ``<run>/pgd/``.
    Under ``torchrun`` the processes share the slices and rank 0 writes the cache."""
    device = resolve_device(device)
    accel = run.config.evaluation_accel(accel)
    path = run.directory / "pgd" / f"{accel}x-{pgd.key()}.json"
    if path.exists():
        return measurement_frame(load_json(path, f"delete {path} to attack again")["rows"],
                                 str(path))
    val = datasets(run.config)[1]
    if pgd.slices_per_volume is not None:
        val = val.middle_slices(pgd.slices_per_volume)
    ensure_writable(path.parent, UNWRITABLE_RUNS, 2 * len(pgd.eps) * len(val) * ROW_BYTES)
    frame = pgd_dataset(run.model.to(device), pipeline_for(run.config.model), val,
                        attack_transform(run.config, accel, pgd.mask_style), pgd.eps,
                        batch_size=pgd.batch_size, progress=progress,
                        ssim_variant=pgd.ssim_variant, **pgd.options())
    if rank_world()[0] == 0:  # every rank holds every row (fnaf.ranks); one writes them
        save_json({"pgd": asdict(pgd), "accel": accel, "rows": frame.to_dict("records")}, path)
    barrier()
    return frame


def pgd_frame(runs: dict[str, TrainedRun], pgd: PgdConfig, accel: int | None = None, *,
              device: torch.device | str | None = None, progress: bool = False
              ) -> pd.DataFrame:
    """:func:`pgd_or_load` of each run of ``runs`` (label -> run), the rows of all with a
    ``model`` column holding the label."""
    device = resolve_device(device)
    return pd.concat([pgd_or_load(run, pgd, accel, device=device, progress=progress)
                      .assign(model=label) for label, run in runs.items()], ignore_index=True)


def reconstructions_or_load(run: TrainedRun, accel: int | None = None, names=None, *,
                            device: torch.device | str | None = None) -> Path:
    """The folder ``<run>/reconstructions/<accel>x/`` of ``run``'s fastMRI-format predictions
    (:func:`~fnaf.data.fastmri_writer.write_reconstruction`) of its validation volumes ``names``
    (file names; default all) at ``accel``, with Table 3's masks; only volumes not there yet are
    reconstructed."""
    device = resolve_device(device)
    accel = run.config.evaluation_accel(accel)
    folder = run.directory / "reconstructions" / f"{accel}x"
    val = datasets(run.config)[1]
    names = sorted({volume.fname.name for volume in val.volumes} if names is None else names)
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        ensure_writable(folder, UNWRITABLE_RUNS, reconstruction_bytes(
            volume for volume in val.volumes if volume.fname.name in set(missing)))
        for volume in reconstruct_volumes(run.model.to(device), pipeline_for(run.config.model),
                                          val.only(missing), eval_transform(run.config, accel),
                                          device=device):
            write_reconstruction(folder / volume.fname, volume.reconstruction)
    return folder
