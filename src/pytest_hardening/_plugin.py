"""The pytest entry point: options, markers and report hooks; it exposes the fixtures.

Logic lives in plain classes (``_faults``, ``_clock``, ``_breakers`` ...). Plugin state lives
in ``config.stash``; nothing runs for tests that use none of the fixtures.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest

from . import _old_pytest  # noqa: F401  (first: stops a pytest too old for what follows)

# isort: split
from . import _breaker_closing, _config_fixtures, _harness_fixtures, _inspection_fixtures
from ._breaker_closing import close_breakers_after
from ._inspection_fixtures import INSPECTOR_KEY
from ._report import (
    SESSION_KEY,
    collect_worker,
    finish_item,
    finish_session,
    session_of,
    start_session,
    write_summary,
)

# The heavy libraries (respx, freezegun, sentry_sdk, httpx) are imported inside the fixtures
# that need them: a suite that uses none of the fixtures never pays for them (the plugin is
# inert, and loading it must stay cheap).


# -- options, markers, header, report ------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hardening", "pytest-hardening")
    group.addoption(
        "--hardening-seed",
        type=int,
        default=None,
        metavar="N",
        help="seed for faults.random (default: random, printed in the header for replay)",
    )
    group.addoption(
        "--hardening-report",
        default=None,
        metavar="PATH",
        help="write a JSON report of faults, breaker transitions, Sentry events and audit "
        "findings per test",
    )
    parser.addini(
        "hardening_app_factory",
        "app factory for the hardening fixtures, e.g. 'mypkg.app:create_app'",
        default="",
    )


# pytest finds a plugin's fixtures among its module attributes.
_hardening_pool = _harness_fixtures._hardening_pool
_hardening_requirements = _harness_fixtures._hardening_requirements
_hardening_harness = _harness_fixtures._hardening_harness
_hardening_app_allowed = _breaker_closing._hardening_app_allowed
_hardening_anyio_async_client = _harness_fixtures._hardening_anyio_async_client
clock = _harness_fixtures.clock
faults = _harness_fixtures.faults
hardened_app = _harness_fixtures.hardened_app
hardened_async_client = _harness_fixtures.hardened_async_client
hardened_client = _harness_fixtures.hardened_client
apm = _inspection_fixtures.apm
breakers = _inspection_fixtures.breakers
prod_config = _inspection_fixtures.prod_config
route_audit = _inspection_fixtures.route_audit
sentry_events = _inspection_fixtures.sentry_events
hardening_apm = _config_fixtures.hardening_apm
hardening_app_factory = _config_fixtures.hardening_app_factory
hardening_app_reset = _config_fixtures.hardening_app_reset
hardening_backoff_modules = _config_fixtures.hardening_backoff_modules
hardening_breakers = _config_fixtures.hardening_breakers
hardening_client_headers = _config_fixtures.hardening_client_headers
hardening_dev_env = _config_fixtures.hardening_dev_env
hardening_probe_headers = _config_fixtures.hardening_probe_headers
hardening_prod_env = _config_fixtures.hardening_prod_env
hardening_providers = _config_fixtures.hardening_providers


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "production: build hardened_app from hardening_prod_env (production mode)."
    )
    config.addinivalue_line("markers", "chaos: a chaos scenario (select with -m chaos).")
    config.addinivalue_line(
        "markers",
        "hardening_allow_network: the hardening fixtures let this test connect off the machine.",
    )
    config.addinivalue_line(
        "markers",
        "hardening_allow_unused_faults: faults may go untriggered (no call met them).",
    )
    config.addinivalue_line(
        "markers",
        "hardening_clock(start): the clock fixture starts at `start` (a datetime, or an ISO 8601 "
        "string; naive means UTC) instead of now.",
    )
    start_session(config)
    sdk = sys.modules.get("sentry_sdk")  # not imported here: a suite without Sentry pays nothing
    config.stash[_SENTRY_CLIENT_KEY] = sdk.get_global_scope().client if sdk is not None else None


#: The process's global Sentry client when the session started (see pytest_unconfigure).
_SENTRY_CLIENT_KEY = pytest.StashKey[Any]()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    # xdist controller: every worker uses the controller's seed.
    node.workerinput["hardening_seed"] = session_of(node.config).seed


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    collect_worker(node)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    finish_item(item, report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    try:
        return (yield)
    finally:
        close_breakers_after(item)


def pytest_sessionfinish(session: pytest.Session) -> None:
    finish_session(session.config)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # A library's exit-time sender (a trace exporter) must not reach a host the tests faked.
    # Not for a session run inside another's test (pytester): that process goes on.
    session = config.stash.get(SESSION_KEY, None)
    if session is not None and session.faked_hosts and "PYTEST_CURRENT_TEST" not in os.environ:
        from ._exit_guard import ExitGuard

        ExitGuard(session.faked_hosts).start()
    if "sentry_sdk" in sys.modules:  # an app's client kept for the session: not the process's
        from ._sentry_guard import put_back_the_process_client

        put_back_the_process_client(config.stash.get(_SENTRY_CLIENT_KEY, None))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    write_summary(terminalreporter, config)


def pytest_assertrepr_compare(
    config: pytest.Config, op: str, left: object, right: object
) -> list[str] | None:
    """``assert breakers.state("x") == "OPEN"`` shows the breaker's recent transitions."""
    inspector = config.stash.get(INSPECTOR_KEY, None)  # only while `breakers` is in use
    if op != "==" or inspector is None:
        return None
    from ._breakers import BreakerState

    if not (isinstance(left, BreakerState) or isinstance(right, BreakerState)):
        return None
    expected = right if isinstance(left, BreakerState) else left
    lines = inspector.explain(expected)
    return [f"{left!s} == {right!s}", *lines] if lines else None
