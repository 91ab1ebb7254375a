"""Determination: from the validation report to a criterion-by-criterion decision.

Fifth stage.  For every request of a case the engine picks the guideline
section that applies to the request and the version in force on its review
date, then reports **every** criterion of that section as met, not met,
not documented or not applicable, with the facts that decided it and their
source quotes.  A request is medically necessary only when every applicable
criterion is met and one of them is more than an exclusion (:func:`conclude`).
The reviewer's IMR decision is read only to be shown beside the engine's
conclusion; it is never an input.

Nothing here mutates its input: :func:`determine_case` returns new objects
and the determination as a new RDF graph (:func:`determination_graph`).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable

from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef
from rdflib.query import ResultRow
from rdflib.term import Node

from kg.engine.graph import CaseGraph, build_case_graph
from kg.engine.guidelines import criterion_role, definition_terms, exclusions_only
from kg.engine.validate import ShapeResult, Shapes, ValidationOutcome, default_shapes, validate
from kg.model import CaseData, vocabulary
from kg.rdf import KG, OA, PROV, GraphReader, bind_prefixes, literal_int, sorted_terms, summary_text

# rdflib's RDF and XSD namespaces build a new term on every attribute access; hot paths use these
_TYPE, _XSD_DATE = RDF.type, XSD.date
_FALSE = Literal(False)

__all__ = ["STATUS_NAMES", "Quote", "EvidenceItem", "CriterionAssessment", "GuidelineUse",
           "RequestDetermination", "CaseDetermination", "CaseView", "case_requests", "assemble", "conclude",
           "depends_on_determinations", "determine_case", "determination_graph", "determination_triples",
           "determination_stamp", "engine_version"]

STATUS_NAMES = {KG.Met: "met", KG.NotMet: "not_met", KG.NotDocumented: "not_documented",
                KG.NotApplicable: "not_applicable"}
CONCLUSION_NAMES = {KG.MedicallyNecessary: "medically_necessary",
                    KG.NotMedicallyNecessary: "not_medically_necessary", KG.NotCovered: "not_covered"}


def engine_version() -> str:
    """The installed imr-kg version (from package metadata)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("imr-kg")
    except PackageNotFoundError:
        return "0+unknown"


@dataclass(frozen=True)
class Quote:
    """A source span a fact was taken from.  ``checked`` is False when the case file names the
    document's file but it was not found, so the quote was not checked against the document."""

    document: str
    file_name: str | None
    exact: str
    start: int | None
    end: int | None
    checked: bool = True


@dataclass(frozen=True)
class EvidenceItem:
    """A fact an assessment rests on, with where it came from."""

    fact: str
    label: str
    kinds: tuple[str, ...]
    graph: str  # "asserted" or "inferred"
    decisive: bool
    quotes: tuple[Quote, ...]
    derived_values: tuple[tuple[str, str], ...] = ()
    #: why a fact shown under a criterion did not count for it ("" when it may have)
    not_counted: str = ""


@dataclass(frozen=True)
class CriterionAssessment:
    criterion: str
    number: int
    label: str
    statement: str
    status: str
    reasons: tuple[str, ...]
    evidence: tuple[EvidenceItem, ...]
    decided_by: tuple[str, ...]
    silence_policy: str
    #: "required", "indication" (one of several, any met suffices) or "exclusion" (must be met, but
    #: being met is no indication: :func:`kg.engine.guidelines.criterion_role`)
    role: str = "required"


@dataclass(frozen=True)
class GuidelineUse:
    section: str
    section_label: str
    version: str
    version_label: str
    effective_from: _dt.date | None
    effective_until: _dt.date | None
    dates_verified: bool
    dates_source: str
    #: "MTUS", or "outside the MTUS" for evidence a reviewer may use only where the MTUS does not
    #: address the service (Labor Code 4610.5(c)(2))
    kind: str = "MTUS"
    #: who publishes the guideline (outside the MTUS; "" for the MTUS)
    source: str = ""
    #: the Labor Code 4610.5(c)(2) step the guideline stands at (outside the MTUS; "" for the MTUS)
    evidence_step: str = ""

    @property
    def outside_mtus(self) -> bool:
        return self.kind != "MTUS"


