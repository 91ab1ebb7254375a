"""RDF vocabulary of imr-kg: its namespaces, the case IRIs, the prefixes it writes with, and
the one conversion of pyoxigraph terms into rdflib terms.

Every module that names an imr-kg term imports the namespace from here; no other module
declares one or spells the ontology's IRI.
"""

from __future__ import annotations

from rdflib import XSD, BNode, Graph, Literal, Namespace, URIRef
from rdflib.term import Node

__all__ = ["KG", "OA", "PROV", "DCTERMS", "MTUS", "CASE_BASE", "bind_prefixes", "from_oxigraph", "OxigraphTerms"]


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


def bind_prefixes(graph: Graph) -> Graph:
    """Bind the prefixes imr-kg writes with; returns the same graph."""
    for prefix, ns in (("kg", KG), ("mtus", MTUS), ("oa", OA), ("prov", PROV), ("dcterms", DCTERMS)):
        graph.bind(prefix, ns, override=True)
    return graph


# ---------------------------------------------------------------------------
# Terms from the embedded store (pyoxigraph) as rdflib terms
# ---------------------------------------------------------------------------
_XSD_STRING = str(XSD.string)


def from_oxigraph(term: object) -> Node:
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
        self.cache: dict[object, Node] = {}

    def __call__(self, term: object) -> Node:
        hit = self.cache.get(term)
        if hit is None:
            hit = self.cache[term] = from_oxigraph(term)
        return hit
