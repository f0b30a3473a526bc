"""Sentry comes first: a refused production boot is reported (valid DSN) and flushed."""

from __future__ import annotations

import pytest

from pytest_hardening import SentryCapture, SentryGuard
from reference_app import ConfigurationError, create_app
from reference_app.config import VARIABLE_NAMES, load_settings
from reference_app.observability import report_refused_boot
from reference_app.testing import production_example_env

DSN = "https://publickey@o1.ingest.example.com/1"


def refused_env(**changes: str) -> dict[str, str]:
    """The known-good production env, less the admin token (so it is refused), with a DSN."""
    env = production_example_env() | {"SENTRY_DSN": DSN} | changes
    env.pop("MONITORING_ADMIN_TOKEN")
    return env


def secrets_of(env: dict[str, str]) -> list[str]:
    return [v for k, v in env.items() if any(w in k for w in ("KEY", "SECRET", "TOKEN"))]


def test_a_refused_boot_is_reported_once_without_secret_values() -> None:
    env = refused_env()
    with pytest.raises(ConfigurationError) as refused:
        load_settings(env)
    capture = SentryCapture()

    assert report_refused_boot(refused.value, env, transport=capture) is True

    [event] = capture.events  # sent and flushed before report_refused_boot returned
    assert event["level"] == "error"
    assert "MONITORING_ADMIN_TOKEN" in event["message"]
    assert "[Filtered]" not in event["message"]  # the reasons read as written
    assert event["tags"]["boot"] == "refused"
    assert event["extra"]["variables"].split(", ") == refused.value.variables
    problems = [p["variable"] for p in event["extra"]["problems"]]
    assert problems == refused.value.variables[: len(problems)]  # Sentry keeps the first ten
    capture.assert_no_secrets(*secrets_of(env))


@pytest.fixture
def refused_environ(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """``os.environ`` holding exactly the refused env (what ``create_app()`` reads)."""
    for name in (*VARIABLE_NAMES, "NODE_ENV"):
        monkeypatch.delenv(name, raising=False)
    env = refused_env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def test_create_app_reports_a_refused_boot_once_before_raising(
    refused_environ: dict[str, str],
) -> None:
    # `uvicorn --factory reference_app:create_app` and `hardening serve` boot through here.
    capture = SentryCapture()
    with pytest.raises(ConfigurationError) as refused:
        create_app(sentry_transport=capture)

    [event] = capture.events  # captured before the refusal was raised
    assert "MONITORING_ADMIN_TOKEN" in event["message"]
    assert event["tags"]["boot"] == "refused"
    assert event["extra"]["variables"].split(", ") == refused.value.variables
    capture.assert_no_secrets(*secrets_of(refused_environ))


def test_a_refused_build_under_sentry_guard_reports_in_memory(
    refused_environ: dict[str, str],
) -> None:
    # How configuration checks build the app: the report's own client, created with the
    # DSN from the env and no transport given, sends to the guard's capture, not the DSN.
    with SentryGuard() as guard, pytest.raises(ConfigurationError):
        create_app()
    [event] = guard.capture.events
    assert event["tags"]["boot"] == "refused"
    guard.capture.assert_no_secrets(*secrets_of(refused_environ))


@pytest.mark.parametrize(
    "changes",
    [{"ENABLE_SENTRY": "false"}, {"SENTRY_DSN": "not a dsn"}, {"SENTRY_DSN": ""}],
    ids=["sentry-off", "malformed-dsn", "no-dsn"],
)
def test_no_report_without_a_valid_dsn_or_with_sentry_off(changes: dict[str, str]) -> None:
    capture = SentryCapture()
    error = ConfigurationError([])
    assert report_refused_boot(error, refused_env(**changes), transport=capture) is False
    assert capture.events == []
