"""The production checks boot the app as a server does: built, then its lifespan started. An
app that validates its settings at startup (a FastAPI lifespan) is refused there; before, its
refusals went unseen and every unsafe variant read "the app booted"."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from pydantic_settings import BaseSettings, SettingsConfigDict

from pytest_hardening import ProdConfigChecker

GOOD = {"APP_ENV": "production", "API_SECRET_KEY": "k" * 40, "DB_HOST": "db.internal"}


def create_app() -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if len(os.environ.get("API_SECRET_KEY", "")) < 32:
            raise RuntimeError("API_SECRET_KEY: needs at least 32 characters in production")
        # After validating, the startup connects (refused by the check's network guard).
        with socket.create_connection((os.environ["DB_HOST"], 5432), timeout=1):
            pass
        yield

    return FastAPI(lifespan=lifespan)


def test_a_refusal_at_startup_is_a_refusal() -> None:
    checker = ProdConfigChecker(create_app, GOOD)
    error = checker.assert_rejects(drop=["API_SECRET_KEY"])
    assert "API_SECRET_KEY" in str(error)
    checker.assert_rejects(API_SECRET_KEY="short")


def test_a_startup_stopped_only_by_the_network_guard_booted() -> None:
    checker = ProdConfigChecker(create_app, GOOD)
    checker.assert_accepts()
    findings: list[str] = []
    report = ProdConfigChecker(create_app, GOOD, on_finding=findings.append).audit()
    accepted = {(m.variable, m.kind) for m in report.accepted}
    assert ("API_SECRET_KEY", "drop") not in accepted  # refused at startup
    assert ("DB_HOST", "drop") not in accepted  # KeyError at startup: refused
    assert all("API_SECRET_KEY" not in finding for finding in findings), findings


def test_a_startup_that_goes_on_without_the_network_it_tried_says_where() -> None:
    # A startup that registers with a service and logs the refusal (pyngrok's tunnel, say):
    # accepted, and the check says which host production would have reached.
    def registering() -> Any:
        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            with contextlib.suppress(OSError):  # logged, in the app
                socket.create_connection(("tunnel.example.com", 443), timeout=3).close()
            yield

        return FastAPI(lifespan=lifespan)

    checker = ProdConfigChecker(registering, GOOD)
    checker.assert_accepts()
    assert checker.stopped_at is None
    [reached] = checker.reached
    assert "tunnel.example.com:443" in reached
    report = checker.audit()
    assert report.reached == [reached]
    assert (
        f"tried to reach the network and went on when the check refused it: {reached.strip()}"
        in str(report)
    )


def test_accepts_fails_when_the_startup_refuses() -> None:
    def refusing() -> Any:
        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            raise RuntimeError("SIGNING_KEY: missing")
            yield

        return FastAPI(lifespan=lifespan)

    with pytest.raises(AssertionError, match="SIGNING_KEY: missing"):
        ProdConfigChecker(refusing, GOOD).assert_accepts()


def test_without_startup_only_the_build_counts() -> None:
    # hardening check-config --audit: an env file's database is production's, never started.
    checker = ProdConfigChecker(create_app, GOOD, startup=False)
    checker.assert_accepts(API_SECRET_KEY="short")


def _debug_app(default: str) -> Any:
    def create() -> FastAPI:
        return FastAPI(debug=os.environ.get("DEBUG", default) == "true")

    return create


def test_debug_dropped_is_harmless_when_the_app_is_out_of_debug_mode_without_it() -> None:
    env = {"APP_ENV": "production", "DEBUG": "false"}
    report = ProdConfigChecker(_debug_app("false"), env).audit()
    assert [(m.variable, m.kind) for m in report.harmless] == [("DEBUG", "drop")]
    assert ("DEBUG", "debug on") in {(m.variable, m.kind) for m in report.accepted}  # still
    assert "DEBUG: dropped" not in "\n".join(report.findings)
    # Debug on by default: dropping the variable is the finding it was.
    report = ProdConfigChecker(_debug_app("true"), env).audit()
    assert ("DEBUG", "drop") in {(m.variable, m.kind) for m in report.accepted}


def test_the_audit_fails_on_an_unsafe_known_good_build() -> None:
    # The known-good env's build in debug mode, letting any origin send credentials: its
    # variants were judged against it, and the audit passed ("0 accepted"). It fails now,
    # after the variants (test_audit_unsafe_known_good.py).
    from fastapi.middleware.cors import CORSMiddleware

    def create() -> FastAPI:
        app = _debug_app("true")()
        app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True)
        return app

    checker = ProdConfigChecker(create, {"APP_ENV": "production", "API_SECRET_KEY": "k" * 40})
    with pytest.raises(AssertionError) as failure:
        checker.audit()
    message = str(failure.value)
    assert "runs in debug mode" in message
    assert "lets any origin make credentialed requests" in message  # every problem
    assert "until prod_config.assert_accepts() passes" in message
    with pytest.raises(AssertionError, match=r"(?s)runs in debug mode.*lets any origin"):
        checker.assert_accepts()


def test_a_refusal_naming_another_variable_that_contains_the_name_does_not_name_it() -> None:
    # Dropping SECRET_KEY, the app complains about AWS_SECRET_KEY (a trial's app had both).
    def create() -> FastAPI:
        if not os.environ.get("SECRET_KEY"):
            raise RuntimeError("AWS_SECRET_KEY is required")
        return FastAPI()

    checker = ProdConfigChecker(create, {"SECRET_KEY": "k" * 40, "AWS_SECRET_KEY": "a" * 40})
    with pytest.raises(AssertionError, match="the error does not name SECRET_KEY"):
        checker.assert_rejects(drop=["SECRET_KEY"])
    report = checker.audit()
    assert ("SECRET_KEY", "drop") in {(m.variable, m.kind) for m in report.unnamed}


def test_the_audit_says_what_its_builds_wrote_into_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DATABASE_URL dropped, the app fell back on ./app.db and seeded it: the audit left (or
    # changed) a database in the folder the tests ran from, and said nothing (a trial's app).
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("the user's own file")

    def create() -> FastAPI:
        url = os.environ.get("DATABASE_URL", "sqlite:///./app.db")
        if url.startswith("sqlite:///./"):
            Path(url.removeprefix("sqlite:///./")).write_text("seeded users")
        return FastAPI()

    report = ProdConfigChecker(create, {"DATABASE_URL": "postgresql://db.internal/app"}).audit()
    assert report.wrote == ["app.db (new)"]
    assert "the builds wrote into the working directory: app.db (new)" in str(report)


def test_the_audit_says_what_its_builds_wrote_beside_the_apps_own_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A trial's app made its default storage under its own package (BASE_DIR / ".local"),
    # in a checkout, while the tests ran from another folder: nothing was said.
    package = tmp_path / "service" / "svcwrite"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "app.py").write_text(
        "import os\nfrom pathlib import Path\nfrom fastapi import FastAPI\n\n"
        "def create():\n"
        "    store = os.environ.get('STORAGE_DIR') or Path(__file__).parent / '.local'\n"
        "    Path(store).mkdir(parents=True, exist_ok=True)\n"
        "    return FastAPI()\n"
    )
    (tmp_path / "tests").mkdir()
    monkeypatch.chdir(tmp_path / "tests")
    monkeypatch.syspath_prepend(str(tmp_path / "service"))
    from svcwrite.app import create  # type: ignore[import-not-found]

    try:
        report = ProdConfigChecker(create, {"STORAGE_DIR": str(tmp_path / "store")}).audit()
    finally:
        for name in ("svcwrite", "svcwrite.app"):
            sys.modules.pop(name, None)
    assert [w for w in report.wrote if w.endswith("svcwrite/.local/ (new)")], report.wrote


class _ShippingHandler(logging.Handler):
    """Ships each record over the network, as python-logging-loki does; never breaks the app."""

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(OSError):
            socket.create_connection(("logs.example.com", 3100), timeout=1).close()


def test_a_refusal_after_a_log_shipper_was_refused_is_still_a_refusal() -> None:
    # The guard refused the log handler's connection; then the build raised for the secret:
    # read as "got as far as connecting", the refusal counted as accepted (a trial's app).
    log = logging.getLogger("pytest_hardening.tests.shipping")
    handler = _ShippingHandler()

    def create() -> FastAPI:
        log.warning("building the app")
        if len(os.environ["SECRET_KEY"]) < 32:
            raise ValueError("SECRET_KEY must be at least 32 characters")
        return FastAPI()

    log.addHandler(handler)
    try:
        checker = ProdConfigChecker(create, {"SECRET_KEY": "k" * 40})
        checker.assert_rejects(SECRET_KEY="x")
        assert checker.stopped_at is None
        assert checker.assert_accepts() is not None
    finally:
        log.removeHandler(handler)


def test_a_startup_stopped_at_a_connection_is_said_as_such_when_a_refusal_was_expected() -> None:
    checker = ProdConfigChecker(create_app, GOOD)
    with pytest.raises(AssertionError) as failure:
        checker.assert_rejects(API_SECRET_KEY="s" * 40)  # a strong one: not refused
    message = str(failure.value)
    assert "the app got past what it validates: its startup got as far as connecting" in message
    assert "its startup ran" not in message


def test_the_startup_runs_in_the_environment_the_build_left() -> None:
    # The factory loads a dotenv file (load_dotenv(override=True)); the startup validates what
    # it loaded. The startup ran in the checked env again, without what the build had set:
    # an app a server process starts read as refused (a trial's Quart app).
    def create() -> FastAPI:
        os.environ.setdefault("API_ENDPOINT", "https://from-dotenv.example")

        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            if not os.environ.get("API_ENDPOINT"):
                raise RuntimeError("API_ENDPOINT is required")
            app.state.endpoint = os.environ["API_ENDPOINT"]
            yield

        return FastAPI(lifespan=lifespan)

    checker = ProdConfigChecker(create, {"API_ENDPOINT": "https://api.example"}, startup=True)
    assert checker.assert_accepts().state.endpoint == "https://api.example"
    with pytest.raises(AssertionError, match="the app was built and its startup ran"):
        checker.assert_rejects(drop=["API_ENDPOINT"])  # the dotenv file fills it: it starts
    assert "API_ENDPOINT" not in os.environ  # the process's own environment is untouched


def test_a_mode_variable_dropped_is_another_mode_not_a_finding() -> None:
    # An app that names its mode ENVIRONMENT (and whose packaged defaults restore it when
    # dropped): a drop is another mode, judged by the app's own rule, not a weaker production.
    def create() -> FastAPI:
        mode = os.environ.get("ENVIRONMENT", "production")  # the package's .env.dist default
        return FastAPI(debug=mode != "production")

    env = {"ENVIRONMENT": "production", "STAGE": "eu-1"}
    report = ProdConfigChecker(create, env).audit()
    tried = [m.variable for m in (*report.accepted, *report.rejected, *report.harmless)]
    assert "ENVIRONMENT" not in tried
    assert "STAGE" not in tried


def test_a_production_switch_dropped_is_another_mode_not_a_finding() -> None:
    # Azure's samples switch production on with RUNNING_IN_PRODUCTION=true: dropped, the app
    # is in development mode, read as "ACCEPTED RUNNING_IN_PRODUCTION: dropped" (a trial's).
    def create() -> FastAPI:
        return FastAPI(debug=not os.environ.get("RUNNING_IN_PRODUCTION"))

    report = ProdConfigChecker(create, {"RUNNING_IN_PRODUCTION": "true"}).audit()
    tried = [m.variable for m in (*report.accepted, *report.rejected, *report.harmless)]
    assert "RUNNING_IN_PRODUCTION" not in tried


def test_accepts_fails_when_the_production_build_runs_in_debug_mode() -> None:
    checker = ProdConfigChecker(_debug_app("false"), {"APP_ENV": "production", "DEBUG": "true"})
    with pytest.raises(AssertionError, match="runs in debug mode") as failure:
        checker.assert_accepts()
    assert "hardening_prod_env" in str(failure.value)
    checker.assert_accepts(DEBUG="false")  # the same app, out of debug mode: accepted


class _PrefixedSettings(BaseSettings):
    # pydantic-settings with a prefix: its errors name the field (auth_username), not the
    # variable (SVC_AUTH_USERNAME).
    model_config = SettingsConfigDict(env_prefix="SVC_")
    auth_username: str
    auth_password: str


def _prefixed_app() -> FastAPI:
    _PrefixedSettings()
    return FastAPI()


PREFIXED = {"SVC_AUTH_USERNAME": "sheets", "SVC_AUTH_PASSWORD": "Zq8v3LmN0pR7sT2uW5xY9aBc"}


def test_a_field_under_an_env_prefix_names_its_variable() -> None:
    report = ProdConfigChecker(_prefixed_app, PREFIXED).audit()
    dropped = {m.variable for m in report.rejected if m.value is None}
    assert dropped == {"SVC_AUTH_USERNAME", "SVC_AUTH_PASSWORD"}  # "auth_username: Field required"
    assert not {m.variable for m in report.unnamed} & dropped
    # pydantic's own message echoes the input it refused: a real leak, said as one.
    assert any("carried the value of SVC_AUTH_PASSWORD" in leak for leak in report.leaks)


class _Db(BaseModel):
    user: str
    name: str


class _NestedSettings(BaseSettings):
    # A trial's: nested settings, whose errors name the dotted location (db.user), not the
    # variable (SVC__DB__USER): every drop read as "refused without naming the variable".
    model_config = SettingsConfigDict(env_prefix="SVC__", env_nested_delimiter="__")
    db: _Db


def _nested_app() -> FastAPI:
    _NestedSettings()
    return FastAPI()


def test_a_nested_field_names_its_variable_by_its_dotted_location() -> None:
    nested = {"SVC__DB__USER": "app", "SVC__DB__NAME": "orders"}
    report = ProdConfigChecker(_nested_app, nested).audit()
    dropped = {m.variable for m in report.rejected if m.value is None}
    assert dropped == {"SVC__DB__USER", "SVC__DB__NAME"}  # "db.user: Field required"
    assert not {m.variable for m in report.unnamed} & dropped


def test_a_refusal_shows_no_input_pydantic_echoed() -> None:
    # pydantic echoes the input it refused, a dict cut short: the first characters of the
    # password, too few to be masked, were printed in the failure.
    checker = ProdConfigChecker(_prefixed_app, PREFIXED)
    with pytest.raises(AssertionError) as failure:
        checker.assert_accepts(SVC_AUTH_USERNAME=None)
    message = str(failure.value)
    assert "auth_username: Field required" in message
    assert "Zq8v3" not in message
    assert "input_value" not in message


def test_the_audit_tries_no_change_that_leaves_the_value_as_it_was() -> None:
    # A known-good URL that is already local (a sidecar): "make it localhost", or 127.0.0.1,
    # leaves it where it was, and the app could never refuse it.
    sidecar = {**GOOD, "OLLAMA_URL": "http://localhost:11434"}
    report = ProdConfigChecker(lambda: FastAPI(), sidecar).audit()
    tried = {(m.variable, m.kind) for m in (*report.accepted, *report.rejected)}
    assert ("OLLAMA_URL", "localhost") not in tried
    assert ("OLLAMA_URL", "127.0.0.1") not in tried
    assert ("OLLAMA_URL", "placeholder") in tried


def test_a_startup_failure_is_told_by_its_exception_not_its_whole_traceback() -> None:
    # Starlette reports a failed startup with the whole traceback as its message: folded into
    # the failure's one line, it buried the exception (12 KB on a real app).
    def refusing() -> Any:
        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            raise LookupError("the schema has no table 'users': run the migrations")
            yield

        return FastAPI(lifespan=lifespan)

    with pytest.raises(AssertionError) as refused:
        ProdConfigChecker(refusing, GOOD).assert_accepts()
    message = str(refused.value)
    assert message.endswith(
        "refused: LifespanError: startup failed: LookupError: the schema has no table "
        "'users': run the migrations"
    )
    assert "Traceback" not in message


def _port_nobody_listens_on() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ClientConnectionError(Exception):
    """A client library's own error for a connection refused."""


