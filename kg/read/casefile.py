"""Case files: the documented YAML/JSON format for one case, read into frozen dataclasses.

This is the first stage of the pipeline.  A case file states the facts of a
case (worker, injury, diagnoses, findings with polarity, symptoms, prior
treatments and outcomes, studies, the requests with their UR decision, and,
kept apart, the reviewer's IMR decision).  Reading never writes anything: a
malformed or incomplete file raises :class:`kg.errors.CaseFileError` naming
the file, the line and the field, and what to change.

The format is described field by field in ``docs/case-format.md``.

A case file is not trusted (``docs/threat-model.md``): it is read only if it is
a regular file of at most :data:`MAX_CASE_FILE_BYTES`, and a document it names
by ``path`` only as :class:`kg.read.documents.Documents` allows (a regular file
of at most :data:`kg.read.documents.MAX_DOCUMENT_BYTES` inside a *document
root*: the case file's own folder or below it, or a folder the caller allows).  A
document found in no root is *absent*: the case is still read, on the quotes it
carries, and its :class:`kg.model.Document` says so (``file_absent``).
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from kg.errors import CaseFileError, reason
from kg.model import (
    DOSAGE_FORMS,
    IMR_DECISIONS,
    UR_DECISIONS,
    CaseData,
    Diagnosis,
    Document,
    Evidence,
    Finding,
    IMRDecision,
    Injury,
    Request,
    Study,
    Symptom,
    Treatment,
    URDecision,
    Worker,
    vocabulary,
)
from kg.read.documents import DocumentRefused, Documents, Refused, read_regular_file

if TYPE_CHECKING:
    import yaml

__all__ = ["load_case_file", "parse_case", "MAX_CASE_FILE_BYTES"]

#: The largest case file read, in bytes (checked before parsing).  Real case files are a few
#: KB; PyYAML (pure Python) needs about 2.4 s per 150 KB of flow sequence, so this bounds one file.
MAX_CASE_FILE_BYTES = 2 * 1024 * 1024

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


# ---------------------------------------------------------------------------
# YAML with line numbers
# ---------------------------------------------------------------------------
class _LineDict(dict[str, Any]):
    """A mapping that remembers the line of itself and of each value."""

    line: int = 0
    lines: dict[str, int]


class _LineList(list[Any]):
    """A list that remembers the line of itself and of each item."""

    line: int = 0
    lines: list[int]


def _loader_class() -> type[yaml.SafeLoader]:
    """A YAML SafeLoader whose mappings and lists remember their lines and that refuses keys
    that are not words and keys given twice (raising :class:`CaseFileError` with the line)."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _LineDict:
        result = _LineDict()
        result.line = node.start_mark.line + 1
        result.lines = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise CaseFileError(
                    f"keys must be words, found {key!r}", line=key_node.start_mark.line + 1
                )
            if key in result:
                raise CaseFileError(
                    f"'{key}' is given twice", line=key_node.start_mark.line + 1,
                    hint="keep one of them",
                )
            result[key] = loader.construct_object(value_node, deep=True)
            result.lines[key] = value_node.start_mark.line + 1
        return result

    def construct_sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> _LineList:
        result = _LineList(loader.construct_object(child, deep=True) for child in node.value)
        result.line = node.start_mark.line + 1
        result.lines = [child.start_mark.line + 1 for child in node.value]
        return result

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)
    return Loader


