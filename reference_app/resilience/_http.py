"""The one rule for which HTTP outcomes are the provider's failure (5xx and 429), duck-typed so
httpx is not imported here. The provider clients and ``BreakerConfig(http=True)`` both use it."""

from __future__ import annotations

__all__ = ["http_failure"]


def http_failure(outcome: object) -> bool:
    """Does this HTTP outcome count against the provider's breaker?

    Works as both ``is_failure_result`` (given an ``httpx.Response``) and
    ``is_failure_exception`` (given an exception). Responses: 5xx and 429 count, everything else
    (including 4xx, the caller's fault) does not. Exceptions carrying a response
    (``httpx.HTTPStatusError`` from ``raise_for_status()``) or an integer ``status_code``
    attribute follow the same rule; any other exception (transport errors, timeouts, ...) counts.
    """
    if isinstance(outcome, BaseException):
        response = getattr(outcome, "response", None)
        status = getattr(response, "status_code", None)
        if not isinstance(status, int):
            status = getattr(outcome, "status_code", None)  # errors that carry the status
        if not isinstance(status, int):
            return True
    else:
        status = getattr(outcome, "status_code", None)
        if not isinstance(status, int):
            return False
    return status >= 500 or status == 429
