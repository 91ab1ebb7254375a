"""The corpus report (kg.viz.report): every number the query library's, tables and charts."""

from __future__ import annotations

from html.parser import HTMLParser

from casepaths import corpus_store

from kg.store.query import run_query
from kg.viz.report import REPORT_QUERIES, report_html


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
    page = report_html(store, audit_href="audit/{case}.html")
    parsed = _Tables()
    parsed.feed(page)
    assert set(parsed.tables) == set(REPORT_QUERIES)
    for name in REPORT_QUERIES:
        res = run_query(store, name)
        assert res.rows, name
        expected = [list(res.columns)] + [["" if v is None else str(v) for v in row] for row in res.rows]
        assert parsed.tables[name] == expected, name
    months = run_query(store, "decisions-by-month").rows
    assert f'data-total="items">{sum(int(r[1]) for r in months)}<' in page
    assert f'data-total="overturned">{sum(int(r[3]) for r in months)}<' in page
    assert parsed.links == {c: f"audit/{c}.html" for c in store.case_ids()}
    assert page.count("<svg") >= 5  # charts, not only tables
    assert "<script" not in page
