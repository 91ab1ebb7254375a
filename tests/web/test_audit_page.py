"""The audit page and the case list of a served store, in headless Chromium, for a real letter
(CM16-0232543, six items): each derived value shows the dated facts it was computed from with
their quotes and links into the letter, a fact that did not count says why, the graph text is
drawn at 14 px or more, every link resolves and axe-core finds no WCAG 2.1 AA violation; the
case list gives each case its decisions, sorted and paged."""

from __future__ import annotations

from urllib.parse import quote as urlquote
from urllib.parse import urldefrag, urljoin

import httpx
import pytest
from casepaths import LETTERS, LoopbackServer, axe_violations, corpus_store, require_letters

from kg.web.app import create_app
from kg.web.audit_routes import add_audit_routes
from kg.web.pages import case_summaries, cases_html

LETTER = "CM16-0232543"
_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def server():
    require_letters()
    from kg.engine.determine import determine_case
    from kg.jobs.ingest import read_input
    from kg.store.store import case_graphs

    store = corpus_store()
    cg = read_input(LETTERS / f"{LETTER}.pdf")
    store.put_case(cg.case_id, case_graphs(cg, determine_case(cg)))
    app = create_app(store, query_timeout=30)
    add_audit_routes(app, store)
    with LoopbackServer(app) as srv:
        yield srv


def _open_criterion(page, server, request: str, number: int):
    page.goto(f"{server.url}/cases/{LETTER}/audit")
    page.click(f'nav#items button[data-item="{request}"]')
    page.click(f'section.item[data-request="{request}"] button.criterion[data-criterion="{request}/{number}"]')
    detail = page.locator(f'.detail[data-criterion="{request}/{number}"]')
    assert detail.is_visible()
    return detail


def test_a_fact_that_did_not_count_says_why(page, server):
    detail = _open_criterion(page, server, "r3", 2)  # X-ray of the pelvis: hip examination findings
    assert detail.locator("h3").inner_text() == "Criterion 2. Examination findings of a specific hip pathology: " \
                                                "not documented"
    fact = detail.locator('.fact[data-fact="fact:f2"]')
    assert fact.locator("strong").first.inner_text() == "Neer's test (absent)"
    assert fact.locator(".not-counted").inner_text() == (
        "Did not count for criterion 2: documented absent or normal, so it does not show what the criterion needs.")
    assert fact.locator("blockquote.quote").inner_text() == (
        "There was a negative Neer's test, Hawkins' test, and Speed's test.")
    assert page.problems == []


def test_a_derived_value_shows_the_dates_it_was_computed_from(page, server):
    detail = _open_criterion(page, server, "r3", 3)  # a period of conservative care first
    days = detail.locator('.fact[data-fact="fact:r3"] .derived[data-derived="daysSinceInjury"]')
    assert days.locator("p").first.inner_text().startswith(
        "days from the injury to the request: 20 (worked out by the engine, not stated in the letter).")
    injury = days.locator('li[data-input="injuryDate"]')
    assert injury.inner_text().startswith("date of injury 2016-10-25 (industrial injury)")
    assert "occupational claim from 10/25/2016" in injury.locator("blockquote.quote").all_inner_texts()
    # the summary dates the request for authorization, so the period runs to it, not to the UR decision
    request = days.locator('li[data-input="requestDate"]')
    assert request.inner_text().startswith("request date 2016-11-14 (X-ray of the pelvis)")
    quote = "Request for Authorization form was dated 11/14/2016"
    assert quote in request.locator("blockquote.quote").all_inner_texts()
    assert days.locator('li[data-input="decisionDate"]').count() == 0
    link = request.locator("cite a").first
    assert link.inner_text().startswith(f"{LETTER}.pdf, characters ")
    assert link.get_attribute("href") == "letter#:~:text=" + urlquote(quote, safe="")
    link.click()
    page.wait_for_load_state()
    assert page.url.startswith(f"{server.url}/cases/{LETTER}/letter")
    assert any(quote in t for t in page.locator("blockquote").all_inner_texts())
    assert page.problems == []


def test_the_graph_text_is_drawn_at_14_px_or_more(page, server):
    page.goto(f"{server.url}/cases/{LETTER}/audit")
    page.click('nav#items button[data-item="r3"]')
    sizes = page.eval_on_selector_all(
        'section.item[data-request="r3"] .graph svg text',
        "ts => ts.map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)")
    assert len(sizes) > 20 and min(sizes) >= 14


