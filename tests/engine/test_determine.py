"""Determination: exact statuses per criterion for the seed, the all-met case and
a failing case per criterion (derived from the all-met case, one change each).

How a determination is written out (its rationale and renderings) is tested in test_rationale.py."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from casepaths import LETTERS, MET_CASE, ROOT, SEED_CASE, needs_letters

from kg.engine.determine import determine_case
from kg.engine.graph import build_case_graph
from kg.engine.rationale import to_json_data
from kg.extract.services import drug_detail
from kg.read.casefile import load_case_file, parse_case

CASE = "https://w3id.org/imr-kg/case/"


def statuses(det) -> dict[int, str]:
    (item,) = det.items
    return {a.number: a.status for a in item.assessments}


def assessment(det, number: int):
    (item,) = det.items
    return next(a for a in item.assessments if a.number == number)


# --- the seed case ---------------------------------------------------------------
@pytest.fixture(scope="module")
def seed():
    return determine_case(load_case_file(SEED_CASE))


def test_seed_outcome_per_criterion(seed):
    assert statuses(seed) == {1: "not_documented", 2: "met", 3: "not_documented", 4: "not_met",
                              5: "not_documented", 6: "not_applicable", 7: "not_applicable", 8: "not_documented"}
    (item,) = seed.items
    assert item.conclusion == "not_medically_necessary"
    assert item.reviewer_decision == "upheld"
    assert item.guideline.version == "https://w3id.org/imr-kg/mtus/CPMTG-2009"
    assert item.guideline.section == "https://w3id.org/imr-kg/mtus/CPMTG-TPI"
    assert item.review_date.isoformat() == "2015-08-20"


def test_seed_criterion_1_has_trigger_points_but_no_twitch_or_referred_pain(seed):
    a = assessment(seed, 1)
    assert a.reasons == ("No local twitch response on palpation is documented.",
                         "No referred pain on palpation is documented.")
    assert [e.fact for e in a.evidence] == [f"{CASE}seed-tpi-2015/f-trigger-points"]
    quotes = {q.exact for q in a.evidence[0].quotes}
    assert "there is multiple trigger points noted to the cervical paravertebral muscles" in quotes


def test_seed_criterion_2_met_from_documentation_dates(seed):
    a = assessment(seed, 2)
    request = next(e for e in a.evidence if e.fact.endswith("/req-tpi"))
    assert ("symptomDocumentedDays", "100") in request.derived_values  # a lower bound: no onset date
    assert not any(k == "symptomDurationDays" for k, _ in request.derived_values)
    assert a.decided_by == ("https://w3id.org/imr-kg/mtus/CPMTG-TPI-2-against",
                            "https://w3id.org/imr-kg/mtus/CPMTG-TPI-2-documented")


def test_seed_criterion_3_lists_therapies_without_outcome(seed):
    a = assessment(seed, 3)
    assert a.status == "not_documented"
    assert sorted(e.fact.rsplit("/", 1)[-1] for e in a.evidence) == ["tx-hep", "tx-pt"]
    assert "No failed trial of an NSAID or a muscle relaxant is documented." in a.reasons


@needs_letters
def test_seed_criterion_4_not_met_by_radiculitis_and_sensory_deficit(seed):
    a = assessment(seed, 4)
    decisive = sorted(e.fact.rsplit("/", 1)[-1] for e in a.evidence if e.decisive)
    assert decisive == ["dx-radiculitis", "f-sensation-c3-c4"]
    sensory = next(e for e in a.evidence if e.fact.endswith("f-sensation-c3-c4"))
    (quote,) = sensory.quotes
    assert quote.exact == "There is decreased sensation at the C3 and C4 dermatomes bilaterally."
    assert quote.file_name == "seed-trigger-point-2015.txt"
    letter = (LETTERS / "seed-trigger-point-2015.txt").read_text(encoding="utf-8")
    assert " ".join(letter[quote.start:quote.end].split()) == quote.exact
    assert a.decided_by == ("https://w3id.org/imr-kg/mtus/CPMTG-TPI-4-against",)


# --- the all-met case and one failure per criterion ----------------------------------
def test_all_criteria_met_is_medically_necessary():
    det = determine_case(load_case_file(MET_CASE))
    assert statuses(det) == {n: "met" for n in range(1, 9)}
    assert det.items[0].conclusion == "medically_necessary"
    assert det.medically_necessary


def _finding(case, fid):
    return next(f for f in case["findings"] if f["id"] == fid)


def _treatment(case, tid):
    return next(t for t in case["treatments"] if t["id"] == tid)


def _drop(items: list, key: str, value: str) -> None:
    items[:] = [i for i in items if i[key] != value]


Mutation = Callable[[dict[str, Any]], None]
FAILURES: list[tuple[int, str, str, Mutation]] = [
    (1, "not_documented", "no twitch response recorded", lambda c: _drop(c["findings"], "id", "f-twitch")),
    (1, "not_met", "twitch response documented absent", lambda c: _finding(c, "f-twitch").update(status="absent")),
    (2, "not_documented", "no symptom dates", lambda c: c["symptoms"][0].pop("onset")),
    (2, "not_met", "symptoms for 45 days", lambda c: c["symptoms"][0].update(onset="2015-12-01")),
    (3, "not_documented", "physical therapy outcome unknown",
     lambda c: (_treatment(c, "tx-pt").update(outcome=["unknown"]),
                _treatment(c, "tx-stretching").update(outcome=["unknown"]))),
    (3, "not_met", "NSAID controls the pain", lambda c: _treatment(c, "tx-naproxen").update(outcome=["effective"])),
    (4, "not_documented", "no neurological examination",
     lambda c: [_drop(c["findings"], "id", f) for f in ("f-sensation-normal", "f-reflexes-normal",
                                                        "f-strength-normal")]),
    (4, "not_met", "positive nerve tension sign",
     lambda c: c["findings"].append({"id": "f-slr", "kind": "positive_nerve_tension_sign", "status": "present"})),
    (5, "not_documented", "injection count not stated", lambda c: c["requests"][0].pop("injections")),
    (5, "not_met", "six injections", lambda c: c["requests"][0].update(injections=6)),
    (6, "not_documented", "relief not quantified", lambda c: _treatment(c, "tx-tpi-prior").pop("relief_percent")),
    (6, "not_met", "40% relief", lambda c: _treatment(c, "tx-tpi-prior").update(relief_percent=40)),
    (7, "not_documented", "prior injection undated", lambda c: _treatment(c, "tx-tpi-prior").pop("date")),
    (7, "not_met", "26 days since the prior injection",
     lambda c: _treatment(c, "tx-tpi-prior").update(date="2015-12-20")),
    (8, "not_documented", "injectate not named", lambda c: c["requests"][0].pop("substance")),
    (8, "not_met", "saline added", lambda c: c["requests"][0].update(substance=["local_anesthetic", "saline"])),
]


@pytest.mark.parametrize("number,status,why,mutate", FAILURES, ids=[f"c{n}-{s}-{w}" for n, s, w, _ in FAILURES])
def test_one_failing_criterion(met_case_data, number, status, why, mutate):
    mutate(met_case_data)
    det = determine_case(parse_case(met_case_data, source=why))
    expected = {n: "met" for n in range(1, 9)}
    expected[number] = status
    assert statuses(det) == expected
    assert det.items[0].conclusion == "not_medically_necessary"
    a = assessment(det, number)
    suffix = "against" if status == "not_met" else "documented"
    assert a.decided_by == (f"https://w3id.org/imr-kg/mtus/CPMTG-TPI-{number}-{suffix}",)


def test_a_literal_that_breaks_a_cap_is_quoted_in_the_reason(met_case_data):
    met_case_data["requests"][0]["injections"] = 6
    a = assessment(determine_case(parse_case(met_case_data)), 5)
    assert a.status == "not_met"
    assert a.reasons == ("More than four injections per session requested. Recorded value: 6.",)
    assert [e.fact.rsplit("/", 2)[-2:] for e in a.evidence] == [["req-tpi", "service"]]


def test_first_request_makes_repeat_criteria_not_applicable(met_case_data):
    _drop(met_case_data["treatments"], "id", "tx-tpi-prior")
    det = determine_case(parse_case(met_case_data))
    expected = {n: "met" for n in range(1, 9)}
    expected[6] = expected[7] = "not_applicable"
    assert statuses(det) == expected
    assert det.items[0].conclusion == "medically_necessary"
    assert assessment(det, 6).evidence == ()


def test_steroid_with_anaesthetic_is_allowed(met_case_data):
    met_case_data["requests"][0]["substance"] = ["local_anesthetic", "corticosteroid"]
    assert assessment(determine_case(parse_case(met_case_data)), 8).status == "met"


def test_radiculopathy_diagnosis_alone_fails_criterion_4(met_case_data):
    met_case_data["diagnoses"].append({"id": "dx-radic", "label": "lumbar radiculopathy", "kind": "radiculopathy"})
    a = assessment(determine_case(parse_case(met_case_data)), 4)
    assert a.status == "not_met"
    assert [e.fact.rsplit("/", 1)[-1] for e in a.evidence if e.decisive] == ["dx-radic"]


# --- guideline versions by date --------------------------------------------------------
@pytest.mark.parametrize("ur_date", ["2018-03-01", "2009-01-05"])
def test_review_date_outside_every_version_is_not_covered(met_case_data, ur_date):
    met_case_data["requests"][0]["ur"]["date"] = ur_date
    det = determine_case(parse_case(met_case_data))
    (item,) = det.items
    assert item.conclusion == "not_covered"
    assert item.guideline is None and item.assessments == ()
    assert item.note.startswith(f"No encoded guideline version was in force on {ur_date}")
    assert not det.medically_necessary


@pytest.mark.parametrize("ur_date,version", [
    ("2016-07-27", "https://w3id.org/imr-kg/mtus/CPMTG-2009"),
    ("2016-07-28", "https://w3id.org/imr-kg/mtus/CPMTG-2016"),
    ("2017-11-30", "https://w3id.org/imr-kg/mtus/CPMTG-2016"),
])
def test_the_version_in_force_on_the_review_date_is_used(met_case_data, ur_date, version):
    met_case_data["requests"][0]["ur"]["date"] = ur_date
    (item,) = determine_case(parse_case(met_case_data)).items
    assert item.guideline.version == version
    assert item.guideline.section == "https://w3id.org/imr-kg/mtus/CPMTG-TPI"
    assert item.conclusion == "medically_necessary"
    assert f"{item.guideline.version_label}, section" in to_json_data(
        determine_case(parse_case(met_case_data)))["items"][0]["rationale"]


def test_service_without_encoded_section_is_not_covered(met_case_data):
    met_case_data["requests"][0]["service"] = "transportation"
    (item,) = determine_case(parse_case(met_case_data)).items
    assert item.conclusion == "not_covered"
    assert item.note == ("No encoded guideline section applies to this service (medical transportation; region "
                         "cervical spine (neck)). No MTUS section, and no section outside the MTUS, is encoded for "
                         "this kind of service.")


# --- purity --------------------------------------------------------------------------------
def test_determination_does_not_change_the_case_graph():
    cg = build_case_graph(load_case_file(SEED_CASE))
    before = set(cg.asserted)
    determine_case(cg)
    assert set(cg.asserted) == before


def test_a_short_documentation_span_is_silence_not_evidence_against(met_case_data):
    symptom = met_case_data["symptoms"][0]
    symptom.pop("onset")
    symptom["documented_since"] = "2015-12-01"  # 45 days before the request: a lower bound only
    a = assessment(determine_case(parse_case(met_case_data)), 2)
    assert a.status == "not_documented"
    symptom["documented_since"] = "2015-09-01"  # 136 days: the lower bound already exceeds 90
    assert assessment(determine_case(parse_case(met_case_data)), 2).status == "met"


# --- services ancillary to a surgery, and a user's own section ------------------------------
def _surgery_case(pt_outcome: str | None) -> dict:
    treatments = [{"id": "tx-pt", "kind": "physical_therapy", "outcome": [pt_outcome]}] if pt_outcome else []
    return {"case": "knee", "treatments": treatments, "requests": [
        {"id": "r-scope", "service": "arthroscopic_surgery", "text": "Right knee arthroscopy", "date": "2016-03-01"},
        {"id": "r-assist", "service": "assistant_surgeon", "text": "Assistant surgeon", "date": "2016-03-01"},
    ]}


@pytest.mark.parametrize("pt_outcome,surgery,ancillary,status", [
    ("failed", "medically_necessary", "medically_necessary", "met"),
    ("effective", "not_medically_necessary", "not_medically_necessary", "not_met"),
    (None, "not_medically_necessary", "not_medically_necessary", "not_met"),
])
def test_ancillary_service_follows_the_surgery(pt_outcome, surgery, ancillary, status):
    from kg.engine.validate import load_shapes

    shapes = load_shapes(ROOT / "tests" / "data" / "shapes")
    det = determine_case(parse_case(_surgery_case(pt_outcome)), shapes=shapes)
    by_id = {i.request_id: i for i in det.items}
    assert by_id["r-scope"].conclusion == surgery
    assert by_id["r-scope"].guideline.section == "https://example.org/payer-rules/Arthroscopy"
    assist = by_id["r-assist"]
    assert assist.guideline.section == "https://w3id.org/imr-kg/mtus/REVIEW-ANCILLARY"
    assert [(a.number, a.status) for a in assist.assessments] == [(1, status)]
    assert assist.conclusion == ancillary
    assert [e.fact.rsplit("/", 1)[-1] for e in assist.assessments[0].evidence] == ["r-scope"]


def test_ancillary_service_without_a_decided_surgery_is_not_documented():
    by_id = {i.request_id: i for i in determine_case(parse_case(_surgery_case("failed"))).items}
    scope, assist = by_id["r-scope"], by_id["r-assist"]
    assert scope.conclusion == "not_covered"  # no surgery section is packaged yet
    assert [(a.number, a.status) for a in assist.assessments] == [(1, "not_documented")]


def test_ancillary_service_alone_is_not_judged_by_the_rule():
    case = _surgery_case(None)
    case["requests"] = case["requests"][1:]
    (assist,) = determine_case(parse_case(case)).items
    assert assist.conclusion == "not_covered"


# --- sections whose applicable criteria are all exclusions (kg:Exclusion) -------------------------
def _drug_case(service: str, text: str, **extra: Any) -> dict[str, Any]:
    """A case of one drug request: headache since 2016-10-18, requested 2016-11-01 (14 days), with
    the strength and count its text prints."""
    _, strength, count, _ = drug_detail(text)
    request = {"id": "r1", "service": service, "text": text, "date": "2016-11-01", "strength": strength, "count": count,
               "ur": {"decision": "denied", "date": "2016-11-10"}}
    case: dict[str, Any] = {
        "case": f"fx-{service}", "symptoms": [{"id": "sx-head", "label": "headache", "onset": "2016-10-18"}],
        "requests": [{k: v for k, v in request.items() if v is not None}]}
    case.update(extra)
    return case


def test_met_exclusions_alone_are_no_indication():
    # the barbiturate section's only criterion, "not for chronic pain", is an exclusion: 14 days of
    # pain meets it, which shows no indication, so the request is not medically necessary
    det = determine_case(parse_case(_drug_case("butalbital_combination", "Fioricet 50/325/40mg #30")))
    (item,) = det.items
    assert item.guideline.section == "https://w3id.org/imr-kg/mtus/CPMTG-BCA"
    assert [(a.criterion.rsplit("/", 1)[-1], a.role, a.status) for a in item.assessments] == [
        ("CPMTG-BCA-1", "exclusion", "met"), ("CPMTG-BCA-2", "exclusion", "met")]
    assert item.conclusion == "not_medically_necessary"
    assert item.note.startswith("No indication is documented: the applicable criteria of this section (1, 2) "
                                "only exclude uses the guideline advises against")
    text = to_json_data(det)["items"][0]["rationale"]
    assert text.splitlines()[-1] == f"Conclusion: {item.note} The request is not medically necessary."


def test_a_failing_exclusion_is_the_reason_and_no_note_is_added():
    case = _drug_case("butalbital_combination", "Fioricet 50/325/40mg #30")
    case["symptoms"][0]["onset"] = "2015-06-01"  # chronic pain: the exclusion applies
    (item,) = determine_case(parse_case(case)).items
    assert [(a.number, a.status) for a in item.assessments] == [(1, "not_met"), (2, "met")]
    assert (item.conclusion, item.note) == ("not_medically_necessary", "")


def test_a_benzodiazepine_course_within_four_weeks_is_not_thereby_indicated():
    case = _drug_case("benzodiazepine", "Diazepam 5mg #14",
                      treatments=[{"id": "tx-bz", "kind": "benzodiazepine", "label": "diazepam", "days": 10}])
    case["requests"][0]["days"] = 14
    (item,) = determine_case(parse_case(case)).items
    assert [(a.number, a.role, a.status) for a in item.assessments] == [(1, "exclusion", "met"),
                                                                      (2, "exclusion", "met"),
                                                                      (3, "exclusion", "met")]
    assert item.conclusion == "not_medically_necessary"
    assert item.note.startswith("No indication is documented: the applicable criteria of this section (1, 2, 3) only "
                                "exclude uses")


def test_exclusions_beside_a_met_indication_do_not_block_it():
    # muscle relaxants: the acute flare (criterion 1) is the indication; the 2-3 week limits (of the
    # use so far and of the supply requested) and "not carisoprodol" are exclusions, met
    case = _drug_case("muscle_relaxant", "Cyclobenzaprine 7.5mg #20",
                      findings=[{"id": "f-flare", "kind": "acute_exacerbation", "status": "present",
                                 "label": "flare-up of low back pain"}],
                      treatments=[{"id": "tx-mr", "kind": "muscle_relaxant", "label": "cyclobenzaprine", "weeks": 2,
                                   "outcome": ["effective"]}])
    case["requests"][0]["days"] = 10
    (item,) = determine_case(parse_case(case)).items
    assert [(a.number, a.role, a.status) for a in item.assessments] == [
        (1, "required", "met"), (2, "exclusion", "met"), (3, "exclusion", "met"),
        (4, "required", "not_applicable"), (5, "required", "met"), (6, "exclusion", "met"), (7, "exclusion", "met"),
        (8, "required", "not_applicable")]
    assert (item.conclusion, item.note) == ("medically_necessary", "")


def test_conclude_without_any_applicable_criterion_is_no_indication():
    from dataclasses import replace

    from kg.engine.determine import CriterionAssessment, conclude

    base = CriterionAssessment("c1", 1, "x", "", "not_applicable", (), (), (), "")
    conclusion, note = conclude([base, replace(base, number=2, role="exclusion")])
    assert conclusion == "not_medically_necessary"
    assert note == ("No indication is documented: none of this section's criteria applies to the request, so "
                    "medical necessity is not established.")
    assert conclude([replace(base, status="met"), replace(base, number=2, role="exclusion", status="met")]) == (
        "medically_necessary", "")
    assert conclude([replace(base, status="met"), replace(base, number=2, role="exclusion",
                                                          status="not_documented")]) == ("not_medically_necessary", "")
