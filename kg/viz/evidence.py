"""The evidence graph of a determined case: what the audit pictures and pages are drawn from.

After :mod:`kg.viz.markup`, before the drawing.  :func:`evidence_graph` reads the four
named graphs of a determined case (from a store, or by determining a
:class:`kg.engine.graph.CaseGraph` in memory) and builds a :class:`networkx.DiGraph`::

    case -> request -> engine decision -> guideline (section, version) -> criterion (status)
         -> evidence fact (asserted or inferred) -> source quote (document, offsets)
    request -> reviewer decision;  engine decision -> reviewer decision (agrees / disagrees)
    evidence fact -> input (a recorded fact a derived value on it was computed from) -> source quote

A criterion's edge to a fact carries ``not_counted``: why the fact did not count for it ("" when
it may have), read from the stored determination's ``kg:EvidenceNote`` nodes.  A fact's edge to
an input carries the derived value (``derived``, ``derived_label``, ``value``, ``definition``).

Node ids are short and stable (``request:r1``, ``criterion:r1/4``, ``fact:dx-radiculitis``,
``quote:seed-letter@1290-1314``); every node has ``kind`` and ``label`` attributes.  Nodes and
edges are added in a fixed order, so everything drawn from the graph is byte-stable; documents
are named by file name only, never by a path of the machine.  Nothing here mutates its input.

>>> from kg.read.casefile import parse_case
>>> from kg.engine.graph import build_case_graph
>>> g = evidence_graph(build_case_graph(parse_case({"case": "c1", "requests": [
...     {"id": "r1", "service": "trigger_point_injection", "text": "TPI", "date": "2015-01-05"}]})))
>>> g.nodes["decision:r1"]["conclusion"], g.nodes["criterion:r1/1"]["status"]
('not_medically_necessary', 'not_documented')
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from rdflib import RDF, RDFS, SKOS, Graph, Literal, URIRef
from rdflib.term import Node

from kg.engine.graph import CaseGraph, case_iri
from kg.engine.guidelines import criterion_role
from kg.rdf import KG, OA, PROV
from kg.viz.markup import clean_text

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

    from kg.store.store import Store

__all__ = ["STATUS_COLOURS", "STATUS_WORDS", "CONCLUSION_WORDS", "STATUS_NAMES", "CASE_ID", "local_name",
           "evidence_graph", "as_evidence_graph"]

#: Fill colour of a criterion by status (the page, the SVG and the PNG use the same).
STATUS_COLOURS = {"met": "#2e7d32", "not_met": "#c62828", "not_documented": "#b33c00",
                  "not_applicable": "#757575"}
STATUS_WORDS = {"met": "met", "not_met": "not met", "not_documented": "not documented",
                "not_applicable": "not applicable"}
CONCLUSION_WORDS = {"medically_necessary": "medically necessary",
                    "not_medically_necessary": "not medically necessary",
                    "not_covered": "not covered by an encoded guideline section"}
#: The status word of each status individual of the ontology (``kg:Met`` is ``met``).
STATUS_NAMES: dict[Node | None, str] = {KG.Met: "met", KG.NotMet: "not_met", KG.NotDocumented: "not_documented",
                                        KG.NotApplicable: "not_applicable"}
#: What a case id looks like (letters, digits, ``.``, ``_`` and ``-``); checked before a store is asked.
CASE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

_CONCLUSION_NAMES: dict[Node | None, str] = {
    KG.MedicallyNecessary: "medically_necessary", KG.NotMedicallyNecessary: "not_medically_necessary",
    KG.NotCovered: "not_covered"}


def local_name(iri: Node | None) -> str:
    """The last segment of an IRI, after its ``#`` or last ``/`` (``kg:Met`` gives ``Met``)."""
    return str(iri).rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _natural(text: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key that puts ``r2`` before ``r10``."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", text) if p)


def _guidelines_graph(store: "Store | None") -> Graph:
    """The ontology and shapes: the store's guidelines graph, else the packaged ones."""
    if store is not None:
        from kg.store.store import GUIDELINES_GRAPH

        res = store.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{GUIDELINES_GRAPH}> {{ ?s ?p ?o }} }}")
        if res.graph is not None and len(res.graph):
            return res.graph
    from kg.engine.reason import load_ontology
    from kg.engine.validate import default_shapes

    g = Graph()
    for t in load_ontology():
        g.add(t)
    for t in default_shapes().graph:
        g.add(t)
    return g


