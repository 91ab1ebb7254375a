"""The clinical phrase lexicon of extraction, read from ``lexicon.toml`` beside this module.

The longer patterns the area extractors search a letter with, and their finding rule tables,
are data: a reviewer or a developer extends what the extractors recognise by editing the TOML
file (one ``[area]`` section per module of :mod:`kg.extract`), not the code.  Each pattern is
a Python regular expression matched ignoring case, written as a list of pieces joined without
separators; each rule table row is ``kind``, ``pattern`` and ``mode`` (the polarity mode of
:func:`kg.extract.text.assert_polarity`).

The file is read once, the first time a pattern is asked for; the area modules hold their
patterns as :class:`LazyPattern` and their rule tables as :class:`LazyMentions`, which compile on
first use, so importing an extractor reads nothing.

>>> pattern("imaging", "skip").search("the utilization review").group(0)
'utilization review'
>>> rules("imaging", "rules")[0][0]
'red_flag'
>>> skip = LazyPattern("imaging", "skip")
>>> skip.search("the utilization review").group(0)
'utilization review'
>>> kind, rx, mode = next(iter(LazyMentions("imaging", "rules")))
>>> kind, rx.pattern[:12], mode
('red_flag', '\\\\b(?:fractur', 'sign')
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Callable, Iterator
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from kg.extract import sieve

__all__ = ["LEXICON_FILE", "LazyMentions", "LazyPattern", "lazy_patterns", "pattern", "rules"]

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
    return sieve.compile(_text(_entry(area, name), f"[{area}] {name}"), re.I)


def rules(area: str, name: str) -> tuple[tuple[str, str, str], ...]:
    """The rule table ``[[area.name]]`` as ``(kind, regex, mode)`` rows, in the file's order."""
    rows = _entry(area, name)
    if not isinstance(rows, list):
        raise ValueError(f"{LEXICON_FILE}: [[{area}.{name}]] must be a table array")
    return tuple((row["kind"], _text(row["pattern"], f"[[{area}.{name}]] {row['kind']}"), row["mode"])
                 for row in rows)


class LazyPattern:
    """The pattern ``name`` of section ``[area]``, compiled (the file read if need be) the first time
    it is matched; it answers the :class:`re.Pattern` methods the extractors use.

    The first call compiles the pattern and puts the compiled pattern's own bound methods on the
    instance, where they shadow this class's: later calls cost what a compiled pattern's do.
    """

    def __init__(self, area: str, name: str) -> None:
        self.area, self.name = area, name

    def __repr__(self) -> str:
        return f"LazyPattern({self.area!r}, {self.name!r})"

    @cached_property
    def compiled(self) -> re.Pattern[str]:
        """The compiled pattern (:func:`pattern`)."""
        rx = pattern(self.area, self.name)
        for method in ("search", "match", "finditer", "split", "sub"):
            setattr(self, method, getattr(rx, method))
        return rx

    def search(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled.search(string, pos, endpos)

    def match(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled.match(string, pos, endpos)

    def finditer(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> Iterator[re.Match[str]]:
        return self.compiled.finditer(string, pos, endpos)

    def split(self, string: str, maxsplit: int = 0) -> list[str | Any]:
        return self.compiled.split(string, maxsplit)

    def sub(self, repl: str | Callable[[re.Match[str]], str], string: str, count: int = 0) -> str:
        return self.compiled.sub(repl, string, count)


def lazy_patterns(area: str, *names: str) -> tuple[LazyPattern, ...]:
    """A :class:`LazyPattern` for each of ``names`` of section ``[area]``, in that order."""
    return tuple(LazyPattern(area, name) for name in names)


class LazyMentions:
    """The rule table ``[[area.name]]`` as mention rules ``(kind, compiled regex, mode)``, compiled
    the first time it is iterated: each regex ignoring case and anchored at a word start."""

    def __init__(self, area: str, name: str) -> None:
        self.area, self.name = area, name

    def __repr__(self) -> str:
        return f"LazyMentions({self.area!r}, {self.name!r})"

    @cached_property
    def compiled(self) -> tuple[tuple[str, re.Pattern[str], str], ...]:
        """The compiled rows, in the file's order."""
        return tuple((kind, sieve.compile(rf"\b(?:{rx})", re.I), mode)
                     for kind, rx, mode in rules(self.area, self.name))

    def __iter__(self) -> Iterator[tuple[str, re.Pattern[str], str]]:
        return iter(self.compiled)
