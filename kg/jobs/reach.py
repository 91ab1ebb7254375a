"""Which stored cases a shapes change can reach: the shapes graph cut into one part per guideline
section and a global rest, each part digested, and the classes each section decides.

A stored determination is stamped with the digest of the shapes that made it (see
:func:`kg.engine.determine.stamp_of`).  When the shapes change, most cases are not touched by the
change: a section's criteria are only assessed for the requests its classes (``kg:appliesTo`` of the
section and its criteria, ``sh:targetClass`` of its shapes) type.  So a re-determination compares the
parts of the old shapes with those of the new ones (:func:`reached_classes`) and determines again only
the cases with a request of a class a changed, added or removed section decides; every other case
keeps its results and gets the new stamp.

A section's *part* is the section node's triples, those of its criteria (``kg:inSection``), those of
the criteria's shapes (``kg:criterion``) and of every blank node under them.  Everything else (the
guideline versions, shared helper shapes, anything not tied to a section) is the *global* part: when it
changes, every case is determined again.  The comparison never guesses in the unsafe direction:

* a part is described canonically by unfolding its blank nodes as nested, sorted descriptions
  (their labels differ per parse); a part whose blank nodes are not trees (shared or cyclic) gets no
  digest and counts as changed whenever the shapes do;
* a section whose shapes target anything but classes (``sh:targetNode``, ``sh:targetSubjectsOf``,
  ``sh:targetObjectsOf``, ``sh:target``, an implicit class target) reaches every case;
* a section whose part names a node of another section's part depends on it: a change to either
  reaches both sections' classes;
* the classes are widened to their subclasses (the ontology's and the shapes' ``rdfs:subClassOf``).

Each stamp's parts are kept in the store as a *manifest*, the named graph
``https://w3id.org/imr-kg/graph/shapes/<digest>`` (:func:`remember_shapes`), so that the parts of
shapes no longer on disk can be compared.  A stamp without a manifest (a store written before
manifests, or by hand) gets every case determined again.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Mapping

from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg.rdf import KG

if TYPE_CHECKING:
    from kg.engine.validate import Shapes
    from kg.store.store import Store

__all__ = ["MANIFEST_BASE", "Part", "Manifest", "manifest_of", "manifest_graph", "remember_shapes", "read_manifest",
           "reached_classes", "with_subclasses"]

#: the named graph of a shapes digest's manifest is this IRI followed by the digest
MANIFEST_BASE = "https://w3id.org/imr-kg/graph/shapes/"

_SH = "http://www.w3.org/ns/shacl#"
_TARGET_CLASS = URIRef(_SH + "targetClass")
#: targets that reach nodes by something other than their class: the section reaches every case
_OTHER_TARGETS = tuple(URIRef(_SH + t) for t in ("targetNode", "targetSubjectsOf", "targetObjectsOf", "target"))


@dataclass(frozen=True)
class Part:
    """One section's part of a shapes graph: its ``digest`` ("" when it cannot be described
    canonically: compared as changed), the ``classes`` whose requests it decides (None: every
    case) and the other sections whose nodes it names (``uses``)."""

    digest: str
    classes: frozenset[str] | None
    uses: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Manifest:
    """The parts of one shapes graph: the ``global_digest`` of what belongs to no section ("" when
    it cannot be described canonically) and each section's :class:`Part`, by section IRI."""

    shapes_digest: str
    global_digest: str
    sections: Mapping[str, Part]


class _NotATree(Exception):
    """A blank node met twice: the part has no canonical unfolding."""


def _describe(g: Graph, node: Node, seen: set[Node]) -> str:
    """``node`` as text: a named node or literal as N-Triples, a blank node as the sorted
    descriptions of its triples (raises :class:`_NotATree` for a blank node met twice, in this
    description or an earlier one sharing ``seen``)."""
    if not isinstance(node, BNode):
        return node.n3()
    if node in seen:
        raise _NotATree
    seen.add(node)
    inner = sorted(f"{p.n3()} {_describe(g, o, seen)}" for p, o in g.predicate_objects(node))
    return "[" + " ; ".join(inner) + "]"


