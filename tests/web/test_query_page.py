"""The endpoint's query page (kg.web.query_page): served with a strict policy, and in a real
browser: Debian's chromium, headless, driven by Playwright.

The editor is CodeMirror (bundled from npm at install time, served by the endpoint): it
highlights SPARQL, runs on Ctrl+Enter and marks a syntax error at its line.  The page offers the
library's queries with their parameters as a form, shows rows as a sortable, paged table with
prefixed IRIs linking to case pages, shows a CONSTRUCT as Turtle and downloads every format the
endpoint negotiates; all of it without a console error and without one request that leaves the
server.  Chromium must be installed (``apt-get install -y chromium``): when it is missing the
browser tests fail, they do not skip.  Playwright's own browser download is never used.
"""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from kg.rdf import PREFIXES
from kg.store.query import library, run_query
from kg.viz.markup import source_hash
from kg.web.app import create_app
from kg.web.query_page import DEFAULT_QUERY, query_page

from casepaths import LoopbackServer, corpus_store, watch

CASE = "https://w3id.org/imr-kg/case/"


@pytest.fixture(scope="module")
def store():
    return corpus_store()


@pytest.fixture(scope="module")
def server(store):
    with LoopbackServer(create_app(store, query_timeout=30, result_limit=1000)) as srv:
        yield srv


@pytest.fixture
def page(browser, server):
    """A fresh query page on the endpoint, its problems recorded (there must be none)."""
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems = watch(page, server)
    page.goto(server.url + "/query")
    page.wait_for_selector("#examples option[value='decisions-by-month']", state="attached")
    page.wait_for_selector(".cm-editor .cm-content")
    page.problems = problems
    yield page
    context.close()


def test_page_loads_with_a_csp(http):
    resp = http.get("/query")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    csp = resp.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self' 'sha256-" in csp and "unsafe-inline" not in csp
    assert re.search(r"style-src 'sha256-[^']+' 'nonce-[\w-]+';", csp)
    assert "<textarea" in resp.text and '<script src="static/editor.js"></script>' in resp.text
    assert "http://" not in resp.text.replace("http://www.w3.org", "").replace("http://purl.org", "")
    assert "https://cdn" not in resp.text
    # a fresh nonce for every answer
    assert http.get("/query").headers["content-security-policy"] != csp
    editor = http.get("/static/editor.js")
    assert editor.status_code == 200 and editor.headers["content-type"].startswith("text/javascript")
    assert "ImrEditor" in editor.text and len(editor.content) > 100_000


def test_the_policy_pins_exactly_the_inlined_style_and_script():
    html, policy = query_page("n0nce")
    (style,) = re.findall(r"<style>(.*?)</style>", html, re.S)
    (script,) = re.findall(r'<script nonce="n0nce">(.*?)</script>', html, re.S)
    assert f"script-src 'self' {source_hash(script)};" in policy
    assert f"style-src {source_hash(style)} 'nonce-n0nce';" in policy
    assert "{nonce}" not in html and "{default_query}" not in html


def _table(page, selector: str) -> list[list[str]]:
    return page.eval_on_selector_all(selector + " tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))")


def _editor_text(page) -> str:
    return page.evaluate("() => window.queryEditor.get()")


def _set_query(page, text: str) -> None:
    page.evaluate("t => window.queryEditor.set(t)", text)


def test_the_editor_highlights_and_declares_the_project_prefixes(page):
    assert _editor_text(page) == DEFAULT_QUERY
    assert all(f"PREFIX {p}: <{ns}>" in DEFAULT_QUERY for p, ns in PREFIXES.items())
    # CodeMirror's SPARQL mode gives keywords, IRIs and variables their own classes
    classes = page.eval_on_selector_all(".cm-content span[class]", "ss => ss.map(s => [s.className, s.textContent])")
    keywords = {t for c, t in classes if t in ("PREFIX", "SELECT", "WHERE", "GRAPH")}
    assert keywords == {"PREFIX", "SELECT", "WHERE", "GRAPH"}
    assert len({c for c, t in classes if t == "PREFIX"} & {c for c, t in classes if t.startswith("<https")}) == 0
    assert page.get_attribute(".cm-content", "aria-label") == "SPARQL query"
    assert page.problems == []


def test_typing_a_query_and_ctrl_enter_runs_it(page, store):
    page.click(".cm-content")
    page.keyboard.press("Control+A")
    page.keyboard.type("PREFIX kg: <https://w3id.org/imr-kg/ont#>\nSELECT ?c WHERE { ?c kg:hasRequest ?r } ORDER BY ?c")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#results tbody tr")
    direct = store.query("PREFIX kg: <https://w3id.org/imr-kg/ont#>\n"
                         "SELECT ?c WHERE { ?c kg:hasRequest ?r } ORDER BY ?c")
    assert _table(page, "#results tbody") == [["case:" + str(r[0])[len(CASE):]] for r in direct.rows]
    link = page.locator("#results a[data-case='tpi-six']").first
    assert link.get_attribute("href") == "cases/tpi-six" and link.get_attribute("title") == CASE + "tpi-six/"
    expect(page.locator("#status")).to_have_text(f"{len(direct.rows)} rows")
    assert page.problems == []


def test_library_query_runs_and_shows_the_store_rows(page, store):
    options = page.eval_on_selector_all("#examples option", "os => os.map(o => o.value).filter(Boolean)")
    assert options == [q.name for q in library()]
    page.select_option("#examples", "decisions-by-month")
    assert _editor_text(page) == next(q.text for q in library() if q.name == "decisions-by-month")
    page.click(".cm-content")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#results tbody tr")
    direct = run_query(store, "decisions-by-month")
    assert _table(page, "#results thead") == [list(direct.columns)]
    assert _table(page, "#results tbody") == [[str(v) for v in row] for row in direct.rows] == [
        ["2016-02", "3", "2", "1"], ["2016-03", "1", "0", "1"]]
    expect(page.locator("#status")).to_have_text("2 rows")
    assert page.get_attribute("#status", "aria-live") == "polite"
    assert page.problems == []


