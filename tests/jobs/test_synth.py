"""Synthetic corpora: deterministic, marked synthetic, following the letters' statistics."""

from __future__ import annotations

import json

from casepaths import LETTERS, needs_letters

from kg.cli import main
from kg.jobs.synth import letter_statistics, load_statistics, load_synthetic, synthesize
from kg.store.store import open_store


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


@needs_letters
def test_statistics_are_counted_from_letters(tmp_path):
    stats = letter_statistics(LETTERS)
    assert stats["letters"] == 125
    assert sum(stats["service_kind"].values()) == 273
    assert sum(stats["overturned_by_kind"].values()) == 19
    out = tmp_path / "stats.json"
    assert main(["synth", "--stats-from", str(LETTERS), "-o", str(out), "--quiet"]) == 0
    assert json.loads(out.read_text())["letters"] == 125


def test_load_and_cli(tmp_path, capsys):
    store = open_store("memory")
    assert load_synthetic(store, 30, seed=2, batch=7) == 30
    assert len(store.case_ids()) == 30
    assert main(["synth", "--cases", "5", "--seed", "1", "--store", str(tmp_path / "s"), "--create", "--quiet",
                 "--determine"]) == 0
    assert "5 determined, 0 failed" in capsys.readouterr().err
    assert main(["synth", "--store", "memory"]) == 2


