"""``hardening check-config``: the release gate for a production env file."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pytest_hardening._cli import app
from reference_app.config import SECRET_VARIABLES
from reference_app.testing import strong_production_env

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.production.example"
runner = CliRunner()
#: The example with strong values in place of its placeholders: a releasable configuration.
GOOD = strong_production_env()


def env_lines() -> list[str]:
    return [f"{name}={value}" for name, value in GOOD.items()]


@pytest.fixture
def good_file(tmp_path: Path) -> Path:
    path = tmp_path / "good.env"
    path.write_text("\n".join(env_lines()) + "\n")
    return path


def write_variant(tmp_path: Path, *, drop: str | None = None, **values: str) -> Path:
    lines = [ln for ln in env_lines() if not (drop and ln.startswith(f"{drop}="))]
    for name, value in values.items():
        lines = [ln for ln in lines if not ln.startswith(f"{name}=")] + [f'{name}="{value}"']
    path = tmp_path / "variant.env"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_shipped_example_is_refused_for_its_placeholder_secrets() -> None:
    result = runner.invoke(app, ["check-config", "--env-file", str(EXAMPLE)])
    assert result.exit_code == 1, result.output
    assert "OPENAI_API_KEY: is a placeholder" in result.stdout
    assert "replace-me" not in result.output  # values are never echoed


def test_example_with_strong_values_passes(good_file: Path) -> None:
    result = runner.invoke(app, ["check-config", "--env-file", str(good_file)])
    assert result.exit_code == 0, result.output
    assert "production configuration OK" in result.output


@pytest.mark.parametrize(
    ("variable", "change"),
    [
        ("FRONTEND_URL", {"drop": "FRONTEND_URL"}),
        ("GOOGLE_CALLBACK_URL", {"drop": "GOOGLE_CALLBACK_URL"}),
        ("SHOPIFY_WEBHOOK_SECRET", {"drop": "SHOPIFY_WEBHOOK_SECRET"}),
        ("MONITORING_ADMIN_TOKEN", {"drop": "MONITORING_ADMIN_TOKEN"}),
        ("SENTRY_DSN", {"drop": "SENTRY_DSN"}),
        ("FRONTEND_URL", {"FRONTEND_URL": "http://app.example.com"}),
        ("GOOGLE_CALLBACK_URL", {"GOOGLE_CALLBACK_URL": "https://localhost/cb"}),
        ("EXOTEL_WEBHOOK_BASE_URL", {"EXOTEL_WEBHOOK_BASE_URL": "https://yourdomain.com"}),
        ("EXOTEL_WEBHOOK_BASE_URL", {"EXOTEL_WEBHOOK_BASE_URL": "https://127.0.0.1"}),
        ("EXOTEL_WEBHOOK_BASE_URL", {"drop": "EXOTEL_WEBHOOK_BASE_URL"}),
        ("FRONTEND_URL", {"FRONTEND_URL": "not a url"}),
    ],
)
def test_each_unsafe_change_fails_naming_the_variable(
    tmp_path: Path, variable: str, change: dict[str, str]
) -> None:
    path = write_variant(tmp_path, **change)
    result = runner.invoke(app, ["check-config", "--env-file", str(path)])
    assert result.exit_code == 1, result.output
    problem_lines = [ln for ln in result.stdout.splitlines() if ln.strip()]
    assert any(ln.startswith(f"{variable}:") for ln in problem_lines), result.output


def test_every_problem_on_its_own_line_and_no_secret_value_printed(tmp_path: Path) -> None:
    secret = "sk-live-THIS-IS-SECRET-0123456789"
    path = write_variant(
        tmp_path,
        drop="GOOGLE_CALLBACK_URL",
        OPENAI_API_KEY=secret,
        FRONTEND_URL="http://localhost:3000",
        SENTRY_DSN=f"not-a-dsn-{secret}",
    )
    result = runner.invoke(app, ["check-config", "--env-file", str(path)])
    assert result.exit_code == 1
    assert secret not in result.output
    variables = {ln.split(":", 1)[0] for ln in result.stdout.splitlines() if ":" in ln}
    assert {"GOOGLE_CALLBACK_URL", "FRONTEND_URL", "SENTRY_DSN"} <= variables


def test_development_env_is_not_a_release(tmp_path: Path) -> None:
    path = write_variant(tmp_path, APP_ENV="development")
    result = runner.invoke(app, ["check-config", "--env-file", str(path)])
    assert result.exit_code == 1
    assert result.stdout.startswith("APP_ENV: must be production")


def test_another_project_that_configured_nothing_is_not_judged_by_the_reference_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Judged by the reference app's rules (EXOTEL_*, WASABI_*), a CI gate failed with 18
    # problems of nothing of that project's (a trial's).
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'other'\n")  # no [tool.hardening]
    (tmp_path / "prod.env").write_text("APP_ENV=production\n")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["check-config", "--env-file", "prod.env"])
    assert result.exit_code == 2, result.output  # a usage error, not "not safe to release"
    assert result.stdout == ""
    assert "names no app to check with: set `factory` (or `validator`)" in result.stderr
    assert "--factory package.module:create_app" in result.stderr


def test_outside_any_project_the_reference_rules_apply_and_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "prod.env").write_text("APP_ENV=production\n")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["check-config", "--env-file", "prod.env"])
    assert result.exit_code == 1  # the reference app's variables are missing
    assert "the bundled reference app's rules" in result.stderr
    assert "--factory package.module:create_app" in result.stderr


def test_current_environment_is_checked_without_env_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for line in env_lines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            monkeypatch.setenv(name, value)
    assert runner.invoke(app, ["check-config"]).exit_code == 0
    monkeypatch.delenv("FRONTEND_URL")
    result = runner.invoke(app, ["check-config"])
    assert result.exit_code == 1
    assert "FRONTEND_URL:" in result.stdout


@pytest.mark.parametrize("command", [[], ["chaos"], ["check-config"], ["serve"]])
def test_help_on_every_command(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_audit_reports_every_unsafe_variant_an_app_boots_with(good_file: Path) -> None:
    result = runner.invoke(
        app,
        [
            "check-config",
            "--env-file",
            str(good_file),
            "--audit",
            "--factory",
            "tests.chaos.lenient_app:create_app",
        ],
    )
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert "audit: accepted FRONTEND_URL: dropped" in lines
    assert "audit: accepted FRONTEND_URL: localhost -> 'https://localhost'" in lines
    assert "audit: accepted SHOPIFY_WEBHOOK_SECRET: dropped" in lines
    secrets = [GOOD[name] for name in SECRET_VARIABLES & GOOD.keys()]
    assert not any(v in line for v in secrets for line in lines)  # secret values never printed


def test_an_audit_of_an_env_that_does_not_boot_tries_nothing_and_says_why(
    good_file: Path,
) -> None:
    # The env passes the validator; only the audit builds the app (with --factory alone, the
    # check itself would build it and report the refusal).
    args = ["check-config", "--env-file", str(good_file), "--audit"]
    args += ["--validator", "reference_app.config:validate_environment"]
    result = runner.invoke(app, [*args, "--factory", "tests.chaos.lenient_app:create_broken_app"])
    assert result.exit_code == 1
    assert "audit: 0 unsafe variants tried, 1 finding(s)" in result.stdout
    assert (
        "audit: the production audit needs the known-good env to boot, and it was refused: "
        "RuntimeError: Table 'user' is already defined" in result.stdout
    )
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_audit_of_the_reference_app_finds_nothing(good_file: Path) -> None:
    result = runner.invoke(app, ["check-config", "--env-file", str(good_file), "--audit"])
    assert result.exit_code == 0, result.output
    assert re.search(r"audit: \d+ unsafe variants tried, 0 finding\(s\)", result.stdout)


def test_project_config_reads_tool_hardening_then_the_ini_option(tmp_path: Path) -> None:
    from pytest_hardening._cli._project import REFERENCE, project_config

    (tmp_path / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\nhardening_app_factory = "shop.app:create_app"\n'
    )
    from_ini = project_config(tmp_path)
    assert (from_ini.factory, from_ini.validator, from_ini.target) == (
        "shop.app:create_app",
        None,
        None,
    )
    (tmp_path / "pyproject.toml").write_text(
        '[tool.hardening]\nfactory = "shop:make"\nvalidator = "shop.config:check"\n'
        'target = "shop.chaos:target"\n'
        '[tool.pytest.ini_options]\nhardening_app_factory = "shop.app:create_app"\n'
    )
    nested = tmp_path / "src" / "shop"
    nested.mkdir(parents=True)
    table = project_config(nested)  # found from a subdirectory
    assert (table.factory, table.validator, table.target) == (
        "shop:make",
        "shop.config:check",
        "shop.chaos:target",
    )
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'shop'\n")
    assert project_config(tmp_path) == REFERENCE  # nothing configured: the reference app


def test_a_file_that_is_not_utf8_gets_one_line_and_no_content(tmp_path: Path) -> None:
    path = tmp_path / "latin1.env"
    secret = "pässwort-very-secret-value"
    path.write_bytes(f"SHOPIFY_WEBHOOK_SECRET={secret}\n".encode("latin-1"))
    result = runner.invoke(app, ["check-config", "--env-file", str(path)])
    assert result.exit_code == 1
    output = result.output.strip()
    assert output.count("\n") == 0, output
    assert "not UTF-8" in output
    assert "secret-value" not in output
    assert "Traceback" not in output


def test_an_audit_line_never_shows_a_url_password() -> None:
    from pytest_hardening import Mutation

    line = str(Mutation("DATABASE_URL", "localhost", "postgresql://app:s3cr3t-pw@localhost/db"))
    assert "s3cr3t-pw" not in line
    assert "'postgresql://app:***@localhost/db'" in line  # the user of user:password may show


#: A Sentry DSN's key is its URL's user, with no password (here under a misspelt name that is
#: no secret-looking name), as is a token in ``https://TOKEN@github.com/...``.
DSN_KEY = "0123456789abcdef0123456789abcdef"
DSN = f"http://{DSN_KEY}@o123456.ingest.sentry.io/42"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (DSN, "'http://***@o123456.ingest.sentry.io/42'"),
        ("https://tok3n0123456789abcdef@git.example/o/r.git", "'https://***@git.example/o/r.git'"),
        # An account name is no key: masked, it would be cut out of "postgresql" too.
        ("postgresql://postgres@db.internal/app", "'postgresql://postgres@db.internal/app'"),
    ],
)
def test_an_audit_line_never_shows_a_key_as_a_urls_user(url: str, shown: str) -> None:
    from pytest_hardening import Mutation

    assert str(Mutation("SOURCE_URL", "http scheme", url)) == f"SOURCE_URL: http scheme -> {shown}"


URL_APP = """
import os


