"""The store: every case's named graphs, persistent, queried with SPARQL 1.1.

Stage after the rationale.  The default is an embedded pyoxigraph store on
disk (``default_location()``; ``--store DIR`` elsewhere, ``--store memory``
for a throw-away one); ``--store http(s)://...`` talks to any SPARQL 1.1
server (Virtuoso, Fuseki, GraphDB, QLever ...) through the SPARQL 1.1 Query
and Update protocols, so the same commands scale out.

Each case keeps four named graphs (``<case>graph/asserted``, ``inferred``,
``determination``, ``reviewer``); the ontology and the guideline shapes live in
:data:`GUIDELINES_GRAPH`.  Writing a case is one SPARQL update that drops the
case's graphs and inserts the new ones: either the whole case is written or
nothing is, and writing it again replaces it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg.errors import InputError, KgError
from kg.graph import CASE_BASE, CaseGraph, case_iri

__all__ = ["GUIDELINES_GRAPH", "GRAPH_NAMES", "StoreError", "QueryResult", "Store", "LocalStore", "RemoteStore",
           "open_store", "default_location", "case_graphs"]

GUIDELINES_GRAPH = URIRef("https://w3id.org/imr-kg/graph/guidelines")
GRAPH_NAMES = ("asserted", "inferred", "determination", "reviewer")


class StoreError(KgError):
    """The store cannot be opened, read or written."""


def default_location() -> Path:
    """Where the embedded store lives unless told otherwise: ``$IMRKG_STORE``, else
    ``$XDG_DATA_HOME/imr-kg/store`` (``~/.local/share/imr-kg/store``)."""
    if os.environ.get("IMRKG_STORE"):
        return Path(os.environ["IMRKG_STORE"])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "imr-kg" / "store"


def case_graphs(cg: CaseGraph, det: object) -> dict[str, Graph]:
    """The four named graphs of a determined case, by name.

    ``det`` is the :class:`kg.determine.CaseDetermination` of ``cg``.
    """
    from kg.determine import CaseDetermination, determination_graph
    from kg.rationale import rationale_text

    assert isinstance(det, CaseDetermination)
    return {"asserted": cg.asserted, "inferred": det.inferred, "reviewer": cg.reviewer,
            "determination": determination_graph(det, rationales={i.request: rationale_text(i) for i in det.items})}


@dataclass(frozen=True)
class QueryResult:
    """A query's answer: ``columns`` and ``rows`` for SELECT, ``boolean`` for ASK,
    ``graph`` for CONSTRUCT/DESCRIBE."""

    columns: tuple[str, ...] = ()
    rows: tuple[tuple[Node | None, ...], ...] = ()
    boolean: bool | None = None
    graph: Graph | None = None


def _graph_iri(case_id: str, name: str) -> URIRef:
    return URIRef(f"{case_iri(case_id)}graph/{name}")


def _insert_data(graphs: Mapping[URIRef, Graph]) -> str:
    blocks = []
    for iri in sorted(graphs):
        body = graphs[iri].serialize(format="nt", encoding="utf-8").decode("utf-8")
        lines = sorted(line for line in body.splitlines() if line.strip())
        if lines:
            blocks.append(f"GRAPH <{iri}> {{\n" + "\n".join(lines) + "\n}")
    return "INSERT DATA {\n" + "\n".join(blocks) + "\n}" if blocks else ""


def _replace_update(graphs: Mapping[URIRef, Graph], drop: Iterable[URIRef]) -> str:
    parts = [f"DROP SILENT GRAPH <{g}>" for g in sorted(set(drop))]
    insert = _insert_data(graphs)
    if insert:
        parts.append(insert)
    return " ;\n".join(parts)


class Store:
    """What every store offers.  Subclasses implement :meth:`update` and :meth:`query`."""

    location: str

    def update(self, sparql: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def query(self, sparql: str, params: Mapping[str, Node] | None = None) -> QueryResult:  # pragma: no cover
        raise NotImplementedError

    def close(self) -> None:
        """Release the store (flush to disk where that applies)."""

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------
    def put_case(self, case_id: str, graphs: Mapping[str, Graph]) -> None:
        """Write a case's named graphs, replacing whatever the store held for it; all or nothing."""
        unknown = set(graphs) - set(GRAPH_NAMES)
        if unknown:
            raise ValueError(f"unknown graph names {sorted(unknown)}")
        named = {_graph_iri(case_id, n): g for n, g in graphs.items()}
        self.update(_replace_update(named, [_graph_iri(case_id, n) for n in GRAPH_NAMES]))

    def put_cases(self, cases: Mapping[str, Mapping[str, Graph]]) -> None:
        """Write several cases in one update: all of them or none."""
        named: dict[URIRef, Graph] = {}
        drop = []
        for case_id, graphs in cases.items():
            drop += [_graph_iri(case_id, n) for n in GRAPH_NAMES]
            named.update({_graph_iri(case_id, n): g for n, g in graphs.items()})
        if drop:
            self.update(_replace_update(named, drop))

    def delete_case(self, case_id: str) -> None:
        """Remove every graph of a case."""
        self.update(_replace_update({}, [_graph_iri(case_id, n) for n in GRAPH_NAMES]))

    def put_guidelines(self, graph: Graph) -> None:
        """Replace the guidelines graph (ontology and shapes) with ``graph``."""
        self.update(_replace_update({GUIDELINES_GRAPH: graph}, [GUIDELINES_GRAPH]))

    def ensure_guidelines(self) -> None:
        """Load the packaged ontology and shapes into the guidelines graph."""
        from kg.reason import load_ontology
        from kg.validate import default_shapes

        self.put_guidelines(load_ontology() + default_shapes().graph)

    # -- reading ----------------------------------------------------------------------
    def case_ids(self) -> list[str]:
        """Ids of the cases in the store, sorted."""
        res = self.query(f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} "
                         f"FILTER(STRSTARTS(STR(?g), \"{CASE_BASE}\") && STRENDS(STR(?g), \"/graph/asserted\")) }}")
        ids = {str(r[0])[len(CASE_BASE):-len("/graph/asserted")] for r in res.rows if r[0] is not None}
        return sorted(i.rstrip("/") for i in ids)

    def case_graph(self, case_id: str, name: str) -> Graph:
        """One named graph of a case, as an rdflib graph (empty when absent)."""
        res = self.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{_graph_iri(case_id, name)}> {{ ?s ?p ?o }} }}")
        return res.graph if res.graph is not None else Graph()

    def count(self) -> int:
        """Number of quads in named graphs."""
        res = self.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
        return int(res.rows[0][0]) if res.rows and res.rows[0][0] is not None else 0


