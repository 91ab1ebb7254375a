"""The Dask path (:mod:`kg.jobs.cluster`) against the process pool, on a real ``LocalCluster`` of two
worker processes reached through its scheduler's address (as ``--cluster tcp://HOST:8786`` is):
ingest by paths and by bytes gives the same cases, the same errors (named by the sender's paths)
and the same stored quads as the pool; ``determine --all`` on the cluster the same graphs as the
pool's batch, and nothing left to do when run again.  No mocks."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from casepaths import EXAMPLES, LETTERS, ROOT, needs_letters

from kg.jobs.cluster import ClusterError, determine_on_cluster, ingest_on_cluster
from kg.jobs.ingest import determine_all, ingest, input_files
from kg.store.store import LocalStore


@pytest.fixture(scope="module")
def scheduler():
    """The address of a LocalCluster of two single-threaded worker processes (daemon off, as the
    README says workers are started), closed afterwards."""
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.worker.daemon": False}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Ten letters and the examples, a corrupt PDF, a text file that is no letter, a missing file
    and one letter twice."""
    bad = tmp_path_factory.mktemp("bad")
    (bad / "noise.pdf").write_bytes(random.Random(5).randbytes(2048))
    (bad / "notes.txt").write_text("Shopping list: eggs, milk.\n", encoding="utf-8")
    letters = sorted(LETTERS.glob("*.pdf"))[:10]
    shutil.copy(letters[0], bad / "again.pdf")
    return [str(p) for p in input_files([EXAMPLES])] + [str(p) for p in letters[:5]] + \
        [str(bad / "noise.pdf"), str(bad / "notes.txt"), str(bad / "missing.pdf")] + \
        [str(p) for p in letters[5:]] + [str(bad / "again.pdf")]


def _quads(store: LocalStore) -> tuple[int, list[bytes]]:
    """The store's quad count and its quads without blank nodes, sorted (blank node labels differ run to run)."""
    import pyoxigraph as ox

    dump = store._store.dump(format=ox.RdfFormat.N_QUADS).splitlines()
    return len(dump), sorted(q for q in dump if b"_:" not in q)


@pytest.fixture(scope="module")
def pool(inputs):
    store = LocalStore(None)
    summary = ingest(inputs, store, workers=2, chunk=3)
    return summary, _quads(store)


@needs_letters
@pytest.mark.parametrize("send", ["paths", "bytes"])
def test_ingest_on_the_cluster_stores_what_the_pool_stores(scheduler, inputs, pool, send):
    want, quads = pool
    store = LocalStore(None)
    got = ingest_on_cluster(inputs, store, cluster=scheduler, send=send, chunk=3)
    assert got.cases == want.cases and len(got.cases) == len(inputs) - 3
    assert [str(e) for e in got.errors] == [str(e) for e in want.errors]
    assert [Path(e.source or "").name for e in got.errors] == ["noise.pdf", "notes.txt", "missing.pdf"]
    assert got.unchecked == want.unchecked
    assert _quads(store) == quads and quads[0] > 5000


@needs_letters
def test_determine_all_on_the_cluster_writes_what_the_pool_writes(scheduler, inputs):
    stores = [LocalStore(None), LocalStore(None)]
    for s in stores:
        ingest(inputs, s, determine=False)
    want = determine_all(stores[0], workers=2, chunk=4)
    got = determine_on_cluster(stores[1], cluster=scheduler, chunk=4)
    assert sorted(got.determined) == sorted(want.determined) and len(got.determined) == len(inputs) - 4
    assert got.failed == want.failed == ()
    assert _quads(stores[1]) == _quads(stores[0])
    again = determine_on_cluster(stores[1], cluster=scheduler)
    assert again.determined == () and sorted(again.skipped) == sorted(got.determined)


def test_shapes_sent_to_the_workers_are_used(scheduler, tmp_path):
    """--shapes files go to the workers as bytes: the stamp names their digest, so the pool's
    determine_all with the same folder finds every case up to date."""
    from kg.engine.validate import load_shapes

    shapes = tmp_path / "shapes"
    shapes.mkdir()
    shutil.copy(ROOT / "tests" / "data" / "shapes" / sorted(p.name for p in (ROOT / "tests" / "data" / "shapes")
                                                            .glob("*.ttl"))[0], shapes)
    store = LocalStore(None)
    ingest([EXAMPLES], store, determine=False)
    got = determine_on_cluster(store, cluster=scheduler, shapes_dir=str(shapes))
    assert len(got.determined) == len(store.case_ids()) > 1
    digest = load_shapes(shapes).digest
    stamps = {str(r[0]) for r in store.query(
        "SELECT ?s WHERE { GRAPH ?g { ?c <https://w3id.org/imr-kg/ont#determinedWith> ?s } }").rows}
    assert len(stamps) == 1 and stamps.pop().endswith(digest)
    assert determine_all(store, shapes_dir=str(shapes)).determined == ()


def test_a_remote_store_is_refused_for_determine_on_the_cluster():
    from kg.store.store import RemoteStore

    with pytest.raises(Exception, match="works on the embedded store"):
        determine_on_cluster(RemoteStore("http://127.0.0.1:9/sparql"), cluster="tcp://127.0.0.1:9")


def test_no_scheduler_there_is_a_clear_error(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ClusterError, match=f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}"):
        ingest_on_cluster([EXAMPLES], LocalStore(None), cluster=f"tcp://127.0.0.1:{port}")
    proc = subprocess.run([sys.executable, "-m", "kg.cli", "ingest", str(EXAMPLES), "--store", "memory", "--cluster",
                           "nowhere"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 2 and "not a scheduler address" in proc.stderr and "Traceback" not in proc.stderr


def test_the_reference_engine_is_refused_on_the_cluster(capsys):
    from kg.cli import main

    assert main(["ingest", str(EXAMPLES), "--store", "memory", "--cluster", "local", "--engine", "reference"]) == 2
    assert main(["determine", "--all", "--store", "memory", "--cluster", "local", "--engine", "reference"]) == 2
    assert capsys.readouterr().err.count("--cluster determines with the batch engine") == 2
