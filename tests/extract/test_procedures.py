"""kg.extract.procedures: the facts the injection, surgery and psychological-care criteria read."""

from __future__ import annotations

import re

from kg.extract.case import extract_case
from kg.extract.procedures import spinal_levels
from kg.read.letter import LetterText


def _letter(summary: str, service: str) -> LetterText:
    return LetterText(
        "CLINICAL CASE SUMMARY\nThe injured worker is a 40 year old male who sustained an industrial injury on 1-2-16. "
        + summary + "\n\nIMR ISSUES, DECISIONS AND RATIONALES\n\n" + service + ": Upheld\n\n"
        "MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s): Epidural "
        "steroid injections (ESIs).\n\nDecision rationale: Not medically necessary.\n", "mini.txt")


def _proc(facts):
    return [f for f in facts if f.id.startswith("proc-")]


def _check_evidence(lc) -> None:
    for group in (lc.case.findings, lc.case.studies, lc.case.treatments):
        for fact in group:
            for ev in fact.evidence:
                assert " ".join(lc.text.text[ev.start:ev.end].split()) == ev.quote


def test_epidural_request_approach_levels_and_radicular_regions() -> None:
    lc = extract_case(_letter(
        "A straight leg raise was positive on the right. The provider noted that the injured worker had a normal "
        "electrodiagnostic study of both lower limbs.", "Right L4 and L5 transforaminal epidural steroid injection"))
    r = lc.case.requests[0]
    assert (r.service, r.levels) == ("transforaminal_epidural_steroid_injection", 2)
    slr = [f for f in lc.case.findings if f.kind == "positive_nerve_tension_sign"]
    assert [(f.status, f.region) for f in slr] == [("present", "lumbar")]
    emg = [(f.kind, f.status, f.region) for f in _proc(lc.case.findings)]
    assert ("electrodiagnostic_radiculopathy", "absent", "lumbar") in emg
    assert [s.kind for s in lc.case.studies if s.id.startswith("proc-")] == ["emg_ncs"]
    _check_evidence(lc)


def test_knee_mechanical_symptoms_signs_and_mri() -> None:
    lc = extract_case(_letter(
        "A left knee MRI performed on 4/19/2016 documented a horizontal tear of the body and posterior horn of the "
        "medial meniscus. The patient had right knee pain. The patient was noted to have locking and instability. "
        "The patient had medial joint line tenderness and a positive McMurray sign.", "Arthroscopy of the left knee"))
    got = sorted((f.kind, f.status, f.region) for f in _proc(lc.case.findings))
    assert got == [("mechanical_symptom", "present", "knee"), ("mechanical_symptom", "present", "knee"),
                   ("meniscal_tear_imaging", "present", "knee"), ("meniscal_tear_sign", "present", "knee"),
                   ("meniscal_tear_sign", "present", "knee")]
    _check_evidence(lc)


def test_shoulder_mri_without_a_labral_tear() -> None:
    lc = extract_case(_letter(
        "An MRI of the right shoulder on 12/02/2016 revealed no evidence for a Bankart lesion or posterior labral "
        "tear. "
        "There was a positive O'Brien sign.", "Right shoulder arthroscopy with SLAP repair"))
    got = sorted((f.kind, f.status) for f in _proc(lc.case.findings))
    assert ("shoulder_lesion_imaging", "absent") in got and ("shoulder_lesion_sign", "present") in got
    assert ("shoulder_lesion_imaging", "present") not in got


def test_partial_hospitalization_and_psychological_evaluation() -> None:
    lc = extract_case(_letter(
        "Initial psychological treatment evaluation notes dated 12-13-16, reported stress and depression without a "
        "plan. "
        "The treatment to date has included psych appointments.", "Partial Hospitalization day treatment"))
    assert lc.case.requests[0].service == "partial_hospitalization"
    kinds = sorted(t.kind for t in lc.case.treatments if t.id.startswith("proc-"))
    assert kinds == ["psychological_evaluation", "psychological_treatment"]
    _check_evidence(lc)


def test_median_nerve_numbness_and_wrist_fracture() -> None:
    lc = extract_case(_letter(
        "The injured worker is undergoing treatment for fracture of left distal radius. "
        "The injured worker reported a dense numbness in the radial digits.",
        "Open carpal tunnel release"))
    got = {(f.kind, f.status, f.region) for f in lc.case.findings}
    assert ("median_nerve_deficit", "present", "wrist_hand") in got
    assert ("red_flag", "present", "wrist_hand") in got


def test_spinal_levels() -> None:
    assert spinal_levels("Facet joint injections L4-5, L5-S1") == 2
    assert spinal_levels("Right L5-S1 epidural steroid injection") == 1
    assert spinal_levels("C5-6 and C6-7 interlaminar") == 2
    assert spinal_levels("Lumbar epidural injection") is None
    assert re.sub(r"\s", "", "L4 - 5") == "L4-5"
