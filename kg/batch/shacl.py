"""Compile SHACL Core shapes to SPARQL that finds their violations in many graphs at once.

Comes first in the batch stage.  :func:`compile_shapes` gives, for every constraint of every
shape that has targets, a ``SELECT ?g ?focus ?value`` of its violations (each query inside
``GRAPH ?g``, so one query covers every case graph of a store), with the shape, the
constraint component, the result path, the severity, the message and the status a
violation means.  :func:`validate_graph` runs them over one rdflib graph.

The contract is soundness: what is compiled gives the reference's (pySHACL's) results,
and SHACL the compiler cannot make exact raises :class:`kg.errors.ShapesError` naming the
shape and the feature, so that the caller falls back to the reference engine.  Compiled:
targets (``sh:targetClass`` with ``rdfs:subClassOf`` in the data, implicit class targets,
``sh:targetNode``, ``sh:targetSubjectsOf``, ``sh:targetObjectsOf``) of node shapes, property
shapes and untyped shapes; every SHACL path (a node that is both a list and another path
is read as the sequence); the value type (``sh:datatype`` judged as pySHACL judges
well-formedness, from a list of the data's ill-typed literals), cardinality, numeric value
range, string (``sh:pattern`` only in a dialect both engines read alike), property pair,
logical, shape-based, ``sh:closed``, ``sh:hasValue`` and ``sh:in`` components, with any
severity.  Refused: ``sh:uniqueLang`` (rdflib reads ``"1"^^xsd:boolean`` as true, which the
spec does not), SPARQL-based constraints and targets, empty ``sh:and``/``sh:or`` lists,
shapes that refer to themselves, value ranges with bounds that are not numbers, literal
constants that the store would rewrite (it keeps literals in a canonical form: ``"1"^^xsd:byte``
becomes ``"1"^^xsd:integer``), and counts above 3 inside another shape.  :func:`validate_graph`
also refuses data whose value literals the store would rewrite, that rdflib read ambiguously,
or that the reference orders as Python does under a value range (booleans, dates, NaN).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Callable, Iterable

from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import BNode, Node

from kg.engine.validate import SH, Shapes
from kg.errors import ShapesError
from kg.rdf import KG, literal_int, sorted_terms, to_oxigraph

if TYPE_CHECKING:
    import pyoxigraph as ox

__all__ = ["ONTOLOGY_GRAPH", "GRAPH_VAR", "ILL_TYPED_GRAPH", "ShapeQuery", "CompiledShapes", "compile_shapes",
           "ill_typed_literals", "validate_graph", "CompiledResult", "follows_subclasses"]

#: the named graph of the ontology's own individuals, their types closed under sub-class
ONTOLOGY_GRAPH = "https://w3id.org/imr-kg/compiled#ontology"
#: the named graph listing the literals that are not well-formed for their datatype (see ill_typed_literals)
ILL_TYPED_GRAPH = "https://w3id.org/imr-kg/compiled#ill-typed"
_ILL = f"<{ILL_TYPED_GRAPH}>"
#: the variable that holds a case's graph in every compiled query
GRAPH_VAR = "?imrkgGraph"


@dataclass(frozen=True)
class ShapeQuery:
    """The violations of one constraint of one shape: ``SELECT ?g ?focus ?value`` (value may be unbound)."""

    node_shape: Node  # the shape with the targets
    source_shape: Node  # the shape that holds the constraint
    message: str
    status: URIRef  # kg:NotMet or kg:NotDocumented
    target: Node | None  # the node shape's first sh:targetClass, if any
    sparql: str
    with_value: bool  # the third column is the value node
    component: URIRef = SH.ConstraintComponent  # sh:sourceConstraintComponent
    path: Node | None = None  # sh:resultPath (a node of the shapes graph)
    severity: URIRef = SH.Violation
    path_column: bool = False  # a fourth column holds the result path (sh:closed), instead of ``path``
    #: the same query reading class membership from ``rdf:type`` alone, without following the
    #: data's ``rdfs:subClassOf``: the same answers on data that has no ``rdfs:subClassOf`` triple,
    #: several times faster (see :func:`follows_subclasses`)
    flat_sparql: str = ""

    def text(self, subclasses: bool) -> str:
        """The query to run on data that has (``subclasses``) or has no ``rdfs:subClassOf`` triple."""
        return self.sparql if subclasses or not self.flat_sparql else self.flat_sparql


@dataclass(frozen=True)
class CompiledShapes:
    queries: tuple[ShapeQuery, ...]
    digest: str
    needs_ill_typed: bool = False  # the data's ill-typed literals must be in ILL_TYPED_GRAPH
    ranges: bool = False  # value-range components: data literals the reference compares as Python does are refused
    #: the properties whose objects can be value or focus nodes: only their literals can change an answer
    reads: frozenset[URIRef] = frozenset()
    focus_literals: frozenset[Literal] = frozenset()  # literals named as target nodes


#: components whose constraint is a test of each value node
_VALUE_TESTS: dict[Node, str] = {SH["class"]: "Class", SH.datatype: "Datatype", SH.nodeKind: "NodeKind", SH["in"]: "In",
                SH.minInclusive: "MinInclusive", SH.maxInclusive: "MaxInclusive", SH.minExclusive: "MinExclusive",
                SH.maxExclusive: "MaxExclusive", SH.minLength: "MinLength", SH.maxLength: "MaxLength",
                SH.pattern: "Pattern", SH.languageIn: "LanguageIn", SH.node: "Node", SH["and"]: "And",
                SH["or"]: "Or", SH["not"]: "Not", SH.xone: "Xone"}
_PAIRS: dict[Node, str] = {SH.equals: "Equals", SH.disjoint: "Disjoint", SH.lessThan: "LessThan",
          SH.lessThanOrEquals: "LessThanOrEquals"}
_PARAMETERS = {SH.flags, SH.qualifiedMinCount, SH.qualifiedMaxCount, SH.qualifiedValueShapesDisjoint,
               SH.ignoredProperties}
#: boolean parameters: only "true" switches them on (the reference reads "1" as true too: refused)
_SWITCHES = (SH.deactivated, SH.uniqueLang, SH.closed, SH.qualifiedValueShapesDisjoint)
_NON_VALIDATING = {SH.message, SH.name, SH.description, SH.order, SH.group, SH.severity, SH.deactivated,
                   SH.defaultValue, SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf}
_KNOWN = set(_VALUE_TESTS) | set(_PAIRS) | _PARAMETERS | _NON_VALIDATING | {
    SH.path, SH.minCount, SH.maxCount, SH.hasValue, SH.property, SH.qualifiedValueShape, SH.closed, SH.uniqueLang}
_SINGLE = {SH.path, SH.datatype, SH.nodeKind, SH.minCount, SH.maxCount, SH.minLength, SH.maxLength, SH.flags,
           SH.qualifiedMinCount, SH.qualifiedMaxCount, SH.qualifiedValueShape, SH.severity,
           SH.qualifiedValueShapesDisjoint}
_TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
_COMPARISONS: dict[Node, str] = {SH.minInclusive: ">=", SH.maxInclusive: "<=", SH.minExclusive: ">",
                                 SH.maxExclusive: "<"}
_NUMERIC = {XSD.integer, XSD.decimal, XSD.double, XSD.float}
_NODE_KINDS: dict[Node, str] = {SH.IRI: "isIRI({v})", SH.BlankNode: "isBlank({v})", SH.Literal: "isLiteral({v})",
               SH.BlankNodeOrIRI: "!isLiteral({v})", SH.BlankNodeOrLiteral: "!isIRI({v})",
               SH.IRIOrLiteral: "!isBlank({v})"}
#: regular expressions that mean the same to Python's re (pySHACL) and to the store's engine
_SAFE_PATTERN = re.compile(r"^(?:[A-Za-z0-9 _:/@#%&=,;'\"!~<>-]|\\[dDwWsS.\\/()\[\]{}*+?^$|-]|[\^$.*+?()\[\]|]"
                           r"|\{\d+(?:,\d*)?\})*$")
_SUBCLASS = f"<{RDFS.subClassOf}>"


def _in(pattern: str) -> str:
    """``pattern`` in the case's graph.  Every triple pattern is wrapped on its own, so that a
    filter or ``BIND`` sees the focus bound outside (a group is evaluated on its own)."""
    return f"GRAPH {GRAPH_VAR} {{ {pattern} }}"


def _component(name: str) -> URIRef:
    return SH[f"{name}ConstraintComponent"]


def _store_form(literals: set[Literal]) -> dict[Literal, Literal]:
    """How the store keeps each of ``literals`` (it rewrites some to a canonical form)."""
    import pyoxigraph as ox

    store = ox.Store()
    pairs = []
    for i, lit in enumerate(sorted(literals, key=str)):
        subject = ox.NamedNode(f"urn:imrkg:literal:{i}")
        store.add(ox.Quad(subject, ox.NamedNode("urn:imrkg:p"), to_oxigraph(lit), ox.DefaultGraph()))
        pairs.append((subject, lit))
    out = {}
    for subject, lit in pairs:
        (quad,) = store.quads_for_pattern(subject, None, None, None)
        o = quad.object
        assert isinstance(o, ox.Literal)
        dt = None if o.language or o.datatype.value == str(XSD.string) else URIRef(o.datatype.value)
        out[lit] = Literal(o.value, lang=o.language, datatype=dt)
    return out


def _rewritten(literals: set[Literal]) -> list[tuple[Literal, Literal]]:
    """The literals the store would keep as another term, with that term.  (A simple string, the most
    common literal by far, is kept as it is: it has no other form.)"""
    literals = {lit for lit in literals if lit.language or lit.datatype not in (None, XSD.string)}
    normal = {lit: Literal(str(lit), lang=lit.language, datatype=None if lit.datatype == XSD.string
                           else lit.datatype) for lit in literals}
    forms = _store_form(literals)
    return [(lit, forms[lit]) for lit in sorted(literals, key=str) if forms[lit] != normal[lit]]


def ill_typed_literals(literals: Iterable[Node]) -> list[Literal]:
    """The literals that do not match their own datatype as the reference judges ``sh:datatype``
    (pySHACL: rdflib's ill-typed literals and, for the XSD types it checks, a value of the wrong
    Python type)."""
    import datetime

    kinds: dict[URIRef, type | tuple[type, ...]] = {
        XSD.integer: int, XSD.float: float, XSD.decimal: Decimal, XSD.boolean: bool, XSD.date: datetime.date,
        XSD.time: datetime.time, XSD.dateTime: datetime.datetime, XSD.string: (str, bytes)}
    out = []
    for lit in literals:
        if not isinstance(lit, Literal) or lit.datatype is None:
            continue
        kind = kinds.get(lit.datatype)
        if getattr(lit, "ill_typed", None) is True or (kind is not None and not isinstance(lit.value, kind)):
            out.append(lit)
    return sorted(out, key=str)


class _Compiler:
    def __init__(self, sg: Graph, onto_classes: frozenset[URIRef], *, subclasses: bool = True) -> None:
        self.sg = sg
        #: follow the data's rdfs:subClassOf for sh:class and class targets (not needed, and slow,
        #: where the data has no rdfs:subClassOf triple)
        self.subclasses = subclasses
        self.onto_classes = onto_classes  # classes with members among the ontology's own individuals
        self.counter = itertools.count()
        self.stack: list[Node] = []
        self.needs_ill_typed = False
        self.ranges = False
        self.reads: set[URIRef] = set()  # the properties whose objects can be value nodes
        self.focus_literals: set[Literal] = set()  # literals named as target nodes
        self.constants: dict[Literal, Node] = {}  # literal constants of the shapes -> the shape using them

    def var(self) -> str:
        return f"?v{next(self.counter)}"

    def fail(self, shape: Node, what: str) -> ShapesError:
        return ShapesError(f"shape {shape}: {what} is not supported by the SPARQL compiler")

    def n3(self, shape: Node, term: Node) -> str:
        if isinstance(term, BNode):
            raise self.fail(shape, "a blank node as a constant")
        if isinstance(term, Literal):
            self.constants.setdefault(term, shape)
        return term.n3()

    def items(self, shape: Node, node: Node) -> list[Node]:
        if node != RDF.nil and (node, RDF.first, None) not in self.sg:
            raise self.fail(shape, "a list that is not an RDF list")
        return list(Collection(self.sg, node))

    def check(self, shape: Node) -> None:
        sg = self.sg
        for p in set(sg.predicates(shape)):
            if str(p).startswith(str(SH)) and p not in _KNOWN:
                raise self.fail(shape, p.n3(sg.namespace_manager))
            if p in _SINGLE and len(set(sg.objects(shape, p))) > 1:
                raise self.fail(shape, f"more than one {p.n3(sg.namespace_manager)}")
        if not isinstance(sg.value(shape, SH.severity) or SH.Violation, URIRef):
            raise self.fail(shape, "a severity that is not an IRI")
        for p in _SWITCHES:
            if any(o not in (Literal(True), Literal(False)) for o in sg.objects(shape, p)):
                raise self.fail(shape, f"{p.n3(sg.namespace_manager)} other than true or false")
        if (shape, RDF.type, URIRef("http://www.w3.org/2002/07/owl#Class")) in sg:
            raise self.fail(shape, "a shape that is an owl:Class")

    def path(self, shape: Node, node: Node) -> str:
        sg = self.sg
        if isinstance(node, URIRef):
            self.reads.add(node)
            return f"<{node}>"
        if (node, RDF.first, None) in sg:  # a list is a sequence, whatever else the node says
            steps = self.items(shape, node)
            if len(steps) < 2:
                raise self.fail(shape, "a sequence path of fewer than two steps")
            return "(" + "/".join(self.path(shape, p) for p in steps) + ")"
        kinds = [(p, o) for p, o in sg.predicate_objects(node) if p in (
            SH.inversePath, SH.alternativePath, SH.zeroOrMorePath, SH.oneOrMorePath, SH.zeroOrOnePath)]
        if len(kinds) != 1 or not isinstance(node, BNode):
            raise self.fail(shape, "this kind of property path")
        p, o = kinds[0]
        if p == SH.alternativePath:
            options = self.items(shape, o)
            if len(options) < 2:
                raise self.fail(shape, "an alternative path of fewer than two options")
            return "(" + "|".join(self.path(shape, q) for q in options) + ")"
        inner = self.path(shape, o)
        unary: dict[Node, str] = {SH.inversePath: f"^{inner}", SH.zeroOrMorePath: f"{inner}*",
                                  SH.oneOrMorePath: f"{inner}+", SH.zeroOrOnePath: f"{inner}?"}
        return unary[p]

    # -- value tests -------------------------------------------------------------------------
    def member(self) -> str:
        """The path from a node to the classes it is a member of: its types and, unless the data has
        no ``rdfs:subClassOf`` triple, their super-classes in the data.  (A path, evaluated from the
        class, is several times faster than ``?x a ?t . ?t rdfs:subClassOf+ C`` over many graphs.)"""
        return f"<{RDF.type}>/{_SUBCLASS}*" if self.subclasses else "a"

    def has_class(self, v: str, cls: Node) -> str:
        if not isinstance(cls, URIRef):
            raise ShapesError(f"sh:class {cls}: a class that is not an IRI is not supported by the SPARQL compiler")
        test = f"EXISTS {{ {_in(f'{v} {self.member()} <{cls}>')} }}"
        if cls in self.onto_classes:  # a shared vocabulary term typed in the ontology
            test = f"{test} || EXISTS {{ GRAPH <{ONTOLOGY_GRAPH}> {{ {v} a <{cls}> }} }}"
        return f"({test})"

    def datatype(self, shape: Node, v: str, dt: Node) -> str:
        if not isinstance(dt, URIRef):
            raise self.fail(shape, "an sh:datatype that is not an IRI")
        if dt == RDFS.Literal:
            return f"isLiteral({v})"
        if dt == RDF.langString:
            return f"(isLiteral({v}) && lang({v}) != \"\")"
        if dt == RDFS.Datatype:
            raise self.fail(shape, "sh:datatype rdfs:Datatype")
        self.needs_ill_typed = True
        return (f"(isLiteral({v}) && lang({v}) = \"\" && sameTerm(datatype({v}), <{dt}>) && "
                f"NOT EXISTS {{ GRAPH {_ILL} {{ {_ILL} {_ILL} {v} }} }})")

    def value_test(self, shape: Node, p: Node, o: Node, v: str) -> str:
        """Does value node ``v`` satisfy the constraint ``p o`` of ``shape``?  (An expression that
        raises an error counts as false: the value does not conform.)"""
        return f"COALESCE({self.bare_test(shape, p, o, v)}, false)"

    def bare_test(self, shape: Node, p: Node, o: Node, v: str) -> str:
        sg = self.sg
        if p == SH["class"]:
            return self.has_class(v, o)
        if p == SH.datatype:
            return self.datatype(shape, v, o)
        if p == SH.nodeKind:
            if o not in _NODE_KINDS:
                raise self.fail(shape, "an unknown sh:nodeKind")
            return _NODE_KINDS[o].format(v=v)
        if p == SH["in"]:
            terms = [self.n3(shape, m) for m in self.items(shape, o)]
            return "(" + " || ".join(f"sameTerm({v}, {m})" for m in terms) + ")" if terms else "false"
        if p in _COMPARISONS:
            if not isinstance(o, Literal) or o.datatype not in _NUMERIC or getattr(o, "ill_typed", False):
                raise self.fail(shape, f"{p.n3(sg.namespace_manager)} with a bound that is not a number")
            self.ranges = True  # the bound is compared by value: the store's canonical form of it is the same number
            return f"COALESCE(isNumeric({v}) && {v} {_COMPARISONS[p]} {o.n3()}, false)"
        if p in (SH.minLength, SH.maxLength):
            op = ">=" if p == SH.minLength else "<="
            return f"(!isBlank({v}) && strlen(str({v})) {op} {literal_int(o)})"
        if p == SH.pattern:
            return self.pattern(shape, v, o)
        if p == SH.languageIn:
            tags = [str(t) for t in self.items(shape, o)]
            if not tags or any(not re.fullmatch(r"[A-Za-z]+(-[A-Za-z0-9]+)*", t) for t in tags):
                raise self.fail(shape, "an sh:languageIn list that is empty or not language tags")
            return f"(isLiteral({v}) && (" + " || ".join(f"langMatches(lang({v}), \"{t}\")" for t in tags) + "))"
        if p == SH.node:
            return self.conforms(o, v)
        if p in (SH["and"], SH["or"], SH.xone):
            members = self.items(shape, o)
            if not members:
                raise self.fail(shape, f"an empty {p.n3(sg.namespace_manager)} list")
            tests = [self.conforms(s, v) for s in members]
            if p == SH.xone:
                return "((" + " + ".join(f"IF({t}, 1, 0)" for t in tests) + ") = 1)"
            return "(" + (" && " if p == SH["and"] else " || ").join(tests) + ")"
        if p == SH["not"]:
            return f"(!{self.conforms(o, v)})"
        raise self.fail(shape, p.n3(sg.namespace_manager))

    def pattern(self, shape: Node, v: str, o: Node) -> str:
        flags = self.sg.value(shape, SH.flags)
        text = str(o)
        if not isinstance(o, Literal) or not _SAFE_PATTERN.match(text) or (flags is not None and str(flags) not in
                                                                          ("", "i")):
            raise self.fail(shape, "an sh:pattern outside the dialect both engines read alike")
        try:
            re.compile(text)
        except re.error as exc:
            raise self.fail(shape, f"an sh:pattern that does not compile ({exc})") from None
        quoted = text.replace("\\", "\\\\").replace('"', '\\"')
        flag = f', "{flags}"' if flags is not None and str(flags) else ""
        return f"(!isBlank({v}) && regex(str({v}), \"{quoted}\"{flag}))"

    # -- whole shapes, as a test of one focus node -------------------------------------------
    def conforms(self, shape: Node, v: str) -> str:
        """A boolean SPARQL expression: does node ``v`` conform to ``shape``?"""
        if shape in self.stack:
            raise self.fail(shape, "a shape that refers to itself")
        self.check(shape)
        if (shape, SH.deactivated, Literal(True)) in self.sg:
            return "true"
        self.stack.append(shape)
        try:
            tests = self.shape_tests(shape, v)
        finally:
            self.stack.pop()
        return "(" + " && ".join(tests) + ")" if tests else "true"

    def shape_tests(self, shape: Node, v: str) -> list[str]:
        sg = self.sg
        pth = sg.value(shape, SH.path)
        path = None if pth is None else self.path(shape, pth)
        tests = []
        for p, o in sorted(sg.predicate_objects(shape)):
            if p in _VALUE_TESTS:
                test = self.value_test(shape, p, o, (w := self.var()) if path else v)
                tests.append(f"NOT EXISTS {{ {_in(f'{v} {path} {w}')} FILTER(!{test}) }}" if path else test)
            elif p == SH.hasValue:
                c = self.n3(shape, o)
                tests.append(f"EXISTS {{ {_in(f'{v} {path} {c}')} }}" if path else f"sameTerm({v}, {c})")
            elif p == SH.property:
                if path is None:
                    tests.append(self.conforms(o, v))
                else:
                    w = self.var()
                    tests.append(f"NOT EXISTS {{ {_in(f'{v} {path} {w}')} FILTER(!{self.conforms(o, w)}) }}")
            elif p in _PAIRS:
                tests += [f"NOT EXISTS {{ {pattern} }}" for pattern in self.pair_violation(shape, p, o, v, path,
                                                                                           self.var())]
            elif p in (SH.closed, SH.uniqueLang) and o == Literal(True):
                tests.append(f"NOT EXISTS {{ {self.switch_violation(shape, p, v, path, self.var(), self.var())} }}")
        if path is None:
            if any(p in (SH.minCount, SH.maxCount, SH.qualifiedValueShape) for p in sg.predicates(shape)):
                raise self.fail(shape, "a count on a node shape")
            return tests
        for kind, test in ((SH.minCount, ""), (SH.maxCount, ""),
                           (SH.qualifiedMinCount, "q"), (SH.qualifiedMaxCount, "q")):
            n = sg.value(shape, kind)
            if n is None:
                continue
            value: Callable[[str], str] = (lambda w: "true") if not test else self.qualified(shape)  # noqa: E731
            count = literal_int(n)
            at_least = count if kind in (SH.minCount, SH.qualifiedMinCount) else count + 1
            if at_least > 3:
                raise self.fail(shape, "a count above 3 inside another shape")
            ws = [self.var() for _ in range(at_least)]
            distinct = [f"!sameTerm({a}, {b})" for a, b in itertools.combinations(ws, 2)]
            found = "true" if not ws else ("EXISTS { " + _in(" ".join(f"{v} {path} {w} ." for w in ws))
                                           + f" FILTER({' && '.join([value(w) for w in ws] + distinct)}) }}")
            tests.append(found if at_least == count else f"!{found}")
        return tests

    def qualified(self, shape: Node) -> Callable[[str], str]:
        """The test a value node passes to be counted by the qualified counts of ``shape``."""
        sg = self.sg
        q = sg.value(shape, SH.qualifiedValueShape)
        if q is None:
            raise self.fail(shape, "a qualified count without sh:qualifiedValueShape")
        siblings: list[Node] = []
        if (shape, SH.qualifiedValueShapesDisjoint, Literal(True)) in sg:
            parents = list(sg.subjects(SH.property, shape))
            siblings = list(sorted_terms({s for par in parents for prop in sg.objects(par, SH.property) if prop != shape
                                     for s in sg.objects(prop, SH.qualifiedValueShape)} - {q}))
        return lambda w: " && ".join([self.conforms(q, w)] + [f"!{self.conforms(s, w)}" for s in siblings])

    def pair_violation(self, shape: Node, p: Node, other: Node, v: str, path: str | None, w: str) -> list[str]:
        """Patterns binding ``w`` to each value that violates the property pair ``p other``
        of ``shape`` at focus ``v`` (the pattern of the property's values, or the focus)."""
        if not isinstance(other, URIRef):
            raise self.fail(shape, "a property pair with a property that is not an IRI")
        self.reads.add(other)
        o, x = other.n3(), self.var()
        mine = _in(f"{v} {path} {w} .") if path else f"BIND({v} AS {w})"
        if p == SH.equals:
            theirs = _in(f"{v} {o} {w} .")
            if path:
                return [f"{mine} FILTER NOT EXISTS {{ {_in(f'{v} {o} {w}')} }}",
                        f"{theirs} FILTER NOT EXISTS {{ {mine} }}"]
            return [f"{mine} FILTER NOT EXISTS {{ {_in(f'{v} {o} {v}')} }}", f"{theirs} FILTER(!sameTerm({w}, {v}))"]
        if p == SH.disjoint:
            return [f"{mine} {_in(f'{v} {o} {w} .')}"]
        if path is None:
            raise self.fail(shape, f"{p.n3(self.sg.namespace_manager)} on a node shape")
        op = "<" if p == SH.lessThan else "<="
        return [f"{mine} {_in(f'{v} {o} {x} .')} FILTER(!COALESCE({w} {op} {x}, false))"]

    def switch_violation(self, shape: Node, p: Node, v: str, path: str | None, w: str, pv: str) -> str:
        """A pattern matching each violation of ``sh:closed true`` of ``shape`` at focus ``v``, binding
        ``w`` to the value and ``pv`` to the property (``sh:uniqueLang`` is refused)."""
        sg = self.sg
        if p == SH.uniqueLang:
            # rdflib reads "1"^^xsd:boolean as true, so the reference applies sh:uniqueLang "1", which the
            # spec ignores (W3C property/uniqueLang-002): what the shapes graph meant cannot be told
            raise self.fail(shape, "sh:uniqueLang (rdflib cannot tell \"1\" from \"true\" in it)")
        if path is not None:
            raise self.fail(shape, "sh:closed on a property shape")
        allowed = {q for prop in sg.objects(shape, SH.property) for q in sg.objects(prop, SH.path)
                   if isinstance(q, URIRef)}
        for ignored in sg.objects(shape, SH.ignoredProperties):
            allowed |= {q for q in self.items(shape, ignored) if isinstance(q, URIRef)}
        keep = f" FILTER({pv} NOT IN ({', '.join(f'<{q}>' for q in sorted(allowed))}))" if allowed else ""
        return (f"{_in(f'{v} {pv} {w} .')}{keep} "
                f"FILTER(!(sameTerm({pv}, <{RDF.type}>) && sameTerm({w}, <{RDFS.Resource}>)))")

    # -- top level: one query per constraint ---------------------------------------------------
    def focus(self, shape: Node) -> str:
        """A pattern binding the graph variable and ``?this`` to each graph and focus node of
        ``shape``'s targets.  (It stands outside ``GRAPH ?g``: the store evaluates a ``GRAPH ?g``
        group without triple patterns, such as ``VALUES``, without binding ``?g``.)"""
        g = GRAPH_VAR
        sg = self.sg
        if (shape, SH.target, None) in sg:
            raise self.fail(shape, "sh:target")
        parts = []
        classes = sorted_terms(sg.objects(shape, SH.targetClass))
        if (shape, RDF.type, RDFS.Class) in sg:
            classes = sorted_terms(set(classes) | {shape})
        for cls in classes:
            if not isinstance(cls, URIRef):
                raise self.fail(shape, "a target class that is not an IRI")
            parts.append(f"GRAPH {g} {{ ?this {self.member()} <{cls}> }}")
        nodes = [self.n3(shape, n) for n in sorted_terms(sg.objects(shape, SH.targetNode))]
        self.focus_literals |= {n for n in sg.objects(shape, SH.targetNode) if isinstance(n, Literal)}
        if nodes:
            parts.append(f"GRAPH {g} {{ }} VALUES ?this {{ {' '.join(nodes)} }}")
        for kind, pattern in ((SH.targetSubjectsOf, "?this {p} ?ts"), (SH.targetObjectsOf, "?ts {p} ?this")):
            for p in sorted_terms(sg.objects(shape, kind)):
                if not isinstance(p, URIRef):
                    raise self.fail(shape, "a target property that is not an IRI")
                parts.append(f"GRAPH {g} {{ {pattern.format(p=f'<{p}>')} . }}")
                if kind == SH.targetObjectsOf:
                    self.reads.add(p)
        return " UNION ".join(f"{{ {part} }}" for part in parts)

    def emit(self, top: Node, shape: Node, focus: str, this: str, status: URIRef, out: list[ShapeQuery]) -> None:
        """The queries of every constraint of ``shape`` at each focus ``this`` bound by ``focus``."""
        sg = self.sg
        if shape in self.stack:
            raise self.fail(shape, "a shape that refers to itself")
        self.check(shape)
        if (shape, SH.deactivated, Literal(True)) in sg:
            return
        self.stack.append(shape)
        message = sg.value(shape, SH.message)
        pth = sg.value(shape, SH.path)
        path = None if pth is None else self.path(shape, pth)
        severity = sg.value(shape, SH.severity) or SH.Violation
        assert isinstance(severity, URIRef)
        cls = sorted_terms(sg.objects(top, SH.targetClass))

        def query(component: str, body: str, with_value: bool, grouped: bool = False,
                  path_var: str | None = None) -> None:
            head = f"SELECT DISTINCT {GRAPH_VAR} {this} {'?value' if with_value else ''} {path_var or ''}"
            where = body if grouped else f"{focus} {body}"
            out.append(ShapeQuery(node_shape=top, source_shape=shape, status=status, target=cls[0] if cls else None,
                                  message=str(message) if message is not None else "",
                                  sparql=f"{head} WHERE {{ {where} }}",
                                  with_value=with_value, component=_component(component), path=pth,
                                  severity=severity, path_column=path_var is not None))

        values = _in(f"{this} {path} ?value .") if path else f"BIND({this} AS ?value)"
        try:
            for p, o in sorted(sg.predicate_objects(shape)):
                if p in _VALUE_TESTS:
                    query(_VALUE_TESTS[p], f"{values} FILTER(!{self.value_test(shape, p, o, '?value')})", True)
                elif p == SH.hasValue:
                    c = self.n3(shape, o)
                    query("HasValue", f"FILTER NOT EXISTS {{ {_in(f'{this} {path} {c}')} }}" if path else
                          f"FILTER(!sameTerm({this}, {c}))", False)
                elif p in _PAIRS:
                    for pattern in self.pair_violation(shape, p, o, this, path, "?value"):
                        query(_PAIRS[p], pattern, True)
                elif p in (SH.closed, SH.uniqueLang) and o == Literal(True):
                    closed = p == SH.closed
                    query("Closed" if closed else "UniqueLang",
                          self.switch_violation(shape, p, this, path, "?value", "?closedPath"), closed,
                          path_var="?closedPath" if closed else None)
                elif p == SH.property:
                    if path is None:
                        self.emit(top, o, focus, this, status, out)
                    else:
                        inner = self.var()
                        self.emit(top, o, f"{focus} GRAPH {GRAPH_VAR} {{ {this} {path} {inner} . }}", inner, status,
                                  out)
            if path is None:
                if any(p in (SH.minCount, SH.maxCount, SH.qualifiedValueShape) for p in sg.predicates(shape)):
                    raise self.fail(shape, "a count on a node shape")
                return
            for kind, op, name in ((SH.minCount, "<", "MinCount"), (SH.maxCount, ">", "MaxCount"),
                                   (SH.qualifiedMinCount, "<", "QualifiedMinCount"),
                                   (SH.qualifiedMaxCount, ">", "QualifiedMaxCount")):
                n = sg.value(shape, kind)
                if n is None:
                    continue
                w = self.var()
                test = "true" if kind in (SH.minCount, SH.maxCount) else self.qualified(shape)(w)
                count, grouped = self.count(focus, this, path, w, test, op, literal_int(n))
                query(name, count, False, grouped)
        finally:
            self.stack.pop()

    def count(self, focus: str, this: str, path: str, w: str, test: str, op: str, n: int) -> tuple[str, bool]:
        """The body of a count constraint's query, and whether it is grouped (names its own graph)."""
        if op == "<" and n == 0:
            return "FILTER(false)", False
        if op == "<" and n == 1:
            return f"FILTER NOT EXISTS {{ {_in(f'{this} {path} {w}')} FILTER({test}) }}", False
        if op == ">" and n == 0:
            return f"FILTER EXISTS {{ {_in(f'{this} {path} {w}')} FILTER({test}) }}", False
        c = self.var()
        # a sub-SELECT inside GRAPH ?g is evaluated against the default graph: it names the graph itself
        return (f"{{ SELECT {GRAPH_VAR} {this} (COUNT(DISTINCT {w}) AS {c}) WHERE {{ {focus} "
                f"OPTIONAL {{ {_in(f'{this} {path} {w}')} FILTER({test}) }} }} "
                f"GROUP BY {GRAPH_VAR} {this} }} FILTER({c} {op} {n})"), True


def _top_shapes(sg: Graph) -> list[Node]:
    """The shapes with targets (explicit, or implicit: a shape that is an rdfs:Class)."""
    found: set[Node] = set()
    for kind in (*_TARGETS, SH.target):
        found |= set(sg.subjects(kind, None))
    for kind in (SH.NodeShape, SH.PropertyShape):
        found |= {s for s in sg.subjects(RDF.type, kind) if (s, RDF.type, RDFS.Class) in sg}
    return list(sorted_terms(found))


def compile_shapes(shapes: Shapes, individuals: Graph, *, statuses: bool = True) -> CompiledShapes:
    """Every violation query of ``shapes``; raises :class:`ShapesError` for SHACL the compiler
    cannot make exact.  ``individuals`` is the ontology's individuals graph (see
    :func:`kg.batch.compile.rule_tables`; an empty graph outside the project's domain).  With
    ``statuses`` (the default) every shape with targets must say its ``kg:statusOnViolation``, as
    the guideline library's do; without, shapes from anywhere compile (a status of ``kg:NotMet``).

    Each query comes in two forms (:attr:`ShapeQuery.sparql` and :attr:`ShapeQuery.flat_sparql`),
    for data with and without ``rdfs:subClassOf`` triples."""
    sg = shapes.graph
    onto_classes = frozenset(t for t in individuals.objects(None, RDF.type) if isinstance(t, URIRef))
    compilers = (_Compiler(sg, onto_classes), _Compiler(sg, onto_classes, subclasses=False))
    queries: list[ShapeQuery] = []
    flat: list[ShapeQuery] = []
    for shape in _top_shapes(sg):
        if (shape, SH.deactivated, Literal(True)) in sg:
            continue
        status = sg.value(shape, KG.statusOnViolation)
        if not statuses and status is None:
            status = KG.NotMet
        if not isinstance(status, URIRef) or status not in (KG.NotMet, KG.NotDocumented):
            raise ShapesError(f"shape {shape}: kg:statusOnViolation must be kg:NotMet or kg:NotDocumented")
        for compiler, out in zip(compilers, (queries, flat), strict=True):
            compiler.emit(shape, shape, compiler.focus(shape), "?this", status, out)
    compiler = compilers[0]
    for lit, form in _rewritten(set(compiler.constants)):
        raise ShapesError(f"shape {compiler.constants[lit]}: the literal {lit.n3()}, which the store keeps as "
                          f"{form.n3()}, is not supported by the SPARQL compiler")
    assert len(queries) == len(flat)
    both = tuple(replace(q, flat_sparql=f.sparql) for q, f in zip(queries, flat, strict=True))
    return CompiledShapes(queries=both, digest=shapes.digest, needs_ill_typed=compiler.needs_ill_typed,
                          ranges=compiler.ranges, reads=frozenset(compiler.reads),
                          focus_literals=frozenset(compiler.focus_literals))


def follows_subclasses(store: ox.Store) -> bool:
    """Does any graph of ``store`` hold an ``rdfs:subClassOf`` triple?  If not, every query's
    :attr:`~ShapeQuery.flat_sparql` gives the answers of its :attr:`~ShapeQuery.sparql`: a class
    has no members but its own (``?x a ?c . ?c rdfs:subClassOf+ C`` cannot match)."""
    import pyoxigraph as ox

    return next(iter(store.quads_for_pattern(None, ox.NamedNode(str(RDFS.subClassOf)), None, None)), None) is not None


@dataclass(frozen=True)
class CompiledResult:
    """One violation found by :func:`validate_graph`."""

    focus: Node
    path: Node | None
    value: Node | None
    component: URIRef
    source_shape: Node
    severity: URIRef
    message: str


def _compared_otherwise(lit: Literal) -> bool:
    """Might the reference (rdflib's Python comparisons) order ``lit`` differently from SPARQL?  Only
    numbers (not NaN or infinite) and strings are known to compare alike (a boolean is a number to
    Python, a date compares with a number one way only)."""
    if getattr(lit, "ill_typed", None) is True or lit.datatype not in (_NUMERIC | {None, XSD.string}):
        return True
    return lit.datatype in (XSD.double, XSD.float) and str(lit).strip().lstrip("+-").upper() in ("NAN", "INF")


def validate_graph(data: Graph, compiled: CompiledShapes, *, subclasses: bool | None = None) -> list[CompiledResult]:
    """The violations of ``compiled`` in ``data`` (not changed), found in a pyoxigraph store.

    ``subclasses`` chooses the form of the queries (:meth:`ShapeQuery.text`); by default the
    general one where ``data`` has an ``rdfs:subClassOf`` triple, else the faster flat one.
    Raises :class:`ShapesError` when ``data`` holds literals the store would keep as other terms
    (the answers could then differ from the reference's)."""
    import pyoxigraph as ox

    from kg.rdf import OxigraphTerms

    # only the literals that can be value or focus nodes can change an answer (target nodes are
    # the shapes' constants, checked when they were compiled)
    every = [o for p in compiled.reads for o in data.objects(None, p) if isinstance(o, Literal)]
    every += sorted(compiled.focus_literals, key=str)
    literals = set(every)
    flags: dict[Literal, set[bool]] = {}
    for lit in every:
        flags.setdefault(lit, set()).add(getattr(lit, "ill_typed", None) is True)
    for lit, seen in flags.items():
        if len(seen) > 1:  # rdflib gave an ill-typed literal the lexical form of a well-typed one
            raise ShapesError(f"data: the literal {lit.n3()}, once well-typed and once not (as rdflib read it), "
                              "is not supported by the SPARQL compiler")
    if compiled.ranges:
        for lit in sorted(literals, key=str):
            if _compared_otherwise(lit):
                raise ShapesError(f"data: the literal {lit.n3()} under a value range is not supported by the "
                                  "SPARQL compiler (the reference compares it as Python does)")
    for lit, form in _rewritten(literals):
        raise ShapesError(f"data: the literal {lit.n3()}, which the store keeps as {form.n3()}, is not "
                          "supported by the SPARQL compiler")
    graph = "urn:imrkg:data"
    store = ox.Store()
    cache: dict[Node, ox.NamedNode | ox.BlankNode | ox.Literal] = {}  # terms recur: convert each once
    quads = [_ox_quad(t, ox.NamedNode(graph), cache) for t in data]
    if not quads:  # the graph must exist for ``GRAPH ?g`` to bind it (target nodes have results in empty data):
        # one triple of fresh IRIs no shape can name
        import uuid

        fresh = ox.NamedNode(f"urn:uuid:{uuid.uuid4()}")
        quads.append(ox.Quad(fresh, fresh, fresh, ox.NamedNode(graph)))
    if compiled.needs_ill_typed:
        ill = ox.NamedNode(ILL_TYPED_GRAPH)
        quads += [_ox_quad((URIRef(ILL_TYPED_GRAPH), URIRef(ILL_TYPED_GRAPH), lit), ill)
                  for lit in ill_typed_literals(every)]
    store.extend(quads)
    terms = OxigraphTerms()
    out = []
    if subclasses is None:
        subclasses = follows_subclasses(store)
    for q in compiled.queries:
        solutions = store.query(q.text(subclasses))
        assert isinstance(solutions, ox.QuerySolutions)
        for row in solutions:
            if row[0].value != graph:
                continue
            value = terms(row[2]) if q.with_value and row[2] is not None else None
            path = terms(row[3]) if q.path_column else q.path
            out.append(CompiledResult(focus=terms(row[1]), path=path, value=value, component=q.component,
                                      source_shape=q.source_shape, severity=q.severity, message=q.message))
    return out


def _ox_quad(triple: tuple[Node, Node, Node], graph: ox.NamedNode,
             cache: dict[Node, ox.NamedNode | ox.BlankNode | ox.Literal] | None = None) -> ox.Quad:
    """An rdflib triple as a pyoxigraph quad (:func:`kg.rdf.to_oxigraph` per term, remembered in
    ``cache`` when given); a triple that is not RDF (a literal subject) a ShapesError."""
    import pyoxigraph as ox

    def term(t: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
        if cache is None:
            return to_oxigraph(t)
        found = cache.get(t)
        if found is None:
            found = cache[t] = to_oxigraph(t)
        return found

    s, p, o = (term(t) for t in triple)
    if isinstance(s, ox.Literal) or not isinstance(p, ox.NamedNode):
        raise ShapesError(f"data: {triple!r} is not an RDF triple")
    return ox.Quad(s, p, o, graph)
