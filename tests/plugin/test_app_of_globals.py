"""An app written the way many are: module-level globals. Sentry is initialised when the app's
module is imported (before any fixture runs, with the SDK's HTTP transport), and one app object
serves the whole process. The fixtures still keep its Sentry events in memory, never at its DSN,
and an exception it answers with a 500 is logged with its traceback (pytest shows it under
"Captured log" when the test fails), for the sync and the async client alike."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import sentry_sdk
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pytest_hardening import Harness, SentryCapture
from pytest_hardening.live import SentryIngest


def report(request: Request) -> JSONResponse:
    sentry_sdk.capture_message("reported")
    return JSONResponse({"reported": True})


def boom(request: Request) -> JSONResponse:
    raise LookupError("no forecast for atlantis")


#: A database connection made at import, as small apps do: bound to the importing thread.
LEDGER = sqlite3.connect(":memory:")


async def ledger(request: Request) -> JSONResponse:
    return JSONResponse({"one": LEDGER.execute("select 1").fetchone()[0]})


#: The app object of the module, built once, as ``app = Starlette(...)`` at import would be.
APP = Starlette(routes=[Route("/report", report), Route("/boom", boom), Route("/ledger", ledger)])


@pytest.fixture
def hardening_app_factory() -> Callable[[], Any]:
    return lambda: APP


@pytest.fixture
def hardening_app_reset() -> None:
    return None


@pytest.fixture
def ingest() -> Iterator[SentryIngest]:
    with SentryIngest() as ingest:
        yield ingest


@pytest.fixture
def sentry_at_import(ingest: SentryIngest) -> Iterator[Any]:
    """``sentry_sdk.init`` as the app's module runs it on import: before the harness starts.
    The worker's own Sentry client is put back after."""
    scope = sentry_sdk.get_global_scope()
    before = scope.client
    sentry_sdk.init(dsn=ingest.dsn, default_integrations=False)
    client = sentry_sdk.get_client()
    try:
        yield client
    finally:
        client.close(timeout=0.0)
        scope.set_client(before)


def test_sentry_initialised_at_import_reports_to_sentry_events_never_its_dsn(
    sentry_at_import: Any, ingest: SentryIngest, hardened_client: Any, sentry_events: SentryCapture
) -> None:
    assert hardened_client.get("/report").json() == {"reported": True}
    sentry_sdk.flush(timeout=5.0)
    assert [e["message"] for e in sentry_events.events] == ["reported"]
    assert ingest.events == []


def _logged_500(caplog: pytest.LogCaptureFixture) -> logging.LogRecord:
    (record,) = [r for r in caplog.records if r.name == "pytest_hardening.app"]
    assert record.levelno == logging.ERROR
    assert record.getMessage().startswith(
        "Exception in ASGI application: GET /boom (the client was answered 500)"
    )
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], LookupError)
    return record


def test_an_exception_answered_500_is_logged_with_its_traceback(
    hardened_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    response = hardened_client.get("/boom?token=s3cr3t")
    assert response.status_code == 500
    record = _logged_500(caplog)
    assert "s3cr3t" not in record.getMessage()  # the query string stays out of the log
    assert "no forecast for atlantis" in caplog.text  # the traceback, as a server logs it


@pytest.mark.anyio
async def test_the_async_client_logs_it_too(
    hardened_async_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    assert (await hardened_async_client.get("/boom")).status_code == 500
    _logged_500(caplog)


def test_an_object_bound_to_the_importing_thread_gets_a_hint(
    hardened_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # The sync client runs the app in a portal thread, as Starlette's TestClient does.
    assert hardened_client.get("/ledger").status_code == 500
    (record,) = [r for r in caplog.records if r.name == "pytest_hardening.app"]
    assert "hint: the app used an object bound to the thread that made it" in record.getMessage()
    assert "hardened_async_client runs its async code in the test's thread" in record.getMessage()


@pytest.mark.anyio
async def test_the_async_client_runs_the_app_in_the_importing_thread(
    hardened_async_client: httpx.AsyncClient,
) -> None:
    assert (await hardened_async_client.get("/ledger")).json() == {"one": 1}


def answering_502() -> Starlette:
    """An app whose catch-all exception handler answers 502: Starlette sends that answer, then
    raises the exception on, as a server would log it."""

    async def provider_error(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": "provider"}, status_code=502)

    return Starlette(routes=[Route("/boom", boom)], exception_handlers={Exception: provider_error})


def test_the_log_names_what_the_apps_own_handler_answered(caplog: pytest.LogCaptureFixture) -> None:
    with Harness() as harness:
        harness.build(answering_502, {})
        assert harness.client().get("/boom").status_code == 502
    (record,) = [r for r in caplog.records if r.name == "pytest_hardening.app"]
    assert "GET /boom (the client was answered 502)" in record.getMessage()


@pytest.mark.anyio
async def test_the_async_client_names_it_too(caplog: pytest.LogCaptureFixture) -> None:
    with Harness() as harness:
        harness.build(answering_502, {})
        async with harness.async_client() as client:
            assert (await client.get("/boom")).status_code == 502
    (record,) = [r for r in caplog.records if r.name == "pytest_hardening.app"]
    assert "GET /boom (the client was answered 502)" in record.getMessage()


def loop_bound() -> Starlette:
    """An app whose pool, made at import, belongs to the first test's event loop."""

    async def query(request: Request) -> JSONResponse:
        raise RuntimeError("Task got Future attached to a different loop")

    return Starlette(routes=[Route("/query", query)])


def test_an_object_bound_to_another_loop_gets_both_cures(caplog: pytest.LogCaptureFixture) -> None:
    # A trial's engine was made at import: "make it in the app's lifespan" alone asked for a
    # change to the app, where one session loop needs none.
    with Harness() as harness:
        harness.build(loop_bound, {})
        assert harness.client().get("/query").status_code == 500
    (record,) = [r for r in caplog.records if r.name == "pytest_hardening.app"]
    message = record.getMessage()
    assert "hint: the app used an object bound to another event loop" in message
    assert "make it in the app's lifespan, or run the async tests in one loop" in message
    assert 'asyncio_default_fixture_loop_scope = "session"' in message
