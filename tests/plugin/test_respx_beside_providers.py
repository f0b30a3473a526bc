"""A respx route of the test's own that names a provider's host answers it, whichever fixture
started first; a catch-all route leaves the providers to their faults; a fault its route kept
from the provider says so."""

from __future__ import annotations

import httpx
import pytest
import respx

from pytest_hardening import FaultInjector, Provider
from pytest_hardening._exception_chain import chain

PROVIDERS = {
    "jira": Provider("https://jira.example.org", lambda r: httpx.Response(200, json={"from": 1}))
}


@pytest.mark.parametrize("respx_first", [True, False])
def test_a_route_naming_the_providers_host_wins_in_either_order(respx_first: bool) -> None:
    router = respx.mock(assert_all_called=False)
    injector = FaultInjector(PROVIDERS)
    first, second = (router, injector) if respx_first else (injector, router)
    with first, second:
        route = router.get("https://jira.example.org/issue/1").respond(json={"from": "respx"})
        assert httpx.get("https://jira.example.org/issue/1").json() == {"from": "respx"}
        assert route.called
        # Other paths of the host are still the provider's.
        assert httpx.get("https://jira.example.org/issue/2").json() == {"from": 1}


def test_a_catch_all_route_leaves_the_providers_to_their_faults() -> None:
    with FaultInjector(PROVIDERS) as injector, respx.mock(assert_all_called=False) as router:
        router.route().respond(json={"from": "catch-all"})
        injector.fail("jira", 503)
        assert httpx.get("https://jira.example.org/issue/1").status_code == 503
        assert httpx.get("https://other.example.com/").json() == {"from": "catch-all"}


def test_a_fault_a_route_of_the_test_kept_from_the_provider_says_so() -> None:
    with FaultInjector(PROVIDERS) as injector, respx.mock(assert_all_called=False) as router:
        router.get("https://jira.example.org/issue/1").respond(json={})
        injector.fail("jira", 503)
        httpx.get("https://jira.example.org/issue/1")
        report = injector.unused_report()
    assert report is not None
    assert "a respx route of the test's own answered its calls" in report


@pytest.mark.parametrize("respx_first", [True, False])
def test_a_respx_mock_over_httpx_transports_keeps_its_place(respx_first: bool) -> None:
    # respx's using="httpx" replaces httpx's own transport methods, as pytest-httpx does: the
    # providers' faults come after it when it started first, as before.
    router = respx.mock(using="httpx", assert_all_called=False, assert_all_mocked=False)
    injector = FaultInjector(PROVIDERS)
    first, second = (router, injector) if respx_first else (injector, router)
    with first, second:
        route = router.get("https://jira.example.org/issue/1").respond(json={"from": "respx"})
        assert httpx.get("https://jira.example.org/issue/1").json() == {"from": "respx"}
        assert route.called
        assert injector.calls("jira") == []


@pytest.mark.anyio
async def test_an_async_client_reads_a_handlers_sync_body() -> None:
    # A handler's answer built from a plain iterator has a sync stream only.
    providers = {
        "feed": Provider(
            "https://feed.example.org", lambda r: httpx.Response(200, content=iter([b"a", b"b"]))
        )
    }
    with FaultInjector(providers):
        async with httpx.AsyncClient() as client:
            response = await client.get("https://feed.example.org/items")
    assert response.content == b"ab"


def test_a_fault_a_mock_in_front_of_the_faults_kept_says_so() -> None:
    # An httpx.MockTransport of the test's own (pytest-httpx's httpx_mock likewise) answers
    # before the faults: the call log stays empty, the report says who answered instead.
    with FaultInjector(PROVIDERS) as injector:
        injector.fail("jira", 503)
        mocked = httpx.MockTransport(lambda request: httpx.Response(200))
        with httpx.Client(transport=mocked) as own:
            assert own.get("https://jira.example.org/issue/1").status_code == 200
        report = injector.unused_report()
    assert report is not None
    assert (
        "the app sent 1 request(s) to its host through httpx, and none reached the faults: a "
        "mock in front of them answered (pytest-httpx's httpx_mock" in report
    )


def test_pytest_httpxs_mock_in_front_of_a_fault_is_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx
        import pytest
        from pytest_hardening import Provider

        @pytest.fixture
        def hardening_providers():
            return {"jira": Provider("https://jira.example.org", lambda r: httpx.Response(200))}

        def test_mocked_over(httpx_mock, faults):
            httpx_mock.add_response(url="https://jira.example.org/issue/1")
            faults.fail("jira", 503)
            assert httpx.get("https://jira.example.org/issue/1").status_code == 200
        """
    )
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*fail on provider 'jira' (status=503): never triggered: the app sent 1 request(s)*"]
    )


def _causes(error: BaseException) -> list[str]:
    return [type(e).__name__ for e in chain(error)]  # each once: a loop ends it


def test_an_unregistered_host_raises_without_respxs_loop_of_causes() -> None:
    # respx raises a side effect's error "from" its SideEffectError, which is "from" the error:
    # a loop that hangs code walking __cause__ (a trial's error reporter did).
    with FaultInjector(PROVIDERS) as injector:
        injector.allow_unregistered()
        with pytest.raises(httpx.ConnectError) as info:
            httpx.get("https://nobody.example.org/")
    assert _causes(info.value) == ["UnregisteredHostError"]


def test_a_fault_beside_pytest_httpx_raises_without_respxs_loop_of_causes(
    pytester: pytest.Pytester,
) -> None:
    # Beside pytest-httpx the faults are answered through the catch-all respx route.
    pytester.makepyfile(
        """
        import httpx
        import pytest
        from pytest_hardening import Provider

        @pytest.fixture
        def hardening_providers():
            return {"jira": Provider("https://jira.example.org", lambda r: httpx.Response(200))}

        @pytest.mark.httpx_mock(should_mock=lambda request: request.url.host == "other.example")
        def test_timeout(httpx_mock, faults):
            faults.timeout("jira")
            with pytest.raises(httpx.ReadTimeout) as info:
                httpx.get("https://jira.example.org/issue/1")
            assert info.value.__cause__ is None and info.value.__context__ is None
        """
    )
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=1)
