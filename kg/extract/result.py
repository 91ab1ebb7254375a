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
    """What a letter says of a request that :class:`~kg.model.Request` has no field for.

    ``refills`` counts the refills a drug request names ("Norco 10/325mg #35 with 2 refills" -> 2);
    ``partial`` is True when UR authorised part of the original request.  Everything else a
    request's service text gives (kind, region, sessions, frequency, drug, strength, count) is
    on the Request itself.
    """

    request_id: str
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
