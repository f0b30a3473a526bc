"""Derived settings: CORS origins, development fallbacks, Sentry switches, breaker overrides."""

from __future__ import annotations

import logging

import pytest

from reference_app import create_app
from reference_app.config import BREAKER_NAMES, SERVICE_BREAKERS, ConfigurationError, load_settings

from ._envs import EXAMPLE_ENV_FILE, SECRETS, production_env, read_env_file


@pytest.mark.parametrize(
    ("configured", "origin"),
    [
        ("https://app.example.com/", "https://app.example.com"),
        ("https://App.Example.com", "https://app.example.com"),
        ("https://app.example.com:8443/", "https://app.example.com:8443"),
        ("https://exämple.com", "https://xn--exmple-cua.com"),  # Origin carries punycode
    ],
)
def test_cors_origins_match_the_browser_origin_header(configured: str, origin: str) -> None:
    settings = load_settings({**production_env(), "FRONTEND_URL": configured})
    assert settings.cors_origins == [origin, "https://admin.example.com"]
    assert all(not o.endswith("/") for o in settings.cors_origins)


@pytest.mark.parametrize(
    "value", ["*", "https://app.example.com/path", "https://app.example.com/?x=1"]
)
def test_frontend_url_must_be_an_origin(value: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_settings({"FRONTEND_URL": value})
    assert info.value.variables == ["FRONTEND_URL"]


def test_localhost_origin_only_outside_production() -> None:
    assert load_settings({}).cors_origins == ["http://localhost:3000"]
    dev = load_settings({"FRONTEND_URL": "http://localhost:5173/"})
    assert dev.cors_origins == ["http://localhost:5173", "http://localhost:3000"]
    assert "http://localhost:3000" not in load_settings(production_env()).cors_origins


def test_development_fallbacks_and_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="reference_app.config"):
        settings = load_settings({})
    assert settings.google_callback_url == "http://localhost:8080/api/auth/google/callback"
    assert settings.webhook_base_url == "http://localhost:3000"
    assert "EXOTEL_WEBHOOK_BASE_URL" in caplog.text
    assert "RAILWAY_PUBLIC_DOMAIN" in caplog.text


def test_development_placeholder_webhook_falls_back_to_localhost() -> None:
    settings = load_settings({"EXOTEL_WEBHOOK_BASE_URL": "https://yourdomain.com"})
    assert settings.webhook_base_url == "http://localhost:3000"


def test_no_fallback_warning_when_configured(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="reference_app.config"):
        load_settings({"EXOTEL_WEBHOOK_BASE_URL": "https://hooks.example.com/"})
        load_settings(production_env())
    assert caplog.text == ""


def test_webhook_base_url_has_no_trailing_slash() -> None:
    settings = load_settings({"EXOTEL_WEBHOOK_BASE_URL": "https://hooks.example.com/"})
    assert settings.webhook_base_url == "https://hooks.example.com"


def test_provider_defaults() -> None:
    settings = load_settings({})
    assert settings.exotel_base_url == "https://api.exotel.com"
    assert settings.openai_base_url == "https://api.openai.com/v1"
    assert settings.wasabi_endpoint == "https://s3.wasabisys.com"
    overridden = load_settings({"OPENAI_BASE_URL": "http://127.0.0.1:9000/v1/"})
    assert overridden.openai_base_url == "http://127.0.0.1:9000/v1"  # local fakes are fine in dev


@pytest.mark.parametrize(
    ("env", "enabled"),
    [
        ({}, False),
        ({"SENTRY_DSN": SECRETS["SENTRY_DSN"]}, False),  # development: opt in
        ({"SENTRY_DSN": SECRETS["SENTRY_DSN"], "ENABLE_SENTRY": "true"}, True),
        ({"ENABLE_SENTRY": "true"}, False),  # no DSN, nothing to send to
        ({"SENTRY_DSN": SECRETS["SENTRY_DSN"], "ENABLE_SENTRY": "1"}, True),
    ],
)
def test_sentry_enabled_in_development(env: dict[str, str], enabled: bool) -> None:
    assert load_settings(env).sentry_enabled is enabled