@dataclass(frozen=True)
class RequestDetermination:
    request: str
    request_id: str
    service: str
    service_kind: str
    request_date: _dt.date | None
    review_date: _dt.date | None
    guideline: GuidelineUse | None
    conclusion: str
    note: str
    assessments: tuple[CriterionAssessment, ...]
    reviewer_decision: str | None
    reviewer_citation: str | None

    @property
    def medically_necessary(self) -> bool:
        return self.conclusion == "medically_necessary"


@dataclass(frozen=True)
class CaseDetermination:
    case_id: str
    case: str
    engine_version: str
    items: tuple[RequestDetermination, ...]
    inferred: Graph = field(default_factory=Graph, repr=False, compare=False)
    shapes_digest: str = ""

    @property
    def medically_necessary(self) -> bool:
        """True only when every request is medically necessary."""
        return all(i.medically_necessary for i in self.items)


def determine_case(case: CaseData | CaseGraph, *, shapes: Shapes | None = None) -> CaseDetermination:
    """Reason, validate and determine every request of one case.

    >>> from kg.read.casefile import parse_case
    >>> d = determine_case(parse_case({"case": "c1", "requests": [
    ...     {"id": "r1", "service": "trigger_point_injection", "text": "TPI", "date": "2015-01-05"}]}))
    >>> d.items[0].conclusion, [a.status for a in d.items[0].assessments][:2]
    ('not_medically_necessary', ['not_documented', 'not_documented'])
    """
    from kg.engine.reason import infer, load_ontology

    cg = case if isinstance(case, CaseGraph) else build_case_graph(case)
    shapes = shapes or default_shapes()
    inferred = infer(cg.asserted)
    data = Graph()
    for g in (load_ontology(), cg.asserted, inferred):
        for t in g:
            data.add(t)
    outcome = validate(data, shapes)
    requests = case_requests(cg.asserted, cg.iri)
    items = assemble(_GraphView(cg, inferred, data, outcome), shapes, requests)
    if depends_on_determinations(shapes, lambda r, c: (r, _TYPE, c) in data, requests):
        # some sections read other requests' conclusions: validate again with the first ones in the data
        first = CaseDetermination(case_id=cg.case_id, case=str(cg.iri), engine_version="", items=items)
        for t in determination_graph(first):
            data.add(t)
        items = assemble(_GraphView(cg, inferred, data, validate(data, shapes)), shapes, requests)
    return CaseDetermination(case_id=cg.case_id, case=str(cg.iri), engine_version=engine_version(), items=items,
                             inferred=inferred, shapes_digest=shapes.digest)


def case_requests(facts: GraphReader, case: Node) -> list[URIRef]:
    """The requests of ``case`` in its asserted ``facts``, sorted: the IRIs the case graph names them by."""
    return sorted(r for r in facts.objects(case, KG.hasRequest) if isinstance(r, URIRef))


def assemble(view: CaseView, shapes: Shapes, requests: Iterable[URIRef]) -> tuple[RequestDetermination, ...]:
    """The determination of each request from a case's facts and its validation results.

    ``view`` gives the facts (asserted, inferred, reviewer), each node's types, the
    validation results per focus node and each criterion's evidence: the reference
    path backs it with rdflib graphs and pySHACL, :mod:`kg.batch.engine` with the results of
    the compiled queries.  Both decide here, so they decide alike.
    """
    ctx = _Context(view, shapes)
    return tuple(ctx.request(r) for r in requests)


def determination_stamp(det: CaseDetermination) -> str:
    """What a stored determination was made with: engine version and shapes digest.
    A batch re-run skips cases whose stamp is unchanged."""
    return f"{det.engine_version} {det.shapes_digest}"


def depends_on_determinations(shapes: Shapes, has_type: Callable[[URIRef, Node | None], bool],
                               requests: Iterable[URIRef]) -> bool:
    """Does a section that reads other determinations apply to one of the requests?

    ``has_type(request, cls)`` says whether a request is of a class (``cls`` is None for a
    section that names none)."""
    classes = _catalogue(shapes).dependent_classes
    return any(has_type(r, cls) for r in requests for cls in classes)


