"""Letters in bulk: measure extraction and engine against the reviewers.

Last of the library's measuring jobs (it uses every earlier stage).  :func:`evaluate` runs
every letter of a folder through extraction and the engine, reading them with
:func:`kg.jobs.ingest.read_each` (the one loop over inputs), and compares: field-by-field
extraction accuracy against ``labels.json``; engine coverage (share of items not
``not_covered``), the confusion matrix against the reviewers, balanced accuracy, overturn
recall and precision, tables by cited guideline and by engine section, and every
disagreement with the criteria behind it.  :func:`render_report` prints it.  (Ingesting
letters into a dataset, ``imrkg ingest -o``, is :func:`kg.jobs.ingest.ingest_dataset`.)

Figures are computed only from the letters and labels given; nothing is
cached between runs.  The reviewer's decision is read only to be compared.
"""

from __future__ import annotations

import datetime as _dt
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from kg.errors import InputError, LetterError
from kg.extract.case import read_case_from_letter
from kg.jobs.ingest import LETTER_SUFFIXES, Progress, input_files, read_each

if TYPE_CHECKING:
    from kg.engine.determine import CaseDetermination
    from kg.extract.case import LetterCase

__all__ = ["EvalReport", "engine_figures", "evaluate", "render_report"]

HEADER_FIELDS = {"case": "case_number", "assigned": "date_assigned", "injury": "date_of_injury",
                 "decided": "decision_date", "ur_denial": "ur_denial_date", "specialty": "specialty"}
ITEM_FIELDS = ("service", "decision", "maximus_guideline")


