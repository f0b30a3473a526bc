"""The scenario engine against a small app that is not the reference app."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest

from pytest_hardening import Provider
from pytest_hardening.chaos import (
    Advance,
    ChaosContext,
    Check,
    DataLossCheck,
    ExpectBreaker,
    ExpectProviderCalls,
    ExpectTransitions,
    HarnessSession,
    Heal,
    Inject,
    Req,
    Scenario,
    Send,
    breaker_line,
    run_scenario,
    send,
)
from tests.chaos import mini_app


def order(ctx: ChaosContext, i: int) -> Req:
    return Req("POST", "/orders", {"item": f"sku-{ctx.rng.randint(1, 999)}"})


def charged(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"charged": True})


def session(**app_kwargs: Any) -> HarnessSession:
    return HarnessSession(
        app_factory=lambda: mini_app.create_app(**app_kwargs),
        env={},
        providers={"payments": mini_app.PAYMENTS_PROVIDER},
    )


def orders_kept(ctx: ChaosContext) -> DataLossCheck:
    accepted = [s for s in ctx.served if s.path == "/orders" and s.response.status_code < 300]
    lost = []
    for served in accepted:
        order_id = served.response.json()["id"]
        if ctx.client.request("GET", f"/orders/{order_id}").status_code != 200:
            lost.append(f"order {order_id} (answered {served.response.status_code})")
    return DataLossCheck("every order answered 201/202 is retrievable", len(accepted), tuple(lost))


def outage(*extra: Any, data_check: Callable[..., DataLossCheck] | None = orders_kept) -> Scenario:
    return Scenario(
        name="payments-outage",
        description="payments hard down, then back",
        steady_state=(Send(order, expect=201),),
        method=(
            Inject("payments", "fail", (503,)),
            Send(order, count=5, expect=202),
            ExpectBreaker("payments", "OPEN"),
            ExpectProviderCalls("payments", at_most=1 + 3),  # steady state + 3 to open
            Heal("payments"),
            Advance(30),
            ExpectBreaker("payments", "HALF_OPEN"),
            Send(order, expect=201),
            ExpectTransitions("payments", ("CLOSED", "OPEN", "HALF_OPEN", "CLOSED")),
            *extra,
        ),
        rollback=(Heal(),),
        data_check=data_check,
    )


def test_outage_scenario_passes_with_a_readable_timeline() -> None:
    started = time.perf_counter()
    result = run_scenario(outage(), session(), seed=3)
    assert result.passed, result.explain()
    # 30 virtual seconds, no real waiting: a real wait would take at least those 30 s (a bound
    # set by the scenario, not by the machine's speed).
    assert time.perf_counter() - started < 30
    assert breaker_line(result.timeline, "payments") == (
        "payments CLOSED ─3 fails→ OPEN ─30s→ HALF_OPEN ─1 ok→ CLOSED"
    )
    assert [(c.at, c.to_state) for c in result.timeline.transitions("payments")] == [
        (0, "OPEN"),
        (30, "HALF_OPEN"),
        (30, "CLOSED"),
    ]
    # steady state before + after, 5 during the outage, 1 probe
    assert result.timeline.requests_by_status() == {201: 3, 202: 5}
    assert result.data_loss is not None
    assert result.data_loss.passed
    assert result.data_loss.checked == 8
    assert [f.action for f in result.timeline.faults] == ["fail(503)", "heal", "heal"]


def test_broken_expectations_are_reported_and_the_run_goes_on() -> None:
    wrong = outage(ExpectBreaker("payments", "OPEN"), Send(order, count=2, expect=500))
    result = run_scenario(wrong, session(), seed=3)
    assert not result.passed
    assert len(result.failures) == 3
    assert "breaker 'payments': expected OPEN, is CLOSED" in result.failures[0]
    assert "expected status [500], got 201" in result.failures[1]
    assert "[method @30s]" in result.failures[1]
    # the steady state after the method still ran
    assert result.timeline.requests[-1].status == 201
    explained = result.explain()  # what pytest prints: when each change happened, the faults
    assert "payments CLOSED ─3 fails→ OPEN ─30s→ HALF_OPEN ─1 ok→ CLOSED   (at 0s, 30s, 30s)" in (
        explained
    )
    assert "faults: payments fail(503) at 0s; payments heal at 0s; * heal at 30s" in explained


def test_data_check_catches_an_app_that_drops_queued_orders() -> None:
    result = run_scenario(outage(), session(lose_queued=True), seed=3)
    assert not result.passed
    assert result.data_loss is not None
    assert len(result.data_loss.lost) == 5
    assert "answered 202" in result.data_loss.lost[0]
    assert "data lost" in result.explain()


def test_steady_state_must_hold_before_the_method() -> None:
    scenario = Scenario(
        name="never-healthy",
        description="",
        steady_state=(Send(order, expect=201),),
        method=(Check("not reached", lambda ctx: "the method ran"),),
        rollback=(Heal(),),
    )
    # the provider is down before the experiment starts
    broken = HarnessSession(
        app_factory=mini_app.create_app,
        env={},
        providers={"payments": mini_app.PAYMENTS_DOWN},
    )
    result = run_scenario(scenario, broken)
    assert not result.passed
    assert any("not attempted" in f for f in result.failures)
    assert not any("the method ran" in f for f in result.failures)


def test_a_steady_state_that_meets_a_fault_the_method_left_armed_says_so() -> None:
    scenario = Scenario(
        name="left-armed",
        description="the method injects and never heals: the rollback does, later",
        steady_state=(Send(order, expect=201),),
        method=(Inject("payments", "fail", (503,)), Send(order, expect=202)),
        rollback=(Heal(),),
    )
    result = run_scenario(scenario, session())
    assert not result.passed
    assert any(
        "before the rollback, and these faults were still armed then: payments: fail" in f
        for f in result.failures
    ), result.failures


def test_a_crashing_step_fails_the_scenario_and_rollback_still_runs() -> None:
    def boom(ctx: ChaosContext) -> str | None:
        raise RuntimeError("probe crashed")

    scenario = Scenario(
        name="crash",
        description="",
        method=(Inject("payments", "refuse"), Check("boom", boom)),
        rollback=(Heal(),),
    )
    result = run_scenario(scenario, session())
    assert result.failures == ["[method @0s] step raised RuntimeError: probe crashed"]
    assert [f.action for f in result.timeline.faults] == ["refuse()", "heal"]


def test_same_seed_same_run() -> None:
    def dump(seed: int) -> str:
        data = run_scenario(outage(), session(), seed=seed).to_dict()
        data.pop("wall_seconds")
        return json.dumps(data, sort_keys=True)

    assert dump(11) == dump(11)


def test_setup_failure_is_a_failed_result_not_a_crash() -> None:
    def factory() -> Any:
        raise RuntimeError("cannot build")

    result = run_scenario(outage(), HarnessSession(factory, {}, {}))
    assert not result.passed
    assert "could not set up the scenario: RuntimeError: cannot build" in result.failures[0]


def test_an_app_without_breakers_runs_scenarios_on_answers_and_data() -> None:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    def plain_app() -> Starlette:  # no app.state.breakers at all
        def price(request: Any) -> JSONResponse:
            try:
                reply = httpx.get(f"{mini_app.PAYMENTS}/price", timeout=3)
                reply.raise_for_status()
            except httpx.HTTPError:
                return JSONResponse({"price": None}, status_code=503)
            return JSONResponse(reply.json())

        return Starlette(routes=[Route("/price", price)])

    scenario = Scenario(
        name="prices-down",
        description="the price provider fails; the app says so",
        steady_state=(Send(lambda ctx, i: Req("GET", "/price"), expect=200),),
        method=(
            Inject("payments", "fail", (500,)),
            Send(lambda ctx, i: Req("GET", "/price"), count=2, expect=503),
            Heal("payments"),  # the steady state is checked again before the rollback
        ),
        rollback=(Heal(),),
    )
    provider = ("https://api.payments.test", httpx.Response(200, json={"price": 3}))
    session = HarnessSession(plain_app, {}, {"payments": provider})
    result = run_scenario(scenario, session)
    assert result.passed, result.failures

    # A breaker expectation on such an app fails as an expectation, saying where breakers are
    # looked for (it was a crashed step: a KeyError).
    expecting = Scenario(
        name="expects-a-breaker",
        description="",
        steady_state=(),
        method=(ExpectBreaker("payments", "CLOSED"), ExpectTransitions("payments", ("CLOSED",))),
        rollback=(),
    )
    failed = run_scenario(expecting, session)
    assert len(failed.failures) == 2, failed.failures
    for failure in failed.failures:
        assert "no breaker named 'payments': the app shows none" in failure
        assert "app.state.breakers" in failure
        assert "HarnessSession(breakers=lambda app: {...})" in failure
        assert "raised" not in failure


@pytest.mark.parametrize(("debug", "grouped"), [(False, False), (True, False), (False, True)])
def test_an_unexpected_500_names_the_apps_exception(debug: bool, grouped: bool) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Route

    def crashing_app() -> Starlette:
        async def price(request: Any) -> Any:
            if not grouped:
                raise ValueError("price feed sent no JSON")

            async def fetch() -> None:
                raise ValueError("price feed sent no JSON")

            async with anyio.create_task_group() as group:  # an ExceptionGroup around it
                group.start_soon(fetch)

        return Starlette(debug=debug, routes=[Route("/price", price)])

    scenario = Scenario(
        name="crash",
        description="a handler that raises",
        steady_state=(),
        method=(Send(lambda ctx, i: Req("GET", "/price"), expect=200),),
        rollback=(),
    )
    result = run_scenario(scenario, HarnessSession(crashing_app, {}, {}))
    (failure,) = result.failures
    assert "expected status [200], got 500: " in failure
    assert "ValueError: price feed sent no JSON" in failure
    assert "File " not in failure  # the exception, not the start of a traceback


def test_a_redirect_and_a_query_are_sent_and_seen_as_asked() -> None:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, RedirectResponse
    from starlette.routing import Route

    def form_app() -> Starlette:
        def lookup(request: Any) -> Any:
            if request.query_params.get("postcode") != "SW1A 1AA":
                return RedirectResponse("/form?error=1", status_code=307)
            return JSONResponse({"ok": True})

        form = Route("/form", lambda r: JSONResponse({"form": True}))
        return Starlette(routes=[Route("/lookup", lookup), form])

    scenario = Scenario(
        name="redirects",
        description="a degraded answer that redirects",
        steady_state=(),
        method=(
            send("GET", "/lookup", params={"postcode": "SW1A 1AA"}, expect=200),
            send("GET", "/lookup", expect=200),  # followed: the form's 200
            send("GET", "/lookup", follow_redirects=False, expect=307),
        ),
        rollback=(),
    )
    result = run_scenario(scenario, HarnessSession(form_app, {}, {}))
    assert result.passed, result.failures
    # The followed redirect is both hops, as the app answered them: 307, then the form's 200.
    assert result.timeline.requests_by_status() == {200: 2, 307: 2}


def test_steps_are_checked_where_the_scenario_is_written() -> None:
    assert Inject("payments", "fail", 503).args == (503,)  # a bare argument, as a tuple
    # a fault's own `kind=` (timeout's) is a keyword of the fault, not the step's kind
    assert Inject("payments", "timeout", kind="connect").kwargs == {"kind": "connect"}
    with pytest.raises(TypeError, match=r"method\[1\] is .* not a step: a step has run\(ctx\)"):
        Scenario("s", "d", method=(Heal(), lambda ctx: None))  # type: ignore[arg-type]


def test_too_many_provider_calls_show_the_calls() -> None:
    scenario = outage(ExpectProviderCalls("payments", at_most=2))
    result = run_scenario(scenario, session())
    (failure,) = result.failures
    assert "expected 0..2 calls to reach it since the run began" in failure
    assert "saw 5" in failure
    assert "recent:" in failure
    assert "POST https://api.payments.test/charge -> " in failure


class _TimedBreaker:
    """Hand-written: its state is computed from the time, and it reports no transitions."""

    def __init__(self) -> None:
        self.failures, self.opened_at = 0, None  # type: float | None

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "CLOSED"
        return "HALF_OPEN" if time.monotonic() - self.opened_at >= 30 else "OPEN"

    def call(self, fn: Callable[[], Any]) -> Any:
        if self.state == "OPEN":
            raise RuntimeError("open")
        try:
            result = fn()
        except Exception:
            self.failures += 1
            if self.state == "HALF_OPEN" or self.failures >= 3:
                self.opened_at, self.failures = time.monotonic(), 0
            raise
        self.reset()
        return result

    def force_open(self) -> None:
        self.opened_at = time.monotonic()

    def reset(self) -> None:
        self.failures, self.opened_at = 0, None


def test_a_change_the_breaker_does_not_report_is_timed_as_seen() -> None:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from pytest_hardening.chaos._text import breaker_text

    def timed_app() -> Starlette:
        breaker = _TimedBreaker()

        def fetch() -> httpx.Response:
            return httpx.get(f"{mini_app.PAYMENTS}/p", timeout=3).raise_for_status()

        def price(request: Any) -> JSONResponse:
            try:
                breaker.call(fetch)
            except Exception:
                return JSONResponse({"price": None}, status_code=503)
            return JSONResponse({"price": 1})

        app = Starlette(routes=[Route("/price", price)])
        app.state.breakers = {"pricing": breaker}
        return app

    def get(ctx: ChaosContext, i: int) -> Req:
        return Req("GET", "/price")

    scenario = Scenario(
        name="timed",
        description="a breaker that computes its state from the time",
        steady_state=(),
        method=(
            Inject("payments", "fail", 503),
            Send(get, count=3, expect=503),
            Heal("payments"),
            Advance(300),  # half-open from 30 s on; seen at 300 s
            Send(get, expect=200),
        ),
        rollback=(Heal(),),
    )
    provider = ("https://api.payments.test", httpx.Response(200, json={}))
    result = run_scenario(scenario, HarnessSession(timed_app, {}, {"payments": provider}))
    assert result.passed, result.failures
    line = breaker_text(result.timeline, "pricing").plain
    assert "pricing CLOSED ─→ OPEN ─→ HALF_OPEN ─→ CLOSED" in line  # no made-up 300s stay
    assert "(seen at 0s, 300s, 300s)" in line
    transitions = result.to_dict()["breakers"]["pricing"]["transitions"]
    assert [t["seen"] for t in transitions] == [True, True, True]


def test_a_fault_no_call_met_is_explained_for_a_chaos_session() -> None:
    def armed(*extra: Any) -> Scenario:
        return Scenario(
            name="unused",
            description="a fault on a provider the method never calls",
            steady_state=(),
            method=(Inject("payments", "timeout"), *extra),
            rollback=(),
        )

    (failure,) = run_scenario(armed(), session()).failures
    assert "never triggered" in failure
    assert "check the provider's URL in HarnessSession(providers=...)" in failure
    assert "opt out with a Check step calling ctx.faults.allow_unused()" in failure
    assert "pytest.mark" not in failure
    assert "hardening_providers" not in failure

    def allow(ctx: ChaosContext) -> None:
        ctx.faults.allow_unused()

    assert run_scenario(armed(Check("unused on purpose", allow)), session()).passed


def test_a_session_may_start_its_clock_where_the_apps_startup_ran() -> None:
    import contextlib
    from collections.abc import AsyncIterator

    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    def token_app() -> Starlette:
        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            app.state.token_expires = time.time() + 1800  # stored at startup, in real time
            yield

        def token(request: Any) -> JSONResponse:
            fresh = time.time() < request.app.state.token_expires
            return JSONResponse({"fresh": fresh}, status_code=200 if fresh else 401)

        return Starlette(routes=[Route("/token", token)], lifespan=lifespan)

    scenario = Scenario(
        name="token-expiry",
        description="the token stored at startup expires after 30 minutes",
        method=(send("GET", "/token", expect=200), Advance(1801), send("GET", "/token")),
    )
    now = run_scenario(scenario, HarnessSession(token_app, {}, {}, epoch=None))
    assert [r.status for r in now.timeline.requests] == [200, 401]
    # The fixed epoch lies before the real now its startup ran at: the token never expires.
    fixed = run_scenario(scenario, HarnessSession(token_app, {}, {}))
    assert [r.status for r in fixed.timeline.requests] == [200, 200]


@pytest.mark.parametrize("name", ["payments-outage"])
def test_select_by_name(name: str) -> None:
    from pytest_hardening.chaos import select

    assert [s.name for s in select([outage()], [name])] == [name]
    with pytest.raises(KeyError, match="unknown scenario"):
        select([outage()], ["nope"])


def test_fast_fail_and_sentry_expectations_fail_when_they_should() -> None:
    from pytest_hardening.chaos import ExpectFastFail, ExpectNoSentryErrors, ExpectSentryEvent

    scenario = Scenario(
        name="closed-breaker-is-not-fast-fail",
        description="",
        method=(
            # the breaker is closed: these orders do reach the provider
            ExpectFastFail("payments", Send(order, count=2, expect=201)),
            # the mini app never initialised Sentry: an empty capture proves nothing
            ExpectNoSentryErrors(),
            ExpectSentryEvent("circuit breaker payments opened"),
        ),
    )
    result = run_scenario(scenario, session())
    assert result.failures == [
        "[method @0s] provider 'payments' was called 2 time(s) while its breaker should fail fast",
        "[method @0s] Sentry capture is not attached: the app never initialised Sentry "
        "(sentry_sdk.init), so no capture can show that nothing was reported; leave this step "
        "out of an app without Sentry",
        "[method @0s] expected a Sentry event mentioning 'circuit breaker payments opened'; the "
        "app never initialised Sentry (sentry_sdk.init): nothing is captured",
    ]


def test_a_run_leaves_nothing_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    import logging
    import os
    import sys

    import httpcore
    import sentry_sdk

    from pytest_hardening.chaos import send
    from reference_app.chaos import target

    monkeypatch.setenv("APP_ENV", "production")  # must not leak into the run, nor be lost
    env_before = dict(os.environ)
    client_before = sentry_sdk.get_global_scope().client
    interval = sys.getswitchinterval()
    handlers = list(logging.getLogger().handlers)
    transport_handle = httpcore.AsyncConnectionPool.handle_async_request
    started = time.time()

    # the reference app initialises Sentry and runs in development mode inside the run
    probe = Scenario(
        name="probe",
        description="",
        # a dev-only route: 404 would mean the shell's APP_ENV=production leaked in
        method=(send("GET", "/api/test/email-connection", expect=(200, 503)),),
    )
    result = run_scenario(probe, target().session, seed=1)
    assert result.passed, result.explain()

    assert dict(os.environ) == env_before
    assert abs(time.time() - started) < 120  # real time again (the run was frozen at 2026-01-01)
    assert sentry_sdk.get_global_scope().client is client_before
    assert sys.getswitchinterval() == interval
    assert logging.getLogger().handlers == handlers
    assert httpcore.AsyncConnectionPool.handle_async_request is transport_handle  # respx gone


def test_what_fails_a_fixture_test_fails_a_scenario_too() -> None:
    # The app's provider is not declared (its charge goes to an unregistered host), then a
    # fault is armed that no call meets: the app swallows the first, the steps see neither.
    scenario = Scenario(
        name="undeclared",
        description="the app's payment host is nobody's",
        method=(Send(order, expect=202),),
    )
    other = {"fraud": Provider("https://fraud.example", httpx.Response(200))}
    undeclared = HarnessSession(lambda: mini_app.create_app(), {}, other)
    result = run_scenario(scenario, undeclared)
    assert not result.passed
    [problem] = result.failures
    assert problem.startswith("[teardown checks @0s]")
    assert "not registered providers" in problem
    assert f"POST {mini_app.PAYMENTS}/charge" in problem
    scenario = Scenario(
        name="unused-fault",
        description="a fault no call meets",
        method=(Inject("payments", "fail", (503,)),),
    )
    result = run_scenario(scenario, session())
    assert any("never triggered" in failure for failure in result.failures), result.failures


def own_retry_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from tests.plugin import _own_backoff

    async def orders(request: Request) -> JSONResponse:
        response = await _own_backoff.fetch_async()  # asyncio.sleep between its attempts
        return JSONResponse({}, status_code=response.status_code)

    return Starlette(routes=[Route("/orders", orders)])


def test_a_sessions_backoff_modules_back_off_in_virtual_time() -> None:
    def slept(ctx: ChaosContext) -> str | None:
        sleeps = ctx.faults.retry_sleeps  # type: ignore[attr-defined]
        return None if sleeps == [5.0, 10.0] else f"retry_sleeps {sleeps}"

    scenario = Scenario(
        name="orders-flaky",
        description="two 503s, then the order list",
        method=(
            Inject("orders", "fail", (503,), {"times": 2}),
            Send(lambda ctx, i: Req("GET", "/orders"), expect=200),
            Check("the app's own back-off moved the clock", slept),
        ),
    )
    providers = {"orders": Provider("https://api.example.com", httpx.Response(200))}
    own = HarnessSession(
        own_retry_app,
        {},
        providers,
        breakers=lambda app: {},
        backoff_modules=("tests.plugin._own_backoff",),
    )
    started = time.perf_counter()
    result = run_scenario(scenario, own)
    assert result.passed, result.explain()
    assert time.perf_counter() - started < 15  # the 15 s of back-off were virtual


def test_a_fault_healed_before_any_call_met_it_fails_the_scenario() -> None:
    # The rollback heals every fault, as the docs teach: a fault aimed where the app never
    # calls (here: no request at all reaches the provider) would otherwise pass unseen.
    scenario = Scenario(
        name="aimed-wrong",
        description="",
        method=(Inject("payments", "refuse"),),
        rollback=(Heal(),),
    )
    result = run_scenario(scenario, session())
    assert not result.passed
    assert result.failures == [
        "[rollback @0s] refuse on provider 'payments' was healed before any call met it: the "
        "scenario exercised nothing with it (check the provider's URL and the requests that "
        "should reach it)"
    ]
    # Met by a call, the same heal is no finding.
    met = Scenario(
        name="met",
        description="",
        method=(Inject("payments", "refuse"), Send(order, expect=(201, 202, 503))),
        rollback=(Heal(),),
    )
    assert run_scenario(met, session()).failures == []


def test_a_followed_redirect_is_served_and_counted_hop_by_hop() -> None:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, RedirectResponse
    from starlette.routing import Route

    async def search(request: Any) -> Any:
        form = await request.form()
        return RedirectResponse(f"/result/{form['city']}", status_code=303)

    def app() -> Starlette:
        result = Route("/result/{city}", lambda r: JSONResponse({"city": r.path_params["city"]}))
        return Starlette(routes=[Route("/search", search, methods=["POST"]), result])

    def stored(ctx: ChaosContext) -> DataLossCheck:
        posts = [s for s in ctx.served if s.method == "POST"]
        return DataLossCheck("searches answered", len(posts), ())

    scenario = Scenario(
        name="search",
        description="a form POST answered 303, then its page",
        method=(send("POST", "/search", data={"city": "Aarhus"}, expect=200),),
        data_check=stored,
    )
    result = run_scenario(scenario, HarnessSession(app, {}, {}))
    assert result.passed, result.failures
    assert result.timeline.requests_by_status() == {303: 1, 200: 1}
    assert [(r.method, r.path, r.status) for r in result.timeline.requests] == [
        ("POST", "/search", 303),
        ("GET", "/result/Aarhus", 200),
    ]


def test_mistakes_in_a_scenario_are_named_not_passed() -> None:
    # A data check that forgets to return (or returns a bool) read as PASS, or crashed the run.
    for returned in (None, True):
        wrong = outage(data_check=lambda ctx, r=returned: r)  # type: ignore[misc]
        (failure,) = run_scenario(wrong, session()).failures
        assert f"returned {returned!r}, not a DataLossCheck(description, checked, lost)" in failure
    # What was lost as a count passed at 0 in pytest and stopped the command's report (a
    # trial's): refused where it is made, the run's failure says so, in pytest as in the CLI.
    counted = outage(data_check=lambda ctx: DataLossCheck("orders kept", 3, 0))  # type: ignore[arg-type]
    (failure,) = run_scenario(counted, session()).failures
    assert "DataLossCheck(lost=...) takes what was lost, one item each" in failure
    assert "not int 0" in failure
    assert DataLossCheck("kept", 2, ["order 7"]).lost == ("order 7",)  # a list is fine
    # A status as a string is its number; anything else is refused where it is written.
    assert Send(order, expect="201").expect == "201"
    with pytest.raises(TypeError, match=r"expect='2xx': give an HTTP status"):
        Send(order, expect="2xx")
    # One step, not in a tuple, is taken as the phase.
    single = Scenario("one", "d", method=Inject("payments", "refuse"))
    assert single.method == (Inject("payments", "refuse"),)
    # A fault method's keywords are the step's keywords; a wrong one is named with the method's
    # parameters where the scenario is written.
    assert Inject("payments", "fail", 503, times=2) == Inject(
        "payments", "fail", (503,), {"times": 2}
    )
    with pytest.raises(TypeError, match=r"'tims'; faults.fail takes \(provider: str, status"):
        Inject("payments", "fail", 503, tims=2)
    with pytest.raises(TypeError, match=r"missing a required argument: 'seconds'"):
        Inject("payments", "latency")
    # A breaker name nobody has fails; a probe's False fails, its True holds.
    probes = Scenario(
        "probes",
        "d",
        method=(
            ExpectTransitions("typo", ("CLOSED",)),
            Check("false", lambda ctx: False),
            Check("true", lambda ctx: True),
        ),
    )
    failures = run_scenario(probes, session()).failures
    assert len(failures) == 2
    assert "no breaker named 'typo'; the app's: ['payments']" in failures[0]
    assert failures[1].endswith("false: the probe returned False")


def test_scenario_params_takes_a_target_or_the_scenarios_themselves() -> None:
    from pytest_hardening.chaos import scenario_params

    scenarios = [outage(), Scenario("one", "d", method=Inject("payments", "refuse"))]
    ids = [p.id for p in scenario_params(scenarios)]
    assert ids == [scenarios[0].name, "one"]
