"""Validation: the SHACL report for the seed case, and the shapes catalogue rules."""

from __future__ import annotations

import pytest
from casepaths import SEED_CASE
from rdflib import RDF, RDFS, Graph, Literal, URIRef

from kg.engine.graph import build_case_graph
from kg.engine.reason import infer, load_ontology
from kg.engine.validate import SH, default_shapes, load_shapes, parse_turtle, validate
from kg.errors import RdfSyntaxError, ShapesError
from kg.rdf import DCTERMS, KG
from kg.read.casefile import load_case_file

MTUS = "https://w3id.org/imr-kg/mtus/"
SEED = "https://w3id.org/imr-kg/case/seed-tpi-2015/"


def seed_data() -> Graph:
    cg = build_case_graph(load_case_file(SEED_CASE))
    return load_ontology() + cg.asserted + infer(cg.asserted)


def test_seed_report_exact_results():
    data = seed_data()
    before, shapes_before = set(data), set(default_shapes().graph)
    outcome = validate(data)
    assert set(data) == before  # neither the data graph
    assert set(default_shapes().graph) == shapes_before  # nor the shapes graph is changed
    assert outcome.conforms is False
    got = [(str(r.focus).removeprefix(SEED), str(r.node_shape).removeprefix(MTUS),
            None if r.value is None else str(r.value).removeprefix(SEED)) for r in outcome.results]
    assert got == [
        ("req-tpi", "CPMTG-TPI-1-documented", None),
        ("req-tpi", "CPMTG-TPI-1-documented", None),
        ("req-tpi", "CPMTG-TPI-3-documented", None),
        ("req-tpi", "CPMTG-TPI-3-documented", None),
        ("req-tpi", "CPMTG-TPI-4-against", "dx-radiculitis"),
        ("req-tpi", "CPMTG-TPI-4-against", "f-sensation-c3-c4"),
        ("req-tpi", "CPMTG-TPI-4-documented", None),
        ("req-tpi", "CPMTG-TPI-5-documented", None),
        ("req-tpi", "CPMTG-TPI-8-documented", None),
    ]
    assert all(r.severity == SH.Violation for r in outcome.results)


# --- the catalogue: every shape explainable and citable ---------------------------------
def _node_shapes(g: Graph) -> list:
    return sorted(g.subjects(RDF.type, SH.NodeShape), key=str)


def test_every_node_shape_is_citable_and_tied_to_a_criterion():
    g = default_shapes().graph
    shapes = _node_shapes(g)
    assert len(shapes) >= 18
    for s in shapes:
        assert isinstance(s, URIRef), f"blank node shape {s}"
        assert isinstance(g.value(s, SH.message), Literal), s
        number = g.value(s, KG.criterionNumber)
        assert isinstance(number, Literal) and int(number) >= 1, s
        assert str(g.value(s, DCTERMS.bibliographicCitation) or "").strip(), s
        assert g.value(s, KG.statusOnViolation) in (KG.NotMet, KG.NotDocumented), s
        assert g.value(s, SH.targetClass) is not None, s
        criterion = g.value(s, KG.criterion)
        assert (criterion, RDF.type, KG.Criterion) in g, s
        assert int(g.value(criterion, KG.criterionNumber)) == int(number), s
        assert g.value(criterion, KG.appliesTo) == g.value(s, SH.targetClass), s
        for prop in g.objects(s, SH.property):
            assert isinstance(g.value(prop, SH.message), Literal), f"property shape of {s} has no message"


def test_every_criterion_has_statement_policy_query_section_and_version():
    g = default_shapes().graph
    criteria = sorted(g.subjects(RDF.type, KG.Criterion), key=str)
    tpi = [c for c in criteria if str(c).startswith("https://w3id.org/imr-kg/mtus/CPMTG-TPI-")]
    assert sorted(int(g.value(c, KG.criterionNumber)) for c in tpi) == [1, 2, 3, 4, 5, 6, 7, 8]
    for c in criteria:
        for prop in (RDFS.label, KG.statement, KG.silencePolicy, KG.evidenceQuery, KG.appliesTo):
            assert g.value(c, prop) is not None, (c, prop)
        statuses = {g.value(s, KG.statusOnViolation) for s in g.subjects(KG.criterion, c)}
        assert statuses and statuses <= {KG.NotDocumented, KG.NotMet}, c  # at least one shape checks it
        section = g.value(c, KG.inSection)
        assert g.value(section, DCTERMS.bibliographicCitation) is not None
        assert g.value(section, RDFS.label) is not None and g.value(section, KG.appliesTo) is not None
        versions = list(g.objects(section, KG.inVersion))
        assert versions, section
        for version in versions:
            assert (version, RDF.type, KG.GuidelineVersion) in g
            assert (version, KG.versionOf, None) in g
            assert g.value(version, KG.effectiveFrom) is not None
            assert g.value(version, KG.effectiveDatesSource) is not None
            assert g.value(version, KG.effectiveDatesVerified) is not None


def test_evidence_queries_parse():
    from rdflib.plugins.sparql import prepareQuery

    g = default_shapes().graph
    for c in g.subjects(RDF.type, KG.Criterion):
        prepareQuery(str(g.value(c, KG.evidenceQuery)), initNs={"kg": KG})


# --- bad shapes ------------------------------------------------------------------------
def test_bad_turtle_names_file_and_line_and_leaves_the_graph_alone(tmp_path):
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:d ex:e \n", encoding="utf-8")
    target = Graph()
    target.add((URIRef("http://example.org/x"), RDFS.label, Literal("x")))
    with pytest.raises(RdfSyntaxError) as info:
        parse_turtle(bad, target)
    assert info.value.source == str(bad)
    assert info.value.line == 4  # the statement begun on line 3 ends unfinished at line 4, column 1
    assert "line 4 column 1" in info.value.problem
    assert len(target) == 1


def test_shapes_folder_without_shapes(tmp_path):
    (tmp_path / "x.ttl").write_text("@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\n", encoding="utf-8")
    with pytest.raises(ShapesError, match="no sh:NodeShape"):
        load_shapes(tmp_path, with_packaged=False)
