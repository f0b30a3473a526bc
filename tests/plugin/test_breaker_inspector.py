"""BreakerInspector over pybreaker and over a breaker with the native protocol."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pybreaker
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pytest_hardening import (
    BreakerInspector,
    BreakerState,
    Clock,
    Harness,
    Provider,
    PyBreakerAdapter,
    adapt_breaker,
)
from pytest_hardening._clock_cache import ClockCache

from .test_breaker_reopen_on_advance import LazyBreaker


@dataclass(frozen=True)
class _Move:
    from_state: str
    to_state: str


class NativeLike:
    """The duck-typed protocol from docs/architecture.md, minimal."""

    def __init__(self) -> None:
        self.state = "CLOSED"
        self._listeners: list[Callable[[_Move], None]] = []

    def _go(self, to: str) -> None:
        move, self.state = _Move(self.state, to), to
        for listener in list(self._listeners):
            listener(move)

    def add_listener(self, cb: Callable[[_Move], None]) -> Callable[[], None]:
        self._listeners.append(cb)
        return lambda: self._listeners.remove(cb)

    def force_open(self) -> None:
        self._go("OPEN")

    def reset(self) -> None:
        if self.state != "CLOSED":
            self._go("CLOSED")


def _fail() -> None:
    raise ConnectionError("down")


def test_pybreaker_states_transitions_and_reset(clock_cache: ClockCache) -> None:
    breaker = pybreaker.CircuitBreaker(fail_max=2, reset_timeout=30)
    breaker.open()  # stale state from "a previous test"
    with Clock(cache=clock_cache) as clock:
        inspector = BreakerInspector({"pay": breaker}).start()
        assert inspector.state("pay") == BreakerState.CLOSED  # reset on start
        assert inspector.transitions("pay") == []  # the reset itself is not history
        for _ in range(2):
            with pytest.raises((ConnectionError, pybreaker.CircuitBreakerError)):
                breaker.call(_fail)
        assert inspector.state("pay") == "OPEN"
        clock.advance(31)
        assert breaker.call(lambda: "ok") == "ok"
        assert inspector.transitions("pay") == [
            ("CLOSED", "OPEN"),
            ("OPEN", "HALF_OPEN"),
            ("HALF_OPEN", "CLOSED"),
        ]
        inspector.force_open("pay")
        assert inspector.state("pay") == "OPEN"
        inspector.reset()
        assert (inspector.state("pay"), inspector.transitions("pay")) == ("CLOSED", [])
        inspector.stop()
    assert breaker.listeners == ()


def test_native_protocol_adapter_and_names() -> None:
    native = NativeLike()
    native.force_open()
    inspector = BreakerInspector({"db": native, "pay": pybreaker.CircuitBreaker()}).start()
    assert inspector.names == ["db", "pay"]
    assert inspector.state("db") == "CLOSED"
    inspector.force_open("db")
    assert inspector.transitions("db") == [("CLOSED", "OPEN")]
    inspector.stop()
    assert native._listeners == []


def test_assert_state_message_has_expected_actual_and_history() -> None:
    inspector = BreakerInspector({"db": NativeLike()}).start()
    inspector.force_open("db")
    with pytest.raises(AssertionError) as info:
        inspector.assert_state("db", "CLOSED")
    message = str(info.value)
    assert "expected CLOSED, actual OPEN" in message
    assert "CLOSED -> OPEN" in message


def test_pybreakers_decorator_on_an_async_def_is_named_when_it_never_opens() -> None:
    # The decorator calls the coroutine function and counts the coroutine it gets back as a
    # success: the breaker stayed CLOSED with no transitions, and no hint (a trial's app).
    breaker = pybreaker.CircuitBreaker(fail_max=2, reset_timeout=30)

    @breaker
    async def fetch_price() -> float:
        raise ConnectionError("provider down")

    inspector = BreakerInspector({"prices": breaker}).start()
    for _ in range(3):
        with pytest.raises(ConnectionError):
            asyncio.run(fetch_price())
    with pytest.raises(AssertionError) as failure:
        inspector.assert_state("prices", "OPEN")
    assert "pybreaker was handed the async def " in str(failure.value)
    assert "fetch_price" in str(failure.value)
    assert "`with breaker.calling():`" in str(failure.value)

    sync_breaker = pybreaker.CircuitBreaker(fail_max=5)  # a sync function: no such note
    inspector = BreakerInspector({"sync": sync_breaker}).start()
    sync_breaker.call(lambda: None)
    with pytest.raises(AssertionError) as failure:
        inspector.assert_state("sync", "OPEN")
    assert "async def" not in str(failure.value)


def test_unknown_breaker_and_unadaptable_objects() -> None:
    inspector = BreakerInspector({"db": NativeLike()})
    with pytest.raises(KeyError, match="breakers: \\['db'\\]"):
        inspector.state("nope")
    with pytest.raises(TypeError, match="hardening_breakers"):
        adapt_breaker(object())
    assert isinstance(adapt_breaker(pybreaker.CircuitBreaker()), PyBreakerAdapter)


class ReadAndResetOnly:
    """A hand-written breaker as many are: a state, a reset, nothing to open it by hand."""

    def __init__(self) -> None:
        self.failures = 0
        self.opened_at: float | None = None

    @property
    def state(self) -> str:
        return "closed" if self.opened_at is None else "open"

    def record_failure(self) -> None:
        self.failures += 1
        if self.failures >= 3:
            self.opened_at = 0.0

    def reset(self) -> None:
        self.failures, self.opened_at = 0, None


def test_a_breaker_without_force_open_is_read_and_reset() -> None:
    breaker = ReadAndResetOnly()
    inspector = BreakerInspector({"rates": breaker}).start()
    for _ in range(3):
        breaker.record_failure()
    assert inspector.state("rates") == "OPEN"
    assert inspector.transitions("rates") == [("CLOSED", "OPEN")]
    # Read by its state alone, it may move to HALF_OPEN only in its own call(): said so.
    with pytest.raises(AssertionError, match=r"in its own call\(\) once the open timeout"):
        inspector.assert_state("rates", "HALF_OPEN")
    inspector.reset("rates")
    assert inspector.state("rates") == "CLOSED"
    with pytest.raises(TypeError, match=r"ReadAndResetOnly has no force_open\(\)"):
        inspector.force_open("rates")


def test_adapters_on_their_own_clock_are_advanced_and_clean_runs_report_nothing() -> None:
    class OwnClockAdapter:
        """A breaker on a manual clock: the adapter's advance() is how time reaches it."""

        def __init__(self) -> None:
            self.now, self.opened_at = 0.0, None

        def state(self) -> str:
            if self.opened_at is None:
                return "closed"
            return "half-open" if self.now - self.opened_at >= 10 else "open"

        def force_open(self) -> None:
            self.opened_at = self.now

        def reset(self) -> None:
            self.opened_at = None

        def advance(self, seconds: float) -> None:
            self.now += seconds

    inspector = BreakerInspector({"own": OwnClockAdapter()}).start()
    assert "own" in inspector
    inspector.force_open("own")
    inspector.advance(10)
    assert inspector.transitions("own") == [("CLOSED", "OPEN"), ("OPEN", "HALF_OPEN")]
    assert inspector.problems_report() is None
    inspector.stop()


