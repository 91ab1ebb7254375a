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
