"""Atomic writes, damaged files named with their fix, and the writability and free-space
checks."""

import errno
import os
import shutil
from pathlib import Path

import pytest
import torch

from fnaf.io import (
    DamagedFileError,
    DiskFullError,
    NotWritableError,
    ensure_writable,
    load_json,
    load_torch,
    remove_stale_partials,
    save_json,
    save_torch,
)


def test_round_trips(tmp_path):
    save_torch({"w": torch.arange(3)}, tmp_path / "a" / "w.pt")
    assert torch.equal(load_torch(tmp_path / "a" / "w.pt", "fix")["w"], torch.arange(3))
    save_json({"x": 1}, tmp_path / "m.json")
    assert load_json(tmp_path / "m.json", "fix") == {"x": 1}
    assert not list(tmp_path.rglob(".partial-*"))  # no temporary file left behind


class Unprintable:
    def __str__(self):
        raise RuntimeError("interrupted mid-write")


def test_a_failed_write_leaves_nothing(tmp_path):
    save_json({"x": 1}, tmp_path / "m.json")
    with pytest.raises(RuntimeError, match="interrupted"):
        save_json({"x": Unprintable()}, tmp_path / "m.json")
    assert [path.name for path in tmp_path.iterdir()] == ["m.json"]  # the old file, no temp
    assert load_json(tmp_path / "m.json", "fix") == {"x": 1}


@pytest.mark.parametrize("content", [b"", b"hello world", "truncated"])
def test_damaged_torch_files_name_the_path_and_the_fix(tmp_path, content):
    path = tmp_path / "model.pt"
    if content == "truncated":
        save_torch({"w": torch.ones(1000)}, path)
        content = path.read_bytes()[:500]
    path.write_bytes(content)
    with pytest.raises(DamagedFileError, match=f"{path}: cannot be read .* delete it"):
        load_torch(path, "delete it")


def test_a_missing_file_is_not_called_damaged(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_torch(tmp_path / "absent.pt", "fix")


@pytest.mark.parametrize("content", ["", "{", "[1,"])
def test_damaged_json_names_the_path_and_the_fix(tmp_path, content):
    (tmp_path / "metrics.json").write_text(content)
    with pytest.raises(DamagedFileError, match="metrics.json: cannot be read .* retrain"):
        load_json(tmp_path / "metrics.json", "retrain")


def test_temporary_files_of_killed_writers_are_removed_and_live_ones_kept(tmp_path):
    import socket
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    host = socket.gethostname()
    stale = tmp_path / f".partial-{host}-{dead}-checkpoint.pt"
    live = tmp_path / f".partial-{host}-{os.getpid()}-checkpoint.pt"
    for path in (stale, live):
        path.write_bytes(b"half a checkpoint")
    assert remove_stale_partials(tmp_path) == [stale]
    assert live.exists() and not stale.exists()


def test_a_folder_that_cannot_be_written_is_found_before_any_work(tmp_path):
    assert ensure_writable(tmp_path / "new" / "runs", "fix") == tmp_path / "new" / "runs"
    (tmp_path / "occupied").write_text("a file where the folder should be")
    with pytest.raises(NotWritableError,
                       match="occupied/runs: results cannot be written .* use another"):
        ensure_writable(tmp_path / "occupied" / "runs", "use another")


def test_tables_are_saved_as_csv_and_offered_as_downloads(tmp_path):
    import pandas as pd

    from fnaf.book import downloads
    from fnaf.io import save_tables

    table = pd.DataFrame({"NMSE": [0.1, 0.2]}, index=pd.Index(["U-Net", "I-RIM"], name="model"))
    paths = save_tables(tmp_path / "results", {"table3": table})
    assert paths == [tmp_path / "results" / "table3.csv"]
    assert pd.read_csv(paths[0], index_col="model").equals(table)
    assert save_tables(None, {"table3": table}) == []
    line = downloads([Path("results/01_baselines/table3.csv")], "01_baselines").data
    assert "{download}`table3.csv <results/01_baselines/table3.csv>`" in line
    assert "<../_build/jupyter_execute/notebooks/01_baselines.ipynb>`" in line


def little_free(monkeypatch, free=1000):
    """``shutil.disk_usage`` reports ``free`` bytes free on every disk."""
    monkeypatch.setattr("fnaf.io.shutil.disk_usage",
                        lambda path: shutil._ntuple_diskusage(10**9, 10**9 - free, free))


def test_a_disk_without_room_for_the_results_is_found_before_any_work(tmp_path, monkeypatch):
    assert ensure_writable(tmp_path, "fix", needed=10) == tmp_path
    little_free(monkeypatch)
    ensure_writable(tmp_path, "fix", needed=1000)
    with pytest.raises(DiskFullError, match=f"{tmp_path}: about 2,000 bytes will be written "
                                            "there, but its disk has 1,000 bytes free; free "
                                            "space on it, or use another"):
        ensure_writable(tmp_path, "use another", needed=2000)


@pytest.mark.parametrize("save, method", [(save_json, "write_text"), (save_torch, "write_bytes")])
def test_a_write_on_a_full_disk_names_the_file_and_says_so(tmp_path, monkeypatch, save, method):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, method, full)
    with pytest.raises(DiskFullError, match=f"{tmp_path / 'out'}: cannot be written, the disk is "
                                            "full \\(No space left on device\\)"):
        save({"x": torch.zeros(2)} if save is save_torch else {"x": 1}, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []  # no partial file left
