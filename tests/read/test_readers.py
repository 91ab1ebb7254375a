"""The two PDF readers (kg.read.pages): PDFium by default, pypdf as the fallback, and the same letter
read by either gives the same items, facts and determination.

PDFium's text differs from pypdf's in form only (line breaks, hyphens ending a line, blank lines
between paragraphs, runs of spaces), so the offsets into the text differ; everything read from
the text is held equal here, letter by letter: the header, every item's service, decision,
guideline lines, citation and rationale, every extracted fact with its quotes, the case graphs
apart from the offsets, and every criterion's status.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import threading
from pathlib import Path

import pytest
from casepaths import LETTERS, needs_letters
from letterdata import SYNTHETIC_2016

from kg.read import pages
from kg.read.pages import pdf_pages, pdfium_pages, pypdf_pages

PDFS = sorted(LETTERS.glob("*.pdf"))
#: offsets into the letter's text (they differ between the readers, the text they point at does not)
OFFSETS = {"span", "start", "end", "page_starts"}
OA = "http://www.w3.org/ns/oa#"


def _plain(value: object) -> object:
    """``value`` with its dataclasses as tuples of (field, value), offsets and the letter's text left out."""
    if type(value).__name__ == "LetterText":
        return "<the letter's text>"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return tuple((f.name, _plain(getattr(value, f.name))) for f in dataclasses.fields(value)
                     if f.name not in OFFSETS)
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _plain(v)) for k, v in value.items()))
    return value


def _read(path: Path, reader: str) -> dict:
    """Worker: one letter read with ``reader``: its record, its case and its graphs (N-Triples)."""
    from kg.extract.case import extract_case
    from kg.jobs.ingest import letter_case_graph
    from kg.read.letter import parse_letter, read_letter_text

    text = read_letter_text(path, pdf_reader=reader)  # type: ignore[arg-type]
    record = parse_letter(text)
    case = extract_case(text, record)
    cg = letter_case_graph(case)
    return {"record": _plain(record), "case": _plain(case), "id": cg.case_id,
            "asserted": cg.asserted.serialize(format="nt"), "reviewer": cg.reviewer.serialize(format="nt")}


def _without_offsets(nt: str) -> set[str]:
    """The triples of an N-Triples text, the values of oa:start and oa:end left out."""
    out = set()
    for line in nt.splitlines():
        if f"<{OA}start>" in line or f"<{OA}end>" in line:
            line = line.rsplit('"', 1)[0].rsplit('"', 1)[0]
        if line.strip():
            out.add(line)
    return out


@pytest.fixture(scope="module")
def both() -> dict[str, dict[str, dict]]:
    """Every letter read by both readers (pypdf in two worker processes: 0.15 s a letter)."""
    with cf.ProcessPoolExecutor(max_workers=2) as pool:
        slow = dict(zip(PDFS, pool.map(_read, PDFS, ["pypdf"] * len(PDFS)), strict=True))
    return {"pypdf": {p.name: r for p, r in slow.items()}, "pdfium": {p.name: _read(p, "pdfium") for p in PDFS}}


@needs_letters
def test_every_letter_gives_the_same_items_with_either_reader(both):
    """Item boundaries (service text), decisions, guideline lines, citations, rationales and the header."""
    differ = [name for name in both["pypdf"] if both["pypdf"][name]["record"] != both["pdfium"][name]["record"]]
    assert differ == []
    assert len(both["pypdf"]) == len(PDFS) > 100


@needs_letters
def test_every_letter_gives_the_same_facts_and_graphs_with_either_reader(both):
    """Every extracted fact with its evidence quotes; the asserted and reviewer graphs but for the offsets."""
    for name, slow in both["pypdf"].items():
        fast = both["pdfium"][name]
        assert fast["case"] == slow["case"], name
        assert fast["id"] == slow["id"]
        for graph in ("asserted", "reviewer"):
            assert _without_offsets(fast[graph]) == _without_offsets(slow[graph]), (name, graph)


