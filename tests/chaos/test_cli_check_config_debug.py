"""``hardening check-config`` on an app that reads its mode exactly (``== "production"``): an env
file saying ``Production`` or ``prod`` builds it in debug mode, which is a problem, and the
note says the app may not read such a value as production."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from pytest_hardening._cli import app

runner = CliRunner()

#: As apps in the wild write it: debug and the test routes unless the mode is exactly this.
MODE_APP = """
import os

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route


def create_app():
    production = os.environ.get("ENVIRONMENT") == "production"
    routes = [Route("/", lambda r: PlainTextResponse("ok"))]
    if not production:
        routes.append(Route("/test", lambda r: PlainTextResponse("test page")))
    return Starlette(debug=not production, routes=routes)
"""


@pytest.fixture
def mode_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'modes'\n")
    (tmp_path / "mode_cli_app.py").write_text(MODE_APP)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("mode_cli_app", None)


@pytest.mark.parametrize("mode", ["Production", "prod"])
def test_a_build_in_debug_mode_is_a_problem(mode_project: Path, mode: str) -> None:
    (mode_project / "prod.env").write_text(f"ENVIRONMENT={mode}\n")
    args = ["check-config", "--env-file", "prod.env", "--factory", "mode_cli_app:create_app"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        "mode_cli_app:create_app: built in debug mode (its debug flag is on): an error's "
        "traceback would reach the client; the app must switch debug off under this env "
        f"(is ENVIRONMENT={mode} exactly the value it reads as production?)"
    ]
    assert (
        f"note: prod.env sets ENVIRONMENT={mode}: make sure it is the very value the app "
        "compares with" in result.stderr
    )
    assert "write production" not in result.stderr


def test_the_exact_production_value_builds_out_of_debug_mode(mode_project: Path) -> None:
    (mode_project / "prod.env").write_text("ENVIRONMENT=production\n")
    args = ["check-config", "--env-file", "prod.env", "--factory", "mode_cli_app:create_app"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "prod.env: production configuration OK: the app built (not started) with it "
        "(--audit tries its unsafe variants)\n"
    )
    assert "ENVIRONMENT" not in result.stderr  # no mode note: the value is the exact one


#: Debug mode and any origin with credentials in one production build (a trial's app).
OPEN_APP = """
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware


def create_app():
    cors = Middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True)
    return Starlette(debug=True, middleware=[cors])
"""


def test_every_problem_of_the_build_is_listed_not_only_the_first(mode_project: Path) -> None:
    (mode_project / "open_cli_app.py").write_text(OPEN_APP)
    (mode_project / "prod.env").write_text("ENVIRONMENT=production\n")
    args = ["check-config", "--env-file", "prod.env", "--factory", "open_cli_app:create_app"]
    try:
        result = runner.invoke(app, args)
    finally:
        sys.modules.pop("open_cli_app", None)
    assert result.exit_code == 1, result.output
    assert [line.split(": ")[1] for line in result.stdout.splitlines()] == [
        "built in debug mode (its debug flag is on)",
        "lets any origin make credentialed requests",
    ]
    assert "2 problem(s) in prod.env" in result.stderr
    # Written in the app's source, no variable of the file sets either: no env file fixes them.
    debug, origin = result.stdout.splitlines()
    assert "the app must switch debug off under this env" not in debug
    assert debug.endswith(
        "This comes from the app's code, not its env: no variable of this env switches debug "
        "on or names a mode other than production. A value written in the source, which no "
        "env can change: fix the app (debug=True where it makes the app or its settings); or "
        "the default the app gives a variable this env leaves unset: set that variable"
    )
    assert "no variable of this env holds '*'" in origin


def test_the_audit_runs_beside_problems_only_the_code_can_fix(mode_project: Path) -> None:
    # A trial's app: CORS hard-coded open, and a key it never checks. --audit waited for the
    # file to pass, which no file could: the accepted empty key stayed unseen.
    (mode_project / "keyed_open_cli_app.py").write_text(
        OPEN_APP.replace("debug=True", "debug=False").replace(
            "def create_app():", "def create_app():\n    import os\n    os.environ.get('API_KEY')"
        )
    )
    (mode_project / "prod.env").write_text("ENVIRONMENT=production\nAPI_KEY=sk-Zq8v3LmT1x9PqR7s\n")
    args = ["check-config", "--env-file", "prod.env", "--factory", "keyed_open_cli_app:create_app"]
    try:
        result = runner.invoke(app, [*args, "--audit"])
    finally:
        sys.modules.pop("keyed_open_cli_app", None)
    assert result.exit_code == 1, result.output
    assert "--audit did not run" not in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("audit: ")
    assert "unsafe variants tried" in lines[0]
    assert "lets any origin make credentialed requests" in lines[1]
    assert "audit: accepted API_KEY: dropped" in lines
    assert not any("unsafe known-good build" in line for line in lines)  # said once, above


def test_a_wildcard_the_env_file_gives_is_not_said_to_be_the_codes(mode_project: Path) -> None:
    (mode_project / "env_open_cli_app.py").write_text(
        OPEN_APP.replace('allow_origins=["*"]', 'allow_origins=os.environ["ORIGINS"].split(",")')
        .replace("debug=True", "debug=False")
        .replace("from starlette.applications", "import os\nfrom starlette.applications")
    )
    (mode_project / "prod.env").write_text("ENVIRONMENT=production\nORIGINS=*\n")
    args = ["check-config", "--env-file", "prod.env", "--factory", "env_open_cli_app:create_app"]
    try:
        result = runner.invoke(app, args)
    finally:
        sys.modules.pop("env_open_cli_app", None)
    assert result.exit_code == 1, result.output
    assert "lets any origin make credentialed requests" in result.stdout
    assert "comes from the app's code" not in result.stdout


#: Falls back on a database beside it when DATABASE_URL is not given.
LOCAL_DB_APP = """
import os
from pathlib import Path