def create_app():
    dsn = os.environ.get("SENTRY_DNS", "")
    if not dsn.startswith("https://"):
        raise ValueError(f"SENTRY_DNS: must use https, got {dsn}")

    async def app(scope, receive, send):
        pass

    return app
"""


def test_a_refusal_never_shows_a_urls_user_without_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'tiny'\n")
    (tmp_path / "url_cli_app.py").write_text(URL_APP)
    (tmp_path / "prod.env").write_text(f"SENTRY_DNS={DSN}\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        args = ["check-config", "--env-file", "prod.env", "--factory", "url_cli_app:create_app"]
        result = runner.invoke(app, args)
    finally:
        sys.modules.pop("url_cli_app", None)
    assert result.exit_code == 1, result.output
    assert DSN_KEY not in result.output
    assert "must use https, got http://***@o123456.ingest.sentry.io/42" in result.stdout


def test_a_pydantic_settings_refusal_is_its_message_without_the_input_it_echoes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pydantic's own text carries input_value={...} (every value it validated) and a link.
    factory = "tests.adoption.cached_settings.app:create_app"
    (tmp_path / "pyproject.toml").write_text(f'[tool.hardening]\nfactory = "{factory}"\n')
    env = tmp_path / "prod.env"
    env.write_text(
        "APP_ENV=production\nPAYMENTS_KEY=pk_short_9\nPAYMENTS_URL=https://pay.example\n"
    )
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["check-config", "--env-file", str(env)])
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines()[0] == (
        f"{factory}: refused to build: Value error, PAYMENTS_KEY: production needs the live key"
    )
    for echoed in ("input_value", "pk_short_9", "https://pay.example", "errors.pydantic.dev"):
        assert echoed not in result.output


#: An app with a rule of its own: it refuses to build without a long enough TINY_KEY, and knows
#: nothing of the reference app's variables (nor of APP_ENV).
TINY_APP = """
import os


