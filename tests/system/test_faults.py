"""Faults of the machine under a writing `imrkg`: the disk fills during a bulk load and during
`determine --all`, the store folder's write permission goes away mid-run.

Each test runs the real command in a subprocess against a store on a small filesystem the test
mounts itself (a size-limited tmpfs; we run as root in CI), and checks what the threat model
promises: the command ends with exit 2 and a message that says what happened and what to do (no
traceback); once space (or permission) is back the store opens holding whole cases only, each
exactly as an uninterrupted run writes it; running the same command again completes, with no
duplicates.  Where the test cannot mount (not root, no tmpfs) it is skipped, saying why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from casepaths import LETTERS, MET_CASE, ROOT, needs_letters
from storecheck import graph_counts as _graphs
from storecheck import whole_cases_only as _whole_cases_only


def _mount(where: Path, size: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=1777", "tmpfs", str(where)], check=True,
                   capture_output=True)


def _resize(where: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(where)], check=True, capture_output=True)


@pytest.fixture
def small_fs(tmp_path: Path):
    """A tmpfs of 4 MB at ``tmp_path/fs``, resizable with :func:`_resize`, unmounted afterwards."""
    where = tmp_path / "fs"
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a size-limited filesystem needs root and mount(8)")
    try:
        _mount(where, "4m")
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc.stderr.decode(errors='replace').strip()}")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False, capture_output=True)


def _imrkg(*argv: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kg.cli", *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=900, **kw)


def _stamped(store: Path) -> set[str]:
    """The cases whose determination is stamped done (what a resumed `determine --all` skips)."""
    from kg.store.store import LocalStore

    s = LocalStore(store)
    try:
        rows = s.query("SELECT ?case WHERE { GRAPH ?g { ?case <https://w3id.org/imr-kg/ont#determinedWith> ?x } }").rows
        return {str(r[0]).rstrip("/") for r in rows}
    finally:
        s.close()


def _fill(path: Path) -> None:
    """Write ``path`` until its filesystem is full."""
    block = b"\0" * (1 << 20)
    with open(path, "wb", buffering=0) as f:
        while block:
            try:
                f.write(block)
            except OSError:
                block = block[: len(block) // 2]


def _clean_message(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-1500:])
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr[-1500:]
    for w in words:
        assert w in proc.stderr, proc.stderr[-1500:]


def test_disk_full_during_a_bulk_load(small_fs, tmp_path):
    reference = tmp_path / "reference"
    assert _imrkg("synth", "--cases", "3000", "--store", str(reference), "--create", "--quiet").returncode == 0
    ref = _graphs(reference)
    store = small_fs / "store"
    proc = _imrkg("synth", "--cases", "3000", "--store", str(store), "--create", "--quiet")
    _clean_message(proc, "is full", "run the same command again")
    _resize(small_fs, "512m")
    kept = _whole_cases_only(_graphs(store), ref)
    assert len(kept) < 3000
    again = _imrkg("synth", "--cases", "3000", "--store", str(store), "--quiet")
    assert again.returncode == 0, again.stderr[-1500:]
    assert _graphs(store) == ref  # every case once, as a clean run writes it


@needs_letters
def test_disk_full_during_a_first_ingest(small_fs, tmp_path):
    """A first ingest writes each chunk's cases as one bulk load (one RocksDB ingestion, not a
    transaction): the disk filling during the run still leaves whole cases only, and the same
    command run again stores the rest."""
    reference = tmp_path / "reference"
    assert _imrkg("ingest", str(LETTERS), "--store", str(reference), "--create", "--quiet").returncode == 0
    ref = _graphs(reference)
    _resize(small_fs, "16m")
    store = small_fs / "store"
    proc = _imrkg("ingest", str(LETTERS), "--store", str(store), "--create", "--quiet")
    _clean_message(proc, "is full", "run the same command again")
    _resize(small_fs, "512m")
    kept = _whole_cases_only(_graphs(store), ref)
    assert len(kept) < len({g.rpartition("/graph/")[0] for g in ref if "/case/" in g})
    again = _imrkg("ingest", str(LETTERS), "--store", str(store), "--quiet")
    assert again.returncode == 0, again.stderr[-1500:]
    assert _graphs(store) == ref  # every case once, as a clean run writes it


def test_disk_full_during_determine_all(small_fs, tmp_path):
    store = small_fs / "store"
    _resize(small_fs, "512m")
    assert _imrkg("synth", "--cases", "2000", "--store", str(store), "--create", "--quiet").returncode == 0
    reference = tmp_path / "reference"
    shutil.copytree(store, reference)
    assert _imrkg("determine", "--all", "--store", str(reference), "--quiet").returncode == 0
    ref = _graphs(reference)
    # the disk fills once the command has opened the store and is reading and determining
    env = {**os.environ}
    _resize(small_fs, str(shutil.disk_usage(small_fs).used + 32_000_000))  # the filler stays small
    running = subprocess.Popen([sys.executable, "-m", "kg.cli", "determine", "--all", "--store", str(store),
                                "--quiet"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env)
    time.sleep(3)
    _fill(small_fs / "filler")
    out, err = running.communicate(timeout=600)
    (small_fs / "filler").unlink()
    proc = subprocess.CompletedProcess(running.args, running.returncode, out, err)
    _clean_message(proc, "is full", "run the same command again")
    _resize(small_fs, "512m")
    got = _graphs(store)
    stamped = _stamped(store)
    for g, n in got.items():  # what the load wrote is untouched; a stamped case has all its graphs
        case, _, name = g.rpartition("/graph/")
        if name in ("asserted", "reviewer") or case in stamped:
            assert ref.get(g) == n, (g, n, ref.get(g))
    for case in stamped:
        assert {g: n for g, n in got.items() if g.startswith(case + "/graph/")} == \
            {g: n for g, n in ref.items() if g.startswith(case + "/graph/")}, case
    assert len(stamped) < 2000
    again = _imrkg("determine", "--all", "--store", str(store), "--quiet")
    assert again.returncode == 0, again.stderr[-1500:]
    assert _graphs(store) == ref


DRIVER = """
import sys, time
from kg.store.store import LocalStore
from kg.cli import main

