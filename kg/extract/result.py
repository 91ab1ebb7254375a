"""What extraction gives: :class:`LetterCase`, one letter read into case data, and the
:class:`RequestDetail` of each request.

Made by :func:`kg.extract.case.extract_case`; each area enricher takes a LetterCase and returns
a new one.  Frozen: a LetterCase is never changed in place.
"""

from __future__ import annotations

from dataclasses import dataclass

from kg.model import CaseData
from kg.read.letter import LetterRecord, LetterText

__all__ = ["RequestDetail", "LetterCase"]


@dataclass(frozen=True)
class RequestDetail:
    """What a request's service text says beyond :class:`~kg.model.Request`'s fields.

    ``visits`` is the number of visits or sessions ("2 times a week for 6
    weeks" -> 12); ``drug``, ``strength`` and ``count`` describe a drug request
    ("Norco 10/325mg #35" -> "Norco", "10/325mg", 35); ``refills`` counts
    refills; ``partial`` is True when UR authorised part of the original request.
    """

    request_id: str
    service_kind: str
    region: str | None = None
    visits: int | None = None
    frequency: str | None = None
    drug: str | None = None
    strength: str | None = None
    count: int | None = None
    refills: int | None = None
    partial: bool = False


@dataclass(frozen=True)
class LetterCase:
    """One letter read into case data, with the request details CaseData has no field for."""

    case: CaseData
    details: tuple[RequestDetail, ...]
    text: LetterText
    record: LetterRecord

    @property
    def document(self) -> str:
        """The id of the letter's document, which every fact's evidence names (the case id without one)."""
        return self.case.documents[0].id if self.case.documents else self.case.case_id
