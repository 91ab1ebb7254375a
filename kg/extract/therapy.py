"""Physical medicine facts from a letter's clinical case summary: prior therapy courses.

An area enricher for :func:`kg.extract.case.extract_case` (it calls :func:`enrich`).  The
physical medicine sections (``shapes/mtus-cpmtg-physical-*.ttl``,
``shapes/mtus-acupuncture-2007.ttl``) count visits per discipline and ask whether the
therapy already given brought functional improvement, so this module reads, from the
**clinical case summary only**:

* **prior courses** of physical or occupational therapy, chiropractic or manual therapy,
  and acupuncture, with the number of visits the summary gives ("completed 6 sessions of
  physical therapy", "the medical records included 7 physical therapy reports",
  "at least five (5) physical therapy sessions"), one :class:`~kg.model.Treatment` per
  mention (the derivation rules of ``ontology/physical-medicine.ttl`` read several
  mentions of one course as one course, taking the largest count);
* the **outcome** of each course, with the 8 C.C.R. 9792.20(e) definition in mind:
  ``functional_improvement`` only for gains in function, activities of daily living, work
  status, range of motion or strength; ``no_functional_improvement`` and ``failed`` for a
  course documented as without benefit; relief of pain alone is ``effective`` or
  ``partial_relief`` and does not count as functional improvement;
* the **visits UR authorised out of the request under review** ("the original utilization
  review modified the request for physical therapy to 6 sessions"), marked with the
  outcome ``authorized_by_ur``: they belong to the course and their result is unknown.
  When the summary says the request was modified without the number, the authorised part
  is recorded without a count (the course total is then unknown).  The item heading's
  "... was authorized by the Claims Administrator" is not read: facts come from the summary;
* a **home exercise program documented as not enough** ("despite a home exercise program",
  "unable to perform home exercises", "requires supervised therapy"), with the outcome
  ``home_program_insufficient``: the reason the schedule's hand-over to self-directed home
  physical medicine leaves for further supervised visits;
* a **complex regional pain syndrome** diagnosis (its visit schedule is longer);
* an **examination documented as normal** ("the physical examination documented no abnormal
  objective findings", "full range of motion", "range of motion within normal limits"): a
  ``normal_examination`` finding, or a ``limited_range_of_motion`` finding documented absent, of
  the region the clause names: the clinical picture physical medicine criterion 4 reads.

Sentences about the request itself ("requested", "recommended", "plan") give no prior
course.  Every fact carries :class:`~kg.model.Evidence` whose offsets slice the letter
text.  Pure: returns a new :class:`~kg.extract.result.LetterCase`; nothing is read at import time.

>>> _count_before("completed six (6) sessions of physical therapy", 35)
6
>>> _outcomes("physical therapy improved her range of motion and ability to lift")
('functional_improvement',)
>>> _outcomes("eight sessions of physical therapy which were not beneficial")
('failed', 'no_functional_improvement')
>>> _outcomes("physical therapy was helping with pain")
('effective',)
>>> [m.group(0) for m in _FULL_ROM.finditer("full range of motion, range of motion within normal limits")]
['full range of motion', 'range of motion within normal limits']
>>> bool(_NORMAL_EXAM.search("The physical examination documented no abnormal objective findings."))
True
"""

from __future__ import annotations

import dataclasses
import re
from typing import Iterable

from kg.extract import sieve
from kg.extract.lexicon import LazyPattern, lazy_patterns
from kg.extract.result import LetterCase
from kg.extract.text import NUM_RX, SummaryReader, first_region, parse_number, regions_in
from kg.model import Diagnosis, Finding, Treatment

__all__ = ["enrich", "DISCIPLINES"]

# Discipline key (a treatment kind) -> pattern naming it.  Chiropractic first: "chirophysio".
DISCIPLINES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("chiropractic", sieve.compile(r"\bchiro\w*(?:\s+physio\s?therap\w*)?|\bmanipulation|\bmanual therapy|"
                                   r"\bchiropractor", re.I)),
    ("acupuncture", sieve.compile(r"\bacupuncture|\belectro-?acupuncture", re.I)),
    ("occupational_therapy", sieve.compile(r"\boccupational therap\w*|\bOT\b", re.I)),
    ("physical_therapy", sieve.compile(r"\bphysical therap\w*|\bPT\b|\bphysio\s?therap\w*|\btherapeutic exercises?|"
                                       r"\bhand therapy|\bphysical medicine", re.I)),
)
_UNIT = r"(?:sessions?|visits?|treatments?|reports?|appointments?)"
_COUNT = sieve.compile(rf"(?<![\w-])(?P<n>{NUM_RX}|"
                       rf"#\s*\d{{1,2}})(?![\w-])\s*(?:\(\s*\d{{1,2}}\s*\)\s*)?(?:[\w()-]+\s+){{0,4}}?{_UNIT}\b", re.I)
