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
* :func:`compile_shapes` (from :mod:`kg.batch.shacl`, re-exported here) gives, for every
  constraint of every shape with targets, a ``SELECT ?g ?this ?value`` of its
  violations.  SHACL it cannot make exact raises :class:`kg.errors.ShapesError` naming
  the shape and the feature (the batch then falls back to pySHACL).

The differential test (``tests/batch/test_engine.py``) holds the two paths to the same
answers; ``tests/batch/test_w3c.py`` holds the shapes compiler to the W3C SHACL Core suite.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from rdflib import OWL, RDF, Graph, URIRef
from rdflib.term import Node

from kg.batch.shacl import GRAPH_VAR, ONTOLOGY_GRAPH, CompiledShapes, ShapeQuery, compile_shapes
from kg.errors import ShapesError
from kg.rdf import KG

if TYPE_CHECKING:
    import pyoxigraph as ox

    from kg.engine.reason import RuleSet

__all__ = ["ONTOLOGY_GRAPH", "GRAPH_VAR", "ShapeQuery", "CompiledShapes", "compile_shapes",
           "RuleUpdate", "compile_inference", "run_fixpoint", "rule_tables", "rewrite_in_graph", "evidence_select"]

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
