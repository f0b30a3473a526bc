"""`check-config --start` runs the app's startup as a test's `prod_config` does: an app that checks
its settings in its lifespan (the usual FastAPI pattern) was called fine by the command, and its
audit reported variants as accepted that the startup refuses, disagreeing with the fixture."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pytest_hardening import ProdConfigChecker
from pytest_hardening._cli import app

runner = CliRunner()

APP = """
import os
from contextlib import asynccontextmanager
from urllib.parse import urlparse

from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app):
    if urlparse(os.environ.get("UPSTREAM_URL", "")).scheme != "https":
        raise ValueError("UPSTREAM_URL must be an https URL")
    yield


def create_app() -> FastAPI:
    return FastAPI(lifespan=lifespan)
"""

GOOD = {"UPSTREAM_URL": "https://upstream.prod.example.com"}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "startsvc.py").write_text(APP)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def check(env: str, *options: str) -> tuple[int, str]:
    Path("prod.env").write_text(env)
    args = ["check-config", "--env-file", "prod.env", "--factory", "startsvc:create_app"]
    result = runner.invoke(app, [*args, *options])
    return result.exit_code, result.output


def test_a_check_the_startup_makes_is_seen_with_start(project: Path) -> None:
    status, said = check("UPSTREAM_URL=http://upstream.prod.example.com\n")
    assert status == 0, said  # built only: the lifespan's check is not run
    assert "the app built (not started) with it" in said
    assert "--start runs the startup too" in said
    status, said = check("UPSTREAM_URL=http://upstream.prod.example.com\n", "--start")
    assert status == 1, said
    assert "UPSTREAM_URL must be an https URL" in said
    assert "refused to start: " in said  # its startup refused it, not its build
    assert "refused to build" not in said


def test_a_good_env_starts(project: Path) -> None:
    status, said = check("UPSTREAM_URL=https://upstream.prod.example.com\n", "--start")
    assert status == 0, said
    assert "the app built and started with it" in said


def test_the_audit_with_start_agrees_with_the_fixtures(project: Path) -> None:
    from startsvc import create_app  # type: ignore[import-not-found]

    expected = ProdConfigChecker(create_app, GOOD).audit(optional=[])
    status, said = check("UPSTREAM_URL=https://upstream.prod.example.com\n", "--audit", "--start")
    assert status == 1, said
    accepted = sorted(line for line in said.splitlines() if line.startswith("audit: accepted"))
    assert accepted == sorted(f"audit: accepted {m}" for m in expected.accepted)
    assert "audit: accepted UPSTREAM_URL: http scheme" not in said  # the startup refuses it


TUNNEL_APP = """
import logging
import socket
from contextlib import asynccontextmanager

from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app):
    try:  # a registration the app logs and goes on without
        socket.create_connection(("registry.prod.example.com", 8500), timeout=1).close()
    except OSError as error:
        logging.getLogger("tunnelsvc").warning("no registry: %s", error)
    yield


def create_app() -> FastAPI:
    return FastAPI(lifespan=lifespan)
"""


@pytest.mark.parametrize("audit", [False, True], ids=["--start", "--audit --start"])
def test_where_the_startup_connected_is_said_as_the_fixtures_report_says(
    project: Path, audit: bool
) -> None:
    # prod_config's report says it; the command said "production configuration OK" alone.
    (project / "tunnelsvc.py").write_text(TUNNEL_APP)
    Path("prod.env").write_text("LOG_LEVEL=info\n")
    args = ["check-config", "--env-file", "prod.env", "--factory", "tunnelsvc:create_app"]
    result = runner.invoke(app, [*args, *(["--audit"] if audit else []), "--start"])
    assert "note: the app's startup tried to reach the network and went on when the check " in (
        result.stderr
    )
    assert "registry.prod.example.com:8500" in result.stderr
    assert "(in production it connects)" in result.stderr


PINGS_AT_IMPORT = """
import os
import socket

if len(os.environ.get("API_KEY", "")) < 8:
    raise ValueError("API_KEY: needs at least 8 characters")
