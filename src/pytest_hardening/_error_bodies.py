"""Injected error answers in the provider's own shape: an OpenAI-compatible, Anthropic, Stripe or
Google API gets the error body its SDK parses (``e.type``, ``e.code``, the message), so an app that
branches on them can be driven; a provider with ``errors=`` a function gets the body it builds,
and any other provider a plain body."""

from __future__ import annotations

import fnmatch
import http
from typing import Any

import httpx

from ._providers import Provider, host_pattern

__all__ = ["error_body", "error_headers", "error_response", "error_shape"]

# The hosts whose shape is known without ``Provider(errors=...)``.
_HOSTS = {
    "api.openai.com": "openai",
    "*.openai.azure.com": "openai",
    "api.anthropic.com": "anthropic",
    "api.stripe.com": "stripe",
    # Gemini and Vertex AI (google-genai reads e.code, e.status, e.message); Google's other
    # REST APIs share the shape (Provider(errors="google")), its OAuth endpoints do not.
    "generativelanguage.googleapis.com": "google",
    "aiplatform.googleapis.com": "google",
    "*-aiplatform.googleapis.com": "google",
}
# Said in every injected message: a log line or a test failure never passes for a real outage.
_INJECTED = " (injected by pytest-hardening)"
# The request id the APIs give every answer (apps log ``e.request_id``), as a recognisable fake.
_REQUEST_ID = "req_injected_by_pytest_hardening"

# OpenAI: status -> (error.type, error.code, message), as the API answers them.
_OPENAI: dict[int, tuple[str, str | None, str]] = {
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    503: ("server_error", None, "The server is overloaded or not ready yet."),
}
# Stripe: status -> (error.type, error.code, message); its SDK picks the exception by status
# (402 CardError, 429 RateLimitError, ...) and reads these from the body's `error` object.
_STRIPE: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", "parameter_invalid_empty", "Invalid request."),
    401: ("invalid_request_error", None, "Invalid API Key provided."),
    402: ("card_error", "card_declined", "Your card was declined."),
    403: (
        "invalid_request_error",
        None,
        "The provided key does not have the required permissions.",
    ),
    404: ("invalid_request_error", "resource_missing", "No such resource."),
    409: ("idempotency_error", None, "Keys for idempotent requests can only be used once."),
    429: ("invalid_request_error", "rate_limit", "Too many requests hit the API too quickly."),
}
# Google's APIs: status -> the google.rpc code name their error's `status` carries.
_GOOGLE = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
# Anthropic: status -> (error.type, message).
_ANTHROPIC: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "There was an issue with the request."),
    401: ("authentication_error", "There's an issue with your API key."),
    402: ("billing_error", "There's an issue with your billing or payment information."),
    403: ("permission_error", "Your API key does not have permission to use this resource."),
    404: ("not_found_error", "The requested resource was not found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Your account has hit a rate limit."),
    500: ("api_error", "An unexpected error has occurred internal to Anthropic's systems."),
    504: ("timeout_error", "The request timed out while processing."),
    529: ("overloaded_error", "The API is temporarily overloaded."),
}


def error_shape(provider: Provider) -> str | None:
    """``"openai"``, ``"anthropic"``, ``"stripe"``, ``"google"`` or ``None`` (plain bodies, or the
    provider's own function) for ``provider``."""
    if isinstance(provider.errors, str):
        return provider.errors
    if provider.errors is not None:
        return None
    host = host_pattern(provider.url)
    for pattern, shape in _HOSTS.items():
        if host == pattern or fnmatch.fnmatchcase(host, pattern):
            return shape
    return None


def error_response(provider: Provider, status: int, headers: dict[str, str]) -> httpx.Response:
    """An injected ``status`` answer from ``provider``, with ``headers`` and the provider's
    error headers (see :func:`error_headers`)."""
    headers = {**error_headers(provider), **headers}
    if callable(provider.errors):
        body = provider.errors(status)
        if isinstance(body, str | bytes):  # a text page (a proxy's HTML 503): as given
            return httpx.Response(status, headers=headers, content=body)
        return httpx.Response(status, headers=headers, json=body)
    return httpx.Response(status, headers=headers, json=error_body(provider, status))


def error_body(provider: Provider, status: int) -> dict[str, Any]:
    """The JSON body of an injected ``status`` answer from a provider whose shape is known
    (see :func:`error_shape`), else a plain one."""
    shape = error_shape(provider)
    if shape == "openai":
        server = ("server_error", None, "The server had an error processing your request.")
        client = ("invalid_request_error", None, f"The request failed with status {status}.")
        kind, code, message = _OPENAI.get(status) or (server if status >= 500 else client)
        error = {"message": message + _INJECTED, "type": kind, "param": None, "code": code}
        return {"error": error}
    if shape == "anthropic":
        fallback = _ANTHROPIC[500] if status >= 500 else _ANTHROPIC[400]
        kind, message = _ANTHROPIC.get(status, fallback)
        error = {"type": kind, "message": message + _INJECTED}
        return {"type": "error", "error": error, "request_id": _REQUEST_ID}
    if shape == "stripe":
        server = ("api_error", None, "An error occurred with our connection to Stripe.")
        kind, code, message = _STRIPE.get(status) or (
            server if status >= 500 else ("invalid_request_error", None, "Invalid request.")
        )
        return {"error": {"type": kind, "code": code, "message": message + _INJECTED}}
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:  # a status of the provider's own, such as 529
        phrase = f"HTTP {status}"
    if shape == "google":
        code = _GOOGLE.get(status) or ("INTERNAL" if status >= 500 else "FAILED_PRECONDITION")
        return {"error": {"code": status, "message": phrase + _INJECTED, "status": code}}
    return {"error": phrase + _INJECTED, "status": status}


def error_headers(provider: Provider) -> dict[str, str]:
    """The headers an injected error answer carries: the request id of the provider's API
    (``x-request-id`` for OpenAI, ``request-id`` for Anthropic), which its SDK exposes."""
    shape = error_shape(provider)
    if shape == "openai":
        return {"x-request-id": _REQUEST_ID}
    if shape == "anthropic":
        return {"request-id": _REQUEST_ID}
    if shape == "stripe":
        return {"Request-Id": _REQUEST_ID}
    return {}
