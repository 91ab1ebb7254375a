"""Inputs in: case files and letters into the store or a dataset, and the batch determination.

After :mod:`kg.jobs.inputs` (whose names are re-exported here): :func:`read_each` is the only
loop over inputs.  It feeds:

* :func:`ingest`: each case determined and written to the store as its four named graphs, all of
  them or none.  By default (the embedded store) chunks of inputs are read and determined with
  the batch engine in worker processes (:func:`kg.jobs.inputs.determine_inputs`, the reference's
  answers) and this process, the one writer, stores each chunk's cases in one update; with
  ``engine="reference"`` (and on a remote store) each case is determined with pySHACL and written
  in its own update.  With ``determine=False`` only each case's asserted and reviewer graphs are
  written, for :func:`determine_all` to determine afterwards (``imrkg run --workers``);
* :func:`ingest_dataset`: the asserted and reviewer graphs into an rdflib dataset, written as
  TriG by :func:`write_dataset` (``imrkg ingest -o``);
* :func:`kg.jobs.evaluate.evaluate`, which measures each letter as it is read.

:func:`determine_all` then determines every stored case in bulk.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence, TypeGuard, TypeVar, cast

from rdflib import Dataset, Graph

from kg.engine.graph import CaseGraph
from kg.errors import InputError
from kg.jobs.changes import ChangePlan, Stored, plan_changes
from kg.jobs.inputs import (
    CASE_SUFFIXES,
    LETTER_SUFFIXES,
    CaseChunk,
    Progress,
    determine_inputs,
    input_files,
    letter_case_graph,
    prepare_readers,
    read_case,
    read_each,
    read_input,
    terminal_progress,
    unchecked_documents,
    unchecked_warning,
)
from kg.jobs.reach import remember_shapes
from kg.rdf import bind_prefixes
from kg.store.store import LocalStore, Store, case_graphs

if TYPE_CHECKING:
    from kg.batch.engine import ChunkResult, Engine
    from kg.engine.validate import Shapes

__all__ = ["CASE_SUFFIXES", "LETTER_SUFFIXES", "Progress", "terminal_progress", "input_files", "read_input",
           "read_case", "unchecked_documents", "unchecked_warning",
           "letter_case_graph", "read_each", "IngestSummary", "ingest", "IngestResult", "ingest_dataset",
           "read_dataset", "write_dataset", "BatchSummary", "ENGINES", "determine_all", "default_workers",
           "ingest_chunk", "die_with_parent", "ChunkWriter"]

C = TypeVar("C")

# ---------------------------------------------------------------------------
# Into the store
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class IngestSummary:
    """What :func:`ingest` did: the cases stored (ids, in input order), the inputs that failed,
    and the case files whose documents were absent (their quotes not checked)."""

    cases: tuple[str, ...]
    errors: tuple[InputError, ...]
    unchecked: tuple[str, ...] = ()


def _reader(document_roots: Sequence[str | Path], unchecked: list[str]) -> Callable[[Path], CaseGraph]:
    """:func:`read_input` with ``document_roots``, noting in ``unchecked`` each input with absent documents."""

    def read(path: Path) -> CaseGraph:
        cg = read_input(path, document_roots=document_roots)
        if unchecked_documents(cg):
            unchecked.append(str(path))
        return cg

    return read


def default_workers() -> int:
    """Worker processes by default: one per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def ingest(paths: Sequence[str | Path], store: Store, *, progress: Progress | None = None,
           determine: bool = True, document_roots: Sequence[str | Path] = (), engine: str = "batch",
           workers: int | None = None, chunk: int = 50) -> IngestSummary:
    """Read, determine and store every input; replace cases already stored.

    The guideline graph is refreshed first.  A bad input is collected and skipped.  With
    ``engine="batch"`` (the default; the embedded store) the inputs are read and determined in
    chunks of at most ``chunk`` in ``workers`` processes (default :func:`default_workers`; 1: in
    this process) with the batch engine, which gives the reference's answers, and each chunk's
    cases are written in one update (all of them or none).  With ``engine="reference"``, or on a
    remote store, each case is determined with pySHACL in this process and written in its own
    update.  With ``determine=False`` only each case's asserted and reviewer graphs are written,
    for :func:`determine_all` to determine.  ``document_roots``: see :func:`read_input`.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}")
    files = input_files(paths)
    if determine and engine == "batch" and isinstance(store, LocalStore):
        compiled = _ingest_engine()
        if compiled is not None:
            return _ingest_chunks(files, store, compiled, workers=workers or default_workers(), chunk=max(1, chunk),
                                  document_roots=document_roots, progress=progress)
    from kg.engine.determine import determine_case

    store.ensure_guidelines()
    remember_shapes(store)  # the packaged shapes decide: their manifest, for a later change
    cases: list[str] = []
    errors: list[InputError] = []
    unchecked: list[str] = []
    for cg in read_each(files, _reader(document_roots, unchecked),
                        on_error=lambda _, exc: errors.append(exc), progress=progress):
        graphs = case_graphs(cg, determine_case(cg)) if determine else {"asserted": cg.asserted,
                                                                         "reviewer": cg.reviewer}
        store.put_case(cg.case_id, graphs)
        cases.append(cg.case_id)
    return IngestSummary(cases=tuple(cases), errors=tuple(errors), unchecked=tuple(unchecked))


#: the batch engine for the packaged shapes, compiled once per process (worker processes forked
#: from this one inherit it)
_INGEST_ENGINE: list[Engine] = []


def _ingest_engine() -> Engine | None:
    """The batch engine for the packaged shapes (compiled on first use), or None (with a note on
    stderr) when they do not compile, for the reference engine to decide."""
    import sys

    if not _INGEST_ENGINE:
        from kg.batch.engine import compile_engine

        try:
            _INGEST_ENGINE.append(compile_engine())
        except Exception as exc:  # noqa: BLE001 - any compile failure: the reference decides
            print(f"imrkg: the batch engine cannot compile the shapes ({type(exc).__name__}: {exc}); "
                  "determining with the reference engine (pySHACL)", file=sys.stderr)
            return None
    return _INGEST_ENGINE[0]


def ingest_chunk(files: list[Path], document_roots: Sequence[str | Path]) -> CaseChunk:
    """Worker: one chunk of inputs read and determined (the engine compiled on first use), what
    each worker of the process pool and of a Dask cluster (:mod:`kg.jobs.cluster`) does."""
    compiled = _ingest_engine()
    assert compiled is not None, "the packaged shapes compile (the parent checked)"
    return determine_inputs(files, compiled, document_roots=document_roots)


def die_with_parent() -> None:
    """Worker initializer: on Linux, the worker ends when the process that started it dies, so an
    ingest killed with SIGKILL leaves no idle worker behind (``PR_SET_PDEATHSIG``)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the pool's own shutdown has to do
        return
    if os.getppid() == 1:  # the parent died before the call
        os._exit(1)


