"""kg.jobs.changes through `imrkg determine --all`: a re-determination writes only what changed."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from kg.engine.validate import load_shapes
from kg.jobs.changes import Stored, graph_digests, plan_changes, stored_results
from kg.jobs.ingest import determine_all
from kg.jobs.synth import load_synthetic
from kg.rdf import KG
from kg.store.store import LocalStore, graph_iri

CASES = 40

#: a user's section that tightens the first acupuncture course from 6 treatments to 4: it changes the
#: determinations of the cases with an initial acupuncture request of 5 or 6 treatments, and no other
TIGHTER = """@prefix kg: <https://w3id.org/imr-kg/ont#> .
@prefix mtus: <https://w3id.org/imr-kg/mtus/> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
mtus:AMTG-ACUPUNCTURE-3-against sh:property [ sh:path kg:courseVisitTotal ; sh:maxInclusive 4 ;
    sh:message "More than 4 treatments in the first course (a test's tighter cap)." ] .
"""
#: a shapes change that changes no determination: a comment on a shape
COMMENT = """@prefix mtus: <https://w3id.org/imr-kg/mtus/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
mtus:AMTG-ACUPUNCTURE-3-against rdfs:comment "A note that decides nothing." .
"""


class Writes:
    """Every write the store is asked to make (the two ways a LocalStore writes)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.updates: list[str] = []
        self.replaced: list[tuple[list[str], bytes, bytes]] = []  # (graphs dropped, quads removed, added last)
        update, replace = LocalStore.update, LocalStore.replace_graphs

        def spy_update(store: LocalStore, sparql: str) -> None:
            self.updates.append(sparql)
            update(store, sparql)

        def spy_replace(store: LocalStore, drop, nquads, last=b"", *, remove=b""):  # noqa: ANN001, ANN202
            self.replaced.append((list(drop), remove, last))
            replace(store, drop, nquads, last, remove=remove)

        monkeypatch.setattr(LocalStore, "update", spy_update)
        monkeypatch.setattr(LocalStore, "replace_graphs", spy_replace)

    def clear(self) -> None:
        self.updates.clear()
        self.replaced.clear()


def _results(store: LocalStore) -> dict[tuple[str, str], set[bytes]]:
    """Every case's inferred and determination graphs as sets of N-Quads lines, the stamp left out."""
    out = {}
    for cid in store.case_ids():
        for name in ("inferred", "determination"):
            lines = store.export_graphs([str(graph_iri(cid, name))]).splitlines()
            out[cid, name] = {line for line in lines if str(KG.determinedWith).encode() not in line}
    return out


def _section(folder, text: str) -> str:
    """A folder holding one user section ``text`` (the shapes change), for ``shapes_dir``."""
    folder.mkdir()
    (folder / "change.ttl").write_text(text, encoding="utf-8")
    return str(folder)


def _dump(store: LocalStore) -> list[bytes]:
    return sorted(store._store.dump(format=ox.RdfFormat.N_QUADS).splitlines())


@pytest.fixture
def determined(tmp_path, monkeypatch):
    """An on-disk store of synthetic cases, each determined once (the first run writes everything)."""
    store = LocalStore(tmp_path / "store")
    load_synthetic(store, CASES, seed=11)
    writes = Writes(monkeypatch)
    first = determine_all(store, chunk=15, workers=1)
    assert len(first.determined) == CASES and first.failed == () and len(first.rewritten) == CASES
    results = store.export_graphs([str(graph_iri(c, n)) for c in store.case_ids()
                                   for n in ("inferred", "determination", "digest")])
    assert first.quads_written == results.count(b"\n") > 80 * CASES  # every result quad, once
    writes.clear()
    yield store, writes
    store.close()


def test_a_repeated_run_writes_nothing(determined):
    store, writes = determined
    before = _dump(store)
    again = determine_all(store, chunk=15, workers=2)
    assert again.determined == () and len(again.skipped) == CASES and again.quads_written == 0
    assert writes.updates == [] and writes.replaced == []
    assert _dump(store) == before


