"""kg.extract.imaging: the Special Studies facts read from a letter's case summary, and the
derived values the imaging sections read (days since injury, region red flags, prior MRI/CT and
X-rays)."""

from __future__ import annotations

from kg.engine.graph import build_case_graph
from kg.engine.reason import infer
from kg.extract.case import extract_case
from kg.extract.imaging import nearest_region
from kg.rdf import KG
from kg.read.casefile import parse_case
from kg.read.letter import LetterText

SUMMARY = ("CLINICAL CASE SUMMARY\nThe injured worker is a 40 year old female who sustained an industrial "
           "injury on 10-1-16. She reported numbness in the right hand. There is no radiation of pain. "
           "X-rays showed no fracture. The diagnoses include neck pain and fracture of the right wrist. "
           "Previous diagnostic studies include a CT scan (10-12-2016) of the cervical spine. "
           "Phalen's test was negative. Surgery was recommended for the right wrist. "
           "On 11-8-16, utilization review denied a request for MRI of the right wrist due to no fracture.\n\n"
           "IMR ISSUES, DECISIONS AND RATIONALES\n\nMRI of the right wrist: Upheld\n\n"
           "MAXIMUS guideline: Decision based on MTUS Forearm, Wrist, and Hand Complaints 2004, Section(s): "
           "Special Studies.\n\nDecision rationale: An unequivocal fracture is documented; not medically necessary.\n")


def _case():
    return extract_case(LetterText(SUMMARY, "mini.txt"))


def test_findings_with_polarity_region_and_evidence():
    lc = _case()
    got = sorted((f.kind, f.status, f.region) for f in lc.case.findings if f.id.startswith("img-"))
    assert got == [("nerve_provocation_sign", "absent", None),
                   ("neurologic_symptom", "absent", None),
                   ("neurologic_symptom", "present", "wrist_hand"),
                   ("procedure_planned", "present", "wrist_hand"),
                   ("red_flag", "present", "wrist_hand")]
    for f in lc.case.findings:
        for e in f.evidence:
            assert " ".join(lc.text.text[e.start:e.end].split()) == e.quote


def test_the_decision_section_and_the_ur_sentence_are_not_read():
    lc = _case()
    quotes = [e.quote for f in lc.case.findings if f.id.startswith("img-") for e in f.evidence]
    assert not any("unequivocal" in q or "utilization review" in q for q in quotes)


def test_prior_ct_without_a_result_verb_is_added_with_its_region_and_date():
    studies = [s for s in _case().case.studies if s.id.startswith("img-")]
    assert [(s.kind, s.region, s.date.isoformat()) for s in studies] == [("ct", "cervical", "2016-10-12")]


def _studies_of(summary: str) -> list[tuple[str, str | None]]:
    text = (f"CLINICAL CASE SUMMARY\nThe injured worker is a 39 year old female who sustained an industrial "
            f"injury on 10-1-16. {summary}\n\nIMR ISSUES, DECISIONS AND RATIONALES\n\nX-ray of the knee: Upheld\n\n"
            "MAXIMUS guideline: Decision based on MTUS Knee Complaints 2004, Section(s): Special Studies.\n\n"
            "Decision rationale: Not medically necessary.\n")
    lc = extract_case(LetterText(text, "mini.txt"))
    for s in lc.case.studies:
        assert all(" ".join(lc.text.text[e.start:e.end].split()) == e.quote for e in s.evidence)
    return sorted((s.kind, s.region) for s in lc.case.studies if s.id.startswith("img-"))


def test_studies_obtained_take_the_one_region_of_the_sentence_before():
    assert _studies_of("On 12/02/2016, she complained of pain in her right knee. She reported that x-rays and "
                       "an MRI were obtained during the hospital stay.") == [("mri", "knee"), ("xray", "knee")]
    # the sentence before names two regions: which one the studies were of is not known
    assert _studies_of("She complained of pain in her right knee and low back. X-rays and an MRI were obtained "
                       "during the hospital stay.") == []


def test_a_result_named_before_the_study_makes_it_done_for_each_region_named():
    assert _studies_of("The provider noted negative hip and lumbar x- ray under the treatment plan.") == [
        ("xray", "hip"), ("xray", "lumbar")]
    # a study only planned or requested is not done
    assert _studies_of("The treatment plan included an MRI and x-ray of the right knee.") == []


