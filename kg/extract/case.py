"""Letters to case data: the facts of a case, read from a letter's header and clinical case summary.

Third step of reading a letter (after :mod:`kg.read.letter` reads the file and
parses the reviewer's record): :func:`extract_case` turns a
:class:`~kg.read.letter.LetterText` and its :class:`~kg.read.letter.LetterRecord` into
:class:`kg.model.CaseData`, the same structure a case file gives, so the
rest of the pipeline cannot tell where a case came from.

What is read, and from where:

* the **header** (case number, date of injury, UR denial date) and the
  **CLINICAL CASE SUMMARY**: worker (age, sex), injury (date, mechanism,
  regions), diagnoses (kind and, where the curated table :data:`ICD10_TABLE`
  knows it, an ICD-10-CM code), findings with their polarity (documented
  present, or documented absent: "Motor strength, sensation, and reflexes
  were normal" gives three absent deficits), pain scores, symptoms with the
  date of the record that documents them, treatments to date with counts and
  outcomes (:mod:`kg.extract.treatments`), medications, imaging and electrodiagnostic studies with date and
  result, the UR decision with its date and reason;
* each **disputed item's service text** (one :class:`~kg.model.Request`
  per item): the service kind normalised to the taxonomy of
  ``ontology/services.ttl``, the body region, visits ("2 times a week for 6
  weeks" is 12), and for drugs the strength and count ("#60", kept in
  :class:`~kg.extract.result.RequestDetail`, read by :mod:`kg.extract.dispute`);
* the **decision section only for the reviewer's record**: the reviewer's
  decision, the decision date, the specialty and the MAXIMUS citation go into
  ``Request.imr``, which the engine never reads.

Polarity is decided by a small ConText-style assertion step written for this
corpus (:func:`kg.extract.text.assert_polarity`): negation cues before or after a mention
within its clause ("no", "without", "negative", "not noted"), normal/abnormal
value cues for neurological functions ("intact", "2+", "5/5" versus
"decreased", "4/5"), and mentions that are hypothetical ("rule out",
"possible") or only said to be undocumented ("no documentation of") are
dropped rather than guessed.

After the base facts, the area enrichers of :data:`ENRICHERS` add what particular guideline
areas read, each ``enrich(lc: LetterCase) -> LetterCase``: :mod:`kg.extract.imaging`,
:mod:`kg.extract.therapy`, :mod:`kg.extract.medication`, :mod:`kg.extract.procedures`, in that order.

Every fact carries :class:`~kg.model.Evidence` whose ``start``/``end``
slice ``LetterText.text`` to the quote (whitespace folded).  Nothing here
reads files or the network at import time; the drug lexicon is read from the
packaged ontology, and the phrase lexicon from :mod:`kg.extract.lexicon`'s file, on first use.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Callable, Iterable, Sequence

from kg.errors import LetterError
from kg.extract import imaging, medication, procedures, sieve, therapy
from kg.extract.dispute import read_requests
from kg.extract.lexicon import LazyMentions, LazyPattern, lazy_patterns
from kg.extract.result import LetterCase
from kg.extract.text import (
    DATE_RX,
    SummaryReader,
    assert_polarity,
    parse_date,
    regions_in,
    split_clauses,
)
from kg.extract.treatments import read_treatments
from kg.model import (
    CaseData,
    Diagnosis,
    Document,
    Evidence,
    Finding,
    Injury,
    Study,
    Symptom,
    Worker,
)
from kg.read.letter import LetterRecord, LetterText, parse_letter, read_letter_text

__all__ = [
    "ICD10_TABLE",
    "ENRICHERS",
    "extract_case",
    "read_case_from_letter",
    "evidence_of",
    "LetterCase",  # what extract_case returns (defined in kg.extract.result)
]

#: the area enrichers :func:`extract_case` runs after the base facts, in this order; each adds
#: facts (with evidence) from the case summary and returns a new :class:`LetterCase`
ENRICHERS: tuple[Callable[[LetterCase], LetterCase], ...] = (
    imaging.enrich, therapy.enrich, medication.enrich, procedures.enrich)


# ---------------------------------------------------------------------------
# Findings
# ---------------------------------------------------------------------------
# Finding mentions: (kind, regex, mode).  mode "sign": present unless negated;
# "function": a neurological function whose deficit is present when an abnormal
# value is given and absent when a normal one is; "nerve_tension": SLR etc.
_FINDING_RX = LazyMentions("case", "finding_rules")
_NOT_EXAM = LazyPattern("case", "not_exam")
_SYMMETRIC_LOW_REFLEXES, _SIDED, _FELT_SENSATION = lazy_patterns("case", "symmetric_low_reflexes", "sided",
                                                                "felt_sensation")


# ---------------------------------------------------------------------------
# Diagnoses: a curated ICD-10-CM table
# ---------------------------------------------------------------------------
# (pattern, kind, {region or "*": code}); the first pattern that matches a
# diagnosis phrase decides its kind and code.  Codes are ICD-10-CM (checked
# against the code set by tests/test_extract.py with simple-icd-10-cm); where
# the laterality or the encounter (7th character) is not known the
# subcategory is given.
ICD10_TABLE: tuple[tuple[str, str, dict[str, str]], ...] = (
    (r"radiculopathy", "radiculopathy",
     {"cervical": "M54.12", "thoracic": "M54.14", "lumbar": "M54.16", "*": "M54.10"}),
    (r"radiculitis", "radiculitis", {"cervical": "M54.12", "thoracic": "M54.14", "lumbar": "M54.16", "*": "M54.10"}),
    (r"lumbago with sciatica|sciatica", "radiculitis", {"*": "M54.30"}),
    (r"myofascial pain", "myofascial_pain", {"*": "M79.18"}),
    (r"facet (?:syndrome|arthropathy|joint pain)|"
     r"facet", "facet_syndrome", {"cervical": "M47.812", "lumbar": "M47.816"}),
    (r"disc(?:opathy| protrusion| bulge| herniation| displacement| disease| disorder)|bulging|herniated|HNP|"
     r"degenerative disc",
     "disc_disorder", {"cervical": "M50.20", "lumbar": "M51.26", "*": "M51.9"}),
    (r"sprain", "sprain_strain",
     {"cervical": "S13.4", "thoracic": "S23.3", "lumbar": "S33.5", "shoulder": "S43.40", "knee": "S83.90",
      "wrist_hand": "S63.50", "ankle_foot": "S93.40"}),
    (r"strain", "sprain_strain",
     {"cervical": "S16.1", "thoracic": "S29.012", "lumbar": "S39.012", "shoulder": "S46.91", "knee": "S86.91",
      "wrist_hand": "S66.91", "ankle_foot": "S96.91"}),
    (r"post-?traumatic (?:headache|cephal\w+)", "headache", {"*": "G44.309"}),
    (r"post-?concuss\w+ syndrome", "other", {"*": "F07.81"}),
    (r"headaches?|cephalgia|cephalalgia", "headache", {"*": "R51.9"}),
    (r"concussion", "other", {"*": "S06.0X0"}),
    (r"rotator cuff tear", "other", {"*": "M75.10"}),
    (r"impingement", "other", {"shoulder": "M75.40"}),
    (r"lateral epicondylitis", "other", {"*": "M77.10"}),
    (r"medial epicondylitis", "other", {"*": "M77.00"}),
    (r"carpal tunnel syndrome", "other", {"*": "G56.00"}),
    (r"trigger finger", "other", {"*": "M65.30"}),
    (r"menisc\w* tear", "other", {"*": "S83.20"}),
    (r"contusion", "other",
     {"shoulder": "S40.01", "knee": "S80.00", "hip": "S70.00", "lumbar": "S30.0", "head": "S00.83"}),
    (r"low back pain|lumbago", "other", {"*": "M54.50"}),
    (r"neck pain|cervicalgia", "other", {"*": "M54.2"}),
    (r"thoracic (?:spine )?pain", "other", {"*": "M54.6"}),
    (r"shoulder pain|pain in (?:the )?(?:right |left )?shoulder", "other", {"*": "M25.519"}),
    (r"knee pain|pain in (?:the )?(?:right |left )?knee", "other", {"*": "M25.569"}),
    (r"hip pain|pain in (?:the )?(?:right |left )?hip", "other", {"*": "M25.559"}),
    (r"wrist pain|pain in (?:the )?(?:right |left )?wrist", "other", {"*": "M25.539"}),
    (r"spinal stenosis|stenosis", "other", {"lumbar": "M48.061", "cervical": "M48.02"}),
    (r"depressi\w+", "other", {"*": "F32.A"}),
    (r"anxiety", "other", {"*": "F41.9"}),
    (r"insomnia", "other", {"*": "G47.00"}),
    (r"adjustment disorder", "other", {"*": "F43.20"}),
    (r"hearing loss", "other", {"*": "H91.90"}),
    (r"fibromyalgia", "other", {"*": "M79.7"}),
    (r"myalgia|myositis", "myofascial_pain", {"*": "M79.10"}),
    (r"occipital neuralgia", "other", {"*": "M54.81"}),
)
_ICD_RX = tuple((sieve.compile(rf"\b(?:{rx})", re.I), kind, codes) for rx, kind, codes in ICD10_TABLE)
_DX_HEAD, _DX_NOUN, _DX_SPLIT = lazy_patterns("case", "dx_head", "dx_noun", "dx_split")


# ---------------------------------------------------------------------------
# Studies
# ---------------------------------------------------------------------------
_STUDY_RX = (
    ("mri", sieve.compile(r"\bMRI\b|magnetic resonance imaging", re.I)),
    ("ct", sieve.compile(r"\bCT\b(?: scan)?|computed tomography", re.I)),
    ("emg_ncs", sieve.compile(r"\bEMG\b|\bNCS\b|\bNCV\b|electromyogra\w*|nerve conduction|electrodiagnostic", re.I)),
    ("bone_scan", sieve.compile(r"bone scan", re.I)),
    ("xray", sieve.compile(r"x-?rays?|radiographs?|radiographic", re.I)),
)
_STUDY_SKIP = LazyPattern("case", "study_skip")
_RESULT = LazyPattern("case", "result")
_IMAGING_FINDINGS = (
    ("disc_bulge", r"disc (?:bulg\w*|protrusion|herniation|extrusion)|bulg\w+ disc|herniated|protrusion|\bHNP\b"),
    ("foraminal_stenosis", r"foraminal (?:stenosis|narrowing)"),
    ("degenerative_disc_disease", r"degenerative disc|\bDDD\b|disc degeneration|desiccation"),
    ("nerve_root_compromise", r"nerve root (?:impingement|compression|abutment|effacement|encroachment)|"
                              r"(?:impinging|contacting|abutting|compressing|displacing|effacing) (?:on |"
                              r"upon )?the (?:[\w-]+ ){0,3}nerve root"),
)


# ---------------------------------------------------------------------------
# The extractor
# ---------------------------------------------------------------------------
def _case_id(record: LetterRecord, text: LetterText) -> str:
    """The case id: the letter's case number, else a name made from its file name."""
    if record.case_number is not None and sieve.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", record.case_number.text):
        return record.case_number.text
    stem = text.source.rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    stem = sieve.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._") or "letter"
    return stem[:100]