def _ingest_chunks(files: list[Path], store: LocalStore, compiled: Engine, *, workers: int, chunk: int,
                   document_roots: Sequence[str | Path], progress: Progress | None) -> IngestSummary:
    """:func:`ingest` through the batch engine: chunks of inputs determined in ``workers`` worker
    processes (forked: they inherit the compiled engine, and open no on-disk store), at most
    ``2 * workers`` chunks in flight, each chunk's cases written by this process in one update as
    the chunks come back, in input order.  Small batches are cut finer (down to one input a
    chunk) so that every worker has two chunks to do and writing goes on beside them (each
    chunk costs the batch engine about 80 ms whatever its size, so no finer than that).  What
    reading a letter loads on first use is loaded here before the fork (:func:`prepare_readers`),
    so that the workers of every run start with it."""
    import concurrent.futures as cf
    import multiprocessing as mp
    from collections import deque

    total = len(files)
    size = max(1, min(chunk, -(-total // (2 * workers))))
    chunks = [files[i:i + size] for i in range(0, total, size)]
    writer = ChunkWriter(store)

    def finish(result: CaseChunk, done: int) -> None:
        writer.write(result)
        if progress:
            progress(done, total, files[done - 1].name if done < total else "")

    if progress:
        progress(0, total, files[0].name if files else "")
    if workers <= 1 or len(chunks) <= 1:
        store.ensure_guidelines()
        remember_shapes(store)  # the packaged shapes decide: their manifest, for a later change
        for i, part in enumerate(chunks):
            finish(determine_inputs(part, compiled, document_roots=document_roots), min(total, (i + 1) * size))
        return writer.summary()
    # forked workers inherit the compiled engine and what reading a letter loads on first use;
    # they are all forked at the first submit, before this process writes to the store
    prepare_readers()
    context = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    pool = cf.ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=context,
                                  initializer=die_with_parent)
    try:
        pending: deque[tuple[int, cf.Future[CaseChunk]]] = deque()
        for i, part in enumerate(chunks):
            pending.append((min(total, (i + 1) * size), pool.submit(ingest_chunk, part, document_roots)))
            if i == 0:
                store.ensure_guidelines()
                remember_shapes(store)  # the packaged shapes decide: their manifest, for a later change
            if len(pending) >= 2 * workers:
                done, future = pending.popleft()
                finish(future.result(), done)
        while pending:
            done, future = pending.popleft()
            finish(future.result(), done)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return writer.summary()


class ChunkWriter:
    """The one writer of an ingest's chunks (the process pool's or a Dask cluster's): each chunk's
    cases stored in one update, all of them or none (:meth:`kg.store.store.Store.replace_cases`),
    and what was stored and what failed kept for the summary, in the order written."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.cases: list[str] = []
        self.errors: list[InputError] = []
        self.unchecked: list[str] = []

    def write(self, result: CaseChunk) -> None:
        """Store one chunk's cases and note its errors."""
        if result.cases:
            self.store.replace_cases(result.cases, result.nquads)
        self.cases.extend(result.cases)
        self.errors.extend(result.errors)
        self.unchecked.extend(result.unchecked)

    def summary(self) -> IngestSummary:
        return IngestSummary(cases=tuple(self.cases), errors=tuple(self.errors), unchecked=tuple(self.unchecked))


# ---------------------------------------------------------------------------
# Into a dataset (TriG), no store
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class IngestResult:
    """What :func:`ingest_dataset` did: the dataset, the cases ingested and the files that failed."""

    dataset: Dataset
    cases: tuple[str, ...]
    errors: tuple[InputError, ...]
    unchecked: tuple[str, ...] = ()


def _default_graph(ds: Dataset) -> Graph:
    """The dataset's default graph (``default_graph`` in rdflib >= 7.1, ``default_context`` before)."""
    return cast(Graph, getattr(ds, "default_graph", None) if hasattr(type(ds), "default_graph")
                else ds.default_context)


def _drop_case(ds: Dataset, case_iri: str) -> None:
    for g in list(ds.graphs()):
        ident = str(g.identifier)
        if ident.startswith(case_iri):
            ds.remove_graph(g)
    default = _default_graph(ds)
    for s, p, o in list(default):
        if str(s).startswith(case_iri):
            default.remove((s, p, o))


def ingest_dataset(paths: Sequence[str | Path], *, dataset: Dataset | None = None,
                   progress: Progress | None = None, document_roots: Sequence[str | Path] = ()) -> IngestResult:
    """Read letters (and case files) into case graphs in a dataset (a new one, or ``dataset``
    updated in place), the same way :func:`ingest` reads them for a store.

    Each case's asserted facts and reviewer record go into its own named
    graphs; a case already present is replaced.  Unreadable files are
    collected as errors and skipped.
    """
    ds = dataset if dataset is not None else Dataset()
    bind_prefixes(ds)
    cases: list[str] = []
    errors: list[InputError] = []
    unchecked: list[str] = []
    for cg in read_each(input_files(paths), _reader(document_roots, unchecked),
                        on_error=lambda _, exc: errors.append(exc), progress=progress):
        _drop_case(ds, str(cg.iri))
        for name, g in (("asserted", cg.asserted), ("reviewer", cg.reviewer)):
            target = ds.graph(cg.graph_iri(name))
            for t in g:
                target.add(t)
        cases.append(cg.case_id)
    return IngestResult(dataset=ds, cases=tuple(cases), errors=tuple(errors), unchecked=tuple(unchecked))


def read_dataset(path: str | Path) -> Dataset:
    """Read a TriG (``.trig``) or Turtle (``.ttl``) file written by :func:`write_dataset`.

    Raises :class:`kg.errors.InputError` naming the file when it does not parse.
    """
    p = Path(path)
    ds = Dataset()
    fmt = "trig" if p.suffix.lower() == ".trig" else "turtle"
    try:
        if fmt == "trig":
            ds.parse(p, format="trig")
        else:
            _default_graph(ds).parse(p, format="turtle")
    except Exception as exc:  # noqa: BLE001 - rdflib raises many types for bad input
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot read the existing {fmt.upper()} file: {first}", source=str(p),
                         hint="remove the file or give another output path") from None
    return ds


def _stable_trig(ds: Dataset) -> str:
    """TriG with the named graphs in IRI order, each written by rdflib's (sorted) Turtle writer,
    so the same dataset always gives the same bytes."""
    prefixes: list[str] = []
    blocks: list[str] = []
    for g in sorted(ds.graphs(), key=lambda g: str(g.identifier)):
        if len(g) == 0:
            continue
        body = bind_prefixes(Graph())
        for t in g:
            body.add(t)
        lines = body.serialize(format="turtle").splitlines()
        for line in lines:
            if line.startswith("@prefix") and line not in prefixes:
                prefixes.append(line)
        content = "\n".join(line for line in lines if not line.startswith("@prefix")).strip("\n")
        blocks.append(f"<{g.identifier}> {{\n{content}\n}}\n")
    return "\n".join(sorted(prefixes)) + "\n\n" + "\n".join(blocks)


def write_dataset(ds: Dataset, path: str | Path | None = None) -> str:
    """Serialise a dataset as TriG (or, for a ``.ttl`` path, all graphs merged as Turtle).

    Returns the text; writes it to ``path`` when given.
    """
    if path is not None and Path(path).suffix.lower() == ".ttl":
        merged = bind_prefixes(Graph())
        for t in ds.quads((None, None, None, None)):
            merged.add(t[:3])
        text = merged.serialize(format="turtle")
    else:
        text = _stable_trig(ds)
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text



# ---------------------------------------------------------------------------
# Batch determination of every stored case
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchSummary:
    """What :func:`determine_all` did."""

    determined: tuple[str, ...]
    skipped: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]  # (case id, reason)
    #: of the cases determined, those at least one of whose result graphs was written (the others'
    #: results came out as stored: only their stamps were written, see kg.jobs.changes)
    rewritten: tuple[str, ...] = ()
    #: quads written: loaded, added and removed (a dropped graph's quads not counted)
    quads_written: int = 0
    #: cases determined with other shapes that no changed section reaches: not determined again,
    #: their stamp alone replaced (see kg.jobs.reach); counted neither as determined nor skipped
    carried: tuple[str, ...] = ()


