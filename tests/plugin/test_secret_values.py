"""Which values of an environment are secrets: what check-config, the audit and
assert_no_secrets mask or look for, and the audit weakens as a secret."""

from __future__ import annotations

import os

from fastapi import FastAPI

from pytest_hardening import ProdConfigChecker
from pytest_hardening._secrets import leaks, secret_values


def test_a_switch_named_like_a_secret_holds_no_secret() -> None:
    # Masking "false" would mask every "false" in the output, advice included.
    env = {
        "REDACT_API_KEYS": "false",
        "ROTATE_TOKENS": "Enabled",
        "API_KEY": "sk-live-0123456789",
        "DB_PASSWORD": "true-story-horse",  # a secret that merely starts like a switch
    }
    assert secret_values(env) == [
        ("API_KEY", "sk-live-0123456789"),
        ("DB_PASSWORD", "true-story-horse"),
    ]


def test_a_dsn_without_credentials_holds_no_secret() -> None:
    # A trial's dead-letter queue, DL_QUEUE_DSN=file:///..., was named leaked in every line of
    # its audit: a DSN's secret is the credentials in it.
    env = {
        "DL_QUEUE_DSN": "file:///var/lib/app/dlq",
        "CACHE_DSN": "redis://cache.internal:6379/0",
        "SENTRY_DSN": "https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/4",
        "DB_DSN": "postgresql://app:Zq8v3LmT1x9P@db.internal/app",
    }
    found = secret_values(env)
    assert [name for name, _ in found] == ["SENTRY_DSN", "SENTRY_DSN", "DB_DSN", "DB_DSN"]
    assert ("DB_DSN", "Zq8v3LmT1x9P") in found


def test_a_name_about_a_secret_or_a_public_key_holds_no_secret() -> None:
    env = {
        "ACCESS_TOKEN_EXPIRE_MINUTES": "30",
        "SECRET_ROTATION_DAYS": "90",
        "SIGNING_KEY_ID": "kid-2026-01",
        "TOKEN_URL": "https://auth.example.com/oauth/token",
        "JWT_SECRET_ALGORITHM": "HS256",
        "SECRET_KEY_FILE": "/run/secrets/secret_key",
        "STRIPE_PUBLISHABLE_KEY": "pk_live_0123456789",
        "JWT_SECRET": "a-long-signing-secret",
        "ADMIN_PASSWORD_HASH": "$2b$12$0123456789abcdef",  # a hash: still not for printing
    }
    assert secret_values(env) == [
        ("JWT_SECRET", "a-long-signing-secret"),
        ("ADMIN_PASSWORD_HASH", "$2b$12$0123456789abcdef"),
    ]


def _create_app() -> FastAPI:
    # Each is required and checked as the app needs it; none holds a secret.
    days = int(os.environ["SECRET_ROTATION_DAYS"])
    if not 0 < days <= 90:
        raise RuntimeError(f"SECRET_ROTATION_DAYS out of range: {days}")
    if not os.environ["SIGNING_KEY_ID"].startswith("kid-"):
        raise RuntimeError("SIGNING_KEY_ID: expected a key id, kid-...")
    int(os.environ["TOKEN_TTL_SECONDS"])
    return FastAPI()


def test_the_audit_weakens_no_setting_about_a_secret_as_a_secret() -> None:
    # A day count or a key's id set to "changethis", "x" or the audit's own placeholder read
    # as a secret left weak: "accepted SIGNING_KEY_ID: published default" was a false alarm.
    env = {"SECRET_ROTATION_DAYS": "30", "SIGNING_KEY_ID": "kid-1", "TOKEN_TTL_SECONDS": "900"}
    report = ProdConfigChecker(_create_app, env).audit()
    assert {m.kind for m in report.accepted + report.rejected + report.unnamed} == {"drop"}
    assert report.accepted == []


def test_the_audit_reports_a_secret_the_known_good_env_leaves_weak() -> None:
    # Its variants change the known-good values: one that is already a published default was
    # never tried, and an app that validates nothing passed on it.
    env = {"OPENAI_API_KEY": "changethis", "SESSION_SECRET": "a-long-and-random-secret"}
    report = ProdConfigChecker(FastAPI, env).audit()
    accepted = [str(m) for m in report.accepted]
    assert accepted[0] == "OPENAI_API_KEY: published default as given -> 'changethis'"
    assert not any(line.startswith("SESSION_SECRET") and "as given" in line for line in accepted)


def test_a_short_secret_that_is_a_word_of_the_apps_names_is_not_read_as_printed() -> None:
    # The database password "lycosa" and the app's metrics lycosa_http_requests_total: an
    # error naming the metrics read as leaking the password.
    names = "Duplicated timeseries in CollectorRegistry: {'lycosa_http_requests_total'}"
    assert not leaks(names, "lycosa")
    assert leaks("password 'lycosa' is too weak", "lycosa")
    assert leaks("postgresql://app:lycosa@db.internal/app", "lycosa")
    assert leaks("token Zq8v3LmT1xW7kP2rN9dQ was refused", "Zq8v3LmT1xW7kP2rN9dQ")
    assert leaks("xZq8v3LmT1xW7kP2rN9dQx", "Zq8v3LmT1xW7kP2rN9dQ")  # long: printed wherever


def test_the_public_end_of_a_url_with_credentials_is_no_leak() -> None:
    # pydantic cuts a long input short: 'changethi...o1.ingest.sentry.io/42' prints a DSN's
    # host and project, which Sentry publishes; its key, before the @, is the secret.
    dsn = "https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/42"
    assert not leaks("input_value={'SECRET_KEY': 'changethi...o1.ingest.sentry.io/42'}", dsn)
    assert not leaks("'changethi...@o1.ingest.sentry.io/42'", dsn)
    assert leaks("'...89abcdef@o1.ingest.sentry.io/42'", dsn)  # eight characters of the key
    assert leaks("'0123456789ab...'", dsn)
    assert leaks(f"DSN is {dsn}", dsn)
    database = "postgresql://app:s3cr3t-Pa55w0rd-long@db.internal:5432/app"
    assert not leaks("'...db.internal:5432/app'", database)
    assert leaks("'...Pa55w0rd-long@db.internal:5432/app'", database)
    # Without credentials the whole of it may be the secret (a webhook's path).
    hook = "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX"
    assert leaks("'...B0000/XXXXXXXXXXXXXXXXXXXXXXXX'", hook)
