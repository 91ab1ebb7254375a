"""The SPARQL side of the endpoint: checking a request, content negotiation, writing results,
the service description, and :class:`SparqlService`, which runs queries within the limits.

First module of :mod:`kg.web`; :mod:`kg.web.app` puts HTTP routes over it.  What it guarantees
(the HTTP side's promises are in :mod:`kg.web.app`):

* ``SERVICE`` (federated query) and ``LOAD`` are refused by :func:`check_sparql` unless
  ``allow_federation=True``: the server makes no request to another host on a client's behalf.
* Timeout: every query runs in a thread of the server process, reading the store's snapshot (an
  embedded pyoxigraph store gives each query a consistent snapshot, so reads beside writes never
  block or hang; no process is forked).  The client gets 503 when ``query_timeout`` passes; on a
  local store the query is stopped at its next result row (:func:`kg.store.store.query_deadline`),
  and a remote store's HTTP exchange is cut at ``query_timeout``.  Work the store cannot stop
  between rows (an aggregate computed before its first row) runs to its end in its thread and
  keeps its concurrency slot until then, so abandoned work never exceeds ``max_concurrency``.
* Updates (token holders only) run one at a time in the server process, outside the query slots
  (a writer is never refused because readers are busy), and are not timed out.  Graph Store
  writes (:meth:`SparqlService.replace_graphs`) take bodies up to ``max_graph_bytes``; each
  replaces all the graphs it names in one update, so a reader sees all of them or none.  Once
  ``flush_bytes`` of update text have been applied the store's write buffers are flushed to disk
  (:meth:`kg.store.store.Store.flush`), so a server that writes for hours keeps its read latency.
  Once ``reopen_bytes`` of update text have been applied the store's handle is closed and opened
  again (:meth:`kg.store.store.Store.reopen`) and the allocator's free pages are returned to the
  system, so its memory stays bounded too: the update waits for the queries running (at most
  ``query_timeout``; if they are still running it leaves the reopen to a later update), and
  queries arriving meanwhile wait for the reopen (milliseconds) instead of being refused.
* At most ``result_limit`` rows (or triples) are returned, and the caller is told whether the
  result was truncated.
* At most ``max_concurrency`` queries run at once; a request beyond that gets 503 at once
  (with ``Retry-After: 1``), it is not queued.
* Malformed SPARQL is 400 with ``line L, column C`` in the message; any other failure of the
  work is 500 with a generic message (the detail goes to the log at ERROR level only).

Results are written as SPARQL JSON, XML, CSV or TSV (SELECT/ASK) or as Turtle, N-Triples or
JSON-LD (CONSTRUCT/DESCRIBE) by :func:`serialize_result`, in the type :func:`parse_accept` picks.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, TypeVar

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg.errors import InputError, KgError
from kg.store.store import QueryCancelled, QueryResult, RemoteStore, Store, StoreError, query_deadline, query_form

__all__ = ["ServeError", "check_sparql", "RESULT_TYPES", "GRAPH_TYPES", "parse_accept", "serialize_result",
           "ServiceOptions", "SparqlService", "SD_NS", "service_description", "limit_malloc_arenas"]

# One logger for the whole endpoint (this module and kg.web.app), under its long-standing name.
log = logging.getLogger("kg.web.serve")
T = TypeVar("T")

RESULT_TYPES = ("application/sparql-results+json", "application/sparql-results+xml", "text/csv",
                "text/tab-separated-values")
GRAPH_TYPES = ("text/turtle", "application/n-triples", "application/ld+json")
_RDF_FORMATS = {"text/turtle": "turtle", "application/n-triples": "nt", "application/ld+json": "json-ld"}


# ---------------------------------------------------------------------------
# Errors the routes turn into status codes
# ---------------------------------------------------------------------------
class ServeError(KgError):
    """A request the endpoint refuses; ``status`` is the HTTP status, the message is the body."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


# ---------------------------------------------------------------------------
# Checking a request before it reaches the store
# ---------------------------------------------------------------------------
_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_LEX = re.compile(r"""
    (?P<comment>\#[^\n]*)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
               |'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<iri><[^<>"{}|^`\\\s]*>)
  | (?P<var>[?$][\w\u00b7-\U000effff]+)
  | (?P<pname>[\w.-]*:[\w.:%-]*)
  | (?P<word>[A-Za-z_]+)
""", re.VERBOSE)


