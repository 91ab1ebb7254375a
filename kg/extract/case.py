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
  outcomes, medications, imaging and electrodiagnostic studies with date and
  result, the UR decision with its date and reason;
* each **disputed item's service text** (one :class:`~kg.model.Request`
  per item): the service kind normalised to the taxonomy of
  ``ontology/services.ttl``, the body region, visits ("2 times a week for 6
  weeks" is 12), and for drugs the strength and count ("#60", kept in
  :class:`RequestDetail`);
* the **decision section only for the reviewer's record**: the reviewer's
  decision, the decision date, the specialty and the MAXIMUS citation go into
  ``Request.imr``, which the engine never reads.

Polarity is decided by a small ConText-style assertion step written for this
corpus (:func:`assert_polarity`): negation cues before or after a mention
within its clause ("no", "without", "negative", "not noted"), normal/abnormal
value cues for neurological functions ("intact", "2+", "5/5" versus
"decreased", "4/5"), and mentions that are hypothetical ("rule out",
"possible") or only said to be undocumented ("no documentation of") are
dropped rather than guessed.

Every fact carries :class:`~kg.model.Evidence` whose ``start``/``end``
slice ``LetterText.text`` to the quote (whitespace folded).  Nothing here
reads files or the network at import time; the drug lexicon is read from the
packaged ontology on first use.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Iterator, Sequence

from kg.errors import LetterError
from kg.model import (
    TREATMENT_KINDS,
    CaseData,
    Diagnosis,
    Document,
    Evidence,
    Finding,
    IMRDecision,
    Injury,
    Request,
    Study,
    Symptom,
    Treatment,
    URDecision,
    Worker,
)
from kg.read.letter import LetterRecord, LetterText, parse_letter, read_letter_text

__all__ = [
    "ICD10_TABLE",
    "RequestDetail",
    "LetterCase",
    "classify_service",
    "parse_quantity",
    "assert_polarity",
    "extract_case",
    "read_case_from_letter",
    "evidence_of",
]


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RequestDetail:
    """What a request's service text says beyond :class:`~kg.model.Request`'s fields.

    ``visits`` is the number of visits or sessions ("2 times a week for 6
    weeks" -> 12); ``drug``, ``strength`` and ``count`` describe a drug request
    ("Norco 10/325mg #35" -> "Norco", "10/325mg", 35); ``refills`` counts
    refills; ``partial`` is True when UR authorised part of the original request.
    """

    request_id: str
    service_kind: str
    region: str | None = None
    visits: int | None = None
    frequency: str | None = None
    drug: str | None = None
    strength: str | None = None
    count: int | None = None
    refills: int | None = None
    partial: bool = False


@dataclass(frozen=True)
class LetterCase:
    """One letter read into case data, with the request details CaseData has no field for."""

    case: CaseData
    details: tuple[RequestDetail, ...]
    text: LetterText
    record: LetterRecord


# ---------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------
_WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "eighteen": 18, "twenty": 20, "twenty-four": 24, "once": 1, "twice": 2, "single": 1,
}
_NUM = r"(?:\d{1,3}|" + "|".join(sorted((w for w in _WORD_NUMBERS if w not in ("once", "twice", "single")),
                                        key=len, reverse=True)) + r")"


def _number(word: str) -> int | None:
    word = word.lower().strip()
    if word.isdigit():
        return int(word)
    return _WORD_NUMBERS.get(word)


# Region words, most specific first.  Values are REGIONS keys.  Spinal level
# names (C5-6, L4-S1, T12) are matched case-sensitively, words are not.
_REGION_PATTERNS: tuple[tuple[str, str, str | None], ...] = (
    ("cervical", r"cervical|neck|trapezi\w*|cervicothoracic", r"C[1-7](?:\s?-\s?C?[1-7T]\d?)?"),
    ("thoracic", r"thoracic|mid[- ]back|upper back", r"T\d{1,2}(?:\s?-\s?[TL]?\d{1,2})?"),
    ("lumbar", r"lumbar|lumbosacral|low(?:er)? back|back|sacroiliac|sciatica|lumbago|buttocks?|L-spine",
     r"L[1-5](?:\s?-\s?[LS]?[1-5])?"),
    ("shoulder", r"shoulders?|rotator cuff|acromio\w*|subacromial|labral|scapul\w*", None),
    ("elbow", r"elbows?|epicondyl\w*|olecranon|radial head|radius head", None),
    ("wrist_hand", r"wrists?|hands?|fingers?|thumbs?|forearms?|carpal|digits?|interphalangeal|radius", None),
    ("hip", r"hips?|groin|trochanter\w*|pelvi\w*", None),
    ("knee", r"knees?|menisc\w*|patell\w*|ACL|cruciate", None),
    ("ankle_foot", r"ankles?|feet|foot|toes?|heel|Lisfranc|plantar|calcane\w*|metatars\w*", None),
    ("head", r"head|face|facial|scalp|skull|concussion|headaches?|cephalgia|cephalalgia", None),
)
_REGION_RX = tuple(
    (key, re.compile(rf"\b(?:{words})\b", re.I), re.compile(rf"\b(?:{levels})\b") if levels else None)
    for key, words, levels in _REGION_PATTERNS)


def _regions(text: str) -> list[str]:
    """Region keys named in ``text``, in order of first mention.

    >>> _regions("MRI of the right shoulder and cervical spine")
    ['shoulder', 'cervical']
    >>> _regions("disc bulge at L4-5 with upper back pain")
    ['lumbar', 'thoracic']
    """
    found: list[tuple[int, str]] = []
    for key, words, levels in _REGION_RX:
        hits = [m for m in words.finditer(text)]
        if key == "lumbar":
            hits = [m for m in hits if not (m.group(0).lower() == "back"
                                            and re.search(r"(?:upper|mid)[- ]$", text[:m.start()], re.I))]
        if levels is not None:
            hits += list(levels.finditer(text))
        if hits:
            found.append((min(m.start() for m in hits), key))
    out: list[str] = []
    for _, key in sorted(found):
        if key not in out:
            out.append(key)
    return out