socket.create_connection((os.environ["DB_HOST"], 5432), timeout=1).close()  # the database

from starlette.applications import Starlette

app = Starlette()
"""


@pytest.mark.parametrize("options", [[], ["--start"], ["--audit"]])
def test_a_build_that_connects_is_guarded_and_got_past_its_validation(
    project: Path, options: list[str]
) -> None:
    # The command built without the network guard: the import's lookup of the env file's
    # database host went out for real, and the guard's refusal (with --start) read as the
    # app refusing its configuration.
    (project / "pingsvc.py").write_text(PINGS_AT_IMPORT)
    Path("prod.env").write_text("API_KEY=a-long-key\nDB_HOST=db.prod.example.com\n")
    args = ["check-config", "--env-file", "prod.env", "--factory", "pingsvc:app"]
    result = runner.invoke(app, [*args, *options])
    assert "note: the app stopped there: its build got as far as connecting to " in result.stderr
    assert "db.prod.example.com:5432 (name lookup)" in result.stderr
    if options == ["--audit"]:  # its variants: a short key refused, a local host accepted
        assert result.exit_code == 1, result.output
        assert "audit: accepted DB_HOST: localhost" in result.stdout
        assert "API_KEY: short" not in result.stdout
    else:
        assert result.exit_code == 0, result.output
        assert "production configuration OK" in result.stdout


LOCAL_DEFAULT = """
import os
import socket
from contextlib import asynccontextmanager

from fastapi import FastAPI

DEFAULT_DB = "127.0.0.1:{port}"  # the app's own default, for development


@asynccontextmanager
async def lifespan(app):
    host, _, port = os.environ.get("DB_ADDRESS", DEFAULT_DB).rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()  # its ping
    except OSError:
        pass  # a database that is down is retried later, as many apps do
    yield


def create_app() -> FastAPI:
    return FastAPI(lifespan=lifespan)
"""


@pytest.mark.parametrize("listening", [True, False], ids=["a server there", "nothing there"])
def test_a_startup_that_connects_to_its_own_local_default_is_told(
    project: Path, listening: bool
) -> None:
    # A trial's: the app fell back on its development database on this machine, which the env
    # file never named; the check said "production configuration OK" and nothing else.
    import socket

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    if not listening:
        server.close()
    try:
        (project / "localsvc.py").write_text(LOCAL_DEFAULT.replace("{port}", str(port)))
        args = ["check-config", "--env-file", "prod.env", "--factory", "localsvc:create_app"]
        Path("prod.env").write_text("LOG_LEVEL=info\n")
        unnamed = runner.invoke(app, [*args, "--start"])
        Path("prod.env").write_text(f"LOG_LEVEL=info\nDB_ADDRESS=localhost:{port}\n")
        named = runner.invoke(app, [*args, "--start"])
    finally:
        server.close()
    note = f"note: the app connected on this machine to 127.0.0.1:{port}, which no variable"
    assert note in unnamed.stderr, unnamed.output
    assert "which no variable" not in named.stderr, named.output  # the file's own choice


MODE_APP = """
import os

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware


def create_app() -> FastAPI:
    origins = ["https://app.example.com"]
    if os.getenv("ENVIRONMENT", "development") != "production":
        origins.append("http://localhost:5173")  # development's own
    app = FastAPI()
    app.add_middleware(CORSMiddleware, allow_origins=origins, allow_credentials=True)
    return app
"""


def test_a_mode_the_app_reads_and_the_file_leaves_unset_is_noted(project: Path) -> None:
    # A trial's: no ENVIRONMENT in the file, the app built in development with its localhost
    # origin, and the check said OK without a word.
    (project / "modesvc.py").write_text(MODE_APP)
    args = ["check-config", "--env-file", "prod.env", "--factory", "modesvc:create_app"]
    Path("prod.env").write_text("LOG_LEVEL=info\n")
    unset = runner.invoke(app, args)
    assert "note: the app read ENVIRONMENT, which the env file does not set" in unset.stderr
    Path("prod.env").write_text("LOG_LEVEL=info\nENVIRONMENT=production\n")
    named = runner.invoke(app, args)
    assert "which the env file does not set" not in named.stderr, named.output
    (project / "quietsvc.py").write_text("from fastapi import FastAPI\ncreate_app = FastAPI\n")
    quiet = runner.invoke(app, [*args[:-1], "quietsvc:create_app"])
    assert "mode" not in quiet.stderr  # an app without modes hears nothing of them


PINGS_AT_STARTUP = """
import os
import socket
from contextlib import asynccontextmanager

