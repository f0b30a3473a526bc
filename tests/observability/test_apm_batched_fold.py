"""Requests folded into the APM records in batches give exactly what folding them one at a time
gives: bucket counts, sum (same order of additions), min, max, and the recent-durations ring
that the percentiles come from (arrival order kept across status classes, overflow included)."""

from __future__ import annotations

import random

from reference_app.observability import ApmRegistry


def _requests(count: int, seed: int) -> list[tuple[str, str, int, float]]:
    rng = random.Random(seed)
    routes = ["/api/calls", "/api/calls/{call_id}", "/api/monitoring/health"]
    return [
        (
            rng.choice(["GET", "POST"]),
            rng.choice(routes),
            rng.choice([200, 201, 202, 404, 500, 503]),
            rng.choice([0.0001, 0.005, 0.01, 30.0, 31.0]) if i % 7 == 0 else rng.expovariate(20),
        )
        for i in range(count)
    ]


def _scrape(registry: ApmRegistry) -> str:
    lines = registry.prometheus_text().decode().splitlines()
    # Creation stamps differ between the two registries; everything else must not.
    return "\n".join(
        line.rsplit(" ", 1)[0] if "_created" in line and not line.startswith("#") else line
        for line in lines
    )


def test_a_batched_fold_equals_one_request_at_a_time() -> None:
    requests = _requests(3_000, seed=11)  # > the fold size and > the ring of 64 below
    one_by_one = ApmRegistry(reservoir_size=64, slow_endpoint=1e9)
    batched = ApmRegistry(reservoir_size=64, slow_endpoint=1e9)
    for method, route, status, seconds in requests:
        one_by_one.record_request(method, route, status, seconds)
        one_by_one.endpoints()  # reading folds the queue: one request per fold
        batched.record_request(method, route, status, seconds)
    assert batched.endpoints() == one_by_one.endpoints()  # counts, errors, percentiles, max ...
    assert _scrape(batched) == _scrape(one_by_one)
    assert "http_request_duration_seconds_bucket" in _scrape(batched)
