"""Soak benchmark: 32 clients query ``imrkg serve`` while an ingest writes through its update protocol.

A benchmark, not a test: it prints figures and exits 0 (1 when any request failed).  Bounded on
every side: it stops by itself after ``--duration`` seconds (default 120; the issue's soak is
``--duration 3600``), and only ever talks to the ``imrkg serve`` it starts itself on 127.0.0.1.

The server serves a fresh on-disk store with an update token.  The store starts full: the examples
and the letters beside the checkout (``../shared/letters``) are ingested before the clock starts,
so the hour measures a store of constant size and any growth in latency or memory is the
server's, not the data's (``--empty-start`` starts from the examples alone, as the first runs
did: latency then grows with the store during the first ingest pass).  For the whole run
``imrkg ingest`` of the letters writes through the endpoint (``--store
http://127.0.0.1:PORT/sparql``, ``IMRKG_STORE_TOKEN``), started again each time it finishes
(each pass replaces the cases: the count stays the same).
Meanwhile ``--clients`` threads (default 32), each with its own keep-alive connection, run the
query library (``GET /queries/<name>``) and protocol queries (``POST /sparql``) round-robin.

Printed per ``--bucket`` seconds (default 60: per minute): requests, errors, p50 and p99 latency
and the server's resident memory (VmRSS) at the bucket's end; then errors by status, the ingest
passes and the case count, and the two soak targets: p99 of the last ten buckets within 1.5x of
the first ten, memory growth (the peak resident memory of the last ten buckets against the
first ten's) under 10%; the end against the first bucket is printed beside it.

``--no-writer`` and ``--no-readers`` run one side alone, to split a growth between them.

    python bench/soak.py                      # two minutes
    python bench/soak.py --duration 3600      # the hour of the issue
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import HOST, LETTERS, ROOT, build_store, free_port, imrkg, rss_kib, start_server  # noqa: E402

TOKEN = "soak-token"
PROTOCOL = [
    "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }",
    "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g LIMIT 50",
    "ASK { GRAPH <https://w3id.org/imr-kg/graph/guidelines> { ?s ?p ?o } }",
]


def pct(values: list[float], p: float) -> float | None:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p * (len(s) - 1))))] if s else None


def ms(v: float | None) -> str:
    return "-" if v is None else f"{1000 * v:.0f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=120.0, help="seconds to run (default 120)")
    ap.add_argument("--bucket", type=float, default=60.0, help="seconds per row of figures (default 60)")
    ap.add_argument("--clients", type=int, default=32, help="query clients (default 32)")
    ap.add_argument("--request-timeout", type=float, default=60.0, help="client timeout per request, s")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--empty-start", action="store_true",
                    help="start from the examples alone instead of a store already holding the letters")
    ap.add_argument("--no-writer", action="store_true", help="no ingest: the readers alone (to split causes)")
    ap.add_argument("--no-readers", action="store_true", help="no query clients: the writer alone")
    ap.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                    help="set in the server's environment (a diagnostic, e.g. MALLOC_ARENA_MAX=2); repeatable")
    args = ap.parse_args(argv)
    if args.duration <= 0 or args.bucket <= 0 or args.clients < 1:
        ap.error("--duration, --bucket and --clients must be positive")
    if any("=" not in item for item in args.server_env):
        ap.error("--server-env takes NAME=VALUE")

    tmp = Path(tempfile.mkdtemp(prefix="imrkg-soak-"))
    store = str(tmp / "store")
    Path(store).mkdir()  # a fresh store: the folder exists, so no --create is needed
    filled = build_store(Path(store), letters=not args.empty_start)
    print(f"store filled in {filled:.0f} s ({'examples only' if args.empty_start else 'examples and letters'})",
          flush=True)
    port = free_port()
    server_env = dict(item.split("=", 1) for item in args.server_env)
    server = start_server(store, port, args.clients, 30, update_token=TOKEN, env=server_env)
    url = f"http://{HOST}:{port}/sparql"
    start = time.monotonic()
    stop_at = start + args.duration
    lock = threading.Lock()
    buckets: dict[int, list[float]] = {}
    bucket_errors: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    memory: dict[int, int | None] = {}
    passes: list[tuple[int, float]] = []

    def record(status: int | str, elapsed: float) -> None:
        b = int((time.monotonic() - start) // args.bucket)
        with lock:
            if status == 200:
                buckets.setdefault(b, []).append(elapsed)
            else:
                errors[str(status)] += 1
                bucket_errors[b] += 1

    def client(i: int, paths: list[str]) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=args.request_timeout)
        n = i
        while time.monotonic() < stop_at:
            n += 1
            t = time.perf_counter()
            try:
                accept = {"Accept": "application/sparql-results+json"}
                if n % 2:
                    conn.request("GET", paths[n // 2 % len(paths)], headers=accept)
                else:
                    body = urllib.parse.urlencode({"query": PROTOCOL[n // 2 % len(PROTOCOL)]})
                    conn.request("POST", "/sparql", body=body,
                                 headers={**accept, "Content-Type": "application/x-www-form-urlencoded"})
                resp = conn.getresponse()
                resp.read()
                status: int | str = resp.status
            except (OSError, http.client.HTTPException) as exc:
                status = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=args.request_timeout)
            record(status, time.perf_counter() - t)
        conn.close()

    def writer() -> None:
        env = {**os.environ, "IMRKG_STORE_TOKEN": TOKEN}
        inputs = [str(LETTERS)] if LETTERS.is_dir() else [str(ROOT / "examples")]
        while time.monotonic() < stop_at:
            t = time.monotonic()
            proc = subprocess.Popen(imrkg() + ["ingest", *inputs, "--store", url, "--quiet"], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            while proc.poll() is None and time.monotonic() < stop_at:
                time.sleep(0.5)
            if proc.poll() is None:
                proc.terminate()
                proc.wait(30)
                break
            if proc.returncode:
                with lock:
                    errors[f"ingest exit {proc.returncode}"] += 1
                print((proc.stderr.read() if proc.stderr else "")[-500:], file=sys.stderr)
            passes.append((proc.returncode, time.monotonic() - t))

    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/queries", timeout=60) as resp:  # noqa: S310 - loopback
            library = json.loads(resp.read())
        paths = [f"/queries/{urllib.parse.quote(q['name'])}" for q in library if not q["parameters"]]
        threads = [] if args.no_readers else [threading.Thread(target=client, args=(i, paths), daemon=True)
                                              for i in range(args.clients)]
        if not args.no_writer:
            threads.append(threading.Thread(target=writer, daemon=True))
        for t in threads:
            t.start()
        print(f"soak: {args.clients} clients, {args.duration:g} s, imrkg serve pid {server.pid} on port {port}")
        print(f"{'bucket':>6} {'requests':>8} {'errors':>6} {'p50 ms':>7} {'p99 ms':>7} {'RSS MiB':>8}", flush=True)
        b = 0
        while time.monotonic() < stop_at:
            end = min(stop_at, start + (b + 1) * args.bucket)
            time.sleep(max(0.0, end - time.monotonic()))
            memory[b] = rss_kib(server.pid)
            with lock:
                lat = list(buckets.get(b, []))
                errs = bucket_errors[b]
            rss = memory[b]
            print(f"{b + 1:>6} {len(lat) + errs:>8} {errs:>6} {ms(pct(lat, .5)):>7} {ms(pct(lat, .99)):>7} "
                  f"{'-' if rss is None else f'{rss / 1024:.0f}':>8}", flush=True)
            b += 1
        for t in threads:
            t.join(args.request_timeout + 35)
        with urllib.request.urlopen(f"http://{HOST}:{port}/cases", timeout=60) as resp:  # noqa: S310 - loopback
            cases = len(json.loads(resp.read())["cases"])
    finally:
        server.terminate()
        server.wait(30)
    p99s = [pct(buckets.get(i, []), .99) for i in range(b)]
    first, last = [p for p in p99s[:10] if p], [p for p in p99s[-10:] if p]
    ratio = (max(last) / max(first)) if first and last else None
    mems = [memory[i] for i in range(b) if memory.get(i)]
    # The server's memory is a sawtooth: RocksDB's caches fill and are emptied at every reopen of the
    # store (ServiceOptions.reopen_bytes), and the first bucket is taken before they first fill.  The
    # target compares the peaks of the same windows the p99 target uses (last ten buckets against the
    # first ten), so a bounded sawtooth reads as no growth and a leak as growth; the end against the
    # first bucket is printed beside it.
    growth = (max(mems[-10:]) / max(mems[:10]) - 1) if len(mems) >= 2 else None
    growth_from_first = (mems[-1] / mems[0] - 1) if len(mems) >= 2 else None
    print(f"errors by status: {dict(errors) or 'none'}")
    print(f"ingest passes: {len(passes)} ({', '.join(f'exit {c} in {s:.0f} s' for c, s in passes)}); "
          f"cases in the store: {cases}")
    print(f"p99 last ten buckets / first ten: {'-' if ratio is None else f'{ratio:.2f}'} (target <= 1.5); "
          f"memory growth, peak of the last ten buckets / first ten: "
          f"{'-' if growth is None else f'{100 * growth:.1f}%'} (target < 10%)")
    print(f"memory at the end / at the end of the first bucket: "
          f"{'-' if growth_from_first is None else f'{100 * growth_from_first:+.1f}%'}; "
          f"lowest {'-' if not mems else f'{min(mems) / 1024:.0f}'} MiB, "
          f"highest {'-' if not mems else f'{max(mems) / 1024:.0f}'} MiB")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "buckets": [{"requests": len(buckets.get(i, [])) + bucket_errors[i], "errors": bucket_errors[i],
                         "p50": pct(buckets.get(i, []), .5), "p99": p99s[i], "rss_kib": memory.get(i)}
                        for i in range(b)],
            "errors": dict(errors), "passes": passes, "cases": cases, "p99_ratio": ratio, "memory_growth": growth,
            "memory_growth_from_first_bucket": growth_from_first},
            indent=1), encoding="utf-8")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
