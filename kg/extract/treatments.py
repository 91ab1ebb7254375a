"""Treatments to date: the therapies, procedures and medications a letter's clinical case summary
says the worker already had, with session counts and outcomes.

Part of the base extraction (:func:`kg.extract.case.extract_case`): :func:`read_treatments`
reads the lists after "treatment to date has included", "has had", "medications include" ...
(each item classified by :func:`kg.extract.services.classify_service` or the drug lexicon, with
the count of sessions and the outcome it states), and the drugs
named in medication sentences.  One treatment per kind and name: later mentions add their
count, outcomes and evidence to it.  Ids are ``tx1``, ``tx2`` ... in the order found.
"""

from __future__ import annotations

import re

from kg.extract import sieve
from kg.extract.lexicon import LazyPattern
from kg.extract.services import DRUG_KINDS, GENERIC_DRUG_WORDS, classify_service, drug_in, drug_lexicon
from kg.extract.text import NUM_RX, SummaryReader, first_region, parse_number
from kg.model import Treatment

__all__ = ["read_treatments"]


# ---------------------------------------------------------------------------
# Treatment outcomes
# ---------------------------------------------------------------------------
_OUTCOME_RULES: tuple[tuple[str, str], ...] = (
    ("no_functional_improvement", r"no (?:objective |significant |measurable )?functional improvement|"
                                  r"without (?:objective |significant )?functional improvement"),
    ("functional_improvement", r"(?<!no )(?<!without )(?<!objective )(?<!significant )functional improvement|"
                               r"(?<!no )(?:objective|significant) functional improvement|improved function"),
    ("intolerant", r"intoleran\w+|side effects?|not tolerated|could not tolerate"),
    ("failed", r"without (?:significant |much |any )?(?:improvement|relief|benefit)|"
               r"no (?:significant |lasting )?(?:improvement|relief|benefit)|failed|did not (?:help|improve|provide)|"
               r"not helpful|minimal(?: to no)? (?:improvement|relief)|ineffective|no change|unsuccessful|worsen\w*"),
    ("partial_relief", r"(?:some|partial|mild|temporary|moderate|slight|limited|short[- ]term) (?:pain )?(?:relief|"
                       r"improvement|benefit)"),
    ("effective", r"(?<!no )(?:with|reported|noted|providing|provided|gave|good|significant) (?:pain )?(?:relief|"
                  r"improvement|benefit)|helpful|helped|relieve[sd]? the pain|improved"),
)
_OUTCOME_RX = tuple((o, sieve.compile(rx, re.I)) for o, rx in _OUTCOME_RULES)
# "without documentation of objective functional improvement" says the record is silent: the words
# after it state no outcome either way, so they are blanked before the outcome rules run.
_SILENCE = LazyPattern("treatments", "silence")


def _outcomes(text: str) -> tuple[str, ...]:
    """Outcome keys stated in a treatment phrase.

    >>> _outcomes("completed 12 sessions of physical therapy without improvement")
    ('failed',)
    >>> _outcomes("physical therapy, without documentation of objective functional improvement")
    ()
    >>> _outcomes("chiropractic care with no objective functional improvement")
    ('no_functional_improvement',)
    """
    found: list[str] = []
    text = _SILENCE.sub(lambda m: " " * len(m.group(0)), text)
    for outcome, rx in _OUTCOME_RX:
        if rx.search(text):
            if outcome == "functional_improvement" and "no_functional_improvement" in found:
                continue
            if outcome == "effective" and ("failed" in found or "partial_relief" in found):
                continue
            found.append(outcome)
    return tuple(found)


_TX_HEAD = LazyPattern("treatments", "tx_head")
_TX_COUNT = sieve.compile(
    rf"(?P<n>{NUM_RX})\s+(?:[\w()]+\s+){{0,4}}?(?:sessions?|visits?|treatments?)|"
    rf"(?:sessions?|visits?|treatments?)\s*(?:x|times|#)\s*(?P<m>\d{{1,2}})|\btimes\s+(?P<t>{NUM_RX})\b|"
    rf"\((?P<p>\d{{1,2}})\s*(?:sessions?|visits?)\)|\bx\s*(?P<x>\d{{1,2}})\b", re.I)