async def _ping_through_a_client(port: int, chained: bool | None) -> None:
    if chained is None:  # httpx: its error's text names no refusal (raised from None inside)
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{port}/health")
    try:
        await asyncio.open_connection("127.0.0.1", port)
    except OSError as error:
        if chained:  # raised while handling the refusal: the traceback prints it first
            raise ClientConnectionError("the cache is unavailable") from error
        # Alone, in redis-py's words for it.
        message = f"Error {error.errno} connecting to 127.0.0.1:{port}. Connect call failed."
        raise ClientConnectionError(message) from None


@pytest.mark.parametrize(
    "client",
    [None, "chained", "alone", "httpx"],
    ids=[
        "the OS error",
        "a client's error raised from it",
        "a client's error alone",
        "httpx's, its text naming no refusal",
    ],
)
def test_a_startup_stopped_only_by_a_server_not_running_here_booted(client: str | None) -> None:
    # The known-good env's database on 127.0.0.1, and no server there: the startup got past
    # its validation as it does when the guard refuses a production host.
    port = _port_nobody_listens_on()

    def create() -> FastAPI:
        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            if len(os.environ.get("API_SECRET_KEY", "")) < 32:
                raise RuntimeError("API_SECRET_KEY: needs at least 32 characters")
            if client is not None:  # the cache's ping
                await _ping_through_a_client(
                    port, None if client == "httpx" else client == "chained"
                )
            await asyncio.open_connection("127.0.0.1", port)  # the database's ping
            yield

        return FastAPI(lifespan=lifespan)

    env = {"APP_ENV": "production", "API_SECRET_KEY": "k" * 40, "LOG_LEVEL": "info"}
    checker = ProdConfigChecker(create, env)
    checker.assert_accepts()
    assert checker.stopped_at is not None
    assert "where nothing listens" in checker.stopped_at
    checker.assert_rejects(API_SECRET_KEY="short")
    report = ProdConfigChecker(create, env).audit()
    assert [str(m) for m in report.accepted] == ["LOG_LEVEL: dropped"]
    assert report.findings == [
        "accepted LOG_LEVEL: dropped (its startup got as far as connecting on this machine "
        f"(to 127.0.0.1:{port} last), where nothing listens (a server the known-good env "
        "names, not running for the test))"
    ]


