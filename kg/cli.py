"""The ``imrkg`` command: a thin layer over the library.

Exit codes: ``determine`` 0 medically necessary (every request), 1 none, 4 some,
2 bad input, 3 internal error; ``validate`` follows pySHACL: 0 conforms,
1 does not conform, 2 error; ``ingest`` 0 every file ingested, 2 any file
failed (the others are still written), 3 internal error; ``eval`` 0 report
written, 2 bad input, 3 internal error; ``queries`` and ``query`` 0 answered,
2 bad query, parameter or store, 3 internal error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from kg.clihelp import DOCUMENT_ROOT_HELP, EPILOGS, SHAPES_HELP, STORE_HELP
from kg.errors import InputError, KgError

if TYPE_CHECKING:
    from kg.jobs.ingest import Progress
    from kg.store.store import Store

    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = ["main", "build_parser"]


def _folder(value: str) -> str:
    """An existing folder, for ``--document-root``; argparse reports anything else as a usage error."""
    if not Path(value).is_dir():
        raise argparse.ArgumentTypeError(f"{value!r} is not a folder (give a folder the case files' documents are in)")
    return value


def _cluster_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cluster", metavar="ADDRESS", help="'local' (a Dask cluster on this machine) or a Dask "
                        "scheduler's address (tcp://HOST:8786): chunks go to its workers, this process writes")


def _document_root_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--document-root", metavar="DIR", action="append", default=[], type=_folder,
                        help=DOCUMENT_ROOT_HELP)


def build_parser() -> argparse.ArgumentParser:
    """The ``imrkg`` argument parser: one sub-command per library entry point, each with its
    help, an example and its exit codes."""
    parser = argparse.ArgumentParser(
        prog="imrkg",
        description="Medical-necessity review as a knowledge graph: case files in, "
                    "criterion-by-criterion determinations out.",
        epilog="example:\n  imrkg determine examples/seed-trigger-point-2015.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="store_true", help="print the imr-kg version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in (_add_case_commands, _add_letter_commands, _add_query_commands, _add_guideline_commands,
                _add_synth_command, _add_output_commands, _add_store_commands):
        add(sub)  # in this order: it is the order of the commands in `imrkg --help`
    return parser


def _command(sub: Subcommands, name: str, help: str, description: str) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=help, description=description, epilog=EPILOGS[name],
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def _store_option(parser: argparse.ArgumentParser, *, quiet: bool = False, create: bool = True) -> None:
    """``--store`` (and ``--create``), the same in every command that opens the store; with ``quiet``,
    ``--quiet`` after them.  ``create=False`` for commands that never make a store."""
    parser.add_argument("--store", metavar="LOCATION", help=STORE_HELP)
    if create:
        parser.add_argument("--create", action="store_true",
                            help="make a new store in a --store folder that does not exist yet (else refused)")
    if quiet:
        _quiet_option(parser)


def _quiet_option(parser: argparse.ArgumentParser) -> None:
    """``--quiet``, the same in every command that shows progress."""
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _shapes_option(parser: argparse.ArgumentParser, *, packaged: bool = False) -> None:
    """``--shapes``; with ``packaged``, its help says the folder's shapes are used with the packaged ones."""
    extra = ", used with the packaged ones" if packaged else ""
    parser.add_argument("--shapes", metavar="DIR", help=SHAPES_HELP + extra)


