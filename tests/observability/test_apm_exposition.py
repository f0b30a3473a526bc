"""The APM registry's Prometheus exposition and its queued hot path.

ApmRegistry builds its histograms at scrape time from its own records (a custom collector) instead
of calling prometheus_client's Histogram.observe per request; these tests hold it to exactly what a
plain Histogram would have exposed for the same observations.
"""

from __future__ import annotations

import random
import threading

import prometheus_client.metrics
import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from reference_app.observability import ApmRegistry

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def without_created(text: bytes) -> list[str]:
    return [line for line in text.decode().splitlines() if "_created" not in line]


def family(text: bytes, name: str) -> list[str]:
    return [line for line in without_created(text) if line.split("{")[0].startswith(name)]


def test_request_histogram_text_equals_a_plain_histogram_for_the_same_observations() -> None:
    rng = random.Random(3)
    apm = ApmRegistry()
    plain_registry = CollectorRegistry()
    plain = Histogram(
        "http_request_duration_seconds",
        "HTTP request duration by method, route template and status class (its _count is the"
        " request count).",
        ("method", "route", "status_class"),
        buckets=BUCKETS,
        registry=plain_registry,
    )
    # Durations on and around every bucket bound (le is inclusive), plus 0 and beyond +30 s.
    edges = [b * f for b in BUCKETS for f in (0.999, 1.0, 1.001)] + [0.0, 31.0, 120.0]
    for _ in range(3000):
        method, route = rng.choice([("GET", "/a/{id}"), ("POST", "/b"), ("GET", "unmatched")])
        status = rng.choice([200, 201, 302, 404, 499, 500, 503])
        duration = rng.choice(edges) if rng.random() < 0.5 else rng.expovariate(5.0)
        apm.record_request(method, route, status, duration)
        plain.labels(method, route, f"{status // 100}xx").observe(duration)

    ours = apm.prometheus_text()
    expected = generate_latest(plain_registry)

    name = "http_request_duration_seconds"
    assert family(ours, name) == family(expected, name)
    created = [line for line in ours.decode().splitlines() if line.startswith(f"{name}_created")]
    assert len(created) == len(
        [line for line in expected.decode().splitlines() if line.startswith(f"{name}_created")]
    )


def test_db_and_external_histograms_equal_plain_histograms() -> None:
    apm = ApmRegistry()
    plain_registry = CollectorRegistry()
    db = Histogram(
        "db_operation_duration_seconds",
        "Database operation duration by operation and outcome.",
        ("operation", "outcome"),
        buckets=BUCKETS,
        registry=plain_registry,
    )
    external = Histogram(
        "external_call_duration_seconds",
        "Outbound provider call duration by provider, operation and outcome.",
        ("provider", "operation", "outcome"),
        buckets=BUCKETS,
        registry=plain_registry,
    )
    for i in range(200):
        duration = (i % 17) * 0.013
        apm.record_db("insert_call", duration, error=i % 5 == 0)
        db.labels("insert_call", "error" if i % 5 == 0 else "ok").observe(duration)
        apm.record_external("exotel", "connect_call", duration * 3, ok=i % 7 != 0)
        external.labels("exotel", "connect_call", "ok" if i % 7 else "error").observe(duration * 3)

    ours, expected = apm.prometheus_text(), generate_latest(plain_registry)
    for name in ("db_operation_duration_seconds", "external_call_duration_seconds"):
        assert family(ours, name) == family(expected, name)
        assert len(family(ours, name)) == 2 * (13 + 2)  # both outcomes: 13 buckets, count, sum


def test_created_series_follow_prometheus_client_switch() -> None:
    apm = ApmRegistry()
    apm.record_request("GET", "/x", 200, 0.01)
    assert b"http_request_duration_seconds_created{" in apm.prometheus_text()
    prometheus_client.disable_created_metrics()
    try:
        assert b"http_request_duration_seconds_created" not in apm.prometheus_text()
    finally:
        prometheus_client.metrics.enable_created_metrics()


