"""The text toolkit extraction reads letters with: numbers, regions, dates, folded text, sentences,
clauses and the polarity of a mention.

Every extractor of :mod:`kg.extract` works the same way: the letter's clinical case summary is
*folded* (:class:`Folded`: whitespace runs become one space, with a map back to letter offsets),
cut into :class:`Sentence` s (:func:`split_sentences`, each with the first date it names) and
clauses (:func:`split_clauses`); regexes find mentions in them, :func:`assert_polarity` decides
whether a mention is documented present, documented absent or undecided, and
:class:`SummaryReader` turns a folded range back into :class:`~kg.model.Evidence` that slices
the letter text to its quote.

* numbers: :data:`WORD_NUMBERS`, :data:`NUM_RX` (a count in digits or words), :func:`parse_number`;
* body regions: :data:`REGION_RX`, :func:`regions_in`, :func:`first_region` (keys of ``kg.model.REGIONS``);
* dates: :data:`DATE_RX`, :data:`DATE`, :func:`parse_date`;
* folded text and sentences: :class:`Folded`, :class:`Sentence`, :func:`split_sentences`,
  :class:`SummaryReader`;
* polarity: :func:`assert_polarity`, :func:`split_clauses`.

Everything here is pure; the lexicon's patterns are read and compiled on first use
(:class:`~kg.extract.lexicon.LazyPattern`), the others at import time (cheap).
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from dataclasses import dataclass
from typing import Iterator

from kg.extract import sieve
from kg.extract.lexicon import LazyPattern, lazy_patterns
from kg.model import Evidence
from kg.read.letter import Span

__all__ = [
    "WORD_NUMBERS", "NUM_RX", "parse_number",
    "REGION_RX", "regions_in", "first_region",
    "DATE_RX", "DATE", "parse_date",
    "Folded", "Sentence", "split_sentences", "SummaryReader",
    "assert_polarity", "split_clauses",
]


# ---------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------
#: count words letters use, with their values ("twice" is 2)
WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "eighteen": 18, "twenty": 20, "twenty-four": 24, "once": 1, "twice": 2, "single": 1,
}
#: a regex (text, not compiled) for a count: one to three digits, or a count word ("twelve")
NUM_RX = r"(?:\d{1,3}|" + "|".join(sorted((w for w in WORD_NUMBERS if w not in ("once", "twice", "single")),
                                          key=len, reverse=True)) + r")"


def parse_number(word: str) -> int | None:
    """The value of a count in digits or words, or None.

    >>> parse_number("12"), parse_number(" Twelve "), parse_number("several")
    (12, 12, None)
    """
    word = word.lower().strip()
    if word.isdigit():
        return int(word)
    return WORD_NUMBERS.get(word)


# ---------------------------------------------------------------------------
# Regions
# ---------------------------------------------------------------------------
# Region words, most specific first.  Values are REGIONS keys.  Spinal level
# names (C5-6, L4-S1, T12) are matched case-sensitively, words are not.
_REGION_PATTERNS: tuple[tuple[str, str, str | None], ...] = (
    ("cervical", r"cervical|neck|trapezi\w*|cervicothoracic", r"C[1-7](?:\s?-\s?C?[1-7T]\d?)?"),
    ("thoracic", r"thoracic|mid[- ]back|upper back", r"T\d{1,2}(?:\s?-\s?[TL]?\d{1,2})?"),
    ("lumbar", r"lumbar|lumbosacral|low(?:er)? back|back|sacroiliac|sciatica|lumbago|buttocks?|L-spine",
     r"L[1-5](?:\s?-\s?[LS]?[1-5])?"),
    ("shoulder", r"shoulders?|rotator cuff|acromio\w*|subacromial|labral|scapul\w*", None),
    ("elbow", r"elbows?|epicondyl\w*|olecranon|radial head|radius head", None),
    ("wrist_hand", r"wrists?|hands?|fingers?|thumbs?|forearms?|carpal|digits?|interphalangeal|radius|ulna", None),
    ("hip", r"hips?|groin|trochanter\w*|pelvi\w*", None),
    ("knee", r"knees?|menisc\w*|patell\w*|ACL|cruciate", None),
    ("ankle_foot", r"ankles?|feet|foot|toes?|heel|Lisfranc|plantar|calcane\w*|metatars\w*", None),
    ("head", r"head|face|facial|scalp|skull|concussion|headaches?|cephalgia|cephalalgia", None),
)
#: (region key, words regex, spinal levels regex or None), most specific region first
REGION_RX = tuple(
    (key, sieve.compile(rf"\b(?:{words})\b", re.I), sieve.compile(rf"\b(?:{levels})\b") if levels else None)
    for key, words, levels in _REGION_PATTERNS)


def regions_in(text: str) -> list[str]:
    """Region keys named in ``text``, in order of first mention.

    >>> regions_in("MRI of the right shoulder and cervical spine")
    ['shoulder', 'cervical']
    >>> regions_in("disc bulge at L4-5 with upper back pain")
    ['lumbar', 'thoracic']
    """
    found: list[tuple[int, str]] = []
    for key, words, levels in REGION_RX:
        hits = [m for m in words.finditer(text)]
        if key == "lumbar":
            hits = [m for m in hits if not (m.group(0).lower() == "back"
                                            and sieve.search(r"(?:upper|mid)[- ]$", text[:m.start()], re.I))]
        if levels is not None:
            hits += list(levels.finditer(text))
        if hits:
            found.append((min(m.start() for m in hits), key))
    out: list[str] = []
    for _, key in sorted(found):
        if key not in out:
            out.append(key)
    return out


def first_region(text: str) -> str | None:
    """The region named first in ``text`` (see :func:`regions_in`), or None.

    >>> first_region("pain in the left knee and hip"), first_region("no region here")
    ('knee', None)
    """
    found = regions_in(text)
    return found[0] if found else None


# ---------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------
_MONTHS = {m: i + 1 for i, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"))}
_MONTH_RX = "|".join(list(_MONTHS) + ["jan", "feb", "mar", "apr", "jun", "jul", "aug", "sept", "sep", "oct", "nov",
                                      "dec"])
#: a regex (text, not compiled) for a date as letters print it ("10-13-16", "October 20, 2016")
DATE_RX = (rf"(?:\d{{1,2}}\s?[/-]\s?\d{{1,2}}\s?[/-]\s?(?:\d{{4}}|\d{{2}})(?![\d/])"
           rf"|(?:{_MONTH_RX})\.?\s+\d{{1,2}},?\s+\d{{4}})")
#: :data:`DATE_RX` compiled, case-insensitive
DATE = sieve.compile(DATE_RX, re.I)


def parse_date(s: str) -> _dt.date | None:
    """Parse a date as letters print it; None when it is no valid date.

    >>> parse_date("10-13-16"), parse_date("October 20, 2016"), parse_date("10/10/ 2016")
    (datetime.date(2016, 10, 13), datetime.date(2016, 10, 20), datetime.date(2016, 10, 10))
    """
    s = s.strip()
    m = sieve.fullmatch(r"(\d{1,2})\s?[/-]\s?(\d{1,2})\s?[/-]\s?(\d{4}|\d{2})", s)
    try:
        if m:
            mo, d, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
            if y < 100:
                y += 2000 if y < 70 else 1900
            return _dt.date(y, mo, d)
        m = sieve.fullmatch(r"([A-Za-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})", s)
        if m:
            name = m.group(1).lower()
            month = _MONTHS.get(name) or next((v for k, v in _MONTHS.items() if k.startswith(name[:3])), None)
            if month:
                return _dt.date(int(m.group(3)), month, int(m.group(2)))
    except ValueError:
        return None
    return None


# ---------------------------------------------------------------------------
# The folded summary: regexes run over single-spaced text, offsets map back
# ---------------------------------------------------------------------------
_WORD = sieve.compile(r"\S+")  # \s is what str.isspace() calls whitespace


class Folded:
    """A span of the letter with whitespace runs folded to one space, and a map back to letter offsets.

    ``s`` is the folded text, ``pos[i]`` the letter offset of ``s[i]``, ``text`` the letter text.

    >>> f = Folded("a  b\\n c", 0, 7)
    >>> f.s, f.span(2, 5)
    ('a b c', (3, 7))
    """

    def __init__(self, text: str, start: int, end: int) -> None:
        # each run of non-space characters is kept; each whitespace run between two of them
        # becomes one space at the run's first offset (leading and trailing whitespace go)
        parts: list[str] = []
        pos: list[int] = []
        last = -1  # where the previous run ended
        for m in _WORD.finditer(text, start, end):
            a, b = m.span()
            if last >= 0:
                parts.append(" ")
                pos.append(last)
            parts.append(m.group())
            pos.extend(range(a, b))
            last = b
        self.s = "".join(parts)
        self.pos = pos
        self.text = text

    def span(self, a: int, b: int) -> tuple[int, int]:
        """Letter offsets of the folded range [a, b), trimmed of spaces; ValueError when it holds only spaces."""
        while a < b and self.s[a] == " ":
            a += 1
        while b > a and self.s[b - 1] == " ":
            b -= 1
        if a >= b:
            raise ValueError("empty span")
        return self.pos[a], self.pos[b - 1] + 1


@dataclass(frozen=True)
class Sentence:
    """One sentence of a folded text: its folded offsets [start, end), its text and the first date it names."""

    start: int  # folded offsets
    end: int
    text: str
    date: _dt.date | None = None


_ABBREV = sieve.compile(r"(?:\b(?:Dr|Mr|Mrs|Ms|vs|e\.g|i\.e|approx|No|St|Jr|etc|mg|Fig|al))\.$", re.I)
_SENTENCE_END = sieve.compile(r"[.!?](?:[\"')\]])?\s+(?=[A-Z0-9\"(])")
_DECIMAL_END = sieve.compile(r"\d\.$")
_DIGIT = sieve.compile(r"\d")


def split_sentences(f: Folded) -> list[Sentence]:
    """The sentences of a folded text, each dated by the first date it names.

    Abbreviations ("Dr.", "e.g.") and decimals ("2.5") do not end a sentence.

    >>> t = "Seen by Dr. Lee on 1-2-16. No pain."
    >>> [(s.text, s.date) for s in split_sentences(Folded(t, 0, len(t)))]
    [('Seen by Dr. Lee on 1-2-16.', datetime.date(2016, 1, 2)), ('No pain.', None)]
    """
    cuts: list[tuple[int, int, str]] = []
    s = f.s
    start = 0
    for m in _SENTENCE_END.finditer(s):
        end = m.start() + 1
        if _ABBREV.search(s, start, end) or _DECIMAL_END.search(s, start, end) and _DIGIT.match(s, m.end()):
            continue
        cuts.append((start, m.end(), s[start:m.end()].rstrip()))
        start = m.end()
    if start < len(s):
        cuts.append((start, len(s), s[start:]))
    out = []
    for a, b, text in cuts:
        dm = DATE.search(text)
        out.append(Sentence(a, b, text, parse_date(dm.group(0)) if dm else None))
    return out


@functools.lru_cache(maxsize=4)
def _summary(text: str, start: int, end: int) -> tuple[Folded, tuple[Sentence, ...]]:
    """The span [start, end) of ``text`` folded, and its sentences: made once for the base
    extractor and every area enricher reading the same letter (neither is changed by a reader)."""
    f = Folded(text, start, end)
    return f, tuple(split_sentences(f))


class SummaryReader:
    """A letter's clinical case summary, folded and cut into sentences, that quotes the letter as evidence.

    The base extractor and the area enrichers read the summary through this.  ``t`` is the
    letter text, ``f`` the summary ``span`` of it folded (:class:`Folded`; empty when the letter
    has no summary), ``sents`` the summary's sentences and ``doc`` the document id the evidence
    names.
    """

    def __init__(self, text: str, span: Span | None, document: str) -> None:
        self.t = text
        f, sents = _summary(text, span.start, span.end) if span is not None else _summary("", 0, 0)
        self.f = f
        self.sents = list(sents)
        self.doc = document

    def ev(self, a: int, b: int) -> Evidence:
        """Evidence for the folded summary range [a, b) (ValueError when it holds only spaces)."""
        s, e = self.f.span(a, b)
        return self.ev_letter(s, e)

    def ev_letter(self, s: int, e: int) -> Evidence:
        """Evidence for a letter range [s, e) (a header field, an item heading, or a summary range)."""
        return Evidence(document=self.doc, quote=" ".join(self.t[s:e].split()), start=s, end=e)


# ---------------------------------------------------------------------------
# Assertion (polarity)
# ---------------------------------------------------------------------------
_PRE_NEG = LazyPattern("text", "pre_neg")
_POST_NEG = LazyPattern("text", "post_neg")
_POST_POS = sieve.compile(r"^[^.;]{0,30}?\b(?:was|were|is|are)\s+positive\b", re.I)
_PRE_POS = sieve.compile(r"\bpositive(?:\s+for)?\s*$", re.I)
(_UNCERTAIN, _CLAUSE_BREAK, _ABNORMAL, _NORMAL, _NEG_AFTER_FUNCTION, _NEG_BEFORE_FUNCTION) = lazy_patterns(
    "text", "uncertain", "clause_break", "abnormal", "normal", "neg_after_function", "neg_before_function")


def assert_polarity(clause: str, start: int, end: int, mode: str) -> str | None:
    """Polarity of the mention ``clause[start:end]``: ``"present"``, ``"absent"`` or None (undecided).

    ``mode`` is ``"sign"`` (present unless negated), ``"test"`` (a provocative test: positive or
    negative) or ``"function"`` (a neurological function: an abnormal value is a deficit present,
    a normal one a deficit absent).  A mention that is hypothetical ("rule out", "possible") or
    only said to be undocumented ("no documentation of") is undecided.

    >>> assert_polarity("Motor strength, sensation, and reflexes were normal", 16, 25, "function")
    'absent'
    >>> assert_polarity("There was decreased sensation in the L5 dermatome", 20, 29, "function")
    'present'
    >>> assert_polarity("There was no tenderness, spasm or trigger points", 25, 30, "sign")
    'absent'
    >>> assert_polarity("Straight leg raise was negative bilaterally", 0, 18, "test")
    'absent'
    >>> assert_polarity("There was no documentation of a twitch response", 32, 38, "sign") is None
    True
    >>> assert_polarity("Sensory examination showed no deficit", 0, 19, "function")
    'absent'
    >>> assert_polarity("There was insufficient documentation of sensory deficits", 40, 47, "function") is None
    True
    """
    before, after = clause[:start], clause[end:]
    if _UNCERTAIN.search(before[-60:]) or _UNCERTAIN.search(after[:25]):
        return None
    if mode == "function":
        return _function_polarity(clause, start, end)
    if mode == "test":
        return _test_polarity(clause, before, after)
    return _sign_polarity(before, after)


def _function_polarity(clause: str, start: int, end: int) -> str | None:
    """Polarity of a neurological function's deficit: abnormal and normal values near the mention decide."""
    before, after = clause[:start], clause[end:]
    # "sensory examination showed no deficit", "sensation revealed no abnormality": the negation follows
    if _NEG_AFTER_FUNCTION.match(after):
        return "absent"
    # "no motor or sensory deficit", "no sensory, motor weakness or reflex asymmetry"
    neg = _NEG_BEFORE_FUNCTION.search(before)
    if neg is not None and _ABNORMAL.search(clause, end, min(len(clause), end + 45)) is not None:
        return "absent"
    if neg is not None and sieve.match(r"\s*(?:deficits?|loss|weakness|changes?|asymmetry)\b", after, re.I):
        return "absent"
    if neg is not None and sieve.search(r"\b(?:deficits?|loss|weakness|asymmetry|abnormalit\w+|decreased?|diminished|"
                                        r"reduced)\b", before[neg.start():], re.I):
        return "absent"  # "no deficits in sensory and motor nerve distributions"
    copula = sieve.match(r"\s*(?:is|are|was|were)\s+(?:\w+\s+){0,2}?", after, re.I)
    if copula is not None:  # "reflexes are 2+", "sensation was slightly diminished"
        for rx, value in ((_ABNORMAL, "present"), (_NORMAL, "absent")):
            if rx.match(after, copula.end()):
                return value
    best: tuple[int, str] | None = None
    for rx, value in ((_ABNORMAL, "present"), (_NORMAL, "absent")):
        for m in rx.finditer(clause):
            if start <= m.start() < end:
                continue
            d = start - m.end() if m.end() <= start else m.start() - end
            if d < 0 or d > 60:
                continue
            if best is None or d < best[0]:
                best = (d, value)
    if best is not None:
        return best[1]
    if sieve.search(r"\b(?:no|without)\b[^.]{0,40}$", before, re.I) and \
            sieve.search(r"deficit|loss|change", after[:20], re.I):
        return "absent"
    return None


