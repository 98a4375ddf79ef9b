"""Command line: ``python -m fnaf <command> ...`` (``python -m fnaf --help`` lists them)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from fnaf.attacks.pgd import NORMS
from fnaf.attacks.report import INFORMATION_TOLERANCE, PAPER_GAMMA
from fnaf.attacks.search import DOMAINS
from fnaf.audit.suite import AuditSuite
from fnaf.data.check import LOW_ENERGY, TOLERANCE, check_data
from fnaf.data.fastmri import FastMRIDataError
from fnaf.data.masks import CENTER_FRACTIONS, MASK_STYLES
from fnaf.data.phantom import GEOMETRIES, PhantomConfig, write_phantom
from fnaf.metrics import SSIM_VARIANTS
from fnaf.runs.configs import (
    ATTACK_METHODS,
    OBJECTIVES,
    RECONSTRUCTION_MODELS,
    SCALES,
    AttackConfig,
    PgdConfig,
)
from fnaf.runs.untrained import UNTRAINED_METHODS, TwoStepConfig
from fnaf.untrained.sparsity import BASES

ACCELERATIONS = tuple(sorted(CENTER_FRACTIONS))


def _phantom(args: argparse.Namespace) -> None:
    config = PhantomConfig(
        geometry=args.geometry, train_volumes=args.train_volumes, val_volumes=args.val_volumes,
        slices=args.slices, noise=args.noise, lesions_per_volume=args.lesions_per_volume,
        seed=args.seed, coils=args.coils,
    )
    try:
        out = write_phantom(args.out, config, progress=True, force=args.force)
    except FileExistsError as error:
        sys.exit(f"python -m fnaf phantom: {error}")
    print(f"wrote the phantom knee dataset to {out}")


def _check_data(args: argparse.Namespace) -> None:
    annotations = args.annotations
    if annotations is None:  # the data root's own CSVs, where the phantom writes them
        annotations = sorted(args.data_root.glob("*_bb_*.csv"))
    try:
        result = check_data(args.data_root, annotations, tolerance=args.tolerance,
                            low_energy=args.low_energy)
    except (FastMRIDataError, ValueError) as error:
        sys.exit(f"python -m fnaf check-data: {error}")
    print(result.summary().to_string())
    if result.ok:
        print(f"no problems in {len(result.volumes)} volumes")
        return
    print(result.findings.to_string(index=False, max_colwidth=120))
    sys.exit(f"python -m fnaf check-data: {len(result.findings)} problem(s) in "
             f"{result.findings['file'].nunique()} file(s) of {args.data_root}; download or "
             "regenerate the files named, or move them out of their split folders")


def _batch_size(text: str) -> int | None:
    """``--pgd-batch-size``: a count, or ``auto`` (from the device's memory, :mod:`fnaf.memory`)."""
    if text == "auto":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a count nor 'auto'") from None


def _config(args: argparse.Namespace):
    """The run config: the baseline preset, or a fine-tune with ``--objective fnaf|bbox``."""
    from fnaf.runs import multicoil_preset, preset, robust_preset

    overrides = {name: getattr(args, name) for name in ("epochs", "batch_size", "seed")
                 if getattr(args, name) is not None}
    if getattr(args, "amp", False):
        overrides["amp"] = True
    data = {"data_root": args.data_root} if args.data_root is not None else {}
    released = {"init_weights": str(args.init_weights)} if args.init_weights else {}
    accel = tuple(ACCELERATIONS) if args.mixed_masks else args.accel
    objective = {name: getattr(args, name) for name in ("beta", "adv_fraction", "n_pixels")
                 if getattr(args, name, None) is not None}
    try:
        if args.coils is not None:
            if args.objective != "clean" or objective or released:
                raise ValueError("multi-coil runs (--coils) train the clean objective from "
                                 "scratch: drop --objective, --beta, --adv-fraction, "
                                 "--n-pixels and --init-weights")
            return replace(multicoil_preset(args.scale, args.model, accel, args.coils,
                                            args.size, args.data_root), **overrides)
        if args.size is not None:
            raise ValueError("--size picks a multi-coil size-family member: give --coils too")
        if args.objective == "clean" and not objective:
            return replace(preset(args.scale, args.model, accel, **data, **released),
                           **overrides)
        config = robust_preset(args.scale, args.model, accel, args.objective, **data,
                               **released, **objective)
        return replace(config, **overrides)
    except (ValueError, FileNotFoundError) as error:  # a bad configuration: say what
        sys.exit(f"python -m fnaf {args.command}: {error}")


def _checked_config(args: argparse.Namespace, attack: AttackConfig | None = None):
    """:func:`_config`, its input files and feature sizes (and ``attack``'s) checked before any
    work (:func:`fnaf.runs.check_inputs`)."""
    from fnaf.runs import check_inputs

    config = _config(args)
    try:
        check_inputs(config, attack)
    except ValueError as error:  # a malformed CSV, features larger than their region
        sys.exit(f"python -m fnaf {args.command}: {error}")
    return config


def _train(args: argparse.Namespace) -> None:
    from fnaf.runs import train_or_load
    from fnaf.train import init_distributed

    config = _checked_config(args)
    rank, _ = init_distributed(args.device)
    run = train_or_load(config, args.runs_dir, device=args.device,
                        progress=not args.quiet and rank == 0,
                        checkpoint_every=args.checkpoint_every, num_workers=args.num_workers)
    if rank == 0:
        print(f"finished run: {run.directory}")


def _evaluate(args: argparse.Namespace) -> None:
    from fnaf.devices import resolve_device
    from fnaf.io import NotWritableError, ensure_writable
    from fnaf.runs import evaluate_or_load, load_run
    from fnaf.train import init_distributed

    device = resolve_device(args.device)  # checked before any work
    config = _config(args)
    if args.out is not None:
        try:
            ensure_writable(args.out, "pass a writable folder as --out")
        except NotWritableError as error:
            sys.exit(f"python -m fnaf evaluate: {error}")
    if args.chans is not None and config.model != "unet":
        sys.exit("--chans sets the U-Net's width; it does not apply to --model irim")
    rank, _ = init_distributed(args.device)
    if args.weights is None and args.split == "val" and args.out is None:
        run = load_run(config, args.runs_dir, device)  # the run cache's evaluation, filled once
        evaluation = evaluate_or_load(run, args.accel, device=device)
        where = f", cached in {run.directory / 'evaluations'}"
    else:
        evaluation, where = _evaluate_split(args, config, device, rank), ""
    if rank == 0:
        print(f"{config.model} at {args.accel}x on {len(evaluation.metrics)} {args.split} volumes "
              f"(mean and std across volumes, fastMRI evaluate.py rules{where}):")
        print(evaluation.summary().to_string(float_format=lambda value: f"{value:.4f}"))
        if args.out is not None:
            print(f"wrote fastMRI-format predictions ('reconstruction') to {args.out}")


def _evaluate_split(args: argparse.Namespace, config, device, rank: int):
    """The evaluation of ``--weights`` or of another ``--split``, or with ``--out``'s
    predictions (each process writes those of its volumes), not cached."""
    from fnaf.data.fastmri import SliceDataset, split_dir
    from fnaf.data.fastmri_writer import reconstruction_bytes, write_reconstruction
    from fnaf.evaluation import reconstruct_volumes, score_volumes, volume_samples
    from fnaf.io import NotWritableError, ensure_writable
    from fnaf.pipelines import pipeline_for
    from fnaf.runs import datasets, eval_transform, load_run

    if args.chans is not None:
        config = replace(config, network=replace(config.network, chans=args.chans))
    _, val = datasets(config)
    if args.split != "val":  # the same layout's other split: singlecoil_<split>, multicoil_<split>
        val = SliceDataset(split_dir(val.root.parent, args.split, config.data_challenge),
                           challenge=config.data_challenge)
    if args.out is not None:  # room for every prediction, said before any reconstruction
        try:
            ensure_writable(args.out, "pass a folder on another disk as --out",
                            reconstruction_bytes(val.volumes))
        except NotWritableError as error:
            sys.exit(f"python -m fnaf evaluate: {error}")
    if args.weights is not None:
        model = _weights_model(config, args.weights)
    else:
        model = load_run(config, args.runs_dir).model
    model.to(device)

    def volumes():  # this process's share under torchrun
        for volume in reconstruct_volumes(model, pipeline_for(config.model), val,
                                          eval_transform(config, args.accel),
                                          batch_size=args.batch_size or 8, device=device,
                                          progress=not args.quiet and rank == 0):
            if args.out is not None:
                write_reconstruction(args.out / volume.fname, volume.reconstruction)
            yield volume

    return score_volumes(volumes(), len(volume_samples(val)))


def _attack(args: argparse.Namespace) -> None:
    from fnaf.attacks.report import check_thresholds
    from fnaf.devices import resolve_device
    from fnaf.runs import AttackConfig, attack_or_load, load_run
    from fnaf.train import init_distributed

    try:  # every setting checked before a cached run or attack is looked up
        attack = AttackConfig(method=args.method, n_candidates=args.n_candidates,
                              n_pixels=args.attack_pixels, border=args.border,
                              domain=args.domain, seed=args.attack_seed,
                              batch_size=args.attack_batch_size, chunk_size=args.attack_chunk_size)
        check_thresholds(args.gamma, args.epsilon)
        resolve_device(args.device)
    except ValueError as error:
        sys.exit(f"python -m fnaf attack: {error}")
    config = _checked_config(args, attack)
    rank, _ = init_distributed(args.device)
    run = load_run(config, args.runs_dir, args.device)
    report = attack_or_load(run, attack, args.accel, gamma=args.gamma, epsilon=args.epsilon,
                            device=args.device, progress=not args.quiet and rank == 0)
    if rank == 0:
        print(f"{run.directory.name}: {args.method} attack on {len(report.slices)} validation "
              f"slices, cached in {run.directory / 'attacks'}")
        for name, value in report.summary().items():
            print(f"  {name}: {value:.4g}")


def _pgd(args: argparse.Namespace) -> None:
    from fnaf.devices import resolve_device
    from fnaf.runs import PgdConfig, load_run, pgd_or_load
    from fnaf.train import init_distributed

    try:  # every setting checked before a cached run or attack is looked up
        pgd = PgdConfig(eps=tuple(args.eps), steps=args.steps, restarts=args.restarts,
                        norm=args.norm, slices_per_volume=args.slices_per_volume,
                        batch_size=args.pgd_batch_size, seed=args.attack_seed,
                        mask_style=args.mask_style, ssim_variant=args.ssim_variant)
        resolve_device(args.device)
    except ValueError as error:
        sys.exit(f"python -m fnaf pgd: {error}")
    rank, _ = init_distributed(args.device)
    run = load_run(_config(args), args.runs_dir, args.device)
    frame = pgd_or_load(run, pgd, args.accel, device=args.device,
                        progress=not args.quiet and rank == 0)
    if rank == 0:
        slices = frame[["fname", "slice"]].drop_duplicates()
        print(f"{run.directory.name}: k-space PGD on {len(slices)} validation slices "
              f"({frame.fname.nunique()} volumes), cached in {run.directory / 'pgd'}")
        print(frame.groupby(["eps", "kind"]).SSIM.mean().unstack("kind").round(4).to_string())


def _untrained(args: argparse.Namespace):
    """``--method``'s :class:`~fnaf.runs.UntrainedConfig`: the scale's preset with ``--seed``,
    ``--iterations``, ``--lam`` and ``--basis`` (l1's only) and ``--beta1`` (a decoder's only)
    where given."""
    from fnaf.runs import untrained_preset

    settings = {name: getattr(args, name) for name in ("iterations", "lam", "basis", "beta1")
                if getattr(args, name, None) is not None}
    if args.method != "l1" and {"lam", "basis"} & set(settings):
        raise ValueError(f"--lam and --basis set l1-minimisation, not {args.method}")
    if args.method == "l1" and "beta1" in settings:
        raise ValueError("--beta1 sets a decoder's Adam, not l1-minimisation")
    return untrained_preset(args.scale, args.method, seed=args.seed, **settings)


def _method_steps_data(args: argparse.Namespace):
    """``--method``'s config (:func:`_untrained`), the two-step attack's steps (``--steps``, or
    the scale's budget) and the multi-coil data of ``--scale``, ``--coils``, ``--data-root``."""
    from fnaf.runs import attack_steps, multicoil_preset

    steps = attack_steps(args.scale, "two_step") if args.steps is None else args.steps
    return _untrained(args), steps, multicoil_preset(args.scale, "varnet", args.accel,
                                                     args.coils, data_root=args.data_root)


def _two_step(args: argparse.Namespace) -> None:
    from fnaf.devices import resolve_device
    from fnaf.runs import two_step_or_load
    from fnaf.runs.cache import runs_dir
    from fnaf.train import init_distributed

    try:  # every setting checked before a cached attack is looked up
        method, steps, data = _method_steps_data(args)
        attack = TwoStepConfig(eps=tuple(args.eps), steps=steps, beta=args.beta, norm=args.norm,
                               slices_per_volume=args.slices_per_volume, volumes=args.volumes,
                               batch_size=args.batch_size, seed=args.seed,
                               mask_style=args.mask_style, ssim_variant=args.ssim_variant)
        resolve_device(args.device)
    except (ValueError, FileNotFoundError) as error:
        sys.exit(f"python -m fnaf two-step: {error}")
    rank, _ = init_distributed(args.device)
    frame = two_step_or_load(method, attack, data, args.accel, args.runs_dir, device=args.device,
                             progress=not args.quiet and rank == 0)
    if rank == 0:
        slices = frame[["fname", "slice"]].drop_duplicates()
        print(f"{method.label}: the two-step attack on {len(slices)} validation slices "
              f"({frame.fname.nunique()} volumes), cached in "
              f"{(Path(args.runs_dir) if args.runs_dir else runs_dir()) / 'untrained'}")
        print(frame.groupby(["eps", "kind"]).SSIM.mean().unstack("kind").round(4).to_string())


def _location_map(args: argparse.Namespace) -> None:
    from fnaf.devices import resolve_device
    from fnaf.runs import check_counts, multicoil_preset
    from fnaf.runs.cache import runs_dir
    from fnaf.studies.small_features import location_map_or_load
    from fnaf.train import init_distributed

    try:  # every setting checked before a cached map is looked up
        check_counts(window=args.window, grid=args.grid, images=args.images, chunk=args.chunk)
        if args.method not in UNTRAINED_METHODS and any(
                getattr(args, name) is not None for name in ("iterations", "lam", "basis",
                                                             "beta1")):
            raise ValueError(f"--iterations, --lam, --basis and --beta1 set l1 or a decoder, "
                             f"not the trained {args.method}")
        method = (_untrained(args) if args.method in UNTRAINED_METHODS else
                  multicoil_preset(args.scale, args.method, args.accel, args.coils,
                                   data_root=args.data_root))
        data = multicoil_preset(args.scale, "varnet", args.accel, args.coils,
                                data_root=args.data_root)
        resolve_device(args.device)
    except (ValueError, FileNotFoundError) as error:
        sys.exit(f"python -m fnaf location-map: {error}")
    rank, _ = init_distributed(args.device)
    rows = location_map_or_load(method, data, args.accel, args.images, args.window, args.grid,
                                args.runs_dir, chunk=args.chunk, device=args.device)
    if rank == 0:
        folder = (Path(args.runs_dir) if args.runs_dir else runs_dir()) / "location_maps"
        slices = rows[["fname", "slice"]].drop_duplicates()
        print(f"{args.method}: a {args.window}-pixel window at {args.grid}x{args.grid} locations "
              f"in {len(slices)} validation slices, mean window error {rows.error.mean():.4g}, "
              f"cached in {folder}")


def _add_multicoil_method_arguments(parser: argparse.ArgumentParser, chapter: str) -> None:
    """The data, scale, device and cache of a multi-coil method's command (chapters 08, 10),
    and l1's or a decoder's settings."""
    parser.add_argument("--coils", type=int, default=4,
                        help="coils of the phantom (ignored with --data-root)")
    parser.add_argument("--accel", type=int, choices=ACCELERATIONS, default=ACCELERATIONS[0])
    parser.add_argument("--scale", choices=SCALES, default="demo",
                        help="the method's settings; paper needs --data-root")
    parser.add_argument("--data-root", help="fastMRI multi-coil knee folder with "
                        "multicoil_train/ and multicoil_val/ (default: the phantom)")
    parser.add_argument("--basis", choices=BASES, help="l1's sparsifying basis")
    parser.add_argument("--lam", type=float, help=f"l1's λ (chapter {chapter} prints its choice)")
    parser.add_argument("--iterations", type=int, help="l1 or decoder iterations (default: "
                        "the scale's)")
    parser.add_argument("--device", help="cpu, cuda, cuda:1, ... (default: CUDA when present)")
    parser.add_argument("--runs-dir", type=Path, help="run cache (default: $FNAF_RUNS or "
                        "~/.cache/fnaf/runs)")


def _add_second_paper_options(parser: argparse.ArgumentParser) -> None:
    """``--mask-style`` and ``--ssim-variant``: fastMRI's (the default) or Robustness-CS's."""
    parser.add_argument("--mask-style", choices=MASK_STYLES, default=MASK_STYLES[0],
                        help="the attacked slices' masks: fastMRI's, or the authors' code's")
    parser.add_argument("--ssim-variant", choices=SSIM_VARIANTS, default=SSIM_VARIANTS[0],
                        help="fastMRI's SSIM, or the authors' code's")


def _weights_model(config, path: Path):
    """``config``'s model with the weights of ``path``: a fastMRI state_dict or Lightning
    checkpoint (U-Net, VarNet), or for the I-RIM also the released ``irim_fastMRI`` checkpoint
    (its ``args`` Namespace allowed, ``module.`` stripped)."""
    from fnaf.models import load_irim_checkpoint, load_weights
    from fnaf.runs import build_model

    load = load_irim_checkpoint if config.model == "irim" else load_weights
    return load(build_model(config), path)


def _audit(args: argparse.Namespace) -> None:
    from fnaf.audit import audit
    from fnaf.devices import resolve_device
    from fnaf.pipelines import pipeline_for
    from fnaf.runs import load_run
    from fnaf.train import init_distributed

    try:  # every setting checked before any model is loaded
        suite = AuditSuite(eps=args.eps, steps=args.steps, restarts=args.restarts,
                           slices_per_volume=args.slices_per_volume,
                           batch_size=args.audit_batch_size, seed=args.audit_seed,
                           schedule=args.schedule)
        resolve_device(args.device)
    except ValueError as error:
        sys.exit(f"python -m fnaf audit: {error}")
    config = _config(args)
    if args.chans is not None:
        if config.model != "unet":
            sys.exit("python -m fnaf audit: --chans sets the U-Net's width, not the "
                     f"{config.model}'s")
        config = replace(config, network=replace(config.network, chans=args.chans))
    if args.weights is not None:
        try:  # a file of another architecture names the keys that differ
            model, name = _weights_model(config, args.weights), args.weights.stem
        except (ValueError, FileNotFoundError) as error:
            sys.exit(f"python -m fnaf audit: {error}")
    else:
        run = load_run(config, args.runs_dir)
        model, name = run.model, run.directory.name
    rank, _ = init_distributed(args.device)
    pipeline = pipeline_for(config.model)
    claim = audit(model, config, args.accel, suite, args.out, pipeline=pipeline,
                  name=args.name or name, device=args.device, progress=not args.quiet and rank == 0)
    if rank == 0:
        _print_claim(claim, args.out)
        _write_report(claim, model, pipeline, None, config, args.accel, suite, args)


def _print_claim(claim: dict, out: Path) -> None:
    """What ``audit`` and ``audit-method`` print: the SSIM lost per ε and kind, the FNAF
    searches' rates, the flags."""
    from fnaf.audit import claim_features, claim_metrics

    drop = claim_metrics(claim).xs("SSIM drop", level="score")["mean"].unstack("kind")
    print(f"{claim['model']['name']}: SSIM lost per ε (mean over {claim['data']['volumes']} "
          f"volumes; the claim file {Path(out) / (claim['model']['name'] + '.json')})")
    print(drop.to_string(float_format=lambda value: f"{value:.4f}"))
    features = claim_features(claim)
    if features is not None:
        print("FNAF searches (share of slices):")
        print(features["mean"].unstack("score")[["hit rate", "control rate"]].to_string(
            float_format=lambda value: f"{value:.3f}"))
    for entry in claim["flags"]:
        print(f"flag: {entry['flag']}: {entry['message']}. {entry['advice']}")


def _write_report(claim: dict, model, pipeline, attack, data, accel: int, suite: AuditSuite,
                  args: argparse.Namespace) -> None:
    """The report card (``<out>/<name>.html``) with the worst slices attacked again."""
    from fnaf.audit import claim_rows
    from fnaf.audit.report import report_html
    from fnaf.audit.worst_slices import worst_slices
    from fnaf.io import atomic_path

    examples = worst_slices(model, data, accel, suite, claim_rows(claim, args.out),
                            pipeline=pipeline, attack=attack, device=args.device)
    path = Path(args.out) / f"{claim['model']['name']}.html"
    with atomic_path(path) as partial:
        partial.write_text(report_html(claim, examples))
    print(f"the report card: {path}")


def _audit_method(args: argparse.Namespace) -> None:
    from fnaf.audit.methods import MethodPipeline, audit_method, method_audit_parts
    from fnaf.devices import resolve_device
    from fnaf.train import init_distributed

    try:  # every setting checked before any fit
        method, steps, data = _method_steps_data(args)
        two_step = TwoStepConfig(steps=steps, beta=args.beta, batch_size=args.batch_size)
        suite = AuditSuite(eps=args.eps, slices_per_volume=args.slices_per_volume,
                           seed=args.audit_seed)
        resolve_device(args.device)
    except (ValueError, FileNotFoundError) as error:
        sys.exit(f"python -m fnaf audit-method: {error}")
    rank, _ = init_distributed(args.device)
    claim = audit_method(method, data, args.accel, suite, args.out, two_step,
                         device=args.device, progress=not args.quiet and rank == 0)
    if rank == 0:
        _print_claim(claim, args.out)
        model, suite, attack = method_audit_parts(method, suite, two_step)
        _write_report(claim, model, MethodPipeline(), attack, data, args.accel, suite, args)


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=RECONSTRUCTION_MODELS, default=RECONSTRUCTION_MODELS[0])
    parser.add_argument("--coils", type=int, help="multi-coil data: the phantom with this many "
                        "coils, or --data-root's multicoil_train/ and multicoil_val/ "
                        "(fnaf.runs.multicoil_preset; U-Net or VarNet)")
    parser.add_argument("--size", help="with --coils: a size-family member of Darestani et "
                        "al.'s appendix (VarNet-ref, VarNet2-5, U-net-ref, U-net2-5)")
    parser.add_argument("--accel", type=int, choices=ACCELERATIONS, default=ACCELERATIONS[0],
                        help="acceleration (trained at, unless --mixed-masks; evaluated and "
                        "attacked at); centre fraction " + ", ".join(
                            f"{CENTER_FRACTIONS[a]:g} at {a}x" for a in ACCELERATIONS))
    parser.add_argument("--mixed-masks", action="store_true",
                        help="the run trains on 4x and 8x masks (one drawn per slice, "
                        "fastMRI's default); --accel then says where to evaluate or attack")
    parser.add_argument("--scale", choices=SCALES, default="demo",
                        help="preset (fnaf.runs.preset); paper needs --data-root")
    parser.add_argument("--data-root", help="fastMRI knee folder with singlecoil_train/ and "
                        "singlecoil_val/ (default: the embedded phantom)")
    parser.add_argument("--init-weights", type=Path, help="start from this weight file (a "
                        "fastMRI U-Net state_dict or an official i-RIM checkpoint) instead of "
                        "training the baseline: alone, the run is the file's model; with "
                        "--objective, the robust fine-tune starts from it (the paper's I-RIM)")
    parser.add_argument("--epochs", type=int, help="override the preset's epochs")
    parser.add_argument("--batch-size", type=int, help="override the preset's (global) batch")
    parser.add_argument("--seed", type=int, help="override the preset's seed")
    parser.add_argument("--runs-dir", type=Path, help="run cache (default $FNAF_RUNS or "
                        "~/.cache/fnaf/runs)")
    parser.add_argument("--device", help="cpu, cuda, cuda:1 (default: CUDA when present)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--objective", choices=OBJECTIVES, default=OBJECTIVES[0],
                        help="clean: the baseline; fnaf/bbox: a robust fine-tune of it "
                        "(fnaf.runs.robust_preset)")
    parser.add_argument("--beta", type=float, help="weight of the NMSE term of eq. 5")
    parser.add_argument("--adv-fraction", type=float, help="share of each batch with a feature")
    parser.add_argument("--n-pixels", type=int, help="training feature size (pixels)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fnaf", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    defaults = PhantomConfig()
    phantom = commands.add_parser(
        "phantom", help="write the embedded knee phantom as a fastMRI-format dataset",
        description="Writes DIR/singlecoil_train, DIR/singlecoil_val and the annotation CSVs "
                    "DIR/singlecoil_bb_train.csv, DIR/singlecoil_bb_val.csv.",
    )
    phantom.add_argument("--out", type=Path, required=True,
                         help="output directory: new or empty (written atomically)")
    phantom.add_argument("--force", action="store_true",
                         help="replace a non-empty --out once the new dataset is complete")
    phantom.add_argument("--geometry", choices=sorted(GEOMETRIES), default=defaults.geometry,
                         help="paper: 640x368 k-space, 320x320 targets; demo: 256x148 -> 128x128")
    phantom.add_argument("--train-volumes", type=int, default=defaults.train_volumes)
    phantom.add_argument("--val-volumes", type=int, default=defaults.val_volumes)
    phantom.add_argument("--slices", type=int, default=defaults.slices, help="slices per volume")
    phantom.add_argument("--noise", type=float, default=defaults.noise,
                         help="k-space noise std relative to the image intensity scale")
    phantom.add_argument("--lesions-per-volume", type=float, default=defaults.lesions_per_volume)
    phantom.add_argument("--seed", type=int, default=defaults.seed)
    phantom.add_argument("--coils", type=int, default=defaults.coils,
                         help="coils (> 1: fastMRI's multi-coil layout, birdcage sensitivities)")
    phantom.set_defaults(run=_phantom)

    check = commands.add_parser(
        "check-data", help="check every volume of a data root before training on it",
        description="Reads every volume of DIR's split folders once, slice by slice, and "
                    "reports per split: volumes, slices, k-space shapes, coils, dtypes, header "
                    "consistency, NaN/Inf, all-zero or low-energy slices, targets that differ "
                    "from the fully-sampled k-space's reconstruction, annotation coverage. "
                    "Exits non-zero on any problem.")
    check.add_argument("data_root", type=Path, metavar="DIR",
                       help="the data root holding singlecoil_<split>/ or multicoil_<split>/")
    check.add_argument("--annotations", type=Path, nargs="*",
                       help="annotation CSVs (default: DIR/*_bb_*.csv)")
    check.add_argument("--tolerance", type=float, default=TOLERANCE,
                       help="largest relative error of a target against the k-space's "
                            "reconstruction")
    check.add_argument("--low-energy", type=float, default=LOW_ENERGY,
                       help="smallest slice k-space energy relative to the volume's median")
    check.set_defaults(run=_check_data)

    train = commands.add_parser(
        "train", help="train (or resume) a baseline run of the run cache",
        description="Trains the preset's model, resuming an interrupted run; a finished run is "
                    "loaded, not retrained. Multi-GPU: torchrun --nproc_per_node N -m fnaf train "
                    "...; --batch-size is the global batch.")
    _add_run_arguments(train)
    train.add_argument("--checkpoint-every", type=int, default=0,
                       help="also checkpoint every N steps (default: at epoch ends only)")
    train.add_argument("--num-workers", type=int, default=0, help="data-loading workers")
    train.add_argument("--amp", action="store_true", help="bfloat16 autocast on CUDA (a "
                       "different run from fp32: part of the run's key)")
    train.set_defaults(run=_train)

    evaluate = commands.add_parser(
        "evaluate", help="reconstruct a split, print Table 3 metrics, write predictions",
        description="Reconstructs every volume with the run's model (or --weights), prints "
                    "NMSE/PSNR/SSIM (mean and std across volumes) for the model and the "
                    "zero-filled input, and with --out writes fastMRI prediction files. A run's "
                    "own validation split (no --weights, --split or --out) is cached in the run "
                    "cache the notebooks read. Several GPUs: torchrun --nproc_per_node N -m fnaf "
                    "evaluate ... shares the volumes; rank 0 writes the cache.")
    _add_run_arguments(evaluate)
    evaluate.add_argument("--weights", type=Path, help="a weight file instead of the run cache "
                          "(fastMRI state_dicts and Lightning checkpoints load)")
    evaluate.add_argument("--chans", type=int, help="U-Net width of the --weights file (fastMRI's "
                          "single-coil leaderboard U-Net: 256)")
    evaluate.add_argument("--split", default="val", help="the split folder evaluated, "
                          "singlecoil_<split> (multicoil_<split> with --coils); default val")
    evaluate.add_argument("--out", type=Path, help="folder for <fname>.h5 predictions")
    evaluate.set_defaults(run=_evaluate)

    attack = commands.add_parser(
        "attack", help="FNAF-attack a trained run's validation set (Table 2)",
        description="Runs (or loads from the run cache) an FNAF attack on every validation "
                    "slice and prints the attack rate, NMSE, the control's false-alarm rate, "
                    "the recovery error and the information-preservation check. Several "
                    "GPUs: torchrun --nproc_per_node N -m fnaf attack ... shares the slices; "
                    "rank 0 writes the cache the notebooks read (pass the notebook's settings).")
    _add_run_arguments(attack)
    attack_defaults = AttackConfig()
    attack.add_argument("--method", choices=ATTACK_METHODS, default=attack_defaults.method,
                        help="random search or finite differences (same budget)")
    attack.add_argument("--n-candidates", type=int, default=attack_defaults.n_candidates,
                        help="evaluations per slice")
    attack.add_argument("--attack-pixels", type=int, default=attack_defaults.n_pixels,
                        help="feature size (pixels)")
    attack.add_argument("--border", type=int, help="T's border in pixels (default: 5 at 320, "
                        "scaled)")
    attack.add_argument("--domain", choices=DOMAINS, default=attack_defaults.domain)
    attack.add_argument("--gamma", type=float, default=PAPER_GAMMA, help="hit threshold")
    attack.add_argument("--epsilon", type=float, default=INFORMATION_TOLERANCE,
                        help="information tolerance")
    attack.add_argument("--attack-seed", type=int, default=attack_defaults.seed)
    attack.add_argument("--attack-batch-size", type=int, default=attack_defaults.batch_size,
                        help="slices attacked together (part of the cache key)")
    attack.add_argument("--attack-chunk-size", type=int, help="candidate reconstructions per "
                        "forward pass (default: on a GPU as many as fit its free memory, 8 on a "
                        "CPU; not part of the cache key)")
    attack.set_defaults(run=_attack)

    audit = commands.add_parser(
        "audit", help="the robustness audit of a trained run or a weight file (fnaf.audit)",
        description="Runs fnaf.audit's fixed suite (k-space PGD over --eps with restarts, the "
                    "same-norm control, the worst case per slice) on a run of the cache or a "
                    "--weights file, and writes its claim file to --out. Several GPUs: torchrun "
                    "--nproc_per_node N -m fnaf audit ... shares the slices. Any other model: "
                    "fnaf.audit.audit with a callable (the book's page 'Audit your own model').")
    _add_run_arguments(audit)
    audit.add_argument("--weights", type=Path, help="a weight file of --model instead of the "
                       "run cache (fastMRI state_dicts and Lightning checkpoints load)")
    audit.add_argument("--chans", type=int, help="U-Net width of the --weights file")
    audit.add_argument("--name", help="the claim file's name (default: the run's folder or the "
                       "weight file's stem)")
    audit.add_argument("--out", type=Path, default=Path("audits"), help="folder of claim files")
    suite_defaults = AuditSuite()
    audit.add_argument("--eps", type=float, nargs="+", default=list(suite_defaults.eps))
    audit.add_argument("--steps", type=int, default=suite_defaults.steps)
    audit.add_argument("--restarts", type=int, default=suite_defaults.restarts)
    audit.add_argument("--schedule", default=suite_defaults.schedule,
                       help="PGD's steps: apgd (step-size free, the default) or fixed")
    audit.add_argument("--slices-per-volume", type=int, default=suite_defaults.slices_per_volume)
    audit.add_argument("--audit-batch-size", type=int, default=suite_defaults.batch_size)
    audit.add_argument("--audit-seed", type=int, default=suite_defaults.seed)
    audit.set_defaults(run=_audit)

    audit_methods = commands.add_parser(
        "audit-method", help="the robustness audit of l1 or an un-trained decoder (fnaf.audit)",
        description="Runs fnaf.audit's suite on a method that optimises at inference, with the "
                    "two-step attack in PGD's place (--steps, --beta), and writes its claim file "
                    "to --out.")
    audit_methods.add_argument("--method", choices=UNTRAINED_METHODS,
                               default=UNTRAINED_METHODS[0])
    _add_multicoil_method_arguments(audit_methods, "08")
    audit_methods.add_argument("--out", type=Path, default=Path("audits"),
                               help="folder of claim files")
    audit_methods.add_argument("--eps", type=float, nargs="+", default=list(suite_defaults.eps))
    audit_methods.add_argument("--steps", type=int, help="two-step joint steps (default: the "
                               "scale's budget)")
    audit_methods.add_argument("--beta", type=float, default=TwoStepConfig().beta)
    audit_methods.add_argument("--batch-size", type=int, default=TwoStepConfig().batch_size,
                               help="slices fitted together (a decoder's weights are drawn per "
                               "batch)")
    audit_methods.add_argument("--slices-per-volume", type=int,
                               default=suite_defaults.slices_per_volume)
    audit_methods.add_argument("--seed", type=int, default=0, help="the method's seed")
    audit_methods.add_argument("--audit-seed", type=int, default=suite_defaults.seed)
    audit_methods.add_argument("--quiet", action="store_true", help="no progress bar")
    audit_methods.set_defaults(run=_audit_method)

    pgd = commands.add_parser(
        "pgd", help="k-space PGD on a trained run's validation slices, beside its control",
        description="Runs (or loads from the run cache) Darestani et al.'s k-space PGD at each "
                    "--eps with the same-norm random control, and prints the mean SSIM. Several "
                    "GPUs: torchrun --nproc_per_node N -m fnaf pgd ... shares the slices; rank 0 "
                    "writes the cache the notebooks read (pass the notebook's settings).")
    _add_run_arguments(pgd)
    pgd_defaults = PgdConfig()
    pgd.add_argument("--eps", type=float, nargs="+", default=list(pgd_defaults.eps),
                     help="relative perturbation sizes ||z|| / ||y||")
    pgd.add_argument("--steps", type=int, default=pgd_defaults.steps)
    pgd.add_argument("--restarts", type=int, default=pgd_defaults.restarts)
    pgd.add_argument("--norm", choices=NORMS, default=pgd_defaults.norm,
                     help="what ||z|| covers: the measured entries (eq. 2) or all")
    pgd.add_argument("--slices-per-volume", type=int, default=pgd_defaults.slices_per_volume,
                     help="middle slices per validation volume (default: all)")
    pgd.add_argument("--pgd-batch-size", type=_batch_size, default=pgd_defaults.batch_size,
                     help="slices attacked together, or 'auto': as many as fit the device's "
                          "free memory (a slice's result does not depend on it)")
    pgd.add_argument("--attack-seed", type=int, default=pgd_defaults.seed)
    _add_second_paper_options(pgd)
    pgd.set_defaults(run=_pgd)

    two_step = commands.add_parser(
        "two-step", help="the two-step attack on l1 or an un-trained decoder (chapter 08)",
        description="Runs (or loads from the run cache) Darestani et al.'s two-step attack "
                    "(eq. 3) on l1-minimisation or a decoder fitted per slice, with the "
                    "same-norm random control, on multi-coil data. Several GPUs: torchrun "
                    "--nproc_per_node N -m fnaf two-step ... shares the slices; rank 0 writes "
                    "the cache chapter 08 reads (pass the chapter's settings, its chosen λ "
                    "among them).")
    two_step_defaults = TwoStepConfig()
    two_step.add_argument("--method", choices=UNTRAINED_METHODS, default=UNTRAINED_METHODS[0])
    _add_multicoil_method_arguments(two_step, "08")
    two_step.add_argument("--eps", type=float, nargs="+", default=list(two_step_defaults.eps))
    two_step.add_argument("--steps", type=int, help="joint steps (default: the scale's budget)")
    two_step.add_argument("--beta", type=float, default=two_step_defaults.beta)
    two_step.add_argument("--norm", choices=NORMS, default=two_step_defaults.norm)
    two_step.add_argument("--slices-per-volume", type=int,
                          default=two_step_defaults.slices_per_volume)
    two_step.add_argument("--volumes", type=int, help="first validation volumes (default: all)")
    two_step.add_argument("--batch-size", type=int, default=two_step_defaults.batch_size,
                          help="slices attacked together (part of the cache key)")
    two_step.add_argument("--seed", type=int, default=two_step_defaults.seed)
    two_step.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_second_paper_options(two_step)
    two_step.set_defaults(run=_two_step)

    location = commands.add_parser(
        "location-map", help="chapter 10's small-feature location map of a multi-coil method",
        description="Computes (or loads from the run cache) the window error of a --window "
                    "pixel feature at --grid x --grid locations in the middle slice of each of "
                    "the first --images validation volumes, for a trained multi-coil network "
                    "(trained first: python -m fnaf train --coils ...), l1 or a decoder. Several "
                    "GPUs: torchrun --nproc_per_node N -m fnaf location-map ... shares the "
                    "placements; rank 0 writes the cache chapter 10 reads (pass the chapter's "
                    "settings, its chosen λ among them).")
    location.add_argument("--method", choices=("varnet", "unet", *UNTRAINED_METHODS),
                          default="varnet")
    _add_multicoil_method_arguments(location, "10")
    location.add_argument("--window", type=int, default=5, help="window size (pixels)")
    location.add_argument("--grid", type=int, default=5, help="window positions per axis")
    location.add_argument("--images", type=int, default=6,
                          help="first validation volumes (middle slice each)")
    location.add_argument("--chunk", type=int, default=8, help="placements reconstructed "
                          "together (part of the cache key: a decoder's fit depends on it)")
    location.add_argument("--seed", type=int, default=0, help="the decoders' initialisation")
    location.add_argument("--beta1", type=float, help="a decoder's Adam β1 (default the "
                          "authors' 0.9; 0.98: the appendix's smoother fit, chapter 10's "
                          "smooth_map)")
    location.set_defaults(run=_location_map)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    for name in ("train_volumes", "val_volumes", "slices", "epochs", "batch_size"):
        value = getattr(args, name, None)
        if value is not None and value < 1:
            sys.exit(f"--{name.replace('_', '-')} must be at least 1")
    args.run(args)


if __name__ == "__main__":
    main()
