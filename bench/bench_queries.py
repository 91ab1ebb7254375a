"""Time every library query on the embedded pyoxigraph store and on rdflib's in-memory engine.

Not a test: a measurement to run by hand (see bench/README.md).  The cases are made once: the
inputs (by default the real letters in ../shared/letters) go through :func:`kg.jobs.ingest.ingest`
into an in-memory pyoxigraph store; with ``--synthetic N`` those cases are copied under new case
ids until there are N.  Every case's four named graphs are then exported with
:meth:`kg.store.store.Store.case_graph`, the guidelines graph with it, into one N-Quads file.

Each engine then runs in a fresh Python process of its own (so the memory figures are its own):
it loads the N-Quads file (pyoxigraph ``Store.load``; rdflib ``Dataset(default_union=True)``
``.parse``) and runs each library query ``--runs`` times, parameters bound by the engine's own
substitution (a ``VALUES`` block through :meth:`kg.store.store.LocalStore.query`; rdflib's
``initBindings``).  rdflib runs under a per-query timeout (SIGALRM, which interrupts its
pure-Python evaluation); a query past it is reported as ``>T s`` and not run again.

Printed: the load time and peak memory (``ru_maxrss`` of the engine's process, and how much the
load added to it), then one line per query with both medians, the ratio rdflib / pyoxigraph,
the number of rows and whether both engines gave the same rows (numbers compared by value, blank
nodes by position, order ignored).

    python bench/bench_queries.py                   # the letters
    python bench/bench_queries.py --synthetic 1000  # the letters' cases copied up to 1,000 cases
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from kg.rdf import KG
from kg.store.faults import StoreError

ROOT = Path(__file__).resolve().parents[1]
LETTERS = ROOT.parent / "shared" / "letters"
# "store": the embedded default store, pyoxigraph on disk (RocksDB), as imrkg opens it;
# "memory": pyoxigraph's in-memory store; "rdflib": rdflib's Dataset and SPARQL engine;
# "virtuoso": a fresh Virtuoso server (kg.store.virtuoso) bulk-loaded with the same quads, queried
# through the library's RemoteStore over HTTP
#: Virtuoso's NumberOfBuffers (8 KB pages it may hold): about 5.2 GB, what its guide asks for a store
#: of some 20 million quads (the 100,000 synthetic cases hold 21.5 million)
VIRTUOSO_BUFFERS = 680_000
ENGINES = ("store", "memory", "rdflib", "virtuoso")
#: the engines run when --engines is not given (Virtuoso is opt-in: it needs the Debian package)
DEFAULT_ENGINES = ("store", "memory", "rdflib")
#: a case the engine determined (for the queries that take one case)
_DETERMINED_CASE = (f"PREFIX kg: <{KG}> SELECT ?case WHERE {{ ?case kg:hasRequest ?r . "
                    "?d kg:determinationFor ?r ; kg:usedSection ?s } ORDER BY ?case LIMIT 1")


# ---------------------------------------------------------------------------------------------
# Making the data (parent process)
# ---------------------------------------------------------------------------------------------
def _progress(i: int, n: int, name: str) -> None:
    if i % 25 == 0 or i == n:
        print(f"  ingest {i}/{n} {name}", file=sys.stderr, flush=True)


def _renamer(case_id: str, new_id: str, copy: int):
    """A function renaming one term for a copy of ``case_id``: the case's IRIs move under the new
    case IRI, blank nodes get a copy-specific label, a literal equal to the id becomes the new id."""
    from rdflib import BNode, Literal, URIRef

    from kg.engine.graph import case_iri

    old, new = str(case_iri(case_id)), str(case_iri(new_id))

    def rename(term):
        if isinstance(term, URIRef) and term.startswith(old):
            return URIRef(new + term[len(old):])
        if isinstance(term, BNode):
            return BNode(f"{term}x{copy}")
        if isinstance(term, Literal) and str(term) == case_id and term.datatype is None and not term.language:
            return Literal(new_id)
        return term

    return rename


def export_quads(inputs: list[str], synthetic: int | None, out: Path, *,
                 store_dir: str | None = None, dump: bool = True) -> dict[str, Any]:
    """Ingest ``inputs`` into an in-memory store (or, with ``store_dir``, read the cases of that
    existing store instead), copy the cases up to ``synthetic`` if given, and write every case
    graph and the guidelines graph to ``out`` as N-Quads.  Returns facts about it."""
    from rdflib import Graph
    from rdflib.term import Node

    from kg.engine.graph import case_iri
    from kg.jobs.ingest import ingest
    from kg.store.store import GRAPH_NAMES, GUIDELINES_GRAPH, graph_iri, open_store

    if store_dir and not synthetic:
        # the whole store as it is, dumped by pyoxigraph (fast at 100,000 cases)
        import pyoxigraph as ox

        store = open_store(store_dir)
        if dump:
            store._store.dump(output=str(out), format=ox.RdfFormat.N_QUADS)  # type: ignore[attr-defined]
            with out.open("rb") as fh:
                quads = sum(1 for _ in fh)
        else:  # only the store itself is queried: no file needed (the dump takes minutes at 100,000 cases)
            quads = len(store._store)  # type: ignore[attr-defined]
        determined = store.query(_DETERMINED_CASE)
        example_case = str(determined.rows[0][0]) if determined.rows else str(case_iri(store.case_ids()[0]))
        cases = len(store.case_ids())
        store.close()
        return {"inputs": None, "ingest_s": None, "cases": cases, "quads": quads, "example_case": example_case}
    if store_dir:
        store = open_store(store_dir)
        inputs_read, ingest_s = None, None
    else:
        store = open_store("memory")
        t = time.perf_counter()
        summary = ingest(inputs, store, progress=_progress)
        ingest_s = time.perf_counter() - t
        inputs_read = len(summary.cases)
        for err in summary.errors:
            print(f"  not ingested: {err}", file=sys.stderr)
    cases = store.case_ids()
    if not cases:
        raise SystemExit(f"no case could be read from {store_dir or inputs}")
    guidelines = store.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{GUIDELINES_GRAPH}> {{ ?s ?p ?o }} }}").graph
    assert guidelines is not None
    exported = {c: {n: store.case_graph(c, n) for n in GRAPH_NAMES} for c in cases}

    def write(fh: Any, graph: Graph, name: Node) -> int:
        # rdflib's N-Triples writer escapes as N-Quads needs; the graph name goes before the dot
        text = graph.serialize(format="nt", encoding="utf-8").decode("utf-8")
        lines = [ln for ln in text.splitlines() if ln.strip()]
        fh.writelines(f"{ln[:-1]}{name.n3()} .\n" for ln in lines)
        return len(lines)

    quads = 0
    total = synthetic or len(cases)
    with out.open("w", encoding="utf-8") as fh:
        quads += write(fh, guidelines, GUIDELINES_GRAPH)
        for k in range(total):
            case_id = cases[k % len(cases)]
            copy = k // len(cases)
            new_id = case_id if copy == 0 else f"{case_id}-s{copy}"
            for name in GRAPH_NAMES:
                graph: Graph = exported[case_id][name]
                if copy:
                    rename = _renamer(case_id, new_id, copy)
                    renamed = Graph()
                    for triple in graph:
                        renamed.add(tuple(rename(t) for t in triple))
                    graph = renamed
                quads += write(fh, graph, graph_iri(new_id, name))
    # a case the engine determined (for the queries that take one case)
    determined = store.query(_DETERMINED_CASE)
    example_case = str(determined.rows[0][0]) if determined.rows else str(case_iri(cases[0]))
    store.close()
    return {"inputs": inputs_read, "ingest_s": ingest_s, "cases": total, "quads": quads,
            "example_case": example_case}


def library_params(example_case: str) -> dict[str, dict[str, str]]:
    """The raw parameters each library query is run with: ``case`` is a determined case, any other
    parameter the example its header gives ("e.g. ...")."""
    import re

    from kg.store.query import library

    out: dict[str, dict[str, str]] = {}
    for q in library():
        raw = {}
        for p in q.parameters:
            if p.name == "case":
                raw[p.name] = example_case
            else:
                m = re.search(r"e\.g\.\s*(\S+)", p.description)
                if m:
                    raw[p.name] = m.group(1).rstrip(".,;)")
        out[q.name] = raw
    return out


# ---------------------------------------------------------------------------------------------
# One engine (child process)
# ---------------------------------------------------------------------------------------------
class _QueryTimeout(Exception):
    pass


def _on_alarm(signum: int, frame: object) -> None:
    raise _QueryTimeout()


def _norm(term: Any) -> str:
    """A row cell as a comparable string: numbers by value, blank nodes without their label."""
    from rdflib import XSD, BNode, Literal

    if term is None:
        return ""
    if isinstance(term, BNode):
        return "_:b"
    if isinstance(term, Literal) and term.datatype in (XSD.integer, XSD.decimal, XSD.double, XSD.float,
                                                        XSD.int, XSD.long, XSD.nonNegativeInteger):
        try:
            return f"number {float(term):.9g}"
        except ValueError:
            pass
    return term.n3()


_GROUP_CONCAT = re.compile(r"GROUP_CONCAT\s*\(((?:[^()]|\([^()]*\))*)\)\s*AS\s*\?(\w+)", re.IGNORECASE)
_COALESCED = re.compile(r"BIND\s*\(\s*COALESCE\s*\(\s*\?(\w+)[^()]*\)\s*AS\s*\?(\w+)\s*\)", re.IGNORECASE)
_SEPARATOR = re.compile(r"SEPARATOR\s*=\s*(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')", re.IGNORECASE)


def _concatenated(text: str) -> dict[str, str]:
    """The ``GROUP_CONCAT`` result columns of a query and their separators: SPARQL leaves the order
    of the concatenated values open, so the comparison of rows takes them as a multiset.

    A column bound to one of them by ``BIND(COALESCE(?concatenated, ...) AS ?column)`` is one too.

    >>> _concatenated('SELECT (GROUP_CONCAT(?f; SEPARATOR=", ") AS ?failing) WHERE {}')
    {'failing': ', '}
    >>> _concatenated('SELECT ?all { { SELECT (GROUP_CONCAT(?f; SEPARATOR=", ") AS ?some) {} } '
    ...               'BIND(COALESCE(?some, "") AS ?all) }')
    {'some': ', ', 'all': ', '}
    """
    out = {}
    for m in _GROUP_CONCAT.finditer(text):
        sep = _SEPARATOR.search(m.group(1))
        out[m.group(2)] = sep.group(1)[1:-1] if sep else " "
    for m in _COALESCED.finditer(text):
        if m.group(1) in out:
            out[m.group(2)] = out[m.group(1)]
    return out


def _digest(columns: list[str], rows: list[tuple], concatenated: dict[str, str]) -> list:
    """The rows as a sorted multiset of comparable cells (see :func:`_norm`, :func:`_concatenated`)."""
    seps = [concatenated.get(c) for c in columns]

    def cell(term: Any, sep: str | None) -> str:
        text = _norm(term)
        if sep and term is not None:
            return sep.join(sorted(str(term).split(sep)))
        return text

    return sorted(Counter(tuple(cell(v, sep) for v, sep in zip(r, seps, strict=False)) for r in rows).items())


def _peak_rss_mb() -> float:
    """This process's peak resident memory in MB: ``VmHWM`` of /proc/self/status, which starts
    afresh at exec (``ru_maxrss`` would carry over the parent's peak through fork and exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # elsewhere (Linux units: KB)


def worker(engine: str, quads: Path, runs: int, timeout: float, params: dict[str, dict[str, str]],
           store_dir: str | None = None, scratch: str | None = None, only: list[str] | None = None) -> dict[str, Any]:
    """Load ``quads`` into ``engine`` and time every library query; the result as plain data.

    The ``store`` engine queries ``store_dir`` itself when given (the store as the batch left
    it); otherwise it bulk-loads ``quads`` into a new on-disk store under ``scratch``."""
    from kg.store.query import PAGING, bind_parameters, library, paged_text

    queries = [q for q in library() if not only or q.name in only]
    stack = contextlib.ExitStack()
    server_rss = _peak_rss_mb  # the memory measured: this process's, or the Virtuoso server's
    rss_before = server_rss()
    t = time.perf_counter()
    if engine in ("store", "memory"):
        import pyoxigraph as ox

        from kg.store.store import LocalStore

        if engine == "store" and store_dir:
            store = LocalStore(store_dir)
        else:
            store = LocalStore(None if engine == "memory" else Path(scratch or tempfile.mkdtemp()) / "store")
            # the bulk N-Quads reader of the store LocalStore wraps (the same load path for both engines)
            if engine == "memory":
                store._store.load(path=str(quads), format=ox.RdfFormat.N_QUADS)
            else:
                store._store.bulk_load(path=str(quads), format=ox.RdfFormat.N_QUADS)

        def run(text: str, bound: dict) -> tuple[list[str], list[tuple]]:
            result = store.query(text, bound)
            return list(result.columns), list(result.rows)
    elif engine == "virtuoso":
        from kg.store.store import RemoteStore
        from kg.store.virtuoso import running_virtuoso

        folder = Path(scratch or tempfile.mkdtemp()) / "virtuoso"
        folder.mkdir()
        # the server reads files from its own folder only: the quads go there (a link, not a copy)
        try:
            os.link(quads, folder / quads.name)
        except OSError:
            shutil.copyfile(quads, folder / quads.name)
        server = stack.enter_context(running_virtuoso(folder, buffers=VIRTUOSO_BUFFERS, max_rows=10_000_000,
                                                      query_seconds=int(timeout)))
        server_rss = server.peak_rss_mb
        rss_before = server_rss()
        t = time.perf_counter()
        server.bulk_load(folder / quads.name)
        remote = RemoteStore(server.url, timeout=timeout + 30)

        def run(text: str, bound: dict) -> tuple[list[str], list[tuple]]:
            result = remote.query(text, bound)
            return list(result.columns), list(result.rows)
    else:
        from rdflib import Dataset

        dataset = Dataset(default_union=True)
        dataset.parse(str(quads), format="nquads")

        def run(text: str, bound: dict) -> tuple[list[str], list[tuple]]:
            result = dataset.query(text, initBindings=bound)
            return [str(v) for v in result.vars or []], [tuple(row) for row in result]
    load_s = time.perf_counter() - t
    rss_loaded = server_rss()
    signal.signal(signal.SIGALRM, _on_alarm)
    results: dict[str, Any] = {}
    runs_of = []  # (label, text, bound): a list query with paging parameters whole and as its first page
    for q in queries:
        raw = params.get(q.name, {})
        whole = {k: v for k, v in raw.items() if k not in PAGING}
        runs_of.append((q.name, q.text, bind_parameters(q, whole)))
        if whole != raw:
            runs_of.append((f"{q.name} (first page)", paged_text(q, raw), bind_parameters(q, raw)))
    for name, text, bound in runs_of:
        times: list[float] = []
        rows: list[tuple] = []
        columns: list[str] = []
        timed_out = False
        error = None
        for _ in range(runs):
            if engine == "rdflib":
                signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                t = time.perf_counter()
                columns, rows = run(text, bound)
                times.append(time.perf_counter() - t)
            except _QueryTimeout:
                timed_out = True
                break
            except StoreError as exc:  # Virtuoso's own time limit, or any error it answers
                timed_out, error = True, str(exc)[:300]
                break
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        results[name] = {
            "median_ms": None if timed_out else 1000 * statistics.median(times),
            "timed_out": timed_out, "error": error, "rows": None if timed_out else len(rows),
            "digest": None if timed_out else _digest(columns, rows, _concatenated(text)),
        }
    peak = server_rss()
    stack.close()
    return {"engine": engine, "load_s": load_s, "rss_start_mb": rss_before, "rss_after_load_mb": rss_loaded,
            "rss_peak_mb": peak, "queries": results}


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------
def _ms(entry: dict[str, Any], timeout: float) -> str:
    if entry.get("error") and "time" not in entry["error"].lower():
        return "error"
    if entry["timed_out"]:
        return f">{timeout:g} s"
    ms = entry["median_ms"]
    return f"{ms:.1f}" if ms < 100 else f"{ms:,.0f}"


def _ratio(fast: dict[str, Any], slow: dict[str, Any], timeout: float) -> str:
    if fast["timed_out"] or not fast["median_ms"]:
        return "-"
    if slow["timed_out"]:
        return f">{timeout * 1000 / max(fast['median_ms'], 1e-6):,.0f}"
    return f"{slow['median_ms'] / max(fast['median_ms'], 1e-6):,.1f}"


def report(facts: dict[str, Any], results: dict[str, dict[str, Any]], runs: int, timeout: float) -> str:
    """The table: one column per engine run, the ratios rdflib / on-disk store and rdflib / in memory."""
    engines = [e for e in ENGINES if e in results]
    title = {"store": "store (disk)", "memory": "in memory", "rdflib": "rdflib", "virtuoso": "Virtuoso"}
    made = ("" if facts["ingest_s"] is None else
            f"ingest of {facts['inputs']} inputs through kg.jobs.ingest: {facts['ingest_s']:.1f} s; ")
    opened = " (the store itself, opened)" if facts.get("store_opened") else ""
    lines = [f"{facts['cases']:,} cases ({facts['source']}), {facts['quads']:,} quads; {made}"
             f"median of {runs} runs; rdflib timeout {timeout:g} s",
             "",
             f"{'':42}" + "".join(f" {title[e]:>13}" for e in engines),
             f"{'load (N-Quads), s':42}" + "".join(f" {results[e]['load_s']:>13.2f}" for e in engines) + opened,
             f"{'peak memory (max RSS), MB':42}" + "".join(f" {results[e]['rss_peak_mb']:>13.0f}" for e in engines),
             f"{'added by the load, MB':42}" + "".join(
                 f" {results[e]['rss_after_load_mb'] - results[e]['rss_start_mb']:>13.0f}" for e in engines),
             ""]
    short = {"store": "disk", "memory": "mem", "rdflib": "rdflib", "virtuoso": "Virtuoso"}
    ratios = [(f, s) for f, s in (("store", "rdflib"), ("memory", "rdflib"), ("store", "virtuoso"))
              if f in results and s in results]
    lines.append(f"{'query (median ms)':42}" + "".join(f" {title[e]:>13}" for e in engines)
                 + "".join(f" {short[s] + '/' + short[f]:>12}" for f, s in ratios)
                 + f" {'rows':>7}  same rows")
    for name in results[engines[0]]["queries"]:
        entries = {e: results[e]["queries"][name] for e in engines}
        cells = "".join(f" {_ms(entries[e], timeout):>13}" for e in engines)
        cells += "".join(f" {_ratio(entries[f], entries[slow], timeout):>12}" for f, slow in ratios)
        done = [x for x in entries.values() if not x["timed_out"]]
        same = "-" if len(done) < 2 else ("yes" if all(x["digest"] == done[0]["digest"] for x in done) else "NO")
        rows = next((str(x["rows"]) for x in done), "-")
        lines.append(f"{name:42}{cells} {rows:>7}  {same}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("inputs", nargs="*", default=[str(LETTERS)],
                    help="letters or case files, or folders of them (default: ../shared/letters)")
    ap.add_argument("--store", metavar="DIR", help="take the cases of this existing imr-kg store instead of ingesting")
    ap.add_argument("--synthetic", type=int, metavar="N", help="copy the cases under new ids up to N cases")
    ap.add_argument("--runs", type=int, default=5, help="runs per query; the median is reported (default 5)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per rdflib query run (default 60)")
    ap.add_argument("--engines", default=",".join(DEFAULT_ENGINES),
                    help="which engines, of store (on disk), memory, rdflib, virtuoso (default: the first three)")
    ap.add_argument("--json", metavar="FILE", help="also write every measurement as JSON to FILE")
    ap.add_argument("--queries", metavar="NAMES", help="only these library queries (comma-separated names)")
    ap.add_argument("--worker", choices=ENGINES, help=argparse.SUPPRESS)
    ap.add_argument("--quads", help=argparse.SUPPRESS)
    ap.add_argument("--params", help=argparse.SUPPRESS)
    ap.add_argument("--scratch", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        data = worker(args.worker, Path(args.quads), args.runs, args.timeout, json.loads(args.params),
                      store_dir=args.store, scratch=args.scratch,
                      only=[n for n in (args.queries or "").split(",") if n] or None)
        json.dump(data, sys.stdout)
        return 0
    engines = [e for e in args.engines.split(",") if e]
    with tempfile.TemporaryDirectory(prefix="imrkg-bench-") as tmp:
        quads = Path(tmp) / "cases.nq"
        engines_need_file = any(e != "store" for e in engines) or not args.store or args.synthetic
        facts = export_quads(args.inputs, args.synthetic, quads, store_dir=args.store, dump=bool(engines_need_file))
        facts["store_opened"] = bool(args.store and not args.synthetic)
        facts["source"] = ("synthetic copies of " if args.synthetic else "") + (
            f"store {args.store}" if args.store else ", ".join(Path(p).name for p in args.inputs))
        params = library_params(facts["example_case"])
        print(f"exported {facts['cases']} cases, {facts['quads']} quads", file=sys.stderr, flush=True)
        results = {}
        for engine in engines:
            print(f"running {engine} ...", file=sys.stderr, flush=True)
            proc = subprocess.run([sys.executable, __file__, "--worker", engine, "--quads", str(quads),
                                   "--runs", str(args.runs), "--timeout", str(args.timeout),
                                   "--params", json.dumps(params), "--scratch", tmp]
                                  + (["--queries", args.queries] if args.queries else [])
                                  + (["--store", args.store] if facts["store_opened"] else []),
                                  capture_output=True, text=True, check=False, env={**os.environ})
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return 3
            results[engine] = json.loads(proc.stdout)
    if args.json:
        Path(args.json).write_text(json.dumps({"facts": facts, "params": params, "results": results}, indent=1))
    if len(results) > 1:
        print(report(facts, results, args.runs, args.timeout), end="")
    else:
        for engine, data in results.items():
            print(engine, f"load {data['load_s']:.2f} s, peak {data['rss_peak_mb']:.0f} MB")
            for name, entry in data["queries"].items():
                print(f"  {name:34} {_ms(entry, args.timeout):>12} ms  {entry['rows']} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
