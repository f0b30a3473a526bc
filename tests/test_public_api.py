"""The package's public surface: every exported name resolves, and importing the package (which
loading the plugin does) pulls in none of the heavy libraries a fixture-free suite never needs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import pytest_hardening


def test_every_exported_name_resolves_and_all_is_sorted() -> None:
    assert pytest_hardening.__all__ == sorted(pytest_hardening.__all__)
    missing = [name for name in pytest_hardening.__all__ if not hasattr(pytest_hardening, name)]
    assert missing == []


def test_unknown_attribute_is_an_attribute_error() -> None:
    assert not hasattr(pytest_hardening, "no_such_name")


def test_a_name_whose_import_fails_inside_a_dependency_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # respx beside an httpx too old for it raises AttributeError while it is imported, and
    # `from pytest_hardening import FaultInjector` said only "cannot import name".
    (tmp_path / "too_old_for_it.py").write_text("import sys\nsys.no_such_attribute\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(pytest_hardening._EXPORTS, "Broken", "too_old_for_it")
    monkeypatch.delitem(sys.modules, "too_old_for_it", raising=False)
    with pytest.raises(ImportError, match=r"pytest_hardening\.Broken cannot be imported: "):
        from pytest_hardening import Broken  # type: ignore[attr-defined]  # noqa: F401
    with pytest.raises(ImportError, match=r"no attribute 'no_such_attribute'"):
        pytest_hardening.Broken  # type: ignore[attr-defined]  # noqa: B018


@pytest.mark.parametrize("module", ["pytest_hardening", "pytest_hardening._plugin"])
def test_importing_the_package_or_the_plugin_is_cheap(module: str) -> None:
    heavy = ("respx", "freezegun", "sentry_sdk", "rich", "fastapi", "httpx")
    code = f"import sys, {module}\nprint(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    out = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]", f"importing {module} pulled in {out.stdout}"


@pytest.mark.parametrize("module", ["pytest_hardening", "pytest_hardening.chaos"])
def test_the_public_names_are_the_documented_ones(module: str) -> None:
    import importlib

    docs = Path(__file__).resolve().parents[1] / "docs"
    text = "\n".join(page.read_text(encoding="utf-8") for page in docs.glob("*.md"))
    exported = importlib.import_module(module).__all__
    undocumented = [name for name in exported if f"`{name}" not in text]
    assert undocumented == [], f"exported by {module} but in no page of docs/: {undocumented}"


def test_the_hardening_command_runs_without_pydantic(tmp_path: Path) -> None:
    # typer (the command's former framework) needs pydantic 2: installing the plugin upgraded
    # the pydantic of apps pinned to 1, or every command failed importing pydantic's
    # AfterValidator. The command itself must not import pydantic, nor typer.
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'app'\n")  # no [tool.hardening]
    (tmp_path / "own_rules.py").write_text("def validate(env):\n    return []\n")
    code = (
        "import sys\n"
        "from pytest_hardening._cli import main\n"
        "for argv in (['--help'], ['check-config', '--help'],\n"
        "             ['check-config', '--validator', 'own_rules:validate']):\n"
        "    sys.argv = ['hardening', *argv]\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit as exit:\n"
        "        assert exit.code == 0, (argv, exit.code)\n"
        "print(sorted(m for m in ('pydantic', 'typer') if m in sys.modules))\n"
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "production configuration OK" in out.stdout
    imported = out.stdout.splitlines()[-1]
    assert imported == "[]", f"the hardening command imported {imported}"


FACTORY_OPTION = "--factory package.module:attribute"
NO_APP = [
    (["check-config", "--env-file", "prod.env"], FACTORY_OPTION, "factory"),
    (["serve"], FACTORY_OPTION, "factory"),
    (["chaos"], "--target package.module:target", "target"),
]


#: The reference app's stack missing (installed without the app extra), or pydantic 1 beside an
#: app of the user's own: "cannot import name 'model_validator' from 'pydantic'" (a trial's).
MISSING_STACK = {
    "no pydantic": "sys.modules['pydantic'] = None",
    "pydantic 1": "import types; sys.modules['pydantic'] = types.ModuleType('pydantic')",
}


@pytest.mark.parametrize("stand_in", MISSING_STACK.values(), ids=MISSING_STACK)
def test_a_command_with_no_app_and_no_app_extra_is_a_usage_error(
    tmp_path: Path, stand_in: str
) -> None:
    # Nothing configured falls back to the reference app, whose stack (pydantic) is the `app`
    # extra: without it, a traceback and exit 1 ("problems found"), or "refused to start",
    # said nothing of the cause. One process for the three commands (each exits on its own).
    (tmp_path / "prod.env").write_text("ENVIRONMENT=production\n")  # in no project
    code = (
        "import sys\n"
        f"{stand_in}\n"
        "from pytest_hardening._cli import app\n"
        f"for args in {[command for command, _, _ in NO_APP]!r}:\n"
        "    try:\n"
        "        app.main(args, prog_name='hardening')\n"
        "    except SystemExit as done:\n"
        "        print(done.code, flush=True)\n"
        "    sys.stderr.write('--\\n')\n"
        "    sys.stderr.flush()\n"
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert out.stdout.split() == ["2", "2", "2"], out.stderr
    said = out.stderr.split("--\n")[:3]
    for (_, option, key), text in zip(NO_APP, said, strict=True):
        [line] = text.splitlines()
        assert f"pass {option}, or set `{key}` in [tool.hardening]" in line
        assert "needs pytest-hardening[app]" in line
