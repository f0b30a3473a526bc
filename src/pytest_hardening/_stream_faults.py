"""Streaming faults: a healthy server-sent-event stream that is cut, stalls or carries a
malformed event after ``after`` events. The call log says how much was delivered. Answers that
are not a stream pass untouched, and the fault waits for the next streamed one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx

from ._fault_scripts import InjectorHooks, request_timeout
from ._stream_readers import reader_wants_more

__all__ = ["StreamFaultMethods"]


def truncate_event(event: bytes) -> bytes:
    """``event`` with its ``data:`` JSON cut in half: same event name, unparseable data."""
    lines = event.rstrip(b"\n").split(b"\n")
    out = [
        line[: max(len(b"data: {"), len(line) // 2)] if line.startswith(b"data:") else line
        for line in lines
    ]
    return b"\n".join(out) + b"\n\n"


def is_event_stream(response: httpx.Response) -> bool:
    """A successful server-sent-event answer: the only kind a stream fault acts on."""
    content_type = response.headers.get("content-type", "")
    return response.is_success and content_type.lower().startswith("text/event-stream")


def split_events(body: bytes) -> list[bytes]:
    """SSE events, each with its trailing blank line (a body without one is a single event)."""
    parts = body.split(b"\n\n")
    events = [part + b"\n\n" for part in parts[:-1]]
    if parts[-1]:
        events.append(parts[-1])
    return events


class _FaultyStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Yields ``events``; before event ``at`` runs ``fault`` (which may raise, or return bytes
    to inject, in place of event ``at`` when ``replace``). Reports the number of intact events
    delivered as each one is handed over (a reader that fails at the fault may drop the stream
    without closing it), and once more when the stream ends, saying whether the reader left
    before the fault (abandoned)."""

    def __init__(
        self,
        events: list[bytes],
        at: int,
        fault: Callable[[], bytes | None],
        done: Callable[[int, bool], None],
        replace: bool = False,
        wait: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._events = events
        self._at = at
        self._fault = fault
        self._replace = replace
        self._done: Callable[[int, bool], None] | None = done
        self._delivered = 0
        self._reached = False  # whether the reader got as far as the fault
        self._pass: Iterator[bytes] | None = None
        # Awaited before the fault when read asynchronously: a stall waits for the app's
        # reader to ask for more (see _stream_readers).
        self._wait = wait

    def _chunks(self) -> Iterator[bytes]:
        try:
            for index, event in enumerate(self._events):
                if index == self._at:
                    self._reached = True
                    injected = self._fault()
                    if injected is not None:
                        yield injected
                        if self._replace:
                            continue
                self._delivered += 1  # handed over: a reader may stop at it (the last event)
                if self._done is not None:
                    self._done(self._delivered, False)
                yield event
            if self._at >= len(self._events):
                self._reached = True
                injected = self._fault()
                if injected is not None:
                    yield injected
        finally:
            self.close()

    def _one_pass(self) -> Iterator[bytes]:
        # A body is read once, as from a socket: reading it again (the OpenAI SDK drains the
        # response after its last event) goes on from where the first read stopped, and never
        # meets the fault a second time.
        if self._pass is None:
            self._pass = self._chunks()
        return self._pass

    def __iter__(self) -> Iterator[bytes]:
        yield from self._one_pass()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = self._one_pass()
        while True:
            if self._wait is not None and not self._reached and self._at_fault():
                await self._wait()
            chunk = next(chunks, None)
            if chunk is None:
                return
            yield chunk

    def _at_fault(self) -> bool:
        return self._delivered == min(self._at, len(self._events))

    def close(self) -> None:
        done, self._done = self._done, None
        if done is not None:
            done(self._delivered, not self._reached)  # closed before the fault: abandoned

    async def aclose(self) -> None:
        self.close()


class StreamFaultMethods(InjectorHooks):
    """Stream fault methods; :class:`FaultInjector` supplies the state and helpers."""

    def _relabel(self, request: httpx.Request, outcome: str) -> None:
        raise NotImplementedError

    def stream_cut(self, provider: str, *, after: int, times: int | None = None) -> None:
        """Deliver the first ``after`` events of the healthy stream, then drop the connection
        (``httpx.RemoteProtocolError``, as for a peer closing mid-body)."""

        def fault(request: httpx.Request) -> bytes | None:
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body "
                f"(injected stream cut after {after} events)",
                request=request,
            )

        self._stream_fault(provider, "stream_cut", after, fault, times)

    def stream_stall(
        self,
        provider: str,
        *,
        after: int,
        seconds: float | None = None,
        times: int | None = None,
    ) -> None:
        """Deliver ``after`` events, then go quiet for ``seconds`` (virtual time with a clock).
        Past the request's read timeout, or with ``seconds=None``, the client gets
        ``httpx.ReadTimeout`` after exactly that timeout; a request without one would wait for
        ever (the test fails, saying so)."""

        shown = f"stream_stall(after={after}, seconds={seconds})"

        def fault(request: httpx.Request) -> bytes | None:
            limit = request_timeout(request, "read")
            if seconds is None or (limit is not None and seconds > limit):
                if limit is None:  # a stall for ever, and nothing to end it: a hang
                    raise httpx.ReadTimeout(self._hangs(shown, request, "read"), request=request)
                self._advance(limit, shown)
                raise httpx.ReadTimeout(
                    f"read timeout after {limit}s (injected stall after {after} events)",
                    request=request,
                )
            self._advance(seconds, shown)
            return None

        self._stream_fault(
            provider, "stream_stall", after, fault, times, wait=reader_wants_more, seconds=seconds
        )

    def stream_malformed(
        self,
        provider: str,
        *,
        after: int,
        event: bytes | None = None,
        times: int | None = None,
    ) -> None:
        """Deliver ``after`` events, then a malformed one: by default the next event with its
        JSON data cut in half (same event name, so the client parses and fails), or ``event``
        inserted as given. The rest of the stream follows."""
        self._stream_fault(
            provider,
            "stream_malformed",
            after,
            (lambda request: event) if event is not None else None,
            times,
        )

    def _stream_fault(
        self,
        provider: str,
        kind: str,
        after: int,
        fault: Callable[[httpx.Request], bytes | None] | None,
        times: int | None,
        wait: Callable[[], Awaitable[None]] | None = None,
        **details: Any,
    ) -> None:
        """``fault=None``: replace event ``after`` with :func:`truncate_event` of it."""
        if after < 0:
            raise ValueError(f"after must be >= 0, not {after}")
        healthy = self.providers[self._check(provider)]

        def action(request: httpx.Request) -> tuple[httpx.Response, str | None]:
            response = healthy.respond(request)
            if not is_event_stream(response):
                # Plain JSON (an embeddings call, a non-streamed turn) or an error answer has no
                # events to break: it passes untouched and the fault waits for a stream.
                return response, None
            events = split_events(response.read())
            status = response.status_code

            def done(delivered: int, abandoned: bool) -> None:
                label = _label(kind, status, delivered, len(events))
                if abandoned and delivered < len(events):  # the reader left before the fault
                    # Left where it begins: during a stall, which waited for it to read on.
                    where = "not reached" if delivered < after else "where it began"
                    label = (
                        f"{kind} {status} (abandoned after {delivered}/{len(events)} events: "
                        f"the {kind} after {after} {where})"
                    )
                self._relabel(request, label)

            if fault is not None:
                stream = _FaultyStream(events, after, lambda: fault(request), done, wait=wait)
            else:
                broken = truncate_event(events[after]) if after < len(events) else b"data: {\n\n"
                stream = _FaultyStream(events, after, lambda: broken, done, replace=True)
            headers = [(k, v) for k, v in response.headers.raw if k.lower() != b"content-length"]
            faulty = httpx.Response(status, headers=headers, stream=stream)
            return faulty, _label(kind, status, 0, len(events))

        self._set(provider, kind, action, times, after=after, **details)


def _label(kind: str, status: int, delivered: int, total: int) -> str:
    return f"{kind} {status} ({delivered}/{total} events delivered)"
