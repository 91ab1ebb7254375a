"""Tests for ``imrkg ingest`` and ``imrkg determine`` on letters (kg.jobs.ingest.ingest_dataset and the CLI)."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from casepaths import LETTERS, needs_letters
from rdflib import Dataset, URIRef

from kg.cli import main
from kg.jobs.ingest import ingest_dataset, write_dataset

CASES = ("CM16-0213037", "CM16-0237844")


@pytest.fixture
def mixed_folder(tmp_path: Path) -> Path:
    """Two real letters, a corrupt PDF, a text file that is no letter and a file of another kind."""
    folder = tmp_path / "letters"
    folder.mkdir()
    for case in CASES:
        shutil.copy(LETTERS / f"{case}.pdf", folder / f"{case}.pdf")
    (folder / "broken.pdf").write_bytes((LETTERS / "CM16-0219557.pdf").read_bytes()[:2500])
    (folder / "noise.pdf").write_bytes(random.Random(3).randbytes(2048))
    (folder / "notes.txt").write_text("Shopping list: eggs, milk.\n", encoding="utf-8")
    (folder / "labels.json").write_text("{}", encoding="utf-8")  # not a letter suffix: not read
    return folder


def _quads(path: Path) -> set[tuple]:
    ds = Dataset()
    ds.parse(path, format="trig")
    return {(s, p, o, g) for s, p, o, g in ds.quads((None, None, None, None))}


@needs_letters
def test_ingest_folder_with_bad_files_goes_on(mixed_folder: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cases.trig"
    code = main(["ingest", str(mixed_folder), "-o", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    for name in ("broken.pdf", "noise.pdf", "notes.txt"):
        assert f"imrkg: error: {name}:" in err
    assert "labels.json" not in err
    assert "2 case(s) ingested, 3 file(s) failed" in err
    ds = Dataset()
    ds.parse(out, format="trig")
    graphs = sorted(str(g.identifier) for g in ds.graphs() if len(g))
    assert graphs == [f"https://w3id.org/imr-kg/case/{c}/graph/{n}" for c in CASES for n in ("asserted", "reviewer")]
    asserted = ds.graph(URIRef("https://w3id.org/imr-kg/case/CM16-0213037/graph/asserted"))
    doc = URIRef("https://w3id.org/imr-kg/case/CM16-0213037/doc/CM16-0213037")
    assert str(asserted.value(doc, URIRef("https://w3id.org/imr-kg/ont#fileName"))) == "CM16-0213037.pdf"
    reviewer = ds.graph(URIRef("https://w3id.org/imr-kg/case/CM16-0213037/graph/reviewer"))
    assert not any(True for _ in asserted.triples((None, URIRef("https://w3id.org/imr-kg/ont#imrOutcome"), None)))
    assert any(True for _ in reviewer.triples((None, URIRef("https://w3id.org/imr-kg/ont#imrOutcome"), None)))


@needs_letters
def test_reingest_replaces_rather_than_duplicates(mixed_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "cases.trig"
    assert main(["ingest", str(mixed_folder / f"{CASES[0]}.pdf"), "-o", str(out), "--quiet"]) == 0
    first_bytes = out.read_bytes()
    first = _quads(out)
    assert main(["ingest", str(mixed_folder / f"{CASES[0]}.pdf"), "-o", str(out), "--quiet"]) == 0
    assert _quads(out) == first
    assert out.read_bytes() == first_bytes
    # adding a second case keeps the first; re-ingesting both changes nothing
    assert main(["ingest", str(mixed_folder / f"{CASES[1]}.pdf"), "-o", str(out), "--quiet"]) == 0
    both = _quads(out)
    assert first < both
    assert main(["ingest", *(str(mixed_folder / f"{c}.pdf") for c in CASES), "-o", str(out), "--quiet"]) == 0
    assert _quads(out) == both


@needs_letters
def test_ingest_library_and_stdout(mixed_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = ingest_dataset([mixed_folder / f"{CASES[0]}.pdf", mixed_folder / "notes.txt"])
    assert result.cases == (CASES[0],)
    assert [e.source for e in result.errors] == ["notes.txt"]
    assert main(["ingest", str(mixed_folder / f"{CASES[0]}.pdf"), "-o", "-", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out == write_dataset(result.dataset)
    assert "<https://w3id.org/imr-kg/case/CM16-0213037/graph/asserted> {" in out


@needs_letters
def test_ingest_turtle_output(mixed_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "cases.ttl"
    assert main(["ingest", str(mixed_folder / f"{CASES[0]}.pdf"), "-o", str(out), "--quiet"]) == 0
    text = out.read_text(encoding="utf-8")
    assert "kg:caseNumber \"CM16-0213037\"" in text
    size = len(text)
    assert main(["ingest", str(mixed_folder / f"{CASES[0]}.pdf"), "-o", str(out), "--quiet"]) == 0
    assert len(out.read_text(encoding="utf-8")) == size


def test_ingest_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", str(tmp_path / "nothere.pdf"), "--quiet"]) == 2
    assert "nothere.pdf: file not found" in capsys.readouterr().err


def test_ingest_missing_folder_says_not_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A folder that is not there is reported as not found (not as a file of the wrong kind)."""
    missing = tmp_path / "no-such-folder"
    assert main(["ingest", str(missing), "--store", "memory", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{missing}: not found (check the path)" in err and "not a case file" not in err


@needs_letters
def test_determine_letter_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["determine", str(LETTERS / "seed-trigger-point-2015.txt"), "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    (item,) = data["items"]
    assert item["service"] == "Trigger Point Injection cervical paravertebral muscles ultrasound guided"
    assert item["service_kind"] == "trigger_point_injection"
    assert (item["reviewer_decision"], item["engine_decision"]) == ("upheld", "not_medically_necessary")
    assert item["guideline"]["section_label"] == "Trigger point injections"
    assert item["guideline"]["version_label"] == "MTUS Chronic Pain Medical Treatment Guidelines (2009)"
    c4 = next(c for c in item["criteria"] if c["number"] == 4)
    assert c4["status"] == "not_met"
    quotes = [q for e in c4["evidence"] for q in e["quotes"]]
    assert {"document": "seed-trigger-point-2015", "file": "seed-trigger-point-2015.txt",
            "exact": "There is decreased sensation at the C3 and C4 dermatomes bilaterally."} in [
        {k: q[k] for k in ("document", "file", "exact")} for q in quotes]


@needs_letters
def test_determine_pdf_letter_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["determine", str(LETTERS / "CM16-0213037.pdf"), "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    got = [(i["service"], i["service_kind"], i["reviewer_decision"], i["engine_decision"],
            i["guideline"]["section"].rsplit("/", 1)[-1], [(c["number"], c["status"]) for c in i["criteria"]])
           for i in data["items"]]
    # injured 10/13/16, requested within four weeks: the chapters' waiting period (criterion 5) is not met
    assert got == [
        ("MRI of the right shoulder without contrast", "mri", "upheld", "not_medically_necessary",
         "ACOEM-SHOULDER-IMAGING", [(1, "not_documented"), (2, "not_documented"), (3, "not_documented"),
                                    (4, "not_documented"), (5, "not_met"), (6, "met")]),
        ("MRI of the cervical spine without contrast", "mri", "upheld", "not_medically_necessary",
         "ACOEM-NECK-IMAGING", [(1, "not_documented"), (2, "met"), (3, "not_documented"), (4, "not_documented"),
                                (5, "not_met"), (6, "met")]),
    ]


def test_determine_bad_letter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4 nonsense")
    assert main(["determine", str(bad)]) == 2
    assert "bad.pdf" in capsys.readouterr().err


def test_new_commands_have_help(capsys: pytest.CaptureFixture[str]) -> None:
    for cmd in ("ingest", "eval"):
        assert main([cmd, "--help"]) == 0
        out = capsys.readouterr().out
        assert "example" in out and "exit codes" in out
