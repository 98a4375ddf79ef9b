"""Rows kept batch by batch as they are computed, so that an interrupted run resumes where it
stopped.

A :class:`BatchRows` file maps each finished batch's position to its rows (JSON, rewritten
atomically after every batch, :func:`fnaf.io.save_json`); under ``torchrun`` each rank keeps its
own (``<path>.rank<r>.json``, the ranks' shares of the batches being fixed,
:func:`fnaf.ranks.my_batches`). A run that finds the file takes the batches it holds instead of
computing them again. The caller names the file after everything the rows depend on: a changed
setting must name another file.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from fnaf.io import load_json, save_json
from fnaf.ranks import rank_world


class BatchRows:
    """The rows of the batches finished so far (``path`` ``None``: kept in memory only)."""

    def __init__(self, path: str | PathLike | None):
        self.path = None if path is None else Path(f"{path}.rank{rank_world()[0]}.json")
        self.rows: dict[int, list] = {}
        if self.path is not None and self.path.exists():
            saved = load_json(self.path, f"delete {self.path} to compute its batches again")
            self.rows = {int(position): rows for position, rows in saved.items()}

    def __contains__(self, position: int) -> bool:
        return position in self.rows

    def __getitem__(self, position: int) -> list:
        return self.rows[position]

    def save(self, position: int, rows: list) -> None:
        """Keep the rows of the batch at ``position`` (and write the file)."""
        self.rows[position] = rows
        if self.path is not None:
            save_json({str(key): value for key, value in self.rows.items()}, self.path)
