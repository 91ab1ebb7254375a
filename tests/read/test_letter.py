"""Tests for kg.read.letter: reading IMR letters and parsing the reviewer's record.

The real letters live in ``shared/letters`` beside the repository clone; they
are read by path and never copied into the repo.
"""

from __future__ import annotations

import json
import random
import re
import time
from datetime import date
from pathlib import Path

import pytest
from casepaths import LETTERS, needs_letters

from kg.errors import LetterError
from kg.read.letter import LetterRecord, LetterText, Span, parse_letter, read_letter_text

LABELS = LETTERS / "labels.json"
SEED = LETTERS / "seed-trigger-point-2015.txt"


# Where labels.json disagrees with the PDF the PDF is right. Each entry says how the
# label is wrong, so the comparison accepts the PDF's value only in that way:
#   "suffix": the label is the tail of the PDF's value (it lost the start),
#   "prefix": the label is the head of the PDF's value (it lost the end).
KNOWN_LABEL_ERRORS: dict[tuple[str, str, int | None], str] = {
    # Partial-authorisation services that run across a page break: the label keeps
    # only the part printed on the second page; the PDF's service starts with
    # "X was the original request." on the page before.
    ("CM16-0229336", "service", 0): "suffix",
    ("CM16-0231706", "service", 0): "suffix",
    ("CM17-0020728", "service", 0): "suffix",
    # Certification lines that wrap onto a second line; the label keeps the first
    # line only ("... Public Health &" / "... Pain Management, Occupational"), the
    # PDF continues with "General Preventive Medicine" / "Medicine".
    ("CM17-0007300", "specialty", None): "prefix",
    ("CM17-0010885", "specialty", None): "prefix",
    ("CM17-0017104", "specialty", None): "prefix",
    ("CM17-0008551", "specialty", None): "prefix",
}

_CORPUS_SECONDS: list[float] = []

HEADER_FIELDS = {
    "case": "case_number",
    "assigned": "date_assigned",
    "injury": "date_of_injury",
    "decided": "decision_date",
    "ur_denial": "ur_denial_date",
    "specialty": "specialty",
}
ITEM_FIELDS = ("service", "decision", "maximus_guideline")


def _agrees(label: str, got: str | None, key: tuple[str, str, int | None]) -> bool:
    if got == label:
        return True
    how = KNOWN_LABEL_ERRORS.get(key)
    if got is None or how is None:
        return False
    if how == "suffix":
        return got.endswith(label) and len(got) > len(label)
    return got.startswith(label) and len(got) > len(label)


@pytest.fixture(scope="module")
def corpus() -> dict[str, tuple[LetterText, LetterRecord]]:
    """Every PDF letter read and parsed once (case number -> (text, record))."""
    if not LABELS.is_file():
        pytest.skip("shared/letters not present")
    started = time.perf_counter()
    out: dict[str, tuple[LetterText, LetterRecord]] = {}
    for pdf in sorted(LETTERS.glob("*.pdf")):
        lt = read_letter_text(pdf)
        out[pdf.stem] = (lt, parse_letter(lt))
    elapsed = time.perf_counter() - started
    _CORPUS_SECONDS.append(elapsed)
    print(f"\nread and parsed {len(out)} letters in {elapsed:.2f} s")
    return out


@pytest.fixture(scope="module")
def labels() -> dict[str, dict]:
    return json.loads(LABELS.read_text(encoding="utf-8"))


def _record(corpus: dict[str, tuple[LetterText, LetterRecord]], case: str) -> tuple[str, LetterRecord]:
    lt, rec = corpus[case]
    return lt.text, rec


def _at(text: str, span: Span) -> str:
    return " ".join(text[span.start : span.end].split())


# --------------------------------------------------------------------------- corpus


