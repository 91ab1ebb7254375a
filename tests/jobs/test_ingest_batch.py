"""The differential test of the ingest path: ``ingest`` through the batch engine (chunks in worker
processes, the default) against ``ingest(engine="reference")`` (pySHACL, one case at a time), over
every letter, the examples and some inputs that fail: the same cases, the same errors, every
criterion status equal and each case's four stored graphs isomorphic.

The reference ingest takes about 0.7 s a letter, so it runs in two processes, each on half of
the inputs into its own store on disk.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import random
import shutil
from pathlib import Path

import pytest
from casepaths import EXAMPLES, LETTERS, needs_letters

from kg.jobs.ingest import ingest, input_files
from kg.store.store import GRAPH_NAMES, LocalStore

STATUSES = """PREFIX kg: <https://w3id.org/imr-kg/ont#>
SELECT ?case ?assessment ?status WHERE { GRAPH ?g { ?assessment kg:status ?status } BIND(STR(?g) AS ?case) }"""


def _reference(paths: list[str], location: str) -> tuple[tuple[str, ...], list[str]]:
    """Worker: the reference ingest of ``paths`` into a new store at ``location``."""
    store = LocalStore(location)
    try:
        summary = ingest(paths, store, engine="reference")
    finally:
        store.close()
    return summary.cases, [str(e) for e in summary.errors]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Every letter and example, a corrupt PDF, a text file that is no letter, and one letter twice."""
    bad = tmp_path_factory.mktemp("bad")
    (bad / "noise.pdf").write_bytes(random.Random(5).randbytes(2048))
    (bad / "notes.txt").write_text("Shopping list: eggs, milk.\n", encoding="utf-8")
    shutil.copy(LETTERS / "CM16-0213037.pdf", bad / "again.pdf")
    files = input_files([EXAMPLES, LETTERS])
    return [str(p) for p in files[:40]] + [str(bad / "noise.pdf"), str(bad / "notes.txt")] + \
        [str(p) for p in files[40:]] + [str(bad / "again.pdf")]


@pytest.fixture(scope="module")
def stores(inputs: list[str], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The batch ingest (two workers, small chunks) and the reference ingest of the same inputs."""
    tmp = tmp_path_factory.mktemp("ingest-batch")
    half = len(inputs) // 2
    # spawned, not forked: a child forked from a process that has used an on-disk store (as this
    # test session has) hangs opening one of its own (RocksDB's background threads are not forked)
    with cf.ProcessPoolExecutor(max_workers=2, mp_context=mp.get_context("spawn")) as pool:
        parts = list(pool.map(_reference, [inputs[:half], inputs[half:]], [str(tmp / "ref-a"), str(tmp / "ref-b")]))
    batch = LocalStore(tmp / "batch")
    summary = ingest(inputs, batch, workers=2, chunk=16)
    stores_reference = [LocalStore(tmp / n) for n in ("ref-a", "ref-b")]
    yield {"batch": batch, "summary": summary, "reference": stores_reference,
           "cases": parts[0][0] + parts[1][0], "errors": parts[0][1] + parts[1][1]}
    for store in (batch, *stores_reference):
        store.close()


@needs_letters
def test_the_same_cases_and_the_same_errors(stores, inputs):
    summary = stores["summary"]
    assert summary.cases == stores["cases"]
    assert [str(e) for e in summary.errors] == stores["errors"]
    assert [e.source.rsplit("/", 1)[-1] for e in summary.errors] == ["noise.pdf", "notes.txt"]
    assert len(summary.cases) == len(inputs) - 2 and summary.cases.count("CM16-0213037") == 2
    assert sorted(set(summary.cases)) == stores["batch"].case_ids()


@needs_letters
def test_every_criterion_status_is_the_reference_status(stores):
    got = {tuple(str(t) for t in row) for row in stores["batch"].query(STATUSES).rows}
    want = {tuple(str(t) for t in row) for store in stores["reference"] for row in store.query(STATUSES).rows}
    assert got == want
    assert len(got) > 800 and {row[2].rsplit("#", 1)[-1] for row in got} >= {"Met", "NotMet", "NotDocumented"}


@needs_letters
def test_every_stored_graph_is_isomorphic_to_the_reference(stores):
    from rdflib.compare import isomorphic

    reference = {cid: store for store in stores["reference"] for cid in store.case_ids()}
    assert sorted(reference) == stores["batch"].case_ids()
    unequal = []
    for cid, store in sorted(reference.items()):
        for name in GRAPH_NAMES:
            a, b = stores["batch"].case_graph(cid, name), store.case_graph(cid, name)
            if not isomorphic(a, b):
                unequal.append((cid, name, len(a), len(b)))
    assert unequal == []


def test_one_worker_and_many_write_the_same_quads(tmp_path: Path):
    """In this process or in workers, chunk by chunk: the same store."""
    import pyoxigraph as ox

    dumps = []
    for workers, chunk in ((1, 50), (2, 1)):
        store = LocalStore(None)
        ingest([EXAMPLES, EXAMPLES / "seed-trigger-point-2015.yaml"], store, workers=workers, chunk=chunk)
        dumps.append(len(store._store))
        dumps.append(sorted(q for q in store._store.dump(format=ox.RdfFormat.N_QUADS).splitlines() if b"_:" not in q))
    assert dumps[0] == dumps[2] and dumps[1] == dumps[3] and dumps[0] > 1000
