"""A throwaway Virtuoso server in a folder of its own: Debian's ``virtuoso-opensource`` started on
free loopback ports, with SPARQL update granted to the anonymous endpoint user.

The tests run the library against it, and ``bench/bench_queries.py --engines virtuoso`` runs the
library queries on it beside the embedded store.  It is a place to measure and compare, not a
server to keep: the folder holds the whole database, the ports listen on 127.0.0.1 only, and
``DirsAllowed`` (the folders the server may read files from) is that folder alone.

    with running_virtuoso(Path("scratch")) as server:
        server.bulk_load(Path("scratch/cases.nq"))   # a file inside the folder
        store = RemoteStore(server.url)
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kg.store.faults import StoreError

__all__ = ["Virtuoso", "running_virtuoso", "virtuoso_binary"]

_INI = """\
[Database]
DatabaseFile = {d}/virtuoso.db
ErrorLogFile = {d}/virtuoso.log
LockFile = {d}/virtuoso.lck
TransactionFile = {d}/virtuoso.trx
xa_persistent_file = {d}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase
[TempDatabase]
DatabaseFile = {d}/virtuoso-temp.db
TransactionFile = {d}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0
[Parameters]
ServerPort = 127.0.0.1:{sql}
DisableUnixSocket = 1
MaxClientConnections = 10
CheckpointInterval = 0
O_DIRECT = 0
CaseMode = 2
DirsAllowed = ., {d}
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {dirty}
[HTTPServer]
ServerPort = 127.0.0.1:{http}
ServerRoot = {d}
MaxClientConnections = 10
ServerThreads = 10
EnabledDavVSP = 0
HTTPProxyEnabled = 0
Charset = UTF-8
[SPARQL]
ResultSetMaxRows = {max_rows}
MaxQueryExecutionTime = {query_seconds}
"""


def virtuoso_binary() -> tuple[str, str] | None:
    """The paths of ``virtuoso-t`` and its SQL client (``isql-vt``, or ``isql``), or ``None`` when
    Virtuoso is not installed (Debian: ``apt-get install virtuoso-opensource``)."""
    server = shutil.which("virtuoso-t")
    client = shutil.which("isql-vt") or shutil.which("isql")
    return (server, client) if server and client else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Virtuoso:
    """A running server: its SPARQL endpoint ``url``, its folder and its SQL port."""

    url: str
    folder: Path
    sql_port: int
    process: subprocess.Popen[bytes]
    client: str

    def isql(self, statement: str, timeout: float = 3600.0) -> str:
        """Run one SQL statement as ``dba``; its output.  Raises :class:`StoreError` when it fails."""
        try:
            done = subprocess.run([self.client, f"127.0.0.1:{self.sql_port}", "dba", "dba", f"exec={statement}"],
                                  capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise StoreError(f"Virtuoso did not finish '{statement}' within {timeout:g} s") from None
        if done.returncode != 0 or "*** Error" in done.stdout:
            raise StoreError(f"Virtuoso refused '{statement}': {(done.stdout + done.stderr).strip()[-500:]}")
        return done.stdout

    def bulk_load(self, nquads: Path) -> None:
        """Load an N-Quads file (inside :attr:`folder`, where the server may read) with Virtuoso's
        bulk loader, each quad into its own graph, and checkpoint.  Raises :class:`StoreError` when
        the loader records an error for the file, which may then be partly loaded (the server is a
        throw-away one: start a fresh one rather than load again)."""
        path = nquads.resolve()
        if path.parent != self.folder.resolve():
            raise StoreError(f"{nquads} is not in the server's folder {self.folder}: the server may read only there")
        if "'" in str(path):
            raise StoreError(f"{nquads}: a path with a quote (') cannot be given to Virtuoso's loader; rename it")
        self.isql(f"ld_dir('{path.parent}', '{path.name}', 'urn:imr-kg:bulk-load');")
        self.isql("rdf_loader_run();")
        self.isql("checkpoint;")
        listed = self.isql(f"SELECT ll_error FROM DB.DBA.load_list WHERE ll_file = '{path}';")
        # isql prints a header, a rule of underscores, the rows, then "N Rows."
        body = re.split(r"\n_{10,}\n", listed, maxsplit=1)[-1].split("\n")
        errors = [s for s in (line.strip() for line in body) if s and s != "NULL" and "Rows." not in s]
        if errors:
            raise StoreError(f"Virtuoso's bulk loader failed on {nquads}: {' '.join(errors)[:500]}")

    def peak_rss_mb(self) -> float:
        """The server process's peak resident memory (``VmHWM``) in MB; 0 where /proc is not there."""
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0


@contextlib.contextmanager
def running_virtuoso(folder: Path, *, buffers: int = 10_000, max_rows: int = 1_000_000,
                     query_seconds: int = 120, start_seconds: float = 60.0) -> Iterator[Virtuoso]:
    """Start a fresh Virtuoso in ``folder`` (an empty folder of its own) on free loopback ports,
    with SPARQL update granted to the endpoint's anonymous user; yield it, and stop it afterwards.

    ``buffers`` is ``NumberOfBuffers`` (8 KB pages held in memory; Virtuoso's guide asks for about
    85,000 per GB it may use), ``max_rows`` the most rows a query answers (``ResultSetMaxRows``) and
    ``query_seconds`` its ``MaxQueryExecutionTime``.  Raises :class:`StoreError` when Virtuoso is
    not installed or does not start within ``start_seconds`` (with the end of its log)."""
    binary = virtuoso_binary()
    if binary is None:
        raise StoreError("Virtuoso is not installed (apt-get install virtuoso-opensource)")
    server, client = binary
    sql, http = _free_port(), _free_port()
    (folder / "virtuoso.ini").write_text(_INI.format(d=folder, sql=sql, http=http, buffers=buffers,
                                                     dirty=buffers * 3 // 4, max_rows=max_rows,
                                                     query_seconds=query_seconds))
    proc = subprocess.Popen([server, "+foreground", "+configfile", str(folder / "virtuoso.ini")], cwd=folder,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{http}/sparql"
    try:
        deadline = time.monotonic() + start_seconds
        while True:
            try:
                with urllib.request.urlopen(url + "?query=ASK%7B%7D", timeout=2) as resp:  # noqa: S310 - loopback
                    resp.read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log = folder / "virtuoso.log"
                    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                    raise StoreError(f"Virtuoso did not start in {folder}: {tail}") from None
                time.sleep(0.3)
        running = Virtuoso(url, folder, sql, proc, client)
        running.isql('GRANT SPARQL_UPDATE TO "SPARQL";', timeout=60)
        yield running
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
