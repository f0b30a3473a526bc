"""An app's own retry loops (``time.sleep`` / ``asyncio.sleep`` between attempts, no library):
the modules named to ``virtual_backoff`` (or by the ``hardening_backoff_modules`` fixture) back
off in virtual time, each delay in ``retry_sleeps``; nothing stays patched."""

from __future__ import annotations

import asyncio
import importlib
import sys
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from pytest_hardening import (
    Clock,
    FaultInjector,
    Harness,
    Provider,
    StaleImportWarning,
    app_from_import,
)
from pytest_hardening._clock_cache import ClockCache

from . import _own_backoff
from ._sleeps import no_real_sleep, this_thread_only  # noqa: F401 (a fixture)

OWN = "tests.plugin._own_backoff"


def _healthy(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"orders": []})


PROVIDERS = {"orders": Provider("https://api.example.com", _healthy)}
LOOPS: list[tuple[str, Callable[[], httpx.Response], list[float]]] = [
    ("time.sleep", _own_backoff.fetch_sync, [1.0, 2.0]),
    ("asyncio.sleep", lambda: asyncio.run(_own_backoff.fetch_async()), [5.0, 10.0]),
    (
        "from asyncio import sleep",
        lambda: asyncio.run(_own_backoff.fetch_with_imported_sleep()),
        [3.0, 3.0],
    ),
    # A sleep bound as a default argument when the def ran (injectable in tests).
    ("sleep=asyncio.sleep", lambda: asyncio.run(_own_backoff.Fetcher().fetch()), [0.4, 0.8]),
    ("pause=time.sleep, keyword-only", _own_backoff.fetch_with_keyword_pause, [7.0, 7.0]),
]


@pytest.fixture
def injector(clock_cache: ClockCache) -> Iterator[tuple[Clock, FaultInjector]]:
    with Clock(cache=clock_cache) as clock, FaultInjector(PROVIDERS, clock=clock) as faults:
        yield clock, faults


@pytest.mark.usefixtures("no_real_sleep")
@pytest.mark.parametrize(("how", "fetch", "delays"), LOOPS, ids=[loop[0] for loop in LOOPS])
def test_the_apps_own_back_off_moves_the_clock(
    injector: tuple[Clock, FaultInjector],
    how: str,
    fetch: Callable[[], httpx.Response],
    delays: list[float],
) -> None:
    clock, faults = injector
    faults.fail("orders", 503, times=2)
    faults.virtual_backoff(OWN)
    assert fetch().status_code == 200
    assert faults.retry_sleeps == delays  # sleep(0), a checkpoint, is not a back-off
    assert clock.advanced == sum(delays)


@pytest.mark.usefixtures("no_real_sleep")
def test_a_module_not_named_sleeps_for_real(injector: tuple[Clock, FaultInjector]) -> None:
    _, faults = injector
    faults.fail("orders", 503, times=2)
    with pytest.raises(AssertionError, match=r"real time\.sleep"):
        _own_backoff.fetch_sync()


def test_without_a_clock_it_sleeps_as_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", this_thread_only(slept.append, time.sleep))
    with FaultInjector(PROVIDERS) as faults:
        faults.virtual_backoff(_own_backoff)
        faults.fail("orders", 503, times=2)
        assert _own_backoff.fetch_sync().status_code == 200
        assert faults.retry_sleeps == []
    assert slept == [1.0, 2.0]


def test_nothing_stays_patched(clock_cache: ClockCache) -> None:
    imported_sleep = _own_backoff.sleep
    with Clock(cache=clock_cache) as clock, FaultInjector(PROVIDERS, clock=clock) as faults:
        faults.virtual_backoff(OWN)
        assert _own_backoff.asyncio is not asyncio
        assert _own_backoff.asyncio.gather is asyncio.gather  # all else is the real module
    assert _own_backoff.asyncio is asyncio
    assert _own_backoff.time is time
    assert _own_backoff.sleep is imported_sleep
    assert _own_backoff.Fetcher.__init__.__defaults__ == (asyncio.sleep,)
    assert _own_backoff.fetch_with_keyword_pause.__kwdefaults__ == {"pause": time.sleep}


