"""The endpoint's pages link up, pass WCAG 2.1 AA and are compressed: home, report, cases, each
case page, its letter, its audit page, the library and the query page, in headless Chromium.

Every link on the home, report, case, letter and audit pages is followed and must answer 200;
axe-core (from npm, installed beside the editor by ``hatch_build.py``'s ``npm ci``, never
fetched by the page) is injected into each page and must find no violation at level AA; and no
page fetches anything from anywhere but the server.
"""

from __future__ import annotations

import gzip
from urllib.parse import urldefrag, urljoin

import httpx
import pytest
from casepaths import LoopbackServer, axe_violations, corpus_store, watch

from kg.web.app import create_app
from kg.web.audit_routes import add_audit_routes

BROWSER_ACCEPT = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
PAGES = ["/", "/query", "/report", "/cases", "/cases/seed-tpi-2015", "/cases/seed-tpi-2015/letter",
         "/cases/seed-tpi-2015/audit", "/cases/tpi-six", "/queries"]

_TIMEOUT = 60.0  # seconds: a page that determines a case can take a while on a loaded machine


@pytest.fixture(scope="module")
def store():
    return corpus_store()


@pytest.fixture(scope="module")
def server(store):
    app = create_app(store, query_timeout=30)
    add_audit_routes(app, store)
    with LoopbackServer(app) as srv:
        yield srv


def test_home_links_the_report_the_cases_and_the_queries(page, server):
    page.goto(server.url + "/")
    hrefs = page.eval_on_selector_all("main ul.cards a", "as => as.map(a => a.getAttribute('href'))")
    assert hrefs == ["query", "report", "cases", "queries"]
    assert page.eval_on_selector_all("#cases a", "as => as.map(a => a.textContent)") == [
        "acu", "seed-tpi-2015", "tpi-radic", "tpi-repeat-met", "tpi-six"]
    assert page.problems == []


def test_a_case_page_has_its_items_decisions_and_links(page, server):
    page.goto(server.url + "/cases/tpi-six")
    det = httpx.get(server.url + "/cases/tpi-six", timeout=_TIMEOUT).json()
    assert page.inner_text("h1") == "Case tpi-six"
    assert page.inner_text(".item .engine") == "not medically necessary"
    assert page.inner_text(".item .reviewer") == det["items"][0]["reviewer_decision"] == "overturned"
    assert page.inner_text(".item .badge.disagrees") == "\u2260 disagrees"
    rows = page.eval_on_selector_all(".item table.criteria tbody tr",
                                     "rs => rs.map(r => [...r.cells].map(c => c.textContent))")
    assert [(int(r[0]), r[2]) for r in rows] == [(c["number"], c["status"].replace("_", " "))
                                                 for c in det["items"][0]["criteria"]]
    links = page.eval_on_selector_all("p.links a", "as => as.map(a => [a.textContent, a.href])")
    assert links == [["Audit page", server.url + "/cases/tpi-six/audit"],
                     ["The letter", server.url + "/cases/tpi-six/letter"],
                     ["JSON", server.url + "/cases/tpi-six?format=json"]]
    assert page.problems == []


def test_the_letter_page_shows_the_quoted_passages(page, server, store):
    from kg.store.query import run_query

    page.goto(server.url + "/cases/seed-tpi-2015/letter")
    direct = run_query(store, "case-documents", {"case": "seed-tpi-2015"})
    assert page.eval_on_selector_all("blockquote", "bs => bs.map(b => b.textContent)") == [
        str(r[4]) for r in direct.rows if r[4] is not None]
    assert page.inner_text("h2") == "IMR final determination letter (seed), clinical case summary"
    page.goto(server.url + "/cases/acu/letter")
    assert "records no document" in page.inner_text("main")


def test_pages_and_json_by_content_negotiation(server):
    browser_accept = BROWSER_ACCEPT
    for path in ("/cases", "/cases/tpi-six", "/queries"):
        assert httpx.get(server.url + path, timeout=_TIMEOUT).headers["content-type"] == "application/json"
        html = httpx.get(server.url + path, headers=browser_accept, timeout=_TIMEOUT)
        assert html.headers["content-type"].startswith("text/html") and "Accept" in html.headers["vary"]
        assert httpx.get(server.url + path, params={"format": "json"}, headers=browser_accept,
                         timeout=_TIMEOUT).headers[
            "content-type"] == "application/json"


def test_every_link_resolves(page, server):
    seen: dict[str, int] = {}
    for start in ["/", "/report", "/cases", "/cases/seed-tpi-2015", "/cases/seed-tpi-2015/letter",
                  "/cases/seed-tpi-2015/audit", "/cases/tpi-six/audit", "/queries"]:
        page.goto(server.url + start)
        for href in page.eval_on_selector_all("a[href]", "as => as.map(a => a.href)"):
            url = urldefrag(urljoin(server.url + start, href))[0]
            assert url.startswith(server.url + "/"), (start, href)
            if url not in seen:
                seen[url] = httpx.get(url, headers=BROWSER_ACCEPT, timeout=_TIMEOUT).status_code
    bad = {u: s for u, s in seen.items() if s != 200}
    assert bad == {} and len(seen) > 30
    assert page.problems == []


