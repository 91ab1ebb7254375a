"""The endpoint's query page (``GET /query``): a SPARQL editor (CodeMirror, with highlighting,
Ctrl+Enter and errors marked at their line), the library's queries with their parameters as a
form, results as a sortable, paged table, a CONSTRUCT as Turtle, downloads in every format the
endpoint negotiates.

After :mod:`kg.web.pages`.  The page is ``static/query.html`` in the site's frame
(:func:`kg.web.pages.page_shell`), with
``static/query.css`` and ``static/query.js`` inlined and pinned by hash, and the editor's bundle
``static/vendor/editor.js`` (built from npm by ``hatch_build.py`` at install time, see
:func:`editor_script`) loaded from the server itself: the page fetches nothing from anywhere
else.  Without the bundle the page still works, with a plain text area.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources

from kg.rdf import PREFIXES
from kg.viz.markup import escape, source_hash, static_text
from kg.web.pages import page_shell

__all__ = ["query_page", "editor_script", "DEFAULT_QUERY"]

#: The query the page opens with: the project's prefixes, then the named graphs and their sizes.
DEFAULT_QUERY = ("".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items())
                 + "\nSELECT ?g (COUNT(*) AS ?triples) WHERE { GRAPH ?g { ?s ?p ?o } }\n"
                 "GROUP BY ?g ORDER BY ?g LIMIT 20\n")

_SLOT = re.compile(r"\{(default_query)\}")


@lru_cache(maxsize=1)
def editor_script() -> bytes | None:
    """The editor's bundle (CodeMirror 6 with SPARQL), or ``None`` when this installation was
    built without it."""
    path = resources.files("kg.web") / "static" / "vendor" / "editor.js"
    return path.read_bytes() if path.is_file() else None


_NONCE = "{nonce}"


@lru_cache(maxsize=None)
def _template() -> tuple[str, str]:
    script = static_text("query.js", "kg.web")
    body = _SLOT.sub(lambda m: escape(DEFAULT_QUERY), static_text("query.html", "kg.web"))
    prefixes = json.dumps([list(p) for p in PREFIXES.items()]).replace("<", "\\u003c")
    tail = (f'<script type="application/json" id="prefixes">{prefixes}</script>\n'
            + ('<script src="static/editor.js"></script>\n' if editor_script() is not None else "")
            + f'<script nonce="{_NONCE}">{script}</script>\n')
    html, policy = page_shell("Query", body, current="Query", style=static_text("query.css", "kg.web"),
                              script_sources=("'self'", source_hash(script)), tail=tail)
    # The editor adds its own style elements: they carry the page's nonce (EditorView.cspNonce).
    return html, policy.replace("; script-src", f" 'nonce-{_NONCE}'; script-src", 1)


def query_page(nonce: str | None = None) -> tuple[str, str]:
    """The page's HTML and the ``Content-Security-Policy`` header to send with it.

    ``nonce`` (a fresh random one per response, by default) lets the editor's own style elements
    in; everything else is pinned by hash or served by the endpoint itself.

    >>> html, policy = query_page("abc")
    >>> "<textarea" in html and "script-src 'self' 'sha256-" in policy and "'nonce-abc'" in policy
    True
    """
    import secrets

    value = nonce or secrets.token_urlsafe(18)
    html, policy = _template()
    return html.replace(_NONCE, value), policy.replace(_NONCE, value)