def test_an_accepted_variant_says_where_the_guard_stopped_its_startup() -> None:
    report = ProdConfigChecker(create_app, {**GOOD, "LOG_LEVEL": "info"}).audit()
    (finding,) = [f for f in report.findings if "LOG_LEVEL" in f]
    assert finding.startswith(
        "accepted LOG_LEVEL: dropped (its startup got as far as connecting to "
        "db.internal:5432 (name lookup)"
    )
    assert finding.endswith(", refused by the check)")


def test_an_httpx_call_at_startup_is_said_as_one_no_fault_was_there_to_reach() -> None:
    # A production check has no faults: "httpx (a transport the faults do not reach)" read as
    # if the test's providers should have answered it.
    def create() -> FastAPI:
        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            with contextlib.suppress(httpx.HTTPError):  # a warm-up call, its error swallowed
                async with httpx.AsyncClient() as client:
                    await client.get("https://api.example.com/v1/items")
            yield

        return FastAPI(lifespan=lifespan)

    checker = ProdConfigChecker(create, {"APP_ENV": "production"})
    checker.boot()
    assert checker.reached == ["api.example.com:443 (name lookup), from httpx"]  # unpadded


def test_the_stop_is_the_connection_the_startup_failed_on_not_one_it_went_past() -> None:
    # A cache pinged at import, its refusal caught (a memory fallback); then the startup's
    # database on this machine, where nothing listens, stops it (a trial's app blamed the cache).
    port = _port_nobody_listens_on()

    def create() -> FastAPI:
        with contextlib.suppress(OSError):
            socket.create_connection(("cache.prod.example", 6379), timeout=1).close()

        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            yield

        return FastAPI(lifespan=lifespan)

    checker = ProdConfigChecker(create, GOOD)
    checker.boot()
    assert checker.stopped_at is not None
    assert f"on this machine (to 127.0.0.1:{port} last)" in checker.stopped_at
    [passed] = checker.reached
    assert passed.startswith("cache.prod.example:6379")


def test_the_stop_is_the_refused_host_the_error_names() -> None:
    # Two hosts refused off this machine: the startup went past the first (caught), and its
    # error names the second; not "the first the guard refused".
    def create() -> FastAPI:
        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            with contextlib.suppress(OSError):
                socket.create_connection(("logs.example.com", 514), timeout=1).close()
            try:
                socket.create_connection(("db.internal", 5432), timeout=1).close()
            except OSError as error:
                raise RuntimeError("cannot reach the database at db.internal") from error
            yield

        return FastAPI(lifespan=lifespan)

    checker = ProdConfigChecker(create, GOOD)
    checker.boot()
    assert checker.stopped_at is not None
    assert "connecting to db.internal:5432" in checker.stopped_at
    [passed] = checker.reached
    assert passed.startswith("logs.example.com:514")