class AsyncLockBreaker:
    """A hand-written asyncio breaker: every method a coroutine behind an ``asyncio.Lock``."""

    def __init__(self) -> None:
        self._state = "closed"
        self.lock = asyncio.Lock()

    async def state(self) -> str:
        async with self.lock:
            return self._state

    async def force_open(self) -> None:
        async with self.lock:
            self._state = "open"

    def reset(self) -> None:
        self._state = "closed"


def test_a_breaker_with_async_methods_is_read_between_requests() -> None:
    breakers = BreakerInspector({"quotes": AsyncLockBreaker()}).start()
    try:
        breakers.force_open("quotes")
        assert breakers.state("quotes") == "OPEN"
        assert breakers.transitions("quotes") == [("CLOSED", "OPEN")]
        breakers.reset("quotes")
        assert breakers.state("quotes") == "CLOSED"
    finally:
        breakers.stop()


@pytest.mark.anyio
async def test_one_that_would_wait_says_so_instead_of_taking_a_coroutine_for_a_state() -> None:
    breaker = AsyncLockBreaker()
    breakers = BreakerInspector({"quotes": breaker}).start()
    try:
        async with breaker.lock:  # held by a request in flight
            with pytest.raises(TypeError, match=r"state\(\) is a coroutine that waits"):
                breakers.state("quotes")
        assert breakers.state("quotes") == "CLOSED"
    finally:
        breakers.stop()


