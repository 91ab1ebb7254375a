"""Beyond one machine: ``imrkg ingest`` and ``imrkg determine --all`` on a Dask cluster.

After :mod:`kg.jobs.ingest`, whose work per chunk this sends to the workers of a
``dask.distributed`` cluster (an existing scheduler, not one of ours) instead of to a process
pool: :func:`ingest_on_cluster` sends chunks of inputs, as paths (the workers see the same
folder) or as the files' bytes (workers without it), and each worker does what a process-pool
worker does (:func:`kg.jobs.ingest.ingest_chunk`: read, extract, determine with the batch engine)
and returns whole cases as N-Quads; :func:`determine_on_cluster` sends chunks of stored cases'
asserted and reviewer graphs and gets their inferred and determination graphs back.  This process
is the one writer: each chunk's cases go into the store as they come back, in input order.

What holds when things break:

* a worker that dies mid-chunk costs a retry: the scheduler gives the chunk to another worker,
  and nothing of a chunk is written before its whole result is back, so the store ends with
  whole cases only and no duplicates (writing a case replaces it);
* a scheduler that goes away mid-run ends the run with :class:`ClusterError` (exit 2) saying what
  to do; every chunk written before is whole (ingest: one update a chunk; determine: stamps last),
  and running the same command again completes.

PDFium is not thread-safe and a Dask worker runs tasks in threads, so a worker reads letters in
a process of its own (:func:`_in_own_process`), as the process pool does.  Nothing here runs at
import time; ``distributed`` is imported when a cluster is used.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

from kg.errors import InputError, KgError
from kg.jobs.changes import cases_to_determine, plan_changes, restamp, stored_results
from kg.jobs.ingest import (
    BatchSummary,
    ChunkWriter,
    IngestSummary,
    Progress,
    default_workers,
    die_with_parent,
    ingest_chunk,
    input_files,
)
from kg.jobs.reach import remember_shapes
from kg.store.store import LocalStore, Store

if TYPE_CHECKING:
    import concurrent.futures as cf

    from distributed import Client

    from kg.batch.engine import ChunkResult, Engine
    from kg.jobs.inputs import CaseChunk

__all__ = ["SEND", "ClusterError", "connect", "ingest_on_cluster", "determine_on_cluster"]

#: what :func:`ingest_on_cluster` sends the workers: the inputs' paths, or the files' bytes
SEND = ("paths", "bytes")


class ClusterError(KgError):
    """The cluster cannot be reached, or went away mid-run (the CLI exits with code 2)."""

    exit_code = 2


_AGAIN = ("the cases already stored are whole; start the scheduler and its workers again (or use --cluster "
          "local) and run the same command again: it completes, with no duplicates")


@contextmanager
def connect(address: str, *, workers: int | None = None) -> Iterator[Client]:
    """A client of the Dask cluster at ``address``: ``"local"`` starts a ``LocalCluster`` on this
    machine (``workers`` processes, default one per core, one thread each) and stops it after;
    ``tcp://HOST:8786`` (any scheduler address) connects to a running ``dask scheduler``.  Raises
    :class:`ClusterError` naming the address when it cannot be reached."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ClusterError(f"--cluster needs dask.distributed: {exc}") from None
    with _quiet_distributed():
        if address == "local":
            import dask

            # workers that may start a process of their own (see _in_own_process)
            with dask.config.set({"distributed.worker.daemon": False}), \
                    LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1, processes=True,
                                 dashboard_address=None, silence_logs=logging.CRITICAL) as cluster, \
                    Client(cluster) as client:
                yield client
            return
        with _client(Client, address) as client:
            yield client


@contextmanager
def _quiet_distributed() -> Iterator[None]:
    """distributed's own log records (its tracebacks while it tries to reconnect) kept off stderr
    for the run: what went wrong is said once, by :class:`ClusterError`."""
    import distributed  # noqa: F401 - its logging set up first, so the levels set here hold

    logs = [logging.getLogger(n) for n in ["distributed", *logging.root.manager.loggerDict]
            if n.startswith("distributed.") or n == "distributed"]
    before = [log.level for log in logs]
    for log in logs:
        log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for log, level in zip(logs, before, strict=True):
            log.setLevel(level)


