"""Synthetic corpora: deterministic, marked synthetic, following the letters' statistics."""

from __future__ import annotations

import json

from kg.cli import main
from kg.store import open_store
from kg.synth import letter_statistics, load_statistics, load_synthetic, synthesize

from casepaths import LETTERS


def test_same_seed_same_cases_and_marked_synthetic():
    a, b = list(synthesize(20, seed=5)), list(synthesize(20, seed=5))
    assert a == b
    assert a != list(synthesize(20, seed=6))
    assert all(c.case_id.startswith("synthetic-5-") and c.title.startswith("Synthetic case") for c in a)


def test_distributions_follow_the_statistics():
    stats = load_statistics()
    cases = list(synthesize(2000, seed=1))
    items = [r for c in cases for r in c.requests]
    share = sum(r.imr.decision == "overturned" for r in items) / len(items)
    real = sum(stats["overturned_by_kind"].values()) / sum(stats["service_kind"].values())
    assert abs(share - real) < 0.02, (share, real)
    kinds = {r.service for r in items}
    top = max(stats["service_kind"], key=stats["service_kind"].get)
    assert top in kinds
    one_item = sum(len(c.requests) == 1 for c in cases) / len(cases)
    real_one = stats["items_per_letter"]["1"] / sum(stats["items_per_letter"].values())
    assert abs(one_item - real_one) < 0.04


def test_statistics_are_counted_from_letters():
    stats = letter_statistics(LETTERS)
    assert stats["letters"] == 125
    assert sum(stats["service_kind"].values()) == 273
    assert sum(stats["overturned_by_kind"].values()) == 19


def test_load_and_cli(tmp_path, capsys):
    store = open_store("memory")
    assert load_synthetic(store, 30, seed=2, batch=7) == 30
    assert len(store.case_ids()) == 30
    assert main(["synth", "--cases", "5", "--seed", "1", "--store", str(tmp_path / "s"), "--quiet",
                 "--determine"]) == 0
    assert "5 determined, 0 failed" in capsys.readouterr().err
    assert main(["synth", "--store", "memory"]) == 2
    out = tmp_path / "stats.json"
    assert main(["synth", "--stats-from", str(LETTERS), "-o", str(out), "--quiet"]) == 0
    assert json.loads(out.read_text())["letters"] == 125