def test_sentry_enabled_in_production_unless_disabled() -> None:
    assert load_settings(production_env()).sentry_enabled
    assert not load_settings({**production_env(), "ENABLE_SENTRY": "false"}).sentry_enabled


def test_enable_sentry_must_be_a_boolean() -> None:
    with pytest.raises(ConfigurationError) as info:
        load_settings({"ENABLE_SENTRY": "maybe"})
    assert info.value.variables == ["ENABLE_SENTRY"]


def test_traces_sample_rates() -> None:
    assert load_settings({}).traces_sample_rate == 1.0
    assert load_settings(production_env()).traces_sample_rate == pytest.approx(0.1)
    assert load_settings({"SENTRY_TRACES_SAMPLE_RATE": "0.25"}).traces_sample_rate == 0.25
    prod = load_settings({**production_env(), "SENTRY_TRACES_SAMPLE_RATE": "0"})
    assert prod.traces_sample_rate == 0.0


@pytest.mark.parametrize("value", ["1.5", "-0.1", "nan", "lots"])
def test_invalid_sample_rate_is_rejected(value: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_settings({"SENTRY_TRACES_SAMPLE_RATE": value})
    assert info.value.variables == ["SENTRY_TRACES_SAMPLE_RATE"]


def test_breaker_open_timeouts_parse() -> None:
    settings = load_settings({"BREAKER_OPEN_TIMEOUTS": "exotel=2, OpenAI = 0.5, google=3"})
    assert settings.breaker_open_timeouts == {"exotel": 2.0, "openai": 0.5, "google": 3.0}
    assert load_settings({}).breaker_open_timeouts == {}


def test_breaker_open_timeouts_shorten_only_the_named_breakers_of_the_app() -> None:
    settings = load_settings({"BREAKER_OPEN_TIMEOUTS": "exotel=2, OpenAI = 0.5"})
    breakers = create_app(settings).state.breakers
    timeouts = {name: breaker.open_timeout for name, breaker in breakers.items()}
    assert timeouts == {
        **{name: config.open_timeout for name, config in SERVICE_BREAKERS.items()},
        "exotel": 2.0,
        "openai": 0.5,
    }


def test_every_breaker_of_the_app_may_be_named() -> None:
    assert set(BREAKER_NAMES) == set(SERVICE_BREAKERS)


@pytest.mark.parametrize("value", ["exotel", "telegram=2", "exotel=0", "exotel=-1", "exotel=soon"])
def test_bad_breaker_open_timeouts_are_rejected(value: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_settings({"BREAKER_OPEN_TIMEOUTS": value})
    assert info.value.variables == ["BREAKER_OPEN_TIMEOUTS"]


def test_shutdown_grace_seconds() -> None:
    assert load_settings({}).shutdown_grace_seconds is None
    assert load_settings({"SHUTDOWN_GRACE_SECONDS": "12.5"}).shutdown_grace_seconds == 12.5
    with pytest.raises(ConfigurationError):
        load_settings({"SHUTDOWN_GRACE_SECONDS": "0"})


def test_secrets_are_secret_str() -> None:
    settings = load_settings(production_env())
    assert settings.monitoring_admin_token is not None
    assert settings.monitoring_admin_token.get_secret_value() == SECRETS["MONITORING_ADMIN_TOKEN"]
    assert SECRETS["MONITORING_ADMIN_TOKEN"] not in repr(settings)


def test_example_env_file_uses_obviously_fake_secrets_and_example_domains() -> None:
    env = read_env_file(EXAMPLE_ENV_FILE)
    with pytest.raises(ConfigurationError):
        load_settings(env)  # refused: its secrets are published placeholders
    for name in (
        "GOOGLE_CLIENT_SECRET",
        "EXOTEL_API_TOKEN",
        "SHOPIFY_WEBHOOK_SECRET",
        "MONITORING_ADMIN_TOKEN",
    ):
        assert env[name].startswith("replace-me")
    assert "yourdomain.com" not in EXAMPLE_ENV_FILE.read_text(encoding="utf-8")
