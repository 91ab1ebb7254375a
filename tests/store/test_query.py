"""The query library: every query runs on a fixture store and gives exactly the rows expected."""

from __future__ import annotations

import pytest
from casepaths import MET_CASE, corpus

from kg.engine.determine import determine_case
from kg.engine.graph import build_case_graph
from kg.errors import InputError
from kg.store.query import bind_parameters, format_result, library, load_query, run_query
from kg.store.store import case_graphs, open_store

CASE = "https://w3id.org/imr-kg/case/"


@pytest.fixture(scope="module")
def store():
    import yaml

    met = yaml.safe_load(MET_CASE.read_text())
    s = open_store("memory")
    s.ensure_guidelines()
    for case in corpus(met):
        cg = build_case_graph(case)
        s.put_case(cg.case_id, case_graphs(cg, determine_case(cg)))
    return s


def rows(store, name, **params):
    res = run_query(store, name, params)
    return [tuple(None if v is None else str(v).removeprefix(CASE) for v in r) for r in res.rows]


def test_library_has_headers_and_at_least_twelve_queries():
    qs = library()
    assert len(qs) >= 12
    for q in qs:
        assert q.title and q.question and q.columns, q.name
    trace = next(q for q in qs if q.name == "criterion-trace")
    assert [(p.name, p.type) for p in trace.parameters] == [("case", "iri")]


def test_store_holds_the_five_cases(store):
    assert store.case_ids() == ["acu", "seed-tpi-2015", "tpi-radic", "tpi-repeat-met", "tpi-six"]


def test_criterion_trace(store):
    got = [(int(n), s, f and f.rsplit("/", 1)[-1]) for _, n, _, s, f in
           rows(store, "criterion-trace", case=CASE + "seed-tpi-2015/")]
    assert got == [
        (1, "not documented", "f-trigger-points"),
        (2, "met", "req-tpi"), (2, "met", "sx-neck-pain"),
        (3, "not documented", "tx-hep"), (3, "not documented", "tx-pt"),
        (4, "not met", "dx-radiculitis"), (4, "not met", "f-sensation-c3-c4"),
        (5, "not documented", "service"),
        (6, "not applicable", None), (7, "not applicable", None),
        (8, "not documented", "service"),
    ]


def test_decisions_by_service_kind(store):
    assert rows(store, "decisions-by-service-kind") == [
        ("trigger point injection", "4", "2", "2", "0.5"),
        ("medical transportation", "1", "1", "0", "0"),
    ]


def test_decisions_by_section(store):
    assert rows(store, "decisions-by-section") == [
        ("Trigger point injections", "MTUS Chronic Pain Medical Treatment Guidelines (2009)", "4", "1", "3", "2", "2"),
    ]


def test_decisions_by_reviewer_specialty(store):
    assert rows(store, "decisions-by-reviewer-specialty") == [
        ("Anesthesiology", "2", "1", "1"),
        ("Physical Medicine & Rehabilitation", "2", "1", "1"),
        ("Emergency Medicine", "1", "1", "0"),
    ]


def test_decisions_by_month(store):
    assert rows(store, "decisions-by-month") == [("2016-02", "3", "2", "1"), ("2016-03", "1", "0", "1")]


def test_criteria_most_often_failing(store):
    got = [(int(n), nm, nd) for _, n, _, nm, nd, _ in rows(store, "criteria-most-often-failing")]
    assert got == [(4, "2", "0"), (5, "1", "1"), (1, "0", "1"), (3, "0", "1"), (8, "0", "1")]


def test_engine_reviewer_disagreements(store):
    assert rows(store, "engine-reviewer-disagreements") == [
        ("tpi-six/", "tpi-six/req-tpi", "Repeat trigger point injections x3, bilateral upper trapezius, 1% lidocaine",
         "not medically necessary", "overturned (medically necessary)", "5 not met"),
    ]


def test_engine_reviewer_confusion(store):
    assert rows(store, "engine-reviewer-confusion") == [
        ("medically necessary", "overturned (medically necessary)", "1"),
        ("not covered by an encoded guideline section", "upheld (not medically necessary)", "1"),
        ("not medically necessary", "overturned (medically necessary)", "1"),
        ("not medically necessary", "upheld (not medically necessary)", "2"),
    ]


