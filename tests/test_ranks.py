"""Per-slice work sharded over torchrun processes (gloo, CPU): the rows of two processes are
one process's rows, in its order; rank 0 writes the cache once; processes that see different
slices refuse."""

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from fnaf.ranks import gathered, my_batches, rank_world

WORKER = Path(__file__).with_name("shard_worker.py")


def test_one_process_takes_every_batch_and_gathers_them_in_order():
    assert rank_world() == (0, 1)
    batches = [[0, 1], [2], [3, 4]]
    assert my_batches(batches) == list(enumerate(batches))
    assert gathered({1: ["b"], 0: ["a", "a2"], 2: []}, 3) == ["a", "a2", "b"]
    with pytest.raises(RuntimeError, match="gathered 2 of 3 batches"):
        gathered({0: [], 2: []}, 3)


def _torchrun(tmp_path, *arguments, check=True):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "FNAF_CACHE": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc_per_node", "2", str(WORKER), *arguments], check=check,
                          env=env, timeout=180, capture_output=True, text=True)


@pytest.fixture
def worker(tmp_path, monkeypatch):
    """The worker module, its phantoms cached under ``tmp_path``."""
    monkeypatch.syspath_prepend(str(WORKER.parent))
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    import shard_worker

    return shard_worker


@pytest.fixture
def phantom(worker):
    """The worker's 3-coil phantom, written once before any process starts."""
    from fnaf.runs import datasets

    datasets(worker.DATA)


@pytest.fixture
def trained(tmp_path, worker):
    """The smoke U-Net run (and its phantom), trained once, in the run caches ``one`` and
    ``two`` of the one- and two-process workers."""
    from fnaf.runs import train_or_load

    train_or_load(worker.RUN, tmp_path / "one", device="cpu", progress=False)
    shutil.copytree(tmp_path / "one", tmp_path / "two")
    return worker.RUN


@pytest.mark.slow  # over ~10 s: `make test` runs it, a bare `pytest` does not
def test_two_processes_return_and_cache_the_rows_of_one(tmp_path, phantom):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, str(WORKER), str(tmp_path / "one"), str(tmp_path / "one")],
                   check=True, env=env, timeout=180)
    _torchrun(tmp_path, str(tmp_path / "two"), str(tmp_path / "two"))
    one = pd.read_csv(tmp_path / "one.0.csv")
    ranks = [pd.read_csv(tmp_path / f"two.{rank}.csv") for rank in (0, 1)]
    pd.testing.assert_frame_equal(ranks[0], ranks[1])  # every rank holds every row
    assert len(one) == 2 * 4 * 2 * 2  # volumes x slices x eps x (attack, control)
    assert ranks[0][["fname", "slice", "eps", "kind"]].equals(one[["fname", "slice", "eps",
                                                                    "kind"]])
    pd.testing.assert_frame_equal(ranks[0], one, rtol=1e-5)  # the same batches and seeds
    (cached,) = (tmp_path / "two" / "untrained").glob("*.json")
    assert cached.name == next((tmp_path / "one" / "untrained").glob("*.json")).name


@pytest.mark.slow
@pytest.mark.parametrize("mode, cache", [("evaluate", "evaluations"), ("attack", "attacks")])
def test_two_processes_evaluate_and_fnaf_attack_as_one(tmp_path, trained, mode, cache):
    """Evaluations share whole volumes, the FNAF attack its batches (each seeded by its
    position): both ranks return one process's rows, and rank 0 caches them once."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, str(WORKER), str(tmp_path / "one"), str(tmp_path / "one"),
                    mode], check=True, env=env, timeout=180)
    _torchrun(tmp_path, str(tmp_path / "two"), str(tmp_path / "two"), mode)
    one = pd.read_csv(tmp_path / "one.0.csv")
    ranks = [pd.read_csv(tmp_path / f"two.{rank}.csv") for rank in (0, 1)]
    pd.testing.assert_frame_equal(ranks[0], ranks[1])
    pd.testing.assert_frame_equal(ranks[0], one)
    (written,) = (tmp_path / "one" / trained.name / cache).glob("*.json")
    (shared,) = (tmp_path / "two" / trained.name / cache).glob("*.json")
    assert shared.name == written.name
    assert _close(json.loads(shared.read_text()), json.loads(written.read_text()))


def _close(a, b) -> bool:
    """Two JSON values equal, their floats to a relative 1e-5 (processes may sum in another
    order)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[key], b[key]) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-8) or (math.isnan(a) and math.isnan(b))
    return a == b


