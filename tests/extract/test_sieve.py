"""The literal sieve in front of the extractors' regexes (kg/extract/sieve.py): the literals it reads
from a pattern, and answers equal to the plain pattern's on any text, ASCII or not."""

from __future__ import annotations

import re
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kg.extract import sieve
from kg.extract.case import _ICD_RX, _STUDY_RX
from kg.extract.text import DATE_RX, REGION_RX

#: patterns of the extractors (and some forms the sieve must read with care)
PATTERNS: list[tuple[str, int]] = [
    *((rx.pattern, rx.flags) for _, rx in _STUDY_RX),
    *((rx.pattern, rx.flags) for rx, _, _ in _ICD_RX[:12]),
    *((rx.pattern, rx.flags) for _, rx, _ in REGION_RX),
    *((rx.pattern, rx.flags) for _, _, rx in REGION_RX if rx is not None),
    (DATE_RX, re.I),
    (r"x-?rays?|radiographs?|radiographic", re.I),
    (r";|\bbut\b|\bhowever\b", re.I),
    (r"(?<![\w-])tizanidine(?![\w-])", re.I),
    (r"(?i:mri) scan", 0),
    (r"MRI (?-i:of) knee", re.I),
    (r"(?i)spine", 0),
    (r"(?:ab)+c|d{2,}", 0),
    (r"(?=knee)\w+", re.I),
]

ALPHABET = "abcdegiklmnoprstuyxACDEGIKLMNRSTUX -/.;,0123456789\u017f\u212a\u0130\u00e9"


def test_required_literals():
    assert sieve.required_literals(r"\bMRI\b|magnetic resonance imaging", re.I) == ("magnetic resonance imaging", "mri")
    assert sieve.required_literals(r"bone scan") == ("bone scan",)
    assert sieve.required_literals(r"(?:ab)+c|dd+") == ("ab", "d")
    assert sieve.required_literals(r"[a-z]+\d") is None
    assert sieve.required_literals(r"knee|\w+") is None  # an alternative with no literal: nothing is required


def test_a_group_that_changes_the_case_flag_or_a_lookaround_gives_no_literal():
    assert sieve.required_literals(r"(?i:mri) scan") == (" scan",)
    assert sieve.required_literals(r"(?i:mri)") is None
    assert sieve.required_literals(r"(?=knee)\w+", re.I) is None
    assert sieve.required_literals("caf\u00e9", re.I) is None  # ignoring case, only ASCII literals
    assert sieve.required_literals("caf\u00e9") == ("caf\u00e9",)


def test_a_pattern_with_no_literal_is_the_plain_pattern():
    assert isinstance(sieve.compile(r"\s+"), re.Pattern)
    rx = sieve.compile(r"\bMRI\b", re.I)
    assert isinstance(rx, sieve.SievedPattern) and rx.pattern == r"\bMRI\b" and rx.flags & re.I


def test_the_module_functions_take_compiled_patterns_and_refuse_flags_with_them():
    rx = sieve.compile(r"knee", re.I)
    assert sieve.search(rx, "Left KNEE").group() == "KNEE"
    assert sieve.sub(r"\s+", " ", "a \n b") == "a b"
    with pytest.raises(ValueError, match="flags"):
        sieve.search(rx, "knee", re.I)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PATTERNS), st.lists(st.one_of(st.text(ALPHABET, max_size=12),
                                                     st.sampled_from(["MRI", "mri", "Knee", "x-ray", "L4-5", " but ",
                                                                      "10-13-16", "October 2, 2016", "neck",
                                                                      "tizanidine"])), max_size=8),
       st.integers(-3, 40), st.integers(-3, 60))
def test_the_sieve_answers_what_the_pattern_answers(pattern, pieces, pos, endpos):
    text = "".join(pieces)
    plain, sieved = re.compile(pattern[0], pattern[1]), sieve.compile(*pattern)

    def spans(ms):
        return [m.span() for m in ms]

    for a, b in ((0, sys.maxsize), (pos, endpos)):
        assert spans([sieved.search(text, a, b)] if sieved.search(text, a, b) else []) == \
            spans([plain.search(text, a, b)] if plain.search(text, a, b) else [])
        assert spans(sieved.finditer(text, a, b)) == spans(plain.finditer(text, a, b))
        assert bool(sieved.match(text, a, b)) == bool(plain.match(text, a, b))
        assert bool(sieved.fullmatch(text, a, b)) == bool(plain.fullmatch(text, a, b))
        assert sieved.findall(text, a, b) == plain.findall(text, a, b)
    assert sieved.sub("#", text) == plain.sub("#", text)
    assert sieved.subn("#", text) == plain.subn("#", text)
    assert sieved.split(text) == plain.split(text)