_COUNT_AFTER = sieve.compile(rf"^\s*(?:x|times|#)\s*(?P<n>\d{{1,2}})\b|^\s*\(\s*(?P<p>\d{{1,2}})\s*{_UNIT}?\s*\)", re.I)
_REQUESTED = LazyPattern("therapy", "requested")
_AUTHORIZED = LazyPattern("therapy", "authorized")
_NEGATED_AUTH = sieve.compile(r"\bnon-?\s?certif\w*|\bnot (?:been )?(?:authoriz|certif|approv)\w*|\bdenied\b", re.I)
_THIS_REVIEW = LazyPattern("therapy", "this_review")

_FI, _NO_FI, _FAILED, _PARTIAL, _EFFECTIVE = lazy_patterns("therapy", "fi", "no_fi", "failed", "partial", "effective")
_NEGATED = sieve.compile(r"\b(?:no|not|never|without|denie[sd]|nor|neither)\b(?:\s+\w+){0,3}\s*$", re.I)
_UNDOCUMENTED = LazyPattern("therapy", "undocumented")
_UR_DECISION = sieve.compile(r"\butilization review\b|\bUR\b|\bnot medically necessary\b|\bdetermined\b", re.I)
# a clause saying the care has not been given yet: "has not undergone conservative care as 6 sessions
# of physical therapy was certified", "had not started physical therapy yet"
_NOT_DONE = LazyPattern("therapy", "not_done")
# a self-directed home program named, and a statement that it is not enough (the exception the
# schedule's "fading ... plus active self-directed home physical medicine" leaves)
_HOME = LazyPattern("therapy", "home")
_HOME_NOT_ENOUGH = LazyPattern("therapy", "home_not_enough")
# an examination documented as normal: full range of motion of a region, or no abnormal findings
# at all ("neurological examination was normal" speaks of the nerves only and is not read here)
_FULL_ROM, _NORMAL_EXAM, _NOT_FULL = lazy_patterns("therapy", "full_rom", "normal_exam", "not_full")
_CRPS = sieve.compile(r"\bCRPS\b|complex regional pain syndrome|reflex sympathetic dystrophy|\bRSD\b", re.I)


def _outcomes(text: str) -> tuple[str, ...]:
    """Outcome keys a sentence states about a therapy (9792.20(e) reading, see the module doc).

    A statement that something is *not documented* ("without documentation of functional
    improvement") states no outcome.
    """
    if _UNDOCUMENTED.search(text):
        return ()
    if _NO_FI.search(text):
        return ("failed", "no_functional_improvement") if _FAILED.search(_NO_FI.sub(" ", text)) else \
            ("no_functional_improvement",)
    if _FI.search(text):
        return ("functional_improvement",)
    if _FAILED.search(text) and not _PARTIAL.search(text):
        return ("failed", "no_functional_improvement")
    if _PARTIAL.search(text):
        return ("partial_relief",)
    if _EFFECTIVE.search(text):
        return ("effective",)
    return ()


def _count_before(clause: str, at: int) -> int | None:
    """The visit count stated for the discipline named at ``clause[at:]``, or None.

    Looks for "<n> ... sessions/visits/treatments/reports" ending within 40 characters
    before or after the discipline, or "x <n>" / "(<n> sessions)" right after it.
    """
    best: tuple[int, int] | None = None
    for m in _COUNT.finditer(clause):
        d = at - m.end() if m.end() <= at else m.start() - at
        if -60 <= d <= 40 or m.start() <= at <= m.end():
            raw = m.group("n").lstrip("#").strip()
            n = parse_number(raw)
            if n is not None and 0 < n <= 60 and (best is None or abs(d) < best[0]):
                best = (abs(d), n)
    if best is not None:
        return best[1]
    tail = clause[at:]
    word = sieve.match(r"\S+(?:\s+therap\w*)?", tail)
    after = _COUNT_AFTER.match(tail[word.end():] if word else tail)
    if after:
        n = int(after.group("n") or after.group("p"))
        return n if 0 < n <= 60 else None
    return None