@pytest.mark.slow
def test_two_processes_map_locations_as_one(tmp_path, phantom):
    """Chapter 10's location map: each rank reconstructs every other chunk of placements, both
    return one process's rows, and rank 0 caches them once."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, str(WORKER), str(tmp_path / "one"), str(tmp_path / "one"),
                    "location-map"], check=True, env=env, timeout=180)
    _torchrun(tmp_path, str(tmp_path / "two"), str(tmp_path / "two"), "location-map")
    one = pd.read_csv(tmp_path / "one.0.csv")
    ranks = [pd.read_csv(tmp_path / f"two.{rank}.csv") for rank in (0, 1)]
    assert len(one) == 2 * 2 * 2  # volumes (middle slice each) x grid locations
    pd.testing.assert_frame_equal(ranks[0], ranks[1])
    pd.testing.assert_frame_equal(ranks[0], one, rtol=1e-5)  # the same chunks
    (written,) = (tmp_path / "one" / "location_maps").glob("*.json")
    (shared,) = (tmp_path / "two" / "location_maps").glob("*.json")
    assert shared.name == written.name
    assert _close(json.loads(shared.read_text()), json.loads(written.read_text()))


@pytest.mark.slow
def test_two_processes_audit_as_one(tmp_path, phantom):
    """The audit's every part shares its batches or chunks over the ranks: both return one
    process's metrics, rank 0 writes the claim file once, and the kept batches are removed."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, str(WORKER), str(tmp_path / "one"), str(tmp_path / "one"),
                    "audit"], check=True, env=env, timeout=300)
    _torchrun(tmp_path, str(tmp_path / "two"), str(tmp_path / "two"), "audit")
    one = pd.read_csv(tmp_path / "one.0.csv")
    ranks = [pd.read_csv(tmp_path / f"two.{rank}.csv") for rank in (0, 1)]
    pd.testing.assert_frame_equal(ranks[0], ranks[1])
    pd.testing.assert_frame_equal(ranks[0], one, rtol=1e-5)
    written, shared = (json.loads((tmp_path / run / "audits" / "zero-filled.json").read_text())
                       for run in ("one", "two"))
    assert _close(shared, written) and {"features", "windows"} <= set(shared)
    assert sorted(path.name for path in (tmp_path / "two" / "audits").iterdir()) == [
        "zero-filled.json", "zero-filled.rows.json"]


@pytest.mark.slow
def test_processes_that_see_different_slices_refuse(tmp_path, phantom):
    result = _torchrun(tmp_path, str(tmp_path / "runs"), str(tmp_path / "out"), "differ",
                       check=False)
    assert result.returncode != 0
    assert "the processes see different slices" in result.stderr
    assert not list((tmp_path / "runs").rglob("*.json"))


def test_a_rank_takes_every_worlds_batch_and_finds_a_share_missing(monkeypatch):
    import fnaf.ranks as ranks

    monkeypatch.setattr(ranks, "rank_world", lambda: (1, 2))
    monkeypatch.setattr(ranks, "_everyone", lambda value: [value, value])
    batches = [[0], [1], [2], [3], [4]]
    assert ranks.my_batches(batches) == [(1, [1]), (3, [3])]
    monkeypatch.setattr(ranks, "_everyone", lambda value: [{0: ["a"], 2: ["c"]}, value])
    assert ranks.gathered({1: ["b"]}, 3) == ["a", "b", "c"]
    with pytest.raises(RuntimeError, match="a process did not finish its share"):
        ranks.gathered({}, 3)
    monkeypatch.setattr(ranks, "_everyone", lambda value: [value, "another"])
    with pytest.raises(ValueError, match="the processes see different slices"):
        ranks.my_batches(batches)