def _case_graphs(source: "CaseGraph | Store", case_id: str | None) -> tuple[str, dict[str, Graph], Graph]:
    from kg.store.store import Store

    if isinstance(source, CaseGraph):
        from kg.engine.determine import determine_case
        from kg.store.store import case_graphs

        return source.case_id, case_graphs(source, determine_case(source)), _guidelines_graph(None)
    if isinstance(source, Store):
        if not case_id:
            raise ValueError("give the id of the case to read from the store")
        from kg.store.store import GRAPH_NAMES

        graphs = {n: source.case_graph(case_id, n) for n in GRAPH_NAMES}
        if not len(graphs["asserted"]):
            raise KeyError(f"no case '{case_id}' in the store")
        return case_id, graphs, _guidelines_graph(source)
    raise TypeError(f"expected a CaseGraph or a Store, not {type(source).__name__}")


def _date_text(value: Node | None) -> str:
    return str(value) if value is not None else ""


def _agreement(conclusion: str, reviewer: str) -> str:
    if not reviewer or conclusion == "not_covered":
        return "not compared"
    return "agrees" if (reviewer == "overturned") == (conclusion == "medically_necessary") else "disagrees"


def evidence_graph(source: "CaseGraph | Store", case_id: str | None = None) -> "nx.DiGraph[str]":
    """The evidence graph of one determined case as a new :class:`networkx.DiGraph`.

    ``source`` is a :class:`kg.engine.graph.CaseGraph` (determined here, in memory) or a store, with
    ``case_id`` naming the case in it (its stored determination is drawn, not a new one).  Nodes
    and edges are added in a fixed order, so exports are byte-stable.  Raises ``KeyError`` when the
    store has no such case.  Nothing is mutated.
    """
    import networkx as nx

    cid, graphs, guide = _case_graphs(source, case_id)
    a, inf, det, rev = graphs["asserted"], graphs["inferred"], graphs["determination"], graphs["reviewer"]
    base = str(case_iri(cid))

    def short(iri: Node) -> str:
        text = str(iri)
        return text[len(base):] if text.startswith(base) else local_name(iri)

    def label_of(node: Node | None) -> str:
        if node is None:
            return ""
        value = guide.value(node, RDFS.label) or a.value(node, RDFS.label)
        return clean_text(value) if value is not None else local_name(node)

    facts: Graph | None = None  # asserted and inferred together, made when a fact is first drawn
    g: nx.DiGraph[str] = nx.DiGraph(case_id=cid, engine_version="")
    g.add_node("case", kind="case", label=f"Case {cid}", case_id=cid)
    determinations = {det.value(d, KG.determinationFor): d for d in det.subjects(RDF.type, KG.Determination)}
    requests = sorted(a.objects(URIRef(base), KG.hasRequest), key=lambda r: _natural(short(r)))
    for order, req in enumerate(requests, start=1):
        rid = short(req)
        rnode = f"request:{rid}"
        service_node = a.value(req, KG.requestedService)
        kinds = sorted(label_of(t) for t in a.objects(service_node, RDF.type)) if service_node is not None else []
        ur = a.value(req, KG.hasURDecision)
        review = a.value(ur, KG.decisionDate) if ur is not None else None
        g.add_node(rnode, kind="request", label=clean_text(a.value(req, KG.requestText) or rid), request_id=rid,
                   order=order, service_kind="; ".join(kinds), request_date=_date_text(a.value(req, KG.requestDate)),
                   review_date=_date_text(review or a.value(req, KG.requestDate)))
        g.add_edge("case", rnode, relation="has_request")
        d = determinations.get(req)
        conclusion = (_CONCLUSION_NAMES.get(det.value(d, KG.conclusion), "not_covered") if d is not None
                      else "not_covered")
        if d is not None and det.value(d, KG.engineVersion) is not None:
            g.graph["engine_version"] = str(det.value(d, KG.engineVersion))
        imr = rev.value(req, KG.hasIMRDecision)
        reviewer = local_name(rev.value(imr, KG.imrOutcome)).lower() if imr is not None else ""
        agreement = _agreement(conclusion, reviewer)
        dnode = f"decision:{rid}"
        note = det.value(d, RDFS.comment) if d is not None else None
        missing = "" if d is not None else "The case holds no determination for this request."
        g.add_node(dnode, kind="decision", label=CONCLUSION_WORDS[conclusion], conclusion=conclusion,
                   agreement=agreement, note=clean_text(note or missing))
        g.add_edge(rnode, dnode, relation="decided_as")
        if imr is not None:
            vnode = f"reviewer:{rid}"
            g.add_node(vnode, kind="reviewer", label=reviewer, decision=reviewer,
                       citation=clean_text(rev.value(imr, KG.citationText) or ""),
                       decision_date=_date_text(rev.value(imr, KG.decisionDate)),
                       specialty=clean_text(rev.value(imr, KG.reviewerSpecialty) or ""))
            g.add_edge(rnode, vnode, relation="reviewed_as")
            g.add_edge(dnode, vnode, relation="compared_with", agreement=agreement)
        if d is None:
            continue
        section, version = det.value(d, KG.usedSection), det.value(d, KG.usedVersion)
        if section is None or version is None:
            continue
        gnode = f"guideline:{rid}"
        g.add_node(gnode, **_guideline_attrs(det, d, guide, section, version, label_of))
        g.add_edge(dnode, gnode, relation="applies")
        assessments = sorted(det.objects(d, KG.hasAssessment),
                             key=lambda x: int(str(guide.value(det.value(x, KG.assesses), KG.criterionNumber) or 0)))
        for x in assessments:
            crit = det.value(x, KG.assesses)
            number = int(str(guide.value(crit, KG.criterionNumber) or 0))
            status = STATUS_NAMES.get(det.value(x, KG.status), "not_documented")
            cnode = f"criterion:{rid}/{number}"
            g.add_node(cnode, kind="criterion", label=f"{number}. {label_of(crit)}", criterion=str(crit),
                       number=number, status=status, statement=clean_text(guide.value(crit, KG.statement) or ""),
                       explanation=clean_text(det.value(x, KG.explanation) or ""),
                       decided_by=" ".join(sorted(local_name(s) for s in det.objects(x, KG.decidedBy))),
                       role=criterion_role(guide, crit))
            g.add_edge(gnode, cnode, relation="has_criterion")
            notes = {det.value(n, KG.noteOnFact): clean_text(det.value(n, KG.notCountedBecause) or "")
                     for n in det.objects(x, KG.hasEvidenceNote)}
            for fact in sorted(det.objects(x, KG.evidence), key=str):
                fnode = f"fact:{short(fact)}"
                if fnode not in g:
                    facts = facts or _facts(a, inf)
                    _add_fact(g, fnode, fact, a, facts, guide, short)
                g.add_edge(cnode, fnode, relation="rests_on", not_counted=notes.get(fact, ""))
    return g


