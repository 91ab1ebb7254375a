"""Right for the right reason: does the engine decide an item on the reviewer's grounds?

A job after :mod:`kg.jobs.evaluate`, whose public functions it reuses: the letters are listed
and read by the same loop (:func:`kg.jobs.ingest.input_files` with ``LETTER_SUFFIXES``,
:func:`kg.jobs.ingest.read_each` over :func:`kg.extract.case.read_case_from_letter`), each
determined by :func:`kg.engine.determine.determine_case`, and the decision figures come from
:func:`kg.jobs.evaluate.engine_figures`.  The engine's items are matched with the
reviewer records of ``reasons.json`` (one per ``labels.json`` item, in the same order) the
way :func:`~kg.jobs.evaluate.evaluate` matches labels: by position, the j-th labelled item
of a case with the case's j-th request, when the letter gives as many requests as the labels
list items (otherwise the case is reported as unmatched and not scored).

What is measured, on each half of the split and in total:

* **decisions**: items, items decided (engine says necessary or not necessary; not
  "not covered"), balanced accuracy, upheld and overturn recall on decided items;
* **reason recall**: on items where engine and reviewer agree, the share of the reviewer's
  reasons the engine states as *deciding*.  A reason's criteria come from
  ``reason_map.toml`` (beside this module): the single-reason patterns that apply to it, or
  else the criteria of its item's criterion keys.  It is stated when one of them is
  deciding.  For an item the engine finds not medically necessary the deciding criteria are
  the failing (not met or not documented) required criteria, and the indications when none
  is met; for a medically necessary item they are the met criteria (indications and
  required ones).  A missed reason is counted by cause: *not encoded* (no criterion states
  its rule), *not in section* (its criteria belong to other sections than the one the engine
  applied), *not deciding* (the engine assessed its criterion but did not decide on it);
* **added criteria**: deciding criteria of agreeing items that are not among the criteria of
  the reviewer's keys and reasons.

The split (:func:`split_half`) is fixed: a letter is in the **write** half when the first
byte of ``sha256("imr-kg-split-1" + case_number)`` is even, else in the **check** half (62
letters each for the 124 letters; 7 and 12 overturned items).  Rules are written looking at
the write half; the check half says whether a change generalises.

The reviewer's decision and reasons are read only to be compared; they are never an input to
the engine.  Nothing is cached between runs; nothing here mutates its inputs.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from kg.errors import InputError, LetterError
from kg.extract.case import read_case_from_letter
from kg.jobs.evaluate import engine_figures
from kg.jobs.ingest import LETTER_SUFFIXES, Progress, input_files, read_each

if TYPE_CHECKING:
    from kg.engine.determine import CaseDetermination
    from kg.extract.case import LetterCase

__all__ = ["SPLIT_SALT", "HALVES", "REASON_MAP_FILE", "split_half", "split_cases", "ReasonPattern", "ReasonMap",
           "load_reason_map", "Assessed", "EngineItem", "EngineRun", "run_engine", "deciding_criteria",
           "read_reasons", "ReasonReport", "score_reasons", "reason_recall", "render_reasons"]

SPLIT_SALT = "imr-kg-split-1"
HALVES = ("write", "check")
REASON_MAP_FILE = Path(__file__).with_name("reason_map.toml")
FAILING = ("not_met", "not_documented")
MISS_CAUSES = ("not_encoded", "not_in_section", "not_deciding")
NO_KEYS = "(none)"  # in a pattern's keys: the pattern also applies to items without criterion keys


# ---------------------------------------------------------------------------
# The split
# ---------------------------------------------------------------------------
def split_half(case_number: str) -> str:
    """The half of the fixed split a letter belongs to: ``"write"`` or ``"check"``.

    ``write`` when the first byte of ``sha256("imr-kg-split-1" + case_number)`` is even.

    >>> split_half("CM16-0228949"), split_half("CM16-0213037")
    ('write', 'check')
    """
    return "write" if hashlib.sha256((SPLIT_SALT + case_number).encode()).digest()[0] % 2 == 0 else "check"


def split_cases(cases: Iterable[str]) -> dict[str, list[str]]:
    """The given case numbers by half, each sorted: ``{"write": [...], "check": [...]}``.

    >>> split_cases(["CM16-0228949", "CM16-0213037"])
    {'write': ['CM16-0228949'], 'check': ['CM16-0213037']}
    """
    out: dict[str, list[str]] = {h: [] for h in HALVES}
    for c in sorted(set(cases)):
        out[split_half(c)].append(c)
    return out


# ---------------------------------------------------------------------------
# The reason map
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ReasonPattern:
    """A single-reason pattern: for reasons of items with one of ``keys`` (None: any item;
    ``"(none)"`` among them: also items without keys) whose text matches ``match`` and not
    ``unless``, the criteria are ``criteria`` (may be empty)."""

    name: str
    match: re.Pattern[str]
    unless: re.Pattern[str] | None
    keys: frozenset[str] | None
    criteria: tuple[str, ...]

    def applies(self, text: str, keys: Iterable[str]) -> bool:
        """Does the pattern apply to a reason with this text, on an item with these keys?"""
        keys = tuple(keys)
        if self.keys is not None and not self.keys.intersection(keys or (NO_KEYS,)):
            return False
        return bool(self.match.search(text)) and not (self.unless is not None and self.unless.search(text))


@dataclass(frozen=True)
class ReasonMap:
    """Criterion keys and single-reason patterns mapped to criterion IRIs (see ``reason_map.toml``)."""

    keys: Mapping[str, tuple[str, ...]]
    rules: Mapping[str, str]
    patterns: tuple[ReasonPattern, ...]
    source: str = ""

    def key_criteria(self, key: str) -> tuple[str, ...]:
        """The criteria that state a key's rule (empty for an unknown or unencoded key)."""
        return self.keys.get(key, ())

    def unencoded_keys(self) -> list[str]:
        """The keys no criterion states, sorted."""
        return sorted(k for k, v in self.keys.items() if not v)

    def all_criteria(self) -> set[str]:
        """Every criterion IRI the map names."""
        out = {c for v in self.keys.values() for c in v}
        return out | {c for p in self.patterns for c in p.criteria}

    def reason_criteria(self, text: str, keys: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """A reason's criteria and the names of the patterns that gave them.

        The union of the criteria of every applying pattern; when none applies, the union of the
        item's keys' criteria (and no pattern names).
        """
        hits = [p for p in self.patterns if p.applies(text, keys)]
        source = [c for p in hits for c in p.criteria] if hits else [c for k in keys for c in self.key_criteria(k)]
        return tuple(dict.fromkeys(source)), tuple(p.name for p in hits)


def _expand(name: str, prefixes: Mapping[str, str], where: str) -> str:
    head, sep, tail = name.partition(":")
    if not sep or head not in prefixes:
        raise InputError(f"criterion {name!r} has no known prefix", source=where,
                         hint=f"write it as one of {sorted(prefixes)} followed by ':'")
    return prefixes[head] + tail


def load_reason_map(path: str | Path | None = None) -> ReasonMap:
    """Read the reason map (by default ``reason_map.toml`` beside this module).

    Raises :class:`kg.errors.InputError` naming the file when it does not parse, a pattern is not a
    valid regular expression or a criterion has no known prefix.

    >>> m = load_reason_map()
    >>> m.key_criteria("PT_VISIT_CAP")
    ('https://w3id.org/imr-kg/mtus/CPMTG-PHYSMED-1', 'https://w3id.org/imr-kg/mtus/PSTG-PHYSMED-3')
    >>> "CHRONIC_GUIDELINE_NOT_FOR_ACUTE" in m.unencoded_keys()
    True
    """
    p = Path(path) if path is not None else REASON_MAP_FILE
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"cannot read the reason map: {exc}", source=str(p),
                         hint="fix the TOML (see the comments at the top of kg/jobs/reason_map.toml)") from None
    prefixes = raw.get("prefixes", {})
    keys = {k: tuple(_expand(c, prefixes, str(p)) for c in v.get("criteria", []))
            for k, v in sorted(raw.get("keys", {}).items())}
    rules = {k: str(v.get("rule", "")) for k, v in raw.get("keys", {}).items()}
    patterns = []
    for i, entry in enumerate(raw.get("patterns", [])):
        name = str(entry.get("name", f"pattern {i + 1}"))
        try:
            match = re.compile(entry["match"], re.IGNORECASE)
            unless = re.compile(entry["unless"], re.IGNORECASE) if entry.get("unless") else None
        except (KeyError, re.error) as exc:
            raise InputError(f"pattern {name!r} has no valid 'match' or 'unless': {exc}", source=str(p),
                             hint="give each [[patterns]] entry a Python regular expression in 'match'") from None
        scope = frozenset(entry["keys"]) if "keys" in entry else None
        patterns.append(ReasonPattern(name=name, match=match, unless=unless, keys=scope,
                                      criteria=tuple(_expand(c, prefixes, str(p)) for c in entry.get("criteria", []))))
    return ReasonMap(keys=keys, rules=rules, patterns=tuple(patterns), source=str(p))