# ---------------------------------------------------------------------------
# Embedded: pyoxigraph
# ---------------------------------------------------------------------------
def _from_ox(term: object) -> Node | None:
    import pyoxigraph as ox

    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        dt = term.datatype.value
        if dt == "http://www.w3.org/2001/XMLSchema#string":
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(dt))
    raise StoreError(f"unexpected term in a result: {term!r}")


class LocalStore(Store):
    """The embedded pyoxigraph store, on disk (``path``) or in memory (``path=None``)."""

    def __init__(self, path: str | Path | None = None) -> None:
        import pyoxigraph as ox

        self.path = None if path is None else Path(path)
        self.location = "memory" if path is None else str(path)
        try:
            if self.path is not None:
                self.path.mkdir(parents=True, exist_ok=True)
            self._store = ox.Store(None if self.path is None else str(self.path))
        except OSError as exc:
            raise StoreError(f"cannot open the store at {self.location}: {exc}") from None

    def update(self, sparql: str) -> None:
        if sparql.strip():
            self._store.update(sparql)

    def query(self, sparql: str, params: Mapping[str, Node] | None = None) -> QueryResult:
        import pyoxigraph as ox

        try:
            result = self._store.query(sparql + _values_clause(params or {}), use_default_graph_as_union=True)
        except SyntaxError as exc:
            raise InputError(f"not valid SPARQL: {exc.msg if hasattr(exc, 'msg') else exc}", source="query",
                             line=getattr(exc, "lineno", None)) from None
        if isinstance(result, bool):
            return QueryResult(boolean=result)
        if isinstance(result, ox.QuerySolutions):
            columns = tuple(v.value for v in result.variables)
            rows = tuple(tuple(_from_ox(sol[c]) for c in columns) for sol in result)
            return QueryResult(columns=columns, rows=rows)
        g = Graph()
        for triple in result:
            g.add((_from_ox(triple.subject), _from_ox(triple.predicate), _from_ox(triple.object)))
        return QueryResult(graph=g)

    def close(self) -> None:
        if self.path is not None:
            self._store.flush()