def test_named_before_the_start_it_applies_from_the_start(clock_cache: ClockCache) -> None:
    clock = Clock(cache=clock_cache).start()
    faults = FaultInjector(PROVIDERS, clock=clock)
    try:
        faults.virtual_backoff(OWN)
        assert _own_backoff.time is time  # nothing patched before the start
        with faults:
            faults.fail("orders", 503, times=1)
            assert _own_backoff.fetch_sync().status_code == 200
            assert faults.retry_sleeps == [1.0]
    finally:
        clock.stop()


def test_a_module_with_nothing_that_sleeps_is_refused() -> None:
    empty = types.ModuleType("app.models")
    refused = pytest.raises(ValueError, match=r"app\.models holds neither")
    with FaultInjector(PROVIDERS) as faults, refused:
        faults.virtual_backoff(empty)


class TestTheFixture:
    """``hardening_backoff_modules`` names them once, for every test using ``faults``."""

    @pytest.fixture
    def hardening_providers(self) -> dict[str, Provider]:
        return PROVIDERS

    @pytest.fixture
    def hardening_backoff_modules(self) -> list[str]:
        return [OWN]

    @pytest.mark.usefixtures("no_real_sleep")
    def test_outage_then_recovery(self, faults: FaultInjector, clock: Clock) -> None:
        faults.fail("orders", 503, times=2)
        assert _own_backoff.fetch_sync().status_code == 200
        assert faults.retry_sleeps == [1.0, 2.0]
        assert clock.advanced == 3.0


def test_named_twice_or_by_a_nested_injector_it_is_patched_once_each(
    clock_cache: ClockCache,
) -> None:
    with Clock(cache=clock_cache) as clock, FaultInjector(PROVIDERS, clock=clock) as outer:
        outer.virtual_backoff(OWN)
        outer.virtual_backoff(OWN, _own_backoff)  # the fixture's list, then a test's own call
        outer.fail("orders", 503, times=1)
        assert _own_backoff.fetch_sync().status_code == 200
        assert outer.retry_sleeps == [1.0]  # one stand-in: one sleep, recorded once
        with FaultInjector(PROVIDERS, clock=clock) as inner:
            inner.virtual_backoff(OWN)  # over the outer's stand-ins, for the real modules
            _own_backoff.time.sleep(2.0)
            assert inner.retry_sleeps == [2.0]
        _own_backoff.time.sleep(4.0)  # the outer's again, until it stops
        assert outer.retry_sleeps == [1.0, 4.0]
        with FaultInjector(PROVIDERS, clock=clock) as inner:
            inner.virtual_backoff(OWN)  # a default argument: the inner's, then the outer's
            _own_backoff.fetch_with_keyword_pause.__kwdefaults__["pause"](3.0)
            assert inner.retry_sleeps == [3.0]
        _own_backoff.fetch_with_keyword_pause.__kwdefaults__["pause"](5.0)
        assert outer.retry_sleeps == [1.0, 4.0, 5.0]
    assert _own_backoff.time is time
    assert _own_backoff.fetch_with_keyword_pause.__kwdefaults__ == {"pause": time.sleep}


@pytest.mark.usefixtures("no_real_sleep")
def test_sleeps_held_under_other_names_are_reached(injector: tuple[Clock, FaultInjector]) -> None:
    from . import _aliased_backoff  # `import time as _time`, `from asyncio import sleep as pause`

    clock, faults = injector
    faults.virtual_backoff(_aliased_backoff)
    faults.fail("orders", 503, times=2)
    assert _aliased_backoff.fetch_sync().status_code == 200
    faults.fail("orders", 503, times=2)
    assert asyncio.run(_aliased_backoff.fetch_async()).status_code == 200
    assert faults.retry_sleeps == [1.0, 2.0, 3.0, 6.0]
    assert clock.advanced == 12.0