# ---------------------------------------------------------------------------
# The engine's items
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Assessed:
    """One criterion as the engine assessed it for a request."""

    criterion: str
    number: int
    label: str
    role: str  # "required", "indication" or "exclusion"
    status: str  # met, not_met, not_documented, not_applicable


@dataclass(frozen=True)
class EngineItem:
    """What the engine concluded for one request, in the case's request order."""

    case: str
    request: str
    service: str
    conclusion: str  # medically_necessary, not_medically_necessary, not_covered
    reviewer: str | None  # the reviewer's decision as read from the letter (only compared)
    section: str | None
    section_label: str | None
    version_label: str | None
    assessments: tuple[Assessed, ...]


@dataclass(frozen=True)
class EngineRun:
    """The engine's items per case number, the letters that could not be read and those skipped."""

    items: Mapping[str, tuple[EngineItem, ...]]
    failed: tuple[tuple[str, str], ...]
    skipped: tuple[str, ...]
    letters: int


def deciding_criteria(item: EngineItem) -> tuple[str, ...]:
    """The criteria the engine's conclusion rests on, in criterion order.

    Not medically necessary: the failing (not met / not documented) required criteria and
    exclusions, plus every applicable indication when none is met (none at all when only met
    exclusions apply: the engine then decides on the missing indication, which no criterion
    states).  Medically necessary: every met criterion.  Not covered: none.

    >>> a = lambda n, role, status: Assessed(f"c{n}", n, "", role, status)
    >>> deciding_criteria(EngineItem("c", "r1", "MRI", "not_medically_necessary", None, "s", "S", "v",
    ...     (a(1, "indication", "not_documented"), a(2, "indication", "met"), a(3, "required", "not_met"))))
    ('c3',)
    >>> deciding_criteria(EngineItem("c", "r1", "MRI", "not_medically_necessary", None, "s", "S", "v",
    ...     (a(1, "indication", "not_documented"), a(2, "required", "met"))))
    ('c1',)
    """
    live = [a for a in item.assessments if a.status != "not_applicable"]
    if item.conclusion == "medically_necessary":
        return tuple(a.criterion for a in live if a.status == "met")
    if item.conclusion != "not_medically_necessary":
        return ()
    no_indication = not any(a.status == "met" for a in live if a.role == "indication")
    return tuple(a.criterion for a in live
                 if (a.role != "indication" and a.status in FAILING) or (a.role == "indication" and no_indication))


