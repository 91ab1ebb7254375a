"""The dispute: one request per disputed item of a letter, with the UR decision, the request date
and the reviewer's record.

Part of the base extraction (:func:`kg.extract.case.extract_case`): :func:`read_requests` reads
each item's service text (service kind, body region, visits, drug strength and count), the
utilization review's decision, date and reason, and the request for authorization date from the
clinical case summary, and the reviewer's decision, date, specialty and MAXIMUS citation from the
decision section into ``Request.imr`` (which the engine never reads).  Every part carries
:class:`~kg.model.Evidence` that slices the letter text.
"""

from __future__ import annotations

import datetime as _dt
import re

from kg.extract import sieve
from kg.extract.result import RequestDetail
from kg.extract.services import DRUG_KINDS, STRENGTH, classify_service, drug_detail, parse_quantity
from kg.extract.text import DATE, DATE_RX, NUM_RX, Sentence, SummaryReader, first_region, parse_date, parse_number
from kg.model import Evidence, IMRDecision, Request, URDecision
from kg.read.letter import LetterRecord

__all__ = ["read_requests"]


def _ur(reader: SummaryReader,
        record: LetterRecord) -> tuple[_dt.date | None, str | None, tuple[Evidence, ...], Sentence | None]:
    """The UR decision: its date (the header's, else the summary's), the reason the summary gives
    (the UR sentence and the few that explain it), their evidence, and the UR sentence."""
    date = None
    evidence: list[Evidence] = []
    d = record.ur_denial_date
    if d is not None and d.value is not None:
        date = d.value
        evidence.append(reader.ev_letter(d.span.start, d.span.end))
    ur_sent = None
    for sent in reader.sents:
        if sieve.search(r"utilization review|\bUR\b", sent.text, re.I) and \
                sieve.search(r"denied|non-?certif\w*|modified|not medically necessary|determined|dated", sent.text,
                             re.I):
            ur_sent = sent
            break
    reason = None
    if ur_sent is not None:
        if date is None:
            m = DATE.search(ur_sent.text)
            if m:
                date = parse_date(m.group(0))
        idx = reader.sents.index(ur_sent)
        end = ur_sent.end
        for nxt in reader.sents[idx + 1: idx + 4]:
            if sieve.search(r"guideline|no (?:documentation|mention|evidence)|not (?:established|supported|"
                            r"recommended)|Therefore|In addition|Additionally|due to", nxt.text, re.I):
                end = nxt.end
            else:
                break
        reason = " ".join(reader.f.s[ur_sent.start:end].split())
        evidence.append(reader.ev(ur_sent.start, end))
    return date, reason, tuple(evidence), ur_sent


# How summaries date the request for authorization: "Request for Authorization dated 11-08-2016",
# "the request for authorization form was signed on 12/16/2016", "A Request for Authorization was
# submitted on 11/23/2016", "an authorization request dated ...", "The request for authorization
# (received on 12-08-2016)", "On 11-17-2016, the Request for Authorization requested ...".  The
# UR's own dates ("The request was previously reviewed on ...") are not request dates.
_RFA = r"(?:request for authori[sz]ation|authori[sz]ation request|\bRFA\b)(?:\s+form)?"
_RFA_DATE = (
    sieve.compile(rf"{_RFA}\s*\(?\s*(?:date\s+)?(?:(?:was|is|were)\s+)?(?:noted\s+(?:to\s+be\s+|as\s+)?)?"
                  rf"(?:(?:dated|signed|submitted|received|made)\s+)?(?:of\s+|on\s+)?(?:dated\s*)?(?P<d>{DATE_RX})",
                  re.I),
    sieve.compile(rf"\bOn (?P<d>{DATE_RX}),? (?:a |the )?(?:{_RFA} (?:requested|was (?:received|submitted|made|"
                  rf"signed))|request (?:for authori[sz]ation )?was (?:received|submitted|made))", re.I),
    sieve.compile(rf"\bthe request was (?:received|submitted) on (?P<d>{DATE_RX})", re.I),
)


