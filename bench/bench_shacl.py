"""The compiled SHACL engine against pySHACL on one large graph outside the project's domain.

Not a test: a measurement to run by hand (see bench/README.md).  The shapes are
``bench/shacl-bench-shapes.ttl`` (SHACL Core as the W3C suite uses it: cardinality, datatype,
value range, string, node kind, class with ``rdfs:subClassOf`` in the data, ``sh:in``,
``sh:node``, ``sh:or``, ``sh:not``, ``sh:disjoint``, class and subjects-of targets); the data is
synthetic (seed 1): people, students (a sub-class of person), organisations and managers, about
ten triples a person, with every constraint broken on a few per cent of the nodes.

For each size (default 10^5 and 10^6 triples) each engine runs in a fresh Python process of
its own, so that its memory figure is its own: the data is generated into an rdflib graph (as
both engines are given it), then validated (``kg.batch.validate.validate_data``, with the engine
``compiled`` or ``pyshacl``).  Printed: the validation time (generation not counted), the peak
resident set of the process (``VmHWM``, generation included: the graph both engines need), the
number of results, whether the two engines' results are the same (focus, component, path, value,
source shape), and the ratios.  pySHACL runs up to ``--pyshacl-max`` triples (default 10^5:
beyond, it takes minutes and gigabytes); above, the compiled engine runs alone, and the table
says so.

    python bench/bench_shacl.py                              # 10^5 and 10^6 triples
    python bench/bench_shacl.py --sizes 100000 --pyshacl-max 100000
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHAPES = ROOT / "bench" / "shacl-bench-shapes.ttl"
EX = "http://example.org/bench#"


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def synthetic(triples: int, seed: int = 1) -> Any:
    """About ``triples`` triples of people (some students), organisations and managers."""
    from rdflib import RDF, RDFS, XSD, Graph, Literal, Namespace

    ex = Namespace(EX)
    rnd = random.Random(seed)
    g = Graph()
    g.add((ex.Student, RDFS.subClassOf, ex.Person))
    people = max(1, triples // 10)
    orgs = max(1, people // 50)
    for i in range(orgs):
        o = ex[f"org{i}"]
        g.add((o, RDF.type, ex.Organisation))
        if rnd.random() > 0.03:
            g.add((o, ex.orgName, Literal(f"Organisation {i}")))
        if rnd.random() > 0.05:
            g.add((o, ex.country if rnd.random() < 0.5 else ex.city, Literal("X")))
    statuses = [ex.Active, ex.Retired, ex.Student, ex.Unknown]
    for i in range(people):
        p = ex[f"p{i}"]
        student = rnd.random() < 0.2
        g.add((p, RDF.type, ex.Student if student else ex.Person))
        r = rnd.random()
        if r > 0.02:
            g.add((p, ex.name, Literal(f"Person {i}" if r > 0.04 else "P")))
        if r < 0.01:
            g.add((p, ex.name, Literal(f"Alias {i}")))
        age = rnd.randrange(0, 100) if rnd.random() > 0.02 else 200
        g.add((p, ex.age, Literal(age) if rnd.random() > 0.01 else Literal(str(age))))
        g.add((p, ex.email, Literal(f"p{i}@example.org" if rnd.random() > 0.03 else f"P {i} at example")))
        for _ in range(3):
            j = rnd.randrange(people)
            g.add((p, ex.knows, ex[f"p{j}"] if rnd.random() > 0.01 else ex[f"thing{j}"]))
        g.add((p, ex.worksFor, ex[f"org{rnd.randrange(orgs)}"]))
        g.add((p, ex.status, statuses[0 if rnd.random() > 0.03 else rnd.randrange(4)]))
        if rnd.random() < 0.05:
            target = ex[f"p{rnd.randrange(people)}"]
            g.add((p, ex.manages, target))
            if rnd.random() < 0.2:
                g.add((p, ex.knows, target))
    g.add((ex.Student, RDF.type, RDFS.Class))
    del XSD
    return g


def phase(engine: str, triples: int) -> dict[str, Any]:
    from kg.batch.validate import validate_data
    from kg.engine.validate import read_shapes

    shapes = read_shapes(SHAPES)
    t = time.perf_counter()
    data = synthetic(triples)
    generated = time.perf_counter() - t
    t = time.perf_counter()
    report = validate_data(data, shapes, engine=engine)
    seconds = time.perf_counter() - t
    import hashlib

    from rdflib import BNode

    from kg.engine.validate import SH

    def shape(node: Any) -> str:  # blank-node shapes differ from one parse to the next: named by their path
        return f"_:{shapes.graph.value(node, SH.path)}" if isinstance(node, BNode) else str(node)

    keys = sorted(str((r.focus, r.component, r.path, r.value, shape(r.source_shape))) for r in report.results)

    return {"engine": report.engine, "triples": len(data), "generate_s": generated, "seconds": seconds,
            "peak_mb": _peak_mb(), "results": len(report.results),
            "digest": hashlib.sha256("\n".join(keys).encode()).hexdigest()}


def run_phase(engine: str, triples: int) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--phase", engine, "--triples", str(triples)],
                          capture_output=True, text=True, check=False, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"{engine} at {triples:,} triples failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100000,1000000", help="triples, comma-separated")
    ap.add_argument("--pyshacl-max", type=int, default=100_000, help="largest size pySHACL is run at")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--triples", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.phase:
        print(json.dumps(phase(args.phase, args.triples)))
        return 0
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        print(f"[{n:,}] compiled", file=sys.stderr)
        c = run_phase("compiled", n)
        p = None
        if n <= args.pyshacl_max:
            print(f"[{n:,}] pySHACL", file=sys.stderr)
            p = run_phase("pyshacl", n)
        rows.append((n, c, p))
    print(f"compiled SHACL engine vs pySHACL, {SHAPES.relative_to(ROOT)} over synthetic data (seed 1)")
    print(f"{'triples':>10} | {'compiled s':>10} {'MB':>6} | {'pySHACL s':>10} {'MB':>6} | {'speed-up':>8} "
          f"{'memory':>7} | {'results':>8} same")
    for _n, c, p in rows:
        if c["engine"] != "compiled":
            print(f"{c['triples']:>10,} | the compiled engine refused the shapes or data: pySHACL ran instead")
            continue
        if p is None:
            print(f"{c['triples']:>10,} | {c['seconds']:>10.2f} {c['peak_mb']:>6.0f} | {'not run':>10} {'':>6} | "
                  f"{'':>8} {'':>7} | {c['results']:>8,} (pySHACL not run above {args.pyshacl_max:,} triples)")
            continue
        same = "yes" if c["digest"] == p["digest"] else "NO"
        print(f"{c['triples']:>10,} | {c['seconds']:>10.2f} {c['peak_mb']:>6.0f} | {p['seconds']:>10.2f} "
              f"{p['peak_mb']:>6.0f} | {p['seconds'] / c['seconds']:>7.1f}x {p['peak_mb'] / c['peak_mb']:>6.2f}x | "
              f"{c['results']:>8,} {same}")
    print("times: validation alone (the data generated into an rdflib graph first, not counted); "
          "MB: the process's peak resident set, that graph included")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
