"""The evidence graph of a determined case, its exports (GraphML, SVG, PNG, audit page), the corpus
report and the endpoint's picture routes."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import networkx as nx
import pytest
from rdflib import Literal, URIRef

from kg.rdf import KG, OA
from kg.jobs.ingest import read_input
from kg.store.query import run_query
from kg.viz import visualize as vis

from casepaths import corpus_store

ROOT = Path(__file__).resolve().parents[2]
LETTERS = Path(__file__).resolve().parents[3] / "shared" / "letters"
SEED = ROOT / "examples" / "seed-trigger-point-2015.yaml"
SVG = "{http://www.w3.org/2000/svg}"

SEED_NODES = {
    "case", "request:req-tpi", "decision:req-tpi", "reviewer:req-tpi", "guideline:req-tpi",
    *(f"criterion:req-tpi/{n}" for n in range(1, 9)),
    "fact:f-trigger-points", "fact:req-tpi", "fact:sx-neck-pain", "fact:tx-hep", "fact:tx-pt", "fact:dx-radiculitis",
    "fact:f-sensation-c3-c4", "fact:req-tpi/service",
    *(f"quote:seed-letter@{span}" for span in ("1958-2028", "2300-2376", "3161-3207", "3239-3312", "1392-1425",
                                               "1727-1817", "2653-2674", "2499-2532", "1290-1314", "2165-2235")),
}
SEED_STATUS = {1: "not_documented", 2: "met", 3: "not_documented", 4: "not_met", 5: "not_documented",
               6: "not_applicable", 7: "not_applicable", 8: "not_documented"}
COLOURS = {"met": "#2e7d32", "not_met": "#c62828", "not_documented": "#e65100", "not_applicable": "#757575"}


@pytest.fixture(scope="module")
def seed_cg():
    return read_input(SEED)


@pytest.fixture(scope="module")
def seed_graph(seed_cg):
    return vis.evidence_graph(seed_cg)


def test_seed_evidence_graph_has_exactly_the_expected_nodes_and_paths(seed_graph):
    g = seed_graph
    assert set(g.nodes) == SEED_NODES and g.number_of_nodes() == 31 and g.number_of_edges() == 32
    assert g.graph["case_id"] == "seed-tpi-2015"
    assert {n: g.nodes[f"criterion:req-tpi/{n}"]["status"] for n in range(1, 9)} == SEED_STATUS
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


def test_graphml_parses_and_holds_the_nodes(seed_graph, tmp_path):
    out = tmp_path / "seed.graphml"
    vis.write_graphml(seed_graph, out)
    back = nx.read_graphml(out)
    assert set(back.nodes) == SEED_NODES and back.number_of_edges() == 32
    assert back.nodes["criterion:req-tpi/4"]["status"] == "not_met"
    assert back.nodes["quote:seed-letter@1290-1314"]["start"] == 1290
    root = ET.parse(out).getroot()
    ns = "{http://graphml.graphdrawing.org/xmlns}"
    assert len(root.findall(f".//{ns}node")) == 31 and len(root.findall(f".//{ns}edge")) == 32


def _svg_nodes(text: str) -> dict[str, ET.Element]:
    root = ET.fromstring(text.encode("utf-8"))
    return {g.get("data-node"): g for g in root.iter(f"{SVG}g") if g.get("data-node")}


def test_static_svg_parses_and_draws_every_node_with_its_status_colour(seed_graph):
    text = vis.audit_svg(seed_graph)
    nodes = _svg_nodes(text)
    drawn = {n for n in nodes if not n.startswith("legend:")}
    assert drawn == SEED_NODES - {"case"} and len(drawn) == 30
    for number, status in SEED_STATUS.items():
        g = nodes[f"criterion:req-tpi/{number}"]
        assert g.get("data-status") == status
        assert g.find(f"{SVG}rect").get("fill") == COLOURS[status]
    root = ET.fromstring(text.encode("utf-8"))
    edges = [p for p in root.iter(f"{SVG}path") if "edge" in (p.get("class") or "")]
    assert len(edges) == 30  # all 32 but case->request (the title) and engine->reviewer (side by side)
    assert "and cervical radiculitis" in nodes["quote:seed-letter@1290-1314"].find(f"{SVG}title").text


def test_png_is_a_png_of_the_picture_size(seed_graph):
    from PIL import Image
    import io

    data = vis.audit_png(seed_graph)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    lay = vis.layout(seed_graph)
    assert Image.open(io.BytesIO(data)).size == (round(lay.width), round(lay.height))
    assert vis.audit_png(seed_graph) == data


def test_the_store_gives_the_same_graph_as_the_case_in_memory(seed_cg, seed_graph):
    from kg.engine.determine import determine_case
    from kg.store.store import case_graphs, open_store

    store = open_store("memory")
    store.ensure_guidelines()
    store.put_case(seed_cg.case_id, case_graphs(seed_cg, determine_case(seed_cg)))
    stored = vis.evidence_graph(store, "seed-tpi-2015")
    assert vis.graphml(stored) == vis.graphml(seed_graph)
    assert vis.audit_html(store, "seed-tpi-2015") == vis.audit_html(seed_graph)
    with pytest.raises(KeyError):
        vis.evidence_graph(store, "no-such-case")


def _escaped_case(cg):
    """The seed case with letter text that tries to run a script."""
    from kg.engine.graph import CaseGraph

    asserted = cg.asserted + cg.asserted.__class__()  # a copy
    evil = '<script>window.__pwned = 1</script> & "quoted"'
    req = URIRef(str(cg.iri) + "req-tpi")
    asserted.set((req, KG.requestText, Literal("TPI " + evil)))
    for sel in list(asserted.subjects(OA.exact, Literal("and cervical radiculitis"))):
        asserted.set((sel, OA.exact, Literal("and cervical radiculitis " + evil)))
    return CaseGraph(case_id=cg.case_id, iri=cg.iri, asserted=asserted, reviewer=cg.reviewer)


def test_letter_text_is_escaped_everywhere(seed_cg):
    g = vis.evidence_graph(_escaped_case(seed_cg))
    assert "<script>" in g.nodes["request:req-tpi"]["label"]
    page, svg = vis.audit_html(g), vis.audit_svg(g)
    for text in (page, svg):
        assert "<script>window" not in text and "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in text
    assert page.count("<script>") == 1  # ours, at the end
    ET.fromstring(svg.encode("utf-8"))  # still well-formed
    _svg_nodes(vis.audit_svg(g))


def test_no_path_of_the_machine_in_any_output(seed_cg, seed_graph):
    from kg.engine.graph import CaseGraph

    asserted = seed_cg.asserted + seed_cg.asserted.__class__()
    for doc in list(asserted.subjects(KG.fileName, None)):
        asserted.set((doc, KG.fileName, Literal(str(LETTERS / "seed-trigger-point-2015.txt"))))
    moved = vis.evidence_graph(CaseGraph(case_id=seed_cg.case_id, iri=seed_cg.iri, asserted=asserted,
                                         reviewer=seed_cg.reviewer))
    store = corpus_store()
    outputs = [vis.audit_html(g) + vis.audit_svg(g) + vis.graphml(g) for g in (seed_graph, moved)]
    outputs.append(vis.report_html(store))
    forbidden = {str(ROOT), str(ROOT.parent), str(LETTERS), str(Path.home()), "file:", "/tmp/"}
    for text in outputs:
        for bad in forbidden:
            assert bad not in text
    assert vis.graphml(moved) == vis.graphml(seed_graph)  # the file name only, wherever it was read


_HASHES = """
import hashlib, sys
from kg.jobs.ingest import read_input
from kg.viz import visualize as vis
from casepaths import corpus_store
g = vis.evidence_graph(read_input(sys.argv[1]))
h = hashlib.sha256()
for part in (vis.audit_html(g), vis.audit_svg(g), vis.graphml(g), vis.report_html(corpus_store())):
    h.update(part.encode("utf-8"))
