"""The guideline catalogue: what is encoded, and what a request needs documented.

Reads only the shapes graph (and the ontology, to classify a service kind), so
everything here is generated from the data files: :func:`catalogue` lists
guidelines, versions, sections and criteria; :func:`checklist` says, for a
service kind on a date, which section and version apply and what the record
must document for each criterion to be met.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any, Sequence

from rdflib import OWL, RDF, RDFS, XSD, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from kg.engine.validate import Shapes, default_shapes
from kg.errors import InputError
from kg.rdf import DCTERMS, KG, literal_int

__all__ = ["CriterionEntry", "SectionEntry", "VersionEntry", "catalogue", "catalogue_document", "catalogue_text",
           "Checklist", "checklist", "criterion_role", "exclusions_only"]

_ROLES: dict[Node | None, str] = {KG.Indication: "indication", KG.Exclusion: "exclusion"}


def criterion_role(g: Graph, criterion: Node | None) -> str:
    """How a criterion counts towards its section's conclusion (its ``kg:role``): ``"required"``
    (the default: it must be met), ``"indication"`` (one of several, any met suffices) or
    ``"exclusion"`` (it must be met, but being met is no indication: see ``kg:Exclusion``).

    >>> from rdflib import URIRef
    >>> g = Graph().add((URIRef("urn:c"), KG.role, KG.Exclusion))
    >>> criterion_role(g, URIRef("urn:c")), criterion_role(g, URIRef("urn:d"))
    ('exclusion', 'required')
    """
    return _ROLES.get(g.value(criterion, KG.role), "required")


def exclusions_only(numbers: Sequence[int] | None = None) -> str:
    """Why a section whose criteria only exclude (every one ``"exclusion"``, see :func:`criterion_role`)
    shows no medical necessity: for a determination, whose applicable criteria are ``numbers``, all
    met; or, without ``numbers``, for the section as a checklist lists it.

    >>> exclusions_only([1, 2]).split(" uses")[0]
    'No indication is documented: the applicable criteria of this section (1, 2) only exclude'
    >>> exclusions_only().split(" uses")[0]
    'Every criterion of this section only excludes'
    """
    against = "uses the guideline advises against"
    if numbers is None:
        return (f"Every criterion of this section only excludes {against} and it states no indication, so no record "
                "shows this service medically necessary under it.")
    one = len(numbers) == 1
    return (f"No indication is documented: the applicable {'criterion' if one else 'criteria'} of this section "
            f"({', '.join(str(n) for n in numbers)}) only {'excludes' if one else 'exclude'} {against}, and none of "
            f"those applies. That no exclusion applies does not show the service is indicated, and the section states "
            f"no indication the record could meet, so medical necessity is not established.")


def _date(v: Node | None) -> _dt.date | None:
    return v.toPython() if isinstance(v, Literal) and v.datatype == XSD.date else None


@dataclass(frozen=True)
class CriterionEntry:
    iri: str
    number: int
    label: str
    statement: str
    silence_policy: str
    role: str
    applies_to: str


@dataclass(frozen=True)
class VersionEntry:
    iri: str
    label: str
    guideline: str
    effective_from: _dt.date | None
    effective_until: _dt.date | None
    verified: bool
    source: str

    def in_force(self, day: _dt.date) -> bool:
        return (self.effective_from is None or self.effective_from <= day) and (
            self.effective_until is None or day <= self.effective_until)


@dataclass(frozen=True)
class SectionEntry:
    iri: str
    label: str
    citation: str
    applies_to: str
    versions: tuple[VersionEntry, ...]
    criteria: tuple[CriterionEntry, ...]
    #: "MTUS", or "outside the MTUS" (used only where no MTUS section applies, Labor Code 4610.5(c)(2))
    kind: str = "MTUS"
    #: who publishes a guideline outside the MTUS, and the 4610.5(c)(2) step it stands at ("" for the MTUS)
    source: str = ""
    evidence_step: str = ""


def _label(g: Graph, node: Node | None) -> str:
    value = g.value(node, RDFS.label)
    return str(value) if value is not None else str(node).rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def catalogue(shapes: Shapes | None = None) -> tuple[SectionEntry, ...]:
    """Every encoded section with its versions and criteria, sorted by guideline and label."""
    g = (shapes or default_shapes()).graph
    out = []
    for s in g.subjects(RDF.type, KG.GuidelineSection):
        versions = []
        for v in g.objects(s, KG.inVersion):
            verified = g.value(v, KG.effectiveDatesVerified)
            versions.append(VersionEntry(
                iri=str(v), label=_label(g, v), guideline=_label(g, g.value(v, KG.versionOf)),
                effective_from=_date(g.value(v, KG.effectiveFrom)),
                effective_until=_date(g.value(v, KG.effectiveUntil)),
                verified=bool(verified.toPython()) if isinstance(verified, Literal) else False,
                source=str(g.value(v, KG.effectiveDatesSource) or "")))
        criteria = []
        for c in g.subjects(KG.inSection, s):
            criteria.append(CriterionEntry(
                iri=str(c), number=literal_int(g.value(c, KG.criterionNumber)), label=_label(g, c),
                statement=str(g.value(c, KG.statement) or ""), silence_policy=str(g.value(c, KG.silencePolicy) or ""),
                role=criterion_role(g, c), applies_to=str(g.value(c, KG.appliesTo))))
        guidelines = [gl for gl in (g.value(v, KG.versionOf) for v in g.objects(s, KG.inVersion)) if gl is not None]
        outside = any((gl, KG.guidelineKind, KG.OutsideMTUSGuideline) in g for gl in guidelines)
        first = sorted(guidelines, key=str)[0] if guidelines else None
        out.append(SectionEntry(
            iri=str(s), label=_label(g, s), citation=str(g.value(s, DCTERMS.bibliographicCitation) or ""),
            applies_to=str(g.value(s, KG.appliesTo)),
            versions=tuple(sorted(versions, key=lambda v: (v.effective_from or _dt.date.min, v.iri))),
            criteria=tuple(sorted(criteria, key=lambda c: c.number)),
            kind="outside the MTUS" if outside else "MTUS",
            source=str(g.value(first, KG.guidelineSource) or "") if first is not None else "",
            evidence_step=str(g.value(first, KG.evidenceStep) or "") if first is not None else ""))
    return tuple(sorted(out, key=lambda s: (s.versions[0].guideline if s.versions else "", s.label, s.iri)))


@dataclass(frozen=True)
class Checklist:
    service_kind: str
    region: str | None
    day: _dt.date
    section: SectionEntry | None
    version: VersionEntry | None
    note: str
    latest: bool = False  # no day was given: the latest encoded version was chosen

    def render(self) -> str:
        """The checklist as text a treating physician can work from."""
        head = f"Documentation for a request of '{self.service_kind}'"
        if self.region:
            head += f" ({self.region})"
        if self.latest and self.version is not None:
            v = self.version
            span = f"in force from {v.effective_from or '?'}"
            span += f" to {v.effective_until}" if v.effective_until else ""
            head += f" under the latest encoded version ({span}; give --date YYYY-MM-DD for another day)"
        else:
            head += f" reviewed on {self.day.isoformat()}"
        if self.section is None or self.version is None:
            return f"{head}:\n{self.note}\n"
        lines = [f"{head}:", f"Guideline: {self.version.label}, section \"{self.section.label}\"."]
        required = [c for c in self.section.criteria if c.role != "indication"]  # required criteria and exclusions
        indications = [c for c in self.section.criteria if c.role == "indication"]
        for c in required:
            when = "" if c.applies_to == self.section.applies_to else f" (only for a {_short(c.applies_to)})"
            lines.append(f"[ ] {c.number}. {c.statement}{when}")
        if indications:
            lines.append("and at least one of:")
            for c in indications:
                lines.append(f"[ ] {c.number}. {c.statement}")
        if all(c.role == "exclusion" for c in self.section.criteria):
            lines.append(exclusions_only())
        return "\n".join(lines) + "\n"


def catalogue_document(sections: Sequence[SectionEntry]) -> list[dict[str, Any]]:
    """The catalogue as ``imrkg guidelines --format json`` writes it: per section its kind (MTUS or
    outside the MTUS), source and Labor Code 4610.5(c)(2) step, versions (dates in force, whether
    verified, their source) and criteria."""
    return [{"section": s.iri, "label": s.label, "citation": s.citation, "applies_to": s.applies_to, "kind": s.kind,
             "source": s.source or None, "evidence_step": s.evidence_step or None,
             "versions": [{"version": v.iri, "label": v.label, "guideline": v.guideline,
                           "effective_from": v.effective_from and v.effective_from.isoformat(),
                           "effective_until": v.effective_until and v.effective_until.isoformat(),
                           "dates_verified": v.verified, "dates_source": v.source} for v in s.versions],
             "criteria": [{"number": c.number, "criterion": c.iri, "label": c.label, "statement": c.statement,
                           "role": c.role, "silence_policy": c.silence_policy} for c in s.criteria]}
            for s in sections]


def catalogue_text(sections: Sequence[SectionEntry]) -> str:
    """The catalogue as ``imrkg guidelines`` prints it: per section its label and IRI, kind and
    source, versions (dates in force, unverified ones marked) and numbered criteria."""
    out = []
    for s in sections:
        versions = "; ".join(f"{v.label} {v.effective_from or '?'}..{v.effective_until or ''}"
                             f"{'' if v.verified else ' (dates unverified)'}" for v in s.versions)
        out.append(f"{s.label}  [{s.iri}]\n  kind: {s.kind}{f', {s.source}' if s.source else ''}\n"
                   f"  versions: {versions}\n")
        out += [f"  {c.number}. {c.label}{' (indication)' if c.role == 'indication' else ''}\n" for c in s.criteria]
    return "".join(out)


def _short(iri: str) -> str:
    from kg.engine.reason import load_ontology

    label = load_ontology().value(URIRef(iri), RDFS.label)
    return str(label) if label is not None else iri.rsplit("#", 1)[-1]


_DEFINITIONS: dict[Node, tuple[frozenset[Node], frozenset[Node]]] = {}


def definition_terms(cls: Node | None) -> tuple[frozenset[Node], frozenset[Node]]:
    """(service classes, body regions) a request class's OWL definition names: the classes of its
    kg:requestedService restrictions (with union members) and the values of its kg:bodyRegion ones."""
    if cls is None:
        return frozenset(), frozenset()
    if cls not in _DEFINITIONS:
        from kg.engine.reason import load_ontology

        g = load_ontology()
        services: set[Node] = set()
        regions: set[Node] = set()
        seen: set[Node] = set()
        todo = list(g.objects(cls, OWL.equivalentClass))
        while todo:
            n = todo.pop()
            if n in seen:
                continue
            seen.add(n)
            prop = g.value(n, OWL.onProperty)  # restrictions on kg:isRequestOf (the case) are not followed
            if prop == KG.requestedService:
                target = g.value(n, OWL.someValuesFrom)
                if isinstance(target, URIRef):
                    services.add(target)
                elif target is not None:
                    services.update(m for lst in g.objects(target, OWL.unionOf) for m in Collection(g, lst)
                                    if isinstance(m, URIRef))
            elif prop == KG.bodyRegion:
                value = g.value(n, OWL.hasValue)
                if value is not None:
                    regions.add(value)
            for p in (OWL.intersectionOf, OWL.unionOf):
                for lst in g.objects(n, p):
                    for m in Collection(g, lst):
                        # a named class in the expression brings its own definition (kg:ImagingRequest)
                        todo.extend(g.objects(m, OWL.equivalentClass) if isinstance(m, URIRef) else (m,))
        _DEFINITIONS[cls] = (frozenset(services), frozenset(regions))
    return _DEFINITIONS[cls]


def _considered(service_types: set[Node], shapes: Shapes | None) -> str:
    """The sections written for this kind of service and the regions they are limited to, as the
    engine's 'not covered' note gives them (empty when there are none)."""
    names = []
    for s in catalogue(shapes):
        services, regions = definition_terms(URIRef(s.applies_to))
        if services & service_types:
            only = ", ".join(sorted(_short(str(r)) for r in regions))
            names.append(f'"{s.label}"' + (f" (only for {only})" if only else ""))
    return (" Sections written for this kind of service: " + "; ".join(names) + ".") if names else ""


