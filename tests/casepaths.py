"""Paths the tests share: the examples and the real letters beside the checkout."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SEED_CASE = EXAMPLES / "seed-trigger-point-2015.yaml"
MET_CASE = EXAMPLES / "tpi-repeat-all-criteria-met.yaml"
LETTERS = ROOT.parent / "shared" / "letters"