real_update = LocalStore.update
done = [0]

def update(self, sparql):
    real_update(self, sparql)
    done[0] += 1
    print(f"update-end {done[0]}", flush=True)
    time.sleep(0.05)

class Refusing:
    # the pyoxigraph store, refusing every update as a folder without write permission would

    def __init__(self, store):
        self._s = store

    def update(self, sparql):
        raise PermissionError(13, "Permission denied", sys.argv[1])

    def __getattr__(self, name):
        return getattr(self._s, name)

if len(sys.argv) > 3:  # injected: the fourth update (the shapes' manifest, then three cases) is the last allowed
    def update(self, sparql, real=update):
        if done[0] >= 4 and not isinstance(self._store, Refusing):
            self._store = Refusing(self._store)
        real(self, sparql)

LocalStore.update = update
sys.exit(main(["ingest", sys.argv[2], "--store", sys.argv[1], "--create", "--quiet", "--engine", "reference"]))
"""


def _nobody_can_run_python() -> bool:
    """Whether uid 65534 can run this interpreter (every folder up to it searchable by others)."""
    for path in (Path(sys.executable), Path(os.path.realpath(sys.executable))):
        for parent in path.parents:
            if not os.stat(parent).st_mode & 0o001:
                return False
    return True


def _as_nobody() -> None:
    os.setgid(65534)
    os.setuid(65534)


def test_write_permission_lost_mid_run(small_fs, tmp_path):
    """The ingest runs as an unprivileged user (root ignores permissions); after its third case
    (its fourth update: the shapes' manifest goes first) the store folder loses its write
    permission.  Where that user cannot run this interpreter
    (a venv under /root), the store refuses the fifth update with EACCES instead (injected; said
    in the output).  RocksDB appends to a log file it holds open, so
    the loss shows when it must create a file (at the latest when the store is closed)."""
    _resize(small_fs, "512m")
    cases = small_fs / "cases"
    cases.mkdir()
    met = yaml.safe_load(MET_CASE.read_text(encoding="utf-8"))
    for i in range(40):
        met["case"] = f"perm-{i:02d}"
        (cases / f"perm-{i:02d}.yaml").write_text(yaml.safe_dump(met), encoding="utf-8")
    (small_fs / "driver.py").write_text(DRIVER, encoding="utf-8")
    reference = tmp_path / "reference"
    assert _imrkg("ingest", str(cases), "--store", str(reference), "--create", "--quiet").returncode == 0
    ref = _graphs(reference)
    store = small_fs / "store"
    store.mkdir()
    os.chown(store, 65534, 65534)
    env = {**os.environ, "HOME": str(small_fs), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(ROOT)}
    real = _nobody_can_run_python()
    if not real:  # the interpreter lives where uid 65534 cannot go: the refusal is injected (EACCES)
        print("permission loss injected: uid 65534 cannot run", sys.executable)
    argv = [sys.executable, str(small_fs / "driver.py"), str(store), str(cases)] + ([] if real else ["inject"])
    proc = subprocess.Popen(argv, cwd=small_fs, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_as_nobody if real else None)  # noqa: PLW1509 - single-threaded test
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == "update-end 4":  # the shapes' manifest, then three cases
            os.chmod(store, 0o555)
            for f in store.iterdir():
                os.chmod(f, 0o444)
            break
    out, err = proc.communicate(timeout=600)
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    _clean_message(result, "cannot be written", "run the same command again")
    os.chmod(store, 0o755)
    for f in store.iterdir():
        os.chmod(f, 0o644)
    kept = _whole_cases_only(_graphs(store), ref, digests=False)  # the driver: --engine reference
    assert len(kept) >= 3 and (real or len(kept) == 3)  # three cases (the guidelines go in as a load)
    start = time.monotonic()
    again = _imrkg("ingest", str(cases), "--store", str(store), "--quiet")
    assert again.returncode == 0, again.stderr[-1500:]
    assert _graphs(store) == ref, f"re-run after {time.monotonic() - start:.0f} s"