def _add_case_commands(sub: Subcommands) -> None:
    """``determine`` and ``validate``."""
    from kg.engine.rationale import FORMATS

    det = _command(sub, "determine", "determine every request of a case, criterion by criterion",
                   "Reason over a case, validate it against the guideline shapes and write the "
                   "determination with its rationale.")
    det.add_argument("case", metavar="CASE_FILE", nargs="?",
                     help="a case file (.yaml, .yml, .json) or a letter (.pdf, .txt); or use --all")
    det.add_argument("--all", action="store_true",
                     help="determine every case in the store (skips cases already determined with this "
                          "engine and these shapes; after a shapes change, only the cases a changed section "
                          "reaches, the others keeping their results; --force redoes them)")
    det.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes for --all (default 1)")
    det.add_argument("--force", action="store_true", help="with --all: redo cases already determined")
    _cluster_option(det)
    det.add_argument("--engine", choices=("batch", "reference"), default="batch",
                     help="with --all: 'batch' (default: shapes compiled to SPARQL, thousands of cases at a time, "
                          "the same answers) or 'reference' (pySHACL, one case at a time)")
    _store_option(det, quiet=True)
    det.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    _shapes_option(det, packaged=True)
    _document_root_option(det)
    val = _command(sub, "validate", "the standard SHACL validation report of a case or of any RDF data",
                   "Validate a case (ontology + asserted + inferred facts, pySHACL) or any RDF data file "
                   "against SHACL shapes, and print the SHACL validation report itself.")
    val.add_argument("case", metavar="DATA", help="a case file (.yaml, .yml or .json) or an RDF data file "
                                                  "(.ttl, .nt, .nq, .trig, .jsonld, .rdf ...)")
    val.add_argument("--format", choices=("text", "turtle", "json"), default="text",
                     help="report format (default: text)")
    val.add_argument("--shapes", metavar="SHAPES", help="a case file: a folder of sections, used with the packaged "
                     "shapes; RDF data (required): a shapes file or folder, used alone")
    val.add_argument("--engine", choices=("pyshacl", "compiled", "auto"), default="pyshacl",
                     help="RDF data: pyshacl (default, the reference), compiled (shapes compiled to SPARQL) or auto "
                          "(compiled where it accepts the shapes, else pySHACL with a note on stderr)")
    _document_root_option(val)


def _add_letter_commands(sub: Subcommands) -> None:
    """``ingest`` and ``eval``."""
    ing = _command(sub, "ingest", "read determination letters into case graphs (TriG)",
                   "Read IMR final determination letters (PDF or text, files or folders) into "
                   "case graphs with evidence, and write them as TriG (or Turtle for a .ttl path).")
    ing.add_argument("letters", metavar="INPUT", nargs="+",
                     help="letters (.pdf, .txt), case files (.yaml, .yml, .json) or folders of them")
    ing.add_argument("-o", "--output", metavar="FILE",
                     help="write letters' graphs to FILE (.trig or .ttl, '-' for stdout) instead of the store")
    ing.add_argument("--engine", choices=("batch", "reference"), default="batch", help="batch (default) or reference")
    ing.add_argument("--workers", type=int, default=0, metavar="N", help="worker processes (default: one per core)")
    _cluster_option(ing)
    ing.add_argument("--send", choices=("paths", "bytes"), default="paths",
                     help="with --cluster: the inputs' paths (the workers see the same folder; default) or bytes")
    _store_option(ing, quiet=True)
    _document_root_option(ing)
    ev = _command(sub, "eval", "measure extraction and the engine against the reviewers",
                  "Read every letter of a folder, compare the extraction with the labels and the "
                  "engine's determinations with the reviewers' decisions, and print the figures.")
    ev.add_argument("letters_dir", metavar="LETTERS_DIR", help="a folder of letters (.pdf, .txt)")
    ev.add_argument("--labels", metavar="FILE", help="labels.json with the letters' headings")
    ev.add_argument("--reasons", metavar="FILE", help="reasons.json with the reviewers' reasons: measure reason recall")
    ev.add_argument("--half", choices=("write", "check"),
                    help="with --reasons: only the letters of one half of the split")
    ev.add_argument("-o", "--output", metavar="FILE", help="also write the report as JSON to FILE")
    _quiet_option(ev)


def _add_query_commands(sub: Subcommands) -> None:
    """``queries`` and ``query``."""
    qs = _command(sub, "queries", "list the query library",
                  "List the packaged SPARQL queries with the question each answers.")
    qs.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    q = _command(sub, "query", "run a library query (or a .rq file) against the store",
                 "Run a SPARQL query from the library by name, or a .rq file, against the store.")
    q.add_argument("query", metavar="NAME|FILE|QUERY",
                   help="a library query name ('imrkg queries'), a .rq file, or a query text; a file or text "
                        "without the library's header may use the project's prefixes (kg:, mtus:, case: ...) "
                        "undeclared")
    q.add_argument("--param", metavar="NAME=VALUE", action="append", default=[], help="a parameter (repeatable)")
    q.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format")
    _store_option(q)


