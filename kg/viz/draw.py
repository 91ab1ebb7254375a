"""Drawing the evidence graph: the layout, the SVG and PNG pictures, GraphML, and any RDF graph
as boxes.

After :mod:`kg.viz.evidence`.  :func:`layout` places the boxes of an evidence graph in five
columns, one band per request; :func:`layout_svg` writes a layout as SVG (our own writer) and
:func:`audit_png` draws the same layout with Pillow.  :func:`audit_svg` and :func:`audit_png` are
the static pictures of a case, :func:`graphml` and :func:`write_graphml` its graph for Gephi,
Cytoscape or yEd, and :func:`graph_svg` draws a CONSTRUCT result the same way.  Every output is
byte-stable (sorted, no timestamps); letter text is escaped wherever it is shown.  Nothing here
mutates its input.
"""

from __future__ import annotations

import io
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Iterable, Sequence

from rdflib import Graph, Literal, URIRef
from rdflib.term import Node

from kg.rdf import KG
from kg.viz.evidence import STATUS_COLOURS, STATUS_NAMES, STATUS_WORDS, as_evidence_graph, local_name
from kg.viz.markup import clean_text, escape, svg_number

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx
    from PIL import ImageFont

    from kg.engine.graph import CaseGraph
    from kg.store.store import Store

__all__ = ["FONT", "CHAR_W", "LINE_H", "PAD", "COLUMNS", "WIDTH", "DISAGREE", "Box", "Edge", "Layout", "layout",
           "layout_svg", "audit_svg", "audit_png", "graphml", "write_graphml", "graph_svg"]


# ---------------------------------------------------------------------------
# Layout: boxes in five columns, one band per request
# ---------------------------------------------------------------------------
FONT = 14     # px: the text of every box, drawn at its own size on the audit page (WCAG reading size)
CHAR_W = 8.2  # average advance of a 14 px sans-serif character, generous
LINE_H = 18
PAD = 7
COLUMNS = {"request": (16, 280), "guideline": (326, 230), "criterion": (586, 280), "fact": (896, 270),
           "quote": (1196, 360)}
WIDTH = 1572


@dataclass(frozen=True)
class Box:
    """One drawn box: the node it stands for, its place and size, its text lines, colours and the
    ``<title>`` tooltip; ``classes`` and ``data`` become the SVG group's class and data attributes."""

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
    """One drawn edge from box ``source`` to box ``target``, between the two end points."""

    source: str
    target: str
    relation: str
    points: tuple[float, float, float, float]
    colour: str
    dashed: bool
    vertical: bool = False  # down the same column, then across


@dataclass(frozen=True)
class Layout:
    """A whole picture: its size, boxes, edges and free texts (title lines)."""

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


def _box_for(g: "nx.DiGraph[str]", node: str, x: float, y: float, w: float) -> Box:
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
        extra = ("[recorded]" if d["graph"] == "asserted" else "[inferred]") + (
            f" {d['derived']}" if d["derived"] else "")
        lines = _wrap(d["label"], w, 2) + _wrap(extra, w, 1)
        inferred = d["graph"] == "inferred" or bool(d["derived"])
        fill = "#fff8e1" if inferred else "#ffffff"
        dashed = inferred
        tip = (f"{d['label']} ({'recorded' if d['graph'] == 'asserted' else 'inferred'} fact"
               f"{'; worked out by the engine: ' + d['derived'] if d['derived'] else ''})")
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
               dashed=dashed, tip=clean_text(tip), classes=classes, data=tuple(data))


def _band(g: "nx.DiGraph[str]", rnode: str, top: float) -> tuple[list[Box], float]:
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

    def place(node: str, column: str, beside: Box) -> Box | None:
        """A box for ``node`` in ``column``, under the column's last box and not above ``beside``
        (None if the node already has its box)."""
        if node in placed:
            return None
        x, w = COLUMNS[column]
        b = _box_for(g, node, x, max(cursors[column], beside.y), w)
        boxes.append(b)
        placed[node] = b
        cursors[column] = b.y + b.h + gap
        return b

    for cnode in g.successors(gnode):
        cx, cw = COLUMNS["criterion"]
        cb = _box_for(g, cnode, cx, cursors["criterion"], cw)
        boxes.append(cb)
        cursors["criterion"] = cb.y + cb.h + gap
        for fnode in g.successors(cnode):
            fb = place(fnode, "fact", cb)
            if fb is not None:
                for qnode in g.successors(fnode):
                    if g.edges[fnode, qnode]["relation"] == "quoted_in":  # inputs of derived values: on the page
                        place(qnode, "quote", fb)
    return boxes, max([bottom] + list(cursors.values()))


