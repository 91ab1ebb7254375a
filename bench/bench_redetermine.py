"""Re-determining stored cases: what `imrkg determine --all` costs when nothing changed, after a
shapes change, and when everything is written again.

Not a test: a measurement to run by hand (see bench/README.md).  ``N`` synthetic cases (`imrkg
synth`'s generator, seed 1) are loaded into a fresh on-disk embedded store, then, each phase in a
fresh Python process of its own (so its memory figures are its own):

* **first**: ``determine_all`` on the undetermined cases (every result written, digests recorded);
* **unchanged**: ``determine_all`` again, nothing changed: every case skipped by its stamp;
* **shapes change**: ``determine_all`` with a user's section (``--change FILE``; by default one
  that caps the first acupuncture course at 4 treatments instead of 6, which changes the
  determinations of the cases with a longer first course): only the cases with a request of a
  class the changed section decides determined again (:mod:`kg.jobs.reach`), the others carried
  over (their stamp alone replaced), and of what is determined only what differs written
  (:mod:`kg.jobs.changes`);
* **unchanged after it**: ``determine_all`` with the same section: nothing to do;
* **forced** (the previous behaviour of a shapes change, for comparison): ``determine_all`` with
  the same section and ``force``: every case determined and every result written again.

Printed per phase: seconds, cases determined, cases whose results were written, quads written,
peak resident memory of the main process (``VmHWM``) and of the largest worker
(``RUSAGE_CHILDREN``), and the load average before and after (the machine is shared).

    python bench/bench_redetermine.py --cases 10000
    python bench/bench_redetermine.py --cases 100000 --tmp /var/tmp --json redetermine.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bench_batch import children_peak_mb, peak_mb  # noqa: E402  (the memory figures, measured one way)

#: the default shapes change: a tighter cap on the first acupuncture course (a user's section)
CHANGE = """@prefix kg: <https://w3id.org/imr-kg/ont#> .
@prefix mtus: <https://w3id.org/imr-kg/mtus/> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
mtus:AMTG-ACUPUNCTURE-3-against sh:property [ sh:path kg:courseVisitTotal ; sh:maxInclusive 4 ;
    sh:message "More than 4 treatments in the first course (the benchmark's tighter cap)." ] .
"""
PHASES = ("first", "unchanged", "shapes change", "unchanged after it", "forced")


def _load(store_dir: str, n: int, seed: int) -> dict[str, Any]:
    from kg.jobs.synth import load_synthetic
    from kg.store.store import LocalStore

    store = LocalStore(store_dir)
    t = time.perf_counter()
    store.ensure_guidelines()
    load_synthetic(store, n, seed=seed, batch=2000)
    store.close()
    return {"seconds": time.perf_counter() - t, "peak_mb": peak_mb()}


def _determine(store_dir: str, workers: int, shapes_dir: str | None, force: bool) -> dict[str, Any]:
    from kg.jobs.ingest import determine_all
    from kg.store.store import LocalStore

    t = time.perf_counter()
    store = LocalStore(store_dir)
    summary = determine_all(store, workers=workers, shapes_dir=shapes_dir, force=force)
    store.close()
    return {"seconds": time.perf_counter() - t, "determined": len(summary.determined),
            "skipped": len(summary.skipped), "failed": len(summary.failed), "rewritten": len(summary.rewritten),
            "carried": len(summary.carried), "quads_written": summary.quads_written, "peak_mb": peak_mb(),
            "worker_peak_mb": children_peak_mb()}


def _child(kind: str, args: list[Any]) -> None:
    result = _load(*args) if kind == "load" else _determine(*args)
    print(json.dumps(result))


def _run(kind: str, *args: Any) -> dict[str, Any]:
    before = os.getloadavg()[0]
    proc = subprocess.run([sys.executable, __file__, "--child", kind, "--args", json.dumps(args)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["load_before"], result["load_after"] = before, os.getloadavg()[0]
    return result


def _table(n: int, load: dict[str, Any], phases: dict[str, dict[str, Any]]) -> str:
    lines = [f"{n:,} synthetic cases (seed 1) loaded in {load['seconds']:.1f} s; {os.cpu_count()} cores",
             "",
             f"{'phase':<20} {'seconds':>8} {'determined':>10} {'rewritten':>9} {'carried':>8} {'quads written':>13} "
             f"{'main MB':>8} {'worker MB':>9} {'load avg':>11}"]
    for name, r in phases.items():
        lines.append(f"{name:<20} {r['seconds']:>8.1f} {r['determined']:>10,} {r['rewritten']:>9,} {r['carried']:>8,} "
                     f"{r['quads_written']:>13,} {r['peak_mb']:>8.0f} {r['worker_peak_mb']:>9.0f} "
                     f"{r['load_before']:>5.1f}-{r['load_after']:<5.1f}")
    if "shapes change" in phases and "forced" in phases:
        lines.append("")
        lines.append(f"shapes change against forced (everything written): "
                     f"{phases['forced']['seconds'] / phases['shapes change']['seconds']:.2f}x faster, "
                     f"{phases['forced']['quads_written'] / max(1, phases['shapes change']['quads_written']):.1f}x "
                     f"fewer quads written")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--change", help="a .ttl section to add as the shapes change (default: a tighter acupuncture cap)")
    ap.add_argument("--no-force", action="store_true", help="skip the forced phase")
    ap.add_argument("--tmp", help="where the store goes (default: the system's temporary folder)")
    ap.add_argument("--json", help="also write every figure to this file")
    ap.add_argument("--keep", help="make the store in this folder (which must not exist) and keep it, "
                                   "e.g. for bench_queries.py --store")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--args", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(args.child, json.loads(args.args))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-redetermine-", dir=args.tmp) as tmp:
        if args.keep and Path(args.keep).exists():
            raise SystemExit(f"{args.keep} exists: give --keep a new folder")
        store, shapes = args.keep or str(Path(tmp) / "store"), Path(tmp) / "shapes"
        shapes.mkdir()
        change = Path(args.change).read_text(encoding="utf-8") if args.change else CHANGE
        (shapes / "change.ttl").write_text(change, encoding="utf-8")
        print(f"loading {args.cases:,} cases ...", file=sys.stderr)
        load = _run("load", store, args.cases, 1)
        phases: dict[str, dict[str, Any]] = {}
        for name in PHASES:
            if name == "forced" and args.no_force:
                continue
            print(f"{name} ...", file=sys.stderr)
            shapes_dir = None if name in ("first", "unchanged") else str(shapes)
            phases[name] = _run("determine", store, args.workers, shapes_dir, name == "forced")
    print(_table(args.cases, load, phases))
    if args.json:
        Path(args.json).write_text(json.dumps({"cases": args.cases, "load": load, "phases": phases}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