def _acupuncture_cases(store: LocalStore) -> list[str]:
    """The cases with a request the stored inference types as an acupuncture request (read with
    rdflib, not with the query the job uses; a case with acupuncture only as earlier care has none)."""
    from rdflib import RDF

    return sorted(c for c in store.case_ids()
                  if (None, RDF.type, KG.AcupunctureRequest) in store.case_graph(c, "inferred"))


def test_a_shapes_change_determines_only_the_cases_its_section_reaches(determined, tmp_path):
    store, writes = determined
    before = _results(store)
    shapes = _section(tmp_path / "shapes", TIGHTER)
    changed = determine_all(store, chunk=15, workers=2, shapes_dir=shapes)
    acupuncture = _acupuncture_cases(store)
    assert 0 < len(acupuncture) < CASES
    # the changed section decides acupuncture requests: those cases are determined, every other one carried over
    assert sorted(changed.determined) == acupuncture and changed.failed == () and changed.skipped == ()
    assert sorted(changed.carried) == sorted(set(store.case_ids()) - set(acupuncture))
    after = _results(store)
    affected = sorted({cid for (cid, name), lines in after.items() if before[cid, name] != lines})
    assert affected and set(affected) <= set(acupuncture)
    assert all(before[cid, "inferred"] == after[cid, "inferred"] for cid in store.case_ids())
    assert sorted(changed.rewritten) == affected
    dropped = {g for drop, _, _ in writes.replaced for g in drop}
    assert dropped == {str(graph_iri(c, n)) for c in affected for n in ("determination", "digest")}
    # every other case had its stamp alone replaced: one quad removed, one added
    removed = [q for _, remove, _ in writes.replaced for q in ox.parse(remove, format=ox.RdfFormat.N_QUADS)]
    assert sorted(q.subject.value for q in removed) == sorted(
        f"https://w3id.org/imr-kg/case/{c}/" for c in store.case_ids() if c not in affected)
    stamps = {c: s.stamp for c, s in stored_results(store).items()}
    assert len(set(stamps.values())) == 1 and len(stamps) == CASES
    # what the store holds is what a full re-determination with the new shapes writes
    writes.clear()
    kept = _dump(store)
    forced = determine_all(store, chunk=15, workers=1, shapes_dir=shapes, force=True)
    assert len(forced.rewritten) == CASES and len({g for d, _, _ in writes.replaced for g in d}) == 3 * CASES
    assert _dump(store) == kept
    # and the run after writes nothing
    writes.clear()
    assert determine_all(store, chunk=15, shapes_dir=shapes).quads_written == 0 and writes.replaced == []


def test_a_shapes_change_that_decides_nothing_writes_only_the_stamps(determined, tmp_path):
    store, writes = determined
    before = _results(store)
    changed = determine_all(store, chunk=15, workers=1, shapes_dir=_section(tmp_path / "shapes", COMMENT))
    assert sorted(changed.determined) == _acupuncture_cases(store) and changed.rewritten == ()
    assert len(changed.determined) + len(changed.carried) == CASES
    assert changed.quads_written == 2 * CASES  # each case: its old stamp removed, the new one added
    # two writes, no graph dropped: the carried cases' stamps, then the determined cases' (the chunks grouped)
    assert [drop for drop, _, _ in writes.replaced] == [[], []]
    assert _results(store) == before


#: a change to the global part of the shapes (a guideline version, which no section owns)
VERSION_NOTE = """@prefix mtus: <https://w3id.org/imr-kg/mtus/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
mtus:AMTG-2007 rdfs:comment "A note on the version: no section owns it." .
"""


def test_a_change_outside_every_section_determines_every_case(determined, tmp_path):
    store, _ = determined
    changed = determine_all(store, chunk=15, workers=1, shapes_dir=_section(tmp_path / "shapes", VERSION_NOTE))
    assert len(changed.determined) == CASES and changed.carried == () and changed.rewritten == ()


