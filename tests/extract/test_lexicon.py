"""The extraction lexicon (kg/extract/lexicon.toml): every entry is read by its module, every
entry compiles, and importing the extractors reads none of it."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from kg.extract import lexicon

EXTRACT = Path(lexicon.__file__).parent


def _entries() -> list[tuple[str, str]]:
    data = tomllib.loads(lexicon.LEXICON_FILE.read_text(encoding="utf-8"))
    return [(area, name) for area, section in data.items() for name in section]


def test_each_section_is_a_module_and_each_entry_is_read_by_it() -> None:
    entries = _entries()
    assert len(entries) >= 40
    for area, name in entries:
        source = (EXTRACT / f"{area}.py").read_text(encoding="utf-8")
        assert re.search(rf'\b(?:LazyPattern|lazy_patterns|LazyMentions)\(\s*"{area}",[^)]*"{name}"', source), \
            (area, name)


@pytest.mark.parametrize(("area", "name"), _entries())
def test_each_entry_compiles(area: str, name: str) -> None:
    data = tomllib.loads(lexicon.LEXICON_FILE.read_text(encoding="utf-8"))
    if isinstance(data[area][name], list) and data[area][name] and isinstance(data[area][name][0], dict):
        rows = lexicon.rules(area, name)
        assert rows and all(mode in ("sign", "test", "function") for _, _, mode in rows)
        for kind, rx, _ in rows:
            assert re.compile(rx), kind
    else:
        assert lexicon.pattern(area, name).flags & re.I


def test_an_unknown_entry_is_named() -> None:
    with pytest.raises(KeyError, match=r"has no \[imaging\] nothing"):
        lexicon.pattern("imaging", "nothing")


def test_a_piece_that_is_not_text_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexicon, "_lexicon", lambda: {"imaging": {"skip": [1, 2]}})
    with pytest.raises(ValueError, match=r"\[imaging\] skip must be a string or a list of strings"):
        lexicon.pattern("imaging", "skip")


def test_importing_the_extractors_reads_no_lexicon() -> None:
    """The area modules hold lazy patterns: the file is read on the first match, not at import."""
    code = ("import kg.cli, kg.jobs.ingest, kg.extract.case, kg.extract.text, kg.extract.imaging,"
            " kg.extract.therapy, kg.extract.medication, kg.extract.procedures, kg.extract.treatments;"
            "from kg.extract import lexicon;"
            "before = lexicon._lexicon.cache_info().currsize;"
            "lexicon.LazyPattern('imaging', 'skip').search('utilization review');"
            "print(before, lexicon._lexicon.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "1"]


def test_a_lazy_pattern_matches_as_its_compiled_pattern() -> None:
    lazy, rx = lexicon.LazyPattern("text", "clause_break"), lexicon.pattern("text", "clause_break")
    text = "Tenderness was noted; there was no spasm, but the gait was antalgic"
    assert [m.span() for m in lazy.finditer(text)] == [m.span() for m in rx.finditer(text)] != []
    assert lazy.split(text) == rx.split(text)
    assert lazy.compiled.pattern == rx.pattern
    assert lazy.search == lazy.compiled.search  # after the first use, the compiled pattern's own method


def test_lazy_mentions_are_the_rule_table_anchored_at_a_word_start() -> None:
    rows = lexicon.rules("case", "finding_rules")
    mentions = list(lexicon.LazyMentions("case", "finding_rules"))
    assert [(kind, rx.pattern, rx.flags & re.I, mode) for kind, rx, mode in mentions] == \
        [(kind, rf"\b(?:{rx})", re.I, mode) for kind, rx, mode in rows]


# Text built to make a backtracking regex explode: runs of the tokens the patterns are made of
# (numbers, doses, sides, study names, frequency words, spaces and punctuation).  A few thousand
# characters each: enough for exponential backtracking to take minutes, short enough that a
# pattern linear or quadratic in the text (a bounded repeat, a scan to the next comma) stays fast.
HOSTILE = tuple(token * (3_000 // len(token)) for token in (
    "1 ", "a", " ", "- ", "10/325 mg ", "#60 ", "x-ray of the ", "right left ", "twice a day for ", "1 refill ",
    "normal ", "was obtained, ", "MRI ", "(", "lidocaine ", "trigger point ", "evaluation "))


def _all_regexes() -> list[tuple[str, re.Pattern[str]]]:
    from kg.extract.services import _SERVICE_RX

    out = []
    for area, name in _entries():
        data = tomllib.loads(lexicon.LEXICON_FILE.read_text(encoding="utf-8"))[area][name]
        if isinstance(data, list) and data and isinstance(data[0], dict):
            out += [(f"[[{area}.{name}]] {kind}", re.compile(rx, re.I)) for kind, rx, _ in lexicon.rules(area, name)]
        else:
            out.append((f"[{area}] {name}", lexicon.pattern(area, name)))
    return out + [(f"service {kind}", rx) for kind, rx in _SERVICE_RX]


def test_no_pattern_backtracks_on_hostile_text() -> None:
    import time

    # a hang guard, not a speed figure: each pattern scans the hostile texts (about 50 kB) in
    # milliseconds; a pattern with catastrophic backtracking takes minutes or more
    slow = []
    for where, rx in _all_regexes():
        start = time.perf_counter()
        for text in HOSTILE:
            for _ in rx.finditer(text):
                pass
        if time.perf_counter() - start > 5:
            slow.append(where)
    assert not slow, f"patterns that backtrack on hostile text: {slow}"
