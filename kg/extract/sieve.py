"""Regexes behind a literal sieve: a pattern is tried only on text that holds one of the literals
every match of it contains.

Most of the extractors' patterns are alternations of words matched ignoring case
(``\\bMRI\\b|magnetic resonance imaging``), run over every sentence of a letter; Python's ``re``
finds no literal prefix in such a pattern, so it tries the whole alternation at each position of
the text, and most sentences hold none of the words.  :func:`compile` reads from the parsed
pattern a set of literals one of which any match must contain (:func:`required_literals`) and
answers ``search``, ``match``, ``finditer`` ... at once, with no match, when the text holds none of
them (``str.find``, a few hundred times faster than the regex's scan); otherwise the compiled
pattern runs as it is.  The answers are those of the plain pattern, always: a pattern matched
ignoring case is sieved only over ASCII text (where ignoring case is ``str.lower`` equality) and only
by ASCII literals; a group that changes the case flag, a lookaround, a back reference or
anything else the sieve does not read gives no literal, and a pattern with no required literal
(or too many) is returned unsieved.

The module functions (:func:`search`, :func:`sub` ...) are ``re``'s, over patterns compiled here
(cached, like ``re``'s own).

>>> rx = compile(r"\\bMRI\\b|magnetic resonance imaging", re.I)
>>> required_literals(r"\\bMRI\\b|magnetic resonance imaging", re.I)
('magnetic resonance imaging', 'mri')
>>> rx.search("no imaging") is None, rx.search("an mri of the knee").group()
(True, 'mri')
>>> search(r"x-?rays?", "X-rays were taken", re.I).group()
'X-rays'
"""

from __future__ import annotations

import functools
import re
import sys
from typing import Any, Callable, Iterator, cast

__all__ = ["compile", "required_literals", "search", "match", "fullmatch", "finditer", "findall", "sub", "split"]

#: a pattern needing more literals than this is not sieved (the checks would cost what the scan does)
MAX_LITERALS = 64

_Repl = str | Callable[[re.Match[str]], str]


def _better(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    """Of two literal sets (each: a match holds one of them), the more selective."""
    if a is None or b is None:
        return a if b is None else b
    la, lb = min(map(len, a)), min(map(len, b))
    return a if (la, -len(a)) >= (lb, -len(b)) else b


def _sequence(items: Any) -> frozenset[str] | None:
    """A set of literals one of which every match of the parsed sequence ``items`` contains, or None."""
    from re import _constants as c  # type: ignore[attr-defined]  # the parser's opcodes

    best: frozenset[str] | None = None
    run: list[str] = []
    for op, av in items:
        if op is c.LITERAL:
            run.append(chr(av))
            continue
        if run:  # a run of literals next to each other in every match
            best = _better(best, frozenset(["".join(run)]))
            run = []
        if op is c.SUBPATTERN:
            _group, add, remove, sub = av
            if not (add | remove) & re.IGNORECASE:  # a group that changes the case flag says nothing
                best = _better(best, _sequence(sub))
        elif op is c.BRANCH:
            alternatives = [_sequence(b) for b in av[1]]
            if alternatives and all(a is not None for a in alternatives):
                best = _better(best, frozenset().union(*cast(list[frozenset[str]], alternatives)))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT) and av[0] >= 1:
            best = _better(best, _sequence(av[2]))
        elif op is c.ATOMIC_GROUP:
            best = _better(best, _sequence(av))
    if run:
        best = _better(best, frozenset(["".join(run)]))
    return best


def required_literals(pattern: str, flags: int = 0) -> tuple[str, ...] | None:
    """Literals one of which every match of ``pattern`` contains (lower case when it is matched
    ignoring case), sorted; None when the sieve reads none, or more than :data:`MAX_LITERALS`.

    >>> required_literals(r"(?:treatments?|therapy)\\s+(?:to date\\s+)?", re.I)
    ('herapy', 'reatment')
    >>> required_literals(r"\\d+ mg") , required_literals(r"[a-z]+")
    ((' mg',), None)
    """
    compiled = re.compile(pattern, flags)
    try:
        from re import _parser as p  # type: ignore[attr-defined]

        found = _sequence(p.parse(pattern, compiled.flags).data)
    except Exception:  # noqa: BLE001 - a form the parser of this Python reads otherwise: no sieve
        return None
    if not found or len(found) > MAX_LITERALS or "" in found:
        return None
    if compiled.flags & re.IGNORECASE:
        if not all(lit.isascii() for lit in found):
            return None
        found = frozenset(lit.lower() for lit in found)
    return tuple(sorted(found))


_last = ["", ""]  # the text last lowered (by identity) and its lower case ("" for non-ASCII text)

#: up to this many literals are looked for one by one (``in``); more, with one regex of them all
_ONE_BY_ONE = 12


