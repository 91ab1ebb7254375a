"""The client side of the SPARQL 1.1 protocols a remote store writes through: one HTTP exchange,
what a server says about its limits, and packing a writer's cases into requests under them.

First module of :mod:`kg.store`; :class:`kg.store.store.RemoteStore` uses it.  What it promises:

* :func:`server_limits` reads the limits a server advertises in its SPARQL 1.1 Service
  Description (``imrkg serve`` gives :data:`SERVE_NS` ``maxRequestBytes``, ``graphStore`` and
  ``maxGraphStoreBytes``, see :func:`kg.web.sparql.service_description`).  A server that says
  nothing (Virtuoso, Fuseki ...) gets :class:`ServerLimits` with no limit known: writes go as
  before, one request each.
* :func:`pack` groups whole units (a unit is one case's update) into requests whose form-encoded
  body stays under a cap; a unit is never split across two requests.
"""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from kg.errors import KgError

__all__ = ["SERVE_NS", "HttpError", "ServerLimits", "post", "request", "server_limits", "form_size", "pack",
           "too_large_hint", "nquads_insert", "query_form", "values_in_where", "split_nquads"]

#: The namespace of the service description terms ``imrkg serve`` adds (its limits for writers).
SERVE_NS = "https://w3id.org/imr-kg/ns/serve#"


class HttpError(KgError):
    """An HTTP exchange failed: ``status`` is the server's status (0 when it could not be reached),
    ``detail`` the start of its answer or the network error."""

    exit_code = 2

    def __init__(self, url: str, status: int, detail: str) -> None:
        super().__init__(f"{url} answered {status}: {detail}" if status else f"cannot reach {url}: {detail}")
        self.url = url
        self.status = status
        self.detail = detail


def request(url: str, *, method: str = "GET", body: bytes | None = None, headers: Mapping[str, str] | None = None,
            timeout: float = 60.0, busy_wait: float = 0.0) -> bytes:
    """One HTTP exchange; the answer's body.  A 503 with ``Retry-After`` (a busy server) is tried
    again after the delay it asks for, for up to ``busy_wait`` seconds in all.  Raises :class:`HttpError`."""
    import time

    give_up = time.monotonic() + busy_wait
    while True:
        try:
            return _exchange(url, method, body, headers, timeout)
        except _Busy as busy:
            if time.monotonic() + busy.delay > give_up:
                raise busy.error from None
            time.sleep(busy.delay)


class _Busy(Exception):
    def __init__(self, error: HttpError, delay: float) -> None:
        super().__init__(str(error))
        self.error = error
        self.delay = delay


def _exchange(url: str, method: str, body: bytes | None, headers: Mapping[str, str] | None, timeout: float) -> bytes:
    try:
        req = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - user-configured URL
            data: bytes = resp.read()
            return data
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:500].decode("utf-8", "replace").strip()
        retry = exc.headers.get("Retry-After", "") if exc.headers else ""
        if exc.code == 503 and retry.isdigit():
            raise _Busy(HttpError(url, exc.code, detail), max(0.05, min(float(retry), 5.0)) / 2) from None
        raise HttpError(url, exc.code, detail) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise HttpError(url, 0, str(exc)) from None


def post(url: str, form: Mapping[str, str], accept: str, *, token: str | None = None, timeout: float = 60.0,
         busy_wait: float = 0.0) -> bytes:
    """An HTML-form POST (the request form every SPARQL 1.1 server accepts), with a bearer token if given."""
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": accept}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return request(url, method="POST", body=urllib.parse.urlencode(dict(form)).encode("utf-8"), headers=headers,
                   timeout=timeout, busy_wait=busy_wait)


@dataclass(frozen=True)
class ServerLimits:
    """What a server accepts from a writer: the largest request body (``None`` unknown), and a
    SPARQL 1.1 Graph Store endpoint with its own body limit, if it offers one that replaces
    several named graphs in one transaction (``imrkg serve``'s ``/rdf-graphs``)."""

    max_request_bytes: int | None = None
    graph_store: str | None = None
    max_graph_store_bytes: int | None = None


