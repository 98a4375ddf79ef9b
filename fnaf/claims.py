"""The claims register: every claim of the two papers, as data (``fnaf/claims.yaml``).

One entry per claim: where the paper makes it, its words, the quantity, the paper's value and
direction, the paper's own test (or "no test"), the chapter and table that measure ours, and the
rule of :mod:`fnaf.verdicts` that reads ours against it. ``phantom`` (optional) says why the claim
is not comparable on the embedded phantom; ``note`` (optional) says anything else a reader needs.
The results summary (:mod:`fnaf.studies.summary`) takes its claims' words from here.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path

import yaml

from fnaf import verdicts

REGISTER = Path(__file__).with_name("claims.yaml")

#: The register's papers, in the summary's order, and their short names.
PAPERS = {"fnaf": "FNAF", "robustness": "Measuring robustness"}

#: The reading rules: the functions of :mod:`fnaf.verdicts` named ``*_verdict``.
RULES = frozenset(name for name in dir(verdicts) if name.endswith("_verdict"))


class RegisterError(ValueError):
    """The claims register is malformed: the message names the entry and the field."""


@dataclass(frozen=True)
class Claim:
    """One claim of one paper (the fields of ``fnaf/claims.yaml``)."""

    id: str
    paper: str
    source: str
    claim: str
    quote: str
    quantity: str
    value: str
    direction: str
    test: str
    rule: str
    chapter: str | None = None
    table: str | None = None
    phantom: str | None = None
    note: str | None = None


#: The fields every entry fills (the others are optional).
REQUIRED = tuple(field.name for field in fields(Claim) if field.default is not None)


def _claim(entry: dict, position: int) -> Claim:
    if not isinstance(entry, dict):
        raise RegisterError(f"entry {position}: an entry is a mapping of fields")
    name = entry.get("id", f"entry {position}")
    unknown = set(entry) - {field.name for field in fields(Claim)}
    missing = [key for key in REQUIRED if not entry.get(key)]
    if unknown or missing:
        raise RegisterError(f"{name}: unknown fields {sorted(unknown)}, missing {missing}")
    claim = Claim(**{key: str(value) if value is not None else None
                     for key, value in entry.items()})
    if claim.paper not in PAPERS:
        raise RegisterError(f"{name}: paper {claim.paper!r} is not one of {list(PAPERS)}")
    if claim.rule not in RULES:
        raise RegisterError(f"{name}: rule {claim.rule!r} is not in fnaf.verdicts "
                            f"({sorted(RULES)})")
    if claim.rule != "unmeasured_verdict" and not (claim.chapter and claim.table):
        raise RegisterError(f"{name}: a measured claim names the chapter and table of ours")
    return claim


def read_claims(path: str | Path = REGISTER) -> dict[str, Claim]:
    """The register at ``path``, validated, by id (in the file's order). Raises
    :class:`RegisterError` naming the entry: a missing or unknown field, an unknown paper or
    rule, a measured claim without its chapter and table, an id or claim text used twice."""
    entries = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(entries, list):
        raise RegisterError(f"{path}: the register is a list of entries")
    register = {}
    for position, entry in enumerate(entries):
        claim = _claim(entry, position)
        if claim.id in register:
            raise RegisterError(f"{claim.id}: the id is used twice")
        register[claim.id] = claim
    texts = [claim.claim for claim in register.values()]
    twice = sorted({text for text in texts if texts.count(text) > 1})
    if twice:
        raise RegisterError(f"claim texts used twice: {twice}")
    return register


@cache
def claims_register() -> dict[str, Claim]:
    """The package's register (``fnaf/claims.yaml``), read once."""
    return read_claims()
