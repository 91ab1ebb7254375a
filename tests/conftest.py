"""Shared fixtures: paths to the examples and to the real letters beside the checkout."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Iterator

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


CHROMIUM = Path("/usr/bin/chromium")
# Debian's chromium, headless, with everything that would reach for the network switched off.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the browser tests (fails, never skips, when chromium is missing)."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "chromium is not installed: apt-get install -y chromium"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, timeout=30_000)
        yield browser
        browser.close()


@pytest.fixture(autouse=True, scope="session")
def letters_document_root() -> Iterator[None]:
    """The seed example finds its letter only in an allowed document root: the tests allow the
    letters folder beside the checkout explicitly, for the whole session, so that module- and
    session-scoped fixtures see it too (a test of the absent-document rule unsets it with its own
    ``monkeypatch``, which restores it afterwards)."""
    from casepaths import LETTERS

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IMRKG_DOCUMENT_ROOTS", str(LETTERS))
        yield
