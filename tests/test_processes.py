"""Training in several torchrun processes (fnaf.runs.processes): the setting is validated, the
launch is the engine's torchrun, a failure names the run and the way to see the error, and a run
trained in two processes is cached under the one-process key and served to one process."""

import subprocess

import pytest
import torch

from fnaf.runs import preset, set_processes, train_or_load
from fnaf.runs import processes as module


@pytest.fixture
def reset_processes():
    yield set_processes
    set_processes(None)


@pytest.mark.parametrize("value", [0, -1, "two", 1.5, "2.0", None])
def test_the_count_is_validated(value):
    with pytest.raises(ValueError, match="FNAF_PROCESSES"):
        module.check_processes(value)


def test_the_session_setting_overrides_the_environment(monkeypatch, reset_processes):
    monkeypatch.setenv("FNAF_PROCESSES", "3")
    assert module.training_processes() == 3
    assert reset_processes(2) == 2
    assert module.training_processes() == 2
    assert reset_processes(None) == 3
    monkeypatch.delenv("FNAF_PROCESSES")
    assert module.training_processes() == 1
    monkeypatch.setenv("FNAF_PROCESSES", "many")
    with pytest.raises(ValueError, match="FNAF_PROCESSES"):
        module.training_processes()
    monkeypatch.delenv("FNAF_PROCESSES")


def test_the_launch_is_torchrun_with_this_module(tmp_path):
    command = module.launch_command(tmp_path / "c.pkl", tmp_path, torch.device("cpu"), 4)
    assert command[1:3] == ["-m", "torch.distributed.run"]
    assert command[command.index("--nproc_per_node") + 1] == "4"
    assert command[command.index("-m", 3) + 1] == "fnaf.runs.processes"
    assert command[-3:] == [str(tmp_path / "c.pkl"), str(tmp_path), "cpu"]


def test_a_failed_launch_names_the_run_and_the_fallback(tmp_path, monkeypatch):
    seen = {}

    def failing(command, env, **kwargs):
        seen.update(command=command, threads=env["OMP_NUM_THREADS"])
        return subprocess.CompletedProcess(command, 3, stdout="", stderr="boom: no port")

    monkeypatch.setattr(module.subprocess, "run", failing)
    config = preset("smoke", "unet", 4, epochs=1)
    with pytest.raises(RuntimeError, match=r"(?s)unet.*2 processes.*FNAF_PROCESSES=1.*boom"):
        module.train_in_processes(config, tmp_path, torch.device("cpu"), 2)
    assert int(seen["threads"]) >= 1
    assert not list(tmp_path.glob(".launch-*"))  # the handed-over config is removed


def test_train_or_load_launches_only_an_uncached_run(tmp_path, monkeypatch, reset_processes):
    config = preset("smoke", "unet", 4, epochs=1)
    train_or_load(config, tmp_path, progress=False)  # cached by one process
    monkeypatch.setattr(module.subprocess, "run", lambda *a, **k: pytest.fail("launched"))
    reset_processes(2)
    assert train_or_load(config, tmp_path, progress=False).directory.name == config.name


@pytest.mark.slow
def test_two_processes_train_a_run_one_process_loads(tmp_path, reset_processes):
    config = preset("smoke", "unet", 4, epochs=1)
    reset_processes(2)
    run = train_or_load(config, tmp_path, progress=False)
    assert run.provenance["processes"] == 2
    assert run.directory == tmp_path / config.name  # the one-process key
    assert run.metrics["steps"] > 0 and run.metrics["val_loss"] == run.metrics["val_loss"]
    written = (run.directory / "model.pt").stat().st_mtime_ns
    reset_processes(1)
    again = train_or_load(config, tmp_path, progress=False)
    assert (again.directory / "model.pt").stat().st_mtime_ns == written
    for mine, theirs in zip(run.model.parameters(), again.model.parameters()):
        assert torch.equal(mine, theirs)
