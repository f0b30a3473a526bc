"""A production configuration is refused, with every problem named, when unsafe
(docs/production-checklist.md).
"""

from __future__ import annotations

import pytest

from reference_app.config import (
    PRODUCTION_OPTIONAL,
    PRODUCTION_REQUIRED,
    URL_VARIABLES,
    ConfigurationError,
    Problem,
    Settings,
    load_settings,
    validate_environment,
)

from ._envs import SECRETS, production_env, with_changes


def rejected(env: dict[str, str]) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as info:
        load_settings(env)
    assert validate_environment(env) == info.value.problems  # same checks, nothing built
    return info.value


def test_known_good_environment_is_accepted() -> None:
    assert validate_environment(production_env()) == []
    settings = load_settings(production_env())
    assert settings.is_production
    assert settings.sentry_enabled


@pytest.mark.parametrize("variable", PRODUCTION_REQUIRED)
def test_each_required_variable_missing_is_rejected_and_named(variable: str) -> None:
    error = rejected(with_changes(**{variable: None}))
    assert error.variables == [variable]
    assert variable in str(error)


@pytest.mark.parametrize("variable", PRODUCTION_REQUIRED)
def test_empty_value_counts_as_missing(variable: str) -> None:
    assert rejected(with_changes(**{variable: "  "})).variables == [variable]


@pytest.mark.parametrize("variable", PRODUCTION_OPTIONAL)
def test_optional_variables_may_be_absent(variable: str) -> None:
    assert validate_environment(with_changes(**{variable: None})) == []


def test_sentry_dsn_required_unless_explicitly_disabled() -> None:
    assert rejected(with_changes(SENTRY_DSN=None)).variables == ["SENTRY_DSN"]
    assert rejected(with_changes(SENTRY_DSN=None, ENABLE_SENTRY="true")).variables == ["SENTRY_DSN"]
    settings = load_settings(with_changes(SENTRY_DSN=None, ENABLE_SENTRY="false"))
    assert not settings.sentry_enabled


def test_webhook_base_required_unless_railway_domain() -> None:
    error = rejected(with_changes(EXOTEL_WEBHOOK_BASE_URL=None))
    assert error.variables == ["EXOTEL_WEBHOOK_BASE_URL"]
    assert "RAILWAY_PUBLIC_DOMAIN" in str(error)  # the message says how to fix it

    settings = load_settings(
        with_changes(EXOTEL_WEBHOOK_BASE_URL=None, RAILWAY_PUBLIC_DOMAIN="calls.up.railway.app")
    )
    assert settings.webhook_base_url == "https://calls.up.railway.app"


def test_railway_public_domain_wins_over_exotel_webhook_base_url() -> None:
    settings = load_settings(with_changes(RAILWAY_PUBLIC_DOMAIN="Calls.Up.Railway.App"))
    assert settings.webhook_base_url == "https://calls.up.railway.app"
    assert load_settings(production_env()).webhook_base_url == "https://api.example.com"


@pytest.mark.parametrize(
    "placeholder",
    ["https://yourdomain.com", "https://yourdomain.com/", "https://api.yourdomain.com/hooks"],
)
def test_placeholder_webhook_base_is_rejected_naming_both_unless_railway_wins(
    placeholder: str,
) -> None:
    error = rejected(with_changes(EXOTEL_WEBHOOK_BASE_URL=placeholder))
    assert error.variables == ["EXOTEL_WEBHOOK_BASE_URL"]
    assert "RAILWAY_PUBLIC_DOMAIN" in str(error)  # the message names both ways to fix it
    # With Railway's domain set, a leftover base URL is never used: it is not a problem.
    env = with_changes(
        EXOTEL_WEBHOOK_BASE_URL=placeholder, RAILWAY_PUBLIC_DOMAIN="calls.up.railway.app"
    )
    assert load_settings(env).webhook_base_url == "https://calls.up.railway.app"


UNSAFE_URLS = {
    "http": "http://app.example.com",
    "localhost": "https://localhost",
    "localhost-port": "https://localhost:8443",
    "loopback": "https://127.0.0.1",
    "loopback-other": "https://127.0.0.2:9000",
    "any-address": "https://0.0.0.0",
    "ipv6-loopback": "https://[::1]",
    "ipv6-any": "https://[::]",
    "ipv4-mapped-loopback": "https://[::ffff:127.0.0.1]",
    # Loopback spellings resolvers accept (inet_aton forms).
    "short-loopback": "https://127.1",
    "decimal-loopback": "https://2130706433",
    "hex-loopback": "https://0x7f000001",
    "octal-loopback": "https://0177.0.0.1",
    "zero": "https://0",
    "trailing-dot-localhost": "https://localhost.",
    "sub-localhost": "https://app.localhost",
    "placeholder": "https://yourdomain.com",
    "placeholder-subdomain": "https://api.yourdomain.com",
}
MALFORMED_URLS = {
    "no-scheme": "app.example.com",
    "no-host": "https://",
    "ftp": "ftp://app.example.com",
    "space": "https://app example.com",
    "bad-port": "https://app.example.com:99999",
    "star": "*",
    "credentials": "https://user:pw@app.example.com",
}


@pytest.mark.parametrize("variable", sorted(URL_VARIABLES - {"SENTRY_DSN"}))
@pytest.mark.parametrize(
    "value", [*UNSAFE_URLS.values(), *MALFORMED_URLS.values()], ids=[*UNSAFE_URLS, *MALFORMED_URLS]
)
def test_unsafe_or_malformed_production_urls_are_rejected(variable: str, value: str) -> None:
    error = rejected(with_changes(**{variable: value}))
    assert set(error.variables) == {variable}


