"""The exceptions imr-kg raises: one root, one subclass per pipeline stage.

Every error that comes from bad input names the input (file, line or field)
and says what to change, so a user can fix it without reading our code;
:func:`reason` words the foreign exception (an ``OSError``, a parser's error)
such a message quotes.
"""

from __future__ import annotations

import functools
from typing import Any, Iterable

__all__ = [
    "KgError",
    "InputError",
    "CaseFileError",
    "LetterError",
    "RdfSyntaxError",
    "ShapesError",
    "ReasoningError",
    "reason",
    "did_you_mean",
]


class KgError(Exception):
    """Root of every error imr-kg raises on purpose."""

    exit_code = 3


class InputError(KgError):
    """Input we cannot use: the CLI exits with code 2 and nothing is written.

    ``source`` names the file (or other input), ``line`` the 1-based line
    where known, ``field`` the dotted field path where known, and ``hint``
    the next step for the user.
    """

    exit_code = 2

    def __init__(
        self,
        problem: str,
        *,
        source: str | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.problem = problem
        self.source = source
        self.line = line
        self.field = field
        self.hint = hint
        super().__init__(self._render())

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled whole (it crosses from worker processes): the same class, problem and fields.

        >>> import pickle
        >>> err = pickle.loads(pickle.dumps(LetterError("empty", source="a.pdf", hint="supply one")))
        >>> (type(err).__name__, err.problem, err.source, str(err))
        ('LetterError', 'empty', 'a.pdf', 'a.pdf: empty (supply one)')
        """
        return functools.partial(type(self), self.problem, source=self.source, line=self.line, field=self.field,
                                 hint=self.hint), ()

    def _render(self) -> str:
        where = self.source or "<input>"
        if self.line is not None:
            where += f", line {self.line}"
        if self.field:
            where += f", field '{self.field}'"
        text = f"{where}: {self.problem}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class CaseFileError(InputError):
    """A case file (YAML or JSON) that is malformed or incomplete."""


class LetterError(InputError):
    """A determination letter that cannot be read (corrupt, encrypted, empty, not a letter)."""


class RdfSyntaxError(InputError):
    """RDF (Turtle and friends) that does not parse."""


class ShapesError(InputError):
    """Shapes that cannot be used (no shapes in the folder, missing number, message ...)."""


class ReasoningError(KgError):
    """The reasoner failed (for example HermiT found the ontology inconsistent)."""


def reason(exc: BaseException) -> str:
    """Why a foreign exception happened, in words fit for one of our messages: its ``strerror``
    (an :class:`OSError`'s "No such file or directory") if it has one, else its text, cut to 300
    characters.

    >>> reason(FileNotFoundError(2, "No such file or directory"))
    'No such file or directory'
    >>> reason(ValueError("x" * 400))[-5:]
    'xx...'
    """
    text = getattr(exc, "strerror", None)
    if text:
        return str(text)
    text = str(exc)
    return text if len(text) <= 300 else text[:300] + "..."


def did_you_mean(word: str, options: Iterable[str], *, what: str = "one") -> str:
    """A hint naming the options closest to a mistyped ``word`` (difflib), or, when none is
    close, how many there are and a few of them.

    >>> did_you_mean("trigger_point_injections", ["trigger_point_injection", "mri", "acupuncture"])
    "did you mean 'trigger_point_injection'?"
    >>> did_you_mean("zzz", ["b", "a"], what="service kind")
    'no service kind is close to it; there are 2: a, b'
    """
    import difflib

    options = sorted(set(options))
    close = difflib.get_close_matches(word, options, n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    shown = ", ".join(options[:8]) + (", ..." if len(options) > 8 else "")
    return f"no {what} is close to it; there are {len(options)}: {shown}"