@pytest.mark.usefixtures("no_real_sleep")
def test_sleeps_imported_inside_the_functions_are_reached(
    injector: tuple[Clock, FaultInjector],
) -> None:
    from . import _local_import_backoff  # `import time` inside a function, `from asyncio ...`

    clock, faults = injector
    faults.virtual_backoff(_local_import_backoff)
    faults.fail("orders", 503, times=2)
    assert _local_import_backoff.fetch_sync().status_code == 200
    faults.fail("orders", 503, times=2)
    assert asyncio.run(_local_import_backoff.fetch_async()).status_code == 200
    assert faults.retry_sleeps == [1.0, 2.0, 3.0, 6.0]
    assert clock.advanced == 12.0
    assert clock.real_sleeps == []  # moved the clock: no real sleep to warn of


@pytest.mark.usefixtures("no_real_sleep")
def test_sleeps_imported_inside_the_functions_are_virtual_only_while_named(
    clock_cache: ClockCache,
) -> None:
    from . import _local_import_backoff

    with Clock(cache=clock_cache) as clock, FaultInjector(PROVIDERS, clock=clock) as faults:
        faults.virtual_backoff(_local_import_backoff)
    with Clock(cache=clock_cache) as clock, FaultInjector(PROVIDERS, clock=clock) as faults:
        faults.fail("orders", 503, times=1)
        with pytest.raises(AssertionError, match=r"real time\.sleep\(1\.0\)"):
            _local_import_backoff.fetch_sync()  # not named in this test: a real sleep


LATE_APP = """
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "vendor"))  # the app's own shim
from engines.retry import work
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


def create_app():
    return Starlette(routes=[Route("/", lambda request: JSONResponse({"v": work()}))])
"""


def test_a_module_importable_only_once_the_app_is_imported_is_reached_then(
    pytester: pytest.Pytester,
) -> None:
    engines = pytester.path / "vendor" / "engines"
    engines.mkdir(parents=True)
    (engines / "__init__.py").write_text("")
    retry = "import time\n\n\ndef work():\n    time.sleep(2)\n    return 1\n"
    (engines / "retry.py").write_text(retry)
    pytester.makepyfile(late_app=LATE_APP)
    pytester.makeconftest(
        """
        import pytest


        @pytest.fixture
        def hardening_app_factory():
            def build():  # imported lazily, as app_from_import does
                from late_app import create_app

                return create_app()

            return build


        @pytest.fixture
        def hardening_backoff_modules():
            return ["engines.retry"]
        """
    )
    pytester.makepyfile(
        test_late="""
        def test_it(hardened_client, faults, clock):
            assert hardened_client.get("/").json() == {"v": 1}
            assert clock.advanced == 2.0
            assert faults.retry_sleeps == [2.0]


        def test_a_name_never_importable(hardened_client, faults, clock):
            faults.virtual_backoff("engines.no_such_module")


        def test_a_typo_in_the_middle_of_the_name(hardened_client, faults, clock):
            # engines is loaded, engines.retr is not a package: never its retry module.
            faults.virtual_backoff("engines.retr.retry")


        def test_a_package_not_on_the_path(hardened_client, faults, clock):
            # A trial's: the tests ran from outside the app's folder, and the message said to
            # check a name that was right.
            faults.virtual_backoff("elsewhere_pkg.services.client")
        """
    )
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=4, errors=3)
    result.stdout.fnmatch_lines(["*engines.no_such_module could not be imported, even after*"])
    result.stdout.fnmatch_lines(["*engines.retr.retry could not be imported, even after*"])
    result.stdout.fnmatch_lines(
        ["*elsewhere_pkg.services.client could not be imported: no package elsewhere_pkg on*"]
    )
    assert "elsewhere_pkg.services.client could not be imported, even" not in result.stdout.str()


