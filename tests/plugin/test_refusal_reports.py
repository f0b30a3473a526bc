"""What a refusal report says about who made the refused connection: a database driver with
the library and the app's module that called it, and a name lookup the app's own code made of a
provider's host (an SSRF check) as that, not as a request through another client."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable

import anyio
import pytest

from pytest_hardening import NetworkGuard


def test_a_database_driver_is_named_with_the_library_and_module_that_called_it() -> None:
    # A trial's report said "dbhost.example:5432 (name lookup), from asyncpg", for asyncpg
    # reached through SQLAlchemy from the app's module: nothing said where to look.
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    async def query() -> None:
        engine = create_async_engine("postgresql+asyncpg://u:p@dbhost.example:5432/x")
        try:
            async with engine.connect() as connection:
                await connection.execute(text("select 1"))
        finally:
            await engine.dispose()

    with NetworkGuard() as guard, contextlib.suppress(Exception):
        asyncio.run(query())
    report = guard.report()
    assert report is not None
    assert (
        f"dbhost.example:5432 (name lookup), from asyncpg (called by sqlalchemy, from {__name__})"
        in report
    )
    # The driver's connection is the app's whoever opened it: a database of the test's own.
    assert "mock asyncpg in the test (a database of the test's own on 127.0.0.1)" in report
    assert "stand in for that call" not in report


SSRF_APP = """
import asyncio

import httpx
import pytest
from fastapi import FastAPI


@pytest.fixture
def hardening_providers():
    return {"rates": "https://rates.example"}


@pytest.fixture
def hardening_app_factory():
    def build():
        app = FastAPI()

        @app.get("/rate")
        async def rate():
            try:  # the app's SSRF check: the host must resolve to a public address
                await asyncio.get_running_loop().getaddrinfo("rates.example", 443)
            except OSError:
                return {"unsafe": True}
            async with httpx.AsyncClient() as client:
                return (await client.get("https://rates.example/eur")).json()

        return app

    return build


def test_rate(hardened_client, faults):
    assert hardened_client.get("/rate").json() == {"unsafe": True}
"""


def test_the_apps_own_lookup_of_a_provider_is_not_called_a_request(
    pytester: pytest.Pytester,
) -> None:
    # A trial's report told an app whose request already went through httpx to "send them
    # through httpx": what was refused was its SSRF check's lookup of the provider's host.
    pytester.makepyfile(test_ssrf_lookup=SSRF_APP)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=1, errors=1)
    out = result.stdout.str()
    assert (
        "rates.example:443 (name lookup), from test_ssrf_lookup's own code: the host of provider "
        "'rates', looked up by the app itself (a name lookup, not a request)" in out
    )
    assert "test_ssrf_lookup looked up a provider's host itself (an SSRF check" in out
    assert "stand in for that lookup in a fixture (`monkeypatch.setattr`" in out
    assert "send them through httpx" not in out
    assert "register the hosts" not in out  # it is registered


async def _anyio_lookup() -> None:
    await anyio.getaddrinfo("rates.example", 443)


@pytest.mark.parametrize(
    "look_up",
    [
        # A health check resolving the provider's host, as the trial's app did.
        pytest.param(lambda: socket.getaddrinfo("rates.example", 443), id="socket"),
        # anyio's getaddrinfo passes the lookup on: the module that called it asked for it.
        pytest.param(lambda: anyio.run(_anyio_lookup), id="anyio"),
    ],
)
def test_the_apps_own_lookup_is_a_name_lookup_whichever_resolver(
    look_up: Callable[[], object],
) -> None:
    with NetworkGuard() as guard, contextlib.suppress(OSError):
        look_up()
    report = guard.report(lambda host: "rates" if host == "rates.example" else None)
    assert report is not None
    assert (
        f"rates.example:443 (name lookup), from {__name__}'s own code: the host of provider "
        "'rates', looked up by the app itself (a name lookup, not a request)" in report
    )
    assert f"{__name__} looked up a provider's host itself" in report
    assert "send them through httpx" not in report


def test_a_lookup_on_the_way_to_a_connection_is_still_the_clients() -> None:
    # asyncio's open_connection resolves before it connects: a connection the app's code
    # asked for, not a check of its own.
    async def connect() -> None:
        await asyncio.open_connection("rates.example", 443)

    with NetworkGuard() as guard, contextlib.suppress(OSError):
        asyncio.run(connect())
    report = guard.report(lambda host: "rates" if host == "rates.example" else None)
    assert report is not None
    assert "looked up by the app itself" not in report
    assert f"these calls went through {__name__}'s own code: send them through httpx" in report
