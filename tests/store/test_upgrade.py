"""A store written before the per-item summaries: the query library refuses it and names the fix,
and ``imrkg upgrade`` adds exactly the triples imr-kg writes today, once."""

from __future__ import annotations

import subprocess
import sys

import pyoxigraph as ox
import pytest
from casepaths import LETTERS, require_letters

from kg.engine.determine import determine_case
from kg.engine.graph import build_case_graph
from kg.errors import InputError
from kg.rdf import KG
from kg.read.casefile import parse_case
from kg.store.query import run_query
from kg.store.store import case_graphs, open_store
from kg.store.upgrade import SUMMARY_TERMS, lacks_summaries, upgrade_store

#: letters whose requests the engine determines under a section (most of the corpus is "not covered")
DETERMINED = ("CM16-0238035", "CM17-0002892", "CM17-0006797", "CM17-0014449", "CM17-0015957")
SUMMARIES = {str(t) for t in SUMMARY_TERMS}


def _count(store, predicate: str) -> int:
    return int(str(store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s <{predicate}> ?o }}").rows[0][0]))


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """An on-disk store written today: ten real letters and a case decided outside the MTUS (a
    determination with an evidence step), with its quads."""
    require_letters()
    from kg.jobs.ingest import ingest

    where = tmp_path_factory.mktemp("fresh") / "store"
    letters = sorted(LETTERS.glob("*.pdf"))[:5] + [LETTERS / f"{n}.pdf" for n in DETERMINED]
    with open_store(where) as s:
        assert ingest(letters, s).errors == ()
        case = parse_case({"case": "odg-dme", "requests": [
            {"id": "r1", "service": "mobility_aid", "text": "Standard wheelchair", "date": "2017-01-05",
             "imr": {"decision": "upheld", "date": "2017-03-01"}}]}, source="t")
        cg = build_case_graph(case)
        s.put_case(cg.case_id, case_graphs(cg, determine_case(cg)))
    store = ox.Store.read_only(str(where))
    quads = set(store)
    del store
    return where, quads


@pytest.fixture()
def old(fresh, tmp_path):
    """The fresh store's quads without the summaries, as an earlier imr-kg wrote them, on disk."""
    _, quads = fresh
    where = tmp_path / "old"
    s = ox.Store(str(where))
    s.bulk_extend(q for q in quads if q.predicate.value not in SUMMARIES)
    s.flush()
    del s
    return where


def test_a_store_written_today_has_one_summary_per_determination_and_decision(fresh):
    where, quads = fresh
    with open_store(where, create=False) as s:
        assert not lacks_summaries(s)
        assert _count(s, str(KG.determinationSummary)) == _count(s, str(KG.determinationFor)) == 41
        assert _count(s, str(KG.reviewOutcome)) == _count(s, str(KG.outcomeByServiceKind)) \
            == _count(s, str(KG.hasIMRDecision)) == 41
        dated = _count(s, str(KG.outcomeByMonth))
        assert dated == int(str(s.query("PREFIX kg: <https://w3id.org/imr-kg/ont#> SELECT (COUNT(*) AS ?n) "
                                        "WHERE { ?i kg:imrOutcome ?o ; kg:decisionDate ?d }").rows[0][0])) == 41
        assert _count(s, str(KG.outcomeBySpecialty)) == _count(s, str(KG.reviewerSpecialty)) == 40
        assert _count(s, str(KG.citationBasisByDate)) == 41
        both_dated = int(str(s.query(
            "PREFIX kg: <https://w3id.org/imr-kg/ont#> SELECT (COUNT(*) AS ?n) WHERE { ?r kg:hasURDecision ?u ; "
            "kg:hasIMRDecision ?i . ?u kg:decisionDate ?d1 . ?i kg:decisionDate ?d2 }").rows[0][0]))
        assert _count(s, str(KG.daysFromURToIMR)) == both_dated == 40
        failing = int(str(s.query(
            "PREFIX kg: <https://w3id.org/imr-kg/ont#> SELECT (COUNT(*) AS ?n) WHERE "
            "{ ?a kg:status ?st FILTER(?st IN (kg:NotMet, kg:NotDocumented)) }").rows[0][0]))
        assert _count(s, str(KG.notMetCriterion)) + _count(s, str(KG.notDocumentedCriterion)) == failing > 0
    odg = [q for q in quads if q.subject.value == "https://w3id.org/imr-kg/case/odg-dme/r1"
           and q.predicate.value in SUMMARIES]
    got = {(q.predicate.value.rsplit("#", 1)[1], q.object.value) for q in odg}
    kg = str(KG)
    assert got == {
        ("reviewOutcome", f"{kg}Upheld"),
        ("outcomeByMonth", f"{kg}Upheld|2017-03"),
        ("outcomeByServiceKind", f"{kg}Upheld|{kg}MobilityAid"),
        ("citationBasisByDate", f"{kg}NoCitation|2017-03-01"),  # no citation, and no UR decision: no days
        ("determinationSummary", next(q.object.value for q in odg if q.predicate.value.endswith("nSummary"))),
    }
    summary = next(v for p, v in got if p == "determinationSummary").split("|")
    assert summary[:2] == [f"{kg}NotMedicallyNecessary", f"{kg}OutsideMTUSGuideline"]
    assert summary[4].startswith("Labor Code 4610.5(c)(2)")


def test_the_library_refuses_an_old_store_and_names_the_upgrade(old):
    with open_store(old, create=False) as s:
        assert lacks_summaries(s)
        with pytest.raises(InputError, match=r"earlier imr-kg.*imrkg upgrade --store"):
            run_query(s, "decisions-by-section")
        # a query that reads no summary still answers
        assert run_query(s, "determination-stamps").rows
    cli = subprocess.run([sys.executable, "-m", "kg.cli", "query", "engine-reviewer-confusion", "--store", str(old)],
                         capture_output=True, text=True)
    assert cli.returncode == 2 and "imrkg upgrade" in cli.stderr and cli.stdout == ""


def test_upgrade_adds_exactly_what_is_written_today_and_only_once(fresh, old):
    _, quads = fresh
    cli = subprocess.run([sys.executable, "-m", "kg.cli", "upgrade", "--store", str(old)],
                         capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    assert "summaries added" in cli.stderr and "41 determination summaries and 41 reviewer outcomes" in cli.stderr
    store = ox.Store.read_only(str(old))
    assert set(store) == quads
    del store
    again = upgrade_store(old)
    assert (again.needed, again.determination_summaries, again.review_summaries) == (False, 41, 41)
    store = ox.Store.read_only(str(old))
    assert set(store) == quads


def test_a_store_upgraded_before_the_paging_summaries_is_upgraded_again(fresh, tmp_path):
    """A store holding the aggregate summaries but not the list queries' ones (an upgrade of an
    earlier version): refused by the list query, and the upgrade adds exactly those."""
    _, quads = fresh
    paging = {str(KG.citationBasisByDate), str(KG.daysFromURToIMR)}
    where = tmp_path / "half"
    s = ox.Store(str(where))
    s.bulk_extend(q for q in quads if q.predicate.value not in paging)
    s.flush()
    del s
    with open_store(where, create=False) as st:
        assert lacks_summaries(st)
        with pytest.raises(InputError, match="imrkg upgrade"):
            run_query(st, "days-ur-to-imr", {"limit": "5"})
    assert upgrade_store(where).needed
    store = ox.Store.read_only(str(where))
    assert set(store) == quads
    del store
