"""The rationale: a determination written out as a reviewer would, as text,
Markdown, JSON or Turtle.

Last stage of the determination pipeline.  Output is byte-stable: the same
case gives the same bytes on every run and under any ``PYTHONHASHSEED``.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from kg.engine.determine import CaseDetermination, CriterionAssessment, EvidenceItem, RequestDetermination

__all__ = ["render", "FORMATS", "NOT_CHECKED", "to_json_data", "rationale_text"]

Format = Literal["text", "markdown", "json", "turtle"]
FORMATS: tuple[str, ...] = ("text", "markdown", "json", "turtle")
_STATUS_WORDS = {"met": "MET", "not_met": "NOT MET", "not_documented": "NOT DOCUMENTED",
                 "not_applicable": "NOT APPLICABLE"}
#: how a quote whose document was absent is marked (text, Markdown, and JSON's ``note``)
NOT_CHECKED = "not checked against the document"
_CONCLUSION_WORDS = {"medically_necessary": "medically necessary",
                     "not_medically_necessary": "not medically necessary",
                     "not_covered": "not decided: no encoded guideline applies"}


def _quote_ref(e: EvidenceItem) -> str:
    parts = []
    for q in e.quotes:
        where = q.file_name or q.document
        if q.start is not None:
            where += f" @{q.start}-{q.end}"
        if not q.checked:
            where += f", {NOT_CHECKED}"
        parts.append(f"\"{q.exact}\" ({where})")
    return "; ".join(parts)


def _evidence_line(e: EvidenceItem) -> str:
    text = e.label
    if e.derived_values:
        text += " [" + ", ".join(f"{k} = {v}" for k, v in e.derived_values) + ", inferred]"
    elif e.graph == "inferred":
        text += " [inferred]"
    ref = _quote_ref(e)
    line = f"{text}: {ref}" if ref else text
    return f"{line} (not counted: {e.not_counted})" if e.not_counted else line


def _numbers(items: list[CriterionAssessment]) -> str:
    nums = [str(a.number) for a in items]
    if len(nums) == 1:
        return f"criterion {nums[0]}"
    return "criteria " + ", ".join(nums[:-1]) + " and " + nums[-1]


def _service_words(kind: str) -> str:
    """The ontology's label of a service kind ("mobility aid"), else the kind in words."""
    from rdflib import RDFS

    from kg.engine.reason import load_ontology
    from kg.model import vocabulary
    from kg.rdf import KG

    cls = vocabulary().treatments.get(kind)
    label = load_ontology().value(KG[cls], RDFS.label) if cls else None
    return f"this service ({label or kind.replace('_', ' ')})"


def rationale_text(item: RequestDetermination) -> str:
    """The plain-language rationale of one request: guideline, criteria one by one, conclusion."""
    lines = [f"Request: {item.service}"]
    dates = []
    if item.request_date:
        dates.append(f"requested {item.request_date.isoformat()}")
    if item.review_date:
        dates.append(f"review date {item.review_date.isoformat()}")
    if dates:
        lines[0] += f" ({'; '.join(dates)})"
    if item.guideline is None:
        lines.append(item.note)
        lines.append("Conclusion: the engine makes no determination for this request.")
        return "\n".join(lines)
    g = item.guideline
    span = f"{g.effective_from or '?'} to {g.effective_until or 'today'}"
    verified = "" if g.dates_verified else ", dates not yet verified against the regulation"
    if g.outside_mtus:
        step = g.evidence_step or "Labor Code 4610.5(c)(2): evidence outside the MTUS"
        lines.append(f"The MTUS does not address {_service_words(item.service_kind)}; "
                     f"under {g.source or g.version_label} ({step}), "
                     f"section \"{g.section_label}\" applies.")
    lines.append(f"Guideline applied: {g.version_label}, section \"{g.section_label}\" "
                 f"(in force {span}{verified}).")
    lines.append("The guideline supports this service only when every applicable criterion is met.")
    exclusions = [a for a in item.assessments if a.role == "exclusion"]
    if exclusions:
        one = len(exclusions) == 1
        lines[-1] += (f" {_numbers(exclusions).capitalize()} {'is an exclusion' if one else 'are exclusions'}: "
                      f"when met, {'it says' if one else 'they say'} only that a reason against the service does not "
                      f"apply, which is no indication.")
    for a in item.assessments:
        lines.append(f"Criterion {a.number} ({a.label}): {_STATUS_WORDS[a.status]}. " + " ".join(a.reasons))
        for e in a.evidence:
            mark = "decisive: " if e.decisive else ""
            lines.append(f"  - {mark}{_evidence_line(e)}")
    required = [a for a in item.assessments if a.role != "indication"]  # required criteria and exclusions
    indications = [a for a in item.assessments if a.role == "indication" and a.status != "not_applicable"]
    failing = [a for a in required if a.status in ("not_met", "not_documented")]
    if item.conclusion == "medically_necessary":
        met = "every applicable criterion is met" if not indications else (
            "every required criterion is met, and so is indication "
            + _numbers([a for a in indications if a.status == "met"]).removeprefix("criterion ")
            .removeprefix("criteria "))
        lines.append(f"Conclusion: {met}. The request is medically necessary.")
        return "\n".join(lines)
    not_met = [a for a in failing if a.status == "not_met"]
    silent = [a for a in failing if a.status == "not_documented"]
    why = []
    if not_met:
        why.append(f"{_numbers(not_met)} {'is' if len(not_met) == 1 else 'are'} not met")
    if silent:
        why.append(f"{_numbers(silent)} {'is' if len(silent) == 1 else 'are'} not documented")
    missing_indication = indications and not any(a.status == "met" for a in indications)
    if missing_indication:
        why.append(f"none of the indications ({_numbers(indications)}) is documented")
    if not why and item.note:  # no criterion fails: the note says why (only exclusions apply, none of them)
        lines.append(f"Conclusion: {item.note} The request is not medically necessary.")
        return "\n".join(lines)
    lines.append(f"Conclusion: {' and '.join(why)}. The request is not medically necessary.")
    lines.append("What would change the outcome:")
    for a in silent:
        lines.append(f"  - document criterion {a.number}: {a.statement}")
    if missing_indication:
        for a in indications:
            if a.status == "not_documented":
                lines.append(f"  - or document indication {a.number}: {a.statement}")
    for a in not_met:
        lines.append(f"  - criterion {a.number} is contradicted by the record; more documentation would not "
                     f"change it, only different clinical facts: {a.statement}")
    return "\n".join(lines)


