"""The audit routes (kg.web.audit_routes): a stored case's audit page, pictures and graph, a
CONSTRUCT result drawn, and the corpus report, served by the endpoint over real HTTP."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import networkx as nx
from casepaths import LoopbackServer, corpus_store

from kg.viz.evidence import evidence_graph
from kg.web.app import create_app
from kg.web.audit_routes import add_audit_routes

SVG = "{http://www.w3.org/2000/svg}"


def _svg_nodes(text: str) -> dict[str, ET.Element]:
    root = ET.fromstring(text.encode("utf-8"))
    return {g.get("data-node"): g for g in root.iter(f"{SVG}g") if g.get("data-node")}


def test_endpoint_serves_the_pictures():
    store = corpus_store()
    app = create_app(store, query_timeout=30)
    add_audit_routes(app, store)
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
            evidence_graph(store, "seed-tpi-2015").nodes)
        assert http.get("/cases/no-such-case/audit").status_code == 404
        assert http.get("/cases/bad%20id/audit").status_code == 400
        q = ("CONSTRUCT { ?a <https://w3id.org/imr-kg/ont#status> ?s } WHERE { ?a <https://w3id.org/imr-kg/ont#status> "
             "?s }")
        drawn = http.get("/graph", params={"query": q})
        assert drawn.status_code == 200 and "<svg" in drawn.text
        assert http.get("/graph", params={"query": q, "format": "svg"}).headers["content-type"].startswith(
            "image/svg+xml")
        assert http.get("/graph", params={"query": "SELECT * WHERE { ?s ?p ?o }"}).status_code == 400
        assert http.get("/graph", params={"query": "CONSTRUCT {"}).status_code == 400
        report = http.get("/report")
        assert report.status_code == 200 and 'href="cases/seed-tpi-2015/audit"' in report.text
