"""The corpus report: a self-contained page over a whole store, and writing it with every
case's audit page.

Last module of :mod:`kg.viz`.  :func:`report_html` shows the answers of the query library's
report queries (:data:`REPORT_QUERIES`, run with :func:`kg.store.query.run_query`) as tables and
charts (HTML bars drawn with inline SVG, so they shrink to a phone's width), styled by
``static/report.css`` (no script): the disagreements between engine and reviewer with links to
each case, a confusion table whose cells link to their items, what each total counts and leaves
out, and what the determinations were made with.  One colour meaning runs through every chart
(:data:`PALETTE`, Okabe-Ito, safe for colour-blind readers).  :func:`write_report` writes it and,
if asked, the audit pages it links to (:func:`kg.viz.pages.audit_html`).  The report is
byte-stable for a given generation date and names no path of the machine.  The store is only read.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from rdflib import Literal
from rdflib.term import Node

from kg.viz.markup import csp, escape, static_text, svg_number
from kg.viz.pages import audit_html, links_html

if TYPE_CHECKING:  # pragma: no cover
    from kg.store.store import QueryResult, Store

__all__ = ["REPORT_QUERIES", "PALETTE", "report_html", "write_report"]

#: The library queries the corpus report is made of, in the order it shows them.
REPORT_QUERIES = ("decisions-by-service-kind", "decisions-by-section", "decisions-by-month",
                  "engine-reviewer-confusion", "engine-reviewer-disagreements", "criteria-most-often-failing",
                  "engine-reviewer-items", "determination-stamps")

#: One colour per meaning, the same in every chart and legend (Okabe-Ito): medically necessary and
#: overturned (the reviewer found it necessary) share blue, not medically necessary and upheld
#: share vermillion; items no encoded section covers are grey; the criteria's two failing
#: statuses have colours of their own.
PALETTE = {"necessary": "#0072B2", "not_necessary": "#D55E00", "not_covered": "#999999",
           "not_met": "#CC79A7", "not_documented": "#E69F00"}

_NO_ENGINE, _NO_REVIEWER = "not determined", "no reviewer decision"


def _cell(v: Node | None) -> str:
    return "" if v is None else str(v)


def _int(v: Node | None) -> int:
    try:
        return int(str(v)) if v is not None else 0
    except ValueError:
        return 0


def _meaning(label: str) -> str:
    """The palette key of an engine conclusion or reviewer decision label."""
    if label.startswith("not covered"):
        return "not_covered"
    if label.startswith(("not medically", "upheld")):
        return "not_necessary"
    return "necessary" if label.startswith(("medically", "overturned")) else "not_covered"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _cell_id(engine: str, reviewer: str) -> str:
    """The anchor of the items of one confusion cell."""
    return f"cell-{_slug(engine.split(' (')[0])}--{_slug(reviewer.split(' (')[0])}"


def _case_id(iri: Node | None) -> str:
    return str(iri or "").rstrip("/").rsplit("/", 1)[-1]


def _table(name: str, columns: Sequence[str], rows: Sequence[Sequence[Node | None]]) -> str:
    out = [f'<div class="scroll"><table data-query="{escape(name)}"><thead><tr>'
           + "".join(f"<th>{escape(c)}</th>" for c in columns) + "</tr></thead><tbody>"]
    for r in rows:
        cells = []
        for v in r:
            numeric = ' class="n"' if isinstance(v, Literal) and v.datatype is not None else ""
            cells.append(f"<td{numeric}>{escape(_cell(v))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _swatch(colour: str) -> str:
    return (f'<svg class="swatch" width="12" height="12" aria-hidden="true">'
            f'<rect width="12" height="12" fill="{colour}"/></svg>')


def _legend(series: Sequence[tuple[str, str]]) -> str:
    return ('<ul class="legend">' + "".join(f"<li>{_swatch(PALETTE[key])}{escape(name)}</li>" for name, key in series)
            + "</ul>")


def _bars(title: str, rows: Sequence[tuple[str, Sequence[int]]], series: Sequence[tuple[str, str]]) -> str:
    """Stacked bars, one per row, one segment per series (name, palette key): the label in full
    above its bar (it wraps, never cut), the bar an SVG as wide as the page, scaled to the longest."""
    shown = list(rows[:30])
    note = f" (the first 30 of {len(rows)} rows; the table has all)" if len(rows) > 30 else ""
    peak = max([sum(v) for _, v in shown] + [1])
    out = [f'<figure class="chart"><figcaption>{escape(title + note)}</figcaption>{_legend(series)}<ol class="bars">']
    for label, values in shown:
        parts = ", ".join(f"{v} {name}" for (name, _k), v in zip(series, values, strict=False))
        rects, x0 = [], 0.0
        for (_name, key), v in zip(series, values, strict=False):
            w = 100 * v / peak
            if v:
                rects.append(f'<rect x="{svg_number(x0)}%" y="0" width="{svg_number(w)}%" height="14" '
                             f'fill="{PALETTE[key]}"/>')
            x0 += w
        out.append(f'<li><span class="label">{escape(label)}</span> <span class="count">{sum(values)}</span>'
                   f' <span class="parts">({escape(parts)})</span>'
                   f'<svg class="bar" width="100%" height="14" role="img" aria-label="{escape(label + ": " + parts)}">'
                   + "".join(rects) + "</svg></li>")
    out.append("</ol></figure>")
    return "".join(out)


def _confusion_table(engines: Sequence[str], reviewers: Sequence[str], counts: Mapping[tuple[str, str], int]) -> str:
    """The confusion matrix as a table; each non-empty cell links to the list of its items."""
    head = "".join(f'<th scope="col">{_swatch(PALETTE[_meaning(r)])}reviewer: {escape(r)}</th>' for r in reviewers)
    out = [f'<div class="scroll"><table class="confusion"><thead><tr><td></td>{head}</tr></thead><tbody>']
    for e in engines:
        out.append(f'<tr><th scope="row">{_swatch(PALETTE[_meaning(e)])}engine: {escape(e)}</th>')
        for r in reviewers:
            n = counts.get((e, r), 0)
            kind = ("uncovered" if _meaning(e) == "not_covered" else
                    "agrees" if _meaning(e) == _meaning(r) else "disagrees")
            mark = " \u2260" if kind == "disagrees" else ""
            inner = f'<a href="#{_cell_id(e, r)}">{n} item{"s" if n != 1 else ""}{mark}</a>' if n else "0"
            out.append(f'<td class="{kind}" data-cell="{escape(e)} / {escape(r)}">{inner}</td>')
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _total_line(query: str, shown: int, everything: int, left_out: Sequence[tuple[int, str]], rest: str) -> str:
    """One line saying what a chart's total counts: ``shown`` of ``everything`` items, and why the
    others are left out (``left_out`` (count, reason) pairs; whatever they do not explain is ``rest``)."""
    reasons = [(n, why) for n, why in left_out if n]
    other = everything - shown - sum(n for n, _ in reasons)
    if other > 0:
        reasons.append((other, rest))
    if not reasons:
        text = f"All {everything} items are counted."
    else:
        text = (f"{shown} of the {everything} items are counted; left out: "
                + "; ".join(f"{n} {why}" for n, why in reasons) + ".")
    return f'<p class="total" data-total-of="{escape(query)}">{escape(text)}</p>'


class _Links:
    """The hrefs of a case's pages in the report."""

    def __init__(self, audit_href: str, case_href: str | None) -> None:
        self.audit_href, self.case_href = audit_href, case_href

    def item(self, case: str, request: str, service: str, extra: str = "") -> str:
        audit = escape(self.audit_href.replace("{case}", case))
        if self.case_href:
            first = f'<a href="{escape(self.case_href.replace("{case}", case))}">case {escape(case)}</a>'
            second = f' (<a href="{audit}">audit page</a>)'
        else:
            first, second = f'<a href="{audit}">case {escape(case)}</a> (audit page)', ""
        return (f'<li data-item="{escape(case)}/{escape(request)}">{first}{second}, item {escape(request)}: '
                f"{escape(service)}{escape(extra)}</li>")


