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

from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.term import Node

from kg.errors import RdfSyntaxError, ShapesError

__all__ = ["SH", "Shapes", "ShapeResult", "ValidationOutcome", "load_shapes", "default_shapes", "validate",
           "parse_turtle"]

SH = Namespace("http://www.w3.org/ns/shacl#")


def parse_turtle(path: Path, graph: Graph | None = None) -> Graph:
    """Parse a Turtle file into ``graph`` (a new one if None), all or nothing.

    The syntax is checked first with pyoxigraph, whose errors carry an exact
    line and column; a file that does not parse raises :class:`RdfSyntaxError`
    naming the file, line and column, and ``graph`` is left as it was.
    """
    import pyoxigraph

    try:
        for _ in pyoxigraph.parse(path=str(path), format=pyoxigraph.RdfFormat.TURTLE):
            pass
    except FileNotFoundError:
        raise RdfSyntaxError("file not found", source=str(path)) from None
    except SyntaxError as exc:
        message = str(exc.msg or exc)
        raise RdfSyntaxError(f"not valid Turtle: {message}", source=str(path), line=exc.lineno,
                             hint="fix the statement that ends there "
                                  "(a missing '.', ';' or object is common)") from None
    except OSError as exc:
        raise RdfSyntaxError(f"cannot read the file: {exc}", source=str(path)) from None
    staging = Graph()
    try:
        staging.parse(path, format="turtle")
    except Exception as exc:  # noqa: BLE001 - Turtle pyoxigraph accepts but rdflib does not (RDF 1.2 syntax ...)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise RdfSyntaxError(f"not readable by rdflib: {first}", source=str(path),
                             line=getattr(exc, "lines", None),
                             hint="use plain Turtle 1.1 (no RDF-star, no VERSION)") from None
    target = graph if graph is not None else Graph()
    for t in staging:
        target.add(t)
    for prefix, ns in staging.namespaces():
        target.bind(prefix, ns, override=False)
    return target


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
