"""The corpus report (kg.viz.report): every number the query library's, tables and charts."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from casepaths import corpus_store

from kg.store.query import run_query
from kg.viz.report import PALETTE, REPORT_QUERIES, report_html

#: The report queries shown as tables (the others feed the lists and the heading).
TABLED = [q for q in REPORT_QUERIES if q not in ("engine-reviewer-items", "engine-reviewer-disagreements",
                                                 "determination-stamps")]


class _Tables(HTMLParser):
    """Rows of every ``<table data-query=...>``, and the case links, of a report."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.links: dict[str, str] = {}
        self._table = self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and "data-query" in a:
            self._table = self.tables.setdefault(a["data-query"], [])
        elif tag == "tr" and self._table is not None:
            self._row = []
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "a" and "data-case" in a:
            self.links[a["data-case"]] = a["href"]

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "table":
            self._table = None


def test_report_numbers_are_the_query_library_s():
    store = corpus_store()
    page = report_html(store, audit_href="audit/{case}.html", generated="2025-01-02")
    parsed = _Tables()
    parsed.feed(page)
    assert set(parsed.tables) == set(TABLED)
    for name in TABLED:
        res = run_query(store, name)
        assert res.rows, name
        expected = [list(res.columns)] + [["" if v is None else str(v) for v in row] for row in res.rows]
        assert parsed.tables[name] == expected, name
    months = run_query(store, "decisions-by-month").rows
    assert f'data-total="items">{sum(int(r[1]) for r in months)}<' in page
    assert f'data-total="overturned">{sum(int(r[3]) for r in months)}<' in page
    assert parsed.links == {c: f"audit/{c}.html" for c in store.case_ids()}
    assert page.count('<figure class="chart">') == 4  # charts, not only tables
    assert "<script" not in page


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


def test_report_lists_the_disagreements_with_links_to_the_case_and_audit_pages():
    page = report_html(corpus_store(), audit_href="cases/{case}/audit", case_href="cases/{case}",
                       generated="2025-01-02")
    section = page[page.index('<h2 id="disagreements">'):page.index('<h2 id="criteria-most-often-failing">')]
    assert re.findall(r'<li data-item="([^"]+)">(.*?)</li>', section) == [(
        "tpi-six/req-tpi", '<a href="cases/tpi-six">case tpi-six</a> (<a href="cases/tpi-six/audit">audit page</a>), '
        "item req-tpi: Repeat trigger point injections x3, bilateral upper trapezius, 1% lidocaine; "
        "criteria failing: 5 not met")]
    assert '<h3 id="cell-not-medically-necessary--overturned">' in section


def test_confusion_cells_link_to_their_items():
    page = report_html(corpus_store(), generated="2025-01-02")
    cells = re.findall(r'<td class="(\w+)" data-cell="([^"]+)">(.*?)</td>', page)
    assert cells == [
        ("agrees", "medically necessary / overturned (medically necessary)",
         '<a href="#cell-medically-necessary--overturned">1 item</a>'),
        ("disagrees", "medically necessary / upheld (not medically necessary)", "0"),
        ("uncovered", "not covered by an encoded guideline section / overturned (medically necessary)", "0"),
        ("uncovered", "not covered by an encoded guideline section / upheld (not medically necessary)",
         '<a href="#cell-not-covered-by-an-encoded-guideline-section--upheld">1 item</a>'),
        ("disagrees", "not medically necessary / overturned (medically necessary)",
         '<a href="#cell-not-medically-necessary--overturned">1 item \u2260</a>'),
        ("agrees", "not medically necessary / upheld (not medically necessary)",
         '<a href="#cell-not-medically-necessary--upheld">2 items</a>')]
    anchors = set(re.findall(r' id="(cell-[^"]+)"', page))
    assert anchors == {href[1:] for href in re.findall(r'href="(#cell-[^"]+)"', page)}
    items = re.findall(r'<h3 id="(cell-[^"]+)">.*?</h3><ul class="items">(.*?)</ul>', page)
    assert {a: re.findall(r'data-item="([^"]+)"', lis) for a, lis in items} == {
        "cell-medically-necessary--overturned": ["tpi-repeat-met/req-tpi"],
        "cell-not-covered-by-an-encoded-guideline-section--upheld": ["acu/req-tpi"],
        "cell-not-medically-necessary--overturned": ["tpi-six/req-tpi"],
        "cell-not-medically-necessary--upheld": ["seed-tpi-2015/req-tpi", "tpi-radic/req-tpi"]}


def test_report_states_date_engine_version_and_shapes_digest():
    from kg.engine.determine import engine_version
    from kg.engine.validate import default_shapes

    store = corpus_store()
    page = report_html(store, generated="2025-01-02")
    digest = default_shapes().digest
    assert _text(page[page.index('<p id="made">'):page.index("</p>", page.index('<p id="made">'))]) == (
        f"Generated on 2025-01-02 by imr-kg {engine_version()}. Determinations of 5 cases made by engine version "
        f"{engine_version()} with the shapes of digest {digest}.")
    assert report_html(store, generated="2025-01-02") == page  # byte-stable for a date


def test_each_total_is_explained_in_one_line():
    page = report_html(corpus_store(), generated="2025-01-02")
    lines = dict(re.findall(r'<p class="total" data-total-of="([^"]+)">(.*?)</p>', page))
    assert lines == {
        "decisions-by-service-kind": "All 5 items are counted.",
        "decisions-by-section": "4 of the 5 items are counted; left out: 1 not covered by an encoded guideline "
                                "section.",
        "decisions-by-month": "4 of the 5 items are counted; left out: 1 with no decision date.",
        "engine-reviewer-confusion": "All 5 items are counted.",
        "criteria-most-often-failing": "These count criteria, not items: an item can fail several criteria, and items "
                                       "no encoded section covers have none."}


def test_one_colour_meaning_in_every_chart_and_legend():
    page = report_html(corpus_store(), generated="2025-01-02")
    assert PALETTE == {"necessary": "#0072B2", "not_necessary": "#D55E00", "not_covered": "#999999",
                       "not_met": "#CC79A7", "not_documented": "#E69F00"}
    legends = re.findall(r'<rect width="12" height="12" fill="(#\w+)"/></svg>([^<]+)</', page)
    meaning: dict[str, set[str]] = {}
    for colour, label in legends:
        meaning.setdefault(colour, set()).add(label)
    assert meaning == {
        "#D55E00": {"upheld", "engine: not medically necessary",
                    "reviewer: upheld (not medically necessary)"},
        "#0072B2": {"overturned", "engine: medically necessary", "reviewer: overturned (medically necessary)"},
        "#999999": {"engine: not covered by an encoded guideline section"},
        "#CC79A7": {"not met"}, "#E69F00": {"not documented"}}
    fills = set(re.findall(r'fill="(#\w+)"', page))
    assert fills == set(PALETTE.values())


def test_section_labels_are_not_cut():
    page = report_html(corpus_store(), generated="2025-01-02")
    assert ('<span class="label">Trigger point injections (MTUS Chronic Pain Medical Treatment Guidelines (2009))'
            "</span>") in page