def _authorized_here(clause: str, a: int, b: int) -> bool:
    """Is the therapy named at ``clause[a:b]`` the part UR authorised (not the part it denied)?

    The nearest decision word before the mention decides; without one, the first after it.
    """
    before = clause[max(0, a - 100):a]
    pos = [m.end() for m in _AUTHORIZED.finditer(before)]
    neg = [m.end() for m in _NEGATED_AUTH.finditer(before)]
    if pos or neg:
        return max(pos, default=-1) > max(neg, default=-1)
    after = clause[b:b + 100]
    p = _AUTHORIZED.search(after)
    n = _NEGATED_AUTH.search(after)
    return p is not None and (n is None or p.start() < n.start())


def _discipline_mentions(text: str) -> list[tuple[str, int, int]]:
    """(discipline, start, end) of every therapy named in ``text`` (chiropractic wins overlaps)."""
    out: list[tuple[str, int, int]] = []
    taken: list[tuple[int, int]] = []
    for key, rx in DISCIPLINES:
        for m in rx.finditer(text):
            if any(a <= m.start() < b or m.start() <= a < m.end() for a, b in taken):
                continue
            out.append((key, m.start(), m.end()))
            taken.append((m.start(), m.end()))
    return sorted(out, key=lambda t: t[1])


def _clauses(text: str) -> Iterable[tuple[int, str]]:
    """(offset, text) of the clauses of a therapy sentence: split at ';', 'but', 'however', and at
    ', and' before a new statement ("..., and she completed 6 sessions")."""
    last = 0
    for m in sieve.finditer(r";|\bbut\b|\bhowever\b|, and (?=(?:the |she |he |they |it )?(?:was|were|had|has|is|"
                            r"received|completed))", text, re.I):
        yield last, text[last:m.start()]
        last = m.end()
    yield last, text[last:]


