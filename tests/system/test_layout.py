"""Project layout rules: pipeline order of imports, no work at import time, packaged data."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

from casepaths import ROOT

# Stages in pipeline order, and each package's modules in their own order.  A module may import
# from an earlier stage, or from an earlier module of its own package; never from a later one.
STAGES: dict[str, list[str]] = {
    "errors": [], "resources": [], "rdf": [], "model": [],
    "read": ["documents", "casefile", "pages", "letter"],
    "extract": ["sieve", "lexicon", "text", "services", "result", "dispute", "treatments", "imaging", "therapy",
                "medication", "procedures", "case"],
    "engine": ["graph", "reason", "validate", "guidelines", "determine", "rationale"],
    "batch": ["shacl", "validate", "compile", "engine"],
    "store": ["protocol", "faults", "virtuoso", "store", "compaction", "upgrade", "query"],
    "viz": ["markup", "evidence", "draw", "pages", "report"],
    "jobs": ["reach", "changes", "inputs", "ingest", "cluster", "synth", "evaluate", "reasons", "run"],
    "web": ["sparql", "pages", "query_page", "app", "audit_routes"],
    "clihelp": [], "cli": [],
}
MAX_MODULE_LINES = 800
MAX_FUNCTION_LINES = 100


def _modules() -> dict[tuple[str, ...], Path]:
    """Every module of kg/ as (stage, module) or (stage,), with its file."""
    out: dict[tuple[str, ...], Path] = {}
    for path in sorted((ROOT / "kg").rglob("*.py")):
        parts = path.relative_to(ROOT / "kg").with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            out[parts] = path
    return out


def _rank(parts: tuple[str, ...]) -> tuple[int, int]:
    stages = list(STAGES)
    stage = stages.index(parts[0])
    return stage, (STAGES[parts[0]].index(parts[1]) if len(parts) > 1 else -1)


def _imports(tree: ast.AST, known: set[tuple[str, ...]]) -> list[tuple[tuple[str, ...], ast.ImportFrom | ast.Import]]:
    """The kg modules a module imports (``from kg.pkg import module`` counts as the module)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "kg" and node.level == 0:
            base = tuple(node.module.split(".")[1:])
            subs = [base + (a.name,) for a in node.names if base + (a.name,) in known and len(base) == 1]
            found += [(s, node) for s in subs] or [(base, node)]
        elif isinstance(node, ast.Import):
            found += [(tuple(a.name.split(".")[1:]), node) for a in node.names if a.name.split(".")[0] == "kg"]
    return [(m, n) for m, n in found if m]


def test_every_module_has_its_place_in_the_stage_order():
    for parts in _modules():
        assert parts[0] in STAGES, f"kg/{'/'.join(parts)}: add its stage to STAGES"
        if len(parts) > 1:
            assert parts[1] in STAGES[parts[0]], f"kg/{'/'.join(parts)}.py: add it to STAGES['{parts[0]}']"
    for stage, modules in STAGES.items():
        for m in modules:
            assert (ROOT / "kg" / stage / f"{m}.py").exists(), f"STAGES names kg/{stage}/{m}.py, which does not exist"


def test_modules_import_only_earlier_stages():
    modules = _modules()
    known = set(modules)
    for parts, path in modules.items():
        if len(parts) == 1 and parts[0] in ("cli",):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for dep, _node in _imports(tree, known):
            if dep[0] == parts[0] and len(dep) == 1:
                continue  # the package's own __init__ (a docstring)
            assert dep in known, f"{path.name} imports kg.{'.'.join(dep)}, which is not a module"
            assert _rank(dep) < _rank(parts), f"kg.{'.'.join(parts)} imports a later stage, kg.{'.'.join(dep)}"


def test_no_private_names_across_modules_and_no_import_tricks():
    for parts, path in _modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kg"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"kg/{'/'.join(parts)} imports private {private} from {node.module}"
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                if isinstance(node, ast.ImportFrom) and node.module == "importlib":
                    # importlib.resources (packaged files) and importlib.metadata (the version) load no code
                    names = ["importlib"] if any(a.name not in ("resources", "metadata") for a in node.names) else []
                assert not any(n in ("importlib", "importlib.util") for n in names if n), \
                    f"kg/{'/'.join(parts)}: importlib loading hides imports from this test"


def test_modules_and_functions_stay_small():
    for _parts, path in _modules().items():
        text = path.read_text(encoding="utf-8")
        assert text.count("\n") <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)}: over {MAX_MODULE_LINES} lines"
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = node.end_lineno - node.lineno + 1
                assert size <= MAX_FUNCTION_LINES, f"{path.relative_to(ROOT)}: {node.name} has {size} lines"


def test_import_kg_does_no_heavy_work():
    code = ("import sys, kg, kg.cli, kg.engine.determine, kg.engine.reason, kg.engine.validate;"
            "heavy = [m for m in ('owlready2', 'pyshacl', 'pypdf', 'pypdfium2', 'pyoxigraph') if m in sys.modules];"
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def test_wheel_contains_every_data_file(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("imr_kg-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, suffix in (("ontology", ".ttl"), ("shapes", ".ttl"), ("queries", ".rq"), ("examples", ".yaml")):
        files = sorted((ROOT / folder).glob(f"*{suffix}"))
        assert files
        for f in files:
            assert f"kg/_data/{folder}/{f.name}" in names, f"{folder}/{f.name} missing from the wheel"
    assert "kg/py.typed" in names
    # the pages' style, script and HTML, read with importlib.resources from their package
    static = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "kg").glob("*/static/*") if p.is_file())
    assert set(static) >= {"kg/viz/static/audit.css", "kg/viz/static/audit.js", "kg/viz/static/report.css",
                           "kg/web/static/query.css", "kg/web/static/query.js", "kg/web/static/query.html"}
    for name in static:
        assert name in names, f"{name} missing from the wheel"
    # the query editor's bundle (built by hatch_build.py) is in; its npm sources and node_modules are not
    assert "kg/web/static/vendor/editor.js" in names
    assert not [n for n in names if n.startswith("kg/web/static/editor/")]


def test_every_query_has_a_header():
    for q in sorted((ROOT / "queries").glob("*.rq")):
        head = q.read_text(encoding="utf-8").splitlines()[:12]
        for key in ("# title:", "# question:", "# parameters:", "# columns:"):
            assert any(line.startswith(key) for line in head), f"{q.name} lacks '{key}'"
