"""Sections added for issue 16 on branch sect4: post-operative therapy under the MTUS
Postsurgical Treatment Guidelines (and under the ancillary rule when its surgery is disputed in
the same case), and corticosteroid injections of the knee under the ACOEM knee chapter."""

from __future__ import annotations

from kg.engine.determine import determine_case
from kg.engine.guidelines import catalogue
from kg.engine.rationale import rationale_text
from kg.extract.services import classify_service
from kg.read.casefile import parse_case

MTUS = "https://w3id.org/imr-kg/mtus/"
_SURGERY = {"id": "tx-surg", "kind": "surgery", "label": "right shoulder rotator cuff repair", "region": "shoulder",
            "date": "2016-11-01"}


def _case(*requests, treatments=()):
    reqs = [{"date": "2017-01-05", "ur": {"decision": "denied", "date": "2017-01-09"}, **r} for r in requests]
    return parse_case({"case": "fx-sect4", "treatments": list(treatments), "requests": reqs}, source="test")


def test_post_operative_therapy_after_a_rotator_cuff_repair_is_judged_under_the_postsurgical_guidelines():
    # rotator cuff repair: general course 24 visits, so a first request may have 12
    req = {"id": "r1", "service": "postoperative_physical_therapy", "region": "shoulder", "sessions": 12,
           "text": "Post-op physical therapy 2 times a week for 6 weeks, right shoulder"}
    (item,) = determine_case(_case(req, treatments=[_SURGERY])).items
    assert item.guideline.section == MTUS + "PSTG-PHYSMED" and item.guideline.kind == "MTUS"
    assert item.guideline.version_label == "MTUS Postsurgical Treatment Guidelines (2009)"
    assert [(a.criterion, a.status) for a in item.assessments] == [
        (MTUS + "PSTG-PHYSMED-1", "met"), (MTUS + "PSTG-PHYSMED-2", "met"), (MTUS + "PSTG-PHYSMED-3", "met"),
        (MTUS + "PSTG-PHYSMED-4", "not_applicable")]
    assert item.conclusion == "medically_necessary"
    (item,) = determine_case(_case({**req, "sessions": 16}, treatments=[_SURGERY])).items
    assert [(a.criterion, a.status) for a in item.assessments if a.status != "met"] == [
        (MTUS + "PSTG-PHYSMED-3", "not_met"), (MTUS + "PSTG-PHYSMED-4", "not_applicable")]
    assert "NOT MET. More post-operative visits than the course for this surgery allows. Recorded value: 16." \
        in rationale_text(item)


def test_post_operative_therapy_follows_a_surgery_disputed_in_the_same_case():
    surgery = {"id": "r1", "service": "arthroscopic_surgery", "region": "shoulder",
               "text": "Right shoulder arthroscopy with rotator cuff repair"}
    therapy = {"id": "r2", "service": "postoperative_physical_therapy", "region": "shoulder", "sessions": 12,
               "text": "Post-op physical therapy 12 sessions"}
    items = {i.request_id: i for i in determine_case(_case(surgery, therapy)).items}
    assert items["r2"].guideline.section == MTUS + "REVIEW-ANCILLARY"
    assert items["r2"].conclusion == items["r1"].conclusion == "not_medically_necessary"


def test_a_knee_cortisone_injection_is_judged_under_the_acoem_knee_chapter():
    text = "Retrospective injection 5cc of lidocaine hcl 1percent and 1cc of dexamethasone 120mg to the right knee"
    assert classify_service(text) == "other_injection"
    req = {"id": "r1", "service": "other_injection", "region": "knee", "text": text,
           "substance": ["local_anesthetic", "corticosteroid"]}
    pt = {"id": "tx-pt", "kind": "physical_therapy", "label": "physical therapy", "region": "knee"}
    (item,) = determine_case(_case(req, treatments=[pt])).items
    assert item.guideline.section == MTUS + "ACOEM-KNEE-INJECTION"
    assert [(a.criterion, a.status) for a in item.assessments] == [
        (MTUS + "ACOEM-KNEE-INJECTION-1", "met"), (MTUS + "ACOEM-KNEE-INJECTION-2", "met"),
        (MTUS + "ACOEM-KNEE-INJECTION-3", "met")]
    # viscosupplementation is no corticosteroid injection: no section covers it
    (item,) = determine_case(_case({"id": "r1", "service": "other_injection", "region": "knee",
                                    "text": "Synvisc injection, right knee"})).items
    assert item.conclusion == "not_covered"
    # nor does the knee section take a cortisone injection of another joint
    (item,) = determine_case(_case({"id": "r1", "service": "joint_injection", "region": "shoulder",
                                    "text": "Cortisone injection, right shoulder"}, treatments=[pt])).items
    assert item.guideline is None or item.guideline.section != MTUS + "ACOEM-KNEE-INJECTION"


def test_the_catalogue_lists_the_new_sections_as_mtus():
    by_iri = {s.iri: s for s in catalogue()}
    assert by_iri[MTUS + "PSTG-PHYSMED"].kind == by_iri[MTUS + "ACOEM-KNEE-INJECTION"].kind == "MTUS"
    assert [c.number for c in by_iri[MTUS + "PSTG-PHYSMED"].criteria] == [1, 2, 3, 4]
    versions = [v.label for v in by_iri[MTUS + "PSTG-PHYSMED"].versions]
    assert versions == ["MTUS Postsurgical Treatment Guidelines (2009)"]
