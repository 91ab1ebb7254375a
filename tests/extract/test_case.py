"""Tests for kg.extract.case: real letters in, case facts with evidence out.

The letters live in ``shared/letters`` beside the repository clone and are
read by path; only short expected values are written here.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from casepaths import LETTERS, needs_letters
from rdflib import RDF

from kg.engine.determine import determine_case
from kg.engine.graph import build_case_graph
from kg.extract.case import ICD10_TABLE, evidence_of, extract_case, read_case_from_letter
from kg.extract.result import LetterCase
from kg.model import DIAGNOSIS_KINDS, FINDING_KINDS, REGIONS, STUDY_KINDS, TREATMENT_KINDS
from kg.rdf import KG, PROV
from kg.read.letter import LetterText, parse_letter, read_letter_text

SEED = LETTERS / "seed-trigger-point-2015.txt"


def _letter(name: str) -> Path:
    return LETTERS / (name if "." in name else f"{name}.pdf")


@pytest.fixture(scope="module")
def cases() -> dict[str, LetterCase]:
    """Every letter of the folder (124 PDFs and the seed) read and extracted once."""
    if not SEED.is_file():
        pytest.skip("shared/letters not present")
    files = sorted(LETTERS.glob("*.pdf")) + [SEED]
    return {p.stem: read_case_from_letter(str(p)) for p in files}


def _one(items, **want):
    found = [x for x in items if all(getattr(x, k) == v for k, v in want.items())]
    assert len(found) >= 1, f"no fact with {want} in {items}"
    return found[0]


# --------------------------------------------------------------------------- facts of real letters


@needs_letters
def test_seed_letter_facts(cases: dict[str, LetterCase]) -> None:
    c = cases["seed-trigger-point-2015"].case
    assert c.case_id == "seed-trigger-point-2015"
    assert c.documents[0].file_name == "seed-trigger-point-2015.txt"
    assert (c.worker.age, c.worker.sex) == (36, "male")
    assert c.injury.date == date(2010, 6, 26)
    dx = _one(c.diagnoses, label="cervical radiculitis")
    assert (dx.kind, dx.icd10) == ("radiculitis", "M54.12")
    assert _one(c.diagnoses, label="cervical facet syndrome").icd10 == "M47.812"
    f = _one(c.findings, kind="dermatomal_sensory_deficit")
    assert (f.status, f.region) == ("present", "cervical")
    assert f.evidence[0].quote == "There is decreased sensation at the C3 and C4 dermatomes bilaterally."
    assert _one(c.findings, kind="trigger_point", date=date(2015, 7, 21)).status == "present"
    esi = _one(c.treatments, kind="epidural_steroid_injection")
    assert esi.sessions == 1
    assert _one(c.treatments, kind="opioid").label == "Dilaudid"
    (r,) = c.requests
    assert (r.service, r.region, r.date) == ("trigger_point_injection", "cervical", date(2015, 8, 12))
    assert (r.ur.decision, r.ur.date) == ("denied", date(2015, 8, 20))
    assert r.ur.reason.startswith("The original Utilization review dated 8-20-15 non-certified the request")
    assert (r.imr.decision, r.imr.specialty) == ("upheld", "Emergency Medicine")
    assert r.imr.citation == ("Decision based on MTUS Chronic Pain Medical Treatment 2009, Section(s): Trigger point "
                              "injections.")
    # the neck symptom is documented from the 5-4-15 examination on
    assert _one(c.symptoms, region="cervical").documented_since == date(2015, 5, 4)


@needs_letters
def test_header_and_summary_facts(cases: dict[str, LetterCase]) -> None:
    lc = cases["CM16-0213037"]
    c = lc.case
    assert c.case_id == "CM16-0213037" and c.documents[0].id == "CM16-0213037"
    assert c.documents[0].file_name == "CM16-0213037.pdf"
    assert (c.worker.age, c.worker.sex) == (48, "male")
    assert c.worker.evidence[0].quote == "48 year old male"
    assert c.injury.date == date(2016, 10, 13)
    dx = _one(c.diagnoses, label="right shoulder contusion")
    assert (dx.kind, dx.icd10) == ("other", "S40.01")
    assert _one(c.findings, kind="tenderness", region="cervical").status == "present"
    assert _one(c.findings, kind="pain_score").label == "pain 6-8/10"
    st = _one(c.studies, kind="xray")
    assert (st.region, st.date, st.result) == ("shoulder", date(2016, 10, 13),
                                               "evidence of right shoulder rotator cuff tendinopathy")
    assert _one(c.treatments, kind="home_exercise").label == "home exercise program"
    assert [(r.service, r.region) for r in c.requests] == [("mri", "shoulder"), ("mri", "cervical")]
    for r in c.requests:
        assert (r.ur.decision, r.ur.date) == ("denied", date(2016, 11, 3))
        assert r.imr.decision == "upheld" and r.imr.date == date(2016, 12, 9)


@needs_letters
def test_documented_absent_deficits(cases: dict[str, LetterCase]) -> None:
    c = cases["CM16-0247802"].case
    normal = [f for f in c.findings if f.evidence[0].quote == "Motor strength, sensation, and reflexes were normal."]
    assert sorted({(f.kind, f.status) for f in normal}) == [
        ("dermatomal_sensory_deficit", "absent"), ("motor_deficit", "absent"), ("reflex_deficit", "absent")]
    assert _one(c.findings, kind="positive_nerve_tension_sign").status == "present"
    # "nor was there documentation of muscle spasms" is silence, not a documented absence
    assert not [f for f in c.findings if f.kind == "muscle_spasm" and f.status == "absent"]
    assert c.injury.mechanism == "patient bent down to pick up a wrench and felt a slight strain on the back"


@needs_letters
def test_present_and_absent_neurological_findings(cases: dict[str, LetterCase]) -> None:
    c = cases["CM16-0248698"].case
    assert _one(c.findings, kind="dermatomal_sensory_deficit").status == "present"
    assert _one(c.findings, kind="dermatomal_sensory_deficit").region == "lumbar"
    assert _one(c.findings, kind="motor_deficit").status == "present"
    reflex = _one(c.findings, kind="reflex_deficit")
    assert reflex.status == "absent"
    assert reflex.evidence[0].quote == "Deep tendon reflexes were 2+, and symmetrical in the lower extremities."
    assert len(c.requests) == 21
    acu = c.requests[2]
    assert (acu.service, acu.sessions, acu.ur.decision) == ("acupuncture", 12, "modified")


@needs_letters
def test_treatment_count_and_outcome(cases: dict[str, LetterCase]) -> None:
    c = cases["CM17-0020728"].case
    pt = _one(c.treatments, kind="physical_therapy")
    assert (pt.sessions, pt.outcomes) == (6, ("effective",))
    assert pt.label == "six sessions of physical therapy with significant benefit"
    (r,) = c.requests
    assert (r.service, r.sessions, r.frequency, r.ur.decision) == ("physical_therapy", 4, "2 times a week for 2 weeks",
                                                                    "modified")
    c = cases["CM17-0002324"].case
    assert _one(c.treatments, kind="physical_therapy").sessions == 6


@needs_letters
def test_request_quantities(cases: dict[str, LetterCase]) -> None:
    (r,) = cases["CM17-0018279"].case.requests
    assert (r.service, r.region, r.sessions, r.frequency) == ("physical_therapy", "lumbar", 12, "2 times a week for 6 "
                                                                                                "weeks")
    assert r.ur.date == date(2017, 1, 26)
    (r,) = cases["CM17-0017734"].case.requests
    assert (r.service, r.drug, r.strength, r.count) == ("opioid", "Tramadol", "50mg", 60)
    r = cases["CM16-0234202"].case.requests[0]
    assert (r.service, r.drug, r.strength, r.count) == ("opioid", "Norco", "10/325mg", 35)
    lc = cases["CM16-0233904"]
    (r,), (d,) = lc.case.requests, lc.details
    assert (r.drug, r.count, d.partial) == ("Baclofen", 3, True)  # the remaining portion: #3 of #30


def test_vocabulary_classes_exist_in_the_ontology() -> None:
    from rdflib import OWL

    from kg.engine.reason import load_ontology

    onto = load_ontology()
    for vocab in (TREATMENT_KINDS, STUDY_KINDS, FINDING_KINDS, DIAGNOSIS_KINDS):
        for key, local in vocab.items():
            assert (KG[local], RDF.type, OWL.Class) in onto, key
    assert set(REGIONS) >= {"cervical", "lumbar"}


def test_icd10_table_codes_are_valid() -> None:
    import simple_icd_10_cm as icd
    for _, kind, codes in ICD10_TABLE:
        assert kind in DIAGNOSIS_KINDS
        for code in codes.values():
            assert icd.is_valid_item(code), code


# --------------------------------------------------------------------------- evidence


@needs_letters
def test_every_fact_has_evidence_that_slices_the_letter(cases: dict[str, LetterCase]) -> None:
    """Every extracted fact carries evidence whose offsets slice the letter text to its quote."""
    facts = 0
    for name, lc in cases.items():
        c = lc.case
        text = lc.text.text
        for fact_id, ev in evidence_of(c):
            assert ev.document == c.case_id
            assert ev.start is not None and ev.end is not None
            assert " ".join(text[ev.start:ev.end].split()) == ev.quote, (name, fact_id)
        groups = [c.diagnoses, c.findings, c.symptoms, c.treatments, c.studies, c.requests]
        for group in groups:
            for fact in group:
                facts += 1
                assert fact.evidence, (name, fact.id)
        for r in c.requests:
            assert r.ur is not None and r.ur.evidence and r.imr is not None and r.imr.evidence, (name, r.id)
        # the summary facts come from the summary, not the decision section
        summary = lc.record.summary_span
        issues = min((i.service.span.start for i in lc.record.items), default=len(text))
        for group in groups[:-1]:
            for fact in group:
                for ev in fact.evidence:
                    assert ev.end <= issues, (name, fact.id)
                    assert summary is None or ev.start >= summary.start or ev.end <= summary.start
    assert facts > 1500


@needs_letters
def test_every_fact_in_the_case_graph_has_evidence(cases: dict[str, LetterCase]) -> None:
    for name in ("CM16-0213037", "CM16-0248698", "seed-trigger-point-2015"):
        cg = build_case_graph(cases[name].case)
        g = cg.asserted
        for pred in (KG.hasDiagnosis, KG.hasFinding, KG.hasSymptom, KG.hasTreatment, KG.hasStudy, KG.hasRequest,
                     KG.hasWorker, KG.hasInjury):
            for node in g.objects(cg.iri, pred):
                assert (node, PROV.wasDerivedFrom, None) in g, (name, node)


# --------------------------------------------------------------------------- the engine decides from facts only


def _swap_decisions(lt: LetterText) -> LetterText:
    """The letter with every Upheld/Overturned swapped and every rationale deleted (text level)."""
    rec = parse_letter(lt)
    edits: list[tuple[int, int, str]] = []
    for item in rec.items:
        word = item.decision.text
        edits.append((item.decision.span.start, item.decision.span.end, "Overturned" if word == "Upheld" else "Upheld"))
        if item.rationale is not None:
            edits.append((item.rationale.span.start, item.rationale.span.end, ""))
    text = lt.text
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return LetterText(text=text, source=lt.source, page_starts=lt.page_starts)


def _engine_view(lc: LetterCase) -> list[tuple]:
    det = determine_case(lc.case)
    return [(i.request_id, i.service_kind, i.conclusion, i.guideline.section if i.guideline else None,
             tuple((a.number, a.status, tuple(e.fact for e in a.evidence)) for a in i.assessments))
            for i in det.items]


@needs_letters
@pytest.mark.parametrize("name", ["seed-trigger-point-2015.txt", "CM16-0213037", "CM16-0248698", "CM17-0020728",
                                  "CM16-0249536", "CM16-0229336"])
def test_decision_swap_leaves_the_engine_unchanged(name: str) -> None:
    lt = read_letter_text(_letter(name))
    original = extract_case(lt)
    swapped_text = _swap_decisions(lt)
    swapped = extract_case(swapped_text)
    # the swap took effect on the reviewer's record ...
    assert [r.imr.decision for r in swapped.case.requests] == [
        "overturned" if r.imr.decision == "upheld" else "upheld" for r in original.case.requests]
    assert all(not (i.rationale and i.rationale.text) for i in parse_letter(swapped_text).items)
    # ... and on nothing the engine reads
    assert _engine_view(swapped) == _engine_view(original)
    for a, b in zip(original.case.requests, swapped.case.requests, strict=False):
        assert (a.service, a.text, a.region, a.sessions, a.date, a.ur.decision, a.ur.date) == \
               (b.service, b.text, b.region, b.sessions, b.date, b.ur.decision, b.ur.date)
    assert original.case.findings == swapped.case.findings
    assert original.case.diagnoses == swapped.case.diagnoses
    assert original.case.treatments == swapped.case.treatments


@needs_letters
def test_seed_determination_from_the_letter() -> None:
    det = determine_case(read_case_from_letter(str(SEED)).case)
    (item,) = det.items
    assert item.conclusion == "not_medically_necessary"
    assert item.reviewer_decision == "upheld"
    statuses = {a.number: a.status for a in item.assessments}
    assert statuses == {1: "not_documented", 2: "met", 3: "not_documented", 4: "not_met", 5: "not_documented",
                        6: "not_applicable", 7: "not_applicable", 8: "not_documented"}
    radicular = next(a for a in item.assessments if a.number == 4)
    assert any(e.decisive and "radiculitis" in e.label for e in radicular.evidence)


def test_other_layouts_extract(tmp_path: Path) -> None:
    """The 2013 notice layout and the 2016 header layout (synthetic letters of tests/test_letter.py)."""
    from letterdata import SYNTHETIC_2013, SYNTHETIC_2016

    lc = extract_case(LetterText(SYNTHETIC_2013, "notice-2013.txt"))
    assert lc.case.case_id == "CM13-0001234"
    assert [(r.service, r.region, r.sessions, r.ur.date, r.imr.decision) for r in lc.case.requests] == [
        ("mri", "lumbar", None, date(2013, 8, 30), "upheld"),
        ("physical_therapy", None, 6, date(2013, 8, 30), "overturned")]
    assert lc.case.injury.date == date(2012, 3, 12)
    path = tmp_path / "synthetic.txt"
    path.write_text(SYNTHETIC_2016, encoding="utf-8")
    lc = extract_case(read_letter_text(path))
    assert [(r.service, r.region) for r in lc.case.requests] == [("orthosis", "wrist_hand"), ("dme", "lumbar")]
    assert lc.case.requests[0].imr.specialty == "Orthopedic Surgery, Hand Surgery"


def test_extract_needs_items() -> None:
    from kg.errors import LetterError

    with pytest.raises(LetterError, match="stub.txt"):
        extract_case(LetterText("CLINICAL CASE SUMMARY\nNothing.\nIMR ISSUES, DECISIONS AND RATIONALES\n", "stub.txt"))


def test_doctests() -> None:
    import doctest

    import kg.extract.case

    assert doctest.testmod(kg.extract.case).failed == 0


def test_no_work_at_import() -> None:
    """Importing the extractor parses no ontology: the drug lexicon is read on first use."""
    import subprocess
    import sys

    code = ("import kg.extract.case, kg.jobs.evaluate, kg.extract.services;"
            "print(kg.extract.services.drug_lexicon.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"


def test_negated_and_undocumented_deficits_are_not_read_as_present() -> None:
    """'showed no deficit' is a deficit documented absent; 'insufficient documentation of deficits'
    says the record is silent, so no finding is read from it (issue 15, negation)."""
    text = ("CLINICAL CASE SUMMARY\nThe injured worker is a 40 year old female who sustained an industrial injury "
            "on 1-2-16. Sensory examination showed no deficit. There was insufficient documentation of motor "
            "deficits.\n\nIMR ISSUES, DECISIONS AND RATIONALES\n\nEMG of the lower extremities: Upheld\n\n"
            "MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s): "
            "Electrodiagnostic testing.\n\nDecision rationale: Not medically necessary.\n")
    lc = extract_case(LetterText(text, "negation.txt"))
    neuro = sorted((f.kind, f.status, f.evidence[0].quote) for f in lc.case.findings
                   if f.kind in ("dermatomal_sensory_deficit", "motor_deficit"))
    assert neuro == [("dermatomal_sensory_deficit", "absent", "Sensory examination showed no deficit.")]
    (f,) = [f for f in lc.case.findings if f.kind == "dermatomal_sensory_deficit"]
    ev = f.evidence[0]
    assert text[ev.start:ev.end] == ev.quote


def _summary_letter(summary: str, item: str = "Lumbar epidural steroid injection") -> str:
    return ("CLINICAL CASE SUMMARY\nThe injured worker is a 40 year old female who sustained an industrial injury "
            f"on 1-2-16. {summary}\n\nIMR ISSUES, DECISIONS AND RATIONALES\n\n{item}: Upheld\n\n"
            "MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s): "
            "Epidural steroid injections.\n\nDecision rationale: Not medically necessary.\n")


@pytest.mark.parametrize(("sentence", "status"), [
    ("Knee reflexes were 1+ bilaterally.", ["absent"]),
    ("Deep tendon reflexes were symmetrically diminished in the lower extremities.", ["absent"]),
    ("Right ankle reflex was 1+ and left ankle reflex 2+.", ["absent", "present"]),
    ("Patellar reflexes were 1+.", ["present"]),
    ("Deep tendon reflexes were 2+ and symmetrical.", ["absent"]),
])
def test_reflexes_graded_low_on_both_sides_are_no_focal_deficit(sentence: str, status: list[str]) -> None:
    """Symmetric 1+ or diminished reflexes localise nothing; a side that differs, or a low grade
    without a comparison, is still read as a reflex deficit (issue 15, negation and attribution)."""
    lc = extract_case(LetterText(_summary_letter(sentence), "reflexes.txt"))
    assert sorted(f.status for f in lc.case.findings if f.kind == "reflex_deficit") == status


@pytest.mark.parametrize(("sentence", "day"), [
    ("The Request for Authorization was noted to be signed on 11/08/2016.", date(2016, 11, 8)),
    ("The request for authorization form was signed on 12/16/2016.", date(2016, 12, 16)),
    ("A Request for Authorization was submitted on 11/23/ 2016 for the injection.", date(2016, 11, 23)),
    ("An authorization request dated 11-14-2016 was included in the medical records.", date(2016, 11, 14)),
    ("The request for authorization (received on 12-08-2016) lists the injection.", date(2016, 12, 8)),
    ("On 11-17-2016, the Request for Authorization requested the injection.", date(2016, 11, 17)),
    ("A Request for Authorization is dated 1-17-17.", date(2017, 1, 17)),
    ("A Request for Authorization was not provided. The request was previously reviewed on 12/29/2016.", None),
])
def test_request_date_is_the_request_for_authorization(sentence: str, day: date | None) -> None:
    """Periods run to the request for authorization, so each way a summary dates it is read; the
    UR's review date is not a request date (issue 15, conservative care counted to the request)."""
    lc = extract_case(LetterText(_summary_letter(sentence), "rfa.txt"))
    assert [r.date for r in lc.case.requests] == [day]