def server_limits(query_url: str, *, timeout: float = 10.0) -> ServerLimits:
    """The limits the server at ``query_url`` advertises (its service description, ``GET`` without
    a query); ``$IMRKG_STORE_MAX_BYTES`` overrides the request limit.  Never raises: a server that
    does not answer with a readable description gets no limits known."""
    from rdflib import Graph, URIRef

    limits = ServerLimits()
    try:
        data = request(query_url, headers={"Accept": "application/n-triples"}, timeout=timeout)
        g = Graph().parse(data=data.decode("utf-8"), format="nt")

        def value(name: str) -> str | None:
            found = sorted(str(o) for o in g.objects(None, URIRef(SERVE_NS + name)))
            return found[0] if found else None

        cap, store, store_cap = value("maxRequestBytes"), value("graphStore"), value("maxGraphStoreBytes")
        limits = ServerLimits(max_request_bytes=int(cap) if cap else None, graph_store=store,
                              max_graph_store_bytes=int(store_cap) if store_cap else None)
    except Exception:  # noqa: BLE001 - any server, any answer: no description means no limits known
        pass
    override = os.environ.get("IMRKG_STORE_MAX_BYTES")
    if override and override.isdigit():
        return ServerLimits(int(override), limits.graph_store, limits.max_graph_store_bytes)
    return limits


def form_size(field: str, text: str) -> int:
    """Bytes of ``field=text`` as an HTML form body.

    >>> form_size("update", "DROP GRAPH <a:b>")
    29
    """
    return len(urllib.parse.urlencode({field: text}))


def pack(units: Iterable[str], cap: int, *, field: str = "update", sep: str = " ;\n") -> list[list[int]]:
    """Indices of ``units`` grouped into requests: each group's texts joined with ``sep`` stay
    within ``cap`` bytes as a form body, in input order.  A unit larger than ``cap`` on its own
    gets a group of its own (the caller sends it another way).

    >>> pack(["a" * 10, "b" * 10, "c" * 60], 60)
    [[0, 1], [2]]
    """
    groups: list[list[int]] = []
    size = 0
    overhead = form_size(field, "") + len(urllib.parse.quote_plus(sep))
    for i, text in enumerate(units):
        n = len(urllib.parse.quote_plus(text))
        if groups and size + overhead + n <= cap and form_size(field, text) <= cap:
            groups[-1].append(i)
            size += overhead + n
        else:
            groups.append([i])
            size = form_size(field, text)
    return groups


def too_large_hint(size: int, limits: ServerLimits, what: Sequence[str]) -> str:
    """What to do when a server refuses a write as too large (413)."""
    names = ", ".join(what[:3]) + (" ..." if len(what) > 3 else "")
    if limits.graph_store:
        return (f"the write of {names} ({size} bytes) is larger than the server takes through its Graph Store "
                f"endpoint ({limits.max_graph_store_bytes} bytes): start imrkg serve with a larger "
                "IMRKG_MAX_GRAPH_BYTES, or load the case into the store folder with the server stopped")
    return (f"the server refused the write of {names} ({size} bytes) as too large: raise the server's request "
            "body limit, or set IMRKG_STORE_MAX_BYTES to it so writes are split into requests under it "
            "(imrkg serve takes writes of any size through its Graph Store endpoint)")


def nquads_insert(nquads: bytes) -> str:
    """The ``INSERT DATA`` operation adding the quads of ``nquads`` (N-Quads in pyoxigraph's own
    form, ``S P O G .``, every term written as SPARQL writes it), a ``GRAPH`` block for each run
    of quads in one graph.

    >>> print(nquads_insert(b'<s:a> <p:b> "c d" <g:1> .\\n<s:a> <p:b> _:x <g:1> .\\n'))
    INSERT DATA {
    GRAPH <g:1> {
    <s:a> <p:b> "c d" .
    <s:a> <p:b> _:x .
    }
    }
    """
    out = ["INSERT DATA {"]
    current = None
    for line in nquads.decode("utf-8").splitlines():
        if not line:
            continue
        s, p, rest = line.split(" ", 2)
        o, g = rest[:-2].rsplit(" ", 1)
        if g != current:
            if current is not None:
                out.append("}")
            out.append(f"GRAPH {g} {{")
            current = g
        out.append(f"{s} {p} {o} .")
    if current is not None:
        out.append("}")
    out.append("}")
    return "\n".join(out)