@needs_letters
def test_corpus_matches_labels(corpus: dict, labels: dict) -> None:
    assert len(corpus) == 124
    assert set(corpus) == set(labels)
    ok = {f: 0 for f in [*HEADER_FIELDS, *ITEM_FIELDS, "item_count"]}
    raw_ok = dict(ok)
    total = dict.fromkeys(ok, 0)
    misses: list[str] = []
    for case, lab in labels.items():
        _, rec = corpus[case]
        for key, attr in HEADER_FIELDS.items():
            value = getattr(rec, attr)
            got = value.text if value is not None else None
            total[key] += 1
            raw_ok[key] += got == lab[key]
            if _agrees(lab[key], got, (case, key, None)):
                ok[key] += 1
            else:
                misses.append(f"{case} {key}: label {lab[key]!r} parsed {got!r}")
        total["item_count"] += 1
        if len(rec.items) != len(lab["items"]):
            misses.append(f"{case}: {len(lab['items'])} items labelled, {len(rec.items)} parsed")
            continue
        ok["item_count"] += 1
        raw_ok["item_count"] += 1
        for i, (li, item) in enumerate(zip(lab["items"], rec.items, strict=False)):
            got_item = {
                "service": item.service.text,
                "decision": item.decision.text,
                "maximus_guideline": item.maximus_guideline.text if item.maximus_guideline else None,
            }
            for key in ITEM_FIELDS:
                total[key] += 1
                raw_ok[key] += got_item[key] == li[key]
                if _agrees(li[key], got_item[key], (case, key, i)):
                    ok[key] += 1
                else:
                    misses.append(f"{case} item {i} {key}: label {li[key]!r} parsed {got_item[key]!r}")
    print()
    for key in total:
        print(
            f"{key:18} {ok[key]:4}/{total[key]:<4} {100 * ok[key] / total[key]:6.2f}% "
            f"(raw labels: {100 * raw_ok[key] / total[key]:6.2f}%)"
        )
    for miss in misses:
        print("MISS", miss)
    for key in total:
        assert ok[key] / total[key] >= 0.98, f"{key}: {ok[key]}/{total[key]}"


@needs_letters
def test_spans_point_at_the_values(corpus: dict) -> None:
    """Every extracted value reads back from the letter text through its span."""
    for case, (lt, rec) in corpus.items():
        t = lt.text
        assert rec.layout == "2016"
        assert rec.case_number is not None and _at(t, rec.case_number.span) == case
        for f in (rec.date_assigned, rec.date_of_injury, rec.decision_date, rec.ur_denial_date):
            assert f is not None and f.value is not None, case
            assert _at(t, f.span) == f.text
        assert rec.summary_span is not None
        summary = t[rec.summary_span.start : rec.summary_span.end]
        assert summary[:1].isupper() and len(summary) > 200, case
        assert "clinical case summary" not in summary and "IMR ISSUES" not in summary, case
        for item in rec.items:
            for f in (item.service, item.decision, item.maximus_guideline, item.rationale,
                      item.claims_administrator_guideline):
                assert f is not None, case
                assert _at(t, f.span) == f.text
            assert item.decision.text in ("Upheld", "Overturned")
            assert "Claims Administrator guideline" not in item.service.text
            assert "Decision rationale" not in item.rationale.text
            assert "IMR ISSUES" not in item.rationale.text
            if item.citation.kind == "mtus":
                for g in item.citation.mtus:
                    assert 1990 < g.year < 2030 and g.name, case


@needs_letters
def test_full_corpus_reads(corpus: dict) -> None:
    """All 124 letters read and parse (the time is printed; bench/ measures speed, not this test)."""
    assert len(corpus) == 124
    print(f"\n124 letters read and parsed in {_CORPUS_SECONDS[0]:.2f} s")


# --------------------------------------------------------------------------- real letters


@needs_letters
def test_decision_word_on_its_own_line(corpus: dict) -> None:
    t, rec = _record(corpus, "CM16-0237844")
    (item,) = rec.items
    assert item.service.text == ("Additional physical therapy two times four visits (8) for the lumbar and bilateral "
                                 "knees")
    assert item.decision.text == "Upheld"
    assert t[item.decision.span.start : item.decision.span.end] == "Upheld"
    assert "\n" in t[item.service.span.end : item.decision.span.start]
    assert item.claims_administrator_guideline is not None
    assert item.claims_administrator_guideline.text == (
        "The Claims Administrator did not cite any medical evidence for its decision."
    )
    # the MAXIMUS line starts on the next page
    assert item.maximus_guideline is not None
    assert item.maximus_guideline.text == (
        "Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s): Physical medicine treatment."
    )
    (g,) = item.citation.mtus
    assert (g.name, g.year, g.sections) == ("Chronic Pain Medical Treatment", 2016, ("Physical medicine treatment",))
    assert item.remaining_service is None and item.original_request is None
    assert rec.specialty is not None and rec.date_of_injury is not None
    assert rec.date_of_injury.value is not None