def _generated(generated: str | None) -> str:
    """The generation date: ``generated`` if given, else ``SOURCE_DATE_EPOCH``'s day, else today (UTC)."""
    if generated:
        return generated
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    return time.strftime("%Y-%m-%d", time.gmtime(int(epoch) if epoch.isdigit() else None))


def _made_with(stamps: "QueryResult", generated: str) -> str:
    from kg.engine.determine import engine_version

    made = [f"Generated on <time>{escape(generated)}</time> by imr-kg {escape(engine_version())}."]
    for stamp, n in stamps.rows:
        version, _, digest = _cell(stamp).partition(" ")
        made.append(f'Determinations of <span data-stamp="{escape(_cell(stamp))}">{_int(n)} case'
                    f'{"s" if _int(n) != 1 else ""}</span> made by engine version {escape(version)} '
                    f"with the shapes of digest <code>{escape(digest)}</code>.")
    if not stamps.rows:
        made.append("No stored determination records what it was made with.")
    return '<p id="made">' + " ".join(made) + "</p>"


def _item_lists(items: "QueryResult", disagreements: "QueryResult", links: _Links) -> tuple[str, str]:
    """The disagreement list and the list of every other item, grouped by confusion cell, each
    group anchored by :func:`_cell_id` (the confusion table links there)."""
    failing = {(_cell(r[0]), _cell(r[1])): _cell(r[5]) for r in disagreements.rows}
    groups: dict[tuple[str, str], list[str]] = {}
    for case, request, service, engine, reviewer, _date in items.rows:
        e, r = _cell(engine) or _NO_ENGINE, _cell(reviewer) or _NO_REVIEWER
        extra = (f"; criteria failing: {failing[(_cell(case), _cell(request))]}"
                 if failing.get((_cell(case), _cell(request))) else "")
        groups.setdefault((e, r), []).append(
            links.item(_case_id(case), _cell(request).rsplit("/", 1)[-1], _cell(service), extra))
    dis: list[str] = []
    other: list[str] = []
    for (e, r), lines in sorted(groups.items()):
        disagrees = _meaning(e) != "not_covered" and e != _NO_ENGINE and r != _NO_REVIEWER \
            and _meaning(e) != _meaning(r)
        block = (f'<h3 id="{_cell_id(e, r)}">Engine: {escape(e)}; reviewer: {escape(r)} ({len(lines)})</h3>'
                 f'<ul class="items">{"".join(lines)}</ul>')
        (dis if disagrees else other).append(block)
    return "".join(dis) or "<p>None: the engine agrees with the reviewer on every item it decided.</p>", "".join(other)


