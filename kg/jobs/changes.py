"""What a re-determination changes: each case's results compared with what the store holds, by digest.

First of the jobs: :mod:`kg.jobs.inputs` records the digests as it ingests, and the batch
determination (:func:`kg.jobs.ingest.determine_all`) uses them.  When the batch engine determines a
case again (the shapes or the engine changed, so the case's stamp no longer matches), most results
come out the same: the inferred graph depends on the
ontology, the rules and the case only, and a shapes change alters the determinations of the items
it touches.  Writing every result back costs about 6 µs a quad (95 quads a case).  So each case's
two result graphs are digested (SHA-256 of their sorted N-Quads lines, the stamp left out) and the
digests kept in the case's own ``<case>graph/digest`` graph; the next run compares the new digests
with the stored ones and writes

* nothing for a graph whose digest is unchanged;
* the whole graph (dropped and loaded again) for one whose digest changed or was never stored;
* the stamp (``kg:determinedWith``, one quad removed and one added) for a case whose stamp changed,
  so the run after it skips the case.

Every write of a case through :class:`kg.store.store.Store` (``put_case``, ``replace_cases``,
``delete_case``) drops the digest graph with the case's other graphs, so a stored digest always
describes the graphs stored beside it.  A graph written on its own from outside (a Graph Store
``PUT`` of one graph) is not seen; ``imrkg determine --all --force`` writes everything again.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Mapping

from kg.rdf import CASE_BASE, KG
from kg.store.store import DIGEST_GRAPH

if TYPE_CHECKING:
    from kg.engine.validate import Shapes
    from kg.store.store import Store

__all__ = ["RESULT_GRAPHS", "Stored", "ChangePlan", "stored_results", "graph_digests", "digest_quads", "plan_changes",
           "cases_to_determine", "cases_typed", "restamp"]

#: the result graphs a determination writes, in the order the digests are kept
RESULT_GRAPHS = ("inferred", "determination")
_PREDICATE = {"inferred": KG.inferredDigest, "determination": KG.determinationDigest}


@dataclass(frozen=True)
class Stored:
    """What the store holds for one case: its stamp and the digests of its result graphs (by name;
    a graph without a stored digest is absent)."""

    stamp: str
    digests: Mapping[str, str]


def _case_id(case: str) -> str:
    return case[len(CASE_BASE):].rstrip("/")


def stored_results(store: Store) -> dict[str, Stored]:
    """Every determined case's stamp and result digests, by case id, read with two queries (one per
    predicate: no join in the store)."""
    stamps = store.query(f"SELECT ?case ?stamp WHERE {{ GRAPH ?g {{ ?case <{KG.determinedWith}> ?stamp }} }}")
    digests: dict[str, dict[str, str]] = defaultdict(dict)
    values = " ".join(f"<{p}>" for p in _PREDICATE.values())
    # only the digest graphs hold these predicates: no filter on the graph (its name not decoded)
    rows = store.query(f"SELECT ?case ?p ?digest WHERE {{ VALUES ?p {{ {values} }} GRAPH ?g {{ ?case ?p ?digest }} }}")
    names = {str(p): n for n, p in _PREDICATE.items()}
    for case, p, digest in rows.rows:
        digests[_case_id(str(case))][names[str(p)]] = str(digest)
    return {_case_id(str(case)): Stored(stamp=str(stamp), digests=digests.get(_case_id(str(case)), {}))
            for case, stamp in stamps.rows if case is not None and stamp is not None}


def _graph_name(line: str) -> tuple[str, str] | None:
    """(case id, graph name) of an N-Quads line in one of a case's graphs, else None."""
    parts = line.rsplit(" ", 2)
    if len(parts) != 3 or not parts[1].startswith("<" + CASE_BASE) or "/graph/" not in parts[1]:
        return None
    case, name = parts[1][1 + len(CASE_BASE):-1].rsplit("/graph/", 1)
    return case.rstrip("/"), name


def graph_digests(nquads: bytes) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], list[bytes]]]:
    """The digest of every case graph in ``nquads`` (N-Quads, one quad a line, as the batch engine
    writes them), by (case id, graph name), and the graphs' lines.  The digest is the SHA-256 of
    the graph's lines sorted, so it does not depend on their order.

    >>> quad = b'<https://w3id.org/imr-kg/case/c1/> <urn:p> "x" <https://w3id.org/imr-kg/case/c1/graph/inferred> .'
    >>> digests, lines = graph_digests(quad + b"\\n")
    >>> sorted(digests), len(digests["c1", "inferred"])
    ([('c1', 'inferred')], 64)
    """
    lines: dict[tuple[str, str], list[bytes]] = defaultdict(list)
    for line in nquads.splitlines():
        if not line.strip():
            continue
        key = _graph_name(line.decode("utf-8"))
        if key is None:
            raise ValueError(f"a quad outside the cases' graphs: {line[:200]!r}")
        lines[key].append(line)
    digests = {}
    for key, group in lines.items():
        h = hashlib.sha256()
        for line in sorted(group):
            h.update(line + b"\n")
        digests[key] = h.hexdigest()
    return digests, lines


