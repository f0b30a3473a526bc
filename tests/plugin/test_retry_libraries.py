"""An app's own retries with tenacity or backoff under faults: the back-off moves the clock
instead of sleeping, each delay in ``retry_sleeps``; a sleep the app chose is kept; without a
clock the libraries sleep as in production; nothing is left patched."""

from __future__ import annotations

import asyncio
import sys
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

import backoff
import backoff._async
import backoff._sync
import httpx
import httpx_retries
import httpx_retries.retry
import pytest
import retrying
import stamina
import tenacity
import urllib3
import urllib3.util.retry

from pytest_hardening import Clock, FaultInjector, Provider
from pytest_hardening._clock_cache import ClockCache
from pytest_hardening._retry_libraries import VirtualLibrarySleep

from ._sleeps import no_real_sleep, this_thread_only  # noqa: F401 (a fixture)

URL = "https://api.example.com/orders"


def _healthy(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"orders": []})


PROVIDERS = {"orders": Provider("https://api.example.com", _healthy)}


# -- an app's retrying calls, decorated at import as apps do ------------------------------------
@tenacity.retry(
    wait=tenacity.wait_exponential(multiplier=2, max=60),
    stop=tenacity.stop_after_attempt(4),
    reraise=True,
)
def tenacity_sync() -> httpx.Response:
    return httpx.get(URL).raise_for_status()


@tenacity.retry(wait=tenacity.wait_fixed(30), stop=tenacity.stop_after_attempt(3), reraise=True)
async def tenacity_async() -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return (await client.get(URL)).raise_for_status()


@stamina.retry(on=httpx.HTTPError, attempts=3, wait_initial=3, wait_jitter=0, timeout=None)
def stamina_sync() -> httpx.Response:
    return httpx.get(URL).raise_for_status()


# stamina's async retries hand tenacity a sleep of their own (asyncio's or trio's).
@stamina.retry(on=httpx.HTTPError, attempts=3, wait_initial=4, wait_max=60, wait_jitter=0)
async def stamina_async() -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return (await client.get(URL)).raise_for_status()


@backoff.on_exception(backoff.constant, httpx.HTTPError, interval=20, max_tries=3, jitter=None)
def backoff_sync() -> httpx.Response:
    return httpx.get(URL).raise_for_status()


@backoff.on_exception(backoff.expo, httpx.HTTPError, factor=5, max_tries=3, jitter=None)
async def backoff_async() -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return (await client.get(URL)).raise_for_status()


@retrying.retry(
    stop_max_attempt_number=3,
    wait_exponential_multiplier=1000,
    retry_on_exception=lambda exc: isinstance(exc, httpx.HTTPError),
    wrap_exception=False,
)
def retrying_sync() -> httpx.Response:
    return httpx.get(URL).raise_for_status()


def _retry_transport() -> httpx_retries.RetryTransport:
    # A retry layer in the client's transport: 503s are retried, then the last one returned.
    return httpx_retries.RetryTransport(
        retry=httpx_retries.Retry(total=2, backoff_factor=3, backoff_jitter=0)
    )


def httpx_retries_sync() -> httpx.Response:
    with httpx.Client(transport=_retry_transport()) as client:
        return client.get(URL).raise_for_status()


async def httpx_retries_async() -> httpx.Response:
    async with httpx.AsyncClient(transport=_retry_transport()) as client:
        return (await client.get(URL)).raise_for_status()


CALLS: list[tuple[str, Callable[[], Any], list[float]]] = [
    ("tenacity", tenacity_sync, [2.0, 4.0, 8.0]),
    ("tenacity async", lambda: asyncio.run(tenacity_async()), [30.0, 30.0]),
    ("stamina", stamina_sync, [3.0, 5.0]),  # wait_max defaults to 5 s
    ("stamina async", lambda: asyncio.run(stamina_async()), [4.0, 8.0]),
    ("backoff", backoff_sync, [20.0, 20.0]),
    ("backoff async", lambda: asyncio.run(backoff_async()), [5.0, 10.0]),
    ("httpx-retries", httpx_retries_sync, [6.0, 12.0]),
    ("retrying", retrying_sync, [2.0, 4.0]),  # milliseconds in its API: 2**n * 1000
    ("httpx-retries async", lambda: asyncio.run(httpx_retries_async()), [6.0, 12.0]),
]


@pytest.fixture
def faults(clock_cache: ClockCache) -> Iterator[tuple[Clock, FaultInjector]]:
    with Clock(cache=clock_cache) as clock, FaultInjector(PROVIDERS, clock=clock) as injector:
        yield clock, injector


