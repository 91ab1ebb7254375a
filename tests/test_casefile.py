"""Case files: the documented format reads into CaseData; bad files name file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kg.casefile import load_case_file
from kg.errors import CaseFileError

from casepaths import MET_CASE, SEED_CASE

GOOD = """\
case: c1
requests:
  - id: r1
    service: trigger_point_injection
    text: TPI x2
    injections: 2
    date: 2015-03-04
"""


def write(tmp_path: Path, text: str, name: str = "case.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_seed_case_reads_with_offsets_checked_against_the_letter():
    case = load_case_file(SEED_CASE)
    assert case.case_id == "seed-tpi-2015"
    assert [d.kind for d in case.diagnoses] == ["headache", "facet_syndrome", "disc_disorder", "radiculitis"]
    sens = next(f for f in case.findings if f.id == "f-sensation-c3-c4")
    assert (sens.kind, sens.status) == ("dermatomal_sensory_deficit", "present")
    (ev,) = sens.evidence
    assert ev.document == "seed-letter"
    letter = (SEED_CASE.parent.parent.parent / "shared" / "letters" / "seed-trigger-point-2015.txt").read_text()
    assert " ".join(letter[ev.start:ev.end].split()) == ev.quote  # the span crosses a line break


def test_good_minimal_yaml_and_the_same_as_json(tmp_path):
    from_yaml = load_case_file(write(tmp_path, GOOD))
    data = {"case": "c1", "requests": [{"id": "r1", "service": "trigger_point_injection", "text": "TPI x2",
                                        "injections": 2, "date": "2015-03-04"}]}
    from_json = load_case_file(write(tmp_path, json.dumps(data), "case.json"))
    assert from_yaml.requests == from_json.requests
    assert from_yaml.requests[0].date.isoformat() == "2015-03-04"


@pytest.mark.parametrize("text,line,field,words", [
    (GOOD.replace("    text: TPI x2\n", "    text: TPI x2\n    colour: red\n"), 6, "requests[0].colour",
     "unknown field 'colour'"),
    (GOOD.replace("    service: trigger_point_injection\n", "    service: magic_wand\n"), 4, "requests[0].service",
     "'magic_wand' is not a known service"),
    (GOOD.replace("2015-03-04", "yesterday"), 7, "requests[0].date", "'yesterday' is not a date"),
    (GOOD.replace("    injections: 2\n", "    injections: many\n"), 6, "requests[0].injections",
     "expected a whole number"),
    (GOOD.replace("    text: TPI x2\n", ""), 3, "requests[0].text", "required field 'text' is missing"),
    ("case: c1\n", 1, "requests", "required field 'requests' is missing"),
    (GOOD + "  - id: r1\n    service: trigger_point_injection\n    text: again\n", 8, "requests[1].id",
     "id 'r1' is used twice"),
    (GOOD.replace("case: c1", "case: c1\ncase: c2"), 2, None, "'case' is given twice"),
    ("case: c1\nrequests: [\n", 3, None, "not valid YAML/JSON"),
    ("case: c1\nrequests:\n  - id: r1\n   service: x\n", 4, None, "not valid YAML/JSON"),
    (GOOD + "findings:\n  - id: f1\n    kind: trigger_point\n    status: maybe\n", 11, "findings[0].status",
     "'maybe' is not a known status"),
    (GOOD + "findings:\n  - id: f1\n    kind: trigger_point\n    status: present\n    study: mri-1\n", 12,
     "findings[0].study", "unknown study 'mri-1'"),
    (GOOD + "findings:\n  - id: f1\n    kind: trigger_point\n    status: present\n"
            "    evidence: {document: nowhere, quote: x}\n", 12, "findings[0].evidence.document",
     "unknown document 'nowhere'"),
])
def test_bad_case_files_name_line_and_field(tmp_path, text, line, field, words):
    path = write(tmp_path, text)
    with pytest.raises(CaseFileError) as info:
        load_case_file(path)
    err = info.value
    assert err.source == str(path)
    assert err.line == line, str(err)
    assert err.field == field, str(err)
    assert words in err.problem, str(err)
    assert str(path) in str(err)


def test_quote_not_in_the_cited_document(tmp_path):
    (tmp_path / "note.txt").write_text("Patient reports neck pain since\nMarch.", encoding="utf-8")
    text = ("case: c1\ndocuments:\n  - id: note\n    path: note.txt\nsymptoms:\n  - id: s1\n    label: neck pain\n"
            "    evidence: {document: note, quote: back pain}\n" + GOOD.split("\n", 1)[1])
    with pytest.raises(CaseFileError) as info:
        load_case_file(write(tmp_path, text))
    assert info.value.line == 8 and info.value.field == "symptoms[0].evidence.quote"
    ok = load_case_file(write(tmp_path, text.replace("back pain", "neck pain since March")))
    (ev,) = ok.symptoms[0].evidence
    assert (ev.start, ev.end) == (16, 37)


def test_missing_document_file(tmp_path):
    text = "case: c1\ndocuments:\n  - id: note\n    path: gone.txt\n" + GOOD.split("\n", 1)[1]
    with pytest.raises(CaseFileError) as info:
        load_case_file(write(tmp_path, text))
    assert info.value.line == 4 and "gone.txt" in info.value.problem


def test_empty_missing_and_binary_files(tmp_path):
    with pytest.raises(CaseFileError, match="the file is empty"):
        load_case_file(write(tmp_path, "  \n"))
    with pytest.raises(CaseFileError, match="cannot read the file"):
        load_case_file(tmp_path / "absent.yaml")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"case: c1\n\xff\xfe\x00junk")
    with pytest.raises(CaseFileError) as info:
        load_case_file(binary)
    assert info.value.line == 2 and "not UTF-8" in info.value.problem


def test_top_level_must_be_a_mapping(tmp_path):
    with pytest.raises(CaseFileError, match="expected a mapping"):
        load_case_file(write(tmp_path, "- just\n- a list\n"))


def test_example_cases_are_valid():
    assert load_case_file(MET_CASE).requests[0].injections == 3
