"""The endpoint: a read-only, bounded SPARQL 1.1 Protocol server over a store.

Stage after the query library.  Three layers, so the endpoint can be mounted in
another application: :class:`SparqlService` (the store, the limits and how a
query is run), :func:`create_router` (the HTTP routes over a service) and
:func:`create_app` (a FastAPI app with the router and the middleware: body cap,
CORS, security headers, error handling, logging).  :func:`run` serves it with
uvicorn.

Routes
    ``GET|POST /sparql``  SPARQL 1.1 Protocol: ``?query=``, a form POST (``query=`` or
    ``update=``), or a POST body of type ``application/sparql-query`` /
    ``application/sparql-update``.  SELECT/ASK answer as SPARQL JSON (default), XML, CSV or
    TSV; CONSTRUCT/DESCRIBE as Turtle (default), N-Triples or JSON-LD, chosen by ``Accept``
    (q-values honoured; 406 when nothing acceptable).  ``GET /sparql`` with neither ``query``
    nor ``update`` answers the SPARQL 1.1 Service Description (:func:`service_description`) as
    Turtle, N-Triples or JSON-LD.  The protocol's dataset parameters (``default-graph-uri``,
    ``named-graph-uri``, ``using-graph-uri``, ``using-named-graph-uri``) are refused with 400,
    never silently ignored: name graphs in the request itself (``FROM``, ``GRAPH``, ``USING``).
    ``GET /queries``, ``GET /queries/{name}?param=value``  the query library and one query run
    with typed parameters.  ``GET /cases``, ``GET /cases/{id}``  case ids and one case's
    determination (:func:`kg.engine.rationale.to_json_data`).  ``GET /health``.  ``GET /`` a query page
    (``/favicon.ico`` answers 204, so browsers log no 404).

What the server guarantees
    * Read-only by default: an update is 403 unless ``allow_update_token`` was given and the
      request carries ``Authorization: Bearer <token>`` (compared with :func:`hmac.compare_digest`).
    * ``SERVICE`` (federated query) and ``LOAD`` are 400 unless ``allow_federation=True``: the
      server makes no request to another host on a client's behalf.
    * Timeout: on a local (pyoxigraph) store each query runs in a forked child process that is
      killed (SIGKILL) when ``query_timeout`` passes, so the work really stops; the client gets
      503.  Where ``os.fork`` is unavailable, and for a :class:`kg.store.store.RemoteStore`, the query
      runs in a daemon thread: the client still gets 503 at the timeout, but the thread runs on
      until the store returns (a remote store's HTTP exchange is cut at ``query_timeout``) and
      keeps its concurrency slot until then, so abandoned work never exceeds ``max_concurrency``.
      Updates (token holders only) run in the server process and are not timed out.
    * At most ``result_limit`` rows (or triples) are returned; every query response carries
      ``X-Result-Limit`` and ``X-Result-Truncated: true|false``.
    * Request bodies over ``max_body_bytes`` are refused with 413 (by ``Content-Length`` or
      while reading).
    * At most ``max_concurrency`` queries run at once; a request beyond that gets 503 at once
      (with ``Retry-After: 1``), it is not queued.
    * Malformed SPARQL is 400 with ``line L, column C`` in the text body; any other failure is
      500 with a generic body (the detail goes to the log at ERROR level only).
    * CORS only for the listed ``cors_origins`` (none by default), never with credentials.
    * The log at INFO holds method, path (without the query string), status and duration only;
      query text is logged at DEBUG.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import pickle
import re
import select
import signal
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, TypeVar

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg.errors import InputError, KgError
from kg.store.store import QueryResult, RemoteStore, Store

__all__ = ["SparqlService", "ServiceOptions", "create_router", "create_app", "run", "parse_accept",
           "check_sparql", "service_description"]

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
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
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


def _query_form_of(text: str) -> str:
    from kg.store.store import _query_form

    return _query_form(text)


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
    kg.web.serve.ServeError: malformed query at line 2, column 9: ...
    """
    import pyoxigraph as ox

    words = _keywords(text)
    if not allow_federation:
        for word in ("SERVICE", "LOAD"):
            if word in words:
                raise ServeError(400, f"{word} is not allowed on this endpoint (federation is disabled)")
    elif words & {"SERVICE", "LOAD"}:
        # The probe would fetch from the network: leave the checking to the store itself.
        return "UPDATE" if update else _query_form_of(text)
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
        return _query_form_of(text)
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
    JSON-LD) in ``media_type``.  Rows keep their order."""
    from xml.sax.saxutils import escape, quoteattr

    if result.graph is not None:
        g = result.graph
        text = g.serialize(format=_RDF_FORMATS[media_type])
        return text.encode("utf-8") if isinstance(text, str) else text
    cols = result.columns
    if media_type == "application/sparql-results+json":
        if result.boolean is not None:
            doc: dict[str, Any] = {"head": {}, "boolean": result.boolean}
        else:
            doc = {"head": {"vars": list(cols)}, "results": {"bindings": [
                {c: _json_term(v) for c, v in zip(cols, row) if v is not None} for row in result.rows]}}
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
                for c, v in zip(cols, row):
                    if v is None:
                        continue
                    if isinstance(v, URIRef):
                        inner = f"<uri>{escape(str(v))}</uri>"
                    elif isinstance(v, BNode):
                        inner = f"<bnode>{escape(str(v))}</bnode>"
                    else:
                        attr = (f" xml:lang={quoteattr(v.language)}" if getattr(v, "language", None) else
                                f" datatype={quoteattr(str(v.datatype))}" if getattr(v, "datatype", None) else "")
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
    """The endpoint's limits (see the module docstring for what each guarantees)."""

    allow_update_token: str | None = None
    query_timeout: float = 10.0
    result_limit: int = 10000
    max_body_bytes: int = 1_000_000
    cors_origins: tuple[str, ...] = ()
    max_concurrency: int = 4
    allow_federation: bool = False


