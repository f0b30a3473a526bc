"""App-agnostic steps: inject and heal faults, move the clock, send traffic (the expectations
are in :mod:`._expectations`)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from pytest_hardening.chaos._context import ChaosContext

RequestFactory = Callable[[ChaosContext, int], "Req"]

#: The ``FaultInjector`` methods an :class:`Inject` step may call.
FaultKind = Literal[
    "fail",
    "refuse",
    "timeout",
    "latency",
    "rate_limit",
    "garbage",
    "sequence",
    "random",
    "stream_cut",
    "stream_stall",
    "stream_malformed",
]
_FAULT_KINDS = frozenset(get_args(FaultKind))


@dataclass(frozen=True)
class Req:
    """A request to send: any method, a path, headers, a JSON (``json``), raw (``content``)
    or form (``data``) body, and query ``params``. Redirects are followed, as by the test
    client, unless ``follow_redirects`` is False: then a degraded answer that redirects (a
    307 to an error page) is seen, and counted, as the redirect it is."""

    method: str
    path: str
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes | str | None = None
    data: Mapping[str, Any] | None = None
    params: Mapping[str, str] | None = None
    follow_redirects: bool = True


def _statuses(expect: int | str | Collection[int | str] | None) -> frozenset[int] | None:
    """The statuses ``expect`` allows: one (``201``, ``"201"``) or several; anything else is
    a mistake in the scenario, said where it is written (a string is not its digits)."""
    if expect is None:
        return None
    wanted = [expect] if isinstance(expect, (int, str)) else list(expect)
    found = set()
    for status in wanted:
        if isinstance(status, str) and status.strip().isdigit():
            status = int(status)
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise TypeError(
                f"expect={expect!r}: give an HTTP status (201) or several ((201, 202)), not "
                f"{status!r}"
            )
        found.add(status)
    return frozenset(found)


@dataclass(frozen=True, init=False)
class Inject:
    """``faults.<kind>(provider, *args, **kwargs)``, e.g. ``Inject("exotel", "fail", (503,))``;
    a single argument may be given bare, and the method's keywords as keywords:
    ``Inject("exotel", "fail", 503, times=2)`` (or ``kwargs={"times": 2}``)."""

    provider: str
    kind: FaultKind
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __init__(
        self,
        provider: str,
        kind: FaultKind,
        /,  # so that a fault's own ``kind=`` (``timeout``'s) is one of its keywords
        args: Any = (),
        kwargs: Mapping[str, Any] | None = None,
        **keywords: Any,
    ) -> None:
        both = set(kwargs or {}) & set(keywords)
        if both:
            raise TypeError(f"Inject: {sorted(both)} given both in kwargs= and as keywords")
        set_ = object.__setattr__  # frozen
        set_(self, "provider", provider)
        set_(self, "kind", kind)
        set_(self, "args", args if isinstance(args, tuple) else (args,))
        set_(self, "kwargs", {**(kwargs or {}), **keywords})
        # A typo fails where the scenario is written, not halfway through a run.
        if kind not in _FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(_FAULT_KINDS)}")
        from pytest_hardening._faults import FaultInjector

        method = getattr(FaultInjector, kind)
        try:
            inspect.signature(method).bind(None, provider, *self.args, **self.kwargs)
        except TypeError as error:
            raise TypeError(
                f"Inject({provider!r}, {kind!r}, ...): {error}; faults.{kind} takes "
                f"{_parameters(method)}"
            ) from None

    def run(self, ctx: ChaosContext) -> None:
        getattr(ctx.faults, self.kind)(self.provider, *self.args, **self.kwargs)
        detail = ", ".join([*map(repr, self.args), *(f"{k}={v!r}" for k, v in self.kwargs.items())])
        ctx.timeline.fault(ctx.now(), self.provider, f"{self.kind}({detail})")


@dataclass(frozen=True)
class Heal:
    """Remove every fault from one provider (or from all of them)."""

    provider: str | None = None

    def run(self, ctx: ChaosContext) -> None:
        # A fault healed before any call met it was exercised by nothing: the scenario proved
        # nothing about it (the app never called that provider, or not through httpx). Not
        # after a failure, which says more (a crashed step before the traffic).
        untriggered = getattr(ctx.faults, "untriggered", None)
        unmet = untriggered(self.provider) if callable(untriggered) and not ctx.failures else []
        ctx.faults.heal(self.provider)
        ctx.timeline.fault(ctx.now(), self.provider or "*", "heal")
        for fault in unmet:
            ctx.fail(
                f"{fault} was healed before any call met it: the scenario exercised nothing "
                "with it (check the provider's URL and the requests that should reach it)"
            )


@dataclass(frozen=True)
class Advance:
    """Move virtual time; breakers' open timeouts pass instantly."""

    seconds: float

    def run(self, ctx: ChaosContext) -> None:
        ctx.clock.advance(self.seconds)
        ctx.observe()