class SievedPattern:
    """A compiled pattern that first looks for one of its required literals; it answers the
    :class:`re.Pattern` methods (with the same arguments and results) and attributes."""

    __slots__ = ("compiled", "literals", "_fold", "_probe", "pattern", "flags", "groups", "groupindex")

    def __init__(self, compiled: re.Pattern[str], literals: tuple[str, ...]) -> None:
        self.compiled, self.literals = compiled, literals
        self._fold = bool(compiled.flags & re.IGNORECASE)
        # many literals: one alternation of them, matched with case (its first characters make a
        # set the scan skips by, which an alternation matched ignoring case does not get)
        self._probe = re.compile("|".join(map(re.escape, literals))) if len(literals) > _ONE_BY_ONE else None
        self.pattern, self.flags = compiled.pattern, compiled.flags
        self.groups, self.groupindex = compiled.groups, compiled.groupindex

    def __repr__(self) -> str:
        return repr(self.compiled)

    def holds(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> bool:
        """Whether ``text[pos:endpos]`` holds one of the literals (False: the pattern cannot match there)."""
        if self._fold:
            if text is not _last[0]:
                _last[1] = text.lower() if text.isascii() else ""
                _last[0] = text
            if not _last[1] and text:
                return True  # not ASCII: ignoring case is more than str.lower, the pattern decides
            text = _last[1]
        if pos > 0 or endpos < len(text):
            text = text[max(pos, 0):max(endpos, 0)]  # re reads a negative position as 0
        if self._probe is not None:
            return self._probe.search(text) is not None
        for literal in self.literals:
            if literal in text:
                return True
        return False

    def search(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled.search(string, pos, endpos) if self.holds(string, pos, endpos) else None

    def match(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled.match(string, pos, endpos) if self.holds(string, pos, endpos) else None

    def fullmatch(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled.fullmatch(string, pos, endpos) if self.holds(string, pos, endpos) else None

    def finditer(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> Iterator[re.Match[str]]:
        return self.compiled.finditer(string, pos, endpos) if self.holds(string, pos, endpos) else iter(())

    def findall(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> list[Any]:
        return self.compiled.findall(string, pos, endpos) if self.holds(string, pos, endpos) else []

    def sub(self, repl: _Repl, string: str, count: int = 0) -> str:
        return self.compiled.sub(repl, string, count) if self.holds(string) else string

    def subn(self, repl: _Repl, string: str, count: int = 0) -> tuple[str, int]:
        return self.compiled.subn(repl, string, count) if self.holds(string) else (string, 0)

    def split(self, string: str, maxsplit: int = 0) -> list[str | Any]:
        return self.compiled.split(string, maxsplit) if self.holds(string) else [string]


def compile(pattern: str, flags: int = 0) -> re.Pattern[str]:  # noqa: A001 - re's name, on purpose
    """``re.compile(pattern, flags)`` behind the literal sieve where the pattern has required
    literals (a :class:`SievedPattern`, typed as the pattern it stands for), else the plain
    compiled pattern.  Raises :class:`re.error` as ``re.compile`` does."""
    compiled = re.compile(pattern, flags)
    literals = required_literals(pattern, flags)
    return cast(re.Pattern[str], SievedPattern(compiled, literals)) if literals else compiled


@functools.lru_cache(maxsize=4096)
def _cached(pattern: str, flags: int) -> re.Pattern[str]:
    return compile(pattern, flags)


def _pattern(pattern: str | re.Pattern[str], flags: int) -> re.Pattern[str]:
    if isinstance(pattern, str):
        return _cached(pattern, flags)
    if flags:
        raise ValueError("cannot process flags argument with a compiled pattern")
    return pattern


def search(pattern: str | re.Pattern[str], string: str, flags: int = 0) -> re.Match[str] | None:
    """:func:`re.search`, through the sieve."""
    return _pattern(pattern, flags).search(string)


def match(pattern: str | re.Pattern[str], string: str, flags: int = 0) -> re.Match[str] | None:
    """:func:`re.match`, through the sieve."""
    return _pattern(pattern, flags).match(string)


def fullmatch(pattern: str | re.Pattern[str], string: str, flags: int = 0) -> re.Match[str] | None:
    """:func:`re.fullmatch`, through the sieve."""
    return _pattern(pattern, flags).fullmatch(string)


def finditer(pattern: str | re.Pattern[str], string: str, flags: int = 0) -> Iterator[re.Match[str]]:
    """:func:`re.finditer`, through the sieve."""
    return _pattern(pattern, flags).finditer(string)


def findall(pattern: str | re.Pattern[str], string: str, flags: int = 0) -> list[Any]:
    """:func:`re.findall`, through the sieve."""
    return _pattern(pattern, flags).findall(string)


def sub(pattern: str | re.Pattern[str], repl: _Repl, string: str, count: int = 0, flags: int = 0) -> str:
    """:func:`re.sub`, through the sieve."""
    return _pattern(pattern, flags).sub(repl, string, count)


def split(pattern: str | re.Pattern[str], string: str, maxsplit: int = 0, flags: int = 0) -> list[str | Any]:
    """:func:`re.split`, through the sieve."""
    return _pattern(pattern, flags).split(string, maxsplit)
