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
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg.engine.graph import CaseGraph, case_iri
from kg.errors import InputError
from kg.rdf import CASE_BASE, OxigraphTerms, from_oxigraph
from kg.store.faults import QueryCancelled, StoreError, query_deadline
from kg.store.faults import check_deadline as _check_deadline
from kg.store.faults import fault_kind as _fault_kind
from kg.store.faults import write_error as _write_error
from kg.store.protocol import query_form, too_large_hint, values_in_where

if TYPE_CHECKING:
    import pyoxigraph as ox

    from kg.engine.determine import CaseDetermination
    from kg.store.protocol import ServerLimits

__all__ = ["GUIDELINES_GRAPH", "GRAPH_NAMES", "DIGEST_GRAPH", "StoreError", "QueryResult", "Store", "LocalStore",
           "RemoteStore", "open_store", "default_location", "case_graphs", "graph_iri", "query_form",
           "QueryCancelled", "query_deadline", "nquads_of", "graph_replacement"]

GUIDELINES_GRAPH = URIRef("https://w3id.org/imr-kg/graph/guidelines")
GRAPH_NAMES = ("asserted", "inferred", "determination", "reviewer")
#: the graph of a case's result digests (kg.jobs.changes); writing a case empties it with the others
DIGEST_GRAPH = "digest"
_DROPPED = GRAPH_NAMES + (DIGEST_GRAPH,)


def default_location() -> Path:
    """Where the embedded store lives unless told otherwise: ``$IMRKG_STORE``, else
    ``$XDG_DATA_HOME/imr-kg/store`` (``~/.local/share/imr-kg/store``)."""
    if os.environ.get("IMRKG_STORE"):
        return Path(os.environ["IMRKG_STORE"])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "imr-kg" / "store"


def case_graphs(cg: CaseGraph, det: CaseDetermination) -> dict[str, Graph]:
    """The four named graphs of a determined case, by name.

    ``det`` is the :class:`kg.engine.determine.CaseDetermination` of ``cg``.
    """
    from kg.engine.determine import determination_graph
    from kg.engine.rationale import rationale_text

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


def graph_iri(case_id: str, name: str) -> URIRef:
    """The IRI of the named graph ``name`` (one of :data:`GRAPH_NAMES`) of a case.

    >>> graph_iri("c1", "asserted")
    rdflib.term.URIRef('https://w3id.org/imr-kg/case/c1/graph/asserted')
    """
    return URIRef(f"{case_iri(case_id)}graph/{name}")


def _emptied_graphs(case_id: str) -> tuple[URIRef, ...]:
    """The named graphs that writing or deleting a case empties: its four graphs and its digests.

    >>> [g.rsplit("/", 1)[-1] for g in _emptied_graphs("c1")]
    ['asserted', 'inferred', 'determination', 'reviewer', 'digest']
    """
    return tuple(graph_iri(case_id, n) for n in _DROPPED)