@contextmanager
def _client(client_type: type[Client], address: str) -> Iterator[Client]:
    """A client of the running scheduler at ``address``, closed afterwards."""
    if "://" not in address:
        raise InputError(f"'{address}' is not a scheduler address", source="--cluster",
                         hint="give 'local' or the scheduler's address, such as tcp://HOST:8786")
    try:
        client = client_type(address, timeout=20)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}. Start it (dask scheduler) and "
                           "its workers (dask worker ADDRESS), or use --cluster local") from None
    try:
        yield client
    finally:
        try:
            client.close(timeout=5)
        except Exception:  # noqa: BLE001 - closing a client whose scheduler is gone: nothing left to release
            pass


def _worker_count(client: Client) -> int:
    """Threads across the cluster's workers (each runs one chunk at a time); at least 1."""
    info = client.scheduler_info()
    return max(1, sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()))


def _in_order(client: Client, jobs: Iterable[tuple[Callable[..., Any], tuple[Any, ...]]], count: int,
              finish: Callable[[int, Any], None], *, address: str, what: str) -> None:
    """Submit ``fn(*args)`` for each of the ``count`` jobs (made as they are sent, so memory holds
    the chunks in flight only), at most two a worker in flight, and ``finish(i, result)`` in job
    order as they come back.  A scheduler lost mid-run is a :class:`ClusterError`."""
    from distributed import Future

    limit = 2 * _worker_count(client)
    pending: deque[tuple[int, Future]] = deque()
    done = 0  # chunks finished, counted by take

    def take() -> None:
        nonlocal done
        j, fut = pending.popleft()
        try:
            result = fut.result()
        except Exception as exc:  # noqa: BLE001 - the task's own error (the scheduler still answers)
            if type(exc).__name__ == "KilledWorker":
                raise ClusterError(f"a chunk of {what} killed every worker it was given to ({exc}); it is not "
                                   f"stored: run without --cluster to see the error; {_AGAIN}") from None
            if fut.status == "error":
                raise ClusterError(f"a worker could not do a chunk of {what}: {type(exc).__name__}: {exc}") from None
            raise
        finish(j, result)
        done += 1

    try:
        for i, (fn, args) in enumerate(jobs):
            pending.append((i, client.submit(fn, *args, pure=False)))
            while len(pending) >= limit:
                take()
        while pending:
            take()
    except KgError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever distributed raises for a lost scheduler
        raise ClusterError(f"the Dask scheduler at {address} went away after {done} of {count} chunks of {what} "
                           f"({type(exc).__name__}: {exc}); {_AGAIN}") from None


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


