"""prod_config and route_audit against the weather app, plus ProdConfigChecker directly."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from pytest_hardening import Mutation, ProdConfigChecker, RouteAuditor

from . import weather_app
from .conftest import PROD_ENV


def test_build_and_accepts(prod_config: ProdConfigChecker) -> None:
    app = prod_config.assert_accepts()
    assert ("GET", "/debug/env") not in {(r.methods and "GET", r.path) for r in app.routes}
    assert "APP_ENV" not in os.environ  # the env is only set while building


def test_assert_rejects_returns_the_error_naming_the_variable(
    prod_config: ProdConfigChecker,
) -> None:
    error = prod_config.assert_rejects(drop=["WEATHER_API_KEY"])
    assert isinstance(error, weather_app.SettingsError)
    prod_config.assert_rejects(WEATHER_API_URL="http://api.weather.example")


def test_assert_rejects_fails_when_the_unsafe_value_is_accepted(
    prod_config: ProdConfigChecker,
) -> None:
    with pytest.raises(AssertionError, match="the app was built and its startup ran"):
        prod_config.assert_rejects(SENTRY_DSN=None)


def test_audit_reports_what_the_app_wrongly_accepts(prod_config: ProdConfigChecker) -> None:
    report = prod_config.audit(optional=["SENTRY_DSN"])
    accepted = {(m.variable, m.kind) for m in report.accepted}
    # The weather app validates its API URL and key but not the Sentry DSN's shape, and it
    # boots without APP_ENV (silently in development mode): real findings of the audit.
    assert ("APP_ENV", "drop") in accepted
    assert ("SENTRY_DSN", "http scheme") in accepted
    # Scheme and loopback checks hold; the placeholder host slips through.
    assert {k for v, k in accepted if v == "WEATHER_API_URL"} == {"placeholder"}
    assert ("WEATHER_API_KEY", "drop") in {(m.variable, m.kind) for m in report.rejected}
    assert report.leaks == []
    with pytest.raises(AssertionError, match="ACCEPTED APP_ENV: dropped") as info:
        report.assert_ok()
    # What to do about it: refuse to start without it, or declare it optional.
    assert "APP_ENV dropped and the app started: it runs on a default of its own, or never" in (
        str(info.value)
    )
    assert "goes in a PRODUCTION_OPTIONAL sequence in the factory's module" in str(info.value)


def test_a_variable_declared_optional_is_not_dropped(prod_config: ProdConfigChecker) -> None:
    report = prod_config.audit(optional=["SENTRY_DSN", "APP_ENV"])
    assert ("APP_ENV", "drop") not in {(m.variable, m.kind) for m in report.accepted}
    assert "dropped and the app started" not in str(report)


def test_rejection_that_leaks_a_secret_is_a_finding() -> None:
    def factory() -> Any:
        key = os.environ.get("API_TOKEN", "")
        if os.environ.get("MODE") != "ok":
            raise ValueError(f"MODE invalid (API_TOKEN={key})")
        return object()

    checker = ProdConfigChecker(factory, {"MODE": "ok", "API_TOKEN": "tok_live_abcdef"})
    report = checker.audit(optional=["API_TOKEN"])
    assert report.leaks == ["refusing 'MODE: dropped' printed the value of API_TOKEN"]
    with pytest.raises(AssertionError) as info:
        checker.assert_rejects(MODE="bad")
    assert "leaks the value of API_TOKEN" in str(info.value)
    assert "tok_live_abcdef" not in str(info.value)
    assert "<API_TOKEN redacted>" in str(info.value)


def test_a_secret_cut_off_by_a_repr_is_still_a_leak() -> None:
    # pydantic prints the settings input truncated: part of a secret is still printed.
    def factory() -> Any:
        if "DATABASE_URL" not in os.environ:
            raise ValueError(f"DATABASE_URL missing; input={{'SECRET_KEY': '{KEY[:9]}...'}}")
        return object()

    checker = ProdConfigChecker(factory, {"SECRET_KEY": KEY, "DATABASE_URL": "postgresql://db"})
    with pytest.raises(AssertionError) as info:
        checker.assert_rejects(drop=["DATABASE_URL"])
    assert "leaks the value of SECRET_KEY" in str(info.value)
    assert KEY[:9] not in str(info.value)  # the failure masks the fragment too
    assert "'<SECRET_KEY redacted>...'" in str(info.value)

    # A URL's scheme before "..." names no secret.
    def strict() -> Any:
        if os.environ.get("MODE") != "ok":
            raise ValueError("MODE invalid; SENTRY_DSN must be an https://... URL too")
        return object()

    env = {"MODE": "ok", "SENTRY_DSN": "https://k3y0123@o1.ingest.sentry.io/4"}
    ProdConfigChecker(strict, env).assert_rejects(MODE="bad")


KEY = "Zq8v3LmT1x9PbWc4Ry7uKd2HfN6sJe0A"


def test_a_secret_in_the_input_pydantic_repeats_is_a_leak_said_where() -> None:
    # A model validator's refusal: str(ValidationError) repeats the whole input (truncated), so
    # a log line prints the end of API_TOKEN; the lines the failure shows leave the input out.
    from pydantic import model_validator
    from pydantic_settings import BaseSettings

    class Settings(BaseSettings):
        SECRET_KEY: str = "changethis"
        API_TOKEN: str = ""

        @model_validator(mode="after")
        def _strong(self) -> Settings:
            if self.SECRET_KEY == "changethis":
                raise ValueError('The value of SECRET_KEY is "changethis": change it')
            return self

    env = {"SECRET_KEY": KEY, "API_TOKEN": "tok-4hT8pQ2wE6rY0uI3oP7aS1dF5gH9"}
    checker = ProdConfigChecker(Settings, env)
    with pytest.raises(AssertionError) as info:
        checker.assert_rejects(SECRET_KEY="changethis")
    assert "leaks the value of API_TOKEN (in the input pydantic's error repeats" in str(info.value)
    assert "hide_input_in_errors=True" in str(info.value)
    report = checker.audit()
    assert any("hide_input_in_errors=True" in leak for leak in report.leaks), report.leaks

    class Hidden(Settings):
        model_config = {"hide_input_in_errors": True}  # noqa: RUF012 - pydantic reads it

    ProdConfigChecker(Hidden, env).assert_rejects(SECRET_KEY="changethis")


def test_every_secret_of_an_input_pydantic_prints_is_a_leak_whatever_the_fields_order() -> None:
    # str(ValidationError) prints the input cut to its first and last characters: long public
    # values around the secrets hide them today, and a field added or reordered shows them.
    from pydantic_settings import BaseSettings, SettingsConfigDict

    class Settings(BaseSettings):
        DATABASE_URL: str
        PUBLIC_URL: str
        API_TOKEN: str
        WEBHOOK_SECRET: str
        PUBLIC_REGION: str

    env = {
        "DATABASE_URL": "postgresql://app@127.0.0.1:5432/app",
        "PUBLIC_URL": "https://memes.example.com/a/rather/long/public/path",
        "API_TOKEN": "Tk4nB8vX2zL7qW1eR5tY3uI6oP0aSdFg",
        "WEBHOOK_SECRET": KEY,
        "PUBLIC_REGION": "europe-west-1-frankfurt-availability-zone-b",
    }
    with pytest.raises(AssertionError, match="leaks the value of API_TOKEN, WEBHOOK_SECRET "):
        ProdConfigChecker(Settings, env).assert_rejects(drop=["DATABASE_URL"])
    # The audit says each refusal's leak once, naming every secret it repeats (a trial's
    # report said one root cause 33 times, a line per variant and secret).
    leaks = ProdConfigChecker(Settings, env).audit().leaks
    dropped = "refusing 'DATABASE_URL: dropped' carried the values of"
    [leak] = [leak for leak in leaks if leak.startswith(dropped)]
    assert leak.startswith(f"{dropped} API_TOKEN and WEBHOOK_SECRET (in the input pydantic's")

    class Hidden(Settings):
        model_config = SettingsConfigDict(hide_input_in_errors=True)

    ProdConfigChecker(Hidden, env).assert_rejects(drop=["DATABASE_URL"])


def test_refusing_a_published_default_may_name_it() -> None:
    # As FastAPI's full-stack template does: 'The value of SECRET_KEY is "changethis"'.
    def factory() -> Any:
        key = os.environ.get("SECRET_KEY", "")
        if key in ("changethis", "your_secret_key_here", "dev-secret-1"):
            raise ValueError(f'The value of SECRET_KEY is "{key}": change it for deployments')
        return object()

    checker = ProdConfigChecker(factory, {"SECRET_KEY": KEY})
    checker.assert_rejects(SECRET_KEY="changethis")  # public: printing it leaks nothing
    checker.assert_rejects(SECRET_KEY="your_secret_key_here")  # .env.example's, public too
    with pytest.raises(AssertionError, match="leaks the value of SECRET_KEY"):
        checker.assert_rejects(SECRET_KEY="dev-secret-1")  # any other value is a secret


def test_the_audit_needs_the_known_good_env_to_boot() -> None:
    # A build that crashes for another reason refuses every variant: not a clean audit.
    def factory() -> Any:
        raise RuntimeError("Table 'user' is already defined for this MetaData instance")

    checker = ProdConfigChecker(factory, {"SECRET_KEY": KEY, "DATABASE_URL": "postgresql://db"})
    with pytest.raises(AssertionError, match=r"needs the known-good env to boot.*RuntimeError"):
        checker.audit()


def test_a_refusal_that_does_not_name_the_variable_is_a_finding() -> None:
    def factory() -> Any:
        if "CACHE_URL" not in os.environ:
            raise RuntimeError("connection pool exhausted")  # not about CACHE_URL at all
        return object()

    report = ProdConfigChecker(factory, {"CACHE_URL": "cache-1"}).audit()
    assert report.accepted == []
    assert [str(m) for m in report.unnamed] == ["CACHE_URL: dropped"]
    assert not report.ok
    with pytest.raises(AssertionError, match="refused without naming the variable: CACHE_URL"):
        report.assert_ok()


def _reads_a_dotenv_file() -> Any:
    """An app whose settings also read ./.env (as pydantic-settings' env_file does)."""
    from dotenv import dotenv_values
    from starlette.applications import Starlette

    values = {**dotenv_values(".env"), **os.environ}
    if values.get("APP_ENV") == "production" and not values.get("PAYMENTS_KEY"):
        raise weather_app.SettingsError("PAYMENTS_KEY is required in production")
    return Starlette()


def test_a_dropped_variable_that_a_dotenv_file_sets_is_named_as_its_source(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("export PAYMENTS_KEY=pk_dev_local_0123456789\n")
    env = {"APP_ENV": "production", "PAYMENTS_KEY": "pk_live_abcdefghijklmnop"}
    checker = ProdConfigChecker(_reads_a_dotenv_file, env)
    with pytest.raises(AssertionError) as info:
        checker.assert_rejects(drop=["PAYMENTS_KEY"])
    message = str(info.value)
    assert "PAYMENTS_KEY dropped from the environment, but set in .env" in message
    assert "pk_dev_local" not in message  # never the value
    assert "set in .env" in str(checker.audit(optional=["APP_ENV"]))
    (tmp_path / ".env").unlink()
    checker.assert_rejects(drop=["PAYMENTS_KEY"])  # without the file, refused


def test_a_dotenv_file_in_a_parent_folder_is_named_too(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Apps run from a subfolder often read ``../.env`` (the full-stack FastAPI template)."""
    backend = tmp_path / "backend"
    backend.mkdir()
    monkeypatch.chdir(backend)
    (tmp_path / ".env").write_text("PAYMENTS_KEY=pk_dev_local_0123456789\n")

    def reads_the_parent_dotenv() -> Any:
        from dotenv import dotenv_values
        from starlette.applications import Starlette

        values = {**dotenv_values("../.env"), **os.environ}
        if values.get("APP_ENV") == "production" and not values.get("PAYMENTS_KEY"):
            raise weather_app.SettingsError("PAYMENTS_KEY is required in production")
        return Starlette()

    env = {"APP_ENV": "production", "PAYMENTS_KEY": "pk_live_abcdefghijklmnop"}
    checker = ProdConfigChecker(reads_the_parent_dotenv, env)
    with pytest.raises(AssertionError) as info:
        checker.assert_rejects(drop=["PAYMENTS_KEY"])
    assert f"but set in {os.path.join('..', '.env')}:" in str(info.value)
    assert "pk_dev_local" not in str(info.value)


def test_url_mutations() -> None:
    checker = ProdConfigChecker(object, {"DB_URL": "postgresql://u:pw@db.internal:5432/app"})
    values = {m.kind: m.value for m in checker.mutations()}
    assert values["drop"] is None
    assert values["localhost"] == "postgresql://u:pw@localhost:5432/app"
    assert values["127.0.0.1"] == "postgresql://u:pw@127.0.0.1:5432/app"
    assert values["placeholder"] == "https://yourdomain.com"
    assert "http scheme" not in values  # only https URLs are downgraded


def test_weak_value_mutations() -> None:
    env = {
        "SECRET_KEY": KEY,
        "APP_DEBUG": "false",
        "BACKEND_CORS_ORIGINS": "https://app.example.com",
        "REGION": "eu-1",
    }
    found = {(m.variable, m.kind, m.value) for m in ProdConfigChecker(object, env).mutations()}
    assert found >= {
        ("SECRET_KEY", "published default", "changethis"),
        ("SECRET_KEY", "example placeholder", "your_secret_key_here"),
        ("SECRET_KEY", "short", "x"),
        ("APP_DEBUG", "debug on", "true"),
        ("BACKEND_CORS_ORIGINS", "any origin", "*"),  # besides the URL's own variants
    }
    assert {(k, v) for name, k, v in found if name in ("SECRET_KEY", "APP_DEBUG", "REGION")} == {
        ("drop", None),
        ("published default", "changethis"),
        ("example placeholder", "your_secret_key_here"),
        ("short", "x"),
        ("debug on", "true"),
    }


def test_the_audit_finds_a_published_default_accepted() -> None:
    def factory() -> Any:
        if not os.environ.get("SECRET_KEY"):
            raise ValueError("SECRET_KEY is required")
        return object()

    report = ProdConfigChecker(factory, {"SECRET_KEY": KEY}).audit()
    # Values the audit makes up, the same for every project: shown, so the report says which.
    assert [str(m) for m in report.accepted] == [
        "SECRET_KEY: published default -> 'changethis'",
        "SECRET_KEY: example placeholder -> 'your_secret_key_here'",
        "SECRET_KEY: short -> 'x'",
    ]
    assert str(Mutation("SECRET_KEY", "its .env.example value", "sk_live_1")).endswith(
        "-> <redacted>"  # a project's own file may hold a real key by mistake
    )


def test_route_audit_dev_only(route_audit: RouteAuditor) -> None:
    assert route_audit.dev_only() == {("GET", "/debug/env"), ("POST", "/debug/reset")}
    route_audit.assert_absent_in_production("/debug")


def test_route_audit_fails_for_a_route_still_served_in_production(
    route_audit: RouteAuditor,
) -> None:
    with pytest.raises(AssertionError) as info:
        route_audit.assert_absent_in_production("/forecast")
    message = str(info.value)
    assert "route table has GET /forecast/{city}" in message
    assert "OpenAPI document lists /forecast/{city}" in message
    assert "GET /forecast/1 answered 200" in message or "answered" in message


def test_route_auditor_directly() -> None:
    env = {**PROD_ENV}
    auditor = RouteAuditor(weather_app.create_app, lambda: _with_env(env, weather_app.create_app))
    assert ("GET", "/debug/env") in auditor.dev_only()


def _with_env(env: dict[str, str], factory: Any) -> Any:
    from pytest_hardening import EnvPatch

    with EnvPatch(env):
        return factory()


def test_a_route_registered_in_production_but_answering_404_is_named_as_such() -> None:
    from fastapi import FastAPI, HTTPException

    def build(production: bool) -> FastAPI:
        app = FastAPI(openapi_url=None)  # no API document served

        @app.get("/sentry-debug")
        def debug() -> None:
            if production:  # hidden at request time only
                raise HTTPException(404)
            raise ZeroDivisionError

        return app

    auditor = RouteAuditor(lambda: build(False), lambda: build(True))
    with pytest.raises(AssertionError) as info:
        auditor.assert_absent_in_production("/sentry-debug")
    message = str(info.value)
    assert "is still registered (every request answered 404) in production" in message
    assert "route table has GET /sentry-debug" in message
    assert "OpenAPI" not in message  # openapi_url=None: the app serves no document


def _calling_app(production: bool) -> Any:
    """Debug pages that call out (with production settings, for real) and a redirect."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, RedirectResponse
    from starlette.routing import Route

    def status(request: Any) -> JSONResponse:
        try:
            code = httpx.get("https://status.example.net/v1", timeout=2).status_code
        except httpx.HTTPError as error:
            return JSONResponse({"error": type(error).__name__}, status_code=502)
        return JSONResponse({"upstream": code})

    routes = [
        Route("/", lambda r: JSONResponse({"home": True})),
        Route("/polling", lambda r: RedirectResponse("/")),
    ]
    if not production:
        routes += [Route("/debug/status", status)]
    routes += [Route("/status", status)]  # left in production by mistake
    return Starlette(routes=routes)


def test_route_probes_cannot_reach_the_network_and_report_what_they_tried() -> None:
    auditor = RouteAuditor(lambda: _calling_app(False), lambda: _calling_app(True))
    auditor.assert_absent_in_production("/debug")
    assert auditor.problems_report() is None  # a 404 calls nobody
    with pytest.raises(AssertionError, match="GET /status answered 502, expected 404"):
        auditor.assert_absent_in_production("/status")  # refused, hence 502
    report = auditor.problems_report()
    assert report is not None
    assert "status.example.net:443" in report


def test_the_root_is_one_page_and_a_redirect_is_reported_as_one() -> None:
    auditor = RouteAuditor(lambda: _calling_app(False), lambda: _calling_app(True))
    with pytest.raises(AssertionError) as info:
        auditor.assert_absent_in_production("/")
    assert "route table has GET /\n" in str(info.value) + "\n"  # not every route of the app
    with pytest.raises(AssertionError, match="GET /polling answered 307, expected 404"):
        auditor.assert_absent_in_production("/polling")


def test_a_factory_that_connects_while_it_builds_got_past_its_validation() -> None:
    # As a startup stopped only by connecting: the guard's refusal is no refusal of the
    # configuration (it read "refused: ConnectionRefusedError ..." as if the app had refused).
    import socket

    def pings_its_database() -> Any:
        if len(os.environ.get("API_KEY", "")) < 8:
            raise ValueError("API_KEY: needs at least 8 characters")
        host, _, port = os.environ["DB_HOST"].partition(":")
        socket.create_connection((host, int(port)), timeout=2).close()
        return weather_app.create_app()

    env = {"DB_HOST": "db.internal.example:5432", "API_KEY": "a-long-key"}
    checker = ProdConfigChecker(pings_its_database, env)
    assert checker.assert_accepts() is None  # no app: its build stopped there
    assert checker.stopped_at == (
        "its build got as far as connecting to db.internal.example:5432 (name lookup), from "
        "tests.plugin.weather.test_weather_prod_config_and_routes's own code, refused by the check"
    )
    checker.assert_rejects(API_KEY="short")
    report = checker.audit()
    assert report.findings[0].startswith(
        "accepted API_KEY: published default -> 'changethis' (its build got as far as "
        "connecting to db.internal.example:5432"
    )


def test_a_loopback_url_is_not_made_loopback_again() -> None:
    # The known-good env's database is the test's own, on 127.0.0.1: "localhost" is no change.
    checker = ProdConfigChecker(object, {"DB_URL": "postgresql://u:pw@127.0.0.1:5432/app"})
    kinds = {m.kind for m in checker.mutations()}
    assert {"localhost", "127.0.0.1"}.isdisjoint(kinds)
    assert {"drop", "placeholder", "malformed"} <= kinds


def test_any_origin_is_written_in_the_settings_own_form() -> None:
    # A list setting reads JSON (pydantic-settings): a bare "*" it cannot parse read as refused.
    env = {"CORS_ORIGINS": '["https://app.example.com"]', "ALLOWED_ORIGINS": "https://a.example"}
    found = {(m.variable, m.value) for m in ProdConfigChecker(object, env).mutations()}
    assert ("CORS_ORIGINS", '["*"]') in found
    assert ("ALLOWED_ORIGINS", "*") in found


def test_an_origin_regex_is_tried_with_one_matching_any_origin() -> None:
    # "*" is not a regex: the build would fail on it and read as refused, proving nothing.
    env = {"CORS_ORIGINS_REGEX": r"https://.*\.shop\.example"}
    found = {(m.variable, m.value) for m in ProdConfigChecker(object, env).mutations()}
    assert ("CORS_ORIGINS_REGEX", ".*") in found


def test_a_secret_is_tried_at_the_projects_own_example_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The project's .env.example is committed: a deployment that copied it runs on its values.
    (tmp_path / ".env.example").write_text(
        "SECRET_KEY=change-me-to-a-random-secret-key-min-32-chars\nJWT_SECRET=changethis\n"
    )
    monkeypatch.chdir(tmp_path)
    env = {"SECRET_KEY": KEY, "JWT_SECRET": KEY}
    found = [(m.variable, m.kind, m.value) for m in ProdConfigChecker(object, env).mutations()]
    example = "change-me-to-a-random-secret-key-min-32-chars"
    assert ("SECRET_KEY", "its .env.example value", example) in found
    # A value tried already (a published default) is tried once.
    assert [k for name, k, v in found if name == "JWT_SECRET" and v == "changethis"] == [
        "published default"
    ]
    assert all(example not in str(m) for m in ProdConfigChecker(object, env).mutations())


def test_a_protection_that_is_on_is_tried_off() -> None:
    env = {"COOKIE_SECURE": "true", "VERIFY_SSL": "1", "SECURE_NAME": "acme", "USE_HTTPS": "false"}
    found = {(m.variable, m.value) for m in ProdConfigChecker(object, env).mutations() if m.value}
    assert found == {("COOKIE_SECURE", "false"), ("VERIFY_SSL", "false")}


def test_a_production_build_that_lets_any_origin_send_credentials_is_not_accepted() -> None:
    # allow_origins=["*"] with allow_credentials=True: Starlette answers every origin with
    # itself, so any site reads what its visitors' cookies authenticate. Hard-coded in the
    # app, so no variable of the env could show it (a trial's app did this).
    from fastapi import FastAPI
    from fastapi.middleware.cors import CORSMiddleware

    def factory(origins: list[str], credentials: bool) -> Any:
        app = FastAPI()
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_credentials=credentials)
        return app

    with pytest.raises(AssertionError, match="lets any origin make credentialed requests"):
        ProdConfigChecker(lambda: factory(["*"], True), {}).assert_accepts()
    ProdConfigChecker(lambda: factory(["*"], False), {}).assert_accepts()  # no cookies: public
    ProdConfigChecker(lambda: factory(["https://shop.example"], True), {}).assert_accepts()


@pytest.mark.parametrize("regex", [".*", "https://.*", "https?://.*", "(.*)", ".*?", "[^/]+//.+"])
def test_an_origin_regex_that_lets_any_site_in_with_credentials_is_not_accepted(
    regex: str,
) -> None:
    # Starlette answers every origin the regex matches with itself: any regex an unrelated
    # site's origin matches is "any origin", however it is written (a trial's app).
    from fastapi import FastAPI
    from fastapi.middleware.cors import CORSMiddleware

    def factory(regex: str) -> Any:
        app = FastAPI()
        app.add_middleware(CORSMiddleware, allow_origin_regex=regex, allow_credentials=True)
        return app

    with pytest.raises(AssertionError, match="lets any origin make credentialed requests"):
        ProdConfigChecker(lambda: factory(regex), {}).assert_accepts()
    ProdConfigChecker(lambda: factory(r"https://[a-z]+\.shop\.example"), {}).assert_accepts()