def _engine_items(lc: LetterCase, det: CaseDetermination) -> tuple[EngineItem, ...]:
    """The engine's items of one letter, in the order of the case's requests (the labels' order)."""
    by_id = {it.request_id: it for it in det.items}
    out = []
    for r in lc.case.requests:
        it = by_id.get(r.id)
        if it is None:
            continue
        g = it.guideline
        out.append(EngineItem(
            case=lc.case.case_id, request=it.request_id, service=it.service, conclusion=it.conclusion,
            reviewer=it.reviewer_decision, section=g.section if g else None,
            section_label=g.section_label if g else None, version_label=g.version_label if g else None,
            assessments=tuple(Assessed(a.criterion, a.number, a.label, a.role, a.status) for a in it.assessments)))
    return tuple(out)


def run_engine(letters_dir: str | Path, *, files: Sequence[str | Path] | None = None,
               cases: Iterable[str] | None = None, progress: Progress | None = None) -> EngineRun:
    """Read, extract and determine each letter of a folder (or the given ``files``), as ``imrkg eval`` does.

    ``cases`` keeps only the letters whose file name (without suffix) is one of those case numbers;
    the others are listed as skipped.  A letter that cannot be read is listed in ``failed`` with its
    error and the run goes on.  Raises :class:`kg.errors.InputError` when ``letters_dir`` is not a
    folder (and no ``files`` are given).
    """
    from kg.engine.determine import determine_case

    folder = Path(letters_dir)
    if files is None and not folder.is_dir():
        raise InputError("not a folder of letters", source=str(folder), hint="give the folder holding the .pdf letters")
    paths = input_files([folder], suffixes=LETTER_SUFFIXES) if files is None else [Path(f) for f in files]
    wanted = set(cases) if cases is not None else None
    skipped = tuple(p.name for p in paths if wanted is not None and p.stem not in wanted)
    paths = [p for p in paths if wanted is None or p.stem in wanted]
    items: dict[str, tuple[EngineItem, ...]] = {}
    failed: list[tuple[str, str]] = []

    def on_error(path: Path, exc: InputError) -> None:
        failed.append((path.name, str(exc)))

    def read(path: Path) -> LetterCase:
        return read_case_from_letter(str(path))

    for lc in read_each(paths, read, on_error=on_error, catch=LetterError, progress=progress):
        items[lc.case.case_id] = _engine_items(lc, determine_case(lc.case))
    return EngineRun(items=items, failed=tuple(failed), skipped=skipped, letters=len(paths))


