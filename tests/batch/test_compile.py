"""The compiler (kg.batch.compile): rules and shapes as SPARQL over many case graphs at once,
each query kept inside one case's graph, and SHACL it cannot compile refused by name.

That the compiled engine decides exactly as the reference does is the differential test in
test_engine.py; here each piece is checked on a tiny ontology or shape."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from rdflib import Graph, URIRef

from kg.batch.compile import (
    compile_inference,
    compile_shapes,
    evidence_select,
    rewrite_in_graph,
    rule_tables,
    run_fixpoint,
)
from kg.engine.reason import compile_rules
from kg.engine.validate import Shapes
from kg.errors import ShapesError
from kg.rdf import KG

EX = "https://example.org/"
TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
PREFIXES = f"""@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix kg: <{KG}> .
@prefix ex: <{EX}> .
"""


def shapes(turtle: str) -> Shapes:
    return Shapes(graph=Graph().parse(data=PREFIXES + turtle, format="turtle"), source="test")


def store_with(nquads: str) -> ox.Store:
    store = ox.Store()
    store.load(nquads.encode("utf-8"), format=ox.RdfFormat.N_QUADS)
    return store


# --- shapes ---------------------------------------------------------------------------------
def test_a_required_property_compiles_to_one_query_that_finds_the_case_without_it():
    (q,) = compile_shapes(shapes("""
        ex:own-3 a sh:NodeShape ; sh:targetClass kg:TreatmentRequest ; kg:statusOnViolation kg:NotDocumented ;
            sh:property ex:own-3-date .
        ex:own-3-date sh:path kg:requestDate ; sh:minCount 1 ; sh:message "No request date." ."""), Graph()).queries
    assert (q.node_shape, q.source_shape, q.message, q.status, q.target, q.with_value) == (
        URIRef(f"{EX}own-3"), URIRef(f"{EX}own-3-date"), "No request date.", KG.NotDocumented, KG.TreatmentRequest,
        False)
    store = store_with(f"""<{EX}r1> <{TYPE}> <{KG.TreatmentRequest}> <urn:case1> .
<{EX}r1> <{KG.requestDate}> "2016-01-01" <urn:case1> .
<{EX}r2> <{TYPE}> <{KG.TreatmentRequest}> <urn:case2> .
""")
    assert [(row[0].value, row[1].value) for row in store.query(q.sparql)] == [("urn:case2", f"{EX}r2")]


def test_shacl_the_compiler_does_not_handle_is_refused_naming_the_shape():
    with pytest.raises(ShapesError) as info:
        compile_shapes(shapes("""
            ex:own-1 a sh:NodeShape ; sh:targetClass kg:TreatmentRequest ; kg:statusOnViolation kg:NotMet ;
                sh:message "x" ; sh:property ex:own-1-text .
            ex:own-1-text sh:path kg:requestText ; sh:uniqueLang true ; sh:message "y" ."""), Graph())
    assert info.value.problem.startswith(f"shape {EX}own-1-text: sh:uniqueLang")
    assert info.value.problem.endswith("is not supported by the SPARQL compiler")


def test_a_shape_without_a_status_is_refused():
    with pytest.raises(ShapesError) as info:
        compile_shapes(shapes('ex:own-2 a sh:NodeShape ; sh:targetClass kg:TreatmentRequest ; sh:message "x" .'),
                       Graph())
    assert info.value.problem == f"shape {EX}own-2: kg:statusOnViolation must be kg:NotMet or kg:NotDocumented"


# --- inference ------------------------------------------------------------------------------
def test_the_fixpoint_classifies_inside_each_case_graph_only():
    """Sub-classes and a defined class (D = B and some p E): y is a D in its case; x, whose p
    value is an E only in the other case, is not."""
    onto = Graph().parse(data=PREFIXES + """
        ex:A a owl:Class ; rdfs:subClassOf ex:B . ex:B a owl:Class ; rdfs:subClassOf ex:C .
        ex:C a owl:Class . ex:E a owl:Class . ex:p a owl:ObjectProperty .
        ex:D a owl:Class ; owl:equivalentClass [ a owl:Class ; owl:intersectionOf
            ( ex:B [ a owl:Restriction ; owl:onProperty ex:p ; owl:someValuesFrom ex:E ] ) ] .""", format="turtle")
    rules = compile_rules(onto)
    tables, individuals = rule_tables(rules, onto)
    assert len(individuals) == 0
    store = store_with("".join(f"<{s}> <{p}> <{o}> .\n" for s, p, o in sorted(tables)) + f"""