def _digest(g: Graph, subjects: Iterable[Node], seen: set[Node]) -> str:
    """SHA-256 of the sorted descriptions of the triples of ``subjects`` (a blank one described
    whole, as a root), or "" when a blank node is met twice."""
    lines: list[str] = []
    try:
        for s in subjects:
            if isinstance(s, BNode):
                lines.append(_describe(g, s, seen))
            else:
                lines.extend(f"{s.n3()} {p.n3()} {_describe(g, o, seen)}" for p, o in g.predicate_objects(s))
    except _NotATree:
        return ""
    lines.sort()
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode("utf-8") + b"\n")
    return h.hexdigest()


def _closure(g: Graph, roots: Iterable[Node]) -> set[Node]:
    """``roots`` and every blank node under them."""
    out: set[Node] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node in out:
            continue
        out.add(node)
        stack.extend(o for _, o in g.predicate_objects(node) if isinstance(o, BNode))
    return out


def manifest_of(shapes: Shapes) -> Manifest:
    """The parts of ``shapes``: one per ``kg:GuidelineSection`` and the global rest."""
    g = shapes.graph
    members: dict[Node, set[Node]] = {}
    for section in g.subjects(RDF.type, KG.GuidelineSection):
        criteria = set(g.subjects(KG.inSection, section))
        members[section] = {section} | criteria | {s for c in criteria for s in g.subjects(KG.criterion, c)}
    owner: dict[Node, set[Node]] = {}
    for section, nodes in members.items():
        for n in nodes:
            owner.setdefault(n, set()).add(section)
    sections: dict[str, Part] = {}
    in_parts: set[Node] = set()
    for section, nodes in members.items():
        closure = _closure(g, nodes)
        in_parts |= closure
        names = {o for n in closure for o in g.objects(n) if isinstance(o, URIRef)}  # what the part names
        uses = {str(o) for n in names for o in owner.get(n, ()) if o != section}
        sections[str(section)] = Part(digest=_digest(g, sorted(nodes, key=str), set()), classes=_classes(g, nodes),
                                      uses=frozenset(uses))
    rest = [s for s in set(g.subjects()) if s not in in_parts]
    seen: set[Node] = set()
    named = sorted((s for s in rest if not isinstance(s, BNode)), key=str)
    # blank nodes no triple names: described whole (in any order: _digest sorts its lines)
    roots = [s for s in rest if isinstance(s, BNode) and not any(True for _ in g.subject_predicates(s))]
    global_digest = _digest(g, [*named, *roots], seen)
    if global_digest and any(isinstance(s, BNode) and s not in seen for s in rest):
        global_digest = ""  # a cycle of blank nodes no root reaches
    return Manifest(shapes_digest=shapes.digest, global_digest=global_digest, sections=sections)


def _classes(g: Graph, nodes: set[Node]) -> frozenset[str] | None:
    """The classes a section's nodes decide, or None when one of them targets by other means."""
    classes: set[str] = set()
    for n in nodes:
        if any((n, t, None) in g for t in _OTHER_TARGETS) or any(
                (n, RDF.type, c) in g for c in (RDFS.Class, OWL.Class)):
            return None
        classes |= {str(o) for p in (KG.appliesTo, _TARGET_CLASS) for o in g.objects(n, p) if isinstance(o, URIRef)}
    return frozenset(classes)


def reached_classes(old: Manifest, new: Manifest) -> frozenset[str] | None:
    """The classes whose requests a change from the shapes ``old`` to ``new`` can decide
    differently, or None when it can reach every case (the global part changed, or a changed
    section targets by other means than classes).  Unwidened: see :func:`with_subclasses`."""
    if not old.global_digest or old.global_digest != new.global_digest:
        return None
    names = set(old.sections) | set(new.sections)
    changed = {s for s in names if not _same(old.sections.get(s), new.sections.get(s))}
    grown = True
    while grown:  # a section that names a changed section's nodes is changed too
        more = {s for s in names - changed
                for m in (old, new) if s in m.sections and m.sections[s].uses & changed}
        grown = bool(more)
        changed |= more
    classes: set[str] = set()
    for s in changed:
        for m in (old, new):
            part = m.sections.get(s)
            if part is None:
                continue
            if part.classes is None:
                return None
            classes |= part.classes
    return frozenset(classes)