def create_app():
    if len(os.environ.get("TINY_KEY", "")) < 12:
        raise ValueError("TINY_KEY: needs at least 12 characters")

    async def app(scope, receive, send):
        pass

    return app
"""


@pytest.mark.parametrize(
    ("env_text", "status", "first_line"),
    [
        ("TINY_KEY=a-long-enough-key\n", 0, None),
        (
            "TINY_KEY=short\n",
            1,
            "tiny_cli_app:create_app: refused to build: "
            "ValueError: TINY_KEY: needs at least 12 characters",
        ),
    ],
)
def test_factory_option_builds_that_app_in_a_project_that_configures_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    env_text: str,
    status: int,
    first_line: str | None,
) -> None:
    # --factory means "build my app", as [tool.hardening] factory does: not the reference
    # app's rules (which demand APP_ENV=production and its own variables).
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'tiny'\n")  # no [tool.hardening]
    (tmp_path / "tiny_cli_app.py").write_text(TINY_APP)
    (tmp_path / "prod.env").write_text(env_text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # as the console script does for the cwd
    args = ["check-config", "--env-file", "prod.env", "--factory", "tiny_cli_app:create_app"]
    result = runner.invoke(app, args)
    assert result.exit_code == status, result.output
    if first_line is None:
        assert result.stdout == (
            "prod.env: production configuration OK: the app built (not started) with it "
            "(--audit tries its unsafe variants)\n"
        )
        # a build is not a start: what the app checks at startup is for prod_config to see
        assert "built, not started" in result.stderr
    else:
        assert result.stdout.splitlines() == [first_line]
    assert "APP_ENV" not in result.output


def test_an_audit_with_a_validator_of_ones_own_asks_for_the_factory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not the reference app's: auditing it against the user's own rules would prove nothing.
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'tiny'\n")  # no [tool.hardening]
    (tmp_path / "tiny_rules.py").write_text("def validate(env):\n    return []\n")
    (tmp_path / "prod.env").write_text("TINY_KEY=a-long-enough-key\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    args = ["check-config", "--env-file", "prod.env", "--validator", "tiny_rules:validate"]
    result = runner.invoke(app, [*args, "--audit"])
    assert result.exit_code == 2, result.output
    assert "--audit builds the app: pass --factory" in result.output
    assert "audit:" not in result.output


#: Settings read when a module is imported, in a module beside the app's (as many apps keep
#: them): the check must see the env file's, not the shell's.
IMPORT_SETTINGS = """
import os

