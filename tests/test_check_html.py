"""The built-book checker finds duplicated MathJax and assets from other hosts."""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "check_html", Path(__file__).resolve().parents[1] / "tools" / "check_html.py")
check_html = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_html)


def page(tmp_path, name, body):
    path = tmp_path / name
    path.write_text(f"<html><head>{body}</head><body></body></html>")
    return path


def test_a_clean_page_passes_and_bad_pages_are_named(tmp_path, capsys):
    page(tmp_path, "good.html", '<script src="_static/mathjax/tex-chtml.js"></script>'
         '<link rel="stylesheet" href="_static/book.css"><link rel="next" href="https://x.org">'
         '<a href="https://arxiv.org/abs/1811.08839">paper</a>')
    assert check_html.main(str(tmp_path)) == 0
    page(tmp_path, "twice.html", '<script src="_static/mathjax/tex-chtml.js"></script>'
         '<script src="_static/mathjax/tex-svg-full.js"></script>')
    page(tmp_path, "thebe.html", '<script>const THEBE_JS_URL = "x";</script>'
         '<script>const THEBE_JS_URL = "x";</script>')
    page(tmp_path, "cdn.html", '<script src="https://cdn.jsdelivr.net/npm/mathjax@3"></script>'
         '<link rel="stylesheet" href="//fonts.example.com/a.css">')
    assert check_html.main(str(tmp_path)) == 1
    printed = capsys.readouterr().out
    assert "twice.html: 2 MathJax scripts" in printed
    assert ("cdn.html: script loads https://cdn.jsdelivr.net/npm/mathjax@3 "
            "from another host") in printed
    assert "cdn.html: link loads //fonts.example.com/a.css" in printed
    assert "thebe.html: inline script repeated" in printed
    assert "good.html" not in printed


def test_an_empty_build_is_an_error(tmp_path):
    assert check_html.main(str(tmp_path)) == 1