<{EX}x> <{TYPE}> <{EX}A> <urn:g1> .
<{EX}x> <{EX}p> <{EX}z> <urn:g1> .
<{EX}y> <{TYPE}> <{EX}A> <urn:g2> .
<{EX}y> <{EX}p> <{EX}z> <urn:g2> .
<{EX}z> <{TYPE}> <{EX}E> <urn:g2> .
""")
    assert run_fixpoint(store, compile_inference(rules)) == 2  # one round infers, the next finds nothing new
    types = {(q.graph_name.value, q.subject.value.removeprefix(EX), q.object.value.removeprefix(EX))
             for q in store.quads_for_pattern(None, ox.NamedNode(TYPE), None)
             if not isinstance(q.graph_name, ox.DefaultGraph)}
    assert types == {("urn:g1", "x", "A"), ("urn:g1", "x", "B"), ("urn:g1", "x", "C"),
                     ("urn:g2", "y", "A"), ("urn:g2", "y", "B"), ("urn:g2", "y", "C"), ("urn:g2", "y", "D"),
                     ("urn:g2", "z", "E")}


def test_rules_with_sub_selects_are_kept_inside_each_case():
    """A derivation rule's aggregate runs per case graph (two cases, two maxima)."""
    rule = ("CONSTRUCT { ?r <urn:max> ?m } WHERE { { SELECT ?r (MAX(?v) AS ?m) "
            "WHERE { ?r <urn:v> ?v } GROUP BY ?r } }")
    store = ox.Store()
    for g, values in (("urn:a", (1, 5)), ("urn:b", (7, 2))):
        for v in values:
            store.add(ox.Quad(ox.NamedNode("urn:r"), ox.NamedNode("urn:v"), ox.Literal(str(v), datatype=ox.NamedNode(
                "http://www.w3.org/2001/XMLSchema#integer")), ox.NamedNode(g)))
    store.update(rewrite_in_graph(rule))
    got = {(q.graph_name.value, q.object.value) for q in store.quads_for_pattern(None, ox.NamedNode("urn:max"), None)}
    assert got == {("urn:a", "5"), ("urn:b", "7")}


def test_a_rule_that_is_not_a_construct_is_refused():
    with pytest.raises(ShapesError) as info:
        rewrite_in_graph("SELECT ?s WHERE { ?s ?p ?o }")
    assert info.value.problem == "a derivation rule is not a CONSTRUCT query"


# --- evidence queries -----------------------------------------------------------------------
def test_evidence_query_binding_the_focus_in_a_group():
    """``{ BIND($this AS ?fact) }`` gives the request itself, as rdflib's pre-binding does."""
    q = evidence_select("SELECT ?fact WHERE { { $this <urn:p> ?fact } UNION { BIND($this AS ?fact) } }",
                        URIRef("urn:Request"))
    assert "?this a <urn:Request> . BIND(?this AS ?fact)" in q
    assert "$this" not in q


