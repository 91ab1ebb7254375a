"""Case data to RDF: the asserted facts of a case and, kept apart, the reviewer's record.

Second stage of the pipeline.  Each case gets IRIs under
``https://w3id.org/imr-kg/case/<case id>/`` and four named graphs:
``.../graph/asserted`` (facts from the record), ``.../graph/inferred``
(written by :mod:`kg.engine.reason`), ``.../graph/determination`` (written by
:mod:`kg.engine.determine`) and ``.../graph/reviewer`` (the IMR reviewer's decision,
an answer to compare against, never read by the engine).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef

from kg import model
from kg.rdf import CASE_BASE, DCTERMS, KG, OA, PROV, bind_prefixes

__all__ = ["CaseGraph", "case_iri", "build_case_graph"]

_UR = {"certified": KG.Certified, "modified": KG.Modified, "denied": KG.Denied}
_IMR = {"upheld": KG.Upheld, "overturned": KG.Overturned}

#: what :meth:`_Builder.add` turns into a literal (or, for an IRI, writes as it is); None adds nothing
_Value = URIRef | str | int | float | _dt.date | None


def case_iri(case_id: str) -> URIRef:
    """The IRI of a case.

    >>> str(case_iri("seed-tpi-2015"))
    'https://w3id.org/imr-kg/case/seed-tpi-2015/'
    """
    return URIRef(f"{CASE_BASE}{case_id}/")


@dataclass(frozen=True)
class CaseGraph:
    """A case as RDF: asserted facts and the reviewer's record, in separate graphs."""

    case_id: str
    iri: URIRef
    asserted: Graph
    reviewer: Graph

    def graph_iri(self, name: str) -> URIRef:
        """IRI of one of the case's named graphs: asserted, inferred, determination, reviewer."""
        return URIRef(f"{self.iri}graph/{name}")

    def node(self, local_id: str) -> URIRef:
        """IRI of a node of this case by its id in the case file."""
        return URIRef(f"{self.iri}{local_id}")


def build_case_graph(case: model.CaseData) -> CaseGraph:
    """Turn :class:`CaseData` into RDF.  Pure: the input is not changed.

    >>> from kg.read.casefile import parse_case
    >>> cg = build_case_graph(parse_case({"case": "c1", "requests": [
    ...     {"id": "r1", "service": "trigger_point_injection", "text": "TPI x3", "injections": 3}]}))
    >>> (cg.node("r1"), RDF.type, KG.TreatmentRequest) in cg.asserted
    True
    """
    return _Builder(case).build()


