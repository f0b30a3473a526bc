"""What the breakers fixture says of an app with nowhere it looks (no ``app.state``, as a Quart
or a plain ASGI app has): where to put the breakers instead. (The apm fixture says the same
when prometheus_client holds no metrics either: in this suite's process it always holds some.)"""

from __future__ import annotations

import pytest

CONFTEST = """
import pytest


async def plain_app(scope, receive, send):  # a plain ASGI app: no `state` (nor Quart's)
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def hardening_app_factory():
    return lambda: plain_app
"""

TESTS = """
def test_breakers(breakers):
    pass
"""


def test_an_app_without_state_is_told_to_hand_its_breakers_over(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_plain=TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*the app has no app.state.breakers mapping: a function app has no `state` "
            "(Starlette's), so override the "
            "`hardening_breakers` fixture (name -> breaker: pybreaker, aiobreaker, "
            "circuitbreaker and purgatory breakers work as they are*",
        ]
    )
