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


def test_the_papers_parts_are_read_from_headings():
    assert check_html.named_parts("Tables 2 and 3") == {"Table 2", "Table 3"}
    assert check_html.named_parts("Correlation analysis (Figs. 6–9)") == {
        "Fig. 6", "Fig. 7", "Fig. 8", "Fig. 9"}
    assert check_html.named_parts("Abnormality classification (Tables 1, 5, 6)") == {
        "Table 1", "Table 5", "Table 6"}
    assert check_html.named_parts("Information preservation (§3.3)") == {"§3.3"}
    assert check_html.named_parts("Training") == set()


def test_every_source_the_summary_names_is_on_its_page_at_each_acceleration(tmp_path, capsys):
    def link(source, af, href="02.html"):
        return f'<a class="fnaf-source" data-af="{af}" href="{href}">{source}</a>'

    (tmp_path / "02.html").write_text("<html><body><h1>Attacks (Table 2, Fig. 2)</h1>"
                                      "<h2>Table 2: attack rate</h2><td>4×</td><td>8×</td>"
                                      "</body></html>")
    (tmp_path / "summary.html").write_text(
        "<html><body><table>" + link("Table 2", "4×") + link("Table 2", "8×")
        + link("Fig. 2", "4×") + link("Fig. 2", "8×") + "</table></body></html>")
    assert check_html.main(str(tmp_path)) == 0
    (tmp_path / "summary.html").write_text(
        "<html><body>" + link("Table 2", "4×") + link("Table 2", "8×") + link("Table 3", "4×")
        + link("Table 3", "8×") + link("Fig. 6", "4×", "06.html") + "</body></html>")
    assert check_html.main(str(tmp_path)) == 1
    printed = capsys.readouterr().out
    assert "Table 3 (4×) is not a heading of 02.html" in printed
    assert "the summary links Fig. 6 to 06.html, which was not built" in printed
    assert "Fig. 6 on 06.html is read at ['4×'], not at every acceleration" in printed
    assert "Table 2 (" not in printed


def test_a_table_or_figure_without_its_caption_is_named(tmp_path, capsys):
    caption = '<span class="fnaf-sample">unit: slice; N = 2 volumes</span>'
    cell = '<div class="cell docutils container"><div class="cell_output docutils container">'
    (tmp_path / "good.html").write_text(
        f'<html><body>{cell}<table><caption class="fnaf-caption">{caption}</caption></table>'
        f'</div></div>{cell}<img src="a.png"/><p class="fnaf-caption">{caption}</p></div></div>'
        '</body></html>')
    assert len(check_html.cell_outputs((tmp_path / "good.html").read_text())) == 2
    assert check_html.main(str(tmp_path)) == 0
    (tmp_path / "bad.html").write_text(f'<html><body><table></table>{cell}<table></table>'
                                       f'</div></div>{cell}<img src="a.png"/></div></div>'
                                       '<section><p>prose</p><table></table></section>'
                                       '</body></html>')
    assert check_html.main(str(tmp_path)) == 1
    printed = capsys.readouterr().out
    assert "bad.html: cell output 1: a table without a caption of its sample" in printed
    assert "bad.html: cell output 2: a figure without a caption beneath it" in printed
    assert printed.count("bad.html") == 2  # a table in the page's prose is not an output
    assert check_html.cell_outputs(f"{cell}<div>a</div>b</div></div><table>") == ["<div>a</div>b"]
