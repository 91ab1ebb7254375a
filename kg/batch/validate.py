"""The standard SHACL validation report of any RDF data, by pySHACL or by the compiled engine.

After :mod:`kg.batch.shacl`.  :func:`validate_file` reads a data file of any RDF format
(:data:`kg.engine.validate.RDF_FORMATS`) and a shapes file or folder, validates with the engine
asked for, and returns a :class:`ValidationReport`: whether the data conforms, its results
sorted, and the report as an RDF graph in the SHACL vocabulary (``sh:ValidationReport``);
:func:`render_report` writes it as text, Turtle or JSON.  This is what ``imrkg validate DATA
--shapes SHAPES`` prints.  Engines:

* ``pyshacl`` (the default): pySHACL itself (no inference), the reference;
* ``compiled``: the shapes compiled to SPARQL (:func:`kg.batch.shacl.compile_shapes`) and run
  in a pyoxigraph store.  It gives pySHACL's results or refuses: shapes (or data) it cannot
  make exact raise :class:`kg.errors.ShapesError` naming the shape and the feature;
* ``auto``: compiled where it accepts the shapes and the data, else pySHACL, with a note
  (:attr:`ValidationReport.notes`) saying why.

The engines agree on focus node, path, value, constraint component, source shape and severity
(identical results are given once: pySHACL repeats some).
Messages are the shapes' own ``sh:message``; where a shape has none, pySHACL words one and the
compiled engine gives none.  Neither input is changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rdflib import RDF, XSD, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg.batch.shacl import compile_shapes, validate_graph
from kg.engine.validate import SH, Shapes, parse_rdf, read_shapes
from kg.errors import ShapesError

__all__ = ["ENGINES", "ReportResult", "ValidationReport", "validate_file", "validate_data", "render_report",
           "REPORT_FORMATS"]

ENGINES = ("pyshacl", "compiled", "auto")
REPORT_FORMATS = ("text", "turtle", "json")


@dataclass(frozen=True)
class ReportResult:
    """One ``sh:ValidationResult``."""

    focus: Node
    component: URIRef  # sh:sourceConstraintComponent
    source_shape: Node
    severity: URIRef
    path: Node | None = None  # a node of the shapes graph (a blank node for a complex path)
    value: Node | None = None
    message: str = ""


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of :func:`validate_data`: ``engine`` is the engine that answered."""

    conforms: bool
    results: tuple[ReportResult, ...]
    graph: Graph  # the report in the SHACL vocabulary
    engine: str
    notes: tuple[str, ...] = ()  # why ``auto`` fell back to pySHACL


def _key(r: ReportResult) -> tuple[str, ...]:
    return (str(r.focus), str(r.component), str(r.path), str(r.value), str(r.source_shape), str(r.severity),
            r.message)


def _pyshacl(data: Graph, shapes: Shapes) -> tuple[ReportResult, ...]:
    import pyshacl

    _conforms, report, _text = pyshacl.validate(data, shacl_graph=shapes.working, inference="none",
                                                inplace=False)
    out = []
    for res in report.subjects(RDF.type, SH.ValidationResult):
        message = report.value(res, SH.resultMessage)
        component, severity = report.value(res, SH.sourceConstraintComponent), report.value(res, SH.resultSeverity)
        assert isinstance(component, URIRef) and isinstance(severity, URIRef)
        out.append(ReportResult(focus=report.value(res, SH.focusNode), component=component,
                                source_shape=report.value(res, SH.sourceShape), severity=severity,
                                path=report.value(res, SH.resultPath), value=report.value(res, SH.value),
                                message=str(message) if message is not None else ""))
    # pySHACL repeats a result once for each time a shape reaches the node through sh:node (bench_shacl:
    # an organisation without a name, once as a target and once per employee); the report is their set
    return tuple(set(out))


def _compiled(data: Graph, shapes: Shapes) -> tuple[ReportResult, ...]:
    compiled = compile_shapes(shapes, Graph(), statuses=False)
    return tuple({ReportResult(focus=r.focus, component=r.component, source_shape=r.source_shape,
                               severity=r.severity, path=r.path, value=r.value, message=r.message)
                  for r in validate_graph(data, compiled)})


def _copy(shapes: Graph, node: Node | None, into: Graph) -> None:
    """The description of a blank node of the shapes graph (a path, a shape), into ``into``."""
    todo, seen = [node], set()
    while todo:
        n = todo.pop()
        if not isinstance(n, BNode) or n in seen:
            continue
        seen.add(n)
        for p, o in shapes.predicate_objects(n):
            into.add((n, p, o))
            todo.append(o)


def _report_graph(results: tuple[ReportResult, ...], shapes: Graph) -> Graph:
    g = Graph()
    for prefix, ns in shapes.namespaces():
        g.bind(prefix, ns, override=False)
    g.bind("sh", SH)
    report = BNode("report")
    g.add((report, RDF.type, SH.ValidationReport))
    g.add((report, SH.conforms, Literal(not results, datatype=XSD.boolean)))
    for i, r in enumerate(results):
        node = BNode(f"result{i + 1}")
        g.add((report, SH.result, node))
        g.add((node, RDF.type, SH.ValidationResult))
        g.add((node, SH.focusNode, r.focus))
        g.add((node, SH.sourceConstraintComponent, r.component))
        g.add((node, SH.sourceShape, r.source_shape))
        g.add((node, SH.resultSeverity, r.severity))
        for p, o in ((SH.resultPath, r.path), (SH.value, r.value)):
            if o is not None:
                g.add((node, p, o))
        if r.message:
            g.add((node, SH.resultMessage, Literal(r.message)))
        _copy(shapes, r.path, g)
        _copy(shapes, r.source_shape, g)
    return g


