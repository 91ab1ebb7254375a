"""Text for the pages and pictures: cleaning and escaping letter text, SVG numbers, the
Content-Security-Policy of a page, and the packaged style and script files.

First module of :mod:`kg.viz`; imports nothing of kg.  The pages fetch nothing: their style and
script live in ``static/`` beside the package's modules (:func:`static_text`), are inlined into
each page and pinned by a policy holding their hashes (:func:`csp`), so a changed file still
gives a page the browser accepts.

>>> escape('<b> & "\\x0c"')
'&lt;b&gt; &amp; &quot; &quot;'
>>> svg_number(12.50), svg_number(3.0)
('12.5', '3')
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from functools import lru_cache
from importlib import resources

__all__ = ["clean_text", "escape", "svg_number", "source_hash", "csp", "static_text"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: object) -> str:
    """Text fit for XML: control characters (a PDF's form feeds) become spaces."""
    return _CONTROL.sub(" ", str(text))


def escape(text: object) -> str:
    """:func:`clean_text`, escaped for HTML and XML text and attribute values (quotes too)."""
    return html.escape(clean_text(text), quote=True)


def svg_number(v: float) -> str:
    """A coordinate as SVG writes it here: one decimal at most, no trailing zeros."""
    return f"{v:.1f}".rstrip("0").rstrip(".")


def source_hash(text: str) -> str:
    """The Content-Security-Policy source that allows exactly this inline style or script.

    >>> source_hash("")
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
    """
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def csp(style: str, script: str | None) -> str:
    """The policy of a standalone page: nothing fetched, only its own inline ``style`` and
    ``script`` (none when ``None``) run."""
    scripts = source_hash(script) if script else "'none'"
    return (f"default-src 'none'; style-src {source_hash(style)}; script-src {scripts}; "
            "img-src 'self' data:; base-uri 'none'; form-action 'none'")


@lru_cache(maxsize=None)
def static_text(name: str, package: str = "kg.viz") -> str:
    """The text of the packaged file ``static/<name>`` of ``package`` (read once, then kept).

    Raises ``FileNotFoundError`` when the installation lacks it.

    >>> static_text("audit.js").lstrip().startswith("(function(){")
    True
    """
    return (resources.files(package) / "static" / name).read_text(encoding="utf-8")
