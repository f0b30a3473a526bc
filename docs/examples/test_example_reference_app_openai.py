"""The reference app writes its call scripts with the official OpenAI SDK (docs/ai-sdks.md):
a broken stream and a failing API both end in the template script, and the breaker counts one
failure per script, however many requests the SDK's retries made."""

from __future__ import annotations

from typing import Any

from pytest_hardening import BreakerInspector, Clock, FaultInjector

CALL = {"order_id": "5521", "shop": "acme.myshopify.com", "phone": "+919876543210"}
TEMPLATE = "Hello Asha! We are calling to confirm your order #5521"


def test_a_cut_stream_falls_back_to_the_template_script(
    hardened_client: Any, faults: FaultInjector
) -> None:
    faults.stream_cut("openai", after=3)  # the role chunk and two pieces of text, then a hang-up
    created = hardened_client.post("/api/calls", json=CALL)
    assert created.status_code == 201
    assert created.json()["script"].startswith(TEMPLATE)  # never half a generated script
    [call] = faults.calls("openai")  # an answer that has started is not retried
    assert call.outcome.startswith("stream_cut 200 (3/")


def test_one_breaker_failure_per_script_whatever_the_sdk_retries(
    hardened_client: Any, faults: FaultInjector, breakers: BreakerInspector, clock: Clock
) -> None:
    faults.fail("openai", 503)
    for _ in range(5):
        assert hardened_client.post("/api/calls", json=CALL).status_code == 201
    assert breakers.state("openai") == "OPEN"  # 5 failed scripts...
    assert len(faults.calls("openai")) == 10  # ...of 2 requests each (OPENAI_MAX_RETRIES=1)
    assert len(faults.retry_sleeps) == 5  # the SDK's back-off, in virtual time
