"""Tests for kg.jobs.reasons: the split, the reason map, and exact reason-recall figures on real letters."""

from __future__ import annotations

import ast
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from casepaths import LETTERS, ROOT, needs_letters

from kg.errors import InputError
from kg.jobs.reasons import (
    REASON_MAP_FILE,
    Assessed,
    EngineItem,
    EngineRun,
    deciding_criteria,
    load_reason_map,
    reason_recall,
    render_reasons,
    score_reasons,
    split_cases,
    split_half,
)

REASONS = LETTERS / "reasons.json"
MTUS = "https://w3id.org/imr-kg/mtus/"
ALL_KEYS = {
    "CONTINUE_NEEDS_FUNCTIONAL_GAIN", "CONSERVATIVE_CARE_FIRST", "PT_VISIT_CAP", "RED_FLAGS_FOR_IMAGING",
    "ANCILLARY_FOLLOWS_PRIMARY", "LISTED_NOT_RECOMMENDED", "HOME_EXERCISE_TRANSITION", "EDX_INDICATIONS",
    "IMAGING_NERVE_COMPROMISE_SURGERY", "STANDARD_ORAL_FORM_FIRST", "MANIPULATION_TRIAL",
    "COMPOUND_WITH_NONRECOMMENDED_INGREDIENT", "ACOEM_FOUR_IMAGING_CRITERIA", "OPIOID_SAFEGUARDS",
    "ACUPUNCTURE_CRITERIA", "NSAID_LOWEST_DOSE_SHORTEST_TIME", "TOPICAL_NEUROPATHIC_AFTER_FIRST_LINE",
    "ACID_SUPPRESSION_NEEDS_GI_RISK", "ESI_CORROBORATED_RADICULOPATHY", "MUSCLE_RELAXANT_SHORT_TERM",
    "REPEAT_STUDY_NEEDS_CHANGE", "SURGERY_AFTER_FAILED_CONSERVATIVE", "VISIT_OR_REFERRAL_INDIVIDUALIZED",
    "CHRONIC_GUIDELINE_NOT_FOR_ACUTE", "DME_MEDICAL_NEED", "LIDOCAINE_PATCH_ONLY", "TENS_ADJUNCT_ONLY"}


# ---------------------------------------------------------------------------
# The split
# ---------------------------------------------------------------------------
@needs_letters
def test_split_has_62_letters_in_each_half_with_7_and_12_overturned_items():
    reasons = json.loads(REASONS.read_text(encoding="utf-8"))
    halves = split_cases(r["case"] for r in reasons)
    assert (len(halves["write"]), len(halves["check"])) == (62, 62)
    items = {h: [r for r in reasons if split_half(r["case"]) == h] for h in ("write", "check")}
    assert (len(items["write"]), len(items["check"])) == (161, 111)
    overturned = {h: sum(1 for r in xs if r["decision"] == "Overturned") for h, xs in items.items()}
    assert overturned == {"write": 7, "check": 12}


def test_split_is_the_documented_hash():
    for case in ("CM16-0213037", "CM16-0228949", "CM17-0019120", "CM17-0004133"):
        even = hashlib.sha256(("imr-kg-split-1" + case).encode()).digest()[0] % 2 == 0
        assert split_half(case) == ("write" if even else "check")
    assert [split_half(c) for c in ("CM16-0213037", "CM17-0019120", "CM17-0004133")] == ["check", "write", "check"]


# ---------------------------------------------------------------------------
# The reason map
# ---------------------------------------------------------------------------
def _criteria_of_the_shapes() -> set[str]:
    from rdflib import RDF

    from kg.engine.validate import default_shapes
    from kg.rdf import KG

    return {str(c) for c in default_shapes().graph.subjects(RDF.type, KG.Criterion)}


def test_every_criterion_of_the_map_is_a_criterion_of_the_shapes():
    rmap = load_reason_map()
    named = rmap.all_criteria()
    assert len(named) > 100
    missing = sorted(named - _criteria_of_the_shapes())
    assert missing == [], f"reason_map.toml names criteria no shape defines: {missing}"