def _keywords(sparql: str) -> set[str]:
    """The bare keywords of a query or update, upper-cased, after SPARQL's ``\\u`` escape
    processing and with comments, strings, IRIs, variables and prefixed names left out.

    >>> sorted(_keywords('SELECT * { ?service <urn:SERVICE> "SERVICE" } # SERVICE'))
    ['SELECT']
    >>> sorted(_keywords('\\\\u0053ERVICE <http://x/> {}'))
    ['SERVICE']
    """
    text = _ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), sparql)
    return {m.group("word").upper() for m in _LEX.finditer(text) if m.group("word")}


_POSITION = re.compile(r"error at (\d+):(\d+)")


def check_sparql(text: str, *, update: bool = False, allow_federation: bool = False) -> str:
    """Check a query (or with ``update`` an update) before it reaches the store; return its form
    (``SELECT``, ``ASK``, ``CONSTRUCT``, ``DESCRIBE`` or ``UPDATE``).

    Raises :class:`ServeError` 400 for ``SERVICE`` or ``LOAD`` (unless ``allow_federation``) and
    for malformed SPARQL, with the line and column in the message.  Parsing is pyoxigraph's,
    done against an empty in-memory store after the federation check, so nothing is fetched.

    >>> check_sparql("ASK { ?s ?p ?o }")
    'ASK'
    >>> check_sparql("SELECT * {\\n ?s ?p }")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    kg.web.sparql.ServeError: malformed query at line 2, column 9: ...
    """
    import pyoxigraph as ox

    words = _keywords(text)
    if not allow_federation:
        for word in ("SERVICE", "LOAD"):
            if word in words:
                raise ServeError(400, f"{word} is not allowed on this endpoint (federation is disabled)")
    elif words & {"SERVICE", "LOAD"}:
        # The probe would fetch from the network: leave the checking to the store itself.
        return "UPDATE" if update else query_form(text)
    probe = ox.Store()
    try:
        if update:
            # Parse only: every operation is applied to an empty throw-away store.
            probe.update(text)
            return "UPDATE"
        result = probe.query(text)
    except SyntaxError as exc:
        msg = str(exc)
        m = _POSITION.search(msg)
        where = f" at line {m.group(1)}, column {m.group(2)}" if m else ""
        kind = "update" if update else "query"
        raise ServeError(400, f"malformed {kind}{where}: {_POSITION.sub('', msg).strip(' :')}") from None
    except Exception:  # noqa: BLE001 - it parsed; evaluating against an empty store may fail, that is fine
        if update:
            return "UPDATE"
        return query_form(text)
    if isinstance(result, ox.QueryBoolean) or isinstance(result, bool):
        return "ASK"
    if isinstance(result, ox.QuerySolutions):
        return "SELECT"
    return "DESCRIBE" if "DESCRIBE" in words and "CONSTRUCT" not in words else "CONSTRUCT"


# ---------------------------------------------------------------------------
# Content negotiation
# ---------------------------------------------------------------------------
def parse_accept(header: str | None, offered: tuple[str, ...]) -> str | None:
    """The offered media type the ``Accept`` header prefers, or ``None`` when none is acceptable.

    Each offer gets the q-value of the most specific matching range (``type/sub`` over
    ``type/*`` over ``*/*``); the highest q wins, ties go to the earlier offer.  No header
    means the first offer.

    >>> parse_accept("text/csv;q=0.5, application/*;q=0.9", RESULT_TYPES)
    'application/sparql-results+json'
    >>> parse_accept("text/tab-separated-values, text/csv;q=0.9", RESULT_TYPES)
    'text/tab-separated-values'
    >>> parse_accept("image/png", RESULT_TYPES) is None
    True
    """
    if not header or not header.strip():
        return offered[0]
    ranges: list[tuple[str, str, float]] = []
    for part in header.split(","):
        pieces = [p.strip() for p in part.split(";")]
        if not pieces[0] or "/" not in pieces[0]:
            continue
        main, sub = (x.strip().lower() for x in pieces[0].split("/", 1))
        q = 1.0
        for p in pieces[1:]:
            if p.lower().startswith("q="):
                try:
                    q = max(0.0, min(1.0, float(p[2:])))
                except ValueError:
                    q = 0.0
        ranges.append((main, sub, q))
    best, best_q = None, 0.0
    for offer in offered:
        om, osub = offer.split("/", 1)
        found: tuple[int, float] | None = None
        for main, sub, q in ranges:
            if main == om and sub == osub:
                spec = 2
            elif main == om and sub == "*":
                spec = 1
            elif main == "*" and sub == "*":
                spec = 0
            else:
                continue
            if found is None or spec > found[0]:
                found = (spec, q)
        if found and found[1] > best_q:
            best, best_q = offer, found[1]
    return best