def _guideline_attrs(det: Graph, d: Node, guide: Graph, section: Node, version: Node,
                     label_of: Callable[[Node | None], str]) -> dict[str, Any]:
    """The attributes of a guideline node: section, version, dates in force, and the guideline's kind
    (MTUS, or outside the MTUS with its publisher and the Labor Code 4610.5(c)(2) step)."""
    verified = guide.value(version, KG.effectiveDatesVerified)
    outside = det.value(d, KG.guidelineKind) == KG.OutsideMTUSGuideline
    publisher = guide.value(guide.value(version, KG.versionOf), KG.guidelineSource) if outside else None
    return dict(kind="guideline", label=f"{label_of(section)} ({label_of(version)})",
                section=str(section), section_label=label_of(section), version=str(version),
                version_label=label_of(version), guideline_kind="outside the MTUS" if outside else "MTUS",
                source=clean_text(publisher or ""), evidence_step=clean_text(det.value(d, KG.evidenceStep) or ""),
                effective_from=_date_text(guide.value(version, KG.effectiveFrom)),
                effective_until=_date_text(guide.value(version, KG.effectiveUntil)),
                dates_verified=bool(verified.toPython()) if isinstance(verified, Literal) else False)


def _facts(a: Graph, inf: Graph) -> Graph:
    """A case's asserted and inferred facts in one new graph (what a derived value's inputs query reads)."""
    both = Graph()
    for t in a:
        both.add(t)
    for t in inf:
        both.add(t)
    return both