def conclude(assessments: Iterable[CriterionAssessment]) -> tuple[str, str]:
    """The conclusion a section's assessed criteria give, and the note that explains it when no
    single criterion does ("" otherwise).

    Medically necessary only when every applicable required criterion and exclusion is met, one of
    the applicable indications (if any) is met, **and** at least one applicable criterion is not an
    exclusion.  An exclusion met only says a reason against the service does not apply
    (``kg:Exclusion``): a section whose applicable criteria are all exclusions, all met, shows no
    indication, so the request is not medically necessary (medical necessity is not established)
    and the note says why.

    >>> ex = CriterionAssessment("c1", 1, "Not for chronic pain", "", "met", (), (), (), "", role="exclusion")
    >>> conclude([ex])[0], conclude([replace(ex, role="required")])
    ('not_medically_necessary', ('medically_necessary', ''))
    """
    live = [x for x in assessments if x.status != "not_applicable"]
    must = [x for x in live if x.role != "indication"]
    indications = [x for x in live if x.role == "indication"]
    passes = all(x.status == "met" for x in must) and (not indications or any(x.status == "met" for x in indications))
    if passes and any(x.role != "exclusion" for x in live):
        return "medically_necessary", ""
    if not passes:
        return "not_medically_necessary", ""
    if not live:
        return "not_medically_necessary", ("No indication is documented: none of this section's criteria applies to "
                                           "the request, so medical necessity is not established.")
    return "not_medically_necessary", exclusions_only([x.number for x in live])


class CaseView:
    """What the determination reads of one case (see :func:`assemble`).

    ``asserted``, ``inferred`` and ``reviewer`` answer rdflib's ``value``,
    ``objects`` and ``predicate_objects`` (:class:`kg.rdf.GraphReader`); the methods give
    a node's types (asserted and inferred), the validation results about a focus node and a
    criterion's evidence facts for a request.
    """

    asserted: GraphReader
    inferred: GraphReader
    reviewer: GraphReader
    case_id: str

    def types(self, node: Node) -> set[Node]:  # pragma: no cover - interface
        raise NotImplementedError

    def results(self, focus: Node) -> tuple[ShapeResult, ...]:  # pragma: no cover - interface
        raise NotImplementedError

    def evidence(self, request: URIRef, criterion: Node, query: str) -> set[Node]:  # pragma: no cover
        raise NotImplementedError

    def is_asserted(self, node: Node) -> bool:  # pragma: no cover - interface
        raise NotImplementedError


class _GraphView(CaseView):
    """The reference view: rdflib graphs, pySHACL's results, evidence queries run by rdflib."""

    def __init__(self, cg: CaseGraph, inferred: Graph, data: Graph, outcome: ValidationOutcome) -> None:
        self.asserted, self.inferred, self.reviewer, self.case_id = cg.asserted, inferred, cg.reviewer, cg.case_id
        self.asserted_graph, self.data, self.outcome = cg.asserted, data, outcome

    def types(self, node: Node) -> set[Node]:
        return set(self.data.objects(node, _TYPE))

    def results(self, focus: Node) -> tuple[ShapeResult, ...]:
        return self.outcome.for_focus(focus)

    def evidence(self, request: URIRef, criterion: Node, query: str) -> set[Node]:
        rows = self.data.query(query, initNs={"kg": KG}, initBindings={"this": request})
        return {row[0] for row in rows if isinstance(row, ResultRow)}  # a SELECT's rows always are

    def is_asserted(self, node: Node) -> bool:
        return (node, None, None) in self.asserted_graph


def _local(iri: Node | None) -> str:
    """The local name of a term: its text after the last ``#`` or ``/``."""
    text = str(iri)
    return text.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _date(value: Node | None) -> _dt.date | None:
    if isinstance(value, Literal) and value.datatype == _XSD_DATE:
        return value.toPython()
    return None


@dataclass(frozen=True)
class _CriterionInfo:
    iri: Node
    applies: Node | None
    applies_label: str
    shapes: tuple[Node, ...]
    number: int
    label: str
    statement: str
    silence_policy: str
    role: str
    evidence_query: str | None


