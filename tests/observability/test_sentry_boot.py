"""Sentry comes first: a refused production boot is reported (valid DSN) and flushed."""

from __future__ import annotations

import pytest

from pytest_hardening import SentryCapture
from reference_app import ConfigurationError, create_app
from reference_app.config import VARIABLE_NAMES
from reference_app.observability import report_refused_boot
from reference_app.testing import production_example_env

DSN = "https://publickey@o1.ingest.example.com/1"


def refused_env(**changes: str) -> dict[str, str]:
    """The known-good production env, less the admin token (so it is refused), with a DSN."""
    env = production_example_env() | {"SENTRY_DSN": DSN} | changes
    env.pop("MONITORING_ADMIN_TOKEN")
    return env


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """``os.environ`` with none of the app's variables (each test sets its own)."""
    for name in (*VARIABLE_NAMES, "NODE_ENV"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def secrets_of(env: dict[str, str]) -> list[str]:
    return [v for k, v in env.items() if any(w in k for w in ("KEY", "SECRET", "TOKEN"))]


def test_create_app_reports_a_refused_boot_once_without_secret_values(
    environ: pytest.MonkeyPatch,
) -> None:
    env = refused_env()
    for name, value in env.items():
        environ.setenv(name, value)
    capture = SentryCapture()

    with pytest.raises(ConfigurationError) as refused:
        create_app(sentry_transport=capture)

    [event] = capture.events  # sent and flushed before create_app raised
    assert event["level"] == "error"
    assert "MONITORING_ADMIN_TOKEN" in event["message"]
    assert event["tags"]["boot"] == "refused"
    assert [p["variable"] for p in event["extra"]["problems"]] == refused.value.variables
    capture.assert_no_secrets(*secrets_of(env))


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
