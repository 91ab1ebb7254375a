"""Services and drugs: the kind of service a request names, the quantity it asks for, and the drug
lexicon.

* :func:`classify_service` gives a request's service kind (a ``kg.model.TREATMENT_KINDS`` key,
  a class of ``ontology/services.ttl``) by ordered rules, then the drug lexicon;
* :func:`parse_quantity` reads visits or sessions ("2 times a week for 6 weeks" is 12) and
  :func:`drug_detail` a drug request's name, strength, count ("#60") and refills;
* :func:`drug_lexicon` is every drug name of the ontology's medication classes
  (:data:`DRUG_KINDS`), read from the packaged ontology on first use, never at import time;
  :func:`drug_in` finds the first drug a text names.
"""

from __future__ import annotations

import re
from functools import lru_cache

from kg.extract import sieve
from kg.extract.text import NUM_RX, WORD_NUMBERS, parse_number
from kg.model import TREATMENT_KINDS

__all__ = [
    "classify_service", "DRUG_KINDS", "GENERIC_DRUG_WORDS", "drug_lexicon", "drug_in",
    "parse_quantity", "drug_detail", "STRENGTH",
]


# ---------------------------------------------------------------------------
# Service kinds
# ---------------------------------------------------------------------------
_SERVICE_RULES: tuple[tuple[str, str], ...] = (
    ("hyperstimulation_analgesia",
     r"hyperstimulation|intense neurostimulation|high[- ]intensity neurostimulation|\bLINT\b"),
    ("other_study", r"impedance imaging|\bTPII\b"),
    ("assistant_surgeon", r"assistant surgeon|\bPA assist|surgical assistant"),
    ("preoperative_clearance", r"(?:medical|pre-?op\w*) clearance"),
    ("functional_capacity_evaluation", r"functional capacity evaluation|\bFCE\b"),
    ("psychological_evaluation", r"psych\w* evaluation|psychological consult"),
    ("postoperative_physical_therapy", r"post[- ]?op\w*\s+(?:physical therapy|PT)\b"),
    ("inpatient_rehabilitation", r"inpatient rehabilitation|rehabilitation unit|skilled nursing"),
    ("psychological_treatment",
     r"psychotherap\w*|cognitive behavio\w* therapy|\bCBT\b|partial hospitalization|counsel\w+"),
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
    ("neuromuscular_stimulation", r"\bNMES\b|neuromuscular (?:electrical )?stimulat\w*"),
    ("galvanic_stimulation", r"galvanic"),
    ("electrical_stimulation", r"electrical stimulation|e-stim|neurostimulation|\bEMS\b|interferential"),
    ("heat_cold_therapy", r"\bice\b|heat pads?|hot/cold"),
    ("therapeutic_ultrasound", r"^ultrasound\b|therapeutic ultrasound"),
    ("laser_therapy", r"\blow[- ]level laser|\bLLLT\b|\bcold laser|\blaser (?:therapy|treatments?|sessions?)\b"),
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
    ("surgery",
     r"surgery|surgical|arthroplasty|fusion|laminectomy|discectomy|decompression|repair|release|replacement"),
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
_SERVICE_RX = tuple((kind, sieve.compile(rx, re.I)) for kind, rx in _SERVICE_RULES)


# ---------------------------------------------------------------------------
# Drugs
# ---------------------------------------------------------------------------
#: drug-class keys whose altLabels form the drug lexicon (read from the ontology)
DRUG_KINDS = ("nsaid", "muscle_relaxant", "opioid", "ppi", "h2_blocker", "topical_analgesic", "compounded_topical",
              "anticonvulsant", "antidepressant", "benzodiazepine", "sleep_aid", "butalbital_combination",
              "acetaminophen", "oral_corticosteroid", "dmard")
#: words that name a class of drugs, not a drug ("NSAIDs", "muscle relaxants")
GENERIC_DRUG_WORDS = {"nsaid", "nsaids", "opioid", "opioids", "narcotic", "narcotics", "ppi", "muscle relaxant",
                      "muscle relaxants", "anti-inflammatory", "anti-inflammatories", "topical cream"}


@lru_cache(maxsize=1)
def drug_lexicon() -> tuple[tuple[str, str, re.Pattern[str]], ...]:
    """(name, kind, regex) for every drug name in the ontology's medication classes, longest first.

    Read from the packaged ontology on the first call (not at import time), then cached.
    """
    from rdflib import RDFS
    from rdflib.namespace import SKOS

    from kg.rdf import KG, ontology_graph

    g = ontology_graph()
    out: list[tuple[str, str, re.Pattern[str]]] = []
    for kind in DRUG_KINDS:
        cls = KG[TREATMENT_KINDS[kind]]
        names = {str(o) for o in g.objects(cls, SKOS.altLabel)} | {str(o) for o in g.objects(cls, RDFS.label)}
        for name in names:
            if len(name) < 3:
                continue
            rx = sieve.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])", re.I)
            out.append((name, kind, rx))
    out.sort(key=lambda t: (-len(t[0]), t[0].lower()))
    return tuple(out)