def test_prior_radiograph_only_for_an_x_ray_request_of_the_same_region():
    cg, inf = _inferred({"case": "x", "studies": [{"id": "s1", "kind": "xray", "region": "knee"},
                                                   {"id": "s2", "kind": "mri", "region": "knee"}],
                         "requests": [{"id": "r1", "service": "xray", "text": "X-ray", "region": "knee"},
                                      {"id": "r2", "service": "mri", "text": "MRI", "region": "knee"},
                                      {"id": "r3", "service": "xray", "text": "X-ray", "region": "lumbar"}]})
    assert list(inf.objects(cg.node("r1"), KG.priorRegionRadiograph)) == [cg.node("s1")]
    assert list(inf.objects(cg.node("r2"), KG.priorRegionRadiograph)) == []
    assert list(inf.objects(cg.node("r3"), KG.priorRegionRadiograph)) == []


def test_nearest_region_prefers_the_region_the_mention_names():
    text = "pain in the right elbow, and fracture of the right foot"
    i = text.index("fracture")
    assert nearest_region(text, i, i + 8) == "ankle_foot"
    text = "cervical radiculopathy and numbness"
    assert nearest_region(text, text.index("numbness"), len(text)) == "cervical"
    assert nearest_region("numbness", 0, 8) is None


def test_a_fracture_of_a_structure_outside_the_regions_is_no_red_flag_of_a_region_named_beside_it():
    # a sentence of the kind the summaries write: several diagnoses, each of its own region
    sent = ("He is being treated for neck strain, left index finger sprain, right knee contusion, right knee "
            "meniscus tear, and vertebral fracture nondisplaced. There is also a right ulna fracture and a "
            "lumbar strain.")
    lt = LetterText("CLINICAL CASE SUMMARY\nThe injured worker is a 40 year old male injured on 1-2-16. " + sent
                    + "\n\nIMR ISSUES, DECISIONS AND RATIONALES\n\nMRI of the right knee: Upheld\n\n"
                    "MAXIMUS guideline: Decision based on MTUS Knee Complaints 2004, Section(s): Special Studies.\n\n"
                    "Decision rationale: Not medically necessary.\n", "mini.txt")
    flags = sorted((f.region or "", "vertebral" in f.evidence[0].quote, "ulna" in f.evidence[0].quote)
                   for f in extract_case(lt).case.findings if f.kind == "red_flag")
    # the vertebral fracture has no region (not the knee, not the finger); the ulna is the forearm
    assert flags == [("", True, False), ("wrist_hand", False, True)]
    text = "right knee meniscus tear, and vertebral fracture"
    assert nearest_region(text, text.index("fracture"), len(text)) is None
    text = "rib fracture with right shoulder pain"
    assert nearest_region(text, text.index("fracture"), text.index("fracture") + 8) is None


def _inferred(case: dict):
    cg = build_case_graph(parse_case(case))
    return cg, infer(cg.asserted)


def test_days_since_injury_spans_years_and_falls_back_to_the_ur_date():
    cg, inf = _inferred({"case": "d", "injury": {"date": "2014-11-30"}, "requests": [
        {"id": "r1", "service": "mri", "text": "MRI", "region": "lumbar", "date": "2016-12-01"},
        {"id": "r2", "service": "mri", "text": "MRI", "region": "lumbar", "ur": {"decision": "denied",
                                                                                 "date": "2015-01-04"}}]})
    assert inf.value(cg.node("r1"), KG.daysSinceInjury).toPython() == 732
    assert inf.value(cg.node("r2"), KG.daysSinceInjury).toPython() == 35


def test_region_red_flag_and_prior_imaging_only_in_the_request_region():
    cg, inf = _inferred({"case": "r", "findings": [
        {"id": "f1", "kind": "red_flag", "status": "present", "region": "knee"},
        {"id": "f2", "kind": "red_flag", "status": "absent", "region": "lumbar"}],
        "studies": [{"id": "s1", "kind": "ct", "region": "lumbar"}, {"id": "s2", "kind": "mri", "region": "knee"}],
        "requests": [{"id": "r1", "service": "mri", "text": "MRI", "region": "lumbar", "date": "2016-12-01"},
                     {"id": "r2", "service": "xray", "text": "X-ray", "region": "knee", "date": "2016-12-01"}]})
    assert list(inf.objects(cg.node("r1"), KG.regionRedFlag)) == []
    assert list(inf.objects(cg.node("r2"), KG.regionRedFlag)) == [cg.node("f1")]
    assert list(inf.objects(cg.node("r1"), KG.priorRegionAdvancedImaging)) == [cg.node("s1")]
    assert list(inf.objects(cg.node("r2"), KG.priorRegionAdvancedImaging)) == []  # an X-ray request: no repeat rule
