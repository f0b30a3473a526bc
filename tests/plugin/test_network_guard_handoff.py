"""A library's method the app hands to a worker thread (``asyncio.to_thread``,
``run_in_executor``, Starlette's ``run_in_threadpool`` on anyio's own threads) is reported as
the app's call, not as the library connecting by itself: the worker's stack holds the library
alone, the submission names the app's module."""

from __future__ import annotations

import asyncio
import concurrent.futures
from pathlib import Path
from typing import Any

import pytest

from pytest_hardening import NetworkGuard

# TEST-NET address (RFC 5737): never routed, so a guard failure cannot reach anybody.
OFF_HOST = "192.0.2.10"

#: An installed sync SDK (a GraphQL client over urllib, as gql over requests).
SDK = f"""
import asyncio
import concurrent.futures
import threading
import urllib.request


class Client:
    def execute(self, query):
        return urllib.request.urlopen("http://{OFF_HOST}:8085/graphql", timeout=2).read()


async def _warm():
    try:
        Client().execute("{{ warm }}")
    except OSError:
        pass


def start_warmup():
    # A task of its own, in the app's loop: nothing of the app's is on its stack.
    return asyncio.get_running_loop().create_task(_warm())


def start_poller():
    # Its own thread hands its own pool the work: nothing of the app's submitted it.
    def poll():
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            try:
                pool.submit(Client().execute, "{{ ping }}").result()
            except OSError:
                pass

    thread = threading.Thread(target=poll)
    thread.start()
    return thread
"""

APP = """
import asyncio

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse
from starlette.routing import Route

import gqlsdk


async def direct(request):  # the SDK called on the loop: its module is on the stack
    try:
        gqlsdk.Client().execute("{ viewer }")
    except OSError:
        return JSONResponse({"login": "unknown"})


async def threaded(request):  # the SDK's own method handed to a thread, as vorarbeiter's
    try:
        await asyncio.to_thread(gqlsdk.Client().execute, "{ viewer }")
    except OSError:
        return JSONResponse({"login": "unknown"})


async def executor(request):
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(None, gqlsdk.Client().execute, "{ viewer }")
    except OSError:
        return JSONResponse({"login": "unknown"})


async def threadpool(request):  # anyio's worker threads, not a ThreadPoolExecutor
    try:
        await run_in_threadpool(gqlsdk.Client().execute, "{ viewer }")
    except OSError:
        return JSONResponse({"login": "unknown"})


def build():
    routes = [Route("/direct", direct), Route("/threaded", threaded), Route("/executor", executor)]
    return Starlette(routes=[*routes, Route("/threadpool", threadpool)])
"""

CONFTEST = """
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent / "site-packages"))

import thread_app


@pytest.fixture
def hardening_app_factory():
    return thread_app.build
"""

TESTS = """
import pytest


def test_direct(hardened_client, faults):
    assert hardened_client.get("/direct").json() == {"login": "unknown"}


def test_threaded(hardened_client, faults):
    assert hardened_client.get("/threaded").json() == {"login": "unknown"}


def test_executor(hardened_client, faults):
    assert hardened_client.get("/executor").json() == {"login": "unknown"}


def test_threadpool(hardened_client, faults):
    assert hardened_client.get("/threadpool").json() == {"login": "unknown"}


@pytest.mark.anyio
async def test_threaded_in_the_tests_own_loop(hardened_async_client, faults):
    assert (await hardened_async_client.get("/threaded")).json() == {"login": "unknown"}
"""


def _install_sdk(root: Path) -> Path:
    site = root / "site-packages"
    (site / "gqlsdk").mkdir(parents=True)
    (site / "gqlsdk" / "__init__.py").write_text(SDK)
    return site


def test_a_library_method_handed_to_a_thread_is_reported_from_the_apps_module(
    pytester: pytest.Pytester,
) -> None:
    _install_sdk(pytester.path)
    pytester.makepyfile(thread_app=APP)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_attribution=TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=5, errors=5)
    out = result.stdout.str()
    teardowns = {section.split()[0]: section for section in out.split("ERROR at teardown of ")[1:]}
    assert sorted(teardowns) == [
        "test_direct",
        "test_executor",
        "test_threaded",
        "test_threaded_in_the_tests_own_loop[asyncio]",
        "test_threadpool",
    ]
    line = f"{OFF_HOST}:8085, from urllib (called by gqlsdk, from thread_app)"
    for teardown in teardowns.values():  # each as the direct call says it
        assert line in teardown, teardown
        assert "gqlsdk connected when thread_app called it: stand in for that call" in teardown
    assert "connected by itself" not in out