@dataclass(frozen=True)
class EvalReport:
    """The figures of one evaluation run, as plain data (see :func:`evaluate`)."""

    data: dict[str, Any]
    timing: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> str:
        """The report as JSON (timing included under ``"timing"``)."""
        return json.dumps({**self.data, "timing": self.timing}, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def _ratio(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def _label_date(s: str | None) -> _dt.date | None:
    if not s:
        return None
    for fmt in ("%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y"):
        try:
            return _dt.datetime.strptime(s.strip(), fmt).date()
        except ValueError:
            continue
    return None


def _cited(item_citation: Any) -> str:
    """A short key for the guideline a reviewer cited."""
    if item_citation is None:
        return "no citation"
    if item_citation.kind == "mtus" and item_citation.mtus:
        g = item_citation.mtus[0]
        sec = f": {g.sections[0]}" if g.sections else ""
        return f"MTUS {g.name} {g.year}{sec}"
    if item_citation.kind == "non_mtus":
        return "outside MTUS"
    return "no citation"


def engine_figures(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Engine-versus-reviewer figures from per-item records.

    Each item needs ``reviewer`` (``upheld``/``overturned``), ``engine``
    (``medically_necessary``, ``not_medically_necessary`` or ``not_covered``),
    ``section``, ``version``, ``cited``, ``case``, ``request``, ``service`` and
    ``criteria``.  Coverage is the share of items the engine decides; the
    confusion matrix has every item; balanced accuracy, overturn recall and
    precision use the decided items only and are None where undefined (no
    decided item of a class).

    >>> f = engine_figures([
    ...     {"case": "c", "request": "r1", "service": "s", "reviewer": "upheld", "engine": "not_medically_necessary",
    ...      "section": "A", "version": "v", "cited": "x", "criteria": []},
    ...     {"case": "c", "request": "r2", "service": "s", "reviewer": "overturned",
    ...      "engine": "not_medically_necessary", "section": "A", "version": "v", "cited": "x", "criteria": []},
    ...     {"case": "c", "request": "r3", "service": "s", "reviewer": "overturned", "engine": "medically_necessary",
    ...      "section": "A", "version": "v", "cited": "x", "criteria": []},
    ...     {"case": "c", "request": "r4", "service": "s", "reviewer": "upheld", "engine": "not_covered",
    ...      "section": None, "version": None, "cited": "y", "criteria": []}])
    >>> f["coverage"], f["balanced_accuracy"], f["overturn_recall"], f["overturn_precision"], len(f["disagreements"])
    (0.75, 0.75, 0.5, 1.0, 1)
    """
    covered = [x for x in items if x["engine"] != "not_covered"]
    matrix = {rv: {en: sum(1 for x in items if x["reviewer"] == rv and x["engine"] == en)
                   for en in ("not_medically_necessary", "medically_necessary", "not_covered")}
              for rv in ("upheld", "overturned")}
    up = [x for x in covered if x["reviewer"] == "upheld"]
    ov = [x for x in covered if x["reviewer"] == "overturned"]
    eng_mn = [x for x in covered if x["engine"] == "medically_necessary"]
    r_up = _ratio(sum(1 for x in up if x["engine"] == "not_medically_necessary"), len(up))
    r_ov = _ratio(sum(1 for x in ov if x["engine"] == "medically_necessary"), len(ov))
    balanced = None
    if up and ov:
        balanced = round((sum(1 for x in up if x["engine"] == "not_medically_necessary") / len(up)
                          + sum(1 for x in ov if x["engine"] == "medically_necessary") / len(ov)) / 2, 4)

    def agree(x: dict[str, Any]) -> bool:
        return (x["reviewer"] == "overturned") == (x["engine"] == "medically_necessary")

    def table(key: str) -> list[dict[str, Any]]:
        groups: dict[str, list[dict[str, Any]]] = {}
        for x in items:
            groups.setdefault(x[key] or "not covered", []).append(x)
        rows = []
        for name, xs in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            cov = [x for x in xs if x["engine"] != "not_covered"]
            rows.append({"name": name, "items": len(xs), "covered": len(cov), "agree": sum(1 for x in cov if agree(x)),
                         "upheld": sum(1 for x in xs if x["reviewer"] == "upheld"),
                         "overturned": sum(1 for x in xs if x["reviewer"] == "overturned")})
        return rows

    return {
        "items": len(items),
        "covered": len(covered),
        "coverage": _ratio(len(covered), len(items)),
        "confusion_matrix": matrix,
        "upheld_recall": r_up,
        "overturned_recall": r_ov,
        "balanced_accuracy": balanced,
        "overturn_recall": r_ov,
        "overturn_precision": _ratio(sum(1 for x in eng_mn if x["reviewer"] == "overturned"), len(eng_mn)),
        "by_cited_guideline": table("cited"),
        "by_engine_section": table("section"),
        "disagreements": [{k: x[k] for k in ("case", "request", "service", "reviewer", "engine", "section", "version",
                                             "criteria")} for x in covered if not agree(x)],
        "decided_items": [{k: x[k] for k in ("case", "request", "service", "reviewer", "engine", "section")}
                          for x in covered],
    }


@dataclass
class _Tally:
    """The running counts of one evaluation: field accuracy against ``labels``, extraction
    coverage, the engine's items and the letters that failed, in the order they were met."""

    labels: dict[str, Any]
    fields_ok: dict[str, int] = field(default_factory=dict)
    fields_total: dict[str, int] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)
    cover: dict[str, int] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)
    seen_cases: set[str] = field(default_factory=set)
    failed: list[dict[str, str]] = field(default_factory=list)

    def score(self, name: str, ok: bool, miss: str) -> None:
        self.fields_total[name] = self.fields_total.get(name, 0) + 1
        self.fields_ok[name] = self.fields_ok.get(name, 0) + int(ok)
        if not ok:
            self.mismatches.append(f"{name}: {miss}")

    def count(self, name: str, ok: bool) -> None:
        self.cover[name] = self.cover.get(name, 0) + int(ok)

    def failed_letter(self, path: Path, exc: InputError) -> None:
        self.failed.append({"file": path.name, "error": str(exc)})

    def letter(self, lc: LetterCase, det: CaseDetermination) -> None:
        """Count one letter read: its coverage, its fields against the labels, its engine items."""
        self.seen_cases.add(lc.case.case_id)
        self._coverage(lc)
        lab = self.labels.get(lc.case.case_id)
        if lab is not None:
            self._accuracy(lc, lab)
        self._engine(lc, det)

    def _coverage(self, lc: LetterCase) -> None:
        """Extraction coverage (no labels needed)."""
        case, count = lc.case, self.count
        count("letters", True)
        count("with_age", case.worker is not None and case.worker.age is not None)
        count("with_sex", case.worker is not None and case.worker.sex is not None)
        count("with_injury_date", case.injury is not None and case.injury.date is not None)
        count("with_mechanism", case.injury is not None and case.injury.mechanism is not None)
        count("with_diagnosis", bool(case.diagnoses))
        count("with_icd10", any(d.icd10 for d in case.diagnoses))
        count("with_finding_present", any(f.status == "present" for f in case.findings))
        count("with_finding_absent", any(f.status == "absent" for f in case.findings))
        count("with_pain_score", any(f.kind == "pain_score" for f in case.findings))
        count("with_treatment", bool(case.treatments))
        count("with_study", bool(case.studies))
        for r in case.requests:
            count("requests", True)
            count("request_kind_known", r.service != "other")
            count("request_region", r.region is not None)

    def _accuracy(self, lc: LetterCase, lab: dict[str, Any]) -> None:
        """Field accuracy against the letter's labels."""
        rec, case, score = lc.record, lc.case, self.score
        for key, attr in HEADER_FIELDS.items():
            value = getattr(rec, attr)
            got = value.text if value is not None else None
            score(key, got == lab.get(key), f"{case.case_id} label {lab.get(key)!r} got {got!r}")
        inj = case.injury.date if case.injury is not None else None
        score("case_injury_date", inj == _label_date(lab.get("injury")),
              f"{case.case_id} label {lab.get('injury')!r} got {inj}")
        ur = case.requests[0].ur.date if case.requests and case.requests[0].ur else None
        score("case_ur_date", ur == _label_date(lab.get("ur_denial")),
              f"{case.case_id} label {lab.get('ur_denial')!r} got {ur}")
        lab_items = lab.get("items", [])
        score("item_count", len(lab_items) == len(rec.items),
              f"{case.case_id} label {len(lab_items)} items, got {len(rec.items)}")
        for j, li in enumerate(lab_items):
            item = rec.items[j] if j < len(rec.items) and len(lab_items) == len(rec.items) else None
            got_item = {"service": item.service.text if item else None,
                        "decision": item.decision.text if item else None,
                        "maximus_guideline": item.maximus_guideline.text if item and item.maximus_guideline else None}
            for key in ITEM_FIELDS:
                score(key, got_item[key] == li.get(key),
                      f"{case.case_id} item {j + 1} label {li.get(key)!r} got {got_item[key]!r}")
            r = case.requests[j] if item is not None else None
            got_dec = r.imr.decision if r is not None and r.imr is not None else None
            score("case_reviewer_decision", got_dec == str(li.get("decision", "")).lower(),
                  f"{case.case_id} item {j + 1} label {li.get('decision')!r} got {got_dec!r}")

    def _engine(self, lc: LetterCase, det: CaseDetermination) -> None:
        """The engine's items against the reviewer's."""
        rec = lc.record
        # the case's requests are in letter order (request j is the letter's item j); the engine's
        # items are sorted by IRI text (r1, r10, r11, ..., r2), so pair them by request id, not position
        position = {r.id: j for j, r in enumerate(lc.case.requests)}
        for it in sorted(det.items, key=lambda i: position.get(i.request_id, len(position))):
            k = position.get(it.request_id)
            item = rec.items[k] if k is not None and k < len(rec.items) else None
            self.items.append({
                "case": lc.case.case_id, "request": it.request_id, "service": it.service,
                "service_kind": it.service_kind, "reviewer": it.reviewer_decision, "engine": it.conclusion,
                "section": it.guideline.section_label if it.guideline else None,
                "version": it.guideline.version_label if it.guideline else None,
                "cited": _cited(item.citation if item else None),
                "criteria": [{"number": a.number, "label": a.label, "status": a.status,
                              "reasons": list(a.reasons)} for a in it.assessments],
            })

    def unreadable(self) -> set[str]:
        """Score every field of the labelled letters that could not be read as wrong; their ids."""
        failed_ids = {Path(f["file"]).stem for f in self.failed}
        for case_id in sorted(failed_ids & set(self.labels)):
            lab = self.labels[case_id]
            for key in HEADER_FIELDS:
                self.score(key, False, f"{case_id} letter could not be read")
            self.score("item_count", False, f"{case_id} letter could not be read")
            for _ in lab.get("items", []):
                for key in ITEM_FIELDS:
                    self.score(key, False, f"{case_id} letter could not be read")
        return failed_ids


def _load_labels(labels: str | Path | None) -> dict[str, Any]:
    if labels is None:
        return {}
    try:
        data: dict[str, Any] = json.loads(Path(labels).read_text(encoding="utf-8"))
        return data
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the labels: {exc}", source=str(labels),
                         hint="give the labels.json that comes with the letters") from None