# Service kinds: ordered rules, the first that matches the service text wins.
# Kinds are TREATMENT_KINDS keys (their classes are in ontology/services.ttl).
_SERVICE_RULES: tuple[tuple[str, str], ...] = (
    ("other_study", r"impedance imaging|\bTPII\b"),
    ("assistant_surgeon", r"assistant surgeon|\bPA assist|surgical assistant"),
    ("preoperative_clearance", r"(?:medical|pre-?op\w*) clearance"),
    ("functional_capacity_evaluation", r"functional capacity evaluation|\bFCE\b"),
    ("psychological_evaluation", r"psych\w* evaluation|psychological consult"),
    ("postoperative_physical_therapy", r"post[- ]?op\w*\s+(?:physical therapy|PT)\b"),
    ("inpatient_rehabilitation", r"inpatient rehabilitation|rehabilitation unit|skilled nursing"),
    ("psychological_treatment", r"psychotherap\w*|cognitive behavio\w* therapy|\bCBT\b|partial hospitalization|counsel\w+"),
    ("trigger_point_injection", r"trigger point injection|\bTPIs?\b"),
    ("topical_analgesic", r"lidocaine\b[^,;]*\bpatch|lidoderm"),
    ("epidural_steroid_injection", r"epidural|\bESI\b"),
    ("facet_injection", r"facet|medial branch block|\bMBB\b"),
    ("prp_injection", r"platelet[- ]rich plasma|\bPRP\b"),
    ("neurolytic_procedure", r"neurolytic|neuroplasty|radiofrequency|rhizotomy"),
    ("acupuncture", r"acupuncture"),
    ("chiropractic", r"chiro\w*|spinal manipulation|joint manipulation"),
    ("occupational_therapy", r"occupational therapy|\bOT\b"),
    ("physical_therapy", r"physical therap\w*|\bPT\b|physiotherap\w*|therapeutic exercise|hand therapy"),
    ("manual_therapy", r"manual therapy|massage|myofascial release"),
    ("biofeedback", r"biofeedback"),
    ("shockwave_therapy", r"shock ?wave|\bESWT\b"),
    ("infrared_therapy", r"infrared"),
    ("traction", r"traction|spinolator"),
    ("tens", r"\bTENS\b|transcutaneous electrical"),
    ("electrical_stimulation", r"electrical stimulation|e-stim|neurostimulation|\bEMS\b|interferential"),
    ("heat_cold_therapy", r"\bice\b|heat pads?|hot/cold"),
    ("therapeutic_ultrasound", r"^ultrasound\b|therapeutic ultrasound"),
    ("functional_restoration_program", r"functional restoration|work hardening|work conditioning|chronic pain program"),
    ("carpal_tunnel_release", r"carpal tunnel release"),
    ("arthroscopic_surgery", r"arthroscop\w*|meniscectomy|rotator cuff repair|\bRCR\b"),
    ("consultation", r"consult\w*|referral|surgeon evaluation|specialist|\w+ist evaluation|spine surgery evaluation"),
    ("office_visit", r"office visit|follow[- ]up visit|initial exam|physical exam|re-?evaluation|evaluation"),
    ("mri", r"\bMRI\b|magnetic resonance"),
    ("ct", r"\bCT\b|computed tomography"),
    ("emg_ncs", r"\bEMG\b|\bNCS\b|\bNCV\b|electromyogra\w*|nerve conduction"),
    ("evoked_potentials", r"\bSSEP\b|evoked potential"),
    ("eeg", r"\bEEG\b|electroencephalogra\w*"),
    ("ekg", r"\bEKG\b|\bECG\b|electrocardiogra\w*"),
    ("bone_scan", r"bone scan"),
    ("xray", r"x-?rays?|radiographs?"),
    ("urine_drug_test", r"urine (?:drug )?(?:test|screen)|\bUDS\b|urine toxicology"),
    ("lab_test", r"\blabs?\b|\bCBC\b|chem panel|PT/PTT|\bUA\b|urinalysis"),
    ("carpal_tunnel_release", r"carpal tunnel release"),
    ("arthroscopic_surgery", r"arthroscop\w*|meniscectomy|rotator cuff repair|\bRCR\b"),
    ("surgery", r"surgery|surgical|arthroplasty|fusion|laminectomy|discectomy|decompression|repair|release|replacement"),
    ("joint_injection", r"(?:cortisone|steroid|corticosteroid|intra-?articular|subacromial) injection"),
    ("other_injection", r"injection"),
    ("cold_therapy_unit", r"cryotherapy|vascutherm|cold compression|cold therapy|game ready"),
    ("mobility_aid", r"wheelchair|walker|crutch\w*|\bcane\b|knee scooter"),
    ("home_medical_equipment", r"hospital bed|commode|shower chair|bath chair"),
    ("orthosis", r"brace|splint|support|sling|wrap|\bpad\b|orthotic|orthosis"),
    ("positioning_pillow", r"pillow"),
    ("hearing_aid", r"hearing aid"),
    ("dme", r"bone growth stimulator|durable medical equipment|\bDME\b"),
    ("home_health_care", r"home health|nurse"),
    ("transportation", r"transportation"),
)
_SERVICE_RX = tuple((kind, re.compile(rx, re.I)) for kind, rx in _SERVICE_RULES)

# Drug-class keys whose altLabels form the drug lexicon (read from the ontology).
_DRUG_KINDS = ("nsaid", "muscle_relaxant", "opioid", "ppi", "h2_blocker", "topical_analgesic", "compounded_topical",
               "anticonvulsant", "antidepressant", "benzodiazepine", "sleep_aid", "butalbital_combination",
               "acetaminophen", "oral_corticosteroid", "dmard")
_GENERIC_DRUG_WORDS = {"nsaid", "nsaids", "opioid", "opioids", "narcotic", "narcotics", "ppi", "muscle relaxant",
                       "muscle relaxants", "anti-inflammatory", "anti-inflammatories", "topical cream"}


@lru_cache(maxsize=1)
def _drug_lexicon() -> tuple[tuple[str, str, re.Pattern[str]], ...]:
    """(name, kind, regex) for every drug name in the ontology's medication classes, longest first."""
    from rdflib import RDFS, Graph, Namespace
    from rdflib.namespace import SKOS

    from kg.resources import data_files

    kg = Namespace("https://w3id.org/imr-kg/ont#")
    g = Graph()
    for path in data_files("ontology"):
        g.parse(path, format="turtle")
    out: list[tuple[str, str, re.Pattern[str]]] = []
    for kind in _DRUG_KINDS:
        cls = kg[TREATMENT_KINDS[kind]]
        names = {str(o) for o in g.objects(cls, SKOS.altLabel)} | {str(o) for o in g.objects(cls, RDFS.label)}
        for name in names:
            if len(name) < 3:
                continue
            rx = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])", re.I)
            out.append((name, kind, rx))
    out.sort(key=lambda t: (-len(t[0]), t[0].lower()))
    return tuple(out)


def _drug_in(text: str) -> tuple[str, str, int, int] | None:
    """The first drug named in ``text``: (name as printed, kind, start, end)."""
    best: tuple[int, int, str, str] | None = None
    for name, kind, rx in _drug_lexicon():
        m = rx.search(text)
        if m and (best is None or m.start() < best[0] or (m.start() == best[0] and m.end() > best[1])):
            best = (m.start(), m.end(), m.group(0), kind)
    if best is None:
        return None
    return best[2], best[3], best[0], best[1]


_COMPOUND = re.compile(r"\d+(?:\.\d+)?\s*%.*(?:cream|gel|base|ointment|patch|\d+\s*%)|cream base|compound", re.I)


def classify_service(text: str) -> str:
    """The service kind (a ``TREATMENT_KINDS`` key) of a request's text.

    Compounded topicals (a percentage strength in a cream or gel, or several
    ingredients with percentages) come first, then the ordered service rules,
    then the drug lexicon; what matches nothing is ``"other"``.

    >>> classify_service("physical therapy 2 times a week for 6 weeks (12 sessions) to the right elbow")
    'physical_therapy'
    >>> classify_service("Norco 10/325mg #35"), classify_service("Cyclobenzaprine 5% in cream base 240g")
    ('opioid', 'compounded_topical')
    >>> classify_service("Spine surgery evaluation for the lumbar")
    'consultation'
    >>> classify_service("Labs - PT/PTT"), classify_service("Associated surgical service: Labs - PT/PTT")
    ('lab_test', 'preoperative_clearance')
    """
    t = " ".join(text.split())
    associated = re.match(r"^Associated surgical service:\s*", t, re.I) is not None
    t = re.sub(r"^Associated surgical service:\s*", "", t, flags=re.I)
    if associated:
        inner = classify_service(t)
        # tests done because of the surgery (labs, EKG, chest X-ray, urinalysis) are its pre-operative work-up
        if inner in ("lab_test", "ekg", "xray", "other_study", "other") and \
                re.search(r"\blabs?\b|\bEKG\b|\bECG\b|x-?ray|\bUA\b|urinalysis|\bCBC\b|clearance", t, re.I):
            return "preoperative_clearance"
        return "postoperative_physical_therapy" if inner == "physical_therapy" else inner
    t = re.sub(r"^Retrospective\s+", "", t, flags=re.I)
    if _COMPOUND.search(t) and not re.search(r"patch", t, re.I):
        return "compounded_topical"
    if re.search(r"\bPTT\b|\bPT/INR\b|\bINR\b", t):  # prothrombin time: a laboratory test, not therapy
        return "lab_test"
    drug = _drug_in(t)
    for kind, rx in _SERVICE_RX:
        m = rx.search(t)
        if m is None:
            continue
        if drug is not None and drug[2] < m.start() and kind not in ("acupuncture",):
            break  # a drug named first: the request is for the drug ("Lidocaine 5% patch")
        if kind == "physical_therapy" and re.match(r"Associated surgical service", text.strip(), re.I):
            return "postoperative_physical_therapy"
        return kind
    if drug is not None:
        return drug[1]
    return "other"


# ---------------------------------------------------------------------------
# Quantities
# ---------------------------------------------------------------------------
_FREQ = re.compile(
    rf"(?P<a>{_NUM})(?:\s*(?:-|to)\s*(?P<a2>{_NUM}))?\s*(?:times|x)\s*(?:a|per|each|weekly|/)?\s*(?:week|wk)?\w*"
    rf"\s*(?:for|over|x|times)\s*(?P<b>{_NUM})(?:\s*(?:-|to)\s*{_NUM})?\s*(?:weeks?|wks?)", re.I)