_SKIP = re.compile(r"""\#[^\n]*|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|<[^<>"{}|^`\\\s]*>|[?$]\w+|\w+:\w*""")


def values_in_where(sparql: str, values: str) -> str:
    """Put a ``VALUES`` block at the start of the query's WHERE group instead of after the query.

    Both mean the same (the bindings join the pattern before grouping and projection), but
    Virtuoso 7.2 applies a trailing ``VALUES`` after projection and refuses variables the query
    does not select.  The block is built by :func:`_values_clause` from escaped RDF terms.

    >>> values_in_where('SELECT ?x WHERE { ?c <p> "{" } # {', ' VALUES (?c) { (<c>) }')
    'SELECT ?x WHERE { VALUES (?c) { (<c>) } ?c <p> "{" } # {'
    """
    if not values:
        return sparql
    form = query_form(sparql)
    pos = 0
    seen_where = form in ("SELECT", "ASK")
    while pos < len(sparql):
        m = _SKIP.match(sparql, pos)
        if m and m.end() > pos:
            pos = m.end()
            continue
        if re.match(r"WHERE\b", sparql[pos:pos + 6], re.IGNORECASE):
            seen_where = True
        elif sparql[pos] == "{" and seen_where:
            return sparql[:pos + 1] + " " + values.strip() + sparql[pos + 1:]
        pos += 1
    return sparql + values


_PROLOGUE = re.compile(r"""\s*(?:\#[^\n]*\n|BASE\s*<[^>]*>|PREFIX\s+[^\s:]*:\s*<[^>]*>)""", re.IGNORECASE)


def query_form(sparql: str) -> str:
    """The form of a query: ``SELECT``, ``CONSTRUCT``, ``DESCRIBE`` or ``ASK`` (the first keyword after
    the prologue and comments).

    >>> query_form("# c\\nPREFIX x: <http://x/#>\\nconstruct { ?s ?p ?o } WHERE { ?s ?p ?o }")
    'CONSTRUCT'
    """
    pos = 0
    while True:
        m = _PROLOGUE.match(sparql, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
    word = re.match(r"\s*([A-Za-z]+)", sparql[pos:])
    return word.group(1).upper() if word else ""


def split_nquads(nquads: bytes, owner: Mapping[str, str]) -> dict[str, bytes]:
    """The quads of ``nquads`` (one a line, each in a named graph, as pyoxigraph writes them) by
    the owner ``owner`` names for each graph IRI (such as the case a graph belongs to), lines kept
    in order.  Raises ValueError for a quad in a graph ``owner`` does not name.

    >>> split_nquads(b'<s:a> <p:b> "c d" <g:1> .\\n<s:a> <p:b> <o:c> <g:2> .\\n', {"g:1": "x", "g:2": "y"})
    {'x': b'<s:a> <p:b> "c d" <g:1> .\\n', 'y': b'<s:a> <p:b> <o:c> <g:2> .\\n'}
    """
    parts: dict[str, list[bytes]] = {}
    for line in nquads.splitlines():
        if not line.strip():
            continue
        graph = line[:-2].rstrip().rsplit(b" ", 1)[-1]
        key = owner.get(graph[1:-1].decode("utf-8")) if graph.startswith(b"<") else None
        if key is None:
            raise ValueError(f"a quad in a graph not named: {line[:200]!r}")
        parts.setdefault(key, []).append(line)
    return {k: b"\n".join(v) + b"\n" for k, v in parts.items()}
