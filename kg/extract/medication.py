"""Medication facts from a letter's clinical case summary, for the MTUS medication sections.

Called by :func:`kg.extract.case.extract_case` (one of ``kg.extract.case.ENRICHERS``) after the base
extractor: :func:`enrich` takes a :class:`~kg.extract.result.LetterCase` and returns a new one with

* the **drug request fields** the base extractor leaves empty (drug name, strength, "#60" count,
  a course length in days such as "14 days" or "one month supply", else the days its count lasts
  at the daily doses it names, "three times a day #45"), a carisoprodol or
  celecoxib (COX-2 selective NSAID) request typed as such, and the **ingredients** of a topical or compounded product as
  ``substances`` (gabapentin, baclofen, cyclobenzaprine, non-patch lidocaine, NSAIDs other than
  diclofenac, diclofenac, capsaicin, lidocaine patch, ...), so "a compound with one
  ingredient that is not recommended is not recommended" is a SHACL check;
* the **dosage form** of an oral drug request when it is not the ordinary tablet or capsule
  (an oral suspension or solution, a compounded kit), for "the ordinary oral form first";
* for medications the worker already takes: **how long** ("has been taking Norco for 6
  months", "on cyclobenzaprine since 08/2016") and the **documented effect** ("Norco reduces
  pain from 8/10 to 4/10", "gabapentin provides 40% relief", "with improved function"); a
  request the summary calls a first-time request drops same-class medication facts that
  only record the prescription at issue;
* **findings** the medication sections read: side effects (reported, or denied), urine drug
  screens, CURES reports, opioid agreements, aberrant behaviour, opioid risk screening,
  GI risk factors (peptic ulcer or GI bleed history, dyspepsia, high-dose NSAIDs),
  concurrent aspirin or anticoagulants, acute flare-ups, a reason the oral form cannot be used
  (difficulty swallowing, oral medication not tolerated), and neuropathic pain diagnoses;
* **ongoing use** of a requested drug that the summary names only through the review of the
  request ("denied because long-term use of muscle relaxants is not supported"): the request
  continues a drug already taken, with its duration and effect unknown;
* the **authorised supply** of a partial authorisation whose IMR-eligible part is only the
  refills ("#90 was authorized ... the remaining portion, Two refills of ..."): the refills
  continue that supply, with its effect not yet documented.

Only the case summary (``lc.record.summary_span``) is read for facts (the request texts only say
what is disputed); every fact carries :class:`~kg.model.Evidence` whose offsets slice the letter
text to the quote.  Pure: the input is not changed.  Ids added start with ``med-``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import re
from typing import Iterable

from kg.extract import sieve
from kg.extract.lexicon import LazyMentions, LazyPattern, lazy_patterns
from kg.extract.result import LetterCase
from kg.extract.services import drug_detail, drug_in
from kg.extract.text import DATE_RX, SummaryReader, assert_polarity, parse_date
from kg.model import Diagnosis, Evidence, Finding, Request, Study, Treatment

__all__ = ["enrich", "topical_ingredients", "course_days", "supply_days", "dosage_form"]

MEDICATION_KINDS = frozenset({
    "nsaid", "cox2_inhibitor", "muscle_relaxant", "carisoprodol", "baclofen", "opioid", "ppi", "h2_blocker",
    "topical_analgesic", "compounded_topical", "anticonvulsant", "antidepressant", "benzodiazepine", "sleep_aid",
    "butalbital_combination"})
_TOPICAL = frozenset({"topical_analgesic", "compounded_topical"})
# Muscle relaxants a section judges by name (kg:CarisoprodolTherapy, kg:BaclofenTherapy): requested
# as such, they are still muscle relaxants for the drugs already taken and their ongoing use.
_NAMED_MUSCLE_RELAXANTS = frozenset({"carisoprodol", "baclofen"})
# Oral liquids, and the oral suspension compounding kits sold under brand names (ranitidine,
# gabapentin, tramadol, cyclobenzaprine, diphenhydramine kits): drugs also made as tablets.
_LIQUID = LazyPattern("medication", "liquid")
_AMOUNT = LazyPattern("medication", "amount")
_COMPOUNDED_KIT = sieve.compile(r"\b(?:Deprizine|Fanatrex|Synapryn|Tabradol|Dicopanol)\b|\bcompound(?:ed)?\b", re.I)


def dosage_form(text: str) -> str | None:
    """The non-standard dosage form an oral drug request names (a ``kg.model.DOSAGE_FORMS`` key), or None.

    >>> dosage_form("Fanatrex 25mg/ml oral suspension 420ml"), dosage_form("Tabradol (unknown quantity)")
    ('oral_liquid', 'compounded')
    >>> dosage_form("Norco 10/325mg #60") is None
    True
    """
    if _LIQUID.search(text):
        return "oral_liquid"
    if _COMPOUNDED_KIT.search(text):
        return "compounded"
    return None

# Ingredient words -> case-file substance keys (ontology/medications.ttl).  Order matters:
# the first rule that matches an ingredient decides it.
_INGREDIENTS: tuple[tuple[str, str], ...] = (
    ("gabapentin", r"gabapentin|Fanatrex"),
    ("other_antiepileptic", r"pregabalin|lamotrigine|topiramate|carbamazepine"),
    ("baclofen", r"baclofen"),
    ("muscle_relaxant", r"cyclobenzaprine|orphenadrine|tizanidine|methocarbamol|carisoprodol|metaxalone|chlorzoxazone"),
    ("nsaid_other_than_diclofenac", r"flurbiprofen|ketoprofen|Ketophene|ketorolac|ibuprofen|naproxen|indomethacin|"
                                    r"piroxicam"),
    ("diclofenac", r"diclofenac|Voltaren|Flector|Pennsaid"),
    ("capsaicin", r"capsaicin"),
    ("salicylate", r"methyl salicylate|salicylate|Salonpas"),
    ("other_topical", r"menthol|camphor|dextromethorphan|amitriptyline|dexamethasone|ketamine|clonidine|tramadol|"
                      r"Salonpas|Terocin|Mentherm|hyaluronic"),
)
_ANESTHETIC = sieve.compile(r"lidocaine|Lidoderm|bupivacaine|prilocaine|Anecream|Terocin|Lidopro", re.I)
_PATCH = sieve.compile(r"\bpatch(?:es)?\b|Lidoderm", re.I)


def topical_ingredients(text: str) -> tuple[str, ...]:
    """The substance keys of a topical product's service text, in a stable order.

    Lidocaine (or another local anaesthetic) counts as the recommended dermal patch only when
    the product is a patch; in a cream, gel or lotion it is non-patch lidocaine.

    >>> topical_ingredients("Flurbiprofen 20%, Baclofen 5%, Dexamethasone 2%, Menthol 2%, Capsaicin 0.025% in cream")
    ('baclofen', 'capsaicin', 'nsaid_other_than_diclofenac', 'other_topical')
    >>> topical_ingredients("Lidocaine 5% patch #1"), topical_ingredients("Anecream cream 4% #30")
    (('lidocaine_patch',), ('lidocaine_non_patch',))
    """
    found: set[str] = set()
    for key, rx in _INGREDIENTS:
        if sieve.search(rf"\b(?:{rx})", text, re.I):
            found.add(key)
    if _ANESTHETIC.search(text):
        patch = _PATCH.search(text) and not sieve.search(r"cream|gel|lotion|ointment", text, re.I)
        found.add("lidocaine_patch" if patch else "lidocaine_non_patch")
    return tuple(sorted(found))


_NUMWORD = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
            "ten": 10, "eleven": 11, "twelve": 12, "several": None, "a": 1, "an": 1}
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}
_SPAN = LazyPattern("medication", "span")


def course_days(text: str) -> int | None:
    """A course length stated in a request ("14 days", "one month supply"), in days.

    >>> course_days("Norco 5/325mg oral tablet, one tablet twice daily 14 days #40")
    14
    >>> course_days("One month supply of Trezix")
    30
    """
    m = sieve.search(r"(?P<n>\d{1,3}|one|two|three)[- ](?P<u>day|week|month)s?(?:'s?)?\s+supply", text, re.I) \
        or sieve.search(r"\b(?:for\s+)?(?P<n>\d{1,3})\s+(?P<u>days?|weeks?)\b(?!\s*(?:ago|prior))", text, re.I)
    if m is None:
        return None
    n = _NUMWORD.get(m.group("n").lower()) if not m.group("n").isdigit() else int(m.group("n"))
    if n is None:
        return None
    return n * _UNIT_DAYS[m.group("u").lower().rstrip("s")]


_DOSES = tuple(zip((4, 3, 2, 1), lazy_patterns("medication", "doses_4", "doses_3", "doses_2", "doses_1"), strict=True))
_TWO_PER_DOSE, _REFILLS = lazy_patterns("medication", "two_per_dose", "refills")


def supply_days(text: str, count: int | None) -> int | None:
    """The days a request's count lasts at the daily doses it names, refills included; None when it
    names no count or no daily dosing.

    >>> supply_days("Lorzone 750mg one by mouth three times a day #45", 45)
    15
    >>> supply_days("Pantoprazole 40mg, one by mouth, twice a day #60 with one refill", 60)
    60
    >>> supply_days("Flexeril 10mg #90", 90) is None
    True
    """
    if not count:
        return None
    per_day = next((n for n, rx in _DOSES if rx.search(text)), None)
    if per_day is None:
        return None
    if _TWO_PER_DOSE.search(text):
        per_day *= 2
    fills = 1
    m = _REFILLS.search(text)
    if m is not None:
        word = m.group("n").lower()
        fills += int(word) if word.isdigit() else _NUMWORD.get(word) or 0
    return -(-count * fills // per_day)  # whole days, rounded up


def _span_days(m: re.Match[str]) -> int | None:
    """The days of a duration match (``n`` units of day, week, month or year), or None."""
    word = m.group("n").lower()
    n = int(word) if word.isdigit() else _NUMWORD.get(word)
    return None if n is None else n * _UNIT_DAYS[m.group("u").lower()]


# ---------------------------------------------------------------------------
# Finding rules: (kind, mention regex, mode) -- mode as in kg.extract.text.assert_polarity,
# or "present" (present unless the record says it is not).
# ---------------------------------------------------------------------------
_FINDING_RX = LazyMentions("medication", "finding_rules")
_NOT_FACT = LazyPattern("medication", "not_fact")
_NEUROPATHIC = LazyPattern("medication", "neuropathic")
_CO_DRUGS: tuple[tuple[str, str], ...] = (
    ("aspirin", r"aspirin|\bASA\b|Ecotrin"),
    ("anticoagulant", r"warfarin|Coumadin|Eliquis|apixaban|Xarelto|rivaroxaban|Pradaxa|dabigatran|Plavix|clopidogrel|"
                      r"heparin|Lovenox|enoxaparin|anticoagula\w+|blood thinners?"),
)
(_USE, _EFFECT_POS, _EFFECT_NEG, _FUNCTION_POS, _FUNCTION_NEG) = lazy_patterns(
    "medication", "use", "effect_pos", "effect_neg", "function_pos", "function_neg")
_DURATION = sieve.compile(r"(?:for|over|x)\s+(?:the\s+)?(?:past\s+|last\s+|approximately\s+|about\s+|at least\s+|"
                          r"over\s+)?(?P<n>\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|an?|"
                          r"several)\s*(?:\+\s*)?(?P<u>day|week|month|year)s?\b|"
                          r"since\s+(?P<since>" + DATE_RX + r"|\d{1,2}/\d{4}|(?:19|20)\d{2})", re.I)
_FIRST_TIME = LazyPattern("medication", "first_time")


_KIND_WORDS = {"nsaid": r"NSAIDs?|anti-inflammator\w+", "opioid": r"opioids?|narcotics?",
               "muscle_relaxant": r"muscle relaxants?", "anticonvulsant": r"anticonvulsants?|AEDs?",
               "antidepressant": r"antidepressants?", "benzodiazepine": r"benzodiazepines?"}
# Continuation words: use that is already under way (long-term or ongoing use, its efficacy so far).
_ONGOING = LazyPattern("medication", "ongoing")
# Refills as the IMR-eligible part of a partial authorisation: they continue the authorised supply.
_REFILLS_REMAINING = LazyPattern("medication", "refills_remaining")


class _Enricher(SummaryReader):
    """The medication facts of one letter case's summary."""

    def __init__(self, lc: LetterCase) -> None:
        super().__init__(lc.text.text, lc.record.summary_span, lc.document)
        self.lc = lc
        self.n = 0
        self.review: _dt.date | None = None  # the date of the review (UR), else of the request
        for r in lc.case.requests:
            if r.ur is not None and r.ur.date is not None:
                self.review = r.ur.date
            elif r.date is not None and self.review is None:
                self.review = r.date

    def next_id(self, kind: str) -> str:
        """A fresh fact id: ``med-<kind>-<n>``, n counting every id this enricher made."""
        self.n += 1
        return f"med-{kind}-{self.n}"

    # -- requests -----------------------------------------------------------
    def requests(self) -> tuple[Request, ...]:
        """The requests with the drug fields the base extractor left empty, and a carisoprodol, baclofen or
        celecoxib request typed as such, a topical's ingredients as substances."""
        out = []
        for r in self.lc.case.requests:
            text = " ".join(r.text.split())
            # the IMR-eligible part of a partial authorisation is what the text names first
            head = sieve.split(r"\bwas the original request\b", text)[0]
            service = r.service
            if service == "muscle_relaxant" and sieve.search(r"carisoprodol|\bSoma\b", head, re.I):
                service = "carisoprodol"
            elif service == "muscle_relaxant" and sieve.search(r"baclofen|Lioresal", head, re.I):
                service = "baclofen"
            if service == "nsaid" and sieve.search(r"celecoxib|Celebrex", head, re.I):
                service = "cox2_inhibitor"
            drug, strength, count, days, substances = r.drug, r.strength, r.count, r.days, r.substances
            amount = r.amount
            if service in MEDICATION_KINDS:
                # the whole text's reading (made by the dispute reader: for a partial authorisation the
                # remaining, IMR-eligible count) first, then the head's
                head_drug, head_strength, head_count, _ = drug_detail(head)
                drug = drug or head_drug or None
                strength = strength or head_strength or None
                count = count or head_count or None
                if days is None:
                    days = course_days(head) or supply_days(head, count)
                if amount is None and count is None:
                    m = _AMOUNT.search(head)
                    amount = " ".join(m.group(0).split()) if m else None
            if service in _TOPICAL and not substances:
                substances = topical_ingredients(head) or substances
            form = r.form
            if form is None and service in MEDICATION_KINDS and service not in _TOPICAL:
                form = dosage_form(head)
            out.append(dataclasses.replace(r, service=service, drug=drug, strength=strength, count=count, amount=amount,
                                           days=days, substances=substances, form=form))
        return tuple(out)

    # -- findings -----------------------------------------------------------
    def findings(self) -> list[Finding]:
        """Medication findings (side effects, drug screens, CURES, agreements, GI risk ...), one per kind and
        polarity."""
        out: list[Finding] = []
        seen: set[tuple[str, str]] = set()
        for sent in self.sents:
            if _NOT_FACT.search(sent.text):
                continue
            for kind, rx, mode in _FINDING_RX:
                for m in rx.finditer(sent.text):
                    clause_start = max(sent.text.rfind(";", 0, m.start()), sent.text.rfind(" but ", 0, m.start())) + 1
                    clause = sent.text[clause_start:]
                    pol = assert_polarity(clause, m.start() - clause_start, m.end() - clause_start, mode)
                    if pol is None:
                        continue
                    if kind == "drug_screen":
                        if sieve.search(r"inconsistent|positive for (?!(?:the "
                                        r")?prescribed)", sent.text[m.end():m.end() + 80], re.I):
                            continue  # an inconsistent screen is aberrant behaviour, matched by its own rule
                        if pol == "absent":
                            continue  # "no drug screen" is silence on monitoring, not a result
                    if kind in ("cures_review", "opioid_agreement", "opioid_risk_screening") and pol == "absent":
                        continue
                    key = (kind, pol)
                    if key in seen:
                        continue
                    seen.add(key)
                    out.append(Finding(id=self.next_id(kind.replace("_", "-")), kind=kind, status=pol,
                                       label=" ".join(m.group(0).split()), date=sent.date,
                                       evidence=(self.ev(sent.start, sent.end),)))
        return out

    def diagnoses(self) -> list[Diagnosis]:
        """A neuropathic pain diagnosis for each diagnosis that names one (radiculopathy excepted)."""
        out: list[Diagnosis] = []
        for dx in self.lc.case.diagnoses:
            if dx.kind in ("radiculopathy", "radiculitis"):
                continue
            if _NEUROPATHIC.search(dx.label):
                out.append(Diagnosis(id=self.next_id("dx"), label=dx.label, kind="neuropathic_pain", icd10=dx.icd10,
                                     evidence=dx.evidence))
        return out

    def studies(self) -> list[Study]:
        """The first urine drug screen the summary reports with its result."""
        out: list[Study] = []
        for sent in self.sents:
            if _NOT_FACT.search(sent.text):
                continue
            m = sieve.search(r"(?:urine )?(?:drug (?:screen|test)|toxicology)\w*|\bUDS\b", sent.text, re.I)
            if m is None or not sieve.search(r"consistent|inconsistent|positive|negative|performed|showed|revealed|"
                                             r"dated|on \d", sent.text, re.I):
                continue
            if sieve.search(r"\b(?:no|not|never)\b[^.]{0,30}$", sent.text[:m.start()], re.I):
                continue
            out.append(Study(id=self.next_id("uds"), kind="urine_drug_test", date=sent.date,
                             result=" ".join(sent.text[m.start():].split())[:200],
                             evidence=(self.ev(sent.start, sent.end),)))
            break
        return out

    # -- medications already taken -------------------------------------------
    def treatments(self, requests: Iterable[Request]) -> list[Treatment]:
        """The case's treatments without the prescriptions at issue, described when a requested kind,
        with the co-medications that bear on GI risk."""
        case = self.lc.case
        kinds_requested = {r.service for r in requests if r.service in MEDICATION_KINDS}
        if kinds_requested & _NAMED_MUSCLE_RELAXANTS:
            kinds_requested.add("muscle_relaxant")
        if "cox2_inhibitor" in kinds_requested:
            kinds_requested.add("nsaid")
        first_time = self.first_time_kinds(requests)
        out: list[Treatment] = []
        for t in case.treatments:
            if t.kind in first_time and all(self.only_prescription(e) for e in t.evidence):
                continue  # the prescription at issue, not prior use
            if t.kind == "nsaid" and t.label and sieve.search(r"celecoxib|Celebrex", t.label, re.I):
                t = dataclasses.replace(t, kind="cox2_inhibitor")  # the same drug as a celecoxib request
            if t.kind in kinds_requested:
                t = self.describe(t)
            out.append(t)
        # co-medications that bear on GI risk
        have = {t.kind for t in out}
        for sent in self.sents:
            if _NOT_FACT.search(sent.text):
                continue
            for kind, rx in _CO_DRUGS:
                m = sieve.search(rf"\b(?:{rx})", sent.text, re.I)
                if m is None or kind in have or not _USE.search(sent.text):
                    continue
                if assert_polarity(sent.text, m.start(), m.end(), "sign") != "present":
                    continue
                have.add(kind)
                out.append(Treatment(id=self.next_id(kind), kind=kind, label=m.group(0),
                                     evidence=(self.ev(sent.start + m.start(), sent.start + m.end()),)))
        supplies = self.authorized_supplies(requests, have)
        out.extend(supplies)
        out.extend(self.ongoing_use(requests, have | {t.kind for t in supplies} | first_time))
        return out

    def authorized_supplies(self, requests: Iterable[Request], have: set[str]) -> list[Treatment]:
        """The supply UR authorised of a drug whose IMR-eligible part is only its refills: the refills
        continue that supply, so the request is a continuation (its effect not yet documented).

        The request's text says the disputed part is the refills ("Ibuprofen 600mg #90 was authorized
        ... The remaining IMR eligible portion of the original request, Two refills of Ibuprofen 600mg
        #90"); the fact is the summary's sentence saying UR authorised the drug ("Ibuprofen 600mg #90
        was authorized by the Claims Administrator"), its evidence.  Without such a sentence nothing is
        added; a drug kind the record already shows in use keeps its own treatment.
        """
        out: list[Treatment] = []
        for r in requests:
            if r.service not in MEDICATION_KINDS or r.service in have or not r.drug or len(r.drug) < 3:
                continue
            if not _REFILLS_REMAINING.search(" ".join(r.text.split())):
                continue
            drug = sieve.compile(rf"(?<![\w-]){re.escape(r.drug)}(?![\w-])[^.;]*?\bwas authori[sz]ed\b", re.I)
            sent = next((x for x in self.sents if drug.search(x.text)), None)
            if sent is None:
                continue
            have.add(r.service)
            out.append(Treatment(id=self.next_id(r.service.replace("_", "-")), kind=r.service, label=r.drug,
                                 evidence=(self.ev(sent.start, sent.end),)))
        return out

    def ongoing_use(self, requests: Iterable[Request], skip: set[str]) -> list[Treatment]:
        """Use already under way of a requested drug that the record names only through the review of
        the request ("denied because long-term use of muscle relaxants is not supported", "efficacy of the
        medication was not documented"): a continuation, with neither its duration nor its effect known."""
        out: list[Treatment] = []
        for r in requests:
            kind = "muscle_relaxant" if r.service in _NAMED_MUSCLE_RELAXANTS else r.service
            if kind not in MEDICATION_KINDS or kind in _TOPICAL or kind in skip or r.service in skip:
                continue
            words = [re.escape(r.drug)] if r.drug and len(r.drug) >= 3 else []
            words += [_KIND_WORDS[kind]] if kind in _KIND_WORDS else []
            if not words:
                continue
            rx = sieve.compile(rf"(?<![\w-])(?:{'|'.join(words)})(?![\w-])", re.I)
            for sent in self.sents:
                m = rx.search(sent.text)
                if m is None or _FIRST_TIME.search(sent.text):
                    continue
                after = sent.text[m.end():m.end() + 120]
                other = drug_in(after)
                if other is not None and other[1] != r.service:
                    after = after[:other[2]]  # the words about another drug are not about this one
                if not _ONGOING.search(after):
                    continue
                skip.add(kind)
                out.append(Treatment(id=self.next_id(kind.replace("_", "-")), kind=kind, label=m.group(0),
                                     evidence=(self.ev(sent.start, sent.end),)))
                break
        return out

    def first_time_kinds(self, requests: Iterable[Request]) -> set[str]:
        """The requested medication kinds the summary calls a first-time prescription."""
        kinds = set()
        for r in requests:
            if r.service not in MEDICATION_KINDS:
                continue
            named = drug_in(r.text)
            names = [n for n in (r.drug, named[0] if named else None) if n]
            for sent in self.sents:
                m = _FIRST_TIME.search(sent.text)
                if m is None:
                    continue
                if sieve.search(r"not (?:using|taking) any medications?", m.group(0), re.I):
                    kinds.add(r.service)
                    continue
                tail = sent.text[m.end():m.end() + 60]
                drug = drug_in(tail) or drug_in(sent.text)
                if drug is not None and (drug[1] == r.service or (r.service, drug[1]) == ("cox2_inhibitor", "nsaid")
                                         or any(n.lower() == drug[0].lower() for n in names)):
                    kinds.add(r.service)
        if "cox2_inhibitor" in kinds:
            kinds.add("nsaid")  # celecoxib is an NSAID: its prescription is not prior NSAID use either
        return kinds

    def only_prescription(self, e: Evidence) -> bool:
        """Is this evidence a sentence that only records a prescription (not use over time)?"""
        if e.start is None:
            return False
        for sent in self.sents:
            s, t = self.f.span(sent.start, sent.end)
            if s <= e.start < t:
                return bool(sieve.search(r"\bprescribed\b|\bdispensed\b", sent.text, re.I)) and \
                    not sieve.search(r"\bcontinu\w*|\bsince\b|\bfor (?:the )?(?:past |last )?\w+ (?:weeks?|months?|"
                                     r"years?)|\bhas been\b|\bongoing\b|\bcurrent\w*|\brefill", sent.text, re.I)
        return False

    def describe(self, t: Treatment) -> Treatment:
        """Duration and effect of a medication already taken, from sentences naming it."""
        names = {t.label.lower()} if t.label else set()
        kind_words = {"nsaid": r"NSAIDs?|anti-inflammator\w+", "opioid": r"opioids?|narcotics?|pain medications?",
                      "muscle_relaxant": r"muscle relaxants?", "anticonvulsant": r"anticonvulsants?|AEDs?",
                      "antidepressant": r"antidepressants?"}.get(t.kind)
        pat = "|".join([re.escape(n) for n in names if len(n) >= 3] + ([kind_words] if kind_words else []))
        if not pat:
            return t
        rx = sieve.compile(rf"(?<![\w-])(?:{pat})(?![\w-])", re.I)
        outcomes = list(t.outcomes)
        days = t.days
        relief = t.relief_percent
        evidence = list(t.evidence)
        for sent in self.sents:
            if _NOT_FACT.search(sent.text) and not sieve.search(r"\bcontinu\w*|\bhas been\b", sent.text, re.I):
                continue
            m = rx.search(sent.text)
            if m is None:
                continue
            drug_here = drug_in(sent.text)
            used = False
            window = sent.text[m.start():m.end() + 120]
            if days is None:
                dm = _DURATION.search(window) or _DURATION.search(sent.text[max(0, m.start() - 60):m.start()])
                if dm is not None and not sieve.search(r"\bago\b", sent.text[dm.end():dm.end() + 5], re.I):
                    if dm.group("since"):
                        since = parse_date(dm.group("since")) or _year_month(dm.group("since"))
                        if since is not None and self.review is not None and since < self.review:
                            days = (self.review - since).days
                            used = True
                    else:
                        days = _span_days(dm)
                        used = days is not None
            # effect statements must be in the clause naming the drug (or a sentence naming no other drug)
            clause = sieve.split(r";|\bbut\b|\bhowever\b", sent.text[m.start():])[0]
            if drug_here is not None and drug_here[1] != t.kind and drug_here[2] < m.start():
                clause = sent.text[m.start():m.start() + len(clause)]
            neg = _EFFECT_NEG.search(clause)
            pos = _EFFECT_POS.search(clause)
            if neg is not None and "failed" not in outcomes:
                outcomes.append("failed")
                used = True
            elif pos is not None and neg is None:
                a = pos.group("a") or pos.group("c")
                b = pos.group("b") or pos.group("d")
                if pos.group("pct") and relief is None:
                    relief = float(min(100, int(pos.group("pct"))))
                elif a and b and relief is None and int(a) > int(b) and int(a) > 0:
                    relief = round(100.0 * (int(a) - int(b)) / int(a))
                if not set(outcomes) & {"effective", "partial_relief"}:
                    outcomes.append("effective")
                used = True
            if _FUNCTION_NEG.search(clause):
                if "no_functional_improvement" not in outcomes:
                    outcomes.append("no_functional_improvement")
                used = True
            elif _FUNCTION_POS.search(clause) and "functional_improvement" not in outcomes:
                outcomes.append("functional_improvement")
                used = True
            if used:
                evidence.append(self.ev(sent.start, sent.end))
        outcomes = [o for o in outcomes if o != "unknown"] if len(outcomes) > 1 else outcomes
        if "failed" in outcomes and "effective" in outcomes:
            outcomes.remove("effective")
        return dataclasses.replace(t, outcomes=tuple(dict.fromkeys(outcomes)), days=days, relief_percent=relief,
                                   evidence=tuple(dict.fromkeys(evidence)))

    def run(self) -> LetterCase:
        """The letter case with the medication facts added (unchanged when there is no request)."""
        case = self.lc.case
        if not case.requests:
            return self.lc
        requests = self.requests()
        if not any(r.service in MEDICATION_KINDS or r.service == "urine_drug_test" for r in requests):
            return dataclasses.replace(self.lc, case=dataclasses.replace(case, requests=requests))
        treatments = self.treatments(requests)
        findings = case.findings + tuple(self.findings())
        diagnoses = case.diagnoses + tuple(self.diagnoses())
        studies = case.studies
        if not any(s.kind == "urine_drug_test" for s in studies):
            studies = studies + tuple(self.studies())
        new = dataclasses.replace(case, requests=requests, treatments=tuple(treatments), findings=findings,
                                  diagnoses=diagnoses, studies=studies)
        return dataclasses.replace(self.lc, case=new)


def _year_month(s: str) -> _dt.date | None:
    """The date a "08/2016" or "2016" names: the month's first day, or the year's last (a lower bound)."""
    m = sieve.fullmatch(r"(\d{1,2})/(\d{4})", s.strip())
    if m and 1 <= int(m.group(1)) <= 12:
        return _dt.date(int(m.group(2)), int(m.group(1)), 1)
    m = sieve.fullmatch(r"((?:19|20)\d{2})", s.strip())
    return _dt.date(int(m.group(1)), 12, 31) if m else None  # a lower bound on the use


def enrich(lc: LetterCase) -> LetterCase:
    """Add the medication facts of the case summary to ``lc`` (a new LetterCase; ``lc`` is unchanged)."""
    return _Enricher(lc).run()
