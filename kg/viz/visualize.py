"""Pictures for audits: the evidence graph of a determined case, and a corpus report.

Last stage.  :func:`evidence_graph` reads the four named graphs of a determined case (from a
store, or by determining a :class:`kg.engine.graph.CaseGraph` in memory) and builds a
:class:`networkx.DiGraph`::

    case -> request -> engine decision -> guideline (section, version) -> criterion (status)
         -> evidence fact (asserted or inferred) -> source quote (document, offsets)
    request -> reviewer decision;  engine decision -> reviewer decision (agrees / disagrees)

Node ids are short and stable (``request:r1``, ``criterion:r1/4``, ``fact:dx-radiculitis``,
``quote:seed-letter@1290-1314``); every node has ``kind`` and ``label`` attributes.  From that
graph come the GraphML export (:func:`write_graphml`), the self-contained interactive audit page
(:func:`audit_html`), the static picture (:func:`audit_svg`, :func:`audit_png`, drawn by our own
SVG writer and by Pillow from the same layout) and, over a whole store, :func:`report_html`,
whose numbers are the query library's (:func:`kg.store.query.run_query`).  :func:`kg.web.audit_routes.add_audit_routes`
serves the pictures from the endpoint.

Every output is byte-stable (sorted, no timestamps) and carries no path of the machine: documents
are named by file name only.  Letter text is escaped wherever it is shown.  The pages fetch
nothing: their script and style are inline, written here, and pinned by a Content-Security-Policy
with their hashes.  Nothing here mutates its input.

>>> from kg.read.casefile import parse_case
>>> from kg.engine.graph import build_case_graph
>>> g = evidence_graph(build_case_graph(parse_case({"case": "c1", "requests": [
...     {"id": "r1", "service": "trigger_point_injection", "text": "TPI", "date": "2015-01-05"}]})))
>>> g.nodes["decision:r1"]["conclusion"], g.nodes["criterion:r1/1"]["status"]
('not_medically_necessary', 'not_documented')
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Iterable, Mapping, Sequence

from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.term import Node

from kg.engine.graph import CaseGraph, case_iri
from kg.rdf import KG, OA, PROV

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

    from kg.store.store import Store

__all__ = ["STATUS_COLOURS", "STATUS_WORDS", "CONCLUSION_WORDS", "REPORT_QUERIES", "evidence_graph", "graphml",
           "write_graphml", "audit_html", "audit_svg", "audit_png", "graph_svg", "report_html",
           ]

#: Fill colour of a criterion by status (the page, the SVG and the PNG use the same).
STATUS_COLOURS = {"met": "#2e7d32", "not_met": "#c62828", "not_documented": "#e65100",
                  "not_applicable": "#757575"}
STATUS_WORDS = {"met": "met", "not_met": "not met", "not_documented": "not documented",
                "not_applicable": "not applicable"}
CONCLUSION_WORDS = {"medically_necessary": "medically necessary",
                    "not_medically_necessary": "not medically necessary",
                    "not_covered": "not covered by an encoded guideline section"}
#: The library queries the corpus report is made of, in the order it shows them.
REPORT_QUERIES = ("decisions-by-service-kind", "decisions-by-section", "decisions-by-month",
                  "engine-reviewer-confusion", "criteria-most-often-failing")

_CONCLUSION_NAMES = {KG.MedicallyNecessary: "medically_necessary", KG.NotMedicallyNecessary: "not_medically_necessary",
                     KG.NotCovered: "not_covered"}
_STATUS_NAMES = {KG.Met: "met", KG.NotMet: "not_met", KG.NotDocumented: "not_documented",
                 KG.NotApplicable: "not_applicable"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ID_OK = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


# ---------------------------------------------------------------------------
# The evidence graph
# ---------------------------------------------------------------------------
def _clean(text: object) -> str:
    """Text fit for XML: control characters (a PDF's form feeds) become spaces."""
    return _CONTROL.sub(" ", str(text))


def _local(iri: Node) -> str:
    return str(iri).rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _natural(text: str) -> tuple:
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


def evidence_graph(source: "CaseGraph | Store", case_id: str | None = None) -> "nx.DiGraph":
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
        return text[len(base):] if text.startswith(base) else _local(iri)

    def label_of(node: Node | None) -> str:
        if node is None:
            return ""
        value = guide.value(node, RDFS.label) or a.value(node, RDFS.label)
        return _clean(value) if value is not None else _local(node)

    g = nx.DiGraph(case_id=cid, engine_version="")
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
        g.add_node(rnode, kind="request", label=_clean(a.value(req, KG.requestText) or rid), request_id=rid,
                   order=order, service_kind="; ".join(kinds), request_date=_date_text(a.value(req, KG.requestDate)),
                   review_date=_date_text(review or a.value(req, KG.requestDate)))
        g.add_edge("case", rnode, relation="has_request")
        d = determinations.get(req)
        conclusion = _CONCLUSION_NAMES.get(det.value(d, KG.conclusion), "not_covered") if d is not None else "not_covered"
        if d is not None and det.value(d, KG.engineVersion) is not None:
            g.graph["engine_version"] = str(det.value(d, KG.engineVersion))
        imr = rev.value(req, KG.hasIMRDecision)
        reviewer = _local(rev.value(imr, KG.imrOutcome)).lower() if imr is not None else ""
        agreement = _agreement(conclusion, reviewer)
        dnode = f"decision:{rid}"
        note = det.value(d, RDFS.comment) if d is not None else None
        g.add_node(dnode, kind="decision", label=CONCLUSION_WORDS[conclusion], conclusion=conclusion,
                   agreement=agreement, note=_clean(note or ("" if d is not None else "The case holds no determination "
                                                              "for this request.")))
        g.add_edge(rnode, dnode, relation="decided_as")
        if imr is not None:
            vnode = f"reviewer:{rid}"
            g.add_node(vnode, kind="reviewer", label=reviewer, decision=reviewer,
                       citation=_clean(rev.value(imr, KG.citationText) or ""),
                       decision_date=_date_text(rev.value(imr, KG.decisionDate)),
                       specialty=_clean(rev.value(imr, KG.reviewerSpecialty) or ""))
            g.add_edge(rnode, vnode, relation="reviewed_as")
            g.add_edge(dnode, vnode, relation="compared_with", agreement=agreement)
        if d is None:
            continue
        section, version = det.value(d, KG.usedSection), det.value(d, KG.usedVersion)
        if section is None or version is None:
            continue
        gnode = f"guideline:{rid}"
        verified = guide.value(version, KG.effectiveDatesVerified)
        g.add_node(gnode, kind="guideline", label=f"{label_of(section)} ({label_of(version)})",
                   section=str(section), section_label=label_of(section), version=str(version),
                   version_label=label_of(version),
                   effective_from=_date_text(guide.value(version, KG.effectiveFrom)),
                   effective_until=_date_text(guide.value(version, KG.effectiveUntil)),
                   dates_verified=bool(verified.toPython()) if isinstance(verified, Literal) else False)
        g.add_edge(dnode, gnode, relation="applies")
        assessments = sorted(det.objects(d, KG.hasAssessment),
                             key=lambda x: int(guide.value(det.value(x, KG.assesses), KG.criterionNumber) or 0))
        for x in assessments:
            crit = det.value(x, KG.assesses)
            number = int(guide.value(crit, KG.criterionNumber) or 0)
            status = _STATUS_NAMES.get(det.value(x, KG.status), "not_documented")
            cnode = f"criterion:{rid}/{number}"
            g.add_node(cnode, kind="criterion", label=f"{number}. {label_of(crit)}", criterion=str(crit),
                       number=number, status=status, statement=_clean(guide.value(crit, KG.statement) or ""),
                       explanation=_clean(det.value(x, KG.explanation) or ""),
                       decided_by=" ".join(sorted(_local(s) for s in det.objects(x, KG.decidedBy))),
                       role="indication" if guide.value(crit, KG.role) == KG.Indication else "required")
            g.add_edge(gnode, cnode, relation="has_criterion")
            for fact in sorted(det.objects(x, KG.evidence), key=str):
                fnode = f"fact:{short(fact)}"
                if fnode not in g:
                    _add_fact(g, fnode, fact, a, inf, short)
                g.add_edge(cnode, fnode, relation="rests_on")
    return g


def _add_fact(g: "nx.DiGraph", fnode: str, fact: Node, a: Graph, inf: Graph, short: Callable[[Node], str]) -> None:
    label = a.value(fact, RDFS.label)
    derived = sorted((_local(p), str(o)) for p, o in inf.predicate_objects(fact) if isinstance(o, Literal))
    g.add_node(fnode, kind="fact", label=_clean(label) if label is not None else short(fact), fact=str(fact),
               graph="asserted" if (fact, None, None) in a else "inferred",
               kinds=" ".join(sorted(_local(t) for t in a.objects(fact, RDF.type))),
               derived="; ".join(f"{k} = {v}" for k, v in derived))
    quotes = []
    for res in a.objects(fact, PROV.wasDerivedFrom):
        doc = a.value(res, OA.hasSource)
        exact, start, end = "", None, None
        for sel in a.objects(res, OA.hasSelector):
            if (sel, RDF.type, OA.TextQuoteSelector) in a:
                exact = _clean(a.value(sel, OA.exact) or "")
            if (sel, RDF.type, OA.TextPositionSelector) in a:
                start, end = int(a.value(sel, OA.start)), int(a.value(sel, OA.end))
        file_name = a.value(doc, KG.fileName) if doc is not None else None
        document = _local(doc) if doc is not None else "unknown"
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
        g.add_edge(fnode, qnode, relation="quoted_in")


def _as_graph(source: "CaseGraph | Store | nx.DiGraph", case_id: str | None) -> "nx.DiGraph":
    import networkx as nx

    return source if isinstance(source, nx.DiGraph) else evidence_graph(source, case_id)


def graphml(source: "CaseGraph | Store | nx.DiGraph", case_id: str | None = None) -> str:
    """The evidence graph as GraphML text (for Gephi, Cytoscape, yEd), byte-stable."""
    import networkx as nx

    return "\n".join(nx.generate_graphml(_as_graph(source, case_id))) + "\n"


def write_graphml(source: "CaseGraph | Store | nx.DiGraph", out: str | Path | BinaryIO,
                  case_id: str | None = None) -> None:
    """Write :func:`graphml` to a file path or a binary file object (UTF-8)."""
    data = graphml(source, case_id).encode("utf-8")
    if isinstance(out, (str, Path)):
        Path(out).write_bytes(data)
    else:
        out.write(data)


# ---------------------------------------------------------------------------
# Layout: boxes in five columns, one band per request
# ---------------------------------------------------------------------------
CHAR_W = 6.4   # average advance of an 11 px sans-serif character, generous
LINE_H = 14
PAD = 6
COLUMNS = {"request": (16, 230), "guideline": (276, 190), "criterion": (496, 230), "fact": (756, 220),
           "quote": (1006, 300)}
WIDTH = 1322


@dataclass(frozen=True)
class Box:
    node: str
    kind: str
    x: float
    y: float
    w: float
    h: float
    lines: tuple[str, ...]
    fill: str
    stroke: str
    ink: str
    dashed: bool
    tip: str
    classes: str
    data: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    relation: str
    points: tuple[float, float, float, float]
    colour: str
    dashed: bool
    vertical: bool = False  # down the same column, then across


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    boxes: tuple[Box, ...]
    edges: tuple[Edge, ...]
    texts: tuple[tuple[float, float, str, int, bool], ...]   # x, y, text, size, bold


def _wrap(text: str, width: float, max_lines: int) -> tuple[str, ...]:
    chars = max(8, int((width - 2 * PAD) / CHAR_W))
    lines = textwrap.wrap(" ".join(text.split()), chars, break_long_words=True) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][:chars - 1].rstrip() + "\u2026"
    return tuple(lines)


