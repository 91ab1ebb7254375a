"""The pages of a letter into one text: PDF page extraction and page-edge cleaning.

:func:`pdf_pages` extracts the text of each page of a PDF, with pypdfium2 (PDFium, about nine
times faster) where it opens the file and pypdf where it does not, turning every failure into
a :class:`kg.errors.LetterError`.  The two readers give the same lines; PDFium's text is brought
to pypdf's shape where they differ in form (:func:`pdfium_pages`: line breaks, hyphens at the
end of a line and blank lines between paragraphs), and ``tests/read/test_readers.py`` holds the
extraction of every letter to be the same with either.  :func:`join_pages` drops page-break noise (page numbers, and
running headers and footers repeated at the page edges) and joins the pages so that a page break
never makes a blank line of its own; the joined text is the one every offset of
:mod:`kg.read.letter` refers to.  Both are pure: they read their input and return new values.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from typing import TYPE_CHECKING, Literal

from kg.errors import LetterError

if TYPE_CHECKING:
    import pypdfium2

__all__ = ["PdfReaderName", "pdf_pages", "pdfium_pages", "pypdf_pages", "join_pages"]

#: which PDF reader :func:`pdf_pages` uses: ``"auto"`` (PDFium where it can, else pypdf), or one of them
PdfReaderName = Literal["auto", "pdfium", "pypdf"]

_PAGE_NUMBER = re.compile(r"^\s*(?:-\s*)?(?:page\s+)?\d{1,3}(?:\s*(?:of|/)\s*\d{1,3})?(?:\s*-)?\s*$", re.I)


def pdf_pages(data: bytes, name: str, *, reader: PdfReaderName = "auto") -> list[str]:
    """The text of each page of the PDF in ``data`` ("" for a page without text).

    ``reader="auto"`` reads with PDFium (:func:`pdfium_pages`) in the main thread of a process and
    falls back to pypdf (:func:`pypdf_pages`) for a file PDFium cannot open, and in any other
    thread: PDFium is not thread-safe, so it runs only in the main thread of this process or of
    worker processes, never from threads.  ``"pdfium"`` or ``"pypdf"`` uses that reader alone.

    An owner-password-only encryption (as the published letters use) is opened with the empty
    password.  Raises :class:`kg.errors.LetterError` naming ``name`` for a PDF encrypted with a
    password, one needing the missing ``cryptography`` package, and a corrupt one: no pypdf or
    PDFium exception escapes.
    """
    if reader == "pypdf" or (reader == "auto" and threading.current_thread() is not threading.main_thread()):
        return pypdf_pages(data, name)
    try:
        return pdfium_pages(data, name)
    except LetterError:
        if reader == "pdfium":
            raise
        return pypdf_pages(data, name)  # what PDFium cannot open, pypdf reads or explains


def pypdf_pages(data: bytes, name: str) -> list[str]:
    """The text of each page with pypdf; see :func:`pdf_pages` for the errors."""
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


#: PDFium's line breaks, and the mark it puts for a hyphen that ends a line (joining the two lines)
_PDFIUM_BREAK = re.compile("\r\n|\ufffe")
#: a vertical step between two lines of more than this many times the letter's usual line pitch
#: is a blank line (pypdf prints the blank lines a letter holds; PDFium drops them)
_BLANK_LINE_PITCH = 1.75

#: one page as PDFium reads it: each line's text, and the baseline of its first printed character
_Lines = list[tuple[str, float | None]]


def pdfium_pages(data: bytes, name: str) -> list[str]:
    """The text of each page with PDFium (pypdfium2), in pypdf's form.

    PDFium's text is pypdf's, line for line, but for three matters of form, which are put right
    here: its line breaks are ``\\r\\n`` (here ``\\n``); a hyphen that ends a line is a
    ``U+FFFE`` joining the two lines (here the hyphen and a line break, as printed); and it
    drops the blank lines between paragraphs, which the letter parser reads as boundaries (here
    a blank line wherever the step to the next line is more than :data:`_BLANK_LINE_PITCH` times
    the letter's usual line pitch, the median step).  Call it only from the main thread (PDFium
    is not thread-safe).  Raises :class:`kg.errors.LetterError` naming ``name`` for a file PDFium
    cannot open (corrupt, or encrypted with a password) or read.
    """
    try:
        import pypdfium2
    except ImportError as exc:
        raise LetterError("pypdfium2 is not installed", source=name, hint="install pypdfium2") from exc
    try:
        doc = pypdfium2.PdfDocument(data)
    except Exception as exc:  # noqa: BLE001 - PdfiumError, or anything else from a broken file
        raise LetterError(f"PDFium cannot open the PDF ({exc})", source=name,
                          hint="re-download the letter or supply its text") from exc
    try:
        pages = [_pdfium_lines(doc, i) for i in range(len(doc))]
    except Exception as exc:  # noqa: BLE001 - the boundary: nothing from PDFium escapes
        raise LetterError(f"PDFium cannot read the PDF ({type(exc).__name__})", source=name,
                          hint="re-download the letter or supply its text") from exc
    finally:
        doc.close()
    steps = sorted(a - b for lines in pages for a, b in _pairs([y for _, y in lines if y is not None]) if a - b > 0.5)
    pitch = steps[len(steps) // 2] if steps else 0.0
    return [_with_blank_lines(lines, pitch * _BLANK_LINE_PITCH) for lines in pages]


def _pairs(ys: list[float]) -> list[tuple[float, float]]:
    return list(zip(ys, ys[1:], strict=False))


def _pdfium_lines(doc: pypdfium2.PdfDocument, index: int) -> _Lines:
    """Page ``index`` of a pypdfium2 document as lines, each with its first character's baseline."""
    import ctypes

    import pypdfium2.raw as pdfium_c

    page = doc[index]
    textpage = page.get_textpage()
    try:
        text = textpage.get_text_range()
        lines: _Lines = []
        x, y = ctypes.c_double(), ctypes.c_double()
        pos = 0
        for m in [*_PDFIUM_BREAK.finditer(text), None]:
            end = m.start() if m is not None else len(text)
            line = text[pos:end] + ("-" if m is not None and m.group() == "\ufffe" else "")
            first = next((pos + k for k, c in enumerate(text[pos:end]) if not c.isspace()), None)
            baseline = None
            if first is not None and pdfium_c.FPDFText_GetCharOrigin(textpage.raw, first, x, y):
                baseline = y.value
            lines.append((line, baseline))
            if m is not None:
                pos = m.end()
        return lines
    finally:
        textpage.close()
        page.close()


def _with_blank_lines(lines: _Lines, step: float) -> str:
    """The page's lines joined, with a blank line where the step down to a line exceeds ``step``."""
    out: list[str] = []
    previous: float | None = None
    for line, baseline in lines:
        if baseline is not None:
            if previous is not None and step and previous - baseline > step:
                out.append("")
            previous = baseline
        out.append(line)
    text = "\n".join(out)
    return text + "\n" if text.strip() else ""


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