def evaluate(letters_dir: str | Path, labels: str | Path | None = None, *,
             progress: Progress | None = None, files: Sequence[str | Path] | None = None) -> EvalReport:
    """Measure extraction (against ``labels``) and the engine (against the reviewers) on a folder of letters.

    ``files`` restricts the run to those letter files (a subset of the
    folder).  Letters that cannot be read are listed under
    ``letters_failed`` and, when labelled, count as wrong in every field;
    labels of cases with no letter in the run are only counted
    (``labels_without_letter``), not scored.  Raises :class:`kg.errors.InputError` when the folder or the labels
    file cannot be read.
    """
    from kg.engine.determine import determine_case

    folder = Path(letters_dir)
    if not folder.is_dir():
        raise InputError("not a folder of letters", source=str(folder), hint="give the folder holding the .pdf letters")
    tally = _Tally(labels=_load_labels(labels))
    paths = input_files([folder], suffixes=LETTER_SUFFIXES) if files is None else [Path(f) for f in files]
    started = time.perf_counter()
    t_extract = t_engine = 0.0

    def read(path: Path) -> LetterCase:
        nonlocal t_extract
        t0 = time.perf_counter()
        lc = read_case_from_letter(str(path))
        t_extract += time.perf_counter() - t0
        return lc

    for lc in read_each(paths, read, on_error=tally.failed_letter, catch=LetterError, progress=progress):
        t1 = time.perf_counter()
        det = determine_case(lc.case)
        t_engine += time.perf_counter() - t1
        tally.letter(lc, det)
    failed_ids = tally.unreadable()
    without_letter = sorted(set(tally.labels) - tally.seen_cases - failed_ids)
    extraction = {
        "fields": {k: {"correct": tally.fields_ok[k], "total": tally.fields_total[k],
                       "accuracy": _ratio(tally.fields_ok[k], tally.fields_total[k])} for k in tally.fields_total},
        "mismatches": tally.mismatches,
        "coverage": {k: v for k, v in tally.cover.items()},
    }
    engine = engine_figures(tally.items)
    data = {"letters_dir": str(folder), "letters": len(paths), "letters_read": tally.cover.get("letters", 0),
            "letters_failed": tally.failed, "labelled_cases": len(tally.labels),
            "labels_without_letter": len(without_letter), "extraction": extraction, "engine": engine}
    total = time.perf_counter() - started
    timing = {"total_s": round(total, 2), "extract_s": round(t_extract, 2), "engine_s": round(t_engine, 2),
              "per_letter_s": round(total / len(paths), 3) if paths else 0.0}
    return EvalReport(data=data, timing=timing)