# ---------------------------------------------------------------------------
# Serialising results
# ---------------------------------------------------------------------------
def _json_term(t: Node) -> dict[str, str]:
    if isinstance(t, URIRef):
        return {"type": "uri", "value": str(t)}
    if isinstance(t, BNode):
        return {"type": "bnode", "value": str(t)}
    d = {"type": "literal", "value": str(t)}
    if isinstance(t, Literal):
        if t.language:
            d["xml:lang"] = t.language
        elif t.datatype:
            d["datatype"] = str(t.datatype)
    return d


def _csv_cell(t: Node | None) -> str:
    if t is None:
        return ""
    text = str(t) if not isinstance(t, BNode) else f"_:{t}"
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _tsv_cell(t: Node | None) -> str:
    if t is None:
        return ""
    if isinstance(t, BNode):
        return f"_:{t}"
    if isinstance(t, Literal) and t.datatype in (URIRef("http://www.w3.org/2001/XMLSchema#integer"),
                                                   URIRef("http://www.w3.org/2001/XMLSchema#decimal"),
                                                   URIRef("http://www.w3.org/2001/XMLSchema#double")):
        return str(t)
    return t.n3()


def serialize_result(result: QueryResult, media_type: str) -> bytes:
    """Write a SELECT/ASK result (SPARQL JSON, XML, CSV or TSV) or a graph (Turtle, N-Triples,
    JSON-LD) in ``media_type``.  Rows keep their order; a graph is written with the project's
    prefixes (:data:`kg.rdf.PREFIXES`) bound on it."""
    from xml.sax.saxutils import escape, quoteattr

    from kg.rdf import PREFIXES

    if result.graph is not None:
        g = result.graph
        for prefix, ns in PREFIXES.items():
            g.bind(prefix, ns, override=True, replace=True)
        text = g.serialize(format=_RDF_FORMATS[media_type])
        return text.encode("utf-8") if isinstance(text, str) else text
    cols = result.columns
    if media_type == "application/sparql-results+json":
        if result.boolean is not None:
            doc: dict[str, Any] = {"head": {}, "boolean": result.boolean}
        else:
            doc = {"head": {"vars": list(cols)}, "results": {"bindings": [
                {c: _json_term(v) for c, v in zip(cols, row, strict=False) if v is not None} for row in result.rows]}}
        return json.dumps(doc, ensure_ascii=False).encode("utf-8")
    if media_type == "application/sparql-results+xml":
        out = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n<head>']
        out += [f"<variable name={quoteattr(c)}/>" for c in cols]
        out.append("</head>")
        if result.boolean is not None:
            out.append(f"<boolean>{'true' if result.boolean else 'false'}</boolean>")
        else:
            out.append("<results>")
            for row in result.rows:
                out.append("<result>")
                for c, v in zip(cols, row, strict=False):
                    if v is None:
                        continue
                    if isinstance(v, URIRef):
                        inner = f"<uri>{escape(str(v))}</uri>"
                    elif isinstance(v, BNode):
                        inner = f"<bnode>{escape(str(v))}</bnode>"
                    else:
                        lang, datatype = getattr(v, "language", None), getattr(v, "datatype", None)
                        attr = (f" xml:lang={quoteattr(lang)}" if lang else
                                f" datatype={quoteattr(str(datatype))}" if datatype else "")
                        inner = f"<literal{attr}>{escape(str(v))}</literal>"
                    out.append(f"<binding name={quoteattr(c)}>{inner}</binding>")
                out.append("</result>")
            out.append("</results>")
        out.append("</sparql>\n")
        return "\n".join(out).encode("utf-8")
    if result.boolean is not None:  # CSV/TSV of an ASK: one column, one row
        return f"boolean\r\n{'true' if result.boolean else 'false'}\r\n".encode("utf-8")
    if media_type == "text/csv":
        lines = [",".join(_csv_cell(Literal(c)) for c in cols)]
        lines += [",".join(_csv_cell(v) for v in row) for row in result.rows]
        return ("\r\n".join(lines) + "\r\n").encode("utf-8")
    lines = ["\t".join(f"?{c}" for c in cols)]
    lines += ["\t".join(_tsv_cell(v) for v in row) for row in result.rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


# ---------------------------------------------------------------------------
# Running work with a timeout and a concurrency bound
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ServiceOptions:
    """The endpoint's limits (what each guarantees: this module's docstring and :mod:`kg.web.app`'s)."""

    allow_update_token: str | None = None
    query_timeout: float = 10.0
    result_limit: int = 10000
    max_body_bytes: int = 1_000_000
    cors_origins: tuple[str, ...] = ()
    max_concurrency: int = 4
    allow_federation: bool = False
    max_graph_bytes: int = 64_000_000
    #: update text between flushes of the store's write buffers; those buffers grow by several
    #: times the text (12 indexes; in the soak, a 23 MB write-ahead log from under 4 MB of text)
    flush_bytes: int = 1_000_000
    #: update text between reopenings of the store's handle (what RocksDB caches for an open
    #: database fills under a writer and readers together: issue 20's soak, RSS +199 % in an hour)
    reopen_bytes: int = 10_000_000


class _Timeout(Exception):
    pass


def _libc() -> Any:
    """The C library, for glibc's allocator controls (``None`` where it cannot be loaded)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name) if name else None


def _return_free_memory() -> None:
    """Give the C allocator's free pages back to the system (glibc's ``malloc_trim``; elsewhere
    nothing).  RocksDB frees its caches when a store is reopened, but glibc keeps what was freed
    inside its per-thread arenas until asked."""
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is not None:
        trim(0)


#: glibc's mallopt parameter for the number of malloc arenas (malloc.h's ``M_ARENA_MAX``)
_M_ARENA_MAX = -8


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Let glibc's allocator create at most ``arenas`` arenas from now on, unless ``MALLOC_ARENA_MAX``
    is set (the operator's choice stands); returns whether the limit was set.  Call it before the
    store is opened, while the process has one thread: arenas made before stay.

    Every query runs in a thread of its own, and glibc gives threads up to eight arenas a core; what
    one arena frees only that arena reuses, so with a writer beside the readers the free memory
    kept in them grew all through issue 20's soak while the memory in use stayed flat."""
    import os

    mallopt = getattr(_libc(), "mallopt", None)
    if os.environ.get("MALLOC_ARENA_MAX") or mallopt is None:
        return False
    return bool(mallopt(_M_ARENA_MAX, arenas))