@pytest.mark.parametrize(
    "dsn",
    [
        "http://publickey@o1.ingest.example.com/42",
        "https://publickey@localhost/42",
        "https://publickey@127.0.0.1:9000/42",
        "https://o1.ingest.example.com/42",  # no public key
        "not a dsn",
    ],
)
def test_unsafe_or_malformed_sentry_dsn_is_rejected(dsn: str) -> None:
    assert set(rejected(with_changes(SENTRY_DSN=dsn)).variables) == {"SENTRY_DSN"}


@pytest.mark.parametrize(
    "domain",
    ["localhost", "127.0.0.1", "https://calls.up.railway.app", "calls.up.railway.app/x", "a b"],
)
def test_bad_railway_public_domain_is_rejected(domain: str) -> None:
    assert set(rejected(with_changes(RAILWAY_PUBLIC_DOMAIN=domain)).variables) == {
        "RAILWAY_PUBLIC_DOMAIN"
    }


@pytest.mark.parametrize(
    "url", ["mysql://u:p@db.example.com/x", "not a url", "sqlite+pysqlite:///x.db"]
)
def test_malformed_or_unsupported_database_url_is_rejected_without_its_value(url: str) -> None:
    env = with_changes(DATABASE_URL=url)
    error = rejected(env)
    assert error.variables == ["DATABASE_URL"]
    assert url not in str(error)


def test_postgres_and_sqlite_database_urls_are_accepted() -> None:
    for url in ("postgresql://app:pw@db.example.com:5432/calls", "sqlite+aiosqlite:///./x.db"):
        settings = load_settings(with_changes(DATABASE_URL=url))
        assert settings.database_url is not None
        assert settings.database_url.get_secret_value() == url


def test_every_problem_is_reported_at_once() -> None:
    env = with_changes(
        FRONTEND_URL="http://localhost:3000",
        GOOGLE_CALLBACK_URL=None,
        EXOTEL_WEBHOOK_BASE_URL="https://yourdomain.com",
        MONITORING_ADMIN_TOKEN=None,
        SHOPIFY_WEBHOOK_SECRET="",
        SENTRY_TRACES_SAMPLE_RATE="2",
        OPENAI_BASE_URL="http://api.openai.com/v1",
    )
    error = rejected(env)
    assert set(error.variables) == {
        "FRONTEND_URL",
        "GOOGLE_CALLBACK_URL",
        "EXOTEL_WEBHOOK_BASE_URL",
        "MONITORING_ADMIN_TOKEN",
        "SHOPIFY_WEBHOOK_SECRET",
        "SENTRY_TRACES_SAMPLE_RATE",
        "OPENAI_BASE_URL",
    }
    lines = str(error).splitlines()
    assert len(lines) == 1 + len(error.problems)  # a header, then one problem per line
    for problem in error.problems:
        assert f"{problem.variable}: {problem.message}" in lines[1:][error.problems.index(problem)]


def test_error_never_contains_a_secret_value() -> None:
    # Secret-valued variables that are also malformed, next to many other problems.
    env = with_changes(
        SENTRY_DSN="ftp://" + SECRETS["MONITORING_ADMIN_TOKEN"],
        FRONTEND_URL="http://localhost",
        SENTRY_TRACES_SAMPLE_RATE=SECRETS["OPENAI_API_KEY"],
        BREAKER_OPEN_TIMEOUTS=SECRETS["SHOPIFY_ACCESS_TOKEN"],
        DATABASE_URL="postgresql://user:" + SECRETS["WASABI_SECRET_KEY"] + "@db.example.com/x",
        APP_ENV="production",
        GOOGLE_CALLBACK_URL=None,
    )
    error = rejected(env)
    rendered = "\n".join([str(error), repr(error), *map(repr, error.problems)])
    for value in [*SECRETS.values(), env["DATABASE_URL"]]:
        assert value not in rendered
    for secret in SECRETS.values():
        assert secret not in repr(load_settings(production_env()))


def test_direct_model_construction_is_just_as_strict() -> None:
    with pytest.raises(ConfigurationError) as info:
        Settings.model_validate(with_changes(FRONTEND_URL=None))
    assert info.value.problems == [Problem("FRONTEND_URL", "is required in production")]


def test_app_env_values() -> None:
    assert rejected({"APP_ENV": "prod"}).variables == ["APP_ENV"]
    assert load_settings({"APP_ENV": " Production ", **with_changes(APP_ENV=None)}).is_production
    assert not load_settings({}).is_production


def test_node_env_is_an_alias_and_app_env_wins() -> None:
    aliased = with_changes(APP_ENV=None, NODE_ENV="production")
    assert load_settings(aliased).is_production
    assert rejected({"NODE_ENV": "production"}).variables[0] == "FRONTEND_URL"
    assert rejected({"NODE_ENV": "test"}).variables == ["NODE_ENV"]
    assert not load_settings({"APP_ENV": "development", "NODE_ENV": "production"}).is_production
    # An empty APP_ENV counts as unset, so the alias applies.
    assert load_settings({**aliased, "APP_ENV": ""}).is_production


def test_field_names_instead_of_variable_names_are_refused() -> None:
    # Settings(app_env="production") must not silently build a development configuration.
    with pytest.raises(ConfigurationError) as info:
        Settings(app_env="production")  # type: ignore[call-arg]
    assert info.value.variables == ["APP_ENV"]


def test_load_settings_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in production_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FRONTEND_URL", "http://app.example.com")
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    assert info.value.variables == ["FRONTEND_URL"]
