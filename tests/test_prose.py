"""No number in the book's prose is typed from a run.

The rule: every number written in a notebook's markdown, in ``book/*.md`` or in the README must
be one the code owns — it occurs in the package's source or its record of the paper
(``fnaf/**/*.py``, ``fnaf/*.json``), in an anchor value a test asserts (``tests/*.py``), or in the
notebook's own code (parameters, constants).
A number measured by a run is in neither, so it must reach the page through a code cell (a printed,
computed sentence or a table) or myst-nb's ``glue``. References (§3.3, eq. 5, Fig. 2, Table 4),
link targets, roles, file names and version pins are not claims and are skipped.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"(?<![\w.])[-−]?(?:\d{1,3}(?:[,_]\d{3})+|\d+)(?:\.\d+)?(?![\w.]*\d)")
SKIPPED = [
    re.compile(r"\]\([^)]*\)"),  # link targets
    re.compile(r"https?://\S+"),
    re.compile(r"\{[\w:-]+\}`[^`]*`"),  # roles: {glue:text}`name`, {cite}`key`
    re.compile(r"(§|\bFigs?\.|\bTables?|\beqs?\.|\bEqs?\.|\bAppendix|\bissue)\s*"
               r"[\d.]+(?:\s*(?:–|-|,|and)\s*[\d.]+)*"),  # references to the paper's parts
    re.compile(r"[\w/.-]*\d[\w/-]*\.(?:ipynb|py|csv|json|pt|md|h5)\b"),  # file names
    re.compile(r"\b\w+==[\d.]+|\b\d+\.\d+\.\d+\b"),  # version pins and versions
]


def numbers_in(text: str) -> set[str]:
    """The numbers a reader sees in ``text``, as canonical strings (``"0.250"`` → ``"0.25"``)."""
    for pattern in SKIPPED:
        text = pattern.sub(" ", text)
    return {canonical(match.group()) for match in NUMBER.finditer(text)}


def canonical(number: str) -> str:
    return repr(float(re.sub(r"[,_−-]", "", number)))


def code_numbers(paths) -> set[str]:
    found = set()
    for path in paths:
        found |= {canonical(match.group()) for match in NUMBER.finditer(path.read_text())}
    return found


ANCHORS = [path for path in ROOT.glob("tests/*.py") if path.name != Path(__file__).name]
PACKAGE = code_numbers([*ROOT.glob("fnaf/**/*.py"), *ROOT.glob("fnaf/*.json"), *ANCHORS])
NOTEBOOKS = sorted(ROOT.glob("notebooks/*.ipynb"))


def test_the_rule_finds_a_typed_run_number_and_skips_references():
    text = "As §3.3 and Figs. 8–9 show (eq. 5, `00_data.ipynb`), SSIM 0.8005 and 12.5 % at 4×."
    assert numbers_in(text) == {"0.8005", "12.5", "4.0"}
    assert numbers_in("{glue:text}`unet_rate` of the slices, torch==2.13.0") == set()
    assert numbers_in("7,756,097 parameters, 1_000 steps, (4, 8)") == {"7756097.0", "1000.0",
                                                                      "4.0", "8.0"}
    assert "0.8005" not in PACKAGE and "0.25" in PACKAGE  # γ is the package's


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_prose_types_no_number_from_a_run(path):
    cells = json.loads(path.read_text())["cells"]
    code = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")
    known = PACKAGE | {canonical(match.group()) for match in NUMBER.finditer(code)}
    typed = {index: sorted(numbers_in("".join(cell["source"])) - known)
             for index, cell in enumerate(cells) if cell["cell_type"] == "markdown"}
    typed = {index: numbers for index, numbers in typed.items() if numbers}
    assert not typed, (f"{path.name}: markdown cells (index: numbers) type numbers that no code "
                       f"owns: {typed}; print or glue them from a code cell")


@pytest.mark.parametrize("path", [*sorted(ROOT.glob("book/*.md")), ROOT / "README.md"],
                         ids=lambda path: path.name)
def test_page_prose_types_no_number_from_a_run(path):
    typed = sorted(numbers_in(path.read_text()) - PACKAGE)
    assert not typed, (f"{path.relative_to(ROOT)} types numbers that no code owns: {typed}; "
                       f"show measurements from fnaf/measurements through a code cell")