@pytest.mark.usefixtures("no_real_sleep")
@pytest.mark.parametrize(("library", "call", "delays"), CALLS, ids=[c[0] for c in CALLS])
def test_back_off_moves_the_clock_instead_of_sleeping(
    faults: tuple[Clock, FaultInjector], library: str, call: Callable[[], Any], delays: list[float]
) -> None:
    clock, injector = faults
    injector.fail("orders", 503)
    with pytest.raises(httpx.HTTPStatusError):
        call()
    assert injector.retry_sleeps == delays
    assert clock.advanced == sum(delays)
    assert [c.outcome for c in injector.calls("orders")] == ["fail 503"] * (len(delays) + 1)


@pytest.mark.usefixtures("no_real_sleep")
def test_a_call_that_recovers_returns_after_virtual_back_off(
    faults: tuple[Clock, FaultInjector],
) -> None:
    clock, injector = faults
    injector.fail("orders", 503, times=2)
    assert tenacity_sync().status_code == 200
    assert injector.retry_sleeps == [2.0, 4.0]
    assert clock.advanced == 6.0


@pytest.mark.usefixtures("no_real_sleep")
def test_urllib3s_retry_back_off_moves_the_clock(faults: tuple[Clock, FaultInjector]) -> None:
    # What requests retries with (HTTPAdapter(max_retries=Retry(...))); faults reach httpx
    # only, so the failure here is the network guard's refusal of a host off this machine.
    clock, injector = faults
    pool = urllib3.PoolManager(retries=urllib3.util.retry.Retry(total=3, backoff_factor=1))
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        pool.request("GET", "https://pricing.example.com/price", timeout=2)
    assert injector.retry_sleeps == [2.0, 4.0]  # urllib3 2.x: no back-off before the 2nd try
    assert clock.advanced == 6.0
    assert injector.real_sleeps == []


def test_a_sleep_the_app_chose_is_kept(faults: tuple[Clock, FaultInjector]) -> None:
    _, injector = faults
    slept: list[float] = []
    retrying = tenacity.Retrying(
        sleep=slept.append, wait=tenacity.wait_fixed(7), stop=tenacity.stop_after_attempt(2)
    )
    injector.fail("orders", 503)
    with pytest.raises(tenacity.RetryError):
        retrying(tenacity_sync.__wrapped__)  # type: ignore[attr-defined]
    assert slept == [7.0]
    assert injector.retry_sleeps == []


def test_without_a_clock_the_libraries_sleep_as_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", this_thread_only(slept.append, time.sleep))
    with FaultInjector(PROVIDERS) as injector:
        injector.fail("orders", 503)
        for call in (tenacity_sync, backoff_sync):
            with pytest.raises(httpx.HTTPStatusError):
                call()
        assert injector.retry_sleeps == []
        assert injector.real_sleeps == [2.0, 4.0, 8.0, 20.0, 20.0]
    assert slept == [2.0, 4.0, 8.0, 20.0, 20.0]


def test_the_faults_fixture_warns_when_a_test_without_a_clock_slept_for_real(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(
        """
        import pytest
        from pytest_hardening import Provider

        @pytest.fixture
        def hardening_providers():
            return {"orders": Provider("https://api.example.com")}
        """
    )
    pytester.makepyfile(
        """
        import time

        import httpx
        import tenacity

        @tenacity.retry(wait=tenacity.wait_fixed(0.3), stop=tenacity.stop_after_attempt(3))
        def fetch():
            return httpx.get("https://api.example.com/orders").raise_for_status()

        def test_outage_without_a_clock(faults, monkeypatch):
            monkeypatch.setattr(time, "sleep", lambda seconds: None)  # the test waits for nobody
            faults.fail("orders", 503, times=2)
            assert fetch().status_code == 200

        def test_outage_with_a_clock(faults, clock):
            faults.fail("orders", 503, times=2)
            assert fetch().status_code == 200
        """
    )
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*test_outage_without_a_clock*",
            "*RealSleepWarning: the app slept 0.60 s for real in 2 sleep(s) of back-off the plugin"
            " knows, from tenacity (2) (the test has no clock)*",
        ]
    )
    assert "test_outage_with_a_clock" not in result.stdout.str().split("warnings summary")[-1]


def test_nothing_stays_patched(clock_cache: ClockCache) -> None:
    with Clock(cache=clock_cache) as clock, FaultInjector(PROVIDERS, clock=clock):
        assert tenacity_sync.retry.sleep is not tenacity.nap.sleep  # type: ignore[attr-defined]
        assert backoff._sync.time is not time
        assert httpx_retries.retry.asyncio is not asyncio
        assert urllib3.util.retry.time is not time
    assert "sleep" not in vars(tenacity.BaseRetrying)
    assert "sleep" not in vars(tenacity.AsyncRetrying)
    assert tenacity_sync.retry.sleep is tenacity.nap.sleep  # type: ignore[attr-defined]
    assert backoff._sync.time is time
    assert backoff._async.asyncio is asyncio
    assert httpx_retries.retry.time is time
    assert retrying.time is time
    assert httpx_retries.retry.asyncio is asyncio
    assert urllib3.util.retry.time is time


