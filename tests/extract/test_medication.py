"""Medication extraction: compound ingredients, course lengths, and facts added to a letter case."""

from __future__ import annotations

import doctest

import kg.extract.medication as med
from kg.engine.determine import determine_case
from kg.extract.case import extract_case
from kg.read.letter import LetterText, parse_letter

LETTER = ("CLINICAL CASE SUMMARY\nThe injured worker is a 70 year old male who sustained an industrial injury on "
          "1-2-16. Current medications include Norco and naproxen. He has been taking Norco for 6 months, which "
          "reduces his pain from 8/10 to 4/10 and improves his ability to walk. He denies side effects. A urine drug "
          "screen dated 9-1-16 was consistent. He reports GI upset with naproxen. On 11-10-16, utilization review "
          "determined the request was not medically necessary.\n\n"
          "IMR ISSUES, DECISIONS AND RATIONALES\n\nNorco 10/325mg #60: Upheld\n\n"
          "MAXIMUS guideline: Decision based on MTUS Opioid Treatment 2016, Section(s): 3.3.\n\n"
          "Decision rationale: Not medically necessary.\n\n"
          "Flurbiprofen 20%, Gabapentin 10%, Lidocaine 5% in cream base 240g: Upheld\n\n"
          "MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s): Topical "
          "analgesics.\n\n"
          "Decision rationale: Not medically necessary.\n")


def _case(letter: str = LETTER):
    lt = LetterText(letter, "mini-med.txt")
    return med.enrich(extract_case(lt, parse_letter(lt), enrichers=()))


def test_doctests():
    assert doctest.testmod(med).failed == 0


def test_compound_ingredients_and_request_fields():
    lc = _case()
    norco, cream = lc.case.requests
    assert (norco.service, norco.drug, norco.strength, norco.count) == ("opioid", "Norco", "10/325mg", 60)
    assert cream.service == "compounded_topical"
    assert cream.substances == ("gabapentin", "lidocaine_non_patch", "nsaid_other_than_diclofenac")


def test_opioid_duration_effect_and_monitoring():
    lc = _case()
    norco = next(t for t in lc.case.treatments if t.kind == "opioid")
    assert norco.days == 180
    assert norco.relief_percent == 50
    assert set(norco.outcomes) >= {"effective", "functional_improvement"}
    kinds = {(f.kind, f.status) for f in lc.case.findings if f.id.startswith("med-")}
    assert ("side_effect", "absent") in kinds
    assert ("dyspepsia", "present") in kinds
    assert ("drug_screen", "present") in kinds


def test_evidence_slices_the_letter():
    lc = _case()
    text = lc.text.text
    for group in (lc.case.findings, lc.case.treatments, lc.case.studies):
        for fact in group:
            for e in fact.evidence:
                assert " ".join(text[e.start:e.end].split()) == e.quote


def test_input_unchanged():
    lt = LetterText(LETTER, "mini-med.txt")
    base = extract_case(lt, parse_letter(lt), enrichers=())
    before = base.case
    med.enrich(base)
    assert base.case == before


LETTER2 = ("CLINICAL CASE SUMMARY\nThe injured worker is a 45 year old female who sustained an industrial injury on "
           "3-2-16. Treatment to date has included medications. She reports difficulty swallowing pills. On 11-10-16, "
           "utilization review denied the request for Flexeril due to long term use of muscle relaxants not being "
           "supported, and denied Fanatrex.\n\n"
           "IMR ISSUES, DECISIONS AND RATIONALES\n\nFlexeril 10mg #90: Upheld\n\n"
           "MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s): Muscle "
           "relaxants.\n\n"
           "Decision rationale: Not medically necessary.\n\n"
           "Fanatrex 25mg/ml oral suspension 420ml: Upheld\n\n"
           "MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s): Anti-epilepsy "
           "drugs.\n\n"
           "Decision rationale: Not medically necessary.\n")


def test_dosage_form_of_oral_drug_requests():
    flexeril, fanatrex = _case(LETTER2).case.requests
    assert (flexeril.service, flexeril.form) == ("muscle_relaxant", None)
    assert (fanatrex.service, fanatrex.form) == ("anticonvulsant", "oral_liquid")


