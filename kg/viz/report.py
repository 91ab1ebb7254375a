"""The corpus report: a self-contained page over a whole store, and writing it with every
case's audit page.

Last module of :mod:`kg.viz`.  :func:`report_html` shows the answers of the query library's
report queries (:data:`REPORT_QUERIES`, run with :func:`kg.store.query.run_query`) as tables and
inline SVG charts, styled by ``static/report.css`` (no script); :func:`write_report` writes it
and, if asked, the audit pages it links to (:func:`kg.viz.pages.audit_html`).  The report is
byte-stable and names no path of the machine.  The store is only read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from rdflib import Literal
from rdflib.term import Node

from kg.viz.draw import CHAR_W
from kg.viz.evidence import STATUS_COLOURS
from kg.viz.markup import csp, escape, static_text, svg_number
from kg.viz.pages import audit_html, links_html

if TYPE_CHECKING:  # pragma: no cover
    from kg.store.store import Store

__all__ = ["REPORT_QUERIES", "report_html", "write_report"]

#: The library queries the corpus report is made of, in the order it shows them.
REPORT_QUERIES = ("decisions-by-service-kind", "decisions-by-section", "decisions-by-month",
                  "engine-reviewer-confusion", "criteria-most-often-failing")


def _cell(v: Node | None) -> str:
    return "" if v is None else str(v)


def _int(v: Node | None) -> int:
    try:
        return int(str(v)) if v is not None else 0
    except ValueError:
        return 0


def _table(name: str, columns: Sequence[str], rows: Sequence[Sequence[Node | None]]) -> str:
    out = [f'<table data-query="{escape(name)}"><thead><tr>' + "".join(f"<th>{escape(c)}</th>" for c in columns)
           + "</tr></thead><tbody>"]
    for r in rows:
        cells = []
        for v in r:
            numeric = ' class="n"' if isinstance(v, Literal) and v.datatype is not None else ""
            cells.append(f"<td{numeric}>{escape(_cell(v))}</td>")
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
           f'font-size="11" role="img"><title>{escape(title + note)}</title>']
    if note:
        out.append(f'<text x="0" y="15">{escape(note.strip())}</text>')
    x = label_w
    for name, colour in series:
        out.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{colour}"/>'
                   f'<text x="{x + 14}" y="15">{escape(name)}</text>')
        x += 14 + int(len(name) * CHAR_W) + 16
    for i, (label, values) in enumerate(rows):
        y = 30 + i * row_h
        short = label if len(label) <= 70 else label[:69] + "\u2026"
        out.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{escape(short)}</text>')
        x0 = float(label_w)
        for (name, colour), v in zip(series, values, strict=False):
            w = bar_w * v / total_max
            if v:
                out.append(f'<rect x="{svg_number(x0)}" y="{y + 2}" width="{svg_number(w)}" height="{row_h - 5}" '
                           f'fill="{colour}">'
                           f"<title>{escape(label)}: {v} {escape(name)}</title></rect>")
            x0 += w
        out.append(f'<text x="{svg_number(x0 + 4)}" y="{y + 13}">{sum(values)}</text>')
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
                   f"reviewer: {escape(r[:36])}</text>")
    for i, e in enumerate(engines):
        out.append(f'<text x="{left - 8}" y="{top + i * cell_h + cell_h / 2 + 4:.0f}" text-anchor="end">'
                   f"engine: {escape(e[:48])}</text>")
        for j, r in enumerate(reviewers):
            n = counts.get((e, r), 0)
            shade = int(245 - 180 * n / peak)
            colour = f"#{shade:02x}{shade:02x}{255:02x}"
            ink = "#ffffff" if shade < 150 else "#1a1a1a"
            out.append(f'<rect x="{left + j * cell_w}" y="{top + i * cell_h}" width="{cell_w - 2}" '
                       f'height="{cell_h - 2}" fill="{colour}"><title>{escape(e)} / {escape(r)}: {n}</title></rect>'
                       f'<text x="{left + j * cell_w + cell_w / 2:.0f}" y="{top + i * cell_h + cell_h / 2 + 5:.0f}" '
                       f'text-anchor="middle" font-size="14" fill="{ink}">{n}</text>')
    out.append("</svg>")
    return "".join(out)


def report_html(store: "Store", *, audit_href: str = "{case}.html", case_href: str | None = None,
                links: Sequence[tuple[str, str]] = ()) -> str:
    """The corpus report over ``store`` as a self-contained HTML page (no script; byte-stable).

    Every number comes from a library query (:data:`REPORT_QUERIES`, run with
    :func:`kg.store.query.run_query`) and each table carries ``data-query`` naming it; charts are
    inline SVG.  ``audit_href`` is the link to each case's audit page, ``{case}`` replaced by the
    case id (``"cases/{case}/audit"`` on the endpoint); ``case_href``, if given, links each case's
    own page too; ``links`` (label, href) are shown above the heading.
    """
    from kg.store.query import library, run_query

    titles = {q.name: q for q in library()}
    results = {name: run_query(store, name) for name in REPORT_QUERIES}
    cases = store.case_ids()
    up, over = "#c62828", "#2e7d32"
    parts = [links_html(links) + "<h1>IMR decisions: corpus report</h1>",
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
        parts.append(f'<h2 id="{name}">{escape(heading)}</h2>')
        if q is not None:
            parts.append(f'<p class="note">{escape(q.question)} (query <code>{escape(name)}</code>)</p>')
        if not res.rows:
            parts.append("<p>No rows.</p>")
            return
        parts.append(chart)
        opened = " open" if len(res.rows) <= 12 else ""
        parts.append(f"<details{opened}><summary>The {len(res.rows)} rows of <code>{escape(name)}</code></summary>"
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
        href = escape(audit_href.replace("{case}", c))
        page = (f' (<a href="{escape(case_href.replace("{case}", c))}">case page</a>)' if case_href else "")
        parts.append(f'<li><a href="{href}" data-case="{escape(c)}">{escape(c)}</a>{page}</li>')
    parts.append("</ul>")
    style = static_text("report.css")
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{csp(style, None)}">'
            f"<title>IMR decisions: corpus report</title><style>{style}</style></head>\n<body>\n"
            + "\n".join(parts) + "\n</body></html>\n")


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
