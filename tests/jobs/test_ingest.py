"""Inputs in, determined cases in the store: all or nothing per case, replace on re-ingest."""

from __future__ import annotations

import json
import shutil

from casepaths import EXAMPLES, LETTERS, MET_CASE, SEED_CASE, needs_letters

from kg.cli import main
from kg.jobs.ingest import ingest
from kg.store.store import open_store


def test_ingest_examples_into_a_store_on_disk_and_reopen(tmp_path):
    location = tmp_path / "store"
    with open_store(location) as store:
        summary = ingest([EXAMPLES], store)
        assert summary.cases == ("seed-tpi-2015", "tpi-repeat-met") and summary.errors == ()
        first = store.count()
    with open_store(location) as store:  # persistent
        assert store.case_ids() == ["seed-tpi-2015", "tpi-repeat-met"]
        assert store.count() == first
        det = store.case_graph("seed-tpi-2015", "determination")
        assert len(det) > 0 and len(store.case_graph("seed-tpi-2015", "inferred")) > 0
        ingest([SEED_CASE], store)  # re-ingest replaces, never duplicates
        assert store.count() == first


def test_a_bad_input_is_named_and_the_batch_goes_on(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(MET_CASE, folder / "a.yaml")
    (folder / "b.yaml").write_text("case: broken\nrequests: nope\n", encoding="utf-8")
    (folder / "c.pdf").write_bytes(b"%PDF-1.4 not really")
    store = open_store("memory")
    summary = ingest([folder], store)
    assert summary.cases == ("tpi-repeat-met",)
    assert sorted(e.source.rsplit("/", 1)[-1] for e in summary.errors) == ["b.yaml", "c.pdf"]
    assert store.case_ids() == ["tpi-repeat-met"]


@needs_letters
def test_cli_ingest_query_and_exit_codes(tmp_path, capsys):
    store = str(tmp_path / "s")
    bad = tmp_path / "bad.yaml"
    bad.write_text("case: x\n", encoding="utf-8")
    assert main(["ingest", str(SEED_CASE), str(LETTERS / "CM16-0213037.pdf"), str(bad), "--store", store,
                 "--create", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}" in err and "2 case(s) determined and stored" in err and "1 file(s) failed" in err
    assert main(["query", "engine-reviewer-confusion", "--store", store, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    got = sorted((b["engine"]["value"], b["reviewer"]["value"], b["items"]["value"])
                 for b in doc["results"]["bindings"])
    # the seed (trigger point injections) and both MRI items of CM16-0213037 (shoulder, cervical spine)
    assert got == [("not medically necessary", "upheld (not medically necessary)", "3")]
    assert main(["query", "criterion-trace", "--store", store, "--format", "csv",
                 "--param", "case=https://w3id.org/imr-kg/case/seed-tpi-2015/"]) == 0
    assert capsys.readouterr().out.count("\n") == 12  # header and 11 rows
    assert main(["query", "criterion-trace", "--store", store, "--param", "case=not an iri"]) == 2
    assert "is not an IRI" in capsys.readouterr().err
    assert main(["query", "no-such-query", "--store", store]) == 2
    assert main(["queries"]) == 0
    assert "decisions-by-service-kind" in capsys.readouterr().out


def test_determine_all_skips_up_to_date_cases_and_redoes_on_force(tmp_path, capsys):
    from kg.jobs.ingest import determine_all

    store = open_store(tmp_path / "s")
    ingest([EXAMPLES], store)
    count = store.count()
    first = determine_all(store, workers=2)
    assert first.determined == () and first.skipped == ("seed-tpi-2015", "tpi-repeat-met")
    # a stale stamp (another engine or shapes) makes the case due again
    store.update('DELETE WHERE { GRAPH ?g { <https://w3id.org/imr-kg/case/tpi-repeat-met/> '
                 '<https://w3id.org/imr-kg/ont#determinedWith> ?s } }')
    again = determine_all(store, workers=2)
    assert again.determined == ("tpi-repeat-met",) and again.skipped == ("seed-tpi-2015",)
    forced = determine_all(store, workers=1, force=True)
    assert sorted(forced.determined) == ["seed-tpi-2015", "tpi-repeat-met"] and forced.failed == ()
    assert store.count() == count  # replaced, never duplicated
    store.close()
    assert main(["determine", "--all", "--store", str(tmp_path / "s"), "--workers", "2", "--quiet"]) == 0
    assert "0 determined, 2 already up to date, 0 failed" in capsys.readouterr().err
    assert main(["determine", "--store", str(tmp_path / "s")]) == 2