class _Catalogue:
    """What the determination reads of the shapes graph, read once per shapes graph."""

    def __init__(self, shapes: Shapes) -> None:
        sg = shapes.graph
        # MTUS sections first (Labor Code 4610.5(c)(2)): a section outside the MTUS is chosen only
        # when no MTUS section applies; within each kind, by priority then IRI
        self.outside = {s for s in sg.subjects(_TYPE, KG.GuidelineSection) if _outside_mtus(sg, s)}
        self.sections = sorted(((s, sg.value(s, KG.appliesTo)) for s in sg.subjects(_TYPE, KG.GuidelineSection)),
                               key=lambda x: (x[0] in self.outside,
                                              -literal_int(sg.value(x[0], KG.priority, default=Literal(0))), str(x[0])))
        self.versions = {s: [(v, _date(sg.value(v, KG.effectiveFrom)), _date(sg.value(v, KG.effectiveUntil)),
                              str(sg.value(v, RDFS.label))) for v in sorted_terms(sg.objects(s, KG.inVersion))]
                         for s, _ in self.sections}
        self.status = {ns: sg.value(ns, KG.statusOnViolation) for ns in sg.subjects(KG.statusOnViolation, None)}
        self.criteria: dict[Node, list[_CriterionInfo]] = {}
        for s, _ in self.sections:
            infos = []
            for c in sorted(sg.subjects(KG.inSection, s), key=lambda c: literal_int(sg.value(c, KG.criterionNumber))):
                applies = sg.value(c, KG.appliesTo)
                label = (sg.value(applies, RDFS.label, default=None) or _ontology_label(applies) or _local(applies)) \
                    if applies is not None else ""
                query = sg.value(c, KG.evidenceQuery)
                infos.append(_CriterionInfo(
                    iri=c, applies=applies, applies_label=str(label),
                    shapes=tuple(sorted_terms(sg.subjects(KG.criterion, c))),
                    number=literal_int(sg.value(c, KG.criterionNumber)), label=str(sg.value(c, RDFS.label)),
                    statement=str(sg.value(c, KG.statement)), silence_policy=str(sg.value(c, KG.silencePolicy) or ""),
                    role=criterion_role(sg, c),
                    evidence_query=str(query) if query is not None else None))
            self.criteria[s] = infos
        self.uses: dict[tuple[Node, Node], GuidelineUse] = {}
        for s, _ in self.sections:
            for v, start, end, label in self.versions[s]:
                verified = sg.value(v, KG.effectiveDatesVerified)
                guideline = sg.value(v, KG.versionOf)
                self.uses[(s, v)] = GuidelineUse(
                    section=str(s), section_label=str(sg.value(s, RDFS.label)), version=str(v), version_label=label,
                    effective_from=start, effective_until=end,
                    dates_verified=bool(verified.toPython()) if isinstance(verified, Literal) else False,
                    dates_source=str(sg.value(v, KG.effectiveDatesSource) or ""),
                    kind="outside the MTUS" if s in self.outside else "MTUS",
                    source=str(sg.value(guideline, KG.guidelineSource) or "") if guideline is not None else "",
                    evidence_step=str(sg.value(guideline, KG.evidenceStep) or "") if guideline is not None else "")
        self.kind_of_class = {v: k for k, v in vocabulary().treatments.items()}
        self.dependent_classes: tuple[Node | None, ...] = tuple(
            sg.value(s, KG.appliesTo) for s in sg.subjects(KG.dependsOnDeterminations, None))


def _outside_mtus(sg: Graph, section: Node) -> bool:
    """Whether a section belongs to a guideline outside the MTUS (kg:guidelineKind kg:OutsideMTUSGuideline)."""
    return any((sg.value(v, KG.versionOf), KG.guidelineKind, KG.OutsideMTUSGuideline) in sg
               for v in sg.objects(section, KG.inVersion))


_CATALOGUES: dict[int, tuple[Shapes, _Catalogue]] = {}


