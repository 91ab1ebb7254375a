"""The pipeline end to end: inputs (case files or letters) in, determined cases in the store.

Comes after the store.  :func:`ingest` reads each input, determines it and
writes its four named graphs to the store in one update, so a case is either
stored whole or not at all; an input that cannot be read is reported (an
:class:`kg.errors.InputError` naming it) and the batch goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from rdflib import XSD, Literal

from kg.errors import InputError
from kg.graph import KG, CaseGraph, build_case_graph
from kg.store import Store, case_graphs

__all__ = ["CASE_SUFFIXES", "LETTER_SUFFIXES", "input_files", "read_input", "letter_case_graph",
           "IngestSummary", "ingest"]

CASE_SUFFIXES = (".yaml", ".yml", ".json")
LETTER_SUFFIXES = (".pdf", ".txt")
Progress = Callable[[int, int, str], None]


def input_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files named by ``paths``: files as given, folders expanded to their letters
    (``.pdf``, ``.txt``) and YAML case files (``.yaml``, ``.yml``), sorted by name.  JSON
    case files are read when named, not picked up from folders (folders of letters often
    hold other JSON, such as labels).  A path that does not exist is kept, so reading it
    reports it."""
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out.extend(sorted(f for f in path.iterdir()
                              if f.is_file() and f.suffix.lower() in (".yaml", ".yml") + LETTER_SUFFIXES))
        else:
            out.append(path)
    return out


def letter_case_graph(lc: object) -> CaseGraph:
    """The case graph of an extracted letter (:class:`kg.extract.LetterCase`):
    :func:`kg.graph.build_case_graph` plus the drug details and partial authorisation
    that :class:`kg.extract.RequestDetail` adds."""
    from kg.extract import LetterCase

    assert isinstance(lc, LetterCase)
    cg = build_case_graph(lc.case)
    g = cg.asserted
    for d in lc.details:
        req = cg.node(d.request_id)
        svc = cg.node(f"{d.request_id}/service")
        if d.drug:
            g.add((svc, KG.drugName, Literal(d.drug)))
        if d.strength:
            g.add((svc, KG.drugStrength, Literal(d.strength)))
        if d.count is not None:
            g.add((svc, KG.dispenseQuantity, Literal(d.count, datatype=XSD.integer)))
        if d.refills is not None:
            g.add((svc, KG.refillCount, Literal(d.refills, datatype=XSD.integer)))
        if d.partial:
            g.add((req, KG.partialAuthorization, Literal(True)))
    return cg


def read_input(path: str | Path) -> CaseGraph:
    """A case file (``.yaml``, ``.yml``, ``.json``) or a letter (``.pdf``, ``.txt``) as a case graph.

    Raises :class:`kg.errors.InputError` (a :class:`CaseFileError` or :class:`LetterError`) naming the file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in CASE_SUFFIXES:
        from kg.casefile import load_case_file

        return build_case_graph(load_case_file(path))
    if suffix in LETTER_SUFFIXES:
        from kg.extract import read_case_from_letter

        return letter_case_graph(read_case_from_letter(str(path)))
    raise InputError("not a case file or a letter", source=str(path),
                     hint="give a .yaml/.yml/.json case file or a .pdf/.txt letter")


@dataclass(frozen=True)
class IngestSummary:
    """What :func:`ingest` did: the cases stored (ids, in input order) and the inputs that failed."""

    cases: tuple[str, ...]
    errors: tuple[InputError, ...]


def ingest(paths: Sequence[str | Path], store: Store, *, progress: Progress | None = None) -> IngestSummary:
    """Read, determine and store every input; replace cases already stored.

    The guideline graph is refreshed first.  Each case is written in one update
    (all of its graphs or none); a bad input is collected and skipped.
    """
    from kg.determine import determine_case

    store.ensure_guidelines()
    files = input_files(paths)
    cases: list[str] = []
    errors: list[InputError] = []
    for i, path in enumerate(files):
        if progress:
            progress(i, len(files), path.name)
        try:
            cg = read_input(path)
        except InputError as exc:
            errors.append(exc)
            continue
        store.put_case(cg.case_id, case_graphs(cg, determine_case(cg)))
        cases.append(cg.case_id)
    if progress:
        progress(len(files), len(files), "")
    return IngestSummary(cases=tuple(cases), errors=tuple(errors))
