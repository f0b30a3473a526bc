"""The plugin seen from outside: hooks, options, markers, report, failure output, inertness,
isolation and coexistence, through pytester (in-process unless a subprocess is required)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

HERE = Path(__file__).parent
# hypothesis' plugin costs seconds per in-process run and is irrelevant here.
# The inner runs set pytest-asyncio's loop scope (else each warns that it is unset).
FAST = ("-p", "no:hypothesispytest", "-o", "asyncio_default_fixture_loop_scope=function")
# For subprocess runs with PYTEST_DISABLE_PLUGIN_AUTOLOAD: the plugins installed here (hypothesis,
# randomly, pytest-httpx ...) cost over a second of imports in every fresh interpreter.
ONLY_HARDENING = ("-p", "pytest_hardening", "-p", "no:cacheprovider")

CONFTEST = """
import httpx
import pytest
from pytest_hardening import Provider
import weather_app

@pytest.fixture
def hardening_app_factory():
    return weather_app.create_app

@pytest.fixture
def hardening_dev_env():
    return {"APP_ENV": "development", "SENTRY_DSN": "https://public@sentry.example/1",
            "DB_PASSWORD": "hunter2-secret"}

@pytest.fixture
def hardening_prod_env():
    return {"APP_ENV": "production", "WEATHER_API_URL": "https://api.weather.example",
            "WEATHER_API_KEY": "wk_live_0123456789", "SENTRY_DSN": "https://public@sentry.example/1"}

@pytest.fixture
def hardening_providers():
    return {"weather": Provider("https://api.weather.example",
                                healthy=lambda r: httpx.Response(200, json={"temp_c": 21}))}
