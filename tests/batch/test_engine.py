"""The batch engine (kg.batch.engine, over kg.batch.compile) against the reference (kg.engine.reason + pySHACL).

The differential test determines 1,000 synthetic cases with the batch engine and requires
the reference's determination, item by item (every criterion's status, reasons, deciding
shapes and evidence, the conclusion, the guideline version) on every real letter and on a
sample of the synthetic cases: every tenth one, plus a greedy cover of the synthetic cases
that between them show every (criterion, status) and (section, conclusion) pair the batch
engine gives on all 1,000.  The reference runs in two worker processes (pySHACL takes about
0.15 s a case; the sample is 124 synthetic cases beside the 125 letters and examples, against
264 at every fourth, to keep CI short); ``IMRKG_DIFFERENTIAL_ALL=1`` compares all 1,000 synthetic cases.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
from collections import Counter

import pytest
from casepaths import EXAMPLES, LETTERS, require_letters
from rdflib import Graph, URIRef

from kg.rdf import KG

SYNTHETIC = 1000
SEED = 11
EVERY = 10


def _cases(kind: str, key: object) -> list:
    """Case graphs: ``("synthetic", (seed, indices))`` (cases of ``synthesize(..., seed=seed)``)
    or ``("letter", path)``."""
    from kg.engine.graph import build_case_graph
    from kg.jobs.ingest import read_input
    from kg.jobs.synth import synthesize

    if kind == "synthetic":
        seed, indices = key  # type: ignore[misc]
        cases = list(synthesize(max(indices) + 1, seed=seed))
        return [build_case_graph(cases[i]) for i in indices]
    return [read_input(key)]  # type: ignore[arg-type]


def _reference(kind: str, key: object) -> list[tuple[str, tuple, str]]:
    """Worker: the reference determinations (items) of some cases, and their inferred graphs."""
    from kg.engine.determine import determine_case

    out = []
    for cg in _cases(kind, key):
        det = determine_case(cg)
        out.append((cg.case_id, det.items, det.inferred.serialize(format="nt")))
    return out


def _nquads(cgs: list, name: str) -> bytes:
    import pyoxigraph as ox

    from kg.batch.engine import graph_of

    lines = []
    for cg in cgs:
        g = getattr(cg, name)
        if len(g):
            text = g.serialize(format="nt")
            iri = graph_of(cg.case_id, name)
            lines += [line[:-1].rstrip() + f" <{iri}> ." for line in text.splitlines() if line.strip()]
    data = ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
    assert not lines or len(list(ox.parse(data, format=ox.RdfFormat.N_QUADS))) == len(lines)
    return data


def _pairs(det) -> set[tuple]:
    """What a determination shows: its (criterion, status) and (section, conclusion) pairs."""
    pairs: set[tuple] = set()
    for item in det.items:
        pairs.add((item.guideline.section_label if item.guideline else None, item.conclusion))
        pairs.update((a.criterion, a.status) for a in item.assessments)
    return pairs


def _sample(shown: list[set[tuple]]) -> list[int]:
    """Indices of the synthetic cases to compare: every ``EVERY``-th, and a greedy cover of
    every pair any of them shows (all of them under ``IMRKG_DIFFERENTIAL_ALL=1``)."""
    if os.environ.get("IMRKG_DIFFERENTIAL_ALL") == "1":
        return list(range(len(shown)))
    chosen = set(range(0, len(shown), EVERY))
    seen = set().union(*(shown[i] for i in chosen))
    while True:
        best = max(range(len(shown)), key=lambda i: (len(shown[i] - seen), -i))
        if not shown[best] - seen:
            return sorted(chosen)
        chosen.add(best)
        seen |= shown[best]


@pytest.fixture(scope="module")
def corpus() -> dict:
    """The batch engine over 1,000 synthetic cases and every letter (plus the examples); the
    reference over the letters and the synthetic sample."""
    require_letters()
    from kg.batch.engine import compile_engine, determine_chunk
    from kg.jobs.ingest import input_files

    letters = input_files([LETTERS]) + sorted(EXAMPLES.glob("*.yaml"))
    synthetic = _cases("synthetic", (SEED, range(SYNTHETIC)))
    cgs = synthetic + [cg for p in letters for cg in _cases("letter", p)]
    engine = compile_engine()
    fast = {}
    for start in range(0, len(cgs), 500):
        part = cgs[start:start + 500]
        result = determine_chunk(_nquads(part, "asserted"), _nquads(part, "reviewer"), engine, keep=True)
        assert result.failed == ()
        fast.update({d.case_id: d for d in result.determinations})
    sample = _sample([_pairs(fast[cg.case_id]) for cg in synthetic])
    jobs = [("synthetic", (SEED, sample[i:i + 25])) for i in range(0, len(sample), 25)]
    jobs += [("letter", p) for p in letters]
    with cf.ProcessPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(_reference, kind, key) for kind, key in jobs]
        reference = {cid: (items, inferred) for f in futures for cid, items, inferred in f.result()}
    compared = [synthetic[i] for i in sample] + cgs[SYNTHETIC:]
    return {"reference": reference, "fast": fast, "letters": len(letters), "cases": compared,
            "synthetic": len(sample), "pairs": set().union(*(_pairs(d) for d in fast.values()))}


def test_every_criterion_status_is_the_reference_status(corpus):
    reference, fast = corpus["reference"], corpus["fast"]
    assert set(reference) <= set(fast)
    assert len(fast) == SYNTHETIC + corpus["letters"]
    assert len(reference) == corpus["synthetic"] + corpus["letters"]
    compared = Counter()
    shown: set[tuple] = set()
    differences = []
    for cid, (items, _inferred) in sorted(reference.items()):
        got = fast[cid].items
        assert [i.request for i in got] == [i.request for i in items], cid
        for want, have in zip(items, got, strict=False):
            assert have.conclusion == want.conclusion, (cid, want.request_id)
            assert have.guideline == want.guideline, (cid, want.request_id)
            shown.add((want.guideline.section_label if want.guideline else None, want.conclusion))
            for a, b in zip(want.assessments, have.assessments, strict=False):
                compared[a.status] += 1
                shown.add((a.criterion, a.status))
                if (a.criterion, a.status) != (b.criterion, b.status):
                    differences.append((cid, want.request_id, a.criterion, a.status, b.status))
            assert len(want.assessments) == len(have.assessments)
    assert differences == []
    # the compared cases exercise every status, and every (criterion, status) and (section,
    # conclusion) pair that the batch engine gives on any of the 1,000 synthetic cases or letters
    assert set(compared) == {"met", "not_met", "not_documented", "not_applicable"}
    assert corpus["pairs"] <= shown, sorted(corpus["pairs"] - shown, key=str)[:10]


def test_the_whole_determination_is_the_reference_determination(corpus):
    """Reasons, deciding shapes, evidence with quotes and derived values: all equal."""
    reference, fast = corpus["reference"], corpus["fast"]
    unequal = [cid for cid, (items, _) in sorted(reference.items()) if fast[cid].items != items]
    assert unequal == []


def test_inferred_graphs_are_the_reference_inferred_graphs(corpus):
    """What the batch writes to a case's inferred graph is what the reasoner infers (the
    store keeps derived integer types as xsd:integer, so literals are compared by value)."""
    import pyoxigraph as ox

    from kg.batch.engine import compile_engine, determine_chunk, graph_of

    cgs = corpus["cases"][:100] + corpus["cases"][-40:]
    result = determine_chunk(_nquads(cgs, "asserted"), b"", compile_engine())
    store = ox.Store()
    store.load(result.nquads, format=ox.RdfFormat.N_QUADS)
    for cg in cgs:
        got = {(q.subject.value, q.predicate.value, q.object.value)
               for q in store.quads_for_pattern(None, None, None, ox.NamedNode(graph_of(cg.case_id, "inferred")))}
        want = {(str(s), str(p), str(o)) for s, p, o in Graph().parse(
            data=corpus["reference"][cg.case_id][1], format="nt")}
        assert got == want, cg.case_id


def test_determine_all_writes_what_the_reference_writes(tmp_path, monkeypatch):
    """Through the store: the batch engine and the reference engine leave the same graphs
    (the batch writing chunk by chunk, each case's graphs once)."""
    from rdflib.compare import isomorphic

    import kg.jobs.ingest
    from kg.jobs.ingest import determine_all
    from kg.jobs.synth import load_synthetic
    from kg.store.store import LocalStore

    writes = []
    real = LocalStore.replace_graphs
    monkeypatch.setattr(LocalStore, "replace_graphs",
                        lambda self, *a, **kw: (writes.append(a[0]), real(self, *a, **kw))[1])
    monkeypatch.setattr(kg.jobs.ingest, "_WRITE_BYTES", 1)  # write every chunk as it finishes
    stores = {}
    for engine in ("batch", "reference"):
        store = LocalStore(tmp_path / engine)
        load_synthetic(store, 40, seed=5)
        summary = determine_all(store, engine=engine, chunk=15, workers=2)
        assert len(summary.determined) == 40 and summary.failed == ()
        stores[engine] = store
    # three chunks, each case's two result graphs and its digests (kg.jobs.changes)
    assert len(writes) == 3 and sum(len(w) for w in writes) == 3 * 40
    ids = stores["batch"].case_ids()
    assert ids == stores["reference"].case_ids()
    for cid in ids:
        for name in ("asserted", "inferred", "determination", "reviewer"):
            a, b = stores["batch"].case_graph(cid, name), stores["reference"].case_graph(cid, name)
            assert isomorphic(a, b), (cid, name)
    again = determine_all(stores["batch"], engine="batch")
    assert again.determined == () and len(again.skipped) == 40
    # by default finished chunks are written together (one bulk load) until they reach _WRITE_BYTES
    monkeypatch.setattr(kg.jobs.ingest, "_WRITE_BYTES", 2 ** 40)
    writes.clear()
    forced = determine_all(stores["batch"], engine="batch", chunk=15, workers=2, force=True)
    assert len(forced.determined) == 40 and len(writes) == 1 and len(writes[0]) == 3 * 40
    for cid in ids:
        for name in ("inferred", "determination"):
            assert isomorphic(stores["batch"].case_graph(cid, name), stores["reference"].case_graph(cid, name))


@pytest.mark.parametrize("workers", [1, 2])
def test_an_interrupted_batch_keeps_what_it_determined_and_resumes(tmp_path, workers):
    """Interrupted after its second chunk, the batch has written those chunks' cases (with
    workers, also the chunks already done; only whole cases, each stamped after its graphs);
    the next run does the rest and nothing twice."""
    from kg.jobs.ingest import determine_all
    from kg.jobs.synth import load_synthetic
    from kg.store.store import LocalStore

    store = LocalStore(tmp_path / "store")
    load_synthetic(store, 50, seed=7)

    def stop_after_two(done: int, total: int, _text: str) -> None:
        if done >= 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        determine_all(store, chunk=10, workers=workers, progress=stop_after_two)
    stamped = {str(r[0]) for r in store.query(
        f"SELECT ?c WHERE {{ GRAPH ?g {{ ?c <{KG.determinedWith}> ?s }} }}").rows}
    assert len(stamped) == 20 if workers == 1 else 20 <= len(stamped) <= 50 and len(stamped) % 10 == 0
    for cid in store.case_ids():
        has = len(store.case_graph(cid, "determination")) > 0
        assert has == (f"https://w3id.org/imr-kg/case/{cid}/" in stamped), cid
    rest = determine_all(store, chunk=10)
    assert len(rest.determined) == 50 - len(stamped) and len(rest.skipped) == len(stamped) and rest.failed == ()
    assert not set(rest.determined) & {s.rsplit("/", 2)[-2] for s in stamped}


def test_compact_merges_the_batch_writes_and_keeps_every_quad(tmp_path, capsys):
    """After a batch written in several bulk loads, `imrkg compact` leaves fewer store files and
    exactly the same quads; an in-memory store has nothing to compact."""
    import pyoxigraph as ox

    from kg.cli import main
    from kg.jobs.ingest import determine_all
    from kg.jobs.synth import load_synthetic
    from kg.store.store import LocalStore

    store = LocalStore(tmp_path / "store")
    load_synthetic(store, 30, seed=3)
    assert len(determine_all(store, chunk=10, workers=1).determined) == 30  # three bulk loads
    before = sorted(store._store.dump(format=ox.RdfFormat.N_QUADS).splitlines())
    store.close()
    tables = len(list((tmp_path / "store").glob("*.sst")))
    assert main(["compact", "--store", str(tmp_path / "store")]) == 0
    assert f"imrkg compact: {tmp_path / 'store'} compacted in" in capsys.readouterr().err
    assert len(list((tmp_path / "store").glob("*.sst"))) < tables
    store = LocalStore(tmp_path / "store")
    assert sorted(store._store.dump(format=ox.RdfFormat.N_QUADS).splitlines()) == before
    assert determine_all(store).skipped == tuple(store.case_ids())  # still determined, nothing redone
    store.close()
    assert LocalStore(None).compact() is False
    assert main(["compact", "--store", "memory"]) == 0
    assert "nothing to compact" in capsys.readouterr().err
    # a mistyped folder is refused, not turned into a new empty store
    assert main(["compact", "--store", str(tmp_path / "no-such-store")]) == 2
    assert "no-such-store: there is no store here" in capsys.readouterr().err
    assert not (tmp_path / "no-such-store").exists()


def test_met_exclusions_alone_are_no_indication_in_the_batch_engine_too():
    """The engine rule of kg:Exclusion on small cases, batch against reference: a barbiturate for
    pain of 14 days (its only criterion, an exclusion, met) and a two-week benzodiazepine course
    (both exclusions met) are not medically necessary, with the same note; chronic pain makes the
    barbiturate's exclusion not met (and a request without its strength leaves the request criterion
    not documented)."""
    from kg.batch.engine import compile_engine, determine_chunk
    from kg.engine.determine import determine_case
    from kg.engine.graph import build_case_graph
    from kg.read.casefile import parse_case

    def case(cid: str, service: str, text: str, onset: str, **extra: object) -> dict:
        request = {"id": "r1", "service": service, "text": text, "date": "2016-11-01",
                   "ur": {"decision": "denied", "date": "2016-11-10"}}
        return {"case": cid, "symptoms": [{"id": "sx", "label": "headache", "onset": onset}],
                "requests": [{**request, **extra}]}

    cgs = [build_case_graph(parse_case(c)) for c in (
        case("fx-bca-acute", "butalbital_combination", "Fioricet 50/325/40mg #30", "2016-10-18",
             strength="50/325/40mg", count=30),
        case("fx-bca-chronic", "butalbital_combination", "Fioricet #30", "2015-06-01", count=30),
        case("fx-benzo", "benzodiazepine", "Diazepam 5mg #14", "2016-10-18", strength="5mg", count=14, days=14))]
    result = determine_chunk(_nquads(cgs, "asserted"), _nquads(cgs, "reviewer"), compile_engine(), keep=True)
    assert result.failed == ()
    fast = {d.case_id: d.items for d in result.determinations}
    got = {cid: [(i.conclusion, [(a.number, a.role, a.status) for a in i.assessments], i.note[:27])
                 for i in items] for cid, items in fast.items()}
    assert got == {
        "fx-bca-acute": [("not_medically_necessary", [(1, "exclusion", "met"), (2, "exclusion", "met")],
                          "No indication is documented")],
        "fx-bca-chronic": [("not_medically_necessary",
                            [(1, "exclusion", "not_met"), (2, "exclusion", "not_documented")], "")],
        "fx-benzo": [("not_medically_necessary", [(1, "exclusion", "met"), (2, "exclusion", "not_applicable"),
                                                  (3, "exclusion", "met")], "No indication is documented")]}
    for cg in cgs:
        assert fast[cg.case_id] == determine_case(cg).items


def test_unsupported_shapes_fall_back_to_the_reference(tmp_path):
    """A user's section with SHACL the compiler does not handle is refused by the compiler
    (naming the shape) and determined by pySHACL instead, not judged differently."""
    from kg.batch.engine import compile_engine
    from kg.engine.validate import load_shapes
    from kg.errors import ShapesError
    from kg.jobs.ingest import _batch_ready, determine_all
    from kg.jobs.synth import load_synthetic
    from kg.store.store import LocalStore

    folder = tmp_path / "shapes"
    folder.mkdir()
    (folder / "own.ttl").write_text(f"""
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix kg: <{KG}> .
<https://example.org/own-1> a sh:NodeShape ; sh:targetClass kg:TreatmentRequest ;
    kg:statusOnViolation kg:NotMet ; sh:message "x" ;
    sh:property [ sh:path kg:requestText ; sh:uniqueLang true ; sh:message "y" ] .
""", encoding="utf-8")
    shapes = load_shapes(folder)
    with pytest.raises(ShapesError, match="sh:uniqueLang"):
        compile_engine(shapes)
    store = LocalStore(tmp_path / "store")
    load_synthetic(store, 5, seed=1)
    assert not _batch_ready(store, shapes)
    summary = determine_all(store, shapes_dir=str(folder))
    assert len(summary.determined) == 5 and summary.failed == ()


def test_any_compile_failure_falls_back_with_a_note(tmp_path, monkeypatch, capsys):
    """Not only a refusal: whatever goes wrong compiling the shapes, the reference decides, and
    stderr says why."""
    import kg.batch.engine
    from kg.engine.validate import default_shapes
    from kg.jobs.ingest import _batch_ready
    from kg.store.store import LocalStore

    def broken(shapes=None):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(kg.batch.engine, "compile_engine", broken)
    assert not _batch_ready(LocalStore(tmp_path / "store"), default_shapes())
    assert "RecursionError" in capsys.readouterr().err


def test_the_chunk_codec_reads_and_writes_what_pyoxigraph_does():
    """The batch's N-Quads codec: terms written by it are read back by pyoxigraph unchanged and
    pyoxigraph's own lines read back by it to the same rdflib terms; IRIs N-Quads cannot carry
    (it is loaded without pyoxigraph's checks) are refused."""
    import pyoxigraph as ox
    from rdflib import XSD, BNode, Literal

    from kg.batch.engine import _Codec, _indexes

    codec = _Codec()
    g = "https://w3id.org/imr-kg/case/x/graph/asserted"
    terms = [Literal('quote " backslash \\ line\nbreak\r tab\t é ✓'), Literal("5", datatype=XSD.integer),
             Literal("2016-01-02", datatype=XSD.date), Literal("word", lang="en"), Literal(""),
             URIRef("https://w3id.org/imr-kg/case/x/r1"), BNode("b0")]
    s, p = URIRef("https://w3id.org/imr-kg/case/x/"), URIRef("https://w3id.org/imr-kg/ont#p")
    text = codec.nquads([(s, p, o) for o in terms], g)
    parsed = list(ox.parse(text.encode("utf-8"), format=ox.RdfFormat.N_QUADS))
    assert [q.object.value if not isinstance(q.object, ox.BlankNode) else "b0" for q in parsed] == \
        [str(t) for t in terms]
    assert {q.graph_name.value for q in parsed} == {g}
    # and back: pyoxigraph's own serialisation, read by the codec
    again = ox.serialize(parsed, format=ox.RdfFormat.N_QUADS).decode("utf-8").splitlines()
    index = _indexes(again, "asserted", _Codec())
    assert list(index) == ["x"]
    read = list(index["x"].spo[s][p])
    assert read[:-1] == terms[:-1] and isinstance(read[-1], BNode)
    for bad in ("https://w3id.org/a b", "relative/iri", "https://w3id.org/<x>"):
        with pytest.raises(ValueError, match="absolute IRI"):
            codec.text(URIRef(bad))
