"""The evidence graph of a determined case (kg.viz.evidence): its nodes and paths, the same from a
store as in memory, and no path of the machine in it or in anything drawn from it."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest
from casepaths import corpus_store
from rdflib import Literal

from kg.rdf import KG
from kg.viz.draw import audit_svg, graphml
from kg.viz.evidence import evidence_graph
from kg.viz.pages import audit_html
from kg.viz.report import report_html

ROOT = Path(__file__).resolve().parents[2]
LETTERS = Path(__file__).resolve().parents[3] / "shared" / "letters"


def test_seed_evidence_graph_has_exactly_the_expected_nodes_and_paths(seed_graph, seed_nodes, seed_status):
    g = seed_graph
    assert set(g.nodes) == seed_nodes and g.number_of_nodes() == 31 and g.number_of_edges() == 32
    assert g.graph["case_id"] == "seed-tpi-2015"
    assert {n: g.nodes[f"criterion:req-tpi/{n}"]["status"] for n in range(1, 9)} == seed_status
    assert g.nodes["decision:req-tpi"]["conclusion"] == "not_medically_necessary"
    assert g.nodes["reviewer:req-tpi"]["decision"] == "upheld"
    assert g.nodes["decision:req-tpi"]["agreement"] == "agrees"
    assert g.nodes["guideline:req-tpi"]["version_label"] == "MTUS Chronic Pain Medical Treatment Guidelines (2009)"
    quote = g.nodes["quote:seed-letter@1290-1314"]
    assert (quote["exact"], quote["file"], quote["start"], quote["end"]) == (
        "and cervical radiculitis", "seed-trigger-point-2015.txt", 1290, 1314)
    # the path from the decision to the evidence the reviewer did not use (criterion 4)
    assert nx.shortest_path(g, "decision:req-tpi", "quote:seed-letter@2165-2235") == [
        "decision:req-tpi", "guideline:req-tpi", "criterion:req-tpi/4", "fact:f-sensation-c3-c4",
        "quote:seed-letter@2165-2235"]
    assert list(g.successors("criterion:req-tpi/6")) == []
    # a fact with values derived by the reasoner is told apart
    assert "symptomDocumentedDays = 100" in g.nodes["fact:req-tpi"]["derived"]
    assert {g.nodes[n]["graph"] for n in g if n.startswith("fact:")} == {"asserted"}


def test_the_store_gives_the_same_graph_as_the_case_in_memory(seed_cg, seed_graph):
    from kg.engine.determine import determine_case
    from kg.store.store import case_graphs, open_store

    store = open_store("memory")
    store.ensure_guidelines()
    store.put_case(seed_cg.case_id, case_graphs(seed_cg, determine_case(seed_cg)))
    stored = evidence_graph(store, "seed-tpi-2015")
    assert graphml(stored) == graphml(seed_graph)
    assert audit_html(store, "seed-tpi-2015") == audit_html(seed_graph)
    with pytest.raises(KeyError):
        evidence_graph(store, "no-such-case")


def test_no_path_of_the_machine_in_any_output(seed_cg, seed_graph):
    from kg.engine.graph import CaseGraph

    asserted = seed_cg.asserted + seed_cg.asserted.__class__()
    for doc in list(asserted.subjects(KG.fileName, None)):
        asserted.set((doc, KG.fileName, Literal(str(LETTERS / "seed-trigger-point-2015.txt"))))
    moved = evidence_graph(CaseGraph(case_id=seed_cg.case_id, iri=seed_cg.iri, asserted=asserted,
                                     reviewer=seed_cg.reviewer))
    store = corpus_store()
    outputs = [audit_html(g) + audit_svg(g) + graphml(g) for g in (seed_graph, moved)]
    outputs.append(report_html(store))
    forbidden = {str(ROOT), str(ROOT.parent), str(LETTERS), str(Path.home()), "file:", "/tmp/"}
    for text in outputs:
        for bad in forbidden:
            assert bad not in text
    assert graphml(moved) == graphml(seed_graph)  # the file name only, wherever it was read