@needs_letters
def test_partial_authorisation_remaining_portion(corpus: dict, labels: dict) -> None:
    case = "CM16-0233904"
    assert "was the original request" in labels[case]["items"][0]["service"]
    _, rec = _record(corpus, case)
    (item,) = rec.items
    assert item.service.text.startswith("Baclofen 100mg #30 was the original request.")
    assert item.original_request is not None and item.original_request.text == "Baclofen 100mg #30"
    assert item.authorized is not None and item.authorized.text == "Baclofen 100mg #27"
    assert item.remaining_service is not None and item.remaining_service.text == "Baclofen 100mg #3"
    assert item.requested_service is item.remaining_service
    assert item.decision.text == "Upheld"
    assert item.service.span.start <= item.remaining_service.span.start < item.service.span.end


@needs_letters
def test_partial_authorisation_leaving_original_request(corpus: dict) -> None:
    _, rec = _record(corpus, "CM16-0249536")
    item = rec.items[-1]
    assert item.original_request is not None and item.authorized is not None
    assert item.remaining_service is not None
    assert item.original_request.text == "Acupuncture treatments (unspecified quantity)"
    assert item.authorized.text == "Acupuncture treatments, 6 sessions"
    assert item.remaining_service.text == "Acupuncture treatments (unspecified quantity)"
    assert item.service.text.endswith("The original request, Acupuncture treatments (unspecified quantity) is")
    assert item.citation.kind == "mtus"
    assert [(g.name, g.year, g.sections) for g in item.citation.mtus] == [("Acupuncture Treatment", 2007, ())]


@needs_letters
def test_partial_authorisation_across_a_page_break(corpus: dict) -> None:
    # labels.json truncates this service at the page break; the PDF has it whole
    t, rec = _record(corpus, "CM16-0229336")
    (item,) = rec.items
    assert item.original_request is not None and item.remaining_service is not None
    assert item.original_request.text.startswith("Acute inpatient rehabilitation physical therapy")
    assert item.authorized is not None and item.authorized.text.startswith("Skilled nursing facility for 7 days")
    assert item.remaining_service.text.endswith("7-10 days for left foot fracture")
    assert item.decision.text == "Overturned"
    starts = corpus["CM16-0229336"][0].page_starts
    assert any(item.service.span.start < s < item.service.span.end for s in starts)
    assert item.citation.kind == "non_mtus"


@needs_letters
def test_non_mtus_citation(corpus: dict) -> None:
    _, rec = _record(corpus, "CM16-0249724")
    assert len(rec.items) == 3
    item = rec.items[0]
    assert item.citation.kind == "non_mtus"
    assert item.citation.mtus == ()
    assert item.citation.non_mtus is not None
    assert item.citation.non_mtus.text == ("Official Disability Guidelines (ODG) Knee & Leg, Durable medical equipment "
                                           "(DME)")
    assert item.remaining_service is not None
    assert item.remaining_service.text == "standard wheelchair for a 2 month rental"


@needs_letters
def test_did_not_cite_any_medical_evidence(corpus: dict) -> None:
    _, rec = _record(corpus, "CM16-0238035")
    assert len(rec.items) == 8
    item = rec.items[1]
    assert item.service.text == "Medical Clearance"
    assert item.decision.text == "Upheld"
    assert item.maximus_guideline is not None
    assert item.maximus_guideline.text == "The Expert Reviewer did not cite any medical evidence for its decision."
    assert item.citation.kind == "none" and item.citation.mtus == () and item.citation.non_mtus is None
    assert item.rationale is not None
    assert item.rationale.text.startswith("As the requested surgical intervention is not medically necessary")
    # this letter's certification line carries a typo as printed
    assert rec.specialty is not None and rec.specialty.text == "Orthopedic Surgery, Sports Medicinea"


@needs_letters
def test_letter_with_most_items(corpus: dict) -> None:
    most = max(corpus, key=lambda c: len(corpus[c][1].items))
    assert most == "CM16-0248698"
    t, rec = _record(corpus, most)
    assert len(rec.items) == 21
    assert rec.items[0].service.text == "X-rays lumbar spine"
    assert rec.items[1].service.text == "X-rays of right hip"
    assert rec.items[-1].service.text == "Dicopanol (unknown quantity)"
    assert [i.decision.text for i in rec.items].count("Upheld") == 21
    assert rec.items[2].remaining_service is not None
    assert rec.items[2].remaining_service.text == "Acupuncture 12 sessions"
    # items are in order and do not overlap
    ends = [(i.service.span.start, i.rationale.span.end) for i in rec.items if i.rationale]
    assert all(a[1] <= b[0] for a, b in zip(ends, ends[1:], strict=False))
    assert rec.application_received is not None and rec.application_received.value is not None


