"""``hardening chaos`` warms up before its runs, and the warm-up never leaves them an app whose
shutdown already ran.

A trial's gateway: a FastAPI app built at import (``app_from_import``), one module-level
``httpx.AsyncClient`` closed in its shutdown, a session with a reset (one running app for the
runs). Every scenario failed under the command ("the client has been closed", answered 500)
and passed through ``run_scenarios``: the warm-up had started and stopped that same object.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from pytest_hardening._cli import app
from pytest_hardening.chaos import HarnessSession, run_scenarios

#: Built at import; its shutdown closes the client made there, as production stops it once.
GATEWAY_APP = """
import contextlib

import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

# trust_env=False: the import reads no variable, so forked workers keep the parent's import
# (and its app) instead of importing a copy each under their HARDENING_CHAOS_WORKER.
client = httpx.AsyncClient(trust_env=False)


async def relay(request):
    try:
        answer = await client.get("http://upstream.test/x")
    except httpx.TransportError:
        return PlainTextResponse("bad gateway", 502)
    return PlainTextResponse(answer.text, answer.status_code)


@contextlib.asynccontextmanager
async def lifespan(app):
    yield
    await client.aclose()


app = Starlette(routes=[Route("/x", relay)], lifespan=lifespan)
"""

GATEWAY_TARGET = """
import dataclasses

import httpx

from pytest_hardening import Provider, app_from_import
from pytest_hardening.chaos import ChaosTarget, HarnessSession, Heal, Inject, Scenario, send

APP = app_from_import("{app}:app")


def scenario(name):
    return Scenario(
        name=name,
        description="the upstream refuses once: 502, then it heals",
        steady_state=(send("GET", "/x", expect=200),),
        method=(Inject("upstream", "refuse", times=1), send("GET", "/x", expect=502), Heal()),
        rollback=(Heal(),),
    )


def target():
    upstream = Provider("http://upstream.test", lambda request: httpx.Response(200, text="ok"))
    return ChaosTarget(
        name="gateway",
        catalogue=lambda: [scenario("upstream-refuses"), scenario("upstream-refuses-again")],
        session=HarnessSession(APP, {{}}, {{"upstream": upstream}}, reset=lambda app: None),
    )


def parallel():
    return dataclasses.replace(target(), parallel_safe=True)
"""


@pytest.fixture
def gateway(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """The target's module, importable; a module of its own per test (each test gets an app
    never started: the import-built app is one object per import)."""
    name = re.sub(r"\W", "_", f"warm_gateway_{request.node.name}")
    (tmp_path / f"{name}_app.py").write_text(GATEWAY_APP)
    (tmp_path / f"{name}_target.py").write_text(GATEWAY_TARGET.format(app=f"{name}_app"))
    sys.path.insert(0, str(tmp_path))
    try:
        yield f"{name}_target"
    finally:
        sys.path.remove(str(tmp_path))
        for module in [m for m in sys.modules if m.startswith(name)]:
            del sys.modules[module]


def test_the_command_runs_an_app_whose_shutdown_closes_its_import_made_client(
    gateway: str,
) -> None:
    result = CliRunner().invoke(app, ["chaos", "--jobs", "1", "--target", f"{gateway}:target"])
    assert result.exit_code == 0, result.output[-3000:]
    assert "2 passed, 0 failed" in result.output
    assert "client has been closed" not in result.output


@pytest.mark.parametrize("warm_up", ["outside-reusing", "inside-reusing", "none"])
def test_run_scenarios_runs_it_whether_warmed_up_or_not(gateway: str, warm_up: str) -> None:
    target = importlib.import_module(gateway).target()
    session = target.session
    assert isinstance(session, HarnessSession)
    with session.reusing() if warm_up == "inside-reusing" else contextlib.nullcontext():
        if warm_up != "none":
            session.warm_up()  # outside reusing(): as the command does
        results = list(run_scenarios(target.catalogue(), session))
    assert [(r.name, r.failures) for r in results] == [
        ("upstream-refuses", []),
        ("upstream-refuses-again", []),
    ]


@pytest.mark.slow(seconds=4)
def test_forked_workers_inherit_an_app_never_started(gateway: str, tmp_path: Path) -> None:
    # A process of its own: forking from this test session's threads is refused.
    path = os.pathsep.join(p for p in (str(tmp_path), os.environ.get("PYTHONPATH")) if p)
    result = subprocess.run(  # noqa: S603 (this interpreter, fixed arguments)
        [sys.executable, "-m", "pytest_hardening", "chaos", "--jobs", "2",
         "--target", f"{gateway}:parallel"],
        capture_output=True, text=True, check=False, timeout=300,
        env={**os.environ, "PYTHONPATH": path},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "2 passed, 0 failed" in result.stdout
    assert "one by one" not in result.stdout  # forked: the parent's warm-up was inherited