@pytest.mark.usefixtures("no_real_sleep")
def test_a_library_the_app_imports_after_the_start_is_reached_once_built(
    monkeypatch: pytest.MonkeyPatch,
    clock_cache: ClockCache,
) -> None:
    # As when the harness starts the faults before the app's build imports its retry library.
    hidden = {name: sys.modules[name] for name in ("tenacity", "backoff")}
    for name in hidden:
        monkeypatch.delitem(sys.modules, name)
    with Clock(cache=clock_cache) as clock, FaultInjector(PROVIDERS, clock=clock) as injector:
        assert backoff._sync.time is time  # not imported as far as the injector could tell
        for name, module in hidden.items():
            monkeypatch.setitem(sys.modules, name, module)
        injector.intercept_imported()  # what the harness calls after the build
        injector.fail("orders", 503)
        with pytest.raises(httpx.HTTPStatusError):
            backoff_sync()
        assert injector.retry_sleeps == [20.0, 20.0]
    assert backoff._sync.time is time


def test_an_apps_own_module_named_like_a_library_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
    clock_cache: ClockCache,
) -> None:
    own = types.ModuleType("retrying")  # the app's retrying.py, not the library
    own.time = time  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "retrying", own)
    with Clock(cache=clock_cache) as clock, FaultInjector(PROVIDERS, clock=clock):
        assert own.time is time  # type: ignore[attr-defined]


def test_an_inner_virtual_back_off_takes_over_until_it_stops() -> None:
    """Nested injectors: the inner one's stand-ins replace the outer one's, then give way."""

    class Moved:
        def __init__(self) -> None:
            self.by = 0.0

        def advance(self, seconds: float) -> None:
            self.by += seconds

    clock = Moved()
    outer_sleeps: list[float] = []
    inner_sleeps: list[float] = []
    outer = VirtualLibrarySleep(lambda: clock, outer_sleeps).start()
    try:
        inner = VirtualLibrarySleep(lambda: clock, inner_sleeps).start()
        try:
            backoff._sync.time.sleep(3)
            httpx_retries.retry.time.sleep(5)
        finally:
            inner.stop()
        backoff._sync.time.sleep(4)
    finally:
        outer.stop()
    assert (inner_sleeps, outer_sleeps, clock.by) == ([3.0, 5.0], [4.0], 12.0)
    assert backoff._sync.time is time
    assert httpx_retries.retry.time is time


@tenacity.retry(wait=tenacity.wait_fixed(30), stop=tenacity.stop_after_attempt(3), reraise=True)
def tenacity_without_http() -> None:
    raise ConnectionError("the service's own failure")


@pytest.mark.usefixtures("no_real_sleep")
def test_the_clock_alone_moves_the_libraries_back_off(clock: Clock) -> None:
    # A service test with `clock` and no `faults`: tenacity slept its 60 s for real while the
    # clock stood still (only an injector made the back-off virtual).
    before = clock.advanced
    with pytest.raises(ConnectionError):
        tenacity_without_http()
    assert clock.advanced - before == 60.0


def test_the_clocks_back_off_gives_way_to_an_injector_and_leaves_nothing_patched() -> None:
    from pytest_hardening import Harness

    with Harness() as harness:
        clock = harness.freeze()
        assert "sleep" in vars(tenacity.BaseRetrying)  # the clock's own back-off
        injector = harness.fake_providers(PROVIDERS)
        injector.fail("orders", 503)
        with pytest.raises(httpx.HTTPStatusError):
            tenacity_sync()
        assert injector.retry_sleeps == [2.0, 4.0, 8.0]  # the injector's, once it serves
        assert clock.advanced == 14.0
    assert "sleep" not in vars(tenacity.BaseRetrying)
    assert tenacity_sync.retry.sleep is tenacity.nap.sleep  # type: ignore[attr-defined]


def test_two_import_watches_both_see_an_import(monkeypatch: pytest.MonkeyPatch) -> None:
    # The clock's back-off and an injector each watch for retry libraries imported later: each
    # asked the other for the module's spec, without end (RecursionError).
    from pytest_hardening._import_watch import ImportWatch

    seen: list[str] = []
    outer = ImportWatch({"retrying"}, lambda: seen.append("outer")).start()
    inner = ImportWatch({"retrying"}, lambda: seen.append("inner")).start()
    try:
        monkeypatch.delitem(sys.modules, "retrying")
        import retrying as again  # noqa: F401
    finally:
        inner.stop()
        outer.stop()
    assert sorted(seen) == ["inner", "outer"]
