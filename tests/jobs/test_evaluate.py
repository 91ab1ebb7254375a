"""Tests for kg.jobs.evaluate and ``imrkg eval``: exact figures on a fixed subset of the real letters."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from casepaths import LETTERS, needs_letters, require_letters

from kg.cli import main
from kg.errors import InputError
from kg.jobs.evaluate import engine_figures, evaluate, render_report

LABELS = LETTERS / "labels.json"

# Ten letters: the seed (trigger point injections), letters with
# overturned items, the 21-item letter, partial authorisations, and the letters
# whose labels are known to be wrong (a service cut at a page break, a wrapped
# specialty line; see tests/test_letter.py).
SUBSET = ["seed-trigger-point-2015.txt", "CM16-0213037.pdf", "CM16-0229336.pdf", "CM16-0235991.pdf",
          "CM16-0247802.pdf", "CM16-0248698.pdf", "CM16-0239569.pdf", "CM17-0007300.pdf", "CM17-0012582.pdf",
          "CM17-0020728.pdf"]


@pytest.fixture(scope="module")
def subset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_letters()
    folder = tmp_path_factory.mktemp("subset")
    for name in SUBSET:
        shutil.copy(LETTERS / name, folder / name)
    return folder


def _check_subset_figures(data: dict) -> None:
    assert (data["letters"], data["letters_read"], data["letters_failed"]) == (10, 10, [])
    assert data["labels_without_letter"] == 115
    fields = {k: (v["correct"], v["total"]) for k, v in data["extraction"]["fields"].items()}
    assert fields == {
        "case": (9, 9), "assigned": (9, 9), "injury": (9, 9), "decided": (9, 9), "ur_denial": (9, 9),
        "specialty": (8, 9), "case_injury_date": (9, 9), "case_ur_date": (9, 9), "item_count": (9, 9),
        "service": (41, 43), "decision": (43, 43), "maximus_guideline": (43, 43), "case_reviewer_decision": (43, 43),
    }
    # the three misses are the known label errors, not extraction errors
    misses = data["extraction"]["mismatches"]
    assert [m.split(" ", 2)[:2] for m in misses] == [
        ["service:", "CM16-0229336"], ["specialty:", "CM17-0007300"], ["service:", "CM17-0020728"]]
    cov = data["extraction"]["coverage"]
    assert (cov["letters"], cov["requests"], cov["request_kind_known"]) == (10, 44, 44)
    assert (cov["with_age"], cov["with_sex"], cov["with_finding_absent"]) == (10, 10, 3)
    en = data["engine"]
    assert (en["items"], en["covered"], en["coverage"]) == (44, 42, 0.9545)
    assert en["confusion_matrix"] == {
        "upheld": {"not_medically_necessary": 37, "medically_necessary": 2, "not_covered": 1},
        "overturned": {"not_medically_necessary": 0, "medically_necessary": 3, "not_covered": 1}}
    assert (en["upheld_recall"], en["overturned_recall"], en["balanced_accuracy"]) == (0.9487, 1.0, 0.9744)
    assert (en["overturn_recall"], en["overturn_precision"]) == (1.0, 0.6)
    assert [(d["case"], d["request"]) for d in en["disagreements"]] == [
        ("CM16-0248698", "r16"), ("CM16-0248698", "r20")]  # r10 (Fanatrex kit): the oral-form criterion
    assert len(en["decided_items"]) == 42
    assert {"case": "seed-trigger-point-2015", "request": "r1",
            "service": "Trigger Point Injection cervical paravertebral muscles ultrasound guided",
            "reviewer": "upheld", "engine": "not_medically_necessary",
            "section": "Trigger point injections"} in en["decided_items"]
    by_section = {r["name"]: (r["items"], r["covered"], r["agree"], r["upheld"], r["overturned"])
                  for r in en["by_engine_section"]}
    assert by_section["not covered"] == (2, 0, 0, 1, 1)
    # the clinic sessions of ice and heat (CM16-0239569): at-home applications are as effective
    assert by_section["Heat and cold applied at home (Physical Methods)"] == (1, 1, 1, 1, 0)
    # the knee cortisone injection the reviewer certified (CM17-0012582 r4)
    assert by_section["Knee: corticosteroid injections (Initial Care)"] == (1, 1, 1, 0, 1)
    assert by_section["Functional capacity evaluation (General Approaches)"] == (1, 1, 1, 1, 0)
    assert by_section["Knee: platelet-rich plasma injections (outside the MTUS)"] == (1, 1, 1, 1, 0)
    assert by_section["Trigger point injections"] == (1, 1, 1, 1, 0)
    assert by_section["Topical analgesics and compounded topicals"] == (5, 5, 5, 5, 0)
    assert by_section["Electrodiagnostic studies (EMG/NCS) (Special Studies)"] == (3, 3, 3, 2, 1)
    assert by_section["Office visits and specialist consultations"] == (1, 1, 1, 0, 1)
    assert sum(v[0] for v in by_section.values()) == 44
    by_cited = {r["name"]: r["items"] for r in en["by_cited_guideline"]}
    assert by_cited["MTUS Chronic Pain Medical Treatment 2016: Compound drugs"] == 6
    assert by_cited["outside MTUS"] == 4
    assert sum(by_cited.values()) == 44


@needs_letters
def test_eval_subset_library(subset_dir: Path) -> None:
    report = evaluate(subset_dir, LABELS)
    _check_subset_figures(report.data)
    text = render_report(report)
    assert "Engine: 42 of 44 items decided (coverage 95.5%)" in text
    assert "Balanced accuracy (decided items): 97.4%" in text


@needs_letters
def test_eval_subset_cli(subset_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.json"
    assert main(["eval", str(subset_dir), "--labels", str(LABELS), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert re.search(r"^  service +41/43 +95\.3%$", captured.out, re.M)
    assert "10/10" in captured.err  # the progress indicator
    data = json.loads(out.read_text(encoding="utf-8"))
    _check_subset_figures(data)
    assert set(data["timing"]) == {"total_s", "extract_s", "engine_s", "per_letter_s"}


@needs_letters
def test_eval_counts_unreadable_letters(subset_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "with-bad"
    folder.mkdir()
    shutil.copy(subset_dir / "CM16-0213037.pdf", folder / "CM16-0213037.pdf")
    (folder / "CM16-0235991.pdf").write_bytes(b"%PDF-1.4 broken")
    report = evaluate(folder, LABELS)
    assert [f["file"] for f in report.data["letters_failed"]] == ["CM16-0235991.pdf"]
    fields = report.data["extraction"]["fields"]
    assert (fields["case"]["correct"], fields["case"]["total"]) == (1, 2)
    assert (fields["service"]["correct"], fields["service"]["total"]) == (2, 4)


def test_eval_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a folder"):
        evaluate(tmp_path / "missing")
    bad = tmp_path / "labels.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="labels.json"):
        evaluate(tmp_path, bad)
    assert main(["eval", str(tmp_path / "missing"), "--quiet"]) == 2


def test_engine_figures_when_both_classes_are_decided() -> None:
    def item(n: int, reviewer: str, engine: str) -> dict:
        return {"case": "c", "request": f"r{n}", "service": "TPI", "reviewer": reviewer, "engine": engine,
                "section": "Trigger point injections", "version": "v", "cited": "MTUS", "criteria": [
                    {"number": 1, "label": "x", "status": "met", "reasons": []}]}

    f = engine_figures([item(1, "upheld", "not_medically_necessary"), item(2, "upheld", "medically_necessary"),
                        item(3, "upheld", "not_medically_necessary"), item(4, "overturned", "medically_necessary"),
                        item(5, "overturned", "not_covered")])
    assert f["confusion_matrix"]["upheld"] == {"not_medically_necessary": 2, "medically_necessary": 1, "not_covered": 0}
    assert (f["coverage"], f["upheld_recall"], f["overturned_recall"]) == (0.8, 0.6667, 1.0)
    assert f["balanced_accuracy"] == 0.8333
    assert (f["overturn_recall"], f["overturn_precision"]) == (1.0, 0.5)
    assert [d["request"] for d in f["disagreements"]] == ["r2"]
    assert f["disagreements"][0]["criteria"][0]["status"] == "met"


@needs_letters
def test_eval_pairs_engine_items_with_letter_items_by_request(tmp_path: Path) -> None:
    """Regression: the engine's items come sorted by IRI text (r1, r10, ..., r2); each must be
    paired with the letter's item of the same request, not the item at the same position."""
    shutil.copy(LETTERS / "CM16-0248698.pdf", tmp_path / "CM16-0248698.pdf")
    en = evaluate(tmp_path, LABELS).data["engine"]
    requests = [x["request"] for x in en["decided_items"]]
    assert requests == sorted(requests, key=lambda r: int(r[1:]))  # letter order
    by_request = {x["request"]: x["service"] for x in en["decided_items"]}
    assert by_request["r3"].startswith("Acupuncture")
    assert by_request["r10"].startswith("Fanatrex")
    cited = {r["name"]: (r["items"], r["covered"], r["agree"]) for r in en["by_cited_guideline"]}
    assert cited["MTUS Chronic Pain Medical Treatment 2016: Compound drugs"] == (6, 6, 6)
    assert cited["MTUS Acupuncture Treatment 2007"] == (1, 1, 1)
    assert cited["outside MTUS"] == (2, 2, 2)  # the two ODG hip items: the ODG hip and head imaging section
