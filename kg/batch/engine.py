"""Batch determination: many cases at once, inside a pyoxigraph store, with the reference's answers.

Comes after the rationale.  The reference path determines one case at a time
(:func:`kg.engine.determine.determine_case`: the reasoner over an rdflib graph, then
pySHACL).  Here a chunk of cases (a few thousand) is loaded into an in-memory
pyoxigraph store, one named graph per case, and

1. the derived date values are computed in Python (:func:`kg.engine.reason.derived_values`,
   the function the reference uses) from an index of each case's asserted facts;
2. the reasoner's fixpoint runs as SPARQL updates over all cases at once
   (:func:`kg.batch.compile.compile_inference`);
3. every constraint of every shape is one SPARQL query over all cases
   (:func:`kg.batch.compile.compile_shapes`), and so is every criterion's evidence query;
4. each case's determination is assembled by :func:`kg.engine.determine.assemble`, the
   code the reference uses, from those rows, and written out with its rationale
   exactly as the reference writes it.

:func:`determine_chunk` takes and returns N-Quads, so it runs in worker
processes; :func:`kg.jobs.ingest.determine_all` feeds it from the store.  The
differential test (``tests/batch/test_engine.py``) holds it to the reference, status by
status, on synthetic cases and on every letter.
"""

from __future__ import annotations

import re
import typing
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Iterator, Mapping

from rdflib import RDF, BNode, Literal, URIRef
from rdflib.term import Node

from kg.batch.compile import GRAPH_VAR, RuleUpdate, ShapeQuery
from kg.batch.shacl import follows_subclasses
from kg.engine.determine import (
    CaseDetermination,
    CaseView,
    assemble,
    case_requests,
    depends_on_determinations,
    determination_triples,
)
from kg.engine.validate import ShapeResult, Shapes
from kg.rdf import CASE_BASE, KG, OxigraphTerms, oxigraph_quad

if TYPE_CHECKING:
    import pyoxigraph as ox

__all__ = ["Engine", "ChunkResult", "compile_engine", "determine_chunk", "graph_of", "case_nquads"]


def graph_of(case_id: str, name: str) -> str:
    """The IRI of one of a case's named graphs (as the store names it)."""
    return f"{CASE_BASE}{case_id}/graph/{name}"


@dataclass(frozen=True)
class Engine:
    """Everything compiled once per process: shapes, queries, updates and the ontology tables."""

    shapes: Shapes
    updates: tuple[RuleUpdate, ...]
    shape_queries: tuple[ShapeQuery, ...]
    evidence_queries: tuple[tuple[URIRef, str], ...]  # (criterion, SELECT ?g ?this ?fact)
    needs_ill_typed: bool  # the shapes use sh:datatype: each chunk lists its ill-typed literals
    tables: bytes  # N-Quads: axiom tables (default graph) and the ontology's individuals
    version: str

    @property
    def digest(self) -> str:
        return self.shapes.digest


def compile_engine(shapes: Shapes | None = None) -> Engine:
    """Compile the ontology and ``shapes`` (default: the packaged ones) for :func:`determine_chunk`.

    Raises :class:`kg.errors.ShapesError` when a shape uses SHACL the compiler does not handle.
    """
    import pyoxigraph as ox

    from kg.batch.compile import ONTOLOGY_GRAPH, compile_inference, compile_shapes, evidence_select, rule_tables
    from kg.engine.determine import engine_version
    from kg.engine.reason import default_rules, load_ontology
    from kg.engine.validate import default_shapes

    shapes = shapes or default_shapes()
    rules = default_rules()
    tables, individuals = rule_tables(rules, load_ontology())
    sg = shapes.graph
    evidence = []
    for criterion, query in sorted(sg.subject_objects(KG.evidenceQuery)):
        section = sg.value(criterion, KG.inSection)
        target = sg.value(criterion, KG.appliesTo) or sg.value(section, KG.appliesTo)
        if isinstance(criterion, URIRef) and isinstance(target, URIRef):
            evidence.append((criterion, evidence_select(str(query), target)))
    quads = [oxigraph_quad(t, ox.DefaultGraph()) for t in tables]
    quads += [oxigraph_quad(t, ox.NamedNode(ONTOLOGY_GRAPH)) for t in individuals]
    compiled = compile_shapes(shapes, individuals)
    return Engine(shapes=shapes, updates=compile_inference(rules), needs_ill_typed=compiled.needs_ill_typed,
                  shape_queries=compiled.queries, evidence_queries=tuple(evidence),
                  tables=_written(ox.serialize(quads, format=ox.RdfFormat.N_QUADS)), version=engine_version())


