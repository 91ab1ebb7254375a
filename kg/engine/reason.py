"""Reasoning: materialise what the ontology's definitions imply, into a graph of its own.

Third stage.  Two reasoners give the same class memberships on our data:

* the **fast path** (:func:`infer`), used by the pipeline: the ontology's
  defined classes (``owl:equivalentClass`` over intersections, unions,
  existential and has-value restrictions) are compiled once into SPARQL, and
  run to a fixpoint together with the sub-class, sub-property and inverse
  property closures.  No JVM, a few milliseconds per case;
* **HermiT** through owlready2 (:func:`hermit_types`, :func:`check_consistency`),
  used by tests and on demand to confirm the fast path and the ontology's
  consistency.

The fast path also computes the values of properties the ontology marks ``kg:derived`` from
dates in the record (symptom duration at the request, the previous treatment
of the same kind and the days since it).  Inferred triples never go into the
asserted graph: :func:`infer` returns them as a new graph.
"""

from __future__ import annotations

import datetime as _dt
import itertools
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Callable, Iterable

from rdflib import OWL, RDF, RDFS, XSD, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.query import ResultRow
from rdflib.term import Identifier, Node

from kg.errors import ReasoningError
from kg.rdf import KG, GraphReader, bind_prefixes

if TYPE_CHECKING:
    import owlready2
    from rdflib.plugins.sparql.sparql import Query

__all__ = ["RuleSet", "compile_rules", "default_rules", "load_ontology", "infer", "derived_values", "hermit_types",
           "check_consistency", "named_types", "derivation_inputs"]


@lru_cache(maxsize=1)
def load_ontology() -> Graph:
    """The packaged ontology as an rdflib graph (parsed once per process; do not mutate)."""
    from kg.rdf import ontology_graph

    return ontology_graph()


@dataclass(frozen=True)
class RuleSet:
    """The ontology compiled for the fast path."""

    superclasses: dict[URIRef, frozenset[URIRef]]
    superproperties: dict[URIRef, frozenset[URIRef]]
    inverses: dict[URIRef, frozenset[URIRef]]
    definitions: tuple[tuple[URIRef, str], ...]  # (defined class, SPARQL SELECT ?x)
    named_classes: frozenset[URIRef]
    derivations: tuple[tuple[URIRef, str], ...] = ()  # (kg:DerivationRule, SPARQL CONSTRUCT)


@lru_cache(maxsize=1)
def default_rules() -> RuleSet:
    """Rules compiled from the packaged ontology (once per process)."""
    return compile_rules(load_ontology())


def _closure(edges: dict[URIRef, set[URIRef]]) -> dict[URIRef, frozenset[URIRef]]:
    out: dict[URIRef, frozenset[URIRef]] = {}
    for start in edges:
        seen: set[URIRef] = set()
        stack = list(edges[start])
        while stack:
            n = stack.pop()
            if n in seen or n == start:
                continue
            seen.add(n)
            stack.extend(edges.get(n, ()))
        out[start] = frozenset(seen)
    return out


def compile_rules(ontology: Graph) -> RuleSet:
    """Compile an ontology's class and property axioms for :func:`infer`.

    Raises :class:`ReasoningError` for a definition using a construct the fast
    path does not support (so it can never silently disagree with HermiT).
    """
    sub: dict[URIRef, set[URIRef]] = {}
    named = {c for c in ontology.subjects(RDF.type, OWL.Class) if isinstance(c, URIRef)}
    for c, d in ontology.subject_objects(RDFS.subClassOf):
        if isinstance(c, URIRef) and isinstance(d, URIRef):
            sub.setdefault(c, set()).add(d)
    for c, e in ontology.subject_objects(OWL.equivalentClass):
        if isinstance(c, URIRef) and isinstance(e, BNode):
            # C ≡ A ⊓ B ... makes C a subclass of each named conjunct
            for part in _conjuncts(ontology, e):
                if isinstance(part, URIRef):
                    sub.setdefault(c, set()).add(part)
            for part in _disjuncts(ontology, e):
                if isinstance(part, URIRef):
                    sub.setdefault(part, set()).add(c)
    subp: dict[URIRef, set[URIRef]] = {}
    for p, q in ontology.subject_objects(RDFS.subPropertyOf):
        if isinstance(p, URIRef) and isinstance(q, URIRef):
            subp.setdefault(p, set()).add(q)
    inv: dict[URIRef, set[URIRef]] = {}
    for p, q in ontology.subject_objects(OWL.inverseOf):
        if isinstance(p, URIRef) and isinstance(q, URIRef):
            inv.setdefault(p, set()).add(q)
            inv.setdefault(q, set()).add(p)
    superprops = _closure(subp)
    definitions = []
    for c, e in sorted(ontology.subject_objects(OWL.equivalentClass)):
        if not isinstance(c, URIRef) or not isinstance(e, BNode):
            continue
        if (e, OWL.oneOf, None) in ontology:
            continue  # an enumeration classifies no new individual
        compiler = _Compiler(ontology, superprops)
        where = compiler.pattern(e, "?x")
        definitions.append((c, f"SELECT DISTINCT ?x WHERE {{ {where} }}"))
    derivations = tuple(sorted((r, str(ontology.value(r, KG.construct)))
                               for r in ontology.subjects(RDF.type, KG.DerivationRule)
                               if isinstance(r, URIRef) and ontology.value(r, KG.construct) is not None))
    return RuleSet(superclasses=_closure(sub), superproperties=superprops,
                   inverses={k: frozenset(v) for k, v in inv.items()},
                   definitions=tuple(definitions), named_classes=frozenset(named), derivations=derivations)


