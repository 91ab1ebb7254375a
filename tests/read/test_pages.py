"""Letter pages into one text: page numbers and page-edge lines repeated on most pages are dropped,
and a page break never makes a blank line of its own; a PDF that cannot be read is a LetterError."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from letterdata import SYNTHETIC_2016

from kg.errors import LetterError
from kg.read.letter import read_letter_text
from kg.read.pages import join_pages, pdf_pages


def test_page_noise_synthetic(tmp_path: Path) -> None:
    f = tmp_path / "synthetic.txt"
    f.write_text(SYNTHETIC_2016, encoding="utf-8")
    lt = read_letter_text(f)
    assert "SYNTHETIC FOOTER" not in lt.text
    assert "Page 3 of 4" not in lt.text
    assert len(lt.page_starts) == 4
    assert (lt.text, lt.page_starts) == join_pages(SYNTHETIC_2016.split("\f"))


def test_page_numbers_go_from_either_edge_and_the_text_between_stays() -> None:
    assert join_pages(["one\n\n2\n", "3\ntwo"]) == ("one\n\ntwo", (0, 5))
    assert join_pages(["- 1 -\nA\nPage 1 of 2\n", "B\n2 / 2\n"]) == ("A\nB\n", (0, 2))


def test_lines_repeated_at_the_edges_go_only_with_three_pages_or_more() -> None:
    assert join_pages(["HEADER\nA\n", "HEADER\nB\n", "HEADER\nC"]) == ("A\nB\nC", (0, 2, 4))
    assert join_pages(["HEADER\nA\n", "HEADER\nB"]) == ("HEADER\nA\nHEADER\nB", (0, 9))


def test_a_page_break_adds_a_newline_only_where_the_page_lacks_one() -> None:
    assert join_pages(["A", "B\n", "C"]) == ("A\nB\nC", (0, 2, 4))
    assert join_pages([]) == ("", ())


def test_pdf_bytes_that_do_not_parse_are_a_letter_error() -> None:
    with pytest.raises(LetterError) as info:
        pdf_pages(random.Random(7).randbytes(4096), "noise.pdf")
    assert info.value.source == "noise.pdf"
    assert "corrupt" in info.value.problem and info.value.hint