h.update(vis.audit_png(g))
print(h.hexdigest())
"""


def test_outputs_are_byte_stable_under_any_hash_seed():
    digests = set()
    for seed in ("1", "4242"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(ROOT / "tests"))
        out = subprocess.run([sys.executable, "-c", _HASHES, str(SEED)], capture_output=True, text=True, env=env,
                             cwd=ROOT, check=True)
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_twenty_items_are_grouped_and_collapsed():
    g = vis.evidence_graph(read_input(LETTERS / "CM16-0248698.pdf"))
    requests = list(g.successors("case"))
    assert len(requests) == 21
    assert [g.nodes[r]["order"] for r in requests] == list(range(1, 22))
    assert [g.nodes[r]["request_id"] for r in requests][:3] == ["r1", "r2", "r3"]  # natural order, not r1, r10
    page = vis.audit_html(g)
    assert page.count('<section class="item"') == 21 and page.count(" hidden>") >= 21
    assert page.count("<button type=\"button\" data-item=") == 21
    # the static picture draws every item, one band each
    assert {n for n in _svg_nodes(vis.audit_svg(g)) if n.startswith("request:")} == set(requests)


class _Tables(HTMLParser):
    """Rows of every ``<table data-query=...>``, and the case links, of a report."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.links: dict[str, str] = {}
        self._table = self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and "data-query" in a:
            self._table = self.tables.setdefault(a["data-query"], [])
        elif tag == "tr" and self._table is not None:
            self._row = []
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "a" and "data-case" in a:
            self.links[a["data-case"]] = a["href"]

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "table":
            self._table = None


