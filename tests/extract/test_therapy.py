"""Tests for kg.extract.therapy: prior therapy courses, UR-authorised visits and their outcomes.

Small synthetic letters pin each reading; a few real letters (when ``shared/letters`` is
beside the clone) check the end-to-end determination of the physical medicine sections.
"""

from __future__ import annotations

import pytest
from casepaths import LETTERS, needs_letters

from kg.engine.determine import determine_case
from kg.extract.case import evidence_of, extract_case, read_case_from_letter
from kg.extract.therapy import _outcomes, enrich
from kg.read.letter import LetterText


def _letter(summary: str, service: str, decision: str = "Upheld") -> LetterText:
    text = ("Case Number: CM17-0000001 Date Assigned: 01/02/2017\nUR Denial Date: 01/09/2017\n"
            "CLINICAL CASE SUMMARY\n" + summary + "\n\nIMR ISSUES, DECISIONS AND RATIONALES\n\n"
            f"{service}: {decision}\n\nMAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, "
            "Section(s): Physical medicine treatment.\n\nDecision rationale: Not medically necessary.\n")
    return LetterText(text, "synthetic.txt")


def _therapy(lc):
    return [t for t in lc.case.treatments if t.id.startswith("ther-")]


def test_completed_course_with_count_and_functional_improvement():
    lc = extract_case(_letter(
        "The injured worker is a 40 year old male injured on 10-1-16. He has completed six (6) sessions of "
        "physical therapy. Physical therapy improved his range of motion and ability to lift at work. "
        "On 1-9-17, utilization review denied the request.", "Additional physical therapy 2 times a week for 2 weeks"))
    tx = _therapy(lc)
    assert [(t.kind, t.sessions) for t in tx if t.sessions] == [("physical_therapy", 6)]
    assert all("functional_improvement" in t.outcomes for t in tx)
    d = determine_case(lc.case).items[0]
    assert d.guideline.section_label == "Physical medicine"
    # 6 + 4 visits, improvement documented; 6 earlier visits are not yet a full course (3)
    assert {a.number: a.status for a in d.assessments} == {1: "met", 2: "met", 3: "not_applicable",
                                                           4: "not_applicable"}
    assert d.conclusion == "medically_necessary"


def test_normal_examination_of_the_region_contradicts_the_need_for_therapy():
    lc = extract_case(_letter(
        "The injured worker is a 40 year old male injured on 10-1-16. Exam of the cervical spine noted moderate "
        "tenderness, full range of motion and normal sensation. Exam of the low back noted decreased range of "
        "motion. On 1-9-17, utilization review denied the request.",
        "Physical therapy for the cervical spine 2 times a week for 3 weeks"))
    normal = [f for f in lc.case.findings if f.id.startswith("ther-f")]
    assert [(f.kind, f.status, f.label, f.region) for f in normal] == [
        ("limited_range_of_motion", "absent", "full range of motion", "cervical")]
    assert normal[0].evidence[0].quote.startswith("Exam of the cervical spine noted moderate tenderness")
    d = determine_case(lc.case).items[0]
    assert d.guideline.section_label == "Physical medicine"
    # the low back's limited motion is of another region: it does not count for the neck
    assert {a.number: a.status for a in d.assessments}[4] == "not_met"
    assert d.conclusion == "not_medically_necessary"


def test_no_abnormal_objective_findings_is_a_normal_examination():
    lc = extract_case(_letter(
        "The injured worker is a 57 year old female injured on 10-14-16. The physical examination documented no "
        "abnormal objective findings. On 1-9-17, utilization review denied the request.",
        "Physical therapy 3 times a week for 2 weeks"))
    assert [(f.kind, f.status, f.region) for f in lc.case.findings if f.id.startswith("ther-f")] == [
        ("normal_examination", "present", None)]
    d = determine_case(lc.case).items[0]
    assert {a.number: a.status for a in d.assessments}[4] == "not_met"


@pytest.mark.parametrize("sentence", [
    "There is no documentation of full range of motion of the lumbar spine.",
    "The range of motion was not full in the lumbar spine.",
    "The neurological examination was normal.",
])
def test_not_read_as_a_normal_examination(sentence):
    lc = extract_case(_letter("The injured worker is a 40 year old male injured on 10-1-16. " + sentence +
                              " On 1-9-17, utilization review denied the request.", "Physical therapy x6, lumbar"))
    assert [f for f in lc.case.findings if f.id.startswith("ther-f")] == []


def test_pain_relief_alone_is_not_functional_improvement():
    assert _outcomes("physical therapy was helping with pain") == ("effective",)
    assert _outcomes("eight sessions of physical therapy which were not "
                     "beneficial") == ("failed", "no_functional_improvement")
    assert _outcomes("chiropractic care without documentation of objective functional improvement") == ()


def test_ur_decision_sentence_gives_no_prior_course():
    lc = extract_case(_letter(
        "The injured worker is a 41 year old male injured on 10-25-16. Treatment to date included medications. "
        "On 1-9-17, utilization review determined physical therapy six visits for the lumbar spine was not "
        "medically necessary.", "Six physical therapy visits for the lumbar"))
    assert _therapy(lc) == []
    d = determine_case(lc.case).items[0]
    assert {a.number: a.status for a in d.assessments} == {1: "met", 2: "not_applicable", 3: "not_applicable",
                                                           4: "not_applicable"}


