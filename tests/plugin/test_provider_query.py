"""A query in a provider's URL splits one endpoint between providers, as a path prefix splits a
host: an API told apart by a query parameter (Open-Meteo's current vs daily forecast) gets a
provider, and a fault, per call."""

from __future__ import annotations

import httpx
import pytest

from pytest_hardening import FaultInjector, Provider, UnregisteredHostError

FORECAST = "https://api.open-meteo.com/v1/forecast"


@pytest.fixture
def http() -> httpx.Client:
    with httpx.Client(timeout=2.0) as client:
        yield client


def test_a_query_matches_requests_holding_each_of_its_parameters() -> None:
    daily = Provider(FORECAST + "?daily=weather_code&timezone=auto")
    assert daily.matches(httpx.URL(FORECAST + "?timezone=auto&daily=weather_code&latitude=52"))
    assert daily.matches(httpx.URL(FORECAST + "?daily=rain&daily=weather_code&timezone=auto"))
    assert not daily.matches(httpx.URL(FORECAST + "?daily=weather_code"))  # timezone missing
    assert not daily.matches(httpx.URL(FORECAST + "?daily=rain&timezone=auto"))
    assert not daily.matches(httpx.URL("https://api.open-meteo.com/v1/other?daily=weather_code"))
    assert Provider("api.open-meteo.com?flag=").matches(httpx.URL(FORECAST + "?flag="))


def test_a_fault_on_one_query_reaches_that_call_alone(http: httpx.Client) -> None:
    providers = {
        "current": Provider(FORECAST + "?current=temperature_2m"),
        "daily": Provider(FORECAST + "?daily=weather_code"),
        "forecast": Provider(FORECAST, httpx.Response(204)),  # neither parameter: this one
    }
    with FaultInjector(providers) as faults:
        faults.fail("daily", 503)
        current = http.get(FORECAST, params={"current": "temperature_2m", "latitude": "52"})
        daily = http.get(FORECAST, params={"daily": "weather_code", "latitude": "52"})
        other = http.get(FORECAST, params={"hourly": "rain"})
        assert (current.status_code, daily.status_code, other.status_code) == (200, 503, 204)
        assert [c.outcome for c in faults.calls("current")] == ["ok 200"]
        assert [c.outcome for c in faults.calls("daily")] == ["fail 503"]
        assert [c.outcome for c in faults.calls("forecast")] == ["ok 204"]
        faults.heal()


def test_the_provider_naming_more_parameters_wins_and_a_longer_path_beats_a_query(
    http: httpx.Client,
) -> None:
    v1_daily = "https://api.open-meteo.com/v1?daily=weather_code&timezone=Europe%2FBerlin"
    providers = {
        "daily": Provider(FORECAST + "?daily=weather_code", httpx.Response(201)),
        "daily_icon": Provider(FORECAST + "?daily=weather_code&models=icon", httpx.Response(202)),
        "v1_daily": Provider(v1_daily, httpx.Response(203)),  # a longer URL, a shorter path
    }
    with FaultInjector(providers):
        assert http.get(FORECAST + "?daily=weather_code").status_code == 201
        assert http.get(FORECAST + "?models=icon&daily=weather_code").status_code == 202
        berlin = "?daily=weather_code&timezone=Europe/Berlin"
        assert http.get(FORECAST + berlin).status_code == 201  # the path is more specific
        assert http.get("https://api.open-meteo.com/v1/archive" + berlin).status_code == 203


def test_a_request_no_query_matches_is_unregistered_and_the_report_says_why(
    http: httpx.Client,
) -> None:
    with FaultInjector({"daily": Provider(FORECAST + "?daily=weather_code")}) as faults:
        with pytest.raises(UnregisteredHostError):
            http.get(FORECAST, params={"daily": "rain"})
        report = faults.unregistered_report()
    assert report is not None
    assert f"GET {FORECAST}?daily=rain (the host of 'daily', but not the path or query" in report
    assert f"daily: {FORECAST}?daily=weather_code" in report


@pytest.mark.parametrize(
    ("declared", "called", "said"),
    [
        (
            "http://localhost:8001",
            "http://localhost:8003/offer",
            "whose URL is on port 8001, not 8003",
        ),
        (
            "https://offers.example.com",
            "http://offers.example.com/assign",
            "is https://, not http://",
        ),
        ("http://localhost:8001", "http://localhost/offer", "on port 8001, not 80"),
    ],
)
def test_a_request_to_a_providers_host_on_another_port_or_scheme_is_said_so(
    http: httpx.Client, declared: str, called: str, said: str
) -> None:
    # One service per port on localhost, or plain http where the provider is https: the path
    # is not what differs.
    with FaultInjector({"svc": Provider(declared)}) as faults:
        with pytest.raises(UnregisteredHostError):
            http.get(called)
        report = faults.unregistered_report()
    assert report is not None
    assert f"GET {called} (the host of 'svc', whose URL " in report
    assert f"{said})" in report
    assert "or correct the URL the app calls" in report
