"""The paper-geometry dry run: every chapter at ``scale=paper`` with its epochs, steps and
iterations capped (``dry_run_steps``) and its counts of slices, candidates and placements cut
to a few, on a fastMRI-layout phantom of the paper's geometry (640x368 and 640x372 k-space;
single-coil, and 15 coils (14 in the widened volumes)) or on a given ``--data-root``. Prints
each chapter's wall time, the kernel's peak host memory and (on CUDA) its peak GPU memory; a
chapter that fails is reported with its error's tail and the others still run (exit code 1).

    python tools/dry_run.py [--chapters 00 07] [--data-root DIR] [--device cuda] [--steps 2]
                            [--parameter 'methods=["unet"]' ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import nbformat
import papermill

from fnaf.data.phantom import PhantomConfig, write_phantom
from fnaf.data.varied import write_varied

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
#: Every chapter, in the book's order, and the notebook parameters that cut its counts of
#: volumes, slices, candidates and placements (the epochs, steps and iterations are capped by
#: ``dry_run_steps``). The multi-coil chapters read the 15-coil data.
CHAPTERS = {
    "00": ("00_data", {}),
    "01": ("01_baselines", {}),
    "02": ("02_fnaf_attacks", {"n_candidates": 2}),
    "03": ("03_robust_training", {"n_candidates": 2}),
    "04": ("04_bbox_training", {"n_candidates": 2}),
    "05": ("05_classification", {}),
    "06": ("06_correlation_analysis", {}),
    "07": ("07_measurement_attacks", {"coils": 15, "eps": [0.08]}),
    "08": ("08_untrained_and_l1", {"coils": 15, "eps": [0.08], "lams": [3e-4],
                                   "bases": ["wavelet"], "tuning_volumes": 1}),
    "09": ("09_distribution_shift", {"coils": 15, "volumes": 2, "decoder_slices": 1,
                                     "lams": [3e-4], "bases": ["wavelet"], "tuning_volumes": 1}),
    "10": ("10_small_features", {"coils": 15, "grid": 2, "images": 2, "sizes": [3],
                                 "placements": 2, "decoder_placements": 1, "box_volumes": 2,
                                 "lams": [3e-4], "tuning_volumes": 1}),
    "released_code": ("released_code", {"n_candidates": 2}),
    "real_fastmri": ("real_fastmri", {}),
    "summary": ("summary", {}),
}
#: The chapters without ``scale``/``dry_run_steps`` (they train nothing).
_UNSCALED = ("00", "real_fastmri", "summary")
#: Appended to the executed copy (never to the notebook): the kernel's own peaks, as JSON.
PEAKS = """import json, resource, torch
print("dry-run peaks", json.dumps({
    "host_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    "gpu_gb": torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None}))
"""


def write_data(out: Path, geometry: str = "paper", volumes: int = 3, slices: int = 2,
               coils: int = 15) -> Path:
    """A fastMRI-layout phantom at ``geometry`` with single-coil and ``coils``-coil splits and
    their box CSVs, every odd volume 4 columns wider (and some a coil or a slice fewer,
    :func:`~fnaf.data.varied.write_varied`), in ``out/data``."""
    staging = out / "phantoms"
    sources = staging / "both"
    sources.mkdir(parents=True, exist_ok=True)
    for n in (1, coils):
        config = PhantomConfig(geometry=geometry, train_volumes=volumes, val_volumes=volumes,
                               slices=slices, coils=n, seed=7)
        written = write_phantom(staging / config.challenge, config, force=True)
        for path in written.iterdir():
            if path.suffix != ".json":
                link = sources / path.name
                link.unlink(missing_ok=True)
                link.symlink_to(path.resolve())
    return write_varied(sources, out / "data", force=True)


def parameters(chapter: str, data_root: Path, out: Path, steps: int, device: str | None) -> dict:
    """The papermill parameters of ``chapter``'s dry run."""
    name, counts = CHAPTERS[chapter]
    given = {"results_dir": str(out / "results" / name)}
    if chapter == "summary":
        return {**given, "results_root": str(out / "results"), "data_root": str(data_root)}
    if chapter == "real_fastmri":
        return given
    given["data_root"] = str(data_root)
    if chapter in _UNSCALED:
        return given
    given.update(scale="paper", dry_run_steps=steps, device=device,
                 runs_root=str(out / "runs"), **counts)
    if chapter == "07":
        given["fnaf_data_root"] = str(data_root)
    if chapter == "09":  # a dry run: the same knees stand in for the shifted knees and brains
        given.update(shifted_root=str(data_root), brain_root=str(data_root))
    return given


def run_chapter(chapter: str, given: dict, out: Path) -> dict:
    """Execute ``chapter`` with ``given`` into ``out/notebooks``: its time, peaks or error."""
    name = CHAPTERS[chapter][0]
    source = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    source.cells.append(nbformat.v4.new_code_cell(PEAKS))
    folder = out / "notebooks"
    folder.mkdir(parents=True, exist_ok=True)
    staged = folder / f"{name}.input.ipynb"
    nbformat.write(source, staged)
    start = time.perf_counter()
    row = {"chapter": name}
    try:
        papermill.execute_notebook(str(staged), str(folder / f"{name}.ipynb"), parameters=given,
                                   progress_bar=False, kernel_name="python3", cwd=str(ROOT))
        executed = nbformat.read(folder / f"{name}.ipynb", as_version=4)
        printed = "".join(output.get("text", "") for output in executed.cells[-1].outputs)
        row.update(json.loads(printed.split("dry-run peaks", 1)[1]))
    except Exception as error:  # reported, and the other chapters still run
        lines = str(error).strip().splitlines() or [repr(error)]
        row["error"] = lines[-1][:300]
    row["time_s"] = time.perf_counter() - start
    return row


def table(rows: list[dict]) -> str:
    """The rows as a Markdown table."""
    lines = ["| chapter | time (s) | peak host memory (GB) | peak GPU memory (GB) | result |",
             "|---|---:|---:|---:|---|"]
    for row in rows:
        gpu = row.get("gpu_gb")
        host = row.get("host_gb")
        lines.append(f"| {row['chapter']} | {row['time_s']:.0f} | "
                     f"{'–' if host is None else f'{host:.1f}'} | "
                     f"{'–' if gpu is None else f'{gpu:.1f}'} | {row.get('error', 'ok')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapters", nargs="+", default=list(CHAPTERS), choices=list(CHAPTERS))
    parser.add_argument("--data-root", help="a fastMRI folder (singlecoil_* and multicoil_* "
                        "splits, box CSVs); default: the paper-geometry phantom")
    parser.add_argument("--device", help="cpu, cuda, ...; default: CUDA when present")
    parser.add_argument("--steps", type=int, default=2, help="dry_run_steps (default 2)")
    parser.add_argument("--geometry", default="paper", choices=["paper", "demo", "smoke"],
                        help="the phantom's geometry (smoke: the tests')")
    parser.add_argument("--parameter", action="append", default=[], metavar="NAME=JSON",
                        help="a notebook parameter for every chapter run (repeatable)")
    parser.add_argument("--out", default=str(ROOT / "build" / "dry_run"))
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be >= 1, not {args.steps}")
    try:
        extra = {name: json.loads(value) for name, _, value in
                 (item.partition("=") for item in args.parameter)}
    except json.JSONDecodeError as error:
        parser.error(f"--parameter takes NAME=JSON ({error})")
    out = Path(args.out).resolve()
    data_root = (Path(args.data_root).resolve() if args.data_root else
                 write_data(out, args.geometry))
    rows = []
    for chapter in args.chapters:
        given = {**parameters(chapter, data_root, out, args.steps, args.device), **extra}
        row = run_chapter(chapter, given, out)
        print(f"{row['chapter']}: {row['time_s']:.0f} s, {row.get('error', 'ok')}", flush=True)
        rows.append(row)
    print(table(rows))
    return 1 if any("error" in row for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
