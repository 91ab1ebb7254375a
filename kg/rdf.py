"""RDF vocabulary of imr-kg: its namespaces, the case IRIs, the prefixes it writes with, the
one conversion of terms between pyoxigraph and rdflib (both ways), and the few typed helpers every stage
uses to read terms off a graph.

Every module that names an imr-kg term imports the namespace from here; no other module
declares one or spells the ontology's IRI.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Iterable, Iterator, Protocol

from rdflib import XSD, BNode, Graph, Literal, Namespace, URIRef
from rdflib.term import Identifier, Node

if TYPE_CHECKING:
    import pyoxigraph as ox

    #: a term of a pyoxigraph query result or quad (an RDF-star triple is a term too)
    OxTerm = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple

__all__ = ["KG", "OA", "PROV", "DCTERMS", "MTUS", "CASE_BASE", "PREFIXES", "bind_prefixes", "prefixed",
           "from_oxigraph", "OxigraphTerms", "to_oxigraph", "oxigraph_quad", "GraphReader", "literal_int",
           "sorted_terms", "ontology_graph", "summary_text"]


class _Namespace(Namespace):
    """An rdflib namespace that makes each term once (``KG.Met`` is looked up in hot loops;
    rdflib builds and validates a new URIRef on every attribute access)."""

    def __getattr__(self, name: str) -> URIRef:
        term = super().__getattr__(name)
        self.__dict__[name] = term  # found directly next time, without __getattr__
        return term


KG = _Namespace("https://w3id.org/imr-kg/ont#")
MTUS = Namespace("https://w3id.org/imr-kg/mtus/")
OA = _Namespace("http://www.w3.org/ns/oa#")
PROV = _Namespace("http://www.w3.org/ns/prov#")
DCTERMS = Namespace("http://purl.org/dc/terms/")

#: The IRI prefix of every case: ``<CASE_BASE><case id>/``.
CASE_BASE = "https://w3id.org/imr-kg/case/"

#: The prefixes imr-kg writes and reads with: its own vocabulary, the case IRIs and the standard
#: vocabularies its graphs use.  Tables print IRIs with them; ad-hoc queries may use them undeclared.
PREFIXES: dict[str, str] = {
    "kg": str(KG), "mtus": str(MTUS), "case": CASE_BASE, "oa": str(OA), "prov": str(PROV),
    "dcterms": str(DCTERMS), "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#", "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#", "sh": "http://www.w3.org/ns/shacl#",
}


def bind_prefixes(graph: Graph) -> Graph:
    """Bind the prefixes imr-kg writes with; returns the same graph."""
    for prefix, ns in (("kg", KG), ("mtus", MTUS), ("oa", OA), ("prov", PROV), ("dcterms", DCTERMS)):
        graph.bind(prefix, ns, override=True)
    return graph


def prefixed(iri: str) -> str:
    """``iri`` for display: a prefixed name with :data:`PREFIXES` where one fits (the longest
    namespace), else the IRI in angle brackets.  (The local part is shown as is, slashes too.)

    >>> prefixed("https://w3id.org/imr-kg/ont#Met")
    'kg:Met'
    >>> prefixed("https://w3id.org/imr-kg/case/seed-tpi-2015/r1")
    'case:seed-tpi-2015/r1'
    >>> prefixed("https://example.org/x")
    '<https://example.org/x>'
    """
    best = ""
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and len(ns) > len(PREFIXES.get(best, "")):
            best = prefix
    return f"{best}:{iri[len(PREFIXES[best]):]}" if best else f"<{iri}>"


def summary_text(*fields: str) -> str:
    """The text of an item's summary literal (``kg:determinationSummary``, ``kg:outcomeByMonth`` ...):
    its fields joined by ``|``, an absent one empty.  The aggregate queries count the items per
    summary and split the few distinct summaries after (``STRBEFORE``/``STRAFTER``), which reads
    one predicate per item instead of joining several.  No IRI holds a ``|`` (RFC 3987); only the
    last field may be free text, which may then hold one, as the split stops before it.

    >>> summary_text("https://w3id.org/imr-kg/ont#Upheld", "2016-02")          # kg:outcomeByMonth
    'https://w3id.org/imr-kg/ont#Upheld|2016-02'
    >>> summary_text("https://w3id.org/imr-kg/ont#NoCitation", "")            # undated kg:citationBasisByDate
    'https://w3id.org/imr-kg/ont#NoCitation|'
    >>> summary_text("a|b", "c")
    Traceback (most recent call last):
    ValueError: a summary field other than the last holds '|': 'a|b'
    """
    for f in fields[:-1]:
        if "|" in f:
            raise ValueError(f"a summary field other than the last holds '|': {f!r}")
    return "|".join(fields)


# ---------------------------------------------------------------------------
# Reading terms off a graph
# ---------------------------------------------------------------------------
class GraphReader(Protocol):
    """The part of rdflib's :class:`~rdflib.Graph` the engine reads a case's facts with.

    An rdflib graph is one; so is the batch engine's index of a case's triples
    (:mod:`kg.batch.engine`), which answers the same calls without a graph.
    """

    def value(self, subject: Node | None = ..., predicate: Node = ..., object: Node | None = ...,
              default: Node | None = ..., any: bool = ...) -> Node | None: ...

    def objects(self, subject: Node | None = ..., predicate: Node | None = ...) -> Iterator[Node]: ...

    def predicate_objects(self, subject: Node | None = ...) -> Iterator[tuple[Node, Node]]: ...

    def subject_objects(self, predicate: Node | None = ...) -> Iterator[tuple[Node, Node]]: ...

    def __contains__(self, triple: tuple[Node, Node, Node]) -> bool: ...


def literal_int(term: Node | None) -> int:
    """``int(term)`` for a term read off a graph, typically an ``xsd:integer`` literal.

    Raises TypeError when there is no term (as ``int(None)`` does) and ValueError when its
    text is not an integer.

    >>> literal_int(Literal(3))
    3
    """
    if not isinstance(term, str):  # every rdflib term is a str; None is not
        raise TypeError(f"int() argument must be an RDF term, not {type(term).__name__!r}")
    return int(term)


def sorted_terms(nodes: Iterable[Node]) -> list[Identifier]:
    """``nodes`` sorted as rdflib orders terms (by kind, then by text).

    Every term of a graph parsed from Turtle or N-Quads is an rdflib
    :class:`~rdflib.term.Identifier`; anything else (a formula graph) raises TypeError.

    >>> [str(t) for t in sorted_terms([URIRef("urn:b"), URIRef("urn:a")])]
    ['urn:a', 'urn:b']
    """
    terms: list[Identifier] = []
    for node in nodes:
        if not isinstance(node, Identifier):
            raise TypeError(f"not an RDF term: {node!r}")
        terms.append(node)
    return sorted(terms)


# ---------------------------------------------------------------------------
# Terms between the embedded store (pyoxigraph) and rdflib
# ---------------------------------------------------------------------------
_XSD_STRING = str(XSD.string)


def from_oxigraph(term: OxTerm) -> Node:
    """A pyoxigraph term (named node, blank node or literal) as the equal rdflib term
    (``xsd:string`` literals plain, as rdflib writes them); TypeError for anything else."""
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        dt = term.datatype.value
        return Literal(term.value, datatype=None if dt == _XSD_STRING else URIRef(dt))
    raise TypeError(f"not an RDF term: {term!r}")


class OxigraphTerms:
    """:func:`from_oxigraph` with a memory: each distinct term converted once (a result's
    columns repeat the same terms many times)."""

    def __init__(self) -> None:
        self.cache: dict[OxTerm, Node] = {}

    def __call__(self, term: OxTerm) -> Node:
        hit = self.cache.get(term)
        if hit is None:
            hit = self.cache[term] = from_oxigraph(term)
        return hit


def to_oxigraph(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """An rdflib term as the equal pyoxigraph term (a plain literal typed ``xsd:string``);
    the inverse of :func:`from_oxigraph`."""
    import pyoxigraph as ox

    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if not isinstance(term, Literal):
        raise TypeError(f"not an RDF term: {term!r}")
    if term.language:
        return ox.Literal(str(term), language=term.language)
    return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype or _XSD_STRING)))


def oxigraph_quad(triple: tuple[Node, Node, Node], graph: ox.NamedNode | ox.DefaultGraph) -> ox.Quad:
    """An rdflib triple as a pyoxigraph quad in ``graph``; TypeError for a literal subject or a
    predicate that is not an IRI (what pyoxigraph would refuse)."""
    import pyoxigraph as ox

    s, p, o = (to_oxigraph(t) for t in triple)
    if isinstance(s, ox.Literal) or not isinstance(p, ox.NamedNode):
        raise TypeError(f"not an RDF triple: {triple!r}")
    return ox.Quad(s, p, o, graph)


@lru_cache(maxsize=1)
def ontology_graph() -> Graph:
    """The packaged ontology as one rdflib graph, parsed once per process by pyoxigraph (a third
    of rdflib's own parse time; the same triples) with the files' prefixes bound.  Shared by the
    vocabulary, the drug lexicon and the reasoner: do not mutate it."""
    import pyoxigraph as ox

    from kg.resources import data_files

    g = Graph()
    for path in data_files("ontology"):
        parser = ox.parse(path=str(path), format=ox.RdfFormat.TURTLE, base_iri=path.absolute().as_uri())
        for t in parser:
            g.add((from_oxigraph(t.subject), from_oxigraph(t.predicate), from_oxigraph(t.object)))
        for prefix, ns in parser.prefixes.items():
            g.bind(prefix, ns, override=False)
    return g