class _Timeout(Exception):
    pass


class _Failure(Exception):
    """The work raised; ``kind`` is ``input`` (bad request) or ``internal``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def _outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", fn()
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
        # Held while forking and while updating, so a child never inherits a store mid-write.
        self._write_lock = threading.Lock()
        self._fork = hasattr(os, "fork") and not isinstance(self.store, RemoteStore)
        if isinstance(self.store, RemoteStore):
            import copy

            bounded = copy.copy(self.store)
            bounded.timeout = self.options.query_timeout
            self._reader: Store = bounded
        else:
            self._reader = self.store
        # Import what the children need now, never inside a forked child.
        import kg.engine.determine  # noqa: F401
        import kg.engine.rationale  # noqa: F401
        import kg.store.query  # noqa: F401

    @property
    def reader(self) -> Store:
        """The store queries go to (a remote store with its HTTP timeout set to ``query_timeout``)."""
        return self._reader

    # -- the bound -----------------------------------------------------------------
    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` (a read of the store returning a picklable value) under the concurrency bound
        and the timeout.  Raises :class:`ServeError` 503 when saturated or timed out, 400 for bad
        input, 500 for anything else (detail logged)."""
        if not self._slots.acquire(blocking=False):
            raise ServeError(503, "the endpoint is busy; try again shortly", {"Retry-After": "1"})
        try:
            kind, value = self._forked(fn) if self._fork else self._threaded(fn)
        except _Timeout:
            raise ServeError(503, f"the query took longer than {self.options.query_timeout:g} s and was stopped",
                             {"Retry-After": "1"}) from None
        if kind == "ok":
            return value
        if kind == "serve":
            raise ServeError(*value)
        if kind == "input":
            raise ServeError(400, value)
        log.error("request failed: %s", value)
        raise ServeError(500, "internal error")

    def _threaded(self, fn: Callable[[], T]) -> tuple[str, Any]:
        box: list[tuple[str, Any]] = []
        done = threading.Event()

        def work() -> None:
            try:
                box.append(_outcome(fn))
            finally:
                done.set()
                self._slots.release()

        threading.Thread(target=work, name="kg-serve-query", daemon=True).start()
        if not done.wait(self.options.query_timeout):
            raise _Timeout()
        return box[0]

    def _forked(self, fn: Callable[[], T]) -> tuple[str, Any]:
        try:
            read_fd, write_fd = os.pipe()
            with self._write_lock:
                pid = os.fork()
            if pid == 0:  # the child: run, send, leave without cleanup handlers
                code = 0
                try:
                    os.close(read_fd)
                    data = pickle.dumps(_outcome(fn), protocol=pickle.HIGHEST_PROTOCOL)
                    view = memoryview(data)
                    while view:
                        view = view[os.write(write_fd, view):]
                except BaseException:  # noqa: BLE001 - nothing may escape a forked child
                    code = 1
                finally:
                    os._exit(code)
            os.close(write_fd)
            chunks: list[bytes] = []
            deadline = time.monotonic() + self.options.query_timeout
            try:
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        os.kill(pid, signal.SIGKILL)
                        raise _Timeout()
                    ready, _, _ = select.select([read_fd], [], [], left)
                    if ready:
                        chunk = os.read(read_fd, 1 << 20)
                        if not chunk:
                            break
                        chunks.append(chunk)
            finally:
                os.close(read_fd)
                os.waitpid(pid, 0)
            if not chunks:
                return "internal", "the query process ended without an answer"
            return pickle.loads(b"".join(chunks))  # noqa: S301 - our own child's output
        finally:
            self._slots.release()

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
        """Apply an update (the caller checked the token).  Not timed out; bounded by the slots."""
        if not self._slots.acquire(blocking=False):
            raise ServeError(503, "the endpoint is busy; try again shortly", {"Retry-After": "1"})
        try:
            with self._write_lock:
                self.store.update(sparql)
        except InputError as exc:
            raise ServeError(400, str(exc)) from None
        except (RuntimeError, ValueError) as exc:  # pyoxigraph's evaluation errors ("graph does not exist")
            raise ServeError(400, f"the update failed: {exc}") from None
        except Exception:
            log.exception("update failed")
            raise ServeError(500, "internal error") from None
        finally:
            self._slots.release()

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
    if options.allow_update_token:
        g.add((service, sd.supportedLanguage, sd.SPARQL11Update))
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


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------
_PAGE_STYLE = """
body{font:15px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:70em;padding:0 1em;color:#222}
textarea{width:100%;height:12em;font:13px monospace}
table{border-collapse:collapse;margin-top:1em}
td,th{border:1px solid #bbb;padding:.2em .5em;text-align:left;vertical-align:top}
#status{margin-left:1em;color:#555}select{max-width:40em}#about{color:#555}
#params label{display:block;margin:.3em 0}#params input{width:40em;max-width:100%}
#cases{columns:3}.met{color:#070}.not_met{color:#a00}.not_documented{color:#a60}.not_applicable{color:#777}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.5em}
"""
_PAGE_SCRIPT = """
const $ = (id) => document.getElementById(id);
const CASE = /^https:\\/\\/w3id\\.org\\/imr-kg\\/case\\/([^/]+)\\/$/;
const library = new Map();
function el(tag, text, cls){
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}
function caseLink(id, text){
  const a = el('a', text); a.href = 'cases/' + encodeURIComponent(id); a.dataset.case = id;
  a.addEventListener('click', (ev) => { ev.preventDefault(); showCase(id); });
  return a;
}
function show(doc){
  const out = $('out'); out.textContent = '';
  if ('boolean' in doc){ out.textContent = String(doc.boolean); return; }
  const table = el('table'); table.id = 'results'; const head = table.createTHead().insertRow();
  for (const v of doc.head.vars) head.appendChild(el('th', v));
  const body = table.createTBody();
  for (const b of doc.results.bindings){
    const tr = body.insertRow();
    for (const v of doc.head.vars){
      const td = tr.insertCell(); const t = b[v];
      const m = t && t.type === 'uri' && t.value.match(CASE);
      if (m) td.appendChild(caseLink(decodeURIComponent(m[1]), t.value));
      else td.textContent = t ? t.value : '';
    }
  }
  out.appendChild(table);
}
function chosen(){
  const q = library.get($('examples').value);
  return q && $('query').value === q.sparql ? q : null;
}
async function runQuery(ev){
  ev.preventDefault();
  $('status').textContent = 'running...';
  const q = chosen(); const bound = new URLSearchParams();
  if (q) for (const p of q.parameters){ const v = $('param-' + p.name).value.trim(); if (v) bound.append(p.name, v); }
  const accept = {'Accept': 'application/sparql-results+json'};
  const resp = (q && [...bound].length)
    ? await fetch('queries/' + encodeURIComponent(q.name) + '?' + bound, {headers: accept})
    : await fetch('sparql', {method: 'POST', body: new URLSearchParams({query: $('query').value}), headers: accept});
  if (!resp.ok){ $('status').textContent = resp.status + ': ' + await resp.text(); $('out').textContent = ''; return; }
  const truncated = resp.headers.get('X-Result-Truncated') === 'true';
  const doc = await resp.json();
  show(doc);
  $('status').textContent = (doc.results ? doc.results.bindings.length + ' rows' : 'done') +
      (truncated ? ' (truncated at ' + resp.headers.get('X-Result-Limit') + ')' : '');
}
function choose(){
  const q = library.get($('examples').value); const params = $('params');
  params.textContent = ''; $('about').textContent = '';
  if (!q) return;
  $('query').value = q.sparql; $('about').textContent = q.question;
  for (const p of q.parameters){
    const label = el('label', '?' + p.name + ' (' + p.type + ') ' + p.description + ' ');
    const input = el('input'); input.id = 'param-' + p.name; input.placeholder = 'unbound: every value';
    label.appendChild(input); params.appendChild(label);
  }
}
async function loadExamples(){
  const resp = await fetch('queries'); if (!resp.ok) return;
  const sel = $('examples');
  for (const q of await resp.json()){
    library.set(q.name, q);
    const o = el('option', q.name + ' - ' + q.title); o.value = q.name; sel.appendChild(o);
  }
  sel.addEventListener('change', choose);
}
async function loadCases(){
  const resp = await fetch('cases'); if (!resp.ok) return;
  const list = $('cases');
  for (const id of (await resp.json()).cases){
    const li = el('li'); li.appendChild(caseLink(id, id)); list.appendChild(li);
  }
}
const WORDS = {medically_necessary: 'medically necessary', not_medically_necessary: 'not medically necessary',
  not_covered: 'not covered by an encoded guideline section', met: 'met', not_met: 'not met',
  not_documented: 'not documented', not_applicable: 'not applicable'};
const word = (w) => WORDS[w] || w;
function criteriaTable(criteria){
  const t = el('table', undefined, 'criteria'); const hr = t.createTHead().insertRow();
  for (const c of ['#', 'criterion', 'status', 'why']) hr.appendChild(el('th', c));
  const tb = t.createTBody();
  for (const c of criteria){
    const r = tb.insertRow();
    r.insertCell().textContent = c.number;
    r.insertCell().textContent = c.label;
    r.insertCell().appendChild(el('span', word(c.status), c.status));
    r.insertCell().textContent = c.reasons.join(' ');
  }
  return t;
}
async function showCase(id){
  const box = $('case'); box.textContent = 'loading ' + id + '...';
  const resp = await fetch('cases/' + encodeURIComponent(id));
  if (!resp.ok){ box.textContent = resp.status + ': ' + await resp.text(); return; }
  const det = await resp.json(); box.textContent = '';
  const h = el('h2', 'Case ' + det.case + ' ');
  const json = el('a', '(JSON)'); json.href = 'cases/' + encodeURIComponent(id);
  h.appendChild(json); box.appendChild(h);
  for (const item of det.items){
    const sec = el('section', undefined, 'item'); sec.dataset.request = item.request;
    sec.appendChild(el('h3', item.service));
    const p = el('p');
    p.appendChild(el('strong', 'Engine: ')); p.appendChild(el('span', word(item.engine_decision), 'engine'));
    p.appendChild(el('strong', ' | reviewer: ')); p.appendChild(el('span', item.reviewer_decision || 'none', 'reviewer'));
    sec.appendChild(p);
    const g = item.guideline;
    if (g) sec.appendChild(el('p', g.version_label + ', section "' + g.section_label + '"'));
    else if (item.note) sec.appendChild(el('p', item.note));
    if (item.criteria.length) sec.appendChild(criteriaTable(item.criteria));
    sec.appendChild(el('pre', item.rationale));
    box.appendChild(sec);
  }
  box.scrollIntoView();
}
$('form').addEventListener('submit', runQuery);
loadExamples();
loadCases();
"""
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>imr-kg SPARQL</title>
<style>{style}</style></head>
<body><h1>imr-kg SPARQL endpoint</h1>
<p>Queries go to <code>/sparql</code> (SPARQL 1.1 Protocol; <a href="sparql">service description</a>).
The library is at <a href="queries">/queries</a>, cases at <a href="cases">/cases</a>.</p>
<form id="form"><p><label>Example: <select id="examples"><option value="">(choose a library query)</option></select></label></p>
<p id="about"></p><div id="params"></div>
<textarea id="query" name="query" spellcheck="false">SELECT ?g (COUNT(*) AS ?triples) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }} GROUP BY ?g ORDER BY ?g LIMIT 20</textarea>
<p><button type="submit" id="run">Run</button><span id="status"></span></p></form>
<div id="out"></div>
<h2>Cases</h2><p>Each links to its determination (engine and reviewer, criterion by criterion).</p>
<ul id="cases"></ul>
<div id="case"></div>
<script>{script}</script>
</body></html>
"""


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


CSP = ("default-src 'none'; script-src {script}; style-src {style}; connect-src 'self'; img-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'").format(
    script=_sha256(_PAGE_SCRIPT), style=_sha256(_PAGE_STYLE))


def create_router(service: SparqlService) -> APIRouter:
    """The routes over ``service`` as a FastAPI ``APIRouter`` (to include in any app).

    Body size is enforced again while reading; everything that touches the store runs in a worker
    thread, never on the event loop.
    """
    from starlette.concurrency import run_in_threadpool

    opts = service.options
    router = APIRouter()

    def headers(truncated: bool) -> dict[str, str]:
        return {"X-Result-Limit": str(opts.result_limit), "X-Result-Truncated": "true" if truncated else "false",
                "Vary": "Accept"}

    async def answer(request: Request, text: str, params: Mapping[str, Node] | None = None,
                     check: bool = True) -> Response:
        accept = request.headers.get("accept")
        if parse_accept(accept, RESULT_TYPES + GRAPH_TYPES) is None:
            raise ServeError(406, "none of the accepted types can be produced; offered: "
                             + ", ".join(RESULT_TYPES + GRAPH_TYPES))
        log.debug("query: %s", text)
        result, truncated = await run_in_threadpool(service.query, text, params, check=check)
        offered = GRAPH_TYPES if result.graph is not None else RESULT_TYPES
        media = parse_accept(accept, offered)
        if media is None:
            raise ServeError(406, "none of the accepted types can be produced; offered: " + ", ".join(offered))
        body = await run_in_threadpool(serialize_result, result, media)
        ctype = media + ("; charset=utf-8" if media.startswith("text/") else "")
        return Response(body, media_type=ctype, headers=headers(truncated))

    async def read_body(request: Request) -> bytes:
        size = 0
        chunks = []
        async for chunk in request.stream():
            size += len(chunk)
            if size > opts.max_body_bytes:
                raise ServeError(413, f"the request body is larger than {opts.max_body_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def authorised(request: Request) -> bool:
        if not opts.allow_update_token:
            return False
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        expected = opts.allow_update_token.encode("utf-8")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode("utf-8"), expected)

    def no_protocol_dataset(fields: Mapping[str, Any]) -> None:
        for name in ("default-graph-uri", "named-graph-uri", "using-graph-uri", "using-named-graph-uri"):
            if name in fields:
                raise ServeError(400, f"'{name}' is not supported on this endpoint; name graphs in the query "
                                 "(FROM, FROM NAMED or GRAPH)")

    async def describe(request: Request) -> Response:
        media = parse_accept(request.headers.get("accept"), GRAPH_TYPES)
        if media is None:
            raise ServeError(400, "give exactly one 'query' parameter (without one, and accepting "
                             + ", ".join(GRAPH_TYPES) + ", GET /sparql answers the service description)")
        endpoint = str(request.url.replace(query="", fragment=""))
        union = not isinstance(service.store, RemoteStore)

        def work() -> bytes:
            graph = service_description(endpoint, opts, union_default_graph=union)
            return serialize_result(QueryResult(graph=graph), media)

        body = await run_in_threadpool(work)
        ctype = media + ("; charset=utf-8" if media.startswith("text/") else "")
        return Response(body, media_type=ctype, headers={"Vary": "Accept"})

    @router.get("/sparql")
    async def sparql_get(request: Request) -> Response:
        values = request.query_params.getlist("query")
        if "update" in request.query_params:
            raise ServeError(400, "updates must be sent with POST")
        if not values:
            return await describe(request)
        if len(values) != 1 or not values[0].strip():
            raise ServeError(400, "give exactly one 'query' parameter")
        no_protocol_dataset(request.query_params)
        return await answer(request, values[0])

    @router.post("/sparql")
    async def sparql_post(request: Request) -> Response:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        raw = await read_body(request)
        try:
            text_body = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ServeError(400, "the request body is not UTF-8") from None
        no_protocol_dataset(request.query_params)
        if ctype == "application/x-www-form-urlencoded":
            fields = urllib.parse.parse_qs(text_body, keep_blank_values=True)
            no_protocol_dataset(fields)
            queries, updates = fields.get("query", []), fields.get("update", [])
            if len(queries) + len(updates) != 1:
                raise ServeError(400, "give exactly one 'query' or 'update' field")
            if queries:
                return await answer(request, queries[0])
            update_text = updates[0]
        elif ctype == "application/sparql-query":
            return await answer(request, text_body)
        elif ctype == "application/sparql-update":
            update_text = text_body
        else:
            raise ServeError(415, "send application/sparql-query, application/sparql-update or a form")
        if not authorised(request):
            raise ServeError(403, "updates are not allowed on this endpoint without the update token")
        check_sparql(update_text, update=True, allow_federation=opts.allow_federation)
        log.debug("update: %s", update_text)
        await run_in_threadpool(service.update, update_text)
        return Response(status_code=204)

    @router.get("/queries")
    def queries_list() -> JSONResponse:
        from kg.store.query import library

        return JSONResponse([{"name": q.name, "title": q.title, "question": q.question,
                              "parameters": [{"name": p.name, "type": p.type, "description": p.description}
                                             for p in q.parameters],
                              "columns": q.columns, "sparql": q.text} for q in library()])

    @router.get("/queries/{name}")
    async def queries_run(name: str, request: Request) -> Response:
        from kg.store.query import bind_parameters, library

        query = next((q for q in library() if q.name == name), None)
        if query is None:
            raise ServeError(404, f"no library query named '{name}'")
        raw: dict[str, str] = {}
        for key, value in request.query_params.multi_items():
            if key in raw:
                raise ServeError(400, f"parameter '{key}' given twice")
            raw[key] = value
        try:
            params = bind_parameters(query, raw)
        except InputError as exc:
            raise ServeError(400, str(exc)) from None
        return await answer(request, query.text, params, check=False)

    @router.get("/cases")
    def cases_list() -> JSONResponse:
        return JSONResponse({"cases": service.case_ids()})

    @router.get("/cases/{case_id}")
    def case_get(case_id: str) -> JSONResponse:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", case_id):
            raise ServeError(400, "not a case id")
        data = service.case_determination(case_id)
        if data is None:
            raise ServeError(404, f"no case '{case_id}' in the store")
        return JSONResponse(data)

    @router.get("/health")
    def health() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @router.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        # Browsers ask for it on every visit; an empty answer keeps a 404 out of their console.
        return Response(status_code=204, headers={"Cache-Control": "max-age=86400"})

    @router.get("/")
    def page() -> HTMLResponse:
        return HTMLResponse(_PAGE.format(style=_PAGE_STYLE, script=_PAGE_SCRIPT),
                            headers={"Content-Security-Policy": CSP})

    return router


def create_app(store: Store, *, allow_update_token: str | None = None, query_timeout: float = 10.0,
               result_limit: int = 10000, max_body_bytes: int = 1_000_000, cors_origins: tuple[str, ...] = (),
               max_concurrency: int = 4, allow_federation: bool = False) -> FastAPI:
    """The endpoint as a FastAPI app over ``store`` (which stays open; the caller closes it).

    Options are the limits the module docstring describes; ``allow_update_token=None`` keeps the
    endpoint read-only.  The app can be mounted in another one (``parent.mount("/kg", app)``) or
    its routes included via :func:`create_router`.

    >>> from kg.store.store import open_store
    >>> app = create_app(open_store("memory"))
    >>> app.state.service.options.result_limit
    10000
    """
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    if result_limit < 1 or max_concurrency < 1 or query_timeout <= 0 or max_body_bytes < 1:
        raise ValueError("result_limit, max_concurrency, query_timeout and max_body_bytes must be positive")
    options = ServiceOptions(allow_update_token=allow_update_token or None, query_timeout=query_timeout,
                             result_limit=result_limit, max_body_bytes=max_body_bytes,
                             cors_origins=tuple(cors_origins), max_concurrency=max_concurrency,
                             allow_federation=allow_federation)
    service = SparqlService(store, options)
    app = FastAPI(title="imr-kg SPARQL endpoint", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.service = service
    app.include_router(create_router(service))

    @app.exception_handler(ServeError)
    async def serve_error(request: Request, exc: ServeError) -> PlainTextResponse:
        return PlainTextResponse(exc.message + "\n", status_code=exc.status, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> PlainTextResponse:
        return PlainTextResponse(f"{exc.detail}\n", status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> PlainTextResponse:
        return PlainTextResponse("bad request\n", status_code=400)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> PlainTextResponse:
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return PlainTextResponse("internal error\n", status_code=500)

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Any]) -> Any:
        start = time.monotonic()
        length = request.headers.get("content-length")
        if length is not None:
            try:
                too_big = int(length) > max_body_bytes
            except ValueError:
                return PlainTextResponse("bad Content-Length\n", status_code=400)
            if too_big:
                return PlainTextResponse(f"the request body is larger than {max_body_bytes} bytes\n", status_code=413)
        try:
            response = await call_next(request)
        except Exception as exc:  # noqa: BLE001 - generic 500, detail to the log
            log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
            response = PlainTextResponse("internal error\n", status_code=500)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        log.info("%s %s %d %.0f ms", request.method, request.url.path, response.status_code,
                 1000 * (time.monotonic() - start))
        return response

    if options.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(options.cors_origins), allow_credentials=False,
                           allow_methods=["GET", "POST"], allow_headers=["Accept", "Content-Type"],
                           expose_headers=["X-Result-Limit", "X-Result-Truncated"])
    return app


def run(store: Store, host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "info",
        extend: Any = None, **options: Any) -> None:
    """Serve :func:`create_app` ``(store, **options)`` with uvicorn until interrupted.

    ``extend``, if given, is called with the app before serving (to mount more routes).
    uvicorn's access log is off (it would log query strings, which can hold case text); the
    ``kg.web.serve`` logger logs method, path, status and duration at INFO instead.
    """
    import uvicorn

    app = create_app(store, **options)
    if extend is not None:
        extend(app)
    logging.basicConfig(level=getattr(logging, log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(app, host=host, port=port, access_log=False, log_level=log_level, server_header=False)