def test_the_map_lists_every_key_and_says_which_have_no_criterion():
    rmap = load_reason_map()
    assert set(rmap.keys) == ALL_KEYS
    # STANDARD_ORAL_FORM_FIRST (the oral-form criteria of the medication sections) and
    # HOME_EXERCISE_TRANSITION (CPMTG-PHYSMED-3) are encoded now
    # DME_MEDICAL_NEED (ODG-DME-1) and TENS_ADJUNCT_ONLY (CPMTG-TENS-1, 4, 5) are encoded too (issue 16)
    assert rmap.unencoded_keys() == ["CHRONIC_GUIDELINE_NOT_FOR_ACUTE"]
    assert rmap.key_criteria("STANDARD_ORAL_FORM_FIRST")[:2] == (MTUS + "CPMTG-TOPICAL-4", MTUS + "CPMTG-MR-4")
    assert rmap.key_criteria("PT_VISIT_CAP") == (MTUS + "CPMTG-PHYSMED-1", MTUS + "PSTG-PHYSMED-3")
    assert rmap.key_criteria("ANCILLARY_FOLLOWS_PRIMARY") == (MTUS + "REVIEW-ANCILLARY-1",)
    assert all(rmap.rules[k] for k in ALL_KEYS)


@needs_letters
def test_the_map_knows_every_key_reasons_json_uses():
    reasons = json.loads(REASONS.read_text(encoding="utf-8"))
    used = {k for r in reasons for k in r["criterion_keys"]}
    assert used == ALL_KEYS


def test_the_map_names_no_case():
    text = REASON_MAP_FILE.read_text(encoding="utf-8")
    assert not re.search(r"CM1\d-\d{7}", text)


def test_a_pattern_refines_a_coarse_key_and_the_keys_are_the_fallback():
    rmap = load_reason_map()
    keys = ["IMAGING_NERVE_COMPROMISE_SURGERY", "RED_FLAGS_FOR_IMAGING"]
    crit, pats = rmap.reason_criteria("no red flag condition documented", keys)
    assert pats == ("imaging-red-flag",)
    assert MTUS + "ACOEM-LB-IMAGING-1" in crit and MTUS + "ACOEM-LB-IMAGING-2" not in crit
    crit, pats = rmap.reason_criteria("the associated shoulder surgery was not approved", ["ANCILLARY_FOLLOWS_PRIMARY"])
    assert (crit, pats) == ((MTUS + "REVIEW-ANCILLARY-1",), ())
    crit, pats = rmap.reason_criteria("no rationale for supervised therapy over a home exercise program",
                                      ["PT_VISIT_CAP", "HOME_EXERCISE_TRANSITION"])
    assert crit == (MTUS + "CPMTG-PHYSMED-3",) and pats == ("no-rationale", "home-exercise-transition")
    assert rmap.reason_criteria("anything at all", []) == ((), ())


def test_an_unstated_visit_count_names_the_count_criteria_of_course_requests_only():
    """A course request without a number of visits cannot be counted against the trial or the
    cap, which the count criteria state as 'not documented'; a drug's unspecified quantity is not
    about them, but about the drug sections' request criterion."""
    rmap = load_reason_map()
    crit, pats = rmap.reason_criteria("quantity not specified", ["ACUPUNCTURE_CRITERIA"])
    assert pats == ("request-not-specified", "visits-not-specified")
    assert MTUS + "AMTG-ACUPUNCTURE-3" in crit and MTUS + "CPMTG-PHYSMED-1" in crit
    assert MTUS + "CPMTG-MR-7" in crit and MTUS + "OTG-OPIOIDS-7" in crit
    crit, pats = rmap.reason_criteria("quantity not specified", ["OPIOID_SAFEGUARDS"])
    assert pats == ("request-not-specified",)
    assert MTUS + "OTG-OPIOIDS-7" in crit and MTUS + "CPMTG-PHYSMED-1" not in crit
    assert rmap.reason_criteria("start date of use not established", ["OPIOID_SAFEGUARDS"]) == (
        (), ("drug-history-not-given",))


def test_no_exceptional_factors_names_the_not_recommended_criteria_of_listed_services_only():
    """A listed service needs factors to go against the guideline's advice, which its
    not-recommended criterion states; elsewhere the phrase names no criterion."""
    rmap = load_reason_map()
    crit, pats = rmap.reason_criteria("no exceptional factors to justify it", ["LISTED_NOT_RECOMMENDED"])
    assert pats == ("no-exceptional-factors", "listed-no-exceptional-factors")
    assert crit == rmap.key_criteria("LISTED_NOT_RECOMMENDED")
    crit, pats = rmap.reason_criteria("no exceptional factors", ["COMPOUND_WITH_NONRECOMMENDED_INGREDIENT"])
    assert MTUS + "CPMTG-TOPICAL-3" in crit
    assert rmap.reason_criteria("no exceptional factors", ["DME_MEDICAL_NEED"]) == ((), ("no-exceptional-factors",))