def _catalogue(shapes: Shapes) -> _Catalogue:
    hit = _CATALOGUES.get(id(shapes))
    if hit is None or hit[0] is not shapes:
        if len(_CATALOGUES) > 8:
            _CATALOGUES.clear()
        hit = _CATALOGUES[id(shapes)] = (shapes, _Catalogue(shapes))
    return hit[1]


class _Context:
    def __init__(self, view: CaseView, shapes: Shapes) -> None:
        self.view, self.shapes = view, shapes
        self.cat = _catalogue(shapes)

    # -- guideline choice ------------------------------------------------------
    def choose(self, request: URIRef, review: _dt.date | None) -> tuple[Node | None, Node | None, str]:
        """The section that applies to the request and the version of it in force on ``review``."""
        types = self.view.types(request)
        applicable = [s for s, applies in self.cat.sections if applies in types]
        if not applicable:
            return None, None, self.uncovered_note(request)
        if review is None:
            return None, None, "The request has no review or request date, so no guideline version can be chosen."
        labels = []
        for s in applicable:
            for v, start, end, label in self.cat.versions[s]:
                if (start is None or start <= review) and (end is None or review <= end):
                    return s, v, ""
                labels.append(label)
        return None, None, (f"No encoded guideline version was in force on {review.isoformat()} "
                            f"(encoded: {', '.join(sorted(set(labels)))}); the engine does not judge by a version "
                            f"outside its dates.")

    def uncovered_note(self, request: URIRef) -> str:
        """Why no section applies: the service kind and region, the sections written for that kind of
        service and why each did not apply (region, or another condition such as a surgery in the case)."""
        a = self.view.asserted
        service = a.value(request, KG.requestedService)
        svc_types = self.view.types(service) if service is not None else set()
        kinds = sorted(str(_ontology_label(t) or _local(t)) for t in a.objects(service, _TYPE)) if service else []
        region = a.value(request, KG.bodyRegion)
        where = f"region {_ontology_label(region) or _local(region)}" if region is not None else "no region stated"
        head = (f"No encoded guideline section applies to this service ({', '.join(kinds) or 'unclassified'}; "
                f"{where}).")
        considered = []
        for s, applies in self.cat.sections:
            services, regions = definition_terms(applies)
            if not services & svc_types:
                continue
            label = self.shapes.graph.value(s, RDFS.label)
            if regions and region not in regions:
                why = "applies only to " + ", ".join(sorted(str(_ontology_label(r) or _local(r)) for r in regions))
            else:
                what = (_ontology_label(applies) if applies is not None else None) or _local(applies)
                why = f"applies only to a {what}, which this request is not"
            considered.append(f"\"{label}\" ({why})")
        if not considered:
            return head + " No MTUS section, and no section outside the MTUS, is encoded for this kind of service."
        return head + " Sections considered: " + "; ".join(considered) + "."

    # -- one request -------------------------------------------------------------
    def request(self, request: URIRef) -> RequestDetermination:
        a = self.view.asserted
        request_date = _date(a.value(request, KG.requestDate))
        ur = a.value(request, KG.hasURDecision)
        review = _date(a.value(ur, KG.decisionDate)) if ur is not None else None
        review = review or request_date
        service = a.value(request, KG.requestedService)
        kind_of_class = self.cat.kind_of_class
        kind_classes = sorted(_local(t) for t in a.objects(service, _TYPE) if _local(t) in kind_of_class)
        service_kind = kind_of_class[kind_classes[0]] if kind_classes else "other"
        rv = self.view.reviewer
        imr = rv.value(request, KG.hasIMRDecision)
        reviewer = None
        citation = None
        if imr is not None:
            reviewer = _local(rv.value(imr, KG.imrOutcome)).lower()
            c = rv.value(imr, KG.citationText)
            citation = str(c) if c is not None else None
        section, version, note = self.choose(request, review)
        uncovered = RequestDetermination(
            request=str(request), request_id=_local(request), service=str(a.value(request, KG.requestText)),
            service_kind=service_kind, request_date=request_date, review_date=review, guideline=None,
            conclusion="not_covered", note=note, assessments=(), reviewer_decision=reviewer, reviewer_citation=citation)
        if section is None or version is None:
            return uncovered
        assessments = tuple(self.assess(request, c) for c in self.cat.criteria[section])
        conclusion, note = conclude(assessments)
        return replace(uncovered, guideline=self.cat.uses[(section, version)], conclusion=conclusion,
                       note=note, assessments=assessments)

    def assess(self, request: URIRef, c: _CriterionInfo) -> CriterionAssessment:
        status_of = self.cat.status
        shapes = c.shapes
        results = [r for r in self.view.results(request) if r.node_shape in shapes]
        against = [r for r in results if status_of.get(r.node_shape) == KG.NotMet]
        missing = [r for r in results if status_of.get(r.node_shape) == KG.NotDocumented]
        if c.applies is not None and c.applies not in self.view.types(request):
            status = KG.NotApplicable
            reasons: tuple[str, ...] = (f"Applies only to a {c.applies_label}; this request is not one.",)
            decisive: list[ShapeResult] = []
            decided_by: tuple[str, ...] = ()
        elif against:
            status, decisive = KG.NotMet, against
            reasons = _unique(r.message + (f" Recorded value: {r.value}." if isinstance(r.value, Literal) else "")
                              for r in against)
            decided_by = tuple(sorted({str(r.node_shape) for r in against}))
        elif missing:
            status, reasons, decisive = KG.NotDocumented, _unique(r.message for r in missing), missing
            decided_by = tuple(sorted({str(r.node_shape) for r in missing}))
        else:
            status, decisive = KG.Met, []
            reasons = (c.statement,)
            decided_by = tuple(str(s) for s in shapes)
        evidence = self.evidence(request, c, {r.value for r in decisive if isinstance(r.value, URIRef)},
                                 failing=status in (KG.NotMet, KG.NotDocumented)) \
            if status != KG.NotApplicable else ()
        return CriterionAssessment(
            criterion=str(c.iri), number=c.number, label=c.label, statement=c.statement,
            status=STATUS_NAMES[status], reasons=reasons, evidence=evidence, decided_by=decided_by,
            silence_policy=c.silence_policy, role=c.role)

    def evidence(self, request: URIRef, c: _CriterionInfo, decisive: set[Node], *,
                 failing: bool = False) -> tuple[EvidenceItem, ...]:
        facts: set[Node] = set(decisive)
        if c.evidence_query is not None:
            facts |= self.view.evidence(request, c.iri, c.evidence_query)
        return tuple(self.item(f, f in decisive, note=self.not_counted(request, f, failing))
                     for f in sorted(facts, key=str))

    def not_counted(self, request: URIRef, fact: Node, failing: bool) -> str:
        """Why ``fact`` did not count for the request: recorded for another region (or limb) than the
        one the request is of (kg:otherRegionFinding), or, under a criterion that is not met,
        documented absent or normal."""
        if (request, KG.otherRegionFinding, fact) in self.view.inferred:
            reg = self.view.asserted.value(fact, KG.bodyRegion)
            label = _ontology_label(reg) if reg is not None else None
            return f"recorded for the {label or _local(reg)}, not the region or limb of the request"
        if failing and (fact, KG.polarity, KG.Absent) in self.view.asserted:
            return "documented absent or normal, so it does not show what the criterion needs"
        return ""

    def item(self, fact: Node, decisive: bool, *, note: str = "") -> EvidenceItem:
        a = self.view.asserted
        graph = "asserted" if self.view.is_asserted(fact) else "inferred"
        kinds = tuple(sorted(_local(t) for t in a.objects(fact, _TYPE)))
        quotes = []
        for res in sorted(a.objects(fact, PROV.wasDerivedFrom), key=str):
            doc = a.value(res, OA.hasSource)
            exact = start = end = None
            for sel in a.objects(res, OA.hasSelector):
                if (sel, _TYPE, OA.TextQuoteSelector) in a:
                    exact = str(a.value(sel, OA.exact))
                if (sel, _TYPE, OA.TextPositionSelector) in a:
                    start, end = literal_int(a.value(sel, OA.start)), literal_int(a.value(sel, OA.end))
            fn = a.value(doc, KG.fileName)
            quotes.append(Quote(document=_local(doc), file_name=str(fn) if fn is not None else None,
                                exact=exact or "", start=start, end=end,
                                checked=doc is None or (doc, KG.quotesChecked, _FALSE) not in a))
        derived = tuple(sorted((_local(p), str(o)) for p, o in self.view.inferred.predicate_objects(fact)
                               if isinstance(o, Literal)))
        label = a.value(fact, RDFS.label)
        return EvidenceItem(fact=str(fact), label=str(label) if label is not None else _local(fact), kinds=kinds,
                            graph=graph, decisive=decisive, quotes=tuple(quotes), derived_values=derived,
                            not_counted="" if decisive else note)


