"""Extraction for injections, surgery and psychological care: the facts their criteria read.

Called by :func:`kg.extract.case.extract_case` through ``enrich`` (the last of
``kg.extract.case.ENRICHERS``) after the base extractor.  Everything is read from the
letter's CLINICAL CASE SUMMARY only (``lc.record.summary_span``), each fact with
:class:`~kg.model.Evidence` whose offsets slice the letter text to the quote.  What it adds:

* **requests**: the epidural approach ("transforaminal", "interlaminar",
  "caudal") as a sub-kind of the service, partial hospitalization as a sub-kind
  of psychological treatment, and the spinal levels of an injection request
  ("L4-5, L5-S1" is 2) where the base extractor left them empty;
* **findings**: the region of radicular signs the base extractor left without
  one (a straight leg raise is lumbar; "lower extremities" is lumbar, "upper
  extremities" cervical), foot drop, a normal electrodiagnostic study mentioned
  in passing, mechanical knee symptoms, meniscal signs, meniscal and shoulder
  lesions on MRI, shoulder lesion tests, median nerve deficit, facet signs;
* **studies**: an MRI the base extractor did not read (results introduced by
  "documented");
* **treatments**: a psychological evaluation or psychological care already
  given.

Ids are prefixed ``proc-``.  Pure: returns a new :class:`~kg.extract.result.LetterCase`.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Iterator

from kg.extract import sieve
from kg.extract.imaging import nearest_region
from kg.extract.lexicon import LazyPattern
from kg.extract.result import LetterCase
from kg.extract.text import Sentence, SummaryReader, assert_polarity, first_region
from kg.model import Evidence, Finding, Request, Study, Treatment

__all__ = ["enrich", "spinal_levels"]

_SKIP = LazyPattern("procedures", "skip")
_LEVEL = sieve.compile(r"\b[CTL][1-7](?:\s*-\s*[CTLS]?[1-7])?\b")


def spinal_levels(text: str) -> int | None:
    """Spinal levels named in a request ("L4-5, L5-S1" -> 2, "Right L4" -> 1).

    >>> spinal_levels("Facet joint injections L4-5, L5-S1"), spinal_levels("Lumbar epidural injection")
    (2, None)
    """
    found = {sieve.sub(r"\s+", "", m.group(0)) for m in _LEVEL.finditer(text)}
    return len(found) or None


class _Enricher(SummaryReader):
    """The injection, surgery and psychological-care facts of one letter case's summary."""

    def __init__(self, lc: LetterCase) -> None:
        super().__init__(lc.text.text, lc.record.summary_span, lc.document)
        self.lc = lc
        self.n = 0
        self.findings: list[Finding] = []
        self.studies: list[Study] = []
        self.treatments: list[Treatment] = []

    def next_id(self, kind: str) -> str:
        """A fresh fact id: ``proc-<kind><n>``, n counting every id this enricher made."""
        self.n += 1
        return f"proc-{kind}{self.n}"

    def facts(self) -> Iterator[tuple[int, Sentence]]:
        """(index, sentence) of the summary sentences that state facts (not the request or its review)."""
        for i, sent in enumerate(self.sents):
            if not _SKIP.search(sent.text):
                yield i, sent

    def region_near(self, i: int, sent: Sentence, default: str | None = None) -> str | None:
        """The region the sentence names, else the one the two sentences before it name, else ``default``."""
        for s in (sent, *(self.sents[j] for j in range(i - 1, max(-1, i - 3), -1))):
            region = first_region(s.text)
            if region:
                return region
        return default

    def add(self, kind: str, status: str, sent: Sentence, m: re.Match[str], region: str | None,
            study: str | None = None) -> None:
        """Add a finding named by ``m`` in ``sent``, with the sentence as its evidence."""
        self.findings.append(Finding(id=self.next_id("f"), kind=kind, status=status, label=" ".join(m.group(0).split()),
                                     region=region, date=sent.date, study=study,
                                     evidence=(self.ev(sent.start, sent.end),)))

    # -- findings ----------------------------------------------------------------
    def signs(self) -> None:
        """Knee, shoulder and facet signs, a wrist fracture, foot drop and a median nerve deficit."""
        rules = (
            ("mechanical_symptom", r"locking|catching|giving way|gives way|popping|buckling|instability", "sign", None),
            ("meniscal_tear_sign", r"joint line tenderness", "sign", "knee"),
            ("meniscal_tear_sign", r"McMurray\w*(?:'s)?(?: grind)?(?: sign| test)?|Apley\w*(?: test)?|"
                                   r"Thessaly\w*(?: test)?", "test", "knee"),
            ("shoulder_lesion_sign", r"Jobe\w*(?: sign| test)?|empty can(?: test)?|O'Brien\w*(?: sign| test)?|"
                                     r"Speed'?s?(?: sign| test)|belly press(?: test)?|drop arm(?: test)?|Hawkins\w*|"
                                     r"Neer\w*|impingement (?:sign|test)s?|lift-?off test",
             "test", "shoulder"),
            ("facet_sign", r"facet (?:loading|stress|load)\w*(?: test| maneuver)?", "test", "lumbar"),
            ("facet_sign", r"tenderness over the (?:\w+ ){0,3}?facets|facet (?:joint )?tenderness", "sign", "lumbar"),
        )
        for i, sent in self.facts():
            for kind, rx, mode, fixed in rules:
                for m in sieve.finditer(rx, sent.text, re.I):
                    pol = assert_polarity(sent.text, m.start(), m.end(), mode)
                    if pol is None:
                        continue
                    if kind == "mechanical_symptom" and not sieve.search(r"knee|menisc", " ".join(
                            s.text for s in self.sents[max(0, i - 2):i + 1]), re.I):
                        continue
                    region = fixed if fixed and kind != "facet_sign" else (
                        first_region(sent.text) or fixed) if kind == "facet_sign" else self.region_near(i, sent)
                    self.add(kind, pol, sent, m, region)
            cuff = sieve.search(r"rotator cuff (?:strength|power)[^.;]{0,25}?\b[0-4](?:\+|-)?\s*/\s*5|"
                                r"rotator cuff weakness",
                                sent.text, re.I)
            if cuff:
                self.add("shoulder_lesion_sign", "present", sent, cuff, "shoulder")
            fracture = sieve.search(r"\b(?:fracture|dislocation)\b", sent.text, re.I)
            if fracture and nearest_region(sent.text, fracture.start(), fracture.end()) == "wrist_hand" \
                    and assert_polarity(sent.text, fracture.start(), fracture.end(), "sign") == "present" \
                    and not any(f.kind == "red_flag" and f.status == "present" and f.region == "wrist_hand"
                                for f in (*self.lc.case.findings, *self.findings)):
                self.add("red_flag", "present", sent, fracture, "wrist_hand")
            drop = sieve.search(r"\bfoot drop\b", sent.text, re.I)
            if drop and assert_polarity(sent.text, drop.start(), drop.end(), "sign") == "present":
                self.add("motor_deficit", "present", sent, drop, "ankle_foot")
            median = sieve.search(r"(?:numbness|decreased sensation|diminished sensation|paresthesias?|tingling|"
                                  r"hypoesthesia)[^.;]{0,40}?(?:radial (?:three )?digits|median nerve|thumb|"
                                  r"index finger|middle finger)",
                                  sent.text, re.I)
            if median and assert_polarity(sent.text, median.start(), median.start() + 9, "sign") == "present":
                self.add("median_nerve_deficit", "present", sent, median, "wrist_hand")

    def electrodiagnostics(self) -> None:
        """A normal electrodiagnostic study mentioned in passing: no radiculopathy, or no carpal tunnel syndrome."""
        base = self.lc.case.studies
        for _i, sent in self.facts():
            m = sieve.search(r"\b(?:normal|negative|unremarkable)\s+(?:electrodiagnostic|EMG|NCS|NCV|nerve conduction)"
                             r"(?:\s*(?:/|and)\s*(?:EMG|NCS|NCV|nerve conduction))?(?:\s+(?:stud(?:y|ies)|tests?|"
                             r"testing))?(?:\s+of\s+(?:the\s+|both\s+)?(?P<limb>lower|upper)\s+(?:limbs?|"
                             r"extremit\w+))?",
                             sent.text, re.I)
            if m is None:
                continue
            limb = (m.group("limb") or "").lower()
            region = {"lower": "lumbar", "upper": "cervical"}.get(limb) or first_region(sent.text)
            known = [s for s in base if s.kind == "emg_ncs" and self._overlaps(s.evidence, sent)]
            if known:
                sid = known[0].id
                if any(f.study == sid
                       and f.kind in ("electrodiagnostic_radiculopathy", "nerve_conduction_carpal_tunnel")
                       for f in self.lc.case.findings):
                    continue
            else:
                sid = self.next_id("st")
                self.studies.append(Study(id=sid, kind="emg_ncs", region=region, date=sent.date,
                                          result=" ".join(m.group(0).split()),
                                          evidence=(self.ev(sent.start, sent.end),)))
            if region in ("lumbar", "cervical", "thoracic"):
                self.add("electrodiagnostic_radiculopathy", "absent", sent, m, region, sid)
            elif region == "wrist_hand":
                self.add("nerve_conduction_carpal_tunnel", "absent", sent, m, region, sid)

    def _overlaps(self, evidence: tuple[Evidence, ...], sent: Sentence) -> bool:
        """Does any of the evidence overlap the letter range of ``sent``?"""
        s, e = self.f.span(sent.start, sent.end)
        return any(ev.start is not None and ev.end is not None and ev.start < e and s < ev.end for ev in evidence)

    def imaging(self) -> None:
        """Meniscal and shoulder lesions in MRI results (the base extractor's studies, and MRIs it did not read)."""
        mri_sents: list[tuple[int, Sentence, str | None, str | None]] = []
        for st in self.lc.case.studies:
            if st.kind != "mri":
                continue
            for i, sent in enumerate(self.sents):
                if self._overlaps(st.evidence, sent):
                    mri_sents.append((i, sent, st.region, st.id))
        for i, sent in self.facts():
            if any(sent is s for _, s, _, _ in mri_sents):
                continue
            m = sieve.search(r"\bMRI\b|magnetic resonance", sent.text)
            if m and sieve.search(r"\b(?:documented|revealed|showed|demonstrated|noted)\b", sent.text[m.end():], re.I):
                region = first_region(sent.text)
                new_id = self.next_id("st")
                self.studies.append(Study(id=new_id, kind="mri", region=region, date=sent.date,
                                          result=" ".join(sent.text[m.end():].split())[:200],
                                          evidence=(self.ev(sent.start, sent.end),)))
                mri_sents.append((i, sent, region, new_id))
        for _i, sent, region, sid in mri_sents:
            text = sent.text
            if region in (None, "knee") and sieve.search(r"menisc", text, re.I):
                m = sieve.search(r"(?:menisc\w*\s+(?:\w+\s+){0,2}?tear\w*|"
                                 r"tear\w*\s+(?:\w+\s+){0,10}?menisc\w*)", text, re.I)
                if m:
                    self.add("meniscal_tear_imaging", "present", sent, m, "knee", sid)
                elif sieve.search(r"menisc\w* (?:are |is |were )?intact|"
                                  r"no (?:evidence of )?(?:a )?menisc\w* tear", text, re.I):
                    m2 = sieve.search(r"menisc\w*", text, re.I)
                    assert m2 is not None
                    self.add("meniscal_tear_imaging", "absent", sent, m2, "knee", sid)
            if region in (None, "shoulder"):
                lesion = sieve.compile(r"(?:supraspinatus|infraspinatus|subscapularis|rotator cuff|labral|labrum|"
                                       r"Bankart|SLAP)[^.;]{0,40}?tear|tear[^.;]{0,60}?(?:supraspinatus|infraspinatus|"
                                       r"subscapularis|rotator cuff|labr\w+)|SLAP lesion|Bankart lesion", re.I)
                for m in lesion.finditer(text):
                    neg = sieve.search(r"\bno (?:evidence (?:of|for) )?(?:a |an )?(?:[\w-]+ "
                                       r"){0,3}$", text[max(0, m.start() - 40):m.start()], re.I)
                    self.add("shoulder_lesion_imaging", "absent" if neg else "present", sent, m, "shoulder", sid)
        # the treating physician's own reading of an MRI ("his interpretation of the MRI revealed a SLAP lesion")
        for _i, sent in self.facts():
            if sieve.search(r"interpretation of the MRI", sent.text, re.I):
                m = sieve.search(r"SLAP lesion|labral tear|rotator cuff tear", sent.text, re.I)
                if m and not sieve.search(r"\bno\b", sent.text[:m.start()], re.I):
                    self.add("shoulder_lesion_imaging", "present", sent, m, "shoulder")

    # -- treatments -----------------------------------------------------------------
    def psychological_care(self) -> None:
        """A psychological evaluation or psychological care already given (one of each at most)."""
        seen: set[str] = set()
        for sent in self.sents:
            for kind, rx in (("psychological_evaluation", r"psych\w*(?: treatment)? evaluation|"
                                                          r"psychological (?:consultation|assessment|testing)"),
                             ("psychological_treatment", r"psych appointments|psychotherapy|psychological (?:care|"
                                                         r"treatment)(?! evaluation)|counseling sessions")):
                m = sieve.search(rx, sent.text, re.I)
                if m and _SKIP.search(sent.text[max(0, m.start() - 60):m.end() + 30]):
                    continue
                if m and kind not in seen:
                    seen.add(kind)
                    self.treatments.append(Treatment(
                        id=self.next_id("tx"), kind=kind, label=" ".join(m.group(0).split()), date=sent.date,
                        evidence=(self.ev(sent.start + m.start(), sent.start + m.end()),)))

    # -- existing facts -------------------------------------------------------------
    def regioned(self) -> tuple[Finding, ...]:
        """The base findings, with a region given to radicular signs that have none."""
        out = []
        for f in self.lc.case.findings:
            # (a positive leg-raise test always has its region: the base extractor gives it the low back)
            if f.region is None and f.kind in ("dermatomal_sensory_deficit", "reflex_deficit", "motor_deficit") \
                    and f.evidence:
                quote = f.evidence[0].quote
                region = None
                if sieve.search(r"lower (?:extremit|limb)|\blegs?\b|thighs?|calf|calves", quote, re.I):
                    region = "lumbar"
                elif sieve.search(r"upper (?:extremit|limb)|\barms?\b", quote, re.I):
                    region = "cervical"
                if region is not None:
                    f = dataclasses.replace(f, region=region)
            out.append(f)
        return tuple(out)

    def requests(self) -> tuple[Request, ...]:
        """The requests with the epidural approach, partial hospitalization and spinal levels read."""
        out = []
        for r in self.lc.case.requests:
            text = " ".join(r.text.split())
            if r.service == "epidural_steroid_injection":
                if sieve.search(r"transforaminal", text, re.I):
                    r = dataclasses.replace(r, service="transforaminal_epidural_steroid_injection")
                elif sieve.search(r"interlaminar|caudal", text, re.I):
                    r = dataclasses.replace(r, service="interlaminar_epidural_steroid_injection")
            if r.service == "psychological_treatment" and sieve.search(r"partial hospitali[sz]ation|day treatment|"
                                                                       r"intensive outpatient", text, re.I):
                r = dataclasses.replace(r, service="partial_hospitalization")
            if r.levels is None and r.service in ("epidural_steroid_injection",
                                                  "transforaminal_epidural_steroid_injection",
                                                  "interlaminar_epidural_steroid_injection", "facet_injection"):
                r = dataclasses.replace(r, levels=spinal_levels(text))
            out.append(r)
        return tuple(out)

    def run(self) -> LetterCase:
        """The letter case with the injection, surgery and psychological-care facts added."""
        self.signs()
        self.electrodiagnostics()
        self.imaging()
        self.psychological_care()
        case = self.lc.case
        case = dataclasses.replace(case, findings=self.regioned() + tuple(self.findings),
                                   studies=case.studies + tuple(self.studies),
                                   treatments=case.treatments + tuple(self.treatments), requests=self.requests())
        return dataclasses.replace(self.lc, case=case)


def enrich(lc: LetterCase) -> LetterCase:
    """Add the facts the injection, surgery and psychological-care criteria need (see the module docstring)."""
    if lc.record.summary_span is None:
        return lc
    return _Enricher(lc).run()
