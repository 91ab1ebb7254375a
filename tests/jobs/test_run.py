"""The main job, `imrkg run`: inputs in, determinations stored, report and audit pages out, a summary."""

from __future__ import annotations

from casepaths import EXAMPLES, LETTERS, needs_letters

from kg.cli import main
from kg.jobs.run import run
from kg.store.store import open_store

TWO_LETTERS = [str(LETTERS / "CM16-0213037.pdf"), str(LETTERS / "CM16-0219557.pdf")]
CASES = ["CM16-0213037", "CM16-0219557", "seed-tpi-2015", "tpi-repeat-met"]


@needs_letters
def test_run_prints_the_summary_and_writes_report_and_audits(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(EXAMPLES), *TWO_LETTERS, "--store", "memory", "-o", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0] == ("4 case(s) ingested from 4 input file(s); "
                                       "the store holds 4 case(s) with 5 disputed item(s).")
    assert "not medically necessary  upheld (not medically necessary)  4\n(1 row)" in printed
    assert "(1 item(s) without a reviewer decision are not in the table)" in printed
    assert ("The engine decides 4 of the 4 reviewed items (100.0%) and agrees with the reviewer on 4 of them "
            "(100.0%).") in printed
    assert f"Report: {out / 'report.html'} (4 audit page(s) in {out / 'audits'}/)" in printed
    assert "run again with --store DIR and then: imrkg serve --store DIR" in printed
    report = (out / "report.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in (out / "audits").iterdir()) == [f"{c}.html" for c in CASES]
    for cid in CASES:
        assert f'href="audits/{cid}.html" data-case="{cid}"' in report
        assert cid in (out / "audits" / f"{cid}.html").read_text(encoding="utf-8")


def test_run_into_a_folder_store_names_the_serve_command(tmp_path, capsys):
    store = tmp_path / "store"
    assert main(["run", str(EXAMPLES), "--store", str(store), "--create", "-o", str(tmp_path / "o"), "--quiet"]) == 0
    assert f"Browse it: imrkg serve --store {store}   (then open http://127.0.0.1:8000/report)" in \
        capsys.readouterr().out
    with open_store(store) as s:
        assert s.case_ids() == ["seed-tpi-2015", "tpi-repeat-met"]


def test_a_failed_input_is_reported_and_exits_2(tmp_path, capsys):
    bad = tmp_path / "not-a-letter.txt"
    bad.write_text("hello\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(EXAMPLES), str(bad), "--store", "memory", "-o", str(out), "--quiet"]) == 2
    captured = capsys.readouterr()
    assert "not-a-letter.txt" in captured.err and "imrkg: error:" in captured.err
    assert captured.out.startswith("2 case(s) ingested from 3 input file(s), 1 failed;")
    assert (out / "report.html").is_file() and len(list((out / "audits").iterdir())) == 2


def test_synthetic_letters_through_the_main_job_with_workers(tmp_path):
    from kg.jobs.synth import synthesize, write_letters

    cases = list(synthesize(4, seed=12))
    write_letters(cases, tmp_path / "letters")
    with open_store("memory") as store:
        summary = run([tmp_path / "letters"], store, tmp_path / "out", workers=2)
        assert summary.errors == ()
        assert sorted(summary.cases) == [c.case_id for c in cases]
        assert summary.items == sum(len(c.requests) for c in cases)
        assert sum(int(str(r[2])) for r in summary.confusion.rows) == summary.items
        assert summary.audit_pages == 4
