"""Paths the tests share: the examples and the real letters beside the checkout."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SEED_CASE = EXAMPLES / "seed-trigger-point-2015.yaml"
MET_CASE = EXAMPLES / "tpi-repeat-all-criteria-met.yaml"
LETTERS = ROOT.parent / "shared" / "letters"


def corpus_case_graphs() -> dict:
    """The five-case corpus of tests/test_query.py, determined: ``{case_id: {graph name: Graph}}``."""
    import yaml

    from kg.determine import determine_case
    from kg.graph import build_case_graph
    from kg.store import case_graphs
    from test_query import corpus

    out = {}
    for case in corpus(yaml.safe_load(MET_CASE.read_text())):
        cg = build_case_graph(case)
        out[cg.case_id] = case_graphs(cg, determine_case(cg))
    return out


_CORPUS: dict = {}


def corpus_store():
    """A new in-memory store holding the guidelines and the five-case corpus of
    :func:`corpus_case_graphs` (determined once per test session; the graphs are only read)."""
    from kg.store import open_store

    if not _CORPUS:
        _CORPUS.update(corpus_case_graphs())
    store = open_store("memory")
    store.ensure_guidelines()
    for case_id, graphs in _CORPUS.items():
        store.put_case(case_id, graphs)
    return store


class LoopbackServer:
    """uvicorn serving ``app`` on a free 127.0.0.1 port in a daemon thread; ``url`` is its base URL.

    Stop it with :meth:`stop` (or use it as a context manager).
    """

    def __init__(self, app) -> None:
        import socket
        import threading
        import time

        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    access_log=False, lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)

    def __enter__(self) -> "LoopbackServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
