"""kg.jobs.reach: the parts of a shapes graph, and which classes a change between two shapes reaches."""

from __future__ import annotations

from rdflib import Graph

from kg.engine.validate import Shapes, default_shapes, load_shapes
from kg.jobs.reach import (
    MANIFEST_BASE,
    manifest_of,
    reached_classes,
    read_manifest,
    remember_shapes,
    with_subclasses,
)
from kg.rdf import KG
from kg.store.store import LocalStore

PREFIXES = """@prefix kg: <https://w3id.org/imr-kg/ont#> .
@prefix ex: <https://example.org/> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
"""
#: two sections, each with one criterion and one shape; a version node no section owns
TWO = PREFIXES + """
ex:V a kg:GuidelineVersion ; rdfs:label "a version" .
ex:A a kg:GuidelineSection ; kg:inVersion ex:V ; kg:appliesTo ex:ARequest .
ex:A-1 a kg:Criterion ; kg:inSection ex:A ; kg:criterionNumber 1 ; kg:appliesTo ex:ARequest .
ex:A-1-shape a sh:NodeShape ; kg:criterion ex:A-1 ; sh:targetClass ex:ARequest ;
    sh:property [ sh:path ex:p ; sh:minCount 1 ; sh:message "A p." ] .
ex:B a kg:GuidelineSection ; kg:inVersion ex:V ; kg:appliesTo ex:BRequest .
ex:B-1 a kg:Criterion ; kg:inSection ex:B ; kg:criterionNumber 1 ; kg:appliesTo ex:InitialBRequest .
ex:B-1-shape a sh:NodeShape ; kg:criterion ex:B-1 ; sh:targetClass ex:InitialBRequest ;
    sh:property [ sh:path ex:q ; sh:in ( "x" "y" ) ] .
"""
A, B = "https://example.org/A", "https://example.org/B"


def _shapes(text: str, digest: str = "d") -> Shapes:
    return Shapes(graph=Graph().parse(data=text, format="turtle"), source="test", digest=digest)


def test_the_same_shapes_parsed_twice_have_the_same_parts(tmp_path):
    """Blank node labels differ per parse; the parts' digests do not."""
    (tmp_path / "empty").mkdir()
    one, two = manifest_of(default_shapes()), manifest_of(load_shapes(tmp_path / "empty"))
    assert one.sections == two.sections and one.global_digest == two.global_digest != ""
    assert len(one.sections) == 59 and all(p.digest for p in one.sections.values())
    assert reached_classes(one, two) == frozenset()


def test_a_change_inside_a_section_reaches_its_classes_and_no_other():
    before = manifest_of(_shapes(TWO))
    after = manifest_of(_shapes(TWO.replace('sh:message "A p."', 'sh:message "A p, said otherwise."')))
    assert reached_classes(before, after) == {"https://example.org/ARequest"}
    assert after.sections[B] == before.sections[B] and after.global_digest == before.global_digest
    tighter = manifest_of(_shapes(TWO.replace('( "x" "y" )', '( "x" )')))
    assert reached_classes(before, tighter) == {"https://example.org/BRequest", "https://example.org/InitialBRequest"}


def test_the_packaged_acupuncture_section_reaches_the_acupuncture_requests(tmp_path):
    (tmp_path / "change").mkdir()
    (tmp_path / "change" / "cap.ttl").write_text(PREFIXES.replace("ex:", "mtus:").replace(
        "https://example.org/", "https://w3id.org/imr-kg/mtus/") + """
mtus:AMTG-ACUPUNCTURE-3-against sh:property [ sh:path kg:courseVisitTotal ; sh:maxInclusive 4 ] .
""", encoding="utf-8")
    got = reached_classes(manifest_of(default_shapes()), manifest_of(load_shapes(tmp_path / "change")))
    assert got == {str(KG.AcupunctureRequest), str(KG.InitialAcupunctureRequest), str(KG.ContinuedAcupunctureRequest)}


def test_added_and_removed_sections_reach_their_classes():
    one = manifest_of(_shapes(TWO))
    only_a = manifest_of(_shapes(TWO.split("ex:B a kg:GuidelineSection")[0]))
    assert set(only_a.sections) == {A}
    removed = {"https://example.org/BRequest", "https://example.org/InitialBRequest"}
    assert reached_classes(one, only_a) == removed == reached_classes(only_a, one)


def test_a_change_outside_every_section_reaches_every_case():
    before = manifest_of(_shapes(TWO))
    assert reached_classes(before, manifest_of(_shapes(TWO.replace('"a version"', '"the version"')))) is None


def test_a_section_that_targets_other_than_by_class_reaches_every_case():
    text = TWO.replace("sh:targetClass ex:ARequest", "sh:targetSubjectsOf ex:p")
    before = manifest_of(_shapes(text))
    assert before.sections[A].classes is None and before.sections[B].classes is not None
    assert reached_classes(before, manifest_of(_shapes(text.replace('"A p."', '"A p again."')))) is None
    # a change to the other section alone still reaches its classes only
    assert reached_classes(before, manifest_of(_shapes(text.replace('( "x" "y" )', '( "y" )')))) == {
        "https://example.org/BRequest", "https://example.org/InitialBRequest"}


def test_a_shared_blank_node_makes_its_part_count_as_changed():
    shared = TWO.replace('sh:property [ sh:path ex:p ; sh:minCount 1 ; sh:message "A p." ] .',
                         "sh:property _:s .\nex:A-1 ex:note _:s .\n_:s sh:path ex:p ; sh:minCount 1 .")
    m = manifest_of(_shapes(shared))
    assert m.sections[A].digest == "" and m.sections[B].digest
    assert reached_classes(m, m) == {"https://example.org/ARequest"}


def test_a_section_naming_another_sections_shape_depends_on_it():
    text = TWO.replace('sh:in ( "x" "y" ) ]', 'sh:in ( "x" "y" ) ] ; sh:node ex:A-1-shape')
    before = manifest_of(_shapes(text))
    assert before.sections[B].uses == {A} and before.sections[A].uses == frozenset()
    after = manifest_of(_shapes(text.replace('"A p."', '"A p again."')))
    assert reached_classes(before, after) == {"https://example.org/ARequest", "https://example.org/BRequest",
                                              "https://example.org/InitialBRequest"}


def test_classes_widen_to_their_subclasses():
    tree = "ex:C rdfs:subClassOf ex:B . ex:B rdfs:subClassOf ex:A . ex:D rdfs:subClassOf ex:A ."
    g = Graph().parse(data=PREFIXES + tree, format="turtle")
    e = "https://example.org/"
    assert with_subclasses([e + "B"], g) == {e + "B", e + "C"}
    assert with_subclasses([e + "A"], g) == {e + "A", e + "B", e + "C", e + "D"}
    assert with_subclasses([], g) == frozenset()


def test_a_manifest_kept_in_the_store_reads_back_the_same():
    store = LocalStore(None)
    digest = "ab" * 32
    shapes = _shapes(TWO.replace("sh:targetClass ex:ARequest", "sh:targetNode ex:n"), digest=digest)
    assert read_manifest(store, digest) is None
    remember_shapes(store, shapes)
    assert read_manifest(store, digest) == manifest_of(shapes)
    quads = store.count()
    remember_shapes(store, shapes)  # already there: nothing written
    assert store.count() == quads
    graphs = {g.value for g in store._store.named_graphs()}
    assert graphs == {MANIFEST_BASE + digest}
    # a stamp's digest that is not a SHA-256 in hex (a hand-edited store) reads as no manifest
    assert read_manifest(store, digest + "> } } #") is None and read_manifest(store, "abc") is None
