"""A kept app shuts down outside any test (at the session's end, or evicted from the pool): no
test's network guard, fakes or monkeypatches cover that shutdown any more, so the pool refuses
the network itself and says what the shutdown tried."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from pytest_hardening import AppPool, Harness, NetworkGuard


def _deregistering_app(seen: list[str]) -> Callable[[], Starlette]:
    """An app that leaves its service registry when it stops, as Consul clients do."""

    async def home(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        try:
            socket.getaddrinfo("registry.example", 8500)
            seen.append("reached the registry")
        except OSError as error:  # the app carries on: a failed deregistration is logged
            seen.append(type(error).__name__)

    return lambda: Starlette(routes=[Route("/", home)], lifespan=lifespan)


def _reset(_app: Starlette) -> None:
    return None


@pytest.fixture
def outer_guard() -> Iterator[NetworkGuard]:
    """Whatever the pool does, nothing leaves this machine during these tests."""
    with NetworkGuard() as guard:
        yield guard


def _kept_by_a_test(
    pool: AppPool, factory: Callable[[], Starlette], *, refuse_network: bool = True
) -> None:
    with Harness(pool=pool) as harness:
        if refuse_network:
            harness.guard_network()
        harness.build(factory, {}, reset=_reset)
        harness.fake_providers({}, block_network=refuse_network)
        assert harness.client().get("/").status_code == 200


def test_a_kept_app_shut_down_at_the_end_is_refused_the_network_and_said(
    outer_guard: NetworkGuard,
) -> None:
    seen: list[str] = []
    pool = AppPool()
    _kept_by_a_test(pool, _deregistering_app(seen))
    assert seen == []  # kept running, not shut down with its test
    pool.close()
    assert seen == ["NetworkBlockedError"]
    [problem] = pool.shutdown_problems
    assert "registry.example:8500 (name lookup)" in problem
    assert "Starlette, an app kept between tests" in problem
    assert "session-scoped fixture" in problem  # what to do
    assert outer_guard.blocked == []  # the pool's own guard refused it


def test_an_app_evicted_from_the_pool_is_refused_the_network_too(
    outer_guard: NetworkGuard,
) -> None:
    seen: list[str] = []
    pool = AppPool(size=1)
    _kept_by_a_test(pool, _deregistering_app(seen))
    _kept_by_a_test(pool, _deregistering_app([]))  # another factory: the first is evicted
    assert seen == ["NetworkBlockedError"]
    assert len(pool.shutdown_problems) == 1
    assert "more than 1 are kept" in pool.shutdown_problems[0]
    pool.close()
    assert len(pool.shutdown_problems) == 2
    assert outer_guard.blocked == []


def test_an_app_kept_by_a_test_that_allowed_the_network_is_not_guarded(
    outer_guard: NetworkGuard,
) -> None:
    seen: list[str] = []
    pool = AppPool()
    _kept_by_a_test(pool, _deregistering_app(seen), refuse_network=False)
    pool.close()
    assert pool.shutdown_problems == []
    # only this test's own guard stood in the way: the pool left the network to the app
    assert [b.host for b in outer_guard.blocked] == ["registry.example"]


SESSION = """
import socket
from contextlib import asynccontextmanager

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route


@asynccontextmanager
async def lifespan(app):
    yield
    try:
        socket.getaddrinfo("registry.example", 8500)
    except OSError:
        pass


def create_app():
    return Starlette(
        routes=[Route("/", lambda request: PlainTextResponse("ok"))], lifespan=lifespan
    )


@pytest.fixture
def hardening_app_factory():
    return create_app


@pytest.fixture
def hardening_app_reset():
    return lambda app: None


def test_one(hardened_client):
    assert hardened_client.get("/").status_code == 200


def test_two(hardened_client):
    assert hardened_client.get("/").status_code == 200
"""


def test_the_session_end_fails_on_what_a_kept_apps_shutdown_tried(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_kept=SESSION)
    outcome = pytester.runpytest_subprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:cacheprovider", "-n", "0"
    )
    outcome.assert_outcomes(passed=2, errors=1)
    outcome.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_two*",
            "*the lifespan shutdown of Starlette, an app kept between tests, tried to reach*",
            "*registry.example:8500 (name lookup)*",
        ]
    )


FIRST = """
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route


@pytest.fixture
def hardening_app_factory():
    return lambda: Starlette(routes=[Route("/", lambda request: PlainTextResponse("ok"))])


@pytest.fixture
def hardening_app_reset():
    return lambda app: None


def test_first(hardened_client):  # the pool is made here, before the stand-in below
    assert hardened_client.get("/").status_code == 200
"""

REGISTRY_CONFTEST = """
import os
import socket
from contextlib import asynccontextmanager

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route


def deregister():
    socket.getaddrinfo("registry.example", 8500)  # replaced for the session below


@asynccontextmanager
async def lifespan(app):
    yield
    deregister()


@pytest.fixture(scope="session", autouse=True)
def registry_stand_in():
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(globals(), "deregister", lambda: open(os.environ["LEFT"], "w").close())
        yield


@pytest.fixture
def hardening_app_factory():
    return lambda: Starlette(
        routes=[Route("/", lambda request: PlainTextResponse("ok"))], lifespan=lifespan
    )


@pytest.fixture
def hardening_app_reset():
    return lambda app: None
"""


def test_a_session_stand_in_set_up_after_the_pool_still_covers_the_shutdown(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    left = pytester.path / "left"
    monkeypatch.setenv("LEFT", str(left))
    pytester.makepyfile(test_a_first=FIRST)
    registry = pytester.mkpydir("test_b_registry")
    (registry / "conftest.py").write_text(REGISTRY_CONFTEST)
    (registry / "test_registry.py").write_text(
        "def test_second(hardened_client):\n"
        "    assert hardened_client.get('/').status_code == 200\n"
    )
    outcome = pytester.runpytest_subprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:cacheprovider", "-n", "0"
    )
    outcome.assert_outcomes(passed=2)
    assert left.exists()  # the kept app left the registry through the stand-in


def test_a_chaos_session_says_what_its_kept_apps_shutdown_tried(outer_guard: NetworkGuard) -> None:
    from pytest_hardening import AppReuseWarning
    from pytest_hardening.chaos import HarnessSession, Scenario, run_scenarios, send

    seen: list[str] = []
    session = HarnessSession(_deregistering_app(seen), {}, {}, reset=_reset)
    scenario = Scenario(name="up", description="the app answers", method=(send("GET", "/"),))
    with pytest.warns(AppReuseWarning, match=r"registry\.example:8500 \(name lookup\)"):
        results = list(run_scenarios([scenario, scenario], session))
    assert [r.passed for r in results] == [True, True]
    assert seen == ["NetworkBlockedError"]  # one app for both runs, shut down once, refused
    assert outer_guard.blocked == []
