"""Call and CallLog: what each provider was asked and answered, in order, for the tests'
assertions and the failure messages (paths shown without their queries: tokens travel there)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import NamedTuple

import httpx

from ._secrets import is_secret_name

__all__ = ["Call", "CallLog", "redacted", "shown"]


class Call(NamedTuple):
    """One outbound request and what the injector made of it (e.g. ``"ok 200"``,
    ``"fail 503"``, ``"refuse ConnectError"``, ``"timeout ReadTimeout"``,
    ``"stream_cut 200 (2/6 events delivered)"``)."""

    request: httpx.Request
    outcome: str


class CallLog:
    """Each provider's calls, and the order of all of them; thread-safe (the app calls from
    its loop and its worker threads)."""

    def __init__(self, providers: Iterable[str], *, history: int = 5) -> None:
        self._history = history
        self._lock = threading.Lock()
        self._calls: dict[str, list[Call]] = {name: [] for name in providers}
        self._order: list[str] = []  # each call's provider, in the order the calls were made

    def calls(self, provider: str) -> list[Call]:
        with self._lock:
            return list(self._calls[provider])

    def history(self, provider: str) -> str:
        """The last few calls to ``provider``, one per line, for failure messages."""
        recent = self.calls(provider)[-self._history :]
        if not recent:
            return f"  (no calls to {provider})"
        return "\n".join(
            f"  {c.request.method} {shown(c.request.url)} -> {c.outcome}" for c in recent
        )

    def recent(self) -> str:
        """The last few calls to any provider, oldest first, one per line; empty without calls."""
        with self._lock:
            taken: dict[str, int] = {}
            lines: list[str] = []
            for provider in reversed(self._order[-self._history :]):
                taken[provider] = taken.get(provider, 0) + 1
                call = self._calls[provider][-taken[provider]]
                lines.append(
                    f"  {provider}: {call.request.method} {shown(call.request.url)} "
                    f"-> {call.outcome}"
                )
        return "\n".join(reversed(lines))

    def record(self, provider: str, call: Call) -> None:
        with self._lock:
            self._calls[provider].append(call)
            self._order.append(provider)

    def relabel(self, request: httpx.Request, outcome: str) -> None:
        """Update a logged call's outcome (a stream fault knows what it delivered at the end)."""
        with self._lock:
            for calls in self._calls.values():
                for index in range(len(calls) - 1, -1, -1):
                    if calls[index].request is request:
                        calls[index] = Call(request, outcome)
                        return


def shown(url: httpx.URL) -> str:
    # Without the query: API tokens travel there (?auth_token=...), and a report prints this.
    return str(url.copy_with(query=None)) + ("?…" if url.query else "")


def redacted(url: httpx.URL) -> str:
    """``url`` with the values of its credential-like query parameters (``token``, ``key``,
    ``sig``) cut: the rest of the query stays, where a report must show why it matched
    nothing."""
    if not url.query:
        return str(url)
    query = "&".join(
        f"{k}=…" if _credential(k) else str(httpx.QueryParams({k: v}))
        for k, v in url.params.multi_items()
    )
    return f"{url.copy_with(query=None)}?{query}"


def _credential(name: str) -> bool:
    upper = name.upper()
    return is_secret_name(upper) or upper in _QUERY_CREDENTIALS


#: Query parameters that carry a credential by convention, whatever the secret names say.
_QUERY_CREDENTIALS = frozenset({"KEY", "SIG", "SIGNATURE", "AUTH", "CODE", "APIKEY", "ACCESS"})
