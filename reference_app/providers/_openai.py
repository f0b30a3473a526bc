"""OpenAI chat completions through the official SDK: writes the call script for an order.

The script is streamed, as LLM answers usually are. Only a complete answer (the stream ends
with ``finish_reason: "stop"``) becomes the script: a stream that is cut, stalls past the read
timeout or carries a malformed event is a failed call, and the caller falls back to the template
script (a half-written script read to a customer is worse than the template).

The SDK retries (``max_retries``) inside one breaker call: the breaker counts one outcome per
logical call, however many attempts the SDK made (docs/ai-sdks.md).
"""

from __future__ import annotations

import asyncio
import email.utils
import importlib
import time
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
import httpx2

from reference_app.config import DEFAULT_OPENAI_MAX_RETRIES
from reference_app.resilience import CircuitOpenError, http_failure

from ._base import ProviderError, retry_after_seconds
from ._orders import OrderInfo

if TYPE_CHECKING:
    import openai
    from openai.types.chat import ChatCompletionMessageParam

    from reference_app.observability import ApmRegistry
    from reference_app.resilience import CircuitBreaker

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "OpenAIClient",
    "OpenAIError",
    "no_retry_past_the_budget",
    "template_script",
]

SYSTEM_PROMPT = (
    "You write short, polite phone scripts (under 80 words) for an automated call that confirms "
    "a customer's cash-on-delivery order. Ask the customer to press 1 to confirm or 2 to cancel."
)
#: Per attempt; the read timeout also bounds the silence between two streamed events. Both
#: attempts (OPENAI_MAX_RETRIES=1) and the SDK's back-off between them fit in the script's cap
#: (SCRIPT_SECONDS, 8 s): a hung OpenAI ends in the client's timeout, which the breaker counts,
#: not in the cap's cancellation, which it does not (a cancelled call is no outcome).
DEFAULT_TIMEOUT = httpx.Timeout(3.0, connect=2.0)
#: The longest Retry-After a script waits for: two attempts' read timeouts (6 s) and this fit in
#: the script's 8 s cap. A longer one is not retried (see :func:`no_retry_past_the_budget`).
RETRY_AFTER_BUDGET = 2.0
#: The SDK's retries per script (OPENAI_MAX_RETRIES).
DEFAULT_MAX_RETRIES = DEFAULT_OPENAI_MAX_RETRIES
OPERATION = "chat_completion"


class OpenAIError(ProviderError):
    provider = "openai"


def template_script(order: OrderInfo | None) -> str:
    """The degraded-mode script: used when OpenAI is down or its breaker is open."""
    if order is None:
        return (
            "Hello! We are calling to confirm your recent order. "
            "Please press 1 to confirm it, or 2 to cancel."
        )
    name = f" {order.customer_first_name}" if order.customer_first_name else ""
    return (
        f"Hello{name}! We are calling to confirm your order {order.name} of "
        f"{order.total_amount} {order.currency}, payable {order.payment_description}. "
        "Please press 1 to confirm it, or 2 to cancel."
    )


def _retry_after(headers: httpx2.Headers) -> float | None:
    """Seconds the answer asks to wait before a retry, read as the SDK reads them."""
    for header, unit in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(header)
        if value is None:
            continue
        try:
            return float(value) * unit
        except ValueError:
            pass
        if header == "retry-after":
            try:
                return email.utils.parsedate_to_datetime(value).timestamp() - time.time()
            except (TypeError, ValueError):
                return None
    return None


async def no_retry_past_the_budget(response: httpx2.Response) -> None:
    """A response hook of the SDK's httpx2 client: an answer asking for a longer wait than
    :data:`RETRY_AFTER_BUDGET` is marked ``x-should-retry: false``, which the SDK obeys. The
    SDK would honour up to two minutes, and the script's cap would cut it off first: a
    cancelled call, which the breaker does not count, so a rate-limited OpenAI would cost
    every script 8 s and never open the breaker. Failing at once, it counts; five such
    scripts open the breaker, which then leaves OpenAI alone, as it asked."""
    wait = _retry_after(response.headers)
    if wait is not None and wait > RETRY_AFTER_BUDGET:
        response.headers["x-should-retry"] = "false"


