"""A breaker that outlives the app (module-level, as many apps keep them) is closed after every
test that built the app, whether the test asked for `breakers` or not: one test's outage never
reaches the next."""

from __future__ import annotations

import pytest

APP = """
import httpx
import pybreaker
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from pytest_hardening import Provider

BREAKER = pybreaker.CircuitBreaker(fail_max=3, reset_timeout=30)  # outlives every app


def fetch():
    return httpx.get("https://pricing.example.com/price").raise_for_status().json()["price"]


def quote(request):
    try:
        return JSONResponse({"price": BREAKER.call(fetch), "cached": False})
    except (httpx.HTTPError, pybreaker.CircuitBreakerError):
        return JSONResponse({"price": 9.99, "cached": True})


def create_app():
    app = Starlette(routes=[Route("/quote", quote)])
    app.state.breakers = {"pricing": BREAKER}
    return app


@pytest.fixture
def hardening_app_factory():
    return create_app


@pytest.fixture
def hardening_providers():
    healthy = lambda request: httpx.Response(200, json={"price": 10.5})
    return {"pricing": Provider("https://pricing.example.com", healthy)}
"""

TESTS = """
from conftest import BREAKER


def test_a_opens_it_without_the_breakers_fixture(hardened_client, faults):
    faults.fail("pricing", 503)
    for _ in range(3):
        hardened_client.get("/quote")
    assert BREAKER.current_state == "open"


def test_b_opens_it_with_the_breakers_fixture(hardened_client, faults, breakers):
    faults.fail("pricing", 503)
    for _ in range(3):
        hardened_client.get("/quote")
    assert breakers.state("pricing") == "OPEN"


def test_c_sees_a_healthy_provider(hardened_client, faults):
    assert hardened_client.get("/quote").json() == {"price": 10.5, "cached": False}


def test_d_plain_code_after_them():
    assert BREAKER.current_state == "closed"
"""


@pytest.mark.parametrize(
    "order",
    [
        ("a", "c", "d"),
        ("b", "c", "d"),
        ("a", "d"),
        ("b", "d"),
        ("c", "a", "d"),
    ],
)
def test_a_module_level_breaker_opened_in_one_test_is_closed_for_the_next(
    pytester: pytest.Pytester, order: tuple[str, ...]
) -> None:
    names = {
        "a": "test_a_opens_it_without_the_breakers_fixture",
        "b": "test_b_opens_it_with_the_breakers_fixture",
        "c": "test_c_sees_a_healthy_provider",
        "d": "test_d_plain_code_after_them",
    }
    result = run_in_order(pytester, APP, TESTS, *(names[key] for key in order))
    result.assert_outcomes(passed=len(order))


def run_in_order(
    pytester: pytest.Pytester, conftest: str, tests: str, *names: str
) -> pytest.RunResult:
    """Run the tests ``names`` of the module ``tests`` (its text), in that order."""
    pytester.makeconftest(conftest)
    pytester.makepyfile(test_order=tests)
    ids = [f"test_order.py::{name}" for name in names]
    return pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio", *ids
    )


def test_an_app_without_breakers_needs_none(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(APP.replace('    app.state.breakers = {"pricing": BREAKER}\n', ""))
    pytester.makepyfile(
        test_quotes="""
        def test_quote(hardened_client, faults):
            assert hardened_client.get("/quote").json()["price"] == 10.5
        """
    )
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=1)


def test_the_harness_closes_breakers_it_was_given() -> None:
    pybreaker = pytest.importorskip("pybreaker")
    from pytest_hardening import Harness

    breaker = pybreaker.CircuitBreaker(fail_max=1)
    with Harness() as harness:
        harness.close_breakers({"pricing": breaker})
        breaker.open()
    assert breaker.current_state == "closed"


def test_an_override_that_fails_only_fails_tests_that_ask_for_breakers(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(
        APP.replace('    app.state.breakers = {"pricing": BREAKER}\n', "")
        + """

@pytest.fixture
def hardening_breakers(hardened_app):
    return hardened_app.state.breakers  # AttributeError: this app has none
"""
    )
    pytester.makepyfile(
        test_quotes="""
        def test_quote(hardened_client, faults):
            assert hardened_client.get("/quote").json()["price"] == 10.5


        def test_asks_for_them(hardened_client, breakers):
            pass
        """
    )
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*test_asks_for_them*AttributeError*"])


def test_a_service_tested_alone_has_its_breakers_without_an_app(
    pytester: pytest.Pytester,
) -> None:
    # A breaker around a service called directly, no app built (no factory configured): the
    # breakers fixture asked for the app first, and failed on the unconfigured factory.
    pytester.makeconftest(
        """
        import pybreaker
        import pytest

        BREAKER = pybreaker.CircuitBreaker(fail_max=1, reset_timeout=30)


        @pytest.fixture
        def hardening_breakers():
            return {"rates": BREAKER}
        """
    )
    pytester.makepyfile(
        test_service="""
        import pybreaker
        import pytest

        from conftest import BREAKER


        def fetch():
            raise ConnectionError("down")


        def test_opens_then_half_opens(breakers, clock):
            with pytest.raises(pybreaker.CircuitBreakerError):  # the call that opens it
                BREAKER.call(fetch)
            breakers.assert_state("rates", "OPEN")
            clock.advance(31)
            assert breakers.state("rates") in ("OPEN", "HALF_OPEN")
        """
    )
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=1)


SERVICE_CONFTEST = """
import pybreaker
import pytest

BREAKER = pybreaker.CircuitBreaker(fail_max=1, reset_timeout=30)


@pytest.fixture
def hardening_breakers():
    return {"rates": BREAKER}
"""

SERVICE_TESTS = """
import pybreaker
import pytest

from conftest import BREAKER


def fetch():
    raise ConnectionError("down")


def test_a_opens_it_without_the_breakers_fixture(faults):
    with pytest.raises(pybreaker.CircuitBreakerError):
        BREAKER.call(fetch)
    assert BREAKER.current_state == "open"


def test_b_opens_it_under_the_clock(clock):
    with pytest.raises(pybreaker.CircuitBreakerError):
        BREAKER.call(fetch)
    assert BREAKER.current_state == "open"


def test_c_finds_it_closed(faults):
    assert BREAKER.current_state == "closed"
"""


@pytest.mark.parametrize("first", ["a", "b"])
def test_a_service_tested_alone_leaves_its_breakers_closed_for_the_next_test(
    pytester: pytest.Pytester, first: str
) -> None:
    # No app built, `breakers` not asked for: the override gives them without an app.
    opener = {
        "a": "test_a_opens_it_without_the_breakers_fixture",
        "b": "test_b_opens_it_under_the_clock",
    }[first]
    result = run_in_order(
        pytester, SERVICE_CONFTEST, SERVICE_TESTS, opener, "test_c_finds_it_closed"
    )
    result.assert_outcomes(passed=2)


def test_an_override_that_needs_the_app_does_not_build_one_for_a_test_without(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(
        APP
        + """

BUILT = []


@pytest.fixture
def hardening_app_factory():
    def build():
        BUILT.append(1)
        return create_app()
    return build


@pytest.fixture
def hardening_breakers(hardened_app):
    return hardened_app.state.breakers
"""
    )
    pytester.makepyfile(
        test_quotes="""
        import httpx
        from conftest import BUILT


        def test_a_service_call_without_the_app(faults):
            assert httpx.get("https://pricing.example.com/price").json() == {"price": 10.5}


        def test_after_it():
            assert BUILT == []
        """
    )
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=2)
