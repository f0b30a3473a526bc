from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .app import create_app


@pytest.fixture
def hardening_app_factory() -> Callable[[], Any]:
    return create_app


@pytest.fixture
def hardening_providers() -> dict[str, str]:
    return {"payments": "https://api.payments.example"}
