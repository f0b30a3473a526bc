"""Running an ASGI app's lifespan in a chosen event loop, and handing its state to requests.

App resources created during lifespan (httpx clients, async database engines) belong to the
event loop that ran it, so each client runs lifespan in the loop it serves requests from:
Starlette's ``TestClient`` in its portal thread, :class:`LifespanManager` in the caller's loop.
Building the app under an environment is ``_app``'s.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, MutableMapping
from types import TracebackType
from typing import Any

import anyio
import anyio.abc
import anyio.from_thread
import anyio.lowlevel

from ._last_words import LastWords, exit_said
from ._virtual_time import app_lifespan, lifespan_message

__all__ = [
    "LifespanError",
    "LifespanManager",
    "running_lifespan",
    "unbuilt",
    "with_state",
]

_Message = MutableMapping[str, Any]


class LifespanError(RuntimeError):
    """The app reported ``lifespan.startup.failed`` / ``shutdown.failed``. ``details`` is the
    message the app sent in full (Starlette's: the whole traceback, chained exceptions too);
    ``raised``, the exception the app raised after sending it, when it did (Starlette does):
    its chain holds what the text leaves out (a context raised ``from None``)."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details or message
        self.raised: BaseException | None = None


def _failed(phase: str, message: str) -> LifespanError:
    """The error for a ``lifespan.<phase>.failed`` message. Starlette sends the whole traceback
    as the message: the error says its last line (the exception), and carries the traceback as
    a note, which pytest shows (one line of a check's report is not buried under it)."""
    lines = [line for line in message.splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].startswith("Traceback (most recent call last)"):
        error = LifespanError(f"{phase} failed: {lines[-1].strip()}", message)
        note = getattr(error, "add_note", None)  # Python 3.11+
        if note is not None:
            note(f"the app's traceback:\n{message.rstrip()}")
        return error
    return LifespanError(f"{phase} failed: {message}")


def _exited(phase: str, exited: SystemExit, said: str, details: str = "") -> LifespanError:
    """The error for an app that called ``sys.exit()`` in its lifespan, after logging
    ``said``."""
    where, why = f"in its {phase}", "a server would stop there; "
    error = LifespanError(
        f"{phase} failed: {exit_said(exited.code, where, said, why=why)}", details
    )
    error.raised = exited
    return error


def unbuilt(app: Any) -> bool:
    """Whether ``app`` is a Starlette app that could not build its middleware stack (built on
    its first ASGI call, the lifespan's): a middleware's ``__init__`` that refuses a setting.
    Servers take the raise for "no lifespan support" and then answer every request 500 with
    the same error: a startup that failed, not an app without a lifespan."""
    return "middleware_stack" in getattr(app, "__dict__", {}) and app.middleware_stack is None


#: Turns of the event loop to look for an app's exit after it sent ``failed``.
_TURNS = 8


class LifespanManager:
    """Run an ASGI app's lifespan in the current event loop (async context manager).

    Apps that do not speak the lifespan protocol (they raise or return before answering
    startup) are accepted as having nothing to start. ``state`` is the lifespan state dict.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        # Closed on the way out: an unclosed stream is a ResourceWarning when collected, an
        # error in suites that turn warnings into errors.
        self._to_app = anyio.create_memory_object_stream[_Message](4)
        self._to_us = anyio.create_memory_object_stream[_Message](4)
        self._group: anyio.abc.TaskGroup | None = None
        self._supported = True

    async def _receive(self) -> _Message:
        message = await self._to_app[1].receive()
        lifespan_message(message)  # shutting down: the test waits for the app again
        return message

    async def _send(self, message: _Message) -> None:
        lifespan_message(message)  # started: what it started runs on its own
        await self._to_us[0].send(message)

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": self.state}
        try:
            with app_lifespan():  # what it starts is the app's background, not the test's
                await self.app(scope, self._receive, self._send)
        except (Exception, SystemExit) as error:  # no lifespan support, a crash, an exit
            # sys.exit() in a startup is how some apps refuse a setting: a failed startup to
            # report, not this process's end (nor an error group from the task).
            await self._to_us[0].send({"type": "_app_exit", "error": error})
        else:
            await self._to_us[0].send({"type": "_app_exit", "error": None})

    async def _exchange(self, phase: str) -> None:
        with LastWords() as last:
            await self._to_app[0].send({"type": f"lifespan.{phase}"})
            message = await self._to_us[1].receive()
        words = last.said
        if message["type"] == f"lifespan.{phase}.failed":
            failed = _failed(phase, str(message.get("message", "")))
            failed.raised = await self._raised_after_failing()
            if isinstance(failed.raised, SystemExit):
                raise _exited(phase, failed.raised, words, failed.details) from failed.raised
            raise failed
        if message["type"] == "_app_exit":
            error = message["error"]
            if isinstance(error, SystemExit):  # no "no lifespan support": it refused to run
                raise _exited(phase, error, words) from error
            if phase == "startup" and (error is None or not unbuilt(self.app)):
                # Raising before any answer is how apps say "no lifespan support".
                self._supported = False
                return
            if error is not None:
                raise LifespanError(f"{phase} failed: {error!r}") from error

    async def _raised_after_failing(self) -> BaseException | None:
        """What the app raised right after sending ``failed`` (Starlette re-raises at once):
        looked for over a few turns of the loop, never waited for (an app may not exit)."""
        for _ in range(_TURNS):
            await anyio.lowlevel.checkpoint()
            try:
                message = self._to_us[1].receive_nowait()
            except anyio.WouldBlock:
                continue
            error = message.get("error") if message["type"] == "_app_exit" else None
            return error if isinstance(error, BaseException) else None
        return None

    async def __aenter__(self) -> LifespanManager:
        group = anyio.create_task_group()
        await group.__aenter__()
        self._group = group
        group.start_soon(self._run)
        try:
            await self._exchange("startup")
        except BaseException:
            group.cancel_scope.cancel()
            await group.__aexit__(None, None, None)
            self._group = None
            self._close_streams()
            raise
        return self

    def _close_streams(self) -> None:
        for stream in (*self._to_app, *self._to_us):
            stream.close()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        group, self._group = self._group, None
        if group is None:
            return
        try:
            if self._supported:
                await self._exchange("shutdown")
        finally:
            group.cancel_scope.cancel()
            await group.__aexit__(None, None, None)
            self._close_streams()


def with_state(app: Any, state: Mapping[str, Any]) -> Any:
    """Wrap ``app`` so every request scope carries a copy of the lifespan ``state`` (what
    servers and ``TestClient`` do; ``httpx.ASGITransport`` does not)."""

    async def asgi(scope: _Message, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, "state": dict(state)}
        await app(scope, receive, send)

    return asgi


@contextlib.contextmanager
def running_lifespan(app: Any) -> Iterator[anyio.from_thread.BlockingPortal]:
    """Run ``app``'s lifespan in a portal thread for the duration of the block (for sync
    code that uses the app without a client)."""
    with anyio.from_thread.start_blocking_portal() as portal:
        manager = LifespanManager(app)
        with portal.wrap_async_context_manager(manager):
            yield portal
