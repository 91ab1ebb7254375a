"""The catalogue and checklist commands, generated from the shapes."""

from __future__ import annotations

import datetime as dt
import json

from casepaths import ROOT

from kg.cli import main
from kg.engine.guidelines import catalogue, checklist
from kg.engine.validate import load_shapes


def test_catalogue_lists_sections_versions_and_criteria():
    tpi = next(s for s in catalogue() if s.iri == "https://w3id.org/imr-kg/mtus/CPMTG-TPI")
    assert [v.iri.rsplit("/", 1)[-1] for v in tpi.versions] == ["CPMTG-2009", "CPMTG-2016"]
    assert [c.number for c in tpi.criteria] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert tpi.versions[0].in_force(dt.date(2015, 8, 20)) and not tpi.versions[0].in_force(dt.date(2016, 8, 1))


def test_checklist_picks_the_version_by_date():
    early = checklist("trigger_point_injection", day=dt.date(2016, 1, 1))
    late = checklist("trigger_point_injection", day=dt.date(2016, 9, 1))
    assert early.version.iri.endswith("CPMTG-2009") and late.version.iri.endswith("CPMTG-2016")
    text = late.render().splitlines()
    assert text[1] == ('Guideline: MTUS Chronic Pain Medical Treatment Guidelines (2016), section "Trigger point '
                       'injections".')
    assert len([line for line in text if line.startswith("[ ] ")]) == 8
    assert text[7].endswith("(only for a request for repeat trigger point injections)")
    none = checklist("trigger_point_injection", day=dt.date(2019, 1, 1))
    assert none.section is None and "was in force on 2019-01-01" in none.note


def test_a_checklist_of_exclusions_only_says_no_record_shows_the_service_necessary():
    text = checklist("butalbital_combination", day=dt.date(2016, 12, 1)).render().splitlines()
    assert text[1] == ('Guideline: MTUS Chronic Pain Medical Treatment Guidelines (2016), section '
                       '"Barbiturate-containing analgesic agents".')
    assert text[2].startswith("[ ] 1. Barbiturate-containing analgesics are not recommended for chronic pain")
    assert text[3].startswith("[ ] 2. The request names the drug's strength and how much of it is asked for")
    assert text[4] == ("Every criterion of this section only excludes uses the guideline advises against and it states "
                       "no indication, so no record shows this service medically necessary under it.")
    mr = [c.role for c in next(s for s in catalogue() if s.iri.endswith("/CPMTG-MR")).criteria]
    assert mr == ["required", "exclusion", "exclusion", "required", "required", "exclusion", "exclusion", "required"]


def test_checklist_follows_a_users_own_section():
    shapes = load_shapes(ROOT / "tests" / "data" / "shapes")
    result = checklist("arthroscopic_surgery", day=dt.date(2016, 3, 1), shapes=shapes)
    assert result.section.iri == "https://example.org/payer-rules/Arthroscopy"
    assert result.render().splitlines()[-1] == "[ ] 1. A course of physical therapy has failed."


def test_cli_guidelines_and_checklist(capsys):
    assert main(["guidelines", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {d["section"].rsplit("/", 1)[-1] for d in doc} >= {"CPMTG-TPI", "REVIEW-ANCILLARY"}
    assert main(["checklist", "trigger_point_injection", "--date", "2016-09-01"]) == 0
    assert "[ ] 8. The injectate is a local anaesthetic" in capsys.readouterr().out
    assert main(["checklist", "trigger_point_injection", "--date", "2030-01-01"]) == 1
    assert main(["checklist", "magic_wand"]) == 2
    assert "'magic_wand' is not a known service" in capsys.readouterr().err
    assert main(["checklist", "trigger_point_injection", "--date", "soon"]) == 2


def test_checklist_without_a_section_names_the_sections_written_for_the_service():
    from kg.engine.guidelines import checklist as make

    note = make("xray", day=dt.date(2017, 1, 5)).note
    assert '"Knee: imaging (Special Studies)" (only for knee)' in note
    assert '"Hip, pelvis and head: imaging (outside the MTUS)" (only for head, hip)' in note
    assert make("prp_injection", day=dt.date(2017, 1, 5), region="elbow").note == (
        "No encoded guideline section applies to this service. Sections written for this kind of service: "
        "\"Knee: platelet-rich plasma injections (outside the MTUS)\" (only for knee).")
    knee = make("prp_injection", day=dt.date(2017, 1, 5), region="knee")
    assert knee.section is not None and knee.section.iri.endswith("/ODG-KNEE-PRP")
    assert knee.section.kind == "outside the MTUS"
    assert make("transportation", day=dt.date(2017, 1, 5)).note == (
        "No encoded guideline section applies to this service (some sections apply only to a body region: "
        "try --region).")


def test_guidelines_command_shows_the_kind_and_source(capsys):
    assert main(["guidelines"]) == 0
    out = capsys.readouterr().out
    assert ("Neck: cervical pillow (outside the MTUS)  [https://w3id.org/imr-kg/mtus/ODG-PILLOW]\n"
            "  kind: outside the MTUS, Official Disability Guidelines (ODG), Work Loss Data Institute\n") in out
    assert "Transcutaneous electrotherapy (TENS)  [https://w3id.org/imr-kg/mtus/CPMTG-TENS]\n  kind: MTUS\n" in out
    assert main(["guidelines", "--format", "json"]) == 0
    doc = {d["section"].rsplit("/", 1)[-1]: d for d in json.loads(capsys.readouterr().out)}
    assert (doc["ODG-DME"]["kind"], doc["CPMTG-FRP"]["kind"]) == ("outside the MTUS", "MTUS")
    assert doc["ODG-DME"]["evidence_step"].startswith("Labor Code 4610.5(c)(2)")
