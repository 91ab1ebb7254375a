"""Load benchmark of the endpoint: the query library against ``imrkg serve`` on loopback.

A benchmark, not a test: it prints figures and exits 0 (1 when any request failed).  It is bounded
on every side: a fixed number of requests per concurrency level, a time limit per level, and it
only ever talks to the ``imrkg serve`` it starts itself on 127.0.0.1 (a free port).

For each concurrency level (default 1, 4, 16, 32) N client threads, each with its own keep-alive
HTTP/1.1 connection, run the library queries round-robin (``GET /queries/<name>``, SPARQL JSON)
until the level's request budget or time limit is spent.  Printed per level: requests done,
throughput, p50 and p99 latency, errors (any status other than 200, or a broken connection, by
status), and the server process's resident memory (VmRSS) before and after the level.

The store is a fresh one in a temporary folder, filled with ``imrkg ingest`` from the examples and,
when present, the letters beside the checkout (``../shared/letters``); ``--store DIR`` uses an
existing store instead (it is only read).

    python bench/load.py                                   # the defaults: 200 requests a level
    python bench/load.py --requests 500 --levels 1,8,32 --time-limit 60
    python bench/load.py --store ~/.local/share/imr-kg/store --max-concurrency 4

``--max-concurrency`` is passed to the server (queries it runs at once; more are answered 503 at
once, not queued): the default here is the largest level, so that 503s measure a failure, not the
bound; run with the server's own default (4) to see the bound at work.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LETTERS = ROOT.parent / "shared" / "letters"
HOST = "127.0.0.1"  # loopback only: never changed by an option


def imrkg() -> list[str]:
    """The imrkg command of this interpreter's environment."""
    script = Path(sys.executable).with_name("imrkg")
    return [str(script)] if script.exists() else [sys.executable, "-m", "kg.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int | None:
    """Resident memory of a process in KiB (Linux /proc), or None."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def build_store(folder: Path, *, letters: bool) -> float:
    """Ingest the examples (and the letters) into ``folder``; return the seconds it took."""
    inputs = [str(ROOT / "examples")] + ([str(LETTERS)] if letters and LETTERS.is_dir() else [])
    start = time.monotonic()
    subprocess.run(imrkg() + ["ingest", *inputs, "--store", str(folder), "--quiet"], check=False,
                   stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def start_server(store: str, port: int, max_concurrency: int, query_timeout: float,
                 update_token: str | None = None, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``imrkg serve`` on loopback, returned once /health answers; read-only unless ``update_token``;
    ``env`` is added to the server's environment."""
    env = {**os.environ, **(env or {})}
    env.pop("IMRKG_UPDATE_TOKEN", None)
    if update_token is not None:
        env["IMRKG_UPDATE_TOKEN"] = update_token
    proc = subprocess.Popen(imrkg() + ["serve", "--store", store, "--host", HOST, "--port", str(port),
                                       "--max-concurrency", str(max_concurrency),
                                       "--query-timeout", str(query_timeout)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"imrkg serve exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                conn.close()
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("imrkg serve did not answer /health within 60 s")


def library_paths(port: int) -> list[str]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    conn.request("GET", "/queries")
    names = [q["name"] for q in json.loads(conn.getresponse().read())]
    conn.close()
    return [f"/queries/{urllib.parse.quote(n)}" for n in names]


def run_level(port: int, paths: list[str], clients: int, budget: int, time_limit: float,
              request_timeout: float) -> dict:
    """``clients`` threads share ``budget`` requests; stop at the budget or the time limit."""
    lock = threading.Lock()
    issued = [0]
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    stop_at = time.monotonic() + time_limit

    def take() -> int | None:
        with lock:
            if issued[0] >= budget or time.monotonic() >= stop_at:
                return None
            issued[0] += 1
            return issued[0]

    def client() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=request_timeout)
        while (n := take()) is not None:
            path = paths[n % len(paths)]
            start = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Accept": "application/sparql-results+json"})
                resp = conn.getresponse()
                resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException) as exc:
                status = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=request_timeout)
            elapsed = time.perf_counter() - start
            with lock:
                if status == 200:
                    latencies.append(elapsed)
                else:
                    errors[str(status)] += 1
        conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(time_limit + request_timeout + 5)
    wall = time.monotonic() - start
    lat = sorted(latencies)

    def pct(p: float) -> float | None:
        return lat[min(len(lat) - 1, int(round(p * (len(lat) - 1))))] if lat else None

    return {"clients": clients, "requests": len(lat) + sum(errors.values()), "ok": len(lat),
            "errors": dict(errors), "seconds": wall, "throughput": len(lat) / wall if wall else 0.0,
            "p50": pct(0.50), "p99": pct(0.99), "mean": statistics.fmean(lat) if lat else None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--levels", default="1,4,16,32", help="client counts, comma-separated (default 1,4,16,32)")
    ap.add_argument("--requests", type=int, default=200, help="requests per level (default 200)")
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds per level at most (default 60)")
    ap.add_argument("--request-timeout", type=float, default=60.0, help="client timeout per request, s")
    ap.add_argument("--query-timeout", type=float, default=30.0, help="the server's --query-timeout, s")
    ap.add_argument("--max-concurrency", type=int, default=None,
                    help="the server's --max-concurrency (default: the largest level)")
    ap.add_argument("--store", help="an existing store folder to serve (default: a fresh one)")
    ap.add_argument("--no-letters", action="store_true", help="fresh store from the examples only")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    if not levels or min(levels) < 1 or args.requests < 1 or args.time_limit <= 0:
        ap.error("levels, --requests and --time-limit must be positive")
    max_conc = args.max_concurrency or max(levels)

    tmp = None
    if args.store:
        store = args.store
        built = None
    else:
        tmp = Path(tempfile.mkdtemp(prefix="imrkg-load-"))
        store = str(tmp / "store")
        built = build_store(Path(store), letters=not args.no_letters)
    port = free_port()
    server = start_server(store, port, max_conc, args.query_timeout)
    results = []
    try:
        paths = library_paths(port)
        # one warm-up pass over the library, not counted
        run_level(port, paths, 1, len(paths), args.time_limit, args.request_timeout)
        for clients in levels:
            before = rss_kib(server.pid)
            res = run_level(port, paths, clients, args.requests, args.time_limit, args.request_timeout)
            res["rss_before_mib"] = before / 1024 if before else None
            after = rss_kib(server.pid)
            res["rss_after_mib"] = after / 1024 if after else None
            results.append(res)
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    ms = lambda v: "-" if v is None else f"{v * 1000:.0f}"  # noqa: E731
    mib = lambda v: "-" if v is None else f"{v:.0f}"  # noqa: E731
    print(f"imrkg serve on {HOST}, store {'(fresh, built in %.0f s)' % built if built is not None else store}, "
          f"{len(paths)} library queries round-robin, server --max-concurrency {max_conc}, "
          f"{os.cpu_count()} CPUs")
    head = ("clients", "requests", "req/s", "p50 ms", "p99 ms", "errors", "RSS before MiB", "RSS after MiB")
    rows = [(str(r["clients"]), str(r["requests"]), f"{r['throughput']:.1f}", ms(r["p50"]), ms(r["p99"]),
             ", ".join(f"{k}: {v}" for k, v in sorted(r["errors"].items())) or "0",
             mib(r["rss_before_mib"]), mib(r["rss_after_mib"])) for r in results]
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    for row in (head, tuple("-" * w for w in widths), *rows):
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
    if args.json:
        Path(args.json).write_text(json.dumps({"levels": results, "max_concurrency": max_conc}, indent=2))
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
