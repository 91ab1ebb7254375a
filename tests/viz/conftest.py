"""What the tests of kg.viz share: the seed case, its evidence graph and what it must hold."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from casepaths import SEED_CASE

from kg.jobs.ingest import read_input
from kg.viz.evidence import evidence_graph

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="session")
def seed_cg():
    """The seed case (examples/seed-trigger-point-2015.yaml) as a case graph."""
    return read_input(SEED_CASE)


@pytest.fixture(scope="session")
def seed_graph(seed_cg):
    """The evidence graph of the seed case, determined in memory."""
    return evidence_graph(seed_cg)


@pytest.fixture(scope="session")
def seed_nodes() -> set[str]:
    """Every node the seed case's evidence graph must hold, and no other."""
    return {
        "case", "request:req-tpi", "decision:req-tpi", "reviewer:req-tpi", "guideline:req-tpi",
        *(f"criterion:req-tpi/{n}" for n in range(1, 9)),
        "fact:f-trigger-points", "fact:req-tpi", "fact:sx-neck-pain", "fact:tx-hep", "fact:tx-pt",
        "fact:dx-radiculitis", "fact:f-sensation-c3-c4", "fact:req-tpi/service",
        *(f"quote:seed-letter@{span}" for span in ("1958-2028", "2300-2376", "3161-3207", "3239-3312", "1392-1425",
                                                   "1727-1817", "2653-2674", "2499-2532", "1290-1314",
                                                   "2165-2235", "1090-1136")),
        # the recorded facts the request's derived values were computed from
        "input:daysSinceInjury/injury#injuryDate", "input:daysSinceInjury/req-tpi#requestDate",
        "input:symptomDocumentedDays/req-tpi#requestDate",
        "input:symptomDocumentedDays/sx-neck-pain#documentedSince",
    }


@pytest.fixture(scope="session")
def seed_status() -> dict[int, str]:
    """The status of each of the seed request's eight criteria."""
    return {1: "not_documented", 2: "met", 3: "not_documented", 4: "not_met", 5: "not_documented",
            6: "not_applicable", 7: "not_applicable", 8: "not_documented"}


@pytest.fixture(scope="session")
def svg_nodes():
    """A function from SVG text to its node groups, ``{data-node: <g> element}``."""
    def nodes(text: str) -> dict[str, ET.Element]:
        root = ET.fromstring(text.encode("utf-8"))
        return {g.get("data-node"): g for g in root.iter(f"{SVG}g") if g.get("data-node")}

    return nodes