def test_library_query_with_a_parameter_as_a_form(page, store, server):
    page.goto(server.url + "/query?name=criterion-trace")
    expect(page.locator("#params")).to_be_visible()
    assert page.inner_text("#params legend") == "Parameters of criterion-trace"
    page.fill("#param-case", "tpi-six")
    page.press("#param-case", "Enter")
    page.wait_for_selector("#results tbody tr")
    direct = run_query(store, "criterion-trace", {"case": "tpi-six"})
    assert len(direct.rows) > 3
    shown = _table(page, "#results tbody")
    assert [r[1] for r in shown] == ["" if row[1] is None else str(row[1]) for row in direct.rows]
    assert all(r[0].startswith("case:tpi-six/") for r in shown)
    assert page.problems == []


def test_sorting_and_paging(page, store):
    text = "SELECT ?s ?n WHERE { GRAPH ?g { ?s ?p ?o } BIND(STRLEN(STR(?o)) AS ?n) } LIMIT 130"
    _set_query(page, text)
    page.click("#run")
    page.wait_for_selector("#results tbody tr")
    expect(page.locator("#status")).to_have_text("130 rows")
    assert page.locator("#results tbody tr").count() == 50
    assert page.inner_text("#page").strip() == "page 1 of 3"
    page.click("#results th button[data-sort='n']")
    assert page.get_attribute("#results th:nth-child(2)", "aria-sort") == "ascending"
    direct = store.query(text)
    numbers = sorted(int(str(r[1])) for r in direct.rows)
    assert [int(r[1]) for r in _table(page, "#results tbody")] == numbers[:50]
    page.click("#results th button[data-sort='n']")
    assert page.get_attribute("#results th:nth-child(2)", "aria-sort") == "descending"
    assert [int(r[1]) for r in _table(page, "#results tbody")] == numbers[::-1][:50]
    page.click("#next")
    page.click("#next")
    assert page.inner_text("#page").strip() == "page 3 of 3" and page.locator("#results tbody tr").count() == 30
    assert [int(r[1]) for r in _table(page, "#results tbody")] == numbers[::-1][100:]
    assert page.is_disabled("#next") and not page.is_disabled("#prev")
    assert page.problems == []


@pytest.mark.parametrize("label, accept", [("CSV", "text/csv"), ("TSV", "text/tab-separated-values"),
                                           ("JSON", "application/sparql-results+json")])
def test_downloads_use_the_endpoints_content_negotiation(page, server, label, accept):
    page.select_option("#examples", "decisions-by-month")
    page.click("#run")
    page.wait_for_selector("#results tbody tr")
    with page.expect_download() as info:
        page.click(f"#downloads button:text-is('{label}')")
    download = info.value
    text = next(q.text for q in library() if q.name == "decisions-by-month")
    direct = httpx.get(server.url + "/queries/decisions-by-month", headers={"Accept": accept})
    assert download.suggested_filename == "results." + {"CSV": "csv", "TSV": "tsv", "JSON": "json"}[label]
    with open(download.path(), "rb") as fh:
        assert fh.read() == direct.content
    assert text and page.problems == []


def test_construct_is_shown_as_turtle_and_downloads_as_a_graph(page, server):
    text = ("PREFIX kg: <https://w3id.org/imr-kg/ont#>\n"
            "CONSTRUCT { ?c kg:hasRequest ?r } WHERE { ?c kg:hasRequest ?r }")
    _set_query(page, text)
    page.click("#run")
    page.wait_for_selector("#turtle")
    expect(page.locator("#status")).to_have_text("graph result, as Turtle")
    direct = httpx.post(server.url + "/sparql", data={"query": text}, headers={"Accept": "text/turtle"})
    assert page.inner_text("#turtle").strip() == direct.text.strip() and "kg:hasRequest" in direct.text
    shown = page.eval_on_selector_all("#downloads button", "bs => bs.filter(b => !b.hidden).map(b => b.textContent)")
    assert shown == ["Turtle", "N-Triples", "JSON-LD"]
    with page.expect_download() as info:
        page.click("#downloads button:text-is('N-Triples')")
    nt = httpx.post(server.url + "/sparql", data={"query": text}, headers={"Accept": "application/n-triples"})
    with open(info.value.path(), "rb") as fh:
        assert fh.read() == nt.content
    assert page.problems == []


def test_a_syntax_error_is_marked_at_its_line(page):
    _set_query(page, "SELECT * WHERE {\n  ?s ?p ?o .\n  ?s ?p \n}")
    page.click(".cm-content")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#status")).to_contain_text("400: malformed query at line 4, column ")
    assert page.get_attribute("#status", "class") == "error"
    assert page.locator("#results").count() == 0
    # CodeMirror's lint marks the spot: a diagnostic range and a gutter marker on line 4
    page.wait_for_selector(".cm-lintRange-error")
    lines = page.eval_on_selector_all(".cm-line", "ls => ls.map(l => !!l.querySelector('.cm-lintRange-error'))")
    assert lines == [False, False, False, True]
    assert page.locator(".cm-gutter-lint .cm-lint-marker-error").count() == 1
    # the browser logs the failed fetch itself ("Failed to load resource ... 400"); nothing else
    assert [p for p in page.problems if "status of 400" not in p] == []
