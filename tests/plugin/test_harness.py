"""The Harness as a plain class (no fixtures): order, undo, and the Sentry divergence that the
fixtures and the chaos runner once had (the chaos copy killed a caller's Sentry transport)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import prometheus_client
import pytest
import sentry_sdk
from starlette.applications import Starlette

from pytest_hardening import Harness, HarnessError, SentryCapture, SentryGuard
from pytest_hardening.chaos import (
    ExpectBreaker,
    HarnessSession,
    Inject,
    Scenario,
    run_scenario,
    send,
)
from reference_app import create_app
from reference_app.testing import DEV_ENV
from tests.chaos import mini_app

from .weather import weather_app
from .weather.conftest import DEV_ENV as WEATHER_ENV

EPOCH = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)


@pytest.fixture
def caller_sentry() -> Iterator[tuple[Any, SentryCapture]]:
    """A Sentry client that belongs to the caller, sending to its own transport."""
    with SentryGuard():
        transport = SentryCapture()
        sentry_sdk.init(dsn="https://caller@sentry.example/9", transport=transport)
        yield sentry_sdk.get_client(), transport


def _assert_caller_client_intact(client: Any, transport: SentryCapture) -> None:
    assert sentry_sdk.get_client() is client
    assert client.transport is transport, "the caller's transport was swapped"
    before = len(transport.events)
    sentry_sdk.capture_message("after the run")
    assert len(transport.events) == before + 1, "the caller's transport no longer delivers"


def test_chaos_run_on_an_app_without_sentry_leaves_the_callers_client_alone(
    caller_sentry: tuple[Any, SentryCapture],
) -> None:
    client, transport = caller_sentry
    scenario = Scenario(
        "payments-down",
        "payments refuse; the breaker opens",
        method=(
            Inject("payments", "refuse"),
            *[send("POST", "/orders", json={"item": "x"}, expect=202) for _ in range(3)],
            ExpectBreaker("payments", "OPEN"),
        ),
    )
    session = HarnessSession(mini_app.create_app, {}, {"payments": mini_app.PAYMENTS_PROVIDER})
    result = run_scenario(scenario, session, seed=1)
    assert result.passed, result.explain()
    _assert_caller_client_intact(client, transport)


def test_harness_on_an_app_without_sentry_leaves_the_callers_client_alone(
    caller_sentry: tuple[Any, SentryCapture],
) -> None:
    client, transport = caller_sentry
    with Harness() as harness:
        harness.build(mini_app.create_app, {})
        harness.fake_providers({"payments": mini_app.PAYMENTS_PROVIDER})
        assert harness.client().post("/orders", json={"item": "x"}).status_code == 201
        assert harness.sentry.events == []  # nothing of the caller's is captured either
    _assert_caller_client_intact(client, transport)


def test_clock_first_then_app_works_and_moves_the_apps_breakers() -> None:
    # Asking for the clock before the app is built must not freeze time under the build
    # (first imports under freezegun keep its fake classes: pydantic's metaclass conflict).
    env = {**DEV_ENV, "DATABASE_URL": "sqlite+aiosqlite:///:memory:"}
    with Harness(seed=3, epoch=EPOCH) as harness:
        clock = harness.freeze()
        faults = harness.fake_providers(
            {"exotel": "https://api.exotel.com", "openai": "https://api.openai.com"}
        )
        harness.build(create_app, env)
        client = harness.client()
        breakers = harness.inspect_breakers()
        breakers.force_open("exotel")
        clock.advance(61)
        assert breakers.state("exotel") == "HALF_OPEN"
        assert clock.now() == EPOCH + dt.timedelta(seconds=61)
        assert client.get("/api/monitoring/health").status_code == 200
        assert faults.clock is clock


def test_close_undoes_everything_in_reverse() -> None:
    os.environ["HARNESS_PROBE"] = "caller"
    try:
        harness = Harness(epoch=EPOCH)
        harness.build(weather_app.create_app, {**WEATHER_ENV, "HARNESS_PROBE": "test"})
        assert os.environ["HARNESS_PROBE"] == "test"
        harness.fake_providers({"weather": weather_app.WEATHER_DEFAULT})
        harness.freeze()
        harness.client()
        assert dt.datetime.now(dt.timezone.utc) == EPOCH
        harness.close()
        assert os.environ["HARNESS_PROBE"] == "caller"
        assert abs(time.time() - dt.datetime.now().timestamp()) < 3600
        assert dt.datetime.now(dt.timezone.utc) > EPOCH + dt.timedelta(days=1)
        # httpx is no longer intercepted: a request to an unregistered host now reaches the
        # transport we give it, not the injector
        seen: list[str] = []
        transport = httpx.MockTransport(lambda r: (seen.append(str(r.url)), httpx.Response(204))[1])
        with httpx.Client(transport=transport) as plain:
            assert plain.get("https://elsewhere.example/").status_code == 204
        assert seen == ["https://elsewhere.example/"]
    finally:
        os.environ.pop("HARNESS_PROBE", None)


def test_parts_used_before_they_exist_say_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    # No metrics in prometheus_client's default registry either (other tests' apps add some).
    monkeypatch.setattr(prometheus_client, "REGISTRY", prometheus_client.CollectorRegistry())
    with Harness() as harness:
        with pytest.raises(HarnessError, match=r"call build\(factory, env\) first"):
            harness.client()
        harness.build(Starlette, {})
        with pytest.raises(HarnessError, match="already built"):
            harness.build(Starlette, {})
        with pytest.raises(HarnessError, match=r"app.state.breakers"):
            harness.inspect_breakers()
        with pytest.raises(HarnessError, match=r"app.state.apm"):
            harness.watch_apm()


async def _async_factory() -> Starlette:
    return Starlette()


@pytest.mark.filterwarnings("error::RuntimeWarning")  # the coroutine is closed, not left
def test_an_async_factory_is_refused_at_the_build_not_answered_500_later() -> None:
    from pytest_hardening import ProdConfigChecker

    with Harness() as harness, pytest.raises(TypeError, match="in the app's lifespan"):
        harness.build(_async_factory, {})
    with pytest.raises(TypeError, match="_async_factory returned an awaitable, not an app"):
        ProdConfigChecker(_async_factory, {"APP_ENV": "production"}).build()


def test_an_app_named_where_its_factory_belongs_is_refused_saying_what_to_name() -> None:
    app = Starlette()  # 'main:app', the uvicorn way, in place of 'main:create_app'
    with Harness() as harness, pytest.raises(TypeError, match="not a function that builds one"):
        harness.build(app, {})
    with Harness() as harness:
        assert harness.build(lambda: app, {}) is app  # an app built at import, used as it is


def test_a_factory_given_as_the_ini_options_text_is_refused_saying_what_to_return() -> None:
    # The fixture returned "main:create_app": a bare "'str' object is not callable" before.
    with Harness() as harness, pytest.raises(TypeError) as refused:
        harness.build("main:create_app", {})  # type: ignore[arg-type]
    assert "the app factory is the text 'main:create_app'" in str(refused.value)
    assert "app_from_import('main:create_app')" in str(refused.value)


def test_a_kept_app_is_reused_reset_and_shut_down_when_its_reset_fails() -> None:
    from pytest_hardening import AppPool, AppReuseWarning

    pool = AppPool()
    resets: list[object] = []
    broken = False

    def reset(app: Any) -> None:
        resets.append(app)
        if broken:
            raise RuntimeError("cannot reset")

    def one_test(*, break_at_end: bool = False) -> Any:
        nonlocal broken
        with Harness(pool=pool) as harness:
            app = harness.build(mini_app.create_app, {}, reset=reset)
            harness.fake_providers({"payments": mini_app.PAYMENTS_PROVIDER})
            assert harness.client().post("/orders", json={"item": "x"}).status_code == 201
            broken = break_at_end
            return app

    try:
        first = one_test()
        # reset once started (what tests outside the pool left), and when handed back (an idle
        # kept app holds nothing)
        assert resets == [first] * 2
        assert one_test() is first  # kept, reset again when taken, reused
        assert resets == [first] * 4
        # a reset failing when the app is handed back: shut down, not kept, and said once
        with pytest.warns(
            AppReuseWarning, match=r"<locals>\.reset raised RuntimeError: cannot reset"
        ):
            assert one_test(break_at_end=True) is first
        assert len(pool) == 0
        broken = False
        second = one_test()
        assert second is not first  # so the next test builds afresh
        # a reset failing when the app is taken: the test errors, naming the reset
        broken = True
        with pytest.raises(
            HarnessError,
            match=r"<locals>\.reset raised RuntimeError: cannot reset, on the app kept from an "
            r"earlier test: fix the reset",
        ):
            one_test()
        assert len(pool) == 0
        # ... and when the app was just built: before the test, naming the reset
        with pytest.raises(
            HarnessError, match=r"<locals>\.reset raised RuntimeError.*just started"
        ):
            one_test()
        assert len(pool) == 0
    finally:
        pool.close()


def test_an_idle_kept_app_runs_nothing_until_a_test_takes_it() -> None:
    """Kept apps share the process (and often a database) with the running test: a background
    task of an idle one must not act, however far the test moves the clock."""
    from contextlib import asynccontextmanager

    from pytest_hardening import AppPool

    woken, acted = threading.Event(), threading.Event()
    wake: list[Any] = []

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        loop = asyncio.get_running_loop()
        nudge = asyncio.Event()
        wake.append(lambda: loop.call_soon_threadsafe(nudge.set))

        async def background() -> None:
            while True:
                await nudge.wait()
                nudge.clear()
                acted.set()

        task = loop.create_task(background())
        woken.set()
        yield
        task.cancel()

    pool = AppPool()

    def factory() -> Starlette:
        return Starlette(lifespan=lifespan)

    def one_test() -> Any:
        with Harness(pool=pool) as harness:
            app = harness.build(factory, {}, reset=lambda app: None)
            harness.client()
            return app

    try:
        first = one_test()
        assert woken.is_set()
        wake[0]()  # what a due retry or an advanced clock would do while the app idles
        # Negative check: passes only while the loop is held (a slow machine cannot fail it).
        assert not acted.wait(0.2), "an idle kept app ran its background task"
        assert one_test() is first  # taken: its loop runs again, and the nudge is handled
        assert acted.wait(30)
    finally:
        pool.close()


def test_nothing_of_a_kept_app_runs_between_its_reset_and_its_parking() -> None:
    """A task the reset made ready (a background round waking up) must not begin work, such as
    a database transaction whose lock it would keep while the app idles."""
    from pytest_hardening import AppPool

    acted = threading.Event()
    armed = threading.Event()  # the hand-back's reset, not the one after the build

    async def reset(app: Any) -> None:
        if armed.is_set():  # ready to run right after the reset
            asyncio.get_running_loop().call_soon(acted.set)

    pool = AppPool()

    def factory() -> Starlette:
        return Starlette()

    try:
        with Harness(pool=pool) as harness:
            first = harness.build(factory, {}, reset=reset)
            harness.client()
            armed.set()
        # Negative check: passes only while the loop is held (a slow machine cannot fail it).
        assert not acted.wait(0.2), "a task ran between the reset and the parking"
        with Harness(pool=pool) as harness:
            assert harness.build(factory, {}, reset=reset) is first
            assert acted.wait(30)  # taken: the loop runs again
    finally:
        pool.close()