def _edges(g: "nx.DiGraph[str]", boxes: Sequence[Box]) -> tuple[Edge, ...]:
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
    for text, fill, dashed in (("recorded fact", "#ffffff", False), ("inferred fact", "#fff8e1", True),
                               ("source quote", "#f5f5f5", False)):
        w = len(text) * CHAR_W + 2 * PAD + 4
        out.append(Box(node=f"legend:{text}", kind="legend", x=x, y=y, w=w, h=LINE_H + 2 * PAD, lines=(text,),
                       fill=fill, stroke="#5f6b7a", ink="#1a1a1a", dashed=dashed, tip=text, classes="legend"))
        x += w + 8
    return out


def layout(g: "nx.DiGraph[str]", requests: Iterable[str] | None = None, *, header: bool = True) -> Layout:
    """Place the boxes of ``g`` (all requests, or only ``requests``) in bands, one per request."""
    chosen = list(requests) if requests is not None else [n for n in g.successors("case")]
    boxes: list[Box] = []
    texts: list[tuple[float, float, str, int, bool]] = []
    y = 16.0
    if header:
        engine = g.graph.get("engine_version") or "?"
        texts.append((16, y + 16, f"Evidence graph of case {g.graph['case_id']} (engine {engine})", 18, True))
        texts.append((16, y + 32, "request > engine decision > guideline section and version > "
                      "criterion (status) > evidence fact > source quote (document @ offsets)", FONT, False))
        boxes += _legend(y + 44)
        y += 90
    for rnode in chosen:
        band, bottom = _band(g, rnode, y)
        boxes += band
        y = bottom + 18
    return Layout(width=WIDTH, height=y, boxes=tuple(boxes), edges=_edges(g, boxes), texts=tuple(texts))


# ---------------------------------------------------------------------------
# SVG (our own writer) and PNG (Pillow, from the same layout)
# ---------------------------------------------------------------------------
def _curve(p: tuple[float, float, float, float], vertical: bool) -> str:
    x1, y1, x2, y2 = (svg_number(v) for v in p)
    if vertical:  # same column: down, then across
        return f"M{x1} {y1} L{x1} {y2} L{x2} {y2}"
    mid = svg_number((p[0] + p[2]) / 2)
    return f"M{x1} {y1} C{mid} {y1} {mid} {y2} {x2} {y2}"


def layout_svg(lay: Layout, *, title: str, interactive: bool = False) -> str:
    """``lay`` as an ``<svg>`` element (text, without the XML declaration); ``interactive`` makes
    criterion boxes focusable, for the audit page."""
    w, h = svg_number(lay.width), svg_number(lay.height)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
           f'font-family="DejaVu Sans, Verdana, Arial, sans-serif" font-size="{FONT}" role="img">',
           f"<title>{escape(title)}</title>",
           f'<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>']
    for x, y, text, size, bold in lay.texts:
        weight = ' font-weight="bold"' if bold else ""
        out.append(f'<text x="{svg_number(x)}" y="{svg_number(y)}" font-size="{size}"{weight} fill="#1a1a1a">'
                   f"{escape(text)}</text>")
    out.append('<g class="edges">')
    for ed in lay.edges:
        dash = ' stroke-dasharray="5 3"' if ed.dashed else ""
        out.append(f'<path class="edge {ed.relation}" data-from="{escape(ed.source)}" data-to="{escape(ed.target)}" '
                   f'd="{_curve(ed.points, ed.vertical)}" fill="none" stroke="{ed.colour}" stroke-width="1.4"{dash}/>')
    out.append("</g>")
    out.append('<g class="nodes">')
    for b in lay.boxes:
        attrs = "".join(f' data-{k}="{escape(v)}"' for k, v in b.data)
        focus = ' tabindex="0"' if interactive and b.kind == "criterion" else ""
        dash = ' stroke-dasharray="5 3"' if b.dashed else ""
        sw = "2.5" if b.stroke == DISAGREE else "1"
        out.append(f'<g class="{escape(b.classes)}" data-node="{escape(b.node)}"{attrs}{focus}>'
                   f"<title>{escape(b.tip)}</title>"
                   f'<rect x="{svg_number(b.x)}" y="{svg_number(b.y)}" width="{svg_number(b.w)}" '
                   f'height="{svg_number(b.h)}" rx="4" '
                   f'fill="{b.fill}" stroke="{b.stroke}" stroke-width="{sw}"{dash}/>')
        for i, line in enumerate(b.lines):
            ty = b.y + PAD + (i + 1) * LINE_H - 3
            strong = ' font-weight="bold"' if i == 0 and b.kind in ("request", "criterion", "decision") else ""
            style = ' font-style="italic"' if b.kind == "quote" and i < len(b.lines) - 1 else ""
            out.append(f'<text x="{svg_number(b.x + PAD)}" y="{svg_number(ty)}" fill="{b.ink}"{strong}{style}>'
                       f'{escape(line)}</text>')
        out.append("</g>")
    out.append("</g></svg>")
    return "\n".join(out) + "\n"