def _section(parts: list[str], name: str, heading: str, res: "QueryResult", question: str | None,
             chart: str, total: str = "") -> None:
    parts.append(f'<h2 id="{name}">{escape(heading)}</h2>')
    if question is not None:
        parts.append(f'<p class="note">{escape(question)} (query <code>{escape(name)}</code>)</p>')
    if not res.rows:
        parts.append("<p>No rows.</p>")
        return
    parts.append(total + chart)
    opened = " open" if len(res.rows) <= 12 else ""
    parts.append(f"<details{opened}><summary>The {len(res.rows)} rows of <code>{escape(name)}</code></summary>"
                 + _table(name, res.columns, res.rows) + "</details>")


def report_html(store: "Store", *, audit_href: str = "{case}.html", case_href: str | None = None,
                links: Sequence[tuple[str, str]] = (), generated: str | None = None) -> str:
    """The corpus report over ``store`` as a self-contained HTML page (no script; byte-stable for
    a given ``generated`` date, ``YYYY-MM-DD``: by default ``SOURCE_DATE_EPOCH``'s day or today).

    Every number comes from a library query (:data:`REPORT_QUERIES`, run with
    :func:`kg.store.query.run_query`) and each table carries ``data-query`` naming it.
    ``audit_href`` is the link to each case's audit page, ``{case}`` replaced by the case id
    (``"cases/{case}/audit"`` on the endpoint); ``case_href``, if given, links each case's own
    page too; ``links`` (label, href) are shown above the heading.
    """
    from kg.store.query import library, run_query

    questions = {q.name: q.question for q in library()}
    res = {name: run_query(store, name) for name in REPORT_QUERIES}
    cases = store.case_ids()
    hrefs = _Links(audit_href, case_href)
    items = res["engine-reviewer-items"].rows
    everything = len(items)
    no_reviewer = sum(1 for r in items if r[4] is None)
    no_engine = sum(1 for r in items if r[3] is None)
    uncovered = sum(1 for r in items if _meaning(_cell(r[3])) == "not_covered" and r[3] is not None)
    undated = sum(1 for r in items if r[4] is not None and r[5] is None)
    parts = [links_html(links) + "<h1>IMR decisions: corpus report</h1>", _made_with(res["determination-stamps"],
                                                                                     _generated(generated)),
             f"<p>{len(cases)} cases and {everything} items in the store. Every number below is the answer of a "
             "query of the library (<code>imrkg query NAME</code> prints the same rows); each table names its "
             "query. Colours mean the same in every chart: blue medically necessary (by the engine, or overturned "
             "by the reviewer), vermillion not medically necessary (or upheld), grey not covered by an encoded "
             'guideline section. <a href="#disagreements">The disagreements</a> \u00b7 '
             '<a href="#items">every item</a> \u00b7 <a href="#cases">the cases</a>.</p>']
    months = res["decisions-by-month"].rows
    dated = sum(_int(r[1]) for r in months)
    upheld, overturned = sum(_int(r[2]) for r in months), sum(_int(r[3]) for r in months)
    if dated:
        parts.append(f'<p id="rates">Of <span data-total="items">{dated}</span> items with a dated IMR decision, '
                     f'<span data-total="upheld">{upheld}</span> were upheld ({100 * upheld / dated:.1f}%) and '
                     f'<span data-total="overturned">{overturned}</span> overturned '
                     f"({100 * overturned / dated:.1f}%) (sums of decisions-by-month).</p>")
    decision = (("upheld", "not_necessary"), ("overturned", "necessary"))
    kinds = res["decisions-by-service-kind"]
    _section(parts, "decisions-by-service-kind", "Uphold and overturn by service kind", kinds,
             questions.get("decisions-by-service-kind"),
             _bars("Items by service kind", [(_cell(r[0]), (_int(r[2]), _int(r[3]))) for r in kinds.rows], decision),
             _total_line("decisions-by-service-kind", sum(_int(r[1]) for r in kinds.rows), everything,
                         [(no_reviewer, "with no reviewer decision")], "with no service kind"))
    secs = res["decisions-by-section"]
    _section(parts, "decisions-by-section", "By guideline section the engine applied", secs,
             questions.get("decisions-by-section"),
             _bars("Engine conclusions by section", [(f"{_cell(r[0])} ({_cell(r[1])})", (_int(r[3]), _int(r[4])))
                                                     for r in secs.rows],
                   (("engine: medically necessary", "necessary"),
                    ("engine: not medically necessary", "not_necessary"))),
             _total_line("decisions-by-section", sum(_int(r[2]) for r in secs.rows), everything,
                         [(uncovered, "not covered by an encoded guideline section"),
                          (no_engine, "not determined by the engine")], "with no section recorded"))
    _section(parts, "decisions-by-month", "By month of the IMR decision", res["decisions-by-month"],
             questions.get("decisions-by-month"),
             _bars("Items by month", [(_cell(r[0]), (_int(r[2]), _int(r[3]))) for r in months], decision),
             _total_line("decisions-by-month", dated, everything, [(no_reviewer, "with no reviewer decision"),
                                                                   (undated, "with no decision date")],
                         "with no decision date"))
    _confusion(parts, res, everything, no_reviewer, questions)
    dis, other = _item_lists(res["engine-reviewer-items"], res["engine-reviewer-disagreements"], hrefs)
    n_dis = len(res["engine-reviewer-disagreements"].rows)
    parts.append(f'<h2 id="disagreements">Where the engine and the reviewer disagree ({n_dis})</h2>'
                 f'<p class="note">{escape(questions.get("engine-reviewer-disagreements", ""))} '
                 "(query <code>engine-reviewer-disagreements</code>)</p>" + dis)
    fail = res["criteria-most-often-failing"]
    _section(parts, "criteria-most-often-failing", "Criteria most often not met or not documented", fail,
             questions.get("criteria-most-often-failing"),
             _bars("Failing criteria", [(f"{_cell(r[0])} {_cell(r[1])}. {_cell(r[2])}", (_int(r[3]), _int(r[4])))
                                        for r in fail.rows],
                   (("not met", "not_met"), ("not documented", "not_documented"))),
             '<p class="total" data-total-of="criteria-most-often-failing">These count criteria, not items: an item '
             "can fail several criteria, and items no encoded section covers have none.</p>")
    parts.append(f'<h2 id="items">Every other item, by engine and reviewer ({everything - n_dis})</h2>{other}')
    parts.append('<h2 id="cases">Cases</h2><p class="note">Each links to its audit page.</p><ul class="cases">')
    for c in cases:
        page = (f' (<a href="{escape(case_href.replace("{case}", c))}">case page</a>)' if case_href else "")
        parts.append(f'<li><a href="{escape(audit_href.replace("{case}", c))}" data-case="{escape(c)}">'
                     f"{escape(c)}</a>{page}</li>")
    parts.append("</ul>")
    style = static_text("report.css")
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta http-equiv="Content-Security-Policy" content="{csp(style, None)}">'
            f"<title>IMR decisions: corpus report</title><style>{style}</style></head>\n<body>\n"
            + "\n".join(parts) + "\n</body></html>\n")