# --- probes beyond the W3C suite: each silent error the compiler once made is now exact or refused ---------
def probe(shapes_ttl: str, data_ttl: str) -> tuple[set, set]:
    """(the compiled engine's results, pySHACL's) as (focus, value, component) sets."""
    import pyshacl

    from kg.batch.shacl import validate_graph
    from kg.engine.validate import SH

    sg = shapes(shapes_ttl)
    data = Graph().parse(data=PREFIXES + data_ttl, format="turtle")
    fast = {(r.focus, r.value, r.component) for r in validate_graph(data, compile_shapes(sg, Graph()))}
    _c, report, _t = pyshacl.validate(data, shacl_graph=sg.graph, inference="none")
    ref = {(report.value(r, SH.focusNode), report.value(r, SH.value), report.value(r, SH.sourceConstraintComponent))
           for r in report.subjects(None, SH.ValidationResult) if (r, SH.focusNode, None) in report}
    return fast, ref


def test_a_top_level_property_shape_is_compiled_not_skipped():
    fast, ref = probe("ex:s a sh:PropertyShape ; kg:statusOnViolation kg:NotMet ; sh:targetClass ex:C ; "
                      "sh:path ex:p ; sh:minCount 1 .", "ex:a a ex:C .")
    assert fast == ref and len(fast) == 1


def test_a_property_shape_inside_not_is_applied_to_the_values_of_its_path():
    fast, ref = probe("""ex:s a sh:NodeShape ; kg:statusOnViolation kg:NotMet ; sh:targetClass ex:C ;
        sh:not [ sh:path ex:p ; sh:property [ sh:path ex:q ; sh:minCount 1 ] ] .""",
                      "ex:a a ex:C ; ex:p ex:b . ex:b ex:q 1 . ex:c a ex:C ; ex:p ex:d .")
    assert fast == ref and len(fast) == 1


def test_a_shape_that_is_a_class_keeps_its_implicit_target_beside_target_class():
    fast, ref = probe("""ex:C a rdfs:Class, sh:NodeShape ; kg:statusOnViolation kg:NotMet ; sh:targetClass ex:D ;
        sh:property [ sh:path ex:p ; sh:minCount 1 ] .""",
                      "ex:a a ex:C . ex:b a ex:D . ex:e a ex:E . ex:E rdfs:subClassOf ex:C .")
    assert fast == ref and len(fast) == 3


@pytest.mark.parametrize("turtle, feature", [
    ("ex:s a sh:NodeShape ; kg:statusOnViolation kg:NotMet ; sh:targetClass ex:C ; sh:or () .", "an empty sh:or list"),
    ("ex:s a sh:NodeShape ; kg:statusOnViolation kg:NotMet ; sh:targetClass ex:C ; sh:and () "
     ".", "an empty sh:and list"),
    ("ex:s a sh:NodeShape ; kg:statusOnViolation kg:NotMet ; sh:targetClass ex:C ; sh:node ex:s .",
     "a shape that refers to itself"),
    ('ex:s a sh:NodeShape ; kg:statusOnViolation kg:NotMet ; sh:targetClass ex:C ; '
     'sh:property [ sh:path ex:p ; sh:hasValue "1"^^<http://www.w3.org/2001/XMLSchema#byte> ] .', "the store keeps as"),
])
def test_what_cannot_be_exact_is_refused_by_name(turtle, feature):
    with pytest.raises(ShapesError) as info:
        compile_shapes(shapes(turtle), Graph())
    assert feature in info.value.problem and info.value.problem.startswith("shape ")


def test_data_with_literals_the_store_rewrites_is_refused():
    from kg.batch.shacl import validate_graph

    compiled = compile_shapes(shapes("ex:s a sh:NodeShape ; kg:statusOnViolation kg:NotMet ; sh:targetClass ex:C ; "
                                     "sh:property [ sh:path ex:p ; sh:datatype "
                                     "<http://www.w3.org/2001/XMLSchema#integer> ] ."),
                              Graph())
    data = Graph().parse(data=PREFIXES + 'ex:a a ex:C ; ex:p "1"^^<http://www.w3.org/2001/XMLSchema#byte> '
                                         '.', format="turtle")
    with pytest.raises(ShapesError, match="the store keeps as"):
        validate_graph(data, compiled)