def _add_guideline_commands(sub: Subcommands) -> None:
    """``guidelines`` and ``checklist``."""
    gl = _command(sub, "guidelines", "list the encoded guidelines, versions, sections and criteria",
                  "List every encoded guideline section with its versions (dates in force and "
                  "their source) and criteria.")
    gl.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    _shapes_option(gl)
    ck = _command(sub, "checklist", "what the record must document for a request to meet its guideline",
                  "Print the documentation a treating physician must put in the record for a "
                  "request of SERVICE_KIND to meet the guideline section in force.")
    ck.add_argument("service_kind", metavar="SERVICE_KIND", help="a service kind of the case-file format")
    ck.add_argument("--date", help="review date, YYYY-MM-DD (default: the latest encoded version)")
    ck.add_argument("--region", help="body region (some sections apply to one region)")
    _shapes_option(ck)


def _add_synth_command(sub: Subcommands) -> None:
    """``synth``."""
    sy = _command(sub, "synth", "load synthetic cases drawn from the real letters' statistics",
                  "Generate synthetic cases whose distributions follow the real letters, "
                  "and load them into the store (or recount the statistics).")
    sy.add_argument("--cases", type=int, default=0, metavar="N", help="how many cases to load")
    sy.add_argument("--seed", type=int, default=0, help="random seed (the same seed gives the same cases)")
    sy.add_argument("--stats", metavar="FILE", help="statistics to draw from (default: the packaged ones)")
    sy.add_argument("--stats-from", metavar="LETTERS_DIR", help="count the statistics of a folder of letters")
    sy.add_argument("-o", "--output", metavar="FILE", help="with --stats-from: where to write them (default stdout)")
    sy.add_argument("--letters", metavar="DIR",
                    help="write the cases as synthetic text letters into DIR instead of loading them")
    sy.add_argument("--determine", action="store_true", help="determine the loaded cases (see determine --all)")
    sy.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes for --determine")
    _store_option(sy, quiet=True)


def _add_output_commands(sub: Subcommands) -> None:
    """``audit``, ``report`` and ``run``."""
    au = _command(sub, "audit", "the evidence graph of one determination, as a page or a picture",
                  "Draw how a determination follows from the record: every criterion with its "
                  "status, the facts behind it and their source quotes.")
    au.add_argument("case", metavar="CASE", help="a case file, a letter, or the id of a case in the store")
    au.add_argument("-o", "--output", metavar="FILE", required=True, help="FILE.html, .svg, .png or .graphml")
    _store_option(au)
    rp = _command(sub, "report", "the corpus report over the store (HTML with charts)",
                  "Write the corpus report: decisions, agreement with the reviewers, criteria.")
    rp.add_argument("-o", "--output", metavar="FILE", required=True, help="the HTML file to write")
    rp.add_argument("--audits", metavar="DIR",
                    help="also write every case's audit page into DIR (linked from the report)")
    _store_option(rp)
    rn = _command(sub, "run", "the main job: ingest letters and case files, write the report and audits",
                  "Ingest the inputs into the store, determine every case, write the corpus "
                  "report with audit pages and print a summary.")
    rn.add_argument("inputs", metavar="INPUT", nargs="*",
                    help="case files (.yaml, .yml, .json), letters (.pdf, .txt) or folders of them (none: the "
                         "packaged examples and synthetic letters written into OUTDIR/synthetic-letters/)")
    rn.add_argument("-o", "--output", metavar="OUTDIR", default="imrkg-out",
                    help="folder for report.html and audits/ (default: imrkg-out)")
    rn.add_argument("--workers", type=int, default=1, metavar="N",
                    help="determine in N worker processes after reading (default 1: each case as it is read)")
    _store_option(rn, quiet=True)
    _document_root_option(rn)


def _add_store_commands(sub: Subcommands) -> None:
    """``compact``, ``upgrade`` and ``serve``."""
    cp = _command(sub, "compact", "compact the on-disk store (after a large batch: smaller, faster queries)",
                  "Merge the store's files (RocksDB full compaction). Each bulk write, such as "
                  "each group of results `imrkg determine --all` writes, leaves files every read must consult "
                  "until they are merged; compacting after a large batch makes the store smaller "
                  "and its queries faster.")
    _store_option(cp, create=False)
    up = _command(sub, "upgrade", "add what a store written by an earlier imr-kg lacks (the per-item summaries)",
                  "Add the per-item summaries the aggregate library queries count by and the list queries "
                  "page by to a store written before they existed, from the determinations and reviewer "
                  "decisions it holds (the SPARQL update queries/updates/add-summaries.ru, one request). "
                  "Running it again adds nothing.")
    _store_option(up, create=False)
    sv = _command(sub, "serve", "serve the store over the SPARQL 1.1 protocol, with a query page",
                  "Run the SPARQL 1.1 endpoint and web page over the store.")
    _store_option(sv)
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    sv.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    sv.add_argument("--query-timeout", type=float, default=10.0, help="seconds before a query is stopped")
    sv.add_argument("--result-limit", type=int, default=10000, help="most rows a query returns")
    sv.add_argument("--max-concurrency", type=int, default=4, help="queries run at once; more get 503")
    sv.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                    help="an origin allowed to call the endpoint from a browser (repeatable; none by default)")


