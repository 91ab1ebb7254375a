"""The store (kg.store.store): cases written whole or not at all, read back exactly, refused where absent."""

from __future__ import annotations

import pytest
from casepaths import MET_CASE
from rdflib import Graph, Literal, URIRef

from kg.cli import main
from kg.errors import InputError
from kg.store.compaction import compact_store
from kg.store.store import GRAPH_NAMES, Store, graph_iri, open_store

P = URIRef("https://w3id.org/imr-kg/ont#note")


def _graph(case_id: str, *texts: str) -> Graph:
    g = Graph()
    for text in texts:
        g.add((URIRef(f"https://w3id.org/imr-kg/case/{case_id}/"), P, Literal(text)))
    return g


def _triples(store: Store, case_id: str, name: str) -> set[tuple]:
    return set(store.case_graph(case_id, name))


def test_put_case_then_case_ids_and_graphs():
    store = open_store("memory")
    assert store.case_ids() == [] and store.count() == 0
    store.put_case("c2", {"asserted": _graph("c2", "a"), "reviewer": _graph("c2", "r")})
    store.put_case("c1", {"asserted": _graph("c1", "a", "b")})
    assert store.case_ids() == ["c1", "c2"]
    assert Store.case_ids(store) == ["c1", "c2"]  # the SPARQL answer a remote store gives agrees
    assert _triples(store, "c1", "asserted") == set(_graph("c1", "a", "b"))
    assert _triples(store, "c2", "reviewer") == set(_graph("c2", "r"))
    assert _triples(store, "c1", "reviewer") == set()
    assert store.count() == 4
    store.put_case("c1", {"asserted": _graph("c1", "c")})  # replaces every graph of the case
    assert _triples(store, "c1", "asserted") == set(_graph("c1", "c")) and store.count() == 3
    store.delete_case("c2")
    assert store.case_ids() == ["c1"] and store.count() == 1


def test_graph_names_are_the_four_of_a_case():
    assert GRAPH_NAMES == ("asserted", "inferred", "determination", "reviewer")
    assert graph_iri("c1", "inferred") == URIRef("https://w3id.org/imr-kg/case/c1/graph/inferred")
    store = open_store("memory")
    store.put_case("c1", {"asserted": _graph("c1", "a")})
    with pytest.raises(ValueError, match=r"unknown graph names \['notes'\]"):
        store.put_case("c1", {"asserted": _graph("c1", "x"), "notes": _graph("c1", "y")})
    assert _triples(store, "c1", "asserted") == set(_graph("c1", "a"))


def test_a_failed_update_leaves_the_store_unchanged():
    store = open_store("memory")
    store.put_case("c1", {"asserted": _graph("c1", "a"), "reviewer": _graph("c1", "r")})
    # the last operation fails (no such graph), so the drop and the insert before it are undone
    with pytest.raises(RuntimeError):
        store.update(f"DROP GRAPH <{graph_iri('c1', 'asserted')}> ; "
                     "INSERT DATA { GRAPH <urn:x:g> { <urn:x:s> <urn:x:p> 1 } } ; "
                     "DROP GRAPH <urn:x:no-such-graph>")
    assert store.case_ids() == ["c1"] and store.count() == 2
    assert _triples(store, "c1", "asserted") == set(_graph("c1", "a"))


def test_a_failed_put_cases_writes_none_of_them():
    store = open_store("memory")
    store.put_case("c1", {"asserted": _graph("c1", "a")})
    bad = Graph()
    bad.add((URIRef("https://example.org/not an iri"), P, Literal("x")))  # cannot be written
    with pytest.raises(Exception, match="does not look like a valid URI"):
        store.put_cases({"c1": {"asserted": _graph("c1", "new")}, "c3": {"asserted": bad}})
    assert store.case_ids() == ["c1"]
    assert _triples(store, "c1", "asserted") == set(_graph("c1", "a"))


def test_open_store_without_create_refuses_a_folder_without_a_store(tmp_path):
    with pytest.raises(InputError, match="there is no store here"):
        open_store(tmp_path / "empty", create=False)
    assert not (tmp_path / "empty").exists()
    with open_store(tmp_path / "s") as store:
        store.put_case("c1", {"asserted": _graph("c1", "a")})
    with open_store(tmp_path / "s", create=False) as store:  # persistent
        assert store.case_ids() == ["c1"]


def test_compact_store(tmp_path):
    with open_store(tmp_path / "s") as store:
        store.put_case("c1", {"asserted": _graph("c1", "a")})
    done = compact_store(tmp_path / "s")
    assert done.done and done.location == str(tmp_path / "s") and done.size_after > 0
    assert compact_store("memory").done is False
    with open_store(tmp_path / "s") as store:
        assert store.case_ids() == ["c1"]


def test_reopen_keeps_the_data_and_opens_a_new_handle(tmp_path):
    """Reopening an on-disk store closes its database and opens the folder again: the cases written
    before are read back, later writes land; an in-memory store is left as it is (issue 20)."""
    with open_store(tmp_path / "s") as store:
        store.put_case("c1", {"asserted": _graph("c1", "a")})
        assert store.reopenable and store.reopen() is True
        store.put_case("c2", {"asserted": _graph("c2", "b")})
        assert store.reopen() is True
        assert store.case_ids() == ["c1", "c2"]
        held = store._store  # something else holding the handle: the database cannot be closed
        assert store.reopen() is False and store._store is held
        del held
        assert store.reopen() is True and store.case_ids() == ["c1", "c2"]
    with open_store("memory") as store:
        store.put_case("c1", {"asserted": _graph("c1", "a")})
        handle = store._store
        assert not store.reopenable and store.reopen() is False
        assert store._store is handle and store.case_ids() == ["c1"]


def test_cli_compact_exit_codes(tmp_path, capsys):
    store = str(tmp_path / "s")
    assert main(["ingest", str(MET_CASE), "--store", store, "--create", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["compact", "--store", store]) == 0
    assert f"imrkg compact: {store} compacted in " in capsys.readouterr().err
    assert main(["compact", "--store", "memory"]) == 0
    assert "nothing to compact (memory is not an on-disk embedded store)" in capsys.readouterr().err
    assert main(["compact", "--store", str(tmp_path / "none")]) == 2
    assert "there is no store here" in capsys.readouterr().err


# moved from tests/jobs/test_ingest.py: they test the store, not ingest
def test_bad_sparql_file_names_the_position(tmp_path, capsys):
    q = tmp_path / "bad.rq"
    q.write_text("# title: t\n# question: q\n# parameters: none\n# columns: c\nSELECT ?x WHERE { ?x ?y }\n")
    assert main(["query", str(q), "--store", "memory"]) == 2
    assert "not valid SPARQL" in capsys.readouterr().err


def test_unreachable_remote_store_exits_2(capsys):
    assert main(["query", "decisions-by-month", "--store", "http://127.0.0.1:9/sparql"]) == 2
    assert "cannot reach http://127.0.0.1:9/sparql" in capsys.readouterr().err