class OpenAIClient:
    """``POST {OPENAI_BASE_URL}/chat/completions`` (streamed) with ``openai.AsyncOpenAI``.

    ``http`` is the app's httpx2 client (its pool, its lifetime); ``max_retries`` is the SDK's.
    """

    name: ClassVar[str] = "openai"
    error_type: ClassVar[type[OpenAIError]] = OpenAIError

    def __init__(
        self,
        http: httpx2.AsyncClient,
        breaker: CircuitBreaker,
        apm: ApmRegistry,
        *,
        base_url: str,
        api_key: str,
        model: str = "gpt-4o-mini",
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        self._breaker = breaker
        self._apm = apm
        self._model = model
        phases = (timeout or DEFAULT_TIMEOUT).as_dict()
        # Without a key (development) there is nothing to call: every script is the template.
        # The SDK would refuse to start, or read OPENAI_API_KEY behind the settings' back.
        self._options: dict[str, Any] | None = (
            None
            if not api_key
            else {
                "api_key": api_key,
                "base_url": base_url,
                "http_client": http,
                "max_retries": max_retries,
                "timeout": httpx2.Timeout(**phases),
            }
        )
        self._sdk: openai.AsyncOpenAI | None = None

    @property
    def breaker(self) -> CircuitBreaker:
        return self._breaker

    async def write_script(self, order: OrderInfo | None) -> str:
        """Ask the model for a script. The prompt carries order facts, never the phone number."""
        facts = "Order details are unavailable." if order is None else order.prompt_facts()
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": facts},
        ]
        sdk = await self._client()
        if sdk is None:
            raise OpenAIError("OPENAI_API_KEY is not set; not calling the provider")
        try:
            outcome = await self._breaker.acall(self._attempt, sdk, messages)
        except CircuitOpenError as exc:
            raise OpenAIError(
                "openai circuit is open; not calling the provider",
                circuit_open=True,
                retry_after=exc.retry_after,
            ) from exc
        if isinstance(outcome, OpenAIError):
            raise outcome
        return outcome

    async def _client(self) -> openai.AsyncOpenAI | None:
        """The SDK's client, made with the first script: importing the SDK costs more CPU than
        the rest of a boot (its types), and a process that never writes a script (a refused
        production boot, a health check, ``hardening check-config``) need not pay it. The
        import runs in a worker thread, so the requests the event loop is serving meanwhile
        go on."""
        if self._sdk is None and self._options is not None:
            # Not sys.modules: while another request's import is under way it holds the
            # half-made module; import_module waits for that import to finish.
            sdk = await asyncio.to_thread(importlib.import_module, "openai")
            if self._sdk is None:  # a concurrent first script may have made it meanwhile
                self._sdk = sdk.AsyncOpenAI(**self._options)
        return self._sdk

    async def _attempt(
        self, sdk: openai.AsyncOpenAI, messages: list[ChatCompletionMessageParam]
    ) -> str | OpenAIError:
        """One logical call (the SDK's retries included). Failures that count against the
        breaker are raised; a refusal of the request (4xx, an answer cut short by the model's
        own limits) is returned: the provider is up, the breaker must not trip."""
        import openai  # imported by _client already: a lookup in sys.modules

        ok = False
        start = time.perf_counter()
        try:
            text, finish = await self._complete(sdk, messages)
            if finish != "stop":
                return OpenAIError(f"openai {OPERATION} ended early: finish_reason={finish}")
            if not text.strip():
                raise OpenAIError(f"openai {OPERATION} returned an empty completion")
            ok = True
            return text.strip()
        except openai.APIStatusError as exc:
            error = OpenAIError(
                f"openai {OPERATION} failed: HTTP {exc.status_code}",
                status_code=exc.status_code,
                retry_after=retry_after_seconds(exc.response.headers),
            )
            if http_failure(exc):
                raise error from exc
            return error
        except openai.APITimeoutError as exc:
            raise OpenAIError(f"openai {OPERATION} timed out") from exc
        except openai.APIConnectionError as exc:
            cause = type(exc.__cause__ or exc).__name__
            raise OpenAIError(f"openai {OPERATION} unreachable: {cause}") from exc
        except (openai.OpenAIError, ValueError, KeyError, TypeError, IndexError) as exc:
            # Garbage, a malformed event, an error event mid-stream: not a healthy provider.
            raise OpenAIError(f"openai {OPERATION} returned a malformed response") from exc
        finally:
            self._apm.record_external(self.name, OPERATION, time.perf_counter() - start, ok=ok)

    async def _complete(
        self, sdk: openai.AsyncOpenAI, messages: list[ChatCompletionMessageParam]
    ) -> tuple[str, str]:
        """The streamed answer's text and its finish reason."""
        stream = await sdk.chat.completions.create(
            model=self._model,
            messages=messages,
            temperature=0.4,
            max_completion_tokens=200,
            stream=True,
        )
        parts: list[str] = []
        finish: str | None = None
        async with stream:
            async for chunk in stream:
                for choice in chunk.choices[:1]:
                    parts.append(choice.delta.content or "")
                    finish = choice.finish_reason or finish
        if finish is None:
            raise OpenAIError(f"openai {OPERATION} stream ended before the answer was complete")
        return "".join(parts), finish
