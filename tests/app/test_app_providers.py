"""Provider clients directly: timeouts, garbage and throttling count against the breaker."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from reference_app.config import SERVICE_BREAKERS
from reference_app.observability import ApmRegistry
from reference_app.providers import (
    OpenAIClient,
    OpenAIError,
    OrderCache,
    ShopifyClient,
    ShopifyError,
)
from reference_app.resilience import CircuitBreaker

Handler = Callable[[httpx.Request], httpx.Response]


def _openai(handler: Handler) -> tuple[OpenAIClient, CircuitBreaker, ApmRegistry]:
    breaker = SERVICE_BREAKERS["openai"].build("openai")
    apm = ApmRegistry()
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = OpenAIClient(http, breaker, apm, base_url="https://api.openai.com/v1", api_key="k")
    return client, breaker, apm


@pytest.mark.anyio
async def test_read_timeout_is_a_degraded_failure_recorded_by_apm() -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    client, breaker, apm = _openai(hang)

    with pytest.raises(OpenAIError, match="timed out") as error:
        await client.write_script(None)

    assert error.value.degraded
    assert breaker.metrics().failures == 1
    assert apm.external("openai").errors == 1


@pytest.mark.anyio
async def test_garbage_success_bodies_count_as_failures() -> None:
    client, breaker, _ = _openai(lambda request: httpx.Response(200, content=b"<html>oops"))

    for _ in range(5):
        with pytest.raises(OpenAIError, match="malformed"):
            await client.write_script(None)

    assert breaker.state.value == "OPEN"
    with pytest.raises(OpenAIError) as error:
        await client.write_script(None)
    assert error.value.circuit_open
    assert error.value.retry_after == pytest.approx(60.0, abs=1.0)


@pytest.mark.anyio
async def test_request_carries_an_explicit_timeout() -> None:
    seen: list[dict[str, float | None]] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json={"choices": [{"message": {"content": "hi"}}]})

    client, _, _ = _openai(record)
    assert await client.write_script(None) == "hi"
    assert seen == [{"connect": 5.0, "read": 20.0, "write": 20.0, "pool": 20.0}]


@pytest.mark.anyio
async def test_shopify_graphql_throttling_trips_and_unknown_shops_are_refused() -> None:
    body = {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}
    calls: list[httpx.Request] = []

    def throttled(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json=body)

    breaker = SERVICE_BREAKERS["shopify"].build("shopify")
    http = httpx.AsyncClient(transport=httpx.MockTransport(throttled))
    client = ShopifyClient(http, breaker, ApmRegistry(), access_token="t", cache=OrderCache())

    with pytest.raises(ShopifyError) as error:
        await client.get_order("acme.myshopify.com", "1")
    assert error.value.status_code == 429
    assert breaker.metrics().failures == 1
    with pytest.raises(ShopifyError, match=r"myshopify\.com"):
        await client.fetch_order("attacker.example.com", "1")
    assert len(calls) == 1


def test_order_cache_is_bounded_lru() -> None:
    from reference_app.providers import OrderInfo

    cache = OrderCache(max_entries=2)
    orders = [OrderInfo(str(n), f"#{n}", None, "1.00", "INR", ()) for n in range(3)]
    cache.put("s.myshopify.com", orders[0])
    cache.put("s.myshopify.com", orders[1])
    assert cache.get("s.myshopify.com", "0") is orders[0]  # now most recent
    cache.put("s.myshopify.com", orders[2])
    assert cache.get("s.myshopify.com", "1") is None
    assert len(cache) == 2