# ---------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------
def read_reasons(path: str | Path) -> list[dict[str, Any]]:
    """The reviewer records of a ``reasons.json`` (a list, one per labelled item).

    Raises :class:`kg.errors.InputError` naming the file when it cannot be read or is not a list.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the reviewer reasons: {exc}", source=str(path),
                         hint="give the reasons.json that comes with the letters") from None
    if not isinstance(data, list):
        raise InputError("the reviewer reasons are not a list of items", source=str(path),
                         hint="give the reasons.json that comes with the letters")
    return data


@dataclass(frozen=True)
class ReasonReport:
    """The figures of one reason-fidelity run, as plain data (see :func:`reason_recall`)."""

    data: dict[str, Any]

    def to_json(self) -> str:
        """The report as JSON (stable key order, so two runs can be diffed)."""
        return json.dumps(self.data, indent=2, ensure_ascii=False) + "\n"


def _ratio(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def _agrees(reviewer: str, conclusion: str) -> bool:
    return (reviewer == "overturned") == (conclusion == "medically_necessary")


def _score_item(e: EngineItem, lab: Mapping[str, Any], rmap: ReasonMap) -> dict[str, Any]:
    """One item's record: decisions, deciding and added criteria, and each reason's outcome."""
    reviewer = str(lab.get("decision", "")).lower()
    keys = [str(k) for k in lab.get("criterion_keys", [])]
    decided = e.conclusion != "not_covered"
    agree = decided and _agrees(reviewer, e.conclusion)
    deciding = deciding_criteria(e)
    in_section = {a.criterion for a in e.assessments}
    given: dict[str, None] = dict.fromkeys(c for k in keys for c in rmap.key_criteria(k))
    reasons = []
    for r in lab.get("reasons", []):
        crit, pats = rmap.reason_criteria(str(r.get("text", "")), keys)
        given.update(dict.fromkeys(crit))
        stated: bool | None = bool(set(crit) & set(deciding)) if agree else None
        miss = None
        if stated is False:
            miss = "not_encoded" if not crit else "not_in_section" if not set(crit) & in_section else "not_deciding"
        reasons.append({"text": r.get("text", ""), "category": r.get("category", "other"), "criteria": list(crit),
                        "patterns": list(pats), "stated": stated, "miss": miss})
    by_iri = {a.criterion: a for a in e.assessments}
    added = [{"criterion": c, "number": by_iri[c].number, "label": by_iri[c].label}
             for c in deciding if c not in given] if agree else []
    return {"case": e.case, "half": split_half(e.case), "request": e.request, "service": str(lab.get("service", "")),
            "reviewer": reviewer, "reviewer_read": e.reviewer, "engine": e.conclusion, "decided": decided,
            "agree": agree, "section": e.section, "section_label": e.section_label, "version": e.version_label,
            "guideline_family": lab.get("guideline_family"), "keys": keys,
            "key_stated": {k: bool(set(rmap.key_criteria(k)) & set(deciding)) for k in keys} if agree else {},
            "deciding": list(deciding), "added": added, "reasons": reasons}


def _recall(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    reasons = [x for r in records for x in r["reasons"]]
    stated = sum(1 for x in reasons if x["stated"])
    return {"items": len(records), "reasons": len(reasons), "stated": stated, "recall": _ratio(stated, len(reasons)),
            "missed": {c: sum(1 for x in reasons if x["miss"] == c) for c in MISS_CAUSES}}


def _rows(groups: Mapping[str, list[tuple[str, bool]]]) -> list[dict[str, Any]]:
    """Rows ``{name, items, reasons, stated, recall}`` from ``{name: [(item id, stated), ...]}``."""
    rows = []
    for name, xs in groups.items():
        stated = sum(1 for _, s in xs if s)
        rows.append({"name": name, "items": len({i for i, _ in xs}), "reasons": len(xs), "stated": stated,
                     "recall": _ratio(stated, len(xs))})
    return sorted(rows, key=lambda r: (-r["reasons"], r["name"]))


def _decisions(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Decision figures by :func:`kg.jobs.evaluate.engine_figures` (decided items only)."""
    fig = engine_figures([{"case": r["case"], "request": r["request"], "service": r["service"],
                           "reviewer": r["reviewer"], "engine": r["engine"], "section": r["section_label"],
                           "version": r["version"], "cited": r["guideline_family"] or "none", "criteria": []}
                          for r in records])
    return {"letters": len({r["case"] for r in records}), "items": fig["items"], "decided": fig["covered"],
            "upheld": sum(1 for r in records if r["reviewer"] == "upheld"),
            "overturned": sum(1 for r in records if r["reviewer"] == "overturned"),
            "agreeing": sum(1 for r in records if r["agree"]),
            "balanced_accuracy": fig["balanced_accuracy"], "upheld_recall": fig["upheld_recall"],
            "overturn_recall": fig["overturn_recall"], "overturn_precision": fig["overturn_precision"],
            "confusion_matrix": fig["confusion_matrix"]}