def _test_polarity(clause: str, before: str, after: str) -> str | None:
    """Polarity of a provocative or nerve tension test: "positive" and "negative" near the mention decide."""
    if _PRE_POS.search(before[-25:]) or _POST_POS.search(after):
        return "present"
    if sieve.search(r"\bnegative\b(?:(?!\bpositive\b)[^;,]){0,35}$", before, re.I) or _POST_NEG.search(after) or \
            sieve.match(r"^[^.;]{0,15}\bnegative\b", after, re.I):
        return "absent"
    if sieve.search(r"\bpositive\b", clause, re.I) and not sieve.search(r"\bnegative\b", clause, re.I):
        return "present"
    return None


def _sign_polarity(before: str, after: str) -> str:
    """Polarity of a sign: present unless a negation cue stands before it, or a negative one after it."""
    neg = None
    for m in _PRE_NEG.finditer(before):
        neg = m
    if neg is not None and len(before) - neg.end() <= 45:
        between = before[neg.end():]
        if not sieve.search(r"\b(?:with|there (?:was|were|is)|and (?:there|he|she))\b", between, re.I):
            return "absent"
    if _POST_NEG.search(after):
        return "absent"
    return "present"


def split_clauses(sentence: str) -> Iterator[tuple[int, str]]:
    """(offset, text) of the clauses of a sentence, split at ';', 'but', 'however' ...

    >>> list(split_clauses("Tenderness was noted; there was no spasm"))
    [(0, 'Tenderness was noted'), (21, ' there was no spasm')]
    """
    last = 0
    for m in _CLAUSE_BREAK.finditer(sentence):
        yield last, sentence[last:m.start()]
        last = m.end()
    yield last, sentence[last:]

