"""Reasoning: the fast path infers what the ontology defines, and agrees with HermiT."""

from __future__ import annotations

import copy

import pytest
from casepaths import MET_CASE, SEED_CASE, needs_letters
from rdflib import RDF, Graph, URIRef

from kg.engine.graph import build_case_graph
from kg.engine.reason import check_consistency, compile_rules, default_rules, hermit_types, infer, named_types
from kg.errors import ReasoningError
from kg.rdf import KG
from kg.read.casefile import load_case_file, parse_case

SEED = "https://w3id.org/imr-kg/case/seed-tpi-2015/"


def types_of(graph: Graph, node: str) -> set[str]:
    return {str(t).rsplit("#", 1)[-1] for t in graph.objects(URIRef(node), RDF.type)}


def test_seed_inferences_go_to_their_own_graph():
    cg = build_case_graph(load_case_file(SEED_CASE))
    inferred = infer(cg.asserted)
    assert not set(inferred) & set(cg.asserted)
    assert {"RadiculopathyEvidence", "Diagnosis"} <= types_of(inferred, SEED + "dx-radiculitis")
    assert {"RadiculopathySign", "RadiculopathyEvidence", "PresentFinding"} <= types_of(
        inferred, SEED + "f-sensation-c3-c4")
    assert "RadiculopathyEvidence" not in types_of(inferred, SEED + "f-foraminal-stenosis")
    assert "CaseWithRadiculopathyEvidence" in types_of(inferred, SEED)
    assert "TriggerPointInjectionRequest" in types_of(inferred, SEED + "req-tpi")
    assert "RepeatTriggerPointInjectionRequest" not in types_of(inferred, SEED + "req-tpi")
    assert "MedicalManagement" in types_of(inferred, SEED + "tx-pt")
    assert "FailedTreatment" not in types_of(inferred, SEED + "tx-pt")
    assert (URIRef(SEED), KG.records, URIRef(SEED + "dx-radiculitis")) in inferred
    assert (URIRef(SEED + "req-tpi"), KG.isRequestOf, URIRef(SEED)) in inferred
    assert int(inferred.value(URIRef(SEED + "req-tpi"), KG.symptomDocumentedDays)) == 100
    assert inferred.value(URIRef(SEED + "req-tpi"), KG.symptomDurationDays) is None  # no onset date


def test_met_case_derives_repeat_and_interval():
    cg = build_case_graph(load_case_file(MET_CASE))
    inferred = infer(cg.asserted)
    req = URIRef("https://w3id.org/imr-kg/case/tpi-repeat-met/req-tpi")
    assert "RepeatTriggerPointInjectionRequest" in types_of(inferred, str(req))
    assert inferred.value(req, KG.previousSameService) == URIRef(
        "https://w3id.org/imr-kg/case/tpi-repeat-met/tx-tpi-prior")
    assert int(inferred.value(req, KG.daysSincePreviousSameService)) == 87
    tx = "https://w3id.org/imr-kg/case/tpi-repeat-met/"
    assert "FailedPharmacologicalManagement" in types_of(inferred, tx + "tx-cyclobenzaprine")  # intolerant
    assert "FailedPhysicalManagement" in types_of(inferred, tx + "tx-stretching")  # partial relief
    assert "NormalNeurologicalFinding" in types_of(inferred, tx + "f-reflexes-normal")


def test_infer_is_pure_and_repeatable():
    cg = build_case_graph(load_case_file(SEED_CASE))
    before = set(cg.asserted)
    first, second = infer(cg.asserted), infer(cg.asserted)
    assert set(cg.asserted) == before
    assert set(first) == set(second)


def test_unsupported_class_expression_is_refused():
    onto = Graph().parse(data="""
        @prefix owl: <http://www.w3.org/2002/07/owl#> . @prefix ex: <http://example.org/> .
        ex:A a owl:Class ; owl:equivalentClass [ a owl:Class ; owl:complementOf ex:B ] .
        ex:B a owl:Class .""", format="turtle")
    with pytest.raises(ReasoningError, match="does not support"):
        compile_rules(onto)


# --- HermiT, the reference ---------------------------------------------------------------
def _fixture_cases():
    import yaml

    met = yaml.safe_load(MET_CASE.read_text())
    variants = []
    radic = copy.deepcopy(met)
    radic["findings"].append({"id": "f-emg", "kind": "electrodiagnostic_radiculopathy", "status": "present"})
    radic["diagnoses"].append({"id": "dx-r", "label": "radiculopathy", "kind": "radiculopathy"})
    variants.append(radic)
    first = copy.deepcopy(met)
    first["treatments"] = [t for t in first["treatments"] if t["id"] != "tx-tpi-prior"]
    first["treatments"][2]["outcome"] = ["effective"]
    variants.append(first)
    return [load_case_file(SEED_CASE), load_case_file(MET_CASE)] + [parse_case(v) for v in variants]


@pytest.fixture(scope="module")
def hermit_results():
    out = []
    for case in _fixture_cases():
        cg = build_case_graph(case)
        out.append((cg, infer(cg.asserted, derive=False), hermit_types(cg.asserted)))
    return out


def test_ontology_is_consistent_under_hermit():
    check_consistency()


@needs_letters
def test_fast_path_infers_exactly_what_hermit_infers(hermit_results):
    rules = default_rules()
    compared = 0
    for cg, inferred, hermit in hermit_results:
        both = cg.asserted + inferred
        assert hermit, "HermiT returned no individuals"
        for node, classes in hermit.items():
            assert named_types(both, node, rules) == classes, node
            compared += 1
    assert compared > 150
    # and HermiT really classified something beyond the asserted types
    seed_cg, _, seed_hermit = hermit_results[0]
    assert KG.RadiculopathyEvidence in seed_hermit[URIRef(SEED + "dx-radiculitis")]
    assert KG.CaseWithRadiculopathyEvidence in seed_hermit[URIRef(SEED)]


def test_hermit_finds_a_contradictory_case_inconsistent():
    case = parse_case({"case": "c1", "findings": [{"id": "f1", "kind": "twitch_response", "status": "present"}],
                       "requests": [{"id": "r1", "service": "trigger_point_injection", "text": "TPI"}]})
    cg = build_case_graph(case)
    cg.asserted.add((cg.node("f1"), KG.polarity, KG.Absent))  # present and absent at once
    with pytest.raises(ReasoningError, match="inconsistent"):
        check_consistency(cg.asserted)