def test_stats_from_a_missing_folder_is_bad_input(tmp_path, capsys):
    """``--stats-from`` a folder that is not there: exit 2 naming it, no traceback, nothing written."""
    missing = tmp_path / "no-such-letters"
    assert main(["synth", "--stats-from", str(missing), "-o", str(tmp_path / "stats.json"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{missing}: not a folder of letters" in err and "Traceback" not in err
    assert not (tmp_path / "stats.json").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["synth", "--stats-from", str(empty), "-o", str(tmp_path / "stats.json"), "--quiet"]) == 2
    assert f"{empty}: no letter could be read there (0 .pdf/.txt file(s))" in capsys.readouterr().err
    assert not (tmp_path / "stats.json").exists()


# ---------------------------------------------------------------------------
# Synthetic letters: written in the 2016-2017 layout, read back by our own reader
# ---------------------------------------------------------------------------
def _read_back(tmp_path, cases):
    from kg.extract.case import read_case_from_letter
    from kg.jobs.synth import write_letters

    paths = write_letters(cases, tmp_path / "letters")
    assert [p.name for p in paths] == [f"{c.case_id}.txt" for c in cases]
    return [read_case_from_letter(str(p)).case for p in paths], paths


def test_letters_round_trip_through_the_letter_reader(tmp_path):
    from kg.extract.medication import MEDICATION_KINDS
    from kg.jobs.synth import _NO_OUTCOME_KINDS, _SESSION_KINDS, OUTCOME_TEXT

    cases = list(synthesize(20, seed=7))
    back, _ = _read_back(tmp_path, cases)
    items = [r for c in cases for r in c.requests]
    # the seeded set exercises what the layout has to carry
    assert len(items) >= 30 and any(len(c.requests) >= 5 for c in cases)
    assert {"upheld", "overturned"} == {r.imr.decision for r in items}
    assert {"denied", "modified"} == {r.ur.decision for r in items}
    assert any(r.sessions for r in items) and any(t.sessions for c in cases for t in c.treatments)
    for c, e in zip(cases, back, strict=False):
        assert e.case_id == c.case_id
        assert (e.worker.age, e.worker.sex) == (c.worker.age, c.worker.sex)
        assert e.injury.date == c.injury.date
        # every request: service kind, visits, request date, UR decision and date, IMR decision and date
        assert [(r.service, r.sessions, r.date, r.ur.decision, r.ur.date, r.imr.decision, r.imr.date)
                for r in e.requests] == \
               [(r.service, r.sessions, r.date, r.ur.decision, r.ur.date, r.imr.decision, r.imr.date)
                for r in c.requests]
        # one reviewer signs a letter: the first item's specialty
        assert {r.imr.specialty for r in e.requests} == {c.requests[0].imr.specialty}
        # findings (kind and polarity); flare-ups and dyspepsia are read only beside a medication request
        medication = any(r.service in MEDICATION_KINDS for r in c.requests)
        assert {(f.kind, f.status) for f in e.findings} == \
               {(f.kind, f.status) for f in c.findings if medication or f.kind not in ("acute_exacerbation",
                                                                                       "dyspepsia")}
        # prior treatments: the kinds; for the first of each kind its outcome and counted sessions
        assert {t.kind for t in e.treatments} == {t.kind for t in c.treatments}
        first: dict = {}
        for t in c.treatments:
            first.setdefault(t.kind, t)
        for kind, t in first.items():
            read = [x for x in e.treatments if x.kind == kind]
            if kind not in _NO_OUTCOME_KINDS and t.outcomes[0] in OUTCOME_TEXT:
                assert t.outcomes[0] in {o for x in read for o in x.outcomes}, (c.case_id, kind)
            if kind in _SESSION_KINDS and t.sessions:
                assert t.sessions in {x.sessions for x in read}, (c.case_id, kind)


def test_every_service_kind_and_finding_sentence_reads_back(tmp_path):
    import dataclasses

    from kg.extract.services import classify_service
    from kg.jobs.synth import FINDING_TEXT, SERVICE_TEXT
    from kg.model import Finding, vocabulary

    stats = load_statistics()
    vocab = vocabulary()
    assert {k for k in stats["service_kind"] if k in vocab.treatments} <= set(SERVICE_TEXT)
    assert {k for k in stats["finding"] if k.split(":")[0] in vocab.findings} <= set(FINDING_TEXT)
    for kind, text in SERVICE_TEXT.items():
        if kind not in ("partial_hospitalization", "transforaminal_epidural_steroid_injection"):
            assert classify_service(text.format(visits=" for 12 visits")) == kind, kind
    base = next(synthesize(1, seed=3))
    base = dataclasses.replace(base, findings=(), treatments=())
    day = base.requests[0].date
    cases = [dataclasses.replace(base, case_id=f"synthetic-3-{i:07d}",
                                 requests=(dataclasses.replace(base.requests[0], service=kind, sessions=None),))
             for i, kind in enumerate(sorted(SERVICE_TEXT))]
    cases += [dataclasses.replace(base, case_id=f"synthetic-3-f{i:06d}",
                                  requests=(dataclasses.replace(base.requests[0], service="nsaid", sessions=None),),
                                  findings=(Finding(id="f0", kind=key.split(":")[0], status=key.split(":")[1],
                                                    date=day),))
              for i, key in enumerate(sorted(FINDING_TEXT))]
    back, _ = _read_back(tmp_path, cases)
    for c, e in zip(cases, back, strict=False):
        assert [r.service for r in e.requests] == [r.service for r in c.requests]
        assert {(f.kind, f.status) for f in e.findings} == {(f.kind, f.status) for f in c.findings}, c.findings


def test_letters_are_marked_synthetic_and_in_the_layout(tmp_path):
    from kg.jobs.synth import SYNTHETIC_MARK, letter_text
    from kg.read.letter import parse_letter, read_letter_text

    (case,) = list(synthesize(1, seed=9))
    _, (path,) = _read_back(tmp_path, [case])
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == SYNTHETIC_MARK and text.splitlines()[-1] == SYNTHETIC_MARK
    assert text == letter_text(case)
    rec = parse_letter(read_letter_text(path))
    assert rec.layout == "2016" and rec.case_number.text == case.case_id
    assert rec.decision_date.value == case.requests[0].imr.date
    assert (rec.date_assigned.value <= rec.decision_date.value
            and rec.application_received.value >= rec.ur_denial_date.value)
    assert [i.decision.text for i in rec.items] == \
           ["Overturned" if r.imr.decision == "overturned" else "Upheld" for r in case.requests]
    assert all(i.citation.kind == "none" for i in rec.items)  # a synthetic letter cites no guideline


def test_cli_writes_letters(tmp_path, capsys):
    out = tmp_path / "letters"
    assert main(["synth", "--cases", "3", "--seed", "4", "--letters", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [f"synthetic-4-{i:07d}.txt" for i in range(3)]
    assert "3 synthetic letter(s) written" in capsys.readouterr().err
    assert main(["synth", "--cases", "3", "--letters", str(out), "--determine"]) == 2
