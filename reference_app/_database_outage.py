"""A simulated database outage: every statement on an engine fails until the block exits.

The database's fake, exported by :mod:`reference_app.fakes` beside the providers' httpx
handlers: unlike them it answers nothing, it listens on the engine (SQLAlchemy's event API) and
fails each statement before it reaches the driver.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["database_outage"]


@contextlib.contextmanager
def database_outage(engine: Any) -> Iterator[None]:
    """Make every statement on ``engine`` (an ``AsyncEngine``) fail as if the database were gone.

    Uses SQLAlchemy's public event API, so the app's real error handling (breaker, 503 +
    Retry-After, rollback) runs. The listener is removed on exit.
    """
    from sqlalchemy import event, exc

    def fail(*_args: object, **_kwargs: object) -> None:
        raise exc.OperationalError(
            "SELECT 1", None, ConnectionError("database unavailable (simulated outage)")
        )

    target = engine.sync_engine
    event.listen(target, "before_cursor_execute", fail)
    try:
        yield
    finally:
        event.remove(target, "before_cursor_execute", fail)
