"""Limits an attacker meets: body size before parsing, a locked database failing fast, a
cut-off request answering 503, the server's connection limits."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pytest_hardening import FaultInjector
from reference_app import load_settings
from reference_app._server import server_options
from reference_app.db import _url as db_url
from reference_app.testing import DEV_ENV

from .conftest import MERCHANT_HEADERS, new_call

MIB = 1024 * 1024


@pytest.mark.parametrize(
    "body",
    [
        b"{" + b" " * (2 * MIB) + b"}",
        b'{"order_id": "' + b"9" * (MIB + 1) + b'"}',
        b"\x00" * (MIB + 1),
    ],
)
def test_any_body_over_one_mib_is_413_before_parsing(
    hardened_client: TestClient, faults: FaultInjector, body: bytes
) -> None:
    response = hardened_client.post(
        "/api/calls", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert faults.calls("exotel") == []


def test_a_streamed_body_is_cut_off_at_the_limit(hardened_client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b" " * 65536

    response = hardened_client.post(
        "/api/calls", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


def test_a_body_at_the_limit_is_parsed(hardened_client: TestClient) -> None:
    padded = b'{"order_id": "1", "shop": "acme.myshopify.com", "phone": "+919876543210"' + b" "
    body = padded + b" " * (MIB - len(padded) - 1) + b"}"
    assert len(body) == MIB
    assert (
        hardened_client.post(
            "/api/calls", content=body, headers={"Content-Type": "application/json"}
        ).status_code
        == 201
    )


def test_a_locked_database_answers_503_and_counts_against_its_breaker(
    build: Callable[[dict[str, str]], FastAPI], file_db_env: dict[str, str]
) -> None:
    app = build(file_db_env)
    path = Path(file_db_env["DATABASE_URL"].split("///", 1)[1])
    with TestClient(app, headers=MERCHANT_HEADERS) as client:
        assert client.post("/api/calls", json=new_call()).status_code == 201
        locker = sqlite3.connect(path, timeout=0)
        try:
            locker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
            locked = client.post("/api/calls", json=new_call())
        finally:
            locker.rollback()
            locker.close()
        assert locked.status_code == 503
        assert int(locked.headers["retry-after"]) >= 1
        assert app.state.breakers["database"].metrics().failures >= 1
        assert client.post("/api/calls", json=new_call()).status_code == 201


#: Requests sent at once while another process holds the write lock: more than the database
#: breaker's threshold, and more than fit in the shortened pool wait one busy timeout each.
LOCKED_BURST = 24


def test_every_request_queued_behind_a_locked_database_fails_fast(
    build: Callable[[dict[str, str]], FastAPI],
    file_db_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A pool wait of a few busy timeouts: were the queue to take its turn at the lock (one busy
    # timeout per request ahead), most of the burst would fail on the pool wait instead.
    monkeypatch.setattr(db_url, "POOL_TIMEOUT_SECONDS", 6 * db_url.BUSY_TIMEOUT_SECONDS)
    app = build(file_db_env)
    path = Path(file_db_env["DATABASE_URL"].split("///", 1)[1])
    with TestClient(app, headers=MERCHANT_HEADERS) as client:
        assert client.post("/api/calls", json=new_call()).status_code == 201
        locker = sqlite3.connect(path, timeout=0)
        caplog.set_level(logging.WARNING, logger="reference_app.db")
        try:
            locker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            with ThreadPoolExecutor(LOCKED_BURST) as pool:
                answers = list(
                    pool.map(
                        lambda _: client.post("/api/calls", json=new_call()), range(LOCKED_BURST)
                    )
                )
        finally:
            locker.rollback()
            locker.close()
        database = app.state.breakers["database"].metrics()

    assert [a.status_code for a in answers] == [503] * LOCKED_BURST
    assert all(int(a.headers["retry-after"]) >= 1 for a in answers)
    # Each request failed on the lock, gave up behind one that did, or met the opened breaker:
    # none waited out the pool.
    reasons = {
        r.getMessage().rsplit(": ", 1)[1] for r in caplog.records if r.name == "reference_app.db"
    }
    assert reasons
    assert reasons <= {"locked", "failed while queued"}
    assert database.failures >= app.state.breakers["database"].failure_threshold
    assert database.failures + database.rejections >= LOCKED_BURST
    assert database.state == "OPEN"


def test_the_server_keeps_connections_past_load_balancers_and_a_grace_over_one_request() -> None:
    options = server_options(load_settings({**DEV_ENV}))
    assert options["timeout_keep_alive"] >= 61  # balancers keep idle connections 60 s
    assert options["timeout_graceful_shutdown"] >= 25  # the request budget
    assert options["http"].__name__ == "HeaderTimeoutH11Protocol"
    configured = server_options(load_settings({**DEV_ENV, "SHUTDOWN_GRACE_SECONDS": "40"}))
    assert configured["timeout_graceful_shutdown"] == 40