def digest_quads(cases: Iterable[str], digests: Mapping[tuple[str, str], str]) -> bytes:
    """The digest graphs of ``cases`` (N-Quads): each case's two result digests from ``digests``
    (see :func:`graph_digests`; a graph with no quads has the digest of nothing)."""
    from kg.batch.engine import graph_of

    return b"".join(_quad(f"{CASE_BASE}{cid}/", str(_PREDICATE[n]), digests.get((cid, n), _EMPTY),
                          graph_of(cid, DIGEST_GRAPH)) for cid in cases for n in RESULT_GRAPHS)


@dataclass(frozen=True)
class ChangePlan:
    """What to write for one chunk of determined cases: the named graphs to empty (``drop``), the
    N-Quads to load into them (``body``), the quads to remove first (``remove``: stamps that
    changed, in graphs not dropped) and to add last (``last``: the new stamps and digests, which
    say a case is done).  ``rewritten``: the cases at least one of whose result graphs is written;
    ``restamped``: the cases whose results are unchanged and whose stamp alone is written;
    ``loaded``: the quads in ``body`` (kept when the body is sent on as a file)."""

    drop: tuple[str, ...]
    body: bytes
    remove: bytes
    last: bytes
    rewritten: tuple[str, ...]
    restamped: tuple[str, ...]
    loaded: int

    @property
    def quads(self) -> int:
        """Quads this plan writes: loaded, removed and added (the dropped graphs' quads not counted)."""
        return self.loaded + self.remove.count(b"\n") + self.last.count(b"\n")


def _quad(s: str, p: str, literal: str, g: str) -> bytes:
    import pyoxigraph as ox

    return f"{ox.Quad(ox.NamedNode(s), ox.NamedNode(p), ox.Literal(literal), ox.NamedNode(g))} .\n".encode("utf-8")


def plan_changes(nquads: bytes, stamps: bytes, stored: Mapping[str, Stored], *, force: bool = False) -> ChangePlan:
    """What to write for the batch engine's results ``nquads`` (every determined case's inferred and
    determination graphs, stamps left out) and ``stamps`` (each case's new ``kg:determinedWith``
    quad), given what the store holds (``stored``, see :func:`stored_results`).  With ``force``
    every result graph is written again.  Pure: reads nothing, writes nothing.

    >>> c = "https://w3id.org/imr-kg/case/c1/"
    >>> body = f'<{c}> <urn:p> "x" <{c}graph/inferred> .\\n'.encode()
    >>> stamp = f'<{c}> <{KG.determinedWith}> "v2" <{c}graph/determination> .\\n'.encode()
    >>> first = plan_changes(body, stamp, {})
    >>> first.rewritten, first.drop[0] == f"{c}graph/inferred"
    (('c1',), True)
    >>> digest = graph_digests(body)[0]["c1", "inferred"]
    >>> again = plan_changes(body, stamp, {"c1": Stored("v1", {"inferred": digest, "determination": _EMPTY})})
    >>> again.rewritten, again.restamped, again.drop, again.body, again.quads
    ((), ('c1',), (), b'', 2)
    """
    import pyoxigraph as ox

    from kg.batch.engine import graph_of

    digests, lines = graph_digests(nquads)
    new_stamps = {_case_id(q.subject.value): q.object.value
                  for q in ox.parse(stamps, format=ox.RdfFormat.N_QUADS)}
    cases = sorted({c for c, _ in digests} | set(new_stamps))
    drop: list[str] = []
    body: list[bytes] = []
    remove: list[bytes] = []
    last: list[bytes] = []
    rewritten: list[str] = []
    restamped: list[str] = []
    for cid in cases:
        before = stored.get(cid)
        changed = [n for n in RESULT_GRAPHS
                   if force or before is None or before.digests.get(n) is None
                   or before.digests.get(n) != digests.get((cid, n), _EMPTY)]
        case = f"{CASE_BASE}{cid}/"
        if changed:
            rewritten.append(cid)
            drop += [graph_of(cid, n) for n in changed] + [graph_of(cid, DIGEST_GRAPH)]
            for n in changed:
                body += lines.get((cid, n), [])
            last.append(digest_quads([cid], digests))
        stamp = new_stamps.get(cid)
        if stamp is None:
            continue
        if "determination" not in changed and before is not None:
            if stamp == before.stamp:
                continue  # the same stamp, in a graph left as it is
            remove.append(_quad(case, str(KG.determinedWith), before.stamp, graph_of(cid, "determination")))
            if not changed:
                restamped.append(cid)
        last.append(_quad(case, str(KG.determinedWith), stamp, graph_of(cid, "determination")))
    return ChangePlan(drop=tuple(drop), body=b"".join(line + b"\n" for line in body), remove=b"".join(remove),
                      last=b"".join(last), rewritten=tuple(rewritten), restamped=tuple(restamped), loaded=len(body))