def _members(g: Graph, node: Node, prop: URIRef) -> list[Node]:
    head = g.value(node, prop)
    return list(Collection(g, head)) if head is not None else []


def _conjuncts(g: Graph, node: Node) -> list[Node]:
    return _members(g, node, OWL.intersectionOf)


def _disjuncts(g: Graph, node: Node) -> list[Node]:
    return _members(g, node, OWL.unionOf)


class _Compiler:
    def __init__(self, g: Graph, superprops: dict[URIRef, frozenset[URIRef]]) -> None:
        self.g = g
        self.counter = itertools.count()
        # property -> all its sub-properties (an edge on a sub-property is an edge on it)
        self.subprops: dict[URIRef, set[URIRef]] = {}
        for p, sups in superprops.items():
            for q in sups:
                self.subprops.setdefault(q, set()).add(p)

    def var(self) -> str:
        return f"?v{next(self.counter)}"

    def path(self, prop: Node | None) -> str:
        inverse = self.g.value(prop, OWL.inverseOf) if isinstance(prop, BNode) else None
        if inverse is not None:
            return f"^({self.path(inverse)})"
        if not isinstance(prop, URIRef):
            raise ReasoningError(f"unsupported property expression {prop!r}")
        names = sorted({prop, *self.subprops.get(prop, ())})
        # after materialisation the super-property edge is present, but naming the
        # sub-properties keeps one round of the fixpoint from depending on another
        return "|".join(f"<{p}>" for p in names)

    def pattern(self, expr: Node, x: str) -> str:
        g = self.g
        if isinstance(expr, URIRef):
            return f"{x} a <{expr}> ."
        if (expr, OWL.intersectionOf, None) in g:
            return " ".join(self.pattern(p, x) for p in _conjuncts(g, expr))
        if (expr, OWL.unionOf, None) in g:
            return " UNION ".join("{ " + self.pattern(p, x) + " }" for p in _disjuncts(g, expr))
        if (expr, OWL.onProperty, None) in g:
            path = self.path(g.value(expr, OWL.onProperty))
            filler = g.value(expr, OWL.someValuesFrom)
            if filler is not None:
                y = self.var()
                return f"{x} {path} {y} . {self.pattern(filler, y)}"
            value = g.value(expr, OWL.hasValue)
            if value is not None:
                return f"{x} {path} {value.n3()} ."
        raise ReasoningError(f"the fast reasoner does not support the class expression {expr!r}",)


def named_types(graph: Graph, node: Node, rules: RuleSet) -> frozenset[URIRef]:
    """Every named ontology class of ``node`` in ``graph``, closed under sub-class."""
    direct = {t for t in graph.objects(node, RDF.type) if isinstance(t, URIRef)}
    closed = set(direct)
    for t in direct:
        closed |= rules.superclasses.get(t, frozenset())
    return frozenset(t for t in closed if t in rules.named_classes)