_DECISION_FILL = {"medically_necessary": "#e8f5e9", "not_medically_necessary": "#ffebee", "not_covered": "#eeeeee",
                  "overturned": "#e8f5e9", "upheld": "#ffebee"}
DISAGREE = "#ad1457"


def _box_for(g: "nx.DiGraph", node: str, x: float, y: float, w: float) -> Box:
    d = g.nodes[node]
    kind = d["kind"]
    data: list[tuple[str, str]] = []
    dashed = False
    ink, stroke = "#1a1a1a", "#5f6b7a"
    classes = f"node {kind}"
    if kind == "request":
        lines = _wrap(f"#{d['order']} {d['label']}", w, 3) + _wrap(
            " | ".join(t for t in (d["service_kind"], d["request_date"] and "requested " + d["request_date"]) if t),
            w, 2)
        fill, stroke = "#dbe8f5", "#1f4e79"
        tip = f"Request {d['request_id']}: {d['label']}"
        data.append(("request", d["request_id"]))
    elif kind == "decision":
        text = f"Engine: {d['label']}"
        if d["agreement"] == "disagrees":
            text = "\u2260 " + text + " (disagrees with the reviewer)"
        lines = _wrap(text, w, 2) + (_wrap(d["note"], w, 3) if d["note"] else ())
        fill = _DECISION_FILL[d["conclusion"]]
        stroke = DISAGREE if d["agreement"] == "disagrees" else "#5f6b7a"
        tip = f"Engine conclusion: {d['label']}. {d['note']}".strip()
        classes += f" {d['conclusion']} {d['agreement'].replace(' ', '-')}"
    elif kind == "reviewer":
        lines = _wrap(f"Reviewer: {d['label']}", w, 1) + (_wrap(d["citation"], w, 2) if d["citation"] else ())
        fill = _DECISION_FILL.get(d["decision"], "#eeeeee")
        tip = f"Reviewer decision: {d['label']}. {d['citation']}".strip()
    elif kind == "guideline":
        dates = f"in force {d['effective_from'] or '?'} to {d['effective_until'] or 'today'}"
        if not d["dates_verified"]:
            dates += " (dates not verified)"
        lines = _wrap(d["section_label"], w, 2) + _wrap(d["version_label"], w, 2) + _wrap(dates, w, 3)
        fill, stroke = "#ede7f6", "#4527a0"
        tip = f"{d['version_label']}, section {d['section_label']}; {dates}"
    elif kind == "criterion":
        lines = _wrap(d["label"], w, 3) + (STATUS_WORDS[d["status"]].upper(),)
        fill, stroke, ink = STATUS_COLOURS[d["status"]], "#263238", "#ffffff"
        tip = f"Criterion {d['label']}: {STATUS_WORDS[d['status']]}. {d['explanation']}"
        classes += f" {d['status']}"
        data += [("criterion", node.split(":", 1)[1]), ("status", d["status"])]
    elif kind == "fact":
        extra = f"[{d['graph']}]" + (f" {d['derived']}" if d["derived"] else "")
        lines = _wrap(d["label"], w, 2) + _wrap(extra, w, 1)
        inferred = d["graph"] == "inferred" or bool(d["derived"])
        fill = "#fff8e1" if inferred else "#ffffff"
        dashed = inferred
        tip = f"{d['label']} ({d['graph']} fact{'; inferred: ' + d['derived'] if d['derived'] else ''})"
        classes += f" {d['graph']}"
    elif kind == "quote":
        where = d["file"] + (f" @{d['start']}-{d['end']}" if "start" in d else "")
        lines = _wrap("\u201c" + d["exact"] + "\u201d", w, 3) + _wrap(where, w, 1)
        fill = "#f5f5f5"
        tip = f"\u201c{d['exact']}\u201d ({where})"
    else:
        lines, fill, tip = _wrap(d.get("label", node), w, 2), "#ffffff", d.get("label", node)
    h = len(lines) * LINE_H + 2 * PAD
    return Box(node=node, kind=kind, x=x, y=y, w=w, h=h, lines=lines, fill=fill, stroke=stroke, ink=ink,
               dashed=dashed, tip=_clean(tip), classes=classes, data=tuple(data))


