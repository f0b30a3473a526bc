"""Builds done by ProdConfigChecker and RouteAuditor never leak a Sentry client or scope state,
SentryGuard gives its block clean scopes whatever earlier code left behind, and no Sentry client
created in a guarded block (a refused build's report included) sends over the network."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sentry_sdk

from pytest_hardening import ProdConfigChecker, RouteAuditor, SentryCapture, SentryGuard
from pytest_hardening.live import SentryIngest
from reference_app import ConfigurationError, create_app
from reference_app.config import VARIABLE_NAMES, load_settings
from reference_app.observability import report_refused_boot
from reference_app.testing import strong_production_env

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


def _report(dsn: str, message: str) -> None:
    """What an app reporting a refused boot does: a client of its own, one event, flushed."""
    client = sentry_sdk.Client(dsn=dsn, default_integrations=False)
    client.capture_event({"message": message, "level": "error"})
    client.close(timeout=5.0)


def test_clients_created_in_a_guard_send_to_its_capture_never_to_the_dsn() -> None:
    with SentryIngest() as ingest:
        with SentryGuard() as guard:
            _report(ingest.dsn, "standalone")
            sentry_sdk.init(dsn=ingest.dsn, default_integrations=False)
            sentry_sdk.capture_message("global")
            sentry_sdk.flush(timeout=5.0)
        sent_in_the_guard = ingest.events
        _report(ingest.dsn, "after the guard")  # the stub does receive what leaves
        sent = ingest.events
    assert sent_in_the_guard == []
    assert sorted(e["message"] for e in guard.capture.events) == ["global", "standalone"]
    assert [e["message"] for e in sent] == ["after the guard"]


@pytest.mark.parametrize("transport", ["the guard's", "a SentryCapture"])
def test_clients_sending_to_memory_start_no_health_monitor_thread(transport: str) -> None:
    # The SDK's backpressure monitor watches a transport for rate limits: one thread per
    # client, asleep 10 s between looks, holding the client (and the app it reports on) for
    # that long after every test. A transport in memory has nothing for it to watch.
    before = {t for t in threading.enumerate() if t.name == "sentry.monitor"}
    own = SentryCapture()
    with SentryGuard() as guard:
        chosen = {} if transport == "the guard's" else {"transport": own}
        sentry_sdk.init(dsn="https://key@sentry.invalid/1", traces_sample_rate=1.0, **chosen)
        with sentry_sdk.start_transaction(name="checked"):  # sampling asks the monitor
            sentry_sdk.capture_message("sent")
        started = {t for t in threading.enumerate() if t.name == "sentry.monitor"} - before
    assert started == set()
    capture = guard.capture if transport == "the guard's" else own
    assert [e["message"] for e in capture.events] == ["sent"]


def test_a_client_initialised_before_the_guard_sends_to_its_capture_then_to_its_dsn() -> None:
    # An app that calls sentry_sdk.init when its module is imported, before any fixture runs.
    scope = sentry_sdk.get_global_scope()
    before = scope.client
    with SentryIngest() as ingest:
        sentry_sdk.init(dsn=ingest.dsn, default_integrations=False)
        client = sentry_sdk.get_client()
        transport = client.transport
        try:
            with SentryGuard() as guard:
                sentry_sdk.capture_message("in the guard")
                sentry_sdk.flush(timeout=5.0)
            sent_in_the_guard = ingest.events
            assert client.transport is transport  # put back, unclosed
            sentry_sdk.capture_message("after the guard")
            sentry_sdk.flush(timeout=5.0)
            sent = ingest.events
        finally:
            client.close(timeout=0.0)
            scope.set_client(before)
    assert [e["message"] for e in guard.capture.events] == ["in the guard"]
    assert sent_in_the_guard == []
    assert [e["message"] for e in sent] == ["after the guard"]


def test_nested_guards_each_keep_what_their_block_sent() -> None:
    with SentryGuard() as outer:
        with SentryGuard() as inner:
            _report(DSN, "inner")
        _report(DSN, "outer")
    assert [e["message"] for e in inner.capture.events] == ["inner"]
    assert [e["message"] for e in outer.capture.events] == ["outer"]


def test_prod_config_keeps_each_refused_builds_report_in_memory() -> None:
    env = strong_production_env()
    checker = ProdConfigChecker(create_app, env, clear=VARIABLE_NAMES | {"NODE_ENV"})
    checker.assert_rejects(drop=["MONITORING_ADMIN_TOKEN"])
    checker.assert_rejects(FRONTEND_URL="http://localhost:3000")
    assert [e["tags"]["boot"] for e in checker.sentry.events] == ["refused", "refused"]
    assert "MONITORING_ADMIN_TOKEN" in checker.sentry.events[0]["message"]
    secrets = [v for k, v in env.items() if any(w in k for w in ("KEY", "SECRET", "TOKEN"))]
    checker.sentry.assert_no_secrets(*secrets, env["SENTRY_DSN"].split("@")[0])


def test_a_harness_build_refused_by_the_app_captures_its_report() -> None:
    from pytest_hardening import Harness

    env = strong_production_env()
    env.pop("MONITORING_ADMIN_TOKEN")
    with Harness() as harness:
        with pytest.raises(ConfigurationError):
            harness.build(create_app, env, clear=VARIABLE_NAMES | {"NODE_ENV"})
        [event] = harness.sentry.events
    assert "MONITORING_ADMIN_TOKEN" in event["message"]


PROD_CONFIG_PROJECT = """
import pytest
from reference_app import create_app
from reference_app.config import VARIABLE_NAMES
from reference_app.testing import DEV_ENV, strong_production_env

