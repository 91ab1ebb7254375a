"""Every query of the library runs on a fixture and gives the exact rows expected."""

from __future__ import annotations

from rdflib import Dataset, URIRef
from rdflib.plugins.sparql import prepareQuery

from kg.casefile import load_case_file
from kg.determine import determination_graph, determine_case
from kg.graph import build_case_graph
from kg.reason import infer, load_ontology
from kg.resources import data_files
from kg.validate import default_shapes

from casepaths import SEED_CASE


def seed_dataset() -> Dataset:
    cg = build_case_graph(load_case_file(SEED_CASE))
    ds = Dataset(default_union=True)
    for name, graph in (("asserted", cg.asserted), ("inferred", infer(cg.asserted)), ("reviewer", cg.reviewer),
                        ("determination", determination_graph(determine_case(cg)))):
        target = ds.graph(cg.graph_iri(name))
        for t in graph:
            target.add(t)
    guideline = ds.graph(URIRef("https://w3id.org/imr-kg/graph/guidelines"))
    for t in default_shapes().graph + load_ontology():
        guideline.add(t)
    return ds


def test_every_query_parses():
    for path in data_files("queries"):
        prepareQuery(path.read_text(encoding="utf-8"))


def test_criterion_trace_of_the_seed_case():
    (path,) = [p for p in data_files("queries") if p.stem == "criterion-trace"]
    rows = seed_dataset().query(path.read_text(encoding="utf-8"),
                                initBindings={"case": URIRef("https://w3id.org/imr-kg/case/seed-tpi-2015/")})
    got = [(int(r.number), str(r.status), None if r.fact is None else str(r.fact).rsplit("/", 1)[-1]) for r in rows]
    assert got == [
        (1, "not documented", "f-trigger-points"),
        (2, "met", "req-tpi"), (2, "met", "sx-neck-pain"),
        (3, "not documented", "tx-hep"), (3, "not documented", "tx-pt"),
        (4, "not met", "dx-radiculitis"), (4, "not met", "f-sensation-c3-c4"),
        (5, "not documented", "service"),
        (6, "not applicable", None), (7, "not applicable", None),
        (8, "not documented", "service"),
    ]
