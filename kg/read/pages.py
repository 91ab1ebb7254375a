"""The pages of a letter into one text: PDF page extraction and page-edge cleaning.

:func:`pdf_pages` extracts the text of each page of a PDF with pypdf, turning every failure into
a :class:`kg.errors.LetterError`.  :func:`join_pages` drops page-break noise (page numbers, and
running headers and footers repeated at the page edges) and joins the pages so that a page break
never makes a blank line of its own; the joined text is the one every offset of
:mod:`kg.read.letter` refers to.  Both are pure: they read their input and return new values.
"""

from __future__ import annotations

import re
from collections import Counter

from kg.errors import LetterError

__all__ = ["pdf_pages", "join_pages"]

_PAGE_NUMBER = re.compile(r"^\s*(?:-\s*)?(?:page\s+)?\d{1,3}(?:\s*(?:of|/)\s*\d{1,3})?(?:\s*-)?\s*$", re.I)


def pdf_pages(data: bytes, name: str) -> list[str]:
    """The text of each page of the PDF in ``data`` ("" for a page without text).

    An owner-password-only encryption (as the published letters use) is opened with the empty
    password.  Raises :class:`kg.errors.LetterError` naming ``name`` for a PDF encrypted with a
    password, one needing the missing ``cryptography`` package, and a corrupt one: no pypdf
    exception escapes.
    """
    import io

    import pypdf
    from pypdf.errors import DependencyError, FileNotDecryptedError

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            ok = reader.decrypt("")  # a DependencyError (no AES support) is turned into a LetterError below
            if not ok:
                raise LetterError(
                    "PDF is encrypted with a password",
                    source=name,
                    hint="supply an unencrypted copy of the letter",
                )
        return [page.extract_text() or "" for page in reader.pages]
    except LetterError:
        raise
    except DependencyError as exc:
        raise LetterError(
            "PDF uses AES encryption and the 'cryptography' package is missing",
            source=name,
            hint="install pypdf[crypto]",
        ) from exc
    except FileNotDecryptedError as exc:
        raise LetterError("PDF is encrypted with a password", source=name, hint="supply an unencrypted copy") from exc
    except Exception as exc:  # noqa: BLE001 - the boundary: a broken PDF can fail anywhere inside pypdf
        raise LetterError(
            f"corrupt or unreadable PDF ({type(exc).__name__})",
            source=name,
            hint="re-download the letter or supply its text",
        ) from exc


def _edge_lines(lines: list[str]) -> tuple[int | None, int | None]:
    """Indexes of the first and last non-blank lines."""
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    if not nonblank:
        return None, None
    return nonblank[0], nonblank[-1]


def join_pages(pages: list[str]) -> tuple[str, tuple[int, ...]]:
    """The pages joined into one text, and the offset where each page begins in it.

    Page numbers ("3", "Page 3 of 9", "- 3 -") and, with three pages or more, lines under 120
    characters repeated at the page edges of at least half the pages (and at least three) are
    dropped from each page's edges, up to three times an edge; a newline is put between two
    pages only where the first does not end in one.

    >>> join_pages(["Letter\\n1\\n", "goes on\\n2"])
    ('Letter\\ngoes on\\n', (0, 7))
    """
    split = [page.splitlines(keepends=True) for page in pages]
    repeated: set[str] = set()
    if len(split) >= 3:
        counts: Counter[str] = Counter()
        for lines in split:
            first, last = _edge_lines(lines)
            edge = {lines[i].strip() for i in (first, last) if i is not None}
            counts.update(edge)
        need = max(3, (len(split) + 1) // 2)
        repeated = {line for line, n in counts.items() if n >= need and len(line) < 120}
    pieces: list[str] = []
    starts: list[int] = []
    length = 0
    for lines in split:
        lines = list(lines)
        for _ in range(3):  # a page number and a footer may stack at either edge
            first, last = _edge_lines(lines)
            if first is None or last is None:
                break
            dropped = False
            for idx in sorted({first, last}, reverse=True):
                stripped = lines[idx].strip()
                if _PAGE_NUMBER.match(stripped) or stripped in repeated:
                    del lines[idx]
                    dropped = True
            if not dropped:
                break
        page = "".join(lines)
        if pieces and not pieces[-1].endswith("\n"):
            pieces.append("\n")
            length += 1
        starts.append(length)
        pieces.append(page)
        length += len(page)
    return "".join(pieces), tuple(starts)
