"""Inputs in: files to case graphs, and a chunk of inputs to whole determined cases as N-Quads.

First of the jobs, after the store.  :func:`read_each` is the only loop over inputs: it reads each
file, reports progress, hands every case on and reports every input that cannot be read (an
:class:`kg.errors.InputError` naming it) while the batch goes on.  :func:`read_input` reads one
case file or letter into a case graph.  :func:`determine_inputs` is what a worker process does
with a chunk of inputs when :func:`kg.jobs.ingest.ingest` goes through the batch engine: read
each, determine them all at once (:func:`kg.batch.engine.determine_chunk`, the reference's
answers) and return their four graphs as N-Quads, for the one writer to store.  Everything here
is re-exported by :mod:`kg.jobs.ingest`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence, TextIO, TypeVar

from rdflib import Literal

from kg.engine.graph import CaseGraph, Extra, build_case_graph, case_graph_nquads
from kg.errors import InputError, reason
from kg.rdf import KG

if TYPE_CHECKING:
    from kg.batch.engine import Engine
    from kg.extract.case import LetterCase
    from kg.model import CaseData

__all__ = ["CASE_SUFFIXES", "LETTER_SUFFIXES", "Progress", "terminal_progress", "input_files", "read_input",
           "read_case",
           "unchecked_documents", "unchecked_warning", "letter_case_graph", "letter_extras", "read_each",
           "CaseChunk", "determine_inputs", "prepare_readers"]

CASE_SUFFIXES = (".yaml", ".yml", ".json")
LETTER_SUFFIXES = (".pdf", ".txt")
#: what a folder is expanded to (JSON case files are read when named, not picked up from folders)
_FOLDER_SUFFIXES = (".yaml", ".yml") + LETTER_SUFFIXES
#: ``progress(done, total, name)``: called before each input and once at the end
Progress = Callable[[int, int, str], None]
C = TypeVar("C")


def terminal_progress(label: str, stream: TextIO) -> Progress:
    """A :data:`Progress` that reports on ``stream``: on a terminal one updating line with rate and
    ETA, finished with a newline; otherwise (a file, a pipe) only one final line."""
    import time

    start = time.monotonic()
    terminal = stream.isatty()

    def show(done: int, total: int, name: str) -> None:
        if not terminal:
            if done >= total:
                print(f"{label}: {done}/{total} done in {time.monotonic() - start:.1f} s", file=stream)
            return
        width = 30
        filled = int(width * done / total) if total else width
        bar = "#" * filled + "-" * (width - filled)
        elapsed = time.monotonic() - start
        eta = ""
        if 0 < done < total and elapsed > 0:
            left = elapsed / done * (total - done)
            eta = f" ETA {int(left // 60)}:{int(left % 60):02d}"
        end = "\n" if done >= total else ""
        stream.write(f"\r{label} [{bar}] {done}/{total}{eta} {name[:32]:32}{end}")
        stream.flush()

    return show


def input_files(paths: Iterable[str | Path], *, suffixes: Sequence[str] = _FOLDER_SUFFIXES) -> list[Path]:
    """Files named by ``paths``: files as given, folders expanded to their letters
    (``.pdf``, ``.txt``) and YAML case files (``.yaml``, ``.yml``), sorted by name.  JSON
    case files are read when named, not picked up from folders (folders of letters often
    hold other JSON, such as labels); ``suffixes`` says what else a folder is expanded to
    (``LETTER_SUFFIXES``: its letters only).  A path that does not exist is kept, so reading
    it reports it."""
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out.extend(sorted(f for f in path.iterdir() if f.is_file() and f.suffix.lower() in suffixes))
        else:
            out.append(path)
    return out


def letter_case_graph(lc: LetterCase) -> CaseGraph:
    """The case graph of an extracted letter (:class:`kg.extract.result.LetterCase`):
    :func:`kg.engine.graph.build_case_graph` plus the refills and partial authorisation
    that :class:`kg.extract.result.RequestDetail` adds (:func:`letter_extras`)."""
    return build_case_graph(lc.case, extra=letter_extras(lc))


def letter_extras(lc: LetterCase) -> tuple[Extra, ...]:
    """What a letter's request details add to its case graph: each refill count (on the
    request's service) and each partial authorisation (on the request)."""
    out: list[Extra] = []
    for d in lc.details:
        if d.refills is not None:
            out.append((f"{d.request_id}/service", KG.refillCount, d.refills))
        if d.partial:
            out.append((d.request_id, KG.partialAuthorization, True))
    return tuple(out)


