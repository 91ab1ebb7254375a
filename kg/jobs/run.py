"""The main job end to end: inputs in, determinations stored, a report with audit pages out.

After :mod:`kg.viz.visualize`, before the CLI.  :func:`run` ingests case files and letters into a
store (:func:`kg.jobs.ingest.ingest`, each case determined and written whole), writes the corpus
report and every stored case's audit page (:func:`kg.viz.visualize.write_report`) and returns a
:class:`RunSummary` whose :meth:`RunSummary.render` is what ``imrkg run`` prints.  An input
that cannot be read is collected in ``errors`` and the run goes on, as in ingest.

The report covers the whole store, so the summary does too: on a fresh store that is exactly
the inputs; on a store that already held cases it says how many were ingested now.

:func:`run_bundled` is the main job on material the package carries (``imrkg run`` without
inputs): the packaged examples plus :data:`BUNDLED_LETTERS` synthetic letters written into the
output folder (:func:`kg.jobs.synth.write_letters`), so it works on a bare machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from kg.errors import InputError
from kg.jobs.ingest import Progress, determine_all, ingest, input_files
from kg.rdf import KG
from kg.store.store import QueryResult, Store

__all__ = ["RunSummary", "run", "run_bundled", "BUNDLED_LETTERS", "BUNDLED_SEED"]

#: how many synthetic letters :func:`run_bundled` writes and ingests, and from which seed
BUNDLED_LETTERS = 20
BUNDLED_SEED = 7

_ITEMS = f"SELECT (COUNT(?det) AS ?items) WHERE {{ ?det <{KG.determinationFor}> ?req }}"


@dataclass(frozen=True)
class RunSummary:
    """What :func:`run` did.

    ``cases`` are the ids ingested by this run (input order), ``errors`` the inputs that
    failed and ``unchecked`` the case files whose documents were absent; ``stored_cases`` and
    ``items`` count the store afterwards (cases, and determined disputed items); ``confusion``
    is the library query ``engine-reviewer-confusion`` over the store (items with a reviewer
    decision); ``decided`` and ``agree`` count its items the engine decided (not "not
    covered") and those where it agrees with the reviewer.
    """

    inputs: int
    cases: tuple[str, ...]
    errors: tuple[InputError, ...]
    stored_cases: int
    items: int
    confusion: QueryResult
    decided: int
    agree: int
    report: Path
    audits: Path
    audit_pages: int
    unchecked: tuple[str, ...] = ()

    def render(self, *, store_option: str | None = None) -> str:
        """The summary as ``imrkg run`` prints it; ``store_option`` is the ``--store`` value to
        repeat in the serve command (``None``: the default store)."""
        from kg.store.query import format_result

        lines = [f"{len(self.cases)} case(s) ingested from {self.inputs} input file(s)"
                 + (f", {len(self.errors)} failed" if self.errors else "")
                 + f"; the store holds {self.stored_cases} case(s) with {self.items} disputed item(s)."]
        lines += [f"  failed: {err}" for err in self.errors]
        lines.append("")
        lines.append(format_result(self.confusion, "table").rstrip("\n"))
        reviewed = sum(_int(r[2]) for r in self.confusion.rows)
        if self.items > reviewed:
            lines.append(f"({self.items - reviewed} item(s) without a reviewer decision are not in the table)")
        lines.append("")
        if self.decided:
            lines.append(f"The engine decides {self.decided} of the {reviewed} reviewed items "
                         f"({100 * self.decided / reviewed:.1f}%) and agrees with the reviewer on {self.agree} "
                         f"of them ({100 * self.agree / self.decided:.1f}%).")
        lines.append(f"Report: {self.report} ({self.audit_pages} audit page(s) in {self.audits}/)")
        if store_option == "memory":
            lines.append("The store was in memory and is gone; to browse it, run again with --store DIR "
                         "and then: imrkg serve --store DIR")
        else:
            serve = "imrkg serve" + (f" --store {_quote(store_option)}" if store_option else "")
            lines.append(f"Browse it: {serve}   (then open http://127.0.0.1:8000/report)")
        return "\n".join(lines) + "\n"


def _int(v: object) -> int:
    try:
        return int(str(v))
    except ValueError:
        return 0


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def run(paths: Sequence[str | Path], store: Store, out_dir: str | Path, *, workers: int = 1,
        progress: Progress | None = None, audit_progress: Progress | None = None,
        document_roots: Sequence[str | Path] = ()) -> RunSummary:
    """Ingest ``paths`` (files, or folders of letters and YAML case files) into ``store``, then
    write ``<out_dir>/report.html`` and every stored case's audit page under
    ``<out_dir>/audits/``.  With ``workers`` > 1 the cases are read and stored first and then
    determined in that many processes (:func:`kg.jobs.ingest.determine_all`, which also finishes
    any stored case not yet determined); otherwise each case is stored whole as it is read.

    Inputs that cannot be read are returned in ``errors`` (the others are still ingested and
    reported); ``document_roots`` are the folders case files' documents may also be read from.
    Writes to the store and to ``out_dir`` (created if missing; files of the same
    name are replaced).  Raises :class:`kg.errors.InputError` when ``out_dir`` cannot be written.
    """
    from kg.store.query import run_query
    from kg.viz.report import write_report

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output folder: {exc.strerror or exc}", source=str(out)) from None
    # with workers, the cases are stored as read and determined afterwards (progress is the determination's)
    summary = ingest(paths, store, progress=None if workers > 1 else progress, determine=workers <= 1,
                     document_roots=document_roots)
    cases, errors = summary.cases, summary.errors
    if workers > 1:
        batch = determine_all(store, workers=workers, progress=progress)
        errors += tuple(InputError(f"cannot determine: {why}", source=cid) for cid, why in batch.failed)
    report, audits = out / "report.html", out / "audits"
    try:
        pages = write_report(store, report, audits=audits, progress=audit_progress)
    except OSError as exc:
        raise InputError(f"cannot write the report: {exc.strerror or exc}", source=str(out)) from None
    confusion = run_query(store, "engine-reviewer-confusion")
    counts = {(str(r[0]), str(r[1])): _int(r[2]) for r in confusion.rows}
    decided = sum(n for (e, _r), n in counts.items() if not e.startswith("not covered"))
    agree = sum(n for (e, r), n in counts.items()
                if (e.startswith("not medically") and r.startswith("upheld"))
                or (e.startswith("medically") and r.startswith("overturned")))
    items = store.query(_ITEMS).rows
    return RunSummary(inputs=len(input_files(paths)), cases=cases, errors=errors,
                      stored_cases=len(store.case_ids()), items=_int(items[0][0]) if items else 0,
                      confusion=confusion, decided=decided, agree=agree, report=report, audits=audits,
                      audit_pages=len(pages), unchecked=summary.unchecked)


def run_bundled(store: Store, out_dir: str | Path, *, workers: int = 1, progress: Progress | None = None,
                audit_progress: Progress | None = None, document_roots: Sequence[str | Path] = ()) -> RunSummary:
    """:func:`run` on what the package carries: the packaged examples and :data:`BUNDLED_LETTERS`
    synthetic letters (seed :data:`BUNDLED_SEED`), written first into ``<out_dir>/synthetic-letters/``
    (replacing letters of the same name).  Needs no file beside the package.  Raises
    :class:`kg.errors.InputError` when ``out_dir`` cannot be written.
    """
    from kg.jobs import synth
    from kg.resources import data_dir

    letters = Path(out_dir) / "synthetic-letters"
    try:
        synth.write_letters(synth.synthesize(BUNDLED_LETTERS, seed=BUNDLED_SEED), letters)
    except OSError as exc:
        raise InputError(f"cannot write the synthetic letters: {exc.strerror or exc}", source=str(letters)) from None
    return run([data_dir("examples"), letters], store, out_dir, workers=workers, progress=progress,
               audit_progress=audit_progress, document_roots=document_roots)