class _LoopStoreBreaker:
    """Its state in an async store whose client asks for the running loop first (fakeredis,
    redis.asyncio), and wraps the error in its own, as redis-py's ConnectionError does."""

    async def state(self) -> str:
        try:
            asyncio.get_running_loop()
        except RuntimeError as error:
            raise ConnectionError(str(error)) from error
        return "CLOSED"

    async def force_open(self) -> None: ...

    async def reset(self) -> None: ...


def test_one_whose_store_needs_a_running_loop_is_said_so_not_said_a_network_problem() -> None:
    # A trial's fakeredis breaker, read before an async test: "network:ConnectionError ... give
    # the app an in-process store (fakeredis)", which it had.
    with pytest.raises(RuntimeError) as info:
        BreakerInspector({"rates": _LoopStoreBreaker()})
    said = str(info.value)
    assert "state() is a coroutine that needs a running event loop" in said
    assert "Use hardened_client" in said
    assert "in-process store" not in said


class _Flag:
    """A hand-written breaker: a flag the app sets."""

    def __init__(self) -> None:
        self.is_open = False


class _FlagAdapter:
    def __init__(self, breaker: _Flag) -> None:
        self.breaker = breaker

    def state(self) -> str:
        return "OPEN" if self.breaker.is_open else "CLOSED"

    def force_open(self) -> None:
        self.breaker.is_open = True

    def reset(self) -> None:
        self.breaker.is_open = False


class _WrappingRegistry:
    """``items()`` wrapping each breaker in a new adapter at every read, as a conftest's
    ``return [(n, Adapter(b)) for n, b in registry.items()]`` does."""

    def __init__(self, breakers: dict[str, _Flag]) -> None:
        self.breakers = breakers

    def items(self) -> list[tuple[str, _FlagAdapter]]:
        return [(name, _FlagAdapter(b)) for name, b in self.breakers.items()]


def test_a_registry_that_wraps_its_breakers_afresh_keeps_their_history() -> None:
    payments = _Flag()
    inspector = BreakerInspector(_WrappingRegistry({"payments": payments})).start()
    payments.is_open = True  # the app's outage opens it
    assert inspector.state("payments") == "OPEN"
    payments.is_open = False  # its probe closes it again
    assert inspector.state("payments") == "CLOSED"
    assert inspector.transitions("payments") == [("CLOSED", "OPEN"), ("OPEN", "CLOSED")]
    assert inspector.all_transitions() == {"payments": [("CLOSED", "OPEN"), ("OPEN", "CLOSED")]}


def test_a_registry_it_cannot_read_is_told_the_forms_it_can() -> None:
    class LookupOnly:  # a registry with get(name) alone
        def get(self, name: str) -> None:
            return None

    with pytest.raises(TypeError) as told:
        BreakerInspector(LookupOnly())
    assert "an object with items()" in str(told.value)
    assert "{name: registry.get(name) for each name}" in str(told.value)
    assert "'Your own breaker'" in str(told.value)


def _quoting_app() -> Starlette:
    breaker = LazyBreaker()  # hand-written, as apps write them: no listener

    async def quote(request: Request) -> JSONResponse:
        if breaker.state == "open":
            return JSONResponse({"cached": True})
        try:
            async with httpx.AsyncClient() as client:
                (await client.get("https://prices.example/p")).raise_for_status()
        except httpx.HTTPError:
            breaker.failed()  # the second opens it
            return JSONResponse({"cached": True})
        breaker.reset()
        return JSONResponse({"cached": False})

    app = Starlette(routes=[Route("/quote", quote)])
    app.state.breakers = {"prices": breaker}
    return app


