"""LifespanManager: the ASGI lifespan protocol run in the caller's event loop."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_hardening import LifespanError, LifespanManager


class Recorder:
    def __init__(self, *, fail: str | None = None) -> None:
        self.events: list[str] = []
        self.fail = fail

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "lifespan"
        while True:
            message = await receive()
            phase = message["type"].split(".")[1]
            self.events.append(phase)
            if phase == self.fail:
                await send({"type": f"lifespan.{phase}.failed", "message": "db unreachable"})
                return
            scope["state"]["ready"] = True
            await send({"type": f"lifespan.{phase}.complete"})
            if phase == "shutdown":
                return


@pytest.mark.anyio
async def test_startup_and_shutdown_with_state() -> None:
    app = Recorder()
    async with LifespanManager(app) as manager:
        assert app.events == ["startup"]
        assert manager.state == {"ready": True}
    assert app.events == ["startup", "shutdown"]


@pytest.mark.anyio
async def test_startup_failure_raises_with_the_apps_message() -> None:
    with pytest.raises(LifespanError, match="startup failed: db unreachable"):
        async with LifespanManager(Recorder(fail="startup")):
            pass


@pytest.mark.anyio
async def test_shutdown_failure_raises() -> None:
    with pytest.raises(LifespanError, match="shutdown failed"):
        async with LifespanManager(Recorder(fail="shutdown")):
            pass


@pytest.mark.anyio
async def test_apps_without_lifespan_support_are_accepted() -> None:
    async def http_only(scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise RuntimeError(f"unsupported scope {scope['type']}")

    async with LifespanManager(http_only) as manager:
        assert manager.state == {}
