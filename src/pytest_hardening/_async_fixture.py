"""``hardened_async_client`` under whichever async test runner the project uses.

The async client's lifespan must run in the test's own event loop (the app's loop-bound
resources are created there). pytest-asyncio runs a fixture's setup and teardown in two
different tasks, which an anyio task group (the lifespan's) refuses ("Attempted to exit cancel
scope in a different task"); and in strict mode it ignores a plain ``async def`` fixture. So the
fixture is synchronous: it finds the loop the test will run in, and keeps the client (with its
lifespan) in a host task of its own in that loop, entered and exited by the same task.

- pytest-asyncio (auto or strict, any ``loop_scope``): the test's scoped runner.
- anyio's plugin (``@pytest.mark.anyio``): a private async fixture anyio runs in one task.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

__all__ = ["ANYIO_FIXTURE", "HostedContext", "run_in_test_loop"]

ANYIO_FIXTURE = "_hardening_anyio_async_client"

_T = TypeVar("_T")
_Run = Callable[[Coroutine[Any, Any, Any]], Any]


class HostedContext:
    """An async context manager entered and exited by one task of its own, so that start and
    stop may be awaited from any task of the same loop."""

    def __init__(self, factory: Callable[[], contextlib.AbstractAsyncContextManager[Any]]) -> None:
        self._factory = factory
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None

    async def start(self) -> Any:
        loop = asyncio.get_running_loop()
        entered: asyncio.Future[Any] = loop.create_future()
        self._stop = asyncio.Event()
        self._task = loop.create_task(self._host(entered, self._stop))
        return await entered

    async def _host(self, entered: asyncio.Future[Any], stop: asyncio.Event) -> None:
        try:
            async with self._factory() as value:
                entered.set_result(value)
                await stop.wait()
        except BaseException as error:
            if entered.done():
                raise
            entered.set_exception(error)

    async def stop(self) -> None:
        if self._task is not None and self._stop is not None:
            self._stop.set()
            task, self._task = self._task, None
            await task


def _pytest_asyncio_runner(request: pytest.FixtureRequest) -> _Run | None:
    """How to run a coroutine in the loop pytest-asyncio runs this test in, if it does."""
    scope = getattr(request.node, "_loop_scope", None)
    if scope is None:
        # pytest-asyncio 0.23 has no loop scope on its items: an asyncio-marked test (auto
        # mode marks them all) runs in its ``event_loop`` fixture's loop.
        if request.node.get_closest_marker("asyncio") and "event_loop" in request.fixturenames:
            loop = request.getfixturevalue("event_loop")
            return loop.run_until_complete  # type: ignore[no-any-return]
        return None  # not a pytest-asyncio test item
    try:  # pytest-asyncio 1.x: the loop scope's runner, set up before us so it outlives us
        runner = request.getfixturevalue(f"_{scope}_scoped_runner")
    except pytest.FixtureLookupError:  # pytest-asyncio 0.2x: its event loop fixture
        loop = request.getfixturevalue("event_loop")
        return loop.run_until_complete  # type: ignore[no-any-return]
    return runner.run  # type: ignore[no-any-return]


def _no_runner(request: pytest.FixtureRequest) -> str:
    """Why no runner was found: a mark whose plugin is not loaded, or no mark."""
    plugins = request.config.pluginmanager
    for mark, plugin, module in (
        ("asyncio", "asyncio", "pytest_asyncio.plugin"),
        ("anyio", "anyio", "anyio.pytest_plugin"),
    ):
        loaded = sys.modules.get(module)
        if request.node.get_closest_marker(mark) and not (
            plugins.has_plugin(plugin) or (loaded is not None and plugins.is_registered(loaded))
        ):
            return (
                f"hardened_async_client: the test is marked @pytest.mark.{mark}, but that "
                f"mark's plugin is not loaded (PYTEST_DISABLE_PLUGIN_AUTOLOAD set, or "
                f"-p no:{plugin}?): load it with -p {module}"
            )
    return (
        "hardened_async_client needs an async test: mark it @pytest.mark.asyncio "
        "(pytest-asyncio, or asyncio_mode = auto) or @pytest.mark.anyio (anyio's plugin)"
    )


def run_in_test_loop(
    request: pytest.FixtureRequest,
    factory: Callable[[], contextlib.AbstractAsyncContextManager[_T]],
) -> Iterator[_T]:
    """Yield what ``factory()`` enters, entered in the test's event loop and exited after it."""
    if "anyio_backend" in request.fixturenames:
        yield request.getfixturevalue(ANYIO_FIXTURE)
        return
    run = _pytest_asyncio_runner(request)
    if run is None:
        pytest.fail(_no_runner(request), pytrace=False)
    hosted = HostedContext(factory)
    value = run(hosted.start())
    try:
        yield value
    finally:
        run(hosted.stop())