_WORKER_SHAPES: Shapes | None = None


def _worker_init(shapes_dir: str | None) -> None:
    """Load shapes and ontology once per worker process."""
    global _WORKER_SHAPES
    from kg.engine.reason import default_rules
    from kg.engine.validate import load_shapes

    _WORKER_SHAPES = load_shapes(shapes_dir) if shapes_dir else None
    default_rules()


def _determine_one(case_id: str, asserted_nt: str, reviewer_nt: str) -> tuple[str, dict[str, str] | str]:
    """Worker: determine one case from its N-Triples; return its graphs as N-Triples, or an error text."""
    from kg.engine.determine import determine_case
    from kg.engine.graph import case_iri
    from kg.engine.validate import Shapes

    try:
        asserted = Graph().parse(data=asserted_nt, format="nt") if asserted_nt else Graph()
        reviewer = Graph().parse(data=reviewer_nt, format="nt") if reviewer_nt else Graph()
        cg = CaseGraph(case_id=case_id, iri=case_iri(case_id), asserted=asserted, reviewer=reviewer)
        shapes = _WORKER_SHAPES if isinstance(_WORKER_SHAPES, Shapes) else None
        graphs = case_graphs(cg, determine_case(cg, shapes=shapes))
        return case_id, {n: g.serialize(format="nt") for n, g in graphs.items()}
    except Exception as exc:  # noqa: BLE001 - reported per case, the batch goes on
        return case_id, f"{type(exc).__name__}: {exc}"


