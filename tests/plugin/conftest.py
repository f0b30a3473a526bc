"""Tests here run against the reference app: this is what ``-p reference_app.testing`` gives a
project (a conftest below the rootdir cannot use ``pytest_plugins``, so the fixtures are
re-exported instead). tests/plugin/weather/ overrides them for the small second app."""

from __future__ import annotations

from reference_app.testing import (  # noqa: F401 (fixtures are found by name)
    hardening_app_factory,
    hardening_app_reset,
    hardening_client_headers,
    hardening_database_url,
    hardening_dev_env,
    hardening_prod_env,
    hardening_providers,
)