def _batch_on_cluster(args: argparse.Namespace) -> None:
    if args.cluster and args.engine != "batch":
        raise InputError("--cluster determines with the batch engine (the reference's answers)", source="--engine",
                         hint="drop --engine reference, or --cluster")


def _open_store(args: argparse.Namespace) -> Store:
    """The store of ``--store`` (the default one without it); a folder that does not exist is
    refused unless ``--create`` (a mistyped path never becomes a new empty store)."""
    from kg.store.store import open_store

    location: str | None = args.store
    if (location is not None and location not in ("memory", ":memory:")
            and not location.startswith(("http://", "https://")) and not Path(location).exists()
            and not getattr(args, "create", False)):
        raise InputError("there is no such folder", source=location,
                         hint="check the path, or add --create to make a new store there")
    return open_store(location)


def _warn_unchecked(sources: Sequence[str]) -> None:
    """The one warning for case files whose documents were absent."""
    if sources:
        from kg.jobs.ingest import unchecked_warning

        print(f"imrkg: warning: {unchecked_warning(sources)}", file=sys.stderr)


def _progress(label: str) -> Progress:
    from kg.jobs.ingest import terminal_progress

    return terminal_progress(label, sys.stderr)


def _determine(args: argparse.Namespace) -> int:
    if args.all:
        if args.case:
            raise InputError("give a case file or --all, not both", source="imrkg determine")
        from kg.jobs.cluster import determine_on_cluster
        from kg.jobs.ingest import determine_all

        _batch_on_cluster(args)
        with _open_store(args) as store:
            options = dict(shapes_dir=args.shapes, force=args.force,
                           progress=None if args.quiet else _progress("imrkg determine"))
            summary = (determine_on_cluster(store, cluster=args.cluster, **options) if args.cluster else
                       determine_all(store, workers=max(1, args.workers), engine=args.engine, **options))
            where = store.location
        for cid, why in summary.failed:
            print(f"imrkg: error: case {cid}: {why}", file=sys.stderr)
        print(f"imrkg determine: {len(summary.determined)} determined, {len(summary.skipped)} already up to date, "
              f"{len(summary.failed)} failed ({where}); {len(summary.rewritten)} with results changed, "
              f"{len(summary.carried)} carried over (no changed section reaches them), "
              f"{summary.quads_written:,} quads written", file=sys.stderr)
        return 3 if summary.failed else 0
    if not args.case:
        raise InputError("give a case file or a letter, or --all", source="imrkg determine")
    from kg.engine.determine import determine_case
    from kg.engine.rationale import render
    from kg.engine.validate import load_shapes
    from kg.jobs.ingest import read_case, unchecked_documents

    shapes = load_shapes(args.shapes) if args.shapes else None
    case = read_case(args.case, document_roots=args.document_root)
    _warn_unchecked([args.case] if unchecked_documents(case) else [])
    det = determine_case(case, shapes=shapes)
    sys.stdout.write(render(det, args.format))
    necessary = sum(item.medically_necessary for item in det.items)
    return 0 if necessary == len(det.items) else 1 if necessary == 0 else 4


def _validate(args: argparse.Namespace) -> int:
    if Path(args.case).suffix.lower() in (".yaml", ".yml", ".json"):
        if args.engine != "pyshacl":
            raise InputError("--engine applies to RDF data files; a case file is validated with pySHACL",
                             source=args.case)
        return _validate_case(args)
    from kg.batch.validate import render_report, validate_file

    if not args.shapes:
        raise InputError("RDF data needs --shapes (a shapes file or folder): the packaged shapes are for case files",
                         source=args.case)
    report = validate_file(args.case, args.shapes, engine=args.engine)
    for note in report.notes:
        print(f"imrkg validate: note: {note}", file=sys.stderr)
    sys.stdout.write(render_report(report, args.format))
    return 0 if report.conforms else 1


