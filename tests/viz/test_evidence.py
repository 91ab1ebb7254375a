"""The evidence graph of a determined case (kg.viz.evidence): its nodes and paths, the same from a
store as in memory, and no path of the machine in it or in anything drawn from it."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest
from casepaths import LETTERS, corpus_store, needs_letters
from rdflib import Literal

from kg.rdf import KG
from kg.viz.draw import audit_svg, graphml
from kg.viz.evidence import evidence_graph
from kg.viz.pages import audit_html
from kg.viz.report import report_html

ROOT = Path(__file__).resolve().parents[2]


@needs_letters
def test_seed_evidence_graph_has_exactly_the_expected_nodes_and_paths(seed_graph, seed_nodes, seed_status):
    g = seed_graph
    assert set(g.nodes) == seed_nodes and g.number_of_nodes() == 36 and g.number_of_edges() == 43
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
    # a fact with values derived by the reasoner is told apart, with the facts each was computed from
    assert "symptomDocumentedDays = 100" in g.nodes["fact:req-tpi"]["derived"]
    inputs = {(e["derived"], e["value"], g.nodes[i]["property"], g.nodes[i]["value"])
              for _, i, e in g.out_edges("fact:req-tpi", data=True) if e["relation"] == "computed_from"}
    days = g.nodes["fact:req-tpi"]["derived"].split("daysSinceInjury = ")[1].split(";")[0]
    assert inputs == {("daysSinceInjury", days, "injuryDate", "2010-06-26"),
                      ("daysSinceInjury", days, "requestDate", "2015-08-12"),
                      ("symptomDocumentedDays", "100", "documentedSince", "2015-05-04"),
                      ("symptomDocumentedDays", "100", "requestDate", "2015-08-12")}
    assert days == "1873"  # 2010-06-26 to 2015-08-12
    injury = g.nodes["quote:seed-letter@1090-1136"]
    assert list(g.predecessors("quote:seed-letter@1090-1136")) == ["input:daysSinceInjury/injury#injuryDate"]
    assert injury["exact"] == "sustained an industrial-work injury on 6-26-10"
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


def _stored(case) -> object:
    """A memory store holding ``case`` (a case-file mapping), determined by the reference engine."""
    from kg.engine.determine import determine_case
    from kg.engine.graph import build_case_graph
    from kg.read.casefile import parse_case
    from kg.store.store import case_graphs, open_store

    cg = build_case_graph(parse_case(case))
    store = open_store("memory")
    store.ensure_guidelines()
    store.put_case(cg.case_id, case_graphs(cg, determine_case(cg)))
    return store


def test_a_fact_that_did_not_count_says_why_from_the_stored_graph_to_the_audit_page():
    from casepaths import edx_notes_case

    store = _stored(edx_notes_case())
    g = evidence_graph(store, "edx-notes")
    assert g.nodes["criterion:r1/2"]["status"] == "not_documented"
    notes = {f: e["not_counted"] for _, f, e in g.out_edges("criterion:r1/2", data=True)}
    assert notes == {"fact:f-hand": "recorded for the forearm, wrist and hand, not the region or limb of the request",
                     "fact:f-sens": "documented absent or normal, so it does not show what the criterion needs"}
    page = audit_html(store, "edx-notes")
    detail = page.split('<div class="detail" data-criterion="r1/2" hidden>')[1].split('<div class="detail"')[0]
    hand = detail.split('data-fact="fact:f-hand">')[1].split("</div>")[0]
    assert ('<p class="not-counted"><strong>Did not count for criterion 2:</strong> recorded for the forearm, '
            "wrist and hand, not the region or limb of the request.</p>") in hand
    sens = detail.split('data-fact="fact:f-sens">')[1].split("</div>")[0]
    assert ('<p class="not-counted"><strong>Did not count for criterion 2:</strong> documented absent or normal, '
            "so it does not show what the criterion needs.</p>") in sens
    assert page.count('class="not-counted"') == sum(
        1 for _, _, e in g.edges(data=True) if e.get("not_counted"))


@needs_letters
def test_each_derived_value_shows_the_dated_facts_and_quotes_it_was_computed_from(seed_graph):
    page = audit_html(seed_graph, letter_href="letter")
    detail = page.split('<div class="detail" data-criterion="req-tpi/2" hidden>')[1].split('<div class="detail"')[0]
    days = detail.split('<div class="derived" data-derived="daysSinceInjury">')[1].split("</ul></div>")[0]
    assert days.startswith("<p><strong>days from the injury to the request: 1873</strong> (worked out by the "
                           "engine, not stated in the letter). Days from the date of injury to the request date")
    injury = days.split('<li data-input="injuryDate">')[1].split("</li>")[0]
    assert injury.startswith("date of injury <strong>2010-06-26</strong> (industrial injury)")
    assert ('<blockquote class="quote">sustained an industrial-work injury on 6-26-10</blockquote><cite>'
            '<a href="letter#:~:text=sustained%20an%20industrial-work%20injury%20on%206-26-10">'
            "seed-trigger-point-2015.txt, characters 1090\u20131136</a></cite>") in injury
    request = days.split('<li data-input="requestDate">')[1].split("</li>")[0]
    assert request.startswith("request date <strong>2015-08-12</strong>")
    assert "The request for authorization date was 8-12-15" in request


def test_the_guideline_kind_is_shown_per_section():
    mtus = audit_html(_stored({"case": "k-mtus", "requests": [
        {"id": "r1", "service": "trigger_point_injection", "text": "TPI", "date": "2015-01-05"}]}), "k-mtus")
    assert ('<p class="guideline">Guideline kind: <strong>MTUS</strong> (the Medical Treatment Utilization '
            "Schedule). Guideline applied: MTUS Chronic Pain Medical Treatment Guidelines (2009)") in mtus
    odg = audit_html(_stored({"case": "k-odg", "requests": [
        {"id": "r1", "service": "mobility_aid", "text": "Standard wheelchair", "date": "2017-01-05"}]}), "k-odg")
    assert ('<p class="guideline">Guideline kind: <strong>Outside the MTUS</strong>: the MTUS does not address '
            "this service, so under Labor Code 4610.5(c)(2) the engine used Official Disability Guidelines (ODG), "
            "Work Loss Data Institute (Labor Code 4610.5(c)(2)") in odg