class _Reader(SummaryReader):
    """The therapy facts of one letter case's summary."""

    def __init__(self, lc: LetterCase) -> None:
        super().__init__(lc.text.text, lc.record.summary_span, lc.document)
        self.lc = lc
        self.n = 0
        c = lc.case
        self.used = {x.id for group in (c.diagnoses, c.findings, c.symptoms, c.treatments, c.studies, c.requests)
                     for x in group}

    def next_id(self, prefix: str) -> str:
        """A fresh fact id: the prefix and a running count, skipping ids the case already has."""
        while True:
            self.n += 1
            ident = f"{prefix}{self.n}"
            if ident not in self.used:
                self.used.add(ident)
                return ident

    # -- prior courses and UR authorisations -------------------------------------------
    def courses(self) -> tuple[list[Treatment], dict[str, list[Treatment]]]:
        """Prior-course treatments, and the UR authorisations of this dispute by discipline."""
        prior: list[Treatment] = []
        authorized: dict[str, list[Treatment]] = {}
        outcome_by_kind: dict[str, list[tuple[str, ...]]] = {}
        last_kind: str | None = None
        for sent in self.sents:
            text = sent.text
            mentions = _discipline_mentions(text)
            if not mentions:
                # "It helped with her range of motion." right after a therapy sentence
                if last_kind and sieve.match(r"\s*(?:It|This|The (?:therapy|treatment|sessions?))\b", text) and \
                        not _REQUESTED.search(text):
                    o = _outcomes(text)
                    if o:
                        outcome_by_kind.setdefault(last_kind, []).append(o)
                        prior.append(self._treatment(last_kind, None, o, sent.start, sent.end, text))
                last_kind = None
                continue
            requested = bool(_REQUESTED.search(text))
            this_review = bool(_THIS_REVIEW.search(text)) and bool(_AUTHORIZED.search(text))
            if not this_review and _UR_DECISION.search(text):
                last_kind = None
                continue  # the UR decision on the request: no prior course
            for coff, clause in _clauses(text):
                for kind, a, b in _discipline_mentions(clause):
                    if _NEGATED.search(clause[max(0, a - 40):a]) or _NOT_DONE.search(clause):
                        continue  # "no prior chiropractic therapy", "has not undergone conservative care as ..."
                    n = _count_before(clause, a)
                    c_a, c_b = sent.start + coff, sent.start + coff + len(clause)
                    if this_review and _AUTHORIZED.search(clause) and _authorized_here(clause, a, b):
                        authorized.setdefault(kind, []).append(self._authorized(kind, clause, a, c_a, c_b))
                        continue
                    if requested:
                        # "previously approved for 8 sessions" in a sentence that also names the request
                        if n is not None and sieve.search(r"\b(?:previously|prior|already|had|has had|completed|"
                                                          r"attended|undergone|received)\b",
                                                          clause[max(0, a - 80):a + 80], re.I) \
                                and not _REQUESTED.search(clause[max(0, a - 60):b + 60]):
                            prior.append(self._treatment(kind, n, _outcomes(clause), c_a, c_b, clause))
                        continue
                    o = _outcomes(clause)
                    if n is None and not o and not sieve.search(
                            r"\b(?:prior|previous|previously|had|has had|completed|attended|undergone|underwent|"
                            r"received|included|includes|include|tried|to date|course)\b", text, re.I):
                        continue
                    if o:
                        outcome_by_kind.setdefault(kind, []).append(o)
                    prior.append(self._treatment(kind, n, o, c_a, c_b, clause))
                last_kind = mentions[-1][0]
        # an outcome stated once for a course applies to its other mentions
        out = []
        for t in prior:
            if not t.outcomes and outcome_by_kind.get(t.kind):
                merged: list[str] = []
                for o in outcome_by_kind[t.kind]:
                    merged += [x for x in o if x not in merged]
                t = dataclasses.replace(t, outcomes=tuple(merged))
            out.append(t)
        return out, authorized

    def _authorized(self, kind: str, clause: str, a: int, c_a: int, c_b: int) -> Treatment:
        """The visits of ``kind`` UR authorised, named at ``clause[a:]`` (folded range [c_a, c_b)).

        With the number ("modified the request to 6 sessions") the treatment has it as sessions;
        without it ("the request was modified") it is the authorised part of the course, count unknown.
        """
        n = self._authorized_count(clause, a)
        what = f"{n} visits" if n is not None else "part"
        region = first_region(clause[a:]) or (first_region(clause) if n is not None else None)
        label = f"{kind.replace('_', ' ')}: {what} authorised by UR"
        return Treatment(id=self.next_id("ther-ur"), kind=kind, label=label, outcomes=("authorized_by_ur",), sessions=n,
                         region=region, evidence=(self.ev(c_a, c_b),))

    def _authorized_count(self, clause: str, at: int) -> int | None:
        """The number of visits UR authorised, as the clause states it, or None."""
        pats = (
            rf"(?:modifi\w+|reduced|"
            rf"changed)\s+(?:[\w,()#-]+\s+){{0,8}}?to\s+(?:allow\s+(?:for\s+)?)?(?:an?\s+)?(?:initial\s+)?"
            rf"(?:trial\s+of\s+)?(?:\w+\s+)?(?P<n>{NUM_RX}|#\s*\d{{1,2}})\b",
            rf"(?:modification|authoriz\w+|certif\w+|approv\w+|allow\w*)\s+(?:for\s+)?(?:of\s+)?(?:an?\s+|"
            rf"the\s+)?(?:initial\s+)?(?:trial\s+of\s+)?(?P<n>{NUM_RX}|#\s*\d{{1,2}})\s+(?:[\w-]+\s+){{0,4}}?{_UNIT}",
            rf"(?<![\w-])(?P<n>{NUM_RX}|#\s*\d{{1,2}})\s*(?:[\w()-]+\s+){{0,10}}?(?:was|were)\s+(?:authoriz|certif|"
            rf"approv)\w*",
            r"(?:#|,\s*#)\s*(?P<n>\d{1,2})\s+(?:was|were)\s+(?:authoriz|certif|approv)\w*",
        )
        for p in pats:
            for m in sieve.finditer(p, clause, re.I):
                n = parse_number(m.group("n").lstrip("#").strip())
                if n is not None and 0 < n <= 60:
                    return n
        return None

    def _treatment(self, kind: str, n: int | None, outcomes: tuple[str, ...], a: int, b: int, clause: str) -> Treatment:
        """A prior course of ``kind`` (``n`` visits when known) with its outcomes and evidence."""
        if b - a > 260:
            b = a + 260
        regions = regions_in(clause)
        label = f"prior {kind.replace('_', ' ')}" + (f", {n} visits" if n else "")
        return Treatment(id=self.next_id("ther-tx"), kind=kind, label=label, outcomes=outcomes, sessions=n,
                         region=regions[0] if len(regions) == 1 else None, evidence=(self.ev(a, b),))

    def home_program_insufficient(self) -> list[Treatment]:
        """A home exercise program the summary documents as not enough ("despite a home exercise
        program", "unable to perform his home exercises", "requires supervised therapy"), one per
        sentence, with the outcome ``home_program_insufficient``.  A sentence saying the reason
        is *not* documented, or reporting the UR decision, gives none."""
        out: list[Treatment] = []
        for sent in self.sents:
            text = sent.text
            home = _HOME.search(text)
            if home is None or _UNDOCUMENTED.search(text) or _UR_DECISION.search(text):
                continue
            for coff, clause in _clauses(text):
                h = _HOME.search(clause)
                m = _HOME_NOT_ENOUGH.search(clause)
                if h is None or m is None or _NEGATED.search(clause[max(0, m.start() - 25):m.start()]):
                    continue
                if m.group(0).lower() == "despite" and m.start() > h.start():
                    continue  # "despite" must govern the home program ("pain persists despite home exercise")
                a = sent.start + coff
                out.append(Treatment(id=self.next_id("ther-hep"), kind="home_exercise",
                                     label="home exercise program: documented as not enough",
                                     outcomes=("home_program_insufficient",), region=first_region(clause),
                                     evidence=(self.ev(a, a + min(len(clause), 260)),)))
                break
        return out

    def normal_examination(self) -> list[Finding]:
        """Examinations documented as normal: a ``normal_examination`` finding for "no abnormal
        objective findings" or "the physical examination was unremarkable", and a
        ``limited_range_of_motion`` finding documented absent for "full range of motion" or "range of
        motion within normal limits", each of the region its clause names (None when it names
        none).  A sentence saying findings are *not documented*, or reporting the UR decision, gives
        none."""
        out: list[Finding] = []
        for sent in self.sents:
            text = sent.text
            if _UNDOCUMENTED.search(text) or _UR_DECISION.search(text) or _REQUESTED.search(text):
                continue
            for coff, clause in _clauses(text):
                for kind, status, rx in (("normal_examination", "present", _NORMAL_EXAM),
                                         ("limited_range_of_motion", "absent", _FULL_ROM)):
                    m = rx.search(clause)
                    if m is None or _NOT_FULL.search(clause[max(0, m.start() - 20):m.start()]) or \
                            sieve.search(r"\b(?:not|less|nearly|almost)\b", m.group(0), re.I):
                        continue
                    a = sent.start + coff
                    out.append(Finding(id=self.next_id("ther-f"), kind=kind, status=status,
                                       label=" ".join(m.group(0).split()), region=first_region(clause),
                                       date=sent.date, evidence=(self.ev(a, a + min(len(clause), 260)),)))
        return out

    def crps(self) -> list[Diagnosis]:
        """A complex regional pain syndrome diagnosis, when the summary names one (not ruled out)."""
        for sent in self.sents:
            m = _CRPS.search(sent.text)
            if m and not sieve.search(r"\brule out\b|\br/o\b|\bno\b|"
                                      r"\bnegative\b", sent.text[max(0, m.start() - 30):m.start()], re.I):
                return [Diagnosis(id=self.next_id("ther-dx"), label="complex regional pain syndrome", kind="crps",
                                  evidence=(self.ev(sent.start + m.start(), sent.start + m.end()),))]
        return []


