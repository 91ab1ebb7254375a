"""The case graph: the exact triples :func:`kg.engine.graph.build_case_graph` writes, and where."""

from __future__ import annotations

import datetime as dt

from rdflib import Graph, URIRef

from kg.engine.graph import build_case_graph, case_iri
from kg.model import CaseData, Document, Evidence, IMRDecision, Request, Treatment, URDecision, Worker
from kg.rdf import CASE_BASE, DCTERMS, KG, OA, PROV

PREFIXES = f"""
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix kg: <{KG}> .
@prefix oa: <{OA}> .
@prefix prov: <{PROV}> .
@prefix dcterms: <{DCTERMS}> .
"""


def turtle(text: str, case_id: str) -> Graph:
    """``text`` (Turtle, with ``c:`` for the case's IRIs) as a graph."""
    return Graph().parse(data=f"{PREFIXES}@prefix c: <{CASE_BASE}{case_id}/> .\n{text}", format="turtle")


def test_a_one_request_case_is_exactly_these_triples():
    case = CaseData(case_id="c1", source="test", requests=(
        Request(id="r1", service="trigger_point_injection", text="TPI x3", injections=3),))
    cg = build_case_graph(case)
    assert set(cg.asserted) == set(turtle("""
        c: a kg:Case ; kg:caseNumber "c1" ; kg:hasRequest c:r1 .
        c:r1 a kg:TreatmentRequest ; rdfs:label "TPI x3" ; kg:requestText "TPI x3" ;
            kg:requestedService <https://w3id.org/imr-kg/case/c1/r1/service> .
        <https://w3id.org/imr-kg/case/c1/r1/service> a kg:TriggerPointInjection ; rdfs:label "TPI x3" ;
            kg:injectionCount 3 .
        """, "c1"))
    assert len(cg.reviewer) == 0
    assert (cg.case_id, cg.iri) == ("c1", URIRef(f"{CASE_BASE}c1/"))


def _reviewed_case() -> CaseData:
    quote = Evidence(document="d1", quote="PT helped", start=5, end=14)
    return CaseData(
        case_id="c2", source="test", worker=Worker(age=52, sex="female"),
        documents=(Document(id="d1", title="Letter", date=dt.date(2016, 1, 2), file_name="letter.txt"),),
        treatments=(Treatment(id="t1", kind="physical_therapy", outcomes=("partial_relief",), relief_percent=40.5,
                              evidence=(quote,)),),
        requests=(Request(id="r1", service="acupuncture", text="Acupuncture x6", date=dt.date(2016, 2, 1), sessions=6,
                          ur=URDecision(decision="denied", date=dt.date(2016, 2, 10)),
                          imr=IMRDecision(decision="overturned", date=dt.date(2016, 3, 1), citation="MTUS")),))


def test_facts_literals_and_quotes_are_asserted_and_the_reviewer_kept_apart():
    cg = build_case_graph(_reviewed_case())
    assert set(cg.asserted) == set(turtle("""
        c: a kg:Case ; kg:caseNumber "c2" ; kg:hasDocument c:doc\\/d1 ; kg:hasRequest c:r1 ; kg:hasTreatment c:t1 ;
            kg:hasWorker c:worker .
        c:doc\\/d1 a kg:SourceDocument ; dcterms:title "Letter" ; kg:documentDate "2016-01-02"^^xsd:date ;
            kg:fileName "letter.txt" .
        c:worker a kg:InjuredWorker ; kg:ageYears 52 ; kg:sex "female" .
        c:t1 a kg:PhysicalTherapy ; rdfs:label "physical therapy" ; kg:hasOutcome kg:PartialRelief ;
            kg:painReliefPercent 40.5 ; prov:wasDerivedFrom <https://w3id.org/imr-kg/case/c2/t1#evidence-1> .
        <https://w3id.org/imr-kg/case/c2/t1#evidence-1> a oa:SpecificResource ; oa:hasSource c:doc\\/d1 ;
            oa:hasSelector <https://w3id.org/imr-kg/case/c2/t1#evidence-1-quote>,
                           <https://w3id.org/imr-kg/case/c2/t1#evidence-1-position> .
        <https://w3id.org/imr-kg/case/c2/t1#evidence-1-quote> a oa:TextQuoteSelector ; oa:exact "PT helped" .
        <https://w3id.org/imr-kg/case/c2/t1#evidence-1-position> a oa:TextPositionSelector ;
            oa:start "5"^^xsd:nonNegativeInteger ; oa:end "14"^^xsd:nonNegativeInteger .
        c:r1 a kg:TreatmentRequest ; rdfs:label "Acupuncture x6" ; kg:requestText "Acupuncture x6" ;
            kg:requestDate "2016-02-01"^^xsd:date ; kg:requestedService c:r1\\/service ; kg:hasURDecision c:r1\\/ur .
        c:r1\\/service a kg:Acupuncture ; rdfs:label "Acupuncture x6" ; kg:sessionCount 6 .
        c:r1\\/ur a kg:UtilizationReviewDecision ; kg:urOutcome kg:Denied ; kg:decisionDate "2016-02-10"^^xsd:date .
        """, "c2"))
    # the IMR decision is the answer to compare against: only in the reviewer graph
    assert set(cg.reviewer) == set(turtle("""
        c:r1 kg:hasIMRDecision c:r1\\/imr ; kg:reviewOutcome kg:Overturned ;
        kg:outcomeByMonth "https://w3id.org/imr-kg/ont#Overturned|2016-03" ;
        kg:citationBasisByDate "https://w3id.org/imr-kg/ont#MTUSCitation|2016-03-01" ; kg:daysFromURToIMR 20 ;
        kg:outcomeByServiceKind "https://w3id.org/imr-kg/ont#Overturned|https://w3id.org/imr-kg/ont#Acupuncture" .
        c:r1\\/imr a kg:IMRDecision ; kg:imrOutcome kg:Overturned ; kg:decisionDate "2016-03-01"^^xsd:date ;
            kg:citationText "MTUS" .
        """, "c2"))


def test_the_same_case_gives_the_same_triples_in_the_same_order():
    first, second = build_case_graph(_reviewed_case()), build_case_graph(_reviewed_case())
    assert list(first.asserted) == list(second.asserted)


def test_case_node_and_graph_iris():
    cg = build_case_graph(CaseData(case_id="c3", source="test"))
    assert cg.iri == case_iri("c3") == URIRef("https://w3id.org/imr-kg/case/c3/")
    assert cg.node("r1") == URIRef("https://w3id.org/imr-kg/case/c3/r1")
    assert [cg.graph_iri(n) for n in ("asserted", "inferred", "determination", "reviewer")] == [
        URIRef(f"https://w3id.org/imr-kg/case/c3/graph/{n}") for n in ("asserted", "inferred", "determination",
                                                                      "reviewer")]
    assert set(cg.asserted) == set(turtle('c: a kg:Case ; kg:caseNumber "c3" .', "c3"))
