"""The harness's fixtures: the plain :class:`~._harness.Harness` behind them, and the views
a test asks for (the app and its clients, the clock, the faults).

Thin, as the rest: the work is in ``_harness`` and the parts it starts. ``_plugin`` exposes
them (pytest finds a plugin's fixtures among its module attributes). Closing the app's
breakers after the test is ``_breaker_closing``'s: these fixtures only leave their requests
for it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pytest

from ._breaker_closing import APP_REQUEST, HARNESS_REQUEST
from ._build_modes import production_build
from ._config import NotConfigured
from ._config_fixtures import CLIENT_FIXTURES
from ._loop_deadlines import warn_passed_deadlines
from ._report import record_for, session_of
from ._sleep_advice import (
    REAL_SLEEP_WARN_SECONDS,
    known_pairs,
    warn_background_backoff,
    warn_frozen_sleeps,
    warn_real_sleeps,
    worth_warning,
)

if TYPE_CHECKING:
    import httpx

    from ._clock import Clock
    from ._config import AppFactory
    from ._faults import FaultInjector
    from ._harness import Harness
    from ._kept import AppReset
    from ._providers import ProviderSpec
    from ._reuse import AppPool

__all__ = [
    "REAL_SLEEP_WARN_SECONDS",
    "clock",
    "faults",
    "hardened_app",
    "hardened_async_client",
    "hardened_client",
]


@pytest.fixture(scope="session")
def _hardening_requirements() -> None:
    """The installed packages meet the plugin's requirements (pip only warns when a project's
    pins undercut them), and no installed SDK is known to fail beside them. Session-scoped:
    one check per process, and every test using the fixtures reports the same message instead
    of an error deep inside the plugin or the app; the plugin itself still loads, and tests
    without its fixtures run as before."""
    from ._requirements import (
        FIXTURE_PACKAGES,
        old_sdks,
        old_sdks_message,
        requirements_message,
        unmet_requirements,
    )

    unmet = unmet_requirements(FIXTURE_PACKAGES)
    if unmet:
        pytest.fail(requirements_message(unmet), pytrace=False)
    old = old_sdks()
    if old:
        pytest.fail(old_sdks_message(old), pytrace=False)


@pytest.fixture(scope="session")
def _hardening_pool(_hardening_requirements: None) -> Iterator[AppPool]:
    """Apps kept running between tests when ``hardening_app_reset`` says how to reset them."""
    from ._reuse import AppPool

    pool = AppPool()
    try:
        yield pool
    finally:
        pool.close()
    if pool.shutdown_problems:  # reported at the last test's teardown
        pytest.fail("\n\n".join(pool.shutdown_problems), pytrace=False)


@pytest.fixture
def _hardening_harness(
    request: pytest.FixtureRequest, _hardening_pool: AppPool
) -> Iterator[Harness]:
    """The plain :class:`~pytest_hardening._harness.Harness` behind every fixture below: it
    owns the order of setting up and undoing; the fixtures only pick the parts they show."""
    from ._harness import Harness

    seed = f"{session_of(request.config).seed}:{request.node.nodeid}"
    harness = Harness(seed=seed, epoch=_clock_start(request), pool=_hardening_pool)
    request.node.stash[HARNESS_REQUEST] = request
    if not _network_allowed(request):
        harness.guard_network()
    try:
        yield harness
    finally:
        session_of(request.config).faked_hosts.update(harness.faked_hosts())
        harness.close()
        # A newly kept app shuts down before the session fixtures set up so far are torn
        # down (finalizers run last in, first out): a session-wide stand-in its shutdown
        # needs is still in place then, whenever the pool itself was made.
        for kept in _hardening_pool.newly_kept():
            request.session.addfinalizer(functools.partial(_hardening_pool.shut_down, kept))
    # Without `faults` (which reports the same at its own teardown) a connection off the
    # machine still fails the test, even if the app swallowed the error.
    problem = "" if "faults" in request.fixturenames else harness.problems()
    if problem:
        pytest.fail(problem, pytrace=False)


def _clock_start(request: pytest.FixtureRequest) -> dt.datetime | None:
    """The instant ``@pytest.mark.hardening_clock(start)`` names (UTC when naive), or None."""
    marker = request.node.get_closest_marker("hardening_clock")
    if marker is None:
        return None
    start = marker.kwargs.get("start", marker.args[0] if marker.args else None)
    if isinstance(start, str):
        try:
            start = dt.datetime.fromisoformat(start)
        except ValueError:
            pytest.fail(
                f"@pytest.mark.hardening_clock: {start!r} is not an ISO 8601 date and time "
                "(e.g. '2026-01-04T19:30:00-08:00')",
                pytrace=False,
            )
    if not isinstance(start, dt.datetime):
        pytest.fail(
            "@pytest.mark.hardening_clock(start) needs a datetime or an ISO 8601 string; got "
            f"{start!r}",
            pytrace=False,
        )
    return start if start.tzinfo is not None else start.replace(tzinfo=dt.timezone.utc)


def _test_line(item: pytest.Item) -> tuple[str, int] | None:
    """The test's file and line, where a warning of its teardown is best shown."""
    line = item.location[1]
    return None if line is None else (str(item.path), line + 1)


