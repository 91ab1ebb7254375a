"""kg.batch.validate: the SHACL validation report of any RDF data, by pySHACL and by the compiled engine.

Fixtures: tests/data/validate/ (people.nt and its shapes: one student, a sub-class of person
in the data, with no name and an age of 200) and files of the W3C SHACL Core suite read where
the project's sibling folder holds it (skipped without it).
"""

from __future__ import annotations

import json

import pytest
from casepaths import ROOT
from rdflib import RDF, Graph, Literal, Namespace, URIRef

from kg.batch.validate import render_report, validate_data, validate_file
from kg.engine.validate import SH, Shapes, parse_rdf, read_shapes
from kg.errors import RdfSyntaxError, ShapesError

DATA = ROOT / "tests" / "data" / "validate"
EX = Namespace("http://example.org/people#")
SUITE = ROOT.parent / "shared" / "w3c-shacl-tests" / "core"
needs_suite = pytest.mark.skipif(not SUITE.is_dir(), reason=f"the W3C SHACL Core suite is not at {SUITE}")

#: the two violations of people.nt: (focus, component, path, value)
PEOPLE = {(EX.bob, SH.MaxInclusiveConstraintComponent, EX.age, Literal(200)),
          (EX.bob, SH.MinCountConstraintComponent, EX.name, None)}


def rows(report) -> set:
    return {(r.focus, r.component, r.path, r.value) for r in report.results}


@pytest.mark.parametrize("engine", ["pyshacl", "compiled", "auto"])
def test_people_give_the_two_violations_of_bob_with_every_engine(engine):
    report = validate_file(DATA / "people.nt", DATA / "people-shapes.ttl", engine=engine)
    assert report.conforms is False
    assert rows(report) == PEOPLE
    assert {r.source_shape for r in report.results} == {EX["PersonShape-age"], EX["PersonShape-name"]}
    assert report.engine == ("pyshacl" if engine == "pyshacl" else "compiled") and report.notes == ()


def test_the_report_graph_is_a_shacl_validation_report():
    report = validate_file(DATA / "people.nt", DATA / "people-shapes.ttl", engine="compiled")
    g = Graph().parse(data=render_report(report, "turtle"), format="turtle")
    (node,) = g.subjects(RDF.type, SH.ValidationReport)
    assert g.value(node, SH.conforms) == Literal(False)
    found = {(g.value(r, SH.focusNode), g.value(r, SH.sourceConstraintComponent), g.value(r, SH.resultPath),
              g.value(r, SH.value)) for r in g.objects(node, SH.result)}
    assert found == PEOPLE


def test_text_and_json_reports_are_the_same_bytes_for_both_engines_but_the_engine_and_messages():
    a = validate_file(DATA / "people.nt", DATA / "people-shapes.ttl", engine="pyshacl")
    b = validate_file(DATA / "people.nt", DATA / "people-shapes.ttl", engine="compiled")
    ja, jb = json.loads(render_report(a, "json")), json.loads(render_report(b, "json"))
    for j in (ja, jb):
        for r in j["results"]:
            r.pop("message")
    assert (ja["engine"], jb["engine"]) == ("pyshacl", "compiled")
    assert ja["results"] == jb["results"]
    text = render_report(b, "text")
    assert text.startswith("Validation Report\nConforms: False\nEngine: compiled\nResults (2):\n")
    assert "\tFocus Node: ex:bob\n\tValue Node: \"200\"^^xsd:integer\n\tResult Path: ex:age\n" in text


def test_compiled_refuses_a_shape_naming_it_and_the_feature_and_auto_falls_back(tmp_path):
    shapes = tmp_path / "shapes.ttl"
    shapes.write_text("@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/people#> .\n"
                      "ex:S a sh:NodeShape ; sh:targetClass ex:Person ; "
                      "sh:property [ sh:path ex:name ; sh:uniqueLang true ] .\n")
    with pytest.raises(ShapesError, match=r"shape .*: sh:uniqueLang .*not supported by the SPARQL compiler"):
        validate_file(DATA / "people.nt", shapes, engine="compiled")
    report = validate_file(DATA / "people.nt", shapes, engine="auto")
    assert report.engine == "pyshacl" and report.conforms is True
    assert len(report.notes) == 1 and "sh:uniqueLang" in report.notes[0]


def test_empty_data_still_has_the_results_of_target_nodes():
    sg = Graph().parse(format="turtle", data="@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
                       "<urn:s> a sh:NodeShape ; sh:targetNode <urn:a> ; sh:property [ sh:path <urn:p> ; "
                       "sh:minCount 1 ] .")
    for engine in ("pyshacl", "compiled"):
        report = validate_data(Graph(), Shapes(graph=sg, source="test"), engine=engine)
        assert [(r.focus, r.component) for r in report.results] == [(URIRef("urn:a"),
                                                                     SH.MinCountConstraintComponent)]


def test_a_malformed_data_file_names_the_file_and_line():
    with pytest.raises(RdfSyntaxError) as info:
        parse_rdf(DATA / "broken.nt")
    assert info.value.line == 2 and str(DATA / "broken.nt") in str(info.value) and "N-Triples" in str(info.value)


def test_an_unknown_extension_and_a_path_without_shapes_are_refused(tmp_path):
    (tmp_path / "data.csv").write_text("a,b\n")
    with pytest.raises(RdfSyntaxError, match="not a known RDF file extension"):
        parse_rdf(tmp_path / "data.csv")
    with pytest.raises(ShapesError, match="no SHACL shape found"):
        read_shapes(DATA / "people.nt")


def test_a_dataset_is_validated_as_the_union_of_its_graphs(tmp_path):
    trig = tmp_path / "people.trig"
    lines = (DATA / "people.nt").read_text().splitlines()
    trig.write_text("<urn:g1> {\n" + "\n".join(lines[:3]) + "\n}\n<urn:g2> {\n" + "\n".join(lines[3:]) + "\n}\n")
    assert rows(validate_file(trig, DATA / "people-shapes.ttl", engine="compiled")) == PEOPLE
    jsonld = tmp_path / "people.jsonld"
    jsonld.write_text(Graph().parse(DATA / "people.nt").serialize(format="json-ld"))
    assert rows(validate_file(jsonld, DATA / "people-shapes.ttl", engine="pyshacl")) == PEOPLE


@needs_suite
@pytest.mark.parametrize("name, expected", [
    ("node/class-001.ttl", {("Quokki", "ClassConstraintComponent"), ("Typeless", "ClassConstraintComponent")}),
    ("property/minCount-001.ttl", {("InvalidPerson", "MinCountConstraintComponent")}),
    ("targets/targetSubjectsOf-001.ttl", {("InvalidInstance1", "MaxCountConstraintComponent")}),
])
def test_w3c_suite_files_give_the_expected_focus_and_component_with_both_engines(name, expected):
    """Each suite file holds its data and its shapes: it is given as both (the expected report's
    results are in the file too)."""
    path = SUITE / name
    for engine in ("pyshacl", "compiled"):
        report = validate_file(path, path, engine=engine)
        assert {(str(r.focus).rsplit("#", 1)[-1], str(r.component).rsplit("#", 1)[-1]) for r in report.results} \
            == expected, engine