class _Builder:
    def __init__(self, case: model.CaseData) -> None:
        self.case = case
        self.base = case_iri(case.case_id)
        self.g = bind_prefixes(Graph())
        self.reviewer = bind_prefixes(Graph())
        self.v = model.vocabulary()

    def n(self, local: str) -> URIRef:
        return URIRef(f"{self.base}{local}")

    def add(self, s: URIRef, p: URIRef, o: _Value, graph: Graph | None = None) -> None:
        if o is None:
            return
        g = self.g if graph is None else graph
        if isinstance(o, URIRef):
            g.add((s, p, o))
        elif isinstance(o, bool):
            g.add((s, p, Literal(o)))
        elif isinstance(o, int):
            g.add((s, p, Literal(o, datatype=XSD.integer)))
        elif isinstance(o, float):
            g.add((s, p, Literal(f"{o:g}", datatype=XSD.decimal)))
        elif isinstance(o, _dt.date):
            g.add((s, p, Literal(o.isoformat(), datatype=XSD.date)))
        else:
            g.add((s, p, Literal(str(o))))

    def evidence(self, node: URIRef, items: Iterable[model.Evidence], graph: Graph | None = None) -> None:
        g = self.g if graph is None else graph
        for i, ev in enumerate(items):
            res = URIRef(f"{node}#evidence-{i + 1}")
            g.add((node, PROV.wasDerivedFrom, res))
            g.add((res, RDF.type, OA.SpecificResource))
            g.add((res, OA.hasSource, self.n(f"doc/{ev.document}")))
            quote = URIRef(f"{res}-quote")
            g.add((res, OA.hasSelector, quote))
            g.add((quote, RDF.type, OA.TextQuoteSelector))
            g.add((quote, OA.exact, Literal(ev.quote)))
            if ev.start is not None and ev.end is not None:
                pos = URIRef(f"{res}-position")
                g.add((res, OA.hasSelector, pos))
                g.add((pos, RDF.type, OA.TextPositionSelector))
                g.add((pos, OA.start, Literal(ev.start, datatype=XSD.nonNegativeInteger)))
                g.add((pos, OA.end, Literal(ev.end, datatype=XSD.nonNegativeInteger)))

    def region(self, node: URIRef, region: str | None) -> None:
        if region:
            self.g.add((node, KG.bodyRegion, KG[self.v.regions[region]]))

    def build(self) -> CaseGraph:
        """Every part of the case, in the order of the case file."""
        c, case = self.case, self.base
        self.g.add((case, RDF.type, KG.Case))
        self.add(case, KG.caseNumber, c.case_id)
        self.add(case, RDFS.label, c.title)
        self.documents(c.documents)
        if c.worker is not None:
            self.worker(c.worker)
        if c.injury is not None:
            self.injury(c.injury)
        parts: tuple[tuple[Iterable[Any], Callable[[Any], None]], ...] = (
            (c.diagnoses, self.diagnosis), (c.studies, self.study), (c.findings, self.finding),
            (c.symptoms, self.symptom), (c.treatments, self.treatment), (c.requests, self.request))
        for items, add in parts:
            for item in items:
                add(item)
        return CaseGraph(case_id=c.case_id, iri=case, asserted=self.g, reviewer=self.reviewer)

    def documents(self, documents: Iterable[model.Document]) -> None:
        g, case = self.g, self.base
        for d in documents:
            doc = self.n(f"doc/{d.id}")
            g.add((case, KG.hasDocument, doc))
            g.add((doc, RDF.type, KG.SourceDocument))
            self.add(doc, DCTERMS.title, d.title)
            self.add(doc, KG.documentDate, d.date)
            self.add(doc, KG.fileName, d.file_name)
            if d.file_absent:
                g.add((doc, KG.quotesChecked, Literal(False)))

    def part(self, link: URIRef, node: URIRef, kind: URIRef, values: dict[URIRef, _Value], *,
             region: str | None = None, evidence: Iterable[model.Evidence] = ()) -> None:
        """One part of the case: linked from the case by ``link``, of type ``kind``, with its
        ``values`` (in this order), its body region and its evidence."""
        self.g.add((self.base, link, node))
        self.g.add((node, RDF.type, kind))
        for p, o in values.items():
            self.add(node, p, o)
        self.region(node, region)
        self.evidence(node, evidence)

    def worker(self, worker: model.Worker) -> None:
        self.part(KG.hasWorker, self.n("worker"), KG.InjuredWorker, {KG.ageYears: worker.age, KG.sex: worker.sex},
                  evidence=worker.evidence)

    def injury(self, injury: model.Injury) -> None:
        g, inj = self.g, self.n("injury")
        g.add((self.base, KG.hasInjury, inj))
        g.add((inj, RDF.type, KG.Injury))
        self.add(inj, KG.injuryDate, injury.date)
        self.add(inj, KG.mechanism, injury.mechanism)
        for r in injury.regions:
            g.add((inj, KG.bodyRegion, KG[self.v.regions[r]]))
        self.evidence(inj, injury.evidence)

    def diagnosis(self, dx: model.Diagnosis) -> None:
        self.part(KG.hasDiagnosis, self.n(dx.id), KG[self.v.diagnoses[dx.kind]],
                  {RDFS.label: dx.label, KG.icd10cm: dx.icd10}, evidence=dx.evidence)

    def study(self, st: model.Study) -> None:
        label = f"{st.kind.upper().replace('_', '/')}" + (f", {st.region}" if st.region else "")
        self.part(KG.hasStudy, self.n(st.id), KG[self.v.studies[st.kind]],
                  {RDFS.label: label, KG.studyDate: st.date, KG.resultText: st.result},
                  region=st.region, evidence=st.evidence)

    def finding(self, f: model.Finding) -> None:
        g, node = self.g, self.n(f.id)
        g.add((self.base, KG.hasFinding, node))
        g.add((node, RDF.type, KG[self.v.findings[f.kind]]))
        g.add((node, KG.polarity, KG.Present if f.status == "present" else KG.Absent))
        label = f.label or f.kind.replace("_", " ")
        label += " (present)" if f.status == "present" else " (absent)"
        if f.site:
            label += f", {f.site}"
        self.add(node, RDFS.label, label)
        self.add(node, KG.bodySite, f.site)
        self.add(node, KG.observedOn, f.date)
        self.region(node, f.region)
        if f.study:
            g.add((node, KG.observedIn, self.n(f.study)))
        self.evidence(node, f.evidence)

    def symptom(self, s: model.Symptom) -> None:
        self.part(KG.hasSymptom, self.n(s.id), KG.Symptom,
                  {RDFS.label: s.label, KG.onsetDate: s.onset, KG.documentedSince: s.documented_since},
                  region=s.region, evidence=s.evidence)

    def treatment(self, t: model.Treatment) -> None:
        g, node = self.g, self.n(t.id)
        g.add((self.base, KG.hasTreatment, node))
        self._treatment(node, t.kind, t.label, t.region, t.injections, t.substances, t.sessions)
        self.add(node, KG.durationDays, t.days)
        self.add(node, KG.spinalLevelCount, t.levels)
        for o in t.outcomes:
            g.add((node, KG.hasOutcome, KG[self.v.outcomes[o]]))
        self.add(node, KG.painReliefPercent, t.relief_percent)
        self.add(node, KG.reliefDurationDays, t.relief_days)
        self.add(node, KG.performedOn, t.date)
        self.evidence(node, t.evidence)

    def request(self, r: model.Request) -> None:
        g, node = self.g, self.n(r.id)
        svc = self.n(f"{r.id}/service")
        g.add((self.base, KG.hasRequest, node))
        g.add((node, RDF.type, KG.TreatmentRequest))
        g.add((node, KG.requestedService, svc))
        self.add(node, RDFS.label, r.text)
        self.add(node, KG.requestText, r.text)
        self.add(node, KG.requestDate, r.date)
        self.add(node, KG.frequencyText, r.frequency)
        self.region(node, r.region)
        self._treatment(svc, r.service, r.text, r.region, r.injections, r.substances, r.sessions)
        self.add(svc, KG.dispenseQuantity, r.count)
        self.add(svc, KG.drugName, r.drug)
        self.add(svc, KG.drugStrength, r.strength)
        self.add(svc, KG.spinalLevelCount, r.levels)
        self.add(svc, KG.durationDays, r.days)
        if r.form is not None:
            g.add((svc, KG.dosageForm, KG[model.DOSAGE_FORMS[r.form]]))
        self.evidence(node, r.evidence)
        if r.ur is not None:
            self.ur_decision(node, r.id, r.ur)
        if r.imr is not None:
            self.imr_decision(node, r.id, r.imr)

    def ur_decision(self, request: URIRef, request_id: str, decision: model.URDecision) -> None:
        g, ur = self.g, self.n(f"{request_id}/ur")
        g.add((request, KG.hasURDecision, ur))
        g.add((ur, RDF.type, KG.UtilizationReviewDecision))
        g.add((ur, KG.urOutcome, _UR[decision.decision]))
        self.add(ur, KG.decisionDate, decision.date)
        self.add(ur, KG.reasonText, decision.reason)
        self.evidence(ur, decision.evidence)

    def imr_decision(self, request: URIRef, request_id: str, decision: model.IMRDecision) -> None:
        """The reviewer's decision: into the reviewer graph, never the asserted one."""
        rv, imr = self.reviewer, self.n(f"{request_id}/imr")
        rv.add((request, KG.hasIMRDecision, imr))
        rv.add((imr, RDF.type, KG.IMRDecision))
        rv.add((imr, KG.imrOutcome, _IMR[decision.decision]))
        self.add(imr, KG.decisionDate, decision.date, rv)
        self.add(imr, KG.reviewerSpecialty, decision.specialty, rv)
        self.add(imr, KG.citationText, decision.citation, rv)
        self.evidence(imr, decision.evidence, rv)

    def _treatment(self, node: URIRef, kind: str, label: str | None, region: str | None,
                   injections: int | None, substances: tuple[str, ...], sessions: int | None) -> None:
        g = self.g
        g.add((node, RDF.type, KG[self.v.treatments[kind]]))
        self.add(node, RDFS.label, label or kind.replace("_", " "))
        self.region(node, region)
        self.add(node, KG.injectionCount, injections)
        self.add(node, KG.sessionCount, sessions)
        for s in substances:
            g.add((node, KG.substance, KG[self.v.substances[s]]))
