"""The pipeline end to end: inputs (case files or letters) in, determined cases in the store.

Comes after the store.  :func:`ingest` reads each input, determines it and
writes its four named graphs to the store in one update, so a case is either
stored whole or not at all; an input that cannot be read is reported (an
:class:`kg.errors.InputError` naming it) and the batch goes on.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from rdflib import XSD, Literal

from kg.engine.graph import CaseGraph, build_case_graph
from kg.errors import InputError
from kg.rdf import KG
from kg.store.store import Store, case_graphs

__all__ = ["CASE_SUFFIXES", "LETTER_SUFFIXES", "input_files", "read_input", "letter_case_graph",
           "IngestSummary", "ingest", "BatchSummary", "ENGINES", "determine_all"]

CASE_SUFFIXES = (".yaml", ".yml", ".json")
LETTER_SUFFIXES = (".pdf", ".txt")
Progress = Callable[[int, int, str], None]


def input_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files named by ``paths``: files as given, folders expanded to their letters
    (``.pdf``, ``.txt``) and YAML case files (``.yaml``, ``.yml``), sorted by name.  JSON
    case files are read when named, not picked up from folders (folders of letters often
    hold other JSON, such as labels).  A path that does not exist is kept, so reading it
    reports it."""
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out.extend(sorted(f for f in path.iterdir()
                              if f.is_file() and f.suffix.lower() in (".yaml", ".yml") + LETTER_SUFFIXES))
        else:
            out.append(path)
    return out


def letter_case_graph(lc: object) -> CaseGraph:
    """The case graph of an extracted letter (:class:`kg.extract.case.LetterCase`):
    :func:`kg.engine.graph.build_case_graph` plus the drug details and partial authorisation
    that :class:`kg.extract.case.RequestDetail` adds."""
    from kg.extract.case import LetterCase

    assert isinstance(lc, LetterCase)
    cg = build_case_graph(lc.case)
    g = cg.asserted
    for d in lc.details:
        req = cg.node(d.request_id)
        svc = cg.node(f"{d.request_id}/service")
        if d.drug:
            g.add((svc, KG.drugName, Literal(d.drug)))
        if d.strength:
            g.add((svc, KG.drugStrength, Literal(d.strength)))
        if d.count is not None:
            g.add((svc, KG.dispenseQuantity, Literal(d.count, datatype=XSD.integer)))
        if d.refills is not None:
            g.add((svc, KG.refillCount, Literal(d.refills, datatype=XSD.integer)))
        if d.partial:
            g.add((req, KG.partialAuthorization, Literal(True)))
    return cg


def read_input(path: str | Path) -> CaseGraph:
    """A case file (``.yaml``, ``.yml``, ``.json``) or a letter (``.pdf``, ``.txt``) as a case graph.

    Raises :class:`kg.errors.InputError` (a :class:`CaseFileError` or :class:`LetterError`) naming the file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in CASE_SUFFIXES:
        from kg.read.casefile import load_case_file

        return build_case_graph(load_case_file(path))
    if suffix in LETTER_SUFFIXES:
        from kg.extract.case import read_case_from_letter

        return letter_case_graph(read_case_from_letter(str(path)))
    raise InputError("not a case file or a letter", source=str(path),
                     hint="give a .yaml/.yml/.json case file or a .pdf/.txt letter")


@dataclass(frozen=True)
class IngestSummary:
    """What :func:`ingest` did: the cases stored (ids, in input order) and the inputs that failed."""

    cases: tuple[str, ...]
    errors: tuple[InputError, ...]


def ingest(paths: Sequence[str | Path], store: Store, *, progress: Progress | None = None) -> IngestSummary:
    """Read, determine and store every input; replace cases already stored.

    The guideline graph is refreshed first.  Each case is written in one update
    (all of its graphs or none); a bad input is collected and skipped.
    """
    from kg.engine.determine import determine_case

    store.ensure_guidelines()
    files = input_files(paths)
    cases: list[str] = []
    errors: list[InputError] = []
    for i, path in enumerate(files):
        if progress:
            progress(i, len(files), path.name)
        try:
            cg = read_input(path)
        except InputError as exc:
            errors.append(exc)
            continue
        store.put_case(cg.case_id, case_graphs(cg, determine_case(cg)))
        cases.append(cg.case_id)
    if progress:
        progress(len(files), len(files), "")
    return IngestSummary(cases=tuple(cases), errors=tuple(errors))


# ---------------------------------------------------------------------------
# Batch determination of every stored case
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchSummary:
    """What :func:`determine_all` did."""

    determined: tuple[str, ...]
    skipped: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]  # (case id, reason)


_WORKER_SHAPES: object = None


def _worker_init(shapes_dir: str | None) -> None:
    """Load shapes and ontology once per worker process."""
    global _WORKER_SHAPES
    from kg.engine.reason import default_rules
    from kg.engine.validate import load_shapes

    _WORKER_SHAPES = load_shapes(shapes_dir) if shapes_dir else None
    default_rules()


def _determine_one(case_id: str, asserted_nt: str, reviewer_nt: str) -> tuple[str, dict[str, str] | str]:
    """Worker: determine one case from its N-Triples; return its graphs as N-Triples, or an error text."""
    from rdflib import Graph

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
    writes what it determined on the way out if interrupted.
    """
    from kg.engine.determine import engine_version
    from kg.engine.graph import case_iri
    from kg.engine.validate import default_shapes, load_shapes

    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}")
    shapes = load_shapes(shapes_dir) if shapes_dir else default_shapes()
    stamp = f"{engine_version()} {shapes.digest}"
    ids = store.case_ids()
    done_rows = store.query(
        "SELECT ?case ?stamp WHERE { GRAPH ?g { ?case <https://w3id.org/imr-kg/ont#determinedWith> ?stamp } }")
    stamped = {str(r[0]): str(r[1]) for r in done_rows.rows}
    todo, skipped = [], []
    for cid in ids:
        (skipped if not force and stamped.get(str(case_iri(cid))) == stamp else todo).append(cid)
    if engine == "batch" and _batch_ready(store, shapes):
        determined, failed = _determine_batches(store, todo, workers=workers, shapes_dir=shapes_dir,
                                                chunk=max(1, chunk), progress=progress)
    else:
        determined, failed = _determine_each(store, todo, workers=workers, shapes_dir=shapes_dir, progress=progress)
    return BatchSummary(determined=tuple(determined), skipped=tuple(skipped), failed=tuple(failed))


