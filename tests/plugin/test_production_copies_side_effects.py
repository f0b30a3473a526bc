"""What a production build's fresh import of the app did to the process, and what it imports.

A trial on a public API gateway (its modules add a root handler at import, and import their
errors module inside a function): every production check left its copy's logging handlers
behind (an audit of eight builds: every later log line printed nine times, through files kept
open), and the copy's function-level ``from .errors import ApiError`` found the tests' module,
so its ``except ApiError`` missed and a production build answered 500 where the app answers
401. A route probe answered 401 by an API-key middleware read as a route still reachable."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pytest_hardening import ProdConfigChecker, app_from_import
from pytest_hardening._logging_scope import logging_left_as_found

MAIN = """
import logging
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from gateway.errors import ApiError
from gateway.store import KeyStore

SECRET = os.environ.get("SECRET_KEY", "")  # read at import: a fresh import per check
logging.getLogger().addHandler(logging.StreamHandler())  # as the gateway's own set-up does
logging.getLogger("gateway").setLevel(logging.ERROR)


def create_app():
    if not SECRET or SECRET == "changethis":
        raise RuntimeError("SECRET_KEY must be set")
    store = KeyStore()

    async def ping(request: Request):
        try:
            store.check(request.headers.get("x-key"))
        except ApiError as error:
            return JSONResponse({"error": "bad key"}, status_code=error.status)
        return PlainTextResponse("pong")

    return Starlette(routes=[Route("/ping", ping)])
"""

STORE = """
class KeyStore:
    def check(self, key):
        from .errors import ApiError  # at request time, as the gateway's key check does

        if key != "ok":
            raise ApiError("bad key")
"""

ERRORS = """
class ApiError(Exception):
    status = 401
"""

PROD = {"SECRET_KEY": "s3cr3t-k3y-for-prod"}


@pytest.fixture
def gateway_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    package = tmp_path / "gateway"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "main.py").write_text(MAIN)
    (package / "store.py").write_text(STORE)
    (package / "errors.py").write_text(ERRORS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "dev-secret-value-123")
    root, named = logging.getLogger(), logging.getLogger("gateway")
    state = list(root.handlers), named.level
    try:
        yield "gateway.main:create_app"
    finally:
        for name in [n for n in sys.modules if n.partition(".")[0] == "gateway"]:
            del sys.modules[name]
        root.handlers[:] = state[0]
        named.setLevel(state[1])


def test_production_checks_leave_the_processs_logging_as_they_found_it(gateway_spec: str) -> None:
    import gateway.main  # noqa: F401 - the tests' own copy, and its handler

    root, named = logging.getLogger(), logging.getLogger("gateway")
    before = list(root.handlers)
    named.setLevel(logging.DEBUG)  # a test's own level, after the app's import
    checker = ProdConfigChecker(app_from_import(gateway_spec), PROD)
    checker.assert_accepts()
    checker.assert_rejects(SECRET_KEY="changethis")
    report = checker.audit()
    assert len(report.rejected) >= 2  # each a fresh import, each adding its handler
    assert root.handlers == before
    assert named.level == logging.DEBUG


class Recording(logging.NullHandler):
    closed = False

    def close(self) -> None:
        self.closed = True
        super().close()


def test_the_handlers_a_block_added_are_closed_and_loggers_restored() -> None:
    root, named = logging.getLogger(), logging.getLogger("hardening.test.scope")
    named.disabled, before = False, list(root.handlers)
    added, kept = Recording(), Recording()
    named.addHandler(kept)
    try:
        with logging_left_as_found():
            root.addHandler(added)
            named.disabled = True  # a dictConfig disables the loggers it does not name
            named.removeHandler(kept)
            fresh = logging.getLogger("hardening.test.scope.new")
            fresh.addHandler(logging.NullHandler())
            fresh.setLevel(logging.CRITICAL)
        assert root.handlers == before
        assert (named.disabled, named.handlers) == (False, [kept])
        assert (fresh.handlers, fresh.level) == ([], logging.NOTSET)
        assert (added.closed, kept.closed) == (True, False)
    finally:
        named.removeHandler(kept)


class PhaseHandler(logging.NullHandler):
    """As pytest's capture handlers are: added and removed at each phase of a test."""


PhaseHandler.__module__ = "_pytest.logging"


def test_pytests_own_handlers_are_left_as_pytest_has_them() -> None:
    root = logging.getLogger()
    setup, teardown, app = PhaseHandler(), PhaseHandler(), Recording()
    root.addHandler(setup)
    try:
        with logging_left_as_found():  # a production test's: from its set-up to its teardown
            root.removeHandler(setup)  # the set-up phase ends
            root.addHandler(teardown)  # the teardown phase starts
            root.addHandler(app)
        assert setup not in root.handlers  # not brought back
        assert teardown in root.handlers
        assert app not in root.handlers
        assert app.closed
    finally:
        for handler in (setup, teardown, app):
            root.removeHandler(handler)


def test_a_copys_imports_at_request_time_find_the_copys_modules(gateway_spec: str) -> None:
    import gateway.errors  # the tests' own copy of the errors module

    app = ProdConfigChecker(app_from_import(gateway_spec), PROD).assert_accepts()
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/ping", headers={"x-key": "bad"}).status_code == 401
        assert client.get("/ping", headers={"x-key": "ok"}).text == "pong"
    assert gateway.errors.ApiError is sys.modules["gateway.errors"].ApiError  # ours, untouched


FLAT_MAIN = """
from fastapi import FastAPI

from flat_settings_hz import API_KEY  # a sibling module, read at import (a flat layout)

app = FastAPI()
"""

FLAT_SETTINGS = """
import os

API_KEY = os.getenv("API_KEY")
if not API_KEY:
    raise ValueError("API_KEY is required but not set")
"""


@pytest.fixture
def flat_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    (tmp_path / "flat_main_hz.py").write_text(FLAT_MAIN)
    (tmp_path / "flat_settings_hz.py").write_text(FLAT_SETTINGS)
    (tmp_path / "test_flat_hz.py").write_text("")  # the tests' own module there: left alone
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("API_KEY", "dev-key")
    try:
        yield
    finally:
        for name in ("flat_main_hz", "flat_settings_hz"):
            sys.modules.pop(name, None)


def test_a_flat_layouts_sibling_modules_are_imported_afresh_with_it(flat_layout: None) -> None:
    import flat_main_hz  # noqa: F401 - the development build's import, and its sibling's

    checker = ProdConfigChecker(app_from_import("flat_main_hz:app"), {"API_KEY": "prod-key"})
    error = checker.assert_rejects(drop=["API_KEY"])
    assert "API_KEY is required but not set" in str(error)
    checker.assert_accepts()
    assert sys.modules["flat_settings_hz"].API_KEY == "dev-key"  # the tests' copy, as it was
