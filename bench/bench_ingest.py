"""Letters in, end to end: ``imrkg ingest`` through the batch engine against the reference path.

Not a test: a measurement to run by hand (see bench/README.md).  It measures, each run in a fresh
Python process of its own (so the memory figures are its own):

* **real letters**: every letter in ``../shared/letters`` (and the seed) ingested ``--passes``
  times, each pass into a fresh on-disk store, by :func:`kg.jobs.ingest.ingest` with the batch
  engine in ``--workers`` processes (the default path): read (PDFium), extract, determine, store.
  The first pass includes compiling the engine (about 3 s); letters a second are given per pass,
  for the first pass and for the later ones;
* **synthetic letters**: ``--synthetic N`` letters (default 2,000; ``--synthetic 10000`` for the
  issue's figure) written by ``imrkg synth --letters`` (seed 1), ingested the same way, once;
* **reference**: the same inputs through ``ingest(engine="reference")`` (pySHACL and the rdflib
  reasoner, one case at a time, one process), on at most ``--reference-max`` inputs, and the
  ratio of the two rates;
* **stages**: per letter, in one process, one after the other: PDF text, parse and extract, the
  case graph as N-Quads, batch determination (chunks of 50), the write (into an on-disk store);
  wall time and CPU time.

CPU time is given beside the rates (main process and workers together, per letter stored): on a
machine other jobs load, letters a second fall with the load, CPU a letter far less.

With ``--cluster`` it measures only the process pool against a ``LocalCluster`` of ``--workers``
single-threaded workers (:func:`kg.jobs.cluster.ingest_on_cluster`), the same letters and passes,
and their ratio (issue #18's target: the cluster within 20% of the pool).

Memory is the peak resident set: of the main process (``VmHWM``) and of the largest worker
(``RUSAGE_CHILDREN``).

    python bench/bench_ingest.py                         # real letters x3, 2,000 synthetic
    python bench/bench_ingest.py --synthetic 10000 --passes 5 --json ingest.json
    python bench/bench_ingest.py --cluster --workers 2 --passes 3   # the pool against a 2-worker LocalCluster
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
LETTERS = ROOT.parent / "shared" / "letters"
sys.path.insert(0, str(Path(__file__).parent))
from bench_batch import children_peak_mb, peak_mb  # noqa: E402  (the memory figures, measured one way)


def _ingest_runs(inputs: list[str], engine: str, workers: int, passes: int, chunk: int) -> dict[str, Any]:
    from kg.jobs.ingest import ingest, input_files
    from kg.store.store import LocalStore

    files = [str(p) for p in input_files(inputs)]
    runs = []
    for _ in range(passes):
        with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
            store = LocalStore(Path(tmp) / "store")
            start, cpu = time.perf_counter(), _cpu_seconds()
            summary = ingest(files, store, engine=engine, workers=workers, chunk=chunk)
            store.close()
            seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
        runs.append({"seconds": seconds, "cpu_seconds": cpu, "cases": len(summary.cases),
                     "errors": len(summary.errors)})
    return {"inputs": len(files), "runs": runs, "peak_mb": peak_mb(), "worker_peak_mb": children_peak_mb()}


def _cpu_seconds() -> float:
    """CPU time (user and system) of this process and of its finished child processes (the
    workers, once the pool has shut down): the figure the load of other jobs changes least."""
    import resource

    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


def _cluster_runs(inputs: list[str], workers: int, passes: int, chunk: int, send: str) -> dict[str, Any]:
    """``passes`` ingests on a ``LocalCluster`` of ``workers`` single-threaded worker processes,
    started once before the first pass (its start-up is timed apart), each pass into a fresh store."""
    import dask
    from distributed import LocalCluster

    from kg.jobs.cluster import ingest_on_cluster
    from kg.jobs.ingest import input_files
    from kg.store.store import LocalStore

    files = [str(p) for p in input_files(inputs)]
    runs = []
    start = time.perf_counter()
    with dask.config.set({"distributed.worker.daemon": False}), \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        startup = time.perf_counter() - start
        for _ in range(passes):
            with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
                store = LocalStore(Path(tmp) / "store")
                start = time.perf_counter()
                summary = ingest_on_cluster(files, store, cluster=cluster.scheduler_address, send=send, chunk=chunk)
                store.close()
                seconds = time.perf_counter() - start
            runs.append({"seconds": seconds, "cases": len(summary.cases), "errors": len(summary.errors)})
        from distributed import Client

        with Client(cluster) as client:
            worker_mb = max(_tree_peak_mb(pid) for pid in client.run(os.getpid).values())
    return {"inputs": len(files), "runs": runs, "startup_seconds": startup, "peak_mb": peak_mb(),
            "worker_peak_mb": worker_mb}


def _tree_peak_mb(pid: int) -> float:
    """Peak resident set (VmHWM) of a process and of its children (a Dask worker and the process it reads in)."""
    total = 0.0
    children = [int(c) for t in Path(f"/proc/{pid}/task").iterdir() for c in (t / "children").read_text().split()]
    for p in [pid] + children:  # the children of every thread (a worker starts its reader from a task thread)
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) / 1024
    return total


def _stages(inputs: list[str], chunk: int) -> dict[str, Any]:
    """Per-stage time a letter (wall and CPU), one stage after the other in this process, the
    readers and the engine loaded first."""
    from kg.batch.engine import compile_engine, determine_chunk
    from kg.engine.graph import case_graph_nquads
    from kg.extract.case import extract_case
    from kg.jobs.inputs import input_files, letter_extras, prepare_readers
    from kg.read.letter import parse_letter, read_letter_text
    from kg.store.store import LocalStore

    files = [p for p in input_files(inputs) if p.suffix.lower() in (".pdf", ".txt")]
    engine = compile_engine()
    prepare_readers()
    names = ("text", "extract", "nquads", "determine", "write")
    wall, cpu = dict.fromkeys(names, 0.0), dict.fromkeys(names, 0.0)
    clock = [time.perf_counter(), time.process_time()]

    def lap(name: str) -> None:
        now = [time.perf_counter(), time.process_time()]
        wall[name] += now[0] - clock[0]
        cpu[name] += now[1] - clock[1]
        clock[:] = now

    with tempfile.TemporaryDirectory(prefix="bench-stages-") as tmp:
        store = LocalStore(Path(tmp) / "store")  # on disk, as ingest writes
        store.ensure_guidelines()
        for start in range(0, len(files), chunk):
            asserted, reviewer, ids = [], [], []
            clock[:] = [time.perf_counter(), time.process_time()]
            for path in files[start:start + chunk]:
                text = read_letter_text(path)
                lap("text")
                case = extract_case(text, parse_letter(text))
                lap("extract")
                a, r = case_graph_nquads(case.case, extra=letter_extras(case))
                asserted.append(a)
                reviewer.append(r)
                ids.append(case.case.case_id)
                lap("nquads")
            result = determine_chunk(b"".join(asserted), b"".join(reviewer), engine)
            lap("determine")
            store.replace_cases(ids, b"".join(asserted + reviewer) + result.nquads + result.stamps)
            lap("write")
        store.close()
    n = max(1, len(files))
    return {"letters": len(files), "ms_per_letter": {k: 1000 * v / n for k, v in wall.items()},
            "cpu_ms_per_letter": {k: 1000 * v / n for k, v in cpu.items()}}


def _child(args: argparse.Namespace) -> None:
    job = json.loads(sys.stdin.read())  # the job on stdin: 10,000 paths do not fit in an argument list
    if job["kind"] == "stages":
        out = _stages(job["inputs"], job["chunk"])
    elif job["kind"] == "cluster":
        out = _cluster_runs(job["inputs"], job["workers"], job["passes"], job["chunk"], job["send"])
    else:
        out = _ingest_runs(job["inputs"], job["engine"], job["workers"], job["passes"], job["chunk"])
    print(json.dumps(out))


# ---------------------------------------------------------------------------
# In the parent
# ---------------------------------------------------------------------------
def _run(job: dict[str, Any]) -> dict[str, Any]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", job["kind"]], input=json.dumps(job),
                          capture_output=True, text=True, check=False, cwd=ROOT)
    if proc.returncode:
        raise SystemExit(f"bench child failed: {proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_seconds"] = time.perf_counter() - start
    return out


def _synthetic(n: int, folder: Path) -> list[str]:
    from kg.jobs import synth

    return [str(p) for p in synth.write_letters(synth.synthesize(n, seed=1), folder)]


def _rate(run: dict[str, Any]) -> float:
    return run["cases"] / run["seconds"] if run["seconds"] else 0.0


def _report(name: str, batch: dict[str, Any], ref: dict[str, Any] | None) -> dict[str, Any]:
    rates = [_rate(r) for r in batch["runs"]]
    later = rates[1:] or rates
    cpu = [1000 * r["cpu_seconds"] / max(1, r["cases"]) for r in batch["runs"]]
    line = {"inputs": batch["inputs"], "first_pass_per_s": rates[0], "later_passes_per_s": sum(later) / len(later),
            "cpu_ms_per_letter": sum(cpu[1:] or cpu) / len(cpu[1:] or cpu),
            "peak_mb": batch["peak_mb"], "worker_peak_mb": batch["worker_peak_mb"],
            "process_seconds": batch["process_seconds"]}
    if ref is not None:
        line["reference_inputs"] = ref["inputs"]
        line["reference_per_s"] = _rate(ref["runs"][0])
        line["ratio"] = line["later_passes_per_s"] / line["reference_per_s"] if line["reference_per_s"] else 0.0
    print(f"{name}: {line['inputs']} inputs, batch {line['first_pass_per_s']:.1f} letters/s first pass, "
          f"{line['later_passes_per_s']:.1f} letters/s later passes ({line['cpu_ms_per_letter']:.0f} ms CPU a letter, "
          f"all processes); peak RSS {line['peak_mb']:.0f} MB main, "
          f"{line['worker_peak_mb']:.0f} MB largest worker" +
          (f"; reference {line['reference_per_s']:.2f} letters/s on {line['reference_inputs']} inputs, "
           f"ratio {line['ratio']:.1f}x" if ref is not None else ""), flush=True)
    return line


def _print_stages(stages: dict[str, Any]) -> None:
    print("  per letter, one process (wall / CPU): " + ", ".join(
        f"{k} {v:.1f} / {stages['cpu_ms_per_letter'][k]:.1f} ms" for k, v in stages["ms_per_letter"].items()),
          flush=True)


def _pool_against_cluster(real: list[str], passes: int, send: str, common: dict[str, Any]) -> dict[str, Any]:
    """The process pool and a LocalCluster of the same number of workers, the same letters and passes."""
    print(f"pool against a {common['workers']}-worker LocalCluster: {len(real)} inputs, {passes} passes, send {send} "
          f"(load average {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)
    pool = _run({"kind": "ingest", "inputs": real, "engine": "batch", "passes": passes, **common})
    cluster = _run({"kind": "cluster", "inputs": real, "passes": passes, "send": send, **common})
    out = {}
    for name, run in (("pool", pool), ("cluster", cluster)):
        rates = [_rate(r) for r in run["runs"]]
        later = rates[1:] or rates
        out[name] = {"first_pass_per_s": rates[0], "later_passes_per_s": sum(later) / len(later),
                     "peak_mb": run["peak_mb"], "worker_peak_mb": run["worker_peak_mb"],
                     "startup_seconds": run.get("startup_seconds", 0.0)}
        print(f"  {name}: {rates[0]:.1f} letters/s first pass, {out[name]['later_passes_per_s']:.1f} later passes; "
              f"peak RSS {run['peak_mb']:.0f} MB main, {run['worker_peak_mb']:.0f} MB largest worker"
              + (f"; cluster start-up {run['startup_seconds']:.1f} s" if name == "cluster" else ""), flush=True)
    out["ratio"] = out["cluster"]["later_passes_per_s"] / out["pool"]["later_passes_per_s"]
    out["load_average_after"] = os.getloadavg()
    print(f"  cluster / pool (later passes): {out['ratio']:.2f} (target >= 0.80); load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--letters", default=str(LETTERS), help="folder of real letters (default ../shared/letters)")
    ap.add_argument("--passes", type=int, default=3, help="passes over the real letters (default 3)")
    ap.add_argument("--synthetic", type=int, default=2000, help="synthetic letters (default 2000; 0: none)")
    ap.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)), help="worker processes")
    ap.add_argument("--chunk", type=int, default=50, help="inputs a chunk (default 50)")
    ap.add_argument("--reference-max", type=int, default=200, help="inputs the reference path is timed on")
    ap.add_argument("--no-reference", action="store_true", help="skip the reference path")
    ap.add_argument("--cluster", action="store_true",
                    help="only the process pool against a LocalCluster of --workers workers on the real letters")
    ap.add_argument("--send", choices=("paths", "bytes"), default="paths", help="with --cluster: what is sent")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    if args.child:
        _child(args)
        return
    from kg.jobs.ingest import input_files

    results: dict[str, Any] = {"workers": args.workers, "cores": os.cpu_count(), "load_average": os.getloadavg()}
    real = [str(p) for p in input_files([args.letters])]
    common = {"workers": args.workers, "chunk": args.chunk}
    if args.cluster:
        results["cluster"] = _pool_against_cluster(real, args.passes, args.send, common)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")
        return
    print(f"real letters: {len(real)} inputs, {args.passes} passes, {args.workers} workers "
          f"(load average {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)
    batch = _run({"kind": "ingest", "inputs": real, "engine": "batch", "passes": args.passes, **common})
    ref = None if args.no_reference else _run({"kind": "ingest", "inputs": real[:args.reference_max],
                                                "engine": "reference", "passes": 1, **common})
    results["real"] = _report("real letters", batch, ref)
    results["real"]["stages"] = _run({"kind": "stages", "inputs": real, "chunk": args.chunk})
    _print_stages(results["real"]["stages"])
    if args.synthetic:
        with tempfile.TemporaryDirectory(prefix="bench-synth-") as tmp:
            letters = _synthetic(args.synthetic, Path(tmp))
            batch = _run({"kind": "ingest", "inputs": letters, "engine": "batch", "passes": 1, **common})
            ref = None if args.no_reference else _run({"kind": "ingest", "inputs": letters[:args.reference_max],
                                                        "engine": "reference", "passes": 1, **common})
            results["synthetic"] = _report(f"synthetic letters ({args.synthetic})", batch, ref)
            results["synthetic"]["stages"] = _run({"kind": "stages", "inputs": letters[:500], "chunk": args.chunk})
            _print_stages(results["synthetic"]["stages"])
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
