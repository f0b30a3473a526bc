"""Scenarios of a provider that stays up but answers badly: flapping, slow, rate-limited,
garbage, a stream cut short, random failures. Whatever it answers, no call is lost and the
client never sees a 5xx.

Thresholds come from the app's own breaker table (``reference_app.config.SERVICE_BREAKERS``).
"""

from __future__ import annotations

from pytest_hardening.chaos import (
    Advance,
    ExpectAlert,
    ExpectBreaker,
    ExpectFastFail,
    ExpectNoSentryErrors,
    ExpectNoServerErrors,
    ExpectProviderCalls,
    ExpectTransitions,
    Heal,
    Inject,
    Scenario,
)
from reference_app.config import SERVICE_BREAKERS

from ._scenario_parts import CYCLE, OPENAI_ATTEMPTS, ROLLBACK, STEADY, openai_reached
from ._steps import calls_kept, place_calls

__all__ = [
    "flapping",
    "garbage",
    "intermittent",
    "openai_stream_cut",
    "rate_limited",
    "slow_openai",
]


def flapping() -> Scenario:
    cfg = SERVICE_BREAKERS["exotel"]
    alternating = [503, "ok"] * cfg.failure_threshold
    return Scenario(
        name="exotel-flapping",
        description=(
            "Exotel alternates failure and success: never 5 in a row, so the breaker stays "
            "closed; once open, one good probe followed by a bad one must reopen, not close"
        ),
        steady_state=STEADY,
        method=(
            Inject("exotel", "sequence", (alternating,)),
            place_calls(len(alternating), expect=(201, 202)),
            ExpectBreaker("exotel", "CLOSED"),
            Inject("exotel", "fail", (503,)),
            place_calls(cfg.failure_threshold, expect=202),
            ExpectBreaker("exotel", "OPEN"),
            Advance(cfg.open_timeout),
            Inject("exotel", "sequence", (["ok", 503],)),
            place_calls(1, expect=201),
            ExpectBreaker("exotel", "HALF_OPEN"),  # one success of two: not closed yet
            place_calls(1, expect=202),
            ExpectBreaker("exotel", "OPEN"),
            Heal("exotel"),
            Advance(cfg.open_timeout),
            place_calls(cfg.success_threshold, expect=201),
            ExpectTransitions("exotel", (*CYCLE[:3], "OPEN", "HALF_OPEN", "CLOSED")),
            ExpectNoServerErrors(),
            ExpectNoSentryErrors(),
        ),
        rollback=ROLLBACK,
        data_check=calls_kept,
    )


def slow_openai() -> Scenario:
    cfg = SERVICE_BREAKERS["openai"]
    return Scenario(
        name="openai-slow",
        description=(
            "OpenAI answers after 30s, past the client's 3s read timeout: each attempt times "
            f"out and the SDK retries ({OPENAI_ATTEMPTS} requests per script, virtual time), a "
            "slow-endpoint alert, the template script inside the script's 8s cap; the breaker "
            "counts one failure per script, opens, and later calls do not wait at all"
        ),
        steady_state=STEADY,
        method=(
            Inject("openai", "latency", (30.0,)),
            place_calls(cfg.failure_threshold, expect=201),
            ExpectBreaker("openai", "OPEN"),
            *openai_reached(cfg.failure_threshold),
            ExpectAlert("slow_endpoint", "POST /api/calls"),
            ExpectFastFail("openai", place_calls(3, expect=201)),
            Heal("openai"),
            Advance(cfg.open_timeout),
            place_calls(cfg.success_threshold, expect=201),
            ExpectTransitions("openai", CYCLE),
            ExpectNoServerErrors(),
            ExpectNoSentryErrors(),
        ),
        rollback=ROLLBACK,
        data_check=calls_kept,
    )


def rate_limited() -> Scenario:
    cfg = SERVICE_BREAKERS["exotel"]
    return Scenario(
        name="exotel-rate-limited",
        description=(
            "Exotel answers 429 + Retry-After: 30; 429 counts against the breaker (back off), "
            "calls are queued (202), the provider is left alone until the breaker probes"
        ),
        steady_state=STEADY,
        method=(
            Inject("exotel", "rate_limit", kwargs={"retry_after": 30}),
            place_calls(cfg.failure_threshold, expect=202),
            ExpectBreaker("exotel", "OPEN"),
            ExpectFastFail("exotel", place_calls(5, expect=202, every=10.0)),
            Heal("exotel"),
            Advance(cfg.open_timeout),
            place_calls(cfg.success_threshold, expect=201),
            ExpectTransitions("exotel", CYCLE),
            ExpectProviderCalls("exotel", at_most=1 + cfg.failure_threshold + 2 * 2),
            ExpectNoServerErrors(),
            ExpectNoSentryErrors(),
        ),
        rollback=ROLLBACK,
        data_check=calls_kept,
    )


def garbage() -> Scenario:
    cfg = SERVICE_BREAKERS["openai"]
    return Scenario(
        name="openai-garbage",
        description=(
            "OpenAI answers 200 with an unparseable body: the SDK does not retry a 200, the app "
            "counts it as a failure (a provider that talks garbage is not healthy), template "
            "script used, never a 5xx to the client"
        ),
        steady_state=STEADY,
        method=(
            Inject("openai", "garbage"),
            place_calls(cfg.failure_threshold, expect=201),
            ExpectBreaker("openai", "OPEN"),
            *openai_reached(cfg.failure_threshold, per_script=1),
            Heal("openai"),
            Advance(cfg.open_timeout),
            place_calls(cfg.success_threshold, expect=201),
            ExpectTransitions("openai", CYCLE),
            ExpectNoServerErrors(),
            ExpectNoSentryErrors(),
        ),
        rollback=ROLLBACK,
        data_check=calls_kept,
    )


def openai_stream_cut() -> Scenario:
    cfg = SERVICE_BREAKERS["openai"]
    return Scenario(
        name="openai-stream-cut",
        description=(
            "OpenAI's streamed answers are cut after 3 events: the half-written script is "
            "dropped for the template (201), an answer that has started is not retried, each "
            "cut counts as a failure and the breaker opens"
        ),
        steady_state=STEADY,
        method=(
            Inject("openai", "stream_cut", kwargs={"after": 3}),
            place_calls(cfg.failure_threshold, expect=201),
            ExpectBreaker("openai", "OPEN"),
            *openai_reached(cfg.failure_threshold, per_script=1),
            Heal("openai"),
            Advance(cfg.open_timeout),
            place_calls(cfg.success_threshold, expect=201),
            ExpectTransitions("openai", CYCLE),
            ExpectNoServerErrors(),
            ExpectNoSentryErrors(),
        ),
        rollback=ROLLBACK,
        data_check=calls_kept,
    )


def intermittent() -> Scenario:
    cfg = SERVICE_BREAKERS["openai"]
    return Scenario(
        name="openai-intermittent",
        description=(
            "OpenAI fails 40% of calls at random (seeded: --seed picks which): whatever the "
            "breaker does, every call is placed (201) and it ends closed once OpenAI is healthy"
        ),
        steady_state=STEADY,
        method=(
            Inject("openai", "random", (0.4,)),
            place_calls(20, expect=201, every=3.0),
            Heal("openai"),
            Advance(cfg.open_timeout),
            place_calls(cfg.success_threshold, expect=201),
            ExpectBreaker("openai", "CLOSED"),
            ExpectNoServerErrors(),
            ExpectNoSentryErrors(),
        ),
        rollback=ROLLBACK,
        data_check=calls_kept,
    )