def audit_svg(source: "CaseGraph | Store | nx.DiGraph[str]", case_id: str | None = None) -> str:
    """The evidence graph of a case as a static, standalone SVG document (text), byte-stable.

    Each node is a ``<g class="node KIND ..." data-node="ID">`` with a ``<title>`` holding its full
    text; criteria carry ``data-status``.
    """
    g = as_evidence_graph(source, case_id)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + layout_svg(layout(g), title=f"Evidence graph of case "
                                                                        f"{g.graph['case_id']}")


def _hex(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def audit_png(source: "CaseGraph | Store | nx.DiGraph[str]", case_id: str | None = None, *,
              scale: float = 1.0) -> bytes:
    """The same picture as :func:`audit_svg`, drawn by Pillow as PNG bytes (deterministic for a
    given Pillow version).  ``scale`` 2 gives a sharper picture for print."""
    from PIL import Image, ImageDraw, ImageFont

    g = as_evidence_graph(source, case_id)
    lay = layout(g)

    def s(v: float) -> int:
        return int(round(v * scale))

    img = Image.new("RGB", (s(lay.width), s(lay.height)), "#ffffff")
    draw = ImageDraw.Draw(img)
    fonts: dict[int, ImageFont.ImageFont | ImageFont.FreeTypeFont] = {}

    def font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
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
            draw.text((s(b.x + PAD), s(ty)), line, fill=_hex(b.ink), font=font(FONT), anchor="ls")
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()




# ---------------------------------------------------------------------------
# Any RDF graph (a CONSTRUCT result) as the same kind of picture
# ---------------------------------------------------------------------------
def graph_svg(graph: Graph, *, max_nodes: int = 250, title: str = "CONSTRUCT result") -> str:
    """An RDF graph drawn as boxes in columns: one box per subject or IRI object, its literal values
    inside, edges labelled by predicate.  Assessments with a ``kg:status`` take the status colour.
    Only the first ``max_nodes`` resources (sorted) are drawn, and the picture says so."""
    import networkx as nx

    nodes: dict[Node, list[str]] = {}
    dg: nx.DiGraph[Node] = nx.DiGraph()
    for s, p, o in sorted(graph):
        nodes.setdefault(s, [])
        if isinstance(o, Literal):
            nodes[s].append(f"{local_name(p)}: {o}")
        else:
            nodes.setdefault(o, [])
            dg.add_edge(s, o, label=local_name(p))
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
    col_w, gap = 300, 50
    cursor: dict[int, float] = {}
    boxes: list[Box] = []
    at: dict[Node, Box] = {}
    for n in keys:
        if n not in shown:
            continue
        col = min(depth.get(n, 0), 5)
        x = 16 + col * (col_w + gap)
        y = cursor.get(col, 64.0)
        status = graph.value(n, KG.status)
        fill, ink = ("#ffffff", "#1a1a1a")
        classes = "node resource"
        if status in STATUS_NAMES:
            fill, ink = STATUS_COLOURS[STATUS_NAMES[status]], "#ffffff"
            classes += " " + STATUS_NAMES[status]
        elif isinstance(n, URIRef) and not nodes[n]:
            fill = "#f5f5f5"
        lines = _wrap(local_name(n) or str(n), col_w, 1) + tuple(
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
                 texts=((16, 24, title, 18, True), (16, 46, note, FONT, False)))
    return layout_svg(lay, title=title)



# ---------------------------------------------------------------------------
# GraphML
# ---------------------------------------------------------------------------
def graphml(source: "CaseGraph | Store | nx.DiGraph[str]", case_id: str | None = None) -> str:
    """The evidence graph as GraphML text (for Gephi, Cytoscape, yEd), byte-stable."""
    import networkx as nx

    return "\n".join(nx.generate_graphml(as_evidence_graph(source, case_id))) + "\n"


def write_graphml(source: "CaseGraph | Store | nx.DiGraph[str]", out: str | Path | BinaryIO,
                  case_id: str | None = None) -> None:
    """Write :func:`graphml` to a file path or a binary file object (UTF-8)."""
    data = graphml(source, case_id).encode("utf-8")
    if isinstance(out, (str, Path)):
        Path(out).write_bytes(data)
    else:
        out.write(data)

