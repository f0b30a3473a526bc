"""Resetting a running reference app between the tests that share it.

:func:`reset_app` is what ``reference_app.testing`` hands pytest-hardening as
``hardening_app_reset`` (and the chaos target as its ``reset``): every breaker, counter, cache,
background round and database row a test can leave behind is undone, so one app per env serves a
whole session. It runs twice per test (when the app is handed back and when it is taken again),
so on SQLite the second one, finding nothing written since, skips its deletes.
"""

from __future__ import annotations

from typing import Any

# The app (SQLAlchemy) is imported when a reset runs, not with this module: the pytest plugin
# imports it, and an xdist controller or a run that collects only never pays for it.

__all__ = ["reset_app"]


async def reset_app(app: Any) -> None:
    """Undo what a test can leave in a running reference app: the re-dial worker's round
    stopped, every breaker closed with its history, metrics and alerts zeroed, rate-limit
    counters, the order cache and every database row (calls, idempotency keys, webhook
    deliveries) gone, and the next write prunes expired keys."""
    from .db import Base

    state = app.state
    if not hasattr(state, "services") or state.services is None:
        raise TypeError(
            f"reset_app resets a running reference app, not {type(app).__name__!r}: override "
            "`hardening_app_reset` for another app (None: a fresh build per test)"
        )
    # The re-dial worker first: no round of the last test dials during the next one.
    await state.redial.reset()
    state.breakers.reset_all(clear_history=True)
    state.apm.reset()
    state.breaker_metrics.reset()
    state.rate_limiter.clear()
    services = state.services
    services.order_cache.clear()
    services.calls.cancel_pending_writes()
    services.repository.retention.reset()
    engine = services.engine
    if engine.dialect.name == "sqlite" and await _sqlite_unchanged(engine, state):
        return  # nothing written since the last reset emptied it, by anyone: already empty
    deletes = [table.delete() for table in reversed(Base.metadata.sorted_tables)]
    if engine.dialect.name != "sqlite":
        async with engine.begin() as connection:
            for delete in deletes:
                await connection.execute(delete)
        return
    # Straight to the driver, as one script: one trip to its thread for the four deletes. The
    # transaction stays open for the marker: inside BEGIN IMMEDIATE no other connection
    # commits, so the version stays as read.
    script = ";".join(
        ["BEGIN IMMEDIATE", *(str(d.compile(dialect=engine.dialect)) for d in deletes)]
    )
    async with engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        try:
            await raw.executescript(script)
            marker = await _sqlite_marker(connection)
            await raw.commit()
        except BaseException:
            if raw.in_transaction:
                await raw.rollback()
            raise
    state.hardening_reset_marker = marker


async def _sqlite_marker(connection: Any) -> tuple[int, int, int]:
    """What tells a SQLite database unchanged: its connection (the engine pools one), the
    changes made through it, and ``PRAGMA data_version``, which moves when any other
    connection, of any process, commits."""
    raw = (await connection.get_raw_connection()).driver_connection
    (version,) = await raw.execute_fetchall("PRAGMA data_version")
    return id(raw), raw.total_changes, int(version[0])


async def _sqlite_unchanged(engine: Any, state: Any) -> bool:
    """The reset's four deletes were most of a kept app's reset (four round trips to the
    driver's thread): the second reset of a test that wrote nothing, or of an app taken right
    after its own hand-back, finds the database as it left it."""
    last = getattr(state, "hardening_reset_marker", None)
    if last is None:
        return False
    async with engine.connect() as connection:
        return bool(await _sqlite_marker(connection) == last)
