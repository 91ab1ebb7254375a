"""The rationale: the exact text written for each criterion status and conclusion, and the
byte-stable renderings of a determination (text, Markdown, JSON, Turtle)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest
from casepaths import ROOT, SEED_CASE, edx_notes_case
from rdflib import RDF, Graph, URIRef

from kg.engine.determine import (
    CaseDetermination,
    CriterionAssessment,
    EvidenceItem,
    GuidelineUse,
    Quote,
    RequestDetermination,
    determine_case,
)
from kg.engine.rationale import rationale_text, render, to_json_data
from kg.rdf import CASE_BASE, KG
from kg.read.casefile import load_case_file

GUIDELINE = GuidelineUse(section="urn:section", section_label="Trigger point injections", version="urn:version",
                         version_label="MTUS CPMTG (2009)", effective_from=dt.date(2009, 7, 18), effective_until=None,
                         dates_verified=True, dates_source="")
HEAD = ("Request: TPI x3 (requested 2015-08-12; review date 2015-08-20)\n"
        'Guideline applied: MTUS CPMTG (2009), section "Trigger point injections" (in force 2009-07-18 to today).\n'
        "The guideline supports this service only when every applicable criterion is met.\n")


def criterion(number: int, status: str, *, role: str = "required", reasons: tuple[str, ...] = ("Why.",),
              evidence: tuple[EvidenceItem, ...] = ()) -> CriterionAssessment:
    return CriterionAssessment(criterion=f"urn:c{number}", number=number, label=f"label {number}",
                               statement=f"Statement {number}.", status=status, reasons=reasons, evidence=evidence,
                               decided_by=(), silence_policy="", role=role)


def request(conclusion: str, *assessments: CriterionAssessment, guideline: GuidelineUse | None = GUIDELINE,
            note: str = "", reviewer: str | None = None) -> RequestDetermination:
    return RequestDetermination(request="urn:r1", request_id="r1", service="TPI x3",
                                service_kind="trigger_point_injection", request_date=dt.date(2015, 8, 12),
                                review_date=dt.date(2015, 8, 20), guideline=guideline, conclusion=conclusion,
                                note=note, assessments=assessments, reviewer_decision=reviewer,
                                reviewer_citation=None)


# --- the text, line by line -----------------------------------------------------------------
@pytest.mark.parametrize("status,words", [("met", "MET"), ("not_met", "NOT MET"),
                                          ("not_documented", "NOT DOCUMENTED"), ("not_applicable", "NOT APPLICABLE")])
def test_each_status_has_its_criterion_line(status, words):
    text = rationale_text(request("not_medically_necessary", criterion(3, status, reasons=("First.", "Second."))))
    assert text.splitlines()[3] == f"Criterion 3 (label 3): {words}. First. Second."


def test_a_request_that_fails_says_why_and_what_would_change_it():
    decisive = EvidenceItem(fact="urn:f1", label="trigger point (present)", kinds=("TriggerPoint",), graph="asserted",
                            decisive=True, quotes=(Quote(document="d1", file_name="letter.txt",
                                                         exact="trigger points noted", start=5, end=25),))
    derived = EvidenceItem(fact="urn:r1", label="TPI x3", kinds=("TreatmentRequest",), graph="asserted",
                           decisive=False, quotes=(Quote(document="d1", file_name=None, exact="TPI", start=None,
                                                         end=None),),
                           derived_values=(("symptomDurationDays", "120"),))
    item = request("not_medically_necessary", criterion(1, "not_met", evidence=(decisive,)),
                   criterion(2, "met", evidence=(derived,)), criterion(3, "not_documented"),
                   criterion(4, "not_applicable"))
    assert rationale_text(item) == HEAD + (
        "Criterion 1 (label 1): NOT MET. Why.\n"
        '  - decisive: trigger point (present): "trigger points noted" (letter.txt @5-25)\n'
        "Criterion 2 (label 2): MET. Why.\n"
        '  - TPI x3 [symptomDurationDays = 120, inferred]: "TPI" (d1)\n'
        "Criterion 3 (label 3): NOT DOCUMENTED. Why.\n"
        "Criterion 4 (label 4): NOT APPLICABLE. Why.\n"
        "Conclusion: criterion 1 is not met and criterion 3 is not documented. The request is not medically "
        "necessary.\n"
        "What would change the outcome:\n"
        "  - document criterion 3: Statement 3.\n"
        "  - criterion 1 is contradicted by the record; more documentation would not change it, only different "
        "clinical facts: Statement 1.")


def test_a_necessary_request_names_the_indication_that_is_met():
    item = request("medically_necessary", criterion(1, "met"), criterion(2, "not_documented", role="indication"),
                   criterion(3, "met", role="indication"))
    assert rationale_text(item).splitlines()[-1] == (
        "Conclusion: every required criterion is met, and so is indication 3. The request is medically necessary.")


def test_no_indication_documented_asks_for_the_undocumented_ones():
    item = request("not_medically_necessary", criterion(1, "met"), criterion(2, "not_documented", role="indication"),
                   criterion(3, "not_met", role="indication"))
    assert rationale_text(item).splitlines()[-3:] == [
        "Conclusion: none of the indications (criteria 2 and 3) is documented. The request is not medically necessary.",
        "What would change the outcome:",
        "  - or document indication 2: Statement 2."]


def test_a_request_without_a_guideline_is_not_decided():
    item = request("not_covered", guideline=None, note="No encoded guideline section applies to this service.")
    assert rationale_text(item) == ("Request: TPI x3 (requested 2015-08-12; review date 2015-08-20)\n"
                                    "No encoded guideline section applies to this service.\n"
                                    "Conclusion: the engine makes no determination for this request.")


# --- the renderings ---------------------------------------------------------------------------
def _determination(*items: RequestDetermination) -> CaseDetermination:
    return CaseDetermination(case_id="c1", case=f"{CASE_BASE}c1/", engine_version="9.9", items=items)


def test_text_rendering_heads_each_rationale_with_both_decisions():
    det = _determination(request("medically_necessary", criterion(1, "met"), reviewer="upheld"))
    assert render(det, "text").splitlines()[:3] == [
        "Case c1 (engine 9.9)", "", "Engine decision: medically necessary | reviewer decision: upheld"]


def test_markdown_escapes_table_bars_in_reasons():
    det = _determination(request("not_medically_necessary", criterion(1, "not_met", reasons=("a | b",))))
    assert "| 1 | label 1 | not met | a \\| b |" in render(det, "markdown").splitlines()


def test_json_leaves_agreement_open_when_the_engine_does_not_decide():
    det = _determination(request("not_covered", guideline=None, note="n", reviewer="upheld"))
    (item,) = to_json_data(det)["items"]
    assert (item["engine_decision"], item["agrees_with_reviewer"], item["guideline"]) == ("not_covered", None, None)


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="^unknown format 'pdf'; use one of text, markdown, json, turtle$"):
        render(_determination(), "pdf")  # type: ignore[arg-type]


# --- the seed case ----------------------------------------------------------------------------
CASE = "https://w3id.org/imr-kg/case/"


@pytest.fixture(scope="module")
def seed():
    return determine_case(load_case_file(SEED_CASE))


def test_seed_json_rationale_names_each_criterion_with_status_and_quote(seed):
    data = to_json_data(seed)
    (item,) = data["items"]
    assert item["engine_decision"] == "not_medically_necessary"
    assert item["reviewer_decision"] == "upheld" and item["agrees_with_reviewer"] is True
    assert item["service_kind"] == "trigger_point_injection"
    for n in range(1, 9):
        assert f"Criterion {n} (" in item["rationale"]
    assert "Criterion 4 (No radiculopathy): NOT MET." in item["rationale"]
    assert '"There is decreased sensation at the C3 and C4 dermatomes bilaterally."' in item["rationale"]
    conclusion = ("Conclusion: criterion 4 is not met and criteria 1, 3, 5 and 8 are not documented. "
                  "The request is not medically necessary.\nWhat would change the outcome:\n")
    assert conclusion in item["rationale"]
    tail = item["rationale"].split(conclusion)[1].splitlines()
    assert [line.split(":")[0] for line in tail] == [
        "  - document criterion 1", "  - document criterion 3", "  - document criterion 5",
        "  - document criterion 8", "  - criterion 4 is contradicted by the record; more documentation would not "
        "change it, only different clinical facts"]


def test_output_is_identical_across_runs_and_hash_seeds(tmp_path):
    outputs = []
    for seed_value in ("0", "1234"):
        env = dict(os.environ, PYTHONHASHSEED=seed_value)
        for fmt in ("json", "turtle", "text", "markdown"):
            proc = subprocess.run([sys.executable, "-m", "kg.cli", "determine", str(SEED_CASE), "--format", fmt],
                                  capture_output=True, env=env, cwd=ROOT)
            assert proc.returncode == 1, proc.stderr
            outputs.append((fmt, proc.stdout))
    first, second = outputs[:4], outputs[4:]
    assert first == second
    json.loads(first[0][1])


def test_turtle_output_holds_each_assessment(seed):
    g = Graph().parse(data=render(seed, "turtle"), format="turtle")
    base = f"{CASE}seed-tpi-2015/req-tpi/determination"
    assert (URIRef(base), KG.conclusion, KG.NotMedicallyNecessary) in g
    assert (URIRef(f"{base}/criterion-4"), KG.status, KG.NotMet) in g
    assert (URIRef(f"{base}/criterion-2"), KG.status, KG.Met) in g
    assert (URIRef(f"{base}/criterion-6"), KG.status, KG.NotApplicable) in g
    assert (URIRef(f"{base}/criterion-4"), KG.evidence, URIRef(f"{CASE}seed-tpi-2015/dx-radiculitis")) in g


def test_evidence_that_did_not_count_says_why_other_limb_or_normal_value():
    from kg.read.casefile import parse_case

    det = determine_case(parse_case(edx_notes_case()))
    (item,) = det.items
    (edx2,) = [a for a in item.assessments if a.number == 2]
    assert edx2.status == "not_documented"
    notes = {e.fact.rsplit("/", 1)[-1]: e.not_counted for e in edx2.evidence}
    assert notes == {"f-hand": "recorded for the forearm, wrist and hand, not the region or limb of the request",
                     "f-sens": "documented absent or normal, so it does not show what the criterion needs"}
    data = to_json_data(det)
    (c2,) = [c for c in data["items"][0]["criteria"] if c["number"] == 2]
    assert sorted(e["not_counted"] for e in c2["evidence"]) == sorted(notes.values())
    assert "(not counted: recorded for the forearm, wrist and hand" in render(det, "markdown")
    # the same notes in the determination graph, one kg:EvidenceNote per fact that did not count
    g = Graph().parse(data=render(det, "turtle"), format="turtle")
    assessment = URIRef(f"{item.request}/determination/criterion-2")
    stored = {(str(g.value(n, KG.noteOnFact)).rsplit("/", 1)[-1], str(g.value(n, KG.notCountedBecause)))
              for n in g.objects(assessment, KG.hasEvidenceNote) if (n, RDF.type, KG.EvidenceNote) in g}
    assert stored == set(notes.items())
    assert {str(n).rsplit("/", 1)[-1] for n in g.objects(assessment, KG.hasEvidenceNote)} == {
        "not-counted-1", "not-counted-2"}
    counted = URIRef(f"{item.request}/determination/criterion-1")
    assert list(g.objects(counted, KG.hasEvidenceNote)) == []


def test_exclusions_are_named_and_a_no_indication_conclusion_gives_the_note():
    note = "No indication is documented: the applicable criterion of this section (1) only excludes uses."
    text = rationale_text(request("not_medically_necessary", criterion(1, "met", role="exclusion"),
                                  criterion(2, "not_applicable", role="exclusion"), note=note))
    lines = text.splitlines()
    assert lines[2] == ("The guideline supports this service only when every applicable criterion is met. "
                        "Criteria 1 and 2 are exclusions: when met, they say only that a reason against the service "
                        "does not apply, which is no indication.")
    assert lines[-1] == f"Conclusion: {note} The request is not medically necessary."
    one = rationale_text(request("not_medically_necessary", criterion(1, "not_met", role="exclusion"))).splitlines()
    assert one[2].endswith("Criterion 1 is an exclusion: when met, it says only that a reason against the service does "
                           "not apply, which is no indication.")
    assert one[-2:] == ["What would change the outcome:", "  - criterion 1 is contradicted by the record; more "
                        "documentation would not change it, only different clinical facts: Statement 1."]