DEBUG = os.environ.get("DEBUG", "false") == "true"
KEY = os.environ.get("TINY_KEY", "")
"""

IMPORT_FACTORY = """
import import_settings


def create_app():
    if import_settings.DEBUG:
        raise RuntimeError("DEBUG: must be false in production")
    if len(import_settings.KEY) < 12:
        raise ValueError("TINY_KEY: needs at least 12 characters")

    async def app(scope, receive, send):
        pass

    return app
"""

IMPORT_APP = "from import_factory import create_app\n\napp = create_app()\n"


@pytest.mark.parametrize("spec", ["import_factory:create_app", "import_app:app"])
@pytest.mark.parametrize(
    ("env_text", "status", "first_line"),
    [
        ("TINY_KEY=a-long-enough-key\n", 0, "prod.env: production configuration OK"),
        ("TINY_KEY=a-long-enough-key\nDEBUG=true\n", 1, "DEBUG: must be false in production"),
    ],
)
def test_settings_read_at_import_are_the_env_files(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    spec: str,
    env_text: str,
    status: int,
    first_line: str,
) -> None:
    # The shell has neither variable: a module imported under it would refuse every env (no
    # key), or accept DEBUG=true from the file (debug read as off).
    monkeypatch.delenv("DEBUG", raising=False)
    monkeypatch.delenv("TINY_KEY", raising=False)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'tiny'\n")
    (tmp_path / "import_settings.py").write_text(IMPORT_SETTINGS)
    (tmp_path / "import_factory.py").write_text(IMPORT_FACTORY)
    (tmp_path / "import_app.py").write_text(IMPORT_APP)
    (tmp_path / "prod.env").write_text(env_text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        result = runner.invoke(app, ["check-config", "--env-file", "prod.env", "--factory", spec])
        (tmp_path / "prod.env").write_text("TINY_KEY=a-long-enough-key\nDEBUG=false\n")
        args = ["check-config", "--env-file", "prod.env", "--factory", spec, "--audit"]
        audit = runner.invoke(app, args)
    finally:
        for name in ("import_settings", "import_factory", "import_app"):
            sys.modules.pop(name, None)
    assert result.exit_code == status, result.output
    assert first_line in result.stdout.splitlines()[-1]
    # Each variant built under its own env: DEBUG on is refused (read as off, it was accepted).
    assert re.search(r"audit: [1-9]\d* unsafe variants tried", audit.output), audit.output
    assert "DEBUG: debug on" not in audit.output
    # Its findings too are of a build, not a start: said beside them.
    assert "note: the app was built, not started" in audit.stderr


EXIT_APP = """
import os
import sys


