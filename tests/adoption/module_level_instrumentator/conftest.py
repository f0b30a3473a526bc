from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from . import app as module


@pytest.fixture
def hardening_app_factory() -> Callable[[], Any]:
    return lambda: module.app  # the same object every test
