"""Record the user-visible outputs of imr-kg into a folder, so that two versions can be compared.

Used to show that a refactoring changes no behaviour: record before, record after, then
``diff -r BEFORE AFTER`` must print nothing. Every output goes through the command line
(``kg.cli.main``, in this process, so the guideline data is loaded once), exactly as a user
gets it:

- ``determine/<file name>.json``, ``.ttl`` and ``.md``: ``imrkg determine FILE --format json``
  ``--format turtle`` and ``--format markdown`` for every example and every letter, with the exit code in ``exit.txt``;
- ``ingest.trig``: ``imrkg ingest -o`` of the examples and the letters;
- ``report.html`` and ``audit-<case>.html``: ``imrkg report`` and one ``imrkg audit`` page over a
  memory store filled by ``imrkg ingest``.

Usage::

    python bench/record_outputs.py OUT_DIR [--letters ../shared/letters] [--limit N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cli(argv: list[str]) -> tuple[int, str]:
    """Run ``imrkg ARGV`` in this process; return its exit code and standard output."""
    from kg.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(argv)
    return code, out.getvalue()


def record(out_dir: Path, letters: Path, limit: int | None) -> None:
    """Write every recorded output into OUT_DIR (created)."""
    inputs = sorted((ROOT / "examples").glob("*.yaml"))
    found = sorted(p for p in letters.iterdir() if p.suffix in {".pdf", ".txt"}) if letters.is_dir() else []
    inputs += found[:limit] if limit else found
    det = out_dir / "determine"
    det.mkdir(parents=True, exist_ok=True)
    codes = []
    for path in inputs:
        for fmt, suffix in (("json", ".json"), ("turtle", ".ttl"), ("markdown", ".md")):
            code, text = _cli(["determine", str(path), "--format", fmt])
            (det / f"{path.name}{suffix}").write_text(text, encoding="utf-8")
            codes.append(f"{path.name} {fmt} {code}")
        print(f"determined {path.name}", file=sys.stderr)
    (out_dir / "exit.txt").write_text("\n".join(codes) + "\n", encoding="utf-8")
    names = [str(p) for p in inputs]
    code, _ = _cli(["ingest", "--quiet", "-o", str(out_dir / "ingest.trig"), *names])
    (out_dir / "exit.txt").open("a", encoding="utf-8").write(f"ingest -o {code}\n")
    store = out_dir / "store"
    code, _ = _cli(["ingest", "--quiet", "--store", str(store), "--create", *names])
    code2, _ = _cli(["report", "--store", str(store), "-o", str(out_dir / "report.html")])
    case = inputs[-1].stem if found else "seed-tpi-2015"
    code3, _ = _cli(["audit", case, "--store", str(store), "-o", str(out_dir / f"audit-{case}.html")])
    with (out_dir / "exit.txt").open("a", encoding="utf-8") as f:
        f.write(f"ingest store {code}\nreport {code2}\naudit {code3}\n")
    import shutil

    shutil.rmtree(store)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--letters", type=Path, default=ROOT.parent / "shared" / "letters")
    parser.add_argument("--limit", type=int, default=None, help="only the first N letters")
    args = parser.parse_args()
    record(args.out_dir, args.letters, args.limit)


if __name__ == "__main__":
    main()
