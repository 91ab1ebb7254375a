"""The guideline catalogue: every criterion citable, and each with a passing and a failing fixture.

Fixtures live in tests/data/criteria/*.yaml (format in its README).  This test fails when a
criterion of the packaged shapes has no fixture that meets it or none that fails it, and runs
every fixture, asserting the exact status of each criterion it names.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml
from casepaths import ROOT
from rdflib import RDF, Literal

from kg.engine.determine import determine_case
from kg.engine.validate import default_shapes, load_shapes
from kg.rdf import KG
from kg.read.casefile import parse_case

FIXTURES = ROOT / "tests" / "data" / "criteria"
MTUS = "https://w3id.org/imr-kg/mtus/"


def _expand(iri: str) -> str:
    return MTUS + iri[len("mtus:"):] if iri.startswith("mtus:") else iri


def _walk(data: Any, path: str, *, create_last: bool = False) -> tuple[Any, Any]:
    """(container, key) for a dotted path with [n] or [id] list selectors."""
    parts = re.findall(r"[^.\[\]]+|\[[^\]]+\]", path)
    node: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part.startswith("["):
            sel = part[1:-1]
            key: Any = int(sel) if sel.isdigit() else next(
                n for n, item in enumerate(node) if isinstance(item, dict) and item.get("id") == sel)
        else:
            key = part
        if last:
            return node, key
        node = node[key]
    raise ValueError(path)


def build(entry: dict[str, Any]) -> dict[str, Any]:
    if "base" in entry:
        case = yaml.safe_load((ROOT / entry["base"]).read_text(encoding="utf-8"))
    else:
        case = copy.deepcopy(entry["case"])
    for path, value in (entry.get("set") or {}).items():
        container, key = _walk(case, path)
        container[key] = value
    for path in entry.get("delete") or []:
        container, key = _walk(case, path)
        del container[key]
    for path, value in (entry.get("append") or {}).items():
        container, key = _walk(case, path)
        container.setdefault(key, []).append(value)
    return case


def fixtures() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(FIXTURES.glob("*.yaml")):
        for entry in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]:
            out.append((f"{path.stem}: {entry['name']}", entry))
    return out


FIXTURE_LIST = fixtures()


@pytest.mark.parametrize("name,entry", FIXTURE_LIST, ids=[n for n, _ in FIXTURE_LIST])
def test_fixture(name, entry):
    shapes = load_shapes(ROOT / entry["shapes"]) if entry.get("shapes") else None
    det = determine_case(parse_case(build(entry), source=name), shapes=shapes)
    got = {a.criterion: a.status for item in det.items for a in item.assessments}
    for criterion, status in entry["expect"].items():
        assert got.get(_expand(criterion)) == status, (criterion, got)
    if "conclusion" in entry:
        assert {i.conclusion for i in det.items} == {entry["conclusion"]}


def test_every_criterion_has_a_passing_and_a_failing_fixture():
    g = default_shapes().graph
    criteria = {str(c) for c in g.subjects(RDF.type, KG.Criterion)}
    # a criterion encoding a guideline's "not recommended" for the whole service no record can meet
    never_met = {str(c) for c in g.subjects(KG.notRecommended, Literal(True))}
    passing, failing = set(), set()
    for _, entry in FIXTURE_LIST:
        for criterion, status in entry["expect"].items():
            (passing if status == "met" else failing).add(_expand(criterion))
    assert sorted(criteria - never_met - passing) == [], "criteria without a passing fixture"
    assert sorted(never_met & passing) == [], "a 'not recommended' criterion met by a fixture"
    assert sorted(criteria - failing) == [], "criteria without a failing fixture"
    assert len(criteria) >= 9


def test_every_fixture_names_a_real_criterion():
    g = load_shapes(ROOT / "tests" / "data" / "shapes").graph
    criteria = {str(c) for c in g.subjects(RDF.type, KG.Criterion)}
    for name, entry in FIXTURE_LIST:
        for criterion in entry["expect"]:
            assert _expand(criterion) in criteria, (name, criterion)
