"""The audit page (kg.viz.pages): letter text escaped, twenty items grouped and collapsed, and the
page in a real browser: Debian's chromium, headless, driven by Playwright.

Real letters from ``../shared/letters`` are determined and their audit pages opened as files:
no console error and no request leaves the page; every criterion of the case is there with its
status colour; a click on a criterion shows its evidence quote; a click on an item shows that
item only; letter text that holds a ``<script>`` shows as text and runs nothing.  Chromium must
be installed (``apt-get install -y chromium``): when it is missing the browser tests fail, they
do not skip.  Playwright's own browser download is never used.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from casepaths import LETTERS, needs_letters
from rdflib import Literal, URIRef

from kg.engine.determine import determine_case
from kg.engine.graph import CaseGraph
from kg.engine.rationale import to_json_data
from kg.jobs.ingest import read_input
from kg.rdf import KG, OA
from kg.viz.draw import audit_svg
from kg.viz.evidence import evidence_graph
from kg.viz.pages import audit_html

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "seed-trigger-point-2015.yaml"
BIG = LETTERS / "CM16-0248698.pdf"  # 21 disputed items
RGB = {"met": "rgb(46, 125, 50)", "not_met": "rgb(198, 40, 40)", "not_documented": "rgb(179, 60, 0)",
       "not_applicable": "rgb(117, 117, 117)"}


def _escaped_case(cg):
    """The seed case with letter text that tries to run a script."""
    asserted = cg.asserted + cg.asserted.__class__()  # a copy
    evil = '<script>window.__pwned = 1</script> & "quoted"'
    req = URIRef(str(cg.iri) + "req-tpi")
    asserted.set((req, KG.requestText, Literal("TPI " + evil)))
    for sel in list(asserted.subjects(OA.exact, Literal("and cervical radiculitis"))):
        asserted.set((sel, OA.exact, Literal("and cervical radiculitis " + evil)))
    return CaseGraph(case_id=cg.case_id, iri=cg.iri, asserted=asserted, reviewer=cg.reviewer)


def test_letter_text_is_escaped_everywhere(seed_cg, svg_nodes):
    g = evidence_graph(_escaped_case(seed_cg))
    assert "<script>" in g.nodes["request:req-tpi"]["label"]
    page, svg = audit_html(g), audit_svg(g)
    for text in (page, svg):
        assert "<script>window" not in text and "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in text
    assert page.count("<script>") == 1  # ours, at the end
    ET.fromstring(svg.encode("utf-8"))  # still well-formed
    svg_nodes(audit_svg(g))


@needs_letters
def test_twenty_items_are_grouped_and_collapsed(svg_nodes):
    g = evidence_graph(read_input(LETTERS / "CM16-0248698.pdf"))
    requests = list(g.successors("case"))
    assert len(requests) == 21
    assert [g.nodes[r]["order"] for r in requests] == list(range(1, 22))
    assert [g.nodes[r]["request_id"] for r in requests][:3] == ["r1", "r2", "r3"]  # natural order, not r1, r10
    page = audit_html(g)
    assert page.count('<section class="item"') == 21 and page.count(" hidden>") >= 21
    assert page.count("<button type=\"button\" data-item=") == 21
    # the static picture draws every item, one band each
    assert {n for n in svg_nodes(audit_svg(g)) if n.startswith("request:")} == set(requests)


# -- in a real browser ---------------------------------------------------------------------------
@pytest.fixture
def open_page(browser, tmp_path):
    """Open an audit page written to a file; yields (page, problems)."""
    contexts = []

    def opener(html: str, name: str = "audit.html"):
        path = tmp_path / name
        path.write_text(html, encoding="utf-8")
        context = browser.new_context(viewport={"width": 1500, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        problems: list[str] = []
        page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
                if msg.type in ("error", "warning") else None)
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
        page.on("request", lambda req: problems.append(f"request: {req.url}") if req.url != path.as_uri() else None)
        page.goto(path.as_uri())
        page.wait_for_selector("nav#items button[aria-current=true]")
        return page, problems

    yield opener
    for c in contexts:
        c.close()


def _check_item(page, item: dict) -> None:
    """Every criterion of ``item`` present with its colour; a click shows its quote."""
    rid = item["request"]
    page.click(f'nav#items button[data-item="{rid}"]')
    section = page.locator(f'section.item[data-request="{rid}"]')
    assert section.is_visible()
    assert page.locator("section.item:visible").count() == 1  # the others are collapsed
    for c in item["criteria"]:
        key = f"{rid}/{c['number']}"
        button = section.locator(f'button.criterion[data-criterion="{key}"]')
        assert button.get_attribute("data-status") == c["status"]
        assert button.evaluate("b => getComputedStyle(b).backgroundColor") == RGB[c["status"]], key
        node = section.locator(f'g[data-node="criterion:{key}"] rect')
        assert node.evaluate("r => getComputedStyle(r).fill") == RGB[c["status"]], key
        quotes = [q["exact"] for e in c["evidence"] for q in e["quotes"] if q["exact"]]
        button.click()
        detail = section.locator(f'.detail[data-criterion="{key}"]')
        assert detail.is_visible()
        assert section.locator(".detail:visible").count() == 1
        for q in quotes:
            assert detail.locator("blockquote.quote", has_text=q[:60]).first.is_visible(), (key, q)


def test_seed_case_audit_page(open_page):
    cg = read_input(SEED)
    data = to_json_data(determine_case(cg))
    page, problems = open_page(audit_html(cg), "seed.html")
    item = data["items"][0]
    assert [c["status"] for c in item["criteria"]] == ["not_documented", "met", "not_documented", "not_met",
                                                        "not_documented", "not_applicable", "not_applicable",
                                                        "not_documented"]
    _check_item(page, item)
    # a click on the criterion in the graph shows it too, and dims what does not bear on it
    page.click('g[data-node="criterion:req-tpi/4"]')
    detail = page.locator('.detail[data-criterion="req-tpi/4"]')
    assert detail.is_visible() and "and cervical radiculitis" in detail.inner_text()
    assert "dim" not in page.get_attribute('g[data-node="fact:dx-radiculitis"]', "class")
    assert "dim" in page.get_attribute('g[data-node="fact:tx-pt"]', "class")
    assert page.locator('section.item[data-request="req-tpi"] .mark').inner_text() == "agrees"
    page.screenshot(path=str(Path(page.url.removeprefix("file://")).with_suffix(".png")), full_page=True)
    assert problems == []


@needs_letters
def test_letter_with_twenty_items(open_page):
    cg = read_input(BIG)
    data = to_json_data(determine_case(cg))
    assert len(data["items"]) >= 20
    page, problems = open_page(audit_html(cg), "big.html")
    assert page.locator("nav#items button").count() == len(data["items"])
    assert page.locator("section.item:visible").count() == 1
    for item in data["items"]:
        _check_item(page, item)
        agree = item["agrees_with_reviewer"]
        mark = page.locator(f'section.item[data-request="{item["request"]}"] .mark').inner_text()
        assert mark == {True: "agrees", False: "\u2260 disagreement", None: "not compared"}[agree]
    assert problems == []


def test_script_in_letter_text_shows_as_text(open_page):
    cg = read_input(SEED)
    asserted = cg.asserted + cg.asserted.__class__()
    evil = "<script>window.__pwned = 1; alert(1)</script><img src=x onerror=alert(2)>"
    asserted.set((URIRef(str(cg.iri) + "req-tpi"), KG.requestText, Literal("TPI " + evil)))
    for sel in list(asserted.subjects(OA.exact, Literal("and cervical radiculitis"))):
        asserted.set((sel, OA.exact, Literal("and cervical radiculitis " + evil)))
    hacked = CaseGraph(case_id=cg.case_id, iri=cg.iri, asserted=asserted, reviewer=cg.reviewer)
    page, problems = open_page(audit_html(hacked), "evil.html")
    assert page.evaluate("() => window.__pwned") is None
    assert evil in page.locator("section.item h2").inner_text()
    page.click('button.criterion[data-criterion="req-tpi/4"]')
    assert evil in page.locator('.detail[data-criterion="req-tpi/4"] blockquote.quote').first.inner_text()
    assert page.locator("img").count() == 0
    assert problems == []