_SERVICE_DISCIPLINE = {"physical_therapy": "physical_therapy", "occupational_therapy": "occupational_therapy",
                       "chiropractic": "chiropractic", "manual_therapy": "chiropractic", "acupuncture": "acupuncture"}
_SAME_DISCIPLINE = {"physical_therapy": {"physical_therapy", "occupational_therapy"},
                    "occupational_therapy": {"physical_therapy", "occupational_therapy"},
                    "chiropractic": {"chiropractic"}, "acupuncture": {"acupuncture"}}


def enrich(lc: LetterCase) -> LetterCase:
    """Add prior therapy courses, UR-authorised visits, a CRPS diagnosis and normal examinations found in the summary.

    Returns a new :class:`~kg.extract.result.LetterCase`; ``lc`` is not changed.
    """
    if lc.record.summary_span is None:
        return lc
    r = _Reader(lc)
    prior, authorized = r.courses()
    added: list[Treatment] = list(prior) + r.home_program_insufficient()
    for ts in authorized.values():
        added.extend(ts)
    diagnoses = lc.case.diagnoses
    if not any(d.kind == "crps" for d in diagnoses):
        diagnoses = diagnoses + tuple(r.crps())
    normal = tuple(r.normal_examination())
    if not added and diagnoses == lc.case.diagnoses and not normal:
        return lc
    case = dataclasses.replace(lc.case, treatments=lc.case.treatments + tuple(added), diagnoses=diagnoses,
                               findings=lc.case.findings + normal)
    return dataclasses.replace(lc, case=case)
