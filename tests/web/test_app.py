"""The HTTP side of the endpoint (kg.web.app), over real HTTP: the library and case routes, updates
only with the token, the body cap, CORS only for listed origins, generic internal errors, no case
text in the log, and the protocol's dataset parameters refused."""

from __future__ import annotations

import httpx
from casepaths import LoopbackServer as Server

from kg.store.query import run_query
from kg.web.app import create_app

CASE = "https://w3id.org/imr-kg/case/"
UPDATE = 'INSERT DATA { GRAPH <urn:test:g> { <urn:test:s> <urn:test:p> "v" } }'
ASK_UPDATED = "ASK { GRAPH <urn:test:g> { <urn:test:s> <urn:test:p> \"v\" } }"


def test_library_listing_and_query_with_a_parameter(http, store):
    listing = http.get("/queries").json()
    trace = next(q for q in listing if q["name"] == "criterion-trace")
    assert trace["parameters"] == [{"name": "case", "type": "iri",
                                    "description": trace["parameters"][0]["description"]}]
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


def test_cases_and_one_determination(http):
    assert http.get("/cases").json() == {"cases": ["acu", "seed-tpi-2015", "tpi-radic", "tpi-repeat-met", "tpi-six"]}
    det = http.get("/cases/tpi-six").json()
    assert det["case"] == "tpi-six"
    assert [(i["request"], i["engine_decision"], i["reviewer_decision"]) for i in det["items"]] == [
        ("req-tpi", "not_medically_necessary", "overturned")]
    assert http.get("/cases/nope").status_code == 404
    assert http.get("/health").json() == {"status": "ok"}


# -- updates ------------------------------------------------------------------------------
def test_updates_need_the_token(http, token):
    sparql_update = {"Content-Type": "application/sparql-update"}
    assert http.post("/sparql", content=UPDATE, headers=sparql_update).status_code == 403
    assert http.post("/sparql", content=UPDATE, headers={**sparql_update, "Authorization": "Bearer "
                                                                                           "wrong"}).status_code == 403
    assert http.post("/sparql", data={"update": UPDATE}, headers={"Authorization": "Basic " + token}).status_code == 403
    assert http.get("/sparql", params={"query": ASK_UPDATED}).json()["boolean"] is False
    ok = http.post("/sparql", content=UPDATE, headers={**sparql_update, "Authorization": f"Bearer {token}"})
    assert ok.status_code == 204
    assert http.get("/sparql", params={"query": ASK_UPDATED}).json()["boolean"] is True
    drop = http.post("/sparql", data={"update": "DROP GRAPH "
                                                "<urn:test:g>"}, headers={"Authorization": f"Bearer {token}"})
    assert drop.status_code == 204
    assert http.get("/sparql", params={"query": ASK_UPDATED}).json()["boolean"] is False


def test_updates_refused_when_no_token_is_configured(store):
    srv = Server(create_app(store))
    try:
        resp = httpx.post(srv.url + "/sparql", data={"update": UPDATE}, headers={"Authorization": "Bearer x"})
        assert resp.status_code == 403
    finally:
        srv.stop()


def test_protocol_dataset_parameters_are_refused_not_ignored(http, token):
    text = "ASK { ?s ?p ?o }"
    graph = "https://w3id.org/imr-kg/graph/guidelines"
    resp = http.get("/sparql", params={"query": text, "default-graph-uri": graph})
    assert resp.status_code == 400 and "default-graph-uri" in resp.text
    resp = http.post("/sparql", data={"query": text, "named-graph-uri": graph})
    assert resp.status_code == 400 and "named-graph-uri" in resp.text
    resp = http.post("/sparql?using-graph-uri=" + graph, content=UPDATE,
                     headers={"Content-Type": "application/sparql-update", "Authorization": f"Bearer {token}"})
    assert resp.status_code == 400
    assert http.get("/sparql", params={"query": ASK_UPDATED}).json()["boolean"] is False


# -- the HTTP guards ----------------------------------------------------------------------
def test_oversized_body_is_413(http):
    big = "SELECT * WHERE { ?s ?p ?o } #" + "x" * 30_000
    assert http.post("/sparql", content=big, headers={"Content-Type": "application/sparql-query"}).status_code == 413

    def chunks():  # no Content-Length: the cap applies while reading
        for _ in range(30):
            yield b"#" + b"x" * 999
    streamed = http.post("/sparql", content=chunks(), headers={"Content-Type": "application/sparql-query"})
    assert streamed.status_code == 413


def test_cors_only_for_listed_origins(http, allowed_origin):
    q = {"query": "ASK {}"}
    other = http.get("/sparql", params=q, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    listed = http.get("/sparql", params=q, headers={"Origin": allowed_origin})
    assert listed.headers["access-control-allow-origin"] == allowed_origin
    assert "access-control-allow-credentials" not in listed.headers
    preflight = http.options("/sparql", headers={"Origin": "https://evil.example",
                                                 "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers


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


def test_no_case_text_in_logs_at_info(http, caplog):
    import logging

    with caplog.at_level(logging.INFO):
        http.get("/sparql", params={"query": 'SELECT * WHERE { ?s ?p "cervical radiculopathy" }'})
        http.get("/cases/tpi-radic")
    text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore")))
    assert "/sparql" in text
    assert "radiculopathy" not in text and "cervical" not in text