def cases_to_determine(store: Store, shapes: Shapes, *, force: bool = False, stored: Mapping[str, Stored] | None = None
                       ) -> tuple[list[str], list[str], list[str]]:
    """The stored cases to determine with ``shapes``, those skipped and those carried over (ids,
    sorted).  A case whose stored determination was made with this engine version and these shapes
    is skipped; one made with other shapes under this engine version is carried over (its results
    kept, its stamp replaced: :func:`restamp`) when no section that changed between the two shapes
    decides a class of its requests (:mod:`kg.jobs.reach`; the old shapes' manifest is read from
    the store); every other case, and every case with ``force``, is determined.  ``stored``:
    :func:`stored_results` of the store, when the caller has read it."""
    from kg.engine.determine import engine_version
    from kg.engine.reason import load_ontology
    from kg.jobs.reach import manifest_of, reached_classes, read_manifest, with_subclasses

    version = engine_version()
    stamp = f"{version} {shapes.digest}"
    stored = stored_results(store) if stored is None else stored
    ids = store.case_ids()
    if force:
        return ids, [], []
    todo: list[str] = []
    skipped: list[str] = []
    stale: dict[str, list[str]] = defaultdict(list)  # by the stamp they were determined with
    for cid in ids:
        before = stored.get(cid)
        if before is None:
            todo.append(cid)
        elif before.stamp == stamp:
            skipped.append(cid)
        else:
            stale[before.stamp].append(cid)
    carried: list[str] = []
    current = manifest_of(shapes) if stale else None
    for old, cases in stale.items():
        old_version, _, old_digest = old.rpartition(" ")
        old_manifest = read_manifest(store, old_digest) if old_version == version else None
        classes = reached_classes(old_manifest, current) if old_manifest is not None and current is not None else None
        if classes is None:
            todo += cases
            continue
        typed = cases_typed(store, with_subclasses(classes, load_ontology(), shapes.graph))
        for cid in cases:
            (todo if cid in typed else carried).append(cid)
    return sorted(todo), skipped, sorted(carried)


def cases_typed(store: Store, classes: Iterable[str]) -> set[str]:
    """The ids of the cases one of whose graphs types a node with one of ``classes``."""
    values = " ".join(f"<{c}>" for c in sorted(classes))
    if not values:
        return set()
    rows = store.query(f"SELECT DISTINCT ?g WHERE {{ VALUES ?c {{ {values} }} GRAPH ?g {{ ?node a ?c }} }}").rows
    out = set()
    for (g,) in rows:
        name = str(g)
        if name.startswith(CASE_BASE) and "/graph/" in name:
            out.add(name[len(CASE_BASE):].rsplit("/graph/", 1)[0].rstrip("/"))
    return out


def restamp(store: Store, cases: Iterable[str], stored: Mapping[str, Stored], stamp: str) -> int:
    """Replace the stamp of each of ``cases`` (their results kept) by ``stamp``: one quad removed and
    one added a case, on the embedded store in one transaction, elsewhere in SPARQL updates of 1,000
    cases.  Returns the quads written."""
    from kg.batch.engine import graph_of
    from kg.store.store import LocalStore

    pairs = [(_quad(f"{CASE_BASE}{cid}/", str(KG.determinedWith), stored[cid].stamp, graph_of(cid, "determination")),
              _quad(f"{CASE_BASE}{cid}/", str(KG.determinedWith), stamp, graph_of(cid, "determination")))
             for cid in cases]
    if not pairs:
        return 0
    if isinstance(store, LocalStore):
        store.replace_graphs([], b"", b"".join(new for _, new in pairs), remove=b"".join(old for old, _ in pairs))
        return 2 * len(pairs)
    for i in range(0, len(pairs), 1000):
        part = pairs[i:i + 1000]
        store.update(f"DELETE DATA {{ {_graph_blocks(old for old, _ in part)} }} ;\n"
                     f"INSERT DATA {{ {_graph_blocks(new for _, new in part)} }}")
    return 2 * len(pairs)


def _graph_blocks(quads: Iterable[bytes]) -> str:
    """N-Quads lines (each ending in its graph name and " .") as SPARQL ``GRAPH`` blocks."""
    blocks = []
    for line in quads:
        body, graph = line.decode("utf-8").rstrip().removesuffix(" .").rsplit(" ", 1)
        blocks.append(f"GRAPH {graph} {{ {body} }}")
    return "\n".join(blocks)


#: the digest of a graph with no quads (SHA-256 of nothing)
_EMPTY = hashlib.sha256().hexdigest()
