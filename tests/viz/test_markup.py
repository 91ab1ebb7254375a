"""Text for the pages (kg.viz.markup): escaping, and each page's policy pinning exactly the style
and script it inlines from the packaged static files."""

from __future__ import annotations

import re

from casepaths import corpus_store

from kg.viz.markup import csp, escape, source_hash, static_text
from kg.viz.pages import audit_html, picture_page
from kg.viz.report import report_html


def _policy_and_inline(page: str) -> tuple[str, list[str], list[str]]:
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', page).group(1)
    return policy, re.findall(r"<style>(.*?)</style>", page, re.S), re.findall(r"<script>(.*?)</script>", page, re.S)


def test_escape_cleans_control_characters_and_quotes():
    assert escape('<a href="x">\x0c&</a>') == "&lt;a href=&quot;x&quot;&gt; &amp;&lt;/a&gt;"


def test_every_page_pins_the_style_and_script_it_inlines(seed_graph):
    for page, style, script in ((audit_html(seed_graph), "audit.css", "audit.js"),
                                (report_html(corpus_store()), "report.css", None)):
        policy, styles, scripts = _policy_and_inline(page)
        assert styles == [static_text(style)]
        assert scripts == ([static_text(script)] if script else [])
        assert policy == csp(static_text(style), static_text(script) if script else None)
        assert f"style-src {source_hash(styles[0])};" in policy
    policy, styles, scripts = _policy_and_inline(picture_page("t", "<p>b</p>"))
    assert scripts == [] and "script-src 'none'" in policy and f"style-src {source_hash(styles[0])};" in policy
