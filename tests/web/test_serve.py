"""The endpoint: a real uvicorn server on loopback, spoken to over real HTTP (httpx)."""

from __future__ import annotations

import csv
import io
import os
import threading
import time
from pathlib import Path

import httpx
import pytest
from rdflib import RDF, RDFS, Graph, Namespace, URIRef

from kg.store.query import run_query
from kg.web.serve import create_app

from casepaths import LoopbackServer as Server
from casepaths import corpus_store

CASE = "https://w3id.org/imr-kg/case/"
TOKEN = "s3cret-token"
ALLOWED = "https://audit.example"


@pytest.fixture(scope="module")
def store():
    return corpus_store()


@pytest.fixture(scope="module")
def server(store):
    srv = Server(create_app(store, allow_update_token=TOKEN, result_limit=1000, max_body_bytes=20_000,
                            cors_origins=(ALLOWED,), query_timeout=30))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def children() -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        text = (task / "children").read_text().split()
        out.update(int(x) for x in text)
    return out


# -- queries ------------------------------------------------------------------------------
SELECT_MONTHS = Path(__file__).resolve().parents[2] / "queries" / "decisions-by-month.rq"


def test_select_json_matches_the_store(http, store):
    text = SELECT_MONTHS.read_text()
    resp = http.get("/sparql", params={"query": text})
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/sparql-results+json"
    doc = resp.json()
    direct = store.query(text)
    assert doc["head"]["vars"] == list(direct.columns) == ["month", "items", "upheld", "overturned"]
    got = [tuple(b[c]["value"] for c in doc["head"]["vars"]) for b in doc["results"]["bindings"]]
    assert got == [tuple(str(v) for v in r) for r in direct.rows] == [("2016-02", "3", "2", "1"),
                                                                        ("2016-03", "1", "0", "1")]
    assert doc["results"]["bindings"][0]["items"]["datatype"] == "http://www.w3.org/2001/XMLSchema#integer"
    assert resp.headers["x-result-limit"] == "1000" and resp.headers["x-result-truncated"] == "false"


def test_select_csv_and_tsv_by_accept(http):
    text = SELECT_MONTHS.read_text()
    resp = http.post("/sparql", data={"query": text}, headers={"Accept": "text/csv"})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(resp.text))) == [["month", "items", "upheld", "overturned"],
                                                        ["2016-02", "3", "2", "1"], ["2016-03", "1", "0", "1"]]
    resp = http.post("/sparql", content=text.encode(), headers={
        "Content-Type": "application/sparql-query", "Accept": "text/csv;q=0.5, text/tab-separated-values"})
    assert resp.headers["content-type"].startswith("text/tab-separated-values")
    assert resp.text.splitlines() == ["?month\t?items\t?upheld\t?overturned", '"2016-02"\t3\t2\t1', '"2016-03"\t1\t0\t1']
    assert http.get("/sparql", params={"query": text}, headers={"Accept": "image/png"}).status_code == 406


def test_library_listing_and_query_with_a_parameter(http, store):
    listing = http.get("/queries").json()
    trace = next(q for q in listing if q["name"] == "criterion-trace")
    assert trace["parameters"] == [{"name": "case", "type": "iri", "description": trace["parameters"][0]["description"]}]
    assert {"name", "title", "question", "parameters", "columns"} <= set(trace)
    resp = http.get("/queries/criterion-trace", params={"case": CASE + "seed-tpi-2015/"})
    assert resp.status_code == 200
    doc = resp.json()
    direct = run_query(store, "criterion-trace", {"case": CASE + "seed-tpi-2015/"})
    got = [tuple(b.get(c, {}).get("value") for c in doc["head"]["vars"]) for b in doc["results"]["bindings"]]
    assert got == [tuple(None if v is None else str(v) for v in r) for r in direct.rows]
    assert len(got) == 11
    assert http.get("/queries/criterion-trace", params={"case": "x> } ; DROP ALL"}).status_code == 400
    assert http.get("/queries/criterion-trace", params={"who": "x"}).status_code == 400
    assert http.get("/queries/no-such-query").status_code == 404
    csv_resp = http.get("/queries/decisions-by-month", headers={"Accept": "text/csv"})
    assert csv_resp.text.splitlines()[0] == "month,items,upheld,overturned"