def _summary(records: Sequence[Mapping[str, Any]], rmap: ReasonMap) -> dict[str, Any]:
    """Every figure of one half (or the total)."""
    agree = [r for r in records if r["agree"]]
    sections: dict[str, list[tuple[str, bool]]] = {}
    categories: dict[str, list[tuple[str, bool]]] = {}
    keys: dict[str, list[tuple[str, bool]]] = {}
    for r in agree:
        ident = f"{r['case']} {r['request']}"
        for x in r["reasons"]:
            sections.setdefault(r["section_label"] or "not covered", []).append((ident, x["stated"]))
            categories.setdefault(x["category"], []).append((ident, x["stated"]))
        for k, s in r["key_stated"].items():
            keys.setdefault(k, []).append((ident, s))
    added = Counter((a["criterion"], a["number"], a["label"], r["section_label"]) for r in agree for a in r["added"])
    added_rows = [{"criterion": c, "number": n, "label": lab, "section": sec, "count": k}
                  for (c, n, lab, sec), k in sorted(added.items(), key=lambda kv: (-kv[1], kv[0][0]))]
    deciding = sum(len(r["deciding"]) for r in agree)
    n_added = sum(added.values())
    return {
        "decisions": _decisions(records),
        "recall": {"all": _recall(agree), "upheld": _recall([r for r in agree if r["reviewer"] == "upheld"]),
                   "overturned": _recall([r for r in agree if r["reviewer"] == "overturned"])},
        "by_section": _rows(sections),
        "by_category": _rows(categories),
        "by_key": [{**row, "criteria": len(rmap.key_criteria(row["name"]))} for row in _rows(keys)],
        "added": {"items": len(agree), "deciding": deciding, "added": n_added, "share": _ratio(n_added, deciding),
                  "by_criterion": added_rows},
    }


