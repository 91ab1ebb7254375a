"""The endpoint's HTML pages besides the query editor: home, the case list, one case, its letter's
quotes and the query library, all under one site menu.

After :mod:`kg.web.sparql`.  Each function takes plain data (what the routes of
:mod:`kg.web.app` read from the store) and returns ``(html, policy)``: the page, byte-stable, and
the ``Content-Security-Policy`` to send with it (its one inline style, pinned by hash; no script).
Links are relative (``root`` is the way back to the site's root from the page, ``""`` or
``"../"``), so the app can be mounted under any path.  Letter text is escaped wherever it is shown.
Nothing here mutates its input.

>>> html, policy = home_html(["tpi-six"], [])
>>> 'href="cases/tpi-six"' in html and "script-src 'none'" in policy
True
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from kg.viz.markup import escape, source_hash, static_text

__all__ = ["MENU", "page_shell", "home_html", "cases_html", "case_summaries", "case_html", "letter_html",
           "queries_html", "DECISION_WORDS", "CASE_SORTS", "CASES_PER_PAGE"]

#: The site menu: (label, path from the root).
MENU = (("Home", ""), ("Query", "query"), ("Report", "report"), ("Cases", "cases"), ("Queries", "queries"))

#: The engine's and the criteria's words, as a claims examiner reads them.
DECISION_WORDS = {"medically_necessary": "medically necessary", "not_medically_necessary": "not medically necessary",
                  "not_covered": "not covered by an encoded guideline section", "met": "met", "not_met": "not met",
                  "not_documented": "not documented", "not_applicable": "not applicable"}


def page_shell(title: str, body: str, *, root: str = "", current: str | None = None, style: str = "",
               script_sources: Sequence[str] = (), head: str = "", tail: str = "") -> tuple[str, str]:
    """A page of the site: the menu (``current`` marked), ``body`` (HTML, inserted as it is) in
    ``<main>``, ``site.css`` plus ``style`` inlined; returns ``(html, policy)``.

    ``script_sources`` are the page's script sources for its policy (hashes or ``'self'``);
    ``head`` and ``tail`` are inserted at the end of ``<head>`` and of ``<body>``.
    """
    css = static_text("site.css", "kg.web") + style
    menu = "".join(f'<a href="{escape(root + path) or "./"}"'
                   + (' aria-current="page"' if label == current else "") + f">{escape(label)}</a>"
                   for label, path in MENU)
    scripts = " ".join(script_sources) or "'none'"
    policy = (f"default-src 'none'; style-src {source_hash(css)}; script-src {scripts}; connect-src 'self'; "
              "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
    html = ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)} \u2013 imr-kg</title><style>{css}</style>{head}</head>\n<body>\n"
            f'<nav class="site" aria-label="site">{menu}</nav>\n<main>\n{body}\n</main>\n{tail}</body></html>\n')
    return html, policy


def home_html(case_ids: Sequence[str], queries: Iterable[Any]) -> tuple[str, str]:
    """The home page: what the service holds, and the ways in (query, report, cases, library)."""
    n_queries = len(list(queries))
    first = "".join(f'<li><a href="cases/{escape(c)}">{escape(c)}</a></li>' for c in case_ids[:12])
    more = f'<li><a href="cases">all {len(case_ids)} cases</a></li>' if len(case_ids) > 12 else ""
    body = ("<h1>imr-kg: IMR determinations as a knowledge graph</h1>"
            f"<p>This service holds {len(case_ids)} case{'s' if len(case_ids) != 1 else ''} and answers SPARQL "
            'at <a href="sparql">sparql</a> (SPARQL 1.1 Protocol; without a query it answers its service '
            "description).</p>"
            '<ul class="cards">'
            '<li><a href="query">Query editor</a><p>Write SPARQL or run a library query, with its '
            "parameters as a form; download the rows as CSV, TSV or JSON.</p></li>"
            '<li><a href="report">Corpus report</a><p>Uphold and overturn rates, engine against reviewer, '
            "the criteria most often failing.</p></li>"
            '<li><a href="cases">Cases</a><p>Every case with its items, the engine\'s and the reviewer\'s '
            "decisions, its audit page and its letter.</p></li>"
            f'<li><a href="queries">Query library</a><p>The {n_queries} named queries, each with its '
            "question, parameters and columns.</p></li></ul>"
            f'<h2>Cases</h2><ul id="cases">{first}{more}</ul>')
    return page_shell("Home", body, current="Home")


#: The orders the case list can be sorted in: (label, key of a case's summary, highest first?).
CASE_SORTS = {"case": ("case", False), "items": ("items", True), "necessary": ("necessary items", True),
              "not-necessary": ("items not necessary", True), "disagreements": ("disagreements", True)}
#: Cases on one page of the case list.
CASES_PER_PAGE = 50
_NECESSARY, _NOT_NECESSARY = "MedicallyNecessary", "NotMedicallyNecessary"


def case_summaries(rows: Iterable[Sequence[str | None]]) -> list[dict[str, Any]]:
    """Each case's decisions from the ``case-decisions`` query's rows (case, request, service, engine,
    reviewer, section, kind as text, ``None`` for unbound): its items, how many the engine finds
    medically necessary, not necessary and not covered, the disagreements with the reviewer and
    the sections used (with their kind), in case-id order."""
    cases: dict[str, dict[str, Any]] = {}
    for case, _request, _service, engine, reviewer, section, kind in rows:
        cid = (case or "").rstrip("/").rsplit("/", 1)[-1]
        c = cases.setdefault(cid, {"case": cid, "items": 0, "necessary": 0, "not_necessary": 0, "not_covered": 0,
                                   "disagreements": 0, "sections": {}})
        c["items"] += 1
        conclusion = (engine or "").rsplit("#", 1)[-1]
        c["necessary"] += conclusion == _NECESSARY
        c["not_necessary"] += conclusion == _NOT_NECESSARY
        c["not_covered"] += conclusion not in (_NECESSARY, _NOT_NECESSARY)
        outcome = (reviewer or "").rsplit("#", 1)[-1]
        if outcome and conclusion in (_NECESSARY, _NOT_NECESSARY):
            c["disagreements"] += (outcome == "Overturned") != (conclusion == _NECESSARY)
        if section:
            outside = (kind or "").endswith("OutsideMTUSGuideline")
            c["sections"][section] = "outside the MTUS" if outside else "MTUS"
    return [cases[k] for k in sorted(cases)]


def cases_html(summaries: Sequence[Mapping[str, Any]], *, sort: str = "case", page: int = 1,
               truncated: bool = False) -> tuple[str, str]:
    """The case list: one row per case with its items and decisions (engine: necessary, not
    necessary, not covered; disagreements with the reviewer), the guideline sections used with
    their kind, and links to the case page, its audit page and its letter.  ``summaries`` are
    :func:`case_summaries`; ``sort`` is a key of :data:`CASE_SORTS` (ties in case-id order), and
    the list is paged at :data:`CASES_PER_PAGE`.  Raises ``ValueError`` for an unknown sort or a
    page past the last."""
    if sort not in CASE_SORTS:
        raise ValueError(f"unknown sort '{sort}'; use one of {', '.join(CASE_SORTS)}")
    pages = max(1, -(-len(summaries) // CASES_PER_PAGE))
    if not 1 <= page <= pages:
        raise ValueError(f"no page {page} of the case list (it has {pages})")
    key = {"case": "case", "items": "items", "necessary": "necessary", "not-necessary": "not_necessary",
           "disagreements": "disagreements"}[sort]
    ordered = sorted(summaries, key=lambda c: c["case"])
    if CASE_SORTS[sort][1]:
        ordered = sorted(ordered, key=lambda c: -c[key])
    shown = ordered[(page - 1) * CASES_PER_PAGE:page * CASES_PER_PAGE]

    def head(name: str, label: str) -> str:
        if name == sort:
            order = "descending" if CASE_SORTS[name][1] else "ascending"
            return f'<th scope="col" aria-sort="{order}">{escape(label)}</th>'
        return f'<th scope="col"><a href="cases?sort={name}">{escape(label)}</a></th>'

    rows = []
    for c in shown:
        cid = escape(c["case"])
        sections = "; ".join(f"{escape(name)} ({kind})" for name, kind in sorted(c["sections"].items())) or "none"
        rows.append(f'<tr><td><a href="cases/{cid}">{cid}</a></td><td>{c["items"]}</td><td>{c["necessary"]}</td>'
                    f'<td>{c["not_necessary"]}</td><td>{c["not_covered"]}</td><td>{c["disagreements"]}</td>'
                    f"<td>{sections}</td>"
                    f'<td><a href="cases/{cid}/audit">audit page</a> \u00b7 <a href="cases/{cid}/letter">letter</a>'
                    "</td></tr>")
    nav = ""
    if pages > 1:
        links = [(f'<a href="cases?sort={sort}&amp;page={n}">{n}</a>' if n != page
                  else f'<span aria-current="page">{n}</span>') for n in range(1, pages + 1)]
        nav = f'<nav class="pages" aria-label="pages of the case list">Page: {" ".join(links)}</nav>'
    first, last = (page - 1) * CASES_PER_PAGE + 1, (page - 1) * CASES_PER_PAGE + len(shown)
    body = (f"<h1>Cases</h1><p>{len(summaries)} case{'s' if len(summaries) != 1 else ''} in the store"
            + (f"; cases {first} to {last} shown" if pages > 1 else "")
            + f", by {escape(CASE_SORTS[sort][0])}"
            + (". The store holds more items than one answer carries, so some cases may be missing or "
               "counted short" if truncated else "") + ". Items are the engine's decisions; a disagreement is an "
            "item the engine and the reviewer decided differently.</p>" + nav
            + '<table id="case-list"><thead><tr>' + head("case", "case") + head("items", "items")
            + head("necessary", "necessary") + head("not-necessary", "not necessary")
            + '<th scope="col">not covered</th>' + head("disagreements", "disagreements")
            + '<th scope="col">guideline sections (kind)</th><th scope="col">evidence</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>' + nav)
    return page_shell("Cases", body, current="Cases")


def _criteria_table(criteria: Sequence[Mapping[str, Any]]) -> str:
    rows = "".join(f'<tr><td>{c["number"]}</td><td>{escape(c["label"])}</td>'
                   f'<td><span class="{escape(c["status"])}">{escape(DECISION_WORDS.get(c["status"], c["status"]))}'
                   f'</span></td><td>{escape(" ".join(c["reasons"]))}</td></tr>' for c in criteria)
    return ('<table class="criteria"><thead><tr><th scope="col">#</th><th scope="col">criterion</th>'
            f'<th scope="col">status</th><th scope="col">why</th></tr></thead><tbody>{rows}</tbody></table>')


def _item_html(item: Mapping[str, Any]) -> str:
    engine = DECISION_WORDS.get(item["engine_decision"], item["engine_decision"])
    reviewer = item["reviewer_decision"] or "no IMR decision recorded"
    mark = {True: "agrees", False: '<span class="badge disagrees">\u2260 disagrees</span>'}.get(
        item["agrees_with_reviewer"], "not compared")
    out = [f'<section class="item" id="{escape(item["request"])}"><h2>{escape(item["service"])}</h2>',
           f'<p>Engine: <span class="decision engine">{escape(engine)}</span>; reviewer: '
           f'<span class="decision reviewer">{escape(reviewer)}</span>'
           + (f' <cite>({escape(item["reviewer_citation"])})</cite>' if item.get("reviewer_citation") else "")
           + f"; {mark}.</p>"]
    g = item["guideline"]
    if g:
        out.append(f'<p>{escape(g["version_label"])}, section \u201c{escape(g["section_label"])}\u201d</p>')
    elif item.get("note"):
        out.append(f'<p>{escape(item["note"])}</p>')
    if item["criteria"]:
        out.append(_criteria_table(item["criteria"]))
    out.append(f'<details><summary>Rationale</summary><pre>{escape(item["rationale"])}</pre></details></section>')
    return "\n".join(out)


def case_html(det: Mapping[str, Any]) -> tuple[str, str]:
    """One case's page (``/cases/<id>``): its items with the engine's and the reviewer's decisions
    and the criteria, and links to its audit page, its letter and its JSON.  ``det`` is
    :func:`kg.engine.rationale.to_json_data` of its determination."""
    cid = escape(det["case"])
    items = det["items"]
    necessary = sum(1 for i in items if i["engine_decision"] == "medically_necessary")
    body = (f"<h1>Case {cid}</h1>"
            f'<p>{len(items)} item{"s" if len(items) != 1 else ""}; the engine finds {necessary} medically necessary '
            f'(engine {escape(det.get("engine_version") or "?")}). IRI <code>{escape(det["case_iri"])}</code>.</p>'
            f'<p class="links"><a href="{cid}/audit">Audit page</a> (the evidence behind each criterion) \u00b7 '
            f'<a href="{cid}/letter">The letter</a> (its documents and quoted passages) \u00b7 '
            f'<a href="{cid}?format=json">JSON</a></p>'
            + "\n".join(_item_html(i) for i in items))
    return page_shell(f"Case {det['case']}", body, root="../", current="Cases")


def letter_html(case_id: str, rows: Sequence[Sequence[str | None]]) -> tuple[str, str]:
    """The letter of a case as the store holds it: its documents and, for each, the quoted passages
    and the facts they support.  ``rows`` are the ``case-documents`` query's (document, file,
    title, fact, quote) as text, ``None`` for unbound."""
    cid = escape(case_id)
    docs: dict[str, list[Sequence[str | None]]] = {}
    for r in rows:
        docs.setdefault(r[0] or "", []).append(r)
    parts = [f"<h1>The letter of case {cid}</h1>",
             f'<p><a href="../{cid}">Back to case {cid}</a> \u00b7 <a href="audit">Audit page</a></p>']
    if not docs:
        parts.append("<p>The store records no document for this case (it was made from a case file without "
                     "one, or its letter was not kept).</p>")
    for doc, drows in docs.items():
        file, title = drows[0][1], drows[0][2]
        parts.append(f"<h2>{escape(title or file or doc)}</h2><p>File <code>{escape(file or '?')}</code>; "
                     f"IRI <code>{escape(doc)}</code>.</p>")
        quoted = [r for r in drows if r[4]]
        if not quoted:
            parts.append("<p>No passage of it is quoted.</p>")
        for r in quoted:
            fact = r[3].rsplit("/", 1)[-1] if r[3] else "no fact"
            parts.append(f'<blockquote>{escape(r[4])}</blockquote><p class="muted">supports: {escape(fact)}</p>')
    return page_shell(f"Letter of case {case_id}", "\n".join(parts), root="../../", current="Cases")


def queries_html(queries: Iterable[Any]) -> tuple[str, str]:
    """The query library: each query's name, title, question, parameters and columns, with a link
    that opens it in the editor."""
    parts = ["<h1>Query library</h1><p>Each query answers one question; open it in the editor to run it, "
             "with its parameters as a form (<code>imrkg query NAME</code> runs the same).</p>"]
    for q in queries:
        params = "; ".join(f"?{p.name} ({p.type}) {p.description}" for p in q.parameters) or "none"
        parts.append(f'<section id="{escape(q.name)}"><h2>{escape(q.title)}</h2>'
                     f"<p>{escape(q.question)}</p><p class=\"muted\">Parameters: {escape(params)}. "
                     f"Columns: {escape(', '.join(q.columns))}.</p>"
                     f'<p><a href="query?name={escape(q.name)}">Open <code>{escape(q.name)}</code> in the editor</a>'
                     "</p></section>")
    return page_shell("Query library", "\n".join(parts), current="Queries")
