"""Letters in bulk: ingest them as case graphs, and measure extraction and engine against the reviewers.

Last library stage (it uses every earlier one).  Two entry points:

* :func:`ingest` reads letter files (``.pdf``/``.txt``, or folders of them)
  into an RDF :class:`rdflib.Dataset` holding, per case, the named graphs
  ``<case>/graph/asserted`` and ``<case>/graph/reviewer``.  A file that cannot
  be read is reported in :attr:`IngestResult.errors` (a
  :class:`kg.errors.LetterError` naming it) and the batch goes on.  Ingesting a
  case already in the dataset replaces its graphs, so re-ingesting never
  duplicates.  (This lives here until the store issue gives ingest its own
  module.)
* :func:`evaluate` runs every letter of a folder through extraction and the
  engine and compares: field-by-field extraction accuracy against
  ``labels.json``; engine coverage (share of items not ``not_covered``), the
  confusion matrix against the reviewers, balanced accuracy, overturn recall
  and precision, tables by cited guideline and by engine section, and every
  disagreement with the criteria behind it.  :func:`render_report` prints it.

Figures are computed only from the letters and labels given; nothing is
cached between runs.  The reviewer's decision is read only to be compared.
"""

from __future__ import annotations

import datetime as _dt
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from rdflib import Dataset, Graph

from kg.errors import InputError, LetterError
from kg.extract.case import read_case_from_letter
from kg.jobs.ingest import letter_case_graph
from kg.rdf import bind_prefixes

__all__ = ["LETTER_SUFFIXES", "IngestResult", "letter_files", "letter_case_graph", "ingest", "write_dataset",
           "read_dataset", "EvalReport", "engine_figures", "evaluate", "render_report"]

LETTER_SUFFIXES = (".pdf", ".txt")
Progress = Callable[[int, int, str], None]


# ---------------------------------------------------------------------------
# Ingest
# ---------------------------------------------------------------------------
def letter_files(paths: Iterable[str | Path]) -> list[Path]:
    """The letter files named by ``paths``: files as given, folders expanded to their
    ``.pdf`` and ``.txt`` files (sorted by name).  A path that does not exist is
    kept, so reading it reports the error."""
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out.extend(sorted(f for f in path.iterdir() if f.is_file() and f.suffix.lower() in LETTER_SUFFIXES))
        else:
            out.append(path)
    return out


@dataclass(frozen=True)
class IngestResult:
    """What :func:`ingest` did: the dataset, the cases ingested and the files that failed."""

    dataset: Dataset
    cases: tuple[str, ...]
    errors: tuple[InputError, ...]


def _default_graph(ds: Dataset) -> Graph:
    """The dataset's default graph (``default_graph`` in rdflib >= 7.1, ``default_context`` before)."""
    return getattr(ds, "default_graph", None) if hasattr(type(ds), "default_graph") else ds.default_context


def _drop_case(ds: Dataset, case_iri: str) -> None:
    for g in list(ds.graphs()):
        ident = str(g.identifier)
        if ident.startswith(case_iri):
            ds.remove_graph(g)
    default = _default_graph(ds)
    for s, p, o in list(default):
        if str(s).startswith(case_iri):
            default.remove((s, p, o))


def ingest(paths: Sequence[str | Path], *, dataset: Dataset | None = None,
           progress: Progress | None = None) -> IngestResult:
    """Read letters (and case files) into case graphs in a dataset (a new one, or ``dataset``
    updated in place), the same way :func:`kg.jobs.ingest.ingest` reads them for a store.

    Each case's asserted facts and reviewer record go into its own named
    graphs; a case already present is replaced.  Unreadable files are
    collected as errors and skipped.
    """
    from kg.jobs.ingest import input_files, read_input

    ds = dataset if dataset is not None else Dataset()
    bind_prefixes(ds)  # type: ignore[arg-type]
    files = input_files(paths)
    cases: list[str] = []
    errors: list[InputError] = []
    for i, path in enumerate(files):
        if progress:
            progress(i, len(files), path.name)
        try:
            cg = read_input(path)
        except InputError as exc:
            errors.append(exc)
            continue
        _drop_case(ds, str(cg.iri))
        for name, g in (("asserted", cg.asserted), ("reviewer", cg.reviewer)):
            target = ds.graph(cg.graph_iri(name))
            for t in g:
                target.add(t)
        cases.append(cg.case_id)
    if progress:
        progress(len(files), len(files), "")
    return IngestResult(dataset=ds, cases=tuple(cases), errors=tuple(errors))


def read_dataset(path: str | Path) -> Dataset:
    """Read a TriG (``.trig``) or Turtle (``.ttl``) file written by :func:`write_dataset`.

    Raises :class:`kg.errors.InputError` naming the file when it does not parse.
    """
    p = Path(path)
    ds = Dataset()
    fmt = "trig" if p.suffix.lower() == ".trig" else "turtle"
    try:
        if fmt == "trig":
            ds.parse(p, format="trig")
        else:
            _default_graph(ds).parse(p, format="turtle")
    except Exception as exc:  # noqa: BLE001 - rdflib raises many types for bad input
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot read the existing {fmt.upper()} file: {first}", source=str(p),
                         hint="remove the file or give another output path") from None
    return ds


def _stable_trig(ds: Dataset) -> str:
    """TriG with the named graphs in IRI order, each written by rdflib's (sorted) Turtle writer,
    so the same dataset always gives the same bytes."""
    prefixes: list[str] = []
    blocks: list[str] = []
    for g in sorted(ds.graphs(), key=lambda g: str(g.identifier)):
        if len(g) == 0:
            continue
        body = bind_prefixes(Graph())
        for t in g:
            body.add(t)
        lines = body.serialize(format="turtle").splitlines()
        for line in lines:
            if line.startswith("@prefix") and line not in prefixes:
                prefixes.append(line)
        content = "\n".join(line for line in lines if not line.startswith("@prefix")).strip("\n")
        blocks.append(f"<{g.identifier}> {{\n{content}\n}}\n")
    return "\n".join(sorted(prefixes)) + "\n\n" + "\n".join(blocks)