def test_construct_as_turtle_and_ntriples(http, store):
    text = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{CASE}tpi-six/graph/reviewer> {{ ?s ?p ?o }} }}"
    resp = http.post("/sparql", data={"query": text})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/turtle")
    got = Graph().parse(data=resp.text, format="turtle")
    assert set(got) == set(store.case_graph("tpi-six", "reviewer")) and len(got) > 0
    nt = http.post("/sparql", data={"query": text}, headers={"Accept": "application/n-triples"})
    assert nt.headers["content-type"].startswith("application/n-triples")
    assert set(Graph().parse(data=nt.text, format="nt")) == set(got)


def test_ask(http):
    resp = http.get("/sparql", params={"query": f"ASK {{ <{CASE}acu/> ?p ?o }}"})
    assert resp.json() == {"head": {}, "boolean": True}


# -- refusals -----------------------------------------------------------------------------
UPDATE = 'INSERT DATA { GRAPH <urn:test:g> { <urn:test:s> <urn:test:p> "v" } }'
ASK_UPDATED = "ASK { GRAPH <urn:test:g> { <urn:test:s> <urn:test:p> \"v\" } }"


def test_updates_need_the_token(http):
    sparql_update = {"Content-Type": "application/sparql-update"}
    assert http.post("/sparql", content=UPDATE, headers=sparql_update).status_code == 403
    assert http.post("/sparql", content=UPDATE, headers={**sparql_update, "Authorization": "Bearer wrong"}).status_code == 403
    assert http.post("/sparql", data={"update": UPDATE}, headers={"Authorization": "Basic " + TOKEN}).status_code == 403
    assert http.get("/sparql", params={"query": ASK_UPDATED}).json()["boolean"] is False
    ok = http.post("/sparql", content=UPDATE, headers={**sparql_update, "Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 204
    assert http.get("/sparql", params={"query": ASK_UPDATED}).json()["boolean"] is True
    drop = http.post("/sparql", data={"update": "DROP GRAPH <urn:test:g>"}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert drop.status_code == 204
    assert http.get("/sparql", params={"query": ASK_UPDATED}).json()["boolean"] is False


def test_updates_refused_when_no_token_is_configured(store):
    srv = Server(create_app(store))
    try:
        resp = httpx.post(srv.url + "/sparql", data={"update": UPDATE}, headers={"Authorization": "Bearer x"})
        assert resp.status_code == 403
    finally:
        srv.stop()


def test_service_and_load_refused(http):
    service = "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"
    resp = http.get("/sparql", params={"query": service})
    assert resp.status_code == 400 and "SERVICE" in resp.text
    escaped = "SELECT * WHERE { \\u0053ERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"
    assert http.get("/sparql", params={"query": escaped}).status_code == 400
    load = http.post("/sparql", data={"update": "LOAD <http://127.0.0.1:9/x.ttl>"},
                     headers={"Authorization": f"Bearer {TOKEN}"})
    assert load.status_code == 400 and "LOAD" in load.text
    # the words inside strings, IRIs and variables are not keywords
    ok = http.get("/sparql", params={"query": 'SELECT ?service WHERE { BIND("SERVICE LOAD" AS ?service) }'})
    assert ok.status_code == 200


def test_malformed_sparql_is_400_with_the_position(http):
    resp = http.get("/sparql", params={"query": "SELECT * WHERE {\n  ?s ?p \n}"})
    assert resp.status_code == 400
    assert "malformed query at line 3, column " in resp.text  # the column is pyoxigraph's
    assert "Traceback" not in resp.text and "/kg/" not in resp.text


def test_oversized_body_is_413(http):
    big = "SELECT * WHERE { ?s ?p ?o } #" + "x" * 30_000
    assert http.post("/sparql", content=big, headers={"Content-Type": "application/sparql-query"}).status_code == 413

    def chunks():  # no Content-Length: the cap applies while reading
        for _ in range(30):
            yield b"#" + b"x" * 999
    streamed = http.post("/sparql", content=chunks(), headers={"Content-Type": "application/sparql-query"})
    assert streamed.status_code == 413


def test_result_cap_header(http, store):
    resp = http.get("/sparql", params={"query": "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }"})
    assert resp.status_code == 200
    assert len(resp.json()["results"]["bindings"]) == 1000 < store.count()
    assert resp.headers["x-result-limit"] == "1000" and resp.headers["x-result-truncated"] == "true"


def test_cors_only_for_listed_origins(http):
    q = {"query": "ASK {}"}
    other = http.get("/sparql", params=q, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    listed = http.get("/sparql", params=q, headers={"Origin": ALLOWED})
    assert listed.headers["access-control-allow-origin"] == ALLOWED
    assert "access-control-allow-credentials" not in listed.headers
    preflight = http.options("/sparql", headers={"Origin": "https://evil.example",
                                                 "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers


def test_page_loads_with_a_csp(http):
    resp = http.get("/")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    csp = resp.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp and "unsafe-inline" not in csp
    assert "<textarea" in resp.text and "fetch('sparql'" in resp.text
    assert "http://" not in resp.text.replace("http://www.w3.org", "") and "https://cdn" not in resp.text


def test_cases_and_one_determination(http):
    assert http.get("/cases").json() == {"cases": ["acu", "seed-tpi-2015", "tpi-radic", "tpi-repeat-met", "tpi-six"]}
    det = http.get("/cases/tpi-six").json()
    assert det["case"] == "tpi-six"
    assert [(i["request"], i["engine_decision"], i["reviewer_decision"]) for i in det["items"]] == [
        ("req-tpi", "not_medically_necessary", "overturned")]
    assert http.get("/cases/nope").status_code == 404
    assert http.get("/health").json() == {"status": "ok"}


def test_internal_errors_are_generic(store, caplog):
    class Broken(type(store)):
        def query(self, sparql, params=None):
            raise RuntimeError("secret detail /home/x/kg/store/store.py")

    broken = Broken(None)
    srv = Server(create_app(broken))
    try:
        resp = httpx.get(srv.url + "/sparql", params={"query": "ASK {}"})
        assert resp.status_code == 500
        assert resp.text == "internal error\n"
    finally:
        srv.stop()


def test_timeout_stops_the_work_and_busy_is_503(store):
    srv = Server(create_app(store, query_timeout=1.0, max_concurrency=1))
    values = "VALUES ?{v} {{ " + " ".join(str(i) for i in range(200)) + " }}"
    slow = "SELECT (COUNT(*) AS ?n) WHERE { " + " ".join(values.format(v=v) for v in "abcd") + " }"
    before = children()
    try:
        box = {}

        def fire():
            t = time.monotonic()
            box["resp"] = httpx.get(srv.url + "/sparql", params={"query": slow}, timeout=30)
            box["took"] = time.monotonic() - t

        t = threading.Thread(target=fire)
        t.start()
        time.sleep(0.4)
        busy = httpx.get(srv.url + "/sparql", params={"query": "ASK {}"})
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        t.join(30)
        assert box["resp"].status_code == 503 and "stopped" in box["resp"].text
        assert box["took"] < 5
        time.sleep(0.2)
        assert children() <= before  # the query's process was killed and reaped
        assert httpx.get(srv.url + "/sparql", params={"query": "ASK {}"}).status_code == 200
    finally:
        srv.stop()


def test_no_case_text_in_logs_at_info(http, caplog):
    import logging

    with caplog.at_level(logging.INFO):
        http.get("/sparql", params={"query": 'SELECT * WHERE { ?s ?p "cervical radiculopathy" }'})
        http.get("/cases/tpi-radic")
    text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore")))
    assert "/sparql" in text
    assert "radiculopathy" not in text and "cervical" not in text


# -- service description -------------------------------------------------------------------
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS = Namespace("http://www.w3.org/ns/formats/")


def _description(resp) -> tuple[Graph, URIRef]:
    assert resp.status_code == 200, resp.text
    fmt = {"text/turtle": "turtle", "application/n-triples": "nt", "application/ld+json": "json-ld"}[
        resp.headers["content-type"].split(";")[0]]
    g = Graph().parse(data=resp.text, format=fmt)
    services = list(g.subjects(RDF.type, SD.Service))
    assert len(services) == 1
    return g, services[0]


def test_service_description_without_a_query(http, server):
    g, service = _description(http.get("/sparql"))
    assert http.get("/sparql").headers["content-type"] == "text/turtle; charset=utf-8"
    assert set(g.objects(service, SD.endpoint)) == {URIRef(server.url + "/sparql")}
    # this server was given an update token, so it says it takes updates
    assert set(g.objects(service, SD.supportedLanguage)) == {SD.SPARQL11Query, SD.SPARQL11Update}
    assert set(g.objects(service, SD.resultFormat)) == {
        FORMATS.SPARQL_Results_JSON, FORMATS.SPARQL_Results_XML, FORMATS.SPARQL_Results_CSV,
        FORMATS.SPARQL_Results_TSV, FORMATS.Turtle, FORMATS["N-Triples"], FORMATS["JSON-LD"]}
    assert set(g.objects(service, SD.feature)) == {SD.UnionDefaultGraph}  # no federation
    dataset = g.value(service, SD.defaultDataset)
    assert (dataset, RDF.type, SD.Dataset) in g
    assert (g.value(dataset, SD.defaultGraph), RDF.type, SD.Graph) in g
    named = list(g.objects(dataset, SD.namedGraph))
    assert [g.value(n, SD.name) for n in named] == [URIRef("https://w3id.org/imr-kg/graph/guidelines")]
    assert (named[0], RDF.type, SD.NamedGraph) in g
    assert f"{CASE}{{case}}/graph/{{asserted|inferred|determination|reviewer}}" in str(g.value(dataset, RDFS.comment))
    collections = {str(g.value(c, RDFS.comment)) for c in g.objects(service, SD.availableGraphs)
                   if (c, RDF.type, SD.GraphCollection) in g}
    assert collections == {f"{CASE}{{case}}/graph/{n}" for n in ("asserted", "inferred", "determination", "reviewer")}
    # the graph patterns are real: the named graphs of a stored case follow them
    rows = http.get("/sparql", params={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g {} } ORDER BY ?g"}).json()
    names = {b["g"]["value"] for b in rows["results"]["bindings"]}
    assert {f"{CASE}tpi-six/graph/{n}" for n in ("asserted", "inferred", "determination", "reviewer")} <= names


def test_service_description_by_accept_and_read_only(store):
    with Server(create_app(store)) as srv:
        turtle = httpx.get(srv.url + "/sparql", headers={"Accept": "text/turtle"})
        g, service = _description(turtle)
        assert set(g.objects(service, SD.supportedLanguage)) == {SD.SPARQL11Query}  # read-only: no Update
        nt = httpx.get(srv.url + "/sparql", headers={"Accept": "application/n-triples"})
        assert nt.headers["content-type"] == "application/n-triples"
        assert set(_description(nt)[0]) == set(g)
        jsonld = httpx.get(srv.url + "/sparql", headers={"Accept": "text/csv;q=0.2, application/ld+json"})
        assert len(_description(jsonld)[0]) == len(g)
        # asking only for query results without a query is a client mistake, not a description
        forgot = httpx.get(srv.url + "/sparql", headers={"Accept": "application/sparql-results+json"})
        assert forgot.status_code == 400 and "service description" in forgot.text
        assert httpx.get(srv.url + "/sparql", params={"query": ""}).status_code == 400
    with Server(create_app(store, allow_federation=True)) as srv:
        g, service = _description(httpx.get(srv.url + "/sparql"))
        assert SD.BasicFederatedQuery in set(g.objects(service, SD.feature))


def test_protocol_dataset_parameters_are_refused_not_ignored(http):
    text = "ASK { ?s ?p ?o }"
    graph = "https://w3id.org/imr-kg/graph/guidelines"
    resp = http.get("/sparql", params={"query": text, "default-graph-uri": graph})
    assert resp.status_code == 400 and "default-graph-uri" in resp.text
    resp = http.post("/sparql", data={"query": text, "named-graph-uri": graph})
    assert resp.status_code == 400 and "named-graph-uri" in resp.text
    resp = http.post("/sparql?using-graph-uri=" + graph, content=UPDATE,
                     headers={"Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"})
    assert resp.status_code == 400
    assert http.get("/sparql", params={"query": ASK_UPDATED}).json()["boolean"] is False