def _add_fact(g: "nx.DiGraph[str]", fnode: str, fact: Node, a: Graph, facts: Graph, guide: Graph,
              short: Callable[[Node], str]) -> None:
    """The node of an evidence fact, its quotes and, for each value derived on it, the recorded
    facts the value was computed from (``input:`` nodes, with their own quotes)."""
    from kg.engine.reason import derivation_inputs, load_ontology

    label = a.value(fact, RDFS.label)
    derived = sorted(((local_name(p), str(o), p) for p, o in facts.predicate_objects(fact)
                      if isinstance(o, Literal) and (fact, p, o) not in a))
    g.add_node(fnode, kind="fact", label=clean_text(label) if label is not None else short(fact), fact=str(fact),
               graph="asserted" if (fact, None, None) in a else "inferred",
               kinds=" ".join(sorted(local_name(t) for t in a.objects(fact, RDF.type))),
               derived="; ".join(f"{k} = {v}" for k, v, _ in derived))
    _add_quotes(g, fnode, fact, a)
    ontology = load_ontology()

    def words(term: Node) -> str:
        value = guide.value(term, RDFS.label) or ontology.value(term, RDFS.label)
        return clean_text(value) if value is not None else local_name(term)

    for name, value, prop in derived:
        for inp, read in derivation_inputs(facts, fact, prop, ontology=guide if (prop, KG.inputsQuery, None) in guide
                                           else ontology):
            inode = f"input:{name}/{short(inp)}#{local_name(read)}"
            if inode not in g:
                kind = next(iter(sorted(facts.objects(inp, RDF.type), key=str)), None)
                what = a.value(inp, RDFS.label)
                g.add_node(inode, kind="input", label=clean_text(what) if what is not None else (
                    words(kind) if kind is not None else short(inp)), property=local_name(read),
                    property_label=words(read), value=", ".join(sorted(str(v) for v in a.objects(inp, read))))
                quoted = _add_quotes(g, inode, inp, a)
                if not quoted:  # a node the letter does not quote itself (a request's service): its request's
                    for holder in sorted(a.subjects(None, inp), key=str):
                        if _add_quotes(g, inode, holder, a):
                            break
            g.add_edge(fnode, inode, relation="computed_from", derived=name, derived_label=words(prop),
                       definition=clean_text(ontology.value(prop, SKOS.definition) or ""), value=value)


def _add_quotes(g: "nx.DiGraph[str]", node: str, fact: Node, a: Graph) -> int:
    """Add the source quotes of ``fact`` (``quote:`` nodes) under ``node``; returns how many."""
    quotes = []
    for res in a.objects(fact, PROV.wasDerivedFrom):
        doc = a.value(res, OA.hasSource)
        exact, start, end = "", None, None
        for sel in a.objects(res, OA.hasSelector):
            if (sel, RDF.type, OA.TextQuoteSelector) in a:
                exact = clean_text(a.value(sel, OA.exact) or "")
            if (sel, RDF.type, OA.TextPositionSelector) in a:
                start, end = _offset(a.value(sel, OA.start)), _offset(a.value(sel, OA.end))
        file_name = a.value(doc, KG.fileName) if doc is not None else None
        document = local_name(doc) if doc is not None else "unknown"
        # a file name only, never a folder of the machine it was read on
        shown = Path(str(file_name).replace("\\", "/")).name if file_name is not None else document
        quotes.append((document, start if start is not None else -1, end if end is not None else -1, exact, shown))
    for document, start, end, exact, shown in sorted(quotes):
        if start >= 0:
            qnode = f"quote:{document}@{start}-{end}"
        else:
            qnode = f"quote:{document}#{hashlib.sha256(exact.encode('utf-8')).hexdigest()[:10]}"
        if qnode not in g:
            attrs: dict[str, Any] = {"kind": "quote", "label": exact, "document": document, "file": shown,
                                     "exact": exact}
            if start >= 0:
                attrs.update(start=start, end=end)
            g.add_node(qnode, **attrs)
        g.add_edge(node, qnode, relation="quoted_in")
    return len(quotes)


def _offset(value: Node | None) -> int:
    """A text position selector's character offset (``TypeError`` when the selector lacks it)."""
    if value is None:
        raise TypeError("a text position selector without its offset")
    return int(str(value))


def as_evidence_graph(source: "CaseGraph | Store | nx.DiGraph[str]", case_id: str | None) -> "nx.DiGraph[str]":
    """``source`` itself when it is already an evidence graph, else :func:`evidence_graph` of it."""
    import networkx as nx

    return source if isinstance(source, nx.DiGraph) else evidence_graph(source, case_id)