def write_dataset(ds: Dataset, path: str | Path | None = None) -> str:
    """Serialise a dataset as TriG (or, for a ``.ttl`` path, all graphs merged as Turtle).

    Returns the text; writes it to ``path`` when given.
    """
    if path is not None and Path(path).suffix.lower() == ".ttl":
        merged = bind_prefixes(Graph())
        for t in ds.quads((None, None, None, None)):
            merged.add(t[:3])
        text = merged.serialize(format="turtle")
    else:
        text = _stable_trig(ds)
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------
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
    ...     {"case": "c", "request": "r2", "service": "s", "reviewer": "overturned", "engine": "not_medically_necessary",
    ...      "section": "A", "version": "v", "cited": "x", "criteria": []},
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
    label_data: dict[str, Any] = {}
    if labels is not None:
        try:
            label_data = json.loads(Path(labels).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read the labels: {exc}", source=str(labels),
                             hint="give the labels.json that comes with the letters") from None
    paths = letter_files([folder]) if files is None else [Path(f) for f in files]
    started = time.perf_counter()
    t_extract = t_engine = 0.0
    failed: list[dict[str, str]] = []
    fields_ok: dict[str, int] = {}
    fields_total: dict[str, int] = {}
    mismatches: list[str] = []
    cover: dict[str, int] = {}
    items: list[dict[str, Any]] = []
    seen_cases: set[str] = set()

    def score(name: str, ok: bool, miss: str) -> None:
        fields_total[name] = fields_total.get(name, 0) + 1
        fields_ok[name] = fields_ok.get(name, 0) + int(ok)
        if not ok:
            mismatches.append(f"{name}: {miss}")

    def count(name: str, ok: bool) -> None:
        cover[name] = cover.get(name, 0) + int(ok)

    for i, path in enumerate(paths):
        if progress:
            progress(i, len(paths), path.name)
        t0 = time.perf_counter()
        try:
            lc = read_case_from_letter(str(path))
        except LetterError as exc:
            failed.append({"file": path.name, "error": str(exc)})
            continue
        t1 = time.perf_counter()
        det = determine_case(lc.case)
        t2 = time.perf_counter()
        t_extract += t1 - t0
        t_engine += t2 - t1
        rec, case = lc.record, lc.case
        seen_cases.add(case.case_id)
        # -- extraction coverage (no labels needed) --
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
        for r, d in zip(case.requests, lc.details):
            count("requests", True)
            count("request_kind_known", r.service != "other")
            count("request_region", r.region is not None)
        # -- field accuracy against labels --
        lab = label_data.get(case.case_id)
        if lab is not None:
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
        # -- engine against reviewer --
        for k, it in enumerate(det.items):
            item = rec.items[k] if k < len(rec.items) else None
            items.append({
                "case": case.case_id, "request": it.request_id, "service": it.service, "service_kind": it.service_kind,
                "reviewer": it.reviewer_decision, "engine": it.conclusion,
                "section": it.guideline.section_label if it.guideline else None,
                "version": it.guideline.version_label if it.guideline else None,
                "cited": _cited(item.citation if item else None),
                "criteria": [{"number": a.number, "label": a.label, "status": a.status,
                              "reasons": list(a.reasons)} for a in it.assessments],
            })
    failed_ids = {Path(f["file"]).stem for f in failed}
    for case_id in sorted(failed_ids & set(label_data)):
        lab = label_data[case_id]
        for key in HEADER_FIELDS:
            score(key, False, f"{case_id} letter could not be read")
        score("item_count", False, f"{case_id} letter could not be read")
        for _ in lab.get("items", []):
            for key in ITEM_FIELDS:
                score(key, False, f"{case_id} letter could not be read")
    without_letter = sorted(set(label_data) - seen_cases - failed_ids)
    if progress:
        progress(len(paths), len(paths), "")

    extraction = {
        "fields": {k: {"correct": fields_ok[k], "total": fields_total[k], "accuracy": _ratio(fields_ok[k], fields_total[k])}
                   for k in fields_total},
        "mismatches": mismatches,
        "coverage": {k: v for k, v in cover.items()},
    }
    engine = engine_figures(items)
    data = {"letters_dir": str(folder), "letters": len(paths), "letters_read": cover.get("letters", 0),
            "letters_failed": failed, "labelled_cases": len(label_data),
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
        out.append(f"  {rv:12} {row['not_medically_necessary']:>14} {row['medically_necessary']:>10} {row['not_covered']:>12}")
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
        out.append(f"  {x['case']} {x['request']}: {x['service'][:60]} | reviewer {x['reviewer']}, engine {x['engine']}")
    out += ["", f"Disagreements ({len(en['disagreements'])}):"]
    for x in en["disagreements"]:
        out.append(f"  {x['case']} {x['request']}: {x['service'][:60]} | reviewer {x['reviewer']}, engine {x['engine']}"
                   f" ({x['section']}, {x['version']})")
        for c in x["criteria"]:
            out.append(f"    criterion {c['number']} {c['label']}: {c['status']}")
    t = report.timing
    if t:
        out += ["", f"Time: {t['total_s']} s total ({t['extract_s']} s reading and extraction, {t['engine_s']} s engine;"
                    f" {t['per_letter_s']} s per letter)"]
    return "\n".join(out) + "\n"