def test_every_not_recommended_criterion_is_a_listed_not_recommended_reason():
    """The key's rule is "the guideline lists the service as not recommended": every criterion the
    shapes mark kg:notRecommended states exactly that, so the key names each of them."""
    from rdflib import Literal

    from kg.engine.validate import default_shapes
    from kg.rdf import KG

    marked = {str(c) for c in default_shapes().graph.subjects(KG.notRecommended, Literal(True))}
    assert MTUS + "CPMTG-ULTRASOUND-1" in marked and MTUS + "ODG-TPII-1" in marked
    assert marked <= set(load_reason_map().key_criteria("LISTED_NOT_RECOMMENDED"))


def test_a_bad_map_is_an_input_error_naming_the_file(tmp_path):
    bad = tmp_path / "map.toml"
    bad.write_text('[keys.X]\ncriteria = ["nope:Y"]\n', encoding="utf-8")
    with pytest.raises(InputError, match="no known prefix") as err:
        load_reason_map(bad)
    assert err.value.source == str(bad)
    bad.write_text('[[patterns]]\nname = "p"\nmatch = "("\n', encoding="utf-8")
    with pytest.raises(InputError, match="pattern 'p'"):
        load_reason_map(bad)
    bad.write_text("not = [toml", encoding="utf-8")
    with pytest.raises(InputError, match="cannot read the reason map"):
        load_reason_map(bad)


# ---------------------------------------------------------------------------
# Scoring, on a made-up run (no letter read)
# ---------------------------------------------------------------------------
def _item(case: str, request: str, conclusion: str, statuses: list[tuple[str, str, str]]) -> EngineItem:
    return EngineItem(case=case, request=request, service="s", conclusion=conclusion, reviewer=None,
                      section=MTUS + "CPMTG-PHYSMED", section_label="Physical medicine", version_label="v",
                      assessments=tuple(Assessed(MTUS + c, i + 1, c, role, st)
                                        for i, (c, role, st) in enumerate(statuses)))


def test_deciding_criteria_of_a_necessary_item_are_its_met_criteria():
    item = _item("c", "r1", "medically_necessary",
                 [("A-1", "indication", "met"), ("A-2", "indication", "not_documented"),
                  ("A-3", "required", "met"), ("A-4", "required", "not_applicable")])
    assert deciding_criteria(item) == (MTUS + "A-1", MTUS + "A-3")
    assert deciding_criteria(_item("c", "r1", "not_covered", [])) == ()


def test_score_reasons_counts_stated_missed_and_added_criteria():
    run = EngineRun(items={"CM16-0228949": (_item("CM16-0228949", "r1", "not_medically_necessary",
                                                  [("CPMTG-PHYSMED-1", "required", "not_met"),
                                                   ("CPMTG-PHYSMED-2", "required", "not_documented")]),)},
                    failed=(), skipped=(), letters=1)
    labels = [{"case": "CM16-0228949", "service": "PT", "decision": "Upheld", "guideline_family": "MTUS CPMTG",
               "criterion_keys": ["PT_VISIT_CAP", "MUSCLE_RELAXANT_SHORT_TERM"],
               "reasons": [{"text": "8 more exceeds the 10-visit cap", "category": "quantity_exceeds"},
                           {"text": "no rationale given for the request", "category": "other"},
                           {"text": "no acute spasm documented", "category": "documentation_missing"}]}]
    data = score_reasons(run, labels).data
    (item,) = data["items"]
    assert [x["miss"] for x in item["reasons"]] == [None, "not_encoded", "not_in_section"]
    assert [x["stated"] for x in item["reasons"]] == [True, False, False]
    assert item["added"] == [{"criterion": MTUS + "CPMTG-PHYSMED-2", "number": 2, "label": "CPMTG-PHYSMED-2"}]
    total = data["halves"]["total"]
    assert total["recall"]["all"] == {"items": 1, "reasons": 3, "stated": 1, "recall": 0.3333,
                                      "missed": {"not_encoded": 1, "not_in_section": 1, "not_deciding": 0}}
    assert total["by_key"] == [{"name": "MUSCLE_RELAXANT_SHORT_TERM", "items": 1, "reasons": 1, "stated": 0,
                                "recall": 0.0, "criteria": 3},
                               {"name": "PT_VISIT_CAP", "items": 1, "reasons": 1, "stated": 1, "recall": 1.0,
                                "criteria": 2}]
    assert data["halves"]["write"]["recall"]["all"]["reasons"] == 3
    assert data["halves"]["check"]["recall"]["all"]["reasons"] == 0


