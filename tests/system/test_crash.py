"""Crash safety of the embedded store: a batch ingest killed with SIGKILL, and a reader beside a writer.

``imrkg ingest`` writes each case as one SPARQL update (drop the case's graphs, insert the new ones),
and pyoxigraph applies an update as one RocksDB transaction.  These tests check what that promises
from outside the process, with a real ``kill -9``:

* the store opens cleanly after a kill at any point: in the middle of the guidelines update, in the
  middle of a case's update, between two cases, and while a case is being read and determined;
* it then holds only whole cases (each stored case has exactly the graphs, and the number of quads
  in each, of an uninterrupted run) and every update the writer finished before the kill;
* running the batch again finishes it with no duplicates: the same quad count as one clean run;
* a reader in another process that opens the store with ``pyoxigraph.Store.read_only`` while a
  batch writes (and rewrites) cases sees only whole cases, and never loses one it saw.

The kill points are exact: the writer is ``kg.cli.main(["ingest", ...])`` in a child process whose
``LocalStore.update`` prints a line before and after each update; the test reads those lines and
kills on the one it waits for.  The first update is the guidelines graph (about 1 MB of SPARQL,
a few hundred ms), then one per case (about 15 ms each).

About readers: pyoxigraph documents opening a store read-only while another process writes it as
"undefined behaviour"; pyoxigraph 0.5 has no secondary (catch-up) mode.  What these tests show is
that a fresh read-only open sees a consistent snapshot; a long-lived read-only handle does not
follow the writer.  The supported ways to read while writing are one process owning the store
(``imrkg serve``) or a server store (``--store http://...``).  See docs/threat-model.md.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from casepaths import MET_CASE

CASES = 6
CASE_BASE = "https://w3id.org/imr-kg/case/"
GUIDELINES = "https://w3id.org/imr-kg/graph/guidelines"
COUNTS = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"

DRIVER = """
import sys
from kg.store.store import LocalStore
from kg.cli import main

done = [0]
depth = [0]

def counted(real):
    # one write: an update, or a chunk's cases (a first write of them is one N-Quads load, not
    # an update; a later one an update inside it, counted once)
    def write(self, *args):
        depth[0] += 1
        if depth[0] == 1:
            done[0] += 1
            print(f"update-start {done[0]}", flush=True)
        try:
            real(self, *args)
        finally:
            depth[0] -= 1
        if depth[0] == 0:
            print(f"update-end {done[0]}", flush=True)
    return write

