"""Sections outside the MTUS (Labor Code 4610.5(c)(2)): chosen only where no MTUS section applies,
said so in the rationale, carried in the JSON, RDF and catalogue; and why a request no section
covers is not covered."""

from __future__ import annotations

import pytest

from kg.engine.determine import determination_graph, determine_case
from kg.engine.guidelines import catalogue
from kg.engine.rationale import rationale_text, to_json_data
from kg.extract.services import classify_service
from kg.rdf import KG
from kg.read.casefile import parse_case

MTUS = "https://w3id.org/imr-kg/mtus/"


def _case(service: str, text: str, region: str | None = None, **extra):
    request = {"id": "r1", "service": service, "text": text, "date": "2017-01-05",
               "ur": {"decision": "denied", "date": "2017-01-09"}}
    if region:
        request["region"] = region
    return parse_case({"case": "fx-odg", "requests": [request], **extra}, source="test")


def test_home_equipment_is_judged_under_odg_and_the_rationale_says_the_mtus_is_silent():
    det = determine_case(_case("mobility_aid", "Standard wheelchair, 1 month rental"))
    (item,) = det.items
    assert item.guideline.section == MTUS + "ODG-DME"
    assert item.guideline.kind == "outside the MTUS" and item.guideline.outside_mtus
    assert [(a.criterion, a.status) for a in item.assessments] == [(MTUS + "ODG-DME-1", "not_documented")]
    assert item.conclusion == "not_medically_necessary"
    text = rationale_text(item).splitlines()
    assert text[1].startswith("The MTUS does not address this service (mobility aid); under Official Disability "
                              "Guidelines (ODG), Work Loss Data Institute (Labor Code 4610.5(c)(2): ")
    data = to_json_data(det)["items"][0]["guideline"]
    assert data["kind"] == "outside the MTUS" and data["source"].startswith("Official Disability Guidelines")
    assert data["evidence_step"].startswith("Labor Code 4610.5(c)(2)")
    g = determination_graph(det)
    d = next(g.subjects(KG.usedSection, None))
    assert g.value(d, KG.guidelineKind) == KG.OutsideMTUSGuideline
    assert str(g.value(d, KG.evidenceStep)).startswith("Labor Code 4610.5(c)(2)")


def test_an_mtus_section_is_marked_mtus_in_the_determination():
    det = determine_case(_case("tens", "TENS unit, one-month home trial", "lumbar"))
    (item,) = det.items
    assert item.guideline.section == MTUS + "CPMTG-TENS" and item.guideline.kind == "MTUS"
    assert not rationale_text(item).splitlines()[1].startswith("The MTUS does not address")
    g = determination_graph(det)
    assert g.value(next(g.subjects(KG.usedSection, None)), KG.guidelineKind) == KG.MTUSGuideline


def test_mtus_sections_come_before_sections_outside_the_mtus():
    # knee imaging has an MTUS chapter (ACOEM 2004), so the ODG hip and head section is never chosen for it
    det = determine_case(_case("mri", "MRI of the right knee", "knee"))
    assert det.items[0].guideline.section == MTUS + "ACOEM-KNEE-IMAGING"
    det = determine_case(_case("xray", "X-rays of the right hip", "hip"))
    assert det.items[0].guideline.section == MTUS + "ODG-HIP-HEAD-IMAGING"


def test_catalogue_gives_each_section_its_kind_and_source():
    by_iri = {s.iri: s for s in catalogue()}
    assert by_iri[MTUS + "ODG-PILLOW"].kind == "outside the MTUS"
    assert by_iri[MTUS + "ODG-PILLOW"].source == "Official Disability Guidelines (ODG), Work Loss Data Institute"
    assert by_iri[MTUS + "CPMTG-TENS"].kind == "MTUS" and by_iri[MTUS + "CPMTG-TENS"].source == ""
    assert by_iri[MTUS + "CPMTG-FRP"].kind == "MTUS" and by_iri[MTUS + "CPMTG-HOME-HEALTH"].kind == "MTUS"
    for s in ("ODG-SHOCKWAVE", "ODG-KNEE-PRP", "ODG-ADHESIOLYSIS", "ODG-HEARING-AID"):
        assert by_iri[MTUS + s].kind == "outside the MTUS", s
    for s in ("CPMTG-ULTRASOUND", "ACOEM-LB-SUPPORT", "ACOEM-LB-TRACTION", "ACOEM-WRIST-SPLINT", "ACOEM-ELBOW-BRACE",
              "ACOEM-FCE"):
        assert by_iri[MTUS + s].kind == "MTUS", s