def _validate_case(args: argparse.Namespace) -> int:
    from kg.engine.validate import load_shapes, render_outcome, validate_case
    from kg.jobs.ingest import unchecked_documents
    from kg.read.casefile import load_case_file

    shapes = load_shapes(args.shapes) if args.shapes else None
    case = load_case_file(args.case, document_roots=args.document_root)
    _warn_unchecked([args.case] if unchecked_documents(case) else [])
    outcome = validate_case(case, shapes)
    sys.stdout.write(render_outcome(outcome, args.format))
    return 0 if outcome.conforms else 1


def _ingest(args: argparse.Namespace) -> int:
    return _ingest_to_file(args) if args.output else _ingest_into_store(args)


def _ingest_into_store(args: argparse.Namespace) -> int:
    from kg.jobs.cluster import ingest_on_cluster
    from kg.jobs.ingest import ingest

    _batch_on_cluster(args)
    with _open_store(args) as store:
        options = dict(progress=None if args.quiet else _progress("imrkg ingest"), document_roots=args.document_root,
                       workers=max(0, args.workers) or None)
        summary = (ingest_on_cluster(args.letters, store, cluster=args.cluster, send=args.send, **options)
                   if args.cluster else ingest(args.letters, store, engine=args.engine, **options))
        done = f"{len(summary.cases)} case(s) determined and stored in {store.location}"
    _warn_unchecked(summary.unchecked)
    _finish("imrkg ingest", done, summary.errors)
    return 2 if summary.errors else 0


def _finish(label: str, done: str, errors: Sequence[InputError], tail: str = "") -> None:
    """The summary on stderr, followed by every input that failed and why."""
    if errors:
        done += f", {len(errors)} file(s) failed"
    print(f"{label}: {done}{tail}", file=sys.stderr)
    for err in errors:
        print(f"imrkg: error: {err}", file=sys.stderr)


def _ingest_to_file(args: argparse.Namespace) -> int:
    from kg.jobs.ingest import ingest_dataset, read_dataset, write_dataset

    output = None if args.output == "-" else args.output
    existing = None
    if output and Path(output).is_file() and Path(output).stat().st_size > 0:
        existing = read_dataset(output)
    result = ingest_dataset(args.letters, dataset=existing, progress=None if args.quiet else _progress("imrkg ingest"),
                            document_roots=args.document_root)
    _warn_unchecked(result.unchecked)
    try:
        text = write_dataset(result.dataset, output)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", source=output) from None
    if not output:
        sys.stdout.write(text)
    _finish("imrkg ingest", f"{len(result.cases)} case(s) ingested", result.errors,
            f"; written to {output}" if output else "")
    return 2 if result.errors else 0


def _eval(args: argparse.Namespace) -> int:
    from kg.jobs.evaluate import evaluate, render_report
    from kg.jobs.ingest import LETTER_SUFFIXES
    from kg.jobs.reasons import reason_recall, render_reasons, split_half

    progress = None if args.quiet else _progress("imrkg eval")
    if args.half and not args.reasons:
        raise InputError("--half needs --reasons", hint="add --reasons ../shared/letters/reasons.json")
    if args.reasons:
        files = None
        if args.half:
            if not Path(args.letters_dir).is_dir():
                raise InputError("not a folder of letters", source=args.letters_dir)
            files = [p for p in sorted(Path(args.letters_dir).iterdir())
                     if p.suffix.lower() in LETTER_SUFFIXES and split_half(p.stem) == args.half]
        reasons = reason_recall(args.letters_dir, args.reasons, files=files, progress=progress)
        sys.stdout.write(render_reasons(reasons))
        text = reasons.to_json()
    else:
        report = evaluate(args.letters_dir, args.labels, progress=progress)
        sys.stdout.write(render_report(report))
        text = report.to_json()
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write: {exc.strerror or exc}", source=args.output) from None
    return 0


def _compact(args: argparse.Namespace) -> int:
    from kg.store.compaction import compact_store

    done = compact_store(args.store)
    if not done.done:
        print(f"imrkg compact: nothing to compact ({done.location} is not an on-disk embedded store)", file=sys.stderr)
        return 0
    print(f"imrkg compact: {done.location} compacted in {done.seconds:.1f} s, {done.size_before / 1e6:,.0f} MB -> "
          f"{done.size_after / 1e6:,.0f} MB", file=sys.stderr)
    return 0