def score_reasons(run: EngineRun, reasons: Sequence[Mapping[str, Any]], *,
                  reason_map: ReasonMap | None = None) -> ReasonReport:
    """Compare an engine run with the reviewer records (pure: no letter is read here).

    Items are matched by position within each case (see the module docstring); cases whose
    item count differs from the engine's are listed under ``cases_unmatched`` and not scored,
    cases without a letter in the run are only counted.
    """
    rmap = reason_map or load_reason_map()
    by_case: dict[str, list[Mapping[str, Any]]] = {}
    for r in reasons:
        by_case.setdefault(str(r.get("case")), []).append(r)
    records: list[dict[str, Any]] = []
    unmatched: list[dict[str, Any]] = []
    for case, labelled in by_case.items():
        eng = run.items.get(case)
        if eng is None:
            continue
        if len(eng) != len(labelled):
            unmatched.append({"case": case, "labelled": len(labelled), "engine": len(eng)})
            continue
        records.extend(_score_item(e, lab, rmap) for e, lab in zip(eng, labelled, strict=True))
    read = split_cases(run.items)
    data: dict[str, Any] = {
        "letters": run.letters, "letters_read": len(run.items),
        "letters_failed": [{"file": f, "error": err} for f, err in run.failed],
        "letters_skipped": list(run.skipped), "labelled_cases": len(by_case),
        "labels_without_letter": len(set(by_case) - set(run.items) - {Path(f).stem for f, _ in run.failed}),
        "cases_unmatched": unmatched,
        "reviewer_read_differs": sum(1 for r in records if r["reviewer_read"] not in (None, r["reviewer"])),
        "split": {"salt": SPLIT_SALT, "rule": f'write when sha256("{SPLIT_SALT}" + case)[0] is even, else check',
                  "letters_read": {h: len(v) for h, v in read.items()}},
        "reason_map": {"file": rmap.source, "keys": len(rmap.keys), "patterns": len(rmap.patterns),
                       "keys_without_criteria": rmap.unencoded_keys()},
        "halves": {h: _summary([r for r in records if r["half"] == h], rmap) for h in HALVES},
        "items": records,
    }
    data["halves"]["total"] = _summary(records, rmap)
    return ReasonReport(data=data)


def reason_recall(letters_dir: str | Path, reasons: str | Path | None = None, *,
                  files: Sequence[str | Path] | None = None, cases: Iterable[str] | None = None,
                  reason_map: ReasonMap | str | Path | None = None, progress: Progress | None = None) -> ReasonReport:
    """Run the engine on the letters of a folder and measure its reasons against the reviewers'.

    ``reasons`` defaults to ``reasons.json`` in ``letters_dir``.  Only letters of labelled cases
    are run (restricted further to ``cases`` or to the given ``files``).  ``reason_map`` is a
    loaded map or the path of one (default: ``reason_map.toml`` beside this module).  Raises
    :class:`kg.errors.InputError` when the folder, the reasons or the map cannot be read.
    Print the result with :func:`render_reasons`, or write ``report.to_json()``.
    """
    records = read_reasons(Path(reasons) if reasons is not None else Path(letters_dir) / "reasons.json")
    rmap = reason_map if isinstance(reason_map, ReasonMap) else load_reason_map(reason_map)
    labelled = {str(r.get("case")) for r in records}
    wanted = labelled & set(cases) if cases is not None else labelled
    run = run_engine(letters_dir, files=files, cases=wanted, progress=progress)
    report = score_reasons(run, records, reason_map=rmap)
    report.data["letters_dir"] = str(letters_dir)
    return report


# ---------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------
def _pct(x: float | None) -> str:
    return "   -  " if x is None else f"{100 * x:5.1f}%"


def _cell(stated: int, total: int) -> str:
    return f"{stated:>4}/{total:<4} {_pct(_ratio(stated, total))}"


def _local(iri: str) -> str:
    return iri.rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def _three(halves: Mapping[str, Any], table: str, name_width: int, out: list[str]) -> None:
    """Rows of one table (by section, category or key) with total, write and check side by side."""
    parts = ("total",) + HALVES
    index = {h: {row["name"]: row for row in halves[h][table]} for h in parts}
    head = "".join(f"{h:>18}" for h in parts)
    out.append(f"  {'':{name_width}} {head}")
    for row in halves["total"][table]:
        cells = []
        for h in parts:
            r = index[h].get(row["name"])
            cells.append(f"{_cell(r['stated'], r['reasons']) if r else '':>18}")
        name = row["name"] + (f" [{row['criteria']} criteria]" if "criteria" in row else "")
        out.append(f"  {name[:name_width]:{name_width}} {''.join(cells)}")


def _decision_lines(halves: Mapping[str, Any], out: list[str]) -> None:
    out += ["Decisions (balanced accuracy and recalls on decided items: engine says necessary or not necessary)",
            f"  {'half':6} {'letters':>7} {'items':>6} {'decided':>8} {'upheld':>7} {'overt.':>7} {'agree':>6}"
            f" {'bal.acc':>8} {'upheld rec':>11} {'overturn rec':>13}"]
    for h in ("write", "check", "total"):
        d = halves[h]["decisions"]
        out.append(f"  {h:6} {d['letters']:>7} {d['items']:>6} {d['decided']:>8} {d['upheld']:>7} {d['overturned']:>7}"
                   f" {d['agreeing']:>6} {_pct(d['balanced_accuracy']):>8} {_pct(d['upheld_recall']):>11}"
                   f" {_pct(d['overturn_recall']):>13}")


