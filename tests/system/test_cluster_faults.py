"""Faults of a Dask cluster under ``imrkg ingest --cluster``: a worker killed mid-chunk, the
scheduler gone mid-run.

Each test starts a real cluster the way the README does (``dask scheduler`` and ``dask worker``
processes on loopback), runs the real command in a subprocess and checks what the threat model
promises: a killed worker costs only a retry (exit 0, the store exactly as a clean run writes it);
a lost scheduler ends the command with exit 2 and a message that says what to do (no traceback),
the store holds whole cases only, and running the same command again completes with no duplicates.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from casepaths import LETTERS, ROOT, needs_letters
from storecheck import graph_counts as _graphs
from storecheck import whole_cases_only as _whole_cases_only

DASK = Path(sys.executable).with_name("dask")
pytestmark = [needs_letters,
              pytest.mark.skipif(not DASK.exists(), reason="the dask command is not installed beside this Python")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _cluster(workers: int, port: int | None = None, *, nanny: bool = False):
    """A scheduler on loopback and ``workers`` single-threaded workers as separate processes (no
    nanny: a killed worker stays dead; with ``nanny``, one ``dask worker --nworkers`` as the README
    starts them); yields (address, scheduler process, worker processes)."""
    port = port or _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    procs = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--dashboard-address", ":0", "--no-show"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]
    try:
        worker = [str(DASK), "worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"]
        if nanny:
            procs.append(subprocess.Popen(worker + ["--nworkers", str(workers)], env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        else:
            procs += [subprocess.Popen(worker + ["--no-nanny"], env=env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL) for _ in range(workers)]
        from distributed import Client

        with Client(address, timeout=120) as client:
            client.wait_for_workers(workers, timeout=120)
        yield address, procs[0], procs[1:]
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


def _letters(n: int) -> list[str]:
    return [str(p) for p in sorted(LETTERS.glob("*.pdf"))[:n]]


def _ingest(store: Path, letters: list[str], *extra: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "kg.cli", "ingest", *letters, "--store", str(store), "--create",
                             "--quiet", *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kw)


def _finished(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = proc.communicate(timeout=900)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _reference(tmp_path: Path, letters: list[str]) -> dict[str, int]:
    """Quads per graph of a clean run through the process pool (the default path)."""
    proc = _finished(_ingest(tmp_path / "reference", letters))
    assert proc.returncode == 0, proc.stderr[-1500:]
    return _graphs(tmp_path / "reference")


def _busy_worker(client, seen: dict, pids: dict) -> int | None:
    """The pid of a worker that has been given the same chunk for more than a second (a worker runs
    one chunk at a time, so it is in the middle of one), if any; ``seen`` keeps when each was first seen."""
    now = time.monotonic()
    for worker, keys in client.processing().items():
        for key in keys:
            first = seen.setdefault((worker, key), now)
            if now - first > 1.0:
                return pids[worker]
    return None


def test_a_worker_killed_mid_chunk_costs_only_a_retry(tmp_path):
    letters = _letters(16)
    ref = _reference(tmp_path, letters)
    with _cluster(2) as (address, _scheduler, workers):
        store = tmp_path / "store"
        running = _ingest(store, letters, "--cluster", address)
        from distributed import Client

        with Client(address, timeout=60) as client:
            pids = client.run(os.getpid)  # worker address -> its process
            deadline = time.monotonic() + 600
            pid, seen = None, {}
            while pid is None:
                assert running.poll() is None, "the ingest ended before a worker could be killed"
                assert time.monotonic() < deadline
                pid = _busy_worker(client, seen, pids)
                time.sleep(0.2)
        assert pid in [w.pid for w in workers]
        os.kill(pid, signal.SIGKILL)
        proc = _finished(running)
        assert any(w.poll() is not None for w in workers)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "16 case(s) determined and stored" in proc.stderr
    assert _graphs(store) == ref  # every case once, whole, exactly as a clean run writes it


def _wait_for_chunks_done(address: str, n: int, limit: float = 600) -> None:
    """Until ``n`` chunks have been computed: seen processing on a worker, then no longer."""
    from distributed import Client

    seen: set[str] = set()
    deadline = time.monotonic() + limit
    with Client(address, timeout=60) as client:
        while True:
            now = {key for keys in client.processing().values() for key in keys}
            seen |= now
            if len(seen - now) >= n:
                return
            assert time.monotonic() < deadline, f"timed out waiting for {n} chunks"
            time.sleep(0.1)


def test_the_scheduler_gone_mid_run_gives_a_clear_error_and_a_rerun_completes(tmp_path):
    letters = _letters(48)  # four chunks of 12 letters: each takes longer than the pause below
    ref = _reference(tmp_path, letters)
    store = tmp_path / "store"
    port = _free_port()
    with _cluster(1, port, nanny=True) as (address, scheduler, _workers):
        running = _ingest(store, letters, "--cluster", address)
        _wait_for_chunks_done(address, 2)  # of four (48 letters, one worker)
        time.sleep(0.3)  # the writer stores them
        scheduler.send_signal(signal.SIGKILL)
        proc = _finished(running)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr[-2000:]
    assert f"the Dask scheduler at {address} went away" in proc.stderr and "run the same command again" in \
        proc.stderr, proc.stderr[-2000:]
    kept = _whole_cases_only(_graphs(store), ref)
    assert 0 < len(kept) < len(letters)
    with _cluster(1, port) as (address, _scheduler, _workers):
        again = _finished(_ingest(store, letters, "--cluster", address))
    assert again.returncode == 0, again.stderr[-2000:]
    assert _graphs(store) == ref
