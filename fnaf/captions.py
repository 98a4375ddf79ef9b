"""Captions that keep the sample in sight: every table and figure of the book says what one of
its numbers is computed over (the unit), how many there are (N: volumes, slices, boxes,
patches) and where the images came from (the embedded phantom unless ``data_root`` was given).

A chapter counts its sample from the frame a table or figure is computed from
(:func:`sample`), or states it (:class:`Sample`), then shows the table with :func:`captioned`
and the figure with :func:`show_figure`. A table that rests on no images (a mask's geometry, a
list of the released code's departures) says so instead (``sample="…"``).
:func:`caption_problems` finds tables without a caption and figures without one in a cell's
HTML: ``tools/check_html.py`` runs it on the built book and the notebook tests on every smoke
run.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

#: The units a sample is counted in, and the columns that tell one of each apart in a frame.
UNIT_KEYS = {"volume": ["fname"], "slice": ["fname", "slice"], "box": ["fname", "slice", "label"],
             "patch": ["fname", "slice", "row", "col", "size"]}
UNITS = tuple(UNIT_KEYS)


@dataclass(frozen=True)
class Sample:
    """What one number of a table or one point of a figure is computed over (``unit``) and how
    many volumes, slices, boxes and patches stand behind it; ``data_root`` is the fastMRI
    folder they were read from (None: the embedded phantom)."""

    unit: str
    volumes: int
    slices: int | None = None
    boxes: int | None = None
    patches: int | None = None
    data_root: str | None = None

    def __post_init__(self):
        if self.unit not in UNITS:
            raise ValueError(f"Sample unit {self.unit!r}: choose one of {UNITS}")
        counts = {"volumes": self.volumes, "slices": self.slices, "boxes": self.boxes,
                  "patches": self.patches}
        negative = [name for name, count in counts.items() if count is not None and count < 0]
        if negative:
            raise ValueError(f"Sample counts {negative} are negative: count what the table rests "
                             "on")

    def counts(self) -> str:
        """``"4 volumes, 12 slices, 9 boxes"`` (the counts given)."""
        shown = [(self.volumes, "volume"), (self.slices, "slice"), (self.boxes, "box"),
                 (self.patches, "patch")]
        return ", ".join(f"{count} {word if count == 1 else plural(word)}"
                         for count, word in shown if count is not None)

    def text(self, data: bool = True) -> str:
        """``"unit: slice; N = 4 volumes, 12 slices; data: the embedded phantom (…)"`` (without
        the data when ``data`` is false)."""
        counted = f"unit: {self.unit}; N = {self.counts()}"
        return f"{counted}; data: {data_words(self.data_root)}" if data else counted


def data_words(data_root: str | None) -> str:
    """Where the images came from: the embedded phantom, or the fastMRI folder given."""
    return ("the embedded phantom (no data_root given)" if data_root is None
            else f"fastMRI from {data_root}")


def plural(word: str) -> str:
    """``"slice"`` → ``"slices"``, ``"box"`` → ``"boxes"``."""
    return {"box": "boxes", "patch": "patches"}.get(word, word + "s")


def sample(frame: pd.DataFrame, unit: str, data_root: str | None = None) -> Sample:
    """Count the sample of ``frame`` (one row per ``unit`` or finer; its ``fname``, ``slice``
    and the rest may be columns or index levels, ``filename`` stands for ``fname``): volumes
    are its distinct ``fname``; slices its distinct (``fname``, ``slice``), or the sum of a
    per-volume ``slices`` count; boxes its distinct (``fname``, ``slice``, ``label``) when the
    unit is a box; patches its distinct placements (``fname``, ``slice``, ``row``, ``col`` and
    ``size`` where given) when the unit is a patch."""
    if unit not in UNIT_KEYS:
        raise ValueError(f"sample(): unit {unit!r}: choose one of {UNITS}")
    levels = [name for name in frame.index.names if name is not None and name not in frame]
    frame = frame.reset_index(level=levels) if levels else frame
    frame = frame.rename(columns={"filename": "fname"}) if "fname" not in frame else frame
    keys = [key for key in UNIT_KEYS[unit] if key in frame]
    needed = {"volume": ["fname"], "slice": ["fname", "slice"], "box": UNIT_KEYS["box"],
              "patch": ["fname", "slice", "row", "col"]}[unit]
    if missing := [key for key in needed if key not in frame]:
        raise ValueError(f"sample(): the frame has no {missing} (columns: {list(frame.columns)}) "
                         f"to count {plural(unit)} by; pass a frame with one row per {unit} or "
                         "finer, or state the Sample")
    slices = (len(frame[["fname", "slice"]].drop_duplicates()) if "slice" in frame
              else int(frame.drop_duplicates("fname")["slices"].sum()) if "slices" in frame
              else None)  # a per-volume frame carries its slice count
    distinct = len(frame[keys].drop_duplicates())
    return Sample(unit, int(frame["fname"].nunique()), slices,
                  distinct if unit == "box" else None, distinct if unit == "patch" else None,
                  data_root)


def grouped_samples(frame: pd.DataFrame, unit: str, data_root: str | None = None,
                    by: str = "model") -> dict[str, Sample]:
    """One :class:`Sample` per set of ``by`` values (models) scored on the same units of
    ``frame``, named by them: ``{"U-Net, l1": …, "ConvDecoder": …}`` where the ConvDecoder saw
    fewer slices; one entry where every model saw the same."""
    sample(frame, unit, data_root)  # the frame can be counted in this unit
    keys = [key for key in UNIT_KEYS[unit] if key in frame]
    groups: dict[frozenset, list[str]] = {}
    for value, rows in frame.groupby(by, sort=False):
        groups.setdefault(frozenset(map(tuple, rows[keys].astype(str).to_numpy())),
                          []).append(str(value))
    return {", ".join(values): sample(frame[frame[by].astype(str).isin(values)], unit, data_root)
            for values in groups.values()}


def caption_html(what: str, sample: Sample | Mapping[str, Sample] | str) -> str:
    """The caption: ``what``, then the sample (one :class:`Sample`, one per named part such as
    ``{"knee": …, "brain": …}``, or the words saying why no images stand behind it)."""
    if isinstance(sample, str):
        said = f'<span class="fnaf-no-sample">{html.escape(sample)}</span>'
    elif isinstance(sample, Sample):
        said = f'<span class="fnaf-sample">{html.escape(sample.text())}</span>'
    elif isinstance(sample, Mapping) and sample and all(isinstance(part, Sample)
                                                        for part in sample.values()):
        roots = {part.data_root for part in sample.values()}  # one source: said once, last
        said = '<span class="fnaf-sample">' + "; ".join(
            f"{html.escape(name)}: {html.escape(part.text(data=len(roots) > 1))}"
            for name, part in sample.items())
        said += (f"; data: {html.escape(data_words(roots.pop()))}" if len(roots) == 1
                 else "") + "</span>"
    else:
        raise TypeError("caption sample: a Sample, a mapping of names to Samples, or the words "
                        f"saying why no images stand behind it; got {type(sample).__name__}")
    return f'<span class="fnaf-what">{html.escape(what)}</span> {said}'


class Captioned:
    """A table (DataFrame or Styler) shown with a ``<caption>`` (what, unit, N, data)."""

    def __init__(self, table, what: str, sample: Sample | Mapping[str, Sample] | str):
        self.table = table.to_frame() if isinstance(table, pd.Series) else table
        self.caption = caption_html(what, sample)

    def _repr_html_(self) -> str:
        shown = self.table._repr_html_()
        opening = re.search(r"<table\b[^>]*>", shown or "")
        if opening is None or "<caption" in shown:
            raise ValueError("captioned(): the table shows no HTML table, or one with a caption "
                             "of its own (pandas' display.notebook_repr_html off, or a Styler's "
                             "set_caption): say it in captioned's what instead")
        return (shown[:opening.end()] + f'<caption class="fnaf-caption">{self.caption}</caption>'
                + shown[opening.end():])

    def __repr__(self) -> str:
        return f"{html.unescape(re.sub('<[^>]+>', '', self.caption))}\n{self.table!r}"


def captioned(table, what: str, sample: Sample | Mapping[str, Sample] | str) -> Captioned:
    """Show ``table`` with a caption saying ``what`` it is and its ``sample``."""
    return Captioned(table, what, sample)


def show_figure(figure, what: str, sample: Sample | Mapping[str, Sample] | str) -> None:
    """Display ``figure``, then its caption (what, unit, N, data) beneath it, and close it.
    With ``FNAF_CHECK_FIGURES=1`` (the book, the tests) an axis without a label fails here."""
    import matplotlib.pyplot as plt
    from IPython.display import HTML, display

    from fnaf.figure_labels import SWITCH, require_labels

    try:
        if os.environ.get(SWITCH) == "1":
            require_labels([figure])
        display(figure)
    finally:
        plt.close(figure)  # shown or failed, it is not left to the next cell
    display(HTML(f'<p class="fnaf-caption">{caption_html(what, sample)}</p>'))


_TABLE = re.compile(r"<table\b.*?</table>", re.S)
_CAPTION = re.compile(r'<caption class="fnaf-caption">.*?class="fnaf-(?:no-)?sample".*?</caption>',
                      re.S)
_SHOWN = re.compile(r'<img\b|<table\b|<p class="fnaf-caption">(?:(?!<img\b|<table\b).)*?'
                    r'class="fnaf-(?:no-)?sample"', re.S)


def caption_problems(output: str) -> list[str]:
    """What in one cell's output HTML lacks its caption: a table without a ``<caption>`` naming
    its sample, an image not followed by a caption paragraph before the next image or table."""
    problems = [f"a table without a caption of its sample: {_text(table)[:60]!r}"
                for table in _TABLE.findall(output) if not _CAPTION.search(table)]
    shown = [match.group()[:4] for match in _SHOWN.finditer(_TABLE.sub("<table", output))]
    problems += ["a figure without a caption beneath it (fnaf.captions.show_figure)"
                 for position, kind in enumerate(shown)
                 if kind == "<img" and shown[position + 1:position + 2] != ["<p c"]]
    return problems


def _text(fragment: str) -> str:
    return " ".join(re.sub("<[^>]+>", " ", fragment).split())