def _recall_lines(halves: Mapping[str, Any], out: list[str]) -> None:
    out += ["", "Reason recall (agreeing items: reviewer's reasons the engine states as deciding, stated/reasons)",
            f"  {'half':6} {'items':>6} {'all reasons':>18} {'upheld items':>18} {'overturned items':>18}"
            f"   missed: {'not encoded':>11} {'not in section':>14} {'not deciding':>12}"]
    for h in ("write", "check", "total"):
        rc = halves[h]["recall"]
        a, u, o = rc["all"], rc["upheld"], rc["overturned"]
        m = a["missed"]
        out.append(f"  {h:6} {a['items']:>6} {_cell(a['stated'], a['reasons']):>18}"
                   f" {_cell(u['stated'], u['reasons']):>18} {_cell(o['stated'], o['reasons']):>18}"
                   f"           {m['not_encoded']:>11} {m['not_in_section']:>14} {m['not_deciding']:>12}")


def _added_lines(halves: Mapping[str, Any], out: list[str], limit: int) -> None:
    out += ["", "Deciding criteria the engine adds (agreeing items; deciding, but not among the criteria of the"
                " reviewer's keys and reasons)",
            f"  {'half':6} {'items':>6} {'deciding':>9} {'added':>6} {'share':>7}"]
    for h in ("write", "check", "total"):
        a = halves[h]["added"]
        out.append(f"  {h:6} {a['items']:>6} {a['deciding']:>9} {a['added']:>6} {_pct(a['share']):>7}")
    counts = {h: {row["criterion"]: row["count"] for row in halves[h]["added"]["by_criterion"]} for h in HALVES}
    rows = halves["total"]["added"]["by_criterion"]
    out.append(f"  {'added criterion':70} {'total':>6} {'write':>6} {'check':>6}")
    for row in rows[:limit]:
        name = f"{_local(row['criterion'])} {row['label']}"
        out.append(f"  {name[:70]:70} {row['count']:>6} {counts['write'].get(row['criterion'], 0):>6}"
                   f" {counts['check'].get(row['criterion'], 0):>6}")
    if len(rows) > limit:
        out.append(f"  ... {len(rows) - limit} more criteria in the JSON report")


def render_reasons(report: ReasonReport, *, max_rows: int = 40) -> str:
    """The report as plain-text tables: decisions and reason recall by half, recall by engine
    section, by reason category and by criterion key (total, write, check), and the criteria the
    engine adds."""
    d = report.data
    halves = d["halves"]
    sp = d["split"]
    out = [f"Reason fidelity: {d['letters_read']} of {d['letters']} letters read from {d.get('letters_dir', '?')}"
           f" ({d['labelled_cases']} labelled cases, {d['labels_without_letter']} without a letter here)",
           f"Split: {sp['rule']}: write {sp['letters_read']['write']} letters, check {sp['letters_read']['check']}",
           f"Reason map: {d['reason_map']['keys']} keys, {d['reason_map']['patterns']} patterns"
           f" ({d['reason_map']['file']})"]
    for f in d["letters_failed"]:
        out.append(f"  failed: {f['error']}")
    for u in d["cases_unmatched"]:
        out.append(f"  not scored: {u['case']} has {u['labelled']} labelled items, the engine {u['engine']}")
    if d["reviewer_read_differs"]:
        out.append(f"  items whose decision read from the letter differs from the label: {d['reviewer_read_differs']}")
    out.append("")
    _decision_lines(halves, out)
    _recall_lines(halves, out)
    out += ["", "By engine section (agreeing items): stated/reasons"]
    _three(halves, "by_section", 58, out)
    out += ["", "By reason category (agreeing items): stated/reasons"]
    _three(halves, "by_category", 58, out)
    out += ["", "By criterion key (agreeing items with the key: a key is stated when one of its criteria is deciding)"]
    _three(halves, "by_key", 58, out)
    _added_lines(halves, out, max_rows)
    out += ["", "Keys no criterion encodes (reasons resting only on them count as missed, 'not encoded'):",
            "  " + (", ".join(d["reason_map"]["keys_without_criteria"]) or "none")]
    return "\n".join(out) + "\n"
