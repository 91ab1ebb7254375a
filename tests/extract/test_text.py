"""kg.extract.text: folded text, sentences, clauses, regions, dates and polarity."""

from __future__ import annotations

import doctest

import kg.extract.text
from kg.extract.text import SummaryReader
from kg.read.letter import Span


def test_doctests() -> None:
    assert doctest.testmod(kg.extract.text).failed == 0


def test_summary_reader_quotes_the_letter() -> None:
    text = "Header.\nCLINICAL CASE SUMMARY\nThe worker  reported\nneck pain. No spasm.\n\nIMR ISSUES"
    start = text.index("The worker")
    reader = SummaryReader(text, Span(start, text.index("\n\nIMR")), "doc-1")
    assert [s.text for s in reader.sents] == ["The worker reported neck pain.", "No spasm."]
    ev = reader.ev(reader.sents[0].start, reader.sents[0].end)
    assert (ev.document, ev.quote) == ("doc-1", "The worker reported neck pain.")
    assert " ".join(text[ev.start:ev.end].split()) == ev.quote
    assert SummaryReader(text, None, "doc-1").sents == []
