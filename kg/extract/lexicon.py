"""The clinical phrase lexicon of extraction, read from ``lexicon.toml`` beside this module.

The longer patterns the area extractors search a letter with, and their finding rule tables,
are data: a reviewer or a developer extends what the extractors recognise by editing the TOML
file (one ``[area]`` section per module of :mod:`kg.extract`), not the code.  Each pattern is
a Python regular expression matched ignoring case, written as a list of pieces joined without
separators; each rule table row is ``kind``, ``pattern`` and ``mode`` (the polarity mode of
:func:`kg.extract.text.assert_polarity`).

The file is read once, the first time a pattern is asked for.

>>> pattern("imaging", "skip").search("the utilization review").group(0)
'utilization review'
>>> rules("imaging", "rules")[0][0]
'red_flag'
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["LEXICON_FILE", "pattern", "patterns", "rules"]

#: the lexicon's data file
LEXICON_FILE = Path(__file__).with_name("lexicon.toml")


@cache
def _lexicon() -> dict[str, Any]:
    """The parsed lexicon file; a broken file raises ValueError naming it."""
    try:
        return tomllib.loads(LEXICON_FILE.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{LEXICON_FILE}: {exc}") from None


def _text(value: str | list[str], where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    raise ValueError(f"{LEXICON_FILE}: {where} must be a string or a list of strings")


def _entry(area: str, name: str) -> Any:
    try:
        return _lexicon()[area][name]
    except KeyError:
        raise KeyError(f"{LEXICON_FILE} has no [{area}] {name}") from None


def pattern(area: str, name: str) -> re.Pattern[str]:
    """The pattern ``name`` of section ``[area]``, compiled ignoring case."""
    return re.compile(_text(_entry(area, name), f"[{area}] {name}"), re.I)


def patterns(area: str, *names: str) -> tuple[re.Pattern[str], ...]:
    """The patterns ``names`` of section ``[area]`` (:func:`pattern` of each), in that order."""
    return tuple(pattern(area, name) for name in names)


def rules(area: str, name: str) -> tuple[tuple[str, str, str], ...]:
    """The rule table ``[[area.name]]`` as ``(kind, regex, mode)`` rows, in the file's order."""
    rows = _entry(area, name)
    if not isinstance(rows, list):
        raise ValueError(f"{LEXICON_FILE}: [[{area}.{name}]] must be a table array")
    return tuple((row["kind"], _text(row["pattern"], f"[[{area}.{name}]] {row['kind']}"), row["mode"])
                 for row in rows)