ENGINES = ("batch", "reference")


def determine_all(store: Store, *, workers: int = 1, shapes_dir: str | None = None, force: bool = False,
                  progress: Progress | None = None, engine: str = "batch", chunk: int = 1000) -> BatchSummary:
    """Determine every case in the store, in parallel, writing results as they come.

    ``engine="batch"`` (the default on the embedded store) determines ``chunk`` cases at a
    time with :mod:`kg.batch.engine` (rules and shapes compiled to SPARQL, the same answers as the
    reference); ``"reference"`` determines one case at a time with pySHACL, and is what a
    remote store or shapes the compiler does not handle get.  A case whose stored
    determination was made with the same engine version and shapes is skipped (unless
    ``force``), so an interrupted run resumes where it stopped.  Memory grows with the
    number of workers, not with the number of cases: the reference has at most
    ``2 * workers`` cases in flight, and the batch engine keeps the chunks waiting for a
    worker on disk.  The batch engine reads every case before it writes any result, and
    writes what it determined on the way out if interrupted.  It writes only what changed
    (:mod:`kg.jobs.changes`): a result graph whose digest is the stored one is left as it is,
    and a case whose results all came out the same gets its new stamp alone; with ``force``
    every result is written again.
    """
    from kg.engine.determine import engine_version
    from kg.engine.validate import default_shapes, load_shapes
    from kg.jobs.changes import cases_to_determine, restamp, stored_results

    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}")
    shapes = load_shapes(shapes_dir) if shapes_dir else default_shapes()
    stored = stored_results(store)
    todo, skipped, carried = cases_to_determine(store, shapes, force=force, stored=stored)
    if skipped or todo or carried:  # what the next shapes change is compared with (written once)
        remember_shapes(store, shapes)
    if not todo and not carried:  # nothing to determine: no engine to compile, nothing to write
        return BatchSummary(determined=(), skipped=tuple(skipped), failed=())
    restamped = restamp(store, carried, stored, f"{engine_version()} {shapes.digest}")
    if not todo:
        return BatchSummary(determined=(), skipped=tuple(skipped), failed=(), quads_written=restamped,
                            carried=tuple(carried))
    if engine == "batch" and _batch_ready(store, shapes):
        results = _determine_batches(store, todo, workers=workers, shapes_dir=shapes_dir, chunk=max(1, chunk),
                                     progress=progress, stored=stored, force=force)
        return BatchSummary(determined=tuple(results.determined), skipped=tuple(skipped),
                            failed=tuple(results.failed), rewritten=tuple(results.rewritten),
                            quads_written=results.quads + restamped, carried=tuple(carried))
    determined, failed, quads = _determine_each(store, todo, workers=workers, shapes_dir=shapes_dir,
                                                progress=progress)
    return BatchSummary(determined=tuple(determined), skipped=tuple(skipped), failed=tuple(failed),
                        rewritten=tuple(determined), quads_written=quads + restamped, carried=tuple(carried))


