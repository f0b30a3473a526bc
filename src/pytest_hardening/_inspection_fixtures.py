"""The fixtures that look at the app a hardened test runs: its breakers, what its Sentry
setup sent, its APM, and the production-configuration and route audits.

Thin, as the rest: the work is in ``_breakers``, ``_sentry``, ``_apm``, ``_prod_config`` and
``_routes``. ``_plugin`` exposes them (pytest finds a plugin's fixtures among its module
attributes).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pytest

from ._config import NotConfigured
from ._config_fixtures import started_app
from ._report import record_for

if TYPE_CHECKING:
    from ._apm import ApmView
    from ._apm_prometheus import PrometheusView
    from ._breakers import BreakerInspector
    from ._config import AppFactory
    from ._fresh_builds import FreshBuild, FreshBuilds
    from ._harness import Harness
    from ._prod_config import ProdConfigChecker
    from ._routes import RouteAuditor
    from ._sentry import SentryCapture

__all__ = ["INSPECTOR_KEY", "apm", "breakers", "prod_config", "route_audit", "sentry_events"]

#: The running test's ``breakers``, for ``pytest_assertrepr_compare`` (only while in use).
INSPECTOR_KEY = pytest.StashKey["BreakerInspector"]()
#: The session's fresh imports for production checks: one per app, not one per test.
_FRESH_KEY: pytest.StashKey[FreshBuilds] = pytest.StashKey()


@pytest.fixture
def breakers(
    request: pytest.FixtureRequest, _hardening_harness: Harness, hardening_breakers: Any
) -> Iterator[BreakerInspector]:
    """State, transitions, force_open/reset of the app's breakers (all reset first)."""
    record = record_for(request.node, "breakers")
    # The client's app loop first, where async breakers are reset: in a test that has the app.
    # Breakers of a service tested alone (hardening_breakers overridden) need none.
    if "hardened_app" in request.fixturenames:
        started_app(request)
    from ._breakers._base import UnsupportedBreakerError

    try:
        inspector = _hardening_harness.inspect_breakers(hardening_breakers)
    except UnsupportedBreakerError as error:  # the message says it all: not the plugin's frames
        raise pytest.fail.Exception(str(error), pytrace=False) from None
    request.config.stash[INSPECTOR_KEY] = inspector
    try:
        yield inspector
    finally:
        del request.config.stash[INSPECTOR_KEY]
        record.add_transitions(inspector)
    problem = inspector.problems_report()  # listener errors the app never saw
    if problem:
        pytest.fail(problem, pytrace=False)


@pytest.fixture
def sentry_events(request: pytest.FixtureRequest, _hardening_harness: Harness) -> SentryCapture:
    """What the app's own Sentry setup sent, captured in memory at the transport."""
    record_for(request.node, "sentry_events")
    started_app(request)
    return _hardening_harness.sentry


@pytest.fixture
def apm(
    request: pytest.FixtureRequest, _hardening_harness: Harness, hardening_apm: Any
) -> ApmView | PrometheusView:
    """Per-test view of the app's APM registry (reset first), or of its prometheus_client
    metrics (what changed since the test started)."""
    record_for(request.node, "apm")
    return _hardening_harness.watch_apm(hardening_apm)


@pytest.fixture
def prod_config(
    request: pytest.FixtureRequest,
    _hardening_requirements: None,
    hardening_app_factory: AppFactory,
    hardening_dev_env: Mapping[str, str],
    hardening_prod_env: Mapping[str, str],
) -> ProdConfigChecker:
    """Build the app from the production env and assert what it refuses."""
    from ._fresh_builds import FreshBuilds
    from ._prod_config import ProdConfigChecker

    record = record_for(request.node, "prod_config")
    if isinstance(hardening_prod_env, NotConfigured):
        pytest.fail(hardening_prod_env.hint, pytrace=False)
    return ProdConfigChecker(
        hardening_app_factory,
        hardening_prod_env,
        clear=set(hardening_dev_env),
        on_finding=record.audit_findings.append,
        fresh=request.config.stash.setdefault(_FRESH_KEY, FreshBuilds()),
    )


@pytest.fixture
def route_audit(
    request: pytest.FixtureRequest,
    _hardening_requirements: None,
    hardening_app_factory: AppFactory,
    hardening_dev_env: Mapping[str, str],
    hardening_prod_env: Mapping[str, str],
    hardening_providers: Any,
    hardening_probe_headers: Mapping[str, str],
) -> Iterator[RouteAuditor]:
    """Routes present in development and absent in production."""
    from ._app import app_env, build_app
    from ._cached_getters import CachedGetters
    from ._faults import FaultInjector
    from ._routes import RouteAuditor
    from ._sentry_guard import SentryGuard

    record = record_for(request.node, "route_audit")
    if isinstance(hardening_prod_env, NotConfigured):
        pytest.fail(hardening_prod_env.hint, pytrace=False)
    clear = set(hardening_dev_env) | set(hardening_prod_env)
    # The probes run the app's real handlers: its providers answer in memory, any other
    # connection off the machine is refused and fails the test, as under the other fixtures
    # (the `faults` fixture's own injector does both when the test has it).
    injector = None if "faults" in request.fixturenames else FaultInjector(hardening_providers)
    # RouteAuditor guards Sentry around each build and probe; this outer guard also covers
    # anything else the test does with the apps.
    with SentryGuard(), injector or contextlib.nullcontext():
        getters = CachedGetters(hardening_app_factory)  # one search for every build and probe
        yield RouteAuditor(
            lambda: build_app(
                hardening_app_factory, hardening_dev_env, clear=clear, getters=getters
            ),
            lambda: _production(
                lambda: build_app(
                    hardening_app_factory, hardening_prod_env, clear=clear, getters=getters
                ),
                lambda fresh: build_app(fresh, hardening_prod_env, clear=clear),
                _afresh(request, hardening_app_factory, clear),
            ),
            prod_env=lambda: app_env(
                hardening_app_factory, hardening_prod_env, clear=clear, getters=getters
            ),
            network=contextlib.nullcontext,
            headers=hardening_probe_headers,
            on_finding=record.audit_findings.append,
        )
    report = injector.problems_report() if injector is not None else None
    if report:
        pytest.fail(report, pytrace=False)


def _afresh(
    request: pytest.FixtureRequest, factory: AppFactory, varied: set[str]
) -> Callable[[Callable[[FreshBuild], Any]], tuple[bool, Any]]:
    """A plain factory's production builds from a fresh import, while its package's import
    reads one of ``varied`` (the session's :class:`~._fresh_builds.FreshBuilds`)."""
    from ._fresh_builds import FreshBuilds, made_afresh

    builds = request.config.stash.setdefault(_FRESH_KEY, FreshBuilds())
    return lambda make: made_afresh(builds, factory, varied, make)


def _production(
    build: Callable[[], Any],
    build_fresh: Callable[[FreshBuild], Any],
    afresh: Callable[[Callable[[FreshBuild], Any]], tuple[bool, Any]],
) -> Any:
    from ._build_modes import production_build
    from ._prometheus_scope import metrics_owned_by

    def make() -> Any:
        made, app = afresh(build_fresh)
        return app if made else build()

    # Its metrics, registered beside the development build's, take their names only while it
    # is built (and while the auditor runs it): the probes read no metric, and the development
    # app keeps its own.
    with production_build(), metrics_owned_by(make) as app:
        return app
