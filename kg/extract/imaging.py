"""Facts the ACOEM 2004 Special Studies criteria need, read from a letter's clinical case summary.

An area enricher for :func:`kg.extract.case.extract_case` (the first of
``kg.extract.case.ENRICHERS``).  :func:`enrich` adds findings the imaging and
electrodiagnostic sections read (``ontology/diagnostics.ttl``):

* ``red_flag``: fracture, dislocation, tumour, infection, cauda equina
  syndrome (bowel or bladder dysfunction, saddle anaesthesia), a progressive
  neurologic deficit, inability to bear weight;
* ``neurologic_symptom``: numbness, tingling, paresthesia, pain radiating
  into a limb;
* ``nerve_provocation_sign``: Tinel, Phalen, Durkan, Spurling (present when
  positive, absent when negative);
* ``mechanical_symptom``: locking, catching, giving way, instability;
* ``procedure_planned``: surgery or an injection recommended, planned or
  being considered (absent: not a surgical candidate, declines surgery);

and prior MRI, CT and X-ray studies the base extractor missed because the sentence
names the study and its region without a result verb ("Previous diagnostic
studies include x-rays and CT scan (10-12-2016) of the cervical spine"), names
the result first ("negative hip and lumbar x-ray") or names the region only in
the sentence before ("x-rays and an MRI were obtained during the hospital stay").

Only sentences of the CLINICAL CASE SUMMARY are read, never the decision
section; sentences about the utilization review are skipped.  Polarity comes
from :func:`kg.extract.text.assert_polarity`; the region is the first region named
nearest the mention in its clause.  Every fact carries evidence whose offsets slice the letter
text.  Pure: returns a new :class:`~kg.extract.result.LetterCase`.

>>> from kg.read.letter import LetterText
>>> from kg.extract.case import extract_case
>>> lt = LetterText("CLINICAL CASE SUMMARY\\nThe injured worker is a 40 year old female who sustained an "
...     "industrial injury on 1-2-16. She reported numbness in the right hand. Her right knee gives way "
...     "and she is unable to bear weight on the right knee.\\n\\n"
...     "IMR ISSUES, DECISIONS AND RATIONALES\\n\\nMRI of the right knee: Upheld\\n\\n"
...     "MAXIMUS guideline: Decision based on MTUS Knee Complaints 2004, Section(s): Special Studies.\\n\\n"
...     "Decision rationale: Not medically necessary.\\n", "mini.txt")
>>> sorted((f.kind, f.status, f.region) for f in extract_case(lt).case.findings if f.id.startswith("img-"))
... # doctest: +NORMALIZE_WHITESPACE
[('mechanical_symptom', 'present', 'knee'), ('neurologic_symptom', 'present', 'wrist_hand'),
 ('red_flag', 'present', 'knee')]
"""

from __future__ import annotations

import dataclasses
import re

from kg.extract import sieve
from kg.extract.lexicon import LazyMentions, LazyPattern
from kg.extract.result import LetterCase
from kg.extract.text import (
    DATE,
    REGION_RX,
    SummaryReader,
    assert_polarity,
    parse_date,
    regions_in,
    split_clauses,
)
from kg.model import Finding, Study

__all__ = ["enrich"]

# (kind, regex, polarity mode for assert_polarity)
_RULE_RX = LazyMentions("imaging", "rules")

# Sentences about the UR decision or a request restate the dispute, not the record.
_SKIP = LazyPattern("imaging", "skip")
# Red flags that are only being ruled out or were ruled out do not count.
_RULED_OUT = LazyPattern("imaging", "ruled_out")
_NO_RED = sieve.compile(r"\bno (?:acute |compression |displaced )?(?:fracture|dislocation)s?\b|\bhealed\b|\bold\b",
                        re.I)


