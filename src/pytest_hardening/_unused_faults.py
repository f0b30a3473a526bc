"""What a fault no call met says: which one, why no call met it when that is known (a respx
route of the test's own answered, the app called the host through another client, another
fault replaced it), else where to look."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._fault_advice import Advice
from ._fault_scripts import Script

__all__ = ["unused_report"]


def unused_report(
    unused: Sequence[tuple[str, Script, Mapping[str, Any]]],
    around: Mapping[str, str],
    by_respx: Iterable[str | None],
    advice: Advice,
    *,
    called: Mapping[str, int] | None = None,
    closed: Mapping[str | None, int] | None = None,
    sent: Mapping[str | None, int] | None = None,
) -> str:
    """The report of ``unused`` faults (provider, script, the details they were set with):
    ``around`` names the client each provider's host was reached through instead, ``by_respx``
    the providers a respx route of the test's own answered, ``called`` how many calls each
    provider answered, ``closed`` how many requests to each provider's host httpx refused
    because the app's client was closed, ``sent`` how many each provider's host was sent
    through open httpx clients."""
    answered_by_respx = set(by_respx)
    lines, unexplained = [], False
    for provider, script, details in unused:
        shown = ", ".join(f"{k}={v!r}" for k, v in details.items() if v is not None)
        shown = f" ({shown})" if shown else ""
        why = (
            f"replaced by {script.replaced_by} before any call (faults do not queue: "
            f"faults.sequence({provider!r}, [...]) scripts calls in order)"
            if script.replaced_by is not None
            else "never triggered"
        )
        if script.replaced_by is None and (refused := (closed or {}).get(provider)):
            why += (
                f": the app sent {refused} request(s) to its host through an httpx client it "
                "had already closed, which httpx refused before any fault could answer "
                "(RuntimeError: Cannot send a request, as the client has been closed.; an app "
                "that catches it answers with its own error, a 500 or a 502). A client made at "
                "import and closed by the app's lifespan shutdown stays closed when the same "
                "app object starts again"
            )
        elif provider in answered_by_respx:
            why += (
                ": a respx route of the test's own answered its calls (a route naming the "
                "host wins over the provider's faults: mock it one way or the other)"
            )
        elif (
            script.replaced_by is None
            and not (called or {}).get(provider)
            and (count := (sent or {}).get(provider))
        ):
            why += (
                f": the app sent {count} request(s) to its host through httpx, and none reached "
                "the faults: a mock in front of them answered (pytest-httpx's httpx_mock, which "
                "answers every httpx call unless `@pytest.mark.httpx_mock(should_mock=...)` "
                "leaves the provider's host to the faults; an httpx.MockTransport or transport "
                "of the test's own)"
            )
        elif (
            script.replaced_by is None
            and script.kind.startswith("stream_")
            and (count := (called or {}).get(provider))
        ):
            why += (
                f": the provider answered {count} call(s) of the test, none streamed "
                "(server-sent events), and stream faults wait for a streamed "
                "answer: does the app ask for one (stream=True)? An app that streams to its "
                "client an answer it got whole breaks in its own generator, not here"
            )
        elif provider in around:
            why += (
                f": the app called its host through {around[provider]}, which faults do "
                "not reach (httpx and httpx2 only), and the network guard refused it"
            )
        elif script.replaced_by is None:
            unexplained = True
        lines.append(f"  {script.kind} on provider {provider!r}{shown}: {why}")
    head = (
        f"{len(unused)} fault(s) were never triggered: no call met them while they were "
        "armed, so the test exercised none of them.\n" + "\n".join(lines)
    )
    if not unexplained:  # each says why: the checklist below would only distract
        return f"{head}\nor opt out with {advice.opt_out}."
    return (
        head + f"\ncheck the provider's URL in {advice.providers} and the request that "
        "should reach it (made with a client faults do not answer, which answer httpx and "
        "httpx2 only: requests, urllib3, aiohttp or boto3, under a mock of its own such as "
        "responses, aioresponses or moto, which answered instead? pytest-httpx's httpx_mock "
        "(without should_mock) or an httpx.MockTransport of the test's own, which answer "
        "httpx calls before the faults do? one answered 401, 422 or "
        "429 before it got there? an exception "
        f"before the call, {advice.log}? an HTTP cache (hishel) that answered from its store, "
        "on disk beside the tests too? state an earlier test left, such as a rate "
        "limiter or cache built at import (a dict of answers in the app's modules, which an "
        "app built at import keeps from test to test)? a cache in an outside store (Redis, "
        "memcached) that answered: its entries expire on the store's own clock, which "
        "clock.advance does not move? a background task that waits with asyncio.sleep (a "
        "periodic refresh), which the event loop times in real time and clock.advance does "
        "not wake: call what each round calls from the test? settings the app built at import, "
        "`settings = Settings()` in a module, which keep the environment of whatever imported it "
        f"first instead of {advice.dev_env}?), or opt out with {advice.opt_out}."
    )
