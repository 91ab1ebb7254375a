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
import functools
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef

from kg import model
from kg.rdf import CASE_BASE, DCTERMS, KG, OA, PROV, bind_prefixes, summary_text

__all__ = ["CaseGraph", "case_iri", "build_case_graph", "case_graph_nquads", "Extra"]

_UR = {"certified": KG.Certified, "modified": KG.Modified, "denied": KG.Denied}
_IMR = {"upheld": KG.Upheld, "overturned": KG.Overturned}


def citation_basis(citation: str | None) -> URIRef:
    """What the reviewer's citation rests on: :data:`kg:NoCitation` for none (or a letter saying
    the reviewer cited nothing), :data:`kg:OutsideMTUSCitation` for one naming no MTUS guideline
    or a "Non-MTUS" one, else :data:`kg:MTUSCitation` (the same test ``add-summaries.ru`` writes).

    >>> [citation_basis(c).split("#")[1] for c in (None, "MTUS ACOEM", "ODG Pain", "Non-MTUS: ODG")]
    ['NoCitation', 'MTUSCitation', 'OutsideMTUSCitation', 'OutsideMTUSCitation']
    """
    if citation is None or "did not cite" in citation.lower():
        return KG.NoCitation
    if "Non-MTUS" in citation or "MTUS" not in citation:
        return KG.OutsideMTUSCitation
    return KG.MTUSCitation


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


def build_case_graph(case: model.CaseData, *, extra: Iterable[Extra] = ()) -> CaseGraph:
    """Turn :class:`CaseData` into RDF.  Pure: the input is not changed.

    ``extra``: further facts of the case's nodes, ``(node id, predicate, value)`` (a value as
    :data:`Extra` says), added after the case file's.

    >>> from kg.read.casefile import parse_case
    >>> cg = build_case_graph(parse_case({"case": "c1", "requests": [
    ...     {"id": "r1", "service": "trigger_point_injection", "text": "TPI x3", "injections": 3}]}))
    >>> (cg.node("r1"), RDF.type, KG.TreatmentRequest) in cg.asserted
    True
    """
    sink = _GraphSink()
    base = _Builder(case, sink).build(extra)
    return CaseGraph(case_id=case.case_id, iri=base, asserted=sink.graphs[0], reviewer=sink.graphs[1])


def case_graph_nquads(case: model.CaseData, *, extra: Iterable[Extra] = ()) -> tuple[bytes, bytes]:
    """The asserted and the reviewer graph of :func:`build_case_graph` (the same triples) as
    N-Quads in the case's named graphs (``<case>graph/asserted``, ``<case>graph/reviewer``),
    written directly, without an rdflib graph: the form the batch engine and the store read,
    each term written as pyoxigraph writes it (the differential test holds the two equal).

    Raises ValueError for an IRI that N-Quads cannot carry (a node id with a space, say).

    >>> from kg.read.casefile import parse_case
    >>> asserted, reviewer = case_graph_nquads(parse_case({"case": "c1", "requests": [
    ...     {"id": "r1", "service": "trigger_point_injection", "text": "TPI x3", "injections": 3}]}))
    >>> print(asserted.decode().splitlines()[0])
    <https://w3id.org/imr-kg/case/c1/> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> \
<https://w3id.org/imr-kg/ont#Case> <https://w3id.org/imr-kg/case/c1/graph/asserted> .
    >>> reviewer
    b''
    """
    base = case_iri(case.case_id)
    sink = _TextSink(str(base))
    _Builder(case, sink).build(extra)
    return sink.nquads(0), sink.nquads(1)


#: an extra fact of a case node for :func:`build_case_graph`: (node id, predicate, value)
Extra = tuple[str, URIRef, "_Value"]
_ASSERTED, _REVIEWER = 0, 1


class _GraphSink:
    """Where the builder's triples go for :func:`build_case_graph`: two rdflib graphs (asserted, reviewer)."""

    def __init__(self) -> None:
        self.graphs = (bind_prefixes(Graph()), bind_prefixes(Graph()))

    def link(self, s: URIRef, p: URIRef, o: URIRef, graph: int = _ASSERTED) -> None:
        self.graphs[graph].add((s, p, o))

    def literal(self, s: URIRef, p: URIRef, o: _Value, graph: int = _ASSERTED, kind: object = None) -> None:
        self.graphs[graph].add((s, p, _literal(o, kind)))


_NON_NEGATIVE = object()  # the kind of value an evidence offset is (xsd:nonNegativeInteger)