@dataclass(frozen=True)
class ChunkResult:
    """What :func:`determine_chunk` made: the inferred and determination graphs of the
    determined cases as N-Quads (the stamps that say a case is done apart, so they can be
    written last), their ids, the cases that failed (id, reason) and, when asked for, the
    determinations themselves."""

    nquads: bytes
    determined: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]
    determinations: tuple[CaseDetermination, ...] = ()
    stamps: bytes = b""  # each case's kg:determinedWith (in its determination graph), written last


_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_TYPE = RDF.type


def case_nquads(case_id: str, graphs: Mapping[str, Iterable[tuple[Node, Node, Node]]]) -> bytes:
    """A case's graphs (by name: ``asserted``, ``reviewer`` ...) as N-Quads in the store's graph
    names, written by pyoxigraph (the form :func:`determine_chunk` reads).  Raises ValueError
    for a term N-Quads cannot carry (pyoxigraph checks every IRI) and TypeError for a triple
    that is not RDF.

    >>> from rdflib import URIRef
    >>> s = URIRef("https://w3id.org/imr-kg/case/c1/")
    >>> case_nquads("c1", {"asserted": [(s, RDF.type, s)]}).decode().count(" .\\n")
    1
    """
    import pyoxigraph as ox

    quads = []
    for name, triples in graphs.items():
        graph = ox.NamedNode(graph_of(case_id, name))
        quads += [oxigraph_quad(t, graph) for t in triples]
    return _written(ox.serialize(quads, format=ox.RdfFormat.N_QUADS)) if quads else b""


def _written(data: bytes | None) -> bytes:
    """What pyoxigraph's ``serialize`` and ``Store.dump`` return when given no output: the bytes."""
    if data is None:
        raise TypeError("pyoxigraph wrote to an output instead of returning the bytes")
    return data


_BAD_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_ECHAR = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))")


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    return _ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)) if m.group(3) is None
                       else _ECHAR[m.group(3)], text)


class _Codec:
    """N-Quads lines <-> rdflib terms, each distinct term converted once.

    Reads only what pyoxigraph writes (one quad a line, ``S P O G .`` with single spaces,
    IRIs unescaped, literals in their canonical form), which is every N-Quads text the
    batch handles: it comes from the store's own writer.  Writing escapes literals as
    N-Triples requires (quote, backslash, line breaks).
    """

    def __init__(self) -> None:
        self.terms: dict[str, Node] = {}
        self.texts: dict[Node, str] = {}

    def term(self, token: str) -> Node:
        hit = self.terms.get(token)
        if hit is not None:
            return hit
        if token[0] == "<":
            # an IRI pyoxigraph wrote (checked when it was stored): URIRef's own check and its
            # warning cannot fire, so the str is made a URIRef directly (a third of the cost)
            out: Node = str.__new__(URIRef, token[1:-1])
        elif token[0] == "_":
            out = BNode(token[2:])
        else:
            end = token.rindex('"')
            value, tail = _unescape(token[1:end]), token[end + 1:]
            if tail.startswith("^^<"):
                dt = tail[3:-1]
                out = Literal(value, datatype=None if dt == _XSD_STRING else URIRef(dt))
            elif tail.startswith("@"):
                out = Literal(value, lang=tail[1:])
            else:
                out = Literal(value)
        self.terms[token] = out
        return out

    def text(self, term: Node) -> str:
        hit = self.texts.get(term)
        if hit is not None:
            return hit
        if isinstance(term, URIRef):
            # what the codec writes is loaded without pyoxigraph's IRI checks (Store.replace_graphs),
            # so it checks each new IRI itself, as N-Quads requires: absolute, no forbidden character
            if _BAD_IRI.search(term) or not _SCHEME.match(term):
                raise ValueError(f"not an absolute IRI that N-Quads can carry: {str(term)!r}")
            out = f"<{term}>"
        elif isinstance(term, BNode):
            out = f"_:{term}"
        else:
            assert isinstance(term, Literal)
            value = str(term).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
            if term.language:
                out = f'"{value}"@{term.language}'
            elif term.datatype is not None and str(term.datatype) != _XSD_STRING:
                out = f'"{value}"^^<{term.datatype}>'
            else:
                out = f'"{value}"'
        self.texts[term] = out
        return out

    def nquads(self, triples: Iterable[tuple[Node, Node, Node]], graph: str) -> str:
        text = self.text
        g = f" <{graph}> .\n"
        return "".join(f"{text(s)} {text(p)} {text(o)}{g}" for s, p, o in triples)