def create_app():
    if os.environ.get("TINY_KEY", "") in ("", "changeme"):
        print("FATAL: TINY_KEY must be changed in production")
        sys.exit(1)
    if os.environ.get("BARE_EXIT"):
        sys.exit()

    async def app(scope, receive, send):
        pass

    return app
"""


@pytest.fixture
def tiny_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'tiny'\n")
    (tmp_path / "tiny_cli_app.py").write_text(TINY_APP)
    (tmp_path / "exit_app.py").write_text(EXIT_APP)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in ("tiny_cli_app", "exit_app"):
        sys.modules.pop(name, None)


def _check(*args: str) -> Any:
    return runner.invoke(app, ["check-config", "--env-file", "prod.env", *args])


def test_the_shells_own_settings_never_fill_the_files_gaps(
    tiny_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A developer's shell has the secret; the file to release does not.
    monkeypatch.setenv("TINY_KEY", "a-long-enough-key-from-the-shell")
    (tiny_project / "prod.env").write_text("OTHER=1\n")
    result = _check("--factory", "tiny_cli_app:create_app")
    assert result.exit_code == 1, result.output
    assert "TINY_KEY: needs at least 12 characters" in result.stdout
    assert "a-long-enough-key-from-the-shell" not in result.output


@pytest.mark.parametrize(
    ("env_text", "line"),
    [
        ("TINY_KEY=changeme\n", "sys.exit(1) while it was built: raise an error naming"),
        ("TINY_KEY=a-long-enough-key\nBARE_EXIT=1\n", "sys.exit() while it was built"),
    ],
)
def test_an_app_that_exits_is_refused_never_ending_the_check(
    tiny_project: Path, env_text: str, line: str
) -> None:
    (tiny_project / "prod.env").write_text(env_text)
    result = _check("--factory", "exit_app:create_app")
    assert result.exit_code == 1, result.output  # a bare sys.exit() ended the check with 0
    assert line in result.stdout
    if "changeme" in env_text:
        assert "(it printed: FATAL: TINY_KEY must be changed in production)" in result.stdout


@pytest.mark.parametrize(
    ("factory", "said"),
    [
        ("no_such_package:create_app", "no_such_package"),
        ("tiny_cli_app", "'package.module:attribute'"),
        ("tiny_cli_app:create_ap", "has no attribute 'create_ap'"),
        # A package's module mistyped (a trial's: "refused to build", exit 1).
        ("tests.chaos.lenient_ap:create_app", "No module named 'tests.chaos.lenient_ap': a typo"),
    ],
)
def test_a_factory_that_names_nothing_is_a_usage_error_in_one_line(
    tiny_project: Path, factory: str, said: str
) -> None:
    (tiny_project / "prod.env").write_text("TINY_KEY=a-long-enough-key\n")
    result = _check("--factory", factory)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert said in result.stderr
    assert "Traceback" not in result.output


def test_a_file_whose_mode_is_not_production_is_said_so(tiny_project: Path) -> None:
    (tiny_project / "prod.env").write_text("TINY_KEY=a-long-enough-key\nENVIRONMENT=development\n")
    (tiny_project / ".env").write_text("TINY_KEY=x\n")
    result = _check("--factory", "tiny_cli_app:create_app")
    # Built in development, its production checks off: whatever it accepted proves nothing.
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith(
        "ENVIRONMENT: must name the production mode for a production release (is development)"
    )
    assert "note: prod.env sets ENVIRONMENT" not in result.stderr  # a problem, not a note
    assert (
        "note: .env exists: settings that read it (pydantic-settings' env_file, load_dotenv)"
        in (result.stderr)
    )


def test_a_dotenv_file_a_bare_load_dotenv_never_reads_is_said_to_be_read_when_named(
    tiny_project: Path,
) -> None:
    (tiny_project / "prod.env").write_text("TINY_KEY=a-long-enough-key\n")
    (tiny_project / ".env.local").write_text("TINY_KEY=x\n")
    result = _check("--factory", "tiny_cli_app:create_app")
    assert (
        "note: .env.local exists: settings that read it (a pydantic-settings env_file or a "
        "load_dotenv call naming .env.local)"
    ) in result.stderr


COUNTED_FACTORY = """
import os