@lru_cache(maxsize=1)
def _drug_needles() -> tuple[str | None, ...]:
    """Each name of :func:`drug_lexicon` lower-cased, or None for a name that is not ASCII."""
    return tuple(name.lower() if name.isascii() else None for name, _, _ in drug_lexicon())


def drug_in(text: str) -> tuple[str, str, int, int] | None:
    """The first drug named in ``text``: (name as printed, kind, start, end), or None.

    Of two names starting at the same place the longer wins.
    """
    best: tuple[int, int, str, str] | None = None
    # a name whose letters are not in the text cannot match: for ASCII text and names, matching
    # without case is matching the lower-cased forms, so a substring test skips most regexes
    low = text.lower() if text.isascii() else None
    for (_name, kind, rx), needle in zip(drug_lexicon(), _drug_needles(), strict=True):
        if low is not None and needle is not None and needle not in low:
            continue
        m = rx.search(text)
        if m and (best is None or m.start() < best[0] or (m.start() == best[0] and m.end() > best[1])):
            best = (m.start(), m.end(), m.group(0), kind)
    if best is None:
        return None
    return best[2], best[3], best[0], best[1]



_TOPICAL_FORM = sieve.compile(r"\b(?:gel|cream|patch(?:es)?|topical|lotion|ointment|transdermal)\b", re.I)
_TOPICAL_NSAID = sieve.compile(r"\b(?:Flector|Pennsaid)\b", re.I)
_COMPOUND = sieve.compile(r"\d+(?:\.\d+)?\s*%.*(?:cream|gel|base|ointment|patch|\d+\s*%)|cream base|compound", re.I)


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
    >>> classify_service("Voltaren gel 1% 100g"), classify_service("Voltaren 75mg #60")
    ('topical_analgesic', 'nsaid')
    >>> classify_service("Labs - PT/PTT"), classify_service("Associated surgical service: Labs - PT/PTT")
    ('lab_test', 'preoperative_clearance')
    """
    t = " ".join(text.split())
    associated = sieve.match(r"^Associated surgical service:\s*", t, re.I) is not None
    t = sieve.sub(r"^Associated surgical service:\s*", "", t, flags=re.I)
    if associated:
        inner = classify_service(t)
        # tests done because of the surgery (labs, EKG, chest X-ray, urinalysis) are its pre-operative work-up
        if inner in ("lab_test", "ekg", "xray", "other_study", "other") and \
                sieve.search(r"\blabs?\b|\bEKG\b|\bECG\b|x-?ray|\bUA\b|urinalysis|\bCBC\b|clearance", t, re.I):
            return "preoperative_clearance"
        return "postoperative_physical_therapy" if inner == "physical_therapy" else inner
    t = sieve.sub(r"^Retrospective\s+", "", t, flags=re.I)
    if _COMPOUND.search(t) and not sieve.search(r"patch", t, re.I):
        return "compounded_topical"
    if sieve.search(r"\bPTT\b|\bPT/INR\b|\bINR\b", t):  # prothrombin time: a laboratory test, not therapy
        return "lab_test"
    drug = drug_in(t)
    if (drug is not None and drug[1] == "nsaid" and (_TOPICAL_FORM.search(t) or sieve.search(r"\d\s*%", t))) \
            or _TOPICAL_NSAID.search(t):
        return "topical_analgesic"  # a diclofenac gel, patch or "1.5%" solution is a topical NSAID, not an oral one
    for kind, rx in _SERVICE_RX:
        m = rx.search(t)
        if m is None:
            continue
        if drug is not None and drug[2] < m.start() and kind not in ("acupuncture",):
            break  # a drug named first: the request is for the drug ("Lidocaine 5% patch")
        if kind == "physical_therapy" and sieve.match(r"Associated surgical service", text.strip(), re.I):
            return "postoperative_physical_therapy"
        return kind
    if drug is not None:
        return drug[1]
    return "other"



# ---------------------------------------------------------------------------
# Quantities
# ---------------------------------------------------------------------------
_FREQ = sieve.compile(
    rf"(?P<a>{NUM_RX})(?:\s*(?:-|to)\s*(?P<a2>{NUM_RX}))?\s*(?:times|x)\s*(?:a|per|each|weekly|/)?\s*(?:week|wk)?\w*"
    rf"\s*(?:for|over|x|times)\s*(?P<b>{NUM_RX})(?:\s*(?:-|to)\s*{NUM_RX})?\s*(?:weeks?|wks?)", re.I)
_VISITS_WEEKLY = sieve.compile(rf"(?P<a>{NUM_RX})\s*(?:additional\s+)?(?:visits?|sessions?)\s*(?:a|"
                               rf"per)\s*week\s*(?:for|over|x|times)\s*(?P<b>{NUM_RX})\s*weeks?", re.I)
_FREQ_WEEKLY = sieve.compile(rf"(?P<a>{NUM_RX}|twice|once)\s*(?:times\s*)?(?:a|per)?\s*week(?:ly)?\s*(?:for|over|times|"
                             rf"x)\s*(?P<b>{NUM_RX})\s*weeks?", re.I)
_TIMES_N = sieve.compile(rf"(?P<a>{NUM_RX})\s*(?:times|x)\s*(?P<b>{NUM_RX})(?!\s*(?:mg|%|weeks?))\b", re.I)
_TWO_X = sieve.compile(r"\b(?P<a>\d)\s*x\s*(?P<b>\d{1,2})\b", re.I)
_N_SESSIONS = sieve.compile(rf"(?:{NUM_RX}\s*(?:-|to)\s*)?(?P<n>{NUM_RX})\s*(?:\(\d+\)\s*)?(?:additional\s+)?"
                            rf"(?:[\w-]+\s+){{0,3}}?(?:sessions?|visits?|treatments?)\b", re.I)
_SESSIONS_N = sieve.compile(r"(?:sessions?|visits?|treatments?)\s*(?:,\s*|of\s+|x\s*|#\s*)?\(?(?P<n>\d{1,2})\)?", re.I)
_TIMES_ONLY = sieve.compile(r"\b(?:times|x)\s*(?P<n>\d{1,2})\b(?!\s*(?:weeks?|mg))", re.I)
_PAREN_N = sieve.compile(r"\((?P<n>\d{1,2})\)")
_HASH_N = sieve.compile(r"#\s*(?P<n>\d{1,4})")
#: a drug strength ("10/325mg", "5%", "0.025%")
STRENGTH = sieve.compile(r"\d+(?:\.\d+)?(?:\s*/\s*\d+(?:\.\d+)?)*\s*(?:mg|mcg|g|grams|ml|%)(?:/\s*ml)?", re.I)
_REFILLS = sieve.compile(rf"(?P<n>{NUM_RX})\s+refills?|with\s+(?P<m>{NUM_RX})\s+refills?", re.I)
_VISIT_KINDS = frozenset({
    "physical_therapy", "postoperative_physical_therapy", "occupational_therapy", "chiropractic", "acupuncture",
    "manual_therapy", "electrical_stimulation", "neuromuscular_stimulation", "galvanic_stimulation", "laser_therapy",
    "traction", "heat_cold_therapy", "therapeutic_ultrasound",
    "infrared_therapy", "shockwave_therapy", "hyperstimulation_analgesia", "biofeedback", "psychological_treatment",
    "office_visit", "home_health_care", "functional_restoration_program",
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
    explicit = sieve.search(r"\((?P<n>\d{1,2})\s*(?:sessions?|visits?)?\)", t)
    for rx in (_FREQ, _FREQ_WEEKLY, _VISITS_WEEKLY):
        m = rx.search(t)
        if m:
            a = parse_number(m.group("a")) if m.group("a") not in ("twice", "once") else WORD_NUMBERS[m.group("a")]
            hi = m.groupdict().get("a2")
            if hi:
                a = parse_number(hi) or a
            b = parse_number(m.group("b"))
            if a and b:
                return (int(explicit.group("n")) if explicit else a * b), m.group(0)
    m = _TIMES_N.search(t) or _TWO_X.search(t)
    if m:
        a, b = parse_number(m.group("a")), parse_number(m.group("b"))
        if a and b:
            if explicit:
                return int(explicit.group("n")), m.group(0)
            return a * b, m.group(0)
    for rx in (_N_SESSIONS, _SESSIONS_N, _TIMES_ONLY, _PAREN_N, _HASH_N):
        m = rx.search(t)
        if m:
            n = parse_number(m.group("n"))
            if n:
                return n, None
    return None, None


def drug_detail(text: str) -> tuple[str | None, str | None, int | None, int | None]:
    """(drug name, strength, count, refills) of a drug request text; None for what it does not say.

    >>> drug_detail("Baclofen 10mg #30 with 2 refills")
    ('Baclofen', '10mg', 30, 2)
    """
    t = " ".join(text.split())
    drug = drug_in(t)
    if drug is None:
        m = sieve.match(r"(?:Retrospective\s+)?([A-Z][A-Za-z-]+)", t)
        name = m.group(1) if m and STRENGTH.search(t) else None
    else:
        name = drug[0]
    strength = STRENGTH.search(t)
    count = _HASH_N.search(t)
    refills = _REFILLS.search(t)
    n_refills = None
    if refills:
        n_refills = parse_number(refills.group("n") or refills.group("m"))
    return (name, " ".join(strength.group(0).split()) if strength else None,
            int(count.group("n")) if count else None, n_refills)
