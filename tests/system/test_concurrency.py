"""Readers keep consistent answers while a batch writes: one process owns the embedded store
(`imrkg serve`), a batch ingests through its update protocol (with the token), and a reader
polling the endpoint only ever sees whole cases, never fewer than before."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import urllib.request

import pytest
from casepaths import EXAMPLES, LETTERS, LoopbackServer

from kg.jobs.ingest import ingest
from kg.store.store import LocalStore, RemoteStore, StoreError
from kg.web.app import create_app

COUNTS = """SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o }
  FILTER(STRSTARTS(STR(?g), "https://w3id.org/imr-kg/case/")) } GROUP BY ?g"""


def _poll(url: str) -> dict[str, set[str]]:
    body = urllib.parse.urlencode({"query": COUNTS}).encode()
    req = urllib.request.Request(f"{url}/sparql", data=body, method="POST",
                                 headers={"Accept": "application/sparql-results+json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        rows = json.loads(resp.read())["results"]["bindings"]
    cases: dict[str, set[str]] = {}
    for r in rows:
        graph = r["g"]["value"]
        case, _, name = graph.rpartition("/graph/")
        cases.setdefault(case, set()).add(name)
    return cases


@pytest.mark.parametrize("on_disk", [
    False,
    pytest.param(True, marks=pytest.mark.xfail(
        strict=False, reason="known bug: with an on-disk store, the endpoint's forked query process can hang "
                             "when it forks while RocksDB is writing (the poll gets 503 at the query timeout)")),
], ids=["memory", "disk"])
def test_a_reader_sees_only_whole_cases_while_a_batch_writes_through_the_endpoint(tmp_path, on_disk):
    store = LocalStore(tmp_path / "store" if on_disk else None)
    inputs = [EXAMPLES] + sorted(LETTERS.glob("CM17-001*.pdf"))[:8]
    with LoopbackServer(create_app(store, allow_update_token="secret", query_timeout=8,
                                           max_body_bytes=20_000_000)) as srv:
        writer = RemoteStore(f"{srv.url}/sparql", token="secret")
        errors: list[BaseException] = []

        def batch() -> None:
            try:
                ingest(inputs, writer)
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)

        thread = threading.Thread(target=batch)
        thread.start()
        seen: set[str] = set()
        polls = 0
        while thread.is_alive() or polls == 0:
            cases = _poll(srv.url)
            for case, graphs in cases.items():
                assert {"asserted", "inferred", "determination"} <= graphs, (case, graphs)  # whole cases only
            assert seen <= set(cases), f"cases disappeared: {seen - set(cases)}"
            seen = set(cases)
            polls += 1
            time.sleep(0.05)
        thread.join()
        assert not errors, errors
        final = _poll(srv.url)
        with pytest.raises(StoreError, match="answered 403"):
            RemoteStore(f"{srv.url}/sparql", token="wrong").delete_case("tpi-repeat-met")
        assert _poll(srv.url) == final
    assert len(final) == 10 and polls >= 3, (len(final), polls)