def _batch_ready(store: Store, shapes: Shapes) -> TypeGuard[LocalStore]:
    """The batch engine needs the embedded store and shapes the compiler handles."""
    import sys

    if not isinstance(store, LocalStore):
        return False
    try:
        from kg.batch.engine import compile_engine

        compile_engine(shapes)
    except Exception as exc:  # noqa: BLE001 - a refusal, or any compile failure: the reference decides
        print(f"imrkg: the batch engine cannot compile these shapes ({type(exc).__name__}: {exc}); "
              "determining with the reference engine (pySHACL)", file=sys.stderr)
        return False
    return True


_WORKER_ENGINE: Engine | None = None

#: the batch writes finished chunks' results to the store once they add up to this many bytes of
#: N-Quads (about 1.1 million quads, 12,000 cases): every bulk load adds files spanning the whole
#: store, which RocksDB then merges, so fewer, larger loads cost less (see _determine_batches)
_WRITE_BYTES = 128 * 2 ** 20


def _batch_init(shapes_dir: str | None) -> None:
    """Compile the rules and shapes once per worker process."""
    global _WORKER_ENGINE
    from kg.batch.engine import compile_engine
    from kg.engine.validate import load_shapes

    _WORKER_ENGINE = compile_engine(load_shapes(shapes_dir) if shapes_dir else None)


