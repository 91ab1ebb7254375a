"""Paths the tests share: the examples and the real letters beside the checkout."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SEED_CASE = EXAMPLES / "seed-trigger-point-2015.yaml"
MET_CASE = EXAMPLES / "tpi-repeat-all-criteria-met.yaml"
LETTERS = ROOT.parent / "shared" / "letters"
#: why a test that needs the real letters is skipped in a checkout without them (a clean clone)
LETTERS_MISSING = f"needs the real letters at {LETTERS} (../shared/letters beside the checkout)"
#: the letters are there: their folder holds ``labels.json``, which comes with them
HAS_LETTERS = (LETTERS / "labels.json").is_file()
#: marks a test that reads the real letters (or the seed example's letter among them)
needs_letters = pytest.mark.skipif(not HAS_LETTERS, reason=LETTERS_MISSING)


def require_letters() -> None:
    """Skip the calling test or fixture (:func:`pytest.skip`) unless the real letters are there;
    for fixtures, where a mark does not reach."""
    if not HAS_LETTERS:
        pytest.skip(LETTERS_MISSING)


def edx_notes_case() -> dict:
    """A lower-limb EMG request with a hand finding (another limb) and a sensory deficit recorded
    absent: two facts shown under criterion 2 that did not count for it, each for its own reason."""
    return {"case": "edx-notes", "injury": {"date": "2016-10-01"},
            "findings": [{"id": "f-hand", "kind": "neurologic_symptom", "status": "present", "region": "wrist_hand"},
                         {"id": "f-sens", "kind": "dermatomal_sensory_deficit", "status": "absent"}],
            "treatments": [{"id": "tx-pt", "kind": "physical_therapy", "outcome": ["failed"]}],
            "requests": [{"id": "r1", "service": "emg_ncs", "text": "EMG of the bilateral lower extremities",
                          "date": "2016-12-01"}]}


def corpus_case_graphs() -> dict:
    """The five-case corpus of :func:`corpus`, determined: ``{case_id: {graph name: Graph}}``."""
    import yaml

    from kg.engine.determine import determine_case
    from kg.engine.graph import build_case_graph
    from kg.store.store import case_graphs

    out = {}
    for case in corpus(yaml.safe_load(MET_CASE.read_text())):
        cg = build_case_graph(case)
        out[cg.case_id] = case_graphs(cg, determine_case(cg))
    return out



def corpus(met: dict) -> list:
    """Five cases: the seed, the all-met case and three variants, each with a reviewer decision."""
    import copy

    from kg.read.casefile import load_case_file, parse_case

    def variant(case_id: str, change, imr: dict, ur: dict | None = None) -> dict:
        c = copy.deepcopy(met)
        c["case"] = case_id
        change(c)
        c["requests"][0]["imr"] = imr
        if ur:
            c["requests"][0]["ur"].update(ur)
        return c

    pmr = "Physical Medicine & Rehabilitation"
    cases = [
        variant("tpi-repeat-met", lambda c: None,
                {"decision": "overturned", "date": "2016-03-01", "specialty": pmr,
                 "citation": "Decision based on MTUS Chronic Pain Medical Treatment 2009, Section(s): Trigger point "
                             "injections."}),
        variant("tpi-six", lambda c: c["requests"][0].update(injections=6),
                {"decision": "overturned", "date": "2016-02-10", "specialty": "Anesthesiology",
                 "citation": "Decision based on Non-MTUS Citation Official Disability Guidelines (ODG) Pain"},
                {"decision": "modified"}),
        variant("tpi-radic", lambda c: c["diagnoses"].append(
                    {"id": "dx-radic", "label": "cervical radiculopathy", "kind": "radiculopathy"}),
                {"decision": "upheld", "date": "2016-02-20", "specialty": "Anesthesiology",
                 "citation": "The Expert Reviewer did not cite any medical evidence for its decision."}),
        variant("acu", lambda c: c["requests"][0].update(service="transportation", text="Transportation to "
                                                                                        "appointments"),
                {"decision": "upheld", "date": "2016-02-20", "specialty": pmr,
                 "citation": "Decision based on MTUS Acupuncture Treatment 2007."}),
    ]
    return [load_case_file(SEED_CASE)] + [parse_case(c) for c in cases]


_CORPUS: dict = {}


def corpus_store():
    """A new in-memory store holding the guidelines and the five-case corpus of
    :func:`corpus_case_graphs` (determined once per test session; the graphs are only read)."""
    from kg.store.store import open_store

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


def watch(page, server) -> list[str]:
    """Record console errors and warnings, page errors, and every request that is not to the
    server (a download's ``blob:`` URL of the server's own origin counts as the server's)."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
            if msg.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))

    def route(r):
        url = r.request.url
        if url.startswith(server.url + "/") or url.startswith("blob:" + server.url + "/"):
            r.continue_()
        else:
            problems.append(f"off-server request: {url}")
            r.abort()

    page.route("**/*", route)
    return problems


#: axe-core, installed beside the editor by hatch_build.py's ``npm ci`` (never fetched by a page)
AXE = ROOT / "kg" / "web" / "static" / "editor" / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page) -> list[str]:
    """The WCAG 2.1 A and AA violations axe-core finds in ``page`` (a Playwright page), as
    ``"rule: target, ..."`` lines; axe's own script is evaluated in the page, not added as a
    ``<script>`` the page's policy would have to allow."""
    assert AXE.is_file(), f"{AXE} is missing: reinstall with `pip install -e '.[test]'` (npm ci runs then)"
    page.evaluate(AXE.read_text(encoding="utf-8"))
    return page.evaluate("""async () => {
        const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
        const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
        return r.violations.map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '));
    }""")
