"""The CLI: help with examples, exit codes, thin over the library, documented in the README."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from casepaths import LETTERS, MET_CASE, ROOT, SEED_CASE, needs_letters

from kg.cli import build_parser, main


def subcommands() -> dict[str, object]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return dict(action.choices)


def test_every_command_has_help_with_an_example_and_a_readme_mention():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = subcommands()
    assert {"determine", "validate"} <= set(commands)
    for name, sub in commands.items():
        text = sub.format_help()
        assert ("example:" in text or "examples:" in text) and f"imrkg {name}" in text, name
        assert sub.description, name
        assert f"imrkg {name}" in readme, f"README does not mention 'imrkg {name}'"


def test_top_level_help_exits_zero(capsys):
    assert main(["--help"]) == 0
    assert "determine" in capsys.readouterr().out


def test_determine_exit_codes(capsys):
    assert main(["determine", str(SEED_CASE), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["items"][0]["engine_decision"] == "not_medically_necessary"
    assert main(["determine", str(MET_CASE)]) == 0
    out = capsys.readouterr().out
    assert "Engine decision: medically necessary" in out


def test_validate_exit_codes(capsys):
    assert main(["validate", str(MET_CASE)]) == 0
    assert capsys.readouterr().out.startswith("Conforms: True")
    assert main(["validate", str(SEED_CASE), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["conforms"] is False and len(data["results"]) == 9


@pytest.mark.parametrize("command", ["determine", "validate"])
def test_bad_case_file_exits_2_and_names_file_and_line(tmp_path, capsys, command):
    bad = tmp_path / "bad.yaml"
    bad.write_text("case: c1\nrequests:\n  - id: r1\n    service: nope\n    text: x\n", encoding="utf-8")
    assert main([command, str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{bad}, line 4, field 'requests[0].service'" in captured.err


def test_bad_shapes_folder_exits_2(tmp_path, capsys):
    (tmp_path / "broken.ttl").write_text("@prefix sh: <http://www.w3.org/ns/shacl#> .\nsh:a sh:b\n")
    assert main(["determine", str(SEED_CASE), "--shapes", str(tmp_path)]) == 2
    assert "broken.ttl, line 3" in capsys.readouterr().err


def test_usage_error_exits_2(capsys):
    assert main(["determine"]) == 2
    assert main(["determine", str(SEED_CASE), "--format", "pdf"]) == 2


def test_console_script_runs_in_a_subprocess():
    proc = subprocess.run([sys.executable, "-m", "kg.cli", "determine", str(MET_CASE), "--format", "markdown"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "| 8 | Local anaesthetic only, with or without steroid | met |" in proc.stdout


def test_serve_command_answers_sparql_over_http(tmp_path):
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "kg.cli", "serve", "--store", "memory", "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/sparql?query=ASK%7B%7D", timeout=2) as r:
                    assert json.loads(r.read()) == {"head": {}, "boolean": True}
                    break
            except OSError:
                assert time.monotonic() < deadline, "imrkg serve did not start"
                assert proc.poll() is None, "imrkg serve exited"
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_audit_and_report_commands(tmp_path, capsys):
    import xml.etree.ElementTree as ET

    html = tmp_path / "seed.html"
    assert main(["audit", str(SEED_CASE), "-o", str(html)]) == 0
    page = html.read_text(encoding="utf-8")
    assert "No radiculopathy" in page and "seed-trigger-point-2015.txt" in page and str(ROOT) not in page
    svg = tmp_path / "seed.svg"
    assert main(["audit", str(SEED_CASE), "-o", str(svg)]) == 0
    assert ET.parse(svg).getroot().tag.endswith("svg")
    assert main(["audit", str(SEED_CASE), "-o", str(tmp_path / "x.pdf")]) == 2
    store = str(tmp_path / "s")
    assert main(["ingest", str(SEED_CASE), str(MET_CASE), "--store", store, "--create", "--quiet"]) == 0
    assert main(["audit", "tpi-repeat-met", "--store", store, "-o", str(tmp_path / "met.graphml")]) == 0
    assert "criterion:req-tpi/8" in (tmp_path / "met.graphml").read_text(encoding="utf-8")
    assert main(["audit", "nope", "--store", store, "-o", str(tmp_path / "n.html")]) == 2
    report = tmp_path / "report.html"
    assert main(["report", "--store", store, "-o", str(report), "--audits", str(tmp_path / "audits")]) == 0
    text = report.read_text(encoding="utf-8")
    assert 'href="audits/seed-tpi-2015.html"' in text
    assert (tmp_path / "audits" / "tpi-repeat-met.html").exists()
    (tmp_path / "a-file").write_text("x")
    assert main(["report", "--store", store, "-o", str(tmp_path / "a-file" / "report.html")]) == 2
    assert "cannot write" in capsys.readouterr().err


@needs_letters
def test_eval_reasons_reports_one_half_of_the_split(tmp_path):
    """``imrkg eval --reasons --half check`` runs only the check half's letters and says so."""
    for name in ("CM16-0213037.pdf", "CM16-0228949.pdf"):  # check half, write half
        (tmp_path / name).symlink_to(LETTERS / name)
    out = tmp_path / "reasons.json"
    proc = subprocess.run([sys.executable, "-m", "kg.cli", "eval", str(tmp_path), "--reasons",
                           str(LETTERS / "reasons.json"), "--half", "check", "--quiet", "-o", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(f"Reason fidelity: 1 of 1 letters read from {tmp_path}")
    assert "write 0 letters, check 1" in lines[1]
    check = next(line.split() for line in lines if line.split()[:1] == ["check"])
    assert check[:7] == ["check", "1", "2", "2", "2", "0", "2"]  # letters, items, decided, upheld, overt., agree
    assert json.loads(out.read_text())["letters_read"] == 1


def test_eval_half_without_reasons_is_bad_input(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "kg.cli", "eval", str(tmp_path), "--half", "check"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "--half needs --reasons" in proc.stderr


def test_determine_without_the_document_marks_quotes_not_checked(monkeypatch, capsys):
    """The seed example without its letter's folder: determined on its quotes, each marked, one
    warning; the exit code follows the decision."""
    monkeypatch.delenv("IMRKG_DOCUMENT_ROOTS")
    for fmt in ("json", "markdown", "text"):
        assert main(["determine", str(SEED_CASE), "--format", fmt]) == 1
        out, err = capsys.readouterr()
        assert err.count("imrkg: warning:") == 1 and f"{SEED_CASE}: document not found" in err
        if fmt == "json":
            (item,) = json.loads(out)["items"]
            status = {c["number"]: c["status"] for c in item["criteria"]}
            assert item["engine_decision"] == "not_medically_necessary" and status[4] == "not_met"
            quotes = [q for c in item["criteria"] for e in c["evidence"] for q in e["quotes"]]
            assert quotes and all(not q["checked"] and q["note"] == "not checked against the document"
                                  for q in quotes)
        else:
            assert "(seed-trigger-point-2015.txt, not checked against the document)" in out


@needs_letters
def test_determine_with_the_document_root_checks_the_quotes(monkeypatch, capsys):
    """The seed example with --document-root naming its letter's folder: no warning, every quote checked."""
    monkeypatch.delenv("IMRKG_DOCUMENT_ROOTS")
    assert main(["determine", str(SEED_CASE), "--format", "json", "--document-root", str(LETTERS)]) == 1
    out, err = capsys.readouterr()
    assert "warning" not in err
    quotes = [q for c in json.loads(out)["items"][0]["criteria"] for e in c["evidence"] for q in e["quotes"]]
    assert quotes and all(q["checked"] and q["start"] is not None and "note" not in q for q in quotes)


def test_a_document_root_that_is_not_a_folder_is_a_usage_error(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main(["determine", str(SEED_CASE), "--document-root", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"argument --document-root: '{missing}' is not a folder" in err


def test_determine_exit_code_says_whether_all_some_or_none_are_necessary(tmp_path, capsys):
    import yaml
    from casepaths import MET_CASE

    case = yaml.safe_load(MET_CASE.read_text())
    assert main(["determine", str(MET_CASE)]) == 0  # its one request: every criterion met
    capsys.readouterr()
    second = dict(case["requests"][0], id="req-other", service="other", text="Custom ergonomic chair")
    mixed = dict(case, requests=[case["requests"][0], second])
    (tmp_path / "mixed.yaml").write_text(yaml.safe_dump(mixed), encoding="utf-8")
    assert main(["determine", str(tmp_path / "mixed.yaml"), "--format", "json"]) == 4
    import json

    got = {i["request"].rsplit("/", 1)[-1]: i["engine_decision"] for i in json.loads(capsys.readouterr().out)["items"]}
    assert got == {"req-tpi": "medically_necessary", "req-other": "not_covered"}
    only = dict(case, requests=[second])
    (tmp_path / "none.yaml").write_text(yaml.safe_dump(only), encoding="utf-8")
    assert main(["determine", str(tmp_path / "none.yaml")]) == 1


def test_checklist_without_a_date_takes_the_latest_version_and_says_so(capsys):
    assert main(["checklist", "trigger_point_injection"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == ("Documentation for a request of 'trigger_point_injection' under the latest encoded version "
                     "(in force from 2016-07-28 to 2017-11-30; give --date YYYY-MM-DD for another day):")
    assert main(["checklist", "trigger_point_injections"]) == 2
    assert "did you mean 'trigger_point_injection'" in capsys.readouterr().err


def test_a_store_folder_that_does_not_exist_needs_create(tmp_path, capsys):
    missing = tmp_path / "typo"
    for argv in (["ingest", str(MET_CASE)], ["query", "decisions-by-month"], ["report", "-o",
                                                                              str(tmp_path / "r.html")]):
        assert main([*argv, "--store", str(missing), "--quiet"] if argv[0] == "ingest"
                    else [*argv, "--store", str(missing)]) == 2
        err = capsys.readouterr().err
        assert f"imrkg: error: {missing}: there is no such folder" in err and "add --create" in err
        assert not missing.exists()
    assert main(["ingest", str(MET_CASE), "--store", str(missing), "--create", "--quiet"]) == 0
    assert (missing / "CURRENT").is_file()


def test_query_names_parameters_and_case_numbers(capsys):
    from casepaths import corpus_store

    from kg.store.query import format_result, run_query

    store = corpus_store()
    full = run_query(store, "criterion-trace", {"case": "https://w3id.org/imr-kg/case/seed-tpi-2015/"})
    assert full.rows
    for value in ("seed-tpi-2015", "https://w3id.org/imr-kg/case/seed-tpi-2015"):
        assert run_query(store, "criterion-trace", {"case": value}).rows == full.rows
    from kg.errors import InputError

    with pytest.raises(InputError) as info:
        run_query(store, "criterion-trace", {})
    assert info.value.field == "case" and "needs the parameter 'case'" in info.value.problem
    with pytest.raises(InputError) as info:
        run_query(store, "criterion-trace", {"cas": "seed-tpi-2015"})
    assert "did you mean 'case'?" in str(info.value)
    with pytest.raises(InputError) as info:
        run_query(store, "criterion-trac")
    assert "did you mean 'criterion-trace'?" in str(info.value)
    one = run_query(store, "engine-reviewer-confusion")
    assert format_result(type(one)(columns=one.columns, rows=one.rows[:1]), "table").endswith("(1 row)\n")
    assert main(["query", "criterion-trace", "--store", "memory"]) == 2
    assert "needs the parameter 'case'" in capsys.readouterr().err


def test_progress_is_one_final_line_off_a_terminal(tmp_path):
    """stderr to a file: no carriage-return frames, one line at the end, and the summary names the
    file that failed and why."""
    import os

    bad = tmp_path / "bad.yaml"
    bad.write_text("case: x\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items()}
    env["PYTHONPATH"] = str(ROOT)
    with open(tmp_path / "err.txt", "w", encoding="utf-8") as err:
        code = subprocess.run([sys.executable, "-m", "kg.cli", "ingest", str(MET_CASE), str(bad), "-o",
                               str(tmp_path / "o.trig")], stderr=err, env=env, timeout=300).returncode
    assert code == 2
    text = (tmp_path / "err.txt").read_text(encoding="utf-8")
    assert "\r" not in text
    assert "imrkg ingest: 2/2 done in " in text
    assert (f"imrkg ingest: 1 case(s) ingested, 1 file(s) failed; written to {tmp_path / 'o.trig'}\n"
            f"imrkg: error: {bad}, line 1, field 'requests': ") in text