def test_a_named_module_is_not_imported_before_the_apps_environment(
    pytester: pytest.Pytester,
) -> None:
    # `faults` is set up before the app is built: importing the named module then would read
    # its settings from the shell's environment, not the test's.
    pytester.makepyfile(
        envread_settings="import os\n\nAPI_URL = os.getenv('API_URL', 'https://default.invalid')\n",
        envread_retry=(
            "import asyncio\n\nfrom envread_settings import API_URL\n\n\n"
            "async def fetch():\n    await asyncio.sleep(2)\n    return API_URL\n"
        ),
        envread_app=(
            "from starlette.applications import Starlette\n"
            "from starlette.responses import PlainTextResponse\n"
            "from starlette.routing import Route\n\nimport envread_retry\n\n\n"
            "async def v(request):\n    return PlainTextResponse(await envread_retry.fetch())\n\n\n"
            "app = Starlette(routes=[Route('/v', v)])\n"
        ),
        envread_nothing="VALUE = 1\n",
    )
    pytester.makeconftest(
        """
        import pytest

        from pytest_hardening import app_from_import

        THE_APP = app_from_import("envread_app:app")


        @pytest.fixture
        def hardening_app_factory():
            return THE_APP


        @pytest.fixture
        def hardening_dev_env():
            return {"API_URL": "https://api.example.com"}


        @pytest.fixture
        def hardening_backoff_modules():
            return ["envread_retry"]
        """
    )
    pytester.makepyfile(
        test_order="""
        def test_settings_come_from_the_test_environment(faults, clock, hardened_client):
            assert hardened_client.get("/v").text == "https://api.example.com"
            assert faults.retry_sleeps == [2.0]  # and the module's back-off was reached


        def test_a_module_imported_later_with_nothing_that_sleeps(faults, hardened_client):
            faults.virtual_backoff("envread_nothing")
            import envread_nothing  # the app's import, say: not failed by the plugin
            assert envread_nothing.VALUE == 1
        """
    )
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*virtual back-off: envread_nothing holds neither*"])


def test_a_named_module_with_nothing_that_sleeps_fails_setup_in_one_line(
    pytester: pytest.Pytester,
) -> None:
    # Once the module is imported (by the first test), later tests' setup raised the ValueError
    # as a traceback through the fixture machinery.
    pytester.makepyfile(quiet_module="VALUE = 1\n")
    pytester.makeconftest(
        """
        import pytest


        @pytest.fixture
        def hardening_backoff_modules():
            return ["quiet_module"]
        """
    )
    pytester.makepyfile(
        test_quiet="""
        import quiet_module  # imported before any test: its setup refuses it at once


        def test_it(faults):
            pass
        """
    )
    pytester.syspathinsert()
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*hardening_backoff_modules: quiet_module holds neither*"])
    assert "Traceback" not in result.stdout.str()


RETRY = """
import asyncio

import httpx


async def fetch(url):
    for attempt in range(3):
        async with httpx.AsyncClient() as http:
            response = await http.get(url)
        if response.status_code < 500:
            return response.status_code
        await asyncio.sleep(0.5 * 2**attempt)
    return 503
"""

MAIN = """
import os

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from retryapp.retry import fetch

REGION = os.environ.get("REGION", "eu")  # read at import: a build under "us" goes aside


async def home(request):
    return JSONResponse({"status": await fetch("https://api.example.com/orders"), "region": REGION})


app = Starlette(routes=[Route("/", home)])
"""


@pytest.fixture
def retryapp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    package = tmp_path / "retryapp"
    package.mkdir()
    for name, text in {"__init__": "", "retry": RETRY, "main": MAIN}.items():
        (package / f"{name}.py").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        yield
    finally:
        for name in [n for n in sys.modules if n.partition(".")[0] == "retryapp"]:
            del sys.modules[name]


@pytest.mark.usefixtures("retryapp", "no_real_sleep")
@pytest.mark.parametrize("named", ["before the build", "after the build"])
def test_a_named_module_backs_off_in_the_copy_an_app_was_built_from(named: str) -> None:
    # The app's own tests import it at their top (here under "eu"); the hardened build (under
    # "us") is a copy imported aside, whose retry module sys.modules does not hold: its
    # back-off slept for real, unseen.
    importlib.import_module("retryapp.main")
    factory = app_from_import("retryapp.main:app")
    with Harness() as harness:
        harness.freeze()
        faults = harness.fake_providers(PROVIDERS) if named == "before the build" else None
        if faults is not None:
            faults.virtual_backoff("retryapp.retry")
        with pytest.warns(StaleImportWarning):
            harness.build(factory, {"REGION": "us"})
        if faults is None:
            faults = harness.fake_providers(PROVIDERS)
            faults.virtual_backoff("retryapp.retry")
        faults.fail("orders", 503, times=2)
        assert harness.client().get("/").json() == {"status": 200, "region": "us"}
        assert faults.retry_sleeps == [0.5, 1.0]
