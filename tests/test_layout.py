"""Project layout rules: pipeline order of imports, no work at import time, packaged data."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile

from casepaths import ROOT

ORDER = ["errors", "resources", "casefile", "letter", "extract", "extract_imaging", "extract_therapy", "extract_medication", "extract_procedures", "graph", "reason", "validate", "compile", "guidelines", "determine",
         "rationale", "batch", "store", "pipeline", "synth", "query", "evaluate", "serve", "visualize", "run", "cli"]


def test_modules_import_only_earlier_stages():
    present = [m for m in ORDER if (ROOT / "kg" / f"{m}.py").exists()]
    modules = sorted(p.stem for p in (ROOT / "kg").glob("*.py") if p.stem != "__init__")
    assert set(modules) <= set(ORDER), f"add new modules to ORDER: {set(modules) - set(ORDER)}"
    for name in present:
        tree = ast.parse((ROOT / "kg" / f"{name}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kg."):
                dep = node.module.split(".")[1]
                assert ORDER.index(dep) < ORDER.index(name), f"kg.{name} imports later stage kg.{dep}"


def test_import_kg_does_no_heavy_work():
    code = ("import sys, kg, kg.cli, kg.determine, kg.reason, kg.validate;"
            "heavy = [m for m in ('owlready2', 'pyshacl', 'pypdf', 'pyoxigraph') if m in sys.modules];"
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def test_wheel_contains_every_data_file(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("imr_kg-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, suffix in (("ontology", ".ttl"), ("shapes", ".ttl"), ("queries", ".rq")):
        files = sorted((ROOT / folder).glob(f"*{suffix}"))
        assert files
        for f in files:
            assert f"kg/_data/{folder}/{f.name}" in names, f"{folder}/{f.name} missing from the wheel"
    assert "kg/py.typed" in names


def test_every_query_has_a_header():
    for q in sorted((ROOT / "queries").glob("*.rq")):
        head = q.read_text(encoding="utf-8").splitlines()[:12]
        for key in ("# title:", "# question:", "# parameters:", "# columns:"):
            assert any(line.startswith(key) for line in head), f"{q.name} lacks '{key}'"
