"""Static checks run with the tests: mypy and ruff, as configured in pyproject.toml, find nothing in kg/."""

from __future__ import annotations

import subprocess
import sys

from casepaths import ROOT


def test_mypy_finds_no_error_in_kg():
    proc = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert proc.stdout.startswith("Success: no issues found"), proc.stdout


def test_ruff_finds_nothing_in_kg():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "kg"], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert proc.stdout.strip() == "All checks passed!", proc.stdout