class _Extractor(SummaryReader):
    """The base facts of one letter: header, clinical case summary and disputed items, read once (see :func:`run`)."""

    def __init__(self, text: LetterText, record: LetterRecord) -> None:
        super().__init__(text.text, record.summary_span, _case_id(record, text))
        self.lt = text
        self.rec = record
        self.counter: dict[str, int] = {}

    def next_id(self, prefix: str) -> str:
        """A fresh fact id: the prefix and its own running count (``dx1``, ``dx2``, ``f1`` ...)."""
        self.counter[prefix] = self.counter.get(prefix, 0) + 1
        return f"{prefix}{self.counter[prefix]}"

    # -- worker and injury ----------------------------------------------------------
    def worker(self) -> Worker | None:
        """The worker's age and sex, from the summary's first "NN year old male/female"."""
        s = self.f.s
        age_m = sieve.search(r"\b(\d{2})[- ]years?[- ]old\b", s, re.I)
        sex_m = None
        if age_m:
            sex_m = sieve.compile(r"\b(male|female|man|woman|gentleman|"
                                  r"lady)\b", re.I).search(s, age_m.end(), age_m.end() + 40)
        if sex_m is None:
            sex_m = sieve.search(r"\b(male|female)\b", s, re.I)
        if age_m is None and sex_m is None:
            return None
        sex = None
        if sex_m is not None:
            sex = "male" if sex_m.group(1).lower() in ("male", "man", "gentleman") else "female"
        evidence = []
        if age_m and sex_m and 0 <= sex_m.start() - age_m.end() <= 40:
            evidence.append(self.ev(age_m.start(), sex_m.end()))
        else:
            for m in (age_m, sex_m):
                if m is not None:
                    evidence.append(self.ev(m.start(), m.end()))
        age = int(age_m.group(1)) if age_m else None
        if age is not None and not 14 <= age <= 110:
            age = None
        return Worker(age=age, sex=sex, evidence=tuple(evidence))

    _INJURY = sieve.compile(
        rf"(?:industrial(?:-work)? injury|work[- ]related injury|date of injury|injury date|occupational claim|"
        rf"date of injury|suffered an industrial injury|industrial injury date)\s*(?:on|of|from|was|dated)?\s*"
        rf"(?P<date>{DATE_RX})", re.I)

    def injury(self, diagnoses: Sequence[Diagnosis]) -> Injury | None:
        """The injury: its date (the header's, else the summary's), mechanism and the regions of the diagnoses."""
        s = self.f.s
        date = None
        evidence: list[Evidence] = []
        # the header's Date of Injury is the structured field and wins; the
        # summary's date is used when there is no header, and cited when it agrees
        m = self._INJURY.search(s)
        summary_date = parse_date(m.group("date")) if m else None
        header = self.rec.date_of_injury
        if header is not None and header.value is not None:
            date = header.value
            evidence.append(self.ev_letter(header.span.start, header.span.end))
        else:
            date = summary_date
        if m and summary_date == date:
            evidence.append(self.ev(m.start(), m.end()))
        mechanism = None
        mm = sieve.search(r"mechanism of injury (?:is|was) (?:detailed|described|reported|documented) as (?:a |an |"
                          r"the )?(?P<m>[^.]+)\.", s, re.I) \
            or sieve.search(r"mechanism of injury(?: occurred)?(?: was| is)?:? (?P<m>(?:when|while|from|due to|"
                            r"after)[^.]+)\.", s, re.I) \
            or sieve.search(rf"injury (?:on |of )?(?:{DATE_RX}),? (?P<m>(?:when|while|after) [^.]+)\.", s, re.I) \
            or sieve.search(r"reported (?P<m>[^.]{5,120}?) when (?:bending|lifting|pushing|pulling|carrying|he |"
                            r"she )[^.]*\.", s, re.I)
        if mm and not sieve.search(r"\bnot (?:detailed|documented|provided)|unclear|unknown", mm.group(0), re.I):
            mechanism = " ".join(mm.group("m").split()).rstrip(" .")
            evidence.append(self.ev(mm.start("m"), mm.end("m")))
        regions: list[str] = []
        for dx in diagnoses:
            for r in regions_in(dx.label):
                if r not in regions:
                    regions.append(r)
        if date is None and mechanism is None and not regions:
            return None
        return Injury(date=date, mechanism=mechanism, regions=tuple(sorted(regions)), evidence=tuple(evidence))

    # -- diagnoses ----------------------------------------------------------------
    def diagnoses(self) -> list[Diagnosis]:
        """The diagnoses the summary lists, each with its kind and, where the ICD-10 table knows it, a code."""
        out: list[Diagnosis] = []
        seen: set[str] = set()
        s = self.f.s
        for sent in self.sents:
            for head in _DX_HEAD.finditer(sent.text):
                a = sent.start + head.end()
                stop = sieve.compile(r"\.\s|\.$| (?:who|which|that) |\. |, (?:who|with|as well)|"
                                     r"\bsecondary to\b").search(s, a, sent.end)
                b = stop.start() if stop else sent.end
                b = min(b, a + 400)
                seg = s[a:b]
                protected = sieve.sub(r"muscle, fascia and tendon", "muscle\x00 fascia and tendon", seg, flags=re.I)
                pos = 0
                for piece in _DX_SPLIT.split(protected) + [""]:
                    if piece == "":
                        continue
                    idx = protected.find(piece, pos)
                    if idx < 0:
                        continue
                    pos = idx + len(piece)
                    lab = piece.replace("\x00", ",").strip(" .,:")
                    lab_start = a + idx + (len(piece) - len(piece.lstrip(" .,:")))
                    lab_end = lab_start + len(lab)
                    lab = sieve.sub(r"^(?:the |a |an |diagnos[ie]s (?:of|include[sd]?) |diagnosis of |"
                                    r"as having )", "", lab, flags=re.I)
                    if not lab or len(lab.split()) > 14 or not _DX_NOUN.search(lab):
                        continue
                    key = lab.lower()
                    if key in seen:
                        continue
                    seen.add(key)
                    regions = regions_in(lab)
                    kind, code = "other", None
                    for rx, k, codes in _ICD_RX:
                        if rx.search(lab):
                            kind = k
                            code = next((codes[r] for r in regions if r in codes), codes.get("*"))
                            break
                    out.append(Diagnosis(id=self.next_id("dx"), label=" ".join(lab.split()), kind=kind, icd10=code,
                                         evidence=(self.ev(lab_start, lab_end),)))
        return out

    # -- findings -----------------------------------------------------------------
    def findings(self, studies: dict[int, list[tuple[str, str]]]) -> list[Finding]:
        """Examination findings with their polarity, and pain scores (study sentences in ``studies`` excepted)."""
        out: list[Finding] = []
        seen: set[tuple[str, str, int]] = set()
        for si, sent in enumerate(self.sents):
            if _NOT_EXAM.search(sent.text):
                continue
            if any(rx.search(sent.text) for _, rx in _STUDY_RX) and si in studies:
                continue  # imaging sentences give their findings below
            for coff, clause in split_clauses(sent.text):
                for kind, rx, mode in _FINDING_RX:
                    for m in rx.finditer(clause):
                        if kind == "muscle_spasm" and \
                                sieve.search(r"relax", clause[max(0, m.start() - 25):m.start()], re.I):
                            continue
                        if kind == "dermatomal_sensory_deficit" and (
                                sieve.search(r"\bburning|tingling", clause[m.start():m.end() + 5], re.I)
                                or _FELT_SENSATION.search(clause[max(0, m.start() - 25):m.end() + 40])):
                            continue  # a sensation the worker feels (burning, a foreign body), not the sensory exam
                        if kind == "motor_deficit" and \
                                sieve.search(r"\bgrip\b", clause[max(0, m.start() - 10):m.end() + 10], re.I):
                            continue
                        polarity = assert_polarity(clause, m.start(), m.end(), mode)
                        if polarity is None:
                            continue
                        if kind == "reflex_deficit" and polarity == "present" and \
                                _SYMMETRIC_LOW_REFLEXES.search(clause) and not _SIDED.search(clause):
                            polarity = "absent"  # graded alike on both sides: no focal reflex deficit
                        a = sent.start + coff
                        key = (kind, polarity, a)
                        if key in seen:
                            continue
                        seen.add(key)
                        region_list = regions_in(clause)
                        c_a, c_b = a, a + len(clause)
                        if c_b - c_a > 220:
                            c_a = max(a, a + m.start() - 100)
                            c_b = min(a + len(clause), a + m.end() + 100)
                        label = " ".join(m.group(0).split())
                        region = region_list[0] if region_list else None
                        if kind == "positive_nerve_tension_sign":
                            region = "lumbar"  # the leg-raise and slump tests stretch the lumbosacral roots
                        out.append(Finding(id=self.next_id("f"), kind=kind, status=polarity, label=label,
                                           region=region, date=sent.date,
                                           evidence=(self.ev(c_a, c_b),)))
            for m in sieve.finditer(r"(?P<v>\d{1,2}(?:\.\d)?(?:\s*-\s*\d{1,2})?)\s*(?:/\s*10|out of (?:10|ten)|"
                                    r"on a (?:10|ten)[- ]point\b|on (?:a|the) (?:pain )?scale of (?:0 to |1 to |0-|"
                                    r"1-)?10)", sent.text, re.I):
                if not sieve.search(r"pain|VAS|rated|level|scale", sent.text, re.I):
                    continue
                value = m.group("v").replace(" ", "")
                region_list = regions_in(sent.text)
                out.append(Finding(id=self.next_id("f"), kind="pain_score", status="present", label=f"pain {value}/10",
                                   region=region_list[0] if region_list else None, date=sent.date,
                                   evidence=(self.ev(sent.start, sent.end),)))
        return out

    # -- symptoms -----------------------------------------------------------------
    _COMPLAINT = sieve.compile(r"\b(?:complain(?:s|ed|ing)? of|complaints? of|reported|reports|presented with|"
                               r"symptoms (?:included|include)|continues to have|has (?:persistent|ongoing|continued)|"
                               r"noted (?:to have )?(?:persistent|ongoing|continued)|c/o)\b", re.I)

    def symptoms(self) -> list[Symptom]:
        """The symptoms the worker complains of, one per region and record date."""
        out: list[Symptom] = []
        seen: set[tuple[str | None, _dt.date | None]] = set()
        for sent in self.sents:
            if _NOT_EXAM.search(sent.text):
                continue
            m = self._COMPLAINT.search(sent.text)
            if m is None:
                continue
            rest = sent.text[m.end():]
            if not sieve.search(r"pain|ache|numbness|tingling|stiffness|weakness|spasm|swelling|headache|discomfort|"
                                r"symptoms", rest, re.I):
                continue
            regions: list[str | None] = [*regions_in(rest)] or [None]
            for region in regions:
                key = (region, sent.date)
                if key in seen:
                    continue
                seen.add(key)
                a = sent.start + m.start()
                b = sent.end
                if b - a > 240:
                    b = a + 240
                label = " ".join(rest.split()).rstrip(" .")
                if len(label) > 100:
                    label = label[:100].rsplit(" ", 1)[0] + " ..."
                out.append(Symptom(id=self.next_id("sx"), label=label, region=region, documented_since=sent.date,
                                   evidence=(self.ev(a, b),)))
        return out

    def date_symptoms(self, symptoms: list[Symptom], findings: Sequence[Finding]) -> list[Symptom]:
        """Move each symptom's ``documented_since`` back to the earliest dated record of a pain sign
        (tenderness, spasm, trigger point) in its region, adding that record as evidence."""
        out = []
        for sx in symptoms:
            signs = [(f.date, f) for f in findings if f.status == "present" and f.date is not None
                     and f.region == sx.region and sx.region is not None
                     and f.kind in ("tenderness", "muscle_spasm", "trigger_point")]
            earliest = min(signs, key=lambda dated: dated[0], default=None)
            if earliest is not None and (sx.documented_since is None or earliest[0] < sx.documented_since):
                date, sign = earliest
                sx = Symptom(id=sx.id, label=sx.label, region=sx.region, onset=sx.onset,
                             documented_since=date, evidence=sx.evidence + sign.evidence)
            out.append(sx)
        return out

    # -- studies ------------------------------------------------------------------
    def studies(self) -> tuple[list[Study], list[Finding], dict[int, list[tuple[str, str]]]]:
        """Imaging and electrodiagnostic studies with a result, the findings their results name, and the
        studies of each sentence (by sentence index)."""
        studies: list[Study] = []
        findings: list[Finding] = []
        by_sentence: dict[int, list[tuple[str, str]]] = {}
        for si, sent in enumerate(self.sents):
            if _STUDY_SKIP.search(sent.text):
                continue
            for kind, rx in _STUDY_RX:
                m = rx.search(sent.text)
                if m is None:
                    continue
                res = _RESULT.search(sent.text, m.end())
                if res is None:
                    continue
                result = sent.text[res.end():].strip(" .\"")
                if not result:
                    result = sent.text[res.start():].strip(" .\"")
                regions = regions_in(sent.text[m.start():res.end() + 40])
                sid = self.next_id("st")
                study = Study(id=sid, kind=kind, region=regions[0] if regions else None, date=sent.date,
                              result=" ".join(result.split()), evidence=(self.ev(sent.start + m.start(), sent.end),))
                studies.append(study)
                by_sentence.setdefault(si, []).append((sid, kind))
                res_text = sent.text[res.end():]
                for fkind, frx in _IMAGING_FINDINGS:
                    fm = sieve.search(frx, res_text, re.I)
                    if fm:
                        findings.append(Finding(
                            id=self.next_id("f"), kind=fkind, status="present", label=" ".join(fm.group(0).split()),
                            region=study.region, date=sent.date, study=sid,
                            evidence=(self.ev(sent.start + res.end() + fm.start(),
                                              sent.start + res.end() + fm.end()),)))
                if kind == "emg_ncs":
                    rm = sieve.search(r"radiculopathy", res_text, re.I)
                    if rm:
                        pol = "absent" if sieve.search(r"\b(?:no|without|negative "
                                                       r"for)\b[^.]{0,40}$", res_text[:rm.start()], re.I) \
                            else "present"
                        findings.append(Finding(
                            id=self.next_id("f"), kind="electrodiagnostic_radiculopathy", status=pol,
                            label="radiculopathy", region=study.region, date=sent.date, study=sid,
                            evidence=(self.ev(sent.start + m.start(), sent.end),)))
                    elif sieve.search(r"\b(?:normal|negative|unremarkable)\b", sent.text[m.end():], re.I):
                        findings.append(Finding(
                            id=self.next_id("f"), kind="electrodiagnostic_radiculopathy", status="absent",
                            label="normal electrodiagnostic study", region=study.region, date=sent.date, study=sid,
                            evidence=(self.ev(sent.start + m.start(), sent.end),)))
        return studies, findings, by_sentence

    # -- all ----------------------------------------------------------------------
    def run(self) -> LetterCase:
        """The letter's base facts as a :class:`LetterCase` (before the area enrichers)."""
        diagnoses = self.diagnoses()
        studies, study_findings, by_sentence = self.studies()
        findings = self.findings(by_sentence) + study_findings
        requests, details = read_requests(self, self.rec)
        decided = self.rec.decision_date.value if self.rec.decision_date is not None else None
        case = CaseData(
            case_id=self.doc, source=self.lt.source, title=f"IMR final determination {self.doc}",
            documents=(Document(id=self.doc, title="IMR final determination letter", date=decided,
                                file_name=self.lt.source),),
            worker=self.worker(), injury=self.injury(diagnoses), diagnoses=tuple(diagnoses),
            findings=tuple(findings), symptoms=tuple(self.date_symptoms(self.symptoms(), findings)),
            treatments=tuple(read_treatments(self)),
            studies=tuple(studies), requests=tuple(requests))
        return LetterCase(case=case, details=tuple(details), text=self.lt, record=self.rec)



