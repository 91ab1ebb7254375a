"""Determining many cases: the batch engine against the naive baseline and the physical floor.

Not a test: a measurement to run by hand (see bench/README.md).  For each N (default 1,000,
10,000 and 100,000 synthetic cases, ``imrkg synth``'s generator, seed 1) it measures, each
phase in a fresh Python process of its own so the memory figures are its own:

* **load**: the synthetic cases (asserted and reviewer graphs) written into an on-disk
  embedded store by :func:`kg.jobs.synth.load_synthetic`;
* **physical reference**: the same quads (dumped from that store as N-Quads) parsed and
  bulk-loaded into a fresh on-disk store by pyoxigraph, and nothing else: the floor a batch
  run over these cases is measured against;
* **read and write floors**: the inputs exported from the store 1,000 cases at a time as the
  batch reads them (before it runs), and the batch's results (inferred and determination
  graphs) bulk-loaded alone into a fresh store (after it ran): what any batch that reads its
  cases from the store and writes its results back pays before determining anything;
* **batch determination**: ``imrkg determine --all --workers W`` (:func:`kg.jobs.ingest.determine_all`
  with the batch engine): reasoning, every criterion, determinations with their rationales,
  inferred and determination graphs written to the store;
* **naive baseline**: one pySHACL run over one merged rdflib graph (the ontology, and the
  asserted and inferred facts of the first n cases), at n = 100, 300, 1,000, ... while a run
  takes less than ``--naive-limit`` seconds, then extrapolated to N from its measured growth
  (a power law through the last two sizes);
* **queries**: ``bench/bench_queries.py --store`` over the determined store: every library
  query's median on the embedded store itself (on disk, as the batch left it), on pyoxigraph in
  memory and on rdflib in memory (up to ``--rdflib-max`` cases), on the store alone above that.

Memory is the peak resident set (``VmHWM``) of each process; for the batch run, of the main
process and of the largest worker.  Printed: a table per phase and the ratios.

    python bench/bench_batch.py                       # N = 1,000, 10,000, 100,000
    python bench/bench_batch.py --sizes 1000 --naive-limit 120
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

ROOT = Path(__file__).resolve().parents[1]


def peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children_peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


# ---------------------------------------------------------------------------------------------
# Phases (each run in a process of its own)
# ---------------------------------------------------------------------------------------------
def phase_load(store_dir: str, n: int, seed: int) -> dict[str, Any]:
    from kg.jobs.synth import load_synthetic
    from kg.store.store import LocalStore

    store = LocalStore(store_dir)
    t = time.perf_counter()
    store.ensure_guidelines()  # as `imrkg synth` does: the queries join the guidelines' labels
    load_synthetic(store, n, seed=seed, batch=2000)
    store.close()
    return {"seconds": time.perf_counter() - t, "peak_mb": peak_mb()}


def phase_dump(store_dir: str, out: str) -> dict[str, Any]:
    import pyoxigraph as ox

    store = ox.Store(store_dir)
    store.dump(output=out, format=ox.RdfFormat.N_QUADS)
    with open(out, "rb") as fh:
        quads = sum(1 for _ in fh)
    return {"quads": quads, "bytes": os.path.getsize(out)}


def phase_physical(quads_file: str, store_dir: str) -> dict[str, Any]:
    import pyoxigraph as ox

    t = time.perf_counter()
    store = ox.Store(store_dir)
    store.bulk_load(path=quads_file, format=ox.RdfFormat.N_QUADS)
    store.flush()
    return {"seconds": time.perf_counter() - t, "peak_mb": peak_mb()}


def phase_determine(store_dir: str, workers: int, engine: str) -> dict[str, Any]:
    from kg.jobs.ingest import determine_all
    from kg.store.store import LocalStore

    store = LocalStore(store_dir)
    t = time.perf_counter()
    summary = determine_all(store, workers=workers, engine=engine)
    store.close()
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "determined": len(summary.determined), "failed": len(summary.failed),
            "peak_mb": peak_mb(), "worker_peak_mb": children_peak_mb()}


def phase_read(store_dir: str) -> dict[str, Any]:
    """The read floor: every case's asserted and reviewer graphs exported from the store,
    1,000 cases at a time, as the batch reads them, and nothing else."""
    from kg.batch.engine import graph_of
    from kg.store.store import LocalStore

    store = LocalStore(store_dir)
    ids = store.case_ids()
    t = time.perf_counter()
    quads = 0
    for i in range(0, len(ids), 1000):
        for name in ("asserted", "reviewer"):
            quads += store.export_graphs([graph_of(c, name) for c in ids[i:i + 1000]]).count(b"\n")
    return {"seconds": time.perf_counter() - t, "quads": quads}


def phase_write(store_dir: str, out: str, fresh_dir: str) -> dict[str, Any]:
    """The write floor: the determined cases' inferred and determination graphs (what the batch
    writes), bulk-loaded into a fresh store from one N-Quads file, and nothing else."""
    import pyoxigraph as ox

    from kg.batch.engine import graph_of
    from kg.store.store import LocalStore

    store = LocalStore(store_dir)
    ids = store.case_ids()
    quads = 0
    with open(out, "wb") as fh:
        for i in range(0, len(ids), 1000):
            data = store.export_graphs([graph_of(c, g) for c in ids[i:i + 1000] for g in ("inferred", "determination")])
            quads += data.count(b"\n")
            fh.write(data)
    store.close()
    t = time.perf_counter()
    fresh = ox.Store(fresh_dir)
    fresh.bulk_load(path=out, format=ox.RdfFormat.N_QUADS)
    fresh.flush()
    return {"seconds": time.perf_counter() - t, "quads": quads}


def phase_naive(store_dir: str, n: int) -> dict[str, Any]:
    """One pySHACL run over the merged graph of the first ``n`` cases (asserted + inferred) and the ontology."""
    import pyoxigraph as ox
    import pyshacl
    from rdflib import Graph

    from kg.batch.engine import graph_of
    from kg.engine.reason import load_ontology
    from kg.engine.validate import default_shapes
    from kg.store.store import LocalStore

    store = LocalStore(store_dir)
    ids = store.case_ids()[:min(n, NAIVE_MAX_CASES)]
    data = store.export_graphs([graph_of(c, g) for c in ids for g in ("asserted", "inferred")])
    store.close()
    merged = Graph()
    for s, p, o in load_ontology():
        merged.add((s, p, o))
    lines = [ln.rsplit(" ", 2)[0] + " ." for ln in data.decode("utf-8").splitlines() if ln.strip()]
    merged.parse(data="\n".join(lines), format="nt")
    del ox
    t = time.perf_counter()
    conforms, report, _ = pyshacl.validate(merged, shacl_graph=default_shapes().working, inference="none",
                                           advanced=True, allow_warnings=True, allow_infos=True)
    seconds = time.perf_counter() - t
    from rdflib import RDF

    from kg.engine.validate import SH

    results = sum(1 for _ in report.subjects(RDF.type, SH.ValidationResult))
    return {"cases": len(ids), "seconds": seconds, "triples": len(merged), "peak_mb": peak_mb(),
            "results": results}


def phase_compiled(store_dir: str, n: int) -> dict[str, Any]:
    """The same validation as :func:`phase_naive` (the first ``n`` cases, asserted + inferred), by the
    compiled shape queries in an in-memory pyoxigraph store: the like-for-like comparison."""
    import pyoxigraph as ox

    from kg.batch.engine import compile_engine, graph_of
    from kg.batch.shacl import follows_subclasses
    from kg.store.store import LocalStore

    store = LocalStore(store_dir)
    ids = store.case_ids()[:n]
    data = store.export_graphs([graph_of(c, g) for c in ids for g in ("asserted", "inferred")])
    store.close()
    engine = compile_engine()
    mem = ox.Store()
    mem.load(engine.tables, format=ox.RdfFormat.N_QUADS)
    mem.load(data.replace(b"/graph/inferred> .", b"/graph/asserted> ."), format=ox.RdfFormat.N_QUADS)
    t = time.perf_counter()
    results = 0
    subclasses = follows_subclasses(mem)  # as the batch engine chooses the query's form
    for q in engine.shape_queries:
        results += sum(1 for _ in mem.query(q.text(subclasses)))  # type: ignore[attr-defined]
    return {"cases": len(ids), "seconds": time.perf_counter() - t, "peak_mb": peak_mb(), "results": results}


#: the largest merged graph the naive baseline builds: pySHACL over rdflib needs about 0.3 MB a case
#: (2.3 GB at 8,100 cases), so 50,000 cases is about 14 GB; beyond it the growth is extrapolated
NAIVE_MAX_CASES = 50_000

PHASES = {"load": phase_load, "dump": phase_dump, "physical": phase_physical, "read": phase_read,
          "determine": phase_determine, "write": phase_write,
          "naive": phase_naive, "compiled": phase_compiled}


def run_phase(name: str, *args: Any) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--phase", name, "--args", json.dumps(args)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# One size
# ---------------------------------------------------------------------------------------------
def bench_size(n: int, tmp: Path, *, seed: int, workers: int, naive_limit: float, rdflib_max: int,
               runs: int, rdflib_timeout: float = 60.0) -> dict[str, Any]:
    out: dict[str, Any] = {"cases": n, "rdflib_timeout": rdflib_timeout}
    store = tmp / f"store-{n}"
    say = lambda text: print(f"[{n:,}] {text}", file=sys.stderr, flush=True)  # noqa: E731
    say("loading synthetic cases")
    out["load"] = run_phase("load", str(store), n, seed)
    quads = tmp / f"cases-{n}.nq"
    out["input"] = run_phase("dump", str(store), str(quads))
    say("physical reference (bulk load of the same quads)")
    out["physical"] = run_phase("physical", str(quads), str(tmp / f"physical-{n}"))
    quads.unlink()
    say("read floor (exporting the inputs as the batch does)")
    out["read"] = run_phase("read", str(store))
    say("batch determination")
    out["determine"] = run_phase("determine", str(store), workers, "batch")
    say("write floor (bulk-loading the results alone)")
    results = tmp / f"results-{n}.nq"
    out["write"] = run_phase("write", str(store), str(results), str(tmp / f"written-{n}"))
    results.unlink()
    naive = []
    size = 100
    while size <= n:
        say(f"naive baseline, {size} cases")
        r = run_phase("naive", str(store), size)
        r["compiled"] = run_phase("compiled", str(store), r["cases"])  # the same cases (the naive run may cap n)
        naive.append(r)
        if r["seconds"] * 3.2 > naive_limit:  # the next size (x3) would pass the limit
            break
        size *= 3
    out["naive"] = naive
    say("compiled shape queries alone, all cases")
    out["compiled"] = run_phase("compiled", str(store), n)
    say("library queries")
    engines = "store,memory,rdflib" if n <= rdflib_max else "store"  # store: on disk, as the batch left it
    with tempfile.NamedTemporaryFile(suffix=".json") as fh:
        proc = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_queries.py"), "--store", str(store),
                               "--runs", str(runs), "--engines", engines, "--json", fh.name,
                               "--timeout", str(rdflib_timeout)],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"bench_queries failed:\n{proc.stderr[-3000:]}")
        out["queries"] = json.loads(Path(fh.name).read_text())["results"]
    return out


def _extrapolate(points: list[dict[str, Any]], n: int) -> tuple[float, float]:
    """Seconds for ``n`` cases from the measured points (power law through the last two), and the exponent."""
    import math

    if len(points) == 1:
        p = points[0]
        return p["seconds"] * n / p["cases"], 1.0
    a, b = points[-2], points[-1]
    k = math.log(b["seconds"] / a["seconds"]) / math.log(b["cases"] / a["cases"])
    k = max(k, 1.0)  # never assume it grows slower than linearly
    return b["seconds"] * (n / b["cases"]) ** k, k


def report(all_results: list[dict[str, Any]], workers: int) -> str:
    lines = []
    w = lines.append
    w(f"imr-kg batch benchmark, synthetic cases, {workers} worker(s), {os.cpu_count()} cores\n")
    w(f"{'cases':>9} {'input quads':>12} | {'load s':>7} {'MB':>6} | {'bulk load s':>11} {'MB':>6} | "
      f"{'determine s':>11} {'cases/s':>8} {'main MB':>8} {'worker MB':>9} | {'naive s (n)':>18} "
      f"{'naive@N s':>10} {'speed-up':>9} | {'det/bulk':>8}")
    for r in all_results:
        n = r["cases"]
        d = r["determine"]
        naive_n, k = _extrapolate(r["naive"], n) if r["naive"] else (float("nan"), 1.0)
        last = r["naive"][-1] if r["naive"] else None
        measured = f"{last['seconds']:.1f} ({last['cases']})" if last else "-"
        w(f"{n:>9,} {r['input']['quads']:>12,} | {r['load']['seconds']:>7.1f} {r['load']['peak_mb']:>6.0f} | "
          f"{r['physical']['seconds']:>11.1f} {r['physical']['peak_mb']:>6.0f} | "
          f"{d['seconds']:>11.1f} {n / d['seconds']:>8.0f} {d['peak_mb']:>8.0f} {d['worker_peak_mb']:>9.0f} | "
          f"{measured:>18} {naive_n:>10.0f} {naive_n / d['seconds']:>8.1f}x | "
          f"{d['seconds'] / r['physical']['seconds']:>7.2f}x")
        if d["failed"]:
            w(f"          {d['failed']} case(s) failed")
    w("\nthe store's input/output floor: reading the inputs as the batch does (per-graph export) and")
    w("bulk-loading the results alone into a fresh store; the batch does both and the determination:")
    for r in all_results:
        if "read" not in r or "write" not in r:
            continue
        rd, wr, d = r["read"], r["write"], r["determine"]
        floor = rd["seconds"] + wr["seconds"]
        w(f"  {r['cases']:>7,} cases: read {rd['seconds']:6.1f} s ({rd['quads']:,} quads, "
          f"{rd['seconds'] / rd['quads'] * 1e6:.1f} us each) + write {wr['seconds']:6.1f} s ({wr['quads']:,} quads, "
          f"{wr['seconds'] / wr['quads'] * 1e6:.1f} us each) = {floor:6.1f} s ({r['cases'] / floor:,.0f} cases/s); "
          f"determine {d['seconds']:.1f} s = {d['seconds'] / floor:.2f}x the floor")
    w("\nvalidation alone, like for like (asserted + inferred facts given): one pySHACL run over the merged")
    w("graph (naive) against the compiled shape queries over the same cases in an in-memory pyoxigraph store:")
    for r in all_results:
        for p in r["naive"]:
            c = p["compiled"]
            same = "same" if c["results"] == p["results"] else f"DIFFERENT ({c['results']} vs {p['results']})"
            w(f"  {p['cases']:>7,} cases: pySHACL {p['seconds']:7.1f} s ({p['cases'] / p['seconds']:6.0f}/s, "
              f"{p['peak_mb']:5.0f} MB) | compiled {c['seconds']:6.2f} s ({c['cases'] / c['seconds']:7.0f}/s, "
              f"{c['peak_mb']:5.0f} MB) | {p['seconds'] / c['seconds']:6.0f}x | results {same}")
        c = r["compiled"]
        naive_n, k = _extrapolate(r["naive"], r["cases"]) if r["naive"] else (float("nan"), 1.0)
        w(f"  {r['cases']:>7,} cases: pySHACL ~{naive_n:7.0f} s extrapolated (growth exponent {k:.2f}) | compiled "
          f"{c['seconds']:6.2f} s ({c['cases'] / c['seconds']:7.0f}/s, {c['peak_mb']:5.0f} MB) | "
          f"{naive_n / c['seconds']:6.0f}x")
    w("\nlibrary queries, median ms on the embedded store on disk, as the batch left it "
      "(ratio rdflib in memory / it, '>' where rdflib passed its timeout; in: pyoxigraph in memory):")
    names = sorted({q for r in all_results for e in r["queries"].values() for q in e["queries"]})
    w("  " + f"{'query':34}" + "".join(f"{r['cases']:>34,}" for r in all_results))
    for q in names:
        cells = []
        for r in all_results:
            disk, mem, rl = (r["queries"].get(e, {}).get("queries", {}).get(q) for e in ("store", "memory", "rdflib"))
            if disk is None or disk.get("median_ms") is None:
                cells.append(f"{'-':>34}")
                continue
            text = f"{disk['median_ms']:,.1f}"
            if rl is not None:  # rdflib past its timeout: the ratio is at least timeout / median
                text += (f" (>{r.get('rdflib_timeout', 60.0) * 1000 / max(disk['median_ms'], 1e-6):,.0f}x)"
                         if rl.get("median_ms") is None
                         else f" ({rl['median_ms'] / max(disk['median_ms'], 1e-6):,.0f}x)")
            if mem is not None and mem.get("median_ms") is not None:
                text += f" in {mem['median_ms']:,.1f}"
            cells.append(f"{text:>34}")
        w(f"  {q:34}" + "".join(cells))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000,100000", help="comma-separated case counts")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--naive-limit", type=float, default=600.0,
                    help="seconds a naive pySHACL run may take before larger sizes are extrapolated (default 600)")
    ap.add_argument("--rdflib-max", type=int, default=10000, help="largest size rdflib runs the queries at")
    ap.add_argument("--runs", type=int, default=3, help="runs per query (median)")
    ap.add_argument("--rdflib-timeout", type=float, default=60.0,
                    help="seconds an rdflib query run may take (default 60)")
    ap.add_argument("--json", metavar="FILE", help="also write every measurement as JSON")
    ap.add_argument("--tmp", metavar="DIR", help="where the stores go (default: a temporary folder)")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--args", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.phase:
        print(json.dumps(PHASES[args.phase](*json.loads(args.args))))
        return 0
    results = []
    with tempfile.TemporaryDirectory(prefix="imrkg-bench-", dir=args.tmp) as tmp:
        for n in (int(x) for x in args.sizes.split(",")):
            results.append(bench_size(n, Path(tmp), seed=args.seed, workers=args.workers,
                                      naive_limit=args.naive_limit, rdflib_max=args.rdflib_max, runs=args.runs,
                                      rdflib_timeout=args.rdflib_timeout))
            if args.json:
                Path(args.json).write_text(json.dumps(results, indent=1))
            print(report(results, args.workers), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
