"""The one way in to imr-kg's data files: the ontology, the shapes, the queries and the examples.

Installed from a wheel, they live inside the package (``kg/_data/...``, put
there by the build); in a source checkout or an editable install they are the
top-level ``ontology/``, ``shapes/``, ``queries/`` and ``examples/`` folders.
No other module builds paths to them.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Literal

__all__ = ["data_dir", "data_files", "guideline_nquads"]

Kind = Literal["ontology", "shapes", "queries", "examples"]
_SUFFIX = {"ontology": ".ttl", "shapes": ".ttl", "queries": ".rq", "examples": ".yaml"}


@lru_cache(maxsize=None)
def data_dir(kind: Kind) -> Path:
    """The folder holding one kind of data file.

    >>> data_dir("shapes").name
    'shapes'
    """
    if kind not in _SUFFIX:
        raise ValueError(f"unknown data kind {kind!r}")
    packaged = Path(str(files("kg"))) / "_data" / kind
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / kind
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"imr-kg's {kind} folder is missing from this installation")


def data_files(kind: Kind) -> list[Path]:
    """The data files of one kind, sorted by name (so loading order is stable)."""
    return sorted(p for p in data_dir(kind).iterdir() if p.suffix == _SUFFIX[kind])


@lru_cache(maxsize=None)
def guideline_nquads(graph: str) -> bytes:
    """The ontology and shapes files as N-Quads in the named graph ``graph``, parsed by pyoxigraph
    once per process (about 40 ms; rdflib takes 20 times as long), each file's blank nodes its own."""
    import pyoxigraph as ox

    g = ox.NamedNode(graph)
    return ox.serialize([ox.Quad(t.subject, t.predicate, t.object, g)
                         for path in data_files("ontology") + data_files("shapes")
                         for t in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)],
                        format=ox.RdfFormat.N_QUADS) or b""