def enrich(lc: LetterCase) -> LetterCase:
    """Add red flags, neurologic symptoms, nerve provocation signs, mechanical symptoms and planned
    procedures found in the case summary, each with evidence.  Returns a new LetterCase."""
    span = lc.record.summary_span
    if span is None:
        return lc
    reader = SummaryReader(lc.text.text, span, lc.document)
    existing = {f.id for f in lc.case.findings}
    added: list[Finding] = []
    seen: set[tuple[str, str, str | None, int]] = set()
    for sent in reader.sents:
        if _SKIP.search(sent.text):
            continue
        for coff, clause in split_clauses(sent.text):
            for kind, rx, mode in _RULE_RX:
                for m in rx.finditer(clause):
                    polarity = _polarity(kind, clause, m.start(), m.end(), mode)
                    if polarity is None:
                        continue
                    region = nearest_region(clause, m.start(), m.end())
                    a = sent.start + coff
                    key = (kind, polarity, region, a)
                    if key in seen:
                        continue
                    seen.add(key)
                    c_a, c_b = a, a + len(clause)
                    if c_b - c_a > 220:
                        c_a = max(a, a + m.start() - 100)
                        c_b = min(a + len(clause), a + m.end() + 100)
                    try:
                        evidence = reader.ev(c_a, c_b)
                    except ValueError:
                        continue
                    n = len(added) + 1
                    fid = f"img-f{n}"
                    while fid in existing:
                        n += 1
                        fid = f"img-f{n}"
                    added.append(Finding(id=fid, kind=kind, status=polarity, label=" ".join(m.group(0).split()),
                                         region=region, date=sent.date, evidence=(evidence,)))
    studies = _prior_studies(lc, reader)
    if not added and not studies:
        return lc
    return dataclasses.replace(lc, case=dataclasses.replace(lc.case, findings=lc.case.findings + tuple(added),
                                                            studies=lc.case.studies + tuple(studies)))


def nearest_region(clause: str, start: int, end: int) -> str | None:
    """The region named nearest to ``clause[start:end]`` (a region key), or None.

    >>> nearest_region("cervical radiculopathy, and de Quervain's fracture of the right wrist", 41, 49)
    'wrist_hand'
    >>> clause = "right knee medial meniscus tear, and vertebral unspecified type fracture"
    >>> print(nearest_region(clause, clause.index("fracture"), len(clause)))
    None
    """
    after = sieve.match(r"\s*(?:of|to|in|at|on)\b[^,;]{0,40}", clause[end:], re.I)
    if after is not None:  # "fracture of the right foot": the region the mention names wins
        named = _closest(after.group(0), 0, 0)
        if named is not None:
            return named
    # "vertebral fracture", "rib fracture": the mention's own words name a structure outside the
    # regions, so a region named elsewhere in the clause is not its region
    phrase = _PHRASE_START.split(clause[:start])[-1]
    if _UNREGIONED.search(phrase) and _closest(phrase, len(phrase), len(phrase)) is None:
        return None
    return _closest(clause, start, end)


# where the words qualifying a mention begin, and structures outside the region keys
_PHRASE_START, _UNREGIONED = LazyPattern("imaging", "phrase_start"), LazyPattern("imaging", "unregioned")


def _closest(clause: str, start: int, end: int) -> str | None:
    """The region named closest to ``clause[start:end]``, or None."""
    best: tuple[int, str] | None = None
    for key, words, levels in REGION_RX:
        hits = list(words.finditer(clause)) + (list(levels.finditer(clause)) if levels is not None else [])
        for h in hits:
            if key == "lumbar" and h.group(0).lower() == "back" and \
                    sieve.search(r"(?:upper|mid)[- ]$", clause[:h.start()], re.I):
                continue
            d = start - h.end() if h.end() <= start else max(0, h.start() - end)
            if best is None or d < best[0]:
                best = (d, key)
    return best[1] if best is not None else None


_PRIOR_KINDS: tuple[tuple[str, re.Pattern[str] | LazyPattern], ...] = (
    ("mri", sieve.compile(r"\bMRI\b|magnetic resonance imaging", re.I)),
    ("ct", sieve.compile(r"\bCT\b(?: scan)?|computed tomography", re.I)),
    ("xray", LazyPattern("imaging", "prior_xray")))
