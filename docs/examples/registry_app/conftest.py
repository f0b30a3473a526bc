"""An app whose startup and shutdown call a client the faults do not reach."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from registry_app import Registry, create_app


@pytest.fixture
def hardening_app_factory() -> Callable[[], Any]:
    return create_app


@pytest.fixture
def hardening_dev_env() -> dict[str, str]:
    return {"REGISTRY_URL": "http://registry.example:8500"}


@pytest.fixture
def hardening_app_reset() -> Callable[[Any], None]:
    return lambda app: None  # nothing to reset: the app is kept between tests


@pytest.fixture(scope="session", autouse=True)
def service_registry() -> Iterator[list[str]]:
    # The registry client talks over urllib: no provider can answer it. Session-scoped: the
    # app kept between tests joins at its first start and leaves at the session's end.
    calls: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Registry, "register", lambda self, name: calls.append(f"+{name}"))
        patch.setattr(Registry, "deregister", lambda self, name: calls.append(f"-{name}"))
        yield calls
