"""The query library: named SPARQL queries with headers, run against a store with typed,
safely bound parameters, printed as a table, CSV or JSON.

Each file in ``queries/`` starts with comment lines::

    # title:      one line
    # question:   what it answers
    # parameters: ?name (iri|string|integer|decimal|date) what it means ; ...   (or: none)
    # columns:    the result columns

Parameters are bound by the store (a trailing ``VALUES`` block built from RDF
terms), never by pasting text into the query.  The two paging parameters a list query may
declare, ``?limit`` and ``?offset`` (:data:`PAGING`), are optional and become the query's
``LIMIT`` and ``OFFSET`` (SPARQL cannot bind those): each checked to be a whole number, written
back as one, and the query's ``ORDER BY`` makes the pages follow each other.  A list query may
also hold ``VALUES ?page_end { UNDEF }`` (:data:`PAGE_END`) where it needs the page's end: given a
limit, the library writes offset + limit there, so the query can skip the rows that cannot be on
the page (a trailing VALUES block would come too late for that); without one it stays ``UNDEF``.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from rdflib import XSD, Literal, URIRef
from rdflib.term import Node

from kg.errors import InputError, did_you_mean
from kg.rdf import CASE_BASE, PREFIXES, prefixed
from kg.store.store import QueryResult, Store
from kg.store.upgrade import lacks_summaries, reads_summaries

__all__ = ["Parameter", "LibraryQuery", "library", "load_query", "ad_hoc_query", "format_library", "parse_parameters",
           "case_iri", "bind_parameters", "PAGING", "paged_text", "run_query", "format_result"]

_HEADER = re.compile(r"^#\s*(title|question|parameters|columns):\s*(.*)$")
# an ad-hoc query: its prefixes declared and used (outside strings and IRIs), and the keyword that
# tells a query text from a library name
_DECLARED = re.compile(r"\bPREFIX\s+([A-Za-z][\w.-]*)?\s*:", re.I)
_USED = re.compile(r"(?<![\w<:?$])([A-Za-z][\w-]*):(?!//)")
_STRINGS = re.compile(r'"[^"\n]*"|\'[^\'\n]*\'|<[^<>\s]*>|#[^\n]*')
_QUERY_FORM = re.compile(r"\b(?:SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.I)
_PARAM = re.compile(r"\?(\w+)\s*\((iri|string|integer|decimal|date)\)\s*([^;]*)")
_TYPES = {"integer": XSD.integer, "decimal": XSD.decimal, "date": XSD.date}
#: the paging parameters (optional, integers): a query declaring them takes them as LIMIT and OFFSET
PAGING = ("limit", "offset")
#: where a list query reads the page's end (offset + limit), to look up only the rows it can hold
PAGE_END = re.compile(r"VALUES\s+\?page_end\s*\{\s*UNDEF\s*\}")


@dataclass(frozen=True)
class Parameter:
    """One parameter a query's header declares: ``?name (type) description``."""

    name: str
    type: str
    description: str


@dataclass(frozen=True)
class LibraryQuery:
    """One query of the library: its name (the file's stem), file, header fields and text."""

    name: str
    path: Path
    title: str
    question: str
    parameters: tuple[Parameter, ...]
    columns: str
    text: str