def infer(asserted: Graph, *, rules: RuleSet | None = None, derive: bool = True) -> Graph:
    """Materialise the ontology's consequences for one case's asserted graph.

    Returns a new graph with only the inferred triples (types from defined
    classes and the class hierarchy, super-property and inverse edges, and
    with ``derive`` the derived values).  ``asserted`` is not changed.

    >>> from kg.read.casefile import parse_case
    >>> from kg.engine.graph import build_case_graph
    >>> cg = build_case_graph(parse_case({"case": "c1", "findings": [
    ...     {"id": "f1", "kind": "reflex_deficit", "status": "present"}],
    ...     "requests": [{"id": "r1", "service": "trigger_point_injection", "text": "TPI"}]}))
    >>> (cg.node("f1"), RDF.type, KG.RadiculopathyEvidence) in infer(cg.asserted)
    True
    """
    rules = rules or default_rules()
    from rdflib.plugins.sparql import prepareQuery

    work = Graph()
    for t in asserted:
        work.add(t)
    queries = [(c, _prepared(q, prepareQuery)) for c, q in rules.definitions]
    constructs = [_prepared(q, prepareQuery) for _, q in rules.derivations] if derive else []
    if derive:
        for t in derived_values(work):
            work.add(t)
    while True:
        before = len(work)
        _close(work, rules)
        for cls, query in queries:
            for row in work.query(query):
                if isinstance(row, ResultRow):  # a SELECT's rows always are
                    work.add((row[0], RDF.type, cls))
        for construct in constructs:
            constructed = work.query(construct).graph  # a CONSTRUCT's result is a graph
            for triple in list(constructed if constructed is not None else ()):
                work.add(triple)
        if len(work) == before:
            break
    inferred = bind_prefixes(Graph())
    for t in work:
        if t not in asserted:
            inferred.add(t)
    return inferred


def _close(work: Graph, rules: RuleSet) -> None:
    """One round of the sub-property, inverse and sub-class closures over ``work``, in place."""
    for s, p, o in list(work):
        if not isinstance(p, URIRef):
            continue  # the closures' tables hold IRIs only
        for q in rules.superproperties.get(p, ()):
            work.add((s, q, o))
        for q in rules.inverses.get(p, ()):
            if not isinstance(o, Literal):
                work.add((o, q, s))
    for s, t in list(work.subject_objects(RDF.type)):
        if isinstance(t, URIRef):
            for sup in rules.superclasses.get(t, ()):
                work.add((s, RDF.type, sup))


_PREPARED: dict[str, Query] = {}


def _prepared(query: str, prepare: Callable[..., Query]) -> Query:
    if query not in _PREPARED:
        _PREPARED[query] = prepare(query, initNs={"kg": KG})
    return _PREPARED[query]


def _date(graph: GraphReader, node: Node, prop: URIRef) -> _dt.date | None:
    value = graph.value(node, prop)
    if isinstance(value, Literal) and value.datatype == XSD.date:
        return value.toPython()
    return None


def derived_values(work: GraphReader) -> list[tuple[Node, Node, Node]]:
    """The kg:derived property values of each request of the asserted facts ``work`` (an
    rdflib graph or anything else answering its calls, see :class:`kg.rdf.GraphReader`), as triples."""
    out: list[tuple[Node, Node, Node]] = []
    for case, request in sorted(work.subject_objects(KG.hasRequest)):
        when = _date(work, request, KG.requestDate)
        region = work.value(request, KG.bodyRegion)
        onsets, firsts = [], []
        for symptom in work.objects(case, KG.hasSymptom):
            s_region = work.value(symptom, KG.bodyRegion)
            if region is not None and s_region is not None and s_region != region:
                continue
            onset = _date(work, symptom, KG.onsetDate)
            first = _date(work, symptom, KG.documentedSince)
            if onset is not None:
                onsets.append(onset)
            if onset is not None or first is not None:
                firsts.append(min(d for d in (onset, first) if d is not None))
        if when is not None:
            for prop, dates in ((KG.symptomDurationDays, onsets), (KG.symptomDocumentedDays, firsts)):
                if dates and (when - min(dates)).days >= 0:
                    out.append((request, prop, Literal((when - min(dates)).days, datatype=XSD.integer)))
        service = work.value(request, KG.requestedService)
        kinds = set(_asserted_kinds(work, service))
        previous = []
        for t in work.objects(case, KG.hasTreatment):
            if kinds & set(_asserted_kinds(work, t)):
                previous.append((_date(work, t, KG.performedOn), str(t), t))
        if not previous:
            continue
        dated = [p for p in previous if p[0] is not None]
        latest = max(dated) if dated else min(previous, key=lambda p: p[1])
        out.append((request, KG.previousSameService, latest[2]))
        if when is not None and latest[0] is not None and latest[0] <= when:
            out.append((request, KG.daysSincePreviousSameService,
                      Literal((when - latest[0]).days, datatype=XSD.integer)))
    return out


