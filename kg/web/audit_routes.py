"""The audit routes of the web service: audit pages and pictures of stored cases, CONSTRUCT
results drawn as boxes, and the corpus report, over the service's query checks and limits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, TypeVar

from kg.viz.draw import audit_png, audit_svg, graph_svg, graphml
from kg.viz.evidence import CASE_ID, evidence_graph
from kg.viz.markup import escape
from kg.viz.pages import audit_html, picture_page
from kg.viz.report import report_html

if TYPE_CHECKING:
    import networkx as nx
    from fastapi import APIRouter, FastAPI

    from kg.store.store import Store

T = TypeVar("T")


def add_audit_routes(router_or_app: "FastAPI | APIRouter", store: "Store") -> None:
    """Add the picture routes to a FastAPI app or ``APIRouter``:

    - ``GET /cases/{id}/audit``: the audit page of a stored case (:func:`audit_html`);
      ``/cases/{id}/audit.svg``, ``.png`` and ``.graphml`` the static picture and the graph;
    - ``GET /graph?query=CONSTRUCT...``: a CONSTRUCT or DESCRIBE result drawn as boxes
      (:func:`graph_svg`) in an HTML page, or as SVG with ``format=svg``;
    - ``GET /report``: the corpus report, linking to the audit pages.

    Work runs through the app's :class:`kg.web.sparql.SparqlService` (``app.state.service``, from
    :func:`kg.web.app.create_app`) when there is one, else a new one over ``store`` with the default
    limits: the same query checks, time bound, concurrency bound and result cap.  Errors are
    :class:`kg.web.sparql.ServeError` (400 bad query or id, 404 unknown case, 503 busy or too slow).
    """
    from fastapi.responses import HTMLResponse, Response

    from kg.web.sparql import ServeError, SparqlService

    state = getattr(router_or_app, "state", None)
    service = getattr(state, "service", None) if state is not None else None
    if not isinstance(service, SparqlService):
        service = SparqlService(store)
    reader = service.reader
    headers = {"X-Content-Type-Options": "nosniff"}

    def check_id(case_id: str) -> None:
        if not CASE_ID.fullmatch(case_id):
            raise ServeError(400, "not a case id")

    def render(case_id: str, fn: Callable[["nx.DiGraph[str]"], T]) -> T:
        check_id(case_id)

        def work() -> T:
            if case_id not in reader.case_ids():
                raise ServeError(404, f"no case '{case_id}' in the store")
            return fn(evidence_graph(reader, case_id))

        return service.call(work)

    @router_or_app.get("/cases/{case_id}/audit")
    def audit_page(case_id: str) -> HTMLResponse:
        links = (("Home", "../../"), (f"Case {case_id}", f"../{case_id}"), ("Letter", "letter"),
                 ("Report", "../../report"))
        return HTMLResponse(render(case_id, lambda g: audit_html(g, links=links, letter_href="letter")),
                            headers=headers)

    @router_or_app.get("/cases/{case_id}/audit.svg")
    def audit_picture(case_id: str) -> Response:
        return Response(render(case_id, audit_svg), media_type="image/svg+xml", headers=headers)

    @router_or_app.get("/cases/{case_id}/audit.png")
    def audit_raster(case_id: str) -> Response:
        return Response(render(case_id, audit_png), media_type="image/png", headers=headers)

    @router_or_app.get("/cases/{case_id}/audit.graphml")
    def audit_graphml(case_id: str) -> Response:
        return Response(render(case_id, graphml), media_type="application/graphml+xml", headers=headers)

    @router_or_app.get("/graph")
    def construct_picture(query: str = "", format: str = "html") -> Response:
        if not query.strip():
            raise ServeError(400, "give a CONSTRUCT or DESCRIBE query in 'query'")
        result, truncated = service.query(query)
        if result.graph is None:
            raise ServeError(400, "only a CONSTRUCT or DESCRIBE result can be drawn")
        title = "CONSTRUCT result" + (" (truncated)" if truncated else "")
        svg = graph_svg(result.graph, title=title)
        if format == "svg":
            return Response(svg, media_type="image/svg+xml", headers=headers)
        return HTMLResponse(picture_page(title, f"<h1>{escape(title)}</h1><div class=\"graph\">{svg}</div>"),
                            headers=headers)

    @router_or_app.get("/report")
    def report() -> HTMLResponse:
        links = (("Home", "./"), ("Query", "query"), ("Cases", "cases"))
        return HTMLResponse(service.call(lambda: report_html(reader, audit_href="cases/{case}/audit",
                                                             case_href="cases/{case}", links=links)),
                            headers=headers)