def load_query(path: str | Path, *, ad_hoc: bool = False) -> LibraryQuery:
    """Read one ``.rq`` file and its header.  Raises :class:`InputError` when the header is incomplete;
    with ``ad_hoc``, a file with no header at all is read as :func:`ad_hoc_query` reads a text."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the query: {exc}", source=str(path)) from None
    fields: dict[str, str] = {}
    last = None
    for line in text.splitlines():
        if not line.startswith("#"):
            if line.strip():
                break
            continue
        m = _HEADER.match(line)
        if m:
            last = m.group(1)
            fields[last] = m.group(2).strip()
        elif last:
            fields[last] += " " + line.lstrip("#").strip()
    if ad_hoc and not fields:
        return ad_hoc_query(text, name=str(path), path=path)
    missing = [k for k in ("title", "question", "parameters", "columns") if k not in fields]
    if missing:
        raise InputError(f"the query header lacks {', '.join(missing)}", source=str(path), line=1,
                         hint="start the file with '# title:', '# question:', '# parameters:' and '# columns:' lines")
    params = tuple(Parameter(n, t, d.strip()) for n, t, d in _PARAM.findall(fields["parameters"]))
    return LibraryQuery(name=path.stem, path=path, title=fields["title"], question=fields["question"],
                        parameters=params, columns=fields["columns"], text=text)


def ad_hoc_query(text: str, *, name: str = "query", path: Path | None = None) -> LibraryQuery:
    """A query given without the library's header (a string or a ``.rq`` file of one's own): no
    parameters, and the :data:`kg.rdf.PREFIXES` it uses but does not declare declared for it.

    >>> q = ad_hoc_query("SELECT ?c WHERE { ?c a kg:Case }")
    >>> q.text.splitlines()[0], q.parameters
    ('PREFIX kg: <https://w3id.org/imr-kg/ont#>', ())
    """
    declared = set(_DECLARED.findall(text))
    used = set(_USED.findall(_STRINGS.sub("", text)))
    head = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items() if p in used and p not in declared)
    return LibraryQuery(name=name, path=path or Path(name), title="ad-hoc query", question="", parameters=(),
                        columns="", text=head + text)


def library() -> list[LibraryQuery]:
    """Every packaged query, sorted by name."""
    from kg.resources import data_files

    return [load_query(p) for p in data_files("queries")]


def format_library(queries: Sequence[LibraryQuery], fmt: str = "table") -> str:
    """The queries as ``imrkg queries`` lists them: ``table`` (each name with its parameters and,
    indented below, its question) or ``json`` (every header field)."""
    if fmt == "json":
        doc = [{"name": q.name, "title": q.title, "question": q.question, "columns": q.columns,
                "parameters": [{"name": p.name, "type": p.type, "description": p.description} for p in q.parameters]}
               for q in queries]
        return json.dumps(doc, indent=2) + "\n"
    lines = []
    for q in queries:
        params = " ".join(f"--param {p.name}=<{p.type}>" for p in q.parameters)
        lines.append(f"{q.name}{' ' + params if params else ''}\n    {q.question}\n")
    return "".join(lines)


def parse_parameters(items: Sequence[str]) -> dict[str, str]:
    """``NAME=VALUE`` strings (``imrkg query --param``) as a mapping, names stripped; raises
    :class:`InputError` for an item that is not ``NAME=VALUE``.

    >>> parse_parameters(["case = https://w3id.org/imr-kg/case/x/", "n=a=b"])
    {'case': ' https://w3id.org/imr-kg/case/x/', 'n': 'a=b'}
    """
    params = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InputError(f"'{item}' is not NAME=VALUE", source="--param")
        params[name.strip()] = value
    return params


def _find(name_or_file: str) -> LibraryQuery:
    path = Path(name_or_file)
    if path.suffix == ".rq" and path.exists():
        return load_query(path, ad_hoc=True)
    if _QUERY_FORM.search(_STRINGS.sub("", name_or_file)):
        return ad_hoc_query(name_or_file)
    queries = library()
    for q in queries:
        if q.name == name_or_file:
            return q
    raise InputError(f"no query named '{name_or_file}'", source=name_or_file,
                     hint=did_you_mean(name_or_file, [q.name for q in queries], what="query")
                     + "; 'imrkg queries' lists them")


def case_iri(value: str) -> str:
    """A ``case`` parameter as the case's IRI: a case number (``CM16-0213037``) or the case IRI,
    with or without its trailing slash.

    >>> case_iri("CM16-0213037")
    'https://w3id.org/imr-kg/case/CM16-0213037/'
    >>> case_iri("https://w3id.org/imr-kg/case/seed-tpi-2015")
    'https://w3id.org/imr-kg/case/seed-tpi-2015/'
    """
    value = value.strip()
    if value.startswith(str(CASE_BASE)):
        return value.rstrip("/") + "/"
    if re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$", value):
        return f"{CASE_BASE}{value}/"
    return value


def bind_parameters(query: LibraryQuery, raw: Mapping[str, str]) -> dict[str, Node]:
    """Turn ``name=value`` strings into RDF terms of the types the header declares.  Every
    declared parameter is required; a ``case`` IRI parameter also takes a case number
    (:func:`case_iri`).  Raises :class:`InputError` naming the parameter.

    >>> q = LibraryQuery("q", Path("q.rq"), "t", "q", (Parameter("case", "iri", ""),), "c", "")
    >>> bind_parameters(q, {"case": "https://w3id.org/imr-kg/case/x/"})
    {'case': rdflib.term.URIRef('https://w3id.org/imr-kg/case/x/')}
    """
    declared = {p.name: p for p in query.parameters}
    out: dict[str, Node] = {}
    for name, value in raw.items():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError("the value is not UTF-8 text", source=query.name, field=name) from None
        if name not in declared:
            raise InputError(f"unknown parameter '{name}'", source=query.name,
                             hint=(did_you_mean(name, declared, what="parameter") + " " if declared else "")
                             + "declared: " + (", ".join(declared) or "none"))
        if name in PAGING:
            _page_value(query, name, value)
            continue
        kind = declared[name].type
        if kind == "iri" and name == "case":
            value = case_iri(value)
        if kind == "iri":
            if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s<>\"{}|\\^`]*$", value):
                raise InputError(f"'{value}' is not an IRI", source=query.name, field=name)
            out[name] = URIRef(value)
        elif kind == "string":
            out[name] = Literal(value)
        else:
            try:
                if kind == "integer":
                    int(value)
                elif kind == "decimal":
                    float(value)
                else:
                    _dt.date.fromisoformat(value)
            except ValueError:
                raise InputError(f"'{value}' is not a {kind}", source=query.name, field=name) from None
            out[name] = Literal(value, datatype=_TYPES[kind])
    missing = [p for p in query.parameters if p.name not in raw and p.name not in PAGING]
    if missing:
        p = missing[0]
        raise InputError(f"the query needs the parameter '{p.name}' ({p.type}: {p.description})", source=query.name,
                         field=p.name, hint=f"add --param {p.name}=...")
    return out


def _page_value(query: LibraryQuery, name: str, value: str) -> int | None:
    """A paging parameter's value as a whole number of rows (None for an empty value: no paging)."""
    if not value.strip():
        return None
    try:
        number = int(value.strip())
    except ValueError:
        number = -1
    if number < 0:
        raise InputError(f"'{value}' is not a number of rows (a whole number, 0 or more)", source=query.name,
                         field=name)
    return number


