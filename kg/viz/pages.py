"""The pages: the self-contained interactive audit page of a case, and the small page the
endpoint shows a drawn CONSTRUCT result in.

After :mod:`kg.viz.draw`.  :func:`audit_html` lists a case's items, draws the selected item's
evidence graph and, for a clicked criterion, its facts and source quotes.  The pages fetch
nothing: their style and script (``static/audit.css``, ``static/audit.js``) are inlined and
pinned by a Content-Security-Policy holding their hashes.  Letter text is escaped wherever it is
shown; every page is byte-stable.  Nothing here mutates its input.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence
from urllib.parse import quote

from kg.viz.draw import layout, layout_svg
from kg.viz.evidence import STATUS_COLOURS, STATUS_WORDS, as_evidence_graph
from kg.viz.markup import csp, escape, static_text

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

    from kg.engine.graph import CaseGraph
    from kg.store.store import Store

__all__ = ["audit_html", "picture_page", "links_html", "AUDIT_SUFFIXES", "write_audit"]

def _item_html(g: "nx.DiGraph[str]", rnode: str, total: int, letter_href: str) -> str:
    r = g.nodes[rnode]
    rid = r["request_id"]
    dnode = f"decision:{rid}"
    d = g.nodes[dnode]
    vnode = f"reviewer:{rid}"
    v = g.nodes[vnode] if vnode in g else None
    mark = "\u2260 disagreement" if d["agreement"] == "disagrees" else escape(d["agreement"])
    out = [f'<section class="item" data-request="{escape(rid)}" hidden>',
           f"<h2>Item {r['order']} of {total}: {escape(r['label'])}</h2>",
           f"<p>Request <code>{escape(rid)}</code>"
           + (f"; service kind: {escape(r['service_kind'])}" if r["service_kind"] else "")
           + (f"; requested {escape(r['request_date'])}" if r["request_date"] else "")
           + (f"; review date {escape(r['review_date'])}" if r["review_date"] else "") + "</p>",
           '<p class="verdicts">'
           f'<span>Engine: <strong class="engine {d["conclusion"]}-text">{escape(d["label"])}</strong></span>'
           '<span>Reviewer: <strong class="reviewer">'
           f'{escape(v["label"]) if v else "no IMR decision recorded"}</strong>'
           + (f" <cite>({escape(v['citation'])})</cite>" if v and v["citation"] else "") + "</span>"
           + f'<span class="badge mark {d["agreement"].replace(" ", "-")}">{mark}</span>'
           + "</p>"]
    if d["note"]:
        out.append(f"<p>{escape(d['note'])}</p>")
    gnode = f"guideline:{rid}"
    lay = layout(g, [rnode], header=False)
    out.append('<div class="graph">' + layout_svg(lay, title=f"Evidence graph of item {r['order']}", interactive=True)
               + "</div>")
    if gnode in g:
        gd = g.nodes[gnode]
        out.append(_guideline_html(gd))
        crits = list(g.successors(gnode))
        out.append('<div class="criteria">')
        for c in crits:
            cd = g.nodes[c]
            key = c.split(":", 1)[1]
            out.append(f'<button type="button" class="criterion {cd["status"]}" data-criterion="{escape(key)}" '
                       f'data-status="{cd["status"]}" aria-pressed="false">{escape(cd["label"])}: '
                       f'{STATUS_WORDS[cd["status"]]}</button>')
        out.append("</div>")
        out.append('<p class="hint">Click a criterion (here or in the graph) to see the facts and the source '
                   "quotes behind it.</p>")
        for c in crits:
            out.append(_criterion_detail(g, c, letter_href))
    out.append("</section>")
    return "\n".join(out)


def _guideline_html(gd: "dict[str, Any]") -> str:
    """Which guideline the engine applied: its kind (MTUS, or outside the MTUS with its publisher and
    the Labor Code 4610.5(c)(2) step), version, section and dates in force."""
    if gd.get("guideline_kind") == "outside the MTUS":
        kind = ("<strong>Outside the MTUS</strong>: the MTUS does not address this service, so under Labor Code "
                f"4610.5(c)(2) the engine used {escape(gd['source'] or gd['version_label'])}"
                + (f" ({escape(gd['evidence_step'])})" if gd["evidence_step"] else "") + ". ")
    else:
        kind = "<strong>MTUS</strong> (the Medical Treatment Utilization Schedule). "
    return (f'<p class="guideline">Guideline kind: {kind}Guideline applied: {escape(gd["version_label"])}, '
            f"section \u201c{escape(gd['section_label'])}\u201d "
            f"(in force {escape(gd['effective_from'] or '?')} to {escape(gd['effective_until'] or 'today')}"
            f"{'' if gd['dates_verified'] else ', dates not yet verified against the regulation'}).</p>")


def _quotes_html(g: "nx.DiGraph[str]", node: str, letter_href: str) -> list[str]:
    """The source quotes under ``node``, each with its document and, given ``letter_href``, a link to
    the passage in the letter page."""
    out = []
    for q in g.successors(node):
        if g.edges[node, q]["relation"] != "quoted_in":
            continue
        qd = g.nodes[q]
        where = escape(qd["file"]) + (f", characters {qd['start']}\u2013{qd['end']}" if "start" in qd else "")
        if letter_href:
            target = letter_href + "#:~:text=" + quote(" ".join(qd["exact"].split()[:12]), safe="")
            where = f'<a href="{escape(target)}">{where}</a>'
        out.append(f'<blockquote class="quote">{escape(qd["exact"])}</blockquote><cite>{where}</cite>')
    return out


def _derived_html(g: "nx.DiGraph[str]", f: str, letter_href: str) -> list[str]:
    """Each value derived on fact ``f``, with the recorded facts it was computed from and their quotes."""
    values: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for i in g.successors(f):
        e = g.edges[f, i]
        if e["relation"] == "computed_from":
            values.setdefault(e["derived"], []).append((i, e))
    out = []
    for name, inputs in values.items():
        e = inputs[0][1]
        out.append(f'<div class="derived" data-derived="{escape(name)}"><p><strong>{escape(e["derived_label"])}: '
                   f'{escape(e["value"])}</strong> (worked out by the engine, not stated in the letter)'
                   + (f". {escape(e['definition'])}" if e["definition"] else "") + " Computed from:</p><ul>")
        for i, _ in inputs:
            d = g.nodes[i]
            quotes = _quotes_html(g, i, letter_href) or ["<p>No source quote recorded.</p>"]
            out.append(f'<li data-input="{escape(d["property"])}">{escape(d["property_label"])} '
                       f'<strong>{escape(d["value"])}</strong> ({escape(d["label"])})' + "".join(quotes) + "</li>")
        out.append("</ul></div>")
    return out


def _criterion_detail(g: "nx.DiGraph[str]", c: str, letter_href: str) -> str:
    cd = g.nodes[c]
    key = c.split(":", 1)[1]
    out = [f'<div class="detail" data-criterion="{escape(key)}" hidden>',
           f'<h3>Criterion {escape(cd["label"])}: '
           f'<span class="badge {cd["status"]}">{STATUS_WORDS[cd["status"]]}</span></h3>',
           f"<p><strong>The guideline asks:</strong> {escape(cd['statement'])}</p>",
           f"<p><strong>Finding:</strong> {escape(cd['explanation'])}</p>"]
    facts = list(g.successors(c))
    if not facts:
        out.append("<p>No fact of the record bears on this criterion.</p>")
    for f in facts:
        fd = g.nodes[f]
        out.append(f'<div class="fact {fd["graph"]}" data-fact="{escape(f)}"><strong>{escape(fd["label"])}</strong> '
                   f'<span class="badge">{"recorded" if fd["graph"] == "asserted" else "inferred"} fact</span>')
        why = g.edges[c, f].get("not_counted", "")
        if why:
            out.append(f'<p class="not-counted"><strong>Did not count for criterion {cd["number"]}:</strong> '
                       f"{escape(why)}.</p>")
        out += _derived_html(g, f, letter_href)
        out += _quotes_html(g, f, letter_href) or ["<p>No source quote recorded.</p>"]
        out.append("</div>")
    if cd["decided_by"]:
        out.append(f"<details><summary>For the auditor: the checks that decided it</summary><p>SHACL shapes "
                   f"<code>{escape(cd['decided_by'])}</code></p></details>")
    out.append("</div>")
    return "\n".join(out)


def links_html(links: "Sequence[tuple[str, str]]") -> str:
    """A line of links (label, href) back to the pages around a page; empty for none."""
    if not links:
        return ""
    return ('<nav class="back" aria-label="related pages">'
            + " \u00b7 ".join(f'<a href="{escape(href)}">{escape(label)}</a>' for label, href in links) + "</nav>\n")


def audit_html(source: "CaseGraph | Store | nx.DiGraph[str]", case_id: str | None = None, *,
               links: "Sequence[tuple[str, str]]" = (), letter_href: str = "") -> str:
    """The self-contained interactive audit page of a case (HTML text, byte-stable).

    A list of the case's items on the left (engine and reviewer decisions, disagreements marked);
    the selected item's evidence graph, its criteria coloured by status, and for the clicked
    criterion the facts (asserted or inferred) and the source quotes with document and position.
    Each value the engine derived (days since the injury, visit totals) shows the recorded facts
    it was computed from with their quotes; a fact that did not count for a criterion says why.
    ``letter_href`` (the letter page, relative to this one) links each quote to its passage.
    Only the selected item is expanded, so a letter with twenty items stays readable.  Script and
    style are inline and pinned by a Content-Security-Policy: the page fetches nothing.
    """
    g = as_evidence_graph(source, case_id)
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
        nav.append(f'<button type="button" data-item="{escape(rd["request_id"])}" aria-current="false">'
                   f'<span class="svc">{rd["order"]}. {escape(rd["label"][:90])}</span>'
                   f'<span class="badge">engine: {escape(d["label"])}</span>'
                   f'<span class="badge">reviewer: {escape(rev)}</span>'
                   f"{mark}</button>")
    legend = "".join(f'<span class="badge {s}">{STATUS_WORDS[s]}</span>' for s in STATUS_COLOURS)
    body = [f"<header>{links_html(links)}<h1>Audit of case {escape(cid)}</h1>",
            f"<p>{len(requests)} item{'s' if len(requests) != 1 else ''}; "
            f"engine {escape(g.graph.get('engine_version') or '?')}; "
            f"engine and reviewer agree on {compared.count('agrees')}, disagree on {compared.count('disagrees')}, "
            f"{compared.count('not compared')} not compared (not covered or no reviewer decision).</p>",
            f'<p class="legend">Criterion status: {legend} Facts: solid border recorded in the letter, '
            "dashed border inferred by the engine.</p>",
            "</header>",
            '<div class="layout"><nav id="items" aria-label="items">' + "\n".join(nav) + "</nav>",
            "<main>"]
    body += [_item_html(g, r, len(requests), letter_href) for r in requests]
    body.append("</main></div>")
    style, script = static_text("audit.css"), static_text("audit.js")
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{csp(style, script)}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Audit of case {escape(cid)}</title><style>{style}</style></head>\n<body>\n"
            + "\n".join(body) + f"\n<script>{script}</script>\n</body></html>\n")


def picture_page(title: str, body: str) -> str:
    """A standalone page titled ``title`` (escaped) around ``body`` (HTML, inserted as it is), with
    a style for a ``div.graph`` holding a wide picture; no script."""
    style = "body{font-family:\"DejaVu Sans\",Verdana,Arial,sans-serif;margin:1em}div.graph{overflow:auto}"
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{csp(style, None)}">'
            f"<title>{escape(title)}</title><style>{style}</style></head><body>{body}</body></html>\n")


#: what ``imrkg audit -o FILE`` writes, by the file's suffix
AUDIT_SUFFIXES = (".html", ".svg", ".png", ".graphml")


def write_audit(output: str | Path, source: "CaseGraph | Store", case_id: str | None = None) -> None:
    """Write the audit of a case to ``output``, as its suffix says (one of :data:`AUDIT_SUFFIXES`):
    the interactive page (:func:`audit_html`), a picture (SVG or PNG) or GraphML.  ``source`` and
    ``case_id`` as for :func:`audit_html`.  Raises ValueError for another suffix, OSError when the
    file cannot be written."""
    from kg.viz import draw

    path = Path(output)
    suffix = path.suffix.lower()
    if suffix == ".html":
        path.write_text(audit_html(source, case_id), encoding="utf-8")
    elif suffix == ".svg":
        path.write_text(draw.audit_svg(source, case_id), encoding="utf-8")
    elif suffix == ".png":
        path.write_bytes(draw.audit_png(source, case_id))
    elif suffix == ".graphml":
        draw.write_graphml(source, path, case_id=case_id)
    else:
        raise ValueError(f"no audit is written as {suffix or 'a file without a suffix'}: give one of {AUDIT_SUFFIXES}")
