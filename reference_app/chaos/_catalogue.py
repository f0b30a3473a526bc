"""The reference app's chaos catalogue, in the order the command runs it, and its scenarios of
a dependency going down: outages, database loss, two providers down, recovery under traffic,
queued calls re-dialled. Providers that stay up but answer badly (flapping, slowness, rate
limits, garbage) are in ``_misbehaving``; what every scenario shares, in ``_scenario_parts``.

Thresholds come from the app's own breaker table (``reference_app.config.SERVICE_BREAKERS``),
so the numbers are stated once: 5 failures / 2 probes / 60 s (Wasabi 90 s), and 10 / 3 / 60 s
for the database.
"""

from __future__ import annotations

from collections.abc import Sequence

from pytest_hardening.chaos import (
    Advance,
    ExpectBreaker,
    ExpectFastFail,
    ExpectNoSentryErrors,
    ExpectNoServerErrors,
    ExpectSentryEvent,
    ExpectTransitions,
    Heal,
    Inject,
    Scenario,
)
from reference_app.config import SERVICE_BREAKERS

from ._misbehaving import (
    flapping,
    garbage,
    intermittent,
    openai_stream_cut,
    rate_limited,
    slow_openai,
)
from ._redial_steps import RedialQueued, queued_calls_dialled_once
from ._scenario_parts import CYCLE, ROLLBACK, STEADY, openai_reached
from ._steps import (
    DatabaseOutage,
    DatabaseRestored,
    RetryPendingUploads,
    calls_kept,
    calls_kept_nothing_half_written,
    calls_persisted,
    health_is,
    place_calls,
    recordings_kept,
    retry_after_on_503,
    status_callbacks,
)

# What the client gets while the provider is down: Exotel → the call is queued (202);
# OpenAI → template script, Shopify → generic script, both still placed (201).
DEGRADED_STATUS = {"exotel": 202, "openai": 201, "shopify": 201}
FAULT = {
    "exotel": Inject("exotel", "refuse"),
    "openai": Inject("openai", "fail", (500,)),
    "shopify": Inject("shopify", "fail", (503,)),
}


def _outage(provider: str) -> Scenario:
    cfg = SERVICE_BREAKERS[provider]
    during = DEGRADED_STATUS[provider]
    return Scenario(
        name=f"{provider}-outage",
        description=(
            f"{provider} hard down: {cfg.failure_threshold} failures open its breaker, calls "
            f"fail fast (still answered {during}), {cfg.open_timeout:g}s later probes close it"
        ),
        steady_state=STEADY,
        method=(
            FAULT[provider],
            place_calls(cfg.failure_threshold, expect=during),
            ExpectBreaker(provider, "OPEN"),
            *(openai_reached(cfg.failure_threshold) if provider == "openai" else ()),
            ExpectSentryEvent(f"circuit breaker {provider} opened"),  # an incident, reported
            health_is("degraded"),
            ExpectFastFail(provider, place_calls(3, expect=during)),
            calls_persisted(),
            Heal(provider),
            Advance(cfg.open_timeout - 1),
            ExpectBreaker(provider, "OPEN"),
            Advance(1),
            ExpectBreaker(provider, "HALF_OPEN"),
            place_calls(cfg.success_threshold, expect=201),
            ExpectTransitions(provider, CYCLE),
            ExpectNoServerErrors(),
            ExpectNoSentryErrors(),
        ),
        rollback=ROLLBACK,
        data_check=calls_kept,
    )


def _wasabi_outage() -> Scenario:
    cfg = SERVICE_BREAKERS["wasabi"]
    calls = cfg.failure_threshold + 2
    return Scenario(
        name="wasabi-outage",
        description=(
            "Wasabi hard down while Exotel reports recordings: metadata kept, uploads pending; "
            f"breaker opens, {cfg.open_timeout:g}s later the retry worker stores them all"
        ),
        steady_state=STEADY,
        method=(
            place_calls(calls, expect=201),
            Inject("wasabi", "fail", (503,)),
            status_callbacks(cfg.failure_threshold),
            ExpectBreaker("wasabi", "OPEN"),
            ExpectSentryEvent("circuit breaker wasabi opened"),
            ExpectFastFail("wasabi", status_callbacks(2)),
            Heal("wasabi"),
            Advance(cfg.open_timeout),
            RetryPendingUploads(),
            ExpectTransitions("wasabi", CYCLE),
            ExpectNoServerErrors(),
            ExpectNoSentryErrors(),
        ),
        rollback=ROLLBACK,
        data_check=recordings_kept,
    )