def test_a_request_no_section_covers_says_its_kind_region_and_the_sections_considered():
    (item,) = determine_case(_case("xray", "X-rays")).items
    assert item.conclusion == "not_covered"
    assert item.note.startswith("No encoded guideline section applies to this service (X-ray; no region stated). "
                                "Sections considered: ")
    assert '"Knee: imaging (Special Studies)" (applies only to knee)' in item.note
    (item,) = determine_case(_case("prp_injection", "Platelet-rich plasma injection, right elbow", "elbow")).items
    assert item.note == ("No encoded guideline section applies to this service (platelet-rich plasma injection; "
                         "region elbow). Sections considered: \"Knee: platelet-rich plasma injections (outside the "
                         "MTUS)\" (applies only to knee).")
    (item,) = determine_case(_case("transportation", "Transportation to appointments")).items
    assert item.note == ("No encoded guideline section applies to this service (medical transportation; no region "
                         "stated). "
                         "No MTUS section, and no section outside the MTUS, is encoded for this kind of service.")


def test_a_service_the_mtus_does_not_recommend_is_not_met_whatever_the_record_holds():
    case = _case("therapeutic_ultrasound", "Ultrasound 1 times 8", "lumbar",
                 treatments=[{"id": "tx-pt", "kind": "physical_therapy", "outcome": ["failed"]}])
    (item,) = determine_case(case).items
    assert item.guideline.section == MTUS + "CPMTG-ULTRASOUND" and item.guideline.kind == "MTUS"
    assert [(a.criterion, a.status) for a in item.assessments] == [(MTUS + "CPMTG-ULTRASOUND-1", "not_met")]
    assert item.assessments[0].reasons == ("The request is for therapeutic ultrasound.",)


@pytest.mark.parametrize(("text", "section"), [
    ("Neuromuscular electrical stimulation unit, 30 day rental", "CPMTG-NMES"),
    ("NMES 2 times a week for 4 weeks", "CPMTG-NMES"),
    ("High-voltage galvanic stimulation 8 sessions", "CPMTG-GALVANIC"),
    ("Low level laser therapy 6 sessions", "CPMTG-LASER"),
    ("Cold laser treatments for the right shoulder", "CPMTG-LASER"),
    ("Electrical stimulation 1 times 8", "CPMTG-TENS"),
])
def test_a_modality_the_guideline_names_goes_to_its_own_heading_before_the_tens_section(text: str,
                                                                                       section: str) -> None:
    """NMES and galvanic stimulation are electrical stimulation, so the TENS section applies to them
    too; their own headings (not recommended) come first.  Other electrical stimulation stays with
    TENS.  The service kind is the letter extractor's, from the request text."""
    case = _case(classify_service(text), text, "lumbar",
                 treatments=[{"id": "tx-pt", "kind": "physical_therapy", "outcome": ["failed"]}])
    (item,) = determine_case(case).items
    assert item.guideline.section == MTUS + section and item.guideline.kind == "MTUS"
    if section != "CPMTG-TENS":
        assert [(a.criterion, a.status) for a in item.assessments] == [(MTUS + section + "-1", "not_met")]
        assert item.conclusion == "not_medically_necessary"


