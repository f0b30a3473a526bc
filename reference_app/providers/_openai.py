"""OpenAI chat completions over plain httpx: writes the call script for an order."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import httpx

from ._base import ProviderClient, ProviderError
from ._orders import OrderInfo

if TYPE_CHECKING:
    from reference_app.observability import ApmRegistry
    from reference_app.resilience import CircuitBreaker

__all__ = ["OpenAIClient", "OpenAIError", "template_script"]

SYSTEM_PROMPT = (
    "You write short, polite phone scripts (under 80 words) for an automated call that confirms "
    "a customer's cash-on-delivery order. Ask the customer to press 1 to confirm or 2 to cancel."
)


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


def _parse_content(response: httpx.Response) -> str:
    content = response.json()["choices"][0]["message"]["content"]
    if not isinstance(content, str) or not content.strip():
        raise ValueError("empty completion")
    return content.strip()


class OpenAIClient(ProviderClient):
    """``POST {OPENAI_BASE_URL}/chat/completions`` with a bearer key."""

    name = "openai"
    error_type: ClassVar[type[ProviderError]] = OpenAIError

    def __init__(
        self,
        http: httpx.AsyncClient,
        breaker: CircuitBreaker,
        apm: ApmRegistry,
        *,
        base_url: str,
        api_key: str,
        model: str = "gpt-4o-mini",
        timeout: httpx.Timeout | None = None,
    ) -> None:
        super().__init__(http, breaker, apm, timeout=timeout or httpx.Timeout(20.0, connect=5.0))
        self._url = f"{base_url.rstrip('/')}/chat/completions"
        self._api_key = api_key
        self._model = model

    async def write_script(self, order: OrderInfo | None) -> str:
        """Ask the model for a script. The prompt carries order facts, never the phone number."""
        facts = "Order details are unavailable." if order is None else order.prompt_facts()
        body = {
            "model": self._model,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": facts},
            ],
            "temperature": 0.4,
            "max_tokens": 200,
        }
        request = self._http.build_request(
            "POST", self._url, json=body, headers={"Authorization": f"Bearer {self._api_key}"}
        )
        return await self._send("chat_completion", request, _parse_content)
