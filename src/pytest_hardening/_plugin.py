"""The pytest entry point: options, markers and fixtures. Logic lives in plain classes."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "production: build hardened_app from hardening_prod_env (production mode)."
    )
    config.addinivalue_line("markers", "chaos: a chaos scenario (select with -m chaos).")
