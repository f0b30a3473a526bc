"""The package's public surface: every exported name resolves, and importing the package (which
loading the plugin does) pulls in none of the heavy libraries a fixture-free suite never needs."""

from __future__ import annotations

import subprocess
import sys

import pytest

import pytest_hardening


def test_every_exported_name_resolves_and_all_is_sorted() -> None:
    assert pytest_hardening.__all__ == sorted(pytest_hardening.__all__)
    missing = [name for name in pytest_hardening.__all__ if not hasattr(pytest_hardening, name)]
    assert missing == []


def test_unknown_attribute_is_an_attribute_error() -> None:
    assert not hasattr(pytest_hardening, "no_such_name")


@pytest.mark.parametrize("module", ["pytest_hardening", "pytest_hardening._plugin"])
def test_importing_the_package_or_the_plugin_is_cheap(module: str) -> None:
    heavy = ("respx", "freezegun", "sentry_sdk", "rich", "fastapi", "httpx")
    code = f"import sys, {module}\nprint(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    out = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]", f"importing {module} pulled in {out.stdout}"
