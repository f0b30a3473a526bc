"""BreakerInspector over every supported breaker library and registry form, without glue."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import aiobreaker
import circuitbreaker
import purgatory
import pybreaker
import pytest

from pytest_hardening import BreakerInspector, BreakerState, Clock, PyBreakerAdapter, adapt_breaker
from reference_app.config import SERVICE_BREAKERS
from reference_app.resilience import CircuitBreaker as NativeCircuitBreaker
from reference_app.resilience import build_service_breakers

LIFE = [("CLOSED", "OPEN"), ("OPEN", "HALF_OPEN"), ("HALF_OPEN", "CLOSED")]


def _boom() -> None:
    raise ConnectionError("provider down")


def _ok() -> str:
    return "ok"


# Each library, the same life: two failures open it, 30 s later one success closes it.
# A case is (breakers for the inspector, fail once, succeed once).
Case = tuple[Any, Callable[[], None], Callable[[], None]]


def _swallow(call: Callable[[], Any]) -> None:
    # Each library raises its own "open" error, or the failure itself.
    with contextlib.suppress(Exception):
        call()


def pybreaker_case() -> Case:
    breaker = pybreaker.CircuitBreaker(fail_max=2, reset_timeout=30)
    return (
        {"pay": breaker},
        lambda: _swallow(lambda: breaker.call(_boom)),
        lambda: breaker.call(_ok),
    )


def aiobreaker_case() -> Case:
    breaker = aiobreaker.CircuitBreaker(fail_max=2, timeout_duration=dt.timedelta(seconds=30))

    async def boom() -> None:
        _boom()

    async def ok() -> str:
        return "ok"

    return (
        {"pay": breaker},
        lambda: _swallow(lambda: asyncio.run(breaker.call_async(boom))),
        lambda: asyncio.run(breaker.call_async(ok)),
    )


def circuitbreaker_case() -> Case:
    breaker = circuitbreaker.CircuitBreaker(failure_threshold=2, recovery_timeout=30, name="pay")
    boom, ok = breaker(_boom), breaker(_ok)  # only the decorated form checks the state
    return ({"pay": breaker}, lambda: _swallow(boom), ok)


def circuitbreaker_monitor_case() -> Case:
    @circuitbreaker.circuit(failure_threshold=2, recovery_timeout=30, name="pay")
    def pay(fail: bool) -> str:
        if fail:
            _boom()
        return "ok"

    return (
        circuitbreaker.CircuitBreakerMonitor,
        lambda: _swallow(lambda: pay(True)),
        lambda: pay(False),
    )


def purgatory_sync_case() -> Case:
    factory = purgatory.SyncCircuitBreakerFactory(default_threshold=2, default_ttl=30)

    def run(fail: bool) -> None:
        with factory.get_breaker("pay"):
            if fail:
                _boom()

    run(False)  # purgatory creates a circuit on first use
    return (factory, lambda: _swallow(lambda: run(True)), lambda: run(False))


def purgatory_async_case() -> Case:
    factory = purgatory.AsyncCircuitBreakerFactory(default_threshold=2, default_ttl=30)

    async def run(fail: bool) -> None:
        async with await factory.get_breaker("pay"):
            if fail:
                _boom()

    asyncio.run(run(False))
    return (
        factory,
        lambda: _swallow(lambda: asyncio.run(run(True))),
        lambda: asyncio.run(run(False)),
    )


def native_case() -> Case:
    breaker = NativeCircuitBreaker(
        "pay", failure_threshold=2, success_threshold=1, open_timeout=30.0
    )
    return (
        {"pay": breaker},
        lambda: _swallow(lambda: breaker.call(_boom)),
        lambda: breaker.call(_ok),
    )


CASES = {
    "pybreaker": pybreaker_case,
    "aiobreaker": aiobreaker_case,
    "circuitbreaker": circuitbreaker_case,
    "circuitbreaker-monitor": circuitbreaker_monitor_case,
    "purgatory-sync-factory": purgatory_sync_case,
    "purgatory-async-factory": purgatory_async_case,
    "native": native_case,
}


@pytest.fixture(autouse=True)
def _clean_circuitbreaker_monitor() -> Iterator[None]:
    before = dict(circuitbreaker.CircuitBreakerMonitor.circuit_breakers)
    yield
    circuitbreaker.CircuitBreakerMonitor.circuit_breakers.clear()
    circuitbreaker.CircuitBreakerMonitor.circuit_breakers.update(before)


@pytest.mark.parametrize("library", CASES)
def test_a_whole_life_is_read_the_same_way_for_every_library(library: str, clock: Clock) -> None:
    # The breakers are built on the plugin's clock, which is frozen from the test's start.
    breakers, fail, succeed = CASES[library]()
    inspector = BreakerInspector(breakers).start()
    assert "pay" in inspector.names  # the monitor is process-wide: other circuits too
    assert inspector.state("pay") is BreakerState.CLOSED
    fail()
    fail()
    assert inspector.state("pay") == "OPEN"
    clock.advance(31)
    succeed()
    assert inspector.state("pay") == "CLOSED"
    assert inspector.transitions("pay") == LIFE
    assert inspector.problems() == []
    inspector.stop()


REOPEN = [("OPEN", "HALF_OPEN"), ("HALF_OPEN", "OPEN")]


@pytest.mark.parametrize("library", CASES)
def test_a_failed_probe_is_recorded_as_a_reopen_for_every_library(
    library: str, clock: Clock
) -> None:
    # No look between the timeout and the probe (this clock is not wired to the inspector):
    # circuitbreaker's OPEN -> HALF_OPEN is lazy, and its probe reports only HALF_OPEN -> OPEN.
    breakers, fail, _ = CASES[library]()
    inspector = BreakerInspector(breakers).start()
    fail()
    fail()
    assert inspector.state("pay") == "OPEN"
    clock.advance(31)
    fail()  # the probe fails: open again
    assert inspector.transitions("pay") == [("CLOSED", "OPEN"), *REOPEN]
    clock.advance(31)
    fail()  # and again: the same round trip, recorded again
    assert inspector.transitions("pay") == [("CLOSED", "OPEN"), *REOPEN, *REOPEN]
    assert inspector.problems() == []
    inspector.stop()


#: Libraries that move OPEN -> HALF_OPEN only on the first call after the open timeout.
ON_CALL = {"pybreaker", "aiobreaker", "purgatory-sync-factory", "purgatory-async-factory"}


@pytest.mark.parametrize("library", CASES)
def test_half_open_is_read_as_each_library_has_it_and_an_early_expectation_is_explained(
    library: str, clock: Clock
) -> None:
    breakers, fail, succeed = CASES[library]()
    inspector = BreakerInspector(breakers).start()
    fail()
    fail()
    clock.advance(31)  # past the 30 s open timeout
    if library not in ON_CALL:
        inspector.assert_state("pay", "HALF_OPEN")
        inspector.stop()
        return
    with pytest.raises(AssertionError) as info:
        inspector.assert_state("pay", "HALF_OPEN")
    assert "actual OPEN" in str(info.value)
    assert "on the first call after its open timeout" in str(info.value)
    explained = inspector.explain("HALF_OPEN")
    # Second, under the headline: pytest shows an explanation's first lines only, unless -vv
    # (a trial's hint came after the provider calls, cut off).
    assert "make that call (the probe) first" in explained[1]
    assert inspector.explain("CLOSED")[-1] == "  CLOSED -> OPEN"  # no note for other mistakes
    succeed()  # the probe: HALF_OPEN, then CLOSED after one success
    assert inspector.transitions("pay") == LIFE
    inspector.stop()


@pytest.mark.parametrize("library", CASES)
def test_force_open_and_reset_steer_every_library(library: str) -> None:
    with Clock():
        breakers, _, succeed = CASES[library]()
        inspector = BreakerInspector(breakers).start()
        inspector.force_open("pay")
        assert inspector.state("pay") == "OPEN"
        with pytest.raises(Exception):  # noqa: B017, PT011 (each library has its own error)
            succeed()  # an open breaker rejects the call
        assert inspector.transitions("pay") == [("CLOSED", "OPEN")]
        inspector.reset("pay")
        assert (inspector.state("pay"), inspector.transitions("pay")) == ("CLOSED", [])
        succeed()
        inspector.force_open("pay")
        inspector.reset()
        assert inspector.state("pay") == "CLOSED"
        inspector.stop()


def test_start_resets_stale_breakers_and_stop_removes_every_listener() -> None:
    py = pybreaker.CircuitBreaker()
    aio = aiobreaker.CircuitBreaker()
    fab = circuitbreaker.CircuitBreaker(name="fab")
    for breaker in (py, aio):
        breaker.open()
    fab._state = circuitbreaker.STATE_OPEN
    inspector = BreakerInspector({"py": py, "aio": aio, "fab": fab}).start()
    assert [inspector.state(n) for n in inspector] == ["CLOSED"] * 3
    assert inspector.all_transitions() == {}
    inspector.stop()
    assert py.listeners == ()
    assert aio.listeners == ()
    assert "reset" not in vars(fab)  # the watcher is gone from the instance


def test_purgatory_circuits_are_found_as_they_appear_and_can_be_opened_before_use() -> None:
    factory = purgatory.SyncCircuitBreakerFactory(default_threshold=2, default_ttl=30)
    inspector = BreakerInspector(factory).start()
    assert inspector.names == []
    inspector.force_open("geo")  # not used yet: created with the factory's defaults
    with pytest.raises(purgatory.domain.model.OpenedState), factory.get_breaker("geo"):
        pass
    with factory.get_breaker("fresh"):
        pass
    for _ in range(2):
        with pytest.raises(ConnectionError), factory.get_breaker("fresh"):
            _boom()
    assert inspector.names == ["fresh", "geo"]
    assert inspector.transitions("fresh") == [("CLOSED", "OPEN")]  # seen from its creation
    inspector.stop()
    assert factory.listeners == {}


def test_purgatory_breaker_objects_in_a_mapping() -> None:
    factory = purgatory.SyncCircuitBreakerFactory(default_threshold=1, default_ttl=30)
    inspector = BreakerInspector({"pay": factory.get_breaker("pay")}).start()
    with pytest.raises(ConnectionError), factory.get_breaker("pay"):
        _boom()
    assert inspector.transitions("pay") == [("CLOSED", "OPEN")]
    inspector.stop()


def test_registries_that_are_not_mappings() -> None:
    a = pybreaker.CircuitBreaker(name="a")
    b = aiobreaker.CircuitBreaker(name="b")

    class Registry:
        """A registry with items() but no Mapping base."""

        def items(self) -> list[tuple[str, Any]]:
            return [("a", a), ("b", b)]

    assert BreakerInspector(Registry()).names == ["a", "b"]
    assert BreakerInspector([a, b]).names == ["a", "b"]  # named breakers
    assert BreakerInspector((("x", a), ("y", b))).names == ["x", "y"]  # pairs
    assert (
        "exotel" in BreakerInspector(build_service_breakers(services=SERVICE_BREAKERS)).names
    )  # a Mapping subclass


def test_unsupported_objects_fail_naming_the_protocol() -> None:
    class NotABreaker:
        state = "CLOSED"  # but nothing to steer it with

    with pytest.raises(TypeError) as info:
        BreakerInspector({"x": NotABreaker()})
    message = str(info.value)
    for part in ("NotABreaker", "force_open()", "reset()", "BreakerAdapter", "subscribe"):
        assert part in message
    assert "it has `state` but no force_open() or reset()" in message
    with pytest.raises(TypeError, match="mapping name -> breaker"):
        BreakerInspector(42)
    with pytest.raises(TypeError, match="give it a `name`"):
        BreakerInspector([pybreaker.CircuitBreaker()])


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("open", "OPEN"),
        ("opened", "OPEN"),
        ("half-open", "HALF_OPEN"),
        ("half_open", "HALF_OPEN"),
        ("half-opened", "HALF_OPEN"),
        ("Closed", "CLOSED"),
        (aiobreaker.CircuitBreakerState.HALF_OPEN, "HALF_OPEN"),  # enum of classes: by name
        (BreakerState.OPEN, "OPEN"),
    ],
)
def test_every_spelling_of_a_state_is_read(raw: Any, state: str) -> None:
    assert BreakerState.parse(raw) == state


def test_unknown_state_names_what_is_expected() -> None:
    with pytest.raises(ValueError, match="expected CLOSED, OPEN or HALF_OPEN"):
        BreakerState.parse("tripped")


def test_a_failing_listener_never_reaches_the_caller_and_is_reported() -> None:
    # Wrapping an aiobreaker breaker in the pybreaker adapter, and a breaker that reports a
    # state nobody knows: the breaker's own calls must go on as if nothing was listening.
    aio = aiobreaker.CircuitBreaker(fail_max=1)

    class Weird:
        def __init__(self) -> None:
            self.state = "CLOSED"
            self.listeners: list[Callable[[Any], None]] = []

        def add_listener(self, cb: Callable[[Any], None]) -> Callable[[], None]:
            self.listeners.append(cb)
            return lambda: self.listeners.remove(cb)

        def force_open(self) -> None:
            self.state = "OPEN"
            for cb in self.listeners:
                cb(object())  # a transition without from_state/to_state

        def reset(self) -> None:
            self.state = "CLOSED"

    weird = Weird()
    inspector = BreakerInspector({"aio": PyBreakerAdapter(aio), "weird": weird}).start()
    with pytest.raises(aiobreaker.CircuitBreakerError):
        aio.call(_boom)
    weird.force_open()  # the listener raises inside: caught
    assert inspector.state("aio") == "OPEN"
    assert inspector.transitions("weird") == [("CLOSED", "OPEN")]  # observed instead
    report = inspector.problems_report()
    assert "AttributeError" in str(report)
    inspector.stop()


def test_a_failing_listener_inside_a_request_leaves_the_response_alone() -> None:
    import httpx
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    class Tripping:
        """Native protocol, but its transition objects carry nothing an adapter can read."""

        def __init__(self) -> None:
            self.state = "CLOSED"
            self.listeners: list[Callable[[Any], None]] = []

        def add_listener(self, cb: Callable[[Any], None]) -> Callable[[], None]:
            self.listeners.append(cb)
            return lambda: self.listeners.remove(cb)

        def force_open(self) -> None:
            self.state = "OPEN"
            for cb in self.listeners:
                cb(None)

        def reset(self) -> None:
            self.state = "CLOSED"

    breaker = Tripping()

    async def trip(request: Any) -> PlainTextResponse:
        breaker.force_open()  # the app's own code path notifies the inspector's listener
        return PlainTextResponse("fallback")

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=Starlette(routes=[Route("/trip", trip)]))
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.get("/trip")

    inspector = BreakerInspector({"pay": breaker}).start()
    response = asyncio.run(get())
    assert (response.status_code, response.text) == (200, "fallback")
    assert "listener on Tripping" in str(inspector.problems_report())
    assert inspector.transitions("pay") == [("CLOSED", "OPEN")]
    inspector.stop()


def test_adapters_pass_through_and_hand_written_breakers_are_observed() -> None:
    class Plain:
        def __init__(self) -> None:
            self.state = "closed"

        def force_open(self) -> None:
            self.state = "open"

        def reset(self) -> None:
            self.state = "closed"

    adapter = adapt_breaker(pybreaker.CircuitBreaker())
    assert adapt_breaker(adapter) is adapter
    plain = Plain()
    inspector = BreakerInspector({"plain": plain}).start()
    plain.state = "half-open"  # the breaker moves on its own
    assert inspector.transitions("plain") == [("CLOSED", "HALF_OPEN")]
    inspector.stop()


APP = '''
import time

import aiobreaker
import httpx
import purgatory
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class GatewayBreaker:
    """Hand-written, unregistered, and it keeps the real time.monotonic it was built with."""

    def __init__(self, open_timeout=60.0, clock=time.monotonic):
        self._clock, self.open_timeout, self.opened_at = clock, open_timeout, None

    def allows(self):
        return self.opened_at is None or self._clock() - self.opened_at >= self.open_timeout

    def failed(self):
        self.opened_at = self._clock()


async def fetch(url):
    async with httpx.AsyncClient(timeout=2) as client:
        response = await client.get(url)
        response.raise_for_status()
        return response.json()


def create_app():
    circuits = purgatory.AsyncCircuitBreakerFactory(default_threshold=2, default_ttl=30)
    rates = aiobreaker.CircuitBreaker(fail_max=2, name="rates")
    gateway = GatewayBreaker()

    async def geo(request: Request) -> JSONResponse:
        try:
            async with await circuits.get_breaker("geo"):
                return JSONResponse(await fetch("https://geo.example/where"))
        except purgatory.domain.model.OpenedState:
            return JSONResponse({"error": "geo circuit open"}, status_code=503)
        except httpx.HTTPError:
            return JSONResponse({"error": "geo down"}, status_code=502)

    async def rate(request: Request) -> JSONResponse:
        try:
            return JSONResponse(await rates.call_async(fetch, "https://rates.example/eur"))
        except aiobreaker.CircuitBreakerError:
            return JSONResponse({"error": "rates circuit open"}, status_code=503)
        except httpx.HTTPError:
            return JSONResponse({"error": "rates down"}, status_code=502)

    async def pay(request: Request) -> JSONResponse:
        if not gateway.allows():
            return JSONResponse({"error": "pay circuit open"}, status_code=503)
        try:
            return JSONResponse(await fetch("https://pay.example/ok"))
        except httpx.HTTPError:
            gateway.failed()
            return JSONResponse({"error": "pay down"}, status_code=502)

    app = Starlette(routes=[Route("/geo", geo), Route("/rate", rate), Route("/pay", pay)])
    app.state.circuits, app.state.rates = circuits, rates
    return app
'''

PYTESTER_CONFTEST = """
import httpx
import pytest
from pytest_hardening import Provider
import gateway_app