# ---------------------------------------------------------------------------
# Remote: any SPARQL 1.1 server
# ---------------------------------------------------------------------------
def _values_clause(params: Mapping[str, Node]) -> str:
    """A trailing VALUES block binding each parameter to one term, written with the
    terms' own N-Triples serialisation (escaped), never by pasting user text."""
    if not params:
        return ""
    names = sorted(params)
    for n in names:
        if not n.isidentifier():
            raise InputError(f"'{n}' is not a usable parameter name", source="query")
    values = " ".join(params[n].n3() for n in names)
    return "\nVALUES (" + " ".join(f"?{n}" for n in names) + ") { (" + values + ") }"


class RemoteStore(Store):
    """A SPARQL 1.1 server: ``query_url`` (Query protocol) and ``update_url`` (Update protocol)."""

    def __init__(self, query_url: str, update_url: str | None = None, *, timeout: float = 60.0) -> None:
        self.query_url = query_url
        self.update_url = update_url or os.environ.get("IMRKG_UPDATE_URL") or query_url
        self.location = query_url
        self.timeout = timeout

    def _post(self, url: str, body: str, content_type: str, accept: str) -> bytes:
        import urllib.error
        import urllib.request

        req = urllib.request.Request(url, data=body.encode("utf-8"), method="POST",
                                     headers={"Content-Type": content_type, "Accept": accept})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - user-configured URL
                return resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:500].decode("utf-8", "replace")
            raise StoreError(f"{url} answered {exc.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise StoreError(f"cannot reach {url}: {exc}") from None

    def update(self, sparql: str) -> None:
        if sparql.strip():
            self._post(self.update_url, sparql, "application/sparql-update", "*/*")

    def query(self, sparql: str, params: Mapping[str, Node] | None = None) -> QueryResult:
        text = sparql + _values_clause(params or {})
        head = " ".join(line for line in sparql.splitlines() if not line.strip().startswith("#")).upper()
        graph_query = any(f" {k}" in f" {head}" or head.startswith(k) for k in ("CONSTRUCT", "DESCRIBE"))
        if graph_query:
            data = self._post(self.query_url, text, "application/sparql-query", "application/n-triples")
            g = Graph()
            g.parse(data=data.decode("utf-8"), format="nt")
            return QueryResult(graph=g)
        data = self._post(self.query_url, text, "application/sparql-query", "application/sparql-results+json")
        doc = json.loads(data)
        if "boolean" in doc:
            return QueryResult(boolean=bool(doc["boolean"]))
        columns = tuple(doc["head"]["vars"])
        rows = tuple(tuple(_from_json(b.get(c)) for c in columns) for b in doc["results"]["bindings"])
        return QueryResult(columns=columns, rows=rows)


def _from_json(term: dict | None) -> Node | None:
    if term is None:
        return None
    kind = term["type"]
    if kind == "uri":
        return URIRef(term["value"])
    if kind == "bnode":
        return BNode(term["value"])
    if "xml:lang" in term:
        return Literal(term["value"], lang=term["xml:lang"])
    if "datatype" in term and term["datatype"] != "http://www.w3.org/2001/XMLSchema#string":
        return Literal(term["value"], datatype=URIRef(term["datatype"]))
    return Literal(term["value"])


def open_store(location: str | Path | None = None) -> Store:
    """Open a store: ``None`` the default embedded one, ``"memory"`` a fresh in-memory one,
    an ``http(s)://`` URL a remote SPARQL 1.1 server, anything else a folder on disk."""
    if location is None:
        return LocalStore(default_location())
    text = str(location)
    if text in ("memory", ":memory:"):
        return LocalStore(None)
    if text.startswith(("http://", "https://")):
        return RemoteStore(text)
    return LocalStore(text)
