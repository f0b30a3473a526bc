"""Provider clients directly: timeouts, garbage and throttling count against the breaker.

The clients get a plain ``httpx.AsyncClient`` (OpenAI's: an ``httpx2.AsyncClient``, the SDK's);
the ``faults`` fixture answers their requests with the fakes (``reference_app.fakes``) or the
fault a test injects. Tests that let the OpenAI SDK retry use ``clock`` (virtual back-off).
"""

from __future__ import annotations

import httpx
import httpx2
import pytest

from pytest_hardening import Clock, FaultInjector
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


def _openai(max_retries: int = 1) -> tuple[OpenAIClient, CircuitBreaker, ApmRegistry]:
    breaker = SERVICE_BREAKERS["openai"].build("openai")
    apm = ApmRegistry()
    http = httpx2.AsyncClient()  # httpx2: the OpenAI SDK's client, answered by `faults` too
    client = OpenAIClient(
        http,
        breaker,
        apm,
        base_url="https://api.openai.com/v1",
        api_key="k",
        max_retries=max_retries,
    )
    return client, breaker, apm


@pytest.mark.anyio
async def test_read_timeout_is_a_degraded_failure_recorded_by_apm(
    faults: FaultInjector, clock: Clock
) -> None:
    faults.timeout("openai")
    client, breaker, apm = _openai()

    with pytest.raises(OpenAIError, match="timed out") as error:
        await client.write_script(None)

    assert error.value.degraded
    assert len(faults.calls("openai")) == 2  # the SDK retried once (max_retries=1)...
    assert breaker.metrics().failures == 1  # ...and the breaker counted one failure
    assert (apm.external("openai").count, apm.external("openai").errors) == (1, 1)


@pytest.mark.anyio
async def test_garbage_success_bodies_count_as_failures(faults: FaultInjector) -> None:
    faults.garbage("openai")
    client, breaker, _ = _openai()

    for _ in range(5):
        with pytest.raises(OpenAIError, match="stream ended before the answer was complete"):
            await client.write_script(None)

    assert breaker.state.value == "OPEN"
    with pytest.raises(OpenAIError) as error:
        await client.write_script(None)
    assert error.value.circuit_open
    assert error.value.retry_after == pytest.approx(60.0, abs=1.0)
    assert len(faults.calls("openai")) == 5


@pytest.mark.anyio
async def test_rate_limits_carry_retry_after_once_the_sdk_gives_up(
    faults: FaultInjector, clock: Clock
) -> None:
    faults.rate_limit("openai", retry_after=7)
    client, breaker, _ = _openai(max_retries=2)

    with pytest.raises(OpenAIError) as error:
        await client.write_script(None)

    assert (error.value.status_code, error.value.retry_after) == (429, 7.0)
    assert faults.retry_sleeps == [7.0, 7.0]  # virtual: the clock moved, nothing slept
    assert breaker.metrics().failures == 1


@pytest.mark.anyio
async def test_a_malformed_event_mid_stream_is_a_malformed_response(
    faults: FaultInjector,
) -> None:
    faults.stream_malformed("openai", after=2)
    client, breaker, _ = _openai()

    with pytest.raises(OpenAIError, match="malformed"):
        await client.write_script(None)
    assert breaker.metrics().failures == 1


@pytest.mark.anyio
async def test_request_carries_an_explicit_timeout(faults: FaultInjector) -> None:
    client, _, _ = _openai()
    assert (await client.write_script(None)).startswith("Namaste!")  # the fake's completion
    (call,) = faults.assert_called("openai", times=1)
    timeout = call.request.extensions["timeout"]
    assert timeout == {"connect": 2.0, "read": 3.0, "write": 3.0, "pool": 3.0}


@pytest.mark.anyio
async def test_shopify_graphql_throttling_trips_and_unknown_shops_are_refused(
    faults: FaultInjector,
) -> None:
    body = {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}
    faults.sequence("shopify", [httpx.Response(200, json=body)])  # GraphQL throttles with a 200

    breaker = SERVICE_BREAKERS["shopify"].build("shopify")
    http = httpx.AsyncClient()
    client = ShopifyClient(http, breaker, ApmRegistry(), access_token="t", cache=OrderCache())

    with pytest.raises(ShopifyError) as error:
        await client.get_order("acme.myshopify.com", "1")
    assert error.value.status_code == 429
    assert breaker.metrics().failures == 1
    with pytest.raises(ShopifyError, match=r"myshopify\.com"):
        await client.fetch_order("attacker.example.com", "1")
    faults.assert_called("shopify", times=1)


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


@pytest.mark.anyio
@pytest.mark.parametrize("retry_after", [b"\xb9", b"\xb2\xb3", b"Wed, 21 Oct 2026 07:28:00 GMT"])
async def test_a_retry_after_that_is_not_ascii_seconds_is_ignored(retry_after: bytes) -> None:
    # Header bytes read as Latin-1: b"\xb9" is "¹", which str.isdigit() accepts and float()
    # refuses (that crashed the error path).
    answer = httpx.Response(429, headers=[(b"Retry-After", retry_after)])
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: answer))
    breaker = SERVICE_BREAKERS["shopify"].build("shopify")
    client = ShopifyClient(http, breaker, ApmRegistry(), access_token="t", cache=OrderCache())

    with pytest.raises(ShopifyError) as error:
        await client.get_order("acme.myshopify.com", "1")
    assert (error.value.status_code, error.value.retry_after) == (429, None)
