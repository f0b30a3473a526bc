"""Which captured Sentry exceptions ``SentryCapture.assert_captured(exc_type)`` accepts, and
what its failure tells to check.

The capture sees envelopes only, where each exception is a ``type`` (the class's qualified
name) and a ``module``: the class itself is gone. So a class argument is matched as ``except``
would match it, by name: the class and every subclass of it loaded when the assertion runs
(the event's class was loaded to be raised), each with its module, so a class of the same
name from another package (``openai.APITimeoutError``, ``anthropic.APITimeoutError``) is not
taken for it. A string is matched as the event writes the exception: its ``type`` alone, or
``module.type``, as a failed assertion lists the events.
"""

from __future__ import annotations

from typing import Any

__all__ = ["describe_type", "matches_type", "what_to_check", "written_type"]


def written_type(module: Any, name: Any) -> str:
    """``module.Name`` as an event names its exception (``Name`` alone for a builtin)."""
    return f"{module}.{name}" if module else str(name)


def describe_type(exc_type: type[BaseException] | str) -> str:
    """What was asked for, as the failure message says it."""
    if isinstance(exc_type, str):
        return exc_type
    return f"{written_type(_module_of(exc_type), _name_of(exc_type))} (or a subclass)"


def matches_type(values: list[dict[str, Any]], exc_type: type[BaseException] | str) -> bool:
    """Whether one of an event's exception ``values`` is ``exc_type``: a string is compared
    with the ``type`` alone and with ``module.type``, as the failure lists it (a user copies
    the name from there); a class matches itself and its subclasses, module included."""
    if isinstance(exc_type, str):
        return any(
            exc_type in (v.get("type"), written_type(v.get("module"), v.get("type")))
            for v in values
        )
    wanted = _family(exc_type)
    return any((v.get("module") or None, v.get("type")) in wanted for v in values)


def what_to_check(events: list[dict[str, Any]], transactions: list[dict[str, Any]]) -> str:
    """The last line of a failed ``assert_captured``: what to look at, given what arrived."""
    if events:
        return (
            "(none of these matches: a class matches an exception of it or of a subclass, "
            "module and name both; a string, the exception's name alone (QuotaError) or with "
            "its module, as listed above (app.errors.QuotaError); a message, a substring; a "
            "tag, its value as a string)"
        )
    if transactions:  # the client works: the app reported no error
        return (
            "(the app's Sentry client sent transactions but no event: did the app handle the "
            "error without reporting it, or does its before_send drop it?)"
        )
    return (
        "(did the app call sentry_sdk.init with a DSN, and did the call succeed? "
        "an app that catches its init's error logs it: see the captured log)"
    )


def _family(cls: type) -> set[tuple[str | None, str]]:
    found: set[tuple[str | None, str]] = set()
    seen: set[type] = set()
    todo = [cls]
    while todo:
        current = todo.pop()
        if current in seen:  # reached again through multiple inheritance
            continue
        seen.add(current)
        found.add((_module_of(current), _name_of(current)))
        todo.extend(type.__subclasses__(current))
    return found


def _module_of(cls: type) -> str | None:
    # As sentry_sdk.utils.get_type_module writes it: no module for builtins.
    module = getattr(cls, "__module__", None)
    return None if module in (None, "builtins", "__builtins__") else str(module)


def _name_of(cls: type) -> str:
    # As sentry_sdk.utils.get_type_name writes it: a nested class by its qualified name.
    return str(getattr(cls, "__qualname__", None) or cls.__name__)