def paged_text(query: LibraryQuery, raw: Mapping[str, str]) -> str:
    """The query's text with the paging parameters in ``raw`` (see :data:`PAGING`) as its ``LIMIT``
    and ``OFFSET``; the text itself when none is given (or the query declares none).  Raises
    :class:`InputError` for a value that is not a whole number of rows.

    >>> q = LibraryQuery("q", Path("q.rq"), "t", "q", (Parameter("limit", "integer", ""),), "c", "SELECT ...")
    >>> paged_text(q, {"limit": "50"})
    'SELECT ...\\nLIMIT 50'
    >>> q = LibraryQuery("q", Path("q.rq"), "t", "q", (Parameter("limit", "integer", ""),
    ...                  Parameter("offset", "integer", "")), "c", "SELECT * { VALUES ?page_end { UNDEF } }")
    >>> paged_text(q, {"limit": "50", "offset": "100"})
    'SELECT * { VALUES ?page_end { 150 } }\\nLIMIT 50 OFFSET 100'
    """
    declared = {p.name for p in query.parameters}
    pages = {n: _page_value(query, n, raw[n]) for n in PAGING if n in declared and n in raw}
    clause = " ".join(f"{n.upper()} {v}" for n, v in pages.items() if v is not None)
    if not clause:
        return query.text
    text = query.text
    limit = pages.get("limit")
    if limit is not None:
        end = str(limit + (pages.get("offset") or 0))
        text = PAGE_END.sub(lambda m: m.group(0).replace("UNDEF", end), text)
    return f"{text.rstrip()}\n{clause}"


