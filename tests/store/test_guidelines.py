"""The guidelines graph: what ``ensure_guidelines`` writes is the packaged ontology and shapes."""

from __future__ import annotations

from pathlib import Path

from rdflib import BNode, Graph

from kg.engine.reason import load_ontology
from kg.engine.validate import default_shapes
from kg.store.store import GUIDELINES_GRAPH, LocalStore, Store


def _stored(store: LocalStore) -> Graph:
    res = store.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{GUIDELINES_GRAPH}> {{ ?s ?p ?o }} }}")
    assert res.graph is not None
    return res.graph


def _split(g: Graph) -> tuple[set[tuple[object, ...]], list[tuple[str, ...]]]:
    """The graph's ground triples, and its triples with a blank node with the node's label blanked."""
    ground, blank = set(), []
    for t in g:
        if any(isinstance(n, BNode) for n in t):
            blank.append(tuple("_" if isinstance(n, BNode) else n.n3() for n in t))
        else:
            ground.add(t)
    return ground, sorted(blank)


def test_the_fast_load_writes_the_packaged_graph(tmp_path: Path) -> None:
    """The embedded store's N-Quads load (pyoxigraph's parse) gives the same graph as rdflib's
    parse of the same files, on a fresh store and when it replaces what the graph held."""
    expected = _split(load_ontology() + default_shapes().graph)
    store = LocalStore(tmp_path / "store")
    store.ensure_guidelines()
    assert _split(_stored(store)) == expected
    store.update(f"INSERT DATA {{ GRAPH <{GUIDELINES_GRAPH}> {{ <urn:x:stale> <urn:x:p> 1 }} }}")
    store.ensure_guidelines()  # replaces: the stale triple goes, nothing doubles
    assert _split(_stored(store)) == expected
    reference = LocalStore(None)
    Store.ensure_guidelines(reference)  # the generic path every store has (rdflib's graph as an update)
    assert _split(_stored(reference)) == expected
    store.close()