@needs_letters
def test_multi_guideline_maximus_citation(corpus: dict) -> None:
    _, rec = _record(corpus, "CM17-0017776")
    item = rec.items[0]
    assert [(g.name, g.year, g.sections) for g in item.citation.mtus] == [
        ("General Approaches", 2004, ("Initial Approaches to Treatment",)),
        ("Neck and Upper Back Complaints", 2004, ("Summary",)),
    ]
    _, rec = _record(corpus, "CM16-0219557")
    (item,) = rec.items
    assert item.citation.kind == "mtus"
    assert [(g.name, g.year, g.sections) for g in item.citation.mtus] == [
        ("Low Back Complaints", 2004, ("Summary",)),
        ("Chronic Pain Medical Treatment", 2016, ("Facet blocks",)),
    ]
    assert item.citation.non_mtus is not None
    assert item.citation.non_mtus.text.startswith("ACOEM Occupational Medicine Practice Guidelines, 3rd ed.")


@needs_letters
def test_header_values_split_across_lines(corpus: dict) -> None:
    t, rec = _record(corpus, "CM16-0213037")
    assert rec.case_number is not None and rec.case_number.text == "CM16-0213037"
    assert rec.date_assigned is not None and rec.date_assigned.value == date(2016, 11, 9)
    assert rec.date_of_injury is not None and rec.date_of_injury.value == date(2016, 10, 13)
    assert rec.decision_date is not None and rec.decision_date.value == date(2016, 12, 9)
    assert rec.ur_denial_date is not None and rec.ur_denial_date.value == date(2016, 11, 3)
    assert rec.priority is not None and rec.priority.text == "Standard"
    assert rec.application_received is not None and rec.application_received.text == "11/03/2016"
    assert rec.licensure is not None and rec.licensure.text == "California,North Carolina"
    assert rec.specialty is not None and rec.specialty.text == "Family Practice"
    assert rec.summary_span is not None
    summary = t[rec.summary_span.start : rec.summary_span.end]
    assert summary.startswith("The injured worker is a 48 year old male")
    assert summary.rstrip().endswith("was not medically necessary.")


@needs_letters
def test_wrapped_specialty_is_joined(corpus: dict) -> None:
    _, rec = _record(corpus, "CM17-0007300")
    assert rec.specialty is not None
    assert rec.specialty.text == ("Preventive Medicine, Occupational Medicine, Public Health & General Preventive "
                                  "Medicine")


# --------------------------------------------------------------------------- seed


@needs_letters
def test_seed_text_letter() -> None:
    lt = read_letter_text(SEED)
    rec = parse_letter(lt)
    assert rec.layout == "seed"
    assert rec.case_number is None and rec.date_of_injury is None
    assert rec.specialty is not None and rec.specialty.text == "Emergency Medicine"
    (item,) = rec.items
    assert item.service.text == "Trigger Point Injection cervical paravertebral muscles ultrasound guided"
    assert item.decision.text == "Upheld"
    assert item.citation.kind == "mtus"
    (g,) = item.citation.mtus
    assert (g.name, g.year, g.sections) == ("Chronic Pain Medical Treatment", 2009, ("Trigger point injections",))
    assert item.rationale is not None
    assert item.rationale.text.endswith("The request is not medically necessary.")
    assert rec.summary_span is not None
    assert lt.text[rec.summary_span.start :].startswith("The injured worker is a 36 year old male")


# --------------------------------------------------------------------------- synthetic layouts

from letterdata import SYNTHETIC_2013, SYNTHETIC_2016  # noqa: E402


