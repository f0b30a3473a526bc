"""The live tests' database: a SQLite file, then a PostgreSQL database (``postgres_url``)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def live_database(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where the live app stores its calls: a SQLite file's path, or a PostgreSQL URL (both
    accepted by ``_support.app_env`` and ``_support.stored_ids``)."""
    if request.param == "sqlite":
        return tmp_path / "calls.db"
    url: str = request.getfixturevalue("postgres_url")
    return url