def _batch_ready(store: Store, shapes: object) -> bool:
    """The batch engine needs the embedded store and shapes the compiler handles."""
    from kg.errors import ShapesError
    from kg.store.store import LocalStore

    if not isinstance(store, LocalStore):
        return False
    try:
        from kg.batch.engine import compile_engine

        compile_engine(shapes)  # type: ignore[arg-type]
    except ShapesError:
        return False
    return True


_WORKER_ENGINE: object = None

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


def _run_bounded(jobs: Iterable[object], payload: Callable, work: Callable, finish: Callable, *, workers: int,
                 init: Callable, init_arg: object) -> None:
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
        pending: deque = deque()
        for job in jobs:
            pending.append(pool.submit(work, *payload(job)))
            if len(pending) >= 2 * workers:
                finish(*pending.popleft().result())
        while pending:
            finish(*pending.popleft().result())


def _determine_batches(store: Store, todo: list[str], *, workers: int, shapes_dir: str | None, chunk: int,
                       progress: Progress | None) -> tuple[list[str], list[tuple[str, str]]]:
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

    from kg.batch.engine import graph_of

    determined: list[str] = []
    failed: list[tuple[str, str]] = []
    total = len(todo)
    # small batches are cut finer, so that every worker has chunks to do
    size = max(min(chunk, 100), min(chunk, -(-total // (2 * max(1, workers)))))
    chunks = [todo[i:i + size] for i in range(0, total, size)]

    group: list[tuple[object, _ChunkFiles]] = []  # finished chunks not yet written

    def write() -> None:
        """Write the finished chunks in one bulk load (one file), their stamps after it."""
        if not group:
            return
        target = group[-1][1].group
        with target.open("wb") as out:
            for _, f in group:
                with f.output.open("rb") as part:
                    shutil.copyfileobj(part, out)
        drop = [graph_of(c, n) for r, _ in group for c in r.determined for n in ("inferred", "determination")]
        store.replace_graphs(drop, target, b"".join(r.stamps for r, _ in group))  # type: ignore[attr-defined]
        for r, f in group:
            determined.extend(r.determined)
            f.remove()
        target.unlink()
        group.clear()

    def finish(ids: list[str], result: object, files: _ChunkFiles, report: bool = True) -> None:
        from kg.batch.engine import ChunkResult

        if isinstance(result, str):
            failed.extend((c, result) for c in ids)
            files.remove()
        else:
            assert isinstance(result, ChunkResult)
            failed.extend(result.failed)
            group.append((result, files))
            if sum(f.output.stat().st_size for _, f in group) >= _WRITE_BYTES:
                write()
        if progress and report:
            progress(len(determined) + len(failed) + sum(len(r.determined) for r, _ in group), total, "")

    def reading(f: _ChunkFiles) -> None:
        if progress:
            progress(len(determined) + len(failed), total,
                     f"read {min(total, (f.index + 1) * size):,} of {total:,}" if f.index + 1 < len(chunks) else "")

    if progress:
        progress(0, total, "")
    with tempfile.TemporaryDirectory(prefix="imrkg-batch-") as tmp:
        files = [_ChunkFiles(Path(tmp), i) for i in range(len(chunks))]
        if workers <= 1:
            for ids, f in zip(chunks, files):
                f.read_from(store, ids)
                reading(f)
            _batch_init(shapes_dir)
            try:
                for ids, f in zip(chunks, files):
                    finish(*_batch_files(ids, f), f)
            finally:  # also on the way out if interrupted: what is finished is kept
                write()
            return determined, failed
        with cf.ProcessPoolExecutor(max_workers=workers, initializer=_batch_init, initargs=(shapes_dir,)) as pool:
            futures = []
            try:
                for ids, f in zip(chunks, files):
                    f.read_from(store, ids)
                    futures.append(pool.submit(_batch_files, ids, f))
                    reading(f)
                for fut, f in zip(futures, files):
                    finish(*fut.result(), f)
                write()
            except BaseException:
                for fut in futures:  # keep what was determined before the interruption
                    fut.cancel()
                for fut, f in zip(futures, files):
                    if (fut.done() and not fut.cancelled() and fut.exception() is None and f.output.exists()
                            and all(g is not f for _, g in group)):
                        finish(*fut.result(), f, report=False)
                write()
                raise
    return determined, failed


@dataclass(frozen=True)
class _ChunkFiles:
    """Where one chunk's input (asserted and reviewer graphs) and output (N-Quads) go."""

    folder: Path
    index: int

    @property
    def asserted(self) -> Path:
        return self.folder / f"{self.index}.asserted.nq"

    @property
    def reviewer(self) -> Path:
        return self.folder / f"{self.index}.reviewer.nq"

    @property
    def output(self) -> Path:
        return self.folder / f"{self.index}.results.nq"

    @property
    def group(self) -> Path:
        """The results of this chunk and those finished before it, written together."""
        return self.folder / f"{self.index}.group.nq"

    def read_from(self, store: Store, ids: list[str]) -> None:
        from kg.batch.engine import graph_of

        for path, name in ((self.asserted, "asserted"), (self.reviewer, "reviewer")):
            path.write_bytes(store.export_graphs([graph_of(c, name) for c in ids]))  # type: ignore[attr-defined]

    def remove(self) -> None:
        for path in (self.asserted, self.reviewer, self.output):
            path.unlink(missing_ok=True)


def _batch_files(ids: list[str], files: _ChunkFiles) -> tuple[list[str], object]:
    """One chunk in a worker: its input read from files, its results written to one (the
    stamps, small, come back with the summary)."""
    from dataclasses import replace

    from kg.batch.engine import determine_chunk

    try:
        result = determine_chunk(files.asserted.read_bytes(), files.reviewer.read_bytes(), _WORKER_ENGINE)  # type: ignore[arg-type]
        files.output.write_bytes(result.nquads)
        return ids, replace(result, nquads=b"")
    except Exception as exc:  # noqa: BLE001 - the chunk is reported as failed, the batch goes on
        return ids, f"{type(exc).__name__}: {exc}"


def _determine_each(store: Store, todo: list[str], *, workers: int, shapes_dir: str | None,
                    progress: Progress | None) -> tuple[list[str], list[tuple[str, str]]]:
    """The reference path: one case at a time, pySHACL in worker processes."""
    from rdflib import Graph

    determined: list[str] = []
    failed: list[tuple[str, str]] = []
    total = len(todo)

    def payload(cid: str) -> tuple[str, str, str]:
        return (cid, store.case_graph(cid, "asserted").serialize(format="nt"),
                store.case_graph(cid, "reviewer").serialize(format="nt"))

    def finish(cid: str, result: dict[str, str] | str) -> None:
        if isinstance(result, str):
            failed.append((cid, result))
        else:
            store.put_case(cid, {n: Graph().parse(data=text, format="nt") if text.strip() else Graph()
                                 for n, text in result.items()})
            determined.append(cid)
        if progress:
            progress(len(determined) + len(failed), total, "")

    if progress:
        progress(0, total, "")
    _run_bounded(todo, payload, _determine_one, finish, workers=workers, init=_worker_init, init_arg=shapes_dir)
    return determined, failed
