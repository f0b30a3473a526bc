"""What a fault injector reports at the end of a test: requests to hosts no provider names,
faults no call met, connections refused, and misuses of the back-off settings. A part of
:class:`~._faults.FaultInjector` (whose state it reads), apart for its size."""

from __future__ import annotations

import importlib.util
import os
import re
import threading
from collections import Counter
from typing import TYPE_CHECKING, Any

import httpx

from ._fault_calls import redacted
from ._providers import Provider, near_miss
from ._retry_storm import storm_report
from ._unused_faults import unused_report

if TYPE_CHECKING:
    from ._fault_advice import Advice
    from ._fault_scripts import Script
    from ._interception import Interception
    from ._network import NetworkGuard

__all__ = ["FaultReports"]


class FaultReports:
    """The end-of-test reports of :class:`~._faults.FaultInjector`."""

    providers: dict[str, Provider]
    unregistered: list[httpx.Request]
    misuse: list[str]
    advice: Advice
    _lock: threading.Lock
    _scripts: dict[str, Script]
    _armed: list[tuple[str, Script, dict[str, Any]]]
    _allow_unused: bool
    _allow_blocked: bool
    _allow_unregistered: bool
    _interception: Interception

    @property
    def _network_guard(self) -> NetworkGuard | None:
        raise NotImplementedError

    def calls(self, provider: str) -> list[Any]:  # list[Call] (a cycle with _faults)
        raise NotImplementedError

    def provider_of_host(self, host: str) -> str | None:
        raise NotImplementedError

    def unregistered_report(self) -> str | None:
        if not self.unregistered or self._allow_unregistered:
            return None
        # A retrying client sends the same request again: shown once, with how many times.
        # No credential of a query (a report is uploaded from CI); the rest says what missed.
        sent = Counter((r.method, redacted(r.url)) for r in self.unregistered)
        first = {(r.method, redacted(r.url)): r for r in reversed(self.unregistered)}
        shown = list(sent.items())[:10]
        misses = {key: near_miss(self.providers, first[key].url) for key, _ in shown}
        urls = "\n".join(
            f"  {method} {url}{misses[method, url]}"
            + (f" (×{times}: retried)" if times > 1 else "")
            for (method, url), times in shown
        )
        known = "\n".join(f"  {n}: {p.url}" for n, p in self.providers.items()) or "  (none)"
        what = "the host" if not any(misses.values()) else "each (its own scheme, port or path)"
        fix = ", or correct the URL the app calls" if any(misses.values()) else ""
        return (
            f"the app sent {len(self.unregistered)} request(s) to hosts that are not registered "
            f"providers (the app got ConnectError; no real network is used):\n{urls}\n"
            f"registered providers:\n{known}\n"
            f"declare {what} in {self.advice.providers}{fix}."
            + self._hosts_from_env({first[key].url.host for key, _ in shown})
        )

    def _hosts_from_env(self, hosts: set[str]) -> str:
        """Where the environment names a host the app called: a base URL an SDK reads
        (``OPENAI_BASE_URL``), often from the shell that ran the tests, not from the tests."""
        found = {}
        for host in sorted(h for h in hosts if h):
            alone = re.compile(rf"(?<![\w.-]){re.escape(host)}(?![\w-])")  # not a part of one
            found[host] = sorted(n for n, value in os.environ.items() if alone.search(value))
        lines = [f"  {host}: {', '.join(names)}" for host, names in found.items() if names]
        if not lines:
            return ""
        return (
            "\nthe environment names these hosts (an SDK or the app's settings read it; a "
            f"variable {self.advice.dev_env} does not set comes from the shell that ran the "
            f"tests):\n" + "\n".join(lines) + f"\ngive it the provider's URL in "
            f"{self.advice.dev_env}, or unset it where the tests run."
        )

    def untriggered(self, provider: str | None = None) -> list[str]:
        """The faults armed now (on ``provider``, or on any) that no call has met yet; none
        after :meth:`allow_unused` (armed on purpose)."""
        if self._allow_unused:
            return []
        with self._lock:
            return [
                f"{s.kind} on provider {p!r}"
                for p, s, _ in self._armed
                if s.taken == 0 and self._scripts.get(p) is s and provider in (None, p)
            ]

    def unused_report(self) -> str | None:
        """Faults still armed at the end that no call met, for a number of calls or until
        healed: the test meant to exercise them, and the app never called the provider (a
        passing test then proved nothing about the fault)."""
        if self._allow_unused:
            return None
        unused = self._unused()
        if not unused:
            return None
        around = self._called_around()
        by_respx = {self.provider_of_host(url.host) for url in self._interception.answered_by_respx}
        called = {p: len(self.calls(p)) for p, _, _ in unused}
        closed = Counter(self.provider_of_host(url.host) for url in self._closed_sends)
        sent: Counter[str | None] = Counter()
        for host, count in self._interception.sends.sent.items():
            sent[self.provider_of_host(host)] += count
        return unused_report(
            unused, around, by_respx, self.advice, called=called, closed=closed, sent=sent
        )

    def _unused(self) -> list[tuple[str, Script, dict[str, Any]]]:
        with self._lock:
            # Never taken, and still armed at the end or replaced by another fault before any
            # call (faults do not queue); healing one before any call was the test's decision.
            return [
                (p, s, d)
                for p, s, d in self._armed
                if s.taken == 0 and (self._scripts.get(p) is s or s.replaced_by is not None)
            ]

    def _unused_through_other_clients(self) -> bool:
        """Whether every fault no call met is explained by the app calling its provider's
        host through a client the faults do not reach (aiohttp, requests)."""
        unused = self._unused()
        around = self._called_around()
        return bool(unused) and all(provider in around for provider, _, _ in unused)

    @property
    def _closed_sends(self) -> list[httpx.URL]:
        """The requests the app sent through an httpx client it had closed (httpx refused
        them before any provider or fault could answer)."""
        return list(self._interception.sends.closed)

    def _called_around(self) -> dict[str, str]:
        """Providers whose host the app reached through another client: provider -> client."""
        guard = self._network_guard
        found: dict[str, str] = {}
        if guard is None:
            return found
        for blocked in guard.blocked:
            provider = self.provider_of_host(blocked.host)
            if provider is not None:
                found.setdefault(provider, guard.client_of(blocked) or "a client other than httpx")
        return found

    def problems_report(self) -> str | None:
        """Everything that must fail the test even if the app swallowed the error."""
        guard = None if self._allow_blocked else self._network_guard
        network = (
            guard.report(self.provider_of_host, accept=self.advice.accept_blocked)
            if guard is not None
            else None
        )
        misuse = sorted(set(self.misuse))
        unfound = self._interception.unfound_backoff
        # A name whose top-level package is not on sys.path either: the app's import failed
        # the same way (tests run from outside the app's folder), not the name.
        homeless = [n for n in unfound if importlib.util.find_spec(n.partition(".")[0]) is None]
        misnamed = [n for n in unfound if n not in homeless]
        if misnamed:
            misuse.append(
                f"virtual back-off: {', '.join(misnamed)} could not be imported, even after "
                "the app was: check the name in hardening_backoff_modules (or virtual_backoff)"
            )
        if homeless:
            tops = sorted({n.partition(".")[0] for n in homeless})
            misuse.append(
                f"virtual back-off: {', '.join(homeless)} could not be imported: no package "
                f"{', '.join(tops)} on sys.path here. Run pytest from the app's folder, or put "
                "it on the path (the `pythonpath` ini option, or install the app)"
            )
        misuse.extend(f"virtual back-off: {why}" for why in self._interception.refused_backoff)
        storm = storm_report(self._interception.sleeps)
        if storm:
            misuse.append(storm)
        reports = (self.unregistered_report(), network, *misuse, self.unused_report())
        return "\n".join(r for r in reports if r) or None
