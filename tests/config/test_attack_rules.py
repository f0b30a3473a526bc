"""What the production rules refuse because it would hurt: weak or placeholder secrets, hosts
that resolve inside the network (in any Unicode spelling), unbounded timeouts, a database that
forgets, a grace shorter than a request. Messages never contain a value."""

from __future__ import annotations

import pytest

from reference_app.config import (
    ConfigurationError,
    hash_api_key,
    load_settings,
    validate_environment,
)

from ._envs import with_changes


def _refused(**changes: str | None) -> dict[str, str]:
    """{variable: message} of the problems with production_env() changed as given."""
    return {p.variable: p.message for p in validate_environment(with_changes(**changes))}


def test_the_known_good_env_is_accepted() -> None:
    assert _refused() == {}


@pytest.mark.parametrize(
    "value",
    [
        "x",
        "changeme",
        "password",
        "replace-me-openai-api-key",
        "<your openai key>",
        "aaaaaaaaaaaaaaaaaaaaaaaa",
        "abababababababababababab",
        "1234567890123456",
        "abcdefghijklmnopqrstuvwx",
        "sk-test-key",
        "YOUR_OPENAI_API_KEY_GOES_HERE_1234",
        "${OPENAI_API_KEY}",
        "{{ openai_api_key }}",
        "Change_Me_Before_Deploying_2026",
        "sk-proj-xxxxxxxxxxxxxxxxxxxxxxxx",
        "TODO: ask ops for the real key",
    ],
)
def test_weak_placeholder_and_published_secrets_are_refused(value: str) -> None:
    problems = _refused(OPENAI_API_KEY=value)
    assert "OPENAI_API_KEY" in problems
    assert value not in problems["OPENAI_API_KEY"]


@pytest.mark.parametrize(
    "value",
    [
        # Random values that hold a placeholder word or sign inside, as one random draw in
        # thousands does: refusing them would fail a deploy (and a test) by chance.
        "q8Rz1LmXtodo4vTb7NcYp2Wd9KsJ5hGf3",
        "Yourk3Lq9-ZxTbHaNgP0cWmRsYdE7uVi2",
        "fixme8Rz1LmX4vTb7NcYp2Wd9KsJ5hGf3",
        "aK9<q>Zr!4m#Tb7&NcY%p2Wd9KsJ5hGf3",
        "Hq2$x{9Lm}Rz!4vTb7NcYp2Wd9KsJ5h",
    ],
)
def test_a_random_secret_is_not_a_placeholder_for_holding_one_by_chance(value: str) -> None:
    assert "OPENAI_API_KEY" not in _refused(OPENAI_API_KEY=value)


def test_the_admin_token_needs_more_than_the_floor() -> None:
    assert "MONITORING_ADMIN_TOKEN" in _refused(MONITORING_ADMIN_TOKEN="q8Rz1LmX4vTb7NcY")  # 16
    assert "MONITORING_ADMIN_TOKEN" not in _refused(
        MONITORING_ADMIN_TOKEN="q8Rz1LmX4vTb7NcYp2Wd9KsJ5hGf3"
    )


def test_placeholders_in_plain_variables_are_refused_too() -> None:
    assert "EXOTEL_ACCOUNT_SID" in _refused(EXOTEL_ACCOUNT_SID="replace-me-exotel-account-sid")
    dsn = "https://replace-me-public-key@sentry.example.com/1"
    assert "SENTRY_DSN" in _refused(SENTRY_DSN=dsn)


@pytest.mark.parametrize(
    ("variable", "url"),
    [
        ("EXOTEL_WEBHOOK_BASE_URL", "https://127\u30020\u30020\u30021"),  # ideographic full stops
        ("FRONTEND_URL", "https://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54"),
        ("OPENAI_BASE_URL", "https://169.254.169.254/v1"),
        ("OPENAI_BASE_URL", "https://[fd00:ec2::254]/v1"),
        ("WASABI_ENDPOINT", "https://10.0.0.8"),
        ("WASABI_ENDPOINT", "https://172.20.1.1"),
        ("WASABI_ENDPOINT", "https://192.168.1.10"),
        ("EXOTEL_BASE_URL", "https://exotel.internal"),
        ("EXOTEL_BASE_URL", "https://exotel.default.svc.cluster.local"),
        ("EXOTEL_BASE_URL", "https://metadata.google.internal"),
        ("GOOGLE_CALLBACK_URL", "https://api.example.com:0/cb"),
    ],
)
def test_hosts_clients_would_resolve_inside_the_network_are_refused(
    variable: str, url: str
) -> None:
    assert variable in _refused(**{variable: url})


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PROVIDER_TIMEOUTS", "exotel=1e308"),
        ("PROVIDER_TIMEOUTS", "openai=121"),
        ("BREAKER_OPEN_TIMEOUTS", "exotel=1e308"),
        ("SHUTDOWN_GRACE_SECONDS", "1e308"),
    ],
)
def test_unbounded_timeouts_are_refused_in_any_mode(variable: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_settings({variable: value})
    assert info.value.variables == [variable]


@pytest.mark.parametrize("value", ["¹", "٣٠", "0", "100001", "ten"])
def test_a_rate_limit_must_be_ascii_digits_in_range(value: str) -> None:
    # "¹" and "٣٠" pass str.isdigit(): the check must refuse them, not crash in int().
    refused = _refused(MERCHANT_RATE_LIMIT=value)
    assert refused == {
        "MERCHANT_RATE_LIMIT": "must be a whole number of calls per minute between 1 and 100000"
    }


def test_production_needs_a_durable_database() -> None:
    assert "DATABASE_URL" in _refused(DATABASE_URL=None)
    for memory in ("sqlite://", "sqlite+aiosqlite://", "sqlite:///:memory:"):
        assert "DATABASE_URL" in _refused(DATABASE_URL=memory), memory
    assert "DATABASE_URL" not in _refused(DATABASE_URL="sqlite+aiosqlite:////data/calls.db")


def test_the_shutdown_grace_covers_a_request_in_production() -> None:
    assert "SHUTDOWN_GRACE_SECONDS" in _refused(SHUTDOWN_GRACE_SECONDS="10")
    assert "SHUTDOWN_GRACE_SECONDS" not in _refused(SHUTDOWN_GRACE_SECONDS="30")
    assert load_settings({}).shutdown_grace >= 25


def test_production_needs_merchants_and_their_keys_are_hashes_bound_to_shops() -> None:
    assert "MERCHANT_API_KEYS" in _refused(MERCHANT_API_KEYS=None)
    digest = hash_api_key("k" * 40)
    for malformed in (
        "acme",
        f"acme:{digest}",  # no shop
        f"acme:{digest[:-1]}:acme.myshopify.com",  # not a SHA-256
        f"acme:{digest}:evil.example.com",  # not a shop domain
        f"acme:{digest}:a.myshopify.com,other:{digest}:b.myshopify.com",  # one key twice
    ):
        problems = _refused(MERCHANT_API_KEYS=malformed)
        assert "MERCHANT_API_KEYS" in problems, malformed
        assert digest not in problems["MERCHANT_API_KEYS"]
    settings = load_settings(
        {"MERCHANT_API_KEYS": f"acme:{digest}:a.myshopify.com|b.myshopify.com"}
    )
    (key,) = settings.merchant_api_keys
    assert key.shops == {"a.myshopify.com", "b.myshopify.com"}
    assert digest not in repr(settings)