def load_case_file(path: str | Path, *, document_roots: Iterable[str | Path] = ()) -> CaseData:
    """Read and check one case file (``.yaml``, ``.yml`` or ``.json``).

    The file must be a regular file of at most :data:`MAX_CASE_FILE_BYTES` (checked before it
    is parsed).  Documents named by ``documents[].path`` are resolved (symlinks and ``..``
    included) and read only when they are regular files of at most :data:`MAX_DOCUMENT_BYTES`
    inside a document root: the case file's folder or below it, a folder in
    ``document_roots`` or a folder in ``$IMRKG_DOCUMENT_ROOTS`` (:mod:`kg.read.documents`).
    A document found in none of them is absent: its quotes are kept without offsets and
    its :class:`kg.model.Document` has ``file_absent`` set, for the caller to warn once.

    Raises :class:`CaseFileError` (with file, line and field) for a missing, unreadable,
    oversized, malformed or incomplete file, and for a document outside the roots, not a
    regular file, too large or not UTF-8.  Evidence quotes are checked against the documents
    they cite when those documents' files are given.  Nothing is written anywhere.

    >>> load_case_file("no-such-case.yaml")
    Traceback (most recent call last):
    ...
    kg.errors.CaseFileError: no-such-case.yaml: cannot read the file: No such file or directory
    """
    import yaml

    path = Path(path)
    name = str(path)
    try:
        raw = read_regular_file(path, MAX_CASE_FILE_BYTES)
    except Refused as exc:
        hint = ("a case file holds the facts of one case: quote less text, or split it" if exc.kind == "too large"
                else "give a YAML or JSON case file")
        raise CaseFileError(exc.problem, source=name, hint=hint) from None
    except OSError as exc:
        raise CaseFileError(f"cannot read the file: {exc.strerror or exc}", source=name) from None
    except ValueError as exc:  # a NUL in the file name
        raise CaseFileError(f"cannot read the file: {reason(exc)}", source=name) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CaseFileError("the file is not UTF-8 text", source=name, line=line,
                            hint="save it as UTF-8") from None
    if not text.strip():
        raise CaseFileError("the file is empty", source=name,
                            hint="see docs/case-format.md for the fields a case needs")
    try:
        data = yaml.load(text, Loader=_loader_class())  # noqa: S506 - SafeLoader subclass
    except CaseFileError as exc:
        raise CaseFileError(exc.problem, source=name, line=exc.line, hint=exc.hint) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "malformed YAML"
        raise CaseFileError(f"not valid YAML/JSON: {problem}", source=name,
                            line=mark.line + 1 if mark is not None else None,
                            hint="check indentation, colons and quotes on that line") from None
    except yaml.YAMLError as exc:
        raise CaseFileError(f"not valid YAML/JSON: {reason(exc)}", source=name) from None
    except RecursionError:
        raise CaseFileError("the file is nested too deeply", source=name) from None
    except ValueError as exc:  # impossible dates, integers too long to convert
        raise CaseFileError(f"a value cannot be read: {reason(exc)}", source=name) from None
    try:
        return parse_case(data, source=name, base_dir=path.parent, document_roots=document_roots)
    except RecursionError:
        raise CaseFileError("the file is nested too deeply", source=name) from None


def parse_case(data: Any, *, source: str = "<case>", base_dir: Path | None = None,
               document_roots: Iterable[str | Path] = ()) -> CaseData:
    """Check a case already loaded from YAML/JSON (a mapping) and build :class:`CaseData`.

    ``base_dir`` (default: the current folder) resolves relative document paths and is the
    first document root; ``document_roots`` and ``$IMRKG_DOCUMENT_ROOTS`` add more (see
    :func:`load_case_file`).  Raises :class:`CaseFileError`.  Does not change ``data``.
    """
    return _CaseReader(source, None if base_dir is None else Path(base_dir), tuple(document_roots)).read(data)


# ---------------------------------------------------------------------------
# The checker
# ---------------------------------------------------------------------------
def _fold(text: str) -> str:
    return " ".join(text.split())