def _request_date(reader: SummaryReader) -> tuple[_dt.date | None, Evidence | None]:
    """The date of the request for authorization (RFA) the summary gives, with its evidence.

    The first phrasing of :data:`_RFA_DATE` that the summary holds decides (a dated request for
    authorization before a bare "the request was received on").

    >>> from kg.read.letter import Span
    >>> def first(t: str): return _request_date(SummaryReader(t, Span(0, len(t)), "letter"))[0]
    >>> [first(t).isoformat() for t in (
    ...     "The Request for Authorization was noted to be signed on 11/08/2016.",
    ...     "A request for authorization was submitted on 11/23/ 2016 for surgery.",
    ...     "On 11-17-2016, the Request for Authorization requested 12 visits.")]
    ['2016-11-08', '2016-11-23', '2016-11-17']
    >>> first("A Request for Authorization was not provided. The request was previously reviewed on 12/23/2016.")
    """
    for rx in _RFA_DATE:
        m = rx.search(reader.f.s)
        if m is not None:
            return parse_date(m.group("d")), reader.ev(m.start(), m.end())
    return None, None


def read_requests(reader: SummaryReader, record: LetterRecord) -> tuple[list[Request], list[RequestDetail]]:
    """One :class:`~kg.model.Request` and one :class:`RequestDetail` per disputed item of ``record``.

    The service kind, region and quantity come from the item's service text; the UR decision
    and the RFA date from the summary read by ``reader``; the reviewer's decision, date,
    specialty and citation (``Request.imr``, never read by the engine) from the decision section.
    Request ids are ``r1``, ``r2`` ... in the letter's order.  Pure.
    """
    ur_date, reason, ur_ev, _ = _ur(reader, record)
    rfa_date, rfa_ev = _request_date(reader)
    decided = record.decision_date.value if record.decision_date is not None else None
    specialty = record.specialty.text if record.specialty is not None else None
    requests: list[Request] = []
    details: list[RequestDetail] = []
    for i, item in enumerate(record.items):
        rid = f"r{i + 1}"
        svc = item.requested_service
        kind = classify_service(svc.text)
        region = first_region(svc.text)
        visits, freq = parse_quantity(svc.text, kind)
        drug = strength = None
        count = refills = None
        if kind in DRUG_KINDS or kind == "other" and STRENGTH.search(svc.text):
            drug, strength, count, refills = drug_detail(svc.text)
        partial = item.original_request is not None
        evidence = [reader.ev_letter(item.service.span.start, item.service.span.end)]
        if rfa_ev is not None:
            evidence.append(rfa_ev)
        ur = URDecision(decision="modified" if partial else "denied", date=ur_date, reason=reason, evidence=ur_ev)
        imr = IMRDecision(
            decision="overturned" if item.decision.text.lower().startswith("overturn") else "upheld",
            date=decided, specialty=specialty,
            citation=item.maximus_guideline.text if item.maximus_guideline is not None else None,
            evidence=(reader.ev_letter(item.decision.span.start, item.decision.span.end),))
        injections = None
        if kind == "trigger_point_injection":
            im = sieve.search(rf"(?P<n>{NUM_RX})\s+(?:trigger point )?injections?|x\s*(?P<m>\d)\b", svc.text, re.I)
            if im:
                injections = parse_number(im.group("n") or im.group("m"))
        substances: list[str] = []
        if sieve.search(r"lidocaine|bupivacaine|marcaine|ropivacaine", svc.text, re.I) and "injection" in kind:
            substances.append("local_anesthetic")
        if sieve.search(r"dexamethasone|triamcinolone|kenalog|depo-medrol|methylprednisolone|steroid|cortisone",
                        svc.text, re.I) and "injection" in kind:
            substances.append("corticosteroid")
        requests.append(Request(
            id=rid, service=kind, text=item.service.text, region=region, date=rfa_date,
            injections=injections, sessions=visits, frequency=freq, substances=tuple(substances), count=count,
            drug=drug, strength=strength, ur=ur, imr=imr, evidence=tuple(evidence)))
        details.append(RequestDetail(request_id=rid, refills=refills, partial=partial))
    return requests, details

