"""Shared fixtures: paths to the examples and to the real letters beside the checkout."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from casepaths import MET_CASE


@pytest.fixture
def met_case_data() -> dict[str, Any]:
    """The all-criteria-met case as a plain dict, ready to be changed by a test."""
    with MET_CASE.open(encoding="utf-8") as fh:
        return copy.deepcopy(yaml.safe_load(fh))


@pytest.fixture(autouse=True)
def private_default_store(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test touches the user's default store."""
    monkeypatch.setenv("IMRKG_STORE", str(tmp_path_factory.mktemp("default-store")))
