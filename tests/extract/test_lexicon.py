"""The extraction lexicon (kg/extract/lexicon.toml): every entry is read by its module, and
every entry compiles."""

from __future__ import annotations

import re
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
        assert re.search(rf'\b(?:patterns?|rules)\(\s*"{area}",[^)]*"{name}"', source), (area, name)


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