def _outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", fn()
    except QueryCancelled:
        return "timeout", None
    except ServeError as exc:
        return "serve", (exc.status, exc.message, exc.headers)
    except InputError as exc:
        return "input", str(exc)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, logged there
        return "internal", f"{type(exc).__name__}: {exc}"


@dataclass
class SparqlService:
    """The store and the limits; runs queries and updates as the module docstring promises.

    ``store`` is not closed by the service.  Thread-safe: the routes call it from worker threads.
    """

    store: Store
    options: ServiceOptions = field(default_factory=ServiceOptions)

    def __post_init__(self) -> None:
        self._slots = threading.BoundedSemaphore(self.options.max_concurrency)
        self._write_lock = threading.Lock()  # one update at a time
        self._unflushed = 0  # bytes of update text applied since the store's last flush (under the lock)
        self._unreopened = 0  # ... since the store's handle was last opened (under the lock)
        self._gate = threading.Condition()  # queries in flight, and a reopen waiting for them to end
        self._in_flight = 0
        self._draining = False
        if isinstance(self.store, RemoteStore):
            import copy

            bounded = copy.copy(self.store)
            bounded.timeout = self.options.query_timeout
            self._reader: Store = bounded
        else:
            self._reader = self.store

    @property
    def reader(self) -> Store:
        """The store queries go to (a remote store with its HTTP timeout set to ``query_timeout``)."""
        return self._reader

    # -- the bound -----------------------------------------------------------------
    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` (a read of the store) in a thread under the concurrency bound and the timeout.
        Raises :class:`ServeError` 503 when saturated or timed out, 400 for bad input, 500 for
        anything else (detail logged)."""
        if not self._slots.acquire(blocking=False):
            raise ServeError(503, "the endpoint is busy; try again shortly", {"Retry-After": "1"})
        try:
            kind, value = self._threaded(fn)
        except _Timeout:
            kind, value = "timeout", None
        if kind == "ok":
            return value
        if kind == "timeout":
            raise ServeError(503, f"the query took longer than {self.options.query_timeout:g} s and was stopped",
                             {"Retry-After": "1"})
        if kind == "serve":
            raise ServeError(*value)
        if kind == "input":
            raise ServeError(400, value)
        log.error("request failed: %s", value)
        raise ServeError(500, "internal error")

    def _threaded(self, fn: Callable[[], T]) -> tuple[str, Any]:
        """``fn``'s outcome, from a thread that stops its query at the deadline (where the store can)
        and releases the slot when it ends, answered or abandoned."""
        box: list[tuple[str, Any]] = []
        done = threading.Event()
        deadline = time.monotonic() + self.options.query_timeout

        def work() -> None:
            try:
                with self._entered():
                    if time.monotonic() > deadline:  # waited out its time behind a reopen
                        box.append(("timeout", None))
                        return
                    with query_deadline(deadline):
                        try:
                            box.append(_outcome(fn))
                        except QueryCancelled:
                            box.append(("timeout", None))
            finally:
                done.set()
                self._slots.release()

        threading.Thread(target=work, name="kg-serve-query", daemon=True).start()
        if not done.wait(self.options.query_timeout):
            raise _Timeout()
        return box[0]

    @contextmanager
    def _entered(self) -> Iterator[None]:
        """Within the block, a query counts as in flight; it enters only when no reopen is under way."""
        with self._gate:
            self._gate.wait_for(lambda: not self._draining)
            self._in_flight += 1
        try:
            yield
        finally:
            with self._gate:
                self._in_flight -= 1
                self._gate.notify_all()

    # -- what the routes ask --------------------------------------------------------
    def query(self, sparql: str, params: Mapping[str, Node] | None = None, *,
              check: bool = True) -> tuple[QueryResult, bool]:
        """Run a query (first :func:`check_sparql`-ed unless ``check`` is false, inside the same time
        bound); return the result capped at ``result_limit`` rows (or triples) and whether it was
        truncated.  Raises :class:`ServeError`."""
        limit = self.options.result_limit
        federation = self.options.allow_federation
        reader = self._reader

        def work() -> tuple[tuple[str, ...], tuple[tuple[Node | None, ...], ...], bool | None,
                            list[tuple[Node, Node, Node]] | None, bool]:
            if check:
                check_sparql(sparql, allow_federation=federation)
            res = reader.query(sparql, params)
            if res.graph is not None:
                triples = sorted(res.graph)
                return (), (), None, triples[:limit], len(triples) > limit
            return res.columns, res.rows[:limit], res.boolean, None, len(res.rows) > limit

        columns, rows, boolean, triples, truncated = self.call(work)
        if triples is None:
            return QueryResult(columns=columns, rows=rows, boolean=boolean), truncated
        g = Graph()
        for t in triples:
            g.add(t)
        return QueryResult(graph=g), truncated

    def update(self, sparql: str) -> None:
        """Apply an update (the caller checked the token).  Updates run one at a time, outside the
        query slots, and are not timed out."""
        try:
            with self._write_lock:
                self.store.update(sparql)
                self._unflushed += len(sparql)
                self._unreopened += len(sparql)
                if self._unreopened >= self.options.reopen_bytes:
                    self._reopen()
                if self._unflushed >= self.options.flush_bytes:
                    self._flush()
        except InputError as exc:
            raise ServeError(400, str(exc)) from None
        except (RuntimeError, ValueError, SyntaxError) as exc:  # pyoxigraph's errors ("graph does not exist")
            raise ServeError(400, f"the update failed: {exc}") from None
        except Exception:
            log.exception("update failed")
            raise ServeError(500, "internal error") from None

    def _flush(self) -> None:
        """Flush the store's write buffers (under the write lock).  A failure is logged, not raised:
        the update before it is applied and in the store's log, and the next flush tries again."""
        try:
            self.store.flush()
            self._unflushed = 0
        except StoreError:
            log.exception("the update was applied, but writing the store's buffers to disk failed")

    def _reopen(self) -> None:
        """Reopen the store's handle (under the write lock) once no query is in flight, holding new
        queries back meanwhile; then return the freed memory.  Queries still running after
        ``query_timeout`` (abandoned ones that cannot be stopped) leave it to a later update.  A
        failure is logged, not raised: the update before it stands."""
        if not self.store.reopenable:
            self._unreopened = 0
            return
        with self._gate:
            self._draining = True
            self._gate.notify_all()  # whoever waits on the gate sees the reopen coming
            try:
                idle = self._gate.wait_for(lambda: self._in_flight == 0, timeout=self.options.query_timeout)
                if idle:
                    self._unreopened = 0
                    if self.store.reopen():
                        self._unflushed = 0  # reopening flushed the store
            except StoreError:
                log.exception("the update was applied, but reopening the store failed")
                return
            finally:
                self._draining = False
                self._gate.notify_all()
        if idle:
            _return_free_memory()
            log.info("reopened the store after %d MB of updates", self.options.reopen_bytes // 1_000_000)

    def replace_graphs(self, graphs: list[str], body: bytes, media_type: str) -> None:
        """The Graph Store write: empty each named graph in ``graphs`` and put ``body``'s content in
        them, all in one update.  ``body`` is N-Quads or TriG (each quad in one of ``graphs``), or
        with one graph Turtle or N-Triples (its triples go to that graph).  Raises
        :class:`ServeError` 400 for a body that does not parse (with its position) or names another graph."""
        import pyoxigraph as ox

        from kg.store.store import graph_replacement

        formats = {"application/n-quads": ox.RdfFormat.N_QUADS, "application/trig": ox.RdfFormat.TRIG,
                   "text/turtle": ox.RdfFormat.TURTLE, "application/n-triples": ox.RdfFormat.N_TRIPLES}
        fmt = formats.get(media_type)
        if fmt is None:
            raise ServeError(415, "send " + ", ".join(formats))
        if not graphs or (fmt in (ox.RdfFormat.TURTLE, ox.RdfFormat.N_TRIPLES) and len(graphs) != 1):
            raise ServeError(400, "name the graph with one 'graph' parameter (several only with N-Quads or TriG)")
        try:
            text = graph_replacement(graphs, body, fmt, template=self.store.insert_template)
        except SyntaxError as exc:
            raise ServeError(400, f"the body does not parse: {exc}") from None
        except ValueError as exc:
            raise ServeError(400, str(exc)) from None
        self.update(text)

    def case_ids(self) -> list[str]:
        """The ids of the cases in the store."""
        reader = self._reader
        return self.call(reader.case_ids)

    def case_determination(self, case_id: str) -> dict[str, Any] | None:
        """The case's determination as :func:`kg.engine.rationale.to_json_data`, rebuilt from its asserted and
        reviewer graphs; ``None`` when the store has no such case."""
        reader = self._reader

        def work() -> dict[str, Any] | None:
            from kg.engine.determine import determine_case
            from kg.engine.graph import CaseGraph, case_iri
            from kg.engine.rationale import to_json_data

            asserted = reader.case_graph(case_id, "asserted")
            if len(asserted) == 0:
                return None
            cg = CaseGraph(case_id=case_id, iri=case_iri(case_id), asserted=asserted,
                           reviewer=reader.case_graph(case_id, "reviewer"))
            return to_json_data(determine_case(cg))

        return self.call(work)


# ---------------------------------------------------------------------------
# Service description
# ---------------------------------------------------------------------------
SD_NS = "http://www.w3.org/ns/sparql-service-description#"
_FORMAT_IRIS = {
    "application/sparql-results+json": "http://www.w3.org/ns/formats/SPARQL_Results_JSON",
    "application/sparql-results+xml": "http://www.w3.org/ns/formats/SPARQL_Results_XML",
    "text/csv": "http://www.w3.org/ns/formats/SPARQL_Results_CSV",
    "text/tab-separated-values": "http://www.w3.org/ns/formats/SPARQL_Results_TSV",
    "text/turtle": "http://www.w3.org/ns/formats/Turtle",
    "application/n-triples": "http://www.w3.org/ns/formats/N-Triples",
    "application/ld+json": "http://www.w3.org/ns/formats/JSON-LD",
}


def service_description(endpoint: str, options: ServiceOptions, *, union_default_graph: bool) -> Graph:
    """The endpoint's SPARQL 1.1 Service Description as a new graph (nothing is mutated).

    An ``sd:Service`` at ``endpoint`` (``<endpoint>#service``) with ``sd:supportedLanguage``
    ``sd:SPARQL11Query``, and ``sd:SPARQL11Update`` only when ``options`` allow updates;
    ``sd:resultFormat`` for every format served; ``sd:feature sd:UnionDefaultGraph`` when
    ``union_default_graph`` (the embedded store) and ``sd:BasicFederatedQuery`` only with
    federation allowed; an ``sd:defaultDataset`` whose default graph is the union of the named
    graphs and whose one fixed named graph is the guidelines graph; and, as ``sd:availableGraphs``,
    one ``sd:GraphCollection`` per kind of case graph, its ``rdfs:comment`` giving the IRI
    template ``https://w3id.org/imr-kg/case/{case}/graph/<kind>`` (``/cases`` lists the ids).

    >>> g = service_description("http://127.0.0.1:8000/sparql", ServiceOptions(), union_default_graph=True)
    >>> len(set(g.objects(None, URIRef(SD_NS + "supportedLanguage"))))
    1
    """
    from rdflib import RDF, RDFS, Namespace

    from kg.rdf import CASE_BASE
    from kg.store.protocol import SERVE_NS
    from kg.store.store import GRAPH_NAMES, GUIDELINES_GRAPH

    sd = Namespace(SD_NS)
    g = Graph()
    g.bind("sd", sd)
    g.bind("formats", "http://www.w3.org/ns/formats/")
    service = URIRef(endpoint + "#service")
    dataset = URIRef(endpoint + "#dataset")
    default = URIRef(endpoint + "#default-graph")
    g.add((service, RDF.type, sd.Service))
    g.add((service, sd.endpoint, URIRef(endpoint)))
    g.add((service, RDFS.label, Literal("imr-kg SPARQL endpoint")))
    g.add((service, sd.supportedLanguage, sd.SPARQL11Query))
    serve = Namespace(SERVE_NS)
    g.bind("serve", serve)
    g.add((service, serve.maxRequestBytes, Literal(options.max_body_bytes)))
    if options.allow_update_token:
        g.add((service, sd.supportedLanguage, sd.SPARQL11Update))
        g.add((service, serve.graphStore, URIRef(endpoint.rsplit("/", 1)[0] + "/rdf-graphs")))
        g.add((service, serve.maxGraphStoreBytes, Literal(options.max_graph_bytes)))
    for media in RESULT_TYPES + GRAPH_TYPES:
        g.add((service, sd.resultFormat, URIRef(_FORMAT_IRIS[media])))
    if union_default_graph:
        g.add((service, sd.feature, sd.UnionDefaultGraph))
    if options.allow_federation:
        g.add((service, sd.feature, sd.BasicFederatedQuery))
    g.add((service, sd.defaultDataset, dataset))
    g.add((dataset, RDF.type, sd.Dataset))
    g.add((dataset, sd.defaultGraph, default))
    g.add((default, RDF.type, sd.Graph))
    g.add((default, RDFS.comment, Literal(
        "The union of all named graphs: a query without GRAPH sees every case and the guidelines."
        if union_default_graph else "The server's default graph.")))
    guidelines = URIRef(endpoint + "#guidelines")
    g.add((dataset, sd.namedGraph, guidelines))
    g.add((guidelines, RDF.type, sd.NamedGraph))
    g.add((guidelines, sd.name, GUIDELINES_GRAPH))
    g.add((guidelines, RDFS.comment, Literal("The ontology and the guideline criteria as SHACL shapes.")))
    g.add((dataset, RDFS.comment, Literal(
        f"Besides the guidelines graph, every case has the named graphs {CASE_BASE}{{case}}/graph/"
        f"{{{'|'.join(GRAPH_NAMES)}}}; GET /cases lists the case ids.")))
    for name in GRAPH_NAMES:
        collection = URIRef(f"{endpoint}#case-graphs-{name}")
        g.add((service, sd.availableGraphs, collection))
        g.add((collection, RDF.type, sd.GraphCollection))
        g.add((collection, RDFS.label, Literal(f"{name} graphs, one per case")))
        g.add((collection, RDFS.comment, Literal(f"{CASE_BASE}{{case}}/graph/{name}")))
    return g