def _insert_data(graphs: Mapping[URIRef, Graph], *, template: bool = False, chunk: int = 200) -> str:
    """The update that inserts ``graphs``: one ``INSERT DATA`` operation, or with ``template`` a
    sequence of operations (``;``-separated, so still one request) that Virtuoso accepts too: the
    ground triples as ``INSERT DATA`` blocks of at most ``chunk`` triples, and the triples that
    touch blank nodes as ``INSERT { ... } WHERE {}`` templates (Virtuoso refuses blank nodes in
    ``INSERT DATA``), one blank-node-connected group never split across two operations, since
    each operation mints its own blank nodes.  Lines are sorted so the text is byte-stable."""
    if not template:
        blocks = []
        for iri in sorted(graphs):
            body = graphs[iri].serialize(format="nt", encoding="utf-8").decode("utf-8")
            lines = sorted(line for line in body.splitlines() if line.strip())
            if lines:
                blocks.append(f"GRAPH <{iri}> {{\n" + "\n".join(lines) + "\n}")
        return "INSERT DATA {\n" + "\n".join(blocks) + "\n}" if blocks else ""
    ops: list[str] = []

    def emit(keyword: str, iri: URIRef, triples: list[tuple[Node, Node, Node]]) -> None:
        lines = sorted(f"{s.n3()} {p.n3()} {o.n3()} ." for s, p, o in triples)
        for i in range(0, len(lines), chunk):
            body = f"GRAPH <{iri}> {{\n" + "\n".join(lines[i:i + chunk]) + "\n}"
            ops.append(f"INSERT DATA {{\n{body}\n}}" if keyword == "data" else f"INSERT {{\n{body}\n}} WHERE {{}}")

    for iri in sorted(graphs):
        ground: list[tuple[Node, Node, Node]] = []
        parent: dict[Node, Node] = {}
        with_bnodes = []
        for t in graphs[iri]:
            nodes = [n for n in (t[0], t[2]) if isinstance(n, BNode)]
            if not nodes:
                ground.append(t)
                continue
            with_bnodes.append(t)
            root = _find(parent, nodes[0])
            for n in nodes[1:]:
                parent[_find(parent, n)] = root
        emit("data", iri, ground)
        groups: dict[Node, list[tuple[Node, Node, Node]]] = {}
        for t in with_bnodes:
            groups.setdefault(_find(parent, t[0] if isinstance(t[0], BNode) else t[2]), []).append(t)
        batch: list[tuple[Node, Node, Node]] = []
        for group in sorted(groups.values(), key=lambda g: sorted(f"{s.n3()} {p.n3()} {o.n3()}" for s, p, o in g)):
            if batch and len(batch) + len(group) > chunk:
                emit("template", iri, batch)
                batch = []
            batch += group
        if batch:
            lines = sorted(f"{s.n3()} {p.n3()} {o.n3()} ." for s, p, o in batch)
            ops.append(f"INSERT {{\nGRAPH <{iri}> {{\n" + "\n".join(lines) + "\n}\n} WHERE {}")
    return " ;\n".join(ops)


def _form_bytes(text: str) -> int:
    """Bytes of an update as the form body :class:`RemoteStore` sends."""
    from kg.store.protocol import form_size

    return form_size("update", text)


def _find(parent: dict[Node, Node], x: Node) -> Node:
    """The root of ``x`` in the union-find forest ``parent`` (paths halved on the way)."""
    while parent.setdefault(x, x) != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def _replace_update(graphs: Mapping[URIRef, Graph], drop: Iterable[URIRef], *, template: bool = False) -> str:
    parts = [f"DROP SILENT GRAPH <{g}>" for g in sorted(set(drop))]
    insert = _insert_data(graphs, template=template)
    if insert:
        parts.append(insert)
    return " ;\n".join(parts)


@dataclass(frozen=True)
class _Unit:
    """One whole write: the named graphs to empty, the graphs to put in them, what it is (for messages)."""

    drop: tuple[URIRef, ...]
    graphs: Mapping[URIRef, Graph]
    label: str


def _case_unit(case_id: str, graphs: Mapping[str, Graph]) -> _Unit:
    unknown = set(graphs) - set(GRAPH_NAMES)
    if unknown:
        raise ValueError(f"unknown graph names {sorted(unknown)}")
    return _Unit(drop=_emptied_graphs(case_id),
                 graphs={graph_iri(case_id, n): g for n, g in graphs.items()}, label=f"case {case_id}")


def nquads_of(graphs: Mapping[URIRef, Graph]) -> bytes:
    """``graphs`` as N-Quads, each triple with its graph's name, lines sorted (byte-stable)."""
    lines: list[str] = []
    for iri in sorted(graphs):
        body = graphs[iri].serialize(format="nt", encoding="utf-8").decode("utf-8")
        lines += [line[:-1].rstrip() + f" <{iri}> ." for line in body.splitlines() if line.strip().endswith(".")]
    return ("\n".join(sorted(lines)) + "\n").encode("utf-8") if lines else b""