def _band(g: "nx.DiGraph", rnode: str, top: float) -> tuple[list[Box], float]:
    """Boxes of one request's band, from ``top``; returns them and the band's bottom."""
    gap = 8
    boxes: list[Box] = []
    placed: dict[str, Box] = {}
    x, w = COLUMNS["request"]
    req = _box_for(g, rnode, x, top, w)
    boxes.append(req)
    y = req.y + req.h + 12
    for succ in g.successors(rnode):
        kind = g.nodes[succ]["kind"]
        if kind in ("decision", "reviewer"):
            b = _box_for(g, succ, x + 12, y, w - 12)
            boxes.append(b)
            placed[succ] = b
            y = b.y + b.h + gap
    bottom = y
    rid = g.nodes[rnode]["request_id"]
    gnode = f"guideline:{rid}"
    if gnode not in g:
        return boxes, bottom
    gx, gw = COLUMNS["guideline"]
    guide = _box_for(g, gnode, gx, top, gw)
    boxes.append(guide)
    bottom = max(bottom, guide.y + guide.h + gap)
    cursors = {"criterion": top, "fact": top, "quote": top}
    for cnode in g.successors(gnode):
        cx, cw = COLUMNS["criterion"]
        cb = _box_for(g, cnode, cx, cursors["criterion"], cw)
        boxes.append(cb)
        cursors["criterion"] = cb.y + cb.h + gap
        for fnode in g.successors(cnode):
            if fnode in placed:
                continue
            fx, fw = COLUMNS["fact"]
            fb = _box_for(g, fnode, fx, max(cursors["fact"], cb.y), fw)
            boxes.append(fb)
            placed[fnode] = fb
            cursors["fact"] = fb.y + fb.h + gap
            for qnode in g.successors(fnode):
                if qnode in placed:
                    continue
                qx, qw = COLUMNS["quote"]
                qb = _box_for(g, qnode, qx, max(cursors["quote"], fb.y), qw)
                boxes.append(qb)
                placed[qnode] = qb
                cursors["quote"] = qb.y + qb.h + gap
    return boxes, max([bottom] + list(cursors.values()))


def _edges(g: "nx.DiGraph", boxes: Sequence[Box]) -> tuple[Edge, ...]:
    at = {b.node: b for b in boxes}
    out = []
    for s, t, d in g.edges(data=True):
        if s not in at or t not in at:
            continue
        a, b = at[s], at[t]
        if d["relation"] == "compared_with":
            continue  # the two boxes sit together; the disagreement is marked on the engine's box
        vertical = b.x <= a.x + a.w / 2  # below, in the same column
        if vertical:
            pts = (a.x + 6, a.y + a.h, b.x, b.y + b.h / 2)
        else:
            pts = (a.x + a.w, a.y + a.h / 2, b.x, b.y + b.h / 2)
        dashed = g.nodes[t]["kind"] == "fact" and g.nodes[t]["graph"] == "inferred"
        colour = DISAGREE if d.get("agreement") == "disagrees" else "#90a4ae"
        out.append(Edge(source=s, target=t, relation=d["relation"], points=pts, colour=colour, dashed=dashed,
                        vertical=vertical))
    return tuple(out)


def _legend(y: float) -> list[Box]:
    out = []
    x = 16.0
    for status, colour in STATUS_COLOURS.items():
        word = STATUS_WORDS[status]
        w = len(word) * CHAR_W + 2 * PAD + 4
        out.append(Box(node=f"legend:{status}", kind="legend", x=x, y=y, w=w, h=LINE_H + 2 * PAD, lines=(word,),
                       fill=colour, stroke="#263238", ink="#ffffff", dashed=False, tip=f"criterion {word}",
                       classes=f"legend {status}"))
        x += w + 8
    for text, fill, dashed in (("asserted fact", "#ffffff", False), ("inferred fact", "#fff8e1", True),
                               ("source quote", "#f5f5f5", False)):
        w = len(text) * CHAR_W + 2 * PAD + 4
        out.append(Box(node=f"legend:{text}", kind="legend", x=x, y=y, w=w, h=LINE_H + 2 * PAD, lines=(text,),
                       fill=fill, stroke="#5f6b7a", ink="#1a1a1a", dashed=dashed, tip=text, classes="legend"))
        x += w + 8
    return out


def layout(g: "nx.DiGraph", requests: Iterable[str] | None = None, *, header: bool = True) -> Layout:
    """Place the boxes of ``g`` (all requests, or only ``requests``) in bands, one per request."""
    chosen = list(requests) if requests is not None else [n for n in g.successors("case")]
    boxes: list[Box] = []
    texts: list[tuple[float, float, str, int, bool]] = []
    y = 16.0
    if header:
        engine = g.graph.get("engine_version") or "?"
        texts.append((16, y + 14, f"Evidence graph of case {g.graph['case_id']} (engine {engine})", 15, True))
        texts.append((16, y + 32, "request > engine decision > guideline section and version > "
                      "criterion (status) > evidence fact > source quote (document @ offsets)", 11, False))
        boxes += _legend(y + 42)
        y += 80
    for rnode in chosen:
        band, bottom = _band(g, rnode, y)
        boxes += band
        y = bottom + 18
    return Layout(width=WIDTH, height=y, boxes=tuple(boxes), edges=_edges(g, boxes), texts=tuple(texts))