WARMING_APP = """
import contextlib

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import gqlsdk


@contextlib.asynccontextmanager
async def lifespan(app):
    await gqlsdk.start_warmup()
    yield


async def home(request):
    return PlainTextResponse("ok")


def build():
    return Starlette(routes=[Route("/", home)], lifespan=lifespan)
"""


def test_a_librarys_own_task_in_the_apps_loop_still_connects_by_itself(
    pytester: pytest.Pytester,
) -> None:
    # The client runs the app's loop in a thread it handed that loop to (anyio's blocking
    # portal, from the test's fixture): a task of the library's own in it was handed nothing.
    _install_sdk(pytester.path)
    pytester.makepyfile(thread_app=WARMING_APP)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_warm="""
        from starlette.testclient import TestClient

        import thread_app


        def test_warm(hardened_client, faults):
            assert hardened_client.get("/").text == "ok"


        def test_warm_in_the_tests_own_client(faults):
            with TestClient(thread_app.build()) as client:
                assert client.get("/").text == "ok"
        """
    )
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=2, errors=2)
    for test in ("test_warm", "test_warm_in_the_tests_own_client"):
        result.stdout.fnmatch_lines(
            [
                f"*ERROR at teardown of {test} *",
                f"  {OFF_HOST}:8085, from urllib (called by gqlsdk)",
                "gqlsdk connected by itself: turn it off in the tests' environment*",
            ]
        )


def test_a_librarys_own_pool_still_connects_by_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its own thread submitted the work: no module of the app's handed it over, whoever
    # started the library.
    monkeypatch.syspath_prepend(str(_install_sdk(tmp_path)))
    import gqlsdk  # type: ignore[import-not-found]

    with NetworkGuard() as guard:
        gqlsdk.start_poller().join()
    report = guard.report()
    assert report is not None
    assert f"{OFF_HOST}:8085, from urllib (called by gqlsdk)\n" in report
    assert "gqlsdk connected by itself: turn it off in the tests' environment" in report


def test_a_librarys_own_task_in_a_loop_handed_to_a_pool_still_connects_by_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A thread handed a whole event loop (older anyio's blocking portal, as Starlette's
    # TestClient starts it from a test's own fixture): a library's task in it is its own.
    monkeypatch.syspath_prepend(str(_install_sdk(tmp_path)))
    import gqlsdk  # type: ignore[import-not-found]

    async def serve() -> None:
        await gqlsdk.start_warmup()

    with NetworkGuard() as guard, concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, serve()).result()
    report = guard.report()
    assert report is not None
    assert f"{OFF_HOST}:8085, from urllib (called by gqlsdk)\n" in report
    assert "gqlsdk connected by itself: turn it off in the tests' environment" in report


def test_nested_guards_put_the_pools_submit_back() -> None:
    submit = concurrent.futures.ThreadPoolExecutor.submit
    with NetworkGuard(), NetworkGuard(), concurrent.futures.ThreadPoolExecutor(1) as pool:
        assert concurrent.futures.ThreadPoolExecutor.submit is not submit
        assert pool.submit(pow, 2, 5).result() == 32  # a submission runs as before
    assert concurrent.futures.ThreadPoolExecutor.submit is submit


def test_nested_guards_put_anyios_run_sync_back() -> None:
    import anyio
    import anyio.to_thread

    run_sync = anyio.to_thread.run_sync
    with NetworkGuard(), NetworkGuard():
        assert anyio.to_thread.run_sync is not run_sync
        assert anyio.run(anyio.to_thread.run_sync, pow, 2, 5) == 32  # runs as before
    assert anyio.to_thread.run_sync is run_sync


def test_a_submit_wrapped_meanwhile_is_left_wrapped() -> None:
    # Sentry's threading integration wraps ThreadPoolExecutor.submit once, at its init (an
    # app's, inside a test): putting the original back at the guard's stop took it out for
    # the rest of the process.
    submit = concurrent.futures.ThreadPoolExecutor.submit
    seen: list[str] = []
    try:
        with NetworkGuard():
            inner = concurrent.futures.ThreadPoolExecutor.submit

            def wrapped(executor: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
                seen.append("wrapped")
                return inner(executor, fn, *args, **kwargs)

            concurrent.futures.ThreadPoolExecutor.submit = wrapped  # type: ignore[method-assign]
        assert concurrent.futures.ThreadPoolExecutor.submit is wrapped
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            assert pool.submit(pow, 2, 5).result() == 32  # through both, ours passing through
        assert seen == ["wrapped"]
    finally:
        concurrent.futures.ThreadPoolExecutor.submit = submit  # type: ignore[method-assign]