@needs_letters
def test_every_letter_gets_the_same_determination_with_either_reader(both):
    """Every criterion's status and every conclusion, through the batch engine (the reference's answers)."""
    from rdflib import Graph

    from kg.batch.engine import case_nquads, compile_engine, determine_chunk

    engine = compile_engine()
    got = {}
    for reader, letters in both.items():
        graphs = {r["id"]: {n: Graph().parse(data=r[n], format="nt") for n in ("asserted", "reviewer")}
                  for r in letters.values()}
        asserted = b"".join(case_nquads(cid, {"asserted": g["asserted"]}) for cid, g in graphs.items())
        reviewer = b"".join(case_nquads(cid, {"reviewer": g["reviewer"]}) for cid, g in graphs.items())
        result = determine_chunk(asserted, reviewer, engine, keep=True)
        assert result.failed == ()
        got[reader] = {d.case_id: [(i.request_id, i.conclusion, [(a.criterion, a.status) for a in i.assessments])
                                   for i in d.items] for d in result.determinations}
    assert got["pdfium"] == got["pypdf"]
    assert sum(len(items) for items in got["pdfium"].values()) > 150


@needs_letters
def test_pdfium_text_is_in_pypdf_form():
    """Line breaks are newlines, a hyphen ending a line stays with its line break, paragraphs keep
    their blank line, and the lines are pypdf's lines but for runs of spaces."""
    data = (LETTERS / "CM16-0229336.pdf").read_bytes()
    fast, slow = pdfium_pages(data, "x.pdf"), pypdf_pages(data, "x.pdf")
    assert "\r" not in "".join(fast) and "\ufffe" not in "".join(fast)
    assert "rehabilitation-skilled-\nnursing-care" in fast[1]

    def lines(page_texts: list[str]) -> list[list[str]]:
        return [[" ".join(line.split()) for line in p.splitlines() if line.strip()] for p in page_texts]

    assert lines(fast) == lines(slow)
    assert "\n\nMRI of the right shoulder without contrast: Upheld\n\n" in pdfium_pages(
        (LETTERS / "CM16-0213037.pdf").read_bytes(), "y.pdf")[1]


@needs_letters
def test_pdfium_runs_only_in_the_main_thread(monkeypatch):
    """Called from another thread, the automatic choice reads with pypdf (PDFium is not thread-safe)."""
    used: list[str] = []
    monkeypatch.setattr(pages, "pdfium_pages", lambda data, name: used.append("pdfium") or ["IMR"])
    monkeypatch.setattr(pages, "pypdf_pages", lambda data, name: used.append("pypdf") or ["IMR"])
    data = PDFS[0].read_bytes()
    pdf_pages(data, "a.pdf")
    thread = threading.Thread(target=pdf_pages, args=(data, "a.pdf"))
    thread.start()
    thread.join()
    pdf_pages(data, "a.pdf", reader="pypdf")
    assert used == ["pdfium", "pypdf", "pypdf"]


def test_what_pdfium_cannot_open_goes_to_pypdf_which_names_the_problem(tmp_path):
    from kg.errors import LetterError
    from kg.read.letter import read_letter_text

    with pytest.raises(LetterError, match="PDFium cannot open"):
        pdfium_pages(b"%PDF-1.4 nonsense", "bad.pdf")
    with pytest.raises(LetterError, match="corrupt or unreadable PDF"):
        pdf_pages(b"%PDF-1.4 nonsense", "bad.pdf")
    with pytest.raises(LetterError, match="PDFium cannot open"):
        pdf_pages(b"%PDF-1.4 nonsense", "bad.pdf", reader="pdfium")
    f = tmp_path / "letter.txt"
    f.write_text(SYNTHETIC_2016, encoding="utf-8")  # a text letter reads the same whatever the PDF reader
    assert read_letter_text(f, pdf_reader="pypdf") == read_letter_text(f, pdf_reader="pdfium")