def test_report_numbers_are_the_query_library_s():
    store = corpus_store()
    page = vis.report_html(store, audit_href="audit/{case}.html")
    parsed = _Tables()
    parsed.feed(page)
    assert set(parsed.tables) == set(vis.REPORT_QUERIES)
    for name in vis.REPORT_QUERIES:
        res = run_query(store, name)
        assert res.rows, name
        expected = [list(res.columns)] + [["" if v is None else str(v) for v in row] for row in res.rows]
        assert parsed.tables[name] == expected, name
    months = run_query(store, "decisions-by-month").rows
    assert f'data-total="items">{sum(int(r[1]) for r in months)}<' in page
    assert f'data-total="overturned">{sum(int(r[3]) for r in months)}<' in page
    assert parsed.links == {c: f"audit/{c}.html" for c in store.case_ids()}
    assert page.count("<svg") >= 5  # charts, not only tables
    assert "<script" not in page


def test_construct_result_picture():
    store = corpus_store()
    res = store.query("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH <https://w3id.org/imr-kg/case/seed-tpi-2015/graph/"
                      "determination> { ?s ?p ?o } }")
    svg = vis.graph_svg(res.graph)
    nodes = _svg_nodes(svg)
    crit4 = "https://w3id.org/imr-kg/case/seed-tpi-2015/req-tpi/determination/criterion-4"
    assert nodes[crit4].find(f"{SVG}rect").get("fill") == COLOURS["not_met"]
    assert sum(1 for n in nodes if "/determination/criterion-" in n) == 8


def test_endpoint_serves_the_pictures():
    import httpx

    from kg.web.serve import create_app

    from casepaths import LoopbackServer

    store = corpus_store()
    app = create_app(store, query_timeout=30)
    vis.add_audit_routes(app, store)
    with LoopbackServer(app) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        page = http.get("/cases/seed-tpi-2015/audit")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert 'data-criterion="req-tpi/4"' in page.text
        svg = http.get("/cases/seed-tpi-2015/audit.svg")
        assert svg.headers["content-type"].startswith("image/svg+xml")
        assert {n for n in _svg_nodes(svg.text) if n.startswith("criterion:")} == {
            f"criterion:req-tpi/{n}" for n in range(1, 9)}
        assert http.get("/cases/seed-tpi-2015/audit.png").content[:4] == b"\x89PNG"
        assert set(nx.parse_graphml(http.get("/cases/seed-tpi-2015/audit.graphml").text).nodes) == set(
            vis.evidence_graph(store, "seed-tpi-2015").nodes)
        assert http.get("/cases/no-such-case/audit").status_code == 404
        assert http.get("/cases/bad%20id/audit").status_code == 400
        q = "CONSTRUCT { ?a <https://w3id.org/imr-kg/ont#status> ?s } WHERE { ?a <https://w3id.org/imr-kg/ont#status> ?s }"
        drawn = http.get("/graph", params={"query": q})
        assert drawn.status_code == 200 and "<svg" in drawn.text
        assert http.get("/graph", params={"query": q, "format": "svg"}).headers["content-type"].startswith(
            "image/svg+xml")
        assert http.get("/graph", params={"query": "SELECT * WHERE { ?s ?p ?o }"}).status_code == 400
        assert http.get("/graph", params={"query": "CONSTRUCT {"}).status_code == 400
        report = http.get("/report")
        assert report.status_code == 200 and 'href="cases/seed-tpi-2015/audit"' in report.text
