"""Check the built book's pages: at most one MathJax bundle each, no asset from another host,
no inline script twice.

Usage: ``python tools/check_html.py _build/html`` (``make book`` runs it). Exits non-zero and
names the page and the tag when a page loads MathJax twice, or loads a script, stylesheet,
image or font from an absolute URL (the book must work offline; links to papers are fine).
"""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path

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


def main(root: str) -> int:
    pages = sorted(Path(root).rglob("*.html"))
    if not pages:
        print(f"check_html: no HTML pages under {root}; build the book first (make book)")
        return 1
    failures = {page: problems for page in pages if (problems := page_problems(page))}
    for page, problems in failures.items():
        for problem in problems:
            print(f"{page}: {problem}")
    print(f"check_html: {len(pages)} pages, {len(failures)} with problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "_build/html"))
