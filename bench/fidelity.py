"""Reason fidelity: is the engine right for the right reason?  Print the tables of kg.jobs.reasons.

Runs every labelled letter of a folder through extraction and the engine (as ``imrkg eval``
does) and compares each item with the reviewer's decision and reasons in ``reasons.json``:
decision figures, reason recall (overall, on upheld and overturned items, by engine section,
by reason category, by criterion key) and the deciding criteria the engine adds, each for the
two halves of the fixed split (write / check, see ``kg.jobs.reasons.split_half``) and in total.
Run it before and after a rule change to see what the change did on both halves.

It is a measurement to run by hand, not a test.  Progress goes to stderr, the tables to stdout.

Usage::

    python bench/fidelity.py [--letters DIR] [--reasons FILE] [--json OUT]

``--letters`` defaults to ``../shared/letters`` beside the checkout; ``--reasons`` to
``reasons.json`` in that folder; ``--json OUT`` also writes the full report, with every item's
reasons and their outcome, as JSON (diff two of them to see which reasons a change won or lost).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _progress(done: int, total: int, name: str) -> None:
    """One line on stderr per letter."""
    if name:
        print(f"[{done + 1}/{total}] {name}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Print the reason-fidelity tables; 0 on success, 2 when an input cannot be read."""
    from kg.errors import InputError
    from kg.jobs.reasons import reason_recall, render_reasons

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--letters", type=Path, default=ROOT.parent / "shared" / "letters",
                        help="folder of letters with reasons.json (default: ../shared/letters)")
    parser.add_argument("--reasons", type=Path, default=None, help="reviewer reasons (default: LETTERS/reasons.json)")
    parser.add_argument("--json", type=Path, default=None, metavar="OUT", help="also write the full report as JSON")
    args = parser.parse_args(argv)
    try:
        report = reason_recall(args.letters, args.reasons, progress=_progress)
    except InputError as exc:
        print(f"fidelity: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(render_reasons(report))
    if args.json is not None:
        args.json.write_text(report.to_json(), encoding="utf-8")
        print(f"JSON report written to {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
