"""Provider declarations: a name, the URLs it owns and how it answers when healthy."""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from ._httpx2 import to_httpx_response

if TYPE_CHECKING:
    import httpx2

__all__ = [
    "Handler",
    "Provider",
    "ProviderSpec",
    "match_provider",
    "near_miss",
    "normalize_providers",
    "provider_of_host",
]

# A handler answers with an httpx response, or an httpx2 one (converted; its body is read).
Handler = Callable[[httpx.Request], "httpx.Response | httpx2.Response"]
# The provider's own error body for an injected status: JSON-able, or text/bytes as is.
ErrorBody = Callable[[int], Any]

#: The APIs whose error bodies injected faults can imitate (``Provider.errors``).
ERROR_SHAPES = ("openai", "anthropic", "stripe", "google")


@dataclass(frozen=True)
class Provider:
    """An external API the app talks to.

    ``url`` is a URL prefix (``"https://api.example.com/v1"``), a host (``"api.example.com"``)
    or a host pattern (``"*.myshopify.com"``, also inside a URL). ``healthy`` answers calls while
    no fault is active: a handler, a fixed response, or ``None`` for ``200 {}``. Handlers see an
    ``httpx.Request`` whichever client (httpx or httpx2) sent the request. A query in ``url``
    (``"https://api.example.com/v1/forecast?daily=weather_code"``) matches only requests whose
    query holds each of its parameters with that value (others may come too). Where several
    providers match, the most specific owns the request: the longest ``url`` without its query,
    then the one naming more query parameters. A path prefix splits a host, a query a path.

    ``errors`` is how injected error answers (``fail``, ``rate_limit``, ``random``, a status in
    ``sequence``) look: ``"openai"`` (any OpenAI-compatible API), ``"anthropic"``,
    ``"stripe"`` or ``"google"`` (Gemini, Vertex AI, Google's REST APIs), the error body that
    API's SDK reads the error's type and code from; or a
    function of the status returning the provider's own error body (JSON-able, or
    ``str``/``bytes`` sent as is), for an app that reads the provider's documented error shape.
    By default it follows the host (``api.openai.com``, ``*.openai.azure.com``,
    ``api.anthropic.com``, ``api.stripe.com``, ``generativelanguage.googleapis.com``,
    ``aiplatform.googleapis.com`` and its regional hosts), and any other
    provider gets ``{"error": "Service Unavailable (injected by pytest-hardening)", "status":
    503}``.
    """

    url: str
    healthy: Handler | httpx.Response | httpx2.Response | None = None
    errors: str | ErrorBody | None = None

    def __post_init__(self) -> None:
        if self.errors not in (None, *ERROR_SHAPES) and not callable(self.errors):
            raise ValueError(
                f"Provider(errors={self.errors!r}): use one of {ERROR_SHAPES} (the API whose "
                "error bodies faults imitate), a function of the status returning the error "
                "body, or None to follow the host"
            )

    def matches(self, url: httpx.URL) -> bool:
        scheme, host, wildcard, port, prefix, wanted = _pattern(self.url)
        if scheme != "*" and scheme != url.scheme:
            return False
        requested = url.host.lower()
        if not (fnmatch.fnmatchcase(requested, host) if wildcard else requested == host):
            return False
        if port is not None and port != (url.port or _default_port(url.scheme)):
            return False
        if prefix and url.path != prefix and not url.path.startswith(prefix + "/"):
            return False
        # Each parameter the provider names must be in the request's query with that value;
        # other parameters may come too (an API told apart by `?current=` vs `?daily=`).
        return all(value in url.params.get_list(key) for key, value in wanted)

    def respond(self, request: httpx.Request) -> httpx.Response:
        healthy = self.healthy
        if healthy is None:
            return httpx.Response(200, json={})
        if isinstance(healthy, httpx.Response):
            # A fresh copy each time: a response's stream can only be consumed once.
            return httpx.Response(
                healthy.status_code, headers=healthy.headers, content=healthy.content
            )
        if not callable(healthy):  # a fixed httpx2 response
            return to_httpx_response(healthy)
        response = healthy(request)
        return response if isinstance(response, httpx.Response) else to_httpx_response(response)