# ---------------------------------------------------------------------------
# SVG (our own writer) and PNG (Pillow, from the same layout)
# ---------------------------------------------------------------------------
def _e(text: object) -> str:
    return html.escape(_clean(text), quote=True)


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _curve(p: tuple[float, float, float, float], vertical: bool) -> str:
    x1, y1, x2, y2 = p
    if vertical:  # same column: down, then across
        return f"M{_num(x1)} {_num(y1)} L{_num(x1)} {_num(y2)} L{_num(x2)} {_num(y2)}"
    mid = (x1 + x2) / 2
    return f"M{_num(x1)} {_num(y1)} C{_num(mid)} {_num(y1)} {_num(mid)} {_num(y2)} {_num(x2)} {_num(y2)}"


def _svg(lay: Layout, *, title: str, interactive: bool = False) -> str:
    w, h = _num(lay.width), _num(lay.height)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
           f'font-family="DejaVu Sans, Verdana, Arial, sans-serif" font-size="11" role="img">',
           f"<title>{_e(title)}</title>",
           f'<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>']
    for x, y, text, size, bold in lay.texts:
        weight = ' font-weight="bold"' if bold else ""
        out.append(f'<text x="{_num(x)}" y="{_num(y)}" font-size="{size}"{weight} fill="#1a1a1a">{_e(text)}</text>')
    out.append('<g class="edges">')
    for ed in lay.edges:
        dash = ' stroke-dasharray="5 3"' if ed.dashed else ""
        out.append(f'<path class="edge {ed.relation}" data-from="{_e(ed.source)}" data-to="{_e(ed.target)}" '
                   f'd="{_curve(ed.points, ed.vertical)}" fill="none" stroke="{ed.colour}" stroke-width="1.4"{dash}/>')
    out.append("</g>")
    out.append('<g class="nodes">')
    for b in lay.boxes:
        attrs = "".join(f' data-{k}="{_e(v)}"' for k, v in b.data)
        focus = ' tabindex="0"' if interactive and b.kind == "criterion" else ""
        dash = ' stroke-dasharray="5 3"' if b.dashed else ""
        sw = "2.5" if b.stroke == DISAGREE else "1"
        out.append(f'<g class="{_e(b.classes)}" data-node="{_e(b.node)}"{attrs}{focus}>'
                   f"<title>{_e(b.tip)}</title>"
                   f'<rect x="{_num(b.x)}" y="{_num(b.y)}" width="{_num(b.w)}" height="{_num(b.h)}" rx="4" '
                   f'fill="{b.fill}" stroke="{b.stroke}" stroke-width="{sw}"{dash}/>')
        for i, line in enumerate(b.lines):
            ty = b.y + PAD + (i + 1) * LINE_H - 3
            bold = ' font-weight="bold"' if i == 0 and b.kind in ("request", "criterion", "decision") else ""
            style = ' font-style="italic"' if b.kind == "quote" and i < len(b.lines) - 1 else ""
            out.append(f'<text x="{_num(b.x + PAD)}" y="{_num(ty)}" fill="{b.ink}"{bold}{style}>{_e(line)}</text>')
        out.append("</g>")
    out.append("</g></svg>")
    return "\n".join(out) + "\n"


def audit_svg(source: "CaseGraph | Store | nx.DiGraph", case_id: str | None = None) -> str:
    """The evidence graph of a case as a static, standalone SVG document (text), byte-stable.

    Each node is a ``<g class="node KIND ..." data-node="ID">`` with a ``<title>`` holding its full
    text; criteria carry ``data-status``.
    """
    g = _as_graph(source, case_id)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + _svg(layout(g), title=f"Evidence graph of case "
                                                                        f"{g.graph['case_id']}")


