"""The ``apm`` fixture over an app's prometheus metrics: each test sees the traffic it caused
(the registry is the process's, and only ever grows), whatever ran before."""

from __future__ import annotations

import math
from typing import Any

import pytest

from pytest_hardening import Clock, FaultInjector, PrometheusView


def test_each_test_counts_its_own_requests(hardened_client: Any, apm: PrometheusView) -> None:
    for _ in range(3):
        assert hardened_client.get("/orders/acme").json() == {"orders": 2}
    stats = apm.endpoint("GET /orders/{shop_id}")
    assert (stats.count, stats.errors, stats.error_rate) == (3, 0, 0.0)
    assert apm.sample("shop_orders_synced_total", shop="acme") == 6
    assert apm.endpoint("GET /crash").count == 0


def test_the_same_again_starts_from_zero(hardened_client: Any, apm: PrometheusView) -> None:
    assert hardened_client.get("/orders/acme").status_code == 200
    assert apm.endpoint("GET /orders/{shop_id}").count == 1
    assert apm.sample("shop_orders_synced_total") == 2


def test_server_errors_and_provider_latency(
    hardened_client: Any, faults: FaultInjector, clock: Clock, apm: PrometheusView
) -> None:
    assert hardened_client.get("/crash").status_code == 500
    faults.latency("shop", 0.3)  # the request takes 0.3 s of virtual time
    assert hardened_client.get("/orders/acme").status_code == 200
    faults.latency("shop", 3.0)  # past the instrumentator's last bucket (1 s)
    assert hardened_client.get("/orders/acme").status_code == 200
    crash = apm.endpoint("GET /crash")
    assert (crash.count, crash.errors, crash.error_rate) == (1, 1, 1.0)
    orders = apm.endpoint("GET /orders/{shop_id}")
    assert orders.count == 2
    assert orders.p50 == 0.5  # the bucket the 0.3 s request fell in
    assert math.isinf(orders.max)
    faults.fail("shop", 503)
    assert hardened_client.get("/orders/acme").status_code == 502
    assert apm.endpoint("GET /orders/{shop_id}").errors == 1


def test_what_prometheus_has_no_standard_for_says_how_to_read_it(apm: PrometheusView) -> None:
    with pytest.raises(TypeError, match=r"apm.sample\("):
        apm.external("shop")
    with pytest.raises(ValueError, match="METHOD /route"):
        apm.endpoint("/orders")
