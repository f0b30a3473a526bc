"""Builds done by ProdConfigChecker and RouteAuditor never leak a Sentry client or scope state,
and SentryGuard gives its block clean scopes whatever earlier code left behind."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk

from pytest_hardening import ProdConfigChecker, RouteAuditor, SentryCapture, SentryGuard

from .weather import weather_app
from .weather.conftest import DEV_ENV, PROD_ENV

DSN = "https://public@sentry.example/1"
CALLER_DSN = "https://caller@sentry.example/2"


@pytest.fixture
def caller_client() -> Iterator[Any]:
    """An active global client that belongs to the test (the 'before' state), undone after."""
    with SentryGuard():
        sentry_sdk.init(dsn=CALLER_DSN, transport=SentryCapture(), default_integrations=False)
        client = sentry_sdk.get_client()
        sentry_sdk.set_tag("caller", "yes")
        yield client


def _sentry_app_factory() -> Any:
    """Any app that initialises Sentry while it is built, and leaves scope data behind."""
    sentry_sdk.init(dsn=os.environ.get("DSN", DSN), default_integrations=False)
    sentry_sdk.set_tag("app", "built")
    sentry_sdk.add_breadcrumb(message="building")
    if os.environ.get("MODE") != "production":
        raise ValueError("MODE must be production")
    return weather_app.create_app()


def _assert_untouched(caller_client: Any) -> None:
    assert sentry_sdk.get_global_scope().client is caller_client
    assert sentry_sdk.get_client() is caller_client
    assert caller_client.is_active()
    assert caller_client.dsn == CALLER_DSN
    scope = sentry_sdk.get_isolation_scope()
    assert scope._tags == {"caller": "yes"}
    assert not scope._breadcrumbs


def test_prod_config_builds_restore_the_callers_client_and_scopes(caller_client: Any) -> None:
    checker = ProdConfigChecker(_sentry_app_factory, {"MODE": "production", **PROD_ENV})
    app = checker.build()
    assert "/debug/env" not in {route.path for route in app.routes}  # the production build
    _assert_untouched(caller_client)
    checker.assert_accepts()
    checker.assert_rejects(MODE="dev")
    report = checker.audit(optional=["SENTRY_DSN", "APP_ENV"])
    assert ("MODE", "drop") in {(m.variable, m.kind) for m in report.rejected}
    _assert_untouched(caller_client)


def test_route_auditor_restores_the_callers_client_and_scopes(caller_client: Any) -> None:
    created: list[Any] = []

    def build(env: dict[str, str]) -> Any:
        from pytest_hardening import EnvPatch

        with EnvPatch(env):
            app = weather_app.create_app()
        created.append(sentry_sdk.get_client())
        return app

    auditor = RouteAuditor(lambda: build(dict(DEV_ENV)), lambda: build(dict(PROD_ENV)))
    assert ("GET", "/debug/env") in auditor.dev_only()
    auditor.assert_absent_in_production("/debug")
    _assert_untouched(caller_client)
    assert created[-1] is not caller_client
    assert not created[-1].is_active() or created[-1].transport is None  # the app's, closed


def test_the_weather_route_audit_sequence_leaves_no_global_client() -> None:
    # The sequence that once left a client pointing at sentry.example active for later tests.
    before = sentry_sdk.get_global_scope().client
    auditor = RouteAuditor(
        weather_app.create_app, lambda: _build_with_env(dict(PROD_ENV), weather_app.create_app)
    )
    assert ("GET", "/debug/env") in auditor.dev_only()
    assert sentry_sdk.get_global_scope().client is before
    assert sentry_sdk.get_client() is before or not sentry_sdk.get_client().is_active()


def test_guard_starts_clean_despite_breadcrumbs_and_tags_left_by_earlier_code() -> None:
    with SentryGuard():
        # Earlier tests' requests leave breadcrumbs (without "message") and tags behind.
        sentry_sdk.add_breadcrumb(type="http", category="httplib", data={"url": "/x"})
        outer = sentry_sdk.get_isolation_scope()
        outer._breadcrumbs.append({"type": "http", "data": {"url": "/leftover"}})
        outer.set_tag("leftover", "yes")
        crumbs_before = list(outer._breadcrumbs)
        with SentryGuard():
            capture = SentryCapture()
            sentry_sdk.init(dsn=DSN, transport=capture, default_integrations=False)
            sentry_sdk.add_breadcrumb(category="db", message="select 1")
            sentry_sdk.capture_message("inside")
        assert [c.get("message") for c in capture.breadcrumbs] == ["select 1"]
        assert "leftover" not in (capture.events[0].get("tags") or {})
        assert sentry_sdk.get_isolation_scope() is outer
        assert list(outer._breadcrumbs) == crumbs_before  # the caller's scope is untouched
        assert outer._tags == {"leftover": "yes"}


@pytest.mark.parametrize("scope", ["current", "isolation"])
def test_a_client_bound_to_the_callers_scope_neither_shadows_nor_is_taken(scope: str) -> None:
    # E.g. a client another test left bound to a scope: before SentryGuard started from clean
    # scopes, it hid the app's client and was mistaken for one the app created.
    with SentryGuard():
        bound_capture = SentryCapture()
        bound = sentry_sdk.Client(dsn=CALLER_DSN, transport=bound_capture)
        caller_scope = (
            sentry_sdk.get_current_scope()
            if scope == "current"
            else sentry_sdk.get_isolation_scope()
        )
        caller_scope.set_client(bound)
        with SentryGuard() as guard:
            assert guard.created_client() is None  # the caller's client is not the app's
            capture = SentryCapture()
            sentry_sdk.init(dsn=DSN, transport=capture, default_integrations=False)
            sentry_sdk.capture_message("app event")
            assert guard.created_client() is sentry_sdk.get_global_scope().client
        assert [e["message"] for e in capture.events] == ["app event"]
        assert bound_capture.events == []
        assert sentry_sdk.get_client() is bound
        assert bound.is_active()
        bound.close(timeout=0.0)


def _build_with_env(env: dict[str, str], factory: Any) -> Any:
    from pytest_hardening import EnvPatch

    with EnvPatch(env):
        return factory()