from starlette.applications import Starlette


@asynccontextmanager
async def lifespan(app):
    socket.create_connection((os.environ["DB_HOST"], 5432), timeout=1).close()  # the database
    yield


app = Starlette(lifespan=lifespan)
"""


def test_a_startup_stopped_at_a_connection_is_not_said_started(project: Path) -> None:
    # The OK line said "the app built and started with it" beside the note that its startup
    # stopped at the database (a trial): it started up to there.
    (project / "pingstart.py").write_text(PINGS_AT_STARTUP)
    Path("prod.env").write_text("DB_HOST=db.prod.example.com\n")
    args = ["check-config", "--env-file", "prod.env", "--factory", "pingstart:app", "--start"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "note: the app stopped there: " in result.stderr
    assert "built and started up to a connection the check refused" in result.stdout
    assert "built and started with it" not in result.stdout


PINGING_APP = """
import contextlib
import socket

from fastapi import FastAPI

with contextlib.suppress(OSError):  # a cache pinged at import, a memory fallback
    socket.create_connection(("cache.prod.example.com", 6379), timeout=1).close()


def create_app() -> FastAPI:
    return FastAPI()
"""


def test_a_connection_the_build_went_past_is_said_as_the_builds(project: Path) -> None:
    # Without --start nothing was started: the note blamed "the app's startup".
    (project / "pingsvc.py").write_text(PINGING_APP)
    Path("prod.env").write_text("LOG_LEVEL=info\n")
    args = ["check-config", "--env-file", "prod.env", "--factory", "pingsvc:create_app"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "note: the app's build tried to reach the network and went on when the check " in (
        result.stderr
    )
    assert "cache.prod.example.com:6379" in result.stderr
    assert "startup tried" not in result.output


RELATIVE_APP = """
from pathlib import Path

from fastapi import FastAPI


def create_app() -> FastAPI:
    Path("config/config.prod.yaml").read_text()  # relative to where the app is started
    return FastAPI()
"""


def test_a_relative_file_not_found_says_the_folder_it_was_looked_for_in(project: Path) -> None:
    # A trial's: run from another folder, "refused to build: FileNotFoundError", then "not safe
    # to release", as if the env file were at fault.
    (project / "relsvc.py").write_text(RELATIVE_APP)
    Path("prod.env").write_text("LOG_LEVEL=info\n")
    args = ["check-config", "--env-file", "prod.env", "--factory", "relsvc:create_app"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "refused to build: FileNotFoundError" in result.stdout
    assert (
        f"(config/config.prod.yaml is relative to the folder the command runs in, {project}: "
        "run it from the app's folder, as production starts it)"
    ) in result.stdout


@pytest.mark.parametrize("lifespan", [False, True])
def test_built_not_started_is_said_only_of_an_app_with_a_startup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lifespan: bool
) -> None:
    # "a check its startup makes is not seen here" of an app with no startup is noise (a
    # trial's); an app with a lifespan gets it.
    source = "import contextlib\n\nfrom fastapi import FastAPI\n\n\n"
    if lifespan:
        source += "@contextlib.asynccontextmanager\nasync def lifespan(app):\n    yield\n\n\n"
    source += f"app = FastAPI({'lifespan=lifespan' if lifespan else ''})\n"
    name = f"startless_{lifespan}"
    (tmp_path / f"{name}.py").write_text(source)
    (tmp_path / "prod.env").write_text("APP_ENV=production\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    args = ["check-config", "--env-file", "prod.env", "--factory", f"{name}:app"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert ("the app was built, not started" in result.stderr) is lifespan
