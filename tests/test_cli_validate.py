"""``imrkg validate`` on RDF data files: exit codes, engines, reports and errors (kg.cli over kg.batch.validate)."""

from __future__ import annotations

import json

import pytest
from casepaths import MET_CASE, ROOT

from kg.cli import main

DATA = ROOT / "tests" / "data" / "validate"
PEOPLE, SHAPES = str(DATA / "people.nt"), str(DATA / "people-shapes.ttl")
SUITE = ROOT.parent / "shared" / "w3c-shacl-tests" / "core"
EX = "http://example.org/people#"
SH = "http://www.w3.org/ns/shacl#"


@pytest.mark.parametrize("engine", ["pyshacl", "compiled", "auto"])
def test_violations_exit_1_with_the_focus_and_component_of_each(capsys, engine):
    assert main(["validate", PEOPLE, "--shapes", SHAPES, "--engine", engine, "--format", "json"]) == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["conforms"] is False
    assert sorted((r["focus"], r["component"], r["path"]) for r in report["results"]) == [
        (f"{EX}bob", f"{SH}MaxInclusiveConstraintComponent", f"{EX}age"),
        (f"{EX}bob", f"{SH}MinCountConstraintComponent", f"{EX}name")]
    assert captured.err == ""


def test_conforming_data_exits_0(tmp_path, capsys):
    data = tmp_path / "ann.ttl"
    data.write_text(f'<{EX}ann> a <{EX}Person> ; <{EX}name> "Ann" .\n')
    assert main(["validate", str(data), "--shapes", SHAPES, "--engine", "compiled"]) == 0
    assert capsys.readouterr().out == "Validation Report\nConforms: True\nEngine: compiled\n"


def test_a_folder_of_shapes_and_the_turtle_report(tmp_path, capsys):
    (tmp_path / "people-shapes.ttl").write_bytes((DATA / "people-shapes.ttl").read_bytes())
    assert main(["validate", PEOPLE, "--shapes", str(tmp_path), "--format", "turtle", "--engine", "compiled"]) == 1
    out = capsys.readouterr().out
    assert "sh:ValidationReport" in out and out.count("sh:focusNode ex:bob") == 2


def test_a_refused_shape_exits_2_naming_the_shape_and_the_feature_and_auto_notes_the_fallback(tmp_path, capsys):
    shapes = tmp_path / "lang.ttl"
    shapes.write_text(f"@prefix sh: <{SH}> .\n<{EX}LangShape> a sh:NodeShape ; sh:targetClass <{EX}Person> ; "
                      f"sh:property [ sh:path <{EX}name> ; sh:uniqueLang true ] .\n")
    assert main(["validate", PEOPLE, "--shapes", str(shapes), "--engine", "compiled"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "sh:uniqueLang" in captured.err and "not supported by the SPARQL compiler" in captured.err
    assert main(["validate", PEOPLE, "--shapes", str(shapes), "--engine", "auto"]) == 0
    captured = capsys.readouterr()
    assert "Engine: pyshacl" in captured.out
    assert captured.err.startswith("imrkg validate: note: the compiled engine refuses") and "uniqueLang" in captured.err


def test_a_malformed_data_file_exits_2_naming_file_and_line(capsys):
    assert main(["validate", str(DATA / "broken.nt"), "--shapes", SHAPES]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{DATA / 'broken.nt'}, line 2: not valid N-Triples" in captured.err


def test_rdf_data_needs_shapes_and_a_case_file_takes_no_engine(capsys):
    assert main(["validate", PEOPLE]) == 2
    assert "needs --shapes" in capsys.readouterr().err
    assert main(["validate", str(MET_CASE), "--engine", "compiled"]) == 2
    assert "--engine applies to RDF data files" in capsys.readouterr().err


@pytest.mark.skipif(not SUITE.is_dir(), reason=f"the W3C SHACL Core suite is not at {SUITE}")
def test_a_w3c_suite_file_gives_its_expected_result_with_the_compiled_engine(capsys):
    path = str(SUITE / "property" / "minCount-001.ttl")
    assert main(["validate", path, "--shapes", path, "--engine", "compiled", "--format", "json"]) == 1
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert result["focus"].endswith("minCount-001.test#InvalidPerson")
    assert result["component"] == f"{SH}MinCountConstraintComponent"