class _CaseReader:
    """Checks one loaded case and builds its :class:`CaseData`: every error names the source, the
    line and the dotted field.  ``texts`` holds each document's text (None without a ``path``)
    for the evidence quotes to be found in; ``ids`` the ids used so far."""

    def __init__(self, source: str, base_dir: Path | None, extra_roots: tuple[str | Path, ...]) -> None:
        self.source = source
        self.documents = Documents(base_dir, extra_roots)
        self.texts: dict[str, str | None] = {}
        self.ids: set[str] = set()
        self.vocab = vocabulary()

    # -- errors and primitive readers -------------------------------------
    def fail(self, problem: str, where: str, line: int | None, hint: str | None = None) -> CaseFileError:
        return CaseFileError(problem, source=self.source, line=line, field=where or None, hint=hint)

    def mapping(self, value: Any, where: str, line: int | None, allowed: Iterable[str],
                required: Iterable[str] = ()) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(f"expected a mapping of fields, found {type(value).__name__}", where, line)
        allowed = tuple(allowed)
        for key in value:
            if key not in allowed:
                raise self.fail(
                    f"unknown field '{key}'", f"{where}.{key}" if where else key,
                    _line_of(value, key), hint="expected one of: " + ", ".join(allowed))
        for key in required:
            if value.get(key) in (None, ""):
                raise self.fail(f"required field '{key}' is missing", f"{where}.{key}" if where else key,
                                getattr(value, "line", line), hint=f"add '{key}:'")
        return value

    def text(self, m: dict[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
        value = m.get(key)
        if value is None:
            if required:
                raise self.fail(f"required field '{key}' is missing", f"{where}.{key}", _line_of(m, key))
            return None
        if isinstance(value, (dict, list)):
            raise self.fail("expected text", f"{where}.{key}", _line_of(m, key))
        value = str(value).strip()
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise self.fail("holds an escape that is not a character (such as \\uD800)", f"{where}.{key}",
                            _line_of(m, key)) from None
        if required and not value:
            raise self.fail(f"'{key}' is empty", f"{where}.{key}", _line_of(m, key))
        return value or None

    def integer(self, m: dict[str, Any], key: str, where: str, *, minimum: int = 0,
                maximum: int = 10_000) -> int | None:
        value = m.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"expected a whole number, found {_brief(value)}", f"{where}.{key}", _line_of(m, key))
        if not minimum <= value <= maximum:
            raise self.fail(f"{value} is out of range ({minimum} to {maximum})", f"{where}.{key}", _line_of(m, key))
        return value

    def number(self, m: dict[str, Any], key: str, where: str, *, minimum: float, maximum: float) -> float | None:
        value = m.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"expected a number, found {_brief(value)}", f"{where}.{key}", _line_of(m, key))
        if not minimum <= value <= maximum:
            raise self.fail(f"{value} is out of range ({minimum:g} to {maximum:g})", f"{where}.{key}", _line_of(m, key))
        return float(value)

    def date(self, m: dict[str, Any], key: str, where: str) -> _dt.date | None:
        value = m.get(key)
        if value is None:
            return None
        if isinstance(value, _dt.datetime):
            return value.date()
        if isinstance(value, _dt.date):
            return value
        if isinstance(value, (dict, list)):
            raise self.fail("expected a date", f"{where}.{key}", _line_of(m, key), hint="write dates as YYYY-MM-DD")
        text = str(value).strip()
        for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y"):
            try:
                return _dt.datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        raise self.fail(f"'{text}' is not a date", f"{where}.{key}", _line_of(m, key),
                        hint="write dates as YYYY-MM-DD")

    def choice(self, m: dict[str, Any], key: str, where: str, options: Iterable[str], *,
               required: bool = False) -> str | None:
        value = self.text(m, key, where, required=required)
        if value is None:
            return None
        options = tuple(options)
        if value not in options:
            raise self.fail(f"'{value}' is not a known {key}", f"{where}.{key}", _line_of(m, key),
                            hint="use one of: " + ", ".join(options))
        return value

    def choices(self, m: dict[str, Any], key: str, where: str, options: Iterable[str]) -> tuple[str, ...]:
        value = m.get(key)
        if value is None:
            return ()
        items = value if isinstance(value, list) else [value]
        options = tuple(options)
        out = []
        for i, item in enumerate(items):
            if not isinstance(item, str) or item not in options:
                raise self.fail(f"{_brief(item)} is not a known {key}", f"{where}.{key}[{i}]", _line_of(m, key),
                                hint="use one of: " + ", ".join(options))
            out.append(item)
        return tuple(out)

    def ident(self, m: dict[str, Any], where: str) -> str:
        value = self.text(m, "id", where, required=True)
        assert value is not None
        if not _ID.match(value):
            raise self.fail(f"'{value}' is not a usable id", f"{where}.id", _line_of(m, "id"),
                            hint="use letters, digits, '.', '_' or '-', starting with a letter or digit")
        if value in self.ids:
            raise self.fail(f"id '{value}' is used twice", f"{where}.id", _line_of(m, "id"),
                            hint="every id in a case must be unique")
        self.ids.add(value)
        return value

    def items(self, data: dict[str, Any], key: str) -> list[tuple[str, int | None, Any]]:
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail("expected a list", key, _line_of(data, key), hint=f"start each entry of '{key}' with '- '")
        lines = getattr(value, "lines", [None] * len(value))
        return [(f"{key}[{i}]", lines[i], item) for i, item in enumerate(value)]

    # -- evidence -------------------------------------------------------------
    def evidence(self, m: dict[str, Any], where: str) -> tuple[Evidence, ...]:
        value = m.get("evidence")
        if value is None:
            return ()
        entries = value if isinstance(value, list) else [value]
        lines = getattr(value, "lines", None) if isinstance(value, list) else None
        out = []
        for i, entry in enumerate(entries):
            w = f"{where}.evidence" + (f"[{i}]" if isinstance(value, list) else "")
            line = lines[i] if lines else _line_of(m, "evidence")
            e = self.mapping(entry, w, line, ("document", "quote"), ("document", "quote"))
            doc = self.text(e, "document", w, required=True)
            quote = self.text(e, "quote", w, required=True)
            assert doc is not None and quote is not None
            if doc not in self.texts:
                raise self.fail(f"evidence cites unknown document '{doc}'", f"{w}.document", _line_of(e, "document"),
                                hint="list it under 'documents:' first")
            start = end = None
            text = self.texts[doc]
            if text is not None:
                found = _find_quote(text, quote)
                if found is None:
                    raise self.fail(f"the quote is not in document '{doc}': {quote[:60]!r}", f"{w}.quote",
                                    _line_of(e, "quote"), hint="copy the words exactly as the document has them")
                start, end = found
            out.append(Evidence(document=doc, quote=quote, start=start, end=end))
        return tuple(out)

    # -- sections -------------------------------------------------------------
    def read(self, data: Any) -> CaseData:
        top = ("case", "title", "documents", "worker", "injury", "diagnoses", "findings",
               "symptoms", "treatments", "studies", "requests")
        data = self.mapping(data, "", 1, top, ("case", "requests"))
        case_id = self.text(data, "case", "case", required=True)
        assert case_id is not None
        if not _ID.match(case_id):
            raise self.fail(f"'{case_id}' is not a usable case id", "case", _line_of(data, "case"),
                            hint="use letters, digits, '.', '_' or '-'")
        documents = tuple(self.document(w, line, item) for w, line, item in self.items(data, "documents"))
        worker = injury = None
        if data.get("worker") is not None:
            w = self.mapping(data["worker"], "worker", _line_of(data, "worker"), ("age", "sex", "evidence"))
            sex = self.choice(w, "sex", "worker", ("male", "female"))
            worker = Worker(age=self.integer(w, "age", "worker", minimum=14, maximum=110), sex=sex,
                            evidence=self.evidence(w, "worker"))
        if data.get("injury") is not None:
            m = self.mapping(data["injury"], "injury", _line_of(data, "injury"),
                             ("date", "mechanism", "regions", "evidence"))
            injury = Injury(date=self.date(m, "date", "injury"), mechanism=self.text(m, "mechanism", "injury"),
                            regions=self.choices(m, "regions", "injury", self.vocab.regions),
                            evidence=self.evidence(m, "injury"))
        diagnoses = tuple(self.diagnosis(w, line, item) for w, line, item in self.items(data, "diagnoses"))
        studies = tuple(self.study(w, line, item) for w, line, item in self.items(data, "studies"))
        study_ids = {s.id for s in studies}
        findings = tuple(self.finding(w, line, item, study_ids) for w, line, item in self.items(data, "findings"))
        symptoms = tuple(self.symptom(w, line, item) for w, line, item in self.items(data, "symptoms"))
        treatments = tuple(self.treatment(w, line, item) for w, line, item in self.items(data, "treatments"))
        requests = tuple(self.request(w, line, item) for w, line, item in self.items(data, "requests"))
        if not requests:
            raise self.fail("a case needs at least one request", "requests", _line_of(data, "requests"),
                            hint="add the requested service under 'requests:'")
        return CaseData(case_id=case_id, source=self.source, title=self.text(data, "title", "title"),
                        documents=documents, worker=worker, injury=injury, diagnoses=diagnoses,
                        findings=findings, symptoms=symptoms, treatments=treatments, studies=studies,
                        requests=requests)

    def document(self, where: str, line: int | None, item: Any) -> Document:
        m = self.mapping(item, where, line, ("id", "title", "date", "path"), ("id",))
        doc_id = self.ident(m, where)
        rel = self.text(m, "path", where)
        text = None
        file_name = None
        if rel is not None:
            text = self.document_text(rel, f"{where}.path", _line_of(m, "path"))
            file_name = Path(rel).name
        self.texts[doc_id] = text
        return Document(id=doc_id, title=self.text(m, "title", where), date=self.date(m, "date", where),
                        file_name=file_name, file_absent=rel is not None and text is None)

    def document_text(self, rel: str, where: str, line: int | None) -> str | None:
        """The text of a document file named in the case file, read only from inside the roots
        (None when it is in none of them)."""
        try:
            return self.documents.read(rel)
        except DocumentRefused as exc:
            raise self.fail(exc.problem, where, line, hint=exc.hint) from None

    def diagnosis(self, where: str, line: int | None, item: Any) -> Diagnosis:
        m = self.mapping(item, where, line, ("id", "label", "kind", "icd10", "evidence"), ("id", "label", "kind"))
        return Diagnosis(id=self.ident(m, where), label=self.text(m, "label", where, required=True) or "",
                         kind=self.choice(m, "kind", where, self.vocab.diagnoses, required=True) or "",
                         icd10=self.text(m, "icd10", where), evidence=self.evidence(m, where))

    def finding(self, where: str, line: int | None, item: Any, study_ids: set[str]) -> Finding:
        m = self.mapping(item, where, line,
                         ("id", "kind", "status", "label", "site", "region", "date", "study", "evidence"),
                         ("id", "kind", "status"))
        study = self.text(m, "study", where)
        if study is not None and study not in study_ids:
            raise self.fail(f"finding cites unknown study '{study}'", f"{where}.study", _line_of(m, "study"),
                            hint="list the study under 'studies:'")
        return Finding(id=self.ident(m, where),
                       kind=self.choice(m, "kind", where, self.vocab.findings, required=True) or "",
                       status=self.choice(m, "status", where, ("present", "absent"), required=True) or "",
                       label=self.text(m, "label", where), site=self.text(m, "site", where),
                       region=self.choice(m, "region", where, self.vocab.regions), date=self.date(m, "date", where),
                       study=study, evidence=self.evidence(m, where))

    def symptom(self, where: str, line: int | None, item: Any) -> Symptom:
        m = self.mapping(item, where, line, ("id", "label", "region", "onset", "documented_since", "evidence"),
                         ("id", "label"))
        return Symptom(id=self.ident(m, where), label=self.text(m, "label", where, required=True) or "",
                       region=self.choice(m, "region", where, self.vocab.regions), onset=self.date(m, "onset", where),
                       documented_since=self.date(m, "documented_since", where), evidence=self.evidence(m, where))

    def treatment(self, where: str, line: int | None, item: Any) -> Treatment:
        m = self.mapping(item, where, line,
                         ("id", "kind", "label", "outcome", "sessions", "relief_percent", "relief_weeks",
                          "relief_days", "date", "region", "injections", "substance", "weeks", "days", "levels",
                          "evidence"),
                         ("id", "kind"))
        relief_days = self.days(m, where, "relief_days", "relief_weeks", max_days=3650, max_weeks=520)
        return Treatment(id=self.ident(m, where),
                         kind=self.choice(m, "kind", where, self.vocab.treatments, required=True) or "",
                         label=self.text(m, "label", where),
                         outcomes=self.choices(m, "outcome", where, self.vocab.outcomes),
                         sessions=self.integer(m, "sessions", where),
                         relief_percent=self.number(m, "relief_percent", where, minimum=0, maximum=100),
                         relief_days=relief_days, date=self.date(m, "date", where),
                         region=self.choice(m, "region", where, self.vocab.regions),
                         injections=self.integer(m, "injections", where, maximum=100),
                         substances=self.choices(m, "substance", where, self.vocab.substances),
                         days=self.days(m, where), levels=self.integer(m, "levels", where, maximum=10),
                         evidence=self.evidence(m, where))

    def days(self, m: dict[str, Any], where: str, days_key: str = "days", weeks_key: str = "weeks", *,
             max_days: int = 36500, max_weeks: int = 5200) -> int | None:
        """A duration given in ``days_key`` or ``weeks_key`` (not both), in days."""
        days = self.integer(m, days_key, where, maximum=max_days)
        weeks = self.number(m, weeks_key, where, minimum=0, maximum=max_weeks)
        if weeks is not None:
            if days is not None:
                raise self.fail(f"give {weeks_key} or {days_key}, not both", f"{where}.{weeks_key}",
                                _line_of(m, weeks_key))
            days = round(weeks * 7)
        return days

    def study(self, where: str, line: int | None, item: Any) -> Study:
        m = self.mapping(item, where, line, ("id", "kind", "region", "date", "result", "evidence"), ("id", "kind"))
        return Study(id=self.ident(m, where),
                     kind=self.choice(m, "kind", where, self.vocab.studies, required=True) or "",
                     region=self.choice(m, "region", where, self.vocab.regions), date=self.date(m, "date", where),
                     result=self.text(m, "result", where), evidence=self.evidence(m, where))

    def request(self, where: str, line: int | None, item: Any) -> Request:
        m = self.mapping(item, where, line,
                         ("id", "service", "text", "region", "date", "injections", "sessions", "frequency",
                          "substance", "count", "drug", "strength", "amount", "levels", "weeks", "days", "form", "ur",
                          "imr", "evidence"), ("id", "service", "text"))
        ur = imr = None
        if m.get("ur") is not None:
            w = f"{where}.ur"
            u = self.mapping(m["ur"], w, _line_of(m, "ur"), ("decision", "date", "reason", "evidence"), ("decision",))
            ur = URDecision(decision=self.choice(u, "decision", w, UR_DECISIONS, required=True) or "",
                            date=self.date(u, "date", w), reason=self.text(u, "reason", w),
                            evidence=self.evidence(u, w))
        if m.get("imr") is not None:
            w = f"{where}.imr"
            i = self.mapping(m["imr"], w, _line_of(m, "imr"),
                             ("decision", "date", "specialty", "citation", "evidence"), ("decision",))
            imr = IMRDecision(decision=self.choice(i, "decision", w, IMR_DECISIONS, required=True) or "",
                              date=self.date(i, "date", w), specialty=self.text(i, "specialty", w),
                              citation=self.text(i, "citation", w), evidence=self.evidence(i, w))
        return Request(id=self.ident(m, where),
                       service=self.choice(m, "service", where, self.vocab.treatments, required=True) or "",
                       text=self.text(m, "text", where, required=True) or "",
                       region=self.choice(m, "region", where, self.vocab.regions), date=self.date(m, "date", where),
                       injections=self.integer(m, "injections", where, maximum=100),
                       sessions=self.integer(m, "sessions", where), frequency=self.text(m, "frequency", where),
                       substances=self.choices(m, "substance", where, self.vocab.substances),
                       count=self.integer(m, "count", where, maximum=100000), drug=self.text(m, "drug", where),
                       strength=self.text(m, "strength", where), amount=self.text(m, "amount", where),
                       levels=self.integer(m, "levels", where, maximum=10),
                       days=self.days(m, where), form=self.choice(m, "form", where, DOSAGE_FORMS), ur=ur, imr=imr,
                       evidence=self.evidence(m, where))


def _brief(value: Any) -> str:
    """A short, safe rendering of a bad value for an error message."""
    import reprlib

    r = reprlib.Repr()
    r.maxstring, r.maxlist, r.maxlevel, r.maxother, r.maxlong = 60, 4, 2, 60, 40
    return r.repr(value)


def _line_of(m: Any, key: str) -> int | None:
    lines = getattr(m, "lines", None)
    if isinstance(lines, dict) and key in lines:
        return lines[key]
    return getattr(m, "line", None)


def _find_quote(text: str, quote: str) -> tuple[int, int] | None:
    """Offsets of ``quote`` in ``text``, matching across any run of white space.

    >>> _find_quote("a  trigger\\n point here", "trigger point")
    (3, 17)
    """
    words = _fold(quote).split(" ")
    pattern = r"\s+".join(re.escape(w) for w in words)
    match = re.search(pattern, text)
    if match is None:
        return None
    return match.start(), match.end()