@pytest.mark.parametrize("path", PAGES)
def test_no_accessibility_violations_at_wcag_aa(page, server, path):
    page.goto(server.url + path)
    page.wait_for_load_state("networkidle")
    if path == "/query":
        page.wait_for_selector(".cm-content")
        page.keyboard.press("Tab")
        page.click("#run")
        page.wait_for_selector("#results tbody tr")
    if path.endswith("/audit"):
        page.click("nav#items button >> nth=0")
        page.click("button.criterion >> nth=0")
    assert axe_violations(page) == []
    assert page.problems == []


@pytest.mark.parametrize("path", ["/", "/query", "/report", "/cases/tpi-six", "/static/editor.js",
                                  "/sparql?query=SELECT%20*%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D%20LIMIT%20200"])
def test_pages_and_results_are_gzipped(server, path):
    raw = httpx.get(server.url + path, headers={"Accept-Encoding": "gzip", "Accept": "text/html, */*;q=0.5"},
                    timeout=_TIMEOUT)
    assert raw.status_code == 200 and raw.headers["content-encoding"] == "gzip"
    with httpx.Client(timeout=_TIMEOUT) as client:
        req = client.build_request("GET", server.url + path, headers={"Accept-Encoding": "gzip",
                                                                      "Accept": "text/html, */*;q=0.5"})
        resp = client.send(req, stream=True)
        body = b"".join(resp.iter_raw())
        resp.close()
    if path == "/query":  # a fresh nonce in every answer
        assert gzip.decompress(body).startswith(b"<!doctype html>") and len(body) < len(raw.content)
    else:
        assert gzip.decompress(body) == raw.content and len(body) < len(raw.content)
    plain = httpx.get(server.url + path, headers={"Accept-Encoding": "identity"}, timeout=_TIMEOUT)
    assert plain.headers.get("content-encoding") is None


def test_the_report_fits_a_phone_and_links_each_disagreement(browser, server):
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    problems = watch(page, server)
    page.goto(server.url + "/report")
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths == [375, 375]
    labels = page.eval_on_selector_all("#decisions-by-section ~ figure .label", "ls => ls.map(l => l.textContent)")
    assert labels[0] == "Trigger point injections (MTUS Chronic Pain Medical Treatment Guidelines (2009))"
    fits = page.eval_on_selector_all("figure.chart, figure.chart svg.bar",
                                     "es => es.every(e => e.getBoundingClientRect().right <= 375)")
    assert fits is True
    links = page.eval_on_selector_all("#cell-not-medically-necessary--overturned + ul a",
                                      "as => as.map(a => [a.textContent, a.href])")
    assert links == [["case tpi-six", server.url + "/cases/tpi-six"],
                     ["audit page", server.url + "/cases/tpi-six/audit"]]
    page.click('td[data-cell="not medically necessary / overturned (medically necessary)"] a')
    assert page.evaluate("() => location.hash") == "#cell-not-medically-necessary--overturned"
    assert problems == []
    context.close()


def test_screenshots_of_the_pages(browser, server, tmp_path):
    """PNGs of the home, query (with a result), case list, case, audit (its graph, and a criterion's
    evidence with a derived value) and report pages, 1280x800, into
    ``$IMRKG_SCREENSHOTS`` when set (``IMRKG_SCREENSHOTS=docs/screenshots`` makes the README's),
    else into a temporary folder."""
    import os
    from pathlib import Path

    folder = Path(os.environ.get("IMRKG_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(30_000)
    problems = watch(page, server)
    shots = {"home": "/", "query": "/query", "cases": "/cases", "case": "/cases/tpi-six",
             "audit": "/cases/tpi-six/audit", "audit-evidence": "/cases/seed-tpi-2015/audit",
             "report": "/report#engine-reviewer-confusion"}
    for name, path in shots.items():
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
        if name == "query":
            page.wait_for_selector(".cm-content")
            page.click("#run")
            page.wait_for_selector("#results tbody tr")
        if name == "audit":
            page.click("nav#items button >> nth=0")
            page.click("button.criterion >> nth=0")
        if name == "audit-evidence":  # a derived value (days since the injury) with the dates it was computed from
            page.click('button.criterion[data-criterion="req-tpi/2"]')
            page.locator('.detail[data-criterion="req-tpi/2"] h3').scroll_into_view_if_needed()
            page.evaluate("() => window.scrollBy(0, document.querySelector('.detail:not([hidden]) h3')"
                          ".getBoundingClientRect().top - 10)")
        page.screenshot(path=str(folder / f"{name}.png"))
    context.close()
    for name in shots:
        data = (folder / f"{name}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and 1000 < len(data) < 300_000, name
    assert problems == []