from starlette.applications import Starlette


def create_app():
    url = os.environ.get("DATABASE_URL", "sqlite:///./app.db")
    if url.startswith("sqlite:///./"):
        Path(url.removeprefix("sqlite:///./")).write_text("seeded users")
    return Starlette()
"""


def test_the_audit_says_what_its_builds_wrote_into_the_folder(mode_project: Path) -> None:
    (mode_project / "db_cli_app.py").write_text(LOCAL_DB_APP)
    (mode_project / "prod.env").write_text(
        "ENVIRONMENT=production\nDATABASE_URL=postgresql://db.internal/app\n"
    )
    args = ["check-config", "--env-file", "prod.env", "--factory", "db_cli_app:create_app"]
    try:
        result = runner.invoke(app, [*args, "--audit"])
    finally:
        sys.modules.pop("db_cli_app", None)
    assert "note: the audit's builds wrote into this folder: app.db (new)" in result.stderr


def test_the_reference_apps_rules_say_nothing_of_another_modes_spelling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Outside any project the reference app's rules judge the file: they read APP_ENV, so a
    # note on how ENVIRONMENT=PRODUCTION is spelt was noise beside their own finding (a trial).
    monkeypatch.chdir(tmp_path)
    (tmp_path / "prod.env").write_text("ENVIRONMENT=PRODUCTION\n")
    result = runner.invoke(app, ["check-config", "--env-file", "prod.env"])
    assert result.exit_code == 1, result.output
    assert "checked against the bundled reference app's rules" in result.stderr
    assert "make sure it is the very value" not in result.stderr


def test_the_audit_lists_an_unsafe_build_beside_its_variants(mode_project: Path) -> None:
    # A validator of the project's own passes the file; the build it never looked at lets any
    # origin send credentials: the audit says so, and still tries every variant.
    (mode_project / "open_cli_app.py").write_text(OPEN_APP.replace("debug=True", "debug=False"))
    (mode_project / "lenient_rules.py").write_text("def validate(env):\n    return []\n")
    (mode_project / "prod.env").write_text(
        "ENVIRONMENT=production\nSHOP_API_KEY=k7Qm2vX9pL4wZ8rT\n"
    )
    args = ["check-config", "--env-file", "prod.env", "--validator", "lenient_rules:validate"]
    try:
        result = runner.invoke(app, [*args, "--factory", "open_cli_app:create_app", "--audit"])
    finally:
        for name in ("open_cli_app", "lenient_rules"):
            sys.modules.pop(name, None)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert "unsafe variants tried" in lines[0]
    assert lines[1].startswith("audit: unsafe known-good build: the production build with ")
    assert "comes from the app's code" in lines[1]
    assert "audit: accepted SHOP_API_KEY: short -> 'x'" in lines