def test_multi_guideline_synthetic(tmp_path: Path) -> None:
    """The synthetic 2016 letter read from its file (page noise: tests/read/test_pages.py)."""
    f = tmp_path / "synthetic.txt"
    f.write_text(SYNTHETIC_2016, encoding="utf-8")
    lt = read_letter_text(f)
    rec = parse_letter(lt)
    assert rec.layout == "2016"
    assert rec.case_number is not None and rec.case_number.text == "CM99-0000001"
    assert rec.date_of_injury is not None and rec.date_of_injury.value == date(2015, 3, 4)
    assert rec.application_received is not None and rec.application_received.value == date(2017, 1, 1)
    assert rec.specialty is not None and rec.specialty.text == "Orthopedic Surgery, Hand Surgery"
    first, second = rec.items
    assert first.service.text == "Splint for the left wrist, custom molded"
    assert first.decision.text == "Overturned"
    assert [(g.name, g.year, g.sections) for g in first.citation.mtus] == [
        ("Neck and Upper Back Complaints", 2004, ("Special Studies",)),
        ("Forearm, Wrist, and Hand Complaints", 2004, ("Initial Care", "Summary")),
    ]
    assert first.rationale is not None
    assert first.rationale.text == "A synthetic rationale. The request is medically necessary."
    assert second.service.text == "Bone growth stimulator for the lumbar spine"
    assert second.decision.text == "Upheld"
    assert second.citation.kind == "none"
    assert second.maximus_guideline is not None
    assert second.maximus_guideline.text == "The Expert Reviewer did not cite any medical evidence for its decision."
    assert second.rationale is not None
    assert second.rationale.text.startswith("A second synthetic rationale")
    assert second.rationale.text.endswith("The request is not medically necessary.")




def test_2013_layout_synthetic(tmp_path: Path) -> None:
    f = tmp_path / "notice-2013.txt"
    f.write_text(SYNTHETIC_2013, encoding="utf-8")
    lt = read_letter_text(f)
    rec = parse_letter(lt)
    assert rec.layout == "2013"
    assert rec.case_number is not None and rec.case_number.text == "CM13-0001234"
    assert rec.decision_date is not None and rec.decision_date.value == date(2013, 10, 15)
    assert rec.ur_denial_date is not None and rec.ur_denial_date.value == date(2013, 8, 30)
    assert rec.date_of_injury is not None and rec.date_of_injury.value == date(2012, 3, 12)
    assert rec.application_received is not None and rec.application_received.value == date(2013, 9, 6)
    assert rec.date_assigned is None
    assert rec.specialty is not None and rec.specialty.text == "Physical Medicine and Rehabilitation"
    assert rec.licensure is not None and rec.licensure.text == "California"
    assert rec.summary_span is not None
    assert lt.text[rec.summary_span.start : rec.summary_span.end] == "A synthetic worker with synthetic low back pain."
    mri, pt = rec.items
    assert (mri.service.text, mri.decision.text) == ("an MRI of the lumbar spine", "Upheld")
    assert (pt.service.text, pt.decision.text) == ("six sessions of physical therapy", "Overturned")
    assert [(g.name, g.year, g.sections) for g in mri.citation.mtus] == [
        ("Low Back Complaints", 2004, ("Special Studies",))
    ]
    assert [(g.name, g.year) for g in pt.citation.mtus] == [("Chronic Pain Medical Treatment", 2009)]
    assert mri.rationale is not None and mri.rationale.text.endswith("The request is not medically necessary.")
    assert pt.rationale is not None and pt.rationale.text.endswith("The request is medically necessary.")


def test_parse_from_string_is_pure() -> None:
    lt = LetterText(SYNTHETIC_2016.replace("\f", "\n"), "inline.txt")
    first = parse_letter(lt)
    assert parse_letter(lt) == first
    assert lt.text == SYNTHETIC_2016.replace("\f", "\n")


# --------------------------------------------------------------------------- bad input


def _encrypted_pdf(path: Path) -> None:
    import pypdf

    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    with path.open("wb") as fh:
        writer.write(fh)


def _blank_pdf(path: Path) -> None:
    import pypdf

    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=200, height=200)
    with path.open("wb") as fh:
        writer.write(fh)


@pytest.mark.parametrize(
    ("name", "make", "problem"),
    [
        ("empty.pdf", lambda p: p.write_bytes(b""), "empty"),
        ("noise.pdf", lambda p: p.write_bytes(random.Random(7).randbytes(4096)), "corrupt"),
        ("encrypted.pdf", _encrypted_pdf, "password"),
        ("blank.pdf", _blank_pdf, "no text"),
        ("notes.txt", lambda p: p.write_text("Shopping list: eggs, milk.\n", encoding="utf-8"), "not an IMR"),
        ("latin1.txt", lambda p: p.write_bytes("caf\xe9 IMR".encode("latin-1")), "UTF-8"),
    ],
)
def test_bad_input_raises_letter_error(tmp_path: Path, name: str, make, problem: str) -> None:
    path = tmp_path / name
    make(path)
    with pytest.raises(LetterError) as info:
        read_letter_text(path)
    assert info.value.source == name
    assert name in str(info.value)
    assert problem in info.value.problem
    assert info.value.hint


