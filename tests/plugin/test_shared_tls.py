"""Clients an app opens per request share one TLS context under the harness: the CA bundle is
loaded once, not for every ``httpx.AsyncClient()`` (about 28 ms of CPU each), while any TLS
setting of the app's own still goes to httpx, errors included."""

from __future__ import annotations

import contextlib
import ssl
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pytest_hardening import AppPool, FaultInjector, Harness
from pytest_hardening._shared_tls import SharedTLSContexts

QUOTES = "https://quotes.example"


@pytest.fixture
def ca_loads(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every CA bundle loaded into a TLS context (httpx's and httpx2's defaults both load
    one)."""
    loads: list[object] = []
    real = ssl.SSLContext.load_verify_locations

    def counting(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        real(self, *args, **kwargs)
        loads.append(args or kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return loads


@contextlib.contextmanager
def sharing(contexts: SharedTLSContexts) -> Iterator[SharedTLSContexts]:
    """``contexts`` handed out inside the block, as a started fault injector hands them out."""
    patches = contexts.patch()
    try:
        yield contexts
    finally:
        patches.undo()


def per_request_client_app() -> Starlette:
    """The common pattern: a new client for every outbound call."""

    async def quote(request: Request) -> JSONResponse:
        async with httpx.AsyncClient(base_url=QUOTES, timeout=2) as http:
            response = await http.get("/q")
        return JSONResponse({"status": response.status_code, "price": response.json()["price"]})

    return Starlette(routes=[Route("/quote", quote)])


def quote_provider() -> dict[str, Any]:
    return {"quotes": (QUOTES, httpx.Response(200, json={"price": 7}))}


def test_default_clients_share_one_context_only_while_sharing(ca_loads: list[object]) -> None:
    shared = SharedTLSContexts()
    with sharing(shared):
        clients = [httpx.AsyncClient(), httpx.Client(), httpx.AsyncClient(timeout=3)]
    assert len(ca_loads) == 1, "each default client loaded the CA bundle again"
    assert shared.built == 1
    httpx.Client()  # httpx's own again, once sharing stopped
    assert len(ca_loads) == 2
    with sharing(shared):  # a later test of the session: nothing loaded again
        httpx.AsyncClient()
    assert len(ca_loads) == 2
    for client in clients:
        assert not client.is_closed


def test_the_apps_own_tls_settings_still_reach_httpx(
    ca_loads: list[object], tmp_path: Path
) -> None:
    mine = ssl.create_default_context()
    before = len(ca_loads)
    with sharing(SharedTLSContexts()) as shared:
        httpx.Client(verify=mine)
        httpx.Client(verify=False)  # noqa: S501 (no request is sent)
        missing = str(tmp_path / "missing-ca.pem")
        with pytest.raises(FileNotFoundError), pytest.warns(DeprecationWarning, match="verify"):
            httpx.Client(verify=missing)  # fails as in production
    assert shared.built == 0
    assert len(ca_loads) == before


def test_a_ca_bundle_named_by_the_environment_is_honoured(
    ca_loads: list[object], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with sharing(SharedTLSContexts()) as shared:
        httpx.Client()
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
        with pytest.raises(FileNotFoundError):
            httpx.Client()  # the bundle the environment names, not the one shared so far
        httpx.Client(trust_env=False)  # ignores the environment: the shared default
        monkeypatch.delenv("SSL_CERT_FILE")
        httpx.Client()
    assert shared.built == 1
    assert len(ca_loads) == 1


def test_httpx2_clients_share_too_when_httpx2_is_loaded(ca_loads: list[object]) -> None:
    httpx2 = pytest.importorskip("httpx2")
    with sharing(SharedTLSContexts()) as shared:
        httpx2.AsyncClient()
        httpx2.Client()
        httpx.Client()
    assert shared.built == 2  # one per library: their defaults differ
    assert len(ca_loads) == 2


def test_httpx2_imported_meanwhile_is_reached_and_nothing_is_imported_to_share(
    ca_loads: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("httpx2")
    for name in [n for n in sys.modules if n.partition(".")[0] in ("httpx2", "httpcore2")]:
        monkeypatch.delitem(sys.modules, name)  # put back after the test
    shared = SharedTLSContexts()
    patches = shared.patch()
    try:
        assert "httpx2" not in sys.modules
        import httpx2  # as an app importing an AI SDK in its first handler

        patches.catch_up()  # what the injector's import watch calls once the import finished
        httpx2.AsyncClient()
        httpx2.AsyncClient()
    finally:
        patches.undo()
    assert shared.built == 1
    assert len(ca_loads) == 1
    httpx2.AsyncClient()  # once sharing stopped, httpx2's own again
    assert len(ca_loads) == 2


def test_a_started_fault_injector_shares_one_context_for_its_life(ca_loads: list[object]) -> None:
    with FaultInjector(quote_provider()):  # used on its own, without the harness
        httpx.Client()
        httpx.AsyncClient()
    assert len(ca_loads) == 1
    httpx.Client()
    assert len(ca_loads) == 2


def test_a_fault_injector_shares_httpx2s_context_too(ca_loads: list[object]) -> None:
    httpx2 = pytest.importorskip("httpx2")
    with FaultInjector(quote_provider()):  # the AI SDKs' clients ride on httpx2
        httpx2.AsyncClient()
        httpx2.Client()
    assert len(ca_loads) == 1


def test_a_pools_apps_load_the_ca_bundle_once_across_tests(ca_loads: list[object]) -> None:
    pool = AppPool()
    try:
        for _ in range(2):  # two tests of one session
            with Harness(pool=pool) as harness:
                harness.build(per_request_client_app, {})
                harness.fake_providers(quote_provider())
                client = harness.client()
                for _ in range(3):
                    assert client.get("/quote").json() == {"status": 200, "price": 7}
    finally:
        pool.close()
    assert len(ca_loads) == 1, "every per-request client loaded the CA bundle"
    assert pool.tls_contexts.built == 1