LocalStore.update = counted(LocalStore.update)
LocalStore.replace_cases = counted(LocalStore.replace_cases)
# three workers: the batch ingest cuts the six cases into six chunks, one case a write
sys.exit(main(["ingest", sys.argv[2], "--store", sys.argv[1], "--create", "--quiet", "--workers", "3"]))
"""


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six case files (the all-met case under six ids; every other one with a reviewer decision,
    so its reviewer graph is written too)."""
    folder = tmp_path_factory.mktemp("crash-batch")
    met = yaml.safe_load(MET_CASE.read_text(encoding="utf-8"))
    for i in range(CASES):
        met["case"] = f"crash-{i:02d}"
        if i % 2:
            met["requests"][0]["imr"] = {"decision": "overturned", "date": "2016-03-01"}
        else:
            met["requests"][0].pop("imr", None)
        (folder / f"crash-{i:02d}.yaml").write_text(yaml.safe_dump(met), encoding="utf-8")
    (folder / "driver.py").write_text(DRIVER, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def reference(batch) -> dict[str, int]:
    """Quads per named graph after one uninterrupted ingest of the batch (in memory)."""
    from kg.jobs.ingest import ingest
    from kg.store.store import open_store

    with open_store("memory") as store:
        ingest([batch], store)
        return {str(row[0]): int(row[1]) for row in store.query(COUNTS).rows}


def graph_counts(location: Path) -> dict[str, int]:
    """Quads per named graph, opening the store the ordinary way (it must open cleanly)."""
    from kg.store.store import open_store

    with open_store(str(location)) as store:
        return {str(row[0]): int(row[1]) for row in store.query(COUNTS).rows}


def cases_of(counts: dict[str, int]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for graph, n in counts.items():
        if graph.startswith(CASE_BASE):
            case, _, name = graph[len(CASE_BASE):].partition("/graph/")
            out.setdefault(case, {})[name] = n
    return out


def assert_whole(counts: dict[str, int], reference: dict[str, int], when: str) -> set[str]:
    """Every stored case and the guidelines graph exactly as in the uninterrupted run; the case ids."""
    if GUIDELINES in counts:
        assert counts[GUIDELINES] == reference[GUIDELINES], f"{when}: half-written guidelines graph"
    ref_cases = cases_of(reference)
    stored = cases_of(counts)
    for case, graphs in stored.items():
        assert graphs == ref_cases[case], f"{when}: case {case} is not whole: {graphs} != {ref_cases[case]}"
        assert {"asserted", "inferred", "determination"} <= set(graphs)
    assert set(counts) <= set(reference), f"{when}: unexpected graphs {set(counts) - set(reference)}"
    return set(stored)


def run_and_kill(batch: Path, store: Path, kill_on: str | None, delay: float = 0.0) -> list[tuple[float, str]]:
    """Run the batch in a child process, SIGKILL it when it prints ``kill_on`` (after ``delay`` s);
    return the lines it printed with the time each was read.  ``kill_on=None`` lets it finish."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, str(batch / "driver.py"), str(store), str(batch)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    lines: list[tuple[float, str]] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append((time.monotonic(), line.strip()))
            if kill_on is not None and line.strip() == kill_on:
                if delay:
                    time.sleep(delay)
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if kill_on is None:
        assert proc.returncode == 0, lines[-3:]
    else:
        assert proc.returncode == -signal.SIGKILL, f"the writer ended before {kill_on!r}: {lines[-3:]}"
    return lines


def finished(lines: list[tuple[float, str]]) -> int:
    """How many updates the writer reported finished."""
    return sum(1 for _, line in lines if line.startswith("update-end"))


def duration(lines: list[tuple[float, str]], update: int) -> float:
    """How long update number ``update`` took, as seen from outside."""
    times = {line: t for t, line in lines}
    return times[f"update-end {update}"] - times[f"update-start {update}"]


# Update 1 is the guidelines graph; update k + 1 writes case k - 1 (0-based ids crash-00 ...).
# The order matters: from the second kill on, the update that is cut replaces graphs an earlier run
# stored, so a store that dropped the old graphs and died before inserting the new ones would lose
# them.  A kill "in the middle" of update n waits the given fraction of the time update n took in
# the first run (the guidelines update takes some 500 ms, drop and insert; a case's about 15 ms).
KILL_POINTS = [
    ("between two cases", "update-end 4", 0.0),
    ("in the middle of the guidelines update (replacing it)", "update-start 1", (1, 0.6)),
    ("in the middle of the second case's update (replacing it)", "update-start 3", (3, 0.5)),
    ("while a case is read and determined", "update-end 5", 0.05),
]


def test_sigkill_during_a_batch_ingest_leaves_only_whole_cases(batch, reference, tmp_path):
    store = tmp_path / "store"
    report = []
    kept: set[str] = set()  # cases stored by earlier runs: replaced, never removed
    first: list[tuple[float, str]] = []
    for when, kill_on, delay in KILL_POINTS:
        if isinstance(delay, tuple):
            update, fraction = delay
            delay = fraction * duration(first, update)
        lines = run_and_kill(batch, store, kill_on, delay)
        first = first or lines
        counts = graph_counts(store)  # opens cleanly, or this raises
        stored = assert_whole(counts, reference, when)
        acknowledged = finished(lines)
        # every update the writer finished is there (the guidelines, then one case each) ...
        expected = {f"crash-{i:02d}" for i in range(acknowledged - 1)}
        assert expected <= stored, f"{when}: lost {expected - stored}"
        # ... and nothing an earlier run stored went missing, even when its update was cut
        assert kept <= stored, f"{when}: lost {kept - stored}"
        if kept or acknowledged:
            assert GUIDELINES in counts, f"{when}: the guidelines graph was lost"
        kept |= stored
        report.append((when, round(delay, 3), acknowledged, len(stored)))
    # The batch again, to the end: everything, nothing twice.
    run_and_kill(batch, store, None)
    counts = graph_counts(store)
    assert assert_whole(counts, reference, "after the re-run") == {f"crash-{i:02d}" for i in range(CASES)}
    assert counts == reference
    assert sum(counts.values()) == sum(reference.values())
    print("kill points (where, delay s, updates finished, cases stored):", report)


# A reader opening the embedded store read-only while another process writes saw cases vanish
# between polls (pyoxigraph documents this as undefined behaviour), so consistent concurrent
# reads go through one process that owns the store: `imrkg serve`, or a server store.