def to_json_data(det: CaseDetermination) -> dict[str, Any]:
    """The determination as plain data (what ``--format json`` prints)."""

    def ev(e: EvidenceItem) -> dict[str, Any]:
        return {"fact": e.fact, "label": e.label, "kinds": list(e.kinds), "graph": e.graph,
                "decisive": e.decisive, "not_counted": e.not_counted or None,
                "derived_values": dict(e.derived_values),
                "quotes": [{"document": q.document, "file": q.file_name, "exact": q.exact,
                            "start": q.start, "end": q.end, "checked": q.checked,
                            **({} if q.checked else {"note": NOT_CHECKED})} for q in e.quotes]}

    items = []
    for i in det.items:
        g = i.guideline
        items.append({
            "request": i.request_id,
            "request_iri": i.request,
            "service": i.service,
            "service_kind": i.service_kind,
            "request_date": i.request_date.isoformat() if i.request_date else None,
            "review_date": i.review_date.isoformat() if i.review_date else None,
            "guideline": None if g is None else {
                "section": g.section, "section_label": g.section_label, "version": g.version,
                "version_label": g.version_label,
                "effective_from": g.effective_from.isoformat() if g.effective_from else None,
                "effective_until": g.effective_until.isoformat() if g.effective_until else None,
                "dates_verified": g.dates_verified, "kind": g.kind, "source": g.source or None,
                "evidence_step": g.evidence_step or None},
            "engine_decision": i.conclusion,
            "note": i.note or None,
            "reviewer_decision": i.reviewer_decision,
            "reviewer_citation": i.reviewer_citation,
            "agrees_with_reviewer": None if i.reviewer_decision is None or i.conclusion == "not_covered" else (
                (i.reviewer_decision == "overturned") == i.medically_necessary),
            "criteria": [{"number": a.number, "criterion": a.criterion, "label": a.label, "status": a.status,
                          "reasons": list(a.reasons), "evidence": [ev(e) for e in a.evidence],
                          "decided_by": list(a.decided_by), "silence_policy": a.silence_policy}
                         for a in i.assessments],
            "rationale": rationale_text(i),
        })
    return {"case": det.case_id, "case_iri": det.case, "engine_version": det.engine_version,
            "medically_necessary": det.medically_necessary, "items": items}


def render(det: CaseDetermination, fmt: Format = "text") -> str:
    """Render a determination; ``fmt`` is one of :data:`FORMATS`."""
    if fmt == "json":
        return json.dumps(to_json_data(det), indent=2, ensure_ascii=False) + "\n"
    if fmt == "turtle":
        from kg.engine.determine import determination_graph

        graph = determination_graph(det, rationales={i.request: rationale_text(i) for i in det.items})
        return graph.serialize(format="turtle")
    if fmt == "markdown":
        out = [f"# Determination for case {det.case_id}", ""]
        for i in det.items:
            out += [f"## {i.service}", "", f"**Engine decision:** {_CONCLUSION_WORDS[i.conclusion]}"]
            if i.reviewer_decision:
                out.append(f"  \n**Reviewer decision (for comparison):** {i.reviewer_decision}")
            out.append("")
            if i.guideline is None:
                out += [i.note, ""]
                continue
            out += [f"Guideline: {i.guideline.version_label}, section *{i.guideline.section_label}*", "",
                    "| # | criterion | status | why |", "|---|---|---|---|"]
            for a in i.assessments:
                why = " ".join(a.reasons).replace("|", "\\|")
                out.append(f"| {a.number} | {a.label} | {_STATUS_WORDS[a.status].lower()} | {why} |")
            out += ["", "### Evidence", ""]
            for a in i.assessments:
                for e in a.evidence:
                    out.append(f"- criterion {a.number}: {_evidence_line(e)}".replace("|", "\\|"))
            out += ["", "### Rationale", "", "```", rationale_text(i), "```", ""]
        return "\n".join(out)
    if fmt == "text":
        blocks = [f"Case {det.case_id} (engine {det.engine_version})"]
        for i in det.items:
            head = f"Engine decision: {_CONCLUSION_WORDS[i.conclusion]}"
            if i.reviewer_decision:
                head += f" | reviewer decision: {i.reviewer_decision}"
            blocks.append(head + "\n" + rationale_text(i))
        return "\n\n".join(blocks) + "\n"
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
