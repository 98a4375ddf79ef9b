"""tools/execute_book.py: lanes executed side by side into the cache myst-nb reads, the
summary after them, failures named, and every chapter of the table of contents in a lane."""

import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_cache import get_cache

from fnaf.book import wall_seconds

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import execute_book  # noqa: E402


def test_every_chapter_of_the_toc_is_in_exactly_one_lane():
    execute_book.check_lanes(execute_book.toc_notebooks(ROOT / "_toc.yml"))


@pytest.mark.parametrize("lanes, last, words", [
    ((("a",), ("b",)), ("c",), "not in a lane ['d']"),
    ((("a", "b"), ("b",)), ("c", "d"), "in two ['b']"),
    ((("a", "b"), ("e",)), ("c", "d"), "not in _toc.yml ['e']"),
])
def test_a_chapter_left_out_or_placed_twice_is_named(lanes, last, words):
    with pytest.raises(ValueError, match="LANES") as error:
        execute_book.check_lanes({"a", "b", "c", "d"}, lanes, last)
    assert words in str(error.value)


def _notebook(path: Path, source: str) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(source)]
    nbformat.write(notebook, path)


@pytest.mark.slow
def test_lanes_fill_the_cache_myst_nb_matches_and_a_failure_is_named(tmp_path, capsys):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for name, source in (("first", "import os; print(os.environ['OMP_NUM_THREADS'])"),
                         ("second", "print(2)"), ("third", "print(3)")):
        _notebook(notebooks / f"{name}.ipynb", source)
    cache = tmp_path / "cache"
    rows = execute_book.execute_lane(["first", "second"], notebooks, cache, "lane 1", 60)
    assert [(name, error) for name, _, error in rows] == [("first", None), ("second", None)]
    matched = get_cache(str(cache)).match_cache_notebook(
        nbformat.read(notebooks / "second.ipynb", as_version=4))  # what myst-nb looks up
    assert matched.data["lane"] == "lane 1" and matched.data["execution_seconds"] > 0
    again = execute_book.execute_lane(["first"], notebooks, cache, "lane 1", 60)
    assert again == [("first", 0.0, None)] and "first: cached" in capsys.readouterr().out

    _notebook(notebooks / "broken.ipynb", "raise RuntimeError('on purpose')")
    rows = execute_book.execute_lane(["broken", "third"], notebooks, cache, None, 60)
    assert len(rows) == 1 and rows[0][1] is None and "on purpose" in rows[0][2]  # stops there
    with pytest.raises(KeyError):
        get_cache(str(cache)).match_cache_notebook(
            nbformat.read(notebooks / "broken.ipynb", as_version=4))


@pytest.mark.slow
def test_two_lanes_side_by_side_on_a_fresh_cache_then_the_summary(tmp_path, monkeypatch):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for name in "abcd":
        _notebook(notebooks / f"{name}.ipynb", f"print({name!r})")
    toc = tmp_path / "_toc.yml"
    toc.write_text("root: intro\nchapters:\n" + "".join(f"  - file: notebooks/{name}\n"
                                                        for name in "abcd"))
    monkeypatch.setattr(execute_book, "LANES", (("a", "b"), ("c",)))
    monkeypatch.setattr(execute_book, "LAST", ("d",))
    cache = tmp_path / "cache"
    assert execute_book.main(["--cache", str(cache), "--notebooks", str(notebooks),
                              "--toc", str(toc), "--threads", "2"]) == 0
    lanes = {name: get_cache(str(cache)).match_cache_notebook(
        nbformat.read(notebooks / f"{name}.ipynb", as_version=4)).data["lane"] for name in "abcd"}
    assert lanes == {"a": "lane 1", "b": "lane 1", "c": "lane 2", "d": None}


def test_the_wall_time_is_the_longest_lane_plus_what_ran_alone():
    rows = [("a", 10.0, "", "lane 1"), ("b", 5.0, "", "lane 1"), ("c", 12.0, "", "lane 2"),
            ("s", 2.0, "", None)]
    assert wall_seconds(rows) == 17.0
    assert wall_seconds([("a", 3.0, "", None), ("b", 4.0, "", None)]) == 7.0
