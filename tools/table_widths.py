"""List the built book's tables that are wider than the content column at a 1280-px window (a
projector's), measured in headless Chromium.

Usage: ``python tools/table_widths.py _build/html [--width 1280] [--chromium chromium]``;
``make book`` runs it after the build where Chromium is installed (``apt-get install
chromium``; CI installs it) and says so where it is not. Each page is loaded at the window's
width with a script that reports the article's width and every table's (its scroll width:
what it needs, not what is shown). Exits non-zero when a table is wider than the article; a
table's laid-out width depends on the theme's CSS and the browser's line breaking, which is why
it is measured, not estimated.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

#: Injected before ``</body>``: after the page's own scripts ran, writes the article's width and
#: each table's into a ``<pre id="fnaf-widths">`` of the dumped DOM.
MEASURE = """<script>
window.addEventListener("load", () => setTimeout(() => {
  const article = document.querySelector("article.bd-article") || document.querySelector("main");
  const tables = [...document.querySelectorAll("article table, main table")].map(table => ({
    width: Math.round(table.scrollWidth),
    text: (table.innerText || "").replace(/\\s+/g, " ").slice(0, 60)}));
  const out = document.createElement("pre");
  out.id = "fnaf-widths";
  out.textContent = JSON.stringify({article: article ? article.clientWidth : null, tables});
  document.body.appendChild(out);
}, 300));
</script>"""


def measure(page: Path, width: int, chromium: str) -> dict:
    """``{"article": px, "tables": [{"width": px, "text": ...}]}`` of ``page`` at ``width``."""
    with tempfile.NamedTemporaryFile("w", suffix=".html", dir=page.parent, delete=False) as copy:
        copy.write(page.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"))
    try:
        dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                              f"--window-size={width},900", "--virtual-time-budget=5000",
                              "--dump-dom", Path(copy.name).resolve().as_uri()],
                             capture_output=True, text=True, timeout=120).stdout
    finally:
        Path(copy.name).unlink()
    found = re.search(r'<pre id="fnaf-widths"[^>]*>(.*?)</pre>', dom, re.S)
    if not found:
        raise RuntimeError(f"{page}: Chromium returned no measurement")
    return json.loads(found.group(1).replace("&amp;", "&").replace("&lt;", "<")
                      .replace("&gt;", ">"))


def too_wide(measured: dict, slack: int = 2) -> list[dict]:
    """The tables of a page's measurement wider than its article (beyond ``slack`` px)."""
    return [table for table in measured["tables"]
            if measured["article"] is not None and table["width"] > measured["article"] + slack]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, nargs="?", default=Path("_build/html"))
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--chromium", default="chromium")
    args = parser.parse_args(argv)
    pages = sorted(page for page in args.root.rglob("*.html")  # pages, not redirects or the
                   if "</body>" in page.read_text(encoding="utf-8")  # theme's templates
                   and not any(part.startswith("_") for part in page.relative_to(args.root).parts))
    wide = 0
    for page in pages:
        measured = measure(page, args.width, args.chromium)
        for table in too_wide(measured):
            wide += 1
            print(f"{page.relative_to(args.root)}: a table {table['width']} px wide in a "
                  f"{measured['article']}-px column ({table['text']!r})")
    print(f"table_widths: {len(pages)} pages, {wide} tables wider than the column at "
          f"{args.width} px")
    return 1 if wide else 0


if __name__ == "__main__":
    sys.exit(main())