def _network_allowed(request: pytest.FixtureRequest) -> bool:
    return request.node.get_closest_marker("hardening_allow_network") is not None


@pytest.fixture
def clock(
    request: pytest.FixtureRequest,
    _hardening_harness: Harness,
    hardening_backoff_modules: Sequence[str],
) -> Iterator[Clock]:
    """Frozen time that moves only with ``clock.advance(seconds)``."""
    record = record_for(request.node, "clock")
    # A test with faults (hardened_app's too) gets its back-off from them: not started twice.
    frozen = _hardening_harness.freeze(backoff="faults" not in request.fixturenames)
    try:
        yield frozen
    finally:
        record.clock_advanced = frozen.advanced
    # Recorded before warning: under -W error the warning raises.
    record.passed_deadlines.extend(frozen.passed_deadlines)
    record.add_real_sleeps(worth_warning(frozen.real_sleeps))
    warn_passed_deadlines(frozen.passed_deadlines, _test_line(request.node))
    warn_frozen_sleeps(frozen.real_sleeps, frozen.background_sleeps)
    warn_background_backoff(frozen.background_sleeps, hardening_backoff_modules)
    if frozen.frozen_waits:  # the app may have turned the error that ended the wait into a 500
        pytest.fail("\n".join(frozen.frozen_waits), pytrace=False)


@pytest.fixture
def faults(
    request: pytest.FixtureRequest,
    _hardening_harness: Harness,
    hardening_providers: Mapping[str, ProviderSpec],
    hardening_backoff_modules: Sequence[str],
) -> Iterator[FaultInjector]:
    """Provider fault injection; every outbound httpx request is answered in memory."""
    record = record_for(request.node, "faults")
    injector = _hardening_harness.fake_providers(
        hardening_providers, block_network=not _network_allowed(request)
    )
    if hardening_backoff_modules:
        try:
            injector.virtual_backoff(*hardening_backoff_modules)
        except ValueError as error:  # a module named that holds nothing that sleeps: say so
            pytest.fail(f"hardening_backoff_modules: {error}", pytrace=False)
    if request.node.get_closest_marker("hardening_allow_unused_faults") is not None:
        injector.allow_unused()
    try:
        yield injector
    finally:
        record.add_faults(injector)
    known, unknown = injector._real_sleeps_by_kind()
    # With a clock, the clock's own watch spoke for the sleeps of modules the plugin does not
    # know, and the known back-off slept for real only before the clock was there (startup).
    if _hardening_harness.clock is None:
        record.add_real_sleeps([*worth_warning(known_pairs(known)), *worth_warning(unknown)])
        warn_real_sleeps(known, unknown)
    problem = _hardening_harness.problems()
    if problem:
        pytest.fail(problem, pytrace=False)