@pytest.mark.parametrize(("sentence", "sensory"), [
    ("The worker complained of hypersensitivity pain and sensation persistent with a foreign body.", []),
    ("She reported a foreign body sensation in the right thumb.", []),
    ("There was decreased sensation over the right thumb.", [("present", "wrist_hand")]),
])
def test_a_sensation_the_worker_feels_is_no_sensory_deficit(sentence: str, sensory: list[tuple[str, str]]) -> None:
    """'sensation persistent with a foreign body' is a symptom, not the sensory examination; a
    decreased sensation is still a sensory deficit (issue 15, negation and attribution)."""
    lc = extract_case(LetterText(_summary_letter(sentence, "MRI of the right thumb"), "sensation.txt"))
    assert [(f.status, f.region) for f in lc.case.findings if f.kind == "dermatomal_sensory_deficit"] == sensory


def test_a_straight_leg_raise_is_a_sign_of_the_lumbar_roots_whatever_the_clause_names_first() -> None:
    """The leg-raise test stretches the lumbosacral roots: a foot drop named beside it does not make
    it a sign of the foot (issue 15, attribution)."""
    lc = extract_case(LetterText(_summary_letter("Findings: left foot drop, straight leg raise positive on the "
                                                 "left, and a left leg limp."), "slr.txt"))
    assert [(f.status, f.region) for f in lc.case.findings if f.kind == "positive_nerve_tension_sign"] == [
        ("present", "lumbar")]
