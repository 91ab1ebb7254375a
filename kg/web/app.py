"""The endpoint: a read-only, bounded SPARQL 1.1 Protocol server over a store.

After :mod:`kg.web.sparql` and :mod:`kg.web.query_page`.  Three layers, so the endpoint can be
mounted in another application: :class:`kg.web.sparql.SparqlService` (the store, the limits and
how a query is run), :func:`create_router` (the HTTP routes over a service) and
:func:`create_app` (a FastAPI app with the router and the middleware: body cap, CORS, security
headers, error handling, logging).  :func:`run` serves it with uvicorn.

Routes
    ``GET|POST /sparql``  SPARQL 1.1 Protocol: ``?query=``, a form POST (``query=`` or
    ``update=``), or a POST body of type ``application/sparql-query`` /
    ``application/sparql-update``.  SELECT/ASK answer as SPARQL JSON (default), XML, CSV or
    TSV; CONSTRUCT/DESCRIBE as Turtle (default), N-Triples or JSON-LD, chosen by ``Accept``
    (q-values honoured; 406 when nothing acceptable).  ``GET /sparql`` with neither ``query``
    nor ``update`` answers the SPARQL 1.1 Service Description
    (:func:`kg.web.sparql.service_description`) as Turtle, N-Triples or JSON-LD.  The protocol's
    dataset parameters (``default-graph-uri``, ``named-graph-uri``, ``using-graph-uri``,
    ``using-named-graph-uri``) are refused with 400, never silently ignored: name graphs in the
    request itself (``FROM``, ``GRAPH``, ``USING``).
    ``PUT|DELETE|GET /rdf-graphs?graph=IRI``  the SPARQL 1.1 Graph Store HTTP Protocol for writers
    (token; bodies up to ``max_graph_bytes``; several ``graph`` with an N-Quads body replace them
    in one update), see :func:`_add_graph_store_routes`.
    ``GET /queries``, ``GET /queries/{name}?param=value``  the query library and one query run
    with typed parameters.  ``GET /cases``, ``GET /cases/{id}``  case ids and one case's
    determination (:func:`kg.engine.rationale.to_json_data`); ``GET /cases/{id}/letter`` the
    case's documents and quoted passages.  ``/queries``, ``/cases`` and ``/cases/{id}`` answer a
    page (:mod:`kg.web.pages`) to a client that prefers ``text/html`` (a browser) or asks
    ``?format=html``, JSON otherwise.  ``GET /`` the home page, ``GET /query`` the query page
    (:mod:`kg.web.query_page`, with its editor at ``/static/editor.js``).  ``GET /health``;
    ``/favicon.ico`` answers 204, so browsers log no 404.  Answers of 500 bytes or more are
    gzip-compressed for clients that accept it.

What the server guarantees (besides the query limits of :mod:`kg.web.sparql`: no federation,
timeouts that stop the work, the result cap, the concurrency bound, parse errors with a position)
    * Read-only by default: an update is 403 unless ``allow_update_token`` was given and the
      request carries ``Authorization: Bearer <token>`` (compared with :func:`hmac.compare_digest`).
    * Every query response carries ``X-Result-Limit`` and ``X-Result-Truncated: true|false``.
    * Request bodies over ``max_body_bytes`` are refused with 413 (by ``Content-Length`` or
      while reading).
    * Malformed SPARQL is 400 with ``line L, column C`` in the text body; any other failure is
      500 with a generic body (the detail goes to the log at ERROR level only).
    * CORS only for the listed ``cors_origins`` (none by default), never with credentials.
    * The log at INFO holds method, path (without the query string), status and duration only;
      query text is logged at DEBUG.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import time
import urllib.parse
from typing import Any, Awaitable, Callable, Mapping

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from rdflib import URIRef
from rdflib.term import Node
from starlette.concurrency import run_in_threadpool

from kg.errors import InputError
from kg.store.store import QueryResult, RemoteStore, Store
from kg.web.pages import CASE_SORTS, case_html, case_summaries, cases_html, home_html, letter_html, queries_html
from kg.web.query_page import editor_script, query_page
from kg.web.sparql import (
    GRAPH_TYPES,
    RESULT_TYPES,
    ServeError,
    ServiceOptions,
    SparqlService,
    check_sparql,
    parse_accept,
    serialize_result,
    service_description,
)

__all__ = ["create_router", "create_app", "run"]

# The endpoint's one logger, shared with kg.web.sparql.
log = logging.getLogger("kg.web.serve")


# ---------------------------------------------------------------------------
# What the routes share
# ---------------------------------------------------------------------------
def _result_headers(opts: ServiceOptions, truncated: bool) -> dict[str, str]:
    return {"X-Result-Limit": str(opts.result_limit), "X-Result-Truncated": "true" if truncated else "false",
            "Vary": "Accept"}


async def _answer(service: SparqlService, request: Request, text: str, params: Mapping[str, Node] | None = None,
                  check: bool = True) -> Response:
    """Run a query in a worker thread and answer its result in the type the request accepts."""
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
    return Response(body, media_type=ctype, headers=_result_headers(service.options, truncated))


def _wants_html(request: Request) -> bool:
    """Whether to answer a page rather than JSON: ``?format=html|json`` decides, else ``Accept``
    (a browser's prefers ``text/html``; a script's ``*/*`` gets JSON)."""
    fmt = request.query_params.get("format")
    if fmt in ("html", "json"):
        return fmt == "html"
    return parse_accept(request.headers.get("accept"), ("application/json", "text/html")) == "text/html"


def _page(parts: tuple[str, str]) -> HTMLResponse:
    html, policy = parts
    return HTMLResponse(html, headers={"Content-Security-Policy": policy, "Vary": "Accept"})


async def _read_body(request: Request, max_body_bytes: int) -> bytes:
    size = 0
    chunks = []
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_body_bytes:
            raise ServeError(413, f"the request body is larger than {max_body_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _authorised(opts: ServiceOptions, request: Request) -> bool:
    if not opts.allow_update_token:
        return False
    given = request.headers.get("authorization", "")
    scheme, _, token = given.partition(" ")
    expected = opts.allow_update_token.encode("utf-8")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode("utf-8"), expected)


def _no_protocol_dataset(fields: Mapping[str, Any]) -> None:
    for name in ("default-graph-uri", "named-graph-uri", "using-graph-uri", "using-named-graph-uri"):
        if name in fields:
            raise ServeError(400, f"'{name}' is not supported on this endpoint; name graphs in the query "
                             "(FROM, FROM NAMED or GRAPH)")


async def _describe(service: SparqlService, request: Request) -> Response:
    """The service description, in the graph type the request accepts."""
    media = parse_accept(request.headers.get("accept"), GRAPH_TYPES)
    if media is None:
        raise ServeError(400, "give exactly one 'query' parameter (without one, and accepting "
                         + ", ".join(GRAPH_TYPES) + ", GET /sparql answers the service description)")
    endpoint = str(request.url.replace(query="", fragment=""))
    union = not isinstance(service.store, RemoteStore)

    def work() -> bytes:
        graph = service_description(endpoint, service.options, union_default_graph=union)
        return serialize_result(QueryResult(graph=graph), media)

    body = await run_in_threadpool(work)
    ctype = media + ("; charset=utf-8" if media.startswith("text/") else "")
    return Response(body, media_type=ctype, headers={"Vary": "Accept"})


# ---------------------------------------------------------------------------
# The route groups
# ---------------------------------------------------------------------------
def _add_protocol_routes(router: APIRouter, service: SparqlService) -> None:
    """``GET`` and ``POST /sparql``: queries, updates (with the token) and the service description."""
    opts = service.options

    @router.get("/sparql")
    async def sparql_get(request: Request) -> Response:
        values = request.query_params.getlist("query")
        if "update" in request.query_params:
            raise ServeError(400, "updates must be sent with POST")
        if not values:
            return await _describe(service, request)
        if len(values) != 1 or not values[0].strip():
            raise ServeError(400, "give exactly one 'query' parameter")
        _no_protocol_dataset(request.query_params)
        return await _answer(service, request, values[0])

    @router.post("/sparql")
    async def sparql_post(request: Request) -> Response:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        raw = await _read_body(request, opts.max_body_bytes)
        try:
            text_body = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ServeError(400, "the request body is not UTF-8") from None
        _no_protocol_dataset(request.query_params)
        if ctype == "application/x-www-form-urlencoded":
            fields = urllib.parse.parse_qs(text_body, keep_blank_values=True)
            _no_protocol_dataset(fields)
            queries, updates = fields.get("query", []), fields.get("update", [])
            if len(queries) + len(updates) != 1:
                raise ServeError(400, "give exactly one 'query' or 'update' field")
            if queries:
                return await _answer(service, request, queries[0])
            update_text = updates[0]
        elif ctype == "application/sparql-query":
            return await _answer(service, request, text_body)
        elif ctype == "application/sparql-update":
            update_text = text_body
        else:
            raise ServeError(415, "send application/sparql-query, application/sparql-update or a form")
        if not _authorised(opts, request):
            raise ServeError(403, "updates are not allowed on this endpoint without the update token")
        # parsed in a worker thread: a large update would hold the event loop
        await run_in_threadpool(check_sparql, update_text, update=True, allow_federation=opts.allow_federation)
        log.debug("update: %s", update_text)
        await run_in_threadpool(service.update, update_text)
        return Response(status_code=204)


def _add_library_routes(router: APIRouter, service: SparqlService) -> None:
    """``GET /queries`` (the query library) and ``GET /queries/{name}`` (one query, run with typed
    parameters)."""

    @router.get("/queries")
    def queries_list(request: Request) -> Response:
        from kg.store.query import library

        if _wants_html(request):
            return _page(queries_html(library()))
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
            if key == "format":
                continue
            if key in raw:
                raise ServeError(400, f"parameter '{key}' given twice")
            raw[key] = value
        try:
            params = bind_parameters(query, raw)
        except InputError as exc:
            raise ServeError(400, str(exc)) from None
        return await _answer(service, request, query.text, params, check=False)


def _add_case_and_page_routes(router: APIRouter, service: SparqlService) -> None:
    """``GET /cases``, ``GET /cases/{id}`` (a determination), ``/health``, ``/favicon.ico`` and the
    query page at ``/``."""

    @router.get("/cases")
    def cases_list(request: Request, sort: str = "case", page: int = 1) -> Response:
        if not _wants_html(request):
            return JSONResponse({"cases": service.case_ids()})
        from kg.store.query import library

        query = next(q for q in library() if q.name == "case-decisions")
        result, truncated = service.query(query.text, check=False)
        summaries = case_summaries([None if v is None else str(v) for v in row] for row in result.rows)
        try:
            return _page(cases_html(summaries, sort=sort, page=page, truncated=truncated))
        except ValueError as exc:
            raise ServeError(400 if sort not in CASE_SORTS else 404, str(exc)) from None

    def checked(case_id: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", case_id):
            raise ServeError(400, "not a case id")
        return case_id

    @router.get("/cases/{case_id}")
    async def case_get(case_id: str, request: Request) -> Response:
        data = await run_in_threadpool(service.case_determination, checked(case_id))
        if data is None:
            raise ServeError(404, f"no case '{case_id}' in the store")
        return _page(case_html(data)) if _wants_html(request) else JSONResponse(data)

    @router.get("/cases/{case_id}/letter")
    async def case_letter(case_id: str) -> Response:
        from kg.store.query import bind_parameters, library

        query = next(q for q in library() if q.name == "case-documents")
        params = bind_parameters(query, {"case": checked(case_id)})
        if case_id not in await run_in_threadpool(service.case_ids):
            raise ServeError(404, f"no case '{case_id}' in the store")
        result, _ = await run_in_threadpool(service.query, query.text, params, check=False)
        rows = [[None if v is None else str(v) for v in row] for row in result.rows]
        return _page(letter_html(case_id, rows))

    @router.get("/health")
    def health() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @router.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        # Browsers ask for it on every visit; an empty answer keeps a 404 out of their console.
        return Response(status_code=204, headers={"Cache-Control": "max-age=86400"})

    @router.get("/")
    def home() -> HTMLResponse:
        from kg.store.query import library

        return _page(home_html(service.case_ids(), library()))

    @router.get("/query")
    def page() -> HTMLResponse:
        return _page(query_page())

    @router.get("/static/editor.js", include_in_schema=False)
    def editor() -> Response:
        body = editor_script()
        if body is None:
            raise ServeError(404, "this installation has no editor bundle (reinstall imr-kg with npm on PATH)")
        return Response(body, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "max-age=3600"})


def _add_graph_store_routes(router: APIRouter, service: SparqlService) -> None:
    """``/rdf-graphs``: the SPARQL 1.1 Graph Store HTTP Protocol (indirect identification,
    ``?graph=IRI``) for writers, whose bodies may be larger than a query's.

    ``PUT`` replaces the graph with the body (Turtle or N-Triples); with several ``graph``
    parameters and an N-Quads or TriG body it replaces all of them in one update (an imr-kg
    extension: a case's four graphs written together, never half).  ``DELETE`` empties the graphs
    named.  Writes need the update token (403 otherwise) and are capped at ``max_graph_bytes``
    (413).  ``GET`` answers one graph, as a CONSTRUCT query would."""
    opts = service.options

    def graphs_of(request: Request) -> list[str]:
        if "default" in request.query_params:
            raise ServeError(400, "the default graph is the union of the named graphs here; name a graph")
        graphs = request.query_params.getlist("graph")
        if not graphs:
            raise ServeError(400, "name the graph with a 'graph' parameter")
        return graphs

    def authorise(request: Request) -> None:
        if not _authorised(opts, request):
            raise ServeError(403, "writes are not allowed on this endpoint without the update token")

    @router.put("/rdf-graphs")
    async def graph_put(request: Request) -> Response:
        graphs = graphs_of(request)
        authorise(request)
        raw = await _read_body(request, opts.max_graph_bytes)
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        await run_in_threadpool(service.replace_graphs, graphs, raw, ctype)
        return Response(status_code=204)

    @router.delete("/rdf-graphs")
    async def graph_delete(request: Request) -> Response:
        graphs = graphs_of(request)
        authorise(request)
        await run_in_threadpool(service.replace_graphs, graphs, b"", "application/n-quads")
        return Response(status_code=204)

    @router.get("/rdf-graphs")
    async def graph_get(request: Request) -> Response:
        graphs = graphs_of(request)
        if len(graphs) != 1 or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:[^<>\"{}|^`\\\s]*", graphs[0]):
            raise ServeError(400, "name one graph, by an IRI")
        return await _answer(service, request, "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }",
                             {"g": URIRef(graphs[0])}, check=False)


def create_router(service: SparqlService) -> APIRouter:
    """The routes over ``service`` as a FastAPI ``APIRouter`` (to include in any app).

    Body size is enforced again while reading; everything that touches the store runs in a worker
    thread, never on the event loop.
    """
    router = APIRouter()
    _add_protocol_routes(router, service)
    _add_library_routes(router, service)
    _add_case_and_page_routes(router, service)
    _add_graph_store_routes(router, service)
    return router


# ---------------------------------------------------------------------------
# The app
# ---------------------------------------------------------------------------
def _env_bytes(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value.isdigit() else default


def create_app(store: Store, *, allow_update_token: str | None = None, query_timeout: float = 10.0,
               result_limit: int = 10000, max_body_bytes: int | None = None, cors_origins: tuple[str, ...] = (),
               max_concurrency: int = 4, allow_federation: bool = False,
               max_graph_bytes: int | None = None) -> FastAPI:
    """The endpoint as a FastAPI app over ``store`` (which stays open; the caller closes it).

    Options are the limits this module's and :mod:`kg.web.sparql`'s docstrings describe;
    ``allow_update_token=None`` keeps the endpoint read-only.  ``max_body_bytes`` caps a request body
    (default ``$IMRKG_MAX_BODY_BYTES``, else 1 MB), ``max_graph_bytes`` a Graph Store write's body
    (default ``$IMRKG_MAX_GRAPH_BYTES``, else 64 MB).  The app can be mounted in another
    one (``parent.mount("/kg", app)``) or its routes included via :func:`create_router`.

    >>> from kg.store.store import open_store
    >>> app = create_app(open_store("memory"))
    >>> app.state.service.options.result_limit
    10000
    """
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    max_body_bytes = _env_bytes("IMRKG_MAX_BODY_BYTES", 1_000_000) if max_body_bytes is None else max_body_bytes
    max_graph_bytes = _env_bytes("IMRKG_MAX_GRAPH_BYTES", 64_000_000) if max_graph_bytes is None else max_graph_bytes
    if result_limit < 1 or max_concurrency < 1 or query_timeout <= 0 or max_body_bytes < 1 or max_graph_bytes < 1:
        raise ValueError("result_limit, max_concurrency, query_timeout and max_body_bytes must be positive")
    options = ServiceOptions(allow_update_token=allow_update_token or None, query_timeout=query_timeout,
                             result_limit=result_limit, max_body_bytes=max_body_bytes,
                             cors_origins=tuple(cors_origins), max_concurrency=max_concurrency,
                             allow_federation=allow_federation, max_graph_bytes=max_graph_bytes)
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
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        start = time.monotonic()
        length = request.headers.get("content-length")
        if length is not None:
            cap = options.max_graph_bytes if request.url.path.endswith("/rdf-graphs") else max_body_bytes
            try:
                too_big = int(length) > cap
            except ValueError:
                return PlainTextResponse("bad Content-Length\n", status_code=400)
            if too_big:
                return PlainTextResponse(f"the request body is larger than {cap} bytes\n", status_code=413)
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

    from starlette.middleware.gzip import GZipMiddleware

    # Pages and results compressed for clients that accept gzip; small answers are sent as they are.
    app.add_middleware(GZipMiddleware, minimum_size=500)
    if options.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(options.cors_origins), allow_credentials=False,
                           allow_methods=["GET", "POST"], allow_headers=["Accept", "Content-Type"],
                           expose_headers=["X-Result-Limit", "X-Result-Truncated"])
    return app


def run(store: Store, host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "info",
        extend: Callable[[FastAPI], None] | None = None, **options: Any) -> None:
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
