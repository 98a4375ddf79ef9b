"""The library's map holds: imports only go down its floors (no circle, nothing low imports
anything high), each of chapters 05-10 has one study module named like its notebook and the
studies import nothing from each other, and every ``fnaf.…`` name the book and the README cite
exists."""

import ast
import importlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: The floors of ``book/library.md``, lowest first: a module imports from its own floor or below.
FLOORS = (
    ("fnaf", "fnaf.mri", "fnaf.io", "fnaf.resume", "fnaf.checks", "fnaf.devices", "fnaf.ranks",
     "fnaf.formatting",
     "fnaf.stats", "fnaf.paper", "fnaf.verdicts", "fnaf.claims", "fnaf.losses", "fnaf.book",
     "fnaf.exercises", "fnaf.figure_labels", "fnaf.captions"),
    ("fnaf.data", "fnaf.metrics", "fnaf.memory"),
    ("fnaf.models", "fnaf.classifier_scores"),
    ("fnaf.untrained", "fnaf.pipelines", "fnaf.evaluation"),
    ("fnaf.attacks", "fnaf.boxes"),
    ("fnaf.objectives", "fnaf.train"),
    ("fnaf.runs", "fnaf.sweeps"),
    ("fnaf.tables", "fnaf.plots", "fnaf.small_feature_readings", "fnaf.audit"),
    ("fnaf.studies",),
    ("fnaf.__main__",),
)
#: Each chapter's notebook and the one study it imports (07 and 08 share the measurement
#: attacks' reading: the same rows, read the same way).
CHAPTER_STUDIES = {
    "03_robust_training": "robust_training", "05_classification": "classification",
    "06_correlation_analysis": "correlation_analysis",
    "07_measurement_attacks": "measurement_attacks", "08_untrained_and_l1": "measurement_attacks",
    "09_distribution_shift": "distribution_shift", "10_small_features": "small_features",
    "released_code": "released_code", "real_fastmri": "real_fastmri", "summary": "summary",
    "start_here": "start_here", "run_times": "run_times",
}


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def floor(module: str) -> int:
    for level, rooms in enumerate(FLOORS):
        if any(module == room or module.startswith(room + ".") for room in rooms if room != "fnaf"):
            return level
    if module == "fnaf":
        return 0
    raise AssertionError(f"{module} is on no floor: add it to FLOORS and to book/library.md")


def imported(source: str, module: str) -> set[str]:
    """The fnaf modules ``source`` imports, at the top or inside functions."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fnaf"):
            if node.module == "fnaf":
                names |= {f"fnaf.{alias.name}" for alias in node.names}
            else:
                names.add(node.module)
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names if alias.name.startswith("fnaf")}
    return names - {module}


def package_imports():
    for path in sorted((ROOT / "fnaf").rglob("*.py")):
        module = module_name(path)
        yield module, imported(path.read_text(), module)


def test_imports_only_go_down_the_floors():
    upward = [f"{module} (floor {floor(module)}) imports {target} (floor {floor(target)})"
              for module, targets in package_imports() for target in targets
              if floor(target) > floor(module)]
    assert not upward


def test_studies_import_nothing_from_each_other():
    crossing = [f"{module} imports {target}" for module, targets in package_imports()
                if module.startswith("fnaf.studies.") for target in targets
                if target.startswith("fnaf.studies")]
    assert not crossing


def test_the_floor_check_catches_an_upward_import():
    assert floor("fnaf.runs.cache") > floor("fnaf.data.masks")
    assert "fnaf.studies.summary" in imported("from fnaf.studies.summary import claims\n",
                                              "fnaf.runs.cache")
    with pytest.raises(AssertionError, match="on no floor"):
        floor("fnaf.somewhere_new")


def notebook_code(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")


@pytest.mark.parametrize("notebook", sorted(CHAPTER_STUDIES))
def test_each_chapter_imports_its_own_study_and_no_other(notebook):
    modules = imported(notebook_code(ROOT / "notebooks" / f"{notebook}.ipynb"), "")
    studies = {module for module in modules if module.startswith("fnaf.studies")}
    assert studies == {f"fnaf.studies.{CHAPTER_STUDIES[notebook]}"}


def test_every_study_module_belongs_to_a_chapter():
    modules = {path.stem for path in (ROOT / "fnaf" / "studies").glob("*.py")} - {"__init__"}
    assert modules == set(CHAPTER_STUDIES.values())


DOTTED = re.compile(r"\bfnaf(?:\.[A-Za-z_]\w*)+")


def resolves(name: str) -> bool:
    parts = name.split(".")
    for split in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            if attribute in getattr(target, "__dataclass_fields__", {}):
                return True  # a field without a default: no class attribute
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


CITING = ["README.md", *sorted(str(path.relative_to(ROOT)) for pattern in (
    "book/*.md", "notebooks/*.ipynb", "fnaf/**/*.py", "tools/*.py", "benchmarks/*.py")
    for path in ROOT.glob(pattern))]


@pytest.mark.parametrize("page", CITING)
def test_every_cited_name_exists(page):
    text = (ROOT / page).read_text()
    missing = sorted({name.rstrip(".") for name in DOTTED.findall(text)
                      if not resolves(name.rstrip("."))})
    assert not missing, f"{page} cites names the package does not have: {missing}"
