"""kg.extract.treatments: the treatments to date a case summary names."""

from __future__ import annotations

import doctest

import kg.extract.treatments


def test_doctests() -> None:
    assert doctest.testmod(kg.extract.treatments).failed == 0