def test_oral_intolerance_finding_with_its_quote():
    lc = _case(LETTER2)
    found = [(f.kind, f.status, f.label) for f in lc.case.findings if f.kind == "oral_intolerance"]
    assert found == [("oral_intolerance", "present", "difficulty swallowing")]
    f = next(f for f in lc.case.findings if f.kind == "oral_intolerance")
    assert f.evidence[0].quote == "She reports difficulty swallowing pills."


def test_ongoing_use_read_from_the_review_of_the_request():
    lc = _case(LETTER2)
    ongoing = [(t.kind, t.label, t.days, t.outcomes) for t in lc.case.treatments if t.id.startswith("med-")]
    assert ongoing == [("muscle_relaxant", "Flexeril", None, ())]
    t = next(t for t in lc.case.treatments if t.kind == "muscle_relaxant")
    assert t.evidence[0].quote.startswith("On 11-10-16, utilization review denied the request for Flexeril")
    text = lc.text.text
    assert " ".join(text[t.evidence[0].start:t.evidence[0].end].split()) == t.evidence[0].quote


def test_no_ongoing_use_without_continuation_words():
    letter = LETTER2.replace("due to long term use of muscle relaxants not being supported", "as not indicated")
    lt = LetterText(letter, "mini-med3.txt")
    lc = med.enrich(extract_case(lt, parse_letter(lt), enrichers=()))
    assert not [t for t in lc.case.treatments if t.kind == "muscle_relaxant"]


LETTER_REFILLS = ("CLINICAL CASE SUMMARY\nThe injured worker is a 41 year old male injured on 10-11-16. He complains "
                  "of low back pain. Treatment has included physical therapy and medication. On 12-27-16, "
                  "utilization review modified the request. Ibuprofen 600mg #90 was authorized by the Claims "
                  "Administrator.\n\n"
                  "IMR ISSUES, DECISIONS AND RATIONALES\n\n"
                  "Ibuprofen 600mg #90 with 2 refills was the original request. Ibuprofen 600mg #90 was authorized "
                  "by the Claims Administrator. The remaining IMR eligible portion of the original request, Two "
                  "refills of Ibuprofen 600mg #90 is: Upheld\n\n"
                  "MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s): NSAIDs."
                  "\n\nDecision rationale: Not medically necessary.\n")


def test_refills_after_an_authorised_supply_continue_it():
    lc = _case(LETTER_REFILLS)
    supply = [(t.kind, t.label, t.days, t.outcomes) for t in lc.case.treatments if t.id.startswith("med-")]
    assert supply == [("nsaid", "Ibuprofen", None, ())]
    quote = next(t for t in lc.case.treatments if t.id.startswith("med-")).evidence[0].quote
    assert quote == "Ibuprofen 600mg #90 was authorized by the Claims Administrator."  # from the summary
    item = determine_case(lc.case).items[0]
    status = {a.number: a.status for a in item.assessments}
    assert (status[1], status[2]) == ("met", "not_documented")  # benefit of the authorised supply not shown
    assert item.conclusion == "not_medically_necessary"


def test_a_whole_request_with_refills_is_not_a_continuation():
    letter = LETTER_REFILLS.replace(
        "Ibuprofen 600mg #90 with 2 refills was the original request. Ibuprofen 600mg #90 was authorized "
        "by the Claims Administrator. The remaining IMR eligible portion of the original request, Two "
        "refills of Ibuprofen 600mg #90 is: Upheld", "Ibuprofen 600mg #90 with 2 refills: Upheld")
    lc = _case(letter)
    assert not [t for t in lc.case.treatments if t.id.startswith("med-")]
    status = {a.number: a.status for a in determine_case(lc.case).items[0].assessments}
    assert status[2] == "not_applicable"


def test_refills_are_no_continuation_unless_the_summary_says_the_supply_was_authorised():
    lc = _case(LETTER_REFILLS.replace(" Ibuprofen 600mg #90 was authorized by the Claims Administrator.\n", "\n"))
    assert not [t for t in lc.case.treatments if t.id.startswith("med-")]
    assert {a.number: a.status for a in determine_case(lc.case).items[0].assessments}[2] == "not_applicable"