def test_a_case_whose_item_count_differs_is_not_scored():
    run = EngineRun(items={"c": (_item("c", "r1", "not_covered", []),)}, failed=(), skipped=(), letters=1)
    data = score_reasons(run, [{"case": "c", "decision": "Upheld", "reasons": []}] * 2).data
    assert data["items"] == [] and data["cases_unmatched"] == [{"case": "c", "labelled": 2, "engine": 1}]


# ---------------------------------------------------------------------------
# Exact figures on three real letters
# ---------------------------------------------------------------------------
THREE = ["CM16-0213037.pdf", "CM17-0019120.pdf", "CM17-0004133.pdf"]


@pytest.fixture(scope="module")
def three() -> dict:
    if not REASONS.is_file():
        pytest.skip("shared/letters not present")
    return reason_recall(LETTERS, files=[LETTERS / n for n in THREE]).data


def test_three_letters_items_and_deciding_criteria(three):
    """By hand, from the engine's statuses:

    CM16-0213037 r1, shoulder MRI: indications 1-4 not documented (none met), 5 not met, 6 met: deciding
    1, 2, 3, 4 and 5.  r2, cervical MRI: indication 2 met, 5 not met: deciding 5 only.
    CM17-0019120 r1, PT: 1 met, 2 not documented: deciding 2.  r2, knee MRI (overturned, engine
    necessary): 2, 5 and 6 met (1 not: the letter's fracture is vertebral, not of the knee).
    CM17-0004133: r1 an office visit the engine finds necessary
    (the reviewer upheld), r2 home health services (not documented homebound: upheld, agreeing), r3
    not covered.
    """
    items = {(i["case"], i["request"]): i for i in three["items"]}
    assert len(items) == 7
    local = {k: [c.rsplit("/", 1)[-1] for c in i["deciding"]] for k, i in items.items()}
    assert local[("CM16-0213037", "r1")] == [f"ACOEM-SHOULDER-IMAGING-{n}" for n in (1, 2, 3, 4, 5)]
    assert local[("CM16-0213037", "r2")] == ["ACOEM-NECK-IMAGING-5"]
    assert local[("CM17-0019120", "r1")] == ["CPMTG-PHYSMED-2"]
    assert local[("CM17-0019120", "r2")] == [f"ACOEM-KNEE-IMAGING-{n}" for n in (2, 5, 6)]
    assert [(i["engine"], i["agree"]) for k, i in items.items() if k[0] == "CM17-0004133"] == [
        ("medically_necessary", False), ("not_medically_necessary", True), ("not_covered", False)]
    stated = {k: [x["stated"] for x in i["reasons"]] for k, i in items.items()}
    assert stated[("CM16-0213037", "r1")] == [True, True, True]      # surgery (4), red flag (1), nerve compromise (2)
    assert stated[("CM16-0213037", "r2")] == [False, False, False]   # 4, 1 and 2 assessed, none deciding
    assert [x["miss"] for x in items[("CM16-0213037", "r2")]["reasons"]] == ["not_deciding"] * 3
    assert stated[("CM17-0019120", "r1")] == [False]                 # visit count: criterion 1, met
    assert stated[("CM17-0019120", "r2")] == [True, True]            # conservative care (5), McMurray (2)
    assert [x["stated"] for x in items[("CM17-0004133", "r3")]["reasons"]] == [None, None]
    assert [x["miss"] for x in items[("CM17-0004133", "r2")]["reasons"]] == ["not_encoded", "not_encoded"]
    added = {k: [a["criterion"].rsplit("/", 1)[-1] for a in i["added"]] for k, i in items.items()}
    assert added[("CM16-0213037", "r1")] == ["ACOEM-SHOULDER-IMAGING-3", "ACOEM-SHOULDER-IMAGING-5"]
    assert added[("CM16-0213037", "r2")] == ["ACOEM-NECK-IMAGING-5"]
    assert added[("CM17-0019120", "r1")] == ["CPMTG-PHYSMED-2"]
    assert added[("CM17-0019120", "r2")] == ["ACOEM-KNEE-IMAGING-6"]


