"""A project whose own pins undercut the plugin's requirements (pip only warns) is told which
package is too old and how to fix it, before any fixture fails deep inside the plugin."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest
from click.testing import CliRunner

from pytest_hardening._cli import app as hardening
from pytest_hardening._requirements import Unmet, requirements_message

RUN = ("-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:hypothesispytest")
RUN += ("-o", "asyncio_default_fixture_loop_scope=function")
TESTS = """
import pytest
from starlette.applications import Starlette

@pytest.fixture
def hardening_app_factory():
    return lambda: Starlette()

def test_one(hardened_client):
    pass

def test_two(faults):
    pass

def test_plain():
    pass
"""


@pytest.fixture
def anyio_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``pip install`` of an app pinning anyio 3 leaves: anyio 3.7.1's metadata, found
    before the real one. (The anyio module itself stays the installed 4.x: only the check
    reads the metadata.)"""
    info = tmp_path / "pins" / "anyio-3.7.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: anyio\nVersion: 3.7.1\n")
    monkeypatch.syspath_prepend(str(tmp_path / "pins"))


@pytest.mark.usefixtures("anyio_3")
def test_fixtures_name_the_old_package_and_leave_other_tests_alone(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(TESTS)
    result = pytester.runpytest(*RUN)
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*pytest-hardening cannot run with the packages installed here: anyio 3.7.1 "
            "(it needs anyio>=4.4)",
            "*Install the versions it needs: python -m pip install 'anyio>=4.4'",
            "*docs/getting-started.md says which FastAPI and Starlette versions do.",
        ]
    )
    result.stdout.no_fnmatch_line("*Traceback*")


@pytest.mark.usefixtures("anyio_3")
def test_the_package_that_holds_anyio_back_is_named(
    tmp_path: Path, pytester: pytest.Pytester
) -> None:
    # An old uvicorn[standard] brings watchgod, whose anyio<4 was what held it there, not the
    # framework the message blamed.
    info = tmp_path / "pins" / "watchgod-0.8.2.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: watchgod\nVersion: 0.8.2\nRequires-Dist: anyio (<4,>=3.0.0)\n"
    )
    pytester.makepyfile(TESTS)
    result = pytester.runpytest(*RUN)
    result.stdout.fnmatch_lines(
        ["*anyio is held below what the plugin needs by watchgod 0.8.2 (its requirement on anyio)*"]
    )


@pytest.mark.usefixtures("anyio_3")
def test_the_command_refuses_to_start() -> None:
    result = CliRunner().invoke(hardening, ["check-config", "production.env"])
    assert result.exit_code == 2
    assert "installed here: anyio 3.7.1 (it needs anyio>=4.4)" in result.output


def test_the_summary_line_names_the_old_package(
    tmp_path: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A trial's httpx 0.25.2: pytest's short summary, on a wide terminal, shows a failure's
    # first line alone, and that line ended at its colon: no package, no version.
    info = tmp_path / "pins" / "httpx-0.25.2.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: httpx\nVersion: 0.25.2\n")
    monkeypatch.syspath_prepend(str(tmp_path / "pins"))
    for variable in ("CI", "BUILD_NUMBER"):  # on CI, pytest's summary shows every line
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("COLUMNS", "250")
    pytester.makepyfile(test_old_httpx=TESTS)
    result = pytester.runpytest(*RUN)
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(
        [
            "ERROR test_old_httpx.py::test_one - Failed: pytest-hardening cannot run with the "
            "packages installed here: httpx 0.25.2 (it needs httpx>=0.28)"
        ]
    )


def _installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, version: str) -> None:
    """The metadata of ``name`` ``version``, found before the real one (the module stays)."""
    info = tmp_path / "pins" / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    monkeypatch.syspath_prepend(str(tmp_path / "pins"))


def test_an_sdk_that_passes_proxies_is_named_on_the_summary_line(
    tmp_path: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A trial's app pinned anthropic 0.34.2: beside the plugin's httpx 0.28 every hardened
    # test errored in the app's startup (TypeError: AsyncCl...), and the plugin said nothing.
    _installed(tmp_path, monkeypatch, "anthropic", "0.34.2")
    _installed(tmp_path, monkeypatch, "openai", "1.55.2")
    for variable in ("CI", "BUILD_NUMBER"):  # on CI, pytest's summary shows every line
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("COLUMNS", "400")
    pytester.makepyfile(test_old_sdk=TESTS)
    result = pytester.runpytest(*RUN)
    result.assert_outcomes(passed=1, errors=2)
    httpx = importlib.metadata.version("httpx")
    result.stdout.fnmatch_lines(
        [
            f"ERROR test_old_sdk.py::test_one - Failed: openai 1.55.2 cannot build a client "
            f"with httpx {httpx} (it passes `proxies`, which httpx removed): upgrade to "
            f"openai >= 1.55.3; anthropic 0.34.2 cannot build a client with httpx {httpx} *"
        ]
    )
    result.stdout.fnmatch_lines(
        ["*python -m pip install 'openai>=1.55.3' 'anthropic>=0.40' (or uninstall an SDK*"]
    )
    result.stdout.no_fnmatch_line("*Traceback*")


def test_sdks_that_build_a_client_say_nothing(
    tmp_path: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _installed(tmp_path, monkeypatch, "anthropic", "0.40.0")
    _installed(tmp_path, monkeypatch, "openai", "1.55.3")
    pytester.makepyfile(TESTS)
    pytester.runpytest(*RUN).assert_outcomes(passed=3)


def test_met_requirements_say_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TESTS)
    pytester.runpytest(*RUN).assert_outcomes(passed=3)


def test_an_old_pytest_is_told_to_bring_its_plugins_along() -> None:
    # A trial's: the advice installed pytest 9, and pytest-asyncio 0.23 then failed every
    # module of the project's own suite.
    old = [Unmet("pytest", "pytest>=8.0", "7.4.4"), Unmet("httpx", "httpx>=0.28", "0.26.0")]
    said = requirements_message(old)
    assert "python -m pip install 'pytest>=8.0' 'httpx>=0.28'" in said
    assert "upgrade the project's pytest plugins with pytest: pytest-asyncio 0.23" in said
    assert "pytest plugins" not in requirements_message(old[1:])


def test_a_pytest_too_old_to_load_the_plugin_stops_with_the_versions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A trial's app pinned pytest 6.2.5: every run died in a traceback ("module 'pytest' has
    # no attribute 'StashKey'") from the entry point's import; the fixtures' check never ran.
    import importlib
    import sys

    monkeypatch.delattr(pytest, "StashKey")
    monkeypatch.delitem(sys.modules, "pytest_hardening._old_pytest")
    with pytest.raises(pytest.UsageError) as info:
        importlib.import_module("pytest_hardening._old_pytest")
    said = str(info.value)
    assert said.startswith("pytest-hardening cannot run with the packages installed here:")
    assert "`-p no:pytest_hardening` (or uninstalling pytest-hardening) leaves it out" in said


def test_the_chaos_command_names_an_sdk_that_passes_proxies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fixtures say so; the command's scenarios met the same bare TypeError in the app.
    _installed(tmp_path, monkeypatch, "openai", "1.40.0")
    result = CliRunner().invoke(hardening, ["chaos", "--list"])
    assert result.exit_code == 0, result.output
    assert "hardening chaos: note: openai 1.40.0 cannot build a client with httpx " in result.stderr
    assert "upgrade to openai >= 1.55.3" in result.stderr
