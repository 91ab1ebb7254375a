"""Case files: the documented format reads into CaseData; bad files name file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kg.read.casefile import load_case_file
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


# ---------------------------------------------------------------------------------------------
# Untrusted paths and sizes: documents only from the case folder (or an allowed one), regular
# files only, size caps checked before reading or parsing. Each refusal names the case file, the
# line and field of the path, and what to change; the CLI exits 2 with that message.
# ---------------------------------------------------------------------------------------------
import os  # noqa: E402
from dataclasses import replace  # noqa: E402
import time  # noqa: E402

from kg.read import casefile  # noqa: E402
from kg.cli import main  # noqa: E402

from casepaths import LETTERS  # noqa: E402

NOTE = "Patient reports neck pain since\nMarch."
REST = GOOD.split("\n", 1)[1]


def case_with_document(folder: Path, doc_path: str, *, quote: str | None = None, name: str = "case.yaml") -> Path:
    """A case whose one document (line 4: its path) is ``doc_path``, optionally quoted."""
    text = f"case: c1\ndocuments:\n  - id: note\n    path: {json.dumps(doc_path)}\n"
    if quote is not None:
        text += f"symptoms:\n  - id: s1\n    label: neck pain\n    evidence: {{document: note, quote: {quote}}}\n"
    return write(folder, text + REST, name)


def refusal(path: Path, **kwargs) -> CaseFileError:
    with pytest.raises(CaseFileError) as info:
        load_case_file(path, **kwargs)
    return info.value


def assert_names_path_field(err: CaseFileError, case: Path, words: str) -> None:
    assert err.source == str(case)
    assert (err.line, err.field) == (4, "documents[0].path"), str(err)
    assert words in err.problem, str(err)
    assert err.hint
    assert str(err).startswith(f"{case}, line 4, field 'documents[0].path': ")


def assert_cli_exits_2_with(case: Path, message: str, capsys) -> None:
    assert main(["determine", str(case)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"imrkg: error: {message}" in captured.err


@pytest.fixture
def case_dir(tmp_path: Path) -> Path:
    """``tmp_path/cases`` holding ``note.txt`` and ``letters/note.txt``; ``tmp_path/secret.txt`` is outside."""
    folder = tmp_path / "cases"
    (folder / "letters").mkdir(parents=True)
    (folder / "note.txt").write_text(NOTE, encoding="utf-8")
    (folder / "letters" / "note.txt").write_text(NOTE, encoding="utf-8")
    (tmp_path / "secret.txt").write_text("neck pain since March", encoding="utf-8")
    return folder


@pytest.mark.parametrize("doc_path", ["note.txt", "letters/note.txt", "./letters/../note.txt",
                                      "../cases/letters/note.txt"])
def test_documents_in_the_case_folder_or_below_are_read(case_dir, doc_path):
    case = load_case_file(case_with_document(case_dir, doc_path, quote="neck pain since March"))
    (ev,) = case.symptoms[0].evidence
    assert (ev.start, ev.end) == (16, 37)
    assert case.documents[0].file_name == "note.txt"


def test_an_absolute_path_inside_the_case_folder_is_read(case_dir):
    load_case_file(case_with_document(case_dir, str(case_dir / "note.txt"), quote="neck pain"))


@pytest.mark.parametrize("doc_path,words", [
    ("../secret.txt", "document file '../secret.txt' is outside the folders documents may be read from"),
    ("letters/../../secret.txt", "is outside the folders documents may be read from"),
    ("/etc/passwd", "document file '/etc/passwd' is outside the folders documents may be read from"),
    ("/dev/zero", "document file '/dev/zero' is outside the folders documents may be read from"),
    ("../../../../../../../../etc/hostname", "is outside the folders documents may be read from"),
])
def test_documents_outside_the_case_folder_are_refused(case_dir, doc_path, words, capsys):
    case = case_with_document(case_dir, doc_path, quote="neck pain")
    err = refusal(case)
    assert_names_path_field(err, case, words)
    assert str(case_dir.resolve()) in err.hint and casefile.DOCUMENT_ROOTS_ENV in err.hint
    assert_cli_exits_2_with(case, str(err), capsys)


def test_a_symlink_is_judged_by_where_it_leads(case_dir, capsys):
    (case_dir / "inside.txt").symlink_to(case_dir / "letters" / "note.txt")
    load_case_file(case_with_document(case_dir, "inside.txt", quote="neck pain"))
    (case_dir / "outside.txt").symlink_to(case_dir.parent / "secret.txt")
    case = case_with_document(case_dir, "outside.txt", quote="neck pain")
    err = refusal(case)
    real = (case_dir.parent / "secret.txt").resolve()
    assert_names_path_field(err, case, f"document file 'outside.txt' resolves to {real}, outside the folders")
    (case_dir / "up").symlink_to(case_dir.parent)  # a linked folder: what is under it is outside too
    err = refusal(case_with_document(case_dir, "up/secret.txt"))
    assert "resolves to" in err.problem and "outside the folders" in err.problem
    assert_cli_exits_2_with(case, str(refusal(case)), capsys)


def test_a_symlink_loop_is_refused(case_dir):
    (case_dir / "loop.txt").symlink_to(case_dir / "loop.txt")
    case = case_with_document(case_dir, "loop.txt")
    err = refusal(case)
    assert err.line == 4 and err.field == "documents[0].path" and "loop.txt" in err.problem


def test_an_allowed_root_admits_documents_outside_the_case_folder(case_dir, monkeypatch):
    case = case_with_document(case_dir, "../secret.txt", quote="neck pain since March")
    refusal(case)
    assert load_case_file(case, document_roots=[case_dir.parent]).symptoms[0].evidence[0].start == 0
    monkeypatch.setenv(casefile.DOCUMENT_ROOTS_ENV, os.pathsep.join(["", "/nonexistent", str(case_dir.parent)]))
    assert load_case_file(case).symptoms[0].evidence[0].start == 0
    monkeypatch.setenv(casefile.DOCUMENT_ROOTS_ENV, "")  # set but empty: the case folder only
    refusal(case)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
@pytest.mark.parametrize("doc_path,kind", [("/dev/zero", "a device"), ("/dev/null", "a device"),
                                           ("/dev", "a folder")])
def test_devices_and_folders_are_refused_even_inside_an_allowed_root(tmp_path, doc_path, kind, capsys):
    case = case_with_document(tmp_path, doc_path)
    start = time.monotonic()
    err = refusal(case, document_roots=["/dev", "/"])
    assert time.monotonic() - start < 5
    assert_names_path_field(err, case, f"document file '{doc_path}': not a regular file: it is {kind}")


def test_a_fifo_or_folder_in_the_case_folder_is_refused_without_hanging(case_dir, capsys):
    os.mkfifo(case_dir / "pipe.txt")  # nobody writes to it: opening it for reading would block
    case = case_with_document(case_dir, "pipe.txt", quote="neck pain")
    start = time.monotonic()
    err = refusal(case)
    assert time.monotonic() - start < 5
    assert_names_path_field(err, case, "document file 'pipe.txt': not a regular file: it is a FIFO (named pipe)")
    assert_cli_exits_2_with(case, str(err), capsys)
    case = case_with_document(case_dir, "letters")
    assert_names_path_field(refusal(case), case, "document file 'letters': not a regular file: it is a folder")


def test_a_nul_in_a_document_path_is_refused(case_dir):
    case = case_with_document(case_dir, "note\x00.txt")
    assert_names_path_field(refusal(case), case, "the document path holds a NUL character")


def test_a_document_over_the_cap_is_refused_before_it_is_read(case_dir, capsys):
    big = case_dir / "big.txt"
    with big.open("wb") as fh:  # sparse: no disk space used
        fh.truncate(casefile.MAX_DOCUMENT_BYTES + 1)
    case = case_with_document(case_dir, "big.txt", quote="neck pain")
    err = refusal(case)
    assert_names_path_field(err, case, "document file 'big.txt': the file is 20.0 MB, more than the 20.0 MB allowed")
    assert_cli_exits_2_with(case, str(err), capsys)
    with big.open("r+b") as fh:  # exactly at the cap is read (and then judged as text)
        fh.truncate(casefile.MAX_DOCUMENT_BYTES)
    with pytest.raises(CaseFileError, match="not in document 'note'"):
        load_case_file(case)


def test_a_document_that_grows_past_the_cap_while_read_is_refused(case_dir, monkeypatch):
    monkeypatch.setattr(casefile, "MAX_DOCUMENT_BYTES", 10)
    (case_dir / "proc.txt").write_text("x" * 11, encoding="utf-8")
    real_fstat = os.fstat

    def fstat_saying_empty(fd):  # a file that reports a size smaller than it has, as /proc files do
        info = real_fstat(fd)
        return os.stat_result((info.st_mode, info.st_ino, info.st_dev, info.st_nlink, info.st_uid, info.st_gid,
                               0, info.st_atime, info.st_mtime, info.st_ctime))

    monkeypatch.setattr(casefile.os, "fstat", fstat_saying_empty)
    case = case_with_document(case_dir, "proc.txt")
    assert_names_path_field(refusal(case), case, "document file 'proc.txt': the file is more than the 10 bytes allowed")


def test_a_document_that_is_not_utf8_is_refused(case_dir):
    (case_dir / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    case = case_with_document(case_dir, "latin1.txt")
    assert_names_path_field(refusal(case), case, "cannot read document file 'latin1.txt': not UTF-8 text (byte 3)")


def test_crlf_documents_keep_the_offsets_of_reading_in_text_mode(case_dir):
    (case_dir / "crlf.txt").write_bytes(NOTE.replace("\n", "\r\n").encode())
    (ev,) = load_case_file(case_with_document(case_dir, "crlf.txt", quote="neck pain since March")
                           ).symptoms[0].evidence
    assert (ev.start, ev.end) == (16, 37)


@pytest.mark.skipif(not (LETTERS / "seed-trigger-point-2015.txt").is_file(), reason="shared/letters not present")
def test_only_the_shipped_examples_reach_the_letters_beside_the_checkout(tmp_path, monkeypatch, capsys):
    """The seed example quotes ../shared/letters beside the checkout (the project's layout); the same
    case file anywhere else may not, until the letters folder is allowed."""
    assert load_case_file(SEED_CASE).documents[0].file_name == "seed-trigger-point-2015.txt"
    letter = LETTERS / "seed-trigger-point-2015.txt"
    (tmp_path / "linked.txt").symlink_to(letter)
    text = SEED_CASE.read_text(encoding="utf-8")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "path:" in row)
    copies = []
    for name, doc_path in (("absolute.yaml", str(letter)), ("linked.yaml", "linked.txt")):
        copy = write(tmp_path, text.replace("../../shared/letters/seed-trigger-point-2015.txt", doc_path), name)
        err = refusal(copy)
        assert (err.source, err.line, err.field) == (str(copy), line, "documents[0].path")
        assert "outside the folders documents may be read from" in err.problem
        assert_cli_exits_2_with(copy, str(err), capsys)
        copies.append(copy)
    monkeypatch.setenv(casefile.DOCUMENT_ROOTS_ENV, str(LETTERS))
    seed = load_case_file(SEED_CASE)
    for copy in copies:  # the same facts and offsets (only the source and a linked file's name differ)
        assert replace(load_case_file(copy), source=seed.source, documents=seed.documents) == seed
    assert main(["determine", str(copies[0]), "--format", "json"]) == 1


def test_a_case_file_over_the_cap_is_refused_before_parsing(tmp_path, capsys):
    big = tmp_path / "big.yaml"
    flow = "case: c1\nrequests: [" + "x, " * (casefile.MAX_CASE_FILE_BYTES // 3) + "]\n"  # PyYAML: ~30 s
    big.write_text(flow, encoding="utf-8")
    start = time.monotonic()
    err = refusal(big)
    assert time.monotonic() - start < 2
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