def _upgrade(args: argparse.Namespace) -> int:
    from kg.store.upgrade import upgrade_store

    done = upgrade_store(args.store)
    state = "summaries added" if done.needed else "nothing lacked"
    print(f"imrkg upgrade: {done.location}: {state} in {done.seconds:.1f} s; it holds "
          f"{done.determination_summaries:,} determination summaries and {done.review_summaries:,} reviewer outcomes",
          file=sys.stderr)
    return 0


def _queries(args: argparse.Namespace) -> int:
    from kg.store.query import format_library, library

    sys.stdout.write(format_library(library(), args.format))
    return 0


def _query(args: argparse.Namespace) -> int:
    import shutil

    from kg.store.query import format_result, parse_parameters, run_query

    params = parse_parameters(args.param)
    with _open_store(args) as store:
        result = run_query(store, args.query, params)
    width = shutil.get_terminal_size((120, 24)).columns if sys.stdout.isatty() else 120
    sys.stdout.write(format_result(result, args.format, width=width))
    return 0


def _guidelines(args: argparse.Namespace) -> int:
    import json

    from kg.engine.guidelines import catalogue, catalogue_document, catalogue_text
    from kg.engine.validate import load_shapes

    sections = catalogue(load_shapes(args.shapes) if args.shapes else None)
    if args.format == "json":
        doc = catalogue_document(sections)
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return 0
    sys.stdout.write(catalogue_text(sections))
    return 0


def _checklist(args: argparse.Namespace) -> int:
    import datetime

    from kg.engine.guidelines import checklist
    from kg.engine.validate import load_shapes

    try:
        day = datetime.date.fromisoformat(args.date) if args.date else None
    except ValueError:
        raise InputError(f"'{args.date}' is not a date", source="--date", hint="write YYYY-MM-DD") from None
    result = checklist(args.service_kind, day=day, region=args.region,
                       shapes=load_shapes(args.shapes) if args.shapes else None)
    sys.stdout.write(result.render())
    return 0 if result.section is not None else 1


def _synth(args: argparse.Namespace) -> int:
    import json

    from kg.jobs import synth

    if args.stats_from:
        stats = synth.letter_statistics(args.stats_from, progress=None if args.quiet else _progress("imrkg synth"))
        text = json.dumps(stats, indent=1, sort_keys=True) + "\n"
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return 0
    if args.cases <= 0:
        raise InputError("give --cases N (N > 0) or --stats-from DIR", source="imrkg synth")
    try:
        drawn_from = synth.load_statistics(args.stats) if args.stats else None
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read statistics: {exc}", source=args.stats) from None
    if args.letters:
        if args.determine:
            raise InputError("--letters writes letters, it loads no store: ingest them with 'imrkg run DIR'",
                             source="--determine")
        try:
            paths = synth.write_letters(synth.synthesize(args.cases, seed=args.seed, stats=drawn_from), args.letters)
        except OSError as exc:
            raise InputError(f"cannot write: {exc.strerror or exc}", source=args.letters) from None
        print(f"imrkg synth: {len(paths)} synthetic letter(s) written to {args.letters}", file=sys.stderr)
        return 0
    with _open_store(args) as store:
        store.ensure_guidelines()
        n = synth.load_synthetic(store, args.cases, seed=args.seed, stats=drawn_from,
                                 progress=None if args.quiet else _progress("imrkg synth"))
        print(f"imrkg synth: {n} synthetic case(s) loaded into {store.location}", file=sys.stderr)
        if args.determine:
            from kg.jobs.ingest import determine_all

            summary = determine_all(store, workers=max(1, args.workers),
                                    progress=None if args.quiet else _progress("imrkg determine"))
            print(f"imrkg synth: {len(summary.determined)} determined, {len(summary.failed)} failed", file=sys.stderr)
            if summary.failed:
                return 3
    return 0