@dataclass(frozen=True)
class Send:
    """Send ``count`` requests built by ``make(ctx, i)``; each must answer one of ``expect``."""

    make: RequestFactory
    count: int = 1
    expect: int | str | Collection[int | str] | None = None
    every: float = 0.0  # virtual seconds between requests: traffic that keeps flowing
    label: str = ""

    def __post_init__(self) -> None:
        _statuses(self.expect)  # a wrong expect fails where the scenario is written

    def run(self, ctx: ChaosContext) -> None:
        wanted = _statuses(self.expect)
        for i in range(self.count):
            if i and self.every:
                ctx.clock.advance(self.every)
                ctx.observe()
            req = self.make(ctx, i)
            logged = len(ctx.logs)
            response = ctx.send(
                req.method,
                req.path,
                json=req.json,
                headers=req.headers,
                content=req.content,
                data=req.data,
                params=req.params,
                follow_redirects=req.follow_redirects,
            )
            cut = ctx.served[-1].cut if ctx.served else ""
            if wanted is not None and (cut or response.status_code not in wanted):
                got = (
                    f"{response.status_code}, its body cut part-way ({cut})"
                    if cut
                    else (f"{response.status_code}: {_answer(response.text)}")
                )
                ctx.fail(
                    f"{self.label or req.method + ' ' + req.path} (request {i + 1}/{self.count}): "
                    f"expected status {sorted(wanted)}, got {got}{_logged(ctx.logs[logged:])}"
                )


def _answer(text: str) -> str:
    # A debug-mode 500 carries a traceback: its last line (the exception) is the news.
    if "Traceback (most recent call last)" in text:
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        return f"{lines[-1][:200]} (the last line of a traceback in the body)"
    return text[:200]


def _logged(lines: list[str]) -> str:
    errors = [line for line in lines if line.startswith(("ERROR", "CRITICAL"))]
    return f"; the app logged: {errors[-1][:300]}" if errors else ""


def send(
    method: str,
    path: str,
    *,
    json: Any = None,
    expect: int | Collection[int] | None = None,
    count: int = 1,
    headers: Mapping[str, str] | None = None,
    content: bytes | str | None = None,
    data: Mapping[str, Any] | None = None,
    params: Mapping[str, str] | None = None,
    follow_redirects: bool = True,
) -> Send:
    """The same request ``count`` times: any method, headers, body and query (see
    :class:`Req`)."""
    req = Req(method, path, json, dict(headers or {}), content, data, params, follow_redirects)
    return Send(lambda _ctx, _i: req, count=count, expect=expect, label=f"{method} {path}")


def _parameters(method: Callable[..., Any]) -> str:
    """``(provider, status=503, *, times=None)``: a fault method's parameters, as written."""
    signature = inspect.signature(method).replace(return_annotation=inspect.Signature.empty)
    return str(signature).replace("(self, ", "(", 1).replace("'", "")
