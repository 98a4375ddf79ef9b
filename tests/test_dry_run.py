"""The paper-geometry dry run's data (tools/dry_run.py): fastMRI's widths and 15 coils."""

import sys
from pathlib import Path

import h5py
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import dry_run  # noqa: E402


def test_the_dry_run_data_has_the_paper_widths_and_15_coils(tmp_path):
    root = dry_run.write_data(tmp_path, "paper", volumes=2, slices=1)
    shapes = {split: sorted(h5py.File(path)["kspace"].shape
                            for path in (root / split).glob("*.h5"))
              for split in ("singlecoil_val", "multicoil_train")}
    assert shapes["singlecoil_val"] == [(1, 640, 368), (1, 640, 372)]
    assert shapes["multicoil_train"] == [(1, 14, 640, 372), (1, 15, 640, 368)]
    assert (root / "singlecoil_bb_val.csv").exists() and (root / "multicoil_bb_val.csv").exists()


def test_every_chapter_runs_at_paper_scale_with_capped_steps(tmp_path):
    for chapter in dry_run.CHAPTERS:
        given = dry_run.parameters(chapter, tmp_path / "data", tmp_path, 2, None)
        if chapter not in ("00", "real_fastmri", "summary"):
            assert given["scale"] == "paper" and given["dry_run_steps"] == 2


@pytest.mark.slow
def test_the_runner_runs_a_chapter_end_to_end(tmp_path, capsys):
    assert dry_run.main(["--geometry", "smoke", "--chapters", "00", "--out", str(tmp_path)]) == 0
    assert "| 00_data |" in capsys.readouterr().out
