"""Bringing a store written by an earlier imr-kg up to what today's queries read.

The aggregate library queries count items by, and the list queries page by, one-hop summaries
written with each determination and reviewer decision (``kg:determinationSummary``,
``kg:notMetCriterion``, ``kg:notDocumentedCriterion``; ``kg:reviewOutcome``, the ``kg:outcomeBy...``
literals, ``kg:citationBasisByDate`` and ``kg:daysFromURToIMR``; see ``ontology/imr.ttl``).  A store written
before they existed answers those queries with no rows; :func:`lacks_summaries` notices that and
:func:`upgrade_store` adds them from the facts already stored, with the SPARQL update
``queries/updates/add-summaries.ru`` (one request, so a failure leaves the store as it was; running
it again adds nothing).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from kg.rdf import KG
from kg.resources import data_dir
from kg.store.store import Store, open_store

__all__ = ["SUMMARY_TERMS", "Upgrade", "lacks_summaries", "reads_summaries", "upgrade_store", "upgrade_text"]

#: the terms a store written before the summaries lacks
SUMMARY_TERMS = (KG.determinationSummary, KG.notMetCriterion, KG.notDocumentedCriterion, KG.reviewOutcome,
                 KG.outcomeByMonth, KG.outcomeByServiceKind, KG.outcomeBySpecialty, KG.citationBasisByDate,
                 KG.daysFromURToIMR)

#: (a pattern of what a store holds, the summary written with it): a store matching the first and
#: holding none of the second was written before that summary existed
_WRITTEN_WITH = ((f"?s <{KG.determinationFor}> ?o", KG.determinationSummary),
                 (f"?s <{KG.hasIMRDecision}> ?o", KG.reviewOutcome),
                 (f"?s <{KG.hasIMRDecision}> ?o", KG.citationBasisByDate),
                 (f"?s <{KG.outcomeByMonth}> ?m ; <{KG.hasURDecision}> ?u . ?u <{KG.decisionDate}> ?d",
                  KG.daysFromURToIMR))


def upgrade_text() -> str:
    """The SPARQL update that adds the summaries (``queries/updates/add-summaries.ru``)."""
    return (data_dir("queries") / "updates" / "add-summaries.ru").read_text(encoding="utf-8")


def reads_summaries(query_text: str) -> bool:
    """Does a query's text name one of :data:`SUMMARY_TERMS` (as ``kg:...`` or a full IRI)?

    >>> reads_summaries("SELECT * WHERE { ?r kg:outcomeByMonth ?s }"), reads_summaries("SELECT * { ?s ?p ?o }")
    (True, False)
    """
    return any(f"kg:{t[len(str(KG)):]}" in query_text or f"<{t}>" in query_text for t in SUMMARY_TERMS)


def lacks_summaries(store: Store) -> bool:
    """Does ``store`` hold determinations or reviewer decisions (dated, for the days from UR) but
    none of one of their summaries?  (Small ASK queries, each answered by the first match it finds,
    whatever the store's size.)"""
    def holds(pattern: str) -> bool:
        return bool(store.query(f"ASK {{ {pattern} }}").boolean)

    return any(holds(fact) and not holds(f"?s <{summary}> ?o") for fact, summary in _WRITTEN_WITH)


@dataclass(frozen=True)
class Upgrade:
    """What :func:`upgrade_store` did: whether the store lacked the summaries before, how long the
    update took, and how many determination summaries and reviewer outcomes (one a decision) the
    store holds after it."""

    location: str
    needed: bool
    seconds: float
    determination_summaries: int
    review_summaries: int


def _count(store: Store, predicate: str) -> int:
    result = store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s <{predicate}> ?o }}")
    return int(str(result.rows[0][0]))


def upgrade_store(location: str | Path | None = None) -> Upgrade:
    """Open the existing store at ``location`` (see :func:`open_store`, with ``create=False``), add
    the summaries it lacks (:func:`upgrade_text`) and close it.  Raises
    :class:`kg.errors.InputError` for a folder that holds no store and
    :class:`kg.store.store.StoreError` when the update fails (the store is then as it was)."""
    with open_store(location, create=False) as store:
        needed = lacks_summaries(store)
        start = time.perf_counter()
        store.update(upgrade_text())
        seconds = time.perf_counter() - start
        return Upgrade(location=store.location, needed=needed, seconds=seconds,
                       determination_summaries=_count(store, str(KG.determinationSummary)),
                       review_summaries=_count(store, str(KG.reviewOutcome)))
