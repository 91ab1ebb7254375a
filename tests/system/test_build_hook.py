"""The build hook (hatch_build.py) on a machine without npm: a wheel build from a tree with no
editor bundle stops with the message saying what to install and exits non-zero, writing no
wheel; a tree whose bundle is up to date builds without npm."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from casepaths import ROOT

MESSAGE = ("imr-kg's query page bundles its editor (CodeMirror, from npm) when it is installed, and Node.js with "
           "npm was not found on PATH: install them (Debian: apt-get install -y nodejs npm) and run the install "
           "again.")
EDITOR = Path("kg") / "web" / "static" / "editor"


def _tree(tmp_path: Path) -> Path:
    """A copy of what a wheel is built from, without node_modules and without the bundle."""
    root = tmp_path / "src"
    skip = shutil.ignore_patterns("node_modules", "vendor", "__pycache__", "*.pyc")
    for name in ("kg", "ontology", "shapes", "queries", "examples"):
        shutil.copytree(ROOT / name, root / name, ignore=skip)
    for name in ("pyproject.toml", "hatch_build.py", "README.md"):
        shutil.copy2(ROOT / name, root / name)
    return root


def _build(root: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``hatchling build -t wheel`` in ``root`` with a PATH holding neither npm nor node."""
    bare = tmp_path / "bare-bin"
    bare.mkdir(exist_ok=True)
    assert shutil.which("npm", path=str(bare)) is None and shutil.which("node", path=str(bare)) is None
    env = {k: v for k, v in os.environ.items() if k not in ("PATH", "VIRTUAL_ENV")}
    env["PATH"] = str(bare)
    return subprocess.run([sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path / "dist")],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_without_npm_and_without_a_bundle_the_build_says_what_to_install(tmp_path):
    done = _build(_tree(tmp_path), tmp_path)
    assert done.returncode != 0
    output = " ".join((done.stdout + done.stderr).split())
    assert f"RuntimeError: {MESSAGE}" in output
    assert not list(tmp_path.glob("dist/*.whl"))


def test_without_npm_an_up_to_date_bundle_builds(tmp_path):
    root = _tree(tmp_path)
    editor = root / EDITOR
    vendor = editor.parent / "vendor"
    vendor.mkdir()
    (vendor / "editor.js").write_text("/* a bundle built earlier */\n")
    digest = hashlib.sha256(b"".join((editor / name).read_bytes() for name in
                                     ("package.json", "package-lock.json", "editor.mjs", "build.mjs"))).hexdigest()
    (vendor / ".digest").write_text(digest + "\n")
    done = _build(root, tmp_path)
    assert done.returncode == 0, done.stderr
    (wheel,) = (tmp_path / "dist").glob("imr_kg-*.whl")
    import zipfile

    assert zipfile.ZipFile(wheel).read("kg/web/static/vendor/editor.js") == b"/* a bundle built earlier */\n"