def _pct(x: float | None) -> str:
    return "undefined" if x is None else f"{100 * x:.1f}%"


def render_report(report: EvalReport, *, max_mismatches: int = 40) -> str:
    """The report as text, the way ``imrkg eval`` prints it."""
    d = report.data
    ex, en = d["extraction"], d["engine"]
    out = [f"imrkg eval: {d['letters_read']} of {d['letters']} letters read from {d['letters_dir']}"
           f" ({d['labelled_cases']} labelled cases, {d['labels_without_letter']} of them without a letter here)"]
    for f in d["letters_failed"]:
        out.append(f"  failed: {f['error']}")
    out += ["", "Extraction accuracy against the labels (field: correct/total):"]
    for k, v in ex["fields"].items():
        out.append(f"  {k:24} {v['correct']:4}/{v['total']:<4} {_pct(v['accuracy']):>7}")
    cov = ex["coverage"]
    n, r = cov.get("letters", 0), cov.get("requests", 0)
    out += ["", "Extraction coverage (no labels: share of letters / requests with the fact):"]
    for k, v in cov.items():
        if k in ("letters", "requests"):
            continue
        base = r if k.startswith("request_") else n
        out.append(f"  {k:24} {v:4}/{base:<4} {_pct(_ratio(v, base)):>7}")
    if ex["mismatches"]:
        out += ["", f"Field mismatches ({len(ex['mismatches'])}):"]
        out += [f"  {m}" for m in ex["mismatches"][:max_mismatches]]
        if len(ex["mismatches"]) > max_mismatches:
            out.append(f"  ... {len(ex['mismatches']) - max_mismatches} more in the JSON report")
    m = en["confusion_matrix"]
    out += ["", f"Engine: {en['covered']} of {en['items']} items decided (coverage {_pct(en['coverage'])}); "
                "the rest have no encoded guideline section (not_covered).",
            "Confusion matrix (rows: reviewer; columns: engine):",
            f"  {'':12} {'not necessary':>14} {'necessary':>10} {'not covered':>12}"]
    for rv in ("upheld", "overturned"):
        row = m[rv]
        out.append(f"  {rv:12} {row['not_medically_necessary']:>14} {row['medically_necessary']:>10} "
                   f"{row['not_covered']:>12}")
    out += [f"Balanced accuracy (decided items): {_pct(en['balanced_accuracy'])}"
            f"  [upheld recall {_pct(en['upheld_recall'])}, overturned recall {_pct(en['overturned_recall'])}]",
            f"Overturn recall: {_pct(en['overturn_recall'])}; overturn precision: {_pct(en['overturn_precision'])}",
            "", "By cited guideline (reviewer's MAXIMUS citation): items / decided / agree / upheld / overturned"]
    for row in en["by_cited_guideline"]:
        out.append(f"  {row['name'][:70]:70} {row['items']:4} {row['covered']:4} {row['agree']:4} "
                   f"{row['upheld']:4} {row['overturned']:4}")
    out += ["", "By engine section: items / decided / agree / upheld / overturned"]
    for row in en["by_engine_section"]:
        out.append(f"  {row['name'][:70]:70} {row['items']:4} {row['covered']:4} {row['agree']:4} "
                   f"{row['upheld']:4} {row['overturned']:4}")
    out += ["", f"Decided items ({len(en['decided_items'])}):"]
    for x in en["decided_items"]:
        out.append(f"  {x['case']} {x['request']}: {x['service'][:60]} | reviewer {x['reviewer']}, "
                   f"engine {x['engine']}")
    out += ["", f"Disagreements ({len(en['disagreements'])}):"]
    for x in en["disagreements"]:
        out.append(f"  {x['case']} {x['request']}: {x['service'][:60]} | reviewer {x['reviewer']}, "
                   f"engine {x['engine']} ({x['section']}, {x['version']})")
        for c in x["criteria"]:
            out.append(f"    criterion {c['number']} {c['label']}: {c['status']}")
    t = report.timing
    if t:
        out += ["", f"Time: {t['total_s']} s total ({t['extract_s']} s reading and extraction, "
                    f"{t['engine_s']} s engine; {t['per_letter_s']} s per letter)"]
    return "\n".join(out) + "\n"

