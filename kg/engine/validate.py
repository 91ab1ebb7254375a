"""Validation: run the guideline shapes over a case with pySHACL.

Fourth stage.  The data graph pySHACL sees is the ontology, the case's
asserted facts and its inferred facts, merged into a fresh graph, so neither
input is changed.  :func:`validate` returns the standard SHACL validation
report (for users who want it as is, ``imrkg validate``) together with the
results in a small frozen form, each tied to the node shape (and so the
criterion) it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.term import Node

from kg.errors import RdfSyntaxError, ShapesError

if TYPE_CHECKING:
    from kg.model import CaseData

__all__ = ["SH", "Shapes", "ShapeResult", "ValidationOutcome", "load_shapes", "default_shapes", "validate",
           "parse_turtle", "RDF_FORMATS", "parse_rdf", "read_shapes", "validate_case", "render_outcome"]

SH = Namespace("http://www.w3.org/ns/shacl#")


def parse_turtle(path: Path, graph: Graph | None = None) -> Graph:
    """Parse a Turtle file into ``graph`` (a new one if None), all or nothing.

    pyoxigraph parses it (its errors carry an exact line and column; relative IRIs resolve
    against the file) and its triples are added as rdflib terms, with the file's prefixes
    bound: the same graph as rdflib's own parser gives, in a third of the time.  A file that
    does not parse raises :class:`RdfSyntaxError` naming the file, line and column, and one
    that needs more than RDF 1.1 (RDF-star) names that; ``graph`` is then left as it was.
    """
    import pyoxigraph

    from kg.rdf import from_oxigraph

    staging = Graph()
    try:
        parser = pyoxigraph.parse(path=str(path), format=pyoxigraph.RdfFormat.TURTLE,
                                  base_iri=path.absolute().as_uri())
        for t in parser:
            staging.add((from_oxigraph(t.subject), from_oxigraph(t.predicate), from_oxigraph(t.object)))
    except FileNotFoundError:
        raise RdfSyntaxError("file not found", source=str(path)) from None
    except SyntaxError as exc:
        message = str(exc.msg or exc)
        raise RdfSyntaxError(f"not valid Turtle: {message}", source=str(path), line=exc.lineno,
                             hint="fix the statement that ends there "
                                  "(a missing '.', ';' or object is common)") from None
    except OSError as exc:
        raise RdfSyntaxError(f"cannot read the file: {exc}", source=str(path)) from None
    except (TypeError, ValueError) as exc:  # a quoted triple (RDF-star), or a literal rdflib cannot hold
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise RdfSyntaxError(f"not plain RDF 1.1: {first}", source=str(path),
                             hint="use plain Turtle 1.1 (no RDF-star)") from None
    target = graph if graph is not None else Graph()
    for t in staging:
        target.add(t)
    for prefix, ns in parser.prefixes.items():
        target.bind(prefix, ns, override=False)
    return target


#: the RDF files read by extension: (pyoxigraph's format, rdflib's parser, whether it holds named graphs);
#: JSON-LD as ``.jsonld`` only (a ``.json`` file is a case file)
RDF_FORMATS: dict[str, tuple[str, str, bool]] = {
    ".ttl": ("TURTLE", "turtle", False), ".turtle": ("TURTLE", "turtle", False),
    ".nt": ("N_TRIPLES", "nt", False), ".ntriples": ("N_TRIPLES", "nt", False), ".n3": ("N3", "n3", False),
    ".nq": ("N_QUADS", "nquads", True), ".nquads": ("N_QUADS", "nquads", True), ".trig": ("TRIG", "trig", True),
    ".jsonld": ("JSON_LD", "json-ld", True),
    ".rdf": ("RDF_XML", "xml", False), ".owl": ("RDF_XML", "xml", False), ".xml": ("RDF_XML", "xml", False)}


def parse_rdf(path: str | Path, graph: Graph | None = None) -> Graph:
    """Parse an RDF file of any format of :data:`RDF_FORMATS` (by its extension) into ``graph``
    (a new one if None), all or nothing.  The triples of every graph of a dataset (N-Quads, TriG,
    JSON-LD) go into the one graph: their union is what is validated.

    As :func:`parse_turtle`, the syntax is checked first with pyoxigraph, so a file that does not
    parse raises :class:`RdfSyntaxError` naming the file, line and column; an unknown extension
    raises it too, listing the known ones.  ``graph`` is left as it was on error.

    >>> import tempfile, pathlib
    >>> bad = pathlib.Path(tempfile.mkdtemp()) / "data.nt"
    >>> _ = bad.write_text("<urn:a> <urn:b> <urn:c> .\\n<urn:a> <urn:b> .\\n")
    >>> try:
    ...     parse_rdf(bad)
    ... except RdfSyntaxError as exc:
    ...     print(exc.line, "line 2" in str(exc))
    2 True
    """
    import pyoxigraph
    from rdflib import Dataset

    path = Path(path)
    if path.suffix.lower() == ".ttl":
        return parse_turtle(path, graph)
    known = RDF_FORMATS.get(path.suffix.lower())
    if known is None:
        raise RdfSyntaxError(f"not a known RDF file extension ({path.suffix or 'none'})", source=str(path),
                             hint="use one of " + ", ".join(sorted(RDF_FORMATS)))
    ox_format, rdflib_format, quads = known
    try:
        for _ in pyoxigraph.parse(path=str(path), format=getattr(pyoxigraph.RdfFormat, ox_format),
                                  base_iri=path.absolute().as_uri()):
            pass
    except FileNotFoundError:
        raise RdfSyntaxError("file not found", source=str(path)) from None
    except SyntaxError as exc:
        column = f" (column {exc.offset})" if exc.offset else ""
        name = getattr(pyoxigraph.RdfFormat, ox_format).name
        raise RdfSyntaxError(f"not valid {name}: {exc.msg or exc}{column}", source=str(path),
                             line=exc.lineno) from None
    except OSError as exc:
        raise RdfSyntaxError(f"cannot read the file: {exc}", source=str(path)) from None
    staging: Graph = Dataset(default_union=True) if quads else Graph()
    try:
        staging.parse(path, format=rdflib_format)
    except Exception as exc:  # noqa: BLE001 - RDF pyoxigraph accepts but rdflib does not
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise RdfSyntaxError(f"not readable by rdflib: {first}", source=str(path),
                             line=getattr(exc, "lines", None)) from None
    target = graph if graph is not None else Graph()
    for t in (staging.triples((None, None, None))):
        target.add(t)
    for prefix, ns in staging.namespaces():
        target.bind(prefix, ns, override=False)
    return target


def read_shapes(path: str | Path) -> Shapes:
    """The shapes of one RDF file, or of every RDF file (:data:`RDF_FORMATS`) of a folder, and
    nothing else (no packaged shapes).  Raises :class:`RdfSyntaxError` for a file that does not
    parse and :class:`ShapesError` for a path that is neither, or that holds no shape."""
    import hashlib

    where = Path(path)
    if where.is_dir():
        files = sorted(p for p in where.iterdir() if p.is_file() and p.suffix.lower() in RDF_FORMATS)
    elif where.is_file():
        files = [where]
    else:
        raise ShapesError(f"{where}: no such shapes file or folder")
    g = Graph()
    digest = hashlib.sha256()
    for file in files:
        parse_rdf(file, g)
        digest.update(file.name.encode("utf-8") + b"\0" + file.read_bytes() + b"\0")
    shapes = {s for kind in (SH.NodeShape, SH.PropertyShape) for s in g.subjects(RDF.type, kind)}
    shapes |= {s for p in (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.path)
               for s in g.subjects(p, None)}
    if not shapes:
        raise ShapesError(f"{where}: no SHACL shape found (no sh:NodeShape, sh:PropertyShape or target)")
    return Shapes(graph=g, source=str(where), digest=digest.hexdigest())


@dataclass(frozen=True)
class Shapes:
    """A loaded shapes graph: guideline catalogue, sections, criteria and SHACL shapes."""

    graph: Graph
    source: str
    working: Graph = field(default_factory=Graph, repr=False, compare=False)
    digest: str = ""  # sha256 of the shapes files' names and bytes: which rules decided

    def __post_init__(self) -> None:
        # pySHACL adds a few RDFS axioms to the shapes graph it is given; it gets a
        # private copy, so ``graph`` stays exactly what the files say.
        if not len(self.working):
            for t in self.graph:
                self.working.add(t)

    def node_shape_of(self, shape: Node) -> Node:
        """The node shape a (possibly nested property) shape belongs to."""
        seen = set()
        while shape not in seen:
            seen.add(shape)
            parent = self.graph.value(predicate=SH.property, object=shape)
            if parent is None:
                return shape
            shape = parent
        return shape


def load_shapes(directory: str | Path | None = None, *, with_packaged: bool = True) -> Shapes:
    """The packaged shapes plus every ``.ttl`` of ``directory`` (a user's own sections).

    With ``with_packaged=False`` only the folder's shapes are used.  Raises
    :class:`RdfSyntaxError` for a file that does not parse and :class:`ShapesError`
    when the result has no shapes.
    """
    if directory is None:
        return default_shapes()
    folder = Path(directory)
    if not folder.is_dir():
        raise ShapesError(f"{folder}: not a folder of shapes (.ttl files)")
    files = sorted(p for p in folder.glob("*.ttl") if p.is_file())
    if with_packaged:
        from kg.resources import data_files

        files = data_files("shapes") + files
    return _load(files, str(folder))


@lru_cache(maxsize=1)
def default_shapes() -> Shapes:
    """The packaged shapes, parsed once per process (treat as read-only)."""
    from kg.resources import data_dir, data_files

    return _load(data_files("shapes"), str(data_dir("shapes")))


def _load(files: list[Path], source: str) -> Shapes:
    import hashlib

    g = Graph()
    digest = hashlib.sha256()
    for path in files:
        parse_turtle(path, g)
        digest.update(path.name.encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    if not any(g.subjects(RDF.type, SH.NodeShape)):
        raise ShapesError(f"{source}: no sh:NodeShape found")
    return Shapes(graph=g, source=source, digest=digest.hexdigest())


@dataclass(frozen=True)
class ShapeResult:
    """One validation result, tied to its node shape."""

    focus: Node
    node_shape: Node
    source_shape: Node
    severity: URIRef
    message: str
    path: Node | None
    value: Node | None


@dataclass(frozen=True)
class ValidationOutcome:
    conforms: bool
    report: Graph
    results: tuple[ShapeResult, ...]

    def for_focus(self, focus: Node) -> tuple[ShapeResult, ...]:
        return tuple(r for r in self.results if r.focus == focus)


def validate(data: Graph, shapes: Shapes | None = None) -> ValidationOutcome:
    """Validate a data graph (ontology + asserted + inferred) against shapes.

    ``data`` is not changed (pySHACL works on a copy).  Results are sorted so
    the outcome is the same on every run.
    """
    import pyshacl

    shapes = shapes or default_shapes()
    conforms, report, _text = pyshacl.validate(
        data, shacl_graph=shapes.working, inference="none", advanced=True, allow_infos=True,
        allow_warnings=True, inplace=False)
    results = []
    for res in report.subjects(RDF.type, SH.ValidationResult):
        source = report.value(res, SH.sourceShape)
        message = report.value(res, SH.resultMessage)
        results.append(ShapeResult(
            focus=report.value(res, SH.focusNode),
            node_shape=shapes.node_shape_of(source),
            source_shape=source,
            severity=report.value(res, SH.resultSeverity),
            message=str(message) if isinstance(message, Literal) else "",
            path=report.value(res, SH.resultPath),
            value=report.value(res, SH.value),
        ))
    results.sort(key=lambda r: (str(r.focus), str(r.node_shape), r.message, str(r.value)))
    return ValidationOutcome(conforms=bool(conforms), report=report, results=tuple(results))


def validate_case(case: CaseData, shapes: Shapes | None = None) -> ValidationOutcome:
    """:func:`validate` of a case (``imrkg validate CASE_FILE``): the ontology, the case's asserted
    facts and its inferred facts merged into one fresh graph (``case`` is not changed)."""
    from kg.engine.graph import build_case_graph
    from kg.engine.reason import infer, load_ontology

    cg = build_case_graph(case)
    data = Graph()
    for g in (load_ontology(), cg.asserted, infer(cg.asserted)):
        for t in g:
            data.add(t)
    return validate(data, shapes)


def render_outcome(outcome: ValidationOutcome, fmt: str = "text") -> str:
    """A case's validation as ``turtle`` (pySHACL's report graph), ``json`` (the results with their
    node shapes) or ``text`` (one line a result)."""
    import json

    if fmt == "turtle":
        return outcome.report.serialize(format="turtle")
    if fmt == "json":
        rows = [{"focus": str(r.focus), "shape": str(r.node_shape), "severity": str(r.severity).rsplit("#")[-1],
                 "message": r.message, "path": None if r.path is None else str(r.path),
                 "value": None if r.value is None else str(r.value)} for r in outcome.results]
        return json.dumps({"conforms": outcome.conforms, "results": rows}, indent=2) + "\n"
    lines = [f"Conforms: {outcome.conforms}", f"Results ({len(outcome.results)}):"]
    for r in outcome.results:
        shape = str(r.node_shape).rsplit("/", 1)[-1]
        value = f" value={str(r.value).rsplit('/', 1)[-1]}" if r.value is not None else ""
        lines.append(f"  {shape}: {r.message} (focus {str(r.focus).rsplit('/', 1)[-1]}{value})")
    return "\n".join(lines) + "\n"