def test_without_the_old_shapes_manifest_every_case_is_determined(determined, tmp_path):
    from kg.engine.validate import default_shapes
    from kg.jobs.reach import MANIFEST_BASE

    store, _ = determined
    manifest = MANIFEST_BASE + default_shapes().digest
    assert manifest in {g.value for g in store._store.named_graphs()}  # the first run kept it
    store.update(f"DROP GRAPH <{manifest}>")
    changed = determine_all(store, chunk=15, workers=1, shapes_dir=_section(tmp_path / "shapes", TIGHTER))
    assert len(changed.determined) == CASES and changed.carried == ()


def test_a_change_that_reaches_no_stored_case_carries_every_case(determined, tmp_path):
    """A section for a class no stored case has: every case keeps its results and gets the new stamp."""
    store, writes = determined
    before = _dump(store)
    section = """@prefix kg: <https://w3id.org/imr-kg/ont#> .
@prefix ex: <https://example.org/shapes/> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
ex:S a kg:GuidelineSection ; kg:appliesTo ex:NoSuchRequest .
ex:S-1 a kg:Criterion ; kg:inSection ex:S ; kg:criterionNumber 1 ; kg:appliesTo ex:NoSuchRequest .
ex:S-1-shape a sh:NodeShape ; kg:criterion ex:S-1 ; sh:targetClass ex:NoSuchRequest ;
    sh:property [ sh:path ex:p ; sh:minCount 1 ] .
"""
    changed = determine_all(store, chunk=15, workers=1, shapes_dir=_section(tmp_path / "shapes", section))
    assert changed.determined == () and len(changed.carried) == CASES and changed.quads_written == 2 * CASES
    assert len(writes.replaced) == 1 and writes.replaced[0][0] == []
    after = _dump(store)
    stamp = str(KG.determinedWith).encode()
    manifest = b"/graph/shapes/" + load_shapes(tmp_path / "shapes").digest.encode()
    new_manifest = {q for q in after if manifest in q}
    assert new_manifest  # the new shapes' manifest, kept for the next change
    assert [q for q in before if stamp not in q] == [q for q in after if stamp not in q and q not in new_manifest]


def test_a_case_written_again_loses_its_digests(determined):
    """Writing a case through the store drops its digest graph, so its next results are written whole."""
    store, _ = determined
    cid = store.case_ids()[0]
    assert stored_results(store)[cid].digests.keys() == {"inferred", "determination"}
    store.put_case(cid, {"asserted": store.case_graph(cid, "asserted"), "reviewer": store.case_graph(cid, "reviewer")})
    assert cid not in stored_results(store)
    assert store.export_graphs([str(graph_iri(cid, "digest"))]) == b""
    again = determine_all(store, chunk=15, workers=1)
    assert again.determined == (cid,) and again.rewritten == (cid,)


def test_plan_changes_writes_a_graph_whose_digest_differs():
    c = "https://w3id.org/imr-kg/case/c1/"
    one = f'<{c}> <urn:p> "1" <{c}graph/inferred> .\n<{c}d> <urn:p> "x" <{c}graph/determination> .\n'.encode()
    two = one.replace(b'"x"', b'"y"')
    stamp = f'<{c}> <{KG.determinedWith}> "v2" <{c}graph/determination> .\n'.encode()
    digests = graph_digests(one)[0]
    stored = {"c1": Stored("v1", {"inferred": digests["c1", "inferred"],
                                  "determination": digests["c1", "determination"]})}
    plan = plan_changes(two, stamp, stored)
    assert plan.rewritten == ("c1",) and plan.restamped == ()
    assert plan.drop == (f"{c}graph/determination", f"{c}graph/digest")
    assert plan.body == f'<{c}d> <urn:p> "y" <{c}graph/determination> .\n'.encode()
    assert plan.remove == b""  # the old stamp goes with its graph
    assert plan.last.count(b"\n") == 3 and b'"v2"' in plan.last
    same = plan_changes(one, stamp, stored)
    assert same.rewritten == () and same.restamped == ("c1",) and same.body == b"" and same.quads == 2
    assert plan_changes(one, stamp, stored, force=True).rewritten == ("c1",)
    with pytest.raises(ValueError, match="outside the cases' graphs"):
        graph_digests(b'<urn:s> <urn:p> <urn:o> <urn:g> .\n')
