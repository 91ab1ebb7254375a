"""Compile the ontology's rules and the guideline shapes to SPARQL, for determining many cases at once.

Comes after validation.  The reference path (:func:`kg.engine.reason.infer` then
pySHACL in :func:`kg.engine.validate.validate`) works on one case's rdflib graph at a
time.  This module turns the same rules and shapes into SPARQL that runs inside
a pyoxigraph store holding many cases, each in a named graph of its own (its
asserted facts, to which the inferred ones are added), with the ontology's axiom
tables in the default graph and its individuals in a graph of their own:

* :func:`compile_inference` gives the SPARQL updates of one round of the
  reasoner's fixpoint: sub-class, sub-property and inverse closures (joined with
  tables of the ontology's axioms), the defined classes and the derivation
  rules, each wrapped in ``GRAPH ?g`` so that no rule joins two cases;
* :func:`compile_shapes` gives, for every constraint of every node shape, a
  ``SELECT ?g ?this ?value`` of its violations, with the node shape, the shape
  that reports it, its message and the status a violation means.

Only the SHACL the guideline library uses is compiled (targets by class; paths
made of predicates, inverse paths and sequences; ``sh:minCount``,
``sh:maxCount``, ``sh:class``, ``sh:hasValue``, ``sh:in``, value ranges,
qualified value shapes, ``sh:and``, ``sh:or``, ``sh:not``, nested property
shapes).  Anything else raises :class:`kg.errors.ShapesError` naming the shape, so
a user's section the compiler does not understand is refused rather than judged
differently from the reference (the batch then falls back to pySHACL).  The
differential test (``tests/batch/test_engine.py``) holds the two paths to the same
answers.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from rdflib import OWL, RDF, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from kg.engine.validate import SH, Shapes
from kg.errors import ShapesError
from kg.rdf import KG, literal_int, sorted_terms

if TYPE_CHECKING:
    import pyoxigraph as ox

    from kg.engine.reason import RuleSet

__all__ = ["ONTOLOGY_GRAPH", "GRAPH_VAR", "ShapeQuery", "CompiledShapes", "compile_shapes",
           "RuleUpdate", "compile_inference", "run_fixpoint", "rule_tables", "rewrite_in_graph", "evidence_select"]

#: the named graph of the ontology's own individuals, their types closed under sub-class
ONTOLOGY_GRAPH = "https://w3id.org/imr-kg/compiled#ontology"
#: the variable that holds a case's graph in every compiled query
GRAPH_VAR = "?imrkgGraph"
_AX = "https://w3id.org/imr-kg/compiled#"
_SUPER_CLASS, _SUPER_PROPERTY, _INVERSE = f"<{_AX}superClass>", f"<{_AX}superProperty>", f"<{_AX}inverse>"


# ---------------------------------------------------------------------------
# Inference
# ---------------------------------------------------------------------------
def rule_tables(rules: RuleSet, ontology: Graph) -> tuple[Graph, Graph]:
    """The axiom tables the closure updates join with (for the default graph), and the
    ontology's own individuals with their types closed under sub-class (for
    :data:`ONTOLOGY_GRAPH`: what ``sh:class`` sees of a shared vocabulary term)."""
    tables, individuals = Graph(), Graph()
    for table, edges in ((_SUPER_CLASS, rules.superclasses), (_SUPER_PROPERTY, rules.superproperties),
                         (_INVERSE, rules.inverses)):
        for a, bs in edges.items():
            for b in bs:
                tables.add((a, URIRef(table[1:-1]), b))
    schema = {OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, OWL.Ontology,
              OWL.Restriction, OWL.AllDifferent, OWL.NamedIndividual, OWL.TransitiveProperty,
              OWL.FunctionalProperty, OWL.SymmetricProperty}
    for s, t in ontology.subject_objects(RDF.type):
        if isinstance(s, URIRef) and isinstance(t, URIRef) and t not in schema:
            individuals.add((s, RDF.type, t))
            for sup in rules.superclasses.get(t, ()):
                individuals.add((s, RDF.type, sup))
    return tables, individuals


@dataclass(frozen=True)
class RuleUpdate:
    """One SPARQL update of the reasoner's fixpoint, with what it reads and writes.

    ``reads`` and ``writes`` are the classes and properties named in its pattern and its
    template; ``reads_any_class`` marks a pattern with a class variable (``?x a ?c``).  A
    round re-runs an update only when something it reads changed in the round before
    (semi-naive evaluation at the granularity of rules).  ``counts`` says how to see that
    it added something: ``"store"`` (the whole store's size) or the IRIs to count
    (members of a class, uses of a property).
    """

    sparql: str
    reads: frozenset[str]
    writes: frozenset[str]
    reads_any_class: bool = False
    counts: str | frozenset[str] = "store"


_IRI = re.compile(r"<([^<>\s\"{}|^`\\]*)>|\bkg:([A-Za-z_][\w-]*)")


def _iris(text: str) -> frozenset[str]:
    return frozenset(m.group(1) or f"{KG}{m.group(2)}" for m in _IRI.finditer(text))


def compile_inference(rules: RuleSet) -> tuple[RuleUpdate, ...]:
    """The SPARQL updates of one round of the fixpoint, in order (see :class:`RuleUpdate`).

    Every update that adds a class membership adds the class's super-classes with it, so
    the sub-class closure is needed only for the asserted types (the first round); the
    sub-property and inverse closures likewise, unless a rule writes a property that has
    super-properties or inverses.
    """
    g = GRAPH_VAR

    def names(nodes: Iterable[Node]) -> frozenset[str]:
        return frozenset(str(n) for n in nodes)

    def with_supers(var: str, cls: str) -> str:
        supers = sorted(str(c) for c in rules.superclasses.get(URIRef(cls), ()))
        return " . ".join(f"{var} a <{c}>" for c in [cls, *supers])

    updates = []
    for cls, select in rules.definitions:
        where = select[select.index("{") + 1: select.rindex("}")]
        # members of C already have the classes its pattern requires and their super-classes:
        # adding those is no change, so they are not counted as written
        required = {URIRef(m.group(1)) for m in re.finditer(r"\?x a <([^<>\s]+)>", where)
                    if where[:m.start()].count("{") == where[:m.start()].count("}")}
        known = names(required) | names(c for r in required for c in rules.superclasses.get(r, ()))
        writes = (frozenset({str(cls)}) | names(rules.superclasses.get(cls, ()))) - known
        updates.append(RuleUpdate(
            f"INSERT {{ GRAPH {g} {{ {with_supers('?x', str(cls))} }} }} "
            f"WHERE {{ GRAPH {g} {{ {_selective_first(where)} }} }}",
            reads=_iris(where), writes=writes, counts=frozenset({str(cls)})))
    derived_properties: set[str] = set()
    for _rule, construct in rules.derivations:
        sparql = rewrite_in_graph(construct)
        split = sparql.index("WHERE")
        template, where = sparql[:split], sparql[split:]
        template = re.sub(r"(\?\w+)\s+a\s+(?:kg:([A-Za-z_][\w-]*)|<([^<>\s]*)>)",
                          lambda m: with_supers(m.group(1), m.group(3) or f"{KG}{m.group(2)}"), template)
        writes = _iris(template) - {str(RDF.type)}
        derived_properties |= writes
        updates.append(RuleUpdate(template + where, reads=_iris(where), writes=writes, counts=writes,
                                  reads_any_class=bool(re.search(r"\ba\s+\?|rdf:type\s+\?", where))))
    props = names(rules.superproperties) | names(rules.inverses)
    again = bool(derived_properties & props)  # a rule writes a property with super-properties or inverses
    closures = [
        RuleUpdate(f"INSERT {{ GRAPH {g} {{ ?s ?q ?o }} }} "
                   f"WHERE {{ ?p {_SUPER_PROPERTY} ?q . GRAPH {g} {{ ?s ?p ?o }} }}",
                   reads=names(rules.superproperties) if again else frozenset(),
                   writes=names(q for qs in rules.superproperties.values() for q in qs)),
        RuleUpdate(f"INSERT {{ GRAPH {g} {{ ?o ?q ?s }} }} WHERE {{ ?p {_INVERSE} ?q . GRAPH {g} {{ ?s ?p ?o }} "
                   f"FILTER(!isLiteral(?o)) }}",
                   reads=names(rules.inverses) if again else frozenset(),
                   writes=names(q for qs in rules.inverses.values() for q in qs)),
        RuleUpdate(f"INSERT {{ GRAPH {g} {{ ?s a ?sup }} }} "
                   f"WHERE {{ ?t {_SUPER_CLASS} ?sup . GRAPH {g} {{ ?s a ?t }} }}",
                   reads=frozenset(), writes=names(c for cs in rules.superclasses.values() for c in cs)),
    ]
    return tuple(closures + _dependency_order(updates))


_LEADING_TYPE = re.compile(r"^\s*(\?x a <[^<>\s]+>\s*\.\s*)")
_ORDERED = re.compile(r"\b(OPTIONAL|BIND|MINUS|VALUES|SELECT|SERVICE)\b", re.IGNORECASE)


def _selective_first(where: str) -> str:
    """A defined class's pattern with its leading ``?x a <Base>`` moved to the end.

    The definitions read "a Base that has ...": pyoxigraph joins in the order written, so
    starting from every member of the base class (every request, every finding) is several
    times slower than starting from the restriction.  The move is made only where the
    order of a group cannot change its answers (no OPTIONAL, BIND, MINUS, VALUES or
    sub-query in it)."""
    m = _LEADING_TYPE.match(where)
    if m is None or _ORDERED.search(where):
        return where
    rest = where[m.end():].rstrip()
    return f"{rest}{'' if rest.endswith('.') else ' .'} {m.group(1)}"


def _dependency_order(updates: list[RuleUpdate]) -> list[RuleUpdate]:
    """``updates`` with each one after the updates whose output it reads, as far as cycles allow
    (so most rules see their inputs in the first round)."""
    remaining = list(updates)
    ordered: list[RuleUpdate] = []
    while remaining:
        def waits(u: RuleUpdate) -> int:
            return sum(1 for w in remaining if w is not u and (w.writes & u.reads or (u.reads_any_class and w.writes)))
        ready = [u for u in remaining if waits(u) == 0]
        pick = ready[0] if ready else min(remaining, key=waits)  # a cycle: the least dependent first
        ordered.append(pick)
        remaining.remove(pick)
    return ordered


def run_fixpoint(store: ox.Store, updates: tuple[RuleUpdate, ...]) -> int:
    """Run ``updates`` over ``store`` (pyoxigraph) until nothing changes; returns the rounds run.

    Every update runs once; after that an update runs again only when a class or property
    it reads has gained members since it last ran (semi-naive evaluation, rule by rule).
    """
    import pyoxigraph as ox

    rdf_type = ox.NamedNode(str(RDF.type))

    def count(u: RuleUpdate) -> int:
        if u.counts == "store":
            return len(store)
        n = 0
        for iri in u.counts:
            node = ox.NamedNode(iri)
            n += sum(1 for _ in store.quads_for_pattern(None, rdf_type, node, None))
            n += sum(1 for _ in store.quads_for_pattern(None, node, None, None))
        return n

    clock = 0
    last_run: dict[int, int] = {}
    last_change: dict[str, int] = {}
    newest = -1
    rounds = 0
    while True:
        rounds += 1
        progress = False
        for i, u in enumerate(updates):
            ran = last_run.get(i)
            if ran is not None and not (u.reads_any_class and newest > ran) and not any(
                    last_change.get(iri, -1) > ran for iri in u.reads):
                continue  # nothing it reads changed since it last ran
            clock += 1
            last_run[i] = clock
            before = count(u)
            store.update(u.sparql)
            if count(u) != before:
                progress = True
                newest = clock
                for iri in u.writes:
                    last_change[iri] = clock
        if not progress:
            break
    return rounds


def _block(text: str, start: int) -> tuple[int, int]:
    """The span of the ``{ ... }`` block whose opening brace is the first at or after ``start``
    (strings, IRIs and comments skipped)."""
    i = text.index("{", start)
    depth, j = 0, i
    while j < len(text):
        ch = text[j]
        if ch in "\"'":
            end = text.find(ch, j + 1)
            while end != -1 and text[end - 1] == "\\":
                end = text.find(ch, end + 1)
            j = end
        elif ch == "<" and re.match(r"<[^\s<>\"{}|^`\\]*>", text[j:]):
            j = text.index(">", j)
        elif ch == "#":
            j = text.find("\n", j)
            j = len(text) if j == -1 else j
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i, j
        j += 1
    raise ShapesError("unbalanced braces in a rule's SPARQL")


def rewrite_in_graph(construct: str) -> str:
    """``[PREFIX ...] CONSTRUCT { T } WHERE { W }`` as ``INSERT { GRAPH ?g { T } } WHERE { GRAPH ?g { W } }``."""
    m = re.search(r"\bCONSTRUCT\b", construct, re.IGNORECASE)
    if m is None:
        raise ShapesError("a derivation rule is not a CONSTRUCT query")
    prologue = construct[:m.start()]
    t0, t1 = _block(construct, m.end())
    w0, w1 = _block(construct, t1 + 1)
    template, where = construct[t0 + 1:t1], _graph_subselects(construct[w0 + 1:w1])
    return (f"PREFIX kg: <{KG}>\n{prologue}INSERT {{ GRAPH {GRAPH_VAR} {{ {template} }} }} "
            f"WHERE {{ GRAPH {GRAPH_VAR} {{ {where} }} }}")


def _graph_subselects(where: str) -> str:
    """Give each sub-SELECT of ``where`` the case's graph: its pattern inside ``GRAPH ?g``, ``?g``
    projected and grouped by.  (pyoxigraph evaluates a sub-SELECT inside ``GRAPH ?g { }``
    against the default graph, so the graph has to be named inside it.)"""
    found = [m for m in re.finditer(r"\bSELECT\b", where, re.IGNORECASE)]
    for m in reversed(found):
        b0, b1 = _block(where, m.end())
        head = where[m.end():b0]
        head = re.sub(r"\bWHERE\s*$", "", head.rstrip(), flags=re.IGNORECASE)
        tail = where[b1 + 1:]
        tail = re.sub(r"^(\s*GROUP\s+BY)", rf"\1 {GRAPH_VAR}", tail, count=1, flags=re.IGNORECASE)
        where = (f"{where[:m.start()]}SELECT {GRAPH_VAR} {head} WHERE {{ GRAPH {GRAPH_VAR} {{ "
                 f"{where[b0 + 1:b1]} }} }}{tail}")
    return where


def evidence_select(query: str, target: URIRef) -> str:
    """A criterion's evidence query (``SELECT ?fact WHERE { ... $this ... }``) over every case:
    ``SELECT ?g ?this ?fact`` for each focus of class ``target``."""
    m = re.search(r"\bSELECT\b", query, re.IGNORECASE)
    if m is None:
        raise ShapesError("a criterion's evidence query is not a SELECT")
    prologue = query[:m.start()]
    w0, w1 = _block(query, m.end())
    # SPARQL evaluates groups bottom-up: in ``{ BIND($this AS ?fact) }`` the focus is not yet
    # bound (rdflib's initBindings binds it everywhere), so such a group gets the focus pattern
    where = query[w0 + 1:w1].replace("BIND($this AS", f"?this a <{target}> . BIND($this AS")
    where = where.replace("$this", "?this")
    return (f"PREFIX kg: <{KG}>\n{prologue}SELECT DISTINCT {GRAPH_VAR} ?this ?fact WHERE {{ GRAPH {GRAPH_VAR} {{ "
            f"?this a <{target}> . {where} }} }}")


# ---------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ShapeQuery:
    """The violations of one constraint of one shape: ``SELECT ?g ?this ?value`` (value may be unbound)."""

    node_shape: Node
    source_shape: Node
    message: str
    status: URIRef  # kg:NotMet or kg:NotDocumented
    target: Node  # the node shape's sh:targetClass
    sparql: str
    with_value: bool  # the third column is the value node


@dataclass(frozen=True)
class CompiledShapes:
    queries: tuple[ShapeQuery, ...]
    digest: str


_VALUE_COMPONENTS = (SH["class"], SH.hasValue, SH["in"], SH.minInclusive, SH.maxInclusive, SH.minExclusive,
                     SH.maxExclusive, SH["and"], SH["or"], SH["not"])
_KNOWN = set(_VALUE_COMPONENTS) | {SH.path, SH.minCount, SH.maxCount, SH.qualifiedValueShape,
                                   SH.qualifiedMinCount, SH.qualifiedMaxCount, SH.property, SH.message, SH.name,
                                   SH.targetClass, SH.description, SH.order, SH.group, SH.severity,
                                   SH.qualifiedValueShapesDisjoint}
#: the value-range components, as SPARQL comparisons
_COMPARISONS: dict[Node, str] = {SH.minInclusive: ">=", SH.maxInclusive: "<=", SH.minExclusive: ">",
                                 SH.maxExclusive: "<"}


class _Compiler:
    def __init__(self, sg: Graph, onto_classes: frozenset[URIRef]) -> None:
        self.sg = sg
        self.onto_classes = onto_classes  # classes with members among the ontology's own individuals
        self.counter = itertools.count()

    def var(self) -> str:
        return f"?v{next(self.counter)}"

    def fail(self, shape: Node, what: str) -> ShapesError:
        return ShapesError(f"shape {shape}: {what} is not supported by the SPARQL compiler")

    def check(self, shape: Node) -> None:
        for p in self.sg.predicates(shape):
            if str(p).startswith(str(SH)) and p not in _KNOWN:
                raise self.fail(shape, p.n3(self.sg.namespace_manager))
        if self.sg.value(shape, SH.severity) not in (None, SH.Violation):
            raise self.fail(shape, "a severity other than sh:Violation")
        if self.sg.value(shape, SH.qualifiedValueShapesDisjoint) not in (None, Literal(False)):
            raise self.fail(shape, "sh:qualifiedValueShapesDisjoint")

    def path(self, node: Node) -> str:
        if isinstance(node, URIRef):
            return f"<{node}>"
        inverse = self.sg.value(node, SH.inversePath)
        if inverse is not None:
            return f"^({self.path(inverse)})"
        if (node, RDF.first, None) in self.sg:
            return "/".join(f"({self.path(p)})" for p in Collection(self.sg, node))
        raise self.fail(node, "this kind of property path")

    def has_class(self, v: str, cls: Node) -> str:
        test = f"EXISTS {{ {v} a <{cls}> }}"
        if cls in self.onto_classes:  # a shared vocabulary term typed in the ontology
            test = f"({test} || EXISTS {{ GRAPH <{ONTOLOGY_GRAPH}> {{ {v} a <{cls}> }} }})"
        return test

    def conforms(self, shape: Node, v: str) -> str:
        """A boolean SPARQL expression: does node ``v`` conform to ``shape``?"""
        self.check(shape)
        sg = self.sg
        path = sg.value(shape, SH.path)
        if path is not None:  # a property shape: its constraints are on the values of the path
            tests = self.property_conforms(shape, self.path(path), v)
        else:
            tests = [self.component(shape, p, o, v) for p, o in sorted(sg.predicate_objects(shape))
                     if p in _VALUE_COMPONENTS]
        for prop in sorted_terms(sg.objects(shape, SH.property)):
            p = sg.value(prop, SH.path)
            if p is None:
                raise self.fail(prop, "a property shape without sh:path")
            tests += self.property_conforms(prop, self.path(p), v)
        return "(" + " && ".join(tests) + ")" if tests else "true"

    def property_conforms(self, shape: Node, path: str, v: str) -> list[str]:
        self.check(shape)
        sg = self.sg
        tests = []
        w = self.var()
        for p, o in sorted(sg.predicate_objects(shape)):
            if p == SH.hasValue:
                tests.append(f"EXISTS {{ {v} {path} {o.n3()} }}")
            elif p in _VALUE_COMPONENTS:
                tests.append(f"NOT EXISTS {{ {v} {path} {w} FILTER(!{self.component(shape, p, o, w)}) }}")
        low, high = sg.value(shape, SH.minCount), sg.value(shape, SH.maxCount)
        if low is not None and literal_int(low) > 1 or high is not None and literal_int(high) != 0:
            raise self.fail(shape, "a count other than sh:minCount 1 or sh:maxCount 0 inside another shape")
        if low is not None and literal_int(low) == 1:
            tests.append(f"EXISTS {{ {v} {path} {w} }}")
        if high is not None:
            tests.append(f"NOT EXISTS {{ {v} {path} {w} }}")
        q = sg.value(shape, SH.qualifiedValueShape)
        if q is not None:
            qlow, qhigh = sg.value(shape, SH.qualifiedMinCount), sg.value(shape, SH.qualifiedMaxCount)
            if qlow is not None and literal_int(qlow) > 1 or qhigh is not None and literal_int(qhigh) != 0:
                raise self.fail(shape, "a qualified count other than 1 (min) or 0 (max) inside another shape")
            inner = self.conforms(q, w)
            if qlow is not None and literal_int(qlow) == 1:
                tests.append(f"EXISTS {{ {v} {path} {w} FILTER({inner}) }}")
            if qhigh is not None:
                tests.append(f"NOT EXISTS {{ {v} {path} {w} FILTER({inner}) }}")
        return tests

    def component(self, shape: Node, p: Node, o: Node, v: str) -> str:
        """Does ``v`` satisfy the value-node constraint ``p o`` of ``shape``?"""
        sg = self.sg
        if p == SH["class"]:
            return self.has_class(v, o)
        if p == SH.hasValue:
            return f"sameTerm({v}, {o.n3()})"
        if p == SH["in"]:
            members = list(Collection(sg, o))
            return "(" + " || ".join(f"sameTerm({v}, {m.n3()})" for m in members) + ")" if members else "false"
        if p in _COMPARISONS:
            return f"COALESCE({v} {_COMPARISONS[p]} {o.n3()}, false)"
        if p == SH["and"]:
            return "(" + " && ".join(self.conforms(s, v) for s in Collection(sg, o)) + ")"
        if p == SH["or"]:
            return "(" + " || ".join(self.conforms(s, v) for s in Collection(sg, o)) + ")"
        if p == SH["not"]:
            return f"(!{self.conforms(o, v)})"
        raise self.fail(shape, p.n3(sg.namespace_manager))

    # -- top level: one query per constraint ------------------------------------
    def node_shape(self, ns: Node, status: URIRef) -> list[ShapeQuery]:
        sg = self.sg
        self.check(ns)
        targets = sorted_terms(sg.objects(ns, SH.targetClass))
        if len(targets) != 1:
            raise self.fail(ns, "a node shape without exactly one sh:targetClass")
        target = self.target = targets[0]
        focus = f"?this a <{target}> ."
        out = []

        def emit(source: Node, body: str, with_value: bool) -> None:
            message = sg.value(source, SH.message)
            sparql = (f"SELECT DISTINCT {GRAPH_VAR} ?this {'?value' if with_value else ''} "
                      f"WHERE {{ GRAPH {GRAPH_VAR} {{ {focus} {body} }} }}")
            out.append(ShapeQuery(node_shape=ns, source_shape=source,
                                  message=str(message) if message is not None else "", status=status,
                                  target=target, sparql=sparql, with_value=with_value))

        for p, o in sorted(sg.predicate_objects(ns)):
            if p in _VALUE_COMPONENTS:
                emit(ns, f"BIND(?this AS ?value) FILTER(!{self.component(ns, p, o, '?this')})", True)
        for prop in sorted_terms(sg.objects(ns, SH.property)):
            self.check(prop)
            pth = sg.value(prop, SH.path)
            if pth is None:
                raise self.fail(prop, "a property shape without sh:path")
            path = self.path(pth)
            for p, o in sorted(sg.predicate_objects(prop)):
                if p == SH.hasValue:
                    emit(prop, f"FILTER NOT EXISTS {{ ?this {path} {o.n3()} }}", False)
                elif p in _VALUE_COMPONENTS:
                    emit(prop, f"?this {path} ?value . FILTER(!{self.component(prop, p, o, '?value')})", True)
            for kind, op in ((SH.minCount, "<"), (SH.maxCount, ">")):
                n = sg.value(prop, kind)
                if n is not None:
                    emit(prop, self.count(path, "true", op, literal_int(n)), False)
            q = sg.value(prop, SH.qualifiedValueShape)
            if q is not None:
                for kind, op in ((SH.qualifiedMinCount, "<"), (SH.qualifiedMaxCount, ">")):
                    n = sg.value(prop, kind)
                    if n is not None:
                        w = self.var()
                        emit(prop, self.count(path, self.conforms(q, w), op, literal_int(n), w), False)
            if (prop, SH.property, None) in sg:
                raise self.fail(prop, "a property shape with its own sh:property")
        return out

    def count(self, path: str, test: str, op: str, n: int, w: str | None = None) -> str:
        w = w or self.var()
        if op == "<" and n == 1:
            return f"FILTER NOT EXISTS {{ ?this {path} {w} FILTER({test}) }}"
        if op == ">" and n == 0:
            return f"FILTER EXISTS {{ ?this {path} {w} FILTER({test}) }}"
        c = self.var()
        return (f"{{ SELECT ?this (COUNT(DISTINCT {w}) AS {c}) WHERE {{ ?this a <{self.target}> . "
                f"OPTIONAL {{ ?this {path} {w} FILTER({test}) }} }} GROUP BY ?this }} FILTER({c} {op} {n})")


def compile_shapes(shapes: Shapes, individuals: Graph) -> CompiledShapes:
    """Every violation query of ``shapes``; raises :class:`ShapesError` for SHACL the compiler
    does not handle.  ``individuals`` is the second graph of :func:`rule_tables`."""
    sg = shapes.graph
    onto_classes = frozenset(t for t in individuals.objects(None, RDF.type) if isinstance(t, URIRef))
    compiler = _Compiler(sg, onto_classes)
    queries: list[ShapeQuery] = []
    for ns in sorted_terms(sg.subjects(RDF.type, SH.NodeShape)):
        if (ns, SH.deactivated, Literal(True)) in sg:
            continue
        status = sg.value(ns, KG.statusOnViolation)
        if not isinstance(status, URIRef) or status not in (KG.NotMet, KG.NotDocumented):
            raise ShapesError(f"shape {ns}: kg:statusOnViolation must be kg:NotMet or kg:NotDocumented")
        queries.extend(compiler.node_shape(ns, status))
    return CompiledShapes(queries=tuple(queries), digest=shapes.digest)