def test_three_letters_figures_by_half(three):
    h = three["halves"]
    assert three["split"]["letters_read"] == {"write": 1, "check": 2}
    dec = {k: {f: h[k]["decisions"][f] for f in ("letters", "items", "decided", "upheld", "overturned", "agreeing",
                                                 "balanced_accuracy", "upheld_recall", "overturn_recall")}
           for k in ("write", "check", "total")}
    assert dec == {
        "write": {"letters": 1, "items": 2, "decided": 2, "upheld": 1, "overturned": 1, "agreeing": 2,
                  "balanced_accuracy": 1.0, "upheld_recall": 1.0, "overturn_recall": 1.0},
        "check": {"letters": 2, "items": 5, "decided": 4, "upheld": 5, "overturned": 0, "agreeing": 3,
                  "balanced_accuracy": None, "upheld_recall": 0.75, "overturn_recall": None},
        "total": {"letters": 3, "items": 7, "decided": 6, "upheld": 6, "overturned": 1, "agreeing": 5,
                  "balanced_accuracy": 0.9, "upheld_recall": 0.8, "overturn_recall": 1.0}}
    rec = {k: {g: (h[k]["recall"][g]["stated"], h[k]["recall"][g]["reasons"], h[k]["recall"][g]["recall"])
               for g in ("all", "upheld", "overturned")} for k in ("write", "check", "total")}
    assert rec == {"write": {"all": (2, 3, 0.6667), "upheld": (0, 1, 0.0), "overturned": (2, 2, 1.0)},
                   "check": {"all": (3, 8, 0.375), "upheld": (3, 8, 0.375), "overturned": (0, 0, None)},
                   "total": {"all": (5, 11, 0.4545), "upheld": (3, 9, 0.3333), "overturned": (2, 2, 1.0)}}
    assert h["total"]["recall"]["all"]["missed"] == {"not_encoded": 2, "not_in_section": 0, "not_deciding": 4}
    assert {k: (h[k]["added"]["deciding"], h[k]["added"]["added"]) for k in ("write", "check", "total")} == {
        "write": (4, 2), "check": (7, 4), "total": (11, 6)}
    assert [(r["name"], r["stated"], r["reasons"]) for r in h["total"]["by_category"]] == [
        ("documentation_missing", 3, 6), ("indication_met", 2, 2), ("other", 0, 2), ("quantity_exceeds", 0, 1)]
    assert [(r["name"], r["stated"], r["reasons"]) for r in h["total"]["by_section"]] == [
        ("Neck and upper back: imaging (Special Studies)", 0, 3), ("Shoulder: imaging (Special Studies)", 3, 3),
        ("Home health services", 0, 2), ("Knee: imaging (Special Studies)", 2, 2), ("Physical medicine", 0, 1)]


def test_three_letters_text_and_json(three):
    from kg.jobs.reasons import ReasonReport

    report = ReasonReport(data=three)
    text = render_reasons(report)
    for heading in ("Decisions", "Reason recall", "By engine section", "By reason category", "By criterion key",
                    "Deciding criteria the engine adds", "Keys no criterion encodes"):
        assert heading in text
    recall_block = text.split("Reason recall")[1].split("By engine section")[0]
    assert [line.split()[0] for line in recall_block.splitlines()[2:5]] == ["write", "check", "total"]
    total_row = recall_block.splitlines()[4].split()
    assert total_row[:4] == ["total", "5", "5/11", "45.5%"]
    assert json.loads(report.to_json()) == three


def test_a_missing_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot read the reviewer reasons"):
        reason_recall(tmp_path / "nowhere")


# ---------------------------------------------------------------------------
# House rules for the new module
# ---------------------------------------------------------------------------
MODULE = ROOT / "kg" / "jobs" / "reasons.py"


def test_module_is_small_documented_and_imports_nothing_private():
    text = MODULE.read_text(encoding="utf-8")
    assert text.count("\n") <= 800
    tree = ast.parse(text)
    assert ast.get_docstring(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            if isinstance(node, ast.FunctionDef):
                assert node.end_lineno - node.lineno + 1 <= 100, node.name
            if not node.name.startswith("_") and node.col_offset == 0:
                assert ast.get_docstring(node), f"{node.name} has no docstring"
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kg"):
            assert not [a.name for a in node.names if a.name.startswith("_")]


def test_ruff_finds_nothing_in_the_new_files():
    files = [str(MODULE), str(ROOT / "bench" / "fidelity.py"), str(Path(__file__))]
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", *files], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
