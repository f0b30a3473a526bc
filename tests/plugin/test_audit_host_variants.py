"""The audit points a dependency's host written alone (``REDIS_HOST=cache.internal``) at this
machine, as it does a URL's host: an app that accepts ``localhost`` there would run in
production against a server that is not there. The app's own bind address or public name is
left alone, as is any host not named for a kind of server (``API_HOSTNAME``)."""

from __future__ import annotations

import os

from fastapi import FastAPI

from pytest_hardening import ProdConfigChecker

ENV = {
    "REDIS_HOST": "cache.internal",
    "SMTP_SERVER": "smtp.example.com",
    "DB_HOSTNAME": "10.0.0.5",
    "HOST": "0.0.0.0",  # noqa: S104 (the bind address a server reads)
    "SERVER_HOST": "api.example.com",
    "API_HOSTNAME": "api.example.com",  # the app's own public name
    "WORKERS": "4",
}


def _create_app() -> FastAPI:
    if os.environ.get("DB_HOSTNAME", "").startswith(("localhost", "127.")):
        raise RuntimeError("DB_HOSTNAME: must not be this machine in production")
    return FastAPI()


def test_a_dependencys_host_is_made_local_and_an_app_that_accepts_it_is_told() -> None:
    checker = ProdConfigChecker(_create_app, ENV)
    local = sorted(str(m) for m in checker.mutations() if m.kind in ("localhost", "127.0.0.1"))
    assert local == [
        "DB_HOSTNAME: 127.0.0.1 -> '127.0.0.1'",
        "DB_HOSTNAME: localhost -> 'localhost'",
        "REDIS_HOST: 127.0.0.1 -> '127.0.0.1'",
        "REDIS_HOST: localhost -> 'localhost'",
        "SMTP_SERVER: 127.0.0.1 -> '127.0.0.1'",
        "SMTP_SERVER: localhost -> 'localhost'",
    ]
    report = checker.audit(optional=ENV)  # nothing dropped: the hosts alone
    assert sorted(str(m) for m in report.accepted) == local[2:]
    assert sorted(str(m) for m in report.rejected) == local[:2]


def test_a_list_of_urls_has_its_first_changed_and_the_others_kept() -> None:
    # A trial's CORS_ORIGINS=https://a,https://b became 'https://localhost//b': one URL parsed
    # from the whole list, a value no app reads as its list.
    env = {
        "CORS_ORIGINS": "https://sisukas.eu,https://sisukas.fly.dev",
        "ALLOWED": '["https://a.example.com", "https://b.example.com"]',
    }
    found = {str(m) for m in ProdConfigChecker(_create_app, env).mutations(optional=env)}
    assert "CORS_ORIGINS: localhost -> 'https://localhost,https://sisukas.fly.dev'" in found
    assert "CORS_ORIGINS: http scheme -> 'http://sisukas.eu,https://sisukas.fly.dev'" in found
    assert """ALLOWED: 127.0.0.1 -> '["https://127.0.0.1", "https://b.example.com"]'""" in found
    assert not any("//sisukas.fly.dev'" in m and "localhost//" in m for m in found)