def extract_case(text: LetterText, record: LetterRecord | None = None, *,
                 enrichers: Iterable[Callable[[LetterCase], LetterCase]] = ENRICHERS) -> LetterCase:
    """Read the facts of one letter into :class:`LetterCase` (CaseData plus request details).

    ``record`` is parsed from ``text`` when not given.  Only the header and
    the clinical case summary feed the facts; the decision section gives the
    request list (one per item, by its service text) and the reviewer's
    record in ``Request.imr``.  The base facts then go through ``enrichers``
    in order (by default :data:`ENRICHERS`; ``()`` gives the base facts only).
    Pure: the inputs are not changed.  Raises
    :class:`kg.errors.LetterError` when the letter has no disputed item.

    >>> from kg.read.letter import LetterText
    >>> lt = LetterText("CLINICAL CASE SUMMARY\\nThe injured worker is a 40 year old female who sustained an "
    ...     "industrial injury on 1-2-16. Motor strength, sensation, and reflexes were normal.\\n\\n"
    ...     "IMR ISSUES, DECISIONS AND RATIONALES\\n\\nPhysical therapy 2 times a week for 6 weeks: Upheld\\n\\n"
    ...     "MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s): "
    ...     "Physical medicine treatment.\\n\\nDecision rationale: Not medically necessary.\\n", "mini.txt")
    >>> lc = extract_case(lt)
    >>> lc.case.worker.age, lc.case.worker.sex, lc.case.injury.date.isoformat()
    (40, 'female', '2016-01-02')
    >>> sorted((f.kind, f.status) for f in lc.case.findings)
    [('dermatomal_sensory_deficit', 'absent'), ('motor_deficit', 'absent'), ('reflex_deficit', 'absent')]
    >>> r = lc.case.requests[0]; r.service, r.sessions, r.imr.decision
    ('physical_therapy', 12, 'upheld')
    """
    record = record if record is not None else parse_letter(text)
    if not record.items:
        raise LetterError("no disputed item with a decision found", source=text.source,
                          hint="check that this is a complete final determination letter")
    lc = _Extractor(text, record).run()
    for enrich in enrichers:
        lc = enrich(lc)
    return lc


def read_case_from_letter(path: str) -> LetterCase:
    """Read, parse and extract one letter file (``.pdf`` or ``.txt``).

    Raises :class:`kg.errors.LetterError` naming the file when it cannot be
    read or is not a letter.
    """
    lt = read_letter_text(path)
    return extract_case(lt, parse_letter(lt))


def evidence_of(case: CaseData) -> Iterable[tuple[str, Evidence]]:
    """Every (fact id, evidence) pair of a case, for checks and audits."""
    if case.worker is not None:
        for e in case.worker.evidence:
            yield "worker", e
    if case.injury is not None:
        for e in case.injury.evidence:
            yield "injury", e
    for group in (case.diagnoses, case.findings, case.symptoms, case.treatments, case.studies):
        for fact in group:
            for e in fact.evidence:
                yield fact.id, e
    for r in case.requests:
        for e in r.evidence:
            yield r.id, e
        if r.ur is not None:
            for e in r.ur.evidence:
                yield f"{r.id}/ur", e
        if r.imr is not None:
            for e in r.imr.evidence:
                yield f"{r.id}/imr", e