#: one graph's triples: subject -> predicate -> objects (a dict, for their order)
_Spo = dict[Node, dict[Node, dict[Node, None]]]


class _Index:
    """The triples of one graph by subject, answering the few rdflib calls the
    determination and the derived values make (objects in the order they came)."""

    def __init__(self) -> None:
        self.spo: _Spo = {}

    def value(self, subject: Node | None = None, predicate: Node = RDF.value, object: Node | None = None,
              default: Node | None = None, any: bool = True) -> Node | None:  # noqa: A002 - rdflib's names
        values = self.spo.get(subject, {}).get(predicate) if subject is not None else None
        return next(iter(values)) if values else default

    def objects(self, subject: Node | None = None, predicate: Node | None = None) -> Iterator[Node]:
        if subject is None or predicate is None:
            return iter(())  # only a subject's values of one predicate are asked for
        return iter(list(self.spo.get(subject, {}).get(predicate, ())))

    def predicate_objects(self, subject: Node | None = None) -> Iterator[tuple[Node, Node]]:
        if subject is None:
            return iter(())
        return iter([(p, o) for p, os in self.spo.get(subject, {}).items() for o in os])

    def __contains__(self, triple: tuple[Node, Node, Node]) -> bool:
        s, p, o = triple
        return o in self.spo.get(s, {}).get(p, ())

    def subject_objects(self, predicate: Node | None = None) -> Iterator[tuple[Node, Node]]:
        if predicate is None:
            return iter(())
        return iter([(s, o) for s, po in self.spo.items() for o in po.get(predicate, ())])


class _BatchView(CaseView):
    def __init__(self, case_id: str, asserted: _Index, inferred: _Index, reviewer: _Index,
                 results: dict[Node, list[ShapeResult]], evidence: dict[tuple[Node, Node], set[Node]]) -> None:
        self.case_id = case_id
        self.asserted, self.inferred, self.reviewer = asserted, inferred, reviewer
        self._facts, self._results, self._evidence = asserted, results, evidence

    def types(self, node: Node) -> set[Node]:
        return set(self.asserted.objects(node, _TYPE)) | set(self.inferred.objects(node, _TYPE))

    def results(self, focus: Node) -> tuple[ShapeResult, ...]:
        return tuple(self._results.get(focus, ()))

    def evidence(self, request: URIRef, criterion: Node, query: str) -> set[Node]:
        return set(self._evidence.get((request, criterion), ()))

    def is_asserted(self, node: Node) -> bool:
        return node in self._facts.spo

    def has_type(self, node: Node, cls: Node | None) -> bool:
        return cls in self.types(node)


# ---------------------------------------------------------------------------
# One chunk
# ---------------------------------------------------------------------------
def _case_id(graph: str, name: str) -> str | None:
    suffix = f"/graph/{name}"
    if graph.startswith(CASE_BASE) and graph.endswith(suffix):
        return graph[len(CASE_BASE):-len(suffix)]
    return None