@pytest.fixture
def hardening_app_factory():
    return create_app

@pytest.fixture
def hardening_dev_env():
    return dict(DEV_ENV)

@pytest.fixture
def hardening_prod_env():
    # The ingest's DSN (http, 127.0.0.1) is itself refused in production: every build is.
    return strong_production_env() | {{"SENTRY_DSN": "{dsn}"}}
"""


def test_refused_builds_of_prod_config_and_check_config_reach_no_dsn(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from pytest_hardening._cli import app as cli

    with SentryIngest() as ingest:
        pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
        pytester.makeconftest(PROD_CONFIG_PROJECT.format(dsn=ingest.dsn))
        pytester.makepyfile(
            test_refused="""
            def test_refused_builds(prod_config):
                prod_config.assert_rejects(drop=["MONITORING_ADMIN_TOKEN"])
                prod_config.assert_rejects(FRONTEND_URL="http://localhost:3000")
                assert len(prod_config.sentry.events) == 2
            """
        )
        result = pytester.runpytest("-p", "no:hypothesispytest", "-p", "no:randomly")
        # check-config building the app (a project with a factory and no validator).
        project = tmp_path / "project"
        project.mkdir()
        (project / "pyproject.toml").write_text(
            '[tool.hardening]\nfactory = "reference_app:create_app"\n'
        )
        env = strong_production_env() | {"SENTRY_DSN": ingest.dsn}
        (project / "prod.env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        monkeypatch.chdir(project)
        for name in (*VARIABLE_NAMES, "NODE_ENV"):
            monkeypatch.delenv(name, raising=False)
        checked = CliRunner().invoke(cli, ["check-config", "--env-file", "prod.env"])
        sent_by_checks = ingest.events
        # The control: the same report outside any guard does reach the ingest.
        with pytest.raises(ConfigurationError) as refused:
            load_settings(env)
        assert report_refused_boot(refused.value, env)
        sent = ingest.events
    result.assert_outcomes(passed=1)
    assert checked.exit_code == 1, checked.output
    assert "refused to build" in checked.stdout
    assert sent_by_checks == []
    assert len(sent) == 1