def _database_loss() -> Scenario:
    cfg = SERVICE_BREAKERS["database"]
    return Scenario(
        name="database-loss",
        description=(
            f"the database goes away: 503 + Retry-After, {cfg.failure_threshold} failures open "
            "its breaker, nothing half-written; it comes back and probes close the breaker"
        ),
        steady_state=STEADY,
        method=(
            place_calls(2, expect=201),
            DatabaseOutage(),
            place_calls(cfg.failure_threshold, expect=503),
            ExpectBreaker("database", "OPEN"),
            ExpectSentryEvent("circuit breaker database opened"),
            place_calls(3, expect=503),  # fast: the breaker answers, not the dead database
            health_is("unhealthy"),
            retry_after_on_503(),
            DatabaseRestored(),
            Advance(cfg.open_timeout),
            ExpectBreaker("database", "HALF_OPEN"),
            place_calls(2, expect=201),
            ExpectTransitions("database", CYCLE),
            ExpectNoServerErrors(allowed=frozenset({503})),
            ExpectNoSentryErrors(),
        ),
        rollback=ROLLBACK,
        data_check=calls_kept_nothing_half_written,
    )


def _two_down() -> Scenario:
    exotel, openai = SERVICE_BREAKERS["exotel"], SERVICE_BREAKERS["openai"]
    return Scenario(
        name="exotel-and-openai-down",
        description=(
            "Exotel and OpenAI down at once: both breakers open, calls are queued with the "
            "template script; both recover independently"
        ),
        steady_state=STEADY,
        method=(
            Inject("exotel", "fail", (502,)),
            Inject("openai", "timeout"),
            place_calls(max(exotel.failure_threshold, openai.failure_threshold), expect=202),
            ExpectBreaker("exotel", "OPEN"),
            ExpectBreaker("openai", "OPEN"),
            health_is("degraded"),
            calls_persisted(),
            Heal(),
            Advance(max(exotel.open_timeout, openai.open_timeout)),
            place_calls(max(exotel.success_threshold, openai.success_threshold), expect=201),
            ExpectTransitions("exotel", CYCLE),
            ExpectTransitions("openai", CYCLE),
            ExpectNoServerErrors(),
            ExpectNoSentryErrors(),
        ),
        rollback=ROLLBACK,
        data_check=calls_kept,
    )


def _recovery_under_traffic() -> Scenario:
    return Scenario(
        name="exotel-recovery-under-traffic",
        description=(
            "a call every 5 virtual seconds for 95s while Exotel fails, then heals at 35s: the "
            "breaker opens, probes as traffic continues and closes; no request is lost or 5xx"
        ),
        steady_state=STEADY,
        method=(
            Inject("exotel", "fail", (503,)),
            place_calls(8, expect=(201, 202), every=5.0),
            ExpectBreaker("exotel", "OPEN"),
            Heal("exotel"),
            Advance(5.0),
            place_calls(12, expect=(201, 202), every=5.0),
            ExpectBreaker("exotel", "CLOSED"),
            ExpectTransitions("exotel", CYCLE),
            ExpectNoServerErrors(),
            ExpectNoSentryErrors(),
        ),
        rollback=ROLLBACK,
        data_check=calls_kept,
    )


def _outage_redial() -> Scenario:
    cfg = SERVICE_BREAKERS["exotel"]
    # A queued call is first re-dialled two open timeouts after its failed dial (docs/redial.md).
    first_redial = 2 * cfg.open_timeout
    return Scenario(
        name="exotel-outage-redial",
        description=(
            f"Exotel down: {cfg.failure_threshold} refused dials open its breaker and 3 more calls "
            f"are queued without a dial; it recovers, and {first_redial:g}s later the re-dial "
            "worker dials every queued call exactly once (none lost, none twice)"
        ),
        steady_state=STEADY,
        method=(
            Inject("exotel", "refuse"),
            place_calls(cfg.failure_threshold, expect=202),
            ExpectBreaker("exotel", "OPEN"),
            ExpectSentryEvent("circuit breaker exotel opened"),
            ExpectFastFail("exotel", place_calls(3, expect=202)),
            calls_persisted(),
            Heal("exotel"),
            Advance(first_redial),
            RedialQueued(),
            RedialQueued(),  # a second round finds nothing left to dial
            ExpectBreaker("exotel", "CLOSED"),
            ExpectTransitions("exotel", CYCLE),
            ExpectNoServerErrors(),
            ExpectNoSentryErrors(),
        ),
        rollback=ROLLBACK,
        data_check=queued_calls_dialled_once,
    )


def catalogue() -> Sequence[Scenario]:
    """Every scenario, in the order the command runs them."""
    return (
        *(_outage(p) for p in ("exotel", "openai", "shopify")),
        _wasabi_outage(),
        _database_loss(),
        flapping(),
        slow_openai(),
        rate_limited(),
        garbage(),
        openai_stream_cut(),
        intermittent(),
        _two_down(),
        _recovery_under_traffic(),
        _outage_redial(),
    )