def validate_data(data: Graph, shapes: Shapes, *, engine: str = "pyshacl") -> ValidationReport:
    """Validate ``data`` (not changed) against ``shapes`` with ``engine`` (one of :data:`ENGINES`).

    Raises :class:`ShapesError` when ``engine`` is ``compiled`` and the compiler refuses the
    shapes or the data (the message names the shape, or the data's literal, and the feature).

    >>> from rdflib import Graph
    >>> sg = Graph().parse(format="turtle", data='''@prefix sh: <http://www.w3.org/ns/shacl#> .
    ... <urn:s> a sh:NodeShape ; sh:targetNode <urn:a> ; sh:property [ sh:path <urn:p> ; sh:minCount 1 ] .''')
    >>> report = validate_data(Graph(), Shapes(graph=sg, source="doc"), engine="compiled")
    >>> report.conforms, [(str(r.focus), r.component.split("#")[1]) for r in report.results]
    (False, [('urn:a', 'MinCountConstraintComponent')])
    """
    if engine not in ENGINES:
        raise ShapesError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    notes: list[str] = []
    used = engine
    if engine == "pyshacl":
        results = _pyshacl(data, shapes)
    else:
        try:
            results = _compiled(data, shapes)
            used = "compiled"
        except ShapesError as exc:
            if engine == "compiled":
                raise ShapesError(exc.problem, source=shapes.source,
                                  hint="--engine pyshacl or auto validates it with pySHACL") from None
            notes.append(f"the compiled engine refuses these shapes or data, so pySHACL validated them: {exc.problem}")
            results, used = _pyshacl(data, shapes), "pyshacl"
    ordered = tuple(sorted(results, key=_key))
    return ValidationReport(conforms=not ordered, results=ordered, graph=_report_graph(ordered, shapes.graph),
                            engine=used, notes=tuple(notes))


def validate_file(data: str | Path, shapes: str | Path, *, engine: str = "pyshacl") -> ValidationReport:
    """:func:`validate_data` on an RDF data file (any format of :data:`kg.engine.validate.RDF_FORMATS`,
    a dataset's graphs read as their union) and a shapes file or folder (only its shapes).

    Raises :class:`kg.errors.RdfSyntaxError` naming the file and line of a file that does not
    parse, and :class:`ShapesError` as :func:`validate_data` does."""
    return validate_data(parse_rdf(data), read_shapes(shapes), engine=engine)


def _name(term: Node | None, graph: Graph) -> str:
    if term is None:
        return "-"
    if isinstance(term, URIRef):
        try:
            return graph.namespace_manager.normalizeUri(term)
        except Exception:  # noqa: BLE001 - an IRI no prefix fits
            return f"<{term}>"
    return term.n3(graph.namespace_manager)


def render_report(report: ValidationReport, fmt: str = "text") -> str:
    """``report`` as ``text`` (one block per result, as pySHACL's), ``turtle`` (the report graph) or
    ``json`` (``conforms``, the engine and the results); the same results give the same bytes.
    Text and Turtle shorten IRIs with the shapes graph's prefixes."""
    if fmt == "turtle":
        from rdflib.compare import to_canonical_graph

        canonical = Graph()
        for t in to_canonical_graph(report.graph):  # blank nodes named by content: the same bytes every run
            canonical.add(t)
        for prefix, ns in report.graph.namespaces():
            canonical.bind(prefix, ns, override=False)
        return canonical.serialize(format="turtle")
    if fmt == "json":
        rows = [{"focus": str(r.focus), "component": str(r.component), "path": None if r.path is None else str(r.path),
                 "value": None if r.value is None else str(r.value), "source_shape": str(r.source_shape),
                 "severity": str(r.severity), "message": r.message} for r in report.results]
        return json.dumps({"conforms": report.conforms, "engine": report.engine, "results": rows}, indent=2) + "\n"
    if fmt != "text":
        raise ShapesError(f"unknown report format {fmt!r}: use one of {', '.join(REPORT_FORMATS)}")
    names = report.graph
    lines = ["Validation Report", f"Conforms: {report.conforms}", f"Engine: {report.engine}"]
    if report.results:
        lines.append(f"Results ({len(report.results)}):")
    kinds = {SH.Violation: "Constraint Violation", SH.Warning: "Warning", SH.Info: "Info"}
    for r in report.results:
        component = str(r.component).rsplit("#", 1)[-1]
        lines.append(f"{kinds.get(r.severity, 'Result')} in {component} ({r.component}):")
        lines += [f"\tSeverity: {_name(r.severity, names)}", f"\tSource Shape: {_name(r.source_shape, names)}",
                  f"\tFocus Node: {_name(r.focus, names)}"]
        if r.value is not None:
            lines.append(f"\tValue Node: {_name(r.value, names)}")
        if r.path is not None:
            lines.append(f"\tResult Path: {_name(r.path, names)}")
        if r.message:
            lines.append(f"\tMessage: {r.message}")
    return "\n".join(lines) + "\n"
