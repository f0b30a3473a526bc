"""reference_app.testing.reset_app empties the database, and skips its deletes only when nobody
wrote since it last did (the second reset of a kept app's round trip): a write by the app,
or by another connection or process, is always undone."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from reference_app.testing import reset_app

from .conftest import MERCHANT_HEADERS, new_call


def _rows(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        return int(connection.execute("SELECT count(*) FROM calls").fetchone()[0])


def test_a_write_by_anyone_since_the_last_reset_is_undone(
    build: Callable[[dict[str, str]], FastAPI], file_db_env: dict[str, str]
) -> None:
    database = Path(file_db_env["DATABASE_URL"].partition(":///")[2])
    kept, other = build(file_db_env), build(file_db_env)  # two apps, one database file
    with (
        TestClient(kept, headers=MERCHANT_HEADERS) as client,
        TestClient(other, headers=MERCHANT_HEADERS) as other_client,
    ):
        assert client.post("/api/calls", json=new_call()).status_code == 201
        client.portal.call(reset_app, kept)  # type: ignore[union-attr]
        assert _rows(database) == 0
        client.portal.call(reset_app, kept)  # type: ignore[union-attr]  # nothing to undo
        assert _rows(database) == 0

        # Another connection (another kept app, another process) commits a row.
        assert other_client.post("/api/calls", json=new_call()).status_code == 201
        assert _rows(database) == 1
        client.portal.call(reset_app, kept)  # type: ignore[union-attr]
        assert _rows(database) == 0

        # The app's own connection writes again.
        assert client.post("/api/calls", json=new_call()).status_code == 201
        client.portal.call(reset_app, kept)  # type: ignore[union-attr]
        assert _rows(database) == 0