@pytest.fixture
def hardened_app(
    request: pytest.FixtureRequest,
    _hardening_app_allowed: None,
    _hardening_harness: Harness,
    hardening_app_factory: AppFactory,
    hardening_dev_env: Mapping[str, str],
    hardening_prod_env: Mapping[str, str],
    hardening_app_reset: AppReset | None,
    faults: FaultInjector,
) -> Iterator[Any]:
    """The app built in development mode (production with ``@pytest.mark.production``).

    The env is set (exactly the mapping; names of both mappings cleared first) for the app's
    whole life in the test, then restored; Sentry's client and scopes are restored too, and
    any client the app creates sends to an in-memory capture. Outbound httpx calls go through
    ``faults``. Without a client fixture the lifespan runs here, in a portal thread (async
    tests should use ``hardened_async_client`` so the lifespan runs in their loop).
    """
    record = record_for(request.node, "hardened_app")
    production = request.node.get_closest_marker("production") is not None
    env = hardening_prod_env if production else hardening_dev_env
    if isinstance(env, NotConfigured):
        pytest.fail(
            f"@pytest.mark.production: {env.fixture} is not configured: {env.hint}", pytrace=False
        )
    harness = _hardening_harness
    request.node.stash[APP_REQUEST] = request
    # Only a Starlette TestClient can be kept running between tests: the async client's
    # lifespan belongs to the test's own event loop.
    reusable = "hardened_client" in request.fixturenames and (
        "hardened_async_client" not in request.fixturenames
    )
    with production_build() if production else contextlib.nullcontext():
        app = harness.build(
            hardening_app_factory,
            env,
            clear=set(hardening_dev_env) | set(hardening_prod_env),
            reset=hardening_app_reset if reusable else None,
        )
    try:
        # The lifespan runs before the app is handed on, so that a fixture built on it finds
        # what startup made (app.state); the async client runs it later, in the test's loop.
        if reusable:
            harness.client()  # the sync client's portal is the loop it serves from
        elif not any(name in request.fixturenames for name in CLIENT_FIXTURES):
            harness.start_lifespan()
        yield app
    finally:
        record.add_sentry(harness.sentry)


@pytest.fixture
def hardened_client(
    _hardening_harness: Harness, hardened_app: Any, hardening_client_headers: Mapping[str, str]
) -> Any:
    """A Starlette ``TestClient`` (lifespan managed; server errors come back as 500s)."""
    return _hardening_harness.client(headers=hardening_client_headers)


@pytest.fixture
def hardened_async_client(
    request: pytest.FixtureRequest,
    _hardening_harness: Harness,
    hardened_app: Any,
    hardening_client_headers: Mapping[str, str],
    hardening_app_reset: AppReset | None,
) -> Iterator[httpx.AsyncClient]:
    """An ``httpx.AsyncClient`` over ``ASGITransport``; the lifespan runs in the test's own
    loop, under pytest-asyncio (any mode and loop scope) or anyio's plugin. The app is the
    test's own; ``hardening_app_reset``, if any, runs once it started (a database the session
    shares may hold what earlier tests wrote)."""
    from ._async_fixture import run_in_test_loop

    headers, reset = hardening_client_headers, hardening_app_reset
    yield from run_in_test_loop(
        request, lambda: _hardening_harness.async_client(headers=headers, reset=reset)
    )


@pytest.fixture
async def _hardening_anyio_async_client(
    _hardening_harness: Harness,
    hardening_client_headers: Mapping[str, str],
    hardening_app_reset: AppReset | None,
) -> AsyncIterator[httpx.AsyncClient]:
    """``hardened_async_client`` for ``@pytest.mark.anyio`` tests: anyio's plugin runs this
    fixture's setup and teardown in one task of the test's loop."""
    harness, headers, reset = _hardening_harness, hardening_client_headers, hardening_app_reset
    async with harness.async_client(headers=headers, reset=reset) as client:
        yield client
