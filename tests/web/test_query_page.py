"""The endpoint's query page (kg.web.query_page): served with a strict policy, and in a real
browser: Debian's chromium, headless, driven by Playwright.

The page offers the library's queries as examples, runs one and shows its rows as a table, lists
the cases with links to their determinations, and does all of it under the strict
Content-Security-Policy (script and style by hash, nothing from the network) without a console
error.  Chromium must be installed (``apt-get install -y chromium``): when it is missing the
browser tests fail, they do not skip.  Playwright's own browser download is never used.
"""

from __future__ import annotations

import re

import pytest
from casepaths import LoopbackServer, corpus_store
from playwright.sync_api import expect

from kg.store.query import run_query
from kg.viz.markup import source_hash
from kg.web.app import create_app
from kg.web.query_page import query_page

CASE = "https://w3id.org/imr-kg/case/"


@pytest.fixture(scope="module")
def store():
    return corpus_store()


@pytest.fixture(scope="module")
def server(store):
    with LoopbackServer(create_app(store, query_timeout=30)) as srv:
        yield srv


@pytest.fixture
def page(browser, server):
    """A fresh page on the endpoint, recording console errors, page errors and requests that
    leave the server (there must be none of any)."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
            if msg.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("request", lambda req: problems.append(f"off-server request: {req.url}")
            if not req.url.startswith(server.url + "/") else None)
    page.goto(server.url + "/")
    page.wait_for_selector("#examples option[value='decisions-by-month']", state="attached")
    page.wait_for_selector("#cases a")
    page.problems = problems
    yield page
    context.close()


def test_page_loads_with_a_csp(http):
    resp = http.get("/")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    csp = resp.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp and "unsafe-inline" not in csp
    assert "<textarea" in resp.text and "fetch('sparql'" in resp.text
    assert "http://" not in resp.text.replace("http://www.w3.org", "") and "https://cdn" not in resp.text


def test_the_policy_pins_exactly_the_inlined_style_and_script():
    html, policy = query_page()
    (style,) = re.findall(r"<style>(.*?)</style>", html, re.S)
    (script,) = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert f"script-src {source_hash(script)};" in policy and f"style-src {source_hash(style)};" in policy
    assert "{style}" not in html and "{script}" not in html


def _table(page, selector: str) -> list[list[str]]:
    return page.eval_on_selector_all(selector + " tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))")


def test_library_query_runs_and_shows_the_store_rows(page, store):
    options = page.eval_on_selector_all("#examples option", "os => os.map(o => o.value).filter(Boolean)")
    from kg.store.query import library

    assert options == [q.name for q in library()]
    page.select_option("#examples", "decisions-by-month")
    assert page.input_value("#query") == next(q.text for q in library() if q.name == "decisions-by-month")
    page.click("#run")
    page.wait_for_selector("#results tbody tr")
    direct = run_query(store, "decisions-by-month")
    assert _table(page, "#results thead") == [list(direct.columns)]
    assert _table(page, "#results tbody") == [[str(v) for v in row] for row in direct.rows] == [
        ["2016-02", "3", "2", "1"], ["2016-03", "1", "0", "1"]]
    assert page.inner_text("#status") == "2 rows"
    assert page.problems == []


def test_library_query_with_a_parameter(page, store):
    page.select_option("#examples", "criterion-trace")
    page.fill("#param-case", CASE + "tpi-six/")
    page.click("#run")
    page.wait_for_selector("#results tbody tr")
    direct = run_query(store, "criterion-trace", {"case": CASE + "tpi-six/"})
    assert _table(page, "#results tbody") == [["" if v is None else str(v) for v in row] for row in direct.rows]
    assert len(direct.rows) > 3
    assert page.problems == []


def test_case_iri_in_results_links_to_the_determination(page, store):
    page.select_option("#examples", "engine-reviewer-disagreements")
    page.click("#run")
    page.wait_for_selector("#results tbody tr")
    direct = run_query(store, "engine-reviewer-disagreements")
    assert _table(page, "#results tbody") == [["" if v is None else str(v) for v in row] for row in direct.rows]
    assert str(direct.rows[0][0]) == CASE + "tpi-six/"
    link = page.locator("#results a[data-case='tpi-six']").first
    assert link.get_attribute("href") == "cases/tpi-six"
    link.click()
    expect(page.locator("#case h2")).to_contain_text("Case tpi-six")
    assert page.inner_text("#case .item .reviewer") == "overturned"
    assert page.problems == []


def test_case_link_shows_its_determination(page, server):
    import httpx

    links = page.eval_on_selector_all("#cases a", "as => as.map(a => [a.textContent, a.getAttribute('href')])")
    assert links == [[c, f"cases/{c}"] for c in httpx.get(server.url + "/cases").json()["cases"]]
    page.click("#cases a[data-case='tpi-six']")
    page.wait_for_selector("#case section.item")
    det = httpx.get(server.url + "/cases/tpi-six").json()
    item = det["items"][0]
    assert page.inner_text("#case .item .engine") == "not medically necessary"
    assert page.inner_text("#case .item .reviewer") == item["reviewer_decision"] == "overturned"
    rows = _table(page, "#case .item table.criteria tbody")
    assert [(int(r[0]), r[2]) for r in rows] == [(c["number"], c["status"].replace("_", " ")) for c in item["criteria"]]
    assert page.inner_text("#case .item pre") == item["rationale"]
    # the link itself is the JSON route, for a new tab or a script
    page.goto(server.url + "/" + links[-1][1])
    assert '"case": "tpi-six"' in page.inner_text("body").replace('"case":"tpi-six"', '"case": "tpi-six"')
    assert page.problems == []


def test_a_bad_query_shows_the_error_not_a_console_error(page):
    page.fill("#query", "SELECT * WHERE {\n  ?s ?p \n}")
    page.click("#run")
    expect(page.locator("#status")).to_contain_text("400: malformed query")
    assert "line 3" in page.inner_text("#status")
    assert page.locator("#results").count() == 0
    # the browser logs the failed fetch itself ("Failed to load resource ... 400"); nothing else
    assert [p for p in page.problems if "status of 400" not in p] == []
