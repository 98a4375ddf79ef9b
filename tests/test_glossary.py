"""The glossary (``book/glossary.md``): every ``{term}`` reference names one of its terms, and
in every chapter the first use of a term in prose links to it."""

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "book" / "glossary.md"
#: How the chapters' prose names each glossary term (the first match must be a link).
ALIASES = {
    "acceleration": r"\baccelerations?\b",
    "accuracy on the line": r"\baccuracy on the line\b",
    "ACS": r"\bACS\b",
    "APGD": r"\bAPGD\b",
    "B-Box": r"\bB-Box\b",
    "centre fraction": r"\bcent(?:re|er) fractions?\b",
    "claim file": r"\bclaim files?\b",
    "cluster bootstrap": r"\bcluster bootstrap\b",
    "coil noise": r"\bcoil noise\b",
    "data consistency": r"\bdata[- ]consistency\b",
    "ε": r"ε",
    "ESC target": r"\bESC\b",
    "FNAF": r"\bFNAFs?\b",
    "fastMRI-A": r"\bfastMRI-A\b",
    "γ": r"γ",
    "McNemar test": r"\bMcNemar(?:'s)?\b",
    "PGD": r"\bPGD\b",
    "phantom": r"\bphantoms?\b",
    "region T": r"\bregions? T\b",
    "RSS target": r"\bRSS\b|\broot-sum-of-squares\b",
    "SSIM": r"\bSSIM\b",
    "two-step attack": r"\btwo-step attack\b",
    "un-trained network": r"\bun-trained\b",
    "Wilson interval": r"\bWilson\b",
    "worst case": r"\bworst case\b",
    "zero-filled": r"\bzero-fill(?:ed|ing)\b",
}
ROLE = re.compile(r"\{term\}`([^`<]*?)(?:\s*<([^>`]+)>)?`")
#: What is not prose: roles (the glossary's are kept), code, math, links, headings, comments.
NOT_PROSE = re.compile(r"\{[\w:-]+\}`[^`]*`|```.*?```|`[^`]*`|\$\$.*?\$\$|\$[^$\n]+\$"
                       r"|\[[^\]\n]*\]\([^)]*\)|<!--.*?-->|^#[^\n]*$", re.S | re.M)
CHAPTERS = [path for path in sorted((ROOT / "notebooks").glob("*.ipynb"))
            if f"notebooks/{path.stem}" in (ROOT / "_toc.yml").read_text()]


def glossary_terms() -> list[str]:
    """The terms of the glossary block, in its order."""
    block = GLOSSARY.read_text().split(":::{glossary}")[1].split(":::")[0]
    return [line.strip() for line in block.splitlines() if line and not line[0].isspace()]


def markdown(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return "\n\n".join("".join(cell["source"]) for cell in cells
                       if cell["cell_type"] == "markdown")


def prose(text: str) -> str:
    """``text`` with what is not prose blanked (same length, so positions hold); the glossary's
    own roles are kept."""
    def blank(match):
        return match.group() if ROLE.fullmatch(match.group()) else " " * len(match.group())
    return NOT_PROSE.sub(blank, text)


def unlinked_first_uses(text: str) -> list[str]:
    """The terms whose first use in ``text`` is not a ``{term}`` link."""
    text = prose(text)
    linked = {}
    for match in ROLE.finditer(text):
        linked.setdefault(match.group(2) or match.group(1), match.start())
    roles = [match.span() for match in ROLE.finditer(text)]
    missing = []
    for term, alias in ALIASES.items():
        uses = [match.start() for match in re.finditer(alias, text)
                if not any(start <= match.start() < end for start, end in roles)]
        if uses and (term not in linked or uses[0] < linked[term]):
            missing.append(term)
    return missing


def test_the_aliases_name_the_glossarys_terms_and_the_page_is_in_the_book():
    assert set(ALIASES) == set(glossary_terms())
    assert glossary_terms() == sorted(glossary_terms(), key=lambda term: term.lower()
                                      .replace("ε", "e").replace("γ", "g"))
    assert "book/glossary" in yaml.safe_load((ROOT / "_toc.yml").read_text()).__repr__()


def test_the_check_finds_an_unlinked_first_use_and_skips_code_and_math():
    assert unlinked_first_uses("An FNAF, then {term}`FNAF`.") == ["FNAF"]
    assert unlinked_first_uses("A {term}`FNAF <FNAF>`, then an FNAF.") == []
    assert unlinked_first_uses("`FNAF` in code, $\\varepsilon$ and ε in math: $ε$") == ["ε"]
    assert unlinked_first_uses("# FNAF attacks\n\nNo term here.") == []


@pytest.mark.parametrize("page", [*CHAPTERS, *sorted((ROOT / "book").glob("*.md"))],
                         ids=lambda path: path.name)
def test_every_term_reference_is_defined_and_every_first_use_is_linked(page):
    text = markdown(page) if page.suffix == ".ipynb" else page.read_text()
    for match in ROLE.finditer(text):
        target = match.group(2) or match.group(1)
        assert target in glossary_terms(), f"{page.name}: {{term}}`{target}` is not in the glossary"
    if page.suffix == ".ipynb":
        assert unlinked_first_uses(text) == [], (
            f"{page.name}: link the first use of each term to the glossary ({{term}}`...`)")
