"""Same parameters, same book (nbval): a chapter executed by papermill is executed again under
``pytest --nbval`` in a fresh cache and every output compared with the first execution's, with
the sanitisers of ``tests/data/nbval_sanitize.cfg`` (temporary paths, pandas' styler ids, object
addresses). A cell whose output is a time (the training-time table) carries the
``nbval-ignore-output`` tag, and so do the cells that draw figures (see :func:`ignore_figures`).
A table or printed number that changes between two executions fails."""

import json
import os
import subprocess
import sys
from pathlib import Path

import papermill
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SANITIZE = Path(__file__).resolve().parent / "data" / "nbval_sanitize.cfg"
CHAPTERS = {"00_data.ipynb": dict(train_volumes=3, val_volumes=2, slices=3),
            "01_baselines.ipynb": dict(model="unet", scale="smoke")}
pytestmark = [pytest.mark.notebook, pytest.mark.slow]


def executed(name: str, tmp_path: Path, monkeypatch) -> Path:
    """``name`` executed at its parameters, with its caches under ``tmp_path/first``."""
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "first"))
    path = tmp_path / name
    papermill.execute_notebook(str(NOTEBOOKS / name), str(path), progress_bar=False,
                               kernel_name="python3", parameters={
                                   **CHAPTERS[name], "results_dir": str(tmp_path / "results")})
    return path


def ignore_figures(notebook: Path) -> None:
    """Tag the cells that draw a figure ``nbval-ignore-output``: nbval skips the images but
    compares their ``<Figure ...>`` text, which a second kernel emits a different number of
    times; the figures' numbers are in the chapters' tables, which are compared."""
    content = json.loads(notebook.read_text())
    for cell in content["cells"]:
        if any("image/png" in output.get("data", {}) for output in cell.get("outputs", [])):
            tags = cell.setdefault("metadata", {}).setdefault("tags", [])
            tags.append("nbval-ignore-output")
    notebook.write_text(json.dumps(content))


def nbval(notebook: Path, cache: Path) -> subprocess.CompletedProcess:
    """``pytest --nbval`` of the executed ``notebook`` in a fresh ``cache``."""
    ignore_figures(notebook)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", str(notebook), "--nbval-sanitize-with",
         str(SANITIZE), "-p", "no:cacheprovider", "-p", "no:xdist", "-o", "addopts=", "-q"],
        env={**os.environ, "FNAF_CACHE": str(cache)}, cwd=notebook.parent,
        capture_output=True, text=True)


@pytest.mark.parametrize("name", CHAPTERS)
def test_a_second_execution_gives_the_same_outputs(name, tmp_path, monkeypatch):
    notebook = executed(name, tmp_path, monkeypatch)
    done = nbval(notebook, tmp_path / "second")
    assert done.returncode == 0, done.stdout[-4000:]
    assert (tmp_path / "second").is_dir()  # computed again, not read from the first cache


def test_a_changed_number_fails(tmp_path, monkeypatch):
    notebook = executed("00_data.ipynb", tmp_path, monkeypatch)
    content = json.loads(notebook.read_text())
    tables = [output["data"] for cell in content["cells"] for output in cell.get("outputs", [])
              if "<table" in "".join(output.get("data", {}).get("text/html", ""))]
    html = "".join(tables[0]["text/html"])
    digit = next(i for i, ch in enumerate(html) if ch.isdigit() and html[i - 1] == ">")
    tables[0]["text/html"] = html[:digit] + str((int(html[digit]) + 1) % 10) + html[digit + 1:]
    notebook.write_text(json.dumps(content))
    done = nbval(notebook, tmp_path / "second")
    assert done.returncode != 0 and "1 failed" in done.stdout, done.stdout[-2000:]
