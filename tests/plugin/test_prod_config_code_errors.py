"""An app whose code does not compile under the Python the tests run on (a syntax of a newer
release) failed prod_config's checks as "refused": a configuration refused, where the app never
read one (a trial's). The checks say it is the app's code, not its configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pytest_hardening._cli import app

#: An app module that does not compile (a newer Python's syntax, say).
BROKEN = (
    "from starlette.applications import Starlette\n\napp = Starlette()\n\ndef broken(:\n    pass\n"
)

CONFTEST = """
import pytest


def create_app():
    import newer_syntax  # code that does not compile (a newer Python's syntax, say)

    return newer_syntax.app


@pytest.fixture
def hardening_app_factory():
    return create_app


@pytest.fixture
def hardening_prod_env():
    return {"APP_ENV": "production"}
"""

TESTS = """
import pytest


@pytest.mark.parametrize("check", ["accepts", "rejects", "audit"])
def test_check(prod_config, check):
    with pytest.raises(AssertionError) as failed:
        if check == "accepts":
            prod_config.assert_accepts()
        elif check == "rejects":
            prod_config.assert_rejects(APP_ENV="development")
        else:
            prod_config.audit()
    print("SAID:", str(failed.value).splitlines()[0])
"""


def test_code_that_does_not_compile_is_no_refusal(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(newer_syntax=BROKEN)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_checks=TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio", "-s"
    )
    result.assert_outcomes(passed=3)
    said = [line.partition("SAID: ")[2] for line in result.outlines if "SAID: " in line]
    assert len(said) == 3
    for line in said:
        assert "failed on SyntaxError: " in line
        assert "(newer_syntax.py, line 5), under Python 3." in line
        assert "an error in the app's code, not a refusal of the configuration" in line
        assert "refused:" not in line


def test_check_config_says_it_could_not_judge_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "newer_syntax_cli.py").write_text(BROKEN)
    (tmp_path / "prod.env").write_text("APP_ENV=production\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    args = ["check-config", "--env-file", "prod.env", "--factory", "newer_syntax_cli:app"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert (
        "newer_syntax_cli:app: could not judge the file: the build failed on SyntaxError: "
    ) in result.stdout
    assert "not a refusal of the configuration" in result.stdout
    assert "not shown safe to release" in result.stderr
