"""Check the built book's pages: at most one MathJax bundle each, no asset from another host,
no inline script twice, and every source the results summary names present on its page.

Usage: ``python tools/check_html.py _build/html`` (``make book`` runs it). Exits non-zero and
names the page and the tag when a page loads MathJax twice, or loads a script, stylesheet,
image or font from an absolute URL (the book must work offline; links to papers are fine); and
when a summary link (``<a class="fnaf-source" data-af="8×" href="02_fnaf_attacks.html">Table
2</a>``, :func:`fnaf.studies.summary.source_link`) points to a page without that table or
figure in a heading, without its acceleration, or when a source is not read at every
acceleration the summary reads; and when a cell's output shows a table without a caption of its
sample or a figure without one beneath it (:func:`fnaf.captions.caption_problems`: the unit, N
and data of every table and figure).
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path

from fnaf.captions import caption_problems

#: (tag, attribute) pairs that load an asset into the page.
ASSETS = {("script", "src"), ("link", "href"), ("img", "src"), ("source", "src"),
          ("iframe", "src")}
LINK_ASSETS = {"stylesheet", "preload", "icon", "shortcut icon", "modulepreload"}


class AssetParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.assets: list[tuple[str, str]] = []
        self.inline_scripts: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._in_inline_script = tag == "script" and not attrs.get("src")
        if tag == "link" and (attrs.get("rel") or "") not in LINK_ASSETS:
            return  # a hyperlink-like <link> (next, prev, search) loads nothing
        for name, attribute in ASSETS:
            if tag == name and attrs.get(attribute):
                self.assets.append((tag, attrs[attribute]))

    def handle_data(self, data):
        if self._in_inline_script and data.strip():
            self.inline_scripts.append(data.strip())

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_inline_script = False


def page_problems(path: Path) -> list[str]:
    parser = AssetParser()
    parser.feed(path.read_text(encoding="utf-8"))
    problems = [f"{tag} loads {url} from another host" for tag, url in parser.assets
                if url.startswith(("http://", "https://", "//"))]
    mathjax = [url for tag, url in parser.assets if tag == "script" and "mathjax" in url.lower()]
    if len(mathjax) > 1:
        problems.append(f"{len(mathjax)} MathJax scripts (one bundle expected): {mathjax[:3]}")
    repeated = {body for body in parser.inline_scripts if parser.inline_scripts.count(body) > 1}
    problems += [f"inline script repeated (a console error where it declares a const): "
                 f"{body[:60]}" for body in sorted(repeated)]
    return problems


CELL_OUTPUT = re.compile(r'<div class="cell_output[^"]*">')
DIV = re.compile(r"<div\b|</div>")


def cell_outputs(page: str) -> list[str]:
    """The inner HTML of each code cell's output block (up to its own closing ``</div>``)."""
    outputs = []
    for opening in CELL_OUTPUT.finditer(page):
        depth = 1
        for tag in DIV.finditer(page, opening.end()):
            depth += 1 if tag.group() == "<div" else -1
            if depth == 0:
                outputs.append(page[opening.end():tag.start()])
                break
    return outputs


def output_problems(path: Path) -> list[str]:
    """The cell outputs of ``path`` that show a table or figure without its caption."""
    return [f"cell output {number}: {problem}" for number, output
            in enumerate(cell_outputs(path.read_text(encoding="utf-8")), start=1)
            for problem in caption_problems(output)]


class SourceParser(HTMLParser):
    """The summary's source links (href, text, acceleration), the headings and the text."""

    def __init__(self):
        super().__init__()
        self.links: list[tuple[str, str, str]] = []
        self.headings: list[str] = []
        self.text: list[str] = []
        self._open: tuple[str, dict] | None = None
        self._buffer: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("h1", "h2", "h3") or (tag == "a" and "fnaf-source" in (attrs.get("class")
                                                                         or "").split()):
            self._open, self._buffer = (tag, attrs), []

    def handle_data(self, data):
        self.text.append(data)
        if self._open:
            self._buffer.append(data)

    def handle_endtag(self, tag):
        if self._open and tag == self._open[0]:
            text = "".join(self._buffer).strip()
            if tag == "a":
                attrs = self._open[1]
                self.links.append((attrs.get("href", ""), text, attrs.get("data-af", "")))
            else:
                self.headings.append(text)
            self._open = None


REFERENCE = re.compile(r"(Tables?|Figs?\.)\s*(\d+(?:\s*(?:–|-|,|and)\s*\d+)*)|§[\d.]*\d")


def named_parts(text: str) -> set[str]:
    """The paper's tables, figures and sections ``text`` names: ``"Tables 2 and 3"`` →
    ``{"Table 2", "Table 3"}``, ``"Figs. 6–9"`` → ``{"Fig. 6", …, "Fig. 9"}``, ``"§3.3"``."""
    parts = set()
    for match in REFERENCE.finditer(text):
        if match.group().startswith("§"):
            parts.add(match.group())
            continue
        kind = "Table" if match.group(1).startswith("Table") else "Fig."
        numbers = re.findall(r"\d+|–|-", match.group(2))
        for position, token in enumerate(numbers):
            if token.isdigit():
                parts.add(f"{kind} {token}")
            elif 0 < position < len(numbers) - 1:  # a range: the numbers between its ends
                parts |= {f"{kind} {n}" for n in range(int(numbers[position - 1]) + 1,
                                                         int(numbers[position + 1]))}
    return parts


def parse(path: Path) -> SourceParser:
    parser = SourceParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def source_problems(path: Path) -> list[str]:
    """The summary page's links whose table or figure is missing from the linked page."""
    links = parse(path).links
    if not links:
        return []
    problems, targets, accelerations = [], {}, defaultdict(set)
    every = {af for _, _, af in links}
    for href, source, af in links:
        accelerations[href, source].add(af)
        target = path.parent / href
        if not target.is_file():
            problems.append(f"the summary links {source} to {href}, which was not built")
            continue
        page = targets.setdefault(target, parse(target))
        shown = set().union(*map(named_parts, page.headings))
        if not named_parts(source) or not named_parts(source) <= shown:
            problems.append(f"{source} ({af}) is not a heading of {href}")
        if af not in "".join(page.text):
            problems.append(f"{href} shows nothing at {af} ({source})")
    problems += [f"{source} on {href} is read at {sorted(found)}, not at every acceleration "
                 f"{sorted(every)}" for (href, source), found in accelerations.items()
                 if found != every]
    return sorted(set(problems))


def main(root: str) -> int:
    pages = sorted(Path(root).rglob("*.html"))
    if not pages:
        print(f"check_html: no HTML pages under {root}; build the book first (make book)")
        return 1
    failures = {page: problems for page in pages
                if (problems := page_problems(page) + source_problems(page)
                                 + output_problems(page))}
    for page, problems in failures.items():
        for problem in problems:
            print(f"{page}: {problem}")
    print(f"check_html: {len(pages)} pages, {len(failures)} with problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "_build/html"))