def _indexes(lines: Iterable[str], name: str, codec: _Codec,
             moved: dict[str, list[str]] | None = None, to: str = "") -> dict[str, _Index]:
    """The quads of the case graphs called ``name`` among N-Quads ``lines``, indexed by case.
    With ``moved``, also each case's quads as N-Quads lines in its graph called ``to``."""
    out: dict[str, _Index] = {}
    by_graph: dict[str, _Spo | None] = {}  # graph token -> its case's triples (None: not a case graph)
    lines_to: dict[str, tuple[list[str], str]] = {}  # graph token -> (the case's moved lines, new graph token)
    terms, term = codec.terms, codec.term
    for line in lines:  # the hot loop of the batch: split the line, convert each new term once
        if not line:
            continue
        s, p, rest = line.split(" ", 2)
        o, g = rest[:-2].rsplit(" ", 1)
        spo: _Spo | None | typing.Literal[False] = by_graph.get(g, False)  # False: not seen yet
        if spo is False:
            cid = _case_id(g[1:-1], name)
            if cid is None:
                spo = None
            else:
                index = out.get(cid)
                if index is None:
                    index = out[cid] = _Index()
                spo = index.spo
                if moved is not None:
                    lines_to[g] = (moved.setdefault(cid, []), f"<{graph_of(cid, to)}> .\n")
            by_graph[g] = spo
        if spo is None:
            continue
        if moved is not None:
            text, target = lines_to[g]
            text.append(f"{s} {p} {o} {target}")
        st = terms.get(s)
        if st is None:
            st = term(s)
        pt = terms.get(p)
        if pt is None:
            pt = term(p)
        ot = terms.get(o)
        if ot is None:
            ot = term(o)
        po = spo.get(st)
        if po is None:
            spo[st] = {pt: {ot: None}}
            continue
        objects = po.get(pt)
        if objects is None:
            po[pt] = {ot: None}
        else:
            objects[ot] = None
    return defaultdict(_Index, out)


_WHERE = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)


def _only(sparql: str, graphs: str | None) -> str:
    """``sparql`` restricted to the case graphs ``graphs`` (a VALUES block's terms), if given."""
    if graphs is None:
        return sparql
    m = _WHERE.search(sparql)
    assert m is not None
    return f"{sparql[:m.end()]} VALUES {GRAPH_VAR} {{ {graphs} }} {sparql[m.end():]}"


#: a case's validation results by focus node, and its evidence facts by (request, criterion)
_Results = dict[Node, list[ShapeResult]]
_Evidence = dict[tuple[Node, Node], set[Node]]


def _select(store: ox.Store, sparql: str) -> ox.QuerySolutions:
    import pyoxigraph as ox

    solutions = store.query(sparql)
    if not isinstance(solutions, ox.QuerySolutions):
        raise TypeError("not a SELECT query")  # every compiled query is one
    return solutions


def _validate(store: ox.Store, engine: Engine, terms: OxigraphTerms, cases: Iterable[str] | None = None
              ) -> tuple[dict[str, _Results], dict[str, _Evidence]]:
    """Rows of every compiled shape and evidence query (over ``cases`` only, if given):
    results and evidence by case."""
    graphs = None if cases is None else " ".join(f"<{graph_of(c, 'asserted')}>" for c in cases)
    results: dict[str, _Results] = defaultdict(lambda: defaultdict(list))
    subclasses = follows_subclasses(store)  # if no graph has rdfs:subClassOf, the faster form is exact
    for q in engine.shape_queries:
        for row in _select(store, _only(q.text(subclasses), graphs)):
            cid = _case_id(row[0].value, "asserted")
            if cid is None:
                continue
            focus = terms(row[1])
            value = terms(row[2]) if q.with_value and row[2] is not None else None
            results[cid][focus].append(ShapeResult(
                focus=focus, node_shape=q.node_shape, source_shape=q.source_shape, severity=q.severity,
                message=q.message, path=None, value=value))
    for by_focus in results.values():
        for rs in by_focus.values():
            rs.sort(key=lambda r: (str(r.focus), str(r.node_shape), r.message, str(r.value)))
    evidence: dict[str, _Evidence] = defaultdict(lambda: defaultdict(set))
    for criterion, sparql in engine.evidence_queries:
        for row in _select(store, _only(sparql, graphs)):
            cid = _case_id(row[0].value, "asserted")
            if cid is not None and row[2] is not None:
                evidence[cid][(terms(row[1]), criterion)].add(terms(row[2]))
    return results, evidence