def _audit(args: argparse.Namespace) -> int:
    from kg.viz.pages import AUDIT_SUFFIXES, write_audit

    suffix = Path(args.output).suffix.lower()
    if suffix not in AUDIT_SUFFIXES:
        raise InputError(f"cannot tell what to write from '{suffix or args.output}'", source=args.output,
                         hint="end the file name with .html, .svg, .png or .graphml")
    from kg.jobs.ingest import CASE_SUFFIXES, LETTER_SUFFIXES, read_input

    path = Path(args.case)
    if path.suffix.lower() in CASE_SUFFIXES + LETTER_SUFFIXES or path.exists():
        write_audit(args.output, read_input(path))
    else:
        with _open_store(args) as store:
            if args.case not in store.case_ids():
                raise InputError(f"no case '{args.case}' in the store {store.location}", source=args.case,
                                 hint="give a case file or a letter, or ingest it first")
            write_audit(args.output, store, args.case)
    print(f"imrkg audit: wrote {args.output}", file=sys.stderr)
    return 0


def _report(args: argparse.Namespace) -> int:
    from kg.viz.report import write_report

    with _open_store(args) as store:
        try:
            write_report(store, args.output, audits=args.audits or None)
        except OSError as exc:
            raise InputError(f"cannot write: {exc.strerror or exc}", source=exc.filename or args.output) from None
    print(f"imrkg report: wrote {args.output}", file=sys.stderr)
    return 0


def _run(args: argparse.Namespace) -> int:
    from kg.jobs.run import run, run_bundled

    if args.workers < 1:
        raise InputError("--workers must be at least 1", source="--workers")
    options = dict(workers=args.workers, progress=None if args.quiet else _progress("imrkg run"),
                   audit_progress=None if args.quiet else _progress("imrkg run: audits"),
                   document_roots=args.document_root)
    with _open_store(args) as store:
        if args.inputs:
            summary = run(args.inputs, store, args.output, **options)
        else:
            summary = run_bundled(store, args.output, **options)
    _warn_unchecked(summary.unchecked)
    for err in summary.errors:
        print(f"imrkg: error: {err}", file=sys.stderr)
    sys.stdout.write(summary.render(store_option=args.store))
    return 2 if summary.errors else 0


def _serve(args: argparse.Namespace) -> int:
    import math
    import os
    import socket

    from kg.web.app import run
    from kg.web.audit_routes import add_audit_routes
    from kg.web.sparql import limit_malloc_arenas

    if not 0 <= args.port <= 65535:
        raise InputError(f"port {args.port} is out of range (0 to 65535)", source="--port")
    if args.max_concurrency < 1 or args.result_limit < 1:
        raise InputError("--max-concurrency and --result-limit must be at least 1", source="imrkg serve")
    if not (math.isfinite(args.query_timeout) and args.query_timeout > 0):
        raise InputError("--query-timeout must be a positive number of seconds", source="--query-timeout")
    try:
        with socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((args.host, args.port))
    except OSError as exc:
        raise InputError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", source="imrkg serve",
                         hint="choose another --port or --host") from None
    limit_malloc_arenas()  # before the store's threads start (issue 20: memory kept in idle arenas)
    store = _open_store(args)
    try:
        run(store, host=args.host, port=args.port, extend=lambda app: add_audit_routes(app, store),
            query_timeout=args.query_timeout, result_limit=args.result_limit, max_concurrency=args.max_concurrency,
            cors_origins=tuple(args.cors_origin), allow_update_token=os.environ.get("IMRKG_UPDATE_TOKEN") or None)
    finally:
        store.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 0 for --help, 2 for usage errors
        return int(exc.code or 0)
    if args.version:
        from kg.engine.determine import engine_version

        print(f"imr-kg {engine_version()}")
        return 0
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    handler = {"determine": _determine, "validate": _validate, "ingest": _ingest, "eval": _eval,
               "queries": _queries, "query": _query, "serve": _serve, "guidelines": _guidelines,
               "checklist": _checklist, "synth": _synth, "audit": _audit, "report": _report,
               "run": _run, "compact": _compact, "upgrade": _upgrade}[args.command]
    try:
        return handler(args)
    except BrokenPipeError:  # the reader (e.g. `head`) went away: not an error of ours
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except InputError as exc:
        print(f"imrkg: error: {exc}", file=sys.stderr)
        return 2
    except KgError as exc:
        print(f"imrkg: error: {exc}", file=sys.stderr)
        return 2 if args.command == "validate" else exc.exit_code
    except Exception as exc:  # noqa: BLE001 - last resort: say so, exit 3
        print(f"imrkg: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2 if args.command == "validate" else 3


def _entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    _entry()