@needs_letters
def test_truncated_pdf_raises_letter_error(tmp_path: Path) -> None:
    data = (LETTERS / "CM16-0213037.pdf").read_bytes()
    path = tmp_path / "truncated.pdf"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(LetterError, match=re.escape("truncated.pdf")) as info:
        read_letter_text(path)
    assert "corrupt" in info.value.problem


def test_missing_file_raises_letter_error(tmp_path: Path) -> None:
    with pytest.raises(LetterError, match="missing.pdf") as info:
        read_letter_text(tmp_path / "missing.pdf")
    assert info.value.source == "missing.pdf"


def test_text_without_items_is_a_letter_error() -> None:
    lt = LetterText("IMR ISSUES, DECISIONS AND RATIONALES\nnothing decided here\n", "stub.txt")
    with pytest.raises(LetterError, match="stub.txt"):
        parse_letter(lt)


# ---------------------------------------------------------------------------------------------
# Size caps: a letter file over MAX_LETTER_BYTES is refused before it is read, a letter holding
# more than MAX_LETTER_TEXT_CHARS of text before it is parsed; the CLI exits 2 naming the file.
# ---------------------------------------------------------------------------------------------
import os  # noqa: E402

from kg.cli import main  # noqa: E402
from kg.read import letter as letter_module  # noqa: E402


def _sparse(path: Path, size: int) -> Path:
    with path.open("wb") as fh:  # no disk space used
        fh.truncate(size)
    return path


@pytest.mark.parametrize("name", ["huge.pdf", "huge.txt"])
def test_a_letter_over_the_size_cap_is_refused_before_it_is_read(tmp_path: Path, name: str, capsys) -> None:
    path = _sparse(tmp_path / name, letter_module.MAX_LETTER_BYTES + 1)
    start = time.monotonic()
    with pytest.raises(LetterError) as info:
        read_letter_text(path)
    assert time.monotonic() - start < 10  # a hang guard only: reading 20 MB and failing takes longer
    err = info.value
    assert (err.source, err.line, err.field) == (name, None, None)
    assert err.problem == "file is 20.0 MB, more than the 20 MB a letter may be"
    assert err.hint == "supply the determination letter on its own"
    assert main(["determine", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"imrkg: error: {name}: file is 20.0 MB, more than the 20 MB a letter may be" in captured.err


def test_a_letter_that_grows_past_the_cap_while_read_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(letter_module, "MAX_LETTER_BYTES", 2 * 2**20)
    path = tmp_path / "growing.txt"
    path.write_text("IMR ISSUES, DECISIONS AND RATIONALES\n" + "x" * 2 * 2**20, encoding="utf-8")
    real_stat = Path.stat

    def stat_saying_small(self, *args, **kwargs):  # a size that is stale by the time it is read
        info = real_stat(self, *args, **kwargs)
        return os.stat_result((info.st_mode, info.st_ino, info.st_dev, info.st_nlink, info.st_uid, info.st_gid,
                               10, info.st_atime, info.st_mtime, info.st_ctime))

    monkeypatch.setattr(Path, "stat", stat_saying_small)
    with pytest.raises(LetterError) as info:
        read_letter_text(path)
    assert (info.value.source, info.value.problem) == ("growing.txt", "file is more than the 2 MB a letter may be")


def test_a_letter_with_too_much_text_is_refused_before_parsing(tmp_path: Path, capsys) -> None:
    path = tmp_path / "long.txt"
    text = "IMR ISSUES, DECISIONS AND RATIONALES\n" + "and " * (letter_module.MAX_LETTER_TEXT_CHARS // 4)
    path.write_text(text, encoding="utf-8")
    start = time.monotonic()
    with pytest.raises(LetterError) as info:
        read_letter_text(path)
    assert time.monotonic() - start < 5
    n = len(text)
    assert info.value.source == "long.txt"
    assert info.value.problem == f"the letter holds {n:,} characters of text, more than the 1,000,000 a letter may hold"
    assert main(["determine", str(path)]) == 2
    assert f"imrkg: error: long.txt: the letter holds {n:,} characters" in capsys.readouterr().err
