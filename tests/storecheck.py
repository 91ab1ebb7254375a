"""What the fault tests check a store for after a fault: quads per named graph, and that every case
it holds is whole (exactly the graphs, with the quads, of a clean run)."""

from __future__ import annotations

from pathlib import Path

COUNTS = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"


def graph_counts(store: Path) -> dict[str, int]:
    """Quads per named graph of the store at ``store`` (opened, read and closed)."""
    from kg.store.store import LocalStore

    s = LocalStore(store)
    try:
        return {str(r[0]): int(str(r[1])) for r in s.query(COUNTS).rows}
    finally:
        s.close()


def whole_cases_only(got: dict[str, int], reference: dict[str, int]) -> set[str]:
    """The cases in ``got``; asserts each has exactly the graphs, with the quads, of ``reference``."""
    by_case: dict[str, dict[str, int]] = {}
    for g, n in got.items():
        case, _, name = g.rpartition("/graph/")
        by_case.setdefault(case, {})[g] = n
    for case, graphs in by_case.items():
        if "/case/" not in case:
            continue
        expected = {g: n for g, n in reference.items() if g.startswith(case + "/graph/")}
        assert graphs == expected, f"{case} is not whole: {graphs} != {expected}"
    return {c for c in by_case if "/case/" in c}