def test_neuroplasty_is_judged_under_odg_and_radiofrequency_ablation_is_not():
    (item,) = determine_case(_case("neurolytic_procedure", "Neuroplasty, lumbar spine", "lumbar")).items
    assert item.guideline.section == MTUS + "ODG-ADHESIOLYSIS" and item.guideline.outside_mtus
    assert [(a.criterion, a.status) for a in item.assessments] == [(MTUS + "ODG-ADHESIOLYSIS-1", "not_met")]
    assert rationale_text(item).splitlines()[1].startswith("The MTUS does not address this service")
    (item,) = determine_case(_case("neurolytic_procedure", "Radiofrequency ablation L4-5", "lumbar")).items
    assert item.conclusion == "not_covered"
    assert '"Percutaneous adhesiolysis, epidural neuroplasty (outside the MTUS)" (applies only to a request for ' \
           'percutaneous adhesiolysis' in item.note


def test_shockwave_names_its_region_and_the_low_back_is_not_met():
    (item,) = determine_case(_case("shockwave_therapy", "Shockwave therapy, lumbar", "lumbar")).items
    assert item.guideline.section == MTUS + "ODG-SHOCKWAVE"
    assert [(a.criterion, a.status) for a in item.assessments] == [
        (MTUS + "ODG-SHOCKWAVE-1", "not_met"), (MTUS + "ODG-SHOCKWAVE-2", "not_documented"),
        (MTUS + "ODG-SHOCKWAVE-3", "not_documented")]
    (item,) = determine_case(_case("shockwave_therapy", "Unknown shockwave treatments")).items
    assert [a.status for a in item.assessments] == ["not_documented", "not_documented", "not_documented"]
    assert item.assessments[2].reasons == ("No number of sessions stated.",)


def test_localized_intense_neurostimulation_is_not_tens_and_odg_does_not_recommend_it():
    from kg.extract.services import classify_service

    # the service is the neurostimulation; the study it follows (TPII) is context, not the service
    text = "Localized intense neurostimulation therapy [following TPII]"
    assert classify_service(text) == "hyperstimulation_analgesia"
    assert classify_service("Trigger points impedance imaging (TPII)") == "other_study"
    assert classify_service("TENS unit, one-month home trial") == "tens"
    (item,) = determine_case(_case("hyperstimulation_analgesia", text, "lumbar")).items
    assert item.guideline.section == MTUS + "ODG-HYPERSTIMULATION" and item.guideline.outside_mtus
    assert [(a.criterion, a.status) for a in item.assessments] == [(MTUS + "ODG-HYPERSTIMULATION-1", "not_met")]
    assert item.conclusion == "not_medically_necessary"
    (item,) = determine_case(_case("other_study", "Trigger points impedance imaging (TPII)")).items
    assert item.guideline.section == MTUS + "ODG-TPII" and item.guideline.outside_mtus
    assert [(a.criterion, a.status) for a in item.assessments] == [(MTUS + "ODG-TPII-1", "not_met")]
    # another study of the same kind that is not impedance imaging stays uncovered
    (item,) = determine_case(_case("other_study", "Thermography of both hands")).items
    assert item.conclusion == "not_covered"


def test_biofeedback_is_mtus_and_infrared_therapy_is_outside_it():
    by_iri = {s.iri: s for s in catalogue()}
    assert by_iri[MTUS + "CPMTG-BIOFEEDBACK"].kind == "MTUS"
    for s in ("ODG-INFRARED", "ODG-HYPERSTIMULATION", "ODG-TPII"):
        assert by_iri[MTUS + s].kind == "outside the MTUS", s
    case = _case("infrared_therapy", "Infrared therapy x4", "lumbar", injury={"date": "2015-01-05"})
    (item,) = determine_case(case).items
    assert item.guideline.section == MTUS + "ODG-INFRARED"
    assert [(a.criterion, a.status) for a in item.assessments] == [
        (MTUS + "ODG-INFRARED-1", "met"), (MTUS + "ODG-INFRARED-2", "not_met"),
        (MTUS + "ODG-INFRARED-3", "not_documented")]
    assert rationale_text(item).splitlines()[1].startswith("The MTUS does not address this service (infrared therapy)")
