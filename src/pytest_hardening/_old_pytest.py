"""Imported first by the plugin's entry point: on a pytest too old to load the plugin's modules
(no ``pytest.StashKey``: before 7.0; the plugin needs 8), pytest stops with the versions to
install, not with a traceback from deep inside a module. The plugin loads by its entry point in
every pytest run of the environment: the message says how to leave it out meanwhile."""

from __future__ import annotations

import pytest

from ._requirements import Unmet, requirements_message, unmet_requirements

__all__: list[str] = []

if not hasattr(pytest, "StashKey"):
    _unmet = unmet_requirements() or [Unmet("pytest", "pytest>=8.0", pytest.__version__)]
    raise pytest.UsageError(
        requirements_message(_unmet)
        + "\nEvery pytest run in this environment loads the plugin by its entry point: until "
        "then, `-p no:pytest_hardening` (or uninstalling pytest-hardening) leaves it out"
    )