"""


@pytest.fixture(scope="module", autouse=True)
def _warm_imports() -> None:
    # pytester removes modules first imported during an in-process run; importing what the
    # app and Sentry's integrations load lazily once, up front, keeps each run fast.
    from pytest_hardening import EnvPatch, SentryCapture, SentryGuard

    from .weather import weather_app

    guard = SentryGuard().start()
    try:
        with EnvPatch({"SENTRY_DSN": "https://public@sentry.example/1"}):
            app = weather_app.create_app()
        SentryCapture().attach()  # nothing may leave for the fake DSN
        from starlette.testclient import TestClient

        with TestClient(app) as client:
            client.get("/time")
    finally:
        guard.stop()


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(weather_app=(HERE / "weather" / "weather_app.py").read_text())
    pytester.makeconftest(CONFTEST)
    return pytester


def test_header_summary_json_report_and_chaos_marker(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_flow="""
        import pytest

        @pytest.mark.chaos
        def test_outage(hardened_client, faults, clock, breakers):
            faults.fail("weather")
            for _ in range(3):
                hardened_client.get("/forecast/x")
            assert breakers.state("weather") == "OPEN"

        def test_plain():
            assert True
        """
    )
    result = project.runpytest(*FAST, "--hardening-seed=123", "--hardening-report=out/report.json")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*- hardening -*",
            "1 test(s) used hardening fixtures (0 not passed)",
            "provider calls: 3; faults set: weather fail ×1",
            "breaker transitions: weather CLOSED→OPEN ×1",
        ]
    )
    report = json.loads((project.path / "out" / "report.json").read_text())
    assert report["seed"] == 123
    [record] = report["tests"]
    assert record["nodeid"] == "test_flow.py::test_outage"
    assert record["faults"] == [
        {"provider": "weather", "kind": "fail", "times": None, "status": 503}
    ]
    assert record["calls"] == {"weather": {"fail 503": 3}}
    assert record["transitions"] == {"weather": [["CLOSED", "OPEN"]]}
    selected = project.runpytest(*FAST, "-m", "chaos")
    selected.assert_outcomes(passed=1, deselected=1)


def test_the_summary_tells_expected_failures_from_tests_that_did_not_pass(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        test_outcomes="""
        import pytest

        @pytest.mark.xfail(strict=True, reason="a known bug of the app")
        def test_known_bug(hardened_client):
            assert hardened_client.get("/nowhere").status_code == 200

        def test_broken(hardened_client):
            assert hardened_client.get("/nowhere").status_code == 200
        """
    )
    result = project.runpytest(*FAST)
    result.assert_outcomes(failed=1, xfailed=1)
    result.stdout.fnmatch_lines(["2 test(s) used hardening fixtures (1 not passed, 1 xfailed)"])


def test_random_faults_replay_from_the_seed(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_random="""
        import pytest

        @pytest.mark.parametrize("case", ["a", "b"])
        def test_random(hardened_client, faults, case):
            faults.random("weather", 0.5)
            codes = [hardened_client.get("/sync-forecast/x").json()["status"] for _ in range(16)]
            print("CODES", case, codes)
        """
    )

    def codes(seed: int) -> dict[str, str]:
        # Keyed by test case: the inner run may order the two cases either way.
        result = project.runpytest(*FAST, "-s", f"--hardening-seed={seed}")
        result.assert_outcomes(passed=2)
        lines = [
            line[line.index("CODES") :].split(" ", 2) for line in result.outlines if "CODES" in line
        ]
        return {case: codes for _, case, codes in lines}

    first = codes(5)
    assert sorted(first) == ["a", "b"]
    assert first == codes(5)  # the same seed replays the same failures
    assert first["a"] != first["b"]  # each test its own stream


def test_failure_output_names_the_unregistered_host_and_hides_plugin_frames(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        test_failures="""
        def test_swallowed_call(hardened_client):
            assert hardened_client.get("/geo").json() == {"geo": None}  # the app swallowed it

        def test_state(hardened_client, faults, breakers):
            faults.fail("weather", 503, times=1)
            hardened_client.get("/forecast/x")
            breakers.assert_state("weather", "OPEN")

        def test_calls(hardened_client, faults):
            hardened_client.get("/forecast/x")
            faults.assert_called("weather", times=2)
        """
    )
    result = project.runpytest(*FAST)
    result.assert_outcomes(passed=1, failed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_swallowed_call*",
            "*GET https://geo.unknown.example/lookup",
            "*registered providers:",
            "*weather: https://api.weather.example",
            "*declare the host in the hardening_providers fixture.",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            '>       breakers.assert_state("weather", "OPEN")',
            "E       AssertionError: breaker 'weather': expected OPEN, actual CLOSED.",
            "E       recent transitions:",
            "E         (no transitions of weather)",
            "E       recent provider calls:",
            "E         weather: GET https://api.weather.example/v1/forecast/x -> fail 503",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "E       AssertionError: expected 2 call(s) to provider 'weather', got 1.",
            "E         GET https://api.weather.example/v1/forecast/x -> ok 200",
        ]
    )
    assert "_breakers.py" not in result.stdout.str()


def test_inert_and_isolated(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_isolation="""
        import os, time, threading
        import freezegun.api, respx.mocks, sentry_sdk, pytest

        BEFORE = {}

        def test_0_snapshot():
            BEFORE["env"] = dict(os.environ)
            BEFORE["sentry"] = sentry_sdk.get_global_scope().client

        def test_1_uses_everything(hardened_client, faults, clock, breakers, sentry_events, apm):
            faults.fail("weather")
            for _ in range(3):
                hardened_client.get("/forecast/x")
            clock.advance(1000)
            hardened_client.get("/boom")
            assert breakers.state("weather") == "OPEN"
            assert sentry_events.events
            assert apm.endpoint("GET /forecast/{city}").count == 3
            assert os.environ["APP_ENV"] == "development"

        def test_2_nothing_leaked():
            env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
            assert env == {k: v for k, v in BEFORE["env"].items() if k != "PYTEST_CURRENT_TEST"}
            assert time.time is freezegun.api.real_time
            assert time.monotonic is freezegun.api.real_monotonic
            assert respx.mocks.HTTPCoreMocker.routers == []
            assert respx.mocks.HTTPCoreMocker._patches == []
            assert sentry_sdk.get_global_scope().client is BEFORE["sentry"]
            assert not sentry_sdk.get_client().is_active()

        def test_3_fresh_state(hardened_client, breakers, apm, sentry_events, faults):
            assert breakers.state("weather") == "CLOSED"
            assert breakers.transitions("weather") == []
            assert apm.endpoint("GET /forecast/{city}").count == 0
            assert sentry_events.events == []
            assert faults.calls("weather") == []
            assert hardened_client.get("/forecast/x").status_code == 200
        """
    )
    result = project.runpytest(*FAST, "-p", "no:randomly")
    result.assert_outcomes(passed=4)


def test_no_summary_when_no_fixture_was_used(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain():\n    assert True\n")
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(passed=1)
    assert "- hardening -" not in result.stdout.str()


def test_coexists_with_respx_and_pytest_httpx_fixtures(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_neighbours="""
        import httpx
        import pytest

        def test_a_respx(respx_mock):
            respx_mock.get("https://other.example/x").respond(202)
            assert httpx.get("https://other.example/x").status_code == 202

        def test_b_hardened(hardened_client, faults):
            faults.fail("weather", 500, times=1)
            assert hardened_client.get("/sync-forecast/x").json()["status"] == 500
            assert hardened_client.get("/sync-forecast/x").json()["status"] == 200

        def test_c_httpx_mock(httpx_mock):
            httpx_mock.add_response(url="https://other.example/y", status_code=418)
            assert httpx.get("https://other.example/y").status_code == 418

        def test_d_hardened_again(hardened_client, faults):
            assert hardened_client.get("/forecast/x").status_code == 200
            assert len(faults.calls("weather")) == 1

        def test_e_respx_again(respx_mock):
            respx_mock.get("https://other.example/z").respond(204)
            assert httpx.get("https://other.example/z").status_code == 204

        def test_f_respx_beside_faults_in_one_test(faults, respx_mock, hardened_client):
            respx_mock.get("https://other.example/w").respond(203)
            faults.fail("weather", 500, times=1)
            assert httpx.get("https://other.example/w").status_code == 203
            assert hardened_client.get("/sync-forecast/x").json()["status"] == 500

        @pytest.mark.httpx_mock(should_mock=lambda request: request.url.host == "other.example")
        def test_g_httpx_mock_beside_faults_in_one_test(faults, httpx_mock, hardened_client):
            httpx_mock.add_response(url="https://other.example/v", status_code=418)
            faults.fail("weather", 500, times=1)
            assert httpx.get("https://other.example/v").status_code == 418
            assert hardened_client.get("/sync-forecast/x").json()["status"] == 500
        """
    )
    result = project.runpytest(*FAST)
    result.assert_outcomes(passed=7)


def test_missing_configuration_errors_teach(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_unconfigured="""
        import pytest

        def test_app(hardened_app):
            pass

        @pytest.mark.production
        def test_prod(hardening_app_factory, hardened_app):
            pass
        """
    )
    pytester.makeconftest(
        "import pytest\n"
        "@pytest.fixture\n"
        "def hardening_app_factory(request):\n"
        "    if request.node.name == 'test_app':\n"
        "        return request.getfixturevalue('_real_default')\n"
        "    return lambda: None\n"
        "from pytest_hardening._plugin import hardening_app_factory as _real_default\n"
    )
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(errors=2)
    # One at a time: the inner run may order its two tests either way (e.g. pytest-randomly).
    result.stdout.fnmatch_lines(["*override the `hardening_app_factory` fixture in conftest.py*"])
    result.stdout.fnmatch_lines(["*hardening_prod_env is not configured*"])


def test_ini_option_names_the_factory(project: pytest.Pytester) -> None:
    project.makeconftest("")  # no fixture overrides: the ini option alone must do
    project.makeini("[pytest]\nhardening_app_factory = weather_app:create_app\n")
    project.makepyfile(
        test_ini="""
        def test_time(hardened_client, clock):
            clock.advance(5)
            assert hardened_client.get("/time").json()["monotonic"] == clock.monotonic()
        """
    )
    project.runpytest(*FAST).assert_outcomes(passed=1)


def test_the_ini_options_factory_is_imported_under_the_tests_environment(
    pytester: pytest.Pytester,
) -> None:
    # `app = create_app()` at the module's end, as most FastAPI apps have it, and its settings
    # read there: imported by the ini option before the test's environment was in place, it
    # failed with KeyError: 'API_KEY' (a trial's app).
    pytester.makepyfile(
        keyed_app="""
        import os

        from starlette.applications import Starlette
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        API_KEY = os.environ["API_KEY"]


        def create_app():
            key = API_KEY
            return Starlette(routes=[Route("/key", lambda r: JSONResponse({"key": key}))])


        app = create_app()
        """
    )
    pytester.makeini("[pytest]\nhardening_app_factory = keyed_app:create_app\n")
    pytester.makeconftest(
        """
        import pytest


        @pytest.fixture
        def hardening_dev_env():
            return {"API_KEY": "dev-key"}


        @pytest.fixture
        def hardening_prod_env():
            return {"API_KEY": "prod-key"}
        """
    )
    pytester.makepyfile(
        test_keyed="""
        import pytest


        def test_development(hardened_client):
            assert hardened_client.get("/key").json() == {"key": "dev-key"}


        @pytest.mark.production
        def test_production(hardened_client):
            assert hardened_client.get("/key").json() == {"key": "prod-key"}
        """
    )
    pytester.runpytest(*FAST).assert_outcomes(passed=2)


@pytest.mark.slow
def test_xdist_workers_are_aggregated(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makepyfile(
        test_spread="""
        import pytest

        @pytest.fixture
        def hardening_dev_env():
            # No Sentry DSN: sentry_sdk.init imports every AI SDK installed here, seconds of
            # CPU in each worker, and this test is about the report, not about Sentry.
            return {"APP_ENV": "development"}

        @pytest.mark.parametrize("n", range(4))
        def test_fault(hardened_client, faults, n):
            faults.fail("weather", 500 + n, times=1)
            faults.random("weather", 0.0)  # records the seed this worker derived
            faults.allow_unused()  # the fail above is replaced on purpose: only its record
            assert hardened_client.get("/sync-forecast/x").json()["status"] == 200
        """
    )
    # Real worker processes: each loads only the plugins it needs (autoload off).
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = project.runpytest_subprocess(
        *ONLY_HARDENING, "-p", "xdist", "-n", "2", "--hardening-report=agg.json"
    )
    result.assert_outcomes(passed=4)
    # faults.random was used: the summary names the seed and how to replay it.
    [summary] = [line for line in result.outlines if line.startswith("4 test(s) used hardening")]
    seed = summary.split("seed ")[1].split()[0]
    assert f"(replay: --hardening-seed={seed})" in summary
    report = json.loads((project.path / "agg.json").read_text())
    assert str(report["seed"]) == seed
    assert len(report["tests"]) == 4
    # Every worker used the controller's random seed, so a failing run can be replayed.
    assert {r["faults"][1]["seed"].split(":")[0] for r in report["tests"]} == {seed}


def test_dash_p_reference_app_testing_gives_a_ready_harness(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_ref="""
        CALL = {"order_id": "1", "shop": "acme.myshopify.com", "phone": "+919876543210"}

        def test_outage(hardened_client, faults, breakers):
            faults.fail("exotel", 503)
            for _ in range(5):
                assert hardened_client.post("/api/calls", json=CALL).status_code == 202
            assert breakers.state("exotel") == "OPEN"
        """
    )
    result = pytester.runpytest(*FAST, "-p", "reference_app.testing")
    result.assert_outcomes(passed=1)


def test_options_are_grouped_and_documented(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*FAST, "--help")
    result.stdout.fnmatch_lines(
        [
            "*--hardening-seed=N*seed for faults.random*",
            "*--hardening-report=PATH*",
            "*write a JSON report of faults*",
            "*hardening_app_factory (string):*",
            "*app factory for the hardening fixtures*",
        ]
    )


def test_a_run_without_hardening_fixtures_prints_nothing_and_imports_no_framework(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_plain="""
        import sys

        HEAVY = ("fastapi", "starlette", "pydantic", "sqlalchemy", "aiosqlite", "uvicorn",
                 "reference_app", "freezegun", "sentry_sdk")

        def test_plain():
            assert [name for name in HEAVY if name in sys.modules] == []
        """
    )
    # A fresh interpreter (sys.modules as a user's run starts), with this plugin alone.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = pytester.runpytest_subprocess(*ONLY_HARDENING)
    result.assert_outcomes(passed=1)
    printed = [line for line in result.outlines if not line.startswith(("plugins: ", "rootdir: "))]
    assert not [line for line in printed if "hardening" in line.lower()]


def test_unused_counted_faults_fail_and_breaker_asserts_show_transitions(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        test_teach="""
        import pytest

        def test_unused(hardened_client, faults):
            faults.fail("weather", 500, times=2)  # the test never calls the weather route

        def test_opted_out(hardened_client, faults):
            faults.allow_unused()
            faults.fail("weather", 500, times=2)

        @pytest.mark.hardening_allow_unused_faults
        def test_marked(hardened_client, faults):
            faults.timeout("weather", times=1)

        def test_state(hardened_client, faults, breakers):
            faults.fail("weather")
            for _ in range(3):
                hardened_client.get("/forecast/x")
            assert breakers.state("weather") == "CLOSED"
        """
    )
    result = project.runpytest(*FAST)
    result.assert_outcomes(passed=3, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*fail on provider 'weather' (times=2, status=500): never triggered*",
            "*faults.allow_unused()*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*breaker 'weather' is OPEN, expected CLOSED",
            "*recent transitions:",
            "*CLOSED -> OPEN",
            "*recent provider calls:",
            "*weather: GET https://api.weather.example/v1/forecast/x -> fail *",
        ]
    )


def test_audit_without_arguments_skips_the_apps_declared_optional_variables(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_audit="""
        def test_audit(prod_config):
            report = prod_config.audit()  # reference_app.config declares PRODUCTION_OPTIONAL
            assert report.accepted == [], str(report)
            assert report.rejected
        """
    )
    result = pytester.runpytest("-p", "reference_app.testing", "-p", "no:randomly", *FAST)
    result.assert_outcomes(passed=1)


def test_nothing_left_unclosed_when_warnings_are_errors(project: pytest.Pytester) -> None:
    # Strict projects run with filterwarnings = error: a stream the fixtures leave unclosed is
    # a ResourceWarning when collected, and then an error in whichever test comes next.
    project.makepyfile(
        """
        import gc
        import pytest

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        def test_sync(hardened_client, faults):
            assert hardened_client.get("/time").status_code == 200

        @pytest.mark.anyio
        async def test_async(hardened_async_client):
            assert (await hardened_async_client.get("/time")).status_code == 200

        def test_collected():
            gc.collect()
        """
    )
    result = project.runpytest("-W", "error", "-p", "no:randomly", *FAST)
    result.assert_outcomes(passed=3)


def test_an_async_mark_whose_plugin_is_not_loaded_is_named(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest

        @pytest.mark.asyncio
        async def test_marked(hardened_async_client):
            pass

        async def test_unmarked(hardened_async_client):
            pass
        """
    )
    result = project.runpytest("-p", "no:asyncio", "-p", "no:randomly", *FAST[:2])
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_marked*",
            "*marked @pytest.mark.asyncio, but that mark's plugin is not loaded*"
            "load it with -p pytest_asyncio.plugin",
            "*ERROR at setup of test_unmarked*",
            "hardened_async_client needs an async test: mark it @pytest.mark.asyncio*",
        ]
    )
