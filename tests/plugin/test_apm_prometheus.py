"""PrometheusView and RegistryScope without pytest fixtures: per-test deltas of a registry that
only grows, request stats from the label shapes instrumentations write, and an app's own
registrations scoped to its life."""

from __future__ import annotations

import math
from typing import Any

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from pytest_hardening import Harness, PrometheusView
from pytest_hardening._prometheus_scope import RegistryScope


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def _exporter_metrics(registry: CollectorRegistry) -> tuple[Counter, Histogram]:
    # starlette-exporter's shape: `path` and `status_code` labels on both.
    labels = ["method", "path", "status_code"]
    requests = Counter("starlette_requests", "requests", labels, registry=registry)
    latency = Histogram(
        "starlette_request_duration_seconds",
        "latency",
        labels,
        buckets=(0.1, 0.5, 2.0),
        registry=registry,
    )
    return requests, latency


def _request(requests: Counter, latency: Histogram, status: int, seconds: float) -> None:
    labels = {"method": "GET", "path": "/items/{id}", "status_code": str(status)}
    requests.labels(**labels).inc()
    latency.labels(**labels).observe(seconds)


def test_request_stats_count_only_what_happened_since_the_start(
    registry: CollectorRegistry,
) -> None:
    requests, latency = _exporter_metrics(registry)
    for _ in range(5):
        _request(requests, latency, 200, 0.05)  # an earlier test's traffic
    view = PrometheusView(registry).start()
    assert view.endpoint("GET /items/{id}").count == 0
    for seconds in (0.05, 0.05, 0.3, 0.3, 1.0, 1.0, 1.0, 1.0, 1.0, 3.0):
        _request(requests, latency, 200, seconds)
    _request(requests, latency, 503, 0.05)
    stats = view.endpoint("GET /items/{id}")
    assert (stats.count, stats.errors) == (11, 1)
    assert stats.error_rate == pytest.approx(1 / 11)
    assert stats.p50 == 2.0  # the 6th of 11 took 1 s: within the 2 s bucket
    assert math.isinf(stats.p95)  # the 11th (3 s), past the last bucket, is the slowest 9 %
    assert math.isinf(stats.max)
    assert view.endpoint("get /items/{id}").count == 11  # the method in any case
    assert view.endpoint("POST /items/{id}").count == 0
    view.reset()
    assert view.endpoint("GET /items/{id}").count == 0


def test_a_histogram_alone_gives_the_count(registry: CollectorRegistry) -> None:
    latency = Histogram("latency_seconds", "", ["method", "handler"], registry=registry)
    view = PrometheusView(registry).start()
    latency.labels(method="POST", handler="/pay").observe(0.2)
    latency.labels(method="POST", handler="/pay").observe(0.2)
    stats = view.endpoint("POST /pay")
    assert (stats.count, stats.errors, stats.p95) == (2, 0, 0.25)


def test_two_request_families_and_a_size_histogram_count_each_request_once(
    registry: CollectorRegistry,
) -> None:
    # An app with two middlewares, each counting requests in its own family, and a histogram
    # of response sizes with the same labels: summed, one request read as two, and the bytes'
    # buckets made the latency percentiles inf.
    a_labels, b_labels = ["method", "endpoint", "status_code"], ["method", "path", "status_code"]
    requests_a = Counter("http_requests", "", a_labels, registry=registry)
    latency_a = Histogram(
        "http_request_duration_seconds", "", ["method", "endpoint"], registry=registry
    )
    requests_b = Counter("fastapi_requests", "", b_labels, registry=registry)
    sizes = Histogram(
        "fastapi_response_size_bytes", "", ["method", "path"], buckets=(100, 10_000),
        registry=registry,
    )  # fmt: skip
    view = PrometheusView(registry).start()
    requests_a.labels("GET", "/ping", "200").inc()
    latency_a.labels("GET", "/ping").observe(0.002)
    requests_b.labels("GET", "/ping", "200").inc()
    sizes.labels("GET", "/ping").observe(40_000)  # bytes, past its last bucket
    stats = view.endpoint("GET /ping")
    assert stats.count == 1
    assert stats.p95 == stats.max == 0.005  # the latency histogram's own bucket, not inf


def test_the_apps_calls_out_are_not_requests_to_it(registry: CollectorRegistry) -> None:
    # The same method and endpoint labels, for the provider's path (a trial's app): read as
    # requests to the app, a route it does not have had a count.
    requests, latency = _exporter_metrics(registry)
    calls_out = Counter(
        "external_service_requests", "", ["service_name", "endpoint", "method"], registry=registry
    )
    view = PrometheusView(registry).start()
    _request(requests, latency, 200, 0.05)
    calls_out.labels("coindesk", "/index/cc/v1/latest/tick", "GET").inc(3)
    stats = view.endpoint("GET /index/cc/v1/latest/tick")
    assert stats.count == 0
    assert "seen: GET /items/{id}" in stats.note  # the app's own route only
    assert view.sample("external_service_requests_total", service_name="coindesk") == 3