ProviderSpec = str | Provider | tuple[str, "Handler | httpx.Response | httpx2.Response | None"]


@functools.lru_cache(maxsize=256)
def _pattern(
    url: str,
) -> tuple[str, str, bool, int | None, str, tuple[tuple[str, str], ...]]:
    """A provider ``url`` taken apart once (every outbound request is matched against every
    provider): scheme (``*`` for any), host pattern, whether it has wildcards, port, path
    prefix and the query parameters it names."""
    pattern = url if "://" in url else f"*://{url}"
    scheme, _, rest = pattern.partition("://")
    parts = urlsplit(f"http://{rest}")
    host = host_pattern(url)
    wildcard = any(c in host for c in "*?[")
    wanted = tuple(parse_qsl(parts.query, keep_blank_values=True))
    scheme = scheme if scheme == "*" else scheme.lower()
    return scheme, host, wildcard, parts.port, parts.path.rstrip("/"), wanted


def _default_port(scheme: str) -> int | None:
    return {"http": 80, "https": 443}.get(scheme)


def normalize_providers(providers: Mapping[str, ProviderSpec]) -> dict[str, Provider]:
    result: dict[str, Provider] = {}
    for name, spec in providers.items():
        if isinstance(spec, str):
            result[name] = Provider(spec)
        elif isinstance(spec, Provider):
            result[name] = spec
        elif isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str):
            result[name] = Provider(spec[0], healthy=spec[1])
        else:
            raise TypeError(
                f"hardening_providers[{name!r}] must be a URL/host pattern, a Provider or a "
                f"(pattern, healthy handler) pair, not {type(spec).__name__}"
            )
    return result


def host_pattern(url: str) -> str:
    """The host (or host pattern) a provider's ``url`` names, lower-cased."""
    rest = url.partition("://")[2] if "://" in url else url
    return (urlsplit(f"http://{rest}").hostname or "").lower()


def provider_of_host(providers: Mapping[str, Provider], host: str) -> str | None:
    """The provider whose URL or pattern names ``host`` (any scheme, port or path)."""
    for name, provider in providers.items():
        pattern = host_pattern(provider.url)
        if pattern and fnmatch.fnmatchcase(host.lower(), pattern):
            return name
    return None


def match_provider(providers: Mapping[str, Provider], url: httpx.URL) -> str | None:
    """The provider owning ``url``; the most specific wins (:func:`_specificity`)."""
    hits = [name for name, p in providers.items() if p.matches(url)]
    if not hits:
        return None
    return max(hits, key=lambda name: _specificity(providers[name].url))


def _specificity(url: str) -> tuple[int, int]:
    """How specific a provider's ``url`` is: its length without the query (a longer path or a
    named host beats a pattern, as before queries counted), then how many query parameters it
    names (``?daily=x&models=y`` beats ``?daily=x`` on the same path)."""
    head, _, query = url.partition("?")
    return len(head), len(parse_qsl(query, keep_blank_values=True))


def near_miss(providers: Mapping[str, Provider], url: httpx.URL) -> str:
    """A note for a request no provider matched whose host one names: what differs from that
    provider's URL (its scheme, its port, else its path or query), where the report's
    "declare the host" alone would point at the wrong thing."""
    name = provider_of_host(providers, url.host)
    if name is None:
        return ""
    # Told apart as Provider.matches tells them: scheme, then port, then path and query.
    scheme, _, _, port, _, _ = _pattern(providers[name].url)
    if scheme not in ("*", url.scheme):
        return f" (the host of {name!r}, whose URL is {scheme}://, not {url.scheme}://)"
    requested = url.port or _default_port(url.scheme)
    if port is not None and port != requested:
        return f" (the host of {name!r}, whose URL is on port {port}, not {requested})"
    return f" (the host of {name!r}, but not the path or query parameters of its URL)"