def test_case_decisions(store):
    ont = "https://w3id.org/imr-kg/ont#"
    got = [tuple(v.removeprefix(ont) if v else v for v in r) for r in rows(store, "case-decisions")]
    text = "Repeat trigger point injections x3, bilateral upper trapezius, 1% lidocaine"
    assert got == [
        ("acu/", "acu/req-tpi", "Transportation to appointments", "NotCovered", "Upheld", None, None),
        ("seed-tpi-2015/", "seed-tpi-2015/req-tpi",
         "Trigger Point Injection cervical paravertebral muscles ultrasound guided", "NotMedicallyNecessary",
         "Upheld", "Trigger point injections", "MTUSGuideline"),
        ("tpi-radic/", "tpi-radic/req-tpi", text, "NotMedicallyNecessary", "Upheld", "Trigger point injections",
         "MTUSGuideline"),
        ("tpi-repeat-met/", "tpi-repeat-met/req-tpi", text, "MedicallyNecessary", "Overturned",
         "Trigger point injections", "MTUSGuideline"),
        ("tpi-six/", "tpi-six/req-tpi", text, "NotMedicallyNecessary", "Overturned", "Trigger point injections",
         "MTUSGuideline"),
    ]


def test_requests_above_cap(store):
    assert rows(store, "requests-above-cap") == [
        ("tpi-six/", "tpi-six/req-tpi", "Repeat trigger point injections x3, bilateral upper trapezius, 1% lidocaine",
         "5", "No more than 3-4 injections per session", "4"),
    ]


def test_injections_with_radiculopathy(store):
    assert rows(store, "injections-with-radiculopathy") == [
        ("seed-tpi-2015/", "seed-tpi-2015/req-tpi",
         "Trigger Point Injection cervical paravertebral muscles ultrasound guided",
         "cervical radiculitis", "radiculitis diagnosis"),
        ("seed-tpi-2015/", "seed-tpi-2015/req-tpi",
         "Trigger Point Injection cervical paravertebral muscles ultrasound guided",
         "dermatomal sensory deficit (present), C3 and C4 dermatomes, bilateral", "dermatomal sensory deficit"),
        ("tpi-radic/", "tpi-radic/req-tpi", "Repeat trigger point injections x3, bilateral upper trapezius, 1% "
                                            "lidocaine",
         "cervical radiculopathy", "radiculopathy diagnosis"),
    ]


def test_days_ur_to_imr(store):
    assert [(c, r, d) for c, r, _, _, d in rows(store, "days-ur-to-imr")] == [
        ("tpi-repeat-met/", "tpi-repeat-met/req-tpi", "39"),
        ("acu/", "acu/req-tpi", "29"),
        ("tpi-radic/", "tpi-radic/req-tpi", "29"),
        ("tpi-six/", "tpi-six/req-tpi", "19"),
    ]


def test_partial_authorisations(store):
    assert rows(store, "partial-authorisations") == [
        ("tpi-six/", "tpi-six/req-tpi", "Repeat trigger point injections x3, bilateral upper trapezius, 1% lidocaine",
         "not medically necessary", "overturned (medically necessary)"),
    ]


def test_outside_mtus_or_no_citation(store):
    got = [(c, b) for c, _, _, b, _ in rows(store, "outside-mtus-or-no-citation")]
    assert got == [("tpi-radic/", "no citation"), ("tpi-six/", "outside MTUS")]


def test_missing_documentation_for_one_criterion(store):
    got = rows(store, "missing-documentation", criterion="https://w3id.org/imr-kg/mtus/CPMTG-TPI-1")
    assert got == [("seed-tpi-2015/", "seed-tpi-2015/req-tpi",
                    "Trigger Point Injection cervical paravertebral muscles ultrasound guided",
                    "No local twitch response on palpation is documented. No referred pain on palpation is "
                    "documented.")]


def test_parameters_are_typed_and_never_pasted(store):
    q = load_query(next(p.path for p in library() if p.name == "criterion-trace"))
    with pytest.raises(InputError, match="is not an IRI"):
        bind_parameters(q, {"case": "x> } ; DROP ALL ; SELECT * { <y"})
    with pytest.raises(InputError, match="unknown parameter 'who'"):
        bind_parameters(q, {"who": "x"})
    hostile = run_query(store, "missing-documentation",
                        {"criterion": "https://w3id.org/imr-kg/mtus/x%3E%20%7D"})
    assert hostile.rows == ()
    assert store.case_ids()  # nothing was dropped


