from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .app import create_app


@pytest.fixture
def hardening_app_factory() -> Callable[[], Any]:
    return create_app


@pytest.fixture
def hardening_dev_env() -> dict[str, str]:
    return {"APP_ENV": "development"}


@pytest.fixture
def hardening_prod_env() -> dict[str, str]:
    return {
        "APP_ENV": "production",
        "SECRET_KEY": "q8Jw2nV0c4RkT7yL1pZs9XbE5uHd3GmA",
        "PUBLIC_URL": "https://shop.acme.io",
        "DATABASE_URL": "postgresql://app:db-password-77@db.acme.internal/shop",
        "SENTRY_DSN": "https://k3y@o1.ingest.sentry.io/42",
    }