def test_every_link_of_the_audit_page_and_the_case_list_resolves(page, server):
    seen: dict[str, int] = {}
    for start in (f"/cases/{LETTER}/audit", "/cases", "/cases?sort=disagreements"):
        page.goto(server.url + start)
        for href in page.eval_on_selector_all("a[href]", "as => as.map(a => a.href)"):
            url = urldefrag(urljoin(server.url + start, href))[0]
            assert url.startswith(server.url + "/"), (start, href)
            if url not in seen:
                seen[url] = httpx.get(url, headers={"Accept": "text/html"}, timeout=_TIMEOUT).status_code
    assert {u: s for u, s in seen.items() if s != 200} == {} and len(seen) > 20
    assert page.problems == []


@pytest.mark.parametrize("path", [f"/cases/{LETTER}/audit", "/cases", "/cases?sort=items"])
def test_no_accessibility_violations_with_the_notes_open(page, server, path):
    page.goto(server.url + path)
    if path.endswith("/audit"):
        page.click('nav#items button[data-item="r3"]')
        page.click('section.item[data-request="r3"] button.criterion[data-criterion="r3/3"]')
        page.click('section.item[data-request="r3"] button.criterion[data-criterion="r3/2"]')
    assert axe_violations(page) == []
    assert page.problems == []


def test_the_case_list_gives_each_case_its_decisions(page, server):
    page.goto(server.url + "/cases")
    rows = page.eval_on_selector_all("#case-list tbody tr", "rs => rs.map(r => [...r.cells].map(c => c.innerText))")
    assert [r[0] for r in rows] == ["CM16-0232543", "acu", "seed-tpi-2015", "tpi-radic", "tpi-repeat-met", "tpi-six"]
    # the counts from the stored determinations agree with each case's own page (determined afresh)
    for r in rows:
        det = httpx.get(f"{server.url}/cases/{r[0]}", timeout=_TIMEOUT).json()
        items = det["items"]
        assert [int(n) for n in r[1:6]] == [
            len(items), sum(i["engine_decision"] == "medically_necessary" for i in items),
            sum(i["engine_decision"] == "not_medically_necessary" for i in items),
            sum(i["engine_decision"] == "not_covered" for i in items),
            sum(i["agrees_with_reviewer"] is False for i in items)], r[0]
    assert rows[-1][:6] == ["tpi-six", "1", "0", "1", "0", "1"]
    assert rows[-1][6] == "Trigger point injections (MTUS)"
    page.click("#case-list thead a >> text=disagreements")
    assert page.url == server.url + "/cases?sort=disagreements"
    assert page.get_attribute("#case-list th[aria-sort]", "aria-sort") == "descending"
    first = page.eval_on_selector_all("#case-list tbody tr td:first-child", "ts => ts.map(t => t.innerText)")
    assert first == [r[0] for r in sorted(rows, key=lambda r: (-int(r[5]), r[0]))]
    assert page.problems == []


def test_the_case_list_is_paged_and_sorted():
    rows = [(f"https://w3id.org/imr-kg/case/c{n:03d}/", f"r{k}", "x", "https://w3id.org/imr-kg/ont#"
             + ("MedicallyNecessary" if k % 2 else "NotMedicallyNecessary"),
             "https://w3id.org/imr-kg/ont#Upheld", "Physical medicine", None)
            for n in range(120) for k in range(1 + n % 3)]
    summaries = case_summaries(rows)
    assert len(summaries) == 120 and summaries[5] == {
        "case": "c005", "items": 3, "necessary": 1, "not_necessary": 2, "not_covered": 0, "disagreements": 1,
        "sections": {"Physical medicine": "MTUS"}}
    html, _ = cases_html(summaries, page=3)
    assert html.count("<tr><td>") == 20 and '<a href="cases/c100">c100</a>' in html
    assert '<span aria-current="page">3</span>' in html and 'href="cases?sort=case&amp;page=1"' in html
    html, _ = cases_html(summaries, sort="items")
    assert html.split("<tbody>")[1].startswith('<tr><td><a href="cases/c002">c002</a></td><td>3</td>')
    with pytest.raises(ValueError, match="no page 4 of the case list"):
        cases_html(summaries, page=4)
    with pytest.raises(ValueError, match="unknown sort 'size'"):
        cases_html(summaries, sort="size")