def _read_case_data(path: Path, document_roots: Sequence[str | Path]) -> tuple[CaseData, tuple[Extra, ...]]:
    """A case file or a letter as case data and the extra facts its graph gets (see :func:`read_input`)."""
    suffix = path.suffix.lower()
    if suffix in CASE_SUFFIXES:
        from kg.read.casefile import load_case_file

        return load_case_file(path, document_roots=document_roots), ()
    if suffix in LETTER_SUFFIXES:
        from kg.extract.case import read_case_from_letter

        lc = read_case_from_letter(str(path))
        return lc.case, letter_extras(lc)
    if not path.exists():
        raise InputError("not found", source=str(path), hint="check the path")
    raise InputError("not a case file or a letter", source=str(path),
                     hint="give a .yaml/.yml/.json case file or a .pdf/.txt letter")


def prepare_readers() -> None:
    """Load what reading a letter loads on first use: the extraction's modules and patterns,
    the drug names (read from the ontology), the vocabulary and PDFium.  Worker processes
    forked after it start with all of it (each would otherwise spend about half a second on it)."""
    from kg.extract.case import extract_case  # noqa: F401 - loaded before the fork, with its patterns
    from kg.extract.services import drug_lexicon
    from kg.model import vocabulary

    drug_lexicon()
    vocabulary()
    try:
        import pypdfium2  # noqa: F401
    except ImportError:  # reading a PDF then says so
        pass


def read_input(path: str | Path, *, document_roots: Sequence[str | Path] = ()) -> CaseGraph:
    """A case file (``.yaml``, ``.yml``, ``.json``) or a letter (``.pdf``, ``.txt``) as a case graph;
    ``document_roots`` are the folders a case file's documents may also be read from
    (:func:`kg.read.casefile.load_case_file`).

    Raises :class:`kg.errors.InputError` (a :class:`CaseFileError` or :class:`LetterError`) naming the file.
    """
    case, extra = _read_case_data(Path(path), document_roots)
    return build_case_graph(case, extra=extra)


def read_case(path: str, *, document_roots: Sequence[str | Path] = ()) -> CaseData:
    """One case as ``imrkg determine`` reads it: a letter (``.pdf``, ``.txt``) extracted, any
    other file read as a case file (its documents also from ``document_roots``); the case model
    only (no drug details, unlike :func:`read_input`).  Raises :class:`kg.errors.InputError`
    naming the file."""
    if Path(path).suffix.lower() in LETTER_SUFFIXES:
        from kg.extract.case import read_case_from_letter

        return read_case_from_letter(path).case
    from kg.read.casefile import load_case_file

    return load_case_file(path, document_roots=document_roots)


def unchecked_documents(case: CaseGraph | CaseData) -> tuple[str, ...]:
    """The file names of the case's documents that were absent (named by the case file, found
    in no document root), whose quotes were therefore not checked; sorted."""
    if isinstance(case, CaseGraph):
        g = case.asserted
        return tuple(sorted(str(g.value(doc, KG.fileName)) for doc in g.subjects(KG.quotesChecked, Literal(False))))
    return tuple(sorted(d.file_name or d.id for d in case.documents if d.file_absent))


def unchecked_warning(sources: Sequence[str]) -> str:
    """The one warning for the case files whose documents were absent (``sources``: their paths).

    >>> print(unchecked_warning(["a.yaml"]))
    a.yaml: document not found, so its quotes were not checked against the document (the case is \
determined on the quotes it carries; give the document's folder with --document-root DIR or IMRKG_DOCUMENT_ROOTS)
    """
    names = ", ".join(sources[:5]) + (f" and {len(sources) - 5} more" if len(sources) > 5 else "")
    return (f"{names}: document not found, so its quotes were not checked against the document (the case is "
            "determined on the quotes it carries; give the document's folder with --document-root DIR or "
            "IMRKG_DOCUMENT_ROOTS)")


def read_each(files: Sequence[Path], read: Callable[[Path], C], *, on_error: Callable[[Path, InputError], None],
              catch: type[InputError] = InputError, progress: Progress | None = None) -> Iterator[C]:
    """The one loop over inputs: ``read(path)`` for each of ``files`` in order, yielding what it
    read; an input whose reading raises ``catch`` goes to ``on_error(path, error)`` and the loop
    goes on.  ``progress(i, len(files), name)`` is called before each input, and
    ``progress(len(files), len(files), "")`` once the last one has been handled."""
    for i, path in enumerate(files):
        if progress:
            progress(i, len(files), path.name)
        try:
            case = read(path)
        except catch as exc:
            on_error(path, exc)
            continue
        yield case
    if progress:
        progress(len(files), len(files), "")