def test_any_metric_by_name_and_labels(registry: CollectorRegistry) -> None:
    payments = Counter("payments", "", ["provider", "outcome"], registry=registry)
    payments.labels(provider="stripe", outcome="ok").inc(4)
    view = PrometheusView(registry).start()
    payments.labels(provider="stripe", outcome="ok").inc()
    payments.labels(provider="stripe", outcome="declined").inc(2)
    payments.labels(provider="adyen", outcome="ok").inc()
    assert view.sample("payments_total") == 4
    assert view.sample("payments_total", provider="stripe") == 3
    assert view.sample("payments_total", provider="stripe", outcome="ok") == 1
    changed = view.changes()
    assert all(name == "payments_total" for name, _ in changed)  # no `_created` timestamps
    assert view.summary()["payments_total{outcome='declined', provider='stripe'}"] == 2


def test_a_metric_name_the_registry_does_not_have_is_refused_not_zero(
    registry: CollectorRegistry,
) -> None:
    # A trial wrote order_created_total for orders_created_total: 0, and a test asserting
    # "no failed orders" would pass for the wrong reason.
    orders = Counter("orders_created", "", ["provider"], registry=registry)
    Counter("orders_failed", "", ["provider"], registry=registry)  # no series of it yet
    view = PrometheusView(registry).start()
    orders.labels(provider="stripe").inc()
    assert view.sample("orders_created_total", provider="stripe") == 1
    assert view.sample("orders_failed_total") == 0  # registered, never counted: a real zero
    with pytest.raises(KeyError, match=r"no metric 'order_created_total'.*'orders_created_total'"):
        view.sample("order_created_total", provider="stripe")
    # Not a counter's `_created` sample, which no test asserts grew (a trial was offered one).
    with pytest.raises(KeyError) as info:
        view.sample("orders_create_total")
    assert "orders_created_created" not in str(info.value)


def test_a_registry_without_request_metrics_says_how_to_read_it(
    registry: CollectorRegistry,
) -> None:
    Counter("jobs", "", ["queue"], registry=registry).labels(queue="mail").inc()
    view = PrometheusView(registry).start()
    with pytest.raises(LookupError, match=r"apm.sample\(name"):
        view.endpoint("GET /")
    for read in (lambda: view.external("shop"), lambda: view.db(), lambda: view.alerts):
        with pytest.raises(TypeError, match="no standard name"):
            read()
    with pytest.raises(TypeError, match="not a prometheus_client registry"):
        PrometheusView(object())


# -- the default registry, scoped to an app's life ------------------------------------------
class _App:
    """Stands for an app object (any object the harness built)."""


def test_a_later_app_takes_its_names_back_from_an_earlier_one_only() -> None:
    created: list[Counter] = []

    def build(app: object, name: str) -> None:
        scope = RegistryScope().start()
        try:
            scope.own(app)
            created.append(Counter(name, "registered while the app runs"))
        finally:
            scope.stop()

    outside = Counter("scope_test_outside", "registered at import, outside any harness")
    try:
        first, second = _App(), _App()
        build(first, "scope_test_built")
        build(second, "scope_test_built")  # the next build: replaces the first app's
        assert created[0] not in _registered()
        assert created[1] in _registered()
        with pytest.raises(ValueError, match="Duplicated"):
            build(second, "scope_test_built")  # the same app twice: a real clash
        with pytest.raises(ValueError, match="Duplicated"):
            build(_App(), "scope_test_outside")  # not an earlier build's
        assert "register" not in vars(REGISTRY)  # the registry's own method again
    finally:
        REGISTRY.unregister(outside)
        REGISTRY.unregister(created[-1])


def _registered() -> list[object]:
    return list(REGISTRY._collector_to_names)  # type: ignore[attr-defined]


def test_an_app_that_makes_its_metrics_in_the_factory_builds_once_per_harness() -> None:
    made_by_builds: list[Counter] = []

    def create_app() -> Any:
        made = Counter("factory_made", "made by the factory, on the default registry")
        made_by_builds.append(made)

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                return  # no lifespan
            made.inc()
            await send({"type": "http.response.start", "status": 204})
            await send({"type": "http.response.body", "body": b""})

        return app

    for _ in range(2):  # a second build in the process: no "Duplicated timeseries"
        with Harness() as harness:
            harness.build(create_app, {})
            apm = harness.watch_apm(REGISTRY)
            assert isinstance(apm, PrometheusView)
            assert harness.client().get("/").status_code == 204
            assert apm.sample("factory_made_total") == 1
    REGISTRY.unregister(made_by_builds[-1])


def test_the_process_own_metrics_are_not_the_apps() -> None:
    # prometheus_client's default collectors (CPU seconds, GC counts ...) move in every test:
    # "none of the app's metrics moved" must be assertable on the default registry.
    import gc

    view = PrometheusView(REGISTRY).start()
    sum(i * i for i in range(300_000))  # CPU time passes
    gc.collect()
    assert not [name for name, _ in view.changes() if name.startswith(("process_", "python_"))]
