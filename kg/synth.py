"""Synthetic corpora that look like the real letters, for scale tests and benchmarks.

:func:`letter_statistics` reads a folder of real letters through our own
extraction and counts what they hold: items per letter, service kinds, the
share overturned (per kind), partial authorisations, ages, sex, reviewer
specialties, decision months, days from injury to request, findings and
prior treatments with their outcomes, and requested visits.  The counts are
kept in the repository (``kg/letter_stats.json``, made by ``imrkg synth
--stats-from DIR``), so :func:`synthesize` needs no letters: it draws cases
from those distributions with a seeded random generator (the same seed gives
the same cases).  Every synthetic case says so: its id starts with
``synthetic-`` and its title with ``Synthetic case``.
"""

from __future__ import annotations

import datetime as _dt
import json
import random
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterator

from kg.casefile import (
    CaseData,
    Finding,
    IMRDecision,
    Injury,
    Request,
    Treatment,
    URDecision,
    Worker,
)

__all__ = ["STATS_FILE", "letter_statistics", "load_statistics", "synthesize", "load_synthetic"]

STATS_FILE = Path(__file__).with_name("letter_stats.json")


def letter_statistics(letters_dir: str | Path, *, progress: Callable[[int, int, str], None] | None = None
                      ) -> dict[str, Any]:
    """Count the distributions of a folder of letters (read with :mod:`kg.extract`)."""
    from kg.errors import LetterError
    from kg.extract import read_case_from_letter

    files = sorted(p for p in Path(letters_dir).iterdir() if p.suffix.lower() in (".pdf", ".txt"))
    c: dict[str, Counter] = {k: Counter() for k in (
        "items_per_letter", "service_kind", "overturned_by_kind", "age", "sex", "specialty", "decision_month",
        "injury_to_request_days", "finding", "treatment", "treatment_outcome", "sessions", "partial")}
    letters = 0
    for i, path in enumerate(files):
        if progress:
            progress(i, len(files), path.name)
        try:
            case = read_case_from_letter(str(path)).case
        except LetterError:
            continue
        letters += 1
        c["items_per_letter"][len(case.requests)] += 1
        if case.worker and case.worker.age:
            c["age"][case.worker.age // 5 * 5] += 1
        if case.worker and case.worker.sex:
            c["sex"][case.worker.sex] += 1
        for f in case.findings:
            c["finding"][f"{f.kind}:{f.status}"] += 1
        for t in case.treatments:
            c["treatment"][t.kind] += 1
            for o in t.outcomes:
                c["treatment_outcome"][o] += 1
        for r in case.requests:
            c["service_kind"][r.service] += 1
            if r.imr is not None:
                if r.imr.decision == "overturned":
                    c["overturned_by_kind"][r.service] += 1
                if r.imr.specialty:
                    c["specialty"][r.imr.specialty] += 1
                if r.imr.date:
                    c["decision_month"][r.imr.date.strftime("%Y-%m")] += 1
            if r.sessions:
                c["sessions"][r.sessions] += 1
            if r.ur is not None:
                c["partial"][r.ur.decision == "modified"] += 1
            if r.date and case.injury and case.injury.date:
                c["injury_to_request_days"][(r.date - case.injury.date).days // 90 * 90] += 1
    if progress:
        progress(len(files), len(files), "")
    return {"source": "imr-kg letter statistics, counted by kg.synth.letter_statistics from the published letters",
            "letters": letters,
            **{k: {str(key): n for key, n in sorted(v.items(), key=lambda kv: str(kv[0]))} for k, v in c.items()}}


def load_statistics(path: str | Path | None = None) -> dict[str, Any]:
    """The statistics kept in the repository (or another file written by :func:`letter_statistics`)."""
    return json.loads(Path(path or STATS_FILE).read_text(encoding="utf-8"))


def _pick(rng: random.Random, dist: dict[str, int]) -> str:
    keys = sorted(dist)
    return rng.choices(keys, weights=[dist[k] for k in keys])[0]


def synthesize(n: int, *, seed: int = 0, stats: dict[str, Any] | None = None) -> Iterator[CaseData]:
    """``n`` synthetic cases drawn from the letter statistics; the same seed gives the same cases."""
    from kg.casefile import vocabulary

    stats = stats or load_statistics()
    vocab = vocabulary()
    rng = random.Random(seed)
    kinds = {k: v for k, v in stats["service_kind"].items() if k in vocab.treatments}
    findings = {k: v for k, v in stats["finding"].items() if k.split(":")[0] in vocab.findings}
    treatments = {k: v for k, v in stats["treatment"].items() if k in vocab.treatments}
    outcomes = {k: v for k, v in stats["treatment_outcome"].items() if k in vocab.outcomes}
    months = stats["decision_month"] or {"2016-12": 1}
    for i in range(n):
        month = _pick(rng, months)
        decided = _dt.date.fromisoformat(f"{month}-01") + _dt.timedelta(days=rng.randrange(28))
        ur_date = decided - _dt.timedelta(days=rng.randrange(20, 60))
        request_date = ur_date - _dt.timedelta(days=rng.randrange(3, 15))
        injury = request_date - _dt.timedelta(days=int(_pick(rng, stats["injury_to_request_days"])) + rng.randrange(90))
        age = int(_pick(rng, stats["age"])) + rng.randrange(5)
        case_findings = []
        for j in range(rng.randrange(1, 7)):
            kind, status = _pick(rng, findings).split(":")
            case_findings.append(Finding(id=f"f{j}", kind=kind, status=status, date=request_date))
        case_treatments = []
        for j in range(rng.randrange(0, 5)):
            case_treatments.append(Treatment(id=f"t{j}", kind=_pick(rng, treatments),
                                             outcomes=(_pick(rng, outcomes),),
                                             sessions=rng.choice((None, 6, 8, 12, 18, 24))))
        requests = []
        for j in range(int(_pick(rng, stats["items_per_letter"]))):
            kind = _pick(rng, kinds)
            overturn = stats["overturned_by_kind"].get(kind, 0) / max(1, stats["service_kind"][kind])
            sessions = int(_pick(rng, stats["sessions"])) if kind in ("physical_therapy", "chiropractic",
                                                                      "acupuncture") and stats["sessions"] else None
            partial = rng.random() < stats["partial"].get("True", 0) / max(1, sum(stats["partial"].values()))
            requests.append(Request(
                id=f"r{j}", service=kind, text=f"synthetic {kind.replace('_', ' ')}", date=request_date,
                sessions=sessions,
                ur=URDecision(decision="modified" if partial else "denied", date=ur_date),
                imr=IMRDecision(decision="overturned" if rng.random() < overturn else "upheld", date=decided,
                                specialty=_pick(rng, stats["specialty"]))))
        case = CaseData(case_id=f"synthetic-{seed}-{i:07d}", source="synthetic",
                        title=f"Synthetic case {i} (seed {seed}), drawn from letter statistics",
                        worker=Worker(age=min(max(age, 18), 80), sex=_pick(rng, stats["sex"])),
                        injury=Injury(date=injury), findings=tuple(case_findings),
                        treatments=tuple(case_treatments), requests=tuple(requests))
        yield replace(case)


def load_synthetic(store: Any, n: int, *, seed: int = 0, stats: dict[str, Any] | None = None, batch: int = 500,
                   progress: Callable[[int, int, str], None] | None = None) -> int:
    """Write ``n`` synthetic cases (asserted and reviewer graphs) to ``store`` in batches of
    ``batch`` cases, each batch one update.  Returns the number written; determine them with
    :func:`kg.pipeline.determine_all`."""
    from kg.graph import build_case_graph

    pending: dict[str, dict[str, Any]] = {}
    written = 0
    for case in synthesize(n, seed=seed, stats=stats):
        cg = build_case_graph(case)
        pending[cg.case_id] = {"asserted": cg.asserted, "reviewer": cg.reviewer}
        if len(pending) >= batch:
            store.put_cases(pending)
            written += len(pending)
            pending = {}
            if progress:
                progress(written, n, "")
    if pending:
        store.put_cases(pending)
        written += len(pending)
    if progress:
        progress(written, n, "")
    return written