def graph_replacement(graphs: Sequence[str], body: bytes, fmt: ox.RdfFormat, *, template: bool = False) -> str:
    """The update that empties each named graph in ``graphs`` and inserts ``body`` (RDF in ``fmt``,
    parsed by pyoxigraph) into them: a quad format's quads into their graphs, which must be among
    ``graphs``; a triple format's triples into the one graph of ``graphs``.  Raises
    :class:`SyntaxError` for a body that does not parse, :class:`ValueError` for a quad in a graph not listed."""
    import pyoxigraph as ox

    names = sorted(set(graphs))
    for n in names:
        ox.NamedNode(n)  # ValueError for an IRI that is not one
    single = ox.NamedNode(names[0]) if len(names) == 1 else None
    by_graph: dict[str, list[str]] = {}
    for q in ox.parse(body, format=fmt):
        g = q.graph_name
        if isinstance(g, ox.DefaultGraph):
            if single is None:
                raise ValueError("a triple outside the named graphs: give each its graph, or name one graph")
            g = single
        if not isinstance(g, ox.NamedNode) or g.value not in by_graph and g.value not in names:
            raise ValueError(f"the body writes to {g}, which is not among the graphs named")
        by_graph.setdefault(g.value, []).append(f"{q.subject} {q.predicate} {q.object} .")
    if template:
        rdf = {URIRef(n): Graph().parse(data="\n".join(lines), format="nt") for n, lines in by_graph.items()}
        return _replace_update(rdf, [URIRef(n) for n in names], template=True)
    parts = [f"DROP SILENT GRAPH <{n}>" for n in names]
    if by_graph:
        parts.append("INSERT DATA {\n" + "\n".join(f"GRAPH <{n}> {{\n" + "\n".join(lines) + "\n}"
                                                   for n, lines in sorted(by_graph.items())) + "\n}")
    return " ;\n".join(parts)


class Store:
    """What every store offers.  Subclasses implement :meth:`update` and :meth:`query`."""

    location: str
    #: write cases with ``INSERT { } WHERE {}`` rather than ``INSERT DATA`` (see :func:`_insert_data`)
    insert_template: bool = False

    def update(self, sparql: str) -> None:  # pragma: no cover - abstract
        """Run a SPARQL 1.1 update (one request, its operations ``;``-separated); an empty text does nothing."""
        raise NotImplementedError

    def query(self, sparql: str, params: Mapping[str, Node] | None = None) -> QueryResult:  # pragma: no cover
        """Answer a SPARQL 1.1 query over the union of the graphs, ``params`` binding variables to
        terms (never pasted into the text).  Raises :class:`kg.errors.InputError` for a query that
        is not valid SPARQL, :class:`StoreError` when the store cannot answer."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the store (flush to disk where that applies)."""

    def flush(self) -> None:
        """Write recent writes held in memory to disk, where that applies."""

    def compact(self) -> bool:
        """Reorganise the store's files for reading, where the store is ours to reorganise;
        returns whether anything was done (a remote store manages its own files)."""
        return False

    @property
    def reopenable(self) -> bool:
        """Whether :meth:`reopen` does anything: the store's handle is ours to close and open again."""
        return False

    def reopen(self) -> bool:
        """Close the store's handle and open it again, where the store is ours to hold (the data
        stays); returns whether that was done (a remote store manages its own memory)."""
        return False

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------
    def put_case(self, case_id: str, graphs: Mapping[str, Graph]) -> None:
        """Write a case's named graphs, replacing whatever the store held for it; all or nothing."""
        self._write([_case_unit(case_id, graphs)])

    def put_cases(self, cases: Mapping[str, Mapping[str, Graph]]) -> None:
        """Write several cases, each whole: the embedded store writes them in one update (all of them
        or none); a remote store in as few requests as its server's limits allow, each case whole in
        one of them (see :meth:`RemoteStore._write`)."""
        if cases:
            self._write([_case_unit(case_id, graphs) for case_id, graphs in cases.items()])

    def _write(self, units: Sequence[_Unit]) -> None:
        """Write ``units`` (each: graphs to drop, graphs to insert, a label) in one update."""
        self.update(" ;\n".join(t for t in (_replace_update(u.graphs, u.drop, template=self.insert_template)
                                            for u in units) if t))

    def replace_cases(self, case_ids: Sequence[str], nquads: bytes) -> None:
        """Replace the cases ``case_ids`` with the graphs in ``nquads`` in one update: all of them
        or none.  ``nquads`` is N-Quads as pyoxigraph writes it (one quad a line, each in one of
        the cases' graphs), such as :func:`kg.jobs.inputs.determine_inputs` returns."""
        from kg.store.protocol import nquads_insert

        drop = [f"DROP SILENT GRAPH <{g}>" for c in sorted(set(case_ids)) for g in _emptied_graphs(c)]
        self.update(" ;\n".join(drop + [nquads_insert(nquads)] if nquads.strip() else drop))

    def delete_case(self, case_id: str) -> None:
        """Remove every graph of a case."""
        self.update(_replace_update({}, _emptied_graphs(case_id)))

    def put_guidelines(self, graph: Graph) -> None:
        """Replace the guidelines graph (ontology and shapes) with ``graph``."""
        self.put_graph(GUIDELINES_GRAPH, graph, "the guidelines")

    def put_graph(self, iri: URIRef, graph: Graph, label: str) -> None:
        """Replace the named graph ``iri`` with ``graph`` in one write, under a server's size caps
        (``label`` names it in an error)."""
        self._write([_Unit(drop=(iri,), graphs={iri: graph}, label=label)])

    def ensure_guidelines(self) -> None:
        """Load the packaged ontology and shapes into the guidelines graph, replacing what it held."""
        from kg.engine.reason import load_ontology
        from kg.engine.validate import default_shapes

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
        res = self.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph_iri(case_id, name)}> {{ ?s ?p ?o }} }}")
        return res.graph if res.graph is not None else Graph()

    def count(self) -> int:
        """Number of quads in named graphs."""
        res = self.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
        return int(str(res.rows[0][0])) if res.rows and res.rows[0][0] is not None else 0