# Treatment-list items named by a word rather than a service ("home exercise", "NSAIDs"), in order
_TX_WORDS: tuple[tuple[str, str], ...] = (
    (r"activity modification|modified (?:work|duty|duties)|work restrictions?|rest\b", "activity_modification"),
    (r"home exercise|\bHEP\b", "home_exercise"),
    (r"stretching", "stretching"),
    (r"\bNSAIDs?\b|anti-inflammator", "nsaid"),
    (r"muscle relaxants?", "muscle_relaxant"),
    (r"\bopioids?\b|narcotic", "opioid"),
)
# Service kinds that are no treatment given to date (studies, visits, evaluations)
_NOT_TREATMENTS = ("other", "consultation", "office_visit", "mri", "ct", "xray", "emg_ncs", "lab_test", "other_study",
                   "bone_scan", "urine_drug_test", "eeg", "ekg", "evoked_potentials", "functional_capacity_evaluation",
                   "preoperative_clearance", "assistant_surgeon", "psychological_evaluation", "transportation")
_ITEM_BREAK = sieve.compile(r",\s*(?:and\s+)?|;\s*|\s+and\s+(?!tendon)|\s+as well as\s+")


def _list_items(seg: str) -> list[tuple[int, int]]:
    """(start, end) of the items of a list ("physical therapy, chiropractic (12 visits) and NSAIDs"),
    split at commas, semicolons, "and" and "as well as" outside parentheses.

    >>> seg = "PT, chiropractic (12 visits, no relief) and NSAIDs"
    >>> [seg[a:b] for a, b in _list_items(seg)]
    ['PT', 'chiropractic (12 visits, no relief)', 'NSAIDs']
    """
    depth = 0
    pieces: list[tuple[int, int]] = []
    start = 0
    i = 0
    while i < len(seg):
        c = seg[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth = max(0, depth - 1)
        elif depth == 0:
            m = _ITEM_BREAK.match(seg, i)
            if m and m.end() > i:
                pieces.append((start, i))
                start = m.end()
                i = m.end()
                continue
        i += 1
    pieces.append((start, len(seg)))
    return pieces


def read_treatments(reader: SummaryReader) -> list[Treatment]:
    """The treatments to date named in the summary ``reader`` reads, each with evidence (see the module doc).

    >>> from kg.read.letter import Span
    >>> t = "Treatment to date has included home exercise and physical therapy (12 sessions) without improvement."
    >>> [(tx.id, tx.kind, tx.sessions, tx.outcomes) for tx in read_treatments(SummaryReader(t, Span(0, len(t)), "d"))]
    [('tx1', 'home_exercise', None, ()), ('tx2', 'physical_therapy', 12, ('failed',))]
    """
    return _History(reader).read()


class _History:
    """The treatments to date of one summary."""

    def __init__(self, reader: SummaryReader) -> None:
        self.r = reader
        self.n = 0

    def next_id(self, prefix: str) -> str:
        """A fresh treatment id: the prefix and a running count."""
        self.n += 1
        return f"{prefix}{self.n}"

    def read(self) -> list[Treatment]:
        """The treatments named in treatment sentences ("treatment has included physical therapy, ..."), then the
        drugs named in medication sentences."""
        out: list[Treatment] = []
        seen: set[tuple[str, str]] = set()
        s = self.r.f.s
        for sent in self.r.sents:
            if sieve.search(r"\butilization review\b|\bUR\b|\brequest(?:ed|s)?\b|\bauthoriz\w*|\bdenied\b|"
                            r"\bnon-?certif\w*|\bplan\b|\brecommend\w*|\bwill\b|\bneeds?\b", sent.text, re.I):
                continue
            heads = list(_TX_HEAD.finditer(sent.text))
            completed = list(sieve.finditer(rf"(?:completed|attended|had|received|underwent|"
                                            rf"finished)\s+(?:{NUM_RX})\s+", sent.text, re.I))
            if not heads and not completed:
                continue
            a = sent.start + (heads[0].end() if heads else completed[0].start())
            b = sent.end
            seg = s[a:b].rstrip(". ")
            for p0, p1 in _list_items(seg):
                frag = seg[p0:p1]
                if not frag.strip() or sieve.fullmatch(r"\s*(?:diagnostics?|diagnostic (?:testing|imaging|studies)|"
                                                       r"imaging|x-?rays?|MRI|follow[- ]up|consultations?|"
                                                       r"other modalities|modalities|labs?|medications?|"
                                                       r"medication therapy|medication management|"
                                                       r"pain medications?)\s*", frag, re.I):
                    if sieve.fullmatch(r"\s*(?:medications?|medication therapy|medication management|"
                                       r"pain medications?)\s*", frag, re.I):
                        self._add_tx(out, seen, "other_medication", frag, a + p0, a + p1, None, ())
                    continue
                kind = self._tx_kind(frag)
                if kind is None:
                    continue
                lead = s[max(sent.start, a + p0 - 40):a + p0] + frag[:40]
                if sieve.search(r"\b(?:no|never|not had|without|denie[sd])\s+(?:any\s+)?(?:prior|previous|past|"
                                r"history of)?\s*(?:[\w-]+\s+){0,2}$", s[max(sent.start, a + p0 - 40):a + p0],
                                re.I) or \
                        sieve.match(r"\s*(?:no|never)\s+(?:prior|previous|past)?", frag, re.I) and \
                        sieve.match(r"\s*(?:no|never)\b", lead[-len(frag[:40]):], re.I):
                    continue  # "no prior chiropractic therapy": the record says it was not given
                cm = _TX_COUNT.search(frag)
                sessions = None
                if cm:
                    sessions = parse_number(next(g for g in cm.groupdict().values() if g))
                outcomes = _outcomes(frag)
                self._add_tx(out, seen, kind, frag, a + p0, a + p1, sessions, outcomes)
        self._drug_treatments(out, seen)
        return out

    def _drug_treatments(self, out: list[Treatment], seen: set[tuple[str, str]]) -> None:
        """Add the drugs named in medication sentences ("taking Norco and naproxen") to ``out``."""
        for sent in self.r.sents:
            if not sieve.search(r"medication|prescri|taking|regimen|tried|trial of|was on\b|using\b|"
                                r"treatment", sent.text, re.I):
                continue
            if sieve.search(r"\butilization review\b|\bUR\b|\brequest\w*|\bauthoriz\w*|\bdenied\b|\bnon-?certif\w*|"
                            r"\bplan\b|\brecommend\w*|\bwill\b", sent.text, re.I):
                continue
            for name, kind, rx in drug_lexicon():
                if name.lower() in GENERIC_DRUG_WORDS:
                    continue
                for m in rx.finditer(sent.text):
                    tail = sent.text[m.end():m.end() + 80]
                    outcomes = _outcomes(tail.split(",")[0]) if tail else ()
                    self._add_tx(out, seen, kind, m.group(0), sent.start + m.start(), sent.start + m.end(), None,
                                 outcomes)

    def _tx_kind(self, frag: str) -> str | None:
        """The treatment kind a treatment-list item names, or None (not a treatment: a study, a visit ...)."""
        drug = drug_in(frag)
        if drug is not None and drug[0].lower() not in GENERIC_DRUG_WORDS:
            return drug[1]
        for rx, tx_kind in _TX_WORDS:
            if sieve.search(rx, frag, re.I):
                return tx_kind
        kind = classify_service(frag)
        if kind in _NOT_TREATMENTS:
            return None
        return kind

    def _add_tx(self, out: list[Treatment], seen: set[tuple[str, str]], kind: str, label: str, a: int, b: int,
                sessions: int | None, outcomes: tuple[str, ...]) -> None:
        """Add a treatment (folded range [a, b)) to ``out``, or merge it into the one of the same kind and name
        (a non-drug kind: the same kind) already there, adding its count, outcomes and evidence."""
        label = " ".join(label.split()).strip(" .,")
        if not label:
            return
        drug = drug_in(label)
        key = (kind, (drug[0] if drug else label).lower())
        for i, t in enumerate(out):
            if (t.kind, (drug_in(t.label or "") or (t.label or "",))[0].lower() if t.label else "") == key \
                    or (t.kind == kind and kind not in DRUG_KINDS and kind != "other_medication"):
                if outcomes and not t.outcomes or sessions and not t.sessions:
                    out[i] = Treatment(id=t.id, kind=t.kind, label=t.label, outcomes=t.outcomes or outcomes,
                                       sessions=t.sessions or sessions, region=t.region,
                                       evidence=t.evidence + (self.r.ev(a, b),))
                return
        if key in seen:
            return
        seen.add(key)
        region = first_region(label)
        if drug is not None and kind in DRUG_KINDS:
            label = drug[0]
        out.append(Treatment(id=self.next_id("tx"), kind=kind, label=label, outcomes=outcomes, sessions=sessions,
                             region=region, evidence=(self.r.ev(a, b),)))