LETTER_MR = ("CLINICAL CASE SUMMARY\nThe injured worker is a 45 year old female who sustained an industrial injury on "
             "9-2-16. On 10-20-16 she reported a flare-up of low back pain with muscle spasm. On 11-10-16, utilization "
             "review denied the requests.\n\n"
             "IMR ISSUES, DECISIONS AND RATIONALES\n\nLorzone 750mg one by mouth three times a day #45: Upheld\n\n"
             "MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s): Muscle "
             "relaxants.\n\nDecision rationale: Not medically necessary.\n\n"
             "Cyclobenzaprine 7.5mg, one twice a day #60 with one refill: Upheld\n\n"
             "MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s): Muscle "
             "relaxants.\n\nDecision rationale: Not medically necessary.\n\n"
             "Flexeril 10mg #90: Upheld\n\n"
             "MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s): Muscle "
             "relaxants.\n\nDecision rationale: Not medically necessary.\n")


def test_the_days_a_requested_count_lasts_decide_the_short_course():
    # 45 tablets at three a day last 15 days; 60 and a refill at two a day, 60 days; "#90" alone, unknown
    lc = _case(LETTER_MR)
    assert [(r.count, r.days) for r in lc.case.requests] == [(45, 15), (60, 60), (90, None)]
    det = determine_case(lc.case)
    short = [next(a.status for a in i.assessments if a.criterion.endswith("/CPMTG-MR-6")) for i in det.items]
    assert short == ["met", "not_met", "not_documented"]


LETTER_AMOUNTS = ("CLINICAL CASE SUMMARY\nThe injured worker is a 50 year old male who sustained an industrial "
                  "injury on 1-2-16. He reports low back pain. On 11-10-16, utilization review determined the "
                  "requests were not medically necessary.\n\n"
                  "IMR ISSUES, DECISIONS AND RATIONALES\n\n"
                  "Ketoprofen 20% in cream base 240g: Upheld\n\n"
                  "MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s): Topical "
                  "analgesics.\n\nDecision rationale: Not medically necessary.\n\n"
                  "Tabradol 1mg/ml oral suspension: Upheld\n\n"
                  "MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s): Muscle "
                  "relaxants.\n\nDecision rationale: Not medically necessary.\n\n"
                  "Tabradol (unknown quantity): Upheld\n\n"
                  "MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s): Muscle "
                  "relaxants.\n\nDecision rationale: Not medically necessary.\n\n"
                  "Cyclobenzaprine 7.5mg #20: Upheld\n\n"
                  "MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s): Muscle "
                  "relaxants.\n\nDecision rationale: Not medically necessary.\n")


def test_a_request_without_a_count_keeps_its_amount_and_the_request_criterion_reads_both():
    # a weight after the strength is the amount ("240g"); a volume inside a strength ("1mg/ml") is not; with a
    # count there is no amount; "(unknown quantity)" names neither strength nor quantity
    lc = _case(LETTER_AMOUNTS)
    assert [(r.strength, r.count, r.amount) for r in lc.case.requests] == [
        ("20%", None, "240g"), ("1mg/ml", None, None), (None, None, None), ("7.5mg", 20, None)]
    det = determine_case(lc.case)
    last = {"CPMTG-TOPICAL-5", "CPMTG-MR-7"}
    statuses = [next(a.status for a in i.assessments if a.criterion.rsplit("/", 1)[-1] in last) for i in det.items]
    assert statuses == ["met", "not_documented", "not_documented", "met"]


def test_a_baclofen_request_is_typed_baclofen_and_judged_on_its_own_indication():
    letter = LETTER.replace("Norco 10/325mg #60: Upheld", "Baclofen 10mg #30: Upheld").replace(
        "Section(s): 3.3.", "Section(s): Muscle relaxants.")
    lc = _case(letter)
    baclofen, cream = lc.case.requests
    assert (baclofen.service, baclofen.drug, baclofen.strength, baclofen.count) == ("baclofen", "Baclofen", "10mg", 30)
    assert cream.service == "compounded_topical"
    item = determine_case(lc.case).items[0]
    status = {a.criterion.rsplit("/", 1)[-1]: a.status for a in item.assessments}
    # no multiple sclerosis, spinal cord injury or trigeminal neuralgia in this summary
    assert status["CPMTG-MR-8"] == "not_documented"
    assert status["CPMTG-MR-3"] == "met"
    assert item.conclusion == "not_medically_necessary"