def test_registering_a_clashing_metric_name_is_rejected() -> None:
    apm = ApmRegistry()
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Histogram("http_request_duration_seconds", "clash", registry=apm.prometheus)


@pytest.mark.parametrize("requests", [1, 255, 256, 257, 1000])
def test_every_queued_request_is_visible_to_every_view(requests: int) -> None:
    apm = ApmRegistry()
    for i in range(requests):
        apm.record_request("GET", "/x", 500 if i % 10 == 0 else 200, i / 1000)

    stats = apm.endpoint("GET /x")
    assert stats.count == requests
    assert stats.errors == len(range(0, requests, 10))
    assert stats.max == pytest.approx((requests - 1) / 1000)
    assert apm.endpoints()["GET /x"] == stats
    assert apm.summary()["requests"]["count"] == requests
    text = apm.prometheus_text().decode()
    count = sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("http_request_duration_seconds_count{")
    )
    assert count == requests


def test_reset_drops_queued_requests_too() -> None:
    apm = ApmRegistry()
    for _ in range(10):  # fewer than a fold: still queued
        apm.record_request("GET", "/x", 200, 0.01)
    apm.reset()
    assert apm.endpoint("GET /x").count == 0
    assert b'route="/x"' not in apm.prometheus_text()
    apm.record_request("GET", "/x", 200, 0.01)
    assert apm.endpoint("GET /x").count == 1


def test_slow_endpoint_alert_is_raised_when_recorded_not_when_folded() -> None:
    now = [100.0]
    apm = ApmRegistry(wall_clock=lambda: now[0])
    apm.record_request("GET", "/slow", 200, 5.5)
    now[0] = 200.0
    assert [(a.kind, a.at) for a in apm.alerts] == [("slow_endpoint", 100.0)]


def test_reservoir_is_the_most_recent_durations_across_status_classes() -> None:
    apm = ApmRegistry(reservoir_size=4)
    for duration in (9.0, 9.0, 9.0, 9.0):
        apm.record_request("GET", "/x", 200, duration)
    for duration, status in ((0.1, 500), (0.2, 200), (0.3, 404), (0.4, 503)):
        apm.record_request("GET", "/x", status, duration)

    stats = apm.endpoint("GET /x")
    assert (stats.count, stats.errors, stats.max) == (8, 2, 9.0)
    assert stats.p99 == pytest.approx(0.397)  # 9.0 s fell out of the 4-slot window


def test_concurrent_recording_scraping_and_reading_loses_nothing() -> None:
    apm = ApmRegistry()
    threads_n, per_thread = 8, 2000
    start = threading.Barrier(threads_n + 1)

    def hammer(worker: int) -> None:
        start.wait()
        for i in range(per_thread):
            apm.record_request("GET", "/x", 503 if i % 4 == 0 else 200, 0.001 * worker)

    workers = [threading.Thread(target=hammer, args=(w,)) for w in range(threads_n)]
    for t in workers:
        t.start()
    start.wait()
    seen = []
    while any(t.is_alive() for t in workers):  # read and scrape while others record
        seen.append(apm.endpoint("GET /x").count)
        apm.prometheus_text()
    for t in workers:
        t.join()

    assert seen == sorted(seen)  # counts never go backwards
    stats = apm.endpoint("GET /x")
    assert stats.count == threads_n * per_thread
    assert stats.errors == threads_n * per_thread // 4
    text = apm.prometheus_text().decode()
    assert (
        f'http_request_duration_seconds_count{{method="GET",route="/x",status_class="5xx"}} '
        f"{threads_n * per_thread // 4}.0" in text
    )
    assert (
        f'http_request_duration_seconds_count{{method="GET",route="/x",status_class="2xx"}} '
        f"{threads_n * per_thread * 3 // 4}.0" in text
    )