# ---------------------------------------------------------------------------
# Ingest
# ---------------------------------------------------------------------------
def ingest_on_cluster(paths: Sequence[str | Path], store: Store, *, cluster: str, send: str = "paths",
                      document_roots: Sequence[str | Path] = (), chunk: int = 50, workers: int | None = None,
                      progress: Progress | None = None) -> IngestSummary:
    """:func:`kg.jobs.ingest.ingest` with the chunks read and determined on the Dask cluster
    ``cluster`` (see :func:`connect`; ``workers`` for ``"local"``): the same cases, errors and
    graphs as the process pool.  ``send="paths"`` sends each chunk's paths (the workers must see
    the inputs, and ``document_roots``, at the same paths); ``"bytes"`` sends the files' contents
    (a case file's documents are then looked for in ``document_roots`` on the worker).  Each
    chunk's cases are written in one update (:meth:`kg.store.store.Store.replace_cases`: on a
    remote store through its Graph Store endpoint where it has one).  Raises
    :class:`ClusterError` when the cluster cannot be reached or goes away."""
    if send not in SEND:
        raise ValueError(f"send must be one of {SEND}")
    files = input_files(paths)
    total = len(files)
    writer = ChunkWriter(store)
    with connect(cluster, workers=workers) as client:
        size = max(1, min(chunk, -(-total // (4 * _worker_count(client)))))
        parts = _chunks(files, size)
        roots = tuple(str(r) for r in document_roots)
        store.ensure_guidelines()
        remember_shapes(store)  # the packaged shapes decide: their manifest, for a later change
        if progress:
            progress(0, total, files[0].name if files else "")

        def job(part: list[Path]) -> tuple[Callable[..., Any], tuple[Any, ...]]:
            if send == "paths":
                return _paths_chunk, ([str(p) for p in part], roots)
            return _bytes_chunk, ([(str(p), _file_bytes(p)) for p in part], roots)

        def finish(i: int, result: CaseChunk) -> None:
            writer.write(result)
            if progress:
                n = min(total, (i + 1) * size)
                progress(n, total, files[n].name if n < total else "")

        _in_order(client, (job(p) for p in parts), len(parts), finish, address=cluster, what="inputs")
    return writer.summary()


def _file_bytes(path: Path) -> bytes | None:
    """A file's bytes to send, or None when it cannot be read here (the worker reports it as the pool would)."""
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError:
        return None


def _paths_chunk(files: list[str], roots: tuple[str, ...]) -> CaseChunk:
    """On a worker: a chunk of inputs by path (:func:`kg.jobs.ingest.ingest_chunk`, in a process of its own)."""
    return _in_own_process(ingest_chunk, [Path(f) for f in files], roots)


def _bytes_chunk(named: list[tuple[str, bytes | None]], roots: tuple[str, ...]) -> CaseChunk:
    """On a worker: a chunk of inputs sent as bytes (in a process of its own)."""
    return _in_own_process(_chunk_of_bytes, named, roots)


def _chunk_of_bytes(named: list[tuple[str, bytes | None]], roots: tuple[str, ...]) -> CaseChunk:
    """Each file written under its own name into a temporary folder, the chunk read and determined
    there, and every error and note named by the sender's path again (a file the sender could not
    read is kept by that path, so it is reported as the pool reports it)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="imrkg-chunk-") as tmp:
        local: list[Path] = []
        back: dict[str, str] = {}
        for i, (name, data) in enumerate(named):
            if data is None:
                local.append(Path(name))
                continue
            path = Path(tmp) / str(i) / Path(name).name
            path.parent.mkdir()
            path.write_bytes(data)
            local.append(path)
            back[str(path)] = name
        result = ingest_chunk(local, roots)
    errors = tuple(_renamed(e, back) for e in result.errors)
    return replace(result, errors=errors, unchecked=tuple(back.get(u, u) for u in result.unchecked))


def _renamed(error: InputError, back: dict[str, str]) -> InputError:
    if error.source is None or error.source not in back:
        return error
    return type(error)(error.problem, source=back[error.source], line=error.line, field=error.field, hint=error.hint)


class _WorkerRefused(RuntimeError):
    """A worker cannot do the chunk as it is set up (its message says what to change)."""


#: per worker process: the one process its chunks of letters are read in (PDFium in a main thread)
_OWN_PROCESS: list[cf.ProcessPoolExecutor] = []
_OWN_LOCK = threading.Lock()


def _in_own_process(fn: Callable[..., CaseChunk], *args: Any) -> CaseChunk:
    """``fn(*args)`` in this process when called from its main thread, else in a child process of
    this one (spawned once, ending with it), so thread-unsafe readers run in processes only."""
    if threading.current_thread() is threading.main_thread():
        return fn(*args)
    import concurrent.futures as cf
    import multiprocessing as mp

    if mp.current_process().daemon:
        raise _WorkerRefused("this Dask worker runs as a daemon process, which may not start the process letters are "
                             "read in: start the workers with DASK_DISTRIBUTED__WORKER__DAEMON=False (see the README)")

    with _OWN_LOCK:
        if not _OWN_PROCESS:
            _OWN_PROCESS.append(cf.ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"),
                                                       initializer=die_with_parent))
        pool = _OWN_PROCESS[0]
    try:
        return pool.submit(fn, *args).result()
    except cf.process.BrokenProcessPool:
        with _OWN_LOCK:  # the child died (killed, out of memory): a new one for the next chunk
            if _OWN_PROCESS and _OWN_PROCESS[0] is pool:
                _OWN_PROCESS.clear()
        raise


# ---------------------------------------------------------------------------
# Determine every stored case
# ---------------------------------------------------------------------------
def determine_on_cluster(store: Store, *, cluster: str, shapes_dir: str | None = None, force: bool = False,
                         chunk: int = 1000, workers: int | None = None,
                         progress: Progress | None = None) -> BatchSummary:
    """:func:`kg.jobs.ingest.determine_all` with the batch engine on the Dask cluster ``cluster``:
    chunks of the embedded store's cases (their asserted and reviewer graphs as N-Quads, so the
    workers need no shared folder; ``--shapes`` files are sent too) determined on the workers, the
    results written by this process as they come: one bulk load a chunk, each case's stamp after
    it, so an interrupted run resumes where it stopped.  Cases already determined with these
    shapes are skipped unless ``force``.  Raises :class:`InputError` for a remote store and
    :class:`ClusterError` when the cluster cannot be reached or goes away."""
    from kg.batch.engine import graph_of
    from kg.engine.determine import engine_version
    from kg.engine.validate import default_shapes, load_shapes

    if not isinstance(store, LocalStore):
        raise InputError("determine --all --cluster works on the embedded store", source=store.location,
                         hint="run it where the store's folder is (stop imrkg serve first), or without --cluster")
    shapes = load_shapes(shapes_dir) if shapes_dir else default_shapes()
    stored = stored_results(store)
    todo, skipped, carried = cases_to_determine(store, shapes, force=force, stored=stored)
    if todo or carried:
        remember_shapes(store, shapes)
    written = restamp(store, carried, stored, f"{engine_version()} {shapes.digest}")  # quads, counted by finish
    sent = tuple((p.name, p.read_bytes()) for p in sorted(Path(shapes_dir).glob("*.ttl"))) if shapes_dir else None
    determined: list[str] = []
    failed: list[tuple[str, str]] = []
    rewritten: list[str] = []
    total = len(todo)
    with connect(cluster, workers=workers) as client:
        size = max(min(chunk, 100), min(chunk, -(-total // (2 * _worker_count(client)))))
        parts = _chunks(todo, size)
        if progress:
            progress(0, total, "")

        def jobs() -> Iterator[tuple[Callable[..., Any], tuple[Any, ...]]]:
            for ids in parts:
                yield _determine_chunk, (store.export_graphs([graph_of(c, "asserted") for c in ids]),
                                         store.export_graphs([graph_of(c, "reviewer") for c in ids]), sent)

        def finish(i: int, result: ChunkResult | str) -> None:
            nonlocal written
            ids = parts[i]
            if isinstance(result, str):
                failed.extend((c, result) for c in ids)
            else:
                # what changed, as the pool writes it (kg.jobs.changes): the stamps and digests last
                plan = plan_changes(result.nquads, result.stamps, stored, force=force)
                store.replace_graphs(plan.drop, plan.body, plan.last, remove=plan.remove)
                determined.extend(result.determined)
                rewritten.extend(plan.rewritten)
                written += plan.quads
                failed.extend(result.failed)
            if progress:
                progress(len(determined) + len(failed), total, "")

        _in_order(client, jobs(), len(parts), finish, address=cluster, what="cases")
    return BatchSummary(determined=tuple(determined), skipped=tuple(skipped), failed=tuple(failed),
                        rewritten=tuple(rewritten), quads_written=written, carried=tuple(carried))


#: per worker process: the batch engine compiled for each set of shapes sent (by their bytes)
_ENGINES: dict[Any, Engine] = {}


def _determine_chunk(asserted: bytes, reviewer: bytes,
                     shapes: tuple[tuple[str, bytes], ...] | None) -> ChunkResult | str:
    """On a worker: one chunk of stored cases determined (:func:`kg.batch.engine.determine_chunk`),
    the engine compiled once per worker for these shapes; a chunk that fails is its error text."""
    from kg.batch.engine import compile_engine, determine_chunk

    try:
        with _OWN_LOCK:
            if shapes not in _ENGINES:
                _ENGINES[shapes] = compile_engine(_shapes_of(shapes))
            engine = _ENGINES[shapes]
        return determine_chunk(asserted, reviewer, engine)
    except Exception as exc:  # noqa: BLE001 - the chunk is reported as failed, the batch goes on
        return f"{type(exc).__name__}: {exc}"


def _shapes_of(files: tuple[tuple[str, bytes], ...] | None) -> Any:
    """The packaged shapes with the sent ``--shapes`` files (None: the packaged ones alone)."""
    import tempfile

    from kg.engine.validate import load_shapes

    if files is None:
        return None
    with tempfile.TemporaryDirectory(prefix="imrkg-shapes-") as tmp:
        for name, data in files:
            (Path(tmp) / name).write_bytes(data)
        return load_shapes(tmp)