import builtins

builtins.__dict__.setdefault("counted_factory_imports", []).append(1)


def create_app():
    if len(os.environ.get("TINY_KEY", "")) < 12:
        raise ValueError("TINY_KEY: needs at least 12 characters")
    if os.environ.get("DEBUG", "false") != "false":
        raise ValueError("DEBUG: must be false")
    if os.environ.get("LAZY"):
        import lazy_settings  # imported by the factory, reading the environment at its top

        if lazy_settings.DEBUG:
            raise ValueError("DEBUG: must be false (lazy)")

    async def app(scope, receive, send):
        pass

    return app
"""

LAZY_SETTINGS = 'import os\nDEBUG = os.environ.get("LAZY_DEBUG") == "true"\n'


@pytest.mark.parametrize("lazy", [False, True])
def test_an_audit_imports_once_an_app_whose_import_reads_no_checked_variable(
    tiny_project: Path, lazy: bool
) -> None:
    import builtins

    (tiny_project / "counted_factory.py").write_text(COUNTED_FACTORY)
    (tiny_project / "lazy_settings.py").write_text(LAZY_SETTINGS)
    lines = ["TINY_KEY=a-long-enough-key", "DEBUG=false"]
    lines += ["LAZY=1", "LAZY_DEBUG=false"] if lazy else []
    (tiny_project / "prod.env").write_text("\n".join(lines) + "\n")
    builtins.__dict__.pop("counted_factory_imports", None)
    try:
        result = _check("--factory", "counted_factory:create_app", "--audit")
        imports = len(builtins.__dict__.pop("counted_factory_imports", []))
    finally:
        for name in ("counted_factory", "lazy_settings"):
            sys.modules.pop(name, None)
    tried = int(re.search(r"audit: (\d+) unsafe variants tried", result.stdout).group(1))
    assert tried >= 5, result.output
    if lazy:
        # The factory's own import reads LAZY_DEBUG at its top: every variant imports afresh,
        # and LAZY_DEBUG switched on is refused, never read from an earlier variant.
        assert imports > tried
        assert "accepted LAZY_DEBUG: debug on" not in result.stdout, result.output
    else:
        # The check of the env, the audit's look for PRODUCTION_OPTIONAL, its one shared import.
        assert imports <= 3 < tried, (imports, tried)
    assert "accepted DEBUG: debug on" not in result.stdout


#: An app that prints what it was given, as apps' own warnings and logs do ("got 'x...'").
CHATTY_APP = """
import os
import sys
import warnings


def create_app():
    key = os.environ.get("TINY_KEY", "")
    print(f"settings: TINY_KEY={key!r}")
    warnings.warn(f"TINY_KEY starts with {key[:3]!r}")
    print(f"building with {key}", file=sys.stderr)
    if len(key) < 12:
        raise ValueError("TINY_KEY: needs at least 12 characters")

    async def app(scope, receive, send):
        pass

    return app