def _ontology_label(cls: Node) -> Node | None:
    from kg.engine.reason import load_ontology

    return load_ontology().value(cls, RDFS.label)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for i in items:
        if i and i not in out:
            out.append(i)
    return tuple(out)


_STATUS_IRI = {v: k for k, v in STATUS_NAMES.items()}
_CONCLUSION_IRI = {v: k for k, v in CONCLUSION_NAMES.items()}
_FAILING = {"not_met": KG.notMetCriterion, "not_documented": KG.notDocumentedCriterion}


def determination_graph(det: CaseDetermination, *, rationales: dict[str, str] | None = None) -> Graph:
    """The determination as RDF (for the case's ``graph/determination``), with stable IRIs."""
    g = bind_prefixes(Graph())
    for t in determination_triples(det, rationales=rationales):
        g.add(t)
    return g


def determination_triples(det: CaseDetermination, *, rationales: dict[str, str] | None = None
                          ) -> Iterable[tuple[Node, Node, Node]]:
    """The triples of :func:`determination_graph`, one by one."""
    yield URIRef(det.case), KG.determinedWith, Literal(determination_stamp(det))
    for item in det.items:
        d = URIRef(f"{item.request}/determination")
        yield d, _TYPE, KG.Determination
        yield d, KG.determinationFor, URIRef(item.request)
        yield d, KG.conclusion, _CONCLUSION_IRI[item.conclusion]
        yield d, KG.engineVersion, Literal(det.engine_version)
        g = item.guideline
        summary: tuple[str, ...] = (_CONCLUSION_IRI[item.conclusion], "", "", "", "")
        if g is not None:
            kind = KG.OutsideMTUSGuideline if g.outside_mtus else KG.MTUSGuideline
            yield d, KG.usedSection, URIRef(g.section)
            yield d, KG.usedVersion, URIRef(g.version)
            yield d, KG.guidelineKind, kind
            if g.evidence_step:
                yield d, KG.evidenceStep, Literal(g.evidence_step)
            summary = (_CONCLUSION_IRI[item.conclusion], kind, g.section, g.version, g.evidence_step)
        # the same facts in one literal on the request, for counting at corpus scale
        yield URIRef(item.request), KG.determinationSummary, Literal(summary_text(*summary))
        if item.note:
            yield d, RDFS.comment, Literal(item.note)
        if rationales and item.request in rationales:
            yield d, KG.rationaleText, Literal(rationales[item.request])
        for a in item.assessments:
            node = URIRef(f"{d}/criterion-{a.number}")
            yield d, KG.hasAssessment, node
            yield node, _TYPE, KG.CriterionAssessment
            yield node, KG.assesses, URIRef(a.criterion)
            yield node, KG.status, _STATUS_IRI[a.status]
            yield node, KG.explanation, Literal(" ".join(a.reasons))
            for shape in a.decided_by:
                yield node, KG.decidedBy, URIRef(shape)
            if a.status in _FAILING:  # the determination's own link to the criterion, for counting
                yield d, _FAILING[a.status], URIRef(a.criterion)
            for n, e in enumerate(a.evidence, start=1):
                yield node, KG.evidence, URIRef(e.fact)
                if e.not_counted:  # why the fact did not count for the criterion (kg:EvidenceNote)
                    note = URIRef(f"{node}/not-counted-{n}")
                    yield node, KG.hasEvidenceNote, note
                    yield note, _TYPE, KG.EvidenceNote
                    yield note, KG.noteOnFact, URIRef(e.fact)
                    yield note, KG.notCountedBecause, Literal(e.not_counted)