def test_formats(store):
    res = run_query(store, "decisions-by-month")
    assert format_result(res, "csv") == "month,items,upheld,overturned\n2016-02,3,2,1\n2016-03,1,0,1\n"
    table = format_result(res, "table")
    assert table.splitlines()[0].split() == ["month", "items", "upheld", "overturned"]
    assert table.endswith("(2 rows)\n")
    import json

    doc = json.loads(format_result(res, "json"))
    assert doc["head"]["vars"] == ["month", "items", "upheld", "overturned"]
    assert doc["results"]["bindings"][0]["items"] == {
        "type": "literal", "value": "3", "datatype": "http://www.w3.org/2001/XMLSchema#integer"}


def test_an_ad_hoc_query_text_uses_the_project_prefixes_undeclared(store):
    res = run_query(store, "SELECT ?case WHERE { ?case a kg:Case } ORDER BY ?case")
    assert [str(r[0]) for r in res.rows] == [CASE + c + "/" for c in store.case_ids()]
    # a prefix the text declares itself is left to it; a prefix inside a string or an IRI is not one
    text = ("PREFIX kg: <https://w3id.org/imr-kg/ont#>\n"
            "SELECT ?n WHERE { ?c kg:criterionNumber ?n FILTER(?n = 1) FILTER(STR(?c) != 'mtus:x') } LIMIT 1")
    from kg.store.query import ad_hoc_query

    assert ad_hoc_query(text).text == text
    assert [int(r[0]) for r in run_query(store, text).rows] == [1]


def test_an_rq_file_without_a_header_is_ad_hoc_and_a_partial_header_is_refused(store, tmp_path):
    bare = tmp_path / "mine.rq"
    bare.write_text("SELECT (COUNT(?r) AS ?n) WHERE { ?c kg:hasRequest ?r }\n", encoding="utf-8")
    assert [int(r[0]) for r in run_query(store, str(bare)).rows] == [5]
    partial = tmp_path / "half.rq"
    partial.write_text("# title: half a header\nSELECT * WHERE { ?s ?p ?o }\n", encoding="utf-8")
    with pytest.raises(InputError, match="the query header lacks question, parameters, columns"):
        run_query(store, str(partial))


def test_tables_print_prefixed_names_and_wrap_long_cells(store):
    res = run_query(store, "criterion-trace", {"case": "seed-tpi-2015"})
    table = format_result(res, "table", width=120)
    lines = table.splitlines()
    assert max(len(line) for line in lines) <= 120
    assert lines[2].startswith("case:seed-tpi-2015/req-tpi  1       ")
    assert "https://" not in table
    # the first criterion's label is longer than its column: it goes on under itself
    first, second = lines[2], lines[3]
    col = lines[0].index("criterion")
    assert first[col:].startswith("Circumscribed") and second[:col].strip() == "" and second[col:].strip()
    assert format_result(res, "csv").splitlines()[1].startswith(CASE + "seed-tpi-2015/req-tpi,1,")


def test_decisions_by_guideline_kind(store):
    assert rows(store, "decisions-by-guideline-kind") == [("MTUS", None, "4", "1", "3")]


def test_decisions_by_guideline_kind_counts_sections_outside_the_mtus():
    from kg.read.casefile import parse_case

    s = open_store("memory")
    s.ensure_guidelines()
    case = parse_case({"case": "odg-dme", "requests": [
        {"id": "r1", "service": "mobility_aid", "text": "Standard wheelchair", "date": "2017-01-05"},
        {"id": "r2", "service": "tens", "text": "TENS unit", "region": "lumbar", "date": "2017-01-05"}]}, source="t")
    cg = build_case_graph(case)
    s.put_case(cg.case_id, case_graphs(cg, determine_case(cg)))
    got = rows(s, "decisions-by-guideline-kind")
    assert [(k, n, yes, no) for k, _, n, yes, no in got] == [("MTUS", "1", "0", "1"),
                                                             ("outside the MTUS", "1", "0", "1")]
    assert got[1][1].startswith("Labor Code 4610.5(c)(2)")