# ---------------------------------------------------------------------------
# A chunk of inputs to whole determined cases (what a worker process does)
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CaseChunk:
    """What :func:`determine_inputs` made of a chunk of inputs: the four graphs of its cases as
    N-Quads (the determination stamps included, so each case is whole), the case read from each
    input that could be read (ids in input order), the inputs that failed (their errors, in
    input order) and the inputs whose documents were absent."""

    nquads: bytes
    cases: tuple[str, ...]
    errors: tuple[InputError, ...]
    unchecked: tuple[str, ...] = ()


def determine_inputs(files: Sequence[Path], engine: Engine, *,
                     document_roots: Sequence[str | Path] = ()) -> CaseChunk:
    """Read each of ``files`` (as :func:`read_input` does, but into N-Quads directly:
    :func:`kg.engine.graph.case_graph_nquads`), determine the cases all at once with the batch
    engine (:func:`kg.batch.engine.determine_chunk`) and return their graphs as N-Quads.

    An input that cannot be read is reported in ``errors`` and the chunk goes on.  The same case
    read twice keeps the later reading, as storing it twice would.  A case the batch engine fails
    on is determined by the reference engine (:func:`kg.engine.determine.determine_case`), and one
    that fails there too is reported as an error naming its input.  Pure: reads files, writes nothing.
    """
    errors: list[tuple[int, InputError]] = []
    unchecked: list[str] = []
    order: list[tuple[int, str]] = []  # (input index, case id) of every input read
    cases: dict[str, tuple[int, CaseData, tuple[Extra, ...]]] = {}  # case id -> the last input it was read from
    at = [-1]  # the index of the input being read

    def read(path: Path) -> tuple[CaseData, tuple[Extra, ...]]:
        at[0] += 1
        return _read_case_data(path, document_roots)

    for case, extra in read_each(files, read, on_error=lambda _, exc: errors.append((at[0], exc))):
        if unchecked_documents(case):
            unchecked.append(str(files[at[0]]))
        cases[case.case_id] = (at[0], case, extra)
        order.append((at[0], case.case_id))
    asserted: dict[str, bytes] = {}
    reviewer: dict[str, bytes] = {}
    for cid, (i, case, extra) in cases.items():
        try:
            asserted[cid], reviewer[cid] = case_graph_nquads(case, extra=extra)  # no rdflib graph on this path
        except (TypeError, ValueError) as exc:  # a term N-Quads cannot carry
            errors.append((i, InputError(f"cannot store the case: {reason(exc)}", source=str(files[i]))))
    done, out = _determined(asserted, reviewer, cases, engine, files, errors)
    failed = {i for i, _ in errors}
    parts = [asserted[c] + reviewer[c] for c in asserted if c in done]
    return CaseChunk(nquads=b"".join(parts) + out, cases=tuple(c for i, c in order if i not in failed and c in done),
                     errors=tuple(e for _, e in sorted(errors, key=lambda x: x[0])), unchecked=tuple(unchecked))


def _determined(asserted: dict[str, bytes], reviewer: dict[str, bytes],
                cases: dict[str, tuple[int, CaseData, tuple[Extra, ...]]], engine: Engine, files: Sequence[Path],
                errors: list[tuple[int, InputError]]) -> tuple[set[str], bytes]:
    """The cases determined (ids) and their inferred and determination graphs as N-Quads: by the batch
    engine, the cases it fails on by the reference engine, the cases both fail on added to ``errors``."""
    from kg.batch.engine import case_nquads, determine_chunk
    from kg.engine.determine import determine_case
    from kg.jobs.changes import digest_quads, graph_digests
    from kg.store.store import case_graphs

    try:
        result = determine_chunk(b"".join(asserted.values()), b"".join(reviewer.values()), engine)
        digests = digest_quads(result.determined, graph_digests(result.nquads)[0])  # for the next re-determination
        done, out = set(result.determined), [result.nquads, result.stamps, digests]
        redo = [c for c, _ in result.failed]
    except Exception:  # noqa: BLE001 - the chunk as a whole failed: the reference decides each case
        done, out, redo = set(), [], list(asserted)
    for cid in redo:
        i, case, extra = cases[cid]
        try:
            cg = build_case_graph(case, extra=extra)
            g = case_graphs(cg, determine_case(cg))
            out.append(case_nquads(cid, {"inferred": g["inferred"], "determination": g["determination"]}))
            done.add(cid)
        except Exception as exc:  # noqa: BLE001 - reported, the chunk goes on
            errors.append((i, InputError(f"cannot determine the case: {type(exc).__name__}: {reason(exc)}",
                                         source=str(files[i]))))
    return done, b"".join(out)