def _run_bounded(jobs: Iterable[C], payload: Callable[[C], tuple[Any, ...]], work: Callable[..., tuple[Any, ...]],
                 finish: Callable[..., None], *, workers: int, init: Callable[[str | None], None],
                 init_arg: str | None) -> None:
    """``finish(*work(*payload(job)))`` for every job, in order: in this process with one
    worker, else in a process pool with at most ``2 * workers`` jobs in flight (so memory
    grows with the workers, not with the jobs)."""
    import concurrent.futures as cf
    from collections import deque

    if workers <= 1:
        init(init_arg)
        for job in jobs:
            finish(*work(*payload(job)))
        return
    with cf.ProcessPoolExecutor(max_workers=workers, initializer=init, initargs=(init_arg,)) as pool:
        pending: deque[cf.Future[tuple[Any, ...]]] = deque()
        for job in jobs:
            pending.append(pool.submit(work, *payload(job)))
            if len(pending) >= 2 * workers:
                finish(*pending.popleft().result())
        while pending:
            finish(*pending.popleft().result())


class _Results:
    """The batch's results as the chunks finish: finished chunks wait in ``group`` until their
    output adds up to :data:`_WRITE_BYTES`, then go to the store in one bulk load."""

    def __init__(self, store: LocalStore, total: int, progress: Progress | None) -> None:
        self.store = store
        self.total = total
        self.progress = progress
        self.determined: list[str] = []
        self.rewritten: list[str] = []
        self.quads = 0
        self.failed: list[tuple[str, str]] = []
        self.group: list[tuple[ChunkResult, ChangePlan, _ChunkFiles]] = []  # finished chunks not yet written

    def write(self) -> None:
        """Write what changed in the finished chunks in one bulk load (one file), their stamps after it."""
        if not self.group:
            return
        target = self.group[-1][2].group
        with target.open("wb") as out:
            for _, _, f in self.group:
                with f.output.open("rb") as part:
                    shutil.copyfileobj(part, out)
        plans = [p for _, p, _ in self.group]
        if any(p.drop or p.remove or p.last for p in plans) or target.stat().st_size:
            self.store.replace_graphs([g for p in plans for g in p.drop], target, b"".join(p.last for p in plans),
                                      remove=b"".join(p.remove for p in plans))
        for r, p, f in self.group:
            self.determined.extend(r.determined)
            self.rewritten.extend(p.rewritten)
            self.quads += p.quads
            f.remove()
        target.unlink()
        self.group.clear()

    def finish(self, ids: list[str], result: tuple[ChunkResult, ChangePlan] | str, files: _ChunkFiles,
               report: bool = True) -> None:
        """Take one chunk's result and what to write for it (or its error text); write the group
        once it is large enough."""
        if isinstance(result, str):
            self.failed.extend((c, result) for c in ids)
            files.remove()
        else:
            self.failed.extend(result[0].failed)
            self.group.append((result[0], result[1], files))
            if sum(f.output.stat().st_size for _, _, f in self.group) >= _WRITE_BYTES:
                self.write()
        if self.progress and report:
            self.progress(len(self.determined) + len(self.failed) + sum(len(r.determined) for r, _, _ in self.group),
                          self.total, "")

    def waiting(self, files: _ChunkFiles) -> bool:
        """Whether the chunk of ``files`` is finished but not yet written."""
        return any(g is files for _, _, g in self.group)


