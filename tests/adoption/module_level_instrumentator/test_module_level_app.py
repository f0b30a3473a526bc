"""An app built once at import keeps its metrics across tests (they are its own for the whole
process), and each test still counts only its own requests."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_hardening import PrometheusView


@pytest.mark.parametrize("requests", [1, 2, 3])
def test_every_test_sees_its_own_requests(
    hardened_client: Any, apm: PrometheusView, requests: int
) -> None:
    for _ in range(requests):
        assert hardened_client.get("/ping").json() == {"pong": "ok"}
    assert apm.endpoint("GET /ping").count == requests
    assert apm.sample("module_level_http_requests_total", handler="/ping") == requests