def derivation_inputs(facts: Graph, node: Node, prop: Node, *, ontology: Graph | None = None
                      ) -> list[tuple[Node, URIRef]]:
    """The recorded facts a derived value ``node prop value`` was computed from, as sorted
    ``(fact, property)`` pairs: the ``kg:inputsQuery`` the ontology gives ``prop`` run over
    ``facts`` (a case's asserted and inferred graphs together) with ``?this`` bound to ``node``.
    Empty for a property that is not derived or has no such query.  Nothing is mutated.

    >>> from rdflib import Graph, Literal, URIRef, XSD
    >>> g, r, i = Graph(), URIRef("urn:c/r1"), URIRef("urn:c/injury")
    >>> for t in [(URIRef("urn:c"), KG.hasRequest, r), (URIRef("urn:c"), KG.hasInjury, i),
    ...           (i, KG.injuryDate, Literal("2015-01-02", datatype=XSD.date)),
    ...           (r, KG.requestDate, Literal("2015-02-01", datatype=XSD.date))]:
    ...     _ = g.add(t)
    >>> [(str(f), str(p).rsplit("#")[-1]) for f, p in derivation_inputs(g, r, KG.daysSinceInjury)]
    [('urn:c/injury', 'injuryDate'), ('urn:c/r1', 'requestDate')]
    """
    query = (ontology if ontology is not None else load_ontology()).value(prop, KG.inputsQuery)
    if query is None or not isinstance(node, Identifier):
        return []
    from rdflib.plugins.sparql import prepareQuery

    rows = facts.query(_prepared(str(query), prepareQuery), initBindings={"this": node})
    return sorted({(row[0], row[1]) for row in rows if isinstance(row, ResultRow)
                   and row[0] is not None and isinstance(row[1], URIRef)}, key=lambda x: (str(x[0]), str(x[1])))


def _asserted_kinds(graph: GraphReader, node: Node | None) -> Iterable[URIRef]:
    """The most specific treatment classes the record gives a node (not the inferred supers)."""
    if node is None:
        return ()
    types = {t for t in graph.objects(node, RDF.type) if isinstance(t, URIRef)}
    rules = default_rules()
    treatment = {t for t in types if KG.Treatment in rules.superclasses.get(t, ())}
    return [t for t in treatment if not any(t in rules.superclasses.get(o, ()) for o in treatment if o != t)]


# ---------------------------------------------------------------------------
# HermiT (through owlready2): the reference reasoner
# ---------------------------------------------------------------------------
def _hermit_input(asserted: Graph, ontology: Graph) -> Graph:
    """Ontology plus the case's object-level facts, without what HermiT cannot read.

    HermiT implements the OWL 2 datatype map, which has no ``xsd:date``; the
    case's literals and date range axioms play no part in any class definition,
    so they are left out of HermiT's input.
    """
    g = Graph()
    for s, p, o in ontology:
        if p == RDFS.range and o == XSD.date:
            continue
        g.add((s, p, o))
    for s, p, o in asserted:
        if isinstance(o, Literal):
            continue
        g.add((s, p, o))
        if p == RDF.type:
            g.add((s, RDF.type, OWL.NamedIndividual))
    return g


def _run_hermit(graph: Graph) -> owlready2.World:
    import os
    import tempfile

    import owlready2

    world = owlready2.World()
    fd, name = tempfile.mkstemp(suffix=".nt")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(graph.serialize(format="nt", encoding="utf-8"))
        world.get_ontology(f"file://{name}").load(format="ntriples")
        try:
            with world.get_ontology(str(KG).removesuffix("#")):  # the ontology's IRI
                owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
        except owlready2.OwlReadyInconsistentOntologyError as exc:
            raise ReasoningError("HermiT found the ontology and data inconsistent") from exc
    finally:
        os.unlink(name)
    return world


def check_consistency(asserted: Graph | None = None) -> None:
    """Run HermiT over the ontology (and a case's asserted graph); raise if inconsistent."""
    _run_hermit(_hermit_input(asserted if asserted is not None else Graph(), load_ontology()))


def hermit_types(asserted: Graph) -> dict[URIRef, frozenset[URIRef]]:
    """Named ontology classes of every individual of ``asserted``, as HermiT infers them."""
    world = _run_hermit(_hermit_input(asserted, load_ontology()))
    rules = default_rules()
    subjects = {s for s in asserted.subjects(RDF.type) if isinstance(s, URIRef)}
    out: dict[URIRef, frozenset[URIRef]] = {}
    for s in subjects:
        ind = world[str(s)]
        if ind is None:
            continue
        classes = set()
        for c in ind.INDIRECT_is_a:
            iri = getattr(c, "iri", None)
            if iri is not None and URIRef(iri) in rules.named_classes:
                classes.add(URIRef(iri))
        out[s] = frozenset(classes)
    return out
