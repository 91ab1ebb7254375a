"""Read IMR final determination letters and parse the reviewer's record.

Two entry points:

* :func:`read_letter_text` turns a ``.pdf`` (via PDFium, or pypdf) or ``.txt`` file into a
  :class:`LetterText`. Page-break noise (page numbers, running headers and
  footers repeated at the page edges) is dropped while the pages are joined
  (:mod:`kg.read.pages`), so the returned ``text`` is the one string every
  offset in this module refers to.
* :func:`parse_letter` parses a :class:`LetterText` into a :class:`LetterRecord`:
  the header (case number and dates), the reviewer's credentials, the span of
  the clinical case summary and, per disputed item, the service, the decision,
  both guideline lines, a parsed MAXIMUS citation and the rationale.

Every extracted value carries a :class:`Span` of ``(start, end)`` offsets into
``LetterText.text`` so later stages can attach evidence. Printed values are
kept "as printed, whitespace folded": runs of whitespace (line breaks included)
become one space. Three layouts are recognised: ``"2016"`` (the 2016-2017
letters with a header block), ``"seed"`` (the same body without the header) and
``"2013"`` (the old "Notice of Independent Medical Review Determination"
letters). Parsing is pure: it reads its input and returns new frozen objects.

The decision section of a letter is the reviewer's answer. It is parsed here
only so that it can be *compared* with the engine's own determination; it must
never be fed to the engine as input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from kg.errors import LetterError
from kg.read.pages import PdfReaderName, join_pages, pdf_pages

__all__ = [
    "Citation",
    "DateField",
    "GuidelineRef",
    "LetterItem",
    "LetterRecord",
    "LetterText",
    "MAX_LETTER_BYTES",
    "MAX_LETTER_TEXT_CHARS",
    "Span",
    "TextField",
    "parse_letter",
    "read_letter_text",
]

#: The layouts a letter may have (see the module's docstring).
Layout = Literal["2016", "seed", "2013"]
#: What a MAXIMUS guideline line cites (see :class:`Citation`).
CitationKind = Literal["mtus", "non_mtus", "none"]


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Span:
    """Half-open character range ``[start, end)`` into ``LetterText.text``."""

    start: int
    end: int


@dataclass(frozen=True)
class TextField:
    """A value as printed (whitespace folded) and where it stands in the letter."""

    text: str
    span: Span


@dataclass(frozen=True)
class DateField:
    """A date as printed, its span, and the parsed date (``None`` if it does not parse)."""

    text: str
    span: Span
    value: date | None


@dataclass(frozen=True)
class LetterText:
    """The text of one letter file.

    ``text`` is what every offset refers to; ``source`` is the file name;
    ``page_starts`` holds the offset where each page begins (one entry for a
    text file without form feeds).
    """

    text: str
    source: str
    page_starts: tuple[int, ...] = (0,)


@dataclass(frozen=True)
class GuidelineRef:
    """One MTUS guideline named in a citation: name, year and sections as printed."""

    name: str
    year: int
    sections: tuple[str, ...]
    span: Span


@dataclass(frozen=True)
class Citation:
    """The parsed MAXIMUS guideline line.

    ``kind`` is ``"mtus"`` when at least one MTUS guideline is named (a
    non-MTUS citation may follow it, kept in ``non_mtus``), ``"non_mtus"`` when
    only evidence outside the MTUS is cited, and ``"none"`` when the reviewer
    cited no medical evidence (or the line could not be read).
    """

    kind: CitationKind
    mtus: tuple[GuidelineRef, ...] = ()
    non_mtus: TextField | None = None


@dataclass(frozen=True)
class LetterItem:
    """One disputed item and the reviewer's decision on it.

    ``service`` is the whole text printed before the decision word (including
    any partial-authorisation preamble). For a partial authorisation
    ``original_request`` (X), ``authorized`` (Y) and ``remaining_service`` (Z,
    the part the decision applies to) are filled in; otherwise they are ``None``.
    """

    service: TextField
    decision: TextField
    remaining_service: TextField | None
    original_request: TextField | None
    authorized: TextField | None
    claims_administrator_guideline: TextField | None
    maximus_guideline: TextField | None
    citation: Citation
    rationale: TextField | None

    @property
    def requested_service(self) -> TextField:
        """The service the decision applies to: Z of a partial authorisation, else ``service``."""
        return self.remaining_service or self.service


@dataclass(frozen=True)
class LetterRecord:
    """What one letter records. Header fields are ``None`` where the letter lacks them."""

    source: str
    layout: Layout
    case_number: TextField | None
    date_assigned: DateField | None
    date_of_injury: DateField | None
    decision_date: DateField | None
    ur_denial_date: DateField | None
    priority: TextField | None
    application_received: DateField | None
    licensure: TextField | None
    specialty: TextField | None
    summary_span: Span | None
    items: tuple[LetterItem, ...]


# --------------------------------------------------------------------------- reading

_LETTER_MARKERS = re.compile(
    r"IMR ISSUES,\s+DECISIONS\s+AND\s+RATIONALES"
    r"|Independent\s+Medical\s+Review\s+Determination"
    r"|MAXIMUS\s+guideline\s*:"
    r"|IMR\s+FINAL\s+DETERMINATION",
    re.IGNORECASE,
)
#: The largest letter file read (PDF or text), in bytes, checked before the file is read.
#: The published letters are 20-100 KB.
MAX_LETTER_BYTES = 20 * 1024 * 1024
#: The most text a letter may hold once extracted, in characters, checked before it is parsed.
#: The longest published letter holds 27,000; extraction takes about 15 s a million characters.
MAX_LETTER_TEXT_CHARS = 1_000_000


def read_letter_text(path: str | Path, *, pdf_reader: PdfReaderName = "auto") -> LetterText:
    """Return the text of a letter file (``.pdf`` or plain text).

    PDF pages are extracted with PDFium, or pypdf where PDFium cannot open the
    file (``pdf_reader``: see :func:`kg.read.pages.pdf_pages`; an owner-password-only
    encryption, as the published letters use, is opened with the empty password); a text file
    is read as UTF-8 and split into pages at form feeds. Page numbers and
    running headers or footers repeated at the page edges are dropped, and pages
    are joined so that a page break never creates a blank line of its own.

    Raises :class:`kg.errors.LetterError` (naming the file) when the file is
    missing, larger than :data:`MAX_LETTER_BYTES` (checked before reading) or
    holding more than :data:`MAX_LETTER_TEXT_CHARS` of text (checked before
    parsing), empty, corrupt, encrypted with a password, has no text layer, or
    is not an IMR letter. No pypdf or PDFium exception escapes.

    >>> read_letter_text("no-such-letter.pdf")
    Traceback (most recent call last):
    ...
    kg.errors.LetterError: no-such-letter.pdf: file not found (check the path)
    """
    p = Path(path)
    name = p.name
    if not p.is_file():
        raise LetterError("file not found", source=name, hint="check the path")
    try:
        size = p.stat().st_size
        if size > MAX_LETTER_BYTES:
            raise LetterError(f"file is {size / 2**20:.1f} MB, more than the {MAX_LETTER_BYTES / 2**20:g} MB "
                              "a letter may be", source=name, hint="supply the determination letter on its own")
        with p.open("rb") as fh:
            data = fh.read(MAX_LETTER_BYTES + 1)  # bounded even if the file grows while it is read
    except OSError as exc:
        raise LetterError(f"cannot read file: {exc.strerror}", source=name, hint="check permissions") from exc
    if len(data) > MAX_LETTER_BYTES:
        raise LetterError(f"file is more than the {MAX_LETTER_BYTES / 2**20:g} MB a letter may be", source=name,
                          hint="supply the determination letter on its own")
    if not data.strip():
        raise LetterError("file is empty", source=name, hint="supply a final determination letter")
    if p.suffix.lower() == ".pdf" or data[:5] == b"%PDF-":
        pages = pdf_pages(data, name, reader=pdf_reader)
    else:
        try:
            raw = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise LetterError(
                f"not UTF-8 text (byte {exc.start})", source=name, hint="save the letter as UTF-8 text or PDF"
            ) from exc
        raw = raw.replace("\r\n", "\n").replace("\r", "\n")
        pages = raw.split("\f")
    text, starts = join_pages(pages)
    if len(text) > MAX_LETTER_TEXT_CHARS:
        raise LetterError(f"the letter holds {len(text):,} characters of text, more than the "
                          f"{MAX_LETTER_TEXT_CHARS:,} a letter may hold", source=name,
                          hint="supply the determination letter on its own")
    if not text.strip():
        raise LetterError(
            "no text found (image-only or blank document)",
            source=name,
            hint="run OCR first or supply the text of the letter",
        )
    if not _LETTER_MARKERS.search(text):
        raise LetterError(
            "not an IMR determination letter (no IMR headings found)",
            source=name,
            hint="supply a MAXIMUS final determination letter",
        )
    return LetterText(text=text, source=name, page_starts=starts)


# --------------------------------------------------------------------------- helpers

_WS = re.compile(r"\s+")


def _fold(s: str) -> str:
    """Fold every run of whitespace to one space and strip the ends."""
    return _WS.sub(" ", s).strip()


def _field(text: str, start: int, end: int) -> TextField | None:
    """A TextField for ``text[start:end]`` with the span trimmed to its non-blank part."""
    raw = text[start:end]
    lead = len(raw) - len(raw.lstrip())
    trail = len(raw) - len(raw.rstrip())
    s, e = start + lead, end - trail
    if s >= e:
        return None
    return TextField(_fold(text[s:e]), Span(s, e))


_DATE = re.compile(r"(\d{1,2})\s*[/-]\s*(\d{1,2})\s*[/-]\s*(\d{4}|\d{2})(?!\d)")


def _parse_date(printed: str) -> date | None:
    """Parse ``MM/DD/YYYY`` (or two-digit year, ``-`` separators); ``None`` if invalid."""
    m = _DATE.fullmatch(printed.replace(" ", ""))
    if not m:
        return None
    month, day, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if year < 100:
        year += 2000 if year < 70 else 1900
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _date_field(text: str, start: int, end: int) -> DateField | None:
    """The first date in ``text[start:end]``, or the first printed line if none."""
    m = _DATE.search(text, start, end)
    if m and not text[start : m.start()].strip():
        printed = _WS.sub("", m.group(0))
        return DateField(printed, Span(m.start(), m.end()), _parse_date(printed))
    line_end = text.find("\n", start, end)
    f = _field(text, start, end if line_end < 0 else line_end)
    if f is None:
        return None
    return DateField(f.text, f.span, _parse_date(f.text))


# --------------------------------------------------------------------------- header

_HEADER_LABELS: dict[str, re.Pattern[str]] = {
    "case_number": re.compile(r"(?:IMR\s+|MAXIMUS\s+)?Case\s+Number\s*:"),
    "date_assigned": re.compile(r"Date\s+Assigned\s*:"),
    "date_of_injury": re.compile(r"Date\s+of\s+Injury\s*:"),
    "decision_date": re.compile(r"Decision\s+Date\s*:|(?<=Determination)\s+Dated\s*:"),
    "ur_denial_date": re.compile(r"UR\s+Denial\s+Date\s*:|Date\s+of\s+UR\s+Decision\s*:"),
    "priority": re.compile(r"Priority\s*:"),
    "application_received": re.compile(r"(?:IMR\s+)?Application\s+Received\s*:"),
    "claim_number": re.compile(r"Claim\s+Number\s*:"),
    "employee": re.compile(r"Employee\s*:"),
}
_CASE_NO = re.compile(r"CM\d{2}-\d{4,}")
_HEADER_END = re.compile(
    r"HOW THE IMR FINAL DETERMINATION WAS MADE|CLINICAL CASE SUMMARY|Dear\s|"
    r"IMR ISSUES, DECISIONS AND RATIONALES|INDEPENDENT MEDICAL REVIEW DECISION"
)


def _header(text: str, layout: Layout) -> dict[str, TextField | DateField | None]:
    """Header fields by name: values run from a label to the next label."""
    end_m = _HEADER_END.search(text)
    region_end = end_m.start() if end_m else min(len(text), 3000)
    found: list[tuple[int, int, str]] = []
    for name, rx in _HEADER_LABELS.items():
        m = rx.search(text, 0, region_end)
        if m:
            found.append((m.start(), m.end(), name))
    found.sort()
    out: dict[str, TextField | DateField | None] = {}
    for i, (_, vstart, name) in enumerate(found):
        vend = found[i + 1][0] if i + 1 < len(found) else region_end
        if layout == "2013":  # values there stand on the label's own line
            nl = text.find("\n", vstart, vend)
            if nl >= 0 and text[vstart:nl].strip():
                vend = nl
        if name == "case_number":
            m = _CASE_NO.search(text, vstart, vend)
            out[name] = TextField(m.group(0), Span(m.start(), m.end())) if m else _field(text, vstart, vend)
        elif name in ("priority", "claim_number", "employee"):
            out[name] = _field(text, vstart, vend)
        else:
            out[name] = _date_field(text, vstart, vend)
    return out


_LICENSURE = re.compile(r"State\(s\)\s+of\s+Licensure\s*:")
_SPECIALTY = re.compile(r"Certification\(s\)\s*/\s*Specialty\s*:")
_SUMMARY_HEAD = re.compile(r"CLINICAL CASE SUMMARY|Case\s+Summary\s*:")
_SUMMARY_INTRO = re.compile(
    r"\s*(?:The expert reviewer developed the following clinical case summary based on a review of the\s+"
    r"case file, including all medical records\s*:|Disclaimer:[^\n]*(?:\n[^\n]+)*?\n)",
    re.IGNORECASE,
)
_ISSUES_HEAD = re.compile(r"IMR ISSUES,\s+DECISIONS\s+AND\s+RATIONALES")
_ISSUES_INTRO = re.compile(
    r"The Final Determination was based on decisions for the disputed items/services set forth below\s*:"
)


def _credentials(text: str, end: int) -> tuple[TextField | None, TextField | None]:
    """Licensure and specialty lines (the specialty joined if it wraps)."""
    lic = spec = None
    m = _LICENSURE.search(text, 0, end)
    if m:
        nl = text.find("\n", m.end())
        lic = _field(text, m.end(), nl if nl >= 0 else end)
    m = _SPECIALTY.search(text, 0, end)
    if m:
        stop = end
        blank = re.compile(r"\n[ \t]*\n").search(text, m.end(), end)
        if blank:
            stop = blank.start()
        head = _SUMMARY_HEAD.search(text, m.end(), end)
        if head and head.start() < stop:
            stop = head.start()
        spec = _field(text, m.end(), stop)
    return lic, spec


# --------------------------------------------------------------------------- items

_DECISION = re.compile(
    r":[ \t]*(?:\n[ \t]*)?(?P<word>Upheld|Overturned)[ \t]*(?=\n|$)"
    r"\s*(?=(?:Claims\s+Administrator|MAXIMUS)\s+guideline\s*:)"
)
_CA_GUIDE = re.compile(r"Claims\s+Administrator\s+guideline\s*:")
_MAX_GUIDE = re.compile(r"MAXIMUS\s+guideline\s*:")
_RATIONALE = re.compile(r"Decision\s+rationale\s*:")
_BLANK_LINE = re.compile(r"^[ \t]*$")
_RATIONALE_END_LINE = re.compile(
    r"(?:necessary|appropriate|indicated(?:\s+here)?|for\s+this\s+patient|established)\s*[.\"']\s*$", re.I
)
_NOT_CITED = re.compile(r"did\s+not\s+cite\s+any\s+medical\s+evidence\s+for\s+its\s+decision\.", re.I)

_PARTIAL_REMAINING = re.compile(
    r"(?P<x>.+?)\s+was\s+the\s+original\s+request\.\s+(?P<y>.+?)\s+was\s+authorized\s+by\s+the\s+Claims\s+"
    r"Administrator\.\s+The\s+remaining\s+IMR\s+eligible\s+portion\s+of\s+the\s+original\s+request,\s+"
    r"(?P<z>.+?)(?:\s+is)?\s*$",
    re.S,
)
_PARTIAL_LEAVING = re.compile(
    r"(?P<x>.+?)\s+was\s+the\s+original\s+request\.\s+The\s+Claims\s+Administrator\s+authorized\s+"
    r"(?P<y>.+?),\s+leaving\s+the\s+original\s+request\s+IMR\s+eligible\.\s+The\s+original\s+request,\s+"
    r"(?P<z>.+?)(?:\s+is)?\s*$",
    re.S,
)


def _line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def _service_start(text: str, colon: int, floor: int) -> int:
    """Start of the paragraph holding the service that ends at ``colon``.

    Walks back line by line until a blank line, the section floor, or a line
    that closes the previous rationale ("... is not medically necessary.").
    """
    start = _line_start(text, colon)
    while start > floor:
        prev_start = _line_start(text, start - 1)
        if prev_start < floor:
            break
        prev = text[prev_start : start - 1]
        if _BLANK_LINE.match(prev) or _RATIONALE_END_LINE.search(prev):
            break
        start = prev_start
    return max(start, floor)


def _partial(text: str, span: Span) -> tuple[TextField | None, TextField | None, TextField | None]:
    """Split a partial-authorisation service into (original X, authorized Y, remaining Z)."""
    raw = text[span.start : span.end]
    for rx in (_PARTIAL_REMAINING, _PARTIAL_LEAVING):
        m = rx.match(raw)
        if m:
            base = span.start
            return (
                _field(text, base + m.start("x"), base + m.end("x")),
                _field(text, base + m.start("y"), base + m.end("y")),
                _field(text, base + m.start("z"), base + m.end("z")),
            )
    return None, None, None


_MTUS_CLAUSE = re.compile(r"Decision\s+based\s+on\s+MTUS\s+")
_NON_MTUS = re.compile(r"Decision\s+based\s+on\s+Non-\s*MTUS\s+Citation\s*")
_YEAR = re.compile(r"(?<![\d.])(?:19|20)\d{2}(?!\d|\.\d)")
_SECTIONS = re.compile(r",?\s*Section\(s\)\s*:\s*")
_KNOWN_GUIDELINES = re.compile(
    r"(?:Chronic\s+Pain\s+Medical\s+Treatment|Opioids?\s+Treatment|Acupuncture(?:\s+Medical)?\s+Treatment"
    r"|Post-?\s*surgical\s+Treatment|General\s+Approaches|Neck\s+and\s+Upper\s+Back\s+Complaints"
    r"|Low\s+Back\s+Complaints|Shoulder\s+Complaints|Elbow\s+(?:Complaints|Disorders)"
    r"|Forearm,\s+Wrist,?\s+and\s+Hand\s+Complaints|Knee\s+Complaints|Ankle\s+and\s+Foot\s+Complaints"
    r"|Stress\s+Related\s+Conditions|Eye|Initial\s+Approaches\s+to\s+Treatment)\s*$"
)
_GUIDELINE_SEP = re.compile(r"(?:,\s*and\s+|\s+and\s+|;\s*|,\s*)$")
_SECTION_SPLIT = re.compile(r",\s+(?=[A-Z0-9])")
_COMMA_SECTIONS = ("NSAIDs, GI symptoms & cardiovascular risk",)


def _split_sections(raw: str) -> tuple[str, ...]:
    """Split a printed section list at commas that start a new capitalised title."""
    folded = re.sub(r"(\w)- (\w)", r"\1-\2", _fold(raw)).rstrip(" .")
    if not folded:
        return ()
    protected = folded
    for title in _COMMA_SECTIONS:
        protected = protected.replace(title, title.replace(", ", "\x00 "))
    parts = _SECTION_SPLIT.split(protected)
    return tuple(p.replace("\x00", ",").strip() for p in parts if p.strip())


def _parse_mtus(text: str, start: int, end: int) -> tuple[GuidelineRef, ...]:
    """Guidelines in an MTUS clause ``text[start:end]`` (after "Decision based on MTUS")."""
    refs: list[tuple[int, int, str, int]] = []  # name start, year end, name, year
    years = [m for m in _YEAR.finditer(text, start, end)]
    cursor = start
    for y in years:
        before = text[cursor : y.start()]
        # the year must close a guideline name: either it is the first one, or
        # the text since the previous guideline's sections ends in a known name
        k = _KNOWN_GUIDELINES.search(before.rstrip())
        if k:
            name_start = cursor + k.start()
        elif not refs:
            name_start = cursor
        else:
            # unknown name: take the text after the last separator
            seps = list(re.finditer(r",\s*and\s+|\s+and\s+|;\s*", before))
            if not seps:
                continue
            name_start = cursor + seps[-1].end()
        name = _fold(text[name_start : y.start()])
        if not name or len(name) > 80:
            continue
        refs.append((name_start, y.end(), name, int(y.group(0))))
        cursor = y.end()
    out: list[GuidelineRef] = []
    for i, (nstart, yend, name, year) in enumerate(refs):
        stop = refs[i + 1][0] if i + 1 < len(refs) else end
        tail = text[yend:stop]
        # drop the separator that introduces the next guideline
        if i + 1 < len(refs):
            sep = _GUIDELINE_SEP.search(tail)
            if sep:
                tail = tail[: sep.start()]
        sm = _SECTIONS.search(tail)
        sections = _split_sections(tail[sm.end() :]) if sm else ()
        gend = yend + len(tail.rstrip(" \t\n.,"))
        out.append(GuidelineRef(name=name, year=year, sections=sections, span=Span(nstart, gend)))
    return tuple(out)


def _citation(text: str, field: TextField | None) -> Citation:
    """Parse a MAXIMUS guideline line into a :class:`Citation`."""
    if field is None:
        return Citation("none")
    s, e = field.span.start, field.span.end
    if _NOT_CITED.search(text, s, e):
        return Citation("none")
    non = _NON_MTUS.search(text, s, e)
    non_field = None
    if non:
        nend = e
        while nend > non.end() and text[nend - 1] in " \t\n.":
            nend -= 1
        non_field = _field(text, non.end(), nend)
    mt = _MTUS_CLAUSE.search(text, s, non.start() if non else e)
    if mt:
        refs = _parse_mtus(text, mt.end(), non.start() if non else e)
        if refs:
            return Citation("mtus", refs, non_field)
    if non_field is not None:
        return Citation("non_mtus", (), non_field)
    return Citation("none")


def _items_2016(text: str) -> tuple[LetterItem, ...]:
    """Items of the 2016-2017 (and seed) layout."""
    head = _ISSUES_HEAD.search(text)
    floor = head.end() if head else 0
    intro = _ISSUES_INTRO.search(text, floor)
    if intro:
        floor = intro.end()
    found: list[tuple[int, int, re.Match[str]]] = []  # service start, colon, match
    for m in _DECISION.finditer(text, floor):
        lower = floor
        if found:
            r = _RATIONALE.search(text, found[-1][2].end(), m.start())
            lower = r.end() if r else found[-1][2].end()
        found.append((_service_start(text, m.start(), lower), m.start(), m))
    items: list[LetterItem] = []
    for i, (sstart, colon, m) in enumerate(found):
        next_start = found[i + 1][0] if i + 1 < len(found) else len(text)
        service = _field(text, sstart, colon)
        if service is None:
            continue
        decision = TextField(m.group("word"), Span(m.start("word"), m.end("word")))
        mx = _MAX_GUIDE.search(text, m.end(), next_start)
        ca_field, mx_field, rat_field = _item_fields(
            text, _CA_GUIDE.search(text, m.end(), next_start), mx,
            _RATIONALE.search(text, mx.end() if mx else m.end(), next_start), next_start, run_on=True)
        items.append(_item(service, decision, (ca_field, mx_field, rat_field), _citation(text, mx_field),
                           _partial(text, service.span)))
    return tuple(items)


def _item_fields(text: str, ca: re.Match[str] | None, mx: re.Match[str] | None, ra: re.Match[str] | None,
                 end: int, *, run_on: bool = False) -> tuple[TextField | None, TextField | None, TextField | None]:
    """The claims administrator's guideline, the MAXIMUS guideline and the rationale of one item.

    ``ca``, ``mx`` and ``ra`` are the matches of their headings (None where missing); each field
    runs to the next heading found, the last to ``end``.  With ``run_on`` (the 2016 layout) a
    rationale without its heading may follow a MAXIMUS line that says the reviewer "did not cite
    any medical evidence for its decision." in the same paragraph: the line ends after that.
    """
    ca_field = mx_field = rat_field = None
    if ca:
        ca_field = _field(text, ca.end(), mx.start() if mx else (ra.start() if ra else end))
    if mx:
        mx_end = ra.start() if ra else end
        if run_on and not ra:
            nc = _NOT_CITED.search(text, mx.end(), mx_end)
            if nc:
                mx_end = nc.end()
            rat_field = _field(text, mx_end, end)
        mx_field = _field(text, mx.end(), mx_end)
    if ra:
        rat_field = _field(text, ra.end(), end)
    return ca_field, mx_field, rat_field


def _item(service: TextField, decision: TextField,
          fields: tuple[TextField | None, TextField | None, TextField | None], citation: Citation,
          partial: tuple[TextField | None, TextField | None, TextField | None] = (None, None, None)) -> LetterItem:
    """A :class:`LetterItem` from its service and decision, the ``(claims administrator guideline,
    MAXIMUS guideline, rationale)`` fields, the parsed citation and, for a partial authorisation,
    ``(original request, authorized, remaining service)``."""
    ca_field, mx_field, rat_field = fields
    orig, auth, rem = partial
    return LetterItem(
        service=service,
        decision=decision,
        remaining_service=rem,
        original_request=orig,
        authorized=auth,
        claims_administrator_guideline=ca_field,
        maximus_guideline=mx_field,
        citation=citation,
        rationale=rat_field,
    )


# --------------------------------------------------------------------------- 2013 layout

_NOTICE_2013 = re.compile(r"Notice\s+of\s+Independent\s+Medical\s+Review\s+Determination", re.I)
_DETERMINED_2013 = re.compile(
    r"has\s+determined\s+the\s+request\s+for\s+(?P<service>.+?)\s+(?P<word>is\s+(?:not\s*)?medically\s+necessary)"
    r"(?:\s+and\s+appropriate)?\.",
    re.S | re.I,
)
_REGARDING_2013 = re.compile(
    r"(?:^[ \t]*\d+[.)][ \t]*)?Regarding\s+the\s+request\s+for\s+(?P<service>.+?)\s*:\s*\n", re.S | re.I | re.M
)
_CA_GUIDE_2013 = re.compile(r"Medical\s+Treatment\s+Guideline\(s\)\s+Used\s+by\s+the\s+Claims\s+Administrator[^:]*:")
_MAX_GUIDE_2013 = re.compile(r"Medical\s+Treatment\s+Guideline\(s\)\s+Used\s+by\s+the\s+Expert\s+Reviewer\s*:")
_RATIONALE_2013 = re.compile(r"Rationale\s+for\s+the\s+Decision\s*:")
_BOARD_2013 = re.compile(
    r"Board\s+Certified\s+in\s+(?P<spec>.+?)\s+and\s+is\s+licensed\s+to\s+practice\s+in\s+(?P<lic>.+?)\.", re.S
)
_SUMMARY_END_2013 = re.compile(r"(?:\d+\)\s*)?Regarding\s+the\s+request\s+for|INDEPENDENT MEDICAL REVIEW DECISION")
_MTUS_2013 = re.compile(
    r"MTUS\s+(?P<name>[A-Z][A-Za-z ,]+?)\s+(?:Guidelines\s+)?\(?(?P<year>(?:19|20)\d{2})\)?(?:,?\s*(?P<sec>[^.\n]*))?"
)


def _items_2013(text: str) -> tuple[LetterItem, ...]:
    """Items of the 2013 layout: one per numbered "has determined the request for" line."""
    decisions: list[re.Match[str]] = []
    seen: set[str] = set()
    for m in _DETERMINED_2013.finditer(text):
        key = _fold(m.group("service")).lower()
        if key in seen:
            continue  # the notice repeats its decision list
        seen.add(key)
        decisions.append(m)
    blocks = list(_REGARDING_2013.finditer(text))
    items: list[LetterItem] = []
    for i, m in enumerate(decisions):
        service = _field(text, m.start("service"), m.end("service"))
        if service is None:
            continue
        word = "Upheld" if re.search(r"not", m.group("word"), re.I) else "Overturned"
        decision = TextField(word, Span(m.start("word"), m.end("word")))
        fields: tuple[TextField | None, TextField | None, TextField | None] = (None, None, None)
        block = next((b for b in blocks if _fold(b.group("service")).lower() == service.text.lower()), None)
        if block is None and i < len(blocks):
            block = blocks[i]
        if block is not None:
            later = [b.start() for b in blocks if b.start() > block.start()]
            bend = later[0] if later else len(text)
            fields = _item_fields(text, _CA_GUIDE_2013.search(text, block.end(), bend),
                                  _MAX_GUIDE_2013.search(text, block.end(), bend),
                                  _RATIONALE_2013.search(text, block.end(), bend), bend)
        items.append(_item(service, decision, fields, _citation_2013(text, fields[1])))
    return tuple(items)


def _citation_2013(text: str, field: TextField | None) -> Citation:
    """Parse the expert reviewer's guideline line of a 2013 notice into a :class:`Citation`."""
    if field is None:
        return Citation("none")
    refs = []
    for g in _MTUS_2013.finditer(text, field.span.start, field.span.end):
        secs = _split_sections(g.group("sec") or "")
        refs.append(GuidelineRef(_fold(g.group("name")), int(g.group("year")), secs, Span(g.start(), g.end())))
    if refs:
        return Citation("mtus", tuple(refs))
    if not _NOT_CITED.search(field.text):
        return Citation("non_mtus", (), field)
    return Citation("none")