"""


@pytest.mark.filterwarnings("ignore:TINY_KEY starts with")
def test_the_audit_shows_its_report_not_what_the_app_printed(tiny_project: Path) -> None:
    (tiny_project / "chatty_app.py").write_text(CHATTY_APP)
    (tiny_project / "prod.env").write_text("TINY_KEY=a-long-enough-key\n")
    try:
        result = _check("--factory", "chatty_app:create_app", "--audit")
    finally:
        sys.modules.pop("chatty_app", None)
    assert "audit:" in result.stdout, result.output
    assert "a-long-enough-key" not in result.output
    assert "settings:" not in result.output
    assert "building with" not in result.output


DEFAULTED_APP = """
import os


def create_app():
    url = os.environ.get("PRICES_URL", "https://prices.example.com/v1")  # safe by default
    if not url.startswith("https://") or "localhost" in url or "127.0.0.1" in url:
        raise ValueError("PRICES_URL: must be a public https URL")
    if "yourdomain" in url or "://" not in url or url.count(".") < 1:
        raise ValueError("PRICES_URL: must be a real host")

    async def app(scope, receive, send):
        pass

    return app
"""


def test_a_variable_with_a_safe_default_is_named_optional_on_the_command_line(
    tiny_project: Path,
) -> None:
    (tiny_project / "defaulted_app.py").write_text(DEFAULTED_APP)
    (tiny_project / "prod.env").write_text("PRICES_URL=https://prices.example.com/v1\n")
    args = ("--factory", "defaulted_app:create_app", "--audit")
    dropped = _check(*args)
    assert "audit: accepted PRICES_URL: dropped" in dropped.stdout.splitlines()
    assert "note: the app was built without PRICES_URL" in dropped.stderr
    assert "--optional PRICES_URL" in dropped.stderr
    optional = _check(*args, "--optional", "PRICES_URL,OTHER", "--optional", "PRICES_UR")
    assert "PRICES_URL: dropped" not in optional.output
    assert "note: --optional OTHER, PRICES_UR: not set in prod.env" in optional.stderr
    assert re.search(r"^audit: \d+ unsafe variants tried, 0 finding\(s\)$", optional.stdout, re.M)
    assert optional.exit_code == 0, optional.output
    sys.modules.pop("defaulted_app", None)


def test_a_drop_a_dotenv_file_here_fills_is_not_blamed_on_the_app(tiny_project: Path) -> None:
    # A trial's: pydantic-settings read ../.env, so the build had every dropped variable, and
    # the note told the user to mark them optional.
    (tiny_project / "defaulted_app.py").write_text(DEFAULTED_APP)
    (tiny_project / "prod.env").write_text("PRICES_URL=https://prices.example.com/v1\n")
    (tiny_project / ".env").write_text("PRICES_URL=https://prices.example.com/v1\n")
    result = _check("--factory", "defaulted_app:create_app", "--audit")
    sys.modules.pop("defaulted_app", None)
    assert "audit: accepted PRICES_URL: dropped" in result.stdout.splitlines()
    assert "note: PRICES_URL dropped, but set in .env: settings that read" in result.stderr
    assert "built without" not in result.stderr
    assert "--optional" not in result.stderr
    # The file checked is no file the app reads behind the command's back (a trial's
    # `--env-file .env.production`, which the note told to move aside).
    (tiny_project / ".env").unlink()
    (tiny_project / ".env.production").write_text("PRICES_URL=https://prices.example.com/v1\n")
    args = [
        "check-config",
        "--env-file",
        ".env.production",
        "--factory",
        "defaulted_app:create_app",
    ]
    checked = runner.invoke(app, [*args, "--audit"])
    sys.modules.pop("defaulted_app", None)
    assert "set in .env.production" not in checked.stderr, checked.output
    assert "note: the app was built without PRICES_URL" in checked.stderr


@pytest.mark.parametrize("audit", [False, True], ids=["check", "with --audit"])
def test_a_secret_the_file_itself_leaves_weak_is_a_problem(tmp_path: Path, audit: bool) -> None:
    # The audit's variants change the file's values: a file that already held a published
    # default was "production configuration OK", with the very value the audit flags.
    path = tmp_path / "prod.env"
    lines = ["OPENAI_API_KEY=changethis", "SIGNING_SALT=your_signing_salt_here", "JWT_SECRET=x"]
    lines.append("API_KEY=")  # said empty, not "one character" (a trial's)
    lines.append("DB_URL=postgresql://llm:password@db.internal/llm")  # a URL's (a trial's)
    path.write_text("\n".join([*lines, "TOKEN_URL=https://auth.example.com/token"]) + "\n")
    args = [
        "check-config",
        "--env-file",
        str(path),
        "--factory",
        "tests.chaos.lenient_app:create_app",
    ]
    result = runner.invoke(app, [*args, "--audit"] if audit else args)
    assert result.exit_code == 1, result.output
    assert ("note: --audit did not run" in result.stderr) is audit  # said, not skipped silently
    assert result.stdout.splitlines() == [
        "OPENAI_API_KEY: is a published default ('changethis'), and the check accepted it: set "
        "a real secret",
        "SIGNING_SALT: is its example placeholder ('your_signing_salt_here'), and the check "
        "accepted it: set a real secret",
        "JWT_SECRET: is one character, and the check accepted it: set a real secret",
        "API_KEY: is empty, and the check accepted it: set a real secret, or leave the line "
        "out if what it enables is meant to be off",
        "DB_URL: is a URL whose password is a published default ('password'), and the check "
        "accepted it: set a real secret",
    ]


REFUSING_APP = """
import os

