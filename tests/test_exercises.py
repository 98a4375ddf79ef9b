"""The chapters' exercises (``book/exercises.yml``): each page that has some shows them, their
parameters are the page's, and every command runs at smoke exactly as printed."""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fnaf.exercises import EXERCISES, command, exercises, page_exercises

ROOT = Path(__file__).resolve().parents[1]
ALL = yaml.safe_load(EXERCISES.read_text())


def parameters_cell(page: str) -> str:
    cells = json.loads((ROOT / "notebooks" / f"{page}.ipynb").read_text())["cells"]
    return next("".join(cell["source"]) for cell in cells
                if "parameters" in cell["metadata"].get("tags", []))


def test_the_command_is_papermills():
    assert command("07_measurement_attacks", {"norm": "full", "eps": [0.08, 0.16]}) == (
        "papermill notebooks/07_measurement_attacks.ipynb out.ipynb -p norm full "
        "-y 'eps: [0.08, 0.16]'")
    with pytest.raises(ValueError, match="no exercises for 'nowhere'"):
        page_exercises("nowhere")


def test_an_exercise_shows_its_recorded_time_or_says_it_has_none(tmp_path):
    record = tmp_path / "times.json"
    record.write_text(json.dumps({"seconds": {"02_fnaf_attacks": {"A bigger feature": 90.0}},
                                  "date": "2026-12-07", "cores": 2}))
    shown = exercises("02_fnaf_attacks", times=record).data
    assert "1.5 min on the book's machine (2 cores" in shown
    assert "not timed yet" in shown  # the second exercise
    assert shown.count("papermill notebooks/02_fnaf_attacks.ipynb") == len(ALL["02_fnaf_attacks"])
    record.write_text(json.dumps({"seconds": {"02_fnaf_attacks": {"A bigger feature": 90.0}},
                                  "date": "2026-12-07", "cores": 2, "note": "beside other work"}))
    assert "(2 cores, caches filled, 2026-12-07, beside other work)" in exercises(
        "02_fnaf_attacks", times=record).data


@pytest.mark.parametrize("page", sorted(ALL))
def test_each_page_shows_its_exercises_and_they_set_its_parameters(page):
    cells = json.loads((ROOT / "notebooks" / f"{page}.ipynb").read_text())["cells"]
    assert any(f'exercises("{page}")' in "".join(cell["source"]) for cell in cells)
    assert 2 <= len(ALL[page]) <= 4
    names = {line.split("=")[0].strip() for line in parameters_cell(page).splitlines()
             if "=" in line and not line.startswith(("#", " "))}
    for exercise in ALL[page]:
        assert set(exercise["parameters"]) <= names, (page, exercise["title"])
        assert exercise["look_for"] and exercise["title"]


@pytest.mark.slow
@pytest.mark.parametrize("page, index", [(page, index) for page in sorted(ALL)
                                          for index in range(len(ALL[page]))])
def test_every_exercise_command_runs_at_smoke(page, index, tmp_path):
    exercise = ALL[page][index]
    arguments = shlex.split(command(page, exercise["parameters"]))
    arguments[2] = str(tmp_path / "out.ipynb")  # papermill IN OUT: the output goes to tmp
    smoke = ["-p", "scale", "smoke", "-p", "results_dir", str(tmp_path / "results")]
    if "runs_root" in parameters_cell(page):
        smoke += ["-p", "runs_root", str(tmp_path / "runs")]
    env = {**os.environ, "FNAF_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "papermill", *arguments[1:], *smoke,
                             "--cwd", str(ROOT / "notebooks"), "--no-progress-bar"],
                            cwd=ROOT, env=env, timeout=900, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(arguments)}:\n{result.stderr[-3000:]}"