# ---------------------------------------------------------------------------
# Embedded: pyoxigraph
# ---------------------------------------------------------------------------
def _from_ox(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> Node:
    """:func:`kg.rdf.from_oxigraph`, a term it cannot convert (an RDF-star triple) a StoreError."""
    try:
        return from_oxigraph(term)
    except TypeError:
        raise StoreError(f"unexpected term in a result: {term!r}") from None


#: a first write of cases of fewer quads than this is one bulk load (see LocalStore.replace_cases):
#: well under the million quads of pyoxigraph's bulk-load batch, each batch one RocksDB ingestion
_ONE_INGESTION = 500_000


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
            if _fault_kind(exc):
                raise _write_error(self.location, exc) from None
            raise StoreError(f"cannot open the store at {self.location}: {exc}") from None

    def update(self, sparql: str) -> None:
        if sparql.strip():
            try:
                self._store.update(sparql)
            except OSError as exc:
                raise _write_error(self.location, exc) from None

    def ensure_guidelines(self) -> None:
        """:meth:`Store.ensure_guidelines` from :func:`kg.resources.guideline_nquads`: into a store
        without them one load (:meth:`_load_new`), else one update that drops and inserts them."""
        import pyoxigraph as ox

        from kg.resources import guideline_nquads
        from kg.store.protocol import nquads_insert

        data = guideline_nquads(str(GUIDELINES_GRAPH))
        if not self._store.contains_named_graph(ox.NamedNode(str(GUIDELINES_GRAPH))):
            return self._load_new(data)
        self.update(f"DROP SILENT GRAPH <{GUIDELINES_GRAPH}> ;\n{nquads_insert(data)}")

    def replace_cases(self, case_ids: Sequence[str], nquads: bytes) -> None:
        """:meth:`Store.replace_cases`; if none of the cases is stored yet, one N-Quads load, all or nothing."""
        import pyoxigraph as ox
        stored = [ox.NamedNode(str(graph_iri(c, n))) for c in case_ids for n in GRAPH_NAMES]
        if any(map(self._store.contains_named_graph, stored)):
            return super().replace_cases(case_ids, nquads)
        self._load_new(nquads)

    def _load_new(self, nquads: bytes) -> None:
        """Add ``nquads``, none of whose graphs the store holds, in one load: all or nothing.

        On disk, a load of fewer than :data:`_ONE_INGESTION` quads is pyoxigraph's bulk load (a
        third of a transactional load's CPU): below its batch size (a million quads) the bulk
        loader parses everything first, then adds one set of sorted files to the store in one
        RocksDB ingestion, atomic across column families, so a parse error, a full disk or a
        kill leaves the store as it was.  Larger loads and an in-memory store are transactional."""
        import pyoxigraph as ox

        try:
            if self.path is not None and nquads.count(b"\n") < _ONE_INGESTION:
                self._store.bulk_load(nquads, format=ox.RdfFormat.N_QUADS)
            else:
                self._store.load(nquads, format=ox.RdfFormat.N_QUADS)
        except OSError as exc:
            raise _write_error(self.location, exc) from None

    def compact(self) -> bool:
        """Compact the on-disk store (RocksDB's full compaction, pyoxigraph ``optimize``).

        Each bulk load, such as each group of results a batch determination writes, adds files that span
        the whole key range, and every read consults them all until they are merged.  Measured
        at 100,000 cases after ``imrkg determine --all``: 42 s, the store 5.5 -> 3.5 GB, the
        library queries 1.2 to 2 times faster.  An in-memory store has nothing to compact."""
        if self.path is None:
            return False
        try:
            self._store.optimize()
        except OSError as exc:
            raise StoreError(f"cannot compact the store at {self.location}: {exc}") from None
        return True

    def case_ids(self) -> list[str]:
        """Ids of the cases in the store, sorted (from the store's list of graphs, not by
        reading every quad: 0.2 s rather than 12 s at 10,000 cases)."""
        start, end = CASE_BASE, "/graph/asserted"
        return sorted({g.value[len(start):-len(end)].rstrip("/") for g in self._store.named_graphs()
                       if g.value.startswith(start) and g.value.endswith(end)})

    def query(self, sparql: str, params: Mapping[str, Node] | None = None) -> QueryResult:
        try:
            result = self._store.query(sparql + _values_clause(params or {}), use_default_graph_as_union=True)
            return self._collect(result)  # results are lazy: errors can come while reading them
        except UnicodeEncodeError:
            raise InputError("the query is not UTF-8 text", source="query") from None
        except OSError as exc:  # e.g. a SERVICE call that fails
            raise StoreError(f"the query failed: {exc}") from None
        except SyntaxError as exc:
            raise InputError(f"not valid SPARQL: {exc.msg if hasattr(exc, 'msg') else exc}", source="query",
                             line=getattr(exc, "lineno", None)) from None

    @staticmethod
    def _collect(result: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples) -> QueryResult:
        import pyoxigraph as ox

        if isinstance(result, ox.QuerySolutions):
            columns = tuple(v.value for v in result.variables)
            term = OxigraphTerms()  # a term repeated down a column is converted once
            out = []
            for i, sol in enumerate(result):
                if not i & 255:
                    _check_deadline()
                out.append(tuple(None if v is None else term(v) for v in sol))
            return QueryResult(columns=columns, rows=tuple(out))
        if not isinstance(result, ox.QueryTriples):  # ASK: a bool, or a QueryBoolean in pyoxigraph >= 0.5
            return QueryResult(boolean=bool(result))
        g = Graph()
        for i, triple in enumerate(result):
            if not i & 255:
                _check_deadline()
            g.add((_from_ox(triple.subject), _from_ox(triple.predicate), _from_ox(triple.object)))
        return QueryResult(graph=g)

    # -- graphs as N-Quads (the batch engine's exchange format) ----------------------
    def export_graphs(self, graphs: Sequence[str]) -> bytes:
        """The named graphs ``graphs`` (IRIs) as N-Quads, with their graph names."""
        import io

        import pyoxigraph as ox

        out = io.BytesIO()
        for iri in graphs:
            # written by pyoxigraph itself (no Python object per quad): the graph's triples,
            # to which the graph name is added line by line
            buf = io.BytesIO()
            self._store.dump(buf, format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(iri))
            name = f" <{iri}> .\n".encode("utf-8")
            for line in buf.getvalue().splitlines():
                if line.endswith(b" ."):
                    out.write(line[:-2])
                    out.write(name)
        return out.getvalue()

    def replace_graphs(self, drop: Sequence[str], nquads: bytes | Path, last: bytes = b"", *,
                       remove: bytes = b"") -> None:
        """Empty the named graphs ``drop``, remove the quads ``remove`` (N-Quads), bulk-load ``nquads``
        (N-Quads, or a file of them), then add ``last`` in one transaction.

        ``nquads`` is loaded without pyoxigraph's IRI checks: it is meant for what the batch
        engine writes (:mod:`kg.batch.engine`, whose writer checks every IRI), not for outside data.

        The bulk load is pyoxigraph's fast non-transactional one; what says a graph is complete
        (a case's determination stamp) goes in ``last``, so a crash before it leaves the case to
        be redone by a resumed batch, never marked done with part of its graphs.
        """
        try:
            self._replace_graphs(drop, nquads, last, remove)
        except OSError as exc:
            raise _write_error(self.location, exc) from None

    def _replace_graphs(self, drop: Sequence[str], nquads: bytes | Path, last: bytes, remove: bytes) -> None:
        import pyoxigraph as ox

        for iri in drop:
            node = ox.NamedNode(iri)
            if self._store.contains_named_graph(node):
                self._store.remove_graph(node)
        for quad in ox.parse(remove, format=ox.RdfFormat.N_QUADS) if remove else ():
            self._store.remove(quad)
        # lenient: no IRI checks (a fifth of the load's time); the batch's writer checks each IRI once
        if isinstance(nquads, Path):
            if nquads.stat().st_size:
                self._store.bulk_load(path=str(nquads), format=ox.RdfFormat.N_QUADS, lenient=True)
        elif nquads:
            self._store.bulk_load(nquads, format=ox.RdfFormat.N_QUADS, lenient=True)
        if last:
            self._store.load(last, format=ox.RdfFormat.N_QUADS)

    def flush(self) -> None:
        """Write RocksDB's write buffers to the store's files and free them: pyoxigraph 0.5 gives
        each of 12 column families a 128 MiB buffer with no total cap, so a serving writer kept
        every version it wrote in memory (issue 20: a 274 MB write-ahead log after an hour)."""
        store = getattr(self, "_store", None)
        if store is not None and self.path is not None:
            try:
                store.flush()
            except OSError as exc:
                raise _write_error(self.location, exc) from None

    @property
    def reopenable(self) -> bool:
        """An on-disk store can be reopened; an in-memory one cannot (its data would go)."""
        return self.path is not None

    def reopen(self) -> bool:
        """Flush, close the on-disk database and open it again in the same folder; returns whether
        that was done (``False`` for an in-memory store, whose data would go with its handle).

        What RocksDB holds for the open database goes with the old handle: its block caches (32 MiB
        shared by eleven indexes, 128 MiB more for the strings' index in pyoxigraph 0.5), the
        table readers of files since compacted away and the write buffers.  Under a writer and
        readers at once those fill and scatter over the heap (issue 20).  Call it only when no
        query of this store is running: each query holds the database open until it is read.
        Nothing is done (``False``) while something else holds the pyoxigraph handle.  Raises
        :class:`StoreError` when the folder cannot be opened again (the store is then unusable)."""
        import gc
        import sys

        import pyoxigraph as ox

        if self.path is None or sys.getrefcount(self._store) > 2:  # the attribute and the argument
            return False
        self.flush()
        del self._store
        try:
            self._store = ox.Store(str(self.path))
        except OSError:
            gc.collect()  # a result in a reference cycle still holding the database: let it go
            try:
                self._store = ox.Store(str(self.path))
            except OSError as exc:
                raise StoreError(f"cannot open the store at {self.location} again: {exc}") from None
        return True

    def close(self) -> None:
        """Flush to disk and release the store's lock (the object is unusable afterwards)."""
        if getattr(self, "_store", None) is not None:
            try:
                self.flush()
            finally:
                del self._store  # dropping the last reference closes the database


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
    """A SPARQL 1.1 server: ``query_url`` (Query protocol) and ``update_url`` (Update protocol).

    Queries and updates are sent as HTML-form POSTs (``query=`` / ``update=``), the one request
    form every SPARQL 1.1 server must accept (Virtuoso 7.2 never answers a POST with an
    ``application/sparql-query`` body).  Cases are written with ``INSERT { } WHERE {}`` because
    Virtuoso refuses blank nodes in ``INSERT DATA``.  Whether a multi-operation update is atomic is
    the server's business: Virtuoso runs one request as one transaction.  ``timeout`` (seconds)
    bounds each HTTP exchange; the work on the server is bounded by the server's own limits.
    Raises :class:`StoreError` when the server cannot be reached or answers an error.
    """

    insert_template = True

    def __init__(self, query_url: str, update_url: str | None = None, *, timeout: float = 60.0,
                 token: str | None = None) -> None:
        self.query_url = query_url
        self.update_url = update_url or os.environ.get("IMRKG_UPDATE_URL") or query_url
        self.location = query_url
        self.timeout = timeout
        # a bearer token for servers that want one for updates (imrkg serve with IMRKG_UPDATE_TOKEN)
        self.token = token if token is not None else (os.environ.get("IMRKG_STORE_TOKEN") or None)
        self._limits: ServerLimits | None = None

    def _post(self, url: str, form: Mapping[str, str], accept: str) -> bytes:
        from kg.store.protocol import HttpError, post

        try:
            return post(url, form, accept, token=self.token, timeout=self.timeout)
        except HttpError as exc:
            raise StoreError(str(exc)) from None

    def update(self, sparql: str) -> None:
        if sparql.strip():
            self._post(self.update_url, {"update": sparql}, "*/*")

    @property
    def limits(self) -> ServerLimits:
        """What the server says it takes from a writer (asked once, on the first write)."""
        from kg.store.protocol import server_limits

        if self._limits is None:
            self._limits = server_limits(self.query_url, timeout=min(self.timeout, 10.0))
        return self._limits

    def _write(self, units: Sequence[_Unit]) -> None:
        """Write ``units``, each whole, in as few requests as the server's limits allow.

        With a known request limit (:attr:`limits`) the units are packed into updates under it
        (:func:`kg.store.protocol.pack`); a unit larger than the limit on its own goes to the
        server's Graph Store endpoint in one request that replaces its graphs together.  With no
        limit known, all go in one update; a 413 splits them in halves until each unit is alone.
        Raises :class:`StoreError` saying what to do when the server still refuses a unit."""
        from kg.store.protocol import HttpError, pack, post

        texts = [_replace_update(u.graphs, u.drop, template=True) for u in units]
        cap = self.limits.max_request_bytes
        groups = pack(texts, cap) if cap else [list(range(len(units)))]
        pending = list(groups)
        while pending:
            group = pending.pop(0)
            text = " ;\n".join(texts[i] for i in group)
            too_big = cap is not None and len(group) == 1 and len(text) > 0 and _form_bytes(text) > cap
            try:
                if too_big:
                    self._put_graphs(units[group[0]])
                else:
                    post(self.update_url, {"update": text}, "*/*", token=self.token, timeout=self.timeout,
                         busy_wait=self.timeout)
            except HttpError as exc:
                if exc.status != 413:
                    raise StoreError(str(exc)) from None
                if len(group) > 1:
                    half = len(group) // 2
                    pending[:0] = [group[:half], group[half:]]
                elif not too_big and self.limits.graph_store:
                    pending.insert(0, group)
                    cap = 0  # the server's limit is lower than it said: the rest go one by one
                else:
                    raise StoreError(f"{exc}; {too_large_hint(_form_bytes(text), self.limits, [units[group[0]].label])}"
                                     ) from None

    def _put_graphs(self, unit: _Unit) -> None:
        """Replace ``unit``'s graphs through the Graph Store endpoint in one request (one transaction
        on ``imrkg serve``)."""
        if not self.limits.graph_store:
            raise StoreError(too_large_hint(_form_bytes(_replace_update(unit.graphs, unit.drop)), self.limits,
                                            [unit.label]))
        self._put(unit.drop, nquads_of(unit.graphs), [unit.label])

    def _put(self, graphs: Sequence[URIRef], body: bytes, labels: Sequence[str]) -> None:
        """``PUT <graph store>?graph=...`` naming each of ``graphs``, the body N-Quads: those graphs
        replaced by the body's quads in one request."""
        import urllib.parse

        from kg.store.protocol import HttpError, request

        limits = self.limits
        if limits.max_graph_store_bytes is not None and len(body) > limits.max_graph_store_bytes:
            raise StoreError(too_large_hint(len(body), limits, labels))
        query = urllib.parse.urlencode([("graph", str(g)) for g in sorted(set(graphs))])
        headers = {"Content-Type": "application/n-quads"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            request(f"{limits.graph_store}?{query}", method="PUT", body=body, headers=headers, timeout=self.timeout,
                    busy_wait=self.timeout)
        except HttpError as exc:
            hint = f"; {too_large_hint(len(body), limits, labels)}" if exc.status == 413 else ""
            raise StoreError(f"{exc}{hint}") from None

    def replace_cases(self, case_ids: Sequence[str], nquads: bytes) -> None:
        """Replace the cases ``case_ids`` with the graphs in ``nquads`` (see :meth:`Store.replace_cases`),
        each case whole in one request: through the server's Graph Store endpoint where it has one
        (several cases a ``PUT``, under its limit), else as SPARQL updates packed under the server's
        limit (:meth:`_write`; blank nodes as templates, which Virtuoso needs)."""
        from kg.store.protocol import split_nquads

        ids = sorted(set(case_ids))
        emptied = {c: _emptied_graphs(c) for c in ids}  # each case's graphs: the split, the updates, the PUTs
        parts = split_nquads(nquads, {str(g): c for c, graphs in emptied.items() for g in graphs})
        if not self.limits.graph_store:
            from rdflib import Dataset

            units = []
            for c in ids:
                ds = Dataset()
                ds.parse(data=parts.get(c, b"").decode("utf-8"), format="nquads")
                units.append(_Unit(drop=emptied[c], label=f"case {c}",
                                   graphs={URIRef(str(g.identifier)): g for g in ds.graphs() if len(g)}))
            self._write(units)
            return
        cap = self.limits.max_graph_store_bytes or 64 * 2 ** 20
        groups: list[list[str]] = [[]]
        for c in ids:  # at most 25 cases (125 graphs named in the URL) a request, under the cap
            if groups[-1] and (len(groups[-1]) == 25 or sum(len(parts.get(g, b"")) for g in groups[-1] + [c]) > cap):
                groups.append([])
            groups[-1].append(c)
        for group in groups if ids else []:
            self._put([g for c in group for g in emptied[c]],
                      b"".join(parts.get(g, b"") for g in group), [f"case {g}" for g in group])

    def query(self, sparql: str, params: Mapping[str, Node] | None = None) -> QueryResult:
        text = values_in_where(sparql, _values_clause(params or {}))
        if query_form(sparql) in ("CONSTRUCT", "DESCRIBE"):
            data = self._post(self.query_url, {"query": text}, "application/n-triples, text/plain;q=0.5")
            g = Graph()
            try:
                g.parse(data=data.decode("utf-8"), format="nt")
            except Exception as exc:  # rdflib raises several types for bad N-Triples
                raise StoreError(f"{self.query_url} sent a graph that is not N-Triples: {exc}") from None
            return QueryResult(graph=g)
        data = self._post(self.query_url, {"query": text}, "application/sparql-results+json")
        try:
            doc = json.loads(data)
            if "boolean" in doc:
                return QueryResult(boolean=bool(doc["boolean"]))
            columns = tuple(doc["head"]["vars"])
            rows = tuple(tuple(_from_json(b.get(c)) for c in columns) for b in doc["results"]["bindings"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StoreError(f"{self.query_url} sent results that are not SPARQL JSON: {exc}") from None
        return QueryResult(columns=columns, rows=rows)


def _from_json(term: dict[str, str] | None) -> Node | None:
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


def open_store(location: str | Path | None = None, *, create: bool = True) -> Store:
    """Open a store: ``None`` the default embedded one, ``"memory"`` a fresh in-memory one,
    an ``http(s)://`` URL a remote SPARQL 1.1 server, anything else a folder on disk.
    With ``create=False`` a folder that holds no store yet is refused (InputError), not
    made into a new empty store."""
    text = str(default_location() if location is None else location)
    if text in ("memory", ":memory:"):
        return LocalStore(None)
    if text.startswith(("http://", "https://")):
        return RemoteStore(text)
    if not create and not (Path(text) / "CURRENT").is_file():  # RocksDB's file naming the live files
        raise InputError("there is no store here", source=text,
                         hint="give the folder of an existing store with --store")
    return LocalStore(text)