_VISITS_WEEKLY = re.compile(rf"(?P<a>{_NUM})\s*(?:additional\s+)?(?:visits?|sessions?)\s*(?:a|per)\s*week\s*(?:for|over|x|times)\s*(?P<b>{_NUM})\s*weeks?", re.I)
_FREQ_WEEKLY = re.compile(rf"(?P<a>{_NUM}|twice|once)\s*(?:times\s*)?(?:a|per)?\s*week(?:ly)?\s*(?:for|over|times|x)\s*(?P<b>{_NUM})\s*weeks?", re.I)
_TIMES_N = re.compile(rf"(?P<a>{_NUM})\s*(?:times|x)\s*(?P<b>{_NUM})(?!\s*(?:mg|%|weeks?))\b", re.I)
_TWO_X = re.compile(r"\b(?P<a>\d)\s*x\s*(?P<b>\d{1,2})\b", re.I)
_N_SESSIONS = re.compile(rf"(?:{_NUM}\s*(?:-|to)\s*)?(?P<n>{_NUM})\s*(?:\(\d+\)\s*)?(?:additional\s+)?(?:[\w-]+\s+){{0,3}}?(?:sessions?|visits?|treatments?)\b", re.I)
_SESSIONS_N = re.compile(r"(?:sessions?|visits?|treatments?)\s*(?:,\s*|of\s+|x\s*|#\s*)?\(?(?P<n>\d{1,2})\)?", re.I)
_TIMES_ONLY = re.compile(r"\b(?:times|x)\s*(?P<n>\d{1,2})\b(?!\s*(?:weeks?|mg))", re.I)
_PAREN_N = re.compile(r"\((?P<n>\d{1,2})\)")
_HASH_N = re.compile(r"#\s*(?P<n>\d{1,4})")
_STRENGTH = re.compile(r"\d+(?:\.\d+)?(?:\s*/\s*\d+(?:\.\d+)?)*\s*(?:mg|mcg|g|grams|ml|%)(?:/\s*ml)?", re.I)
_REFILLS = re.compile(rf"(?P<n>{_NUM})\s+refills?|with\s+(?P<m>{_NUM})\s+refills?", re.I)
_VISIT_KINDS = frozenset({
    "physical_therapy", "postoperative_physical_therapy", "occupational_therapy", "chiropractic", "acupuncture",
    "manual_therapy", "electrical_stimulation", "traction", "heat_cold_therapy", "therapeutic_ultrasound",
    "infrared_therapy", "shockwave_therapy", "biofeedback", "psychological_treatment", "office_visit",
    "home_health_care", "functional_restoration_program",
})


def parse_quantity(text: str, kind: str) -> tuple[int | None, str | None]:
    """Visits or sessions a service text asks for, and the frequency phrase it was computed from.

    >>> parse_quantity("physical therapy 2 times a week for 6 weeks", "physical_therapy")
    (12, '2 times a week for 6 weeks')
    >>> parse_quantity("Additional physical therapy two times four visits (8) for the lumbar", "physical_therapy")
    (8, 'two times four')
    >>> parse_quantity("Twelve physical therapy visits for the Cervical Spine", "physical_therapy")
    (12, None)
    >>> parse_quantity("Physical therapy 2-3 times a week for 6 weeks", "physical_therapy")
    (18, '2-3 times a week for 6 weeks')
    """
    if kind not in _VISIT_KINDS:
        return None, None
    t = " ".join(text.split())
    explicit = re.search(r"\((?P<n>\d{1,2})\s*(?:sessions?|visits?)?\)", t)
    for rx in (_FREQ, _FREQ_WEEKLY, _VISITS_WEEKLY):
        m = rx.search(t)
        if m:
            a = _number(m.group("a")) if m.group("a") not in ("twice", "once") else _WORD_NUMBERS[m.group("a")]
            hi = m.groupdict().get("a2")
            if hi:
                a = _number(hi) or a
            b = _number(m.group("b"))
            if a and b:
                return (int(explicit.group("n")) if explicit else a * b), m.group(0)
    m = _TIMES_N.search(t) or _TWO_X.search(t)
    if m:
        a, b = _number(m.group("a")), _number(m.group("b"))
        if a and b:
            if explicit:
                return int(explicit.group("n")), m.group(0)
            return a * b, m.group(0)
    for rx in (_N_SESSIONS, _SESSIONS_N, _TIMES_ONLY, _PAREN_N, _HASH_N):
        m = rx.search(t)
        if m:
            n = _number(m.group("n"))
            if n:
                return n, None
    return None, None


def _drug_detail(text: str) -> tuple[str | None, str | None, int | None, int | None]:
    """(drug name, strength, count, refills) of a drug request text."""
    t = " ".join(text.split())
    drug = _drug_in(t)
    if drug is None:
        m = re.match(r"(?:Retrospective\s+)?([A-Z][A-Za-z-]+)", t)
        name = m.group(1) if m and _STRENGTH.search(t) else None
    else:
        name = drug[0]
    strength = _STRENGTH.search(t)
    count = _HASH_N.search(t)
    refills = _REFILLS.search(t)
    n_refills = None
    if refills:
        n_refills = _number(refills.group("n") or refills.group("m"))
    return (name, " ".join(strength.group(0).split()) if strength else None,
            int(count.group("n")) if count else None, n_refills)


