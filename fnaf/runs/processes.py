"""Training a run in several processes from a notebook or script: ``torchrun`` (the engine's
DistributedDataParallel, :func:`fnaf.train.fit`) launched for one :class:`RunConfig`.

``FNAF_PROCESSES`` (or :func:`set_processes`) says how many: 1 (the default) trains in the calling
process; ``N > 1`` makes :func:`~fnaf.runs.cache.train_or_load` start
``python -m torch.distributed.run --standalone --nproc_per_node N -m fnaf.runs.processes`` for a
run that is not cached yet, wait for it, and load the finished run. The run's key does not depend
on the number of processes (the global batch is the config's), so a cache filled this way serves
a one-process session and the reverse. Each process gets ``threads // N`` threads of this one's
(at least 1). On a 2-core CPU two processes with one thread each trained the demo I-RIM faster
than one process with two threads, the multi-coil networks slower (``benchmarks/README.md``), so
``make book`` keeps one. On a node with N GPUs, ``FNAF_PROCESSES=N`` trains on all of them.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

#: Environment variable naming the processes each training is launched in.
PROCESSES_VARIABLE = "FNAF_PROCESSES"
_session: int | None = None


def check_processes(processes) -> int:
    """``processes`` as a positive integer, or a ``ValueError`` naming the setting."""
    try:
        count = int(processes)
    except (TypeError, ValueError):
        count = 0
    if count < 1 or str(processes).strip() != str(count):
        raise ValueError(f"the number of training processes must be an integer >= 1, not "
                         f"{processes!r} (set {PROCESSES_VARIABLE} or set_processes)")
    return count


def set_processes(processes: int | None) -> int:
    """Make ``processes`` (``None``: ``$FNAF_PROCESSES``, default 1) the session's count of
    training processes. Returns it."""
    global _session
    _session = None if processes is None else check_processes(processes)
    return training_processes()


def training_processes() -> int:
    """The session's count (:func:`set_processes`), else ``$FNAF_PROCESSES``, else 1."""
    if _session is not None:
        return _session
    return check_processes(os.environ.get(PROCESSES_VARIABLE, "1"))


def launch_command(config_file: Path, root: Path, device: torch.device,
                   processes: int) -> list[str]:
    """The ``torchrun`` command that trains the pickled config in ``config_file`` under
    ``root`` on ``device`` (a CUDA device: each process takes its local rank's GPU)."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            "--nproc_per_node", str(processes), "-m", "fnaf.runs.processes",
            str(config_file), str(root), device.type]


def train_in_processes(config, root: Path, device: torch.device, processes: int) -> None:
    """Train ``config`` (a :class:`~fnaf.runs.configs.RunConfig`) into ``root`` in
    ``processes`` ``torchrun`` processes; a failure raises a ``RuntimeError`` with the end of
    their output."""
    root.mkdir(parents=True, exist_ok=True)
    threads = max(1, torch.get_num_threads() // processes)
    with tempfile.TemporaryDirectory(dir=root, prefix=".launch-") as folder:
        config_file = Path(folder) / "config.pkl"
        config_file.write_bytes(pickle.dumps(config))
        done = subprocess.run(launch_command(config_file, root, device, processes),
                              env={**os.environ, "OMP_NUM_THREADS": str(threads)},
                              capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
        raise RuntimeError(f"training {config.name} in {processes} processes failed (exit "
                           f"{done.returncode}); train it in this process with "
                           f"{PROCESSES_VARIABLE}=1 to see the error directly. Its output "
                           f"ended:\n{tail}")


def main(argv: list[str]) -> None:
    """A ``torchrun`` process: train the pickled config ``argv[0]`` into ``argv[1]``."""
    from fnaf.runs.cache import train_or_load
    from fnaf.train import init_distributed

    config_file, root, device_type = argv
    config = pickle.loads(Path(config_file).read_bytes())
    init_distributed(device_type)
    train_or_load(config, root, device=None if device_type == "cuda" else device_type,
                  progress=False)


if __name__ == "__main__":
    main(sys.argv[1:])
