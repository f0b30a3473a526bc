from __future__ import annotations

import json
import threading

import pytest

from reference_app.observability import Alert, ApmRegistry, Stats


def test_endpoint_stats_after_known_traffic() -> None:
    apm = ApmRegistry()
    for ms in range(1, 101):  # 1 ms .. 100 ms
        apm.record_request("GET", "/api/calls/{id}", 200, ms / 1000)
    apm.record_request("GET", "/api/calls/{id}", 503, 0.2)
    apm.record_request("GET", "/api/calls/{id}", 404, 0.0005)

    stats = apm.endpoint("GET /api/calls/{id}")

    assert stats.count == 102
    assert stats.errors == 1  # only >= 500 is an error; 404 is the client's
    assert stats.successes == 101
    assert stats.error_rate == pytest.approx(1 / 102)
    assert stats.min == pytest.approx(0.0005)
    assert stats.max == pytest.approx(0.2)
    assert stats.avg == pytest.approx((sum(range(1, 101)) / 1000 + 0.2 + 0.0005) / 102)
    # Linear interpolation over the 102 sorted durations [0.0005, 0.001, ..., 0.1, 0.2].
    assert stats.p50 == pytest.approx(0.0505)
    assert stats.p95 == pytest.approx(0.09595)
    assert stats.p99 == pytest.approx(0.09999)


def test_unknown_keys_give_empty_stats() -> None:
    apm = ApmRegistry()
    assert apm.endpoint("GET /nothing") == Stats()
    assert apm.external("exotel") == Stats()
    assert apm.db() == Stats()


def test_external_stats_aggregate_operations_and_filter_by_one() -> None:
    apm = ApmRegistry()
    apm.record_external("exotel", "connect_call", 0.1, ok=True)
    apm.record_external("exotel", "connect_call", 0.3, ok=False)
    apm.record_external("exotel", "get_call", 0.2, ok=True)
    apm.record_external("openai", "chat", 1.0, ok=True)

    exotel = apm.external("exotel")
    assert (exotel.count, exotel.errors, exotel.successes) == (3, 1, 2)
    assert exotel.avg == pytest.approx(0.2)
    assert apm.external("exotel", "connect_call").count == 2
    assert apm.external("exotel", "get_call").errors == 0
    assert set(apm.externals()) == {"exotel", "openai"}
    assert set(apm.external_operations()) == {
        "exotel.connect_call",
        "exotel.get_call",
        "openai.chat",
    }


def test_db_stats_overall_and_per_operation() -> None:
    apm = ApmRegistry()
    apm.record_db("insert_call", 0.01)
    apm.record_db("get_call", 0.02, error=True)
    apm.record_db("get_call", 0.04)

    assert apm.db().count == 3
    assert apm.db().errors == 1
    assert apm.db("get_call").avg == pytest.approx(0.03)
    assert set(apm.db_operations()) == {"insert_call", "get_call"}


@pytest.mark.parametrize(
    ("record", "kind", "subject", "threshold"),
    [
        (
            lambda a, d: a.record_request("POST", "/api/calls", 201, d),
            "slow_endpoint",
            "POST /api/calls",
            5.0,
        ),
        (lambda a, d: a.record_db("insert_call", d), "slow_query", "insert_call", 3.0),
        (
            lambda a, d: a.record_external("exotel", "connect_call", d, ok=True),
            "slow_external",
            "exotel.connect_call",
            10.0,
        ),
    ],
)
def test_slow_alerts_fire_strictly_above_threshold(record, kind, subject, threshold) -> None:  # type: ignore[no-untyped-def]
    apm = ApmRegistry(wall_clock=lambda: 1_700_000_000.0)
    record(apm, threshold)  # at the threshold: no alert
    assert apm.alerts == []
    record(apm, threshold + 0.5)
    assert apm.alerts == [Alert(kind, subject, threshold + 0.5, 1_700_000_000.0, threshold)]


