"""Documents a case file names: read only from inside the document roots, only regular files, under
the size cap; each refusal names the case file, the line and field of the path, and what to change,
and the CLI exits 2 with that message."""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from pathlib import Path

import pytest
from casepaths import LETTERS, SEED_CASE, needs_letters

from kg.cli import main
from kg.errors import CaseFileError
from kg.read import documents
from kg.read.casefile import load_case_file
from kg.read.documents import (
    DocumentRefused,
    Documents,
    Refused,
    document_roots,
    read_regular_file,
)

REST = """\
requests:
  - id: r1
    service: trigger_point_injection
    text: TPI x2
    injections: 2
    date: 2015-03-04
"""
NOTE = "Patient reports neck pain since\nMarch."


def write(folder: Path, text: str, name: str = "case.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


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
    assert str(case_dir.resolve()) in err.hint and documents.DOCUMENT_ROOTS_ENV in err.hint
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
    monkeypatch.setenv(documents.DOCUMENT_ROOTS_ENV, os.pathsep.join(["", "/nonexistent", str(case_dir.parent)]))
    assert load_case_file(case).symptoms[0].evidence[0].start == 0
    monkeypatch.setenv(documents.DOCUMENT_ROOTS_ENV, "")  # set but empty: the case folder only
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
        fh.truncate(documents.MAX_DOCUMENT_BYTES + 1)
    case = case_with_document(case_dir, "big.txt", quote="neck pain")
    err = refusal(case)
    assert_names_path_field(err, case, "document file 'big.txt': the file is 20.0 MB, more than the 20.0 MB allowed")
    assert_cli_exits_2_with(case, str(err), capsys)
    with big.open("r+b") as fh:  # exactly at the cap is read (and then judged as text)
        fh.truncate(documents.MAX_DOCUMENT_BYTES)
    with pytest.raises(CaseFileError, match="not in document 'note'"):
        load_case_file(case)


def test_a_document_that_grows_past_the_cap_while_read_is_refused(case_dir, monkeypatch):
    monkeypatch.setattr(documents, "MAX_DOCUMENT_BYTES", 10)
    (case_dir / "proc.txt").write_text("x" * 11, encoding="utf-8")
    real_fstat = os.fstat

    def fstat_saying_empty(fd):  # a file that reports a size smaller than it has, as /proc files do
        info = real_fstat(fd)
        return os.stat_result((info.st_mode, info.st_ino, info.st_dev, info.st_nlink, info.st_uid, info.st_gid,
                               0, info.st_atime, info.st_mtime, info.st_ctime))

    monkeypatch.setattr(documents.os, "fstat", fstat_saying_empty)
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


@needs_letters
def test_the_examples_reach_the_letters_only_through_an_allowed_root(tmp_path, monkeypatch, capsys):
    """The seed example names its letter by file name: it is found in an allowed document root
    (here the letters folder beside the checkout), never by knowing where the checkout is; the same
    case file pointing at the letter by an absolute path or a symlink is refused until the letters
    folder is allowed."""
    monkeypatch.delenv(documents.DOCUMENT_ROOTS_ENV)
    absent = load_case_file(SEED_CASE)
    assert absent.documents[0].file_absent and absent.worker.evidence[0].start is None
    seed = load_case_file(SEED_CASE, document_roots=[LETTERS])
    assert seed.documents[0].file_name == "seed-trigger-point-2015.txt" and not seed.documents[0].file_absent
    assert seed.worker.evidence[0].start is not None
    letter = LETTERS / "seed-trigger-point-2015.txt"
    (tmp_path / "linked.txt").symlink_to(letter)
    text = SEED_CASE.read_text(encoding="utf-8")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "path:" in row)
    copies = []
    for name, doc_path in (("absolute.yaml", str(letter)), ("linked.yaml", "linked.txt")):
        copy = write(tmp_path, text.replace("path: seed-trigger-point-2015.txt", f"path: {doc_path}"), name)
        err = refusal(copy)
        assert (err.source, err.line, err.field) == (str(copy), line, "documents[0].path")
        assert "outside the folders documents may be read from" in err.problem
        assert_cli_exits_2_with(copy, str(err), capsys)
        copies.append(copy)
    monkeypatch.setenv(documents.DOCUMENT_ROOTS_ENV, str(LETTERS))
    assert load_case_file(SEED_CASE) == seed
    for copy in copies:  # the same facts and offsets (only the source and a linked file's name differ)
        assert replace(load_case_file(copy), source=seed.source, documents=seed.documents) == seed
    assert main(["determine", str(copies[0]), "--format", "json"]) == 1


def test_a_missing_document_file_leaves_its_quotes_unchecked(tmp_path, monkeypatch):
    monkeypatch.delenv(documents.DOCUMENT_ROOTS_ENV)
    text = "case: c1\ndocuments:\n  - id: note\n    path: gone.txt\n" + REST
    case = load_case_file(write(tmp_path, text))
    assert case.documents[0].file_absent and case.documents[0].file_name == "gone.txt"
    assert all(e.start is None for s in case.symptoms for e in s.evidence)


def test_a_relative_path_is_looked_up_in_each_root_in_turn(case_dir, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "other.txt").write_text(NOTE, encoding="utf-8")
    docs = Documents(case_dir, (elsewhere,))
    assert docs.read("note.txt") == NOTE and docs.read("other.txt") == NOTE
    assert Documents(case_dir, ()).read("other.txt") is None


# ---------------------------------------------------------------------------------------------
# The module's own API, without a case file
# ---------------------------------------------------------------------------------------------
def test_documents_read_inside_the_root_and_refuse_outside(case_dir):
    docs = Documents(case_dir, ())
    assert docs.read("note.txt") == NOTE
    with pytest.raises(DocumentRefused) as info:
        docs.read("../secret.txt")
    assert info.value.problem == "document file '../secret.txt' is outside the folders documents may be read from"
    assert str(case_dir.resolve()) in info.value.hint and documents.DOCUMENT_ROOTS_ENV in info.value.hint


def test_read_regular_file_caps_and_kinds(tmp_path):
    small = tmp_path / "small.txt"
    small.write_bytes(b"12345")
    assert read_regular_file(small, 5) == b"12345"
    with pytest.raises(Refused) as info:
        read_regular_file(small, 4)
    assert (info.value.kind, info.value.problem) == ("too large", "the file is 5 bytes, more than the 4 bytes allowed")
    with pytest.raises(Refused) as info:
        read_regular_file(tmp_path, 4)
    assert (info.value.kind, info.value.problem) == ("not a regular file", "not a regular file: it is a folder")
    (tmp_path / "link.txt").symlink_to(small)
    assert read_regular_file(tmp_path / "link.txt", 5) == b"12345"
    with pytest.raises(OSError):
        read_regular_file(tmp_path / "link.txt", 5, follow_symlinks=False)


def test_document_roots_are_resolved_once_each_with_the_variable_last(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    monkeypatch.setenv(documents.DOCUMENT_ROOTS_ENV, os.pathsep.join(["", str(tmp_path / "b"), str(tmp_path)]))
    roots = document_roots(tmp_path / "a" / "..", [tmp_path / "a", tmp_path])
    real = tmp_path.resolve()
    assert roots == (real, real / "a", real / "b")