def run_query(store: Store, name_or_file: str, params: Mapping[str, str] | None = None) -> QueryResult:
    """Run a library query (by name) or a ``.rq`` file against ``store`` (a list query one page of
    it with ``limit`` and ``offset``, see :data:`PAGING`)."""
    query = _find(name_or_file)
    raw = params or {}
    if reads_summaries(query.text) and lacks_summaries(store):
        raise InputError("the store was written by an earlier imr-kg and lacks the per-item summaries this "
                         "query counts by, so it would answer with no rows", source=query.name,
                         hint=f"run 'imrkg upgrade --store {store.location}' once to add them")
    return store.query(paged_text(query, raw), bind_parameters(query, raw))


def _cell(term: Node | None) -> str:
    return "" if term is None else str(term)


def _shown(term: Node | None) -> str:
    """A term as a table shows it: IRIs as prefixed names (:func:`kg.rdf.prefixed`)."""
    if isinstance(term, URIRef):
        return prefixed(str(term))
    return _cell(term)


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters, broken at spaces where it can be."""
    import textwrap

    return textwrap.wrap(text, width, break_on_hyphens=False) or [""]


def format_result(result: QueryResult, fmt: str = "table", width: int = 120) -> str:
    """Render a result as ``table`` (aligned text in ``width`` columns, IRIs as prefixed names, long
    cells wrapped), ``csv`` or ``json`` (SPARQL 1.1 JSON results, full IRIs)."""
    if result.boolean is not None:
        return json.dumps({"head": {}, "boolean": result.boolean}) + "\n" if fmt == "json" else f"{result.boolean}\n"
    if result.graph is not None:
        return result.graph.serialize(format="nt")
    if fmt == "json":
        def term(t: Node | None) -> dict[str, str] | None:
            if t is None:
                return None
            if isinstance(t, URIRef):
                return {"type": "uri", "value": str(t)}
            if isinstance(t, Literal):
                d = {"type": "literal", "value": str(t)}
                if t.language:
                    d["xml:lang"] = t.language
                elif t.datatype:
                    d["datatype"] = str(t.datatype)
                return d
            return {"type": "bnode", "value": str(t)}
        bindings = [{c: term(v) for c, v in zip(result.columns, row, strict=False) if v is not None}
                    for row in result.rows]
        return json.dumps({"head": {"vars": list(result.columns)}, "results": {"bindings": bindings}},
                          indent=1) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(result.columns)
        for row in result.rows:
            w.writerow([_cell(v) for v in row])
        return buf.getvalue()
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r}")
    return _table(result, width)


def _table(result: QueryResult, width: int) -> str:
    """Aligned columns, IRIs prefixed; a column wider than its share of ``width`` wraps onto more lines."""
    cells = [list(result.columns)] + [[_shown(v) for v in row] for row in result.rows]
    n_cols = len(result.columns)
    widths = [max(len(r[i]) for r in cells) for i in range(n_cols)]
    room = max(width - 2 * (n_cols - 1), 10 * n_cols)
    # narrow the widest column a character at a time until the table fits (none below 10): first
    # the columns of words, which wrap at spaces, then the others (IRIs), which must break inside
    words = [i for i in range(n_cols) if any(" " in r[i] for r in cells[1:])]
    for narrowable in (words, list(range(n_cols))):
        while sum(widths) > room:
            widest = max(narrowable, key=lambda i: widths[i], default=None)
            if widest is None or widths[widest] <= 10:
                break
            widths[widest] -= 1
    lines = []
    for k, row in enumerate(cells):
        parts = [_wrap(c, w) for c, w in zip(row, widths, strict=False)]
        for j in range(max(len(p) for p in parts)):
            lines.append("  ".join((p[j] if j < len(p) else "").ljust(w)
                                   for p, w in zip(parts, widths, strict=False)).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    n = len(result.rows)
    return "\n".join(lines) + f"\n({n} {'row' if n == 1 else 'rows'})\n"