def test_high_memory_alert_at_ninety_percent_once_per_episode() -> None:
    apm = ApmRegistry(wall_clock=lambda: 5.0)
    apm.record_memory(89.9)
    assert apm.alerts == []
    apm.record_memory(90.0)
    apm.record_memory(97.5)  # still the same episode: no flood
    apm.record_memory(60.0)  # re-arms
    apm.record_memory(95.0)
    assert [(a.kind, a.subject, a.duration) for a in apm.alerts] == [
        ("high_memory", "system", 90.0),
        ("high_memory", "system", 95.0),
    ]


def test_alert_list_is_bounded_and_keeps_the_newest() -> None:
    apm = ApmRegistry(max_alerts=3)
    for i in range(10):
        apm.record_db(f"op{i}", 4.0)
    assert [a.subject for a in apm.alerts] == ["op7", "op8", "op9"]


def test_percentile_reservoir_is_bounded_but_totals_stay_exact() -> None:
    apm = ApmRegistry(reservoir_size=10)
    for _ in range(100):
        apm.record_request("GET", "/x", 200, 9.0)  # old, slow
    for _ in range(10):
        apm.record_request("GET", "/x", 200, 0.001)  # recent, fast
    stats = apm.endpoint("GET /x")
    assert stats.count == 110
    assert stats.max == 9.0  # exact over everything
    assert stats.p99 == pytest.approx(0.001)  # percentiles: the recent window


def test_reset_forgets_everything() -> None:
    apm = ApmRegistry()
    apm.record_request("GET", "/x", 500, 6.0)
    apm.record_external("openai", "chat", 11.0, ok=False)
    apm.reset()
    assert apm.endpoints() == {}
    assert apm.externals() == {}
    assert apm.alerts == []
    assert b'route="/x"' not in apm.prometheus_text()


def test_summary_is_json_able_and_ranks_slowest_endpoints() -> None:
    apm = ApmRegistry()
    apm.record_request("GET", "/fast", 200, 0.01)
    apm.record_request("POST", "/slow", 500, 2.0)
    apm.record_db("get_call", 0.01)
    apm.record_external("shopify", "order", 0.5, ok=True)

    summary = json.loads(json.dumps(apm.summary()))

    assert summary["requests"] == {"count": 2, "errors": 1, "error_rate": 0.5}
    assert [e["endpoint"] for e in summary["slowest_endpoints"]] == ["POST /slow", "GET /fast"]
    assert summary["externals"]["shopify"]["operations"]["order"]["count"] == 1
    assert summary["database"]["operations"]["get_call"]["count"] == 1


def test_prometheus_text_has_metric_names_and_labels() -> None:
    apm = ApmRegistry()
    apm.record_request("POST", "/api/calls", 202, 0.05)
    apm.record_db("insert_call", 0.01)
    apm.record_external("exotel", "connect_call", 0.1, ok=False)

    text = apm.prometheus_text().decode()

    request = 'method="POST",route="/api/calls",status_class="2xx"'
    assert f"http_request_duration_seconds_count{{{request}}} 1.0" in text
    assert "http_request_duration_seconds_bucket" in text
    assert 'db_operation_duration_seconds_count{operation="insert_call",outcome="ok"} 1.0' in text
    external = 'operation="connect_call",outcome="error",provider="exotel"'
    assert f"external_call_duration_seconds_count{{{external}}} 1.0" in text


def test_registries_are_independent() -> None:
    first, second = (
        ApmRegistry(),
        ApmRegistry(),
    )  # would raise "Duplicated timeseries" on a shared one
    first.record_request("GET", "/x", 200, 0.1)
    assert second.endpoint("GET /x").count == 0
    assert b'route="/x"' not in second.prometheus_text()


def test_concurrent_recording_from_threads_loses_nothing() -> None:
    apm = ApmRegistry()

    def hammer() -> None:
        for _ in range(500):
            apm.record_request("GET", "/x", 200, 0.001)
            apm.record_external("exotel", "connect_call", 0.001, ok=True)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert apm.endpoint("GET /x").count == 4000
    assert apm.external("exotel").count == 4000
    assert (
        b'http_request_duration_seconds_count{method="GET",route="/x",status_class="2xx"} 4000.0'
        in apm.prometheus_text()
    )
