"""The docs' examples run against the reference app, exactly as a project gets with
``pytest -p pytest_hardening -p reference_app.testing``. (A conftest below the rootdir may not
use ``pytest_plugins``, so the reference app's fixture overrides are re-exported instead.)"""

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
