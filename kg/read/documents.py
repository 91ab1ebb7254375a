"""Reading untrusted files safely: regular files with a size cap, and documents only from inside
the *document roots*.

A case file is not trusted (``docs/threat-model.md``), and neither are the documents it names.

* :func:`read_regular_file` reads a file only if it is a regular file of at most a given size: a
  FIFO, a device or a folder is refused before a byte is read, and so is a file that grows past
  the cap while it is read.  It raises :class:`Refused` (or :class:`OSError`).
* :class:`Documents` reads the documents one case file names by ``path``, each only if it is a
  regular file of at most :data:`MAX_DOCUMENT_BYTES` inside a document root
  (:func:`document_roots`): the case file's own folder (or below it) and the folders the caller
  allows (``document_roots=``, ``--document-root``, or ``$IMRKG_DOCUMENT_ROOTS``).  A relative
  path is looked up in the case file's folder first, then in each allowed folder in turn.  A
  document found in none of them is *absent* (:meth:`Documents.read` returns None: the case is
  read on its quotes alone); any other problem raises :class:`DocumentRefused`, saying what is
  wrong and what to do, for the caller to place at the file, line and field.

Nothing here writes anything.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterable

from kg.errors import reason

__all__ = [
    "MAX_DOCUMENT_BYTES", "DOCUMENT_ROOTS_ENV", "Refused", "read_regular_file", "document_roots",
    "DocumentRefused", "Documents",
]

#: The largest document file (``documents[].path``) read to check quotes, in bytes.
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
#: Environment variable naming extra folders documents may be read from (``os.pathsep``-separated).
DOCUMENT_ROOTS_ENV = "IMRKG_DOCUMENT_ROOTS"


# ---------------------------------------------------------------------------
# Regular files only, with a size cap
# ---------------------------------------------------------------------------
class Refused(Exception):
    """A file that exists but is not read: ``kind`` is ``"not a regular file"`` or ``"too large"``,
    ``problem`` the words for the user (such as "not a regular file: it is a folder")."""

    def __init__(self, kind: str, problem: str) -> None:
        super().__init__(problem)
        self.kind = kind
        self.problem = problem


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 100 * 1024 else f"{size} bytes"


def read_regular_file(path: Path, cap: int, *, follow_symlinks: bool = True) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``cap`` bytes.

    The file is opened without blocking (a FIFO never hangs the open) and checked with
    ``fstat`` on the open descriptor; at most ``cap + 1`` bytes are read, so a file that grows
    while it is read (or that reports a wrong size, as ``/proc`` files do) is still refused.
    With ``follow_symlinks=False`` a symlink as the last component is refused (``ELOOP``), so a
    path checked after resolving cannot be swapped for a link in between.
    Raises :class:`Refused`, :class:`OSError`, or :class:`ValueError` (a NUL in the path).

    >>> read_regular_file(Path("/"), 10)
    Traceback (most recent call last):
    ...
    kg.read.documents.Refused: not a regular file: it is a folder
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Refused("not a regular file", f"not a regular file: it is {_file_kind(info.st_mode)}")
        if info.st_size > cap:
            raise Refused("too large", f"the file is {_megabytes(info.st_size)}, more than the "
                                       f"{_megabytes(cap)} allowed")
        fh = os.fdopen(fd, "rb")  # owns fd from here on
    except BaseException:
        os.close(fd)
        raise
    with fh:
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise Refused("too large", f"the file is more than the {_megabytes(cap)} allowed")
    return data


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


# ---------------------------------------------------------------------------
# Document roots
# ---------------------------------------------------------------------------
def document_roots(base: Path, extra: Iterable[str | Path]) -> tuple[Path, ...]:
    """The folders documents may be read from: ``base``, ``extra``, then ``$IMRKG_DOCUMENT_ROOTS``
    (each resolved, each once; empty entries of the variable and folders that cannot be
    resolved are left out)."""
    folders: list[Path] = [base, *(Path(e) for e in extra)]
    folders += [Path(e) for e in os.environ.get(DOCUMENT_ROOTS_ENV, "").split(os.pathsep) if e.strip()]
    out: list[Path] = []
    for folder in folders:
        try:
            real = folder.expanduser().resolve()
        except (OSError, RuntimeError, ValueError):
            continue
        if real not in out:
            out.append(real)
    return tuple(out)


# ---------------------------------------------------------------------------
# The documents of one case file
# ---------------------------------------------------------------------------
class DocumentRefused(Exception):
    """A document that is not read: ``problem`` says why, ``hint`` what to do instead.  It names
    no file or line: the case file reader places it at the ``path`` field that names it."""

    def __init__(self, problem: str, hint: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.hint = hint


class Documents:
    """The documents one case file may read: relative paths resolve against ``base_dir`` (the
    case file's folder; None for the current folder), which is the first document root;
    ``extra_roots`` and ``$IMRKG_DOCUMENT_ROOTS`` add more (:func:`document_roots`, worked out
    when the first document is read), and a relative path not found in ``base_dir`` is looked up
    in each of them in turn.

    >>> Documents(None, ()).read("note\\x00.txt")
    Traceback (most recent call last):
    ...
    kg.read.documents.DocumentRefused: the document path holds a NUL character
    """

    def __init__(self, base_dir: Path | None, extra_roots: Iterable[str | Path]) -> None:
        self.base_dir = base_dir
        self.extra_roots = tuple(extra_roots)
        self._roots: tuple[Path, ...] | None = None

    def read(self, rel: str) -> str | None:
        """The text of the document file at ``rel`` (universal newlines, so offsets count one
        character a line break), read only if, resolved (``..`` and symlinks included), it is a
        regular UTF-8 file of at most :data:`MAX_DOCUMENT_BYTES` inside a document root.

        ``rel`` is looked up in the case file's folder, then (when it is not there) under each
        other document root; None when it is in none of them (the document is absent).
        Raises :class:`DocumentRefused` for a path with a NUL, one that cannot be resolved, one
        that leads outside the roots, not a regular file, too large, unreadable or not UTF-8.
        """
        if "\x00" in rel:
            raise DocumentRefused("the document path holds a NUL character",
                                  "give the path of a text file in the case file's folder")
        base = Path.cwd() if self.base_dir is None else self.base_dir
        if self._roots is None:  # worked out on the first document path only
            self._roots = document_roots(base, self.extra_roots)
        for folder in (base, *self._roots[1:]):
            real = self._inside_roots(folder, rel)
            try:
                raw = read_regular_file(real, MAX_DOCUMENT_BYTES, follow_symlinks=False)
            except FileNotFoundError:
                continue  # not in this folder: try the next root
            except Refused as exc:
                hint = ("give a text file of the document's own text, under the cap" if exc.kind == "too large"
                        else "give the path of a text file")
                raise DocumentRefused(f"document file '{rel}': {exc.problem}", hint) from None
            except (OSError, ValueError) as exc:
                raise DocumentRefused(f"cannot read document file '{rel}': {reason(exc)}",
                                      "give a path relative to the case file, or leave 'path' out") from None
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DocumentRefused(f"cannot read document file '{rel}': not UTF-8 text (byte {exc.start})",
                                      "give the document as UTF-8 text, or leave 'path' out") from None
            # as reading in text mode did: universal newlines, so offsets count one character a line break
            return text.replace("\r\n", "\n").replace("\r", "\n")
        return None

    def _inside_roots(self, folder: Path, rel: str) -> Path:
        """``folder / rel`` resolved, if it lies inside a document root; else DocumentRefused."""
        assert self._roots is not None
        try:
            path = folder / rel  # an absolute rel replaces folder
            real = path.resolve()
        except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, a name too long
            raise DocumentRefused(f"cannot resolve document path '{rel}': {reason(exc)}",
                                  "give the path of a text file in the case file's folder") from None
        if not any(real.is_relative_to(root) for root in self._roots):
            linked = f" resolves to {real}," if Path(os.path.abspath(path)) != real else " is"
            raise DocumentRefused(
                f"document file '{rel}'{linked} outside the folders documents may be read from",
                f"move the document into the case file's folder, {self._roots[0]}, or a folder below it, "
                f"or allow its folder with --document-root DIR or {DOCUMENT_ROOTS_ENV}")
        return real