def _literal(o: _Value, kind: object = None) -> Literal:
    """The literal :meth:`_Builder.add` writes for a value that is not an IRI (``kind``
    :data:`_NON_NEGATIVE`: an offset, typed ``xsd:nonNegativeInteger``)."""
    if kind is _NON_NEGATIVE:
        return Literal(o, datatype=XSD.nonNegativeInteger)
    if isinstance(o, bool):
        return Literal(o)
    if isinstance(o, int):
        return Literal(o, datatype=XSD.integer)
    if isinstance(o, float):
        return Literal(f"{o:g}", datatype=XSD.decimal)
    if isinstance(o, _dt.date):
        return Literal(o.isoformat(), datatype=XSD.date)
    return Literal(str(o))


@functools.lru_cache(maxsize=1 << 16)
def _typed_text(kind: object, value: Any) -> str:
    """A typed literal's N-Quads text, as rdflib makes the literal (its lexical form normalised
    for the datatype) and pyoxigraph writes it; made once for each value (offsets and dates
    repeat).  ``kind``: :data:`_NON_NEGATIVE`, or the value's type (part of the key: 1 and True differ)."""
    term = _literal(value, kind)
    return f'"{_escaped(str(term))}"^^<{term.datatype}>'


# what pyoxigraph's N-Quads writer escapes in a literal: the ECHARs, other controls and the two
# noncharacters U+FFFE, U+FFFF as \uXXXX (checked against it for every code point)
_ESCAPES = {i: f"\\u{i:04X}" for i in (*range(0x20), 0x7F, 0xFFFE, 0xFFFF)}
_ESCAPES.update({0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r", 0x22: '\\"', 0x5C: "\\\\"})
_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f\x7f"\\\ufffe\uffff]')


def _escaped(text: str) -> str:
    return text.translate(_ESCAPES) if _NEEDS_ESCAPE.search(text) else text


class _TextSink:
    """Where the builder's triples go for :func:`case_graph_nquads`: N-Quads lines for the two
    graphs, each line once, in the order the triples came."""

    def __init__(self, base: str) -> None:
        self.tails = (f" <{base}graph/asserted> .\n", f" <{base}graph/reviewer> .\n")
        self.lines: tuple[dict[str, None], dict[str, None]] = ({}, {})
        self.iris: dict[str, str] = {}  # IRI -> its N-Quads text, checked once

    def iri(self, term: str) -> str:
        text = self.iris.get(term)
        if text is None:
            import pyoxigraph as ox

            ox.NamedNode(term)  # pyoxigraph's own check: ValueError for an IRI N-Quads cannot carry
            text = self.iris[term] = f"<{term}>"
        return text

    def link(self, s: URIRef, p: URIRef, o: URIRef, graph: int = _ASSERTED) -> None:
        self.lines[graph][f"{self.iri(s)} {self.iri(p)} {self.iri(o)}{self.tails[graph]}"] = None

    def literal(self, s: URIRef, p: URIRef, o: _Value, graph: int = _ASSERTED, kind: object = None) -> None:
        if kind is None and isinstance(o, str):
            text = f'"{_escaped(o)}"'  # a plain literal: rdflib keeps the text as it is
        else:
            text = _typed_text(type(o) if kind is None else kind, o)
        self.lines[graph][f"{self.iri(s)} {self.iri(p)} {text}{self.tails[graph]}"] = None

    def nquads(self, graph: int) -> bytes:
        return "".join(self.lines[graph]).encode("utf-8")


class _Builder:
    def __init__(self, case: model.CaseData, sink: _GraphSink | _TextSink) -> None:
        self.case = case
        self.base = case_iri(case.case_id)
        self.out = sink
        self.v = model.vocabulary()

    def n(self, local: str) -> URIRef:
        return URIRef(f"{self.base}{local}")

    def link(self, s: URIRef, p: URIRef, o: URIRef, graph: int = _ASSERTED) -> None:
        self.out.link(s, p, o, graph)

    def add(self, s: URIRef, p: URIRef, o: _Value, graph: int = _ASSERTED) -> None:
        if o is None:
            return
        if isinstance(o, URIRef):
            self.out.link(s, p, o, graph)
        else:
            self.out.literal(s, p, o, graph)

    def evidence(self, node: URIRef, items: Iterable[model.Evidence], graph: int = _ASSERTED) -> None:
        link, out = self.link, self.out
        for i, ev in enumerate(items):
            res = URIRef(f"{node}#evidence-{i + 1}")
            link(node, PROV.wasDerivedFrom, res, graph)
            link(res, RDF.type, OA.SpecificResource, graph)
            link(res, OA.hasSource, self.n(f"doc/{ev.document}"), graph)
            quote = URIRef(f"{res}-quote")
            link(res, OA.hasSelector, quote, graph)
            link(quote, RDF.type, OA.TextQuoteSelector, graph)
            out.literal(quote, OA.exact, ev.quote, graph)
            if ev.start is not None and ev.end is not None:
                pos = URIRef(f"{res}-position")
                link(res, OA.hasSelector, pos, graph)
                link(pos, RDF.type, OA.TextPositionSelector, graph)
                out.literal(pos, OA.start, ev.start, graph, _NON_NEGATIVE)
                out.literal(pos, OA.end, ev.end, graph, _NON_NEGATIVE)

    def region(self, node: URIRef, region: str | None) -> None:
        if region:
            self.link(node, KG.bodyRegion, KG[self.v.regions[region]])

    def build(self, extra: Iterable[Extra] = ()) -> URIRef:
        """Every part of the case, in the order of the case file, then ``extra``; the case's IRI."""
        c, case = self.case, self.base
        self.link(case, RDF.type, KG.Case)
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
        for local, p, o in extra:
            self.add(self.n(local), p, o)
        return case

    def documents(self, documents: Iterable[model.Document]) -> None:
        case = self.base
        for d in documents:
            doc = self.n(f"doc/{d.id}")
            self.link(case, KG.hasDocument, doc)
            self.link(doc, RDF.type, KG.SourceDocument)
            self.add(doc, DCTERMS.title, d.title)
            self.add(doc, KG.documentDate, d.date)
            self.add(doc, KG.fileName, d.file_name)
            if d.file_absent:
                self.add(doc, KG.quotesChecked, False)

    def part(self, link: URIRef, node: URIRef, kind: URIRef, values: dict[URIRef, _Value], *,
             region: str | None = None, evidence: Iterable[model.Evidence] = ()) -> None:
        """One part of the case: linked from the case by ``link``, of type ``kind``, with its
        ``values`` (in this order), its body region and its evidence."""
        self.link(self.base, link, node)
        self.link(node, RDF.type, kind)
        for p, o in values.items():
            self.add(node, p, o)
        self.region(node, region)
        self.evidence(node, evidence)

    def worker(self, worker: model.Worker) -> None:
        self.part(KG.hasWorker, self.n("worker"), KG.InjuredWorker, {KG.ageYears: worker.age, KG.sex: worker.sex},
                  evidence=worker.evidence)

    def injury(self, injury: model.Injury) -> None:
        inj = self.n("injury")
        self.link(self.base, KG.hasInjury, inj)
        self.link(inj, RDF.type, KG.Injury)
        self.add(inj, KG.injuryDate, injury.date)
        self.add(inj, KG.mechanism, injury.mechanism)
        for r in injury.regions:
            self.link(inj, KG.bodyRegion, KG[self.v.regions[r]])
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
        node = self.n(f.id)
        self.link(self.base, KG.hasFinding, node)
        self.link(node, RDF.type, KG[self.v.findings[f.kind]])
        self.link(node, KG.polarity, KG.Present if f.status == "present" else KG.Absent)
        label = f.label or f.kind.replace("_", " ")
        label += " (present)" if f.status == "present" else " (absent)"
        if f.site:
            label += f", {f.site}"
        self.add(node, RDFS.label, label)
        self.add(node, KG.bodySite, f.site)
        self.add(node, KG.observedOn, f.date)
        self.region(node, f.region)
        if f.study:
            self.link(node, KG.observedIn, self.n(f.study))
        self.evidence(node, f.evidence)

    def symptom(self, s: model.Symptom) -> None:
        self.part(KG.hasSymptom, self.n(s.id), KG.Symptom,
                  {RDFS.label: s.label, KG.onsetDate: s.onset, KG.documentedSince: s.documented_since},
                  region=s.region, evidence=s.evidence)

    def treatment(self, t: model.Treatment) -> None:
        node = self.n(t.id)
        self.link(self.base, KG.hasTreatment, node)
        self._treatment(node, t.kind, t.label, t.region, t.injections, t.substances, t.sessions)
        self.add(node, KG.durationDays, t.days)
        self.add(node, KG.spinalLevelCount, t.levels)
        for o in t.outcomes:
            self.link(node, KG.hasOutcome, KG[self.v.outcomes[o]])
        self.add(node, KG.painReliefPercent, t.relief_percent)
        self.add(node, KG.reliefDurationDays, t.relief_days)
        self.add(node, KG.performedOn, t.date)
        self.evidence(node, t.evidence)

    def request(self, r: model.Request) -> None:
        node = self.n(r.id)
        svc = self.n(f"{r.id}/service")
        self.link(self.base, KG.hasRequest, node)
        self.link(node, RDF.type, KG.TreatmentRequest)
        self.link(node, KG.requestedService, svc)
        self.add(node, RDFS.label, r.text)
        self.add(node, KG.requestText, r.text)
        self.add(node, KG.requestDate, r.date)
        self.add(node, KG.frequencyText, r.frequency)
        self.region(node, r.region)
        self._treatment(svc, r.service, r.text, r.region, r.injections, r.substances, r.sessions)
        self.add(svc, KG.dispenseQuantity, r.count)
        self.add(svc, KG.drugName, r.drug)
        self.add(svc, KG.drugStrength, r.strength)
        self.add(svc, KG.dispenseAmount, r.amount)
        self.add(svc, KG.spinalLevelCount, r.levels)
        self.add(svc, KG.durationDays, r.days)
        if r.form is not None:
            self.link(svc, KG.dosageForm, KG[model.DOSAGE_FORMS[r.form]])
        self.evidence(node, r.evidence)
        if r.ur is not None:
            self.ur_decision(node, r.id, r.ur)
        if r.imr is not None:
            self.imr_decision(node, r.id, r.imr, KG[self.v.treatments[r.service]], r.ur)

    def ur_decision(self, request: URIRef, request_id: str, decision: model.URDecision) -> None:
        ur = self.n(f"{request_id}/ur")
        self.link(request, KG.hasURDecision, ur)
        self.link(ur, RDF.type, KG.UtilizationReviewDecision)
        self.link(ur, KG.urOutcome, _UR[decision.decision])
        self.add(ur, KG.decisionDate, decision.date)
        self.add(ur, KG.reasonText, decision.reason)
        self.evidence(ur, decision.evidence)

    def imr_decision(self, request: URIRef, request_id: str, decision: model.IMRDecision, service: URIRef,
                     ur: model.URDecision | None = None) -> None:
        """The reviewer's decision: into the reviewer graph, never the asserted one.  With it, on
        the request, its outcome and the outcome paired with the decision month, the service's
        kind and the reviewer's specialty (``outcome IRI|value``), which the aggregate queries
        count items by; the citation's basis with the decision date (``basis IRI|YYYY-MM-DD``) and
        the days from the UR decision (both dates stated), which the list queries page by."""
        imr = self.n(f"{request_id}/imr")
        outcome = _IMR[decision.decision]
        self.link(request, KG.reviewOutcome, outcome, _REVIEWER)
        day = decision.date.isoformat() if decision.date is not None else ""
        self.add(request, KG.citationBasisByDate, summary_text(citation_basis(decision.citation), day), _REVIEWER)
        if decision.date is not None:
            self.add(request, KG.outcomeByMonth, summary_text(outcome, day[:7]), _REVIEWER)
            if ur is not None and ur.date is not None:
                self.add(request, KG.daysFromURToIMR, (decision.date - ur.date).days, _REVIEWER)
        self.add(request, KG.outcomeByServiceKind, summary_text(outcome, service), _REVIEWER)
        if decision.specialty:
            self.add(request, KG.outcomeBySpecialty, summary_text(outcome, decision.specialty), _REVIEWER)
        self.link(request, KG.hasIMRDecision, imr, _REVIEWER)
        self.link(imr, RDF.type, KG.IMRDecision, _REVIEWER)
        self.link(imr, KG.imrOutcome, _IMR[decision.decision], _REVIEWER)
        self.add(imr, KG.decisionDate, decision.date, _REVIEWER)
        self.add(imr, KG.reviewerSpecialty, decision.specialty, _REVIEWER)
        self.add(imr, KG.citationText, decision.citation, _REVIEWER)
        self.evidence(imr, decision.evidence, _REVIEWER)

    def _treatment(self, node: URIRef, kind: str, label: str | None, region: str | None,
                   injections: int | None, substances: tuple[str, ...], sessions: int | None) -> None:
        self.link(node, RDF.type, KG[self.v.treatments[kind]])
        self.add(node, RDFS.label, label or kind.replace("_", " "))
        self.region(node, region)
        self.add(node, KG.injectionCount, injections)
        self.add(node, KG.sessionCount, sessions)
        for s in substances:
            self.link(node, KG.substance, KG[self.v.substances[s]])
