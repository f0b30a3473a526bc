"""An app built at import (``main.app``): ``app_from_import`` hands over that one object to the
development tests, and builds it afresh for the production checks. Each test still gets its
own faults and clock, and the app's breakers are closed after every test
(docs/getting-started.md)."""

from __future__ import annotations

from typing import Any

from pytest_hardening import BreakerInspector, FaultInjector, ProdConfigChecker


def test_an_outage_opens_the_breaker(
    hardened_client: Any, faults: FaultInjector, breakers: BreakerInspector
) -> None:
    faults.fail("rates", 503)
    for _ in range(3):
        assert hardened_client.get("/convert", params={"amount": 10}).json()["degraded"]
    assert breakers.state("rates") == "OPEN"


def test_whatever_ran_before_the_breaker_starts_closed(
    hardened_client: Any, faults: FaultInjector
) -> None:
    answer = hardened_client.get("/convert", params={"amount": 10}).json()
    assert answer == {"amount": 20.0, "degraded": False}


def test_production_refuses_plain_http_and_the_tests_keep_their_app(
    prod_config: ProdConfigChecker, hardened_app: Any
) -> None:
    import main

    prod_config.assert_rejects(RATES_URL="http://rates.example.com")
    assert prod_config.build().openapi_url is None  # production serves no API document
    assert main.app is hardened_app  # the development app, after two production builds
    assert main.app.openapi_url == "/openapi.json"