from starlette.applications import Starlette


def create_app() -> Starlette:
    if os.environ.get("SECRET_KEY") in (None, "", "changethis"):
        raise RuntimeError("SECRET_KEY must be set to a real secret")
    if not os.environ.get("REGION"):
        raise RuntimeError("REGION is required")
    return Starlette()
"""


def test_a_weak_secret_is_not_said_accepted_by_a_build_that_refused(tiny_project: Path) -> None:
    # A trial's: "refused to build: SECRET_KEY must be set", then "SECRET_KEY: is a published
    # default, and the check accepted it": two problems for one, the second untrue.
    (tiny_project / "refusing_app.py").write_text(REFUSING_APP)
    (tiny_project / "prod.env").write_text("SECRET_KEY=changethis\nAPI_TOKEN=changeme\n")
    result = _check("--factory", "refusing_app:create_app")
    sys.modules.pop("refusing_app", None)
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        "refusing_app:create_app: refused to build: RuntimeError: SECRET_KEY must be set to a "
        "real secret",
        "API_TOKEN: is a published default ('changeme'): set a real secret",
    ]


def test_a_secret_left_at_the_projects_example_value_is_a_problem(tiny_project: Path) -> None:
    # A trial's: .env.production, a copy of the committed .env.template, passed with only a
    # URL's password flagged: its secrets are public, the example file publishes them.
    example = "SECRET_KEY=PRODUCTION-SECRET-KEY\nEMAIL_API_KEY=secret-api-key\n"
    (tiny_project / ".env.template").write_text(example)
    (tiny_project / "prod.env").write_text(example.replace("secret-api-key", "k7Qm2vX9pL4wZ8rT"))
    result = _check("--factory", "tests.chaos.lenient_app:create_app")
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        "SECRET_KEY: is the value the project's example env file gives it, and the check "
        "accepted it: set a real secret",
    ]


def test_a_dotenv_file_the_app_never_names_is_not_blamed_for_a_drop(tiny_project: Path) -> None:
    # A trial's: a .env.production lying beside the check, which the app (os.environ only)
    # never reads, was said to have filled the drop, and the true finding's advice was lost.
    (tiny_project / "defaulted_app.py").write_text(DEFAULTED_APP)
    (tiny_project / "prod.env").write_text("PRICES_URL=https://prices.example.com/v1\n")
    (tiny_project / ".env.production").write_text("PRICES_URL=https://prices.example.com/v1\n")
    result = _check("--factory", "defaulted_app:create_app", "--audit")
    sys.modules.pop("defaulted_app", None)
    assert "audit: accepted PRICES_URL: dropped" in result.stdout.splitlines()
    assert "set in .env.production" not in result.stderr
    assert "note: the app was built without PRICES_URL" in result.stderr
    # One the app's source names (a settings class's env_file) is suspected, as .env always is.
    (tiny_project / "defaulted_app.py").write_text(
        DEFAULTED_APP + '\nENV_FILE = ".env.production"  # read by its settings\n'
    )
    named = _check("--factory", "defaulted_app:create_app", "--audit")
    sys.modules.pop("defaulted_app", None)
    assert "note: PRICES_URL dropped, but set in .env.production" in named.stderr