def _hex(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def audit_png(source: "CaseGraph | Store | nx.DiGraph", case_id: str | None = None, *, scale: float = 1.0) -> bytes:
    """The same picture as :func:`audit_svg`, drawn by Pillow as PNG bytes (deterministic for a
    given Pillow version).  ``scale`` 2 gives a sharper picture for print."""
    from PIL import Image, ImageDraw, ImageFont

    g = _as_graph(source, case_id)
    lay = layout(g)

    def s(v: float) -> int:
        return int(round(v * scale))

    img = Image.new("RGB", (s(lay.width), s(lay.height)), "#ffffff")
    draw = ImageDraw.Draw(img)
    fonts: dict[int, Any] = {}

    def font(size: int) -> Any:
        if size not in fonts:
            try:
                fonts[size] = ImageFont.load_default(size=max(1, s(size)))
            except TypeError:  # pragma: no cover - a Pillow without FreeType
                fonts[size] = ImageFont.load_default()
        return fonts[size]

    for x, y, text, size, _bold in lay.texts:
        draw.text((s(x), s(y)), text, fill="#1a1a1a", font=font(size), anchor="ls")
    for ed in lay.edges:
        x1, y1, x2, y2 = ed.points
        if ed.vertical:
            pts = [(x1, y1), (x1, y2), (x2, y2)]
        else:
            mid = (x1 + x2) / 2
            pts = []
            for i in range(21):
                t = i / 20
                u = 1 - t
                pts.append((u ** 3 * x1 + 3 * u * u * t * mid + 3 * u * t * t * mid + t ** 3 * x2,
                            u ** 3 * y1 + 3 * u * u * t * y1 + 3 * u * t * t * y2 + t ** 3 * y2))
        draw.line([(s(px), s(py)) for px, py in pts], fill=_hex(ed.colour), width=max(1, s(1.4)))
    for b in lay.boxes:
        width = max(1, s(2.5 if b.stroke == DISAGREE else 1))
        draw.rounded_rectangle([s(b.x), s(b.y), s(b.x + b.w), s(b.y + b.h)], radius=s(4), fill=_hex(b.fill),
                               outline=_hex(b.stroke), width=width)
        if b.dashed:  # a dashed inner line tells inferred facts apart in the raster as in the SVG
            for x in range(int(b.x + 4), int(b.x + b.w - 4), 8):
                draw.line([(s(x), s(b.y + 2)), (s(x + 4), s(b.y + 2))], fill=_hex(b.stroke), width=max(1, s(1)))
        for i, line in enumerate(b.lines):
            ty = b.y + PAD + (i + 1) * LINE_H - 3
            draw.text((s(b.x + PAD), s(ty)), line, fill=_hex(b.ink), font=font(11), anchor="ls")
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


# ---------------------------------------------------------------------------
# The interactive audit page
# ---------------------------------------------------------------------------
def _csp(style: str, script: str | None) -> str:
    def sha(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"

    scripts = sha(script) if script else "'none'"
    return (f"default-src 'none'; style-src {sha(style)}; script-src {scripts}; "
            "img-src 'self' data:; base-uri 'none'; form-action 'none'")


_AUDIT_STYLE = """
body{font-family:"DejaVu Sans",Verdana,Arial,sans-serif;margin:0;color:#1a1a1a;font-size:14px}
header{padding:.6em 1em;border-bottom:1px solid #ccc;background:#fafafa}
header h1{font-size:1.3em;margin:.2em 0}
.layout{display:flex;align-items:flex-start}
nav#items{width:16em;flex:none;max-height:calc(100vh - 7em);overflow-y:auto;border-right:1px solid #ddd}
nav#items button{display:block;width:100%;text-align:left;border:0;border-bottom:1px solid #eee;background:#fff;
 padding:.45em .6em;font:inherit;cursor:pointer}
nav#items button[aria-current=true]{background:#dbe8f5;font-weight:bold}
nav#items .svc{display:block}
.badge{display:inline-block;border-radius:3px;padding:0 .35em;font-size:.8em;margin-right:.3em;border:1px solid #999}
.badge.disagrees,.mark.disagrees{background:#ad1457;color:#fff;border-color:#ad1457}
main{flex:1;min-width:0;padding:0 1em 2em}
section.item h2{font-size:1.15em}
.verdicts span{margin-right:1em}
.graph{overflow-x:auto;border:1px solid #e0e0e0;margin:.6em 0}
.graph svg{display:block;max-width:100%;height:auto}
.graph g.criterion{cursor:pointer}
.graph g.dim{opacity:.22}
.graph g.selected rect{stroke:#000;stroke-width:3}
.graph path.dim{opacity:.12}
.criteria{display:flex;flex-wrap:wrap;gap:.3em;margin:.5em 0}
button.criterion{border:2px solid #263238;border-radius:4px;color:#fff;padding:.3em .6em;font:inherit;cursor:pointer}
button.criterion[aria-pressed=true]{outline:3px solid #000;outline-offset:1px}
.met{background-color:#2e7d32}.not_met{background-color:#c62828}
.not_documented{background-color:#e65100}.not_applicable{background-color:#757575}
.detail{border:1px solid #ccc;border-radius:4px;padding:.4em .8em;margin:.4em 0;background:#fcfcfc}
.fact{margin:.4em 0 .4em 1em}.fact.inferred{border-left:3px dashed #f9a825;padding-left:.5em}
.fact.asserted{border-left:3px solid #546e7a;padding-left:.5em}
blockquote.quote{margin:.2em 0 .2em 1em;font-style:italic;background:#f5f5f5;padding:.2em .5em}
cite{font-style:normal;color:#555;font-size:.9em}
.legend span.badge{color:#fff}
.hint{color:#555}
"""
_AUDIT_SCRIPT = """
(function(){
  'use strict';
  const items = Array.from(document.querySelectorAll('section.item'));
  const buttons = Array.from(document.querySelectorAll('nav#items button[data-item]'));
  function selectItem(id){
    for (const s of items) s.hidden = s.dataset.request !== id;
    for (const b of buttons) b.setAttribute('aria-current', b.dataset.item === id ? 'true' : 'false');
  }
  function reach(sec, start){
    const next = new Map();
    for (const p of sec.querySelectorAll('path.edge')){
      if (!next.has(p.dataset.from)) next.set(p.dataset.from, []);
      next.get(p.dataset.from).push(p.dataset.to);
    }
    const seen = new Set([start]); const todo = [start];
    while (todo.length){ for (const n of (next.get(todo.pop()) || [])) if (!seen.has(n)){ seen.add(n); todo.push(n); } }
    return seen;
  }
  function selectCriterion(sec, key){
    for (const d of sec.querySelectorAll('.detail')) d.hidden = d.dataset.criterion !== key;
    for (const b of sec.querySelectorAll('button.criterion')) b.setAttribute('aria-pressed', b.dataset.criterion === key ? 'true' : 'false');
    const hint = sec.querySelector('.hint'); if (hint) hint.hidden = true;
    const keep = reach(sec, 'criterion:' + key);
    for (const g of sec.querySelectorAll('g.node')){
      const k = g.dataset.node.split(':')[0];
      const inPath = keep.has(g.dataset.node) || k === 'request' || k === 'decision' || k === 'reviewer' || k === 'guideline';
      g.classList.toggle('dim', !inPath);
      g.classList.toggle('selected', g.dataset.node === 'criterion:' + key);
    }
    for (const p of sec.querySelectorAll('path.edge')){
      const k = p.dataset.from.split(':')[0];
      p.classList.toggle('dim', !(keep.has(p.dataset.from) || k !== 'criterion' && k !== 'fact'));
    }
  }
  document.addEventListener('click', function(ev){
    const b = ev.target.closest('[data-item]');
    if (b){ selectItem(b.dataset.item); return; }
    const c = ev.target.closest('[data-criterion]');
    if (c){ const sec = c.closest('section.item'); if (sec) selectCriterion(sec, c.dataset.criterion); }
  });
  document.addEventListener('keydown', function(ev){
    if (ev.key !== 'Enter' && ev.key !== ' ') return;
    const c = ev.target.closest && ev.target.closest('g[data-criterion]');
    if (c){ ev.preventDefault(); selectCriterion(c.closest('section.item'), c.dataset.criterion); }
  });
  if (buttons.length) selectItem(buttons[0].dataset.item);
})();
"""


def _item_html(g: "nx.DiGraph", rnode: str, total: int) -> str:
    r = g.nodes[rnode]
    rid = r["request_id"]
    dnode = f"decision:{rid}"
    d = g.nodes[dnode]
    vnode = f"reviewer:{rid}"
    v = g.nodes[vnode] if vnode in g else None
    mark = "\u2260 disagreement" if d["agreement"] == "disagrees" else _e(d["agreement"])
    out = [f'<section class="item" data-request="{_e(rid)}" hidden>',
           f"<h2>Item {r['order']} of {total}: {_e(r['label'])}</h2>",
           f"<p>Request <code>{_e(rid)}</code>"
           + (f"; service kind: {_e(r['service_kind'])}" if r["service_kind"] else "")
           + (f"; requested {_e(r['request_date'])}" if r["request_date"] else "")
           + (f"; review date {_e(r['review_date'])}" if r["review_date"] else "") + "</p>",
           '<p class="verdicts">'
           f'<span>Engine: <strong class="engine {d["conclusion"]}-text">{_e(d["label"])}</strong></span>'
           f'<span>Reviewer: <strong class="reviewer">{_e(v["label"]) if v else "no IMR decision recorded"}</strong>'
           + (f" <cite>({_e(v['citation'])})</cite>" if v and v["citation"] else "") + "</span>"
           + f'<span class="badge mark {d["agreement"].replace(" ", "-")}">{mark}</span>'
           + "</p>"]
    if d["note"]:
        out.append(f"<p>{_e(d['note'])}</p>")
    gnode = f"guideline:{rid}"
    lay = layout(g, [rnode], header=False)
    out.append('<div class="graph">' + _svg(lay, title=f"Evidence graph of item {r['order']}", interactive=True)
               + "</div>")
    if gnode in g:
        gd = g.nodes[gnode]
        out.append(f"<p>Guideline applied: {_e(gd['version_label'])}, section \u201c{_e(gd['section_label'])}\u201d "
                   f"(in force {_e(gd['effective_from'] or '?')} to {_e(gd['effective_until'] or 'today')}"
                   f"{'' if gd['dates_verified'] else ', dates not yet verified against the regulation'}).</p>")
        crits = list(g.successors(gnode))
        out.append('<div class="criteria">')
        for c in crits:
            cd = g.nodes[c]
            key = c.split(":", 1)[1]
            out.append(f'<button type="button" class="criterion {cd["status"]}" data-criterion="{_e(key)}" '
                       f'data-status="{cd["status"]}" aria-pressed="false">{_e(cd["label"])}: '
                       f'{STATUS_WORDS[cd["status"]]}</button>')
        out.append("</div>")
        out.append('<p class="hint">Click a criterion (here or in the graph) to see the facts and the source '
                   "quotes behind it.</p>")
        for c in crits:
            out.append(_criterion_detail(g, c))
    out.append("</section>")
    return "\n".join(out)


def _criterion_detail(g: "nx.DiGraph", c: str) -> str:
    cd = g.nodes[c]
    key = c.split(":", 1)[1]
    out = [f'<div class="detail" data-criterion="{_e(key)}" hidden>',
           f'<h3>Criterion {_e(cd["label"])}: <span class="badge {cd["status"]}">{STATUS_WORDS[cd["status"]]}</span></h3>',
           f"<p><strong>The guideline asks:</strong> {_e(cd['statement'])}</p>",
           f"<p><strong>Finding:</strong> {_e(cd['explanation'])}</p>"]
    if cd["decided_by"]:
        out.append(f"<p><strong>Decided by the shapes:</strong> <code>{_e(cd['decided_by'])}</code></p>")
    facts = list(g.successors(c))
    if not facts:
        out.append("<p>No fact of the record bears on this criterion.</p>")
    for f in facts:
        fd = g.nodes[f]
        out.append(f'<div class="fact {fd["graph"]}" data-fact="{_e(f)}"><strong>{_e(fd["label"])}</strong> '
                   f'<span class="badge">{fd["graph"]} fact</span>'
                   + (f' <span class="badge">inferred: {_e(fd["derived"])}</span>' if fd["derived"] else ""))
        quotes = list(g.successors(f))
        if not quotes:
            out.append("<p>No source quote recorded.</p>")
        for q in quotes:
            qd = g.nodes[q]
            where = _e(qd["file"]) + (f", characters {qd['start']}\u2013{qd['end']}" if "start" in qd else "")
            out.append(f'<blockquote class="quote">{_e(qd["exact"])}</blockquote><cite>{where}</cite>')
        out.append("</div>")
    out.append("</div>")
    return "\n".join(out)


def audit_html(source: "CaseGraph | Store | nx.DiGraph", case_id: str | None = None) -> str:
    """The self-contained interactive audit page of a case (HTML text, byte-stable).

    A list of the case's items on the left (engine and reviewer decisions, disagreements marked);
    the selected item's evidence graph, its criteria coloured by status, and for the clicked
    criterion the facts (asserted or inferred) and the source quotes with document and position.
    Only the selected item is expanded, so a letter with twenty items stays readable.  Script and
    style are inline and pinned by a Content-Security-Policy: the page fetches nothing.
    """
    g = _as_graph(source, case_id)
    cid = g.graph["case_id"]
    requests = list(g.successors("case"))
    compared = [g.nodes[f"decision:{g.nodes[r]['request_id']}"]["agreement"] for r in requests]
    nav = []
    for r in requests:
        rd = g.nodes[r]
        d = g.nodes[f"decision:{rd['request_id']}"]
        vnode = f"reviewer:{rd['request_id']}"
        rev = g.nodes[vnode]["label"] if vnode in g else "none"
        mark = ('<span class="badge disagrees">\u2260 disagrees</span>' if d["agreement"] == "disagrees" else "")
        nav.append(f'<button type="button" data-item="{_e(rd["request_id"])}" aria-current="false">'
                   f'<span class="svc">{rd["order"]}. {_e(rd["label"][:90])}</span>'
                   f'<span class="badge">engine: {_e(d["label"])}</span><span class="badge">reviewer: {_e(rev)}</span>'
                   f"{mark}</button>")
    legend = "".join(f'<span class="badge {s}">{STATUS_WORDS[s]}</span>' for s in STATUS_COLOURS)
    body = [f"<header><h1>Audit of case {_e(cid)}</h1>",
            f"<p>{len(requests)} item{'s' if len(requests) != 1 else ''}; engine {_e(g.graph.get('engine_version') or '?')}; "
            f"engine and reviewer agree on {compared.count('agrees')}, disagree on {compared.count('disagrees')}, "
            f"{compared.count('not compared')} not compared (not covered or no reviewer decision).</p>",
            f'<p class="legend">Criterion status: {legend} Facts: solid border asserted, dashed border inferred.</p>',
            "</header>",
            '<div class="layout"><nav id="items" aria-label="items">' + "\n".join(nav) + "</nav>",
            "<main>"]
    body += [_item_html(g, r, len(requests)) for r in requests]
    body.append("</main></div>")
    csp = _csp(_AUDIT_STYLE, _AUDIT_SCRIPT)
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Audit of case {_e(cid)}</title><style>{_AUDIT_STYLE}</style></head>\n<body>\n"
            + "\n".join(body) + f"\n<script>{_AUDIT_SCRIPT}</script>\n</body></html>\n")


# ---------------------------------------------------------------------------
# Any RDF graph (a CONSTRUCT result) as the same kind of picture
# ---------------------------------------------------------------------------
def graph_svg(graph: Graph, *, max_nodes: int = 250, title: str = "CONSTRUCT result") -> str:
    """An RDF graph drawn as boxes in columns: one box per subject or IRI object, its literal values
    inside, edges labelled by predicate.  Assessments with a ``kg:status`` take the status colour.
    Only the first ``max_nodes`` resources (sorted) are drawn, and the picture says so."""
    import networkx as nx

    nodes: dict[Node, list[str]] = {}
    dg = nx.DiGraph()
    for s, p, o in sorted(graph):
        nodes.setdefault(s, [])
        if isinstance(o, Literal):
            nodes[s].append(f"{_local(p)}: {o}")
        else:
            nodes.setdefault(o, [])
            dg.add_edge(s, o, label=_local(p))
    keys = sorted(nodes, key=str)
    shown = set(keys[:max_nodes])
    dg.add_nodes_from(keys)
    depth: dict[Node, int] = {}
    for comp in sorted((sorted(c, key=str) for c in nx.weakly_connected_components(dg)), key=lambda c: str(c[0])):
        sub = dg.subgraph(comp)
        roots = [n for n in comp if sub.in_degree(n) == 0] or [comp[0]]
        for r in roots:
            for n, dd in nx.single_source_shortest_path_length(sub, r).items():
                depth[n] = min(depth.get(n, dd), dd)
    col_w, gap = 260, 50
    cursor: dict[int, float] = {}
    boxes: list[Box] = []
    at: dict[Node, Box] = {}
    for n in keys:
        if n not in shown:
            continue
        col = min(depth.get(n, 0), 5)
        x = 16 + col * (col_w + gap)
        y = cursor.get(col, 60.0)
        status = graph.value(n, KG.status)
        fill, ink = ("#ffffff", "#1a1a1a")
        classes = "node resource"
        if status in _STATUS_NAMES:
            fill, ink = STATUS_COLOURS[_STATUS_NAMES[status]], "#ffffff"
            classes += " " + _STATUS_NAMES[status]
        elif isinstance(n, URIRef) and not nodes[n]:
            fill = "#f5f5f5"
        lines = _wrap(_local(n) or str(n), col_w, 1) + tuple(
            line for v in sorted(nodes[n])[:4] for line in _wrap(v, col_w, 2))
        b = Box(node=str(n), kind="resource", x=x, y=y, w=col_w, h=len(lines) * LINE_H + 2 * PAD, lines=lines,
                fill=fill, stroke="#5f6b7a", ink=ink, dashed=False, tip=str(n), classes=classes)
        boxes.append(b)
        at[n] = b
        cursor[col] = y + b.h + 10
    edges = []
    for s, o, d in sorted(dg.edges(data=True), key=lambda e: (str(e[0]), str(e[1]))):
        if s in at and o in at:
            a, b = at[s], at[o]
            pts = (a.x + a.w, a.y + a.h / 2, b.x, b.y + b.h / 2) if b.x > a.x else (a.x, a.y + a.h / 2, b.x,
                                                                                  b.y + b.h / 2)
            edges.append(Edge(source=str(s), target=str(o), relation=re.sub(r"[^A-Za-z0-9_-]", "", d["label"]) or "p",
                              points=pts, colour="#90a4ae", dashed=False))
    height = max(list(cursor.values()) + [80.0]) + 16
    note = f"{len(graph)} triples, {len(keys)} resources" + (
        f"; the first {max_nodes} drawn" if len(keys) > max_nodes else "")
    width = 16 + (max((int((b.x - 16) // (col_w + gap)) for b in boxes), default=0) + 1) * (col_w + gap)
    lay = Layout(width=max(width, 400), height=height, boxes=tuple(boxes), edges=tuple(edges),
                 texts=((16, 24, title, 15, True), (16, 44, note, 11, False)))
    return _svg(lay, title=title)


# ---------------------------------------------------------------------------
# The corpus report
# ---------------------------------------------------------------------------
_REPORT_STYLE = """
body{font-family:"DejaVu Sans",Verdana,Arial,sans-serif;margin:1em 2em;color:#1a1a1a;font-size:14px;max-width:80em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}
td.n{text-align:right}th{background:#f0f0f0}
.chart{margin:.5em 0}.note{color:#555}
ul.cases{columns:4}
"""


def _cell(v: Node | None) -> str:
    return "" if v is None else str(v)


def _int(v: Node | None) -> int:
    try:
        return int(str(v)) if v is not None else 0
    except ValueError:
        return 0


def _table(name: str, columns: Sequence[str], rows: Sequence[Sequence[Node | None]]) -> str:
    out = [f'<table data-query="{_e(name)}"><thead><tr>' + "".join(f"<th>{_e(c)}</th>" for c in columns)
           + "</tr></thead><tbody>"]
    for r in rows:
        cells = []
        for v in r:
            numeric = ' class="n"' if isinstance(v, Literal) and v.datatype is not None else ""
            cells.append(f"<td{numeric}>{_e(_cell(v))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _bars(title: str, rows: Sequence[tuple[str, Sequence[int]]], series: Sequence[tuple[str, str]]) -> str:
    """Horizontal stacked bars: one bar per row, one segment per series (name, colour)."""
    label_w, bar_w, row_h = 430, 420, 20
    shown_rows = list(rows[:30])
    note = f" (the first 30 of {len(rows)} rows; the table has all)" if len(rows) > 30 else ""
    rows = shown_rows
    total_max = max([sum(v) for _, v in rows] + [1])
    h = 40 + row_h * len(rows) + 24
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{label_w + bar_w + 80}" height="{h}" '
           f'viewBox="0 0 {label_w + bar_w + 80} {h}" font-family="DejaVu Sans, Verdana, Arial, sans-serif" '
           f'font-size="11" role="img"><title>{_e(title + note)}</title>']
    if note:
        out.append(f'<text x="0" y="15">{_e(note.strip())}</text>')
    x = label_w
    for name, colour in series:
        out.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{colour}"/>'
                   f'<text x="{x + 14}" y="15">{_e(name)}</text>')
        x += 14 + int(len(name) * CHAR_W) + 16
    for i, (label, values) in enumerate(rows):
        y = 30 + i * row_h
        short = label if len(label) <= 70 else label[:69] + "\u2026"
        out.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{_e(short)}</text>')
        x0 = float(label_w)
        for (name, colour), v in zip(series, values):
            w = bar_w * v / total_max
            if v:
                out.append(f'<rect x="{_num(x0)}" y="{y + 2}" width="{_num(w)}" height="{row_h - 5}" fill="{colour}">'
                           f"<title>{_e(label)}: {v} {_e(name)}</title></rect>")
            x0 += w
        out.append(f'<text x="{_num(x0 + 4)}" y="{y + 13}">{sum(values)}</text>')
    out.append("</svg>")
    return "".join(out)


def _matrix_svg(engines: Sequence[str], reviewers: Sequence[str], counts: Mapping[tuple[str, str], int]) -> str:
    cell_w, cell_h, left, top = 250, 44, 330, 44
    w, h = left + cell_w * len(reviewers) + 10, top + cell_h * len(engines) + 10
    peak = max(list(counts.values()) + [1])
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
           f'font-family="DejaVu Sans, Verdana, Arial, sans-serif" font-size="11" role="img">'
           "<title>Engine conclusion against reviewer decision</title>"]
    for j, r in enumerate(reviewers):
        out.append(f'<text x="{left + j * cell_w + cell_w / 2:.0f}" y="{top - 10}" text-anchor="middle">'
                   f"reviewer: {_e(r[:36])}</text>")
    for i, e in enumerate(engines):
        out.append(f'<text x="{left - 8}" y="{top + i * cell_h + cell_h / 2 + 4:.0f}" text-anchor="end">'
                   f"engine: {_e(e[:48])}</text>")
        for j, r in enumerate(reviewers):
            n = counts.get((e, r), 0)
            shade = int(245 - 180 * n / peak)
            colour = f"#{shade:02x}{shade:02x}{255:02x}"
            ink = "#ffffff" if shade < 150 else "#1a1a1a"
            out.append(f'<rect x="{left + j * cell_w}" y="{top + i * cell_h}" width="{cell_w - 2}" '
                       f'height="{cell_h - 2}" fill="{colour}"><title>{_e(e)} / {_e(r)}: {n}</title></rect>'
                       f'<text x="{left + j * cell_w + cell_w / 2:.0f}" y="{top + i * cell_h + cell_h / 2 + 5:.0f}" '
                       f'text-anchor="middle" font-size="14" fill="{ink}">{n}</text>')
    out.append("</svg>")
    return "".join(out)


def report_html(store: "Store", *, audit_href: str = "{case}.html") -> str:
    """The corpus report over ``store`` as a self-contained HTML page (no script; byte-stable).

    Every number comes from a library query (:data:`REPORT_QUERIES`, run with
    :func:`kg.store.query.run_query`) and each table carries ``data-query`` naming it; charts are
    inline SVG.  ``audit_href`` is the link to each case's audit page, ``{case}`` replaced by the
    case id (``"cases/{case}/audit"`` on the endpoint).
    """
    from kg.store.query import library, run_query

    titles = {q.name: q for q in library()}
    results = {name: run_query(store, name) for name in REPORT_QUERIES}
    cases = store.case_ids()
    up, over = "#c62828", "#2e7d32"
    parts = ["<h1>IMR decisions: corpus report</h1>",
             f"<p>{len(cases)} cases in the store. Every number below is the answer of a query of the library "
             "(<code>imrkg query NAME</code> prints the same rows); each table names its query.</p>"]

    months = results["decisions-by-month"]
    items = sum(_int(r[1]) for r in months.rows)
    upheld = sum(_int(r[2]) for r in months.rows)
    overturned = sum(_int(r[3]) for r in months.rows)
    if items:
        parts.append(f'<p id="rates">Of <span data-total="items">{items}</span> items with a dated IMR decision, '
                     f'<span data-total="upheld">{upheld}</span> were upheld ({100 * upheld / items:.1f}%) and '
                     f'<span data-total="overturned">{overturned}</span> overturned ({100 * overturned / items:.1f}%) '
                     "(sums of decisions-by-month).</p>")

    def section(name: str, heading: str, chart: str) -> None:
        res = results[name]
        q = titles.get(name)
        parts.append(f'<h2 id="{name}">{_e(heading)}</h2>')
        if q is not None:
            parts.append(f'<p class="note">{_e(q.question)} (query <code>{_e(name)}</code>)</p>')
        if not res.rows:
            parts.append("<p>No rows.</p>")
            return
        parts.append(chart)
        opened = " open" if len(res.rows) <= 12 else ""
        parts.append(f"<details{opened}><summary>The {len(res.rows)} rows of <code>{_e(name)}</code></summary>"
                     + _table(name, res.columns, res.rows) + "</details>")

    kinds = results["decisions-by-service-kind"]
    section("decisions-by-service-kind", "Uphold and overturn by service kind",
            _bars("Items by service kind", [(_cell(r[0]), (_int(r[2]), _int(r[3]))) for r in kinds.rows],
                  (("upheld", up), ("overturned", over))))
    secs = results["decisions-by-section"]
    section("decisions-by-section", "By guideline section the engine applied",
            _bars("Engine conclusions by section", [(f"{_cell(r[0])} ({_cell(r[1])})", (_int(r[3]), _int(r[4])))
                                                    for r in secs.rows],
                  (("engine: medically necessary", over), ("engine: not medically necessary", up))))
    section("decisions-by-month", "By month of the IMR decision",
            _bars("Items by month", [(_cell(r[0]), (_int(r[2]), _int(r[3]))) for r in months.rows],
                  (("upheld", up), ("overturned", over))))
    conf = results["engine-reviewer-confusion"]
    engines = sorted({_cell(r[0]) for r in conf.rows})
    reviewers = sorted({_cell(r[1]) for r in conf.rows})
    counts = {(_cell(r[0]), _cell(r[1])): _int(r[2]) for r in conf.rows}
    agree = sum(n for (e, r), n in counts.items()
                if (e.startswith("not medically") and r.startswith("upheld"))
                or (e.startswith("medically") and r.startswith("overturned")))
    decided = sum(n for (e, _r), n in counts.items() if not e.startswith("not covered"))
    matrix = _matrix_svg(engines, reviewers, counts)
    if decided:
        matrix += (f'<p id="agreement">Where the engine decided (<span data-total="decided">{decided}</span> items), '
                   f'it agrees with the reviewer on <span data-total="agree">{agree}</span> '
                   f"({100 * agree / decided:.1f}%). Items no encoded section covers are shown, not counted.</p>")
    section("engine-reviewer-confusion", "Engine against reviewer: agreement and the confusion matrix", matrix)
    fail = results["criteria-most-often-failing"]
    section("criteria-most-often-failing", "Criteria most often not met or not documented",
            _bars("Failing criteria", [(f"{_cell(r[0])} {_cell(r[1])}. {_cell(r[2])}", (_int(r[3]), _int(r[4])))
                                       for r in fail.rows],
                  (("not met", STATUS_COLOURS["not_met"]), ("not documented", STATUS_COLOURS["not_documented"]))))
    parts.append('<h2 id="cases">Cases</h2><p class="note">Each links to its audit page.</p><ul class="cases">')
    for c in cases:
        parts.append(f'<li><a href="{_e(audit_href.replace("{case}", c))}" data-case="{_e(c)}">{_e(c)}</a></li>')
    parts.append("</ul>")
    csp = _csp(_REPORT_STYLE, None)
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
            f"<title>IMR decisions: corpus report</title><style>{_REPORT_STYLE}</style></head>\n<body>\n"
            + "\n".join(parts) + "\n</body></html>\n")


# ---------------------------------------------------------------------------
# The endpoint's pictures
# ---------------------------------------------------------------------------
def _page(title: str, body: str) -> str:
    style = "body{font-family:\"DejaVu Sans\",Verdana,Arial,sans-serif;margin:1em}div.graph{overflow:auto}"
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{_csp(style, None)}">'
            f"<title>{_e(title)}</title><style>{style}</style></head><body>{body}</body></html>\n")


# ---------------------------------------------------------------------------
# The report with its audit pages, as files
# ---------------------------------------------------------------------------
def write_report(store: "Store", output: str | Path, *, audits: str | Path | None = None,
                 progress: Callable[[int, int, str], None] | None = None) -> list[Path]:
    """Write the corpus report of ``store`` to ``output`` and, with ``audits``, every stored
    case's audit page as ``<audits>/<case id>.html``, linked from the report by a path relative
    to it.  Folders are created as needed; existing files are replaced.  Returns the audit
    pages written, in case order.  Reads the store only."""
    import os

    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    href = "{case}.html"
    pages: list[Path] = []
    if audits is not None:
        folder = Path(audits)
        folder.mkdir(parents=True, exist_ok=True)
        rel = os.path.relpath(folder.resolve(), out.resolve().parent)
        href = f"{Path(rel).as_posix()}/{{case}}.html"
        ids = store.case_ids()
        for i, cid in enumerate(ids):
            if progress:
                progress(i, len(ids), cid)
            page = folder / f"{cid}.html"
            page.write_text(audit_html(store, cid), encoding="utf-8")
            pages.append(page)
        if progress:
            progress(len(ids), len(ids), "")
    out.write_text(report_html(store, audit_href=href), encoding="utf-8")
    return pages
