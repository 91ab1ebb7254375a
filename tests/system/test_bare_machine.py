"""The main job on a bare machine: the wheel, installed into a fresh virtual environment outside
the checkout with no ``../shared`` beside it, runs ``imrkg run`` and ``imrkg determine`` on what
the package carries.

Offline: the wheel is built without isolation, installed with ``--no-deps --no-index``, and the
dependencies come from the interpreter running the tests (its site-packages is listed in a
``.pth`` file of the new environment, after the environment's own, so the installed ``kg`` is the
wheel's and never the checkout's).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

from casepaths import ROOT

SYNTHETIC = 20  # kg.jobs.run.BUNDLED_LETTERS
EXAMPLE_CASES = ("seed-tpi-2015", "tpi-repeat-met")


def _clean_env(tmp: Path) -> dict[str, str]:
    """The environment of a new user: no PYTHONPATH (the checkout), no store or document roots
    chosen, a home of its own (the default store goes under it)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "IMRKG_STORE", "IMRKG_DOCUMENT_ROOTS", "VIRTUAL_ENV")}
    env.update(HOME=str(tmp / "home"), XDG_DATA_HOME=str(tmp / "home" / ".local" / "share"))
    return env


def _install_wheel(tmp: Path) -> Path:
    """Build the wheel and install it into a fresh virtual environment; returns its bin folder."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp / "dist"), str(ROOT)], check=True, capture_output=True)
    (wheel,) = (tmp / "dist").glob("imr_kg-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # the dependencies, from the interpreter running the tests (offline)
    Path(site, "zz-test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True)
    return bin_dir


def test_the_wheel_runs_the_main_job_and_a_determination_anywhere(tmp_path):
    env = _clean_env(tmp_path)
    bin_dir = _install_wheel(tmp_path)
    work = tmp_path / "clean" / "work"
    work.mkdir(parents=True)
    assert not (work.parent / "shared").exists() and not work.resolve().is_relative_to(ROOT)

    examples = Path(subprocess.run(
        [str(bin_dir / "python"), "-c", "from kg.resources import data_dir; print(data_dir('examples'))"],
        cwd=work, env=env, check=True, capture_output=True, text=True).stdout.strip())
    assert examples.is_relative_to(tmp_path / "venv"), examples  # the wheel's copy, not the checkout's

    run = subprocess.run([str(bin_dir / "imrkg"), "run"], cwd=work, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    total = len(EXAMPLE_CASES) + SYNTHETIC
    assert run.stdout.startswith(f"{total} case(s) ingested from {total} input file(s); "
                                 f"the store holds {total} case(s) with "), run.stdout
    assert f"Report: imrkg-out/report.html ({total} audit page(s) in imrkg-out/audits/)" in run.stdout
    assert "Browse it: imrkg serve   (then open http://127.0.0.1:8000/report)" in run.stdout
    # not a terminal: one final progress line per stage, no \r frames; one warning (the seed's letter)
    assert "\r" not in run.stderr
    warnings = [line for line in run.stderr.splitlines() if line.startswith("imrkg: warning:")]
    assert len(warnings) == 1 and "seed-trigger-point-2015.yaml" in warnings[0]
    assert "not checked against the document" in warnings[0]
    out = work / "imrkg-out"
    letters = sorted(p.stem for p in (out / "synthetic-letters").glob("*.txt"))
    assert len(letters) == SYNTHETIC and all(name.startswith("synthetic-") for name in letters)
    audits = sorted(p.stem for p in (out / "audits").glob("*.html"))
    assert audits == sorted([*EXAMPLE_CASES, *letters])
    report = (out / "report.html").read_text(encoding="utf-8")
    for case in audits:
        assert f'href="audits/{case}.html"' in report, case
    assert (tmp_path / "home" / ".local" / "share" / "imr-kg" / "store" / "CURRENT").is_file()  # the default store

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    det = subprocess.run([str(bin_dir / "imrkg"), "determine", str(examples / "seed-trigger-point-2015.yaml"),
                          "--format", "json"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    assert det.returncode == 1, det.stderr[-2000:]
    assert det.stderr.count("imrkg: warning:") == 1 and "not checked against the document" in det.stderr
    (item,) = json.loads(det.stdout)["items"]
    assert item["engine_decision"] == "not_medically_necessary"
    status = {c["number"]: c["status"] for c in item["criteria"]}
    assert status[4] == "not_met"
    quotes = [q for c in item["criteria"] for e in c["evidence"] for q in e["quotes"]]
    assert quotes and all(q["checked"] is False and q["note"] == "not checked against the document"
                          and q["start"] is None for q in quotes)