def determine_chunk(asserted: bytes, reviewer: bytes, engine: Engine, *, keep: bool = False) -> ChunkResult:
    """Determine every case whose asserted graph is in ``asserted`` (N-Quads, the store's graph
    names); ``reviewer`` holds their reviewer graphs.  Returns their inferred and determination
    graphs as N-Quads.  A case that fails is reported and left out; the others go on."""
    import pyoxigraph as ox

    from kg.batch.compile import run_fixpoint
    from kg.engine.rationale import rationale_text
    from kg.engine.reason import derived_values

    nq = ox.RdfFormat.N_QUADS
    codec, terms = _Codec(), OxigraphTerms()
    store = ox.Store()
    store.load(engine.tables, format=nq)
    store.load(asserted, format=nq, lenient=True)  # the store's own export: checked when it was written
    # the quads as the store keeps them (it normalises some literals, e.g. derived integer types)
    before = set(_written(store.dump(format=nq)).splitlines())
    facts = _indexes(asserted.decode("utf-8").split("\n"), "asserted", codec)
    reviews = _indexes(reviewer.decode("utf-8").split("\n"), "reviewer", codec) if reviewer else {}
    failed: list[tuple[str, str]] = []
    extra: list[str] = []
    for cid, index in sorted(facts.items()):
        try:
            extra.append(codec.nquads(derived_values(index), graph_of(cid, "asserted")))
        except Exception as exc:  # noqa: BLE001 - one bad case does not stop the chunk
            failed.append((cid, f"{type(exc).__name__}: {exc}"))
    if extra:
        store.load("".join(extra).encode("utf-8"), format=nq)
    run_fixpoint(store, engine.updates)  # the reasoner's fixpoint, over every case at once
    # what the fixpoint (and the derived values) added: each case's inferred graph
    added = [line.decode("utf-8") for line in _written(store.dump(format=nq)).splitlines() if line not in before]
    del before
    inferred_text: dict[str, list[str]] = defaultdict(list)  # the same quads in each case's inferred graph
    inferred = _indexes(added, "asserted", codec, inferred_text, "inferred")
    del added
    if engine.needs_ill_typed:
        from kg.batch.shacl import ILL_TYPED_GRAPH, ill_typed_literals

        here = URIRef(ILL_TYPED_GRAPH)
        store.extend(oxigraph_quad((here, here, lit), ox.NamedNode(ILL_TYPED_GRAPH))
                     for lit in ill_typed_literals(codec.terms.values()))
    results, evidence = _validate(store, engine, terms)
    bad = {cid for cid, _ in failed}
    dets: dict[str, CaseDetermination] = {}
    second: list[str] = []
    sg = engine.shapes
    for cid in sorted(facts):
        if cid in bad:
            continue
        try:
            view = _BatchView(cid, facts[cid], inferred[cid], reviews.get(cid, _Index()), results[cid],
                              evidence[cid])
            case = URIRef(f"{CASE_BASE}{cid}/")
            requests = case_requests(facts[cid], case)
            items = assemble(view, sg, requests)
            dets[cid] = CaseDetermination(case_id=cid, case=str(case), engine_version=engine.version, items=items,
                                          shapes_digest=engine.digest)
            if depends_on_determinations(sg, view.has_type, requests):
                second.append(cid)
        except Exception as exc:  # noqa: BLE001
            failed.append((cid, f"{type(exc).__name__}: {exc}"))
    if second:
        # sections that read other requests' conclusions: validate again with the first ones in the data
        first = []
        for cid in second:
            prelim = CaseDetermination(case_id=cid, case=dets[cid].case, engine_version="", items=dets[cid].items)
            first.append(codec.nquads(set(determination_triples(prelim)), graph_of(cid, "asserted")))
        store.load("".join(first).encode("utf-8"), format=nq)
        results, evidence = _validate(store, engine, terms, second)
        for cid in second:
            view = _BatchView(cid, facts[cid], inferred[cid], reviews.get(cid, _Index()), results[cid],
                              evidence[cid])
            requests = case_requests(facts[cid], URIRef(dets[cid].case))
            dets[cid] = CaseDetermination(case_id=cid, case=dets[cid].case, engine_version=engine.version,
                                          items=assemble(view, sg, requests), shapes_digest=engine.digest)
    stamps: list[str] = []
    out: list[str] = []
    for cid, det in dets.items():
        out += inferred_text[cid]
        target = graph_of(cid, "determination")
        triples = set(determination_triples(det, rationales={i.request: rationale_text(i) for i in det.items}))
        stamp = [t for t in triples if t[1] == KG.determinedWith]
        out.append(codec.nquads((t for t in triples if t[1] != KG.determinedWith), target))
        stamps.append(codec.nquads(stamp, target))
    return ChunkResult(nquads="".join(out).encode("utf-8"),
                       determined=tuple(sorted(dets)), failed=tuple(sorted(failed)),
                       determinations=tuple(dets[c] for c in sorted(dets)) if keep else (),
                       stamps="".join(stamps).encode("utf-8"))