def ok(request):
    return httpx.Response(200, json={"ok": True})


@pytest.fixture
def hardening_app_factory():
    return gateway_app.create_app


@pytest.fixture
def hardening_providers():
    return {name: Provider(f"https://{name}.example", ok) for name in ("geo", "rates", "pay")}


@pytest.fixture
def hardening_breakers(hardened_app):
    # purgatory's own registry, plus an aiobreaker breaker in a plain mapping would need glue:
    # return the registry itself, the inspector reads its circuits by name.
    return hardened_app.state.circuits
"""


def test_the_fixtures_against_a_starlette_app_with_library_and_hand_written_breakers(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(gateway_app=APP)
    pytester.makeconftest(PYTESTER_CONFTEST)
    pytester.makepyfile(
        test_gateway="""
        from pytest_hardening import BreakerInspector

        def test_outage_and_recovery(hardened_client, faults, clock, breakers):
            for provider in ("geo", "rates", "pay"):
                faults.fail(provider, 503)
            for _ in range(2):
                for route in ("/geo", "/rate", "/pay"):
                    assert hardened_client.get(route).status_code in (502, 503)
            assert breakers.names == ["geo"]  # purgatory made the circuit on first use
            assert breakers.state("geo") == "OPEN"
            rates = BreakerInspector({"rates": hardened_client.app.state.rates})
            assert rates.state("rates") == "OPEN"
            assert [hardened_client.get(r).status_code for r in ("/geo", "/rate", "/pay")] == [
                503, 503, 503
            ]
            faults.heal()
            clock.advance(3600)  # moves the hand-written breaker's stored time.monotonic too
            assert [hardened_client.get(r).status_code for r in ("/geo", "/rate", "/pay")] == [
                200, 200, 200
            ]
            assert breakers.transitions("geo") == [
                ("CLOSED", "OPEN"), ("OPEN", "HALF_OPEN"), ("HALF_OPEN", "CLOSED")
            ]
        """
    )
    result = pytester.runpytest_subprocess("-p", "pytest_hardening", "-p", "no:randomly")
    result.assert_outcomes(passed=1)


def test_an_unsupported_breaker_fails_the_test_with_the_message_alone(
    pytester: pytest.Pytester,
) -> None:
    # The user's mistake: the message, not a page of the plugin's own source above it.
    pytester.makeconftest(
        """
        import pytest

        class NotABreaker:
            state = "CLOSED"

        @pytest.fixture
        def hardening_breakers():
            return {"payments": NotABreaker()}
        """
    )
    pytester.makepyfile(
        test_unsupported_breaker_message="""
        def test_reads_it(breakers):
            assert breakers.names == ["payments"]
        """
    )
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(errors=1)
    output = result.stdout.str()
    assert "cannot inspect conftest.NotABreaker as a circuit breaker" in output
    assert "it has `state` but no force_open() or reset()" in output
    for plugin_frame in ("def adapt_breaker", "_adapt.py", "During handling"):
        assert plugin_frame not in output