def _same(a: Part | None, b: Part | None) -> bool:
    """Whether a section's part is the same in both shapes (and has a digest)."""
    return a is not None and a == b and bool(a.digest)


def with_subclasses(classes: Iterable[str], *graphs: Graph) -> frozenset[str]:
    """``classes`` and every class below them by ``rdfs:subClassOf`` in ``graphs``."""
    below: dict[str, set[str]] = {}
    for g in graphs:
        for sub, sup in g.subject_objects(RDFS.subClassOf):
            if isinstance(sub, URIRef) and isinstance(sup, URIRef):
                below.setdefault(str(sup), set()).add(str(sub))
    out: set[str] = set()
    stack = list(classes)
    while stack:
        c = stack.pop()
        if c not in out:
            out.add(c)
            stack.extend(below.get(c, ()))
    return frozenset(out)


def manifest_graph(manifest: Manifest) -> tuple[URIRef, Graph]:
    """The manifest's named graph and its triples: ``<graph> kg:partDigest`` the global digest;
    per section ``kg:partDigest``, ``kg:reachesClass`` (or ``kg:reachesEveryCase true``) and
    ``kg:usesPartOf``."""
    iri = URIRef(MANIFEST_BASE + manifest.shapes_digest)
    g = Graph()
    g.add((iri, KG.partDigest, Literal(manifest.global_digest)))
    for name, part in manifest.sections.items():
        s = URIRef(name)
        g.add((s, KG.partDigest, Literal(part.digest)))
        if part.classes is None:
            g.add((s, KG.reachesEveryCase, Literal(True)))
        for c in sorted(part.classes or ()):
            g.add((s, KG.reachesClass, URIRef(c)))
        for u in sorted(part.uses):
            g.add((s, KG.usesPartOf, URIRef(u)))
    return iri, g


def remember_shapes(store: Store, shapes: Shapes | None = None) -> None:
    """Keep the manifest of ``shapes`` (default: the packaged shapes) in ``store`` unless it is
    there already: what a later shapes change is compared with."""
    from kg.engine.validate import default_shapes

    shapes = shapes if shapes is not None else default_shapes()
    iri = MANIFEST_BASE + shapes.digest
    if store.query(f"ASK {{ GRAPH <{iri}> {{ <{iri}> <{KG.partDigest}> ?d }} }}").boolean:
        return
    store.put_graph(*manifest_graph(manifest_of(shapes)), f"the manifest of shapes {shapes.digest[:12]}")


def read_manifest(store: Store, shapes_digest: str) -> Manifest | None:
    """The manifest kept in ``store`` for ``shapes_digest``, or None when there is none (or the
    digest, read from a stored stamp, is not a SHA-256 in hex: nothing of it goes into a query)."""
    if not re.fullmatch(r"[0-9a-f]{64}", shapes_digest):
        return None
    iri = MANIFEST_BASE + shapes_digest
    rows = store.query(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{iri}> {{ ?s ?p ?o }} }}").rows
    if not rows:
        return None
    digests: dict[str, str] = {}
    classes: dict[str, set[str]] = {}
    every: set[str] = set()
    uses: dict[str, set[str]] = {}
    for s, p, o in rows:
        name, pred = str(s), str(p)
        if pred == str(KG.partDigest):
            digests[name] = str(o)
        elif pred == str(KG.reachesClass):
            classes.setdefault(name, set()).add(str(o))
        elif pred == str(KG.reachesEveryCase):
            every.add(name)
        elif pred == str(KG.usesPartOf):
            uses.setdefault(name, set()).add(str(o))
    if iri not in digests:
        return None
    sections = {name: Part(digest=d, classes=None if name in every else frozenset(classes.get(name, ())),
                           uses=frozenset(uses.get(name, ())))
                for name, d in digests.items() if name != iri}
    return Manifest(shapes_digest=shapes_digest, global_digest=digests[iri], sections=sections)
