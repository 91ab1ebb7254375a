"""Drawing the evidence graph (kg.viz.draw): GraphML, the static SVG and PNG pictures, any RDF
graph as boxes, and every output byte-stable under any hash seed."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
from casepaths import corpus_store, needs_letters

from kg.viz.draw import audit_png, audit_svg, graph_svg, layout, write_graphml

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "seed-trigger-point-2015.yaml"
SVG = "{http://www.w3.org/2000/svg}"
COLOURS = {"met": "#2e7d32", "not_met": "#c62828", "not_documented": "#b33c00", "not_applicable": "#757575"}


@needs_letters
def test_graphml_parses_and_holds_the_nodes(seed_graph, seed_nodes, tmp_path):
    out = tmp_path / "seed.graphml"
    write_graphml(seed_graph, out)
    back = nx.read_graphml(out)
    assert set(back.nodes) == seed_nodes and back.number_of_edges() == 43
    assert back.nodes["criterion:req-tpi/4"]["status"] == "not_met"
    assert back.nodes["quote:seed-letter@1290-1314"]["start"] == 1290
    root = ET.parse(out).getroot()
    ns = "{http://graphml.graphdrawing.org/xmlns}"
    assert len(root.findall(f".//{ns}node")) == 36 and len(root.findall(f".//{ns}edge")) == 43
    # the inputs of a derived value travel with it: its edge says which value, the input which fact
    edge = back.edges["fact:req-tpi", "input:daysSinceInjury/injury#injuryDate"]
    assert (edge["relation"], edge["derived"], edge["value"]) == ("computed_from", "daysSinceInjury", "1873")


@needs_letters
def test_static_svg_parses_and_draws_every_node_with_its_status_colour(seed_graph, seed_nodes, seed_status,
                                                                        svg_nodes):
    text = audit_svg(seed_graph)
    nodes = svg_nodes(text)
    drawn = {n for n in nodes if not n.startswith("legend:")}
    # the inputs of derived values (and the quote only they lead to) are told on the page, not drawn
    inputs = {n for n in seed_nodes if n.startswith("input:")} | {"quote:seed-letter@1090-1136"}
    assert drawn == seed_nodes - {"case"} - inputs and len(drawn) == 30
    for number, status in seed_status.items():
        g = nodes[f"criterion:req-tpi/{number}"]
        assert g.get("data-status") == status
        assert g.find(f"{SVG}rect").get("fill") == COLOURS[status]
    root = ET.fromstring(text.encode("utf-8"))
    edges = [p for p in root.iter(f"{SVG}path") if "edge" in (p.get("class") or "")]
    assert len(edges) == 30  # all 32 but case->request (the title) and engine->reviewer (side by side)
    assert "and cervical radiculitis" in nodes["quote:seed-letter@1290-1314"].find(f"{SVG}title").text
    # every line of text at 14 px or more (the picture is shown at its own size on the audit page)
    assert root.get("font-size") == "14"
    assert all(float(t.get("font-size", "14")) >= 14 for t in root.iter(f"{SVG}text"))


def test_png_is_a_png_of_the_picture_size(seed_graph):
    import io

    from PIL import Image

    data = audit_png(seed_graph)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    lay = layout(seed_graph)
    assert Image.open(io.BytesIO(data)).size == (round(lay.width), round(lay.height))
    assert audit_png(seed_graph) == data


def test_construct_result_picture(svg_nodes):
    store = corpus_store()
    res = store.query("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH <https://w3id.org/imr-kg/case/seed-tpi-2015/graph/"
                      "determination> { ?s ?p ?o } }")
    svg = graph_svg(res.graph)
    nodes = svg_nodes(svg)
    crit4 = "https://w3id.org/imr-kg/case/seed-tpi-2015/req-tpi/determination/criterion-4"
    assert nodes[crit4].find(f"{SVG}rect").get("fill") == COLOURS["not_met"]
    assert sum(1 for n in nodes if "/determination/criterion-" in n) == 8


_HASHES = """
import hashlib, sys
from kg.jobs.ingest import read_input
from kg.viz.draw import audit_png, audit_svg, graphml
from kg.viz.evidence import evidence_graph
from kg.viz.pages import audit_html
from kg.viz.report import report_html
from casepaths import corpus_store
g = evidence_graph(read_input(sys.argv[1]))
h = hashlib.sha256()
for part in (audit_html(g), audit_svg(g), graphml(g), report_html(corpus_store())):
    h.update(part.encode("utf-8"))
h.update(audit_png(g))
print(h.hexdigest())
"""


def test_outputs_are_byte_stable_under_any_hash_seed():
    digests = set()
    for seed in ("1", "4242"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(ROOT / "tests"))
        out = subprocess.run([sys.executable, "-c", _HASHES, str(SEED)], capture_output=True, text=True, env=env,
                             cwd=ROOT, check=True)
        digests.add(out.stdout.strip())
    assert len(digests) == 1