def test_a_breaker_without_a_listener_is_seen_after_each_request_and_before_the_clock_moves() -> (
    None
):
    # Read only at the end, its moves merged: "CLOSED -> HALF_OPEN", which no breaker makes
    # (a trial's gateway, whose breaker lives in Redis).
    with Harness() as harness:
        harness.build(_quoting_app, {})
        clock = harness.freeze()
        faults = harness.fake_providers(
            {"prices": Provider("https://prices.example", lambda r: httpx.Response(200))}
        )
        breakers = harness.inspect_breakers()
        client = harness.client()
        faults.fail("prices", 503, times=2)
        for _ in range(2):
            client.get("/quote")
        clock.advance(30)  # OPEN, never read: seen before the time moved it on
        assert client.get("/quote").json() == {"cached": False}  # the probe closes it
        faults.fail("prices", 503, times=2)
        for _ in range(2):
            client.get("/quote")  # CLOSED again, then OPEN: each request is looked at
        assert breakers.transitions("prices") == [
            ("CLOSED", "OPEN"),
            ("OPEN", "HALF_OPEN"),
            ("HALF_OPEN", "CLOSED"),
            ("CLOSED", "OPEN"),
        ]


class _StoreDown(pybreaker.CircuitMemoryStorage):
    """pybreaker's storage of a store that went away (Redis refused the connection)."""

    def __init__(self) -> None:
        super().__init__(pybreaker.STATE_CLOSED)
        self.down = False

    @property
    def state(self) -> str:
        if self.down:
            raise ConnectionRefusedError(111, "Connection refused")
        return str(super().state)

    @state.setter
    def state(self, state: str) -> None:
        if self.down:
            raise ConnectionRefusedError(111, "Connection refused")
        pybreaker.CircuitMemoryStorage.state.fset(self, state)  # type: ignore[attr-defined]


def test_a_breaker_whose_store_is_unreachable_names_the_breaker_and_the_ways_out() -> None:
    storage = _StoreDown()
    breaker = pybreaker.CircuitBreaker(fail_max=2, state_storage=storage)
    storage.down = True
    with pytest.raises(RuntimeError) as info:
        BreakerInspector({"rates": breaker})
    message = str(info.value)
    assert "could not read breaker 'rates' (pybreaker.CircuitBreaker)" in message
    assert "ConnectionRefusedError" in message
    assert "fakeredis" in message
    assert isinstance(info.value.__cause__, ConnectionRefusedError)

    storage.down = False
    inspector = BreakerInspector({"rates": breaker})
    storage.down = True
    with pytest.raises(RuntimeError, match="could not close breaker 'rates'"):
        inspector.start()
    with pytest.raises(RuntimeError, match="could not close breaker 'rates'"):
        inspector.reset("rates")


def test_a_breaker_state_it_cannot_parse_is_not_blamed_on_a_store() -> None:
    odd = NativeLike()
    odd.state = "SIDEWAYS"
    with pytest.raises(RuntimeError) as info:
        BreakerInspector({"odd": odd})
    assert "could not read breaker 'odd'" in str(info.value)
    assert "SIDEWAYS" in str(info.value)
    assert "fakeredis" not in str(info.value)


def test_a_breaker_not_made_yet_is_said_to_come_with_its_first_request() -> None:
    # A trial's app made its breaker at the first request: "no breaker named 'openai';
    # breakers: []" alone, in a test that passed only after another test had made it.
    made: dict[str, Any] = {}
    breakers = BreakerInspector(made).start()
    try:
        with pytest.raises(KeyError, match=r"no breaker named 'openai'; breakers: \[\]\. A "):
            breakers.state("openai")
        with pytest.raises(KeyError, match="send that request first"):
            breakers.state("openai")
        made["openai"] = pybreaker.CircuitBreaker(name="openai")
        assert breakers.state("openai") == "CLOSED"  # a live registry: seen once made
    finally:
        breakers.stop()


def test_a_misspelt_breaker_name_is_answered_with_the_close_one() -> None:
    # A trial's typo ("upstrem") was told about breakers made at a first request, which did
    # not apply: the name it meant is said instead.
    breakers = BreakerInspector({"upstream": pybreaker.CircuitBreaker(name="upstream")}).start()
    try:
        with pytest.raises(KeyError) as info:
            breakers.state("upstrem")
        message = str(info.value)
        assert "no breaker named 'upstrem'; breakers: ['upstream']: did you mean 'upstream'?" in (
            message
        )
        assert "first request" not in message
    finally:
        breakers.stop()