# --------------------------------------------------------------------------- entry point


def _layout(text: str) -> Layout:
    if _NOTICE_2013.search(text) and not _ISSUES_HEAD.search(text):
        return "2013"
    head = _HEADER_END.search(text)
    if _HEADER_LABELS["case_number"].search(text, 0, head.start() if head else 3000):
        return "2016"
    return "seed"


def parse_letter(text: LetterText) -> LetterRecord:
    """Parse the reviewer's record in a letter into a :class:`LetterRecord`.

    Input is the :class:`LetterText` from :func:`read_letter_text` (or one built
    from a string); it is not changed. Missing header fields come back as
    ``None``; items whose service cannot be delimited are skipped. All spans
    index ``text.text``.

    Raises :class:`kg.errors.LetterError` when the text holds no disputed item.

    >>> lt = LetterText(
    ...     "IMR ISSUES, DECISIONS AND RATIONALES\\n\\nMRI of the knee: Upheld\\n\\n"
    ...     "Claims Administrator guideline: Decision based on MTUS Knee Complaints 2004.\\n\\n"
    ...     "MAXIMUS guideline: Decision based on MTUS Knee Complaints 2004, Section(s): Special Studies.\\n\\n"
    ...     "Decision rationale: The request is not medically necessary.\\n", "x.txt")
    >>> rec = parse_letter(lt)
    >>> rec.layout, rec.items[0].service.text, rec.items[0].decision.text
    ('seed', 'MRI of the knee', 'Upheld')
    >>> rec.items[0].citation.mtus[0].sections
    ('Special Studies',)
    """
    t = text.text
    layout = _layout(t)
    if layout == "2013":
        hdr = _header(t, layout)
        items = _items_2013(t)
        board = _BOARD_2013.search(t)
        spec = _field(t, board.start("spec"), board.end("spec")) if board else None
        lic = _field(t, board.start("lic"), board.end("lic")) if board else None
    else:
        hdr = _header(t, layout) if layout == "2016" else {}
        items = _items_2016(t)
        cred_end = _SUMMARY_HEAD.search(t)
        lic, spec = _credentials(t, cred_end.end() if cred_end else min(len(t), 5000))
    if not items:
        raise LetterError(
            "no disputed item with a decision found",
            source=text.source,
            hint="check that this is a complete final determination letter",
        )
    summary = _summary_span(t, layout)

    def _t(name: str) -> TextField | None:
        v = hdr.get(name)
        return v if isinstance(v, TextField) else None

    def _d(name: str) -> DateField | None:
        v = hdr.get(name)
        return v if isinstance(v, DateField) else None

    return LetterRecord(
        source=text.source,
        layout=layout,
        case_number=_t("case_number"),
        date_assigned=_d("date_assigned"),
        date_of_injury=_d("date_of_injury"),
        decision_date=_d("decision_date"),
        ur_denial_date=_d("ur_denial_date"),
        priority=_t("priority"),
        application_received=_d("application_received"),
        licensure=lic,
        specialty=spec,
        summary_span=summary,
        items=items,
    )


def _summary_span(t: str, layout: Layout) -> Span | None:
    """Span of the clinical case summary body (boilerplate intro excluded)."""
    head = _SUMMARY_HEAD.search(t)
    if not head:
        return None
    start = head.end()
    intro = _SUMMARY_INTRO.match(t, start)
    if intro:
        start = intro.end()
    if layout == "2013":
        end_m = _SUMMARY_END_2013.search(t, start)
    else:
        end_m = _ISSUES_HEAD.search(t, start)
    end = end_m.start() if end_m else len(t)
    f = _field(t, start, end)
    return f.span if f else None