def test_negated_prior_therapy_is_not_a_course():
    lc = extract_case(_letter(
        "The injured worker is a 50 year old female. There is no previous physical therapy noted. "
        "Utilization review denied the request on 1-9-17.", "Physical therapy 2 times a week for 3 weeks"))
    assert _therapy(lc) == []


def test_visits_authorised_by_ur_join_the_course():
    lc = extract_case(_letter(
        "The injured worker is a 50 year old female. Treatment to date includes medications. The original "
        "utilization review dated 01/09/2017 modified the request for physical therapy to 6 sessions.",
        "Physical therapy for 12 sessions was the original request. Physical therapy for 6 sessions was authorized "
        "by the Claims Administrator. The remaining IMR eligible portion of the original request, Physical therapy "
        "for 6 sessions"))
    auth = [t for t in _therapy(lc) if "authorized_by_ur" in t.outcomes]
    assert [(t.kind, t.sessions) for t in auth] == [("physical_therapy", 6)]
    d = determine_case(lc.case).items[0]
    # 6 + 6 > 10: beyond the schedule, so the hand-over to home exercise (3) is asked for as well
    assert {a.number: a.status for a in d.assessments} == {1: "not_met", 2: "not_documented", 3: "not_documented",
                                                           4: "not_applicable"}


def test_modified_without_a_number_leaves_the_total_unknown():
    lc = extract_case(_letter(
        "The injured worker is a 50 year old female. The request for acupuncture was modified due to the "
        "guideline recommendation for an initial trial.",
        "Acupuncture treatments (unspecified quantity) was the original request. The Claims Administrator "
        "authorized Acupuncture treatments, 6 sessions, leaving the remainder IMR eligible"))
    auth = [t for t in _therapy(lc) if "authorized_by_ur" in t.outcomes]
    assert [(t.kind, t.sessions) for t in auth] == [("acupuncture", None)]  # the heading's "6" is not read
    d = determine_case(lc.case).items[0]
    assert {a.number: a.status for a in d.assessments}[4] == "not_documented"
    assert d.conclusion == "not_medically_necessary"


def test_evidence_slices_the_letter_and_enrich_is_pure():
    lt = _letter("The injured worker is a 30 year old male. He completed 8 chiropractic visits without benefit. "
                 "Utilization review denied the request on 1-9-17.", "Chiropractic 6 visits for the lumbar spine")
    lc = extract_case(lt)
    tx = _therapy(lc)
    assert [(t.kind, t.sessions, t.outcomes) for t in tx] == [("chiropractic", 8, ("failed",
                                                                                   "no_functional_improvement"))]
    for _, ev in evidence_of(lc.case):
        assert " ".join(lt.text[ev.start:ev.end].split()) == ev.quote
    again = enrich(lc)
    assert len(again.case.treatments) == len(lc.case.treatments) + len(tx)  # a second pass only adds, never edits
    d = determine_case(lc.case).items[0]
    assert d.guideline.section_label == "Manual therapy & manipulation"
    assert {a.number: a.status for a in d.assessments} == {1: "met", 2: "not_applicable", 3: "not_met", 4: "met"}


@needs_letters
@pytest.mark.parametrize("case,request_id,conclusion", [
    ("CM17-0019907", "r1", "medically_necessary"),        # a first course of 6 visits, no prior therapy
    ("CM17-0013240", "r1", "not_medically_necessary"),    # 12 completed + 6 more
    ("CM16-0248698", "r3", "not_medically_necessary"),    # acupuncture beyond the 6 UR authorised
    ("CM17-0007886", "r1", "not_medically_necessary"),    # prior therapy with no improvement
])
def test_real_letters(case, request_id, conclusion):
    lc = read_case_from_letter(str(LETTERS / f"{case}.pdf"))
    det = determine_case(lc.case)
    item = next(i for i in det.items if i.request_id == request_id)
    assert item.conclusion == conclusion


def test_home_program_documented_as_not_enough():
    summary = ("The injured worker is a 50 year old female. She completed 8 sessions of physical therapy with "
               "improved range of motion. Pain persists despite her home exercise program. "
               "Utilization review denied the request on 1-9-17.")
    lc = extract_case(_letter(summary, "Physical therapy 2 times a week for 1 week"))
    hep = [t for t in _therapy(lc) if t.kind == "home_exercise"]
    assert [t.outcomes for t in hep] == [("home_program_insufficient",)]
    ev = hep[0].evidence[0]
    assert lc.text.text[ev.start:ev.end] == ev.quote == "Pain persists despite her home exercise program."
    d = determine_case(lc.case).items[0]
    assert {a.number: a.status for a in d.assessments}[3] == "met"


@pytest.mark.parametrize("sentence", [
    "She continues her home exercise program.",
    "There is no documentation why a home exercise program would be insufficient.",
    "Her home exercise program is helping.",
    "The home exercise program failed to be documented by utilization review.",
])
def test_home_program_not_read_as_not_enough(sentence):
    lc = extract_case(_letter("The injured worker is a 50 year old female. " + sentence,
                              "Physical therapy 2 times a week for 1 week"))
    assert [t for t in _therapy(lc) if t.kind == "home_exercise"] == []
