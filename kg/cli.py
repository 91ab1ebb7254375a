"""The ``imrkg`` command: a thin layer over the library.

Exit codes: ``determine`` 0 medically necessary (every request), 1 not,
2 bad input, 3 internal error; ``validate`` follows pySHACL: 0 conforms,
1 does not conform, 2 error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from kg.errors import InputError, KgError

__all__ = ["main", "build_parser"]

_EPILOG_DETERMINE = """example:
  imrkg determine examples/seed-trigger-point-2015.yaml --format json

exit codes: 0 medically necessary, 1 not medically necessary (or not covered), 2 bad input, 3 internal error"""
_EPILOG_VALIDATE = """example:
  imrkg validate examples/seed-trigger-point-2015.yaml --format turtle

exit codes (as pySHACL): 0 conforms, 1 does not conform, 2 error"""


def build_parser() -> argparse.ArgumentParser:
    from kg.rationale import FORMATS

    parser = argparse.ArgumentParser(
        prog="imrkg",
        description="Medical-necessity review as a knowledge graph: case files in, "
                    "criterion-by-criterion determinations out.",
        epilog="example:\n  imrkg determine examples/seed-trigger-point-2015.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="store_true", help="print the imr-kg version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    det = sub.add_parser("determine", help="determine every request of a case, criterion by criterion",
                         description="Reason over a case, validate it against the guideline shapes and write the "
                                     "determination with its rationale.",
                         epilog=_EPILOG_DETERMINE, formatter_class=argparse.RawDescriptionHelpFormatter)
    det.add_argument("case", metavar="CASE_FILE", help="a case file (.yaml, .yml or .json)")
    det.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    det.add_argument("--shapes", metavar="DIR", help="a folder of shapes to use instead of the packaged ones")
    val = sub.add_parser("validate", help="the standard SHACL validation report of a case",
                         description="Run pySHACL over the case (ontology + asserted + inferred facts) and print "
                                     "the SHACL validation report itself.",
                         epilog=_EPILOG_VALIDATE, formatter_class=argparse.RawDescriptionHelpFormatter)
    val.add_argument("case", metavar="CASE_FILE", help="a case file (.yaml, .yml or .json)")
    val.add_argument("--format", choices=("text", "turtle", "json"), default="text",
                     help="report format (default: text)")
    val.add_argument("--shapes", metavar="DIR", help="a folder of shapes to use instead of the packaged ones")
    return parser


def _determine(args: argparse.Namespace) -> int:
    from kg.casefile import load_case_file
    from kg.determine import determine_case
    from kg.rationale import render
    from kg.validate import load_shapes

    shapes = load_shapes(args.shapes) if args.shapes else None
    det = determine_case(load_case_file(args.case), shapes=shapes)
    sys.stdout.write(render(det, args.format))
    return 0 if det.medically_necessary else 1


def _validate(args: argparse.Namespace) -> int:
    import json

    from rdflib import Graph

    from kg.casefile import load_case_file
    from kg.graph import build_case_graph
    from kg.reason import infer, load_ontology
    from kg.validate import load_shapes, validate

    shapes = load_shapes(args.shapes) if args.shapes else None
    cg = build_case_graph(load_case_file(args.case))
    data = Graph()
    for g in (load_ontology(), cg.asserted, infer(cg.asserted)):
        for t in g:
            data.add(t)
    outcome = validate(data, shapes)
    if args.format == "turtle":
        sys.stdout.write(outcome.report.serialize(format="turtle"))
    elif args.format == "json":
        rows = [{"focus": str(r.focus), "shape": str(r.node_shape), "severity": str(r.severity).rsplit("#")[-1],
                 "message": r.message, "path": None if r.path is None else str(r.path),
                 "value": None if r.value is None else str(r.value)} for r in outcome.results]
        sys.stdout.write(json.dumps({"conforms": outcome.conforms, "results": rows}, indent=2) + "\n")
    else:
        lines = [f"Conforms: {outcome.conforms}", f"Results ({len(outcome.results)}):"]
        for r in outcome.results:
            shape = str(r.node_shape).rsplit("/", 1)[-1]
            value = f" value={str(r.value).rsplit('/', 1)[-1]}" if r.value is not None else ""
            lines.append(f"  {shape}: {r.message} (focus {str(r.focus).rsplit('/', 1)[-1]}{value})")
        sys.stdout.write("\n".join(lines) + "\n")
    return 0 if outcome.conforms else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 0 for --help, 2 for usage errors
        return int(exc.code or 0)
    if args.version:
        from kg.determine import engine_version

        print(f"imr-kg {engine_version()}")
        return 0
    if args.command is None:
        parser.print_help()
        return 2
    handler = {"determine": _determine, "validate": _validate}[args.command]
    try:
        return handler(args)
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