def _determine_batches(store: LocalStore, todo: list[str], *, workers: int, shapes_dir: str | None, chunk: int,
                       progress: Progress | None, stored: Mapping[str, Stored], force: bool) -> _Results:
    """The batch engine: chunks of ``chunk`` cases (kg.batch.engine) in worker processes.

    Every chunk's input is read from the store before anything is written to it, into a
    file the worker reads: reading a pyoxigraph store slows with every bulk load not yet
    compacted into it (at 100,000 cases, interleaved reads cost five times as much), and the
    workers start on the first chunks while the rest are read.  Workers write their results
    to files; this process writes each chunk's results to the store as it comes, once the
    reading is done, and on the way out if interrupted (see :class:`_ChunkFiles`).
    """
    import concurrent.futures as cf
    import tempfile

    total = len(todo)
    # small batches are cut finer, so that every worker has chunks to do
    size = max(min(chunk, 100), min(chunk, -(-total // (2 * max(1, workers)))))
    chunks = [todo[i:i + size] for i in range(0, total, size)]
    results = _Results(store, total, progress)

    def reading(f: _ChunkFiles) -> None:
        if progress:
            progress(len(results.determined) + len(results.failed), total,
                     f"read {min(total, (f.index + 1) * size):,} of {total:,}" if f.index + 1 < len(chunks) else "")

    if progress:
        progress(0, total, "")
    with tempfile.TemporaryDirectory(prefix="imrkg-batch-") as tmp:
        files = [_ChunkFiles.numbered(Path(tmp), i) for i in range(len(chunks))]
        if workers <= 1:
            for ids, f in zip(chunks, files, strict=True):
                f.read_from(store, ids)
                reading(f)
            _batch_init(shapes_dir)
            try:
                for ids, f in zip(chunks, files, strict=True):
                    results.finish(*_batch_files(ids, f, _stored(stored, ids), force), f)
            finally:  # also on the way out if interrupted: what is finished is kept
                results.write()
            return results
        with cf.ProcessPoolExecutor(max_workers=workers, initializer=_batch_init, initargs=(shapes_dir,)) as pool:
            futures = []
            try:
                for ids, f in zip(chunks, files, strict=True):
                    f.read_from(store, ids)
                    futures.append(pool.submit(_batch_files, ids, f, _stored(stored, ids), force))
                    reading(f)
                for fut, f in zip(futures, files, strict=False):
                    results.finish(*fut.result(), f)
                results.write()
            except BaseException:
                for fut in futures:  # keep what was determined before the interruption
                    fut.cancel()
                for fut, f in zip(futures, files, strict=False):  # fewer futures than files if interrupted
                    if (fut.done() and not fut.cancelled() and fut.exception() is None and f.output.exists()
                            and not results.waiting(f)):
                        results.finish(*fut.result(), f, report=False)
                results.write()
                raise
    return results


def _stored(stored: Mapping[str, Stored], ids: list[str]) -> dict[str, Stored]:
    """What the store holds for the cases ``ids`` (what a worker needs of ``stored``)."""
    return {c: stored[c] for c in ids if c in stored}


@dataclass(frozen=True)
class _ChunkFiles:
    """Where one chunk's input (asserted and reviewer graphs) and output (N-Quads) go, and
    ``group``: the results of this chunk and those finished before it, written together."""

    index: int
    asserted: Path
    reviewer: Path
    output: Path
    group: Path

    @classmethod
    def numbered(cls, folder: Path, index: int) -> _ChunkFiles:
        """The files of chunk ``index`` in ``folder``: ``<index>.asserted.nq``, ``.reviewer.nq``,
        ``.results.nq`` (the output) and ``.group.nq``."""

        def path(kind: str) -> Path:
            return folder / f"{index}.{kind}.nq"

        return cls(index, path("asserted"), path("reviewer"), path("results"), path("group"))

    def read_from(self, store: LocalStore, ids: list[str]) -> None:
        from kg.batch.engine import graph_of

        for path, name in ((self.asserted, "asserted"), (self.reviewer, "reviewer")):
            path.write_bytes(store.export_graphs([graph_of(c, name) for c in ids]))

    def remove(self) -> None:
        for path in (self.asserted, self.reviewer, self.output):
            path.unlink(missing_ok=True)


def _batch_files(ids: list[str], files: _ChunkFiles, stored: Mapping[str, Stored], force: bool
                 ) -> tuple[list[str], tuple[ChunkResult, ChangePlan] | str]:
    """One chunk in a worker: its input read from files, what changed of its results
    (:func:`kg.jobs.changes.plan_changes` against ``stored``) written to one, the rest of what to
    write (stamps and digests, small) sent back with the summary."""
    from dataclasses import replace

    from kg.batch.engine import determine_chunk

    try:
        assert _WORKER_ENGINE is not None, "the worker was not initialised (_batch_init)"
        result = determine_chunk(files.asserted.read_bytes(), files.reviewer.read_bytes(), _WORKER_ENGINE)
        plan = plan_changes(result.nquads, result.stamps, stored, force=force)
        files.output.write_bytes(plan.body)
        return ids, (replace(result, nquads=b"", stamps=b""), replace(plan, body=b""))
    except Exception as exc:  # noqa: BLE001 - the chunk is reported as failed, the batch goes on
        return ids, f"{type(exc).__name__}: {exc}"


def _determine_each(store: Store, todo: list[str], *, workers: int, shapes_dir: str | None,
                    progress: Progress | None) -> tuple[list[str], list[tuple[str, str]], int]:
    """The reference path: one case at a time, pySHACL in worker processes, each case written whole.
    Returns the cases determined, those that failed and the quads written."""
    determined: list[str] = []
    failed: list[tuple[str, str]] = []
    written = 0  # quads written, counted by finish
    total = len(todo)

    def payload(cid: str) -> tuple[str, str, str]:
        return (cid, store.case_graph(cid, "asserted").serialize(format="nt"),
                store.case_graph(cid, "reviewer").serialize(format="nt"))

    def finish(cid: str, result: dict[str, str] | str) -> None:
        nonlocal written
        if isinstance(result, str):
            failed.append((cid, result))
        else:
            graphs = {n: Graph().parse(data=text, format="nt") if text.strip() else Graph()
                      for n, text in result.items()}
            store.put_case(cid, graphs)
            written += sum(len(g) for g in graphs.values())
            determined.append(cid)
        if progress:
            progress(len(determined) + len(failed), total, "")

    if progress:
        progress(0, total, "")
    _run_bounded(todo, payload, _determine_one, finish, workers=workers, init=_worker_init, init_arg=shapes_dir)
    return determined, failed, written
