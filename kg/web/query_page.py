"""The endpoint's query page (``GET /``): the library's queries as examples, their rows as a
table, the stored cases with their determinations.

After :mod:`kg.web.sparql`.  The page is ``static/query.html`` with ``static/query.css`` and
``static/query.js`` inlined where it says ``{style}`` and ``{script}``; it fetches only from its
own server, under a Content-Security-Policy that allows exactly that style and script.
"""

from __future__ import annotations

import re
from functools import lru_cache

from kg.viz.markup import source_hash, static_text

__all__ = ["query_page"]

_SLOT = re.compile(r"\{(style|script)\}")


@lru_cache(maxsize=None)
def query_page() -> tuple[str, str]:
    """The page's HTML and the ``Content-Security-Policy`` header to send with it (built once).

    >>> html, policy = query_page()
    >>> "<textarea" in html and "script-src 'sha256-" in policy
    True
    """
    style, script = static_text("query.css", "kg.web"), static_text("query.js", "kg.web")
    parts = {"style": style, "script": script}
    page = _SLOT.sub(lambda m: parts[m.group(1)], static_text("query.html", "kg.web"))
    policy = (f"default-src 'none'; script-src {source_hash(script)}; style-src {source_hash(style)}; "
              "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
    return page, policy