def checklist(service_kind: str, *, day: _dt.date | None = None, region: str | None = None,
              shapes: Shapes | None = None) -> Checklist:
    """What must be documented for a request of ``service_kind`` reviewed on ``day``.

    The service kind is classified by the reasoner exactly as a real request
    would be (so region-specific sections are found), and the section in force
    that day is chosen as the engine chooses it.  Without ``day``, the latest
    encoded version of the section is chosen (``latest`` is set and ``day`` is
    the first day it was in force).  Raises :class:`InputError` for an unknown
    service kind or region (with the closest names as the hint).
    """
    from kg.engine.graph import build_case_graph
    from kg.engine.reason import infer
    from kg.errors import CaseFileError, did_you_mean
    from kg.model import vocabulary
    from kg.read.casefile import parse_case

    request = {"id": "r", "service": service_kind, "text": service_kind,
               "date": (day or _dt.date.today()).isoformat()}
    if region:
        request["region"] = region
    try:
        case = parse_case({"case": "checklist", "requests": [request]}, source="checklist")
    except CaseFileError as exc:
        vocab = vocabulary()
        field, options, what = (("region", vocab.regions, "region") if exc.field and "region" in exc.field
                                else ("service", vocab.treatments, "service kind"))
        hint = did_you_mean((region or "") if field == "region" else service_kind, options, what=what)
        raise InputError(exc.problem, source="checklist", field=exc.field, hint=hint) from None
    cg = build_case_graph(case)
    inferred = infer(cg.asserted)
    types = set(cg.asserted.objects(cg.node("r"), RDF.type)) | set(inferred.objects(cg.node("r"), RDF.type))
    svc = cg.asserted.value(cg.node("r"), KG.requestedService)
    svc_types = (set(cg.asserted.objects(svc, RDF.type)) | set(inferred.objects(svc, RDF.type))) if svc else set()
    sections = [s for s in catalogue(shapes) if URIRef(s.applies_to) in types]
    g = (shapes or default_shapes()).graph
    sections.sort(key=lambda s: (s.kind != "MTUS",
                                 -literal_int(g.value(URIRef(s.iri), KG.priority, default=Literal(0))), s.iri))
    if not sections:
        return Checklist(service_kind, region, day or _dt.date.today(), None, None,
                         "No encoded guideline section applies to this service" +
                         ("" if region else " (some sections apply only to a body region: try --region)") + "." +
                         _considered(svc_types, shapes))
    if day is None:
        top = sections[0]
        if top.versions:
            latest = top.versions[-1]  # sorted by the day they came into force
            return Checklist(service_kind, region, latest.effective_from or _dt.date.today(), top, latest, "",
                             latest=True)
        day = _dt.date.today()
    for s in sections:
        for v in s.versions:
            if v.in_force(day):
                return Checklist(service_kind, region, day, s, v, "")
    return Checklist(service_kind, region, day, None, None,
                     f"No encoded version of {', '.join(s.label for s in sections)} was in force on {day.isoformat()}.")
