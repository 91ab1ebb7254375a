"""Case files: the documented format reads into CaseData; bad files name file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from casepaths import LETTERS, MET_CASE, SEED_CASE, needs_letters

from kg.errors import CaseFileError
from kg.read.casefile import load_case_file

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


@needs_letters
def test_seed_case_reads_with_offsets_checked_against_the_letter():
    case = load_case_file(SEED_CASE)
    assert case.case_id == "seed-tpi-2015"
    assert [d.kind for d in case.diagnoses] == ["headache", "facet_syndrome", "disc_disorder", "radiculitis"]
    sens = next(f for f in case.findings if f.id == "f-sensation-c3-c4")
    assert (sens.kind, sens.status) == ("dermatomal_sensory_deficit", "present")
    (ev,) = sens.evidence
    assert ev.document == "seed-letter"
    letter = (LETTERS / "seed-trigger-point-2015.txt").read_text()
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


# ---------------------------------------------------------------------------------------------
# Untrusted sizes: a case file over the cap is refused before it is parsed, and only a regular file
# is read. Each refusal names the case file and what to change; the CLI exits 2 with that message.
# (Documents a case file names: tests/read/test_documents.py.)
# ---------------------------------------------------------------------------------------------
import os  # noqa: E402
import time  # noqa: E402

from kg.cli import main  # noqa: E402
from kg.read import casefile  # noqa: E402


def refusal(path: Path, **kwargs) -> CaseFileError:
    with pytest.raises(CaseFileError) as info:
        load_case_file(path, **kwargs)
    return info.value


def assert_cli_exits_2_with(case: Path, message: str, capsys) -> None:
    assert main(["determine", str(case)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"imrkg: error: {message}" in captured.err


def test_a_case_file_over_the_cap_is_refused_before_parsing(tmp_path, capsys):
    big = tmp_path / "big.yaml"
    flow = "case: c1\nrequests: [" + "x, " * (casefile.MAX_CASE_FILE_BYTES // 3) + "]\n"  # PyYAML: ~30 s
    big.write_text(flow, encoding="utf-8")
    start = time.monotonic()
    err = refusal(big)
    assert time.monotonic() - start < 15  # a hang guard: parsing it would take PyYAML ~30 s
    assert (err.source, err.line, err.field) == (str(big), None, None)
    assert err.problem == f"the file is {len(flow.encode()) / 2**20:.1f} MB, more than the 2.0 MB allowed"
    assert "quote less text, or split it" in err.hint
    assert_cli_exits_2_with(big, str(err), capsys)


def test_a_case_file_at_the_cap_is_parsed(tmp_path):
    text = GOOD.replace("title", "x") + "title: " + "x" * (casefile.MAX_CASE_FILE_BYTES - len(GOOD) - 8) + "\n"
    assert len(text.encode()) == casefile.MAX_CASE_FILE_BYTES
    assert load_case_file(write(tmp_path, text)).title.startswith("xxx")


def test_a_case_file_that_is_a_fifo_or_folder_is_refused_without_hanging(tmp_path, capsys):
    fifo = tmp_path / "case.yaml"
    os.mkfifo(fifo)
    start = time.monotonic()
    err = refusal(fifo)
    assert time.monotonic() - start < 5
    assert (err.source, err.problem) == (str(fifo), "not a regular file: it is a FIFO (named pipe)")
    assert_cli_exits_2_with(fifo, f"{fifo}: not a regular file: it is a FIFO (named pipe)", capsys)
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    assert refusal(folder).problem == "not a regular file: it is a folder"
