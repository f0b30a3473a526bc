"""What every provider client shares: timeout, breaker, APM recording, typed errors."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, ClassVar, TypeVar, cast

import httpx

from reference_app.resilience import CircuitOpenError, http_failure

if TYPE_CHECKING:
    from reference_app.observability import ApmRegistry
    from reference_app.resilience import CircuitBreaker

__all__ = ["ProviderClient", "ProviderError"]

T = TypeVar("T")


class ProviderError(Exception):
    """A provider call failed. ``degraded`` is true when the provider (not the caller) is at fault.

    ``status_code`` is the provider's HTTP status when it answered; ``circuit_open`` is true when
    the breaker rejected the call without contacting the provider; ``retry_after`` is a hint in
    seconds (from ``Retry-After`` or the breaker's next probe) when known.
    """

    provider: ClassVar[str] = "provider"

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        circuit_open: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.circuit_open = circuit_open
        self.retry_after = retry_after

    @property
    def degraded(self) -> bool:
        """True for outages, timeouts, 5xx, 429 and open breakers; false for 4xx caller errors."""
        return http_failure(self)  # no status (outage, timeout, open breaker) counts too


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """A provider's ``Retry-After`` in seconds, when it is plain ASCII digits (str.isdigit()
    alone also accepts "¹", which float() refuses); an HTTP date or junk gives None."""
    value = headers.get("retry-after", "")
    return float(value) if value.isascii() and value.isdigit() else None


class ProviderClient:
    """Base for the provider clients: one breaker-protected, timed, APM-recorded request.

    Failures that count against the breaker (transport errors, timeouts, what
    :func:`~reference_app.resilience.http_failure` calls a failure: 5xx and 429, unparseable
    success bodies) are raised *inside* the breaker call, so the breaker needs no predicate.
    Other HTTP errors (4xx) are the caller's fault: the response is handed back through the
    breaker as a result (the provider is up) and only then turned into the typed error, so it
    never trips the breaker.
    """

    name: ClassVar[str] = "provider"
    error_type: ClassVar[type[ProviderError]] = ProviderError

    def __init__(
        self,
        http: httpx.AsyncClient,
        breaker: CircuitBreaker,
        apm: ApmRegistry,
        *,
        timeout: httpx.Timeout,
    ) -> None:
        self._http = http
        self._breaker = breaker
        self._apm = apm
        self._timeout = timeout

    @property
    def breaker(self) -> CircuitBreaker:
        return self._breaker

    async def _send(
        self,
        operation: str,
        request: httpx.Request,
        parse: Callable[[httpx.Response], T],
    ) -> T:
        request.extensions["timeout"] = self._timeout.as_dict()

        async def attempt() -> tuple[httpx.Response, T | None]:
            ok = False
            start = time.perf_counter()
            try:
                response = await self._http.send(request)
                if http_failure(response):
                    raise self.error_type(
                        f"{self.name} {operation} failed: HTTP {response.status_code}",
                        status_code=response.status_code,
                        retry_after=retry_after_seconds(response.headers),
                    )
                if response.is_error:
                    return response, None
                try:
                    parsed = parse(response)
                except (ValueError, KeyError, TypeError, IndexError) as exc:
                    raise self.error_type(
                        f"{self.name} {operation} returned a malformed response"
                    ) from exc
                ok = True
                return response, parsed
            except httpx.TimeoutException as exc:
                raise self.error_type(f"{self.name} {operation} timed out") from exc
            except httpx.TransportError as exc:
                raise self.error_type(
                    f"{self.name} {operation} unreachable: {type(exc).__name__}"
                ) from exc
            finally:
                self._apm.record_external(self.name, operation, time.perf_counter() - start, ok=ok)

        try:
            response, parsed = await self._breaker.acall(attempt)
        except CircuitOpenError as exc:
            raise self.error_type(
                f"{self.name} circuit is open; not calling the provider",
                circuit_open=True,
                retry_after=exc.retry_after,
            ) from exc
        if response.is_error:
            raise self.error_type(
                f"{self.name} {operation} rejected the request: HTTP {response.status_code}",
                status_code=response.status_code,
            )
        return cast(T, parsed)