# ---------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------
_MONTHS = {m: i + 1 for i, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"))}
_MONTH_RX = "|".join(list(_MONTHS) + ["jan", "feb", "mar", "apr", "jun", "jul", "aug", "sept", "sep", "oct", "nov", "dec"])
DATE_RX = (rf"(?:\d{{1,2}}\s?[/-]\s?\d{{1,2}}\s?[/-]\s?(?:\d{{4}}|\d{{2}})(?![\d/])"
           rf"|(?:{_MONTH_RX})\.?\s+\d{{1,2}},?\s+\d{{4}})")
_DATE = re.compile(DATE_RX, re.I)


def _parse_date(s: str) -> _dt.date | None:
    """Parse a date as letters print it.

    >>> _parse_date("10-13-16"), _parse_date("October 20, 2016"), _parse_date("10/10/ 2016")
    (datetime.date(2016, 10, 13), datetime.date(2016, 10, 20), datetime.date(2016, 10, 10))
    """
    s = s.strip()
    m = re.fullmatch(r"(\d{1,2})\s?[/-]\s?(\d{1,2})\s?[/-]\s?(\d{4}|\d{2})", s)
    try:
        if m:
            mo, d, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
            if y < 100:
                y += 2000 if y < 70 else 1900
            return _dt.date(y, mo, d)
        m = re.fullmatch(r"([A-Za-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})", s)
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
class _Folded:
    """A span of the letter with whitespace runs folded to one space, and a map back to letter offsets."""

    def __init__(self, text: str, start: int, end: int) -> None:
        chars: list[str] = []
        pos: list[int] = []
        i = start
        while i < end:
            c = text[i]
            if c.isspace():
                j = i
                while j < end and text[j].isspace():
                    j += 1
                if chars:
                    chars.append(" ")
                    pos.append(i)
                i = j
                continue
            chars.append(c)
            pos.append(i)
            i += 1
        while chars and chars[-1] == " ":
            chars.pop()
            pos.pop()
        self.s = "".join(chars)
        self.pos = pos
        self.text = text

    def span(self, a: int, b: int) -> tuple[int, int]:
        """Letter offsets of the folded range [a, b), trimmed of spaces."""
        while a < b and self.s[a] == " ":
            a += 1
        while b > a and self.s[b - 1] == " ":
            b -= 1
        if a >= b:
            raise ValueError("empty span")
        return self.pos[a], self.pos[b - 1] + 1


@dataclass
class _Sentence:
    start: int  # folded offsets
    end: int
    text: str
    date: _dt.date | None = None


_ABBREV = re.compile(r"(?:\b(?:Dr|Mr|Mrs|Ms|vs|e\.g|i\.e|approx|No|St|Jr|etc|mg|Fig|al))\.$", re.I)


def _sentences(f: _Folded) -> list[_Sentence]:
    out: list[_Sentence] = []
    s = f.s
    start = 0
    for m in re.finditer(r"[.!?](?:[\"')\]])?\s+(?=[A-Z0-9\"(])", s):
        end = m.start() + 1
        if _ABBREV.search(s[start:end]) or re.search(r"\d\.$", s[start:end]) and re.match(r"\d", s[m.end():]):
            continue
        out.append(_Sentence(start, m.end(), s[start:m.end()].rstrip()))
        start = m.end()
    if start < len(s):
        out.append(_Sentence(start, len(s), s[start:]))
    for sent in out:
        m = _DATE.search(sent.text)
        sent.date = _parse_date(m.group(0)) if m else None
    return out


# ---------------------------------------------------------------------------
# Assertion (polarity)
# ---------------------------------------------------------------------------
_PRE_NEG = re.compile(r"\b(?:no|not|without|negative for|absence of|absent|denie[sd]|deny|free of|none|never|neither|nor|resolved)\b", re.I)
_POST_NEG = re.compile(r"^[^.;]{0,40}?\b(?:(?:was|were|is|are)\s+(?:negative|absent|not\s+(?:noted|present|seen|elicited|appreciated|found)|none|resolved)|not\s+(?:noted|present|elicited|appreciated))\b", re.I)
_POST_POS = re.compile(r"^[^.;]{0,30}?\b(?:was|were|is|are)\s+positive\b", re.I)
_PRE_POS = re.compile(r"\bpositive(?:\s+for)?\s*$", re.I)
_UNCERTAIN = re.compile(r"\b(?:no|nor|not|lack|without)\b[^.]{0,25}\bdocument\w*|\b(?:no|without|lack of|lacks?)\s+(?:documentation|documented|mention|evidence in the records|record|indication|objective documentation)\b"
                        r"|\bnot\s+(?:documented|mentioned|provided|recorded)|\brule out\b|\br/o\b|\bpossible\b|\bsuspect\w*"
                        r"|\bconcern for\b|\bto evaluate for\b|\bif\b|\bunclear\b|\bunknown\b", re.I)
_CLAUSE_BREAK = re.compile(r";|\bbut\b|\bhowever\b|\balthough\b|\bexcept\b|\bwhereas\b|\bwhile\b|\band there (?:was|were)\b|\. ", re.I)
_ABNORMAL = re.compile(r"\b(?:decreased?|diminished|reduced|abnormal|absent|loss of|lost|impaired|altered|weak(?:ness)?|deficits?|"
                       r"hypo\w+|hyper\w+|asymmetric\w*|[0-4](?:\+|-)?\s*(?:/|over|of|out of)\s*5|1\+|0/4|hypoesthesia)(?!\w)", re.I)
_NORMAL = re.compile(r"\b(?:normal|intact|5\s*(?:/|of|out of)\s*5|2\+|symmetric(?:al)?|within normal limits|WNL|unremarkable|full|equal|preserved)(?!\w)", re.I)

# Finding mentions: (kind, regex, mode).  mode "sign": present unless negated;
# "function": a neurological function whose deficit is present when an abnormal
# value is given and absent when a normal one is; "nerve_tension": SLR etc.
_FINDING_RULES: tuple[tuple[str, str, str], ...] = (
    ("trigger_point", r"trigger points?(?!\s+(?:injection|impedance|imaging))", "sign"),
    ("twitch_response", r"twitch(?: response)?", "sign"),
    ("referred_pain", r"referred pain", "sign"),
    ("tenderness", r"tender(?:ness)?(?: to palpation)?", "sign"),
    ("muscle_spasm", r"(?:muscle )?spasms?", "sign"),
    ("limited_range_of_motion", r"(?:decreased|limited|restricted|reduced|painful|diminished|loss of) (?:\w+ ){0,3}?range of motion"
                                r"|range of motion (?:\w+ ){0,4}?(?:was|is|were) (?:decreased|limited|restricted|reduced|diminished)"
                                r"|(?:decreased|limited|restricted|reduced) (?:\w+ ){0,2}?(?:ROM|motion)", "sign"),
    ("swelling", r"swelling|edema|effusion", "sign"),
    ("gait_abnormality", r"antalgic gait|limp(?:ing)?\b|abnormal gait", "sign"),
    ("positive_provocative_test", r"(?:Hawkins|Neer|Tinel|Phalen|McMurray|Spurling|Finkelstein)(?:'s?)?(?: (?!negative|positive)\w+)?"
                                  r"|impingement (?:sign|test|maneuver)s?", "test"),
    ("positive_nerve_tension_sign", r"straight[- ]leg[- ]rais\w*(?: test)?|\bSLR\b|slump test|Lasegue\w*", "test"),
    ("dermatomal_sensory_deficit", r"sensation|sensory(?: exam\w*)?|light touch", "function"),
    ("reflex_deficit", r"(?:deep tendon )?reflexes|\bDTRs?\b|reflex", "function"),
    ("motor_deficit", r"motor (?:strength|power|exam\w*|function)|(?:muscle )?strength", "function"),
)
_FINDING_RX = tuple((kind, re.compile(rf"\b(?:{rx})", re.I), mode) for kind, rx, mode in _FINDING_RULES)
_NOT_EXAM = re.compile(r"\butilization review\b|\brecommend\w*|\bUR\b|\brequest\w*\b|\bdenied\b|\bnon-?certif\w*|\bmodified\b|\bguidelines?\b|\bauthoriz\w*", re.I)


def assert_polarity(clause: str, start: int, end: int, mode: str) -> str | None:
    """Polarity of the mention ``clause[start:end]``: ``"present"``, ``"absent"`` or None (undecided).

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
    """
    before, after = clause[:start], clause[end:]
    if _UNCERTAIN.search(before[-60:]) or _UNCERTAIN.search(after[:25]):
        return None
    if mode == "function":
        # "no motor or sensory deficit", "no sensory, motor weakness or reflex asymmetry"
        neg = re.search(r"\b(?:no|without|negative for|denie[sd]|unable to (?:detect|elicit|appreciate|find))\b(?:(?!\b(?:with|but|and there)\b)[^;]){0,40}$", before, re.I)
        if neg is not None and _ABNORMAL.search(clause, end, min(len(clause), end + 45)) is not None:
            return "absent"
        if neg is not None and re.match(r"\s*(?:deficits?|loss|weakness|changes?|asymmetry)\b", after, re.I):
            return "absent"
        if neg is not None and re.search(r"\b(?:deficits?|loss|weakness|asymmetry|abnormalit\w+|decreased?|diminished|reduced)\b",
                                         before[neg.start():], re.I):
            return "absent"  # "no deficits in sensory and motor nerve distributions"
        copula = re.match(r"\s*(?:is|are|was|were)\s+(?:\w+\s+){0,2}?", after, re.I)
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
        if re.search(r"\b(?:no|without)\b[^.]{0,40}$", before, re.I) and re.search(r"deficit|loss|change", after[:20], re.I):
            return "absent"
        return None
    if mode == "test":
        if _PRE_POS.search(before[-25:]) or _POST_POS.search(after):
            return "present"
        if re.search(r"\bnegative\b(?:(?!\bpositive\b)[^;,]){0,35}$", before, re.I) or _POST_NEG.search(after) or \
                re.match(r"^[^.;]{0,15}\bnegative\b", after, re.I):
            return "absent"
        if re.search(r"\bpositive\b", clause, re.I) and not re.search(r"\bnegative\b", clause, re.I):
            return "present"
        return None
    neg = None
    for m in _PRE_NEG.finditer(before):
        neg = m
    if neg is not None and len(before) - neg.end() <= 45:
        between = before[neg.end():]
        if not re.search(r"\b(?:with|there (?:was|were|is)|and (?:there|he|she))\b", between, re.I):
            return "absent"
    if _POST_NEG.search(after):
        return "absent"
    return "present"


def _clauses(sentence: str) -> Iterator[tuple[int, str]]:
    """(offset, text) of the clauses of a sentence, split at ';', 'but', 'however' ..."""
    last = 0
    for m in _CLAUSE_BREAK.finditer(sentence):
        yield last, sentence[last:m.start()]
        last = m.end()
    yield last, sentence[last:]


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
    (r"facet (?:syndrome|arthropathy|joint pain)|facet", "facet_syndrome", {"cervical": "M47.812", "lumbar": "M47.816"}),
    (r"disc(?:opathy| protrusion| bulge| herniation| displacement| disease| disorder)|bulging|herniated|HNP|degenerative disc",
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
    (r"contusion", "other", {"shoulder": "S40.01", "knee": "S80.00", "hip": "S70.00", "lumbar": "S30.0", "head": "S00.83"}),
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
_ICD_RX = tuple((re.compile(rf"\b(?:{rx})", re.I), kind, codes) for rx, kind, codes in ICD10_TABLE)
_DX_HEAD = re.compile(
    r"(?:diagnos(?:is|es|ed)\s+(?:is documented as|are documented as|is documented|are documented|documented as|"
    r"documented is|include[sd]?|included|are|is|was|were|of|as having|with)|being treated for(?: the diagnos[ie]s of)?|undergoing treatments? for|"
    r"(?:is|was) treated for|treated for(?: the diagnos[ie]s of)?|diagnosed (?:as having|with))\s*:?\s*", re.I)
_DX_NOUN = re.compile(
    r"pain|strain|sprain|syndrome|fracture|contusion|radiculopathy|radiculitis|disorder|disease|tear|tendin\w+|"
    r"epicondylitis|stenosis|protrusion|bulg\w*|herniat\w*|injur\w+|sciatica|lumbago|headache|concussion|myalgia|"
    r"myositis|impingement|dysfunction|discopathy|spondylo\w+|arthriti\w*|arthrosis|bursitis|neuropath\w+|"
    r"carpal tunnel|depressi\w+|anxiety|insomnia|loss|wound|laceration|cervicalgia|cephal\w+|trigger finger|"
    r"crush|dislocation|tendonitis|effusion|paresthesia\w*|numbness|hernia|neuralgia|fasciitis|DDD|capsulitis|"
    r"derangement|instability|abrasion|burn|amputation|CRPS|dystrophy|deformity|degenerati\w+", re.I)
_DX_SPLIT = re.compile(r";|,\s*and\s+|,\s*(?!\s*(?:fascia|and tendon|tendon|initial|subsequent|sequela|unspecified|"
                       r"not elsewhere|ligaments))| and (?!tendon|fascia|ligaments|feet|ankles)", re.I)


# ---------------------------------------------------------------------------
# Treatment outcomes
# ---------------------------------------------------------------------------
_OUTCOME_RULES: tuple[tuple[str, str], ...] = (
    ("no_functional_improvement", r"no (?:objective |significant |measurable )?functional improvement|"
                                  r"without (?:objective |significant )?functional improvement"),
    ("functional_improvement", r"(?<!no )(?<!without )(?<!objective )(?<!significant )functional improvement|"
                               r"(?<!no )(?:objective|significant) functional improvement|improved function"),
    ("intolerant", r"intoleran\w+|side effects?|not tolerated|could not tolerate"),
    ("failed", r"without (?:significant |much |any )?(?:improvement|relief|benefit)|no (?:significant |lasting )?(?:improvement|relief|benefit)|"
               r"failed|did not (?:help|improve|provide)|not helpful|minimal(?: to no)? (?:improvement|relief)|"
               r"ineffective|no change|unsuccessful|worsen\w*"),
    ("partial_relief", r"(?:some|partial|mild|temporary|moderate|slight|limited|short[- ]term) (?:pain )?(?:relief|improvement|benefit)"),
    ("effective", r"(?<!no )(?:with|reported|noted|providing|provided|gave|good|significant) (?:pain )?(?:relief|improvement|benefit)|"
                  r"helpful|helped|relieve[sd]? the pain|improved"),
)
_OUTCOME_RX = tuple((o, re.compile(rx, re.I)) for o, rx in _OUTCOME_RULES)
# "without documentation of objective functional improvement" says the record is silent: the words
# after it state no outcome either way, so they are blanked before the outcome rules run.
_SILENCE = re.compile(r"\b(?:no|without|lack of|absence of|not any)\s+(?:any\s+|clear\s+|objective\s+)?"
                      r"(?:documentation|documented evidence|evidence|mention)\s+(?:of|that|regarding|as to)\b[^,.;]*",
                      re.I)


def _outcomes(text: str) -> tuple[str, ...]:
    """Outcome keys stated in a treatment phrase.

    >>> _outcomes("completed 12 sessions of physical therapy without improvement")
    ('failed',)
    >>> _outcomes("physical therapy, without documentation of objective functional improvement")
    ()
    >>> _outcomes("chiropractic care with no objective functional improvement")
    ('no_functional_improvement',)
    """
    found: list[str] = []
    text = _SILENCE.sub(lambda m: " " * len(m.group(0)), text)
    for outcome, rx in _OUTCOME_RX:
        if rx.search(text):
            if outcome == "functional_improvement" and "no_functional_improvement" in found:
                continue
            if outcome == "effective" and ("failed" in found or "partial_relief" in found):
                continue
            found.append(outcome)
    return tuple(found)


_TX_HEAD = re.compile(
    r"(?:treatments?|therapy|therapies|care)\s+(?:to date\s+)?(?:has|have|had)?\s*(?:included|include[sd]?|consisted of|"
    r"rendered included|was|were)\s*:?\s*|treatment rendered included\s*|prior treatments? (?:has |have )?include[sd]?\s*|"
    r"has (?:had|received|undergone|completed|tried)\s+|had (?:completed|undergone|received)\s+|"
    r"medication regimen (?:listed|included|includes)\s*|medications? (?:include[sd]?|included|listed|consist(?:ed)? of|were|are|was|is)\s*:?\s*|"
    r"(?:was|is) (?:taking|on|prescribed)\s+|current medications? (?:are|include[sd]?)\s*:?\s*|prescribed\s+", re.I)
_TX_COUNT = re.compile(
    rf"(?P<n>{_NUM})\s+(?:[\w()]+\s+){{0,4}}?(?:sessions?|visits?|treatments?)|(?:sessions?|visits?|treatments?)\s*(?:x|times|#)\s*(?P<m>\d{{1,2}})|"
    rf"\btimes\s+(?P<t>{_NUM})\b|\((?P<p>\d{{1,2}})\s*(?:sessions?|visits?)\)|\bx\s*(?P<x>\d{{1,2}})\b", re.I)


# ---------------------------------------------------------------------------
# Studies
# ---------------------------------------------------------------------------
_STUDY_RX = (
    ("mri", re.compile(r"\bMRI\b|magnetic resonance imaging", re.I)),
    ("ct", re.compile(r"\bCT\b(?: scan)?|computed tomography", re.I)),
    ("emg_ncs", re.compile(r"\bEMG\b|\bNCS\b|\bNCV\b|electromyogra\w*|nerve conduction|electrodiagnostic", re.I)),
    ("bone_scan", re.compile(r"bone scan", re.I)),
    ("xray", re.compile(r"x-?rays?|radiographs?|radiographic", re.I)),
)
_STUDY_SKIP = re.compile(r"\brequest\w*|\butilization review\b|\bplan\b|\brecommend\w*|\bpending\b|\bordered\b|\bauthoriz\w*|"
                         r"\brule out\b|\bto evaluate\b|\bwill\b|\bwould\b|\bno (?:prior |previous )?(?:imaging|MRI|x-?rays?|studies)\b|"
                         r"\bdenied\b|\bnon-?certified\b|\bmodified\b|\bnot (?:been )?(?:performed|done|provided)\b", re.I)
_RESULT = re.compile(r"\b(?:revealed|reveals|showed|shows|demonstrated|demonstrates|indicated|indicates|noted|notes|reported|"
                     r"was (?:positive|negative|normal|unremarkable)|were (?:positive|negative|normal|unremarkable)|"
                     r"significant for|consistent with|findings? (?:of|include[sd]?))\b\s*:?\s*", re.I)
_IMAGING_FINDINGS = (
    ("disc_bulge", r"disc (?:bulg\w*|protrusion|herniation|extrusion)|bulg\w+ disc|herniated|protrusion|\bHNP\b"),
    ("foraminal_stenosis", r"foraminal (?:stenosis|narrowing)"),
    ("degenerative_disc_disease", r"degenerative disc|\bDDD\b|disc degeneration|desiccation"),
    ("nerve_root_compromise", r"nerve root (?:impingement|compression|abutment|effacement|encroachment)|"
                              r"(?:impinging|contacting|abutting|compressing|displacing|effacing) (?:on |upon )?the (?:[\w-]+ ){0,3}nerve root"),
)


# ---------------------------------------------------------------------------
# The extractor
# ---------------------------------------------------------------------------
def _case_id(record: LetterRecord, text: LetterText) -> str:
    if record.case_number is not None and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", record.case_number.text):
        return record.case_number.text
    stem = text.source.rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._") or "letter"
    return stem[:100]


class _Extractor:
    def __init__(self, text: LetterText, record: LetterRecord) -> None:
        self.lt = text
        self.t = text.text
        self.rec = record
        self.doc = _case_id(record, text)
        self.counter: dict[str, int] = {}
        span = record.summary_span
        self.f = _Folded(self.t, span.start, span.end) if span is not None else _Folded("", 0, 0)
        self.sents = _sentences(self.f)

    # -- helpers ---------------------------------------------------------------
    def next_id(self, prefix: str) -> str:
        self.counter[prefix] = self.counter.get(prefix, 0) + 1
        return f"{prefix}{self.counter[prefix]}"

    def ev(self, a: int, b: int) -> Evidence:
        """Evidence for the folded summary range [a, b)."""
        s, e = self.f.span(a, b)
        return Evidence(document=self.doc, quote=" ".join(self.t[s:e].split()), start=s, end=e)

    def ev_letter(self, s: int, e: int) -> Evidence:
        """Evidence for a letter range [s, e) (header or item heading)."""
        return Evidence(document=self.doc, quote=" ".join(self.t[s:e].split()), start=s, end=e)

    def exam_sentences(self) -> Iterator[_Sentence]:
        for sent in self.sents:
            if _NOT_EXAM.search(sent.text):
                continue
            yield sent

    # -- worker and injury ----------------------------------------------------------
    def worker(self) -> Worker | None:
        s = self.f.s
        age_m = re.search(r"\b(\d{2})[- ]years?[- ]old\b", s, re.I)
        sex_m = None
        if age_m:
            sex_m = re.compile(r"\b(male|female|man|woman|gentleman|lady)\b", re.I).search(s, age_m.end(), age_m.end() + 40)
        if sex_m is None:
            sex_m = re.search(r"\b(male|female)\b", s, re.I)
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

    _INJURY = re.compile(
        rf"(?:industrial(?:-work)? injury|work[- ]related injury|date of injury|injury date|occupational claim|"
        rf"date of injury|suffered an industrial injury|industrial injury date)\s*(?:on|of|from|was|dated)?\s*"
        rf"(?P<date>{DATE_RX})", re.I)

    def injury(self, diagnoses: Sequence[Diagnosis]) -> Injury | None:
        s = self.f.s
        date = None
        evidence: list[Evidence] = []
        # the header's Date of Injury is the structured field and wins; the
        # summary's date is used when there is no header, and cited when it agrees
        m = self._INJURY.search(s)
        summary_date = _parse_date(m.group("date")) if m else None
        header = self.rec.date_of_injury
        if header is not None and header.value is not None:
            date = header.value
            evidence.append(self.ev_letter(header.span.start, header.span.end))
        else:
            date = summary_date
        if m and summary_date == date:
            evidence.append(self.ev(m.start(), m.end()))
        mechanism = None
        mm = re.search(r"mechanism of injury (?:is|was) (?:detailed|described|reported|documented) as (?:a |an |the )?(?P<m>[^.]+)\.", s, re.I) \
            or re.search(r"mechanism of injury(?: occurred)?(?: was| is)?:? (?P<m>(?:when|while|from|due to|after)[^.]+)\.", s, re.I) \
            or re.search(rf"injury (?:on |of )?(?:{DATE_RX}),? (?P<m>(?:when|while|after) [^.]+)\.", s, re.I) \
            or re.search(r"reported (?P<m>[^.]{5,120}?) when (?:bending|lifting|pushing|pulling|carrying|he |she )[^.]*\.", s, re.I)
        if mm and not re.search(r"\bnot (?:detailed|documented|provided)|unclear|unknown", mm.group(0), re.I):
            mechanism = " ".join(mm.group("m").split()).rstrip(" .")
            evidence.append(self.ev(mm.start("m"), mm.end("m")))
        regions: list[str] = []
        for dx in diagnoses:
            for r in _regions(dx.label):
                if r not in regions:
                    regions.append(r)
        if date is None and mechanism is None and not regions:
            return None
        return Injury(date=date, mechanism=mechanism, regions=tuple(sorted(regions)), evidence=tuple(evidence))

    # -- diagnoses ----------------------------------------------------------------
    def diagnoses(self) -> list[Diagnosis]:
        out: list[Diagnosis] = []
        seen: set[str] = set()
        s = self.f.s
        for sent in self.sents:
            for head in _DX_HEAD.finditer(sent.text):
                a = sent.start + head.end()
                stop = re.compile(r"\.\s|\.$| (?:who|which|that) |\. |, (?:who|with|as well)|\bsecondary to\b").search(s, a, sent.end)
                b = stop.start() if stop else sent.end
                b = min(b, a + 400)
                seg = s[a:b]
                protected = re.sub(r"muscle, fascia and tendon", "muscle\x00 fascia and tendon", seg, flags=re.I)
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
                    lab = re.sub(r"^(?:the |a |an |diagnos[ie]s (?:of|include[sd]?) |diagnosis of |as having )", "", lab, flags=re.I)
                    if not lab or len(lab.split()) > 14 or not _DX_NOUN.search(lab):
                        continue
                    key = lab.lower()
                    if key in seen:
                        continue
                    seen.add(key)
                    regions = _regions(lab)
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
        out: list[Finding] = []
        seen: set[tuple[str, str, int]] = set()
        for si, sent in enumerate(self.sents):
            if _NOT_EXAM.search(sent.text):
                continue
            if any(rx.search(sent.text) for _, rx in _STUDY_RX) and si in studies:
                continue  # imaging sentences give their findings below
            for coff, clause in _clauses(sent.text):
                for kind, rx, mode in _FINDING_RX:
                    for m in rx.finditer(clause):
                        if kind == "muscle_spasm" and re.search(r"relax", clause[max(0, m.start() - 25):m.start()], re.I):
                            continue
                        if kind == "dermatomal_sensory_deficit" and re.search(r"\bburning|tingling", clause[m.start():m.end() + 5], re.I):
                            continue
                        if kind == "motor_deficit" and re.search(r"\bgrip\b", clause[max(0, m.start() - 10):m.end() + 10], re.I):
                            continue
                        polarity = assert_polarity(clause, m.start(), m.end(), mode)
                        if polarity is None:
                            continue
                        a = sent.start + coff
                        key = (kind, polarity, a)
                        if key in seen:
                            continue
                        seen.add(key)
                        region_list = _regions(clause)
                        c_a, c_b = a, a + len(clause)
                        if c_b - c_a > 220:
                            c_a = max(a, a + m.start() - 100)
                            c_b = min(a + len(clause), a + m.end() + 100)
                        label = " ".join(m.group(0).split())
                        out.append(Finding(id=self.next_id("f"), kind=kind, status=polarity, label=label,
                                           region=region_list[0] if region_list else None, date=sent.date,
                                           evidence=(self.ev(c_a, c_b),)))
            for m in re.finditer(r"(?P<v>\d{1,2}(?:\.\d)?(?:\s*-\s*\d{1,2})?)\s*(?:/\s*10|out of (?:10|ten)|on a (?:10|ten)[- ]point\b|"
                                 r"on (?:a|the) (?:pain )?scale of (?:0 to |1 to |0-|1-)?10)", sent.text, re.I):
                if not re.search(r"pain|VAS|rated|level|scale", sent.text, re.I):
                    continue
                value = m.group("v").replace(" ", "")
                region_list = _regions(sent.text)
                out.append(Finding(id=self.next_id("f"), kind="pain_score", status="present", label=f"pain {value}/10",
                                   region=region_list[0] if region_list else None, date=sent.date,
                                   evidence=(self.ev(sent.start, sent.end),)))
        return out

    # -- symptoms -----------------------------------------------------------------
    _COMPLAINT = re.compile(r"\b(?:complain(?:s|ed|ing)? of|complaints? of|reported|reports|presented with|"
                            r"symptoms (?:included|include)|continues to have|has (?:persistent|ongoing|continued)|"
                            r"noted (?:to have )?(?:persistent|ongoing|continued)|c/o)\b", re.I)

    def symptoms(self) -> list[Symptom]:
        out: list[Symptom] = []
        seen: set[tuple[str | None, _dt.date | None]] = set()
        for sent in self.sents:
            if _NOT_EXAM.search(sent.text):
                continue
            m = self._COMPLAINT.search(sent.text)
            if m is None:
                continue
            rest = sent.text[m.end():]
            if not re.search(r"pain|ache|numbness|tingling|stiffness|weakness|spasm|swelling|headache|discomfort|symptoms", rest, re.I):
                continue
            regions = _regions(rest) or [None]  # type: ignore[list-item]
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
            signs = [f for f in findings if f.status == "present" and f.date is not None and f.region == sx.region
                     and sx.region is not None and f.kind in ("tenderness", "muscle_spasm", "trigger_point")]
            earliest = min(signs, key=lambda f: f.date, default=None)  # type: ignore[arg-type,return-value]
            if earliest is not None and (sx.documented_since is None or earliest.date < sx.documented_since):
                sx = Symptom(id=sx.id, label=sx.label, region=sx.region, onset=sx.onset,
                             documented_since=earliest.date, evidence=sx.evidence + earliest.evidence)
            out.append(sx)
        return out

    # -- treatments to date -------------------------------------------------------
    def treatments(self) -> list[Treatment]:
        out: list[Treatment] = []
        seen: set[tuple[str, str]] = set()
        s = self.f.s
        for sent in self.sents:
            if re.search(r"\butilization review\b|\bUR\b|\brequest(?:ed|s)?\b|\bauthoriz\w*|\bdenied\b|\bnon-?certif\w*|"
                         r"\bplan\b|\brecommend\w*|\bwill\b|\bneeds?\b", sent.text, re.I):
                continue
            heads = list(_TX_HEAD.finditer(sent.text))
            completed = list(re.finditer(rf"(?:completed|attended|had|received|underwent|finished)\s+(?:{_NUM})\s+", sent.text, re.I))
            if not heads and not completed:
                continue
            a = sent.start + (heads[0].end() if heads else completed[0].start())
            b = sent.end
            seg = s[a:b].rstrip(". ")
            depth = 0
            pieces: list[tuple[int, int]] = []
            start = 0
            i = 0
            while i < len(seg):
                c = seg[i]
                if c == "(":
                    depth += 1
                elif c == ")":
                    depth = max(0, depth - 1)
                elif depth == 0:
                    m = re.compile(r",\s*(?:and\s+)?|;\s*|\s+and\s+(?!tendon)|\s+as well as\s+").match(seg, i)
                    if m and m.end() > i:
                        pieces.append((start, i))
                        start = m.end()
                        i = m.end()
                        continue
                i += 1
            pieces.append((start, len(seg)))
            for p0, p1 in pieces:
                frag = seg[p0:p1]
                if not frag.strip() or re.fullmatch(r"\s*(?:diagnostics?|diagnostic (?:testing|imaging|studies)|imaging|"
                                                    r"x-?rays?|MRI|follow[- ]up|consultations?|other modalities|"
                                                    r"modalities|labs?|medications?|medication therapy|"
                                                    r"medication management|pain medications?)\s*", frag, re.I):
                    if re.fullmatch(r"\s*(?:medications?|medication therapy|medication management|pain medications?)\s*", frag, re.I):
                        self._add_tx(out, seen, "other_medication", frag, a + p0, a + p1, None, ())
                    continue
                kind = self._tx_kind(frag)
                if kind is None:
                    continue
                lead = s[max(sent.start, a + p0 - 40):a + p0] + frag[:40]
                if re.search(r"\b(?:no|never|not had|without|denie[sd])\s+(?:any\s+)?(?:prior|previous|past|history of)?\s*"
                             r"(?:[\w-]+\s+){0,2}$", s[max(sent.start, a + p0 - 40):a + p0], re.I) or \
                        re.match(r"\s*(?:no|never)\s+(?:prior|previous|past)?", frag, re.I) and \
                        re.match(r"\s*(?:no|never)\b", lead[-len(frag[:40]):], re.I):
                    continue  # "no prior chiropractic therapy": the record says it was not given
                cm = _TX_COUNT.search(frag)
                sessions = None
                if cm:
                    sessions = _number(next(g for g in cm.groupdict().values() if g))
                outcomes = _outcomes(frag)
                self._add_tx(out, seen, kind, frag, a + p0, a + p1, sessions, outcomes)
        # drug names in medication sentences
        for sent in self.sents:
            if not re.search(r"medication|prescri|taking|regimen|tried|trial of|was on\b|using\b|treatment", sent.text, re.I):
                continue
            if re.search(r"\butilization review\b|\bUR\b|\brequest\w*|\bauthoriz\w*|\bdenied\b|\bnon-?certif\w*|"
                         r"\bplan\b|\brecommend\w*|\bwill\b", sent.text, re.I):
                continue
            for name, kind, rx in _drug_lexicon():
                if name.lower() in _GENERIC_DRUG_WORDS:
                    continue
                for m in rx.finditer(sent.text):
                    tail = sent.text[m.end():m.end() + 80]
                    outcomes = _outcomes(tail.split(",")[0]) if tail else ()
                    self._add_tx(out, seen, kind, m.group(0), sent.start + m.start(), sent.start + m.end(), None, outcomes)
        return out

    def _tx_kind(self, frag: str) -> str | None:
        drug = _drug_in(frag)
        if drug is not None and drug[0].lower() not in _GENERIC_DRUG_WORDS:
            return drug[1]
        if re.search(r"activity modification|modified (?:work|duty|duties)|work restrictions?|rest\b", frag, re.I):
            return "activity_modification"
        if re.search(r"home exercise|\bHEP\b", frag, re.I):
            return "home_exercise"
        if re.search(r"stretching", frag, re.I):
            return "stretching"
        if re.search(r"\bNSAIDs?\b|anti-inflammator", frag, re.I):
            return "nsaid"
        if re.search(r"muscle relaxants?", frag, re.I):
            return "muscle_relaxant"
        if re.search(r"\bopioids?\b|narcotic", frag, re.I):
            return "opioid"
        kind = classify_service(frag)
        if kind in ("other", "consultation", "office_visit", "mri", "ct", "xray", "emg_ncs", "lab_test", "other_study",
                    "bone_scan", "urine_drug_test", "eeg", "ekg", "evoked_potentials", "functional_capacity_evaluation",
                    "preoperative_clearance", "assistant_surgeon", "psychological_evaluation", "transportation"):
            return None
        return kind

    def _add_tx(self, out: list[Treatment], seen: set[tuple[str, str]], kind: str, label: str, a: int, b: int,
                sessions: int | None, outcomes: tuple[str, ...]) -> None:
        label = " ".join(label.split()).strip(" .,")
        if not label:
            return
        drug = _drug_in(label)
        key = (kind, (drug[0] if drug else label).lower())
        for i, t in enumerate(out):
            if (t.kind, (_drug_in(t.label or "") or (t.label or "",))[0].lower() if t.label else "") == key \
                    or (t.kind == kind and kind not in _DRUG_KINDS and kind != "other_medication"):
                if outcomes and not t.outcomes or sessions and not t.sessions:
                    out[i] = Treatment(id=t.id, kind=t.kind, label=t.label, outcomes=t.outcomes or outcomes,
                                       sessions=t.sessions or sessions, region=t.region,
                                       evidence=t.evidence + (self.ev(a, b),))
                return
        if key in seen:
            return
        seen.add(key)
        regions = _regions(label)
        if drug is not None and kind in _DRUG_KINDS:
            label = drug[0]
        out.append(Treatment(id=self.next_id("tx"), kind=kind, label=label, outcomes=outcomes, sessions=sessions,
                             region=regions[0] if regions else None, evidence=(self.ev(a, b),)))

    # -- studies ------------------------------------------------------------------
    def studies(self) -> tuple[list[Study], list[Finding], dict[int, list[tuple[str, str]]]]:
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
                regions = _regions(sent.text[m.start():res.end() + 40])
                sid = self.next_id("st")
                study = Study(id=sid, kind=kind, region=regions[0] if regions else None, date=sent.date,
                              result=" ".join(result.split()), evidence=(self.ev(sent.start + m.start(), sent.end),))
                studies.append(study)
                by_sentence.setdefault(si, []).append((sid, kind))
                res_text = sent.text[res.end():]
                for fkind, frx in _IMAGING_FINDINGS:
                    fm = re.search(frx, res_text, re.I)
                    if fm:
                        findings.append(Finding(
                            id=self.next_id("f"), kind=fkind, status="present", label=" ".join(fm.group(0).split()),
                            region=study.region, date=sent.date, study=sid,
                            evidence=(self.ev(sent.start + res.end() + fm.start(), sent.start + res.end() + fm.end()),)))
                if kind == "emg_ncs":
                    rm = re.search(r"radiculopathy", res_text, re.I)
                    if rm:
                        pol = "absent" if re.search(r"\b(?:no|without|negative for)\b[^.]{0,40}$", res_text[:rm.start()], re.I) \
                            else "present"
                        findings.append(Finding(
                            id=self.next_id("f"), kind="electrodiagnostic_radiculopathy", status=pol, label="radiculopathy",
                            region=study.region, date=sent.date, study=sid,
                            evidence=(self.ev(sent.start + m.start(), sent.end),)))
                    elif re.search(r"\b(?:normal|negative|unremarkable)\b", sent.text[m.end():], re.I):
                        findings.append(Finding(
                            id=self.next_id("f"), kind="electrodiagnostic_radiculopathy", status="absent",
                            label="normal electrodiagnostic study", region=study.region, date=sent.date, study=sid,
                            evidence=(self.ev(sent.start + m.start(), sent.end),)))
        return studies, findings, by_sentence

    # -- UR and requests ----------------------------------------------------------
    def ur(self) -> tuple[_dt.date | None, str | None, tuple[Evidence, ...], _Sentence | None]:
        date = None
        evidence: list[Evidence] = []
        d = self.rec.ur_denial_date
        if d is not None and d.value is not None:
            date = d.value
            evidence.append(self.ev_letter(d.span.start, d.span.end))
        ur_sent = None
        for sent in self.sents:
            if re.search(r"utilization review|\bUR\b", sent.text, re.I) and \
                    re.search(r"denied|non-?certif\w*|modified|not medically necessary|determined|dated", sent.text, re.I):
                ur_sent = sent
                break
        reason = None
        if ur_sent is not None:
            if date is None:
                m = _DATE.search(ur_sent.text)
                if m:
                    date = _parse_date(m.group(0))
            idx = self.sents.index(ur_sent)
            end = ur_sent.end
            for nxt in self.sents[idx + 1: idx + 4]:
                if re.search(r"guideline|no (?:documentation|mention|evidence)|not (?:established|supported|recommended)|"
                             r"Therefore|In addition|Additionally|due to", nxt.text, re.I):
                    end = nxt.end
                else:
                    break
            reason = " ".join(self.f.s[ur_sent.start:end].split())
            evidence.append(self.ev(ur_sent.start, end))
        return date, reason, tuple(evidence), ur_sent

    def request_date(self) -> tuple[_dt.date | None, Evidence | None]:
        m = re.search(rf"(?:request for authorization|RFA)(?: date)?\s*(?:was|dated|of|on)?\s*(?:dated\s*)?(?P<d>{DATE_RX})",
                      self.f.s, re.I) \
            or re.search(rf"(?:On|on) (?P<d>{DATE_RX}),? (?:a |the )?request (?:for authorization )?was (?:received|submitted|made)",
                         self.f.s)
        if m is None:
            return None, None
        return _parse_date(m.group("d")), self.ev(m.start(), m.end())

    def requests(self) -> tuple[list[Request], list[RequestDetail]]:
        ur_date, reason, ur_ev, _ = self.ur()
        rfa_date, rfa_ev = self.request_date()
        decided = self.rec.decision_date.value if self.rec.decision_date is not None else None
        specialty = self.rec.specialty.text if self.rec.specialty is not None else None
        requests: list[Request] = []
        details: list[RequestDetail] = []
        for i, item in enumerate(self.rec.items):
            rid = f"r{i + 1}"
            svc = item.requested_service
            kind = classify_service(svc.text)
            regions = _regions(svc.text)
            visits, freq = parse_quantity(svc.text, kind)
            drug = strength = None
            count = refills = None
            if kind in _DRUG_KINDS or kind == "other" and _STRENGTH.search(svc.text):
                drug, strength, count, refills = _drug_detail(svc.text)
            partial = item.original_request is not None
            evidence = [self.ev_letter(item.service.span.start, item.service.span.end)]
            if rfa_ev is not None:
                evidence.append(rfa_ev)
            ur = URDecision(decision="modified" if partial else "denied", date=ur_date, reason=reason, evidence=ur_ev)
            imr = IMRDecision(
                decision="overturned" if item.decision.text.lower().startswith("overturn") else "upheld",
                date=decided, specialty=specialty,
                citation=item.maximus_guideline.text if item.maximus_guideline is not None else None,
                evidence=(self.ev_letter(item.decision.span.start, item.decision.span.end),))
            injections = None
            if kind == "trigger_point_injection":
                im = re.search(rf"(?P<n>{_NUM})\s+(?:trigger point )?injections?|x\s*(?P<m>\d)\b", svc.text, re.I)
                if im:
                    injections = _number(im.group("n") or im.group("m"))
            substances: list[str] = []
            if re.search(r"lidocaine|bupivacaine|marcaine|ropivacaine", svc.text, re.I) and "injection" in kind:
                substances.append("local_anesthetic")
            if re.search(r"dexamethasone|triamcinolone|kenalog|depo-medrol|methylprednisolone|steroid|cortisone", svc.text, re.I) \
                    and "injection" in kind:
                substances.append("corticosteroid")
            requests.append(Request(
                id=rid, service=kind, text=item.service.text, region=regions[0] if regions else None, date=rfa_date,
                injections=injections, sessions=visits, frequency=freq, substances=tuple(substances), ur=ur, imr=imr,
                evidence=tuple(evidence)))
            details.append(RequestDetail(request_id=rid, service_kind=kind, region=regions[0] if regions else None,
                                         visits=visits, frequency=freq, drug=drug, strength=strength, count=count,
                                         refills=refills, partial=partial))
        return requests, details

    # -- all ----------------------------------------------------------------------
    def run(self) -> LetterCase:
        diagnoses = self.diagnoses()
        studies, study_findings, by_sentence = self.studies()
        findings = self.findings(by_sentence) + study_findings
        requests, details = self.requests()
        decided = self.rec.decision_date.value if self.rec.decision_date is not None else None
        case = CaseData(
            case_id=self.doc, source=self.lt.source, title=f"IMR final determination {self.doc}",
            documents=(Document(id=self.doc, title="IMR final determination letter", date=decided,
                                file_name=self.lt.source),),
            worker=self.worker(), injury=self.injury(diagnoses), diagnoses=tuple(diagnoses),
            findings=tuple(findings), symptoms=tuple(self.date_symptoms(self.symptoms(), findings)), treatments=tuple(self.treatments()),
            studies=tuple(studies), requests=tuple(requests))
        return LetterCase(case=case, details=tuple(details), text=self.lt, record=self.rec)


def extract_case(text: LetterText, record: LetterRecord | None = None) -> LetterCase:
    """Read the facts of one letter into :class:`LetterCase` (CaseData plus request details).

    ``record`` is parsed from ``text`` when not given.  Only the header and
    the clinical case summary feed the facts; the decision section gives the
    request list (one per item, by its service text) and the reviewer's
    record in ``Request.imr``.  Pure: the inputs are not changed.  Raises
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
    for enrich in _area_enrichers():
        lc = enrich(lc)
    return lc


# Extraction for particular guideline areas lives in modules of its own, each with
# ``enrich(lc: LetterCase) -> LetterCase`` adding facts (with evidence) from the case summary.
def _area_enrichers() -> list:  # -> list[Callable[[LetterCase], LetterCase]]
    from kg.extract import imaging, medication, procedures, therapy

    return [imaging.enrich, therapy.enrich, medication.enrich, procedures.enrich]


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