_PRIOR_CUE = LazyPattern("imaging", "prior_cue")
_NOT_PRIOR = LazyPattern("imaging", "not_prior")
_RESULT_FIRST = LazyPattern("imaging", "result_first")


def _prior_studies(lc: LetterCase, reader: SummaryReader) -> list[Study]:
    """MRI, CT and X-ray studies named as done, with a region, that the case does not already hold.

    A study is done when its sentence has a cue of a past study ("previous", "revealed", "were
    obtained") and no plan or request, or when a result comes before it ("negative hip and lumbar
    x-ray"): then the regions named between the result and the study are its regions.  Otherwise
    the region is the one named nearest the study; a sentence that names none ("x-rays and an MRI
    were obtained during the hospital stay") takes the region of the sentence before it when that
    sentence names exactly one, and is left out when it names none or several.
    """
    have = {(s.kind, s.region) for s in lc.case.studies}
    ids = {s.id for s in lc.case.studies}
    out: list[Study] = []
    previous = ""  # the sentence before, skipped or not: its regions are read only when a study falls back on them
    for sent in reader.sents:
        text, before = sent.text, previous
        previous = text
        if _SKIP.search(text):
            continue
        first = {m.end(): regions_in(m.group("regions")) for m in _RESULT_FIRST.finditer(text)}
        done = _PRIOR_CUE.search(text) is not None and _NOT_PRIOR.search(text) is None
        mentions = [(kind, m) for kind, rx in _PRIOR_KINDS for m in rx.finditer(text)] if done or first else []
        if not mentions:
            continue
        try:
            evidence = reader.ev(sent.start, sent.end)
        except ValueError:
            continue
        for kind, m in mentions:
            regions = _study_regions(text, m, first, done, before)
            dm = DATE.search(text, m.end(), min(len(text), m.end() + 40)) if regions else None
            for region in regions:
                if region is None or (kind, region) in have:
                    continue
                have.add((kind, region))
                out.append(Study(id=_free_study_id(ids, len(out) + 1), kind=kind, region=region,
                                 date=parse_date(dm.group(0)) if dm else sent.date, evidence=(evidence,)))
    return out


def _study_regions(text: str, m: re.Match[str], first: dict[int, list[str]], done: bool,
                   before: str) -> list[str | None]:
    """The regions of the study named at ``m`` in the sentence ``text`` (see :func:`_prior_studies`):
    those between a result stated first (``first``, by the result's end) and the study, else, when
    the sentence cues a done study, the nearest one or the one region of the sentence ``before``."""
    if m.start() in first:
        return list(first[m.start()]) or [nearest_region(text, m.start(), m.end())]
    if not done:
        return []
    region = nearest_region(text, m.start(), m.end())
    if region is None:
        named = regions_in(before)
        if len(named) == 1:
            return [named[0]]
    return [region]


def _free_study_id(ids: set[str], n: int) -> str:
    """The first study id ``img-st<k>``, k from ``n`` up, that ``ids`` does not hold; added to ``ids``."""
    while f"img-st{n}" in ids:
        n += 1
    ids.add(f"img-st{n}")
    return f"img-st{n}"


def _polarity(kind: str, clause: str, start: int, end: int, mode: str) -> str | None:
    """Polarity of one mention, with the red-flag and plan rules on top of assert_polarity."""
    if kind == "red_flag":
        before = clause[max(0, start - 40):start]
        if _RULED_OUT.search(before) or _NO_RED.search(clause[max(0, start - 30):end]):
            return None
    if kind == "procedure_planned" and sieve.search(r"\bnot (?:a )?(?:surgical )?candidate|\bdeclin\w+|"
                                                    r"\bdoes not (?:want|wish)",
                                                    clause, re.I):
        return "absent"
    if _NO_MENTION.search(clause[:start]):
        return None  # "the note made no mention of paresthesias": silence, not a finding either way
    return assert_polarity(clause, start, end, mode)


# "made no mention of ...", "did not mention ...": the record is silent on what follows
_NO_MENTION = sieve.compile(r"\b(?:no|without)\s+mention\s+of\b|\bdid\s+not\s+mention\b|\bnot\s+mentioned\b", re.I)