def _confusion(parts: list[str], res: Mapping[str, "QueryResult"], everything: int, no_reviewer: int,
               questions: Mapping[str, str]) -> None:
    conf = res["engine-reviewer-confusion"]
    engines = sorted({_cell(r[0]) for r in conf.rows})
    reviewers = sorted({_cell(r[1]) for r in conf.rows})
    counts = {(_cell(r[0]), _cell(r[1])): _int(r[2]) for r in conf.rows}
    agree = sum(n for (e, r), n in counts.items() if _meaning(e) != "not_covered" and _meaning(e) == _meaning(r))
    decided = sum(n for (e, _r), n in counts.items() if _meaning(e) != "not_covered")
    table = _confusion_table(engines, reviewers, counts)
    if decided:
        table += (f'<p id="agreement">Where the engine decided (<span data-total="decided">{decided}</span> items), '
                  f'it agrees with the reviewer on <span data-total="agree">{agree}</span> '
                  f"({100 * agree / decided:.1f}%). Items no encoded section covers are shown, not counted. "
                  "Each cell links to its items; \u2260 marks a disagreement.</p>")
    _section(parts, "engine-reviewer-confusion", "Engine against reviewer: agreement and the confusion matrix", conf,
             questions.get("engine-reviewer-confusion"), table,
             _total_line("engine-reviewer-confusion", sum(counts.values()), everything,
                         [(no_reviewer, "with no reviewer decision")], "not determined by the engine"))


def write_report(store: "Store", output: str | Path, *, audits: str | Path | None = None,
                 progress: Callable[[int, int, str], None] | None = None) -> list[Path]:
    """Write the corpus report of ``store`` to ``output`` and, with ``audits``, every stored
    case's audit page as ``<audits>/<case id>.html``, linked from the report by a path relative
    to it.  Folders are created as needed; existing files are replaced.  Returns the audit
    pages written, in case order.  Reads the store only."""
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
