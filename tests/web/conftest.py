"""What the tests of kg.web share: the five-case corpus served by a real uvicorn on loopback,
with an update token and one allowed CORS origin, and an HTTP client for it."""

from __future__ import annotations

import httpx
import pytest
from casepaths import LoopbackServer as Server
from casepaths import corpus_store, watch

from kg.web.app import create_app

TOKEN = "s3cret-token"
ALLOWED = "https://audit.example"


@pytest.fixture(scope="module")
def token() -> str:
    """The update token the shared server takes."""
    return TOKEN


@pytest.fixture(scope="module")
def allowed_origin() -> str:
    """The one CORS origin the shared server allows."""
    return ALLOWED


@pytest.fixture(scope="module")
def store():
    return corpus_store()


@pytest.fixture(scope="module")
def server(store):
    srv = Server(create_app(store, allow_update_token=TOKEN, result_limit=1000, max_body_bytes=20_000,
                            cors_origins=(ALLOWED,), query_timeout=30))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture
def page(browser, server):
    """A fresh browser page on the module's ``server``, its problems (console errors, requests off
    the server) recorded in ``page.problems``; a module may give its own."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.problems = watch(page, server)
    yield page
    context.close()
